"""Deterministic workloads shared by the cocotb tests, the raw baselines and the benchmarks."""

from __future__ import annotations

import numpy as np

from systolic.models.params import ArrayParams
from systolic.models.skew import Product, Stream, schedule
from systolic.models.tiling import tile_gemm


def random_operands(
    m: int, k: int, n: int, params: ArrayParams, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A (M x K) and B (K x N), uniform over the whole signed DATA_W range."""
    rng = np.random.default_rng([seed, m, k, n])
    lo, hi = params.data_min, params.data_max + 1
    return (
        rng.integers(lo, hi, size=(m, k), dtype=np.int64),
        rng.integers(lo, hi, size=(k, n), dtype=np.int64),
    )


def gemm_stream(m: int, k: int, n: int, params: ArrayParams, seed: int = 1) -> Stream:
    """A whole GEMM tiled into folds and streamed back to back with no bubble, from cycle 0."""
    a, b = random_operands(m, k, n, params, seed)
    return schedule(tile_gemm(a, b, params), params)


def speed_stream(params: ArrayParams, cycles: int, seed: int = 1) -> Stream:
    """The simulation-throughput workload: full-array products with random K (1 .. 4*max(R, C))
    back to back, every PE busy, about ``cycles`` cycles long."""
    rng = np.random.default_rng([seed, params.rows, params.cols, cycles])
    lo, hi = params.data_min, params.data_max + 1
    prods: list[Product] = []
    total = 0
    kmax = 4 * max(params.rows, params.cols)
    while total < cycles - params.rows - params.cols:
        k = int(rng.integers(1, kmax + 1))
        a = rng.integers(lo, hi, size=(params.rows, k), dtype=np.int64)
        b = rng.integers(lo, hi, size=(k, params.cols), dtype=np.int64)
        prods.append(Product(a, b, f"p{len(prods)}"))
        total += k
    return schedule(prods, params, tail=0)
