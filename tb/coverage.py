"""Functional coverage of the stimulus (cocotb-coverage), sampled for every stream a TB runs.

Each simulator run exports its coverage database as YAML; ``systolic coverage`` merges the files
of a regression, prints the report and, with ``--check``, fails when a bin was never hit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from systolic.fileio import atomic_path
from systolic.models.array_model import EdgeTrace
from systolic.models.fixed import wrap
from systolic.models.params import ArrayParams, TopParams
from systolic.models.skew import ScheduledProduct, Stream
from systolic.tb.accel_check import ExpectedFold, PortSample, split_result_keep
from systolic.tb.config import RUN

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


PE_COUNTS = ["1", "2..256", ">256"]
LINES = ["1xN", "Nx1", "other"]
DATA_W_CLASSES = ["power of two", "odd", "even, not a power of two"]
ACC_W_CLASSES = ["2*DATA_W", "2*DATA_W+1", "64", "other power of two", "other"]
WIDE_WRAP = ["wrapped", "did not wrap"]
EDGE_EVENTS = [
    f"{edge} {what}"
    for edge in ("east", "south")
    for what in ("all lanes valid", "valid and invalid lanes", "no lane valid")
] + ["east first", "east last"]
RESET_EVENTS = [
    "pulse with no rising edge",
    "held across rising edges",
    "during a result strobe",
    "operands on the east/south edges",
    "released before the falling edge",
    "released at/after the falling edge",
]


def pe_count_class(p: ArrayParams) -> str:
    n = p.rows * p.cols
    return "1" if n == 1 else ("2..256" if n <= 256 else ">256")


def line_class(p: ArrayParams) -> str:
    if p.rows == 1 and p.cols > 1:
        return "1xN"
    return "Nx1" if p.cols == 1 and p.rows > 1 else "other"


def _power_of_two(n: int) -> bool:
    return n & (n - 1) == 0


def data_w_class(p: ArrayParams) -> str:
    if _power_of_two(p.data_w):
        return "power of two"
    return "odd" if p.data_w % 2 else "even, not a power of two"


def acc_w_class(p: ArrayParams) -> str:
    if p.acc_w in (2 * p.data_w, 2 * p.data_w + 1):
        return "2*DATA_W" if p.acc_w == 2 * p.data_w else "2*DATA_W+1"
    if p.acc_w == 64:
        return "64"
    return "other power of two" if _power_of_two(p.acc_w) else "other"


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


def wrapped(sp: ScheduledProduct, acc_w: int) -> bool:
    """True when the accumulator wrapped: the exact sum is outside the signed ACC_W range.

    Computed from the operands, not from ``sp.expected`` (a test may corrupt that on purpose).
    """
    a, b = sp.product.a, sp.product.b
    if sp.product.k < 1 << 31:  # |a*b| <= 2**30 for DATA_W <= 16: the int64 sum is exact
        exact = a.astype(np.int64) @ b.astype(np.int64)
        return bool((exact != wrap(exact, acc_w)).any())
    half = 1 << (acc_w - 1)
    exact = a.astype(object) @ b.astype(object)
    return bool(((exact < -half) | (exact >= half)).any())


def wide_wrap_class(p: ArrayParams, sp: ScheduledProduct) -> str | None:
    """Overflow of an accumulator wider than the product (None, i.e. no bin, when it is not)."""
    if p.acc_w <= 2 * p.data_w:
        return None
    return "wrapped" if wrapped(sp, p.acc_w) else "did not wrap"


@CoverPoint("systolic.array.shape", xf=lambda p, sp: shape_class(p), bins=SHAPES)
@CoverPoint("systolic.product.k", xf=lambda p, sp: k_class(sp.product.k, p), bins=K_CLASSES)
@CoverPoint("systolic.product.fold", xf=lambda p, sp: fold_class(sp, p), bins=FOLDS)
@CoverPoint("systolic.product.extremes", xf=lambda p, sp: extremes_class(sp, p), bins=EXTREMES)
@CoverPoint("systolic.product.acc_wrap", xf=lambda p, sp: wrapped(sp, p.acc_w), bins=[True, False])
@CoverCross(
    "systolic.shape_x_k",
    items=["systolic.array.shape", "systolic.product.k"],
    ign_bins=[("1x1", "K<ROWS")],  # K >= 1 = ROWS: impossible on a 1x1 array
)
@CoverPoint("systolic.product.wide_acc_wrap", xf=wide_wrap_class, bins=WIDE_WRAP)
def _sample_product(p: ArrayParams, sp: ScheduledProduct) -> None:
    """Sampling function: the decorators record the bins."""


@CoverPoint("systolic.array.pes", xf=pe_count_class, bins=PE_COUNTS)
@CoverPoint("systolic.array.line", xf=line_class, bins=LINES)
@CoverPoint("systolic.width.data_w", xf=data_w_class, bins=DATA_W_CLASSES)
@CoverPoint("systolic.width.acc_w", xf=acc_w_class, bins=ACC_W_CLASSES)
@CoverPoint("systolic.array.mul_reg", xf=lambda p: p.mul_reg, bins=[0, 1])
def _sample_params(p: ArrayParams) -> None:
    """Sampling function for the array's parameters (once per stream)."""


@CoverPoint("systolic.edge.lanes", xf=lambda event: event, bins=EDGE_EVENTS)
def _sample_edge(event: str) -> None:
    """Sampling function for what the east/south edge outputs carried."""


@CoverPoint("systolic.reset", xf=lambda event: event, bins=RESET_EVENTS)
def _sample_reset(event: str) -> None:
    """Sampling function for the kinds of reset a stream went through."""


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


def edge_events(edges: EdgeTrace) -> list[str]:
    """What the edge outputs carried during a stream (as checked against the cycle model)."""
    events = []
    for edge, vld in (("east", edges.a_vld_o), ("south", edges.b_vld_o)):
        n_valid = vld.sum(axis=1)
        if (n_valid == vld.shape[1]).any():
            events.append(f"{edge} all lanes valid")
        if ((n_valid > 0) & (n_valid < vld.shape[1])).any():
            events.append(f"{edge} valid and invalid lanes")
        if (n_valid == 0).any():
            events.append(f"{edge} no lane valid")
    for flag, lanes in (("first", edges.a_first_o), ("last", edges.a_last_o)):
        if (lanes & edges.a_vld_o).any():
            events.append(f"east {flag}")
    return events


def sample(stream: Stream, edges: EdgeTrace | None = None) -> int:
    """Record the coverage of one stream (parameters, every product, the stream-level events and,
    when given, the edge outputs). Returns the number of products whose accumulator wrapped."""
    _sample_params(stream.params)
    wraps = 0
    for sp in stream.products:
        if not sp.aborted:
            _sample_product(stream.params, sp)
            wraps += wrapped(sp, stream.params.acc_w)
    for event in stream_events(stream):
        _sample_event(event)
    for event in edge_events(edges) if edges is not None else []:
        _sample_edge(event)
    return wraps


#: Stall patterns seen on the accelerator top's ports (systolic_accel).
ACCEL_STALLS = [
    "source A paused",  # B offers a step, A does not
    "source B paused",
    "sink stalled",  # a result beat waits for tready
    "fold admission held back",  # a fold's last step offered on both streams, tready low
]
#: The drain overlapping the next fold.
ACCEL_DRAIN = [
    "results leave while the next fold streams in",  # C and operand handshakes in one cycle
    "shadow register used",  # some PE's unread result moved to its shadow register
    "second shadow register used",  # SHADOWS > 1: three results of a PE unread (pend_q >= 3)
]


#: Result beats of a top with OUT_ROWS > 1 (sampled only there: OUT_ROWS = 1 has one row a beat).
ACCEL_BEATS = [
    "every one of OUT_ROWS > 1 rows kept",  # a full group of rows in one beat
    "fewer rows kept than OUT_ROWS > 1",  # a fold's last group, m not a multiple of OUT_ROWS
]


@CoverPoint("systolic.accel.stall", xf=lambda event: event, bins=ACCEL_STALLS)
def _sample_accel_stall(event: str) -> None:
    """Sampling function for the stall patterns of the accelerator's streams."""


@CoverPoint("systolic.accel.drain", xf=lambda event: event, bins=ACCEL_DRAIN)
def _sample_accel_drain(event: str) -> None:
    """Sampling function for the drain of one fold overlapping the next."""


@CoverPoint("systolic.accel.fold", xf=lambda event: event, bins=FOLDS)
def _sample_accel_fold(event: str) -> None:
    """Sampling function for the folds sent to the accelerator (edge folds)."""


@CoverPoint("systolic.accel.beat", xf=lambda event: event, bins=ACCEL_BEATS)
def _sample_accel_beat(event: str) -> None:
    """Sampling function for the multi-row result beats (OUT_ROWS > 1)."""


def accel_beats(top: TopParams, samples: Sequence[PortSample]) -> list[str]:
    """The kinds of multi-row result beats (``ACCEL_BEATS``) accepted on m_axis_c; none when
    OUT_ROWS is 1."""
    out_rows = top.out_rows
    if out_rows == 1:
        return []
    seen: set[str] = set()
    for s in samples:
        if s.rst or not s.c.fire or s.c.tkeep is None:
            continue
        shape = split_result_keep(s.c.tkeep, top)
        if shape is not None:
            seen.add(ACCEL_BEATS[shape[0] < out_rows])
    return [e for e in ACCEL_BEATS if e in seen]


def accel_events(
    samples: Sequence[PortSample], pending_max: Sequence[int]
) -> tuple[list[str], list[str]]:
    """The stall and drain events (``ACCEL_STALLS``, ``ACCEL_DRAIN``) of sampled cycles
    (``pending_max``: the most unread results of a PE, per cycle; two or more put the oldest in
    a shadow register)."""
    stalls: set[str] = set()
    drain: set[str] = set()
    for s in samples:
        if s.rst:
            continue
        if s.b.tvalid and not s.a.tvalid:
            stalls.add("source A paused")
        if s.a.tvalid and not s.b.tvalid:
            stalls.add("source B paused")
        if s.c.tvalid and not s.c.tready:
            stalls.add("sink stalled")
        if s.a.tvalid and s.b.tvalid and s.a.tlast and not s.a.tready:
            stalls.add("fold admission held back")
        if s.c.fire and s.a.fire:
            drain.add("results leave while the next fold streams in")
    if any(k >= 2 for k in pending_max):
        drain.add("shadow register used")
    if any(k >= 3 for k in pending_max):
        drain.add("second shadow register used")
    return [e for e in ACCEL_STALLS if e in stalls], [e for e in ACCEL_DRAIN if e in drain]


def sample_accel(
    top: TopParams,
    samples: Sequence[PortSample],
    pending_max: Sequence[int],
    epochs: Sequence[Sequence[ExpectedFold]],
) -> None:
    """Record the coverage of an accelerator test: stalls, drain overlap (``pending_max``: the
    most unread results of a PE per cycle), fold shapes and, with OUT_ROWS > 1, the multi-row
    result beats."""
    p = top.array
    stalls, drain = accel_events(samples, pending_max)
    for event in accel_beats(top, samples):
        _sample_accel_beat(event)
    for event in stalls:
        _sample_accel_stall(event)
    for event in drain:
        _sample_accel_drain(event)
    for folds in epochs:
        for f in folds:
            _sample_accel_fold(FOLDS[(f.fold.m < p.rows) + 2 * (f.fold.n < p.cols)])


def sample_reset(events: list[str]) -> None:
    """Record the kinds of one reset (``RESET_EVENTS``)."""
    for event in events:
        _sample_reset(event)


def export() -> Path | None:
    """Write this process's coverage database where the runner asked for it."""
    target = RUN.cov_file
    if not target or "systolic.array.shape" not in coverage_db:
        return None
    path = Path(target)
    with atomic_path(path) as tmp:  # `systolic coverage` never finds half a file
        coverage_db.export_to_yaml(str(tmp))
    return path
