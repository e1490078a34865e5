"""``python -m systolic.pruning.bench DIR``: the benchmark table over the reports in DIR, with
the issue's targets checked.

DIR holds either one run (``DIR/<method>/report.json``) or several seeds
(``DIR/seed<N>/<method>/report.json``, as ``make bench-prune`` writes them). With several seeds
the table gives each seed's row and, per method, the mean and spread: on 450 test samples one
sample is 0.22 percentage points, so a single seed says little about a 0.5 pp target.

Targets (of the methods the registry marks ``targets``): MACs >= 4x fewer on every seed, mean
accuracy loss <= 0.5 pp, every run < 120 s. Exit status 0 when met, 1 when not, 2 without reports.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

from systolic.fileio import atomic_write
from systolic.pruning.registry import NAMES, TARGET_METHODS
from systolic.pruning.report import (
    TARGET_MAC_REDUCTION,
    TARGET_MAX_LOSS_PP,
    TARGET_SECONDS,
    summary_markdown,
)


def collect(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Reports per run directory (the root itself, or its ``seed*`` folders)."""
    runs = (
        [root]
        if any((root / m / "report.json").is_file() for m in NAMES)
        else sorted(root.glob("seed*"), key=lambda p: (len(p.name), p.name))
    )
    out = {}
    for run in runs:
        reports = [
            json.loads(p.read_text()) for m in NAMES if (p := run / m / "report.json").is_file()
        ]
        if reports:
            out[run.name] = reports
    return out


def aggregate(runs: dict[str, list[dict[str, Any]]]) -> tuple[str, bool]:
    """Markdown of the per-method statistics over runs, and whether the targets are met."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for reports in runs.values():
        for r in reports:
            by_method.setdefault(r["method"], []).append(r)
    lines = [
        "| method | runs | dense acc (mean) | fine-tuned acc (mean) | loss pp (mean ± sd, worst) | "
        "MAC reduction (min-max) | wall time s (max) | targets |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ok = True
    for method, rs in by_method.items():
        loss = [r["accuracy_loss_pp"] for r in rs]
        red = [r["macs"]["reduction"] for r in rs]
        secs = [r["seconds"]["total"] for r in rs]
        sd = statistics.stdev(loss) if len(loss) > 1 else 0.0
        met = "-"
        if method in TARGET_METHODS:
            good = (
                min(red) >= TARGET_MAC_REDUCTION
                and statistics.mean(loss) <= TARGET_MAX_LOSS_PP
                and max(secs) < TARGET_SECONDS
            )
            ok = ok and good
            met = "met" if good else "NOT met"
        lines.append(
            f"| {method} | {len(rs)} | {statistics.mean(r['accuracy']['dense'] for r in rs):.2f} | "
            f"{statistics.mean(r['accuracy']['finetuned'] for r in rs):.2f} | "
            f"{statistics.mean(loss):+.2f} ± {sd:.2f}, {max(loss):+.2f} | "
            f"{min(red):.2f}x-{max(red):.2f}x | {max(secs):.1f} | {met} |"
        )
    missing = [m for m in TARGET_METHODS if m not in by_method]
    if missing:
        lines.append(f"\nmissing target methods: {', '.join(missing)}")
        ok = False
    return "\n".join(lines) + "\n", ok


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m systolic.pruning.bench REPORT_DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    runs = collect(root)
    if not runs:
        print(f"systolic: error: no <method>/report.json under {root}", file=sys.stderr)
        return 2
    parts = []
    for name, reports in runs.items():
        parts += [f"## {name}", "", summary_markdown(reports)]
    table, ok = aggregate(runs)
    parts += [
        "## Over all runs",
        "",
        f"Targets: MACs >= {TARGET_MAC_REDUCTION:g}x fewer on every run, mean accuracy "
        f"loss <= {TARGET_MAX_LOSS_PP} pp, every run < {TARGET_SECONDS:g} s.",
        "",
        table,
    ]
    text = "\n".join(parts)
    atomic_write(root / "bench.md", text)
    print(text)
    print(f"written: {root / 'bench.md'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
