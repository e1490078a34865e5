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


# ------------------------------------------------------------------------------------------------
# Per-layer cost table of one model (systolic lower --model, systolic report, systolic topology)
# ------------------------------------------------------------------------------------------------

#: Columns of the per-layer table (``systolic report``, ``systolic topology``).
COST_HEADER = (
    "layer",
    "op",
    "M",
    "K",
    "N",
    "groups",
    "MACs",
    "model cycles",
    "utilization",
    "SCALE-Sim cycles",
    "RTL cycles",
    "bit-exact",
)


def layer_model_cycles(m: int, k: int, n: int, groups: int, params: ArrayParams) -> int:
    """Cycles of a layer's ``groups`` M x K x N GEMMs streamed back to back in one stream (how
    the workload runs put a layer on the array): every fold of every GEMM in order, fold f
    ending at (f+1)*K - 1 + m_f - 1 + n_f - 1 + L (models.tiling.gemm_cycles, over the stream)."""
    from systolic.models.tiling import plan_folds

    folds = plan_folds(m, n, params) * groups
    lat = params.latency
    return max((i + 1) * k - 1 + f.m - 1 + f.n - 1 + lat for i, f in enumerate(folds)) + 1


def cost_row(
    layer: str, op: str, m: int, k: int, n: int, groups: int, params: ArrayParams
) -> dict[str, Any]:
    """One layer's shape-only costs: MACs, model cycles, utilization, SCALE-Sim cycles (formula:
    models.tiling.scalesim_os_cycles per GEMM, summed over the groups)."""
    from systolic.models.tiling import scalesim_os_cycles

    macs = m * k * n * groups
    cycles = layer_model_cycles(m, k, n, groups, params)
    return {
        "layer": layer,
        "op": op,
        "M": m,
        "K": k,
        "N": n,
        "groups": groups,
        "macs": macs,
        "model_cycles": cycles,
        "utilization": macs / (cycles * params.rows * params.cols),
        "scalesim_cycles": groups * scalesim_os_cycles(m, k, n, params),
        "rtl_cycles": None,
        "bit_exact": None,
    }


def _op_name(layer: Any) -> str:
    geo = layer.geometry
    if layer.kind != "conv" or geo is None:
        return str(layer.kind)
    c_in_g = layer.weight.shape[1]
    if geo.groups > 1 and c_in_g == 1:
        return f"dwconv {geo.kernel[0]}x{geo.kernel[1]}/{geo.stride[0]}"
    tag = "gconv" if geo.groups > 1 else "conv"
    return f"{tag} {geo.kernel[0]}x{geo.kernel[1]}/{geo.stride[0]}"


def workload_costs(wl: Any, params: ArrayParams) -> list[dict[str, Any]]:
    """The per-layer table of a workload (``engine.workload.Workload``) on ``params``."""
    rows = []
    for layer in wl.net.layers:
        gemms = wl.gemms[layer.name]
        m, k, n = gemms[0].shape
        rows.append(cost_row(layer.name, _op_name(layer), m, k, n, len(gemms), params))
    return rows


def attach_run(rows: list[dict[str, Any]], run: dict[str, Any], source: object) -> None:
    """Put a run's RTL cycles and bit-exactness (``systolic sim --workload``'s results JSON)
    next to each layer; the run must be of the same layers and shapes."""
    from systolic.errors import LoweringError, shown

    layers = run.get("layers") if isinstance(run, dict) else None
    if not isinstance(layers, list) or len(layers) != len(rows):
        raise LoweringError(
            f"{shown(source)}: the run has {len(layers) if isinstance(layers, list) else 'no'} "
            f"layers, the workload {len(rows)}"
        )
    for row, rec in zip(rows, layers, strict=True):
        ok = isinstance(rec, dict) and all(
            rec.get(key) == row[col]
            for key, col in (("layer", "layer"), ("M", "M"), ("K", "K"), ("N", "N"))
        )
        cycles = rec.get("rtl_cycles") if isinstance(rec, dict) else None
        if not ok or isinstance(cycles, bool) or not isinstance(cycles, int):
            raise LoweringError(
                f"{shown(source)}: its layer {rec.get('layer') if isinstance(rec, dict) else rec!r}"
                f" does not match the workload's {row['layer']!r} (M, K, N {row['M']}, {row['K']},"
                f" {row['N']}): a run of another model or array"
            )
        row["rtl_cycles"] = cycles
        row["bit_exact"] = rec.get("passed") is True


def cost_totals(rows: list[dict[str, Any]], params: ArrayParams) -> dict[str, Any]:
    """Totals of a per-layer table (RTL cycles only when every layer has them)."""
    macs = sum(r["macs"] for r in rows)
    cycles = sum(r["model_cycles"] for r in rows)
    rtl = [r["rtl_cycles"] for r in rows]
    return {
        "layer": "total",
        "op": "",
        "M": None,
        "K": None,
        "N": None,
        "groups": sum(r["groups"] for r in rows),
        "macs": macs,
        "model_cycles": cycles,
        "utilization": macs / (cycles * params.rows * params.cols) if cycles else 0.0,
        "scalesim_cycles": sum(r["scalesim_cycles"] for r in rows),
        "rtl_cycles": sum(rtl) if rows and all(c is not None for c in rtl) else None,
        "bit_exact": all(r["bit_exact"] for r in rows)
        if rows and all(r["bit_exact"] is not None for r in rows)
        else None,
    }


def _cost_cells(r: dict[str, Any]) -> tuple[object, ...]:
    def num(v: Any) -> str:
        return "-" if v is None else f"{v:,}"

    exact = "-" if r["bit_exact"] is None else ("yes" if r["bit_exact"] else "NO")
    return (
        r["layer"],
        r["op"],
        num(r["M"]),
        num(r["K"]),
        num(r["N"]),
        r["groups"],
        num(r["macs"]),
        num(r["model_cycles"]),
        _pct(r["utilization"]),
        num(r["scalesim_cycles"]),
        num(r["rtl_cycles"]),
        exact,
    )


def cost_markdown(title: str, rows: list[dict[str, Any]], params: ArrayParams) -> list[str]:
    """A per-layer table with its totals row, as Markdown lines under a ``##`` title."""
    cells = [_cost_cells(r) for r in [*rows, cost_totals(rows, params)]]
    return [f"## {title}", "", *md_table(COST_HEADER, cells, "llrrrrrrrrrl")]


def plot_layer_cycles(
    models: list[tuple[str, list[dict[str, Any]]]], params: ArrayParams, path: Path
) -> None:
    """Cycles per layer (RTL where run, else the model's), one bar per model side by side
    (dense against pruned when both are given; layers matched by name, dense order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = list(dict.fromkeys(r["layer"] for _, rows in models for r in rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(order) + 2), 4.5))
    width = 0.8 / len(models)
    for i, (label, rows) in enumerate(models):
        by = {r["layer"]: r for r in rows}
        ys = [(by[n]["rtl_cycles"] or by[n]["model_cycles"]) if n in by else 0 for n in order]
        ax.bar(
            [x + (i - (len(models) - 1) / 2) * width for x in range(len(order))],
            ys,
            width,
            label=label,
        )
    ax.set_xticks(list(range(len(order))), order, rotation=90, fontsize=7)
    ax.set_ylabel("cycles")
    ax.set_title(f"cycles per layer on the {params.rows}x{params.cols} array")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


#: The largest run results file read (bytes).
MAX_RUN_BYTES = 64 << 20


def _read_run(path: Path) -> dict[str, Any]:
    from systolic import names
    from systolic.errors import LoweringError

    doc = names.loads_json(
        names.read_limited(path, MAX_RUN_BYTES, LoweringError), path, LoweringError, "results"
    )
    if not isinstance(doc, dict):
        raise LoweringError(f"{path}: not the results of a systolic sim --workload run")
    return doc


def write_cost_report(
    models: list[tuple[Path, Path | None]], params: ArrayParams, out_dir: Path
) -> dict[str, str]:
    """Per-layer tables of workloads (the first dense, the second pruned), each with its run's
    RTL cycles when given; writes report.md, report.json and cycles.png into ``out_dir``.
    Returns the files written and the Markdown text (``text``)."""
    from systolic.engine.workload import load_workload
    from systolic.errors import LoweringError

    tables: list[tuple[str, list[dict[str, Any]]]] = []
    for k, (wl_path, run_path) in enumerate(models):
        wl = load_workload(wl_path)
        rows = workload_costs(wl, params)
        if run_path is not None:
            run = _read_run(run_path)
            if (run.get("rows"), run.get("cols")) != (params.rows, params.cols):
                raise LoweringError(
                    f"{run_path}: a run on {run.get('rows')}x{run.get('cols')}, the report is "
                    f"for {params.rows}x{params.cols} (--rows, --cols)"
                )
            attach_run(rows, run, run_path)
        label = ("dense", "pruned")[k] if len(models) > 1 else wl.net.name
        tables.append((f"{label}: {wl.net.name}", rows))
    lines = [f"# Per-layer cost on the {params.rows}x{params.cols} array", ""]
    for title, rows in tables:
        lines += [*cost_markdown(title, rows, params), ""]
    doc: dict[str, Any] = {
        "array": params.tag,
        "models": [{"name": t, "layers": r, "total": cost_totals(r, params)} for t, r in tables],
    }
    if len(tables) == 2:
        (_, dense), (_, pruned) = tables
        d, p = cost_totals(dense, params), cost_totals(pruned, params)
        doc["reduction"] = {
            "macs": _reduction(d["macs"], p["macs"]),
            "model_cycles": _reduction(d["model_cycles"], p["model_cycles"]),
            "rtl_cycles": _reduction(d["rtl_cycles"], p["rtl_cycles"])
            if d["rtl_cycles"] and p["rtl_cycles"]
            else None,
        }
        red = doc["reduction"]
        lines += [
            f"Pruned against dense: {_x(red['macs'])} fewer MACs, {_x(red['model_cycles'])} "
            f"fewer model cycles, RTL cycles {_x(red['rtl_cycles'])}.",
            "",
        ]
    text = "\n".join(lines)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"plot": out_dir / "cycles.png"}
    plot_layer_cycles([(t.split(":")[0], r) for t, r in tables], params, files["plot"])
    files["markdown"] = atomic_write(out_dir / "report.md", text)
    files["json"] = atomic_write(out_dir / "report.json", json.dumps(doc, indent=1))
    return {"text": text, **{k: str(v) for k, v in files.items()}}
