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

prune: setup ## prune digits CNNs with every method, reports in artifacts/pruning/
	$(PY) -m systolic.cli prune --method $(PRUNE_METHOD) --out $(PRUNE_OUT) $(PRUNE_ARGS)

# Each method and seed runs in its own process, so that its wall time includes its own dense
# baseline training (nothing is shared or cached between runs).
bench-prune: setup ## pruning benchmark: MACs, accuracy loss, wall time per method vs dense
	@for s in $(PRUNE_SEEDS); do for m in $(PRUNE_METHODS); do \
	  $(PY) -m systolic.cli prune --method $$m --seed $$s --out $(PRUNE_OUT)/bench/seed$$s --quiet \
	    $(PRUNE_ARGS) || exit $$?; \
	done; done
	$(PY) -m systolic.pruning.bench $(PRUNE_OUT)/bench

test-prune: setup ## the pruning unit tests only
	$(PY) -m pytest -q tests/pruning
