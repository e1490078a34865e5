"""The skew and timing contract of the array, written once.

Drivers use it to turn matrix products into per-cycle edge vectors; checkers use it to know at
which cycle each result appears; ``deskew`` turns edge vectors back into the products.

Contract (also in rtl/systolic_array.v and docs/architecture.md):

* Cycle t ends with rising edge t. ``EdgeStimulus`` row t is applied before edge t.
* A product (A: m x K, B: K x n, m <= ROWS, n <= COLS) is issued as K *steps*; step k goes out at
  stream step s_k. Bubble steps carry nothing (all lanes invalid), so s_k may jump.
* A[i][k] is on west lane i in cycle s_k + i, with first = (k == 0) and last = (k == K-1);
  B[k][j] is on north lane j in cycle s_k + j. Unused lanes (i >= m, j >= n) are invalid.
* A[i][k] and B[k][j] meet in PE(i,j) in cycle s_k + i + j. PE(i,j) adds their product at edge
  s_k + i + j + L, where L = ``params.latency`` = MUL_REG (0: at the edge the pair arrives; 1: the
  product is registered at that edge and added at the next one); its result register holds
  C[i][j] with the strobe set right after edge s_{K-1} + i + j + L (the product's *capture cycle*
  for that PE), and keeps it until the PE's next ``last`` pair is added.
* The east and south edges below do not depend on L.
* East lane i after edge t carries west lane i of cycle t - (COLS-1), south lane j north lane j
  of cycle t - (ROWS-1): a chained array sees them COLS / ROWS cycles after they entered.
* rst_ni clears every register when it falls; see ``ResetPulse`` for pulses between edges and the
  release rule (edge t accepts the inputs of cycle t when rst_ni is high at it).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np

from systolic.errors import OperandError
from systolic.models.gemm import check_operands, golden_gemm
from systolic.models.params import ArrayParams


@overload
def pe_delay(i: int, j: int) -> int: ...
@overload
def pe_delay(i: np.ndarray, j: int | np.ndarray) -> np.ndarray: ...
@overload
def pe_delay(i: int, j: np.ndarray) -> np.ndarray: ...
def pe_delay(i: int | np.ndarray, j: int | np.ndarray) -> int | np.ndarray:
    """The skew rule: A[i][k] of stream step s enters west lane i at cycle s + i and moves one PE
    east per cycle, B[k][j] enters north lane j at s + j and moves one PE south per cycle, so
    they meet in PE(i, j) at cycle s + i + j; a product finishes in PE(i, j) i + j cycles after
    its last step. Scalars or broadcasting arrays."""
    return i + j


@dataclass(frozen=True)
class Product:
    """One accumulation job that fits the array: A (m x K) times B (K x n)."""

    a: np.ndarray
    b: np.ndarray
    label: str = ""

    @property
    def m(self) -> int:
        return int(self.a.shape[0])

    @property
    def k(self) -> int:
        return int(self.a.shape[1])

    @property
    def n(self) -> int:
        return int(self.b.shape[1])


@dataclass(frozen=True)
class ScheduledProduct:
    """A product placed in the stream: the stream step of each of its K steps.

    latency: L, the array's MUL_REG (cycles between a pair's arrival and the edge adding it).
    """

    product: Product
    steps: np.ndarray  # (K,) strictly increasing stream steps
    expected: np.ndarray  # golden C (m x n)
    aborted: bool = False  # cut short by a reset: no result is expected
    latency: int = 0

    def capture_cycles(self) -> np.ndarray:
        """(m, n) cycle after whose rising edge PE(i,j) holds the finished C[i][j]:
        s_{K-1} + i + j + L."""
        m, n = self.product.m, self.product.n
        meet = pe_delay(np.arange(m)[:, None], np.arange(n)[None, :])
        return int(self.steps[-1]) + meet + self.latency

    @property
    def end_cycle(self) -> int:
        """Cycle of the last capture of this product (its last used PE)."""
        meet = pe_delay(self.product.m - 1, self.product.n - 1)
        return int(self.steps[-1]) + meet + self.latency

    def moved(self, shift: int = 0, aborted: bool = False) -> ScheduledProduct:
        """The same product ``shift`` cycles later, marked aborted when ``aborted`` (or already)."""
        return ScheduledProduct(
            self.product, self.steps + shift, self.expected, self.aborted or aborted, self.latency
        )


@dataclass
class EdgeStimulus:
    """What the driver applies before each rising edge, one row per cycle."""

    a: np.ndarray  # (T, ROWS) int64
    a_vld: np.ndarray  # (T, ROWS) bool
    a_first: np.ndarray  # (T, ROWS) bool
    a_last: np.ndarray  # (T, ROWS) bool
    b: np.ndarray  # (T, COLS) int64
    b_vld: np.ndarray  # (T, COLS) bool
    rst: np.ndarray  # (T,) bool: reset asserted during the cycle

    @classmethod
    def idle(cls, cycles: int, params: ArrayParams) -> EdgeStimulus:
        r, c = params.rows, params.cols
        return cls(
            a=np.zeros((cycles, r), np.int64),
            a_vld=np.zeros((cycles, r), bool),
            a_first=np.zeros((cycles, r), bool),
            a_last=np.zeros((cycles, r), bool),
            b=np.zeros((cycles, c), np.int64),
            b_vld=np.zeros((cycles, c), bool),
            rst=np.zeros(cycles, bool),
        )

    @property
    def cycles(self) -> int:
        return int(self.rst.shape[0])

    def fields(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in _FIELDS}

    def concat(self, other: EdgeStimulus) -> EdgeStimulus:
        return EdgeStimulus(
            **{k: np.concatenate([v, getattr(other, k)]) for k, v in self.fields().items()}
        )

    def truncate(self, cycles: int) -> EdgeStimulus:
        return EdgeStimulus(**{k: v[:cycles].copy() for k, v in self.fields().items()})


_FIELDS = ("a", "a_vld", "a_first", "a_last", "b", "b_vld", "rst")


@dataclass(frozen=True)
class ResetPulse:
    """An asynchronous pulse of rst_ni placed between rising edges (times in clock periods).

    rst_ni falls ``fall`` periods after rising edge ``after_edge`` and rises ``rise`` periods
    after rising edge ``until_edge`` (0 < fall, rise < 1). ``until_edge == after_edge`` with
    ``rise > fall`` is a pulse that contains no rising edge. The monitor samples the state half a
    period after each rising edge, so ``fall`` may not be exactly 0.5.

    Contract: every register is zero from the moment rst_ni falls; the rising edges
    after_edge+1 .. until_edge see rst_ni low and change nothing; edge until_edge+1 is the first
    that accepts inputs (those of cycle until_edge+1).
    """

    after_edge: int
    until_edge: int
    fall: float = 0.2
    rise: float = 0.4

    def __post_init__(self) -> None:
        if not (0 < self.fall < 1 and 0 < self.rise < 1) or self.fall == 0.5:
            raise OperandError(f"{self}: fall and rise must be in (0, 1), fall not 0.5")
        if self.until_edge < self.after_edge or (
            self.until_edge == self.after_edge and self.rise <= self.fall
        ):
            raise OperandError(f"{self}: rst_ni must rise after it falls")
        if self.after_edge < 0:
            raise OperandError(f"{self}: the pulse must start after rising edge 0")

    @property
    def first_cleared(self) -> int:
        """The first cycle whose sampled state (after its edge) differs from a reset-free run: the
        falling rst_ni is seen by the sample of edge ``after_edge`` when it falls before it."""
        return self.after_edge if self.fall < 0.5 else self.after_edge + 1

    @property
    def edges_held(self) -> range:
        """Rising edges that see rst_ni low."""
        return range(self.after_edge + 1, self.until_edge + 1)

    def model(self, rst: np.ndarray, cleared: np.ndarray) -> None:
        """Express the pulse in the cycle model's terms, in place: ``rst[t]`` = the state after
        edge t is the reset state; ``cleared[t]`` = cleared between the sample of edge t-1 and
        edge t, which then works normally (see ``ArrayModel.run``)."""
        if self.fall < 0.5:
            rst[self.after_edge] = True
        elif self.after_edge + 1 < cleared.size:
            cleared[self.after_edge + 1] = True
        rst[self.after_edge + 1 : self.until_edge + 1] = True

    def spoils(self, sp: ScheduledProduct) -> bool:
        """True when the pulse hits the product: some PE's partial sum or result is lost."""
        return int(sp.steps[0]) <= self.until_edge and sp.end_cycle >= self.first_cleared


def pulsed_model_inputs(
    stim: EdgeStimulus, pulses: Sequence[ResetPulse]
) -> tuple[EdgeStimulus, np.ndarray]:
    """The stimulus and ``cleared`` mask with which the cycle model predicts a run whose rst_ni
    also carries ``pulses`` (the driven stimulus itself is left unchanged)."""
    model = stim.truncate(stim.cycles)
    cleared = np.zeros(stim.cycles, bool)
    for pulse in pulses:
        if pulse.until_edge >= stim.cycles:
            raise OperandError(f"{pulse} does not end within the {stim.cycles}-cycle stream")
        pulse.model(model.rst, cleared)
    return model, cleared


@dataclass
class Stream:
    """Products scheduled back to back, the edge stimulus that carries them, and what to expect."""

    params: ArrayParams
    stimulus: EdgeStimulus
    products: list[ScheduledProduct] = field(default_factory=list)

    @property
    def cycles(self) -> int:
        return self.stimulus.cycles

    def concat(self, other: Stream) -> Stream:
        """Append another stream after this one (its cycles shifted by ours)."""
        shift = self.cycles
        moved = [p.moved(shift) for p in other.products]
        return Stream(self.params, self.stimulus.concat(other.stimulus), self.products + moved)

    def with_pulses(self, pulses: Sequence[ResetPulse]) -> Stream:
        """The same stream with every product that a reset pulse hits marked aborted."""
        kept = [p.moved(aborted=any(x.spoils(p) for x in pulses)) for p in self.products]
        return Stream(self.params, self.stimulus, kept)

    def with_reset(self, at_cycle: int, length: int) -> Stream:
        """Cut the stream at ``at_cycle`` and hold reset for ``length`` idle cycles.

        Products whose results are not all captured before the cut are marked aborted.
        """
        if not 0 <= at_cycle <= self.cycles or length < 1:
            raise OperandError(
                f"reset at cycle {at_cycle} for {length} cycles is outside the stream"
            )
        stim = self.stimulus.truncate(at_cycle).concat(EdgeStimulus.idle(length, self.params))
        stim.rst[at_cycle:] = True
        kept = [
            p.moved(aborted=p.end_cycle >= at_cycle) for p in self.products if p.steps[0] < at_cycle
        ]
        return Stream(self.params, stim, kept)


def schedule(
    products: Sequence[Product],
    params: ArrayParams,
    bubbles: np.ndarray | None = None,
    tail: int | None = None,
) -> Stream:
    """Skew products into per-cycle edge vectors, back to back with no idle cycle between them.

    bubbles: optional bool mask over stream steps; a True step carries no operands (all lanes
    invalid) and pushes the remaining steps one later. tail: idle cycles appended after the last
    step (default: enough for every result to be captured and seen).
    """
    for p in products:
        check_operands(p.a, p.b, params)
        if p.m > params.rows or p.n > params.cols:
            raise OperandError(
                f"product {p.label or ''}of {p.m}x{p.k} by {p.k}x{p.n} does not fit a "
                f"{params.rows}x{params.cols} array: tile it (systolic.models.tiling)"
            )
    total_steps = sum(p.k for p in products)
    issue = _issue_steps(total_steps, bubbles)
    last_step = int(issue[-1]) if total_steps else -1
    if tail is None:
        tail = params.rows + params.cols
    cycles = last_step + 1 + tail + params.rows + params.cols - 2 + params.latency
    stim = EdgeStimulus.idle(max(cycles, 1), params)
    scheduled = []
    pos = 0
    for p in products:
        steps = issue[pos : pos + p.k]
        pos += p.k
        _place(stim, p, steps)
        expected = golden_gemm(p.a, p.b, params)
        scheduled.append(ScheduledProduct(p, steps, expected, latency=params.latency))
    return Stream(params, stim, scheduled)


def _issue_steps(total: int, bubbles: np.ndarray | None) -> np.ndarray:
    """Stream step of each of ``total`` operand steps, skipping bubble steps."""
    if bubbles is None or total == 0:
        return np.arange(total, dtype=np.int64)
    bubbles = np.asarray(bubbles, dtype=bool)
    free = np.flatnonzero(~bubbles)
    if free.size < total:  # bubbles only cover a prefix: steps after it are free
        extra = np.arange(bubbles.size, bubbles.size + total - free.size)
        free = np.concatenate([free, extra])
    return free[:total].astype(np.int64)


def _place(stim: EdgeStimulus, p: Product, steps: np.ndarray) -> None:
    """Write one product's skewed operands into the stimulus (vectorized over lanes and steps)."""
    i = np.arange(p.m)[:, None]
    rows_t = steps[None, :] + i  # (m, K): cycle of A[i][k] on west lane i
    stim.a[rows_t, i] = p.a
    stim.a_vld[rows_t, i] = True
    stim.a_first[rows_t[:, 0], np.arange(p.m)] = True
    stim.a_last[rows_t[:, -1], np.arange(p.m)] = True
    j = np.arange(p.n)[None, :]
    cols_t = steps[:, None] + j  # (K, n): cycle of B[k][j] on north lane j
    stim.b[cols_t, j] = p.b
    stim.b_vld[cols_t, j] = True


def deskew(stim: EdgeStimulus) -> list[Product]:
    """Recover the products carried by edge vectors: the inverse of ``schedule``.

    Steps are found on west lane 0's clock (stream step s = cycle - lane), products are cut at
    ``first`` flags. Lanes that are never valid during a product are not part of it.
    """
    t = stim.a.shape[0]
    # Un-skew: value of lane i at stream step s lives at cycle s + i.
    a_s = unskew(stim.a)
    av_s = unskew(stim.a_vld)
    af_s = unskew(stim.a_first)
    b_s = unskew(stim.b)
    bv_s = unskew(stim.b_vld)
    live = np.flatnonzero(av_s.any(axis=1))
    products: list[Product] = []
    if live.size == 0:
        return products
    starts = [s for s in live if af_s[s][av_s[s]].any()] or [live[0]]
    bounds = [*starts, t]
    for lo, hi in itertools.pairwise(bounds):
        steps = live[(live >= lo) & (live < hi)]
        m = int(av_s[steps].any(axis=0).nonzero()[0].max()) + 1
        nb = bv_s[steps].any(axis=0).nonzero()[0]
        n = int(nb.max()) + 1 if nb.size else 0
        products.append(Product(a_s[steps, :m].T.copy(), b_s[steps, :n].copy()))
    return products


def unskew(lanes: np.ndarray, steps: int | None = None) -> np.ndarray:
    """(T, L) per-cycle lanes -> (steps, L) per-stream-step lanes: the skew rule inverted.

    Lane l carries stream step s at cycle s + l, so lane l is shifted back by l (zero past T).
    """
    t, n = lanes.shape
    steps = t if steps is None else steps
    out = np.zeros((steps, n), lanes.dtype)
    for lane in range(n):  # a loop over lanes, not over cycles
        hi = min(steps, t - lane)
        if hi > 0:
            out[:hi, lane] = lanes[lane : lane + hi, lane]
    return out
