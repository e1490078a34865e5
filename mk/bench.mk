# Benchmarks (issue 3 grows this file).
.PHONY: bench-sim

bench-sim: setup ## simulated cycles/s: cocotb default + fast path vs raw Icarus/Verilator
	@$(SYSTOLIC) bench-sim
.PHONY: bench

bench: setup ## hardware efficiency: RTL vs cycle model vs SCALE-Sim vs lower bound, Yosys area
	@$(SYSTOLIC) bench
.PHONY: fpga

fpga: setup ## FPGA figures, ECP5-85F out of context (Yosys + nextpnr): LUTs, FFs, DSPs, Fmax, GOPS
	@$(SYSTOLIC) fpga
