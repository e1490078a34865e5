# systolic — make targets wrap the `systolic` command (see `make help`).
# Every target sets itself up first (venv, pinned packages, Icarus via apt when root).

SHELL   := /bin/bash
VENV    ?= .venv
PY      := $(VENV)/bin/python
SYSTOLIC := $(PY) -m systolic

# Options of `make sim` / `make test-one` (empty = the command's default).
SIM     ?= icarus
ROWS    ?=
COLS    ?=
DATA_W  ?= 8
ACC_W   ?= 32
SEED    ?= 1
WAVES   ?=
TEST    ?=
JOBS    ?= 2

ARRAY_ARGS = --sim $(SIM) --data-w $(DATA_W) --acc-w $(ACC_W) --seed $(SEED) \
	$(if $(ROWS),--rows $(ROWS)) $(if $(COLS),--cols $(COLS)) $(if $(filter 1 yes true,$(WAVES)),--waves)

.DEFAULT_GOAL := help
.PHONY: help setup sim test test-one lint clean distclean

help: ## show this help
	@echo "systolic: output-stationary systolic array, cocotb testbench, models, CNN pruning"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "Options: SIM=icarus|verilator ROWS= COLS= DATA_W=8 ACC_W=32 SEED=1 WAVES=1 TEST=name"

setup: ## create .venv with pinned packages, install Icarus (apt, as root)
	@bash scripts/setup.sh

sim: setup ## main job: lecture 3x3 + short random regression, summary (SIM=, ROWS=, WAVES=1 ...)
	@$(SYSTOLIC) sim $(ARRAY_ARGS)

test: setup ## every test: Python unit tests + cocotb regressions on both simulators
	@$(PY) -m pytest -n $(JOBS) --dist loadgroup -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: no tests were collected" >&2; exit 1; fi; exit $$rc

test-one: setup ## one cocotb test: make test-one TEST=test_lecture_3x3 ROWS=3 COLS=3 SIM=icarus
	@$(SYSTOLIC) run $(ARRAY_ARGS) $(if $(TEST),--test $(TEST))

lint: setup ## verilator --lint-only -Wall (several parameter sets) and ruff
	@$(SYSTOLIC) lint
	@$(VENV)/bin/ruff check .

clean: ## remove simulator builds, results and waves
	rm -rf build sim_build results waves .pytest_cache

distclean: clean ## also remove the venv and artifacts
	rm -rf $(VENV) artifacts

-include mk/*.mk
