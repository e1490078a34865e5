"""Functional coverage of the stimulus (cocotb-coverage), sampled for every stream a TB runs.

Each simulator run exports its coverage database as YAML; ``systolic coverage`` merges the files
of a regression, prints the report and, with ``--check``, fails when a bin was never hit.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from systolic.models.params import ArrayParams
from systolic.models.skew import ScheduledProduct, Stream

#: Environment variable: file the simulator run exports its coverage to (set by the runner).
COV_FILE_ENV = "SYSTOLIC_COV_FILE"

SHAPES = ["1x1", "square", "wide", "tall"]
K_CLASSES = ["K<ROWS", "K=ROWS", "ROWS<K<4*ROWS", "K>=4*ROWS"]
FOLDS = ["full", "fewer rows", "fewer cols", "fewer rows and cols"]
EXTREMES = ["min*min", "max*max", "min*max", "none"]
STREAM_EVENTS = [
    "back-to-back products",
    "valid bubbles",
    "reset mid-stream",
    "single product",
    "tiled GEMM with edge folds",
]


def shape_class(p: ArrayParams) -> str:
    if p.rows == p.cols == 1:
        return "1x1"
    if p.rows == p.cols:
        return "square"
    return "wide" if p.cols > p.rows else "tall"


def k_class(k: int, p: ArrayParams) -> str:
    if k < p.rows:
        return "K<ROWS"
    if k == p.rows:
        return "K=ROWS"
    return "ROWS<K<4*ROWS" if k < 4 * p.rows else "K>=4*ROWS"


def fold_class(sp: ScheduledProduct, p: ArrayParams) -> str:
    short_r, short_c = sp.product.m < p.rows, sp.product.n < p.cols
    return FOLDS[short_r + 2 * short_c]


def extremes_class(sp: ScheduledProduct, p: ArrayParams) -> str:
    """Which extreme operand pairs meet in some PE (min*min is the largest product)."""
    a, b = sp.product.a, sp.product.b
    a_min, a_max = (a == p.data_min).any(axis=0), (a == p.data_max).any(axis=0)
    b_min, b_max = (b == p.data_min).any(axis=1), (b == p.data_max).any(axis=1)
    if (a_min & b_min).any():
        return "min*min"
    if (a_max & b_max).any():
        return "max*max"
    if (a_min & b_max).any() or (a_max & b_min).any():
        return "min*max"
    return "none"


def wrapped(sp: ScheduledProduct) -> bool:
    """True when the accumulator wrapped: the exact sum differs from the ACC_W result."""
    exact = sp.product.a.astype(object) @ sp.product.b.astype(object)
    return bool((np.asarray(exact, dtype=object) != sp.expected.astype(object)).any())


@CoverPoint("systolic.array.shape", xf=lambda p, sp: shape_class(p), bins=SHAPES)
@CoverPoint("systolic.product.k", xf=lambda p, sp: k_class(sp.product.k, p), bins=K_CLASSES)
@CoverPoint("systolic.product.fold", xf=lambda p, sp: fold_class(sp, p), bins=FOLDS)
@CoverPoint("systolic.product.extremes", xf=lambda p, sp: extremes_class(sp, p), bins=EXTREMES)
@CoverPoint("systolic.product.acc_wrap", xf=lambda p, sp: wrapped(sp), bins=[True, False])
@CoverCross(
    "systolic.shape_x_k",
    items=["systolic.array.shape", "systolic.product.k"],
    ign_bins=[("1x1", "K<ROWS")],  # K >= 1 = ROWS: impossible on a 1x1 array
)
def _sample_product(p: ArrayParams, sp: ScheduledProduct) -> None:
    """Sampling function: the decorators record the bins."""


@CoverPoint("systolic.stream.event", xf=lambda event: event, bins=STREAM_EVENTS)
def _sample_event(event: str) -> None:
    """Sampling function for stream-level events."""


def stream_events(stream: Stream) -> list[str]:
    events = []
    prods = stream.products
    if len(prods) == 1:
        events.append("single product")
    steps = [sp.steps for sp in prods]
    pairs = list(itertools.pairwise(steps))
    if any(int(b[0]) == int(a[-1]) + 1 for a, b in pairs):
        events.append("back-to-back products")
    if any(np.any(np.diff(s) > 1) for s in steps) or any(
        int(b[0]) > int(a[-1]) + 1 for a, b in pairs
    ):
        events.append("valid bubbles")
    if stream.stimulus.rst.any() and any(sp.aborted for sp in prods):
        events.append("reset mid-stream")
    if any(sp.product.label.startswith("fold") for sp in prods) and any(
        sp.product.m < stream.params.rows or sp.product.n < stream.params.cols for sp in prods
    ):
        events.append("tiled GEMM with edge folds")
    return events


def sample(stream: Stream) -> None:
    """Record the coverage of one stream (every product and the stream-level events)."""
    for sp in stream.products:
        if not sp.aborted:
            _sample_product(stream.params, sp)
    for event in stream_events(stream):
        _sample_event(event)


def export() -> Path | None:
    """Write this process's coverage database where the runner asked for it."""
    target = os.environ.get(COV_FILE_ENV)
    if not target or "systolic.array.shape" not in coverage_db:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    coverage_db.export_to_yaml(str(path))
    return path
