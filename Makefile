# systolic — make targets wrap the `systolic` command (see `make help`).
# Every target sets itself up first (venv, pinned packages, Icarus via apt when root).

SHELL   := /bin/bash
VENV    ?= .venv
PY      := $(VENV)/bin/python
SYSTOLIC := $(PY) -m systolic.cli

# Options of `make sim` / `make test-one` (empty = the command's default).
SIM     ?= icarus
ROWS    ?=
COLS    ?=
DATA_W  ?= 8
ACC_W   ?= 32
MUL_REG ?=
SEED    ?= 1
WAVES   ?=
TEST    ?=
JOBS    ?= 2
WORKLOAD ?=
MODE    ?=
TOP     ?=
OUT_ROWS ?=
SHADOWS ?=

ARRAY_ARGS = --sim $(or $(SIM),icarus) $(if $(DATA_W),--data-w $(DATA_W)) \
	$(if $(ACC_W),--acc-w $(ACC_W)) $(if $(MUL_REG),--mul-reg $(MUL_REG)) $(if $(SEED),--seed $(SEED)) \
	$(if $(ROWS),--rows $(ROWS)) $(if $(COLS),--cols $(COLS)) $(if $(filter 1 yes true,$(WAVES)),--waves)

.DEFAULT_GOAL := help
.PHONY: help setup sim test regress test-one lint mutate flake clean distclean

help: ## show this help
	@echo "systolic: output-stationary systolic array, cocotb testbench, models, CNN pruning"
	@echo
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "Options: SIM=icarus|verilator ROWS= COLS= DATA_W=8 ACC_W=32 MUL_REG=0|1 SEED=1 WAVES=1 TEST=name"
	@echo "         MUL_REG=1: each PE registers its product (one more cycle of latency; also with TOP=accel)"
	@echo "         make sim WORKLOAD=file.npz [MODE=e2e|replay] [TOP=array|accel]: a workload file through the RTL"
	@echo "         (TOP=accel: OUT_ROWS= rows per result beat, SHADOWS= shadow registers per PE)"
	@echo "         make test/regress: SIMS=icarus,verilator JOBS=2 PYTEST_ARGS='-k 8x8'"

setup: ## create .venv with pinned packages, install Icarus (apt, as root)
	@bash scripts/setup.sh

sim: setup ## main job: lecture 3x3 + short random regression, summary (SIM=, ROWS=, WAVES=1 ...)
	@$(SYSTOLIC) sim $(ARRAY_ARGS) $(if $(WORKLOAD),--workload $(WORKLOAD)) $(if $(MODE),--mode $(MODE)) $(if $(TOP),--top $(TOP)) \
		$(if $(OUT_ROWS),--out-rows $(OUT_ROWS)) $(if $(SHADOWS),--shadows $(SHADOWS))

# One pytest run of a tier: JUnit XML in build/junit, coverage merged and checked for closure.
# pytest's exit code 5 ("no tests collected") is a failure.
define run_tier
	@rm -rf build/coverage/$(1) && mkdir -p build/junit
	@SYSTOLIC_COV_DIR=$(CURDIR)/build/coverage/$(1) $(PY) -m pytest -n $(JOBS) --dist loadgroup -q \
		--tier $(2) --sims $(SIMS) --junitxml=build/junit/$(1).xml $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: no tests were collected" >&2; exit 1; fi; exit $$rc
	@$(SYSTOLIC) coverage build/coverage/$(1) $(COV_CHECK)
endef

SIMS        ?= icarus,verilator
COV_CHECK   ?= --check
PYTEST_ARGS ?=

test: setup ## every test: Python unit tests + cocotb regressions on both simulators (<10 min)
	$(call run_tier,test,quick)

regress: setup ## nightly depth: up to 32x32, DATA_W 4/8/16, many seeds, long streams
	$(call run_tier,regress,nightly)

test-one: setup ## one cocotb test: make test-one TEST=test_lecture_3x3 ROWS=3 COLS=3 SIM=icarus
	@$(SYSTOLIC) run $(ARRAY_ARGS) $(if $(TEST),--test $(TEST))

lint: setup ## verilator --lint-only -Wall (several parameter sets), ruff and mypy
	@$(SYSTOLIC) lint
	@$(VENV)/bin/ruff check .
	@$(PY) scripts/typecheck.py

mutate: setup ## mutation testing: every RTL mutant killed by a checker (ENGINE=sim|formal|both)
	@$(SYSTOLIC) mutate $(if $(ENGINE),--engine $(ENGINE))

flake: setup ## run the quick cocotb regression N times (RUNS=3) and report any difference
	@$(SYSTOLIC) flake --runs $(or $(RUNS),3)

clean: ## remove simulator builds, results and waves
	rm -rf build sim_build results .pytest_cache

distclean: clean ## also remove the venv and artifacts
	rm -rf $(VENV) artifacts

-include mk/*.mk
