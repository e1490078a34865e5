"""The end-to-end report: per model and per layer GEMM shape, MACs, RTL cycles, utilization;
dense vs pruned totals, the cycle reduction next to the MAC reduction; JSON + Markdown + plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from systolic.fileio import atomic_path, atomic_write
from systolic.models.params import ArrayParams
from systolic.pruning.registry import TARGET_METHODS
from systolic.report import md_table

#: Targets of the issue (benchmarks, not tests); the cycle target is of the registry's
#: TARGET_METHODS.
CYCLE_REDUCTION_TARGET = 3.0
WALL_TARGET_S = 300.0
#: The run that wall-time target is set for: (simulator, ROWS, COLS).
WALL_TARGET_RUN = ("verilator", 8, 8)


def _reduction(base: float, value: float) -> float | None:
    return base / value if value else None


def summarize_models(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model with its reductions against its dense baseline."""
    by_name = {m["name"]: m for m in models}
    rows = []
    for m in models:
        tot = m["run"]["total"]
        row = {
            "model": m["name"],
            "family": m["family"],
            "dense": m["dense"],
            "images": m["images"],
            "macs": tot["macs"],
            "rtl_cycles": tot["rtl_cycles"],
            "model_cycles": tot["model_cycles"],
            "utilization": tot["macs"] / (tot["rtl_cycles"] * m["run"]["rows"] * m["run"]["cols"]),
            "float_accuracy": m["float_accuracy"],
            "int_accuracy": m["int_accuracy"],
            "rtl_accuracy": m["run"].get("rtl_accuracy"),
            "agreement": m["run"].get("agreement"),
            "passed": m["run"]["passed"],
            "sim_wall_s": m["run"].get("sim_wall_s"),
            "build_s": m["run"].get("build_s"),
            "fake_quant_max_logit_diff": m["fake_quant_check"]["max_abs_logit_diff"],
            "mac_reduction": None,
            "cycle_reduction": None,
        }
        base = by_name.get(m["dense"]) if m["dense"] else None
        if base is not None:
            row["mac_reduction"] = _reduction(base["run"]["total"]["macs"], tot["macs"])
            row["cycle_reduction"] = _reduction(
                base["run"]["total"]["rtl_cycles"], tot["rtl_cycles"]
            )
        rows.append(row)
    return rows


def targets(rows: list[dict[str, Any]], sim: str, params: ArrayParams) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and whether it is met."""
    out = []
    for r in rows:
        out.append(
            {
                "kind": "agreement",
                "target": f"{r['model']}: RTL predictions == integer reference on every image",
                "value": f"{r['agreement']}/{r['images']}",
                "met": r["agreement"] == r["images"] and r["passed"],
            }
        )
    for r in rows:
        if r["model"] in TARGET_METHODS and r["cycle_reduction"] is not None:
            out.append(
                {
                    "kind": "cycles",
                    "target": f"{r['model']}: RTL cycles >= {CYCLE_REDUCTION_TARGET:.0f}x fewer "
                    f"than {r['dense']}",
                    "value": f"{r['cycle_reduction']:.2f}x (MACs {r['mac_reduction']:.2f}x)",
                    "met": r["cycle_reduction"] >= CYCLE_REDUCTION_TARGET,
                }
            )
    if (sim, params.rows, params.cols) == WALL_TARGET_RUN:
        for r in rows:
            if r["images"] >= 450 and r["sim_wall_s"] is not None:
                out.append(
                    {
                        "kind": "wall",
                        "target": f"{r['model']}: whole held-out split through the RTL in "
                        f"<= {WALL_TARGET_S:.0f} s (Verilator 8x8, harness build included)",
                        "value": f"{r['sim_wall_s']:.0f} s",
                        "met": r["sim_wall_s"] <= WALL_TARGET_S,
                    }
                )
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _seconds(r: dict[str, Any]) -> str:
    if r.get("sim_wall_s") is None:
        return "-"
    build = r.get("build_s") or 0.0
    return f"{r['sim_wall_s']:.0f} s" + (f" (build {build:.0f} s)" if build >= 1 else "")


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


MODEL_HEADER = (
    "model",
    "dense baseline",
    "MACs",
    "RTL cycles",
    "MAC reduction",
    "cycle reduction",
    "utilization",
    "float acc",
    "int acc",
    "RTL acc",
    "RTL == int ref",
    "sim wall",
)
LAYER_HEADER = (
    "layer",
    "kind",
    "GEMMs",
    "M x K x N",
    "MACs",
    "RTL cycles",
    "model cycles",
    "utilization",
    "dense block-diagonal cycles",
)


def to_markdown(report: dict[str, Any]) -> str:
    accel = report.get("top") == "accel"
    where = "the accelerator top" if accel else "the RTL"
    span = (
        "first operand beat accepted to last result beat accepted"
        if accel
        else "first operand to last result strobe"
    )
    lines = [
        f"# End to end on {where}: {report['sim']} {report['array']}",
        "",
        f"Digits held-out split ({report['images']} images) through every conv and linear layer "
        f"on {where}; the host does bias, requantization, ReLU, pooling, shuffle, SE gates. "
        f"Cycles are measured on the RTL ({span}, per layer).",
        "",
        *md_table(MODEL_HEADER, [_model_row(r) for r in report["models"]], "llrrrrrrrrrr"),
    ]
    targets = [(t["target"], t["value"], "yes" if t["met"] else "NO") for t in report["targets"]]
    lines += ["", "## Targets", "", *md_table(("target", "measured", "met"), targets)]
    for m in report["runs"]:
        lines += [
            "",
            f"## {m['name']}",
            "",
            f"Workload `{m['workload']}`; integer vs fake-quantized torch logits within "
            f"{m['fake_quant_check']['max_abs_logit_diff']:.1e}.",
            "",
            *md_table(LAYER_HEADER, [_layer_row(lr) for lr in m["run"]["layers"]], "llrlrrrrr"),
        ]
    return "\n".join(lines) + "\n"


def _model_row(r: dict[str, Any]) -> tuple[object, ...]:
    return (
        r["model"],
        r["dense"] or "-",
        f"{r['macs']:,}",
        f"{r['rtl_cycles']:,}",
        _x(r["mac_reduction"]),
        _x(r["cycle_reduction"]),
        _pct(r["utilization"]),
        _pct(r["float_accuracy"]),
        _pct(r["int_accuracy"]),
        _pct(r["rtl_accuracy"]),
        f"{r['agreement']}/{r['images']}",
        _seconds(r),
    )


def _layer_row(lr: dict[str, Any]) -> tuple[object, ...]:
    bd = lr["block_diagonal_cycles"]
    return (
        lr["layer"],
        lr["kind"],
        lr["gemms"],
        f"{lr['M']} x {lr['K']} x {lr['N']}",
        f"{lr['macs']:,}",
        f"{lr['rtl_cycles']:,}",
        f"{lr['model_cycles']:,}",
        _pct(lr["utilization"]),
        "-" if bd is None else f"{bd:,}",
    )


def plot(report: dict[str, Any], path: Path) -> None:
    """MAC vs cycle reduction per pruned model; RTL cycles per model next to the ideal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pruned = [r for r in report["models"] if r["dense"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    xs = range(len(pruned))
    ax1.bar([x - 0.2 for x in xs], [r["mac_reduction"] for r in pruned], 0.4, label="MACs")
    ax1.bar([x + 0.2 for x in xs], [r["cycle_reduction"] for r in pruned], 0.4, label="RTL cycles")
    ax1.axhline(CYCLE_REDUCTION_TARGET, color="grey", ls="--", lw=1, label="3x target")
    ax1.set_xticks(list(xs), [r["model"] for r in pruned])
    ax1.set_ylabel("reduction vs dense (x)")
    ax1.set_title(f"pruning gain realized on the {report['array']} array")
    ax1.legend()
    models = report["models"]
    pes = report["pes"]
    ys = range(len(models))
    ax2.barh(list(ys), [r["rtl_cycles"] for r in models], color="tab:orange", label="RTL cycles")
    ax2.plot([r["macs"] / pes for r in models], list(ys), "k|", ms=14, mew=2, label="MACs / PEs")
    ax2.set_yticks(list(ys), [r["model"] for r in models])
    ax2.invert_yaxis()
    ax2.set_xlabel("cycles for the whole test split")
    ax2.set_title("RTL cycles vs ideal (every PE busy)")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def write_report(
    models: list[dict[str, Any]],
    out_dir: Path,
    sim: str,
    params: ArrayParams,
    top: str = "array",
) -> dict[str, Any]:
    """Write report.json, report.md and e2e.png to ``out_dir``; returns the report."""
    rows = summarize_models(models)
    tgts = targets(rows, sim, params)
    report = {
        "sim": sim,
        "top": top,
        "array": f"{params.rows}x{params.cols}",
        "pes": params.rows * params.cols,
        "images": max((r["images"] for r in rows), default=0),
        "models": rows,
        "targets": tgts,
        "passed": all(t["met"] for t in tgts if t["kind"] == "agreement"),
        "runs": [
            {k: v for k, v in m.items() if k != "run"}
            | {"run": {k: v for k, v in m["run"].items() if k != "rtl_predictions"}}
            for m in models
        ],
    }
    files = {"json": out_dir / "report.json", "markdown": out_dir / "report.md"}
    atomic_write(files["json"], json.dumps(report, indent=1))
    atomic_write(files["markdown"], to_markdown(report))
    if any(r["dense"] for r in rows):
        files["plot"] = out_dir / "e2e.png"
        with atomic_path(files["plot"]) as tmp:
            plot(report, tmp)
    report["files"] = {k: str(v) for k, v in files.items()}
    return report
