# Benchmarks (issue 3 grows this file).
# SIZES=RxC,... for every target here (bench-sim, bench, and every run of fpga); ONLY= for bench.
.PHONY: bench-sim

VARS.bench-sim := SIZES
CMD.bench-sim = bench-sim $(call opt,--sizes,$(SIZES))
bench-sim: setup ## simulated cycles/s: cocotb default + fast path vs raw Icarus/Verilator
	@$(SYSTOLIC) $(CMD.bench-sim)
.PHONY: bench

VARS.bench := SIZES ONLY
CMD.bench = bench $(call opt,--sizes,$(SIZES)) $(call opt,--only,$(ONLY))
# The same targets with the product register (MUL_REG=1; SCALE-Sim and the area are the first run's).
CMD.bench.2 = bench --mul-reg 1 --no-scalesim --no-area --out build/bench/bench_mulreg.json \
	$(call opt,--sizes,$(SIZES)) $(call opt,--only,$(ONLY))
bench: setup ## hardware efficiency: RTL vs cycle model vs SCALE-Sim vs lower bound, Yosys area
	@$(SYSTOLIC) $(CMD.bench)
	@$(SYSTOLIC) $(CMD.bench.2)
.PHONY: bench-networks

# Needs torchvision's model definitions (make setup installs them; see docs/lowering.md).
VARS.bench-networks :=
bench-networks: setup ## whole CNNs on the RTL: resnet18, mobilenet_v2 at 224x224 end to end (Verilator 16x16), time per phase
	@$(QPY) -m systolic.bench.networks
.PHONY: fpga

# The array and the accelerator top, each at MUL_REG 0 and 1, at their default sizes 4x4, 8x8
# and 12x12, or every one at SIZES.
VARS.fpga := SIZES
FPGA_ACCEL_SIZES := 4x4,8x8,12x12
CMD.fpga.1 = fpga $(call opt,--sizes,$(SIZES))
CMD.fpga.2 = fpga --mul-reg 1 --out build/bench/fpga_mulreg.json $(call opt,--sizes,$(SIZES))
CMD.fpga.3 = fpga --designs systolic_accel --sizes $(call sq,$(or $(SIZES),$(FPGA_ACCEL_SIZES))) \
	--out build/bench/fpga_accel.json
CMD.fpga.4 = fpga --designs systolic_accel --mul-reg 1 \
	--sizes $(call sq,$(or $(SIZES),$(FPGA_ACCEL_SIZES))) --out build/bench/fpga_accel_mulreg.json
fpga: setup ## FPGA figures, ECP5-85F out of context (Yosys + nextpnr), array and accelerator top at MUL_REG 0 and 1: LUTs, FFs, DSPs, Fmax
	@$(SYSTOLIC) $(CMD.fpga.1)
	@$(SYSTOLIC) $(CMD.fpga.2)
	@$(SYSTOLIC) $(CMD.fpga.3)
	@$(SYSTOLIC) $(CMD.fpga.4)
