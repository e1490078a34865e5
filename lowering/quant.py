"""Symmetric int8 quantization with zero-point 0 (Jacob et al. 2018; gemmlowp).

Weights: per output channel, s_w = max|W| / 127, q = clamp(round(W / s_w), -127, 127).
Activations: one scale per tensor from calibration, s_a = max|x| / 127, zero-point 0 (after a
ReLU they are non-negative: 0..127, still signed int8 operands for the array).
Accumulation: int32, acc = sum(q_a * q_w) + q_b with q_b = round(b / (s_a * s_w)).
Requantization: q_y = clamp(round(acc * s_a * s_w / s_y), lo, hi); lo = 0 folds the ReLU in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from systolic.errors import LoweringError
from systolic.models.quant import BIAS_MAX, QMAX, quantize_bias, to_int8


@dataclass(frozen=True)
class QuantWeight:
    """int8 weights (out channels first) with one scale per output channel."""

    q: np.ndarray  # int8, shape like the float weight
    scale: np.ndarray  # float64, (out_channels,)

    def dequantize(self) -> np.ndarray:
        shape = (-1,) + (1,) * (self.q.ndim - 1)
        return self.q.astype(np.float64) * self.scale.reshape(shape)


def quantize_weight(
    weight: torch.Tensor | np.ndarray, min_scale: np.ndarray | None = None
) -> QuantWeight:
    """Per-output-channel symmetric int8; an all-zero channel gets scale 1 (its q is all 0).
    ``min_scale``: a per-channel lower bound on the scale (see :func:`quantize_layer`)."""
    w = np.asarray(
        weight.detach().cpu().numpy() if isinstance(weight, torch.Tensor) else weight,
        dtype=np.float64,
    )
    if not np.isfinite(w).all():
        raise LoweringError("weights hold NaN or infinity")
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scale = np.where(amax > 0, amax / QMAX, 1.0)
    if min_scale is not None:
        scale = np.maximum(scale, np.asarray(min_scale, np.float64))
    q = np.clip(np.rint(w / scale.reshape((-1,) + (1,) * (w.ndim - 1))), -QMAX, QMAX)
    return QuantWeight(q.astype(np.int8), scale)


def activation_scale(samples: torch.Tensor | np.ndarray) -> float:
    """Per-tensor scale of a calibration batch: max|x| / 127 (1.0 for an all-zero batch)."""
    x = np.asarray(
        samples.detach().cpu().numpy() if isinstance(samples, torch.Tensor) else samples,
        dtype=np.float64,
    )
    if not np.isfinite(x).all():
        raise LoweringError("calibration activations hold NaN or infinity")
    amax = float(np.abs(x).max()) if x.size else 0.0
    return amax / QMAX if amax > 0 else 1.0


def quantize_activation(x: torch.Tensor | np.ndarray, scale: float) -> np.ndarray:
    """int8 activations with zero-point 0: clamp(round(x / s), -127, 127)."""
    return to_int8(
        np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x), scale
    )


def quantize_layer(
    weight: torch.Tensor | np.ndarray, bias: torch.Tensor | np.ndarray, s_a: float
) -> tuple[QuantWeight, np.ndarray]:
    """Weights per output channel and the bias in the accumulator's scale, for input scale
    ``s_a``. A channel whose weights are tiny next to its bias (a pruned-away channel that BN
    folding left almost constant) gets a coarser weight scale, so that its bias fits in int32:
    s_w >= |b| / (s_a * 2^30)."""
    b = np.asarray(
        bias.detach().cpu().numpy() if isinstance(bias, torch.Tensor) else bias, dtype=np.float64
    )
    qw = quantize_weight(weight, np.abs(b) / (s_a * BIAS_MAX))
    return qw, quantize_bias(b, s_a, qw.scale)
