"""The per-method report: accuracy per stage, sizes, MACs, channels and GEMM shapes per layer,
as JSON and Markdown, a plot, and the saved dense and pruned models.

Layout under the output directory (one folder per method)::

    <out>/<method>/report.json     every field below
    <out>/<method>/report.md       the same as tables
    <out>/<method>/pruning.png     distribution with threshold, channels per layer
    <out>/<method>/pruned/         pruned model (model.json + weights.pt), see io.py
    <out>/<method>/dense/          its dense baseline, same format
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

from systolic.fileio import atomic_path, atomic_write
from systolic.pruning.config import MethodResult, PruneConfig
from systolic.pruning.data import Digits
from systolic.pruning.io import save_model
from systolic.pruning.lowering import LayerGemm, count_params, gemm_shapes, total_macs
from systolic.pruning.models import family, input_shape, spec_of
from systolic.pruning.registry import TARGET_METHODS, get
from systolic.report import md_table

#: Benchmark targets of issue 4 (the registry's TARGET_METHODS).
TARGET_MAC_REDUCTION = 4.0
TARGET_MAX_LOSS_PP = 0.5
TARGET_SECONDS = 120.0


def _channels(layers: list[LayerGemm]) -> dict[str, int]:
    return {lg.layer: lg.N * lg.count for lg in layers}


def build_report(
    result: MethodResult, cfg: PruneConfig, data: Digits, batch: int = 1
) -> dict[str, Any]:
    """Everything the report shows, as JSON-able data."""
    dense_spec = spec_of(result.dense_model)
    shape = input_shape(dense_spec)
    before = gemm_shapes(result.dense_model, shape, batch)
    after = gemm_shapes(result.pruned_model, shape, batch)
    macs_b, macs_a = total_macs(before), total_macs(after)
    par_b, par_a = count_params(result.dense_model), count_params(result.pruned_model)
    ch_b, ch_a = _channels(before), _channels(after)
    acc = result.accuracy
    seconds = {**result.seconds, "total": sum(result.seconds.values())}
    report = {
        "method": result.method,
        "model": family(dense_spec),
        "dataset": data.describe(),
        "gemm_batch": batch,
        "accuracy": acc,
        "accuracy_loss_pp": acc["dense"] - acc["finetuned"],
        "params": {"dense": par_b, "pruned": par_a, "reduction": par_b / par_a},
        "macs": {"dense": macs_b, "pruned": macs_a, "reduction": macs_b / macs_a},
        "channels": {name: {"before": ch_b[name], "after": ch_a.get(name)} for name in ch_b},
        "gemms": {"before": [g.as_dict() for g in before], "after": [g.as_dict() for g in after]},
        "kept_indices": result.kept,
        "details": result.details,
        "notes": result.notes,
        "seconds": seconds,
        # Wall times are only comparable on an otherwise idle machine: record how busy it was.
        "load_average_1min": os.getloadavg()[0],
        "config": _jsonable(dataclasses.asdict(cfg)),
    }
    if result.method in TARGET_METHODS:
        report["targets"] = {
            "mac_reduction>=4": report["macs"]["reduction"] >= TARGET_MAC_REDUCTION,
            "accuracy_loss<=0.5pp": report["accuracy_loss_pp"] <= TARGET_MAX_LOSS_PP,
            "wall_time<120s": seconds["total"] < TARGET_SECONDS,
        }
    return report


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def _gemm_table(rows: list[dict[str, Any]]) -> list[str]:
    return md_table(
        ("layer", "kind", "GEMMs", "M", "K", "N", "MACs"),
        [
            (r["layer"], r["kind"], r["count"], r["M"], r["K"], r["N"], f"{r['macs']:,}")
            for r in rows
        ],
    )


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown tables."""
    acc, macs, par = report["accuracy"], report["macs"], report["params"]
    lines = [
        f"# Pruning report: {report['method']} on the {report['model']} model",
        "",
        f"Data: {report['dataset']}. GEMM shapes at batch {report['gemm_batch']}.",
        "",
        *md_table(
            ("stage", "test accuracy (%)"),
            [
                ("dense baseline", f"{acc['dense']:.2f}"),
                ("after sparsity training", f"{acc['sparsity_trained']:.2f}"),
                ("right after pruning", f"{acc['pruned']:.2f}"),
                ("after fine-tuning", f"{acc['finetuned']:.2f}"),
            ],
        ),
        "",
        f"Accuracy loss against the dense baseline: {report['accuracy_loss_pp']:+.2f} pp "
        "(positive = worse).",
        "",
        *md_table(
            ("", "dense", "pruned", "reduction"),
            [
                (name, f"{d['dense']:,}", f"{d['pruned']:,}", f"{d['reduction']:.2f}x")
                for name, d in (("parameters", par), ("MACs", macs))
            ],
        ),
        "",
        "## Channels per layer",
        "",
        *md_table(
            ("layer", "before", "after"),
            [(k, v["before"], v["after"]) for k, v in report["channels"].items()],
        ),
        "",
        "## GEMMs before pruning (M x K x N, one row per layer; GEMMs = groups)",
        "",
        *_gemm_table(report["gemms"]["before"]),
        "",
        "## GEMMs after pruning",
        "",
        *_gemm_table(report["gemms"]["after"]),
        "",
        "## Wall time (s)",
        "",
        *md_table(("phase", "seconds"), [(k, f"{v:.1f}") for k, v in report["seconds"].items()]),
        "",
        f"Machine load (1-min average) when the report was written: "
        f"{report['load_average_1min']:.2f}.",
    ]
    if "targets" in report:
        targets = [(k, "yes" if v else "NO") for k, v in report["targets"].items()]
        lines += ["", "## Targets", "", *md_table(("target", "met"), targets)]
    if report["notes"]:
        lines += ["", "## Notes", "", *(f"- {n}" for n in report["notes"])]
    lines += _method_sections(report["details"])
    scalar = {k: v for k, v in report["details"].items() if not isinstance(v, dict | list)}
    if scalar:
        lines += ["", "## Method details", "", *md_table(("field", "value"), scalar.items())]
    return "\n".join(lines) + "\n"


def _method_sections(details: dict[str, Any]) -> list[str]:
    """Markdown for the structured method details (AutoPruner layers, SE channel classes and
    fold ablation, ShuffleNet wiring)."""
    lines: list[str] = []
    if "layers" in details:
        lines += [
            "",
            "## AutoPruner, layer by layer",
            "",
            *md_table(
                (
                    "stage",
                    "channels",
                    "kept",
                    "final alpha",
                    "final lambda",
                    "binary fraction",
                    "acc. with pruner (%)",
                    "acc. after removal (%)",
                ),
                [
                    (
                        r["stage"],
                        r["channels"],
                        r["kept"],
                        f"{r['alpha']:.3g}",
                        f"{r['lam']:.3g}",
                        f"{r['binary_fraction']:.3f}",
                        f"{r['gated_accuracy']:.2f}",
                        f"{r['pruned_accuracy']:.2f}",
                    )
                    for r in details["layers"]
                ],
            ),
        ]
    if "channel_classes" in details:
        lines += [
            "",
            "## SE channel classes (calibration set, threshold tau)",
            "",
            *md_table(
                ("stage", "always squeezed (removed)", "class-dependent (kept)", "active"),
                [
                    (k, v["always_squeezed"], v["class_dependent"], v["active"])
                    for k, v in details["channel_classes"].items()
                ],
            ),
        ]
    if "pruned_accuracy_by_fold" in details:
        ablation = details["pruned_accuracy_by_fold"].items()
        lines += [
            "",
            "Accuracy right after pruning without one or both folds: "
            + ", ".join(f"{k} {v:.2f}%" for k, v in ablation)
            + ".",
        ]
    if "shuffle_permutation" in details:
        lines += [
            "",
            "## ShuffleNet wiring",
            "",
            f"Shuffle ({details['shuffle_convention']}): perm = {details['shuffle_permutation']}",
            "",
            "Each output group g of a grouped 1x1 conv keeps input channels "
            + "; ".join(
                f"g{i}: {grp[0]}..{grp[-1]}"
                for i, grp in enumerate(
                    next(iter(details["kept_input_channels_per_output_group"].values()))
                )
            )
            + " (all other inputs are the pruned off-diagonal blocks).",
        ]
    return lines


def plot(result: MethodResult, report: dict[str, Any], path: Path) -> None:
    """Histogram of the pruning criterion per layer with the threshold, and channels (or
    weights, for part-pruning) per layer before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    dist = result.distribution
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    values = [v for v in dist["values"] if v]
    lo = min(min(v) for v in values)
    if dist.get("log"):
        floor = max(lo, 1e-8)
        bins: int | list[float] = [
            floor * (max(max(v) for v in values) / floor) ** (i / 40) for i in range(41)
        ]
        ax1.set_xscale("log")
        # Minor tick labels of a short log axis overlap each other.
        ax1.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        values = [[max(x, floor) for x in v] for v in values]
    else:
        bins = 40
    ax1.hist(values, bins=bins, stacked=True, label=[f"layer {i}" for i in range(len(values))])
    if dist.get("threshold") is not None:
        ax1.axvline(dist["threshold"], color="k", ls="--", label="threshold")
    ax1.set_xlabel(dist["label"])
    ax1.set_ylabel("count")
    ax1.legend(fontsize=8)
    names = list(report["channels"])
    before = [report["channels"][n]["before"] for n in names]
    after = [report["channels"][n]["after"] or 0 for n in names]
    if get(result.method).removes == "weights":
        # Channel counts do not change; what part-pruning removes is weights per layer.
        after_w = {g["layer"]: g["count"] * g["K"] * g["N"] for g in report["gemms"]["after"]}
        before = [g["count"] * g["K"] * g["N"] for g in report["gemms"]["before"]]
        after = [after_w.get(n, 0) for n in names]
        ax2.set_ylabel("weights per layer (K x N x groups)")
    else:
        ax2.set_ylabel("output channels")
    xs = range(len(names))
    ax2.bar([x - 0.2 for x in xs], before, 0.4, label="dense")
    ax2.bar([x + 0.2 for x in xs], after, 0.4, label="pruned")
    ax2.set_xticks(list(xs), names, rotation=30, ha="right", fontsize=8)
    ax2.legend()
    acc = report["accuracy"]
    fig.suptitle(
        f"{result.method}: accuracy {acc['dense']:.2f}% -> {acc['finetuned']:.2f}%, "
        f"MACs / {report['macs']['reduction']:.2f}"
    )
    fig.tight_layout()
    # Through a temporary file: an interrupted run leaves no half-written picture.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def write_report(
    result: MethodResult, cfg: PruneConfig, data: Digits, out_dir: str | Path, batch: int = 1
) -> dict[str, Any]:
    """Build the report and write JSON, Markdown, the plot and both models under
    ``out_dir/<method>``; returns the report (with the written paths under ``files``)."""
    out = Path(out_dir) / result.method
    out.mkdir(parents=True, exist_ok=True)
    report = build_report(result, cfg, data, batch)
    meta = {
        "method": result.method,
        "accuracy": report["accuracy"],
        "details": {k: v for k, v in result.details.items() if k != "channel_class_indices"},
    }
    files = {
        "json": out / "report.json",
        "markdown": out / "report.md",
        "plot": out / "pruning.png",
        "pruned_model": save_model(
            out / "pruned", result.pruned_model, result.kept, _jsonable(meta)
        ).parent,
        "dense_model": save_model(
            out / "dense",
            result.dense_model,
            None,
            {"method": result.method, "role": "dense baseline"},
        ).parent,
    }
    plot(result, report, files["plot"])
    report["files"] = {k: str(v) for k, v in files.items()}
    atomic_write(files["json"], json.dumps(_jsonable(report), indent=1))
    atomic_write(files["markdown"], to_markdown(report))
    return report


def summary_markdown(reports: list[dict[str, Any]]) -> str:
    """One table over several methods (what ``make bench-prune`` prints)."""
    header = (
        "method",
        "model",
        "dense acc",
        "sparse acc",
        "pruned acc",
        "fine-tuned acc",
        "loss (pp)",
        "params",
        "MACs",
        "MAC reduction",
        "wall time (s)",
    )
    return "\n".join(md_table(header, [_summary_row(r) for r in reports])) + "\n"


def _summary_row(r: dict[str, Any]) -> tuple[str, ...]:
    a = r["accuracy"]
    return (
        r["method"],
        r["model"],
        f"{a['dense']:.2f}",
        f"{a['sparsity_trained']:.2f}",
        f"{a['pruned']:.2f}",
        f"{a['finetuned']:.2f}",
        f"{r['accuracy_loss_pp']:+.2f}",
        f"{r['params']['dense']:,} -> {r['params']['pruned']:,}",
        f"{r['macs']['dense']:,} -> {r['macs']['pruned']:,}",
        f"{r['macs']['reduction']:.2f}x",
        f"{r['seconds']['total']:.1f}",
    )
