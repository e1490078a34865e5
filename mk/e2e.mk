# End to end (issue 5). Included by the top-level Makefile, which defines SYSTOLIC and `setup`.
#   make e2e                 train, prune, lower and run the digits test split through the RTL
#                            (dense + every pruned model), report in artifacts/e2e/
#   make lower MODEL=DIR     a saved model to a workload file (default build/<method>-<dir>.npz)
#   make sim WORKLOAD=FILE   one workload through the RTL (SIM=icarus|verilator, ROWS=COLS=8
#                            by default, MODE=e2e|replay, TOP=array|accel; with TOP=accel
#                            OUT_ROWS= rows per result beat, SHADOWS= shadow registers per PE)
# Override e.g. E2E_SIM=icarus E2E_IMAGES=64 E2E_METHODS=slimming,autopruner.

E2E_SIM     ?= verilator
E2E_ROWS    ?= 8
E2E_COLS    ?= 8
E2E_METHODS ?= all
E2E_IMAGES  ?=
E2E_SEED    ?= 0
E2E_OUT     ?= artifacts/e2e
# array (the grid through its fast-path harness) or accel (the AXI4-Stream accelerator top)
E2E_TOP     ?= array
# with E2E_TOP=accel: rows per result beat and shadow registers per PE (empty: 1 and 1)
E2E_OUT_ROWS ?=
E2E_SHADOWS  ?=
# artifacts/pruning/e2e/slimming/pruned/ -> build/slimming-pruned.npz
MODEL_DIR    = $(patsubst %/,%,$(MODEL))
WORKLOAD_OUT ?= build/$(notdir $(patsubst %/,%,$(dir $(MODEL_DIR))))-$(notdir $(MODEL_DIR)).npz

.PHONY: e2e lower

e2e: setup ## train, prune, lower, run the digits test split through the RTL; report (artifacts/e2e)
	$(SYSTOLIC) e2e --sim $(E2E_SIM) --rows $(E2E_ROWS) --cols $(E2E_COLS) \
		--methods $(E2E_METHODS) --seed $(E2E_SEED) --out $(E2E_OUT) --top $(E2E_TOP) \
		$(if $(E2E_IMAGES),--images $(E2E_IMAGES)) $(if $(E2E_OUT_ROWS),--out-rows $(E2E_OUT_ROWS)) \
		$(if $(E2E_SHADOWS),--shadows $(E2E_SHADOWS))

lower: setup ## a saved model to a workload file: make lower MODEL=artifacts/pruning/e2e/slimming/pruned
	@test -n "$(MODEL)" || { echo "make lower: give MODEL=<directory written by systolic prune>" >&2; exit 2; }
	$(SYSTOLIC) lower $(MODEL) --out $(WORKLOAD_OUT)
