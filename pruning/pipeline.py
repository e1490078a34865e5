"""Run one or several pruning methods end to end and write their reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from systolic.pruning.config import METHODS, MethodResult, PruneConfig
from systolic.pruning.data import Digits, load_digits_split, seed_everything
from systolic.pruning.errors import PruningError
from systolic.pruning.report import summary_markdown, write_report
from systolic.pruning.train import BaselineCache


def run_method(
    method: str, cfg: PruneConfig, data: Digits, baselines: BaselineCache | None = None
) -> MethodResult:
    """Run ``method`` (one of METHODS) and return its result (no files written)."""
    from systolic.pruning import autopruner, se_prune, shuffle, slimming

    runners = {
        "slimming": slimming.run,
        "autopruner": autopruner.run,
        "se": se_prune.run,
        "shuffle": shuffle.run,
    }
    if method not in runners:
        raise PruningError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    seed_everything(cfg.seed, cfg.threads)
    return runners[method](cfg, data, baselines or BaselineCache())


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
    summary = Path(out_dir) / "summary.md"
    summary.write_text(summary_markdown(reports))
    return reports
