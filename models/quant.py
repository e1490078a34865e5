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
