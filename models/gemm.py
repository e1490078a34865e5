"""Golden GEMM with the RTL's exact fixed-width semantics."""

from __future__ import annotations

import numpy as np

from systolic.errors import OperandError
from systolic.models.fixed import check_int_matrix, wrap
from systolic.models.params import ArrayParams


def check_operands(a: object, b: object, params: ArrayParams) -> tuple[np.ndarray, np.ndarray]:
    """Validate A (M x K) and B (K x N) for the array: 2-D, integer, in range, inner dims equal."""
    a64 = check_int_matrix("A", a, params.data_w)
    b64 = check_int_matrix("B", b, params.data_w)
    if a64.shape[1] != b64.shape[0]:
        raise OperandError(
            f"inner dimensions differ: A is {a64.shape[0]}x{a64.shape[1]}, "
            f"B is {b64.shape[0]}x{b64.shape[1]}"
        )
    return a64, b64


#: Integers a float64 holds exactly (its 53-bit significand).
_FLOAT_EXACT = 2**53


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A @ B of integer matrices as exact int64, through float64 BLAS when every partial sum is
    below 2**53 in magnitude (then each product and sum is exact in float64): NumPy's integer
    matmul has no BLAS and is ~50x slower on a CNN's GEMMs. Else the int64 matmul (which wraps
    modulo 2**64 like the int64 path always did)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if not (a.size and b.size):
        return a.astype(np.int64) @ b.astype(np.int64)
    # Python ints: np.abs of the most negative int64 is itself negative.
    bound = max(int(a.max()), -int(a.min())) * max(int(b.max()), -int(b.min())) * a.shape[-1]
    if bound < _FLOAT_EXACT:
        return (a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    with np.errstate(over="ignore"):
        return a.astype(np.int64) @ b.astype(np.int64)


def golden_gemm(a: object, b: object, params: ArrayParams) -> np.ndarray:
    """C = A @ B with signed data_w-bit operands and an acc_w-bit accumulator that wraps.

    Returns int64 values in the signed acc_w range, exactly what the PEs' result registers hold.
    """
    a64, b64 = check_operands(a, b, params)
    # Products of <= 16-bit operands are exact in int64; the sum wraps modulo 2**64 at worst,
    # which is congruent to the modulo-2**acc_w sum the hardware computes.
    return wrap(exact_matmul(a64, b64), params.acc_w)
