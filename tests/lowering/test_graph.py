"""The traced lowering on a hand-written CNN with every supported construct (32x32 input): the
lowered graph equals the model, the integer network equals the fake-quant forward, GEMM shapes
are the model's im2col shapes, the workload file keeps every new operation, and each class of
unsupported input is one LoweringError line naming the node, its op and its place."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from systolic.errors import LoweringError
from systolic.lowering.graph import (
    build_graph,
    fake_quant_check,
    fake_quant_forward,
    float_forward,
    lower,
    lower_module,
)
from systolic.models.im2col import ConvGeometry, conv_gemm_shape
from systolic.models.network import HostOp, exact_gemm, run

from .conftest import randomize_bn


class Block(nn.Module):
    """conv-BN-ReLU6, depthwise conv-BN, residual add, ReLU."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.pw = nn.Conv2d(c, c, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.dw = nn.Conv2d(c, c, 3, stride=1, padding=2, dilation=2, groups=c, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.bn1(self.pw(x)))
        return torch.relu(x + self.bn2(self.dw(y)))


class Everything(nn.Module):
    """Residual add, depthwise conv, concat, channel shuffle, split/chunk, odd pools, adaptive
    pool, clamp/hardtanh, flatten by view, dropout and identity, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.block = Block(8)
        self.branch = nn.Conv2d(4, 4, (3, 1), padding=(1, 0))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.grouped = nn.Conv2d(8, 12, 1, groups=4)
        self.gap = nn.AdaptiveAvgPool2d((2, 3))
        self.drop = nn.Dropout(0.5)
        self.ident = nn.Identity()
        self.fc = nn.Linear(12 * 6, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.hardtanh(self.bn(self.stem(x)), -2.0, 3.0)
        x = self.block(x)
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, self.branch(b).clamp(min=0.0)), dim=1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        x = self.pool(x)
        p, q = torch.split(x, [3, 5], dim=1)
        x = torch.cat([q, p], 1)
        x = F.avg_pool2d(x, 3, 1, 1) + self.avg(x)
        x = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True)
        x = self.grouped(self.ident(x)).relu()
        x = self.drop(self.gap(x))
        return self.fc(x.view(x.size(0), -1))


def _randomize(model: nn.Module, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return randomize_bn(model)


def _everything(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return _randomize(Everything(), seed)


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, 3, 32, 32)).astype("f4"))


@pytest.fixture(scope="module")
def lowered():  # type: ignore[no-untyped-def]
    model = _everything(0)
    x = _images(16)
    return model, x, lower(model, x[:1], x, "everything")


def test_lowered_graph_equals_the_model(lowered) -> None:  # type: ignore[no-untyped-def]
    model, x, lw = lowered
    with torch.no_grad():
        want = copy.deepcopy(model).double()(x.double())
    assert torch.allclose(float_forward(lw.graph, x), want, atol=1e-9)
    ops = {n.op for n in lw.graph.nodes}
    assert {"gemm", "add", "cat", "channels", "maxpool", "avgpool", "adaptive_avgpool"} <= ops
    # The shuffle written as view/transpose/view is one channel permutation.
    perms = [n.attrs["index"] for n in lw.graph.nodes if n.op == "channels"]
    assert (0, 4, 1, 5, 2, 6, 3, 7) in perms
    # BN folded (no node of its own), dropout and identity gone, clamps fused into the producer.
    names = [n.name for n in lw.graph.nodes]
    assert not any(k in name for name in names for k in ("bn", "drop", "ident"))
    stem = lw.graph.nodes[0]
    assert (stem.lo, stem.hi) == (-2.0, 3.0)


def test_integer_network_equals_fake_quant(lowered) -> None:  # type: ignore[no-untyped-def]
    _, x, lw = lowered
    check = fake_quant_check(lw, x)
    assert check.ok and check.prediction_agreement == 1.0
    assert check.max_abs_logit_diff <= check.tolerance
    # Layer by layer: the same int8 codes at every requantization point, but for a value on a
    # tie (x.5), which the integer network rounds away from zero and torch to even.
    fq_trace: dict[str, torch.Tensor] = {}
    fake_quant_forward(lw.graph, x, lw.scales, fq_trace)
    it: dict = {}
    run(lw.net, lw.net.quantize_input(x.numpy()), trace=it)
    assert len(fq_trace) >= 10
    for name, t in fq_trace.items():
        got = it[name]
        diff = np.abs(np.rint(t.numpy() / got.scale) - got.q.astype(np.float64))
        assert diff.max() <= 1 and diff.mean() < 1e-3, name


def test_gemm_shapes_are_the_models_im2col(lowered) -> None:  # type: ignore[no-untyped-def]
    model, x, lw = lowered
    want = []

    def hook(mod, inp, _out):  # type: ignore[no-untyped-def]
        t = inp[0]
        if isinstance(mod, nn.Conv2d):
            geo = ConvGeometry(mod.kernel_size, mod.stride, mod.padding, mod.dilation, mod.groups)
            s = conv_gemm_shape(geo, t.shape[0], mod.in_channels, mod.out_channels, *t.shape[2:])
            want.append([(s.m, s.k, s.n)] * s.count)
        else:
            want.append([(t.shape[0], mod.in_features, mod.out_features)])

    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(x[:2])
    got: dict[str, list] = {}

    def record(layer, g, a, b):  # type: ignore[no-untyped-def]
        got.setdefault(layer.name, []).append((a.shape[0], a.shape[1], b.shape[1]))
        return exact_gemm(layer, g, a, b)

    run(lw.net, lw.net.quantize_input(x[:2].numpy()), record)
    assert list(got.values()) == want


def test_new_operations_survive_the_workload_file(lowered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from systolic.engine.workload import build_workload, load_workload, reference_run, save_workload

    _, x, lw = lowered
    wl = build_workload(lw.net, x[:3].numpy(), np.arange(3))
    back = load_workload(save_workload(wl, tmp_path / "every.npz"))
    assert [op.op for op in back.net.ops] == [op.op for op in lw.net.ops]
    for got, want in zip(back.net.ops, lw.net.ops, strict=True):
        if isinstance(want, HostOp):
            assert got == want
        else:
            assert (got.lo, got.hi, got.geometry) == (want.lo, want.hi, want.geometry)
    assert np.array_equal(reference_run(back).real(), wl.logits)


def test_percentile_calibration_is_no_wider_than_maxabs() -> None:
    model = _everything(1)
    x = _images(8, 2)
    a = lower(model, x[:1], x, "m", "maxabs").scales
    b = lower(model, x[:1], x, "m", "percentile").scales
    assert a.keys() == b.keys() and all(b[k] <= a[k] * (1 + 1e-12) for k in a)
    assert any(b[k] < a[k] for k in a)


class _If(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x
        return -x


class _Loop(nn.Module):
    """A loop whose count is data: neither torch.fx nor torch.export can fix it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(int(x.abs().sum() > 0)):
            x = x + x
        return x


def _seq(*mods: nn.Module) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), *mods).eval()


class _Fn(nn.Module):
    def __init__(self, fn) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.conv(x))


BAD = {
    "unsupported module": (_seq(nn.GELU()), r"node _1 \(call_module 1\) in 1: module GELU"),
    "unsupported function": (
        _Fn(torch.sin),
        r"node sin \(call_function torch\.sin\) in the model's forward: this operation",
    ),
    "product of tensors": (_Fn(lambda t: t * t), r"node mul .* a product other than an SE gate"),
    "free sigmoid": (
        _seq(nn.ReLU(), nn.Sigmoid()),
        r"node _2 \(call_module 2\) in 2: a sigmoid other than",
    ),
    "spatial transpose": (_Fn(lambda t: t.transpose(2, 3).relu()), "neither a reshape nor"),
    "cat along width": (_Fn(lambda t: torch.cat([t, t], 3)), "concatenation along a dimension"),
    "broadcast add": (_Fn(lambda t: t + t[:, :1]), "an add with broadcasting"),
    "constant add": (_Fn(lambda t: t + 1.0), "only the sum of two computed tensors"),
    "reflect padding": (
        _seq(nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")),
        "padding mode",
    ),
    "dilated max-pool": (_seq(nn.MaxPool2d(2, dilation=2)), "max pooling with dilation"),
    "control flow": (_If(), r"cannot trace _If with torch\.fx .*control flow"),
    "data-dependent loop": (_Loop(), r"cannot trace _Loop with torch\.fx .* or torch\.export"),
    "wrong input shape": (
        nn.Conv2d(1, 4, 3).eval(),
        r"does not run on an input of shape \(1, 3, 32",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_unsupported_is_one_line(case: str) -> None:
    model, needle = BAD[case]
    x = _images(2)
    with pytest.raises(LoweringError) as info:
        lower_module(model, x[:1], x, "bad")
    text = str(info.value)
    assert "\n" not in text and len(text) < 400, text
    assert re.search(needle, text), text


def test_bad_calibration_and_training_bn_are_one_line() -> None:
    model = _everything(0)
    with pytest.raises(LoweringError, match=r"calibration images must be N x 3x32x32"):
        lower_module(model, _images(1), torch.zeros(2, 1, 32, 32), "m")
    with pytest.raises(LoweringError, match=r"unknown calibration 'median'"):
        lower_module(model, _images(1), _images(2), "m", "median")
    with pytest.raises(LoweringError, match=r"example input must be N x C x H x W"):
        build_graph(model, torch.zeros(3, 32, 32))
