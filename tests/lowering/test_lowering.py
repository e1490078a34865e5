"""Lowering against torch: im2col GEMMs equal conv2d (padding, stride, dilation, groups), linear,
BN folding equals torch's own fusion and the eval-mode forward, int8 quantization bounds."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from systolic.errors import LoweringError
from systolic.lowering.fold import fold_bn, fold_conv_bn
from systolic.lowering.quant import activation_scale, quantize_activation, quantize_weight
from systolic.models.im2col import (
    ConvGeometry,
    conv_gemms,
    gemm_outputs_to_nchw,
    im2col,
    linear_gemm,
)
from systolic.models.quant import QMAX, quantize_bias, requantize

CONVS = [
    # (c_in, c_out, k, stride, padding, dilation, groups, h, w)
    (3, 8, 3, 1, 1, 1, 1, 8, 8),
    (4, 6, 3, 2, 1, 1, 2, 9, 7),
    (6, 6, 3, 1, 2, 2, 6, 8, 8),  # depthwise, dilated
    (8, 4, 1, 1, 0, 1, 4, 5, 5),  # grouped 1x1
    (2, 5, (3, 2), (2, 1), (0, 1), (1, 2), 1, 7, 6),
    (1, 16, 3, 1, 1, 1, 1, 8, 8),  # the digits CNN's first layer
]


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("cfg", CONVS)
def test_conv_as_gemms_equals_torch(cfg) -> None:
    c_in, c_out, k, s, p, d, g, h, w = cfg
    torch.manual_seed(0)
    x = torch.randint(-8, 8, (2, c_in, h, w)).double()
    conv = nn.Conv2d(c_in, c_out, k, s, p, d, g, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.randint(-8, 8, conv.weight.shape).double())
    want = conv(x).detach().numpy()
    geo = ConvGeometry(_pair(k), _pair(s), _pair(p), _pair(d), g)
    pairs = conv_gemms(x.numpy(), conv.weight.detach().numpy(), geo)
    assert len(pairs) == g
    ho, wo = geo.output_size(h, w)
    assert (ho, wo) == want.shape[2:]
    m, kk, n = pairs[0][0].shape[0], pairs[0][0].shape[1], pairs[0][1].shape[1]
    assert (m, kk, n) == (2 * ho * wo, c_in // g * geo.kernel[0] * geo.kernel[1], c_out // g)
    got = gemm_outputs_to_nchw([a @ b for a, b in pairs], 2, ho, wo)
    assert np.array_equal(got, want)


def test_im2col_matches_unfold_column_order() -> None:
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float64).reshape(2, 3, 5, 5)
    geo = ConvGeometry((3, 3), (1, 1), (1, 1), (1, 1))
    unfold = F.unfold(x, 3, padding=1).transpose(1, 2).reshape(-1, 27).numpy()
    assert np.array_equal(im2col(x.numpy(), geo), unfold)


def test_block_diagonal_dense_equals_groups() -> None:
    """A grouped conv equals a dense conv whose weight is block diagonal (part-pruning)."""
    torch.manual_seed(1)
    conv = nn.Conv2d(8, 8, 1, groups=4, bias=False).double()
    dense = torch.zeros(8, 8, 1, 1, dtype=torch.float64)
    for j in range(4):
        dense[2 * j : 2 * j + 2, 2 * j : 2 * j + 2] = conv.weight[2 * j : 2 * j + 2].detach()
    x = torch.randn(1, 8, 4, 4, dtype=torch.float64)
    assert torch.allclose(F.conv2d(x, dense), conv(x))
    zeros = (dense == 0).double().mean().item()
    assert zeros == pytest.approx(1 - 1 / 4)


def test_linear_gemm() -> None:
    lin = nn.Linear(6, 4).double()
    x = torch.randn(3, 6, dtype=torch.float64)
    a, b = linear_gemm(x.numpy(), lin.weight.detach().numpy())
    assert np.allclose(a @ b + lin.bias.detach().numpy(), lin(x).detach().numpy())


def test_bn_folding_equals_torch_and_forward() -> None:
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 5, 3, padding=1).double().eval()
    bn = nn.BatchNorm2d(5).double().eval()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(-2, 2)
        bn.bias.uniform_(-1, 1)
    w, b = fold_bn(conv.weight, conv.bias, bn)
    tw, tb = fuse_conv_bn_weights(
        conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    assert torch.allclose(w, tw) and torch.allclose(b, tb)
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    assert torch.allclose(fold_conv_bn(conv, bn)(x), bn(conv(x)))


def test_bn_channel_mismatch_is_refused() -> None:
    with pytest.raises(LoweringError, match="batch norm has 4 channels"):
        fold_bn(torch.zeros(5, 3, 3, 3), None, nn.BatchNorm2d(4).eval())


def test_weight_quantization_per_channel() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(6, 3, 3, 3)) * np.arange(1, 7)[:, None, None, None]
    w[2] = 0.0
    qw = quantize_weight(w)
    assert qw.q.dtype == np.int8 and np.abs(qw.q).max() == QMAX
    assert np.all(np.abs(qw.q.reshape(6, -1)).max(axis=1)[[0, 1, 3, 4, 5]] == QMAX)
    assert not qw.q[2].any() and qw.scale[2] == 1.0
    err = np.abs(qw.dequantize() - w)
    assert np.all(err <= qw.scale.reshape(-1, 1, 1, 1) / 2 + 1e-12)


def test_activation_quantization_and_requantization() -> None:
    rng = np.random.default_rng(4)
    x = np.abs(rng.normal(size=(4, 10)))
    s_a = activation_scale(x)
    q = quantize_activation(x, s_a)
    assert q.min() >= 0 and q.max() == QMAX
    w = rng.normal(size=(3, 10))
    qw = quantize_weight(w)
    bias = rng.normal(size=3)
    acc = q.astype(np.int64) @ qw.q.T.astype(np.int64) + quantize_bias(bias, s_a, qw.scale)
    real = x @ w.T + bias
    s_y = activation_scale(np.maximum(real, 0))
    y = requantize(acc, s_a, qw.scale, s_y, relu=True)
    assert y.min() >= 0
    assert np.abs(y * s_y - np.maximum(real, 0)).max() < 4 * s_y  # a few LSBs of error
    assert requantize(np.array([[-(10**6)]]), 1.0, np.array([1.0]), 1.0, relu=False)[0, 0] == -QMAX


def test_bad_inputs() -> None:
    with pytest.raises(LoweringError, match="NaN"):
        quantize_weight(np.array([[np.nan]]))
    with pytest.raises(LoweringError, match="does not fit"):
        ConvGeometry((5, 5)).output_size(3, 3)
    with pytest.raises(LoweringError, match="groups"):
        conv_gemms(np.zeros((1, 3, 4, 4)), np.zeros((4, 1, 1, 1)), ConvGeometry((1, 1), groups=2))
    with pytest.raises(LoweringError, match="B x C x H x W"):
        im2col(np.zeros((3, 4, 4)), ConvGeometry((1, 1)))
