# Pruning targets (issue 4). Included by the top-level Makefile, which defines PY and `setup`.
#   make prune        every method with the benchmark settings, reports under artifacts/pruning/
#   make bench-prune  every method for seeds PRUNE_SEEDS, then the targets table (bench.md)
#   make test-prune   the pruning unit tests only
# Override e.g. PRUNE_ARGS="--ratio 0.7 --round-to 8" or PRUNE_OUT=artifacts/my-run.

PY ?= .venv/bin/python
PRUNE_OUT ?= artifacts/pruning
PRUNE_METHOD ?= all
PRUNE_ARGS ?=
# Seeds of the benchmark: one test sample is 0.22 pp, so one seed alone says little.
PRUNE_SEEDS ?= 0 1 2
# Methods of the benchmark (default: every method of the registry, pruning/registry.py).
PRUNE_METHODS ?= $(shell $(PY) -m systolic.pruning.registry)

.PHONY: prune bench-prune test-prune

# PRUNE_ARGS are shell words (several options), checked as part of the command line.
VARS.prune := PRUNE_METHOD PRUNE_OUT PRUNE_ARGS
CMD.prune = prune --method $(call sq,$(PRUNE_METHOD)) --out $(call sq,$(PRUNE_OUT)) $(PRUNE_ARGS)
prune: setup ## prune digits CNNs with every method, reports in artifacts/pruning/
	$(SYSTOLIC) $(CMD.prune)

# Each method and seed runs in its own process, so that its wall time includes its own dense
# baseline training (nothing is shared or cached between runs).
# One command line per seed and method, checked exactly as run (defined only when bench-prune
# is a goal: PRUNE_METHODS asks the registry).
VARS.bench-prune := PRUNE_SEEDS PRUNE_METHODS PRUNE_OUT PRUNE_ARGS
BENCH_PRUNE_RUNS = $(foreach s,$(PRUNE_SEEDS),$(foreach m,$(PRUNE_METHODS),$(s):$(m)))
bench_prune_cmd = prune --method $(call sq,$(2)) --seed $(call sq,$(1)) \
	--out $(call sq,$(PRUNE_OUT)/bench/seed$(1)) --quiet $(PRUNE_ARGS)
$(if $(filter bench-prune,$(MAKECMDGOALS)),$(foreach r,$(BENCH_PRUNE_RUNS),$(eval \
	CMD.bench-prune.$(subst :,.,$(r)) = $$(call bench_prune_cmd,$(subst :,$(comma),$(r))))))
bench-prune: setup ## pruning benchmark: MACs, accuracy loss, wall time per method vs dense
	@$(foreach r,$(BENCH_PRUNE_RUNS),$(SYSTOLIC) $(call bench_prune_cmd,$(firstword $(subst :, ,$(r))),$(lastword $(subst :, ,$(r)))) &&) true
	$(QPY) -m systolic.pruning.bench $(call sq,$(PRUNE_OUT)/bench)

VARS.test-prune :=
test-prune: setup ## the pruning unit tests only
	$(QPY) -m pytest -q tests/pruning
