"""A workload file through the array, inside cocotb: layer streams, results, the array's records.

The loop over layers and both modes (``replay``, ``e2e``) is systolic.engine.layers's, shared
with the accelerator top; this module is the array's side, on the fast-path harness
(rtl/harness, built with DUMP=1 so that the RTL's own result values come back, not the model's).
Per layer, all GEMMs (one per group) are tiled (models.tiling) and scheduled back to back in
one stream; the harness checks every PE's state every cycle against the cycle model through its
signature, and the measured cycles (first operand to last result strobe) must equal the model's.
The test is tb/test_workload.py; ``systolic.verify.workload.run_workload`` launches it.
"""

from __future__ import annotations

import numpy as np

from systolic.engine.layers import LayerRecord, make_record
from systolic.errors import SimulatorError
from systolic.models.params import ArrayParams
from systolic.models.skew import Product, Stream, schedule
from systolic.models.tiling import lower_bound_cycles, plan_folds, stream_cycles, tile_gemm


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
