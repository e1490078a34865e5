"""Run one or several pruning methods end to end and write their reports.

:func:`run_method` is the one pipeline every method goes through: seeding, the dense baseline,
the method's regularize / select / remove / describe steps (:mod:`systolic.pruning.method`),
evaluation, fine-tuning, timing and the :class:`~systolic.pruning.config.MethodResult`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from systolic.fileio import atomic_write
from systolic.pruning.config import MethodResult, PruneConfig, method_spec
from systolic.pruning.data import Digits, load_digits_split, seed_everything
from systolic.pruning.method import Description, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.registry import REGISTRY, get
from systolic.pruning.report import summary_markdown, write_report
from systolic.pruning.train import BaselineCache, accuracy, finetune

#: The implementation of every method of the registry, by name.
IMPLEMENTATIONS: dict[str, PruningMethod[Any]] = {m.name: m.load() for m in REGISTRY}

T = TypeVar("T")


def get_method(method: str) -> PruningMethod[Any]:
    """The implementation of ``method``; an unknown name is a :class:`PruningError`."""
    return IMPLEMENTATIONS[get(method).name]


def _timed(secs: dict[str, float], phase: str | None, step: Callable[[], T]) -> T:
    """Run ``step``; its wall time goes to ``secs[phase]`` unless ``phase`` is None."""
    t0 = time.perf_counter()
    out = step()
    if phase is not None:
        secs[phase] = time.perf_counter() - t0
    return out


def _prune(
    impl: PruningMethod[Any], ctx: RunContext, trained: Trained
) -> tuple[Pruned, float, Description]:
    """select, remove, the accuracy right after pruning, and the method's description."""
    selection = impl.select(ctx, trained)
    pruned = impl.remove(ctx, trained, selection)
    pruned_acc = accuracy(pruned.model, ctx.data.x_test, ctx.data.y_test)
    return pruned, pruned_acc, impl.describe(ctx, trained, selection, pruned)


def run_method(
    method: str, cfg: PruneConfig, data: Digits, baselines: BaselineCache | None = None
) -> MethodResult:
    """Run ``method`` (a name of the registry) and return its result (no files written)."""
    impl = get_method(method)
    seed_everything(cfg.seed, cfg.threads)
    impl.check(cfg)
    spec = method_spec(cfg, impl.name)
    secs: dict[str, float] = {}
    cache = baselines or BaselineCache()
    dense, dense_acc, secs["dense"] = cache.get(spec, data, cfg.baseline, cfg.seed, cfg.progress)
    ctx = RunContext(cfg, data, spec, dense)
    trained = _timed(secs, impl.regularize_phase, lambda: impl.regularize(ctx))
    pruned, pruned_acc, desc = _timed(secs, impl.prune_phase, lambda: _prune(impl, ctx, trained))
    tuned, ft = _timed(
        secs, "finetune", lambda: finetune(cfg, pruned.model, data, f"{impl.name}: fine-tune")
    )
    return MethodResult(
        method=impl.name,
        dense_model=dense,
        pruned_model=tuned,
        kept=pruned.kept,
        accuracy={
            "dense": dense_acc,
            "sparsity_trained": trained.accuracy,
            "pruned": pruned_acc,
            "finetuned": ft.test_accuracy,
        },
        distribution=desc.distribution,
        details=desc.details,
        notes=desc.notes,
        seconds=secs,
    )


def run_methods(
    methods: list[str], cfg: PruneConfig, out_dir: str | Path, batch: int = 1
) -> list[dict[str, Any]]:
    """Run ``methods`` one after another (sharing dense baselines), write every report and a
    summary table ``out_dir/summary.md``; returns the reports."""
    data = load_digits_split()
    baselines = BaselineCache()
    reports = []
    for method in methods:
        result = run_method(method, cfg, data, baselines)
        reports.append(write_report(result, cfg, data, out_dir, batch))
    atomic_write(Path(out_dir) / "summary.md", summary_markdown(reports))
    return reports
