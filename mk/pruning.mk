# Pruning targets (issue 4). Included by the top-level Makefile, which defines PY and `setup`.
#   make prune        all four methods with the benchmark settings, reports under artifacts/pruning/
#   make bench-prune  the same, then the targets table (MAC reduction, accuracy loss, wall time)
#   make test-prune   the pruning unit tests only
# Override e.g. PRUNE_ARGS="--ratio 0.7 --round-to 8" or PRUNE_OUT=artifacts/my-run.

PY ?= .venv/bin/python
PRUNE_OUT ?= artifacts/pruning
PRUNE_METHOD ?= all
PRUNE_ARGS ?=

.PHONY: prune bench-prune test-prune

prune: setup ## prune digits CNNs with all four methods, reports in artifacts/pruning/
	$(PY) -m systolic prune --method $(PRUNE_METHOD) --out $(PRUNE_OUT) $(PRUNE_ARGS)

# Each method runs in its own process so that its wall time includes its own dense baseline
# training (nothing shared or cached between methods).
bench-prune: setup ## pruning benchmark: MACs, accuracy loss, wall time per method vs dense
	@mkdir -p $(PRUNE_OUT)/bench
	@for m in slimming autopruner se shuffle; do \
	  $(PY) -m systolic prune --method $$m --out $(PRUNE_OUT)/bench --quiet $(PRUNE_ARGS) || exit $$?; \
	done
	$(PY) -m systolic.pruning.bench $(PRUNE_OUT)/bench

test-prune: setup ## the pruning unit tests only
	$(PY) -m pytest -q tests/pruning
