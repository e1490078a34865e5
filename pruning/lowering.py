"""Lowering conv and linear layers to GEMM shapes (M, K, N), plus parameter and MAC counts.

Rules: a conv runs as the GEMMs of ``models.im2col.conv_gemm_shape`` (g GEMMs of M = B*H_o*W_o,
K = C_in/g*kh*kw, N = C_out/g; a depthwise conv is C GEMMs of M x k^2 x 1), applied to the input
each layer really sees in a forward pass, so pooling needs no separate bookkeeping; a linear
layer with input (..., in_features) is one GEMM of M = (product of leading dims),
K = in_features, N = out_features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from systolic.errors import LoweringError
from systolic.models.im2col import ConvGeometry, conv_gemm_shape


@dataclass(frozen=True)
class LayerGemm:
    """The GEMMs of one layer: ``count`` identical GEMMs of M x K x N (count = groups)."""

    layer: str
    kind: str  # "conv", "grouped-conv", "depthwise-conv" or "linear"
    M: int
    K: int
    N: int
    count: int = 1

    @property
    def macs(self) -> int:
        return self.count * self.M * self.K * self.N

    def as_dict(self) -> dict[str, int | str]:
        return {**asdict(self), "macs": self.macs}


def _conv_gemm(name: str, conv: nn.Conv2d, x: torch.Tensor) -> LayerGemm:
    b, c_in, h, w = x.shape
    g, c_out = conv.groups, conv.out_channels
    if g == 1:
        kind = "conv"
    elif g == c_in and c_out == c_in:
        kind = "depthwise-conv"
    else:
        kind = "grouped-conv"
    if isinstance(conv.padding, str):
        raise LoweringError(f"{name}: padding={conv.padding!r} is not supported (give numbers)")
    geo = ConvGeometry(
        _pair(conv.kernel_size), _pair(conv.stride), _pair(conv.padding), _pair(conv.dilation), g
    )
    s = conv_gemm_shape(geo, b, c_in, c_out, h, w)
    return LayerGemm(name, kind, s.m, s.k, s.n, s.count)


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def gemm_shapes(model: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> list[LayerGemm]:
    """Every conv/linear layer of ``model`` (in execution order) as GEMMs, for a batch of
    ``batch`` inputs of shape ``input_shape`` (C x H x W)."""
    return layer_gemms(model, torch.zeros(batch, *input_shape))


def layer_gemms(model: nn.Module, example: torch.Tensor) -> list[LayerGemm]:
    """Every conv/linear layer of ``model`` (in execution order) as GEMMs, for the input batch
    ``example`` (one forward pass in eval mode, no gradients)."""
    found: list[LayerGemm] = []
    handles = []

    def hook(name: str):
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            if isinstance(module, nn.Conv2d):
                found.append(_conv_gemm(name, module, inputs[0]))
            else:
                assert isinstance(module, nn.Linear)  # hooked on Conv2d and Linear layers only
                x = inputs[0]
                found.append(
                    LayerGemm(
                        name, "linear", x.numel() // x.shape[-1], x.shape[-1], module.out_features
                    )
                )

        return record

    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            handles.append(module.register_forward_hook(hook(name)))
    hooked_forward(model, example, handles)
    return found


def hooked_forward(model: nn.Module, example: torch.Tensor, handles: list[Any]) -> None:
    """One forward pass of ``example`` in eval mode without gradients, for the forward hooks
    ``handles`` to record what they see; the hooks are removed and the model's mode restored
    afterwards, whatever happens."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)


def expand_gemms(layers: list[LayerGemm]) -> list[tuple[str, int, int, int]]:
    """One (name, M, K, N) row per GEMM: a grouped conv becomes ``name[g]`` for every group."""
    rows = []
    for lg in layers:
        if lg.count == 1:
            rows.append((lg.layer, lg.M, lg.K, lg.N))
        else:
            rows.extend((f"{lg.layer}[{g}]", lg.M, lg.K, lg.N) for g in range(lg.count))
    return rows


def total_macs(layers: list[LayerGemm]) -> int:
    """Multiply-accumulates of one forward pass (sum over all GEMMs of M*K*N)."""
    return sum(lg.macs for lg in layers)


def count_params(model: nn.Module) -> int:
    """Learnable parameters (BN running statistics are buffers and not counted)."""
    return sum(p.numel() for p in model.parameters())
