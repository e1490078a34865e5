"""A workload file through the RTL, inside cocotb: layer streams, results, per-layer records.

Two modes, both on the fast-path harness (rtl/harness, built with DUMP=1 so that the RTL's own
result values come back, not the model's):

* ``replay``: every GEMM recorded in the file, layer by layer; each result must equal the
  recorded C bit for bit.
* ``e2e``: the network end to end. Only the input images come from the file; every GEMM's A is
  built by the host from the *RTL's* outputs of the previous layers (bias, requantization, ReLU,
  pooling, shuffle, SE gate on the host), so the predictions are the RTL's. Each A is also
  compared with the file's (the integer reference's), and each C with the exact A @ B.

Per layer, all GEMMs (one per group) are tiled (models.tiling) and scheduled back to back in
one stream; the harness checks every PE's state every cycle against the cycle model through its
signature, and the measured cycles (first operand to last result strobe) must equal the model's.
The test is tb/test_workload.py; ``systolic.verify.workload.run_workload`` launches it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from systolic.errors import SimulatorError
from systolic.models.params import ArrayParams
from systolic.models.skew import Product, Stream, schedule
from systolic.models.tiling import (
    gemm_cycles,
    lower_bound_cycles,
    plan_folds,
    stream_cycles,
    tile_gemm,
)


@dataclass
class LayerRecord:
    """What one layer cost and whether it was right."""

    layer: str
    kind: str
    gemms: int
    M: int
    K: int
    N: int
    macs: int
    rtl_cycles: int
    model_cycles: int
    lower_bound: int
    block_diagonal_cycles: int | None  # grouped layers: the dense block-diagonal GEMM instead
    utilization: float
    wall_s: float
    passed: bool
    errors: list[str] = field(default_factory=list)


def layer_stream(pairs: list[tuple[np.ndarray, np.ndarray]], p: ArrayParams) -> Stream:
    """All GEMMs of a layer as one zero-bubble stream of folds (GEMM after GEMM)."""
    products: list[Product] = []
    for a, b in pairs:
        products += tile_gemm(a, b, p)
    return schedule(products, p)


def split_results(
    results: list[np.ndarray | None], pairs: list[tuple[np.ndarray, np.ndarray]], p: ArrayParams
) -> list[np.ndarray | None]:
    """Per-fold result tiles of a layer stream back into one C per GEMM (None if a tile is
    missing)."""
    from systolic.tb.fastpath import gemm_result

    out: list[np.ndarray | None] = []
    first = 0
    for a, b in pairs:
        m, n = a.shape[0], b.shape[1]
        try:
            out.append(gemm_result(results, m, n, p, first))
        except SimulatorError:
            out.append(None)
        first += len(plan_folds(m, n, p))
    return out


def first_mismatch(got: np.ndarray, want: np.ndarray, n_total: int, p: ArrayParams) -> str:
    """Where a GEMM's C first differs: entry, fold and PE (i, j) that computed it."""
    bad = np.argwhere(got != want)
    i, j = (int(v) for v in bad[0])
    fold = (i // p.rows) * -(-n_total // p.cols) + j // p.cols
    return (
        f"{len(bad)} wrong entries; first C[{i}][{j}] = {int(got[i, j])}, expected "
        f"{int(want[i, j])} (fold {fold}, PE({i % p.rows},{j % p.cols}))"
    )


def layer_record(
    name: str,
    kind: str,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    stream: Stream,
    rtl_cycles: int,
    wall: float,
    errors: list[str],
    p: ArrayParams,
) -> LayerRecord:
    """The array's record of a layer: its cycles against the array's cycle model and bound."""
    model = stream_cycles(stream.products)
    if rtl_cycles != model:
        errors = [*errors, f"RTL took {rtl_cycles} cycles, the cycle model {model}"]
    lower = sum(lower_bound_cycles(a.shape[0], a.shape[1], b.shape[1], p) for a, b in pairs)
    return make_record(name, kind, pairs, rtl_cycles, model, lower, wall, errors, p)


def make_record(
    name: str,
    kind: str,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    cycles: int,
    model: int,
    lower_bound: int,
    wall: float,
    errors: list[str],
    p: ArrayParams,
) -> LayerRecord:
    """A layer's record from its measured cycles, its model's cycles and its lower bound (the
    design's own: the array's or the accelerator top's)."""
    m, k = pairs[0][0].shape
    n = pairs[0][1].shape[1]
    g = len(pairs)
    macs = sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)
    return LayerRecord(
        layer=name,
        kind=kind,
        gemms=g,
        M=m,
        K=k,
        N=n,
        macs=macs,
        rtl_cycles=cycles,
        model_cycles=model,
        lower_bound=lower_bound,
        block_diagonal_cycles=gemm_cycles(m, k * g, n * g, p) if g > 1 else None,
        utilization=macs / (cycles * p.rows * p.cols) if cycles > 0 else 0.0,
        wall_s=wall,
        passed=not errors,
        errors=errors,
    )


def summary_header(wl: Any, mode: str, p: ArrayParams) -> dict[str, Any]:
    """The fields of a workload run's summary that come from the file and the array
    (``wl``: an engine.workload.Workload)."""
    return {
        "mode": mode,
        "model": wl.net.name,
        "array": p.tag,
        "rows": p.rows,
        "cols": p.cols,
        "images": int(wl.x.shape[0]),
        "source": wl.meta.get("source", {}),
        "float_accuracy": wl.meta.get("accuracy", {}).get("float"),
        "int_accuracy": float((wl.predictions == wl.labels).mean()),
    }


def prediction_fields(wl: Any, preds: np.ndarray) -> dict[str, Any]:
    """The summary's verdict on a design's predictions against the workload's labels and its
    integer reference's predictions."""
    agree = int((preds == wl.predictions).sum())
    return {
        "rtl_accuracy": float((preds == wl.labels).mean()),
        "agreement": agree,
        "agreement_ok": agree == len(preds),
        "rtl_predictions": preds.tolist(),
    }


def summarize(records: list[LayerRecord], extra: dict[str, Any]) -> dict[str, Any]:
    """Totals over the layers plus ``extra`` (mode, model, predictions...)."""
    cycles = sum(r.rtl_cycles for r in records)
    return {
        **extra,
        "layers": [asdict(r) for r in records],
        "total": {
            "macs": sum(r.macs for r in records),
            "rtl_cycles": cycles,
            "model_cycles": sum(r.model_cycles for r in records),
            "gemms": sum(r.gemms for r in records),
            "wall_s": sum(r.wall_s for r in records),
        },
        "passed": all(r.passed for r in records) and extra.get("agreement_ok", True),
    }


def format_layer(r: LayerRecord) -> str:
    shape = f"{r.M}x{r.K}x{r.N}" + (f" x{r.gemms}" if r.gemms > 1 else "")
    status = "ok" if r.passed else "FAILED: " + "; ".join(r.errors[:3])
    return (
        f"{r.layer:<22} {shape:<20} {r.macs:>12,} MACs {r.rtl_cycles:>11,} cycles "
        f"(model {r.model_cycles:,}) util {100 * r.utilization:5.1f}% {r.wall_s:7.2f} s  {status}"
    )
