"""Render bench.json / bench_sim.json as Markdown tables (used for docs/gemm.md)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from systolic.report import md_table


def figure(value: float | None, spec: str = "") -> str:
    """``value`` formatted with ``spec`` (e.g. ``.3f``, ``.1%``), or ``-`` where it was not
    computed: None (a JSON null, a ratio without its SCALE-Sim figure) or NaN (a geometric mean
    over nothing). The one formatter of the benchmark's printed and Markdown tables."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


BENCH_HEADER = (
    "GEMM",
    "MxKxN",
    "RTL",
    "model",
    "SCALE-Sim",
    "LB",
    "RTL/LB",
    "RTL/SCALE-Sim",
    "util",
    "SCALE-Sim util",
    "mapping eff",
)
SIM_HEADER = (
    "simulator",
    "array",
    "cycles",
    "cocotb default",
    "cocotb fast",
    "raw (same harness)",
    "raw, no check",
    "fast/raw",
    "target",
    "default/raw",
    "fast/raw no check",
)


def _gemm_row(r: dict[str, Any]) -> tuple[object, ...]:
    ss = r["scalesim_cycles"]
    mark = "*" if r.get("scalesim_source") == "formula" else ""
    return (
        r["name"],
        f"{r['m']}x{r['k']}x{r['n']}",
        r["rtl_cycles"],
        r["model_cycles"],
        f"{ss}{mark}" if ss else "-",
        r["lower_bound"],
        figure(r["rtl_over_lb"], ".4f"),
        figure(r["rtl_over_scalesim"], ".3f"),
        figure(r["utilization"], ".1%"),
        figure(r["scalesim_utilization"], ".1%"),
        figure(r["mapping_efficiency"], ".1%"),
    )


def bench_md(path: Path) -> str:
    d = json.loads(path.read_text())
    out = []
    for size, a in d["arrays"].items():
        out.append(f"**{size}**\n")
        out += md_table(BENCH_HEADER, [_gemm_row(r) for r in a["rows"]], "llrrrrrrrrr")
        out.append(
            f"\ngeometric mean RTL/LB {figure(a['geomean_rtl_over_lb'], '.4f')}, RTL/SCALE-Sim "
            f"{figure(a['geomean_rtl_over_scalesim'], '.3f')} (LB/SCALE-Sim "
            f"{figure(a['geomean_lb_over_scalesim'], '.3f')})\n"
        )
    targets = [(n, t["value"], "yes" if t["met"] else "NO") for n, t in d["targets"].items()]
    out += md_table(("target", "measured", "met"), targets, "lrl")
    if "area" in d:
        rows = [
            (
                a["design"] + ("" if a["design"] == "systolic_pe" else f" {a['rows']}x{a['cols']}"),
                a["cells"],
                a["flops"],
                f"{a['cells_per_pe']:.0f}",
                f"{a['flops_per_pe']:.0f}",
            )
            for a in d["area"]
        ]
        table = md_table(("design", "cells", "flip-flops", "cells/PE", "FF/PE"), rows, "lrrrr")
        out += ["\n" + table[0], *table[1:]]
    return "\n".join(out)


def bench_sim_md(path: Path) -> str:
    d = json.loads(path.read_text())
    rows = [
        (
            x["sim"],
            x["array"],
            x["cycles"],
            f"{x['cocotb_default']:.0f}",
            f"{x['cocotb_fast']:.0f}",
            f"{x['raw']:.0f}",
            f"{x['raw_nocheck']:.0f}",
            f"{x['fast_over_raw']:.2f}",
            f"{x['target']:.2f}",
            f"{x['default_over_raw']:.3f}",
            f"{x['fast_over_raw_nocheck']:.2f}",
        )
        for x in d["results"]
    ]
    return "\n".join(md_table(SIM_HEADER, rows, "llrrrrrrrrr"))


if __name__ == "__main__":
    kind, path = sys.argv[1], Path(sys.argv[2])
    print(bench_md(path) if kind == "bench" else bench_sim_md(path))
