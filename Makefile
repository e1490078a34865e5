# systolic — make targets wrap the `systolic` command (see `make help`).
# Every target sets itself up first (venv, pinned packages, Icarus via apt when root).
# Every target's variables are checked by the CLI before anything starts (make-check, below).

SHELL   := /bin/bash
VENV    ?= .venv
PY      := $(VENV)/bin/python

# One shell word: the value single-quoted, its own single quotes escaped (spaces, quotes, `;`,
# `*` and `$` in a path reach the command as they are).
sq = '$(subst ','\'',$(1))'
# `OPTION 'VALUE'` when VALUE is not empty.
opt = $(if $(strip $(2)),$(1) $(call sq,$(2)))
# `OPTION 'ITEM'` for each item of a comma- or space-separated list (repeatable options).
comma := ,
opts = $(foreach i,$(subst $(comma), ,$(2)),$(1) $(call sq,$(i)))
# `OPTION 'VALUE'` only when the variable NAME is set by the user (command line or environment),
# not by a default here: for commands whose own default differs (flake runs every simulator).
useropt = $(if $(filter-out undefined default file,$(origin $(2))),$(call opt,$(1),$($(2))))

QPY      = $(call sq,$(PY))
SYSTOLIC = $(QPY) -m systolic.cli

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
SIZES   ?=
ENGINE  ?=
ONLY    ?=
RUNS    ?= 3

ARRAY_ARGS = --sim $(call sq,$(or $(SIM),icarus)) $(call opt,--data-w,$(DATA_W)) \
	$(call opt,--acc-w,$(ACC_W)) $(call opt,--mul-reg,$(MUL_REG)) $(call opt,--seed,$(SEED)) \
	$(call opt,--rows,$(ROWS)) $(call opt,--cols,$(COLS)) $(if $(filter 1 yes true,$(WAVES)),--waves)
ARRAY_VARS = SIM ROWS COLS DATA_W ACC_W MUL_REG SEED WAVES

.DEFAULT_GOAL := help
.PHONY: help setup sim test regress test-one lint mutate flake clean distclean make-check

VARS.help :=
help: make-check ## show this help
	@echo "systolic: output-stationary systolic array, cocotb testbench, models, CNN pruning"
	@echo
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'
	@echo
	@echo "Options: SIM=icarus|verilator ROWS= COLS= DATA_W=8 ACC_W=32 MUL_REG=0|1 SEED=1 WAVES=1 TEST=name"
	@echo "         MUL_REG=1: each PE registers its product (one more cycle of latency; also with TOP=accel)"
	@echo "         make sim WORKLOAD=file.npz [MODE=e2e|replay] [TOP=array|accel]: a workload file through the RTL"
	@echo "         (TOP=accel: OUT_ROWS= rows per result beat, SHADOWS= shadow registers per PE)"
	@echo "         SIZES=8x8,16x16 for sim, flake, mutate, fpga, bench, bench-sim; ONLY= for formal, mutate, bench"
	@echo "         make test/regress: SIMS=icarus,verilator JOBS=2 PYTEST_ARGS='-k 8x8'"
	@echo "Every variable is checked before anything starts: one set on the command line that the"
	@echo "target does not take, or a bad value, is one line 'systolic: error: ...' and exit status 2."
	@echo "Variables of each target (and VENV= PYTHON= EXTRAS= SETUP_PIP_ARGS= of every one):"
	@printf '  %-16s %s\n' $(foreach t,$(sort $(patsubst VARS.%,%,$(filter VARS.%,$(.VARIABLES)))),$(if \
		$(VARS.$(t)),$(t) $(call sq,$(VARS.$(t)))))

VARS.setup :=
setup: make-check ## create .venv with pinned packages, install Icarus (apt, as root)
	@had=$$([ -x $(QPY) ] && echo 1); bash scripts/setup.sh && { [ -n "$$had" ] || $(MAKE_CHECK); }

VARS.sim := $(ARRAY_VARS) WORKLOAD MODE TOP OUT_ROWS SHADOWS SIZES
CMD.sim = sim $(ARRAY_ARGS) $(call opt,--workload,$(WORKLOAD)) $(call opt,--mode,$(MODE)) \
	$(call opt,--top,$(TOP)) $(call opt,--out-rows,$(OUT_ROWS)) $(call opt,--shadows,$(SHADOWS)) \
	$(call opt,--sizes,$(SIZES))
sim: setup ## main job: lecture 3x3 + short random regression, summary (SIM=, ROWS=, WAVES=1 ...)
	@$(SYSTOLIC) $(CMD.sim)

# One pytest run of a tier: JUnit XML in build/junit, coverage merged and checked for closure.
# pytest's exit code 5 ("no tests collected") is a failure.
define run_tier
	@rm -rf build/coverage/$(1) && mkdir -p build/junit
	@SYSTOLIC_COV_DIR=$(call sq,$(CURDIR)/build/coverage/$(1)) $(QPY) -m pytest -n $(call sq,$(JOBS)) \
		--dist loadgroup -q --tier $(2) --sims $(call sq,$(SIMS)) --junitxml=build/junit/$(1).xml \
		$(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make: no tests were collected" >&2; exit 1; fi; exit $$rc
	@$(SYSTOLIC) coverage build/coverage/$(1) $(COV_CHECK)
endef

SIMS        ?= icarus,verilator
COV_CHECK   ?= --check
PYTEST_ARGS ?=
TIER_VARS    = JOBS SIMS COV_CHECK PYTEST_ARGS

VARS.test := $(TIER_VARS)
test: setup ## every test: Python unit tests + cocotb regressions on both simulators (<10 min)
	$(call run_tier,test,quick)

VARS.regress := $(TIER_VARS)
regress: setup ## nightly depth: up to 32x32, DATA_W 4/8/16, many seeds, long streams
	$(call run_tier,regress,nightly)

VARS.test-one := $(ARRAY_VARS) TEST
CMD.test-one = run $(ARRAY_ARGS) $(call opt,--test,$(TEST))
test-one: setup ## one cocotb test: make test-one TEST=test_lecture_3x3 ROWS=3 COLS=3 SIM=icarus
	@$(SYSTOLIC) $(CMD.test-one)

VARS.lint :=
lint: setup ## verilator --lint-only -Wall (several parameter sets), ruff and mypy
	@$(SYSTOLIC) lint
	@$(call sq,$(VENV)/bin/ruff) check .
	@$(QPY) scripts/typecheck.py

VARS.mutate := ENGINE SIZES ONLY
CMD.mutate = mutate $(call opt,--engine,$(ENGINE)) $(call opt,--sizes,$(SIZES)) $(call opts,--only,$(ONLY))
mutate: setup ## mutation testing: every RTL mutant killed by a checker (ENGINE=sim|formal|both)
	@$(SYSTOLIC) $(CMD.mutate)

VARS.flake := RUNS SIZES SIM SEED
CMD.flake = flake $(call opt,--runs,$(RUNS)) $(call opt,--sizes,$(SIZES)) $(call useropt,--sim,SIM) \
	$(call useropt,--seed,SEED)
flake: setup ## run the quick cocotb regression N times (RUNS=3) and report any difference
	@$(SYSTOLIC) $(CMD.flake)

VARS.clean :=
clean: make-check ## remove simulator builds, results and waves
	rm -rf build sim_build results .pytest_cache

VARS.distclean :=
distclean: clean ## also remove the venv and artifacts
	rm -rf $(call sq,$(VENV)) artifacts

-include mk/*.mk

# --- make's variables, checked by the CLI before any target starts -----------------------------
# Each target names the variables it takes (VARS.<target>) and the systolic command lines it
# runs (CMD.<target>, CMD.<target>.<n>). make-check runs first (setup and every target without
# setup depend on it) and hands all of it to `python -m systolic.cli.makevars`, which refuses a
# variable set on make's command line that none of the targets takes (naming those they take),
# a value with a control character, a bad value of a variable that reaches no systolic command
# (JOBS, SIMS, ...), and any command line that the command's own parser refuses: one line
# `systolic: error: ...`, exit status 2. Values reach it through the environment (MAKEVAR_*,
# MAKECMD_*), which carries any character. Variables inherited by a nested make (MAKELEVEL > 0)
# come from its parent's command line: only their values are checked. The check needs the venv:
# on a fresh clone, setup installs it first and the check follows right after.
MAKECHECK_GOALS := $(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))
MAKECHECK_GIVEN := $(strip $(if $(filter 0,$(MAKELEVEL)),$(foreach v,$(.VARIABLES),$(if \
	$(filter command line,$(origin $(v))),$(v)))))
# Variables of every target: the venv and what scripts/setup.sh reads.
VARS_ANY := VENV PYTHON EXTRAS SETUP_PIP_ARGS
MAKECHECK_VARS := $(sort $(VARS_ANY) $(foreach g,$(MAKECHECK_GOALS),$(VARS.$(g))))
MAKECHECK_CMDS := $(foreach g,$(MAKECHECK_GOALS),$(sort $(filter CMD.$(g) CMD.$(g).%,$(.VARIABLES))))
makecmd_env = MAKECMD_$(subst -,_,$(subst .,_,$(1)))
$(foreach v,$(MAKECHECK_VARS),$(eval make-check setup: export MAKEVAR_$(v) = $$($(v))))
$(foreach c,$(MAKECHECK_CMDS),$(eval make-check setup: export $(call makecmd_env,$(c)) = $$($(c))))
MAKE_CHECK = $(QPY) -m systolic.cli.makevars --given $(call sq,$(MAKECHECK_GIVEN)) \
	$(foreach g,$(MAKECHECK_GOALS),--goal $(call sq,$(g)) $(call sq,$(VARS.$(g)))) \
	$(foreach c,$(MAKECHECK_CMDS),--command $(call sq,$(c)) $(call makecmd_env,$(c)))

# `+`: also under make -n, so that a dry run refuses what the real one would.
make-check:
	+@if [ -x $(QPY) ]; then $(MAKE_CHECK); fi
