"""GEMM lowering: shapes per the rules of docs/lowering.md ("What runs where"), checked against
im2col."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.lowering import count_params, expand_gemms, gemm_shapes, total_macs
from systolic.pruning.models import DigitsCNN, ShuffleDigitsNet, ShuffleSpec, plain_spec


def test_plain_cnn_matches_the_measured_example() -> None:
    # Dense shapes measured on a digits CNN in the domain notes, batch 1.
    gemms = gemm_shapes(DigitsCNN(plain_spec((16, 32, 64))), (1, 8, 8), batch=1)
    assert [(g.layer, g.M, g.K, g.N, g.count) for g in gemms] == [
        ("stages.0.conv", 64, 9, 16, 1),
        ("stages.1.conv", 64, 144, 32, 1),
        ("stages.2.conv", 16, 288, 64, 1),
        ("head", 1, 256, 10, 1),
    ]
    assert total_macs(gemms) == 601_600


def test_batch_scales_m_only() -> None:
    model = DigitsCNN(plain_spec((16, 32, 64)))
    one, four = gemm_shapes(model, (1, 8, 8), 1), gemm_shapes(model, (1, 8, 8), 4)
    assert [(g.M * 4, g.K, g.N) for g in one] == [(g.M, g.K, g.N) for g in four]


def test_grouped_and_depthwise_rules() -> None:
    model = ShuffleDigitsNet(ShuffleSpec(channels=24, bottleneck=12, groups=3, shuffle_groups=3))
    gemms = {g.layer: g for g in gemm_shapes(model, (1, 8, 8), batch=2)}
    conv1 = gemms["units.0.conv1"]  # 24 -> 12 channels in 3 groups, 8x8, batch 2
    assert (conv1.kind, conv1.count, conv1.M, conv1.K, conv1.N) == ("grouped-conv", 3, 128, 8, 4)
    dw = gemms["units.0.dw"]  # depthwise: C GEMMs of M x k^2 x 1
    assert (dw.kind, dw.count, dw.M, dw.K, dw.N) == ("depthwise-conv", 12, 128, 9, 1)
    unit1 = gemms["units.1.conv2"]  # after the 2x2 pool: 4x4
    assert (unit1.M, unit1.K, unit1.N, unit1.count) == (32, 4, 8, 3)
    rows = expand_gemms([conv1])
    assert rows == [(f"units.0.conv1[{g}]", 128, 8, 4) for g in range(3)]
    assert total_macs([dw]) == 12 * 128 * 9


def test_conv_gemm_shape_is_the_im2col_product() -> None:
    # The reported (M, K, N) must be the shapes of the im2col GEMM that reproduces the conv.
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3, padding=1, stride=2, bias=False)
    x = torch.randn(2, 5, 9, 9)
    (g,) = gemm_shapes(nn.Sequential(conv), (5, 9, 9), batch=2)
    a = F.unfold(x, 3, padding=1, stride=2).transpose(1, 2).reshape(-1, 45)  # M x K
    b = conv.weight.reshape(7, -1).t()  # K x N
    assert a.shape == (g.M, g.K) and b.shape == (g.K, g.N)
    out = (a @ b).reshape(2, -1, 7).transpose(1, 2).reshape(2, 7, 5, 5)
    torch.testing.assert_close(out, conv(x), atol=1e-5, rtol=1e-5)


def test_params_exclude_bn_buffers() -> None:
    model = DigitsCNN(plain_spec((4,)))
    # conv 1*4*9, BN gamma+beta 2*4, head (4*8*8)*10 + 10
    assert count_params(model) == 36 + 8 + 2560 + 10
