"""The integer network against torch: the float walk equals the model, the integer reference
equals the fake-quantized torch forward layer by layer, unsupported layers are named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from systolic.errors import LoweringError
from systolic.lowering.from_torch import (
    build_quantnet,
    fake_quant_forward,
    float_forward,
    quantnet_scales,
)
from systolic.lowering.quant import quantize_layer
from systolic.models.network import (
    GemmLayer,
    exact_gemm,
    predictions,
    run,
)
from systolic.models.quant import QMAX

from .conftest import SPECS, images, random_model


@pytest.mark.parametrize("family", SPECS)
def test_float_walk_equals_model(family: str) -> None:
    model = random_model(family)
    x = images(5)
    with torch.no_grad():
        want = model(x).double()
    assert torch.allclose(float_forward(model, x), want, atol=1e-5)


@pytest.mark.parametrize("family", SPECS)
def test_integer_reference_equals_fake_quant_layer_by_layer(family: str) -> None:
    model = random_model(family, seed=3)
    net = build_quantnet(model, images(64, 2), family)
    x = images(16)
    fq_trace: dict[str, torch.Tensor] = {}
    fq = fake_quant_forward(model, x, quantnet_scales(net), fq_trace)
    int_trace: dict = {}
    logits = run(net, net.quantize_input(x.numpy()), trace=int_trace)
    compared = 0
    for name, t in fq_trace.items():
        if name == "input":
            continue
        got = int_trace[name]
        codes = np.rint(t.numpy() / got.scale).astype(np.int64)
        # The same int8 codes at every requantization point, but for a rare code one apart:
        # the integer network multiplies by M0 * 2^-(31+shift) and rounds ties away from zero
        # (as hardware does), the fake-quant forward by the float scale ratio, ties to even.
        diff = np.abs(codes - got.q.astype(np.int64))
        assert diff.max() <= 1 and diff.mean() < 1e-3, name
        compared += 1
    assert compared >= 3
    assert np.abs(logits.real() - fq.numpy()).max() <= 0.05 * np.abs(fq.numpy()).max()
    assert np.array_equal(predictions(logits), fq.numpy().argmax(1))


def test_requantization_points_are_int8_and_relu_clamps() -> None:
    model = random_model("plain")
    net = build_quantnet(model, images(64, 2), "plain")
    trace: dict = {}
    run(net, net.quantize_input(images(8).numpy()), trace=trace)
    for layer in net.layers:
        t = trace[layer.dst]
        if layer.out_scale is None:
            assert t.scale is None
            continue
        assert t.q.dtype == np.int8 and np.abs(t.q).max() <= QMAX
        if layer.relu:
            assert t.q.min() >= 0


def test_grouped_layers_lower_to_one_gemm_per_group() -> None:
    model = random_model("shuffle-g3")
    net = build_quantnet(model, images(32, 2), "shuffle")
    groups: dict[str, list] = {}

    def record(layer, g, a, b):
        groups.setdefault(layer.name, []).append((a.shape, b.shape))
        return exact_gemm(layer, g, a, b)

    run(net, net.quantize_input(images(2).numpy()), record)
    assert len(groups["units.0.conv1"]) == 3  # grouped 1x1: 3 GEMMs of (M, 2) x (2, 2)
    assert groups["units.0.conv1"][0] == ((2 * 64, 2), (2, 2))
    assert len(groups["units.0.dw"]) == 6  # depthwise: one M x 9 x 1 GEMM per channel
    assert groups["units.0.dw"][0] == ((2 * 64, 9), (9, 1))
    assert len(groups["stem"]) == 1


def test_bias_of_an_almost_empty_channel_still_fits_int32() -> None:
    w = np.zeros((2, 3, 3, 3))
    w[0] = 1e-12  # a channel that pruning left almost constant
    w[1] = 0.5
    b = np.array([5.0, 0.1])
    qw, qb = quantize_layer(w, b, s_a=1e-3)
    assert np.abs(qb).max() < 2**31
    assert qw.q[0].max() == 0  # its tiny weights round to zero on the coarser scale
    assert np.isclose(qb[1] * 1e-3 * qw.scale[1], 0.1, rtol=1e-3)


def test_accumulator_overflow_is_an_error() -> None:
    layer = GemmLayer(
        "big",
        "linear",
        "x",
        "y",
        np.full((1, 1), 127, np.int8),
        np.ones(1),
        np.zeros(1, np.int32),
        1.0,
        None,
    )
    a = np.full((1, 140_000), 127, np.int8)
    with pytest.raises(LoweringError, match="big: a dot product overflows"):
        exact_gemm(layer, 0, a, np.full((140_000, 1), 127, np.int8))


def test_unsupported_layers_are_named() -> None:
    """What the hand-written walks refused: an attached AutoPruner gate (a sigmoid that is not an
    SE gate) and a reflect-padded conv are still one line naming the place; an Identity shuffle,
    a ceil_mode pool and a bare Sequential now lower through the traced path."""
    model = random_model("plain")
    model.stages[1].gate = nn.Sigmoid()
    with pytest.raises(LoweringError, match=r"in stages\.1\.gate: a sigmoid other than an SE"):
        build_quantnet(model, images(4), "x")
    model = random_model("plain")
    model.stages[0].conv.padding_mode = "reflect"
    with pytest.raises(LoweringError, match=r"in stages\.0\.conv: padding mode 'reflect'"):
        build_quantnet(model, images(4), "x")
    model = random_model("shuffle-g3")
    model.units[0].shuffle = nn.Identity()
    build_quantnet(model, images(4), "x")
    model = random_model("plain")
    model.stages[1].pool = nn.MaxPool2d(2, ceil_mode=True)
    build_quantnet(model, images(4), "x")
    build_quantnet(nn.Sequential(nn.Conv2d(1, 2, 3)), images(4), "x")


def test_input_shape_is_checked() -> None:
    net = build_quantnet(random_model("plain"), images(16, 2), "plain")
    with pytest.raises(LoweringError, match="takes N x 1x8x8 images"):
        net.quantize_input(np.zeros((2, 1, 7, 7)))
