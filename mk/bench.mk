# Benchmarks (issue 3 grows this file).
.PHONY: bench-sim

bench-sim: setup ## cocotb simulated cycles/s at 16x16 and 4x4 on both simulators
	@$(SYSTOLIC) bench-sim
