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
    folds = []
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
    captures at cycle f*K + K-1 + m_f-1 + n_f-1. The GEMM ends at the latest capture: usually the
    last fold's, but a full fold can end later when the last fold is small and K is short.
    """
    if k < 1:
        raise OperandError(f"GEMM dimension K must be a positive integer, got {k!r}")
    folds = plan_folds(m, n, params)
    ends = [(f.index + 1) * k + f.m + f.n - 3 for f in folds]
    return max(ends) + 1
