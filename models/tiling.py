"""Tiling a whole GEMM onto the array: folds of ROWS x COLS outputs, each accumulating the full K.

Edge folds use *masked lanes* rather than zero padding: lanes beyond the fold's rows/columns are
driven invalid, so no PE does a wasted MAC and the fold finishes as soon as its last used PE does.
Folds are streamed back to back (row-major) through the first/last flags, with no idle cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.errors import OperandError
from systolic.models.gemm import check_operands
from systolic.models.params import ArrayParams
from systolic.models.skew import Product, ScheduledProduct


@dataclass(frozen=True)
class Fold:
    """One tile of C: rows [row0, row0+m) and columns [col0, col0+n)."""

    index: int
    row0: int
    m: int
    col0: int
    n: int


def plan_folds(m: int, n: int, params: ArrayParams) -> list[Fold]:
    """Cut an M x N output into ceil(M/ROWS) * ceil(N/COLS) folds, row-major."""
    for name, value in (("M", m), ("N", n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise OperandError(f"GEMM dimension {name} must be a positive integer, got {value!r}")
    folds: list[Fold] = []
    for r0 in range(0, m, params.rows):
        for c0 in range(0, n, params.cols):
            folds.append(
                Fold(len(folds), r0, min(params.rows, m - r0), c0, min(params.cols, n - c0))
            )
    return folds


def tile_gemm(a: object, b: object, params: ArrayParams) -> list[Product]:
    """Products (one per fold) that together compute A @ B on the array."""
    a64, b64 = check_operands(a, b, params)
    folds = plan_folds(a64.shape[0], b64.shape[1], params)
    return [
        Product(
            a64[f.row0 : f.row0 + f.m, :],
            b64[:, f.col0 : f.col0 + f.n],
            label=f"fold{f.index}[{f.row0}:{f.row0 + f.m},{f.col0}:{f.col0 + f.n}]",
        )
        for f in folds
    ]


def assemble(results: list[np.ndarray], m: int, n: int, params: ArrayParams) -> np.ndarray:
    """Put per-fold result tiles (in ``plan_folds`` order) back into the M x N matrix."""
    folds = plan_folds(m, n, params)
    if len(results) != len(folds):
        raise OperandError(f"expected {len(folds)} fold results, got {len(results)}")
    c = np.zeros((m, n), np.int64)
    for f, tile in zip(folds, results, strict=True):
        c[f.row0 : f.row0 + f.m, f.col0 : f.col0 + f.n] = tile
    return c


def stream_cycles(products: list[ScheduledProduct]) -> int:
    """Cycles from the first operand in (cycle 0) to the last result captured, inclusive."""
    return max(p.end_cycle for p in products) + 1 if products else 0


def gemm_cycles(m: int, k: int, n: int, params: ArrayParams) -> int:
    """Exact cycle count of an M x K x N GEMM streamed with no bubbles.

    Fold f's steps are issued at stream steps f*K .. f*K+K-1; its last used PE (m_f-1, n_f-1)
    captures at cycle f*K + K-1 + m_f-1 + n_f-1 + L (L = MUL_REG, the product register). The
    GEMM ends at the latest capture: usually the last fold's, but a full fold can end later when
    the last fold is small and K is short.
    Counted from cycle 0 (first operand applied) to the cycle whose rising edge captures the last
    result, inclusive. No stall is ever needed: the readout is fully parallel (docs/gemm.md).
    """
    return int(fold_ends(m, k, n, params).max()) + 1


def check_dims(m: object, k: object, n: object) -> tuple[int, int, int]:
    """Validate GEMM dimensions M, K, N (each a positive integer); one clear error otherwise."""
    out = []
    for name, value in (("M", m), ("K", k), ("N", n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise OperandError(f"GEMM dimension {name} must be a positive integer, got {value!r}")
        out.append(int(value))
    return out[0], out[1], out[2]


def fold_ends(m: int, k: int, n: int, params: ArrayParams) -> np.ndarray:
    """Cycle of the last capture of every fold (its last used PE), streamed with no bubbles."""
    m, k, n = check_dims(m, k, n)
    folds = plan_folds(m, n, params)
    idx = np.arange(len(folds), dtype=np.int64)
    fm = np.array([f.m for f in folds], np.int64)
    fn = np.array([f.n for f in folds], np.int64)
    return (idx + 1) * k - 1 + fm - 1 + fn - 1 + params.latency


def lower_bound_cycles(m: int, k: int, n: int, params: ArrayParams) -> int:
    """The array's lower bound LB = folds*K + r_last + c_last - 2 + L (same counting as
    gemm_cycles; L = MUL_REG).

    Each edge lane takes one new k per cycle, so the folds need folds*K cycles of streaming; the
    last fold's last used PE (r_last-1, c_last-1) then needs r_last + c_last - 2 more cycles to
    see its last operands, and L more to add the last product. Counted from cycle 0 (first
    operand applied) to the cycle whose rising edge captures the last result, inclusive.
    """
    m, k, n = check_dims(m, k, n)
    folds = plan_folds(m, n, params)
    last = folds[-1]
    return len(folds) * k + last.m + last.n - 2 + params.latency


def scalesim_os_cycles(m: int, k: int, n: int, params: ArrayParams) -> int:
    """SCALE-Sim's output-stationary compute cycles in *this project's* convention.

    SCALE-Sim charges every fold the full K + ROWS + COLS - 2 (fill and drain through the whole
    array, no overlap between folds) and reports that total minus one; this returns the total
    (first operand in to last result captured, inclusive), i.e. SCALE-Sim's report + 1.
    """
    m, k, n = check_dims(m, k, n)
    folds = len(plan_folds(m, n, params))
    return folds * (k + params.rows + params.cols - 2)


def readout_stall_cycles(m: int, k: int, n: int, params: ArrayParams, words: int | None) -> int:
    """Cycles lost to a *narrower* result readout than this RTL's (``words`` results per cycle).

    This RTL reads every PE in parallel (``words=None``): a result stays in its PE's result
    register for K cycles, until the same PE captures its next fold, so nothing ever waits and
    this returns 0. A chip that can read out only ``words`` results per cycle must drain a fold's
    m_f*n_f results within those K cycles, or hold the next fold back: each fold after the first
    is delayed by max(0, ceil(m_f*n_f/words) - K) bubble steps (a stall). See docs/gemm.md.
    """
    m, k, n = check_dims(m, k, n)
    if words is None:
        return 0
    if isinstance(words, bool) or not isinstance(words, int) or words < 1:
        raise OperandError(f"readout width must be a positive integer, got {words!r}")
    folds = plan_folds(m, n, params)
    return sum(max(0, -(-f.m * f.n // words) - k) for f in folds[:-1])


@dataclass(frozen=True)
class GemmPlan:
    """A GEMM M x K x N planned on an array: folds, cycles (exact), bounds and efficiencies."""

    m: int
    k: int
    n: int
    params: ArrayParams

    def __post_init__(self) -> None:
        check_dims(self.m, self.k, self.n)

    @property
    def folds(self) -> list[Fold]:
        return plan_folds(self.m, self.n, self.params)

    @property
    def fold_count(self) -> int:
        return -(-self.m // self.params.rows) * -(-self.n // self.params.cols)

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    @property
    def cycles(self) -> int:
        """Exact RTL cycles (``gemm_cycles``)."""
        return gemm_cycles(self.m, self.k, self.n, self.params)

    @property
    def lower_bound(self) -> int:
        return lower_bound_cycles(self.m, self.k, self.n, self.params)

    @property
    def scalesim_cycles(self) -> int:
        return scalesim_os_cycles(self.m, self.k, self.n, self.params)

    @property
    def pes(self) -> int:
        return self.params.rows * self.params.cols

    @property
    def mapping_efficiency(self) -> float:
        """Fraction of PE slots of the folds that hold a real output: MACs / (folds*K*ROWS*COLS)."""
        return self.macs / (self.fold_count * self.k * self.pes)

    def utilization(self, cycles: int | None = None) -> float:
        """MACs / (cycles * ROWS * COLS), for the given cycle count (default: the exact model)."""
        return self.macs / ((cycles if cycles is not None else self.cycles) * self.pes)
