"""int8 arithmetic of the lowered network (symmetric, zero-point 0): the reference's rounding.

Pure NumPy: the integer reference network (``models.network``) and the lowering (which holds the
torch side: ``lowering.quant``) both round through here, so the two agree bit for bit.
Requantization: q_y = clamp(round(acc * s_a * s_w / s_y), lo, hi); lo = 0 folds the ReLU in.
"""

from __future__ import annotations

import numpy as np

from systolic.errors import LoweringError

QMAX = 127

#: Largest |bias| in accumulator units. The host adds the bias (in int64), but keeping it within
#: 2^30 leaves half of the int32 range for the dot product should the bias ever be preloaded
#: into the array's accumulators.
BIAS_MAX = 2**30


def to_int8(real: np.ndarray, scale: float, relu: bool = False) -> np.ndarray:
    """Real values to int8 codes at ``scale``: round half to even, clamp to [lo, 127] with
    lo = 0 for a ReLU, else -127. Every requantization of the project goes through here."""
    return np.clip(np.rint(np.asarray(real) / scale), 0 if relu else -QMAX, QMAX).astype(np.int8)


def quantize_bias(bias: np.ndarray, s_a: float, s_w: np.ndarray) -> np.ndarray:
    """int32 bias in the accumulator's scale s_a * s_w (per output channel)."""
    q = np.rint(np.asarray(bias, np.float64) / (s_a * np.asarray(s_w, np.float64)))
    if np.abs(q).max(initial=0) >= 2**31:
        raise LoweringError("a bias does not fit in int32 at this scale")
    return q.astype(np.int64)


def requantize(acc: np.ndarray, s_a: float, s_w: np.ndarray, s_y: float, relu: bool) -> np.ndarray:
    """int32 accumulators (..., N) -> int8 outputs in scale s_y; ReLU is the lower clamp."""
    return to_int8(np.asarray(acc, np.float64) * (s_a * np.asarray(s_w, np.float64)), s_y, relu)


# ------------------------------------------------------------------------------------------------
# Integer-only requantization (gemmlowp / TFLite): a real multiplier as M0 * 2^-31 * 2^-shift
# ------------------------------------------------------------------------------------------------

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Fraction bits the host keeps while it sums rescaled int8 terms (the residual add): each term
#: is q << 23 (still int32 for int8 q) times its multiplier, the sum is rounded once more by a
#: right shift of 23.
HOST_FRAC_BITS = 23
#: Largest right shift of the 62-bit product x * M0; a real multiplier below 2^-62 is stored
#: as M0 = 0.
MAX_SHIFT = 62


def quantize_multiplier(real: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Real multipliers (>= 0, < 2^31) as int64 ``(m0, shift)``: real ~= m0 * 2^-31 * 2^-shift
    with m0 in [2^30, 2^31) (TFLite's QuantizeMultiplier). ``shift`` > 0 is a right shift,
    < 0 a left shift. A zero (or negligible, < 2^-62) multiplier is (0, 0)."""
    r = np.asarray(real, np.float64)
    if not np.isfinite(r).all() or (r < 0).any() or (r >= 2.0**31).any():
        raise LoweringError(f"a requantization multiplier is out of range: {r.min()}..{r.max()}")
    frac, exp = np.frexp(r)  # r = frac * 2^exp, frac in [0.5, 1)
    m0 = np.rint(frac * 2.0**31).astype(np.int64)
    carry = m0 == 2**31  # frac rounded up to 1.0
    m0 = np.where(carry, m0 // 2, m0)
    shift = -(exp.astype(np.int64) + carry)
    dead = (r == 0) | (shift > MAX_SHIFT - 31)
    return np.where(dead, 0, m0), np.where(dead, 0, shift)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """x / 2^exponent rounded half away from zero (gemmlowp's RoundingDivideByPOT), exponent in
    [0, 62], in int64."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    out: np.ndarray = (x >> e) + (remainder > threshold)
    return out


def multiply_by_quantized_multiplier(
    x: np.ndarray, m0: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """x * real for int32 ``x`` and ``(m0, shift)`` from :func:`quantize_multiplier`, integers
    only, one rounding: the int64 product x * m0 is shifted right by 31 + shift with ties
    rounded away from zero (TFLite's single-rounding form; its default form rounds twice, in
    the doubling high multiply and in the shift, which can move a result by one). |x| < 2^31
    and m0 < 2^31 keep the product below 2^62; a total shift above 62 gives 0 exactly."""
    x = np.asarray(x, np.int64)
    if x.size and (x.min() < INT32_MIN or x.max() > INT32_MAX):
        raise LoweringError("an accumulator plus bias does not fit in int32")
    total = 31 + np.asarray(shift, np.int64)
    product = x * np.asarray(m0, np.int64)
    out: np.ndarray = np.where(
        total > MAX_SHIFT, 0, rounding_divide_by_pot(product, np.clip(total, 0, MAX_SHIFT))
    )
    return out


def int8_bound(bound: float | None, scale: float, lower: bool) -> int:
    """An activation clamp bound (real, None: unbounded) as an int8 code at ``scale``, rounded
    as :func:`to_int8` rounds (so clamping then rounding equals rounding then clamping)."""
    if bound is None:
        return -QMAX if lower else QMAX
    return int(to_int8(np.asarray(bound, np.float64), scale))


def requantize_int(
    acc: np.ndarray, m0: np.ndarray, shift: np.ndarray, qmin: int = -QMAX, qmax: int = QMAX
) -> np.ndarray:
    """int32 accumulators to int8 codes: clamp(acc * M, qmin, qmax), integers only."""
    return np.clip(multiply_by_quantized_multiplier(acc, m0, shift), qmin, qmax).astype(np.int8)


def rescale_sum(
    terms: list[tuple[np.ndarray, float]], qmin: int = -QMAX, qmax: int = QMAX
) -> np.ndarray:
    """sum_i q_i * r_i (int8 ``q_i`` rescaled by real ``r_i`` = s_i / s_out) as int8 codes, in
    integers only: each term is (q_i << HOST_FRAC_BITS) times its quantized multiplier, the sum
    is divided by 2^HOST_FRAC_BITS rounding half away from zero, then clamped."""
    total = np.zeros((), np.int64)
    for q, r in terms:
        m0, shift = quantize_multiplier(r)
        total = total + multiply_by_quantized_multiplier(
            np.asarray(q, np.int64) << HOST_FRAC_BITS, m0, shift
        )
    out = rounding_divide_by_pot(total, np.int64(HOST_FRAC_BITS))
    return np.clip(out, qmin, qmax).astype(np.int8)
