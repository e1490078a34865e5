"""``python -m systolic.pruning.bench DIR``: the benchmark table over the reports in DIR
(one ``<method>/report.json`` per method), with the issue's targets checked.

Exit status 0 when Network Slimming and AutoPruner both reach >= 4x fewer MACs with <= 0.5
percentage points accuracy loss in under 120 s, 1 otherwise (missing reports: 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from systolic.pruning.config import METHODS
from systolic.pruning.report import TARGET_METHODS, summary_markdown


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m systolic.pruning.bench REPORT_DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    reports = [
        json.loads(p.read_text())
        for m in METHODS
        if (p := root / m / "report.json").is_file()
    ]
    if not reports:
        print(f"systolic: error: no <method>/report.json under {root}", file=sys.stderr)
        return 2
    table = summary_markdown(reports)
    lines = ["", "| method | target | met |", "|---|---|---|"]
    ok = True
    for r in reports:
        for name, met in r.get("targets", {}).items():
            lines.append(f"| {r['method']} | {name} | {'yes' if met else 'NO'} |")
            ok = ok and met
    missing = [m for m in TARGET_METHODS if m not in {r["method"] for r in reports}]
    if missing:
        lines.append(f"\nmissing target methods: {', '.join(missing)}")
        ok = False
    text = table + "\n".join(lines) + "\n"
    (root / "bench.md").write_text(text)
    print(text)
    print(f"written: {root / 'bench.md'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
