"""Render bench.json / bench_sim.json as Markdown tables (used for docs/gemm.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def bench_md(path: Path) -> str:
    d = json.loads(path.read_text())
    out = []
    for size, a in d["arrays"].items():
        out.append(f"**{size}**\n")
        out.append(
            "| GEMM | MxKxN | RTL | model | SCALE-Sim | LB | RTL/LB | RTL/SCALE-Sim | util | "
            "SCALE-Sim util | mapping eff |"
        )
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in a["rows"]:
            ss = r["scalesim_cycles"]
            mark = "*" if r.get("scalesim_source") == "formula" else ""
            out.append(
                f"| {r['name']} | {r['m']}x{r['k']}x{r['n']} | {r['rtl_cycles']} | "
                f"{r['model_cycles']} | {f'{ss}{mark}' if ss else '-'} | {r['lower_bound']} | "
                f"{r['rtl_over_lb']:.4f} | "
                + (f"{r['rtl_over_scalesim']:.3f}" if ss else "-")
                + f" | {r['utilization']:.1%} | "
                + (f"{r['scalesim_utilization']:.1%}" if ss else "-")
                + f" | {r['mapping_efficiency']:.1%} |"
            )
        out.append(
            f"\ngeometric mean RTL/LB {a['geomean_rtl_over_lb']:.4f}, RTL/SCALE-Sim "
            f"{a['geomean_rtl_over_scalesim']:.3f} (LB/SCALE-Sim "
            f"{a['geomean_lb_over_scalesim']:.3f})\n"
        )
    out.append("| target | measured | met |")
    out.append("|---|---:|---|")
    for name, t in d["targets"].items():
        out.append(f"| {name} | {t['value']} | {'yes' if t['met'] else 'NO'} |")
    if "area" in d:
        out.append("\n| design | cells | flip-flops | cells/PE | FF/PE |")
        out.append("|---|---:|---:|---:|---:|")
        for a in d["area"]:
            name = a["design"] + (
                "" if a["design"] == "systolic_pe" else f" {a['rows']}x{a['cols']}"
            )
            out.append(
                f"| {name} | {a['cells']} | {a['flops']} | {a['cells_per_pe']:.0f} | "
                f"{a['flops_per_pe']:.0f} |"
            )
    return "\n".join(out)


def bench_sim_md(path: Path) -> str:
    d = json.loads(path.read_text())
    out = [
        "| simulator | array | cycles | cocotb default | cocotb fast | raw (same harness) | "
        "raw, no check | fast/raw | target | default/raw | fast/raw no check |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in d["results"]:
        out.append(
            f"| {x['sim']} | {x['array']} | {x['cycles']} | {x['cocotb_default']:.0f} | "
            f"{x['cocotb_fast']:.0f} | {x['raw']:.0f} | {x['raw_nocheck']:.0f} | "
            f"{x['fast_over_raw']:.2f} | {x['target']:.2f} | {x['default_over_raw']:.3f} | "
            f"{x['fast_over_raw_nocheck']:.2f} |"
        )
    return "\n".join(out)


if __name__ == "__main__":
    kind, path = sys.argv[1], Path(sys.argv[2])
    print(bench_md(path) if kind == "bench" else bench_sim_md(path))
