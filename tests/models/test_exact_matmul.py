"""models.gemm.exact_matmul: the integer reference's and the checkers' A @ B, through float64
BLAS only where every sum is exact, bit for bit the int64 product."""

from __future__ import annotations

import numpy as np

from systolic.models.gemm import exact_matmul


def test_int8_gemms_of_a_cnn_are_exact() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (50, 4608)).astype(np.int8)
    b = rng.integers(-128, 128, (4608, 20)).astype(np.int8)
    a[0, :], b[:, 0] = -128, -128  # the largest sum: 128 * 128 * 4608
    want = a.astype(object) @ b.astype(object)
    got = exact_matmul(a, b)
    assert got.dtype == np.int64 and np.array_equal(got, want.astype(np.int64))


def test_sums_beyond_float64_take_the_int64_path() -> None:
    """2**30 * 2**30 * 8 = 2**63 overflows; 2**26 * 2**26 * 3 > 2**53 is exact in int64 only."""
    a = np.full((2, 3), 2**26 + 1, np.int64)
    b = np.full((3, 2), 2**26 - 1, np.int64)
    assert np.array_equal(exact_matmul(a, b), np.full((2, 2), 3 * (2**52 - 1), np.int64))
    lo = np.array([[np.iinfo(np.int64).min]], np.int64)  # |min| does not fit: no float path
    assert exact_matmul(lo, np.array([[1]])).tolist() == [[np.iinfo(np.int64).min]]
    assert exact_matmul(np.zeros((0, 3), np.int8), np.zeros((3, 2), np.int8)).shape == (0, 2)
