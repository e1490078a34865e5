"""Batch-norm folding: an eval-mode conv (or linear) followed by BN becomes one layer with bias.

W' = W * gamma / sqrt(var + eps) per output channel;
b' = (b - mean) * gamma / sqrt(var + eps) + beta.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from systolic.errors import LoweringError


def fold_bn(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d | nn.BatchNorm1d
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode batch norm into the preceding layer's weight (out channels first)."""
    if bn.running_mean is None or bn.running_var is None:
        raise LoweringError("batch norm without running statistics cannot be folded")
    if weight.shape[0] != bn.num_features:
        raise LoweringError(
            f"batch norm has {bn.num_features} channels, the layer has {weight.shape[0]} outputs"
        )
    gamma = bn.weight if bn.affine else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.affine else torch.zeros_like(bn.running_var)
    scale = gamma / torch.sqrt(bn.running_var + bn.eps)
    b = bias if bias is not None else torch.zeros_like(bn.running_mean)
    shape = (-1,) + (1,) * (weight.dim() - 1)
    return (weight * scale.reshape(shape)).detach(), ((b - bn.running_mean) * scale + beta).detach()


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new conv equal to ``bn(conv(x))`` in eval mode."""
    w, b = fold_bn(conv.weight, conv.bias, bn)
    # torch types a conv's geometry as tuple[int, ...]: a Conv2d's are int pairs.
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        cast("tuple[int, int]", conv.kernel_size),
        cast("tuple[int, int]", conv.stride),
        cast("str | tuple[int, int]", conv.padding),
        cast("tuple[int, int]", conv.dilation),
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        dtype=conv.weight.dtype,
    )
    with torch.no_grad():
        fused.weight.copy_(w)
        assert fused.bias is not None  # made with bias=True
        fused.bias.copy_(b)
    return fused.eval()
