# Benchmarks (issue 3 grows this file).
.PHONY: bench-sim

bench-sim: setup ## simulated cycles/s: cocotb default + fast path vs raw Icarus/Verilator
	@$(SYSTOLIC) bench-sim
.PHONY: bench

bench: setup ## hardware efficiency: RTL vs cycle model vs SCALE-Sim vs lower bound, Yosys area
	@$(SYSTOLIC) bench
.PHONY: fpga

fpga: setup ## FPGA figures, ECP5-85F out of context (Yosys + nextpnr), array (MUL_REG 0 and 1) and accelerator top: LUTs, FFs, DSPs, Fmax
	@$(SYSTOLIC) fpga
	@$(SYSTOLIC) fpga --mul-reg 1 --out build/bench/fpga_mulreg.json
	@$(SYSTOLIC) fpga --designs systolic_accel --sizes 4x4,8x8 --out build/bench/fpga_accel.json
