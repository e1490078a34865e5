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
# artifacts/pruning/e2e/slimming/pruned/ -> build/slimming-pruned.npz (a space in MODEL kept as
# one word through make's word functions)
space        := $() $()
MODEL_DIR    = $(patsubst %/,%,$(subst $(space),^SP^,$(MODEL)))
WORKLOAD_OUT ?= $(subst ^SP^,$(space),build/$(notdir $(patsubst %/,%,$(dir $(MODEL_DIR))))-$(notdir $(MODEL_DIR)).npz)

.PHONY: e2e lower

VARS.e2e := E2E_SIM E2E_ROWS E2E_COLS E2E_METHODS E2E_IMAGES E2E_SEED E2E_OUT E2E_TOP \
	E2E_OUT_ROWS E2E_SHADOWS
CMD.e2e = e2e --sim $(call sq,$(E2E_SIM)) --rows $(call sq,$(E2E_ROWS)) --cols $(call sq,$(E2E_COLS)) \
	--methods $(call sq,$(E2E_METHODS)) --seed $(call sq,$(E2E_SEED)) --out $(call sq,$(E2E_OUT)) \
	--top $(call sq,$(E2E_TOP)) $(call opt,--images,$(E2E_IMAGES)) \
	$(call opt,--out-rows,$(E2E_OUT_ROWS)) $(call opt,--shadows,$(E2E_SHADOWS))
e2e: setup ## train, prune, lower, run the digits test split through the RTL; report (artifacts/e2e)
	$(SYSTOLIC) $(CMD.e2e)

# Without MODEL, the check refuses before anything runs (lower's MODEL argument is required).
VARS.lower := MODEL WORKLOAD_OUT
CMD.lower = lower $(if $(strip $(MODEL)),$(call sq,$(MODEL))) --out $(call sq,$(WORKLOAD_OUT))
lower: setup ## a saved model to a workload file: make lower MODEL=artifacts/pruning/e2e/slimming/pruned
	$(SYSTOLIC) $(CMD.lower)
