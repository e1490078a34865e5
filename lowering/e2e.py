"""End to end: train and prune (systolic.pruning), lower, and run the digits test split through
the RTL for the dense and every pruned model; then the report (lowering/report.py).

Models come from ``systolic prune`` output (``<prune_dir>/<method>/{dense,pruned}``); missing
ones are trained and pruned first. Dense models shared by several methods (the plain network of
Network Slimming and AutoPruner) are run once (same weight hash).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams, TopParams
from systolic.pruning.registry import get

#: Calibration images (from the training split) for the activation scales.
CALIBRATION_IMAGES = 512
#: Largest logit difference allowed between the integer reference and the fake-quantized torch
#: forward (both float64; measured ~1e-14).
FAKE_QUANT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ModelEntry:
    """One model of the run: its name in the report, its saved directory, its dense baseline."""

    name: str
    path: Path
    family: str
    dense: str | None  # name of the dense entry it was pruned from (None: it is dense)
    method: str | None


def ensure_models(methods: list[str], prune_dir: Path, seed: int, retrain: bool) -> None:
    """Train and prune the methods whose saved models are missing (or all, with ``retrain``)."""
    from systolic.pruning.config import PruneConfig
    from systolic.pruning.pipeline import run_methods

    todo = [
        m
        for m in methods
        if retrain
        or not (prune_dir / m / "pruned" / "model.json").is_file()
        or not (prune_dir / m / "dense" / "model.json").is_file()
    ]
    if todo:
        print(f"training and pruning: {', '.join(todo)} (seed {seed}) -> {prune_dir}", flush=True)
        run_methods(todo, PruneConfig(seed=seed, progress=False), prune_dir)


def model_entries(methods: list[str], prune_dir: Path) -> list[ModelEntry]:
    """Dense models (deduplicated by weight hash) and pruned models, dense first per family."""
    from systolic.pruning.io import read_doc

    entries: list[ModelEntry] = []
    dense_by_hash: dict[str, str] = {}
    for m in methods:
        fam = get(m).default_family
        dense_dir = prune_dir / m / "dense"
        digest = read_doc(dense_dir).get("weights_sha256", m)  # checked: one line if corrupt
        if digest not in dense_by_hash:
            dense_by_hash[digest] = f"{fam}-dense"
            if any(e.name == f"{fam}-dense" for e in entries):
                dense_by_hash[digest] = f"{fam}-dense-{m}"
            entries.append(ModelEntry(dense_by_hash[digest], dense_dir, fam, None, None))
        entries.append(ModelEntry(m, prune_dir / m / "pruned", fam, dense_by_hash[digest], m))
    return entries


def lower_model(
    model_dir: Path,
    out: Path,
    name: str,
    images: int | None = None,
    scalesim: bool = True,
) -> dict[str, Any]:
    """Load a saved model, build its integer network, check it against the fake-quantized torch
    forward, and write its workload (+ SCALE-Sim topologies). Returns what the report needs."""
    import torch

    from systolic.engine.workload import build_workload, save_workload
    from systolic.errors import LoweringError
    from systolic.lowering.from_torch import (
        build_quantnet,
        fake_quant_forward,
        quantnet_scales,
    )
    from systolic.lowering.topology import write_topologies
    from systolic.pruning.data import load_digits_split
    from systolic.pruning.io import load_model

    if images is not None and images < 1:
        raise LoweringError(f"--images must be at least 1, got {images}")
    model, _, meta = load_model(model_dir)
    data = load_digits_split()
    x, y = data.x_test, data.y_test
    if images is not None:
        x, y = x[:images], y[:images]
    t0 = time.perf_counter()
    net = build_quantnet(model, data.x_train[:CALIBRATION_IMAGES], name)
    with torch.no_grad():
        float_logits = model.eval()(x).double()
    float_acc = float((float_logits.argmax(1) == y).double().mean())
    wl = build_workload(
        net,
        x.numpy(),
        y.numpy(),
        source={"model_dir": str(model_dir), "method": meta.get("method"), **_source(model_dir)},
        float_accuracy=float_acc,
    )
    fq = fake_quant_forward(model, x, quantnet_scales(net)).numpy()
    check = {
        "max_abs_logit_diff": float(np.abs(fq - wl.logits).max()),
        "prediction_agreement": float((fq.argmax(1) == wl.predictions).mean()),
    }
    if check["max_abs_logit_diff"] > FAKE_QUANT_TOLERANCE or check["prediction_agreement"] < 1:
        raise LoweringError(
            f"{name}: the integer network disagrees with the fake-quantized torch forward "
            f"(logits differ by up to {check['max_abs_logit_diff']:.2e}, predictions agree on "
            f"{100 * check['prediction_agreement']:.2f}%): the lowering is wrong for this model"
        )
    wl.meta["fake_quant_check"] = check
    path = save_workload(wl, out)
    topo = [str(p) for p in write_topologies(wl, out.with_suffix(""))] if scalesim else []
    return {
        "name": name,
        "workload": str(path),
        "scalesim_topologies": topo,
        "images": int(x.shape[0]),
        "macs": wl.macs,
        "float_accuracy": float_acc,
        "int_accuracy": wl.meta["accuracy"]["int"],
        "fake_quant_check": check,
        "lower_s": time.perf_counter() - t0,
    }


def _source(model_dir: Path) -> dict[str, Any]:
    from systolic.pruning.io import read_doc

    return {"weights_sha256": read_doc(model_dir).get("weights_sha256")}


def run_e2e(
    methods: list[str],
    prune_dir: Path,
    out_dir: Path,
    settings: RunSettings,
    design: ArrayParams | TopParams,
    images: int | None = None,
    retrain: bool = False,
) -> dict[str, Any]:
    """The whole flow; returns the report (also written to ``out_dir``). ``design``: the array
    (int8 operands, int32 results) or the accelerator top around it; ``settings.seed`` also
    seeds the training of models that are not there yet."""
    from systolic.engine import toolchain
    from systolic.lowering.report import write_report
    from systolic.verify.workload import port_phrase, print_summary, run_workload, top_run_tag

    if images is not None and images < 1:
        from systolic.errors import LoweringError

        raise LoweringError(f"--images must be at least 1, got {images}")
    sim = settings.sim
    toolchain.check_simulator(sim)
    params = design.array if isinstance(design, TopParams) else design
    rows, cols = params.rows, params.cols
    top = "accel" if isinstance(design, TopParams) else "array"
    ensure_models(methods, prune_dir, settings.seed, retrain)
    out_dir.mkdir(parents=True, exist_ok=True)
    models = []
    for entry in model_entries(methods, prune_dir):
        print(f"lowering {entry.name} ({entry.path})", flush=True)
        info = lower_model(
            entry.path, out_dir / "workloads" / f"{entry.name}.npz", entry.name, images
        )
        print(
            f"  {info['images']} images, {info['macs']:,} MACs; accuracy float "
            f"{100 * info['float_accuracy']:.2f}%, integer {100 * info['int_accuracy']:.2f}%; "
            f"integer vs fake-quantized torch: logits within "
            f"{info['fake_quant_check']['max_abs_logit_diff']:.1e}",
            flush=True,
        )
        where = f" (accelerator top{port_phrase(design)})" if isinstance(design, TopParams) else ""
        print(f"running {entry.name} end to end on {sim} {rows}x{cols}{where} ...", flush=True)
        run = run_workload(
            Path(info["workload"]),
            settings,
            design,
            "e2e",
            name=f"e2e_{entry.name}_{sim}_{rows}x{cols}" + top_run_tag(design),
        )
        print_summary(run)
        models.append({**info, "family": entry.family, "dense": entry.dense, "run": run})
    return write_report(models, out_dir, sim, params, top)
