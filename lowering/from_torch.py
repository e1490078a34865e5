"""From a trained (pruned) torch model to a :class:`~systolic.models.network.QuantNet`.

A thin layer over the one lowering, :mod:`systolic.lowering.graph` (trace with torch.fx, fold
BN, calibrate, quantize): the project's digits families go through the same traced path as any
user model. The names here are the ones the end-to-end flow has always used.
"""

from __future__ import annotations

import torch
from torch import nn

from systolic.lowering import graph as g
from systolic.models.network import QuantNet


def build_quantnet(
    model: nn.Module, calib: torch.Tensor, name: str = "model", calibration: str = "maxabs"
) -> QuantNet:
    """Trace ``model`` on one of the ``calib`` images, calibrate on all of them, quantize."""
    return g.lower_module(model, calib[:1], calib, name, calibration)


def float_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The lowered graph of ``model`` without quantization (equals ``model(x)`` up to rounding)."""
    return g.float_forward(g.build_graph(model, x[:1]), x)


def fake_quant_forward(
    model: nn.Module,
    x: torch.Tensor,
    scales: dict[str, float],
    trace: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The fake-quantized float64 forward of ``model``'s lowered graph at ``scales`` (see
    :func:`systolic.lowering.graph.fake_quant_forward`); ``trace`` receives every
    requantization point's values by name."""
    graph = g.build_graph(model, x[:1])
    return g.fake_quant_forward(graph, x, scales, trace)


def quantnet_scales(net: QuantNet) -> dict[str, float]:
    """Every requantization point's scale in ``net`` (for :func:`fake_quant_forward`)."""
    out = {"input": net.input_scale}
    out.update({op.dst: op.out_scale for op in net.ops if op.out_scale is not None})
    return out
