"""The torch.export path of the one front end (docs/lowering.md, "Tracing"): an ATen graph (a
model fx cannot trace, or a saved ``.pt2`` program, decomposed or not) lowers to the same
integer network as the fx graph of the same model, and a model neither tracer can follow is
one quiet line naming both."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from systolic.errors import LoweringError
from systolic.lowering.graph import fake_quant_check, lower
from systolic.models.network import run

from .test_graph import _everything, _images


def _torchvision_model(name: str) -> nn.Module:
    from systolic.lowering.vision import import_torchvision

    try:
        tv = import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")
    torch.manual_seed(0)
    return getattr(tv.models, name)(num_classes=10).eval()  # type: ignore[no-any-return]


def _exported(model: nn.Module, x: torch.Tensor, decomposed: bool) -> torch.fx.GraphModule:
    ep = torch.export.export(model, (x,), strict=False)
    return (ep.run_decompositions() if decomposed else ep).module()  # type: ignore[return-value]


def _integer_logits(lowered, x: torch.Tensor) -> np.ndarray:  # type: ignore[no-untyped-def]
    return run(lowered.net, lowered.net.quantize_input(x.numpy())).q


MODELS = {
    "everything": lambda: _everything(0),
    "resnet18": lambda: _torchvision_model("resnet18"),
    "shufflenet_v2_x0_5": lambda: _torchvision_model("shufflenet_v2_x0_5"),
}


@pytest.mark.parametrize("decomposed", [False, True], ids=["aten", "decomposed"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_export_graph_lowers_to_the_fx_graphs_network(name: str, decomposed: bool) -> None:
    """Same GEMM layers (names, kinds, geometry, weights), same scales, same integer logits."""
    model = MODELS[name]()
    x = _images(4, 3)
    by_fx = lower(model, x[:1], x, name)
    by_export = lower(_exported(model, x[:1], decomposed), x[:1], x, name)
    a, b = by_fx.net.layers, by_export.net.layers
    assert [(g.name, g.kind, g.geometry) for g in a] == [(g.name, g.kind, g.geometry) for g in b]
    assert all(np.array_equal(g.weight, h.weight) for g, h in zip(a, b, strict=True))
    assert sorted(by_fx.scales.values()) == sorted(by_export.scales.values())
    assert np.array_equal(_integer_logits(by_fx, x), _integer_logits(by_export, x))


class _ShapeBranch(nn.Module):
    """Python control flow on a shape: torch.fx cannot follow it, torch.export fixes it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.extra = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn(self.conv(x)))
        for _ in range(x.size(1) - 2):  # once for 3 channels
            y = y + self.extra(y)
        if y.shape[-1] > 8:
            y = F.max_pool2d(y, 2)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def test_a_model_fx_cannot_trace_lowers_through_export() -> None:
    model = _ShapeBranch().eval()
    x = _images(6, 4)
    with pytest.raises((TypeError, torch.fx.proxy.TraceError)):
        torch.fx.symbolic_trace(model)
    lowered = lower(model, x[:1], x, "branch")
    assert [g.name for g in lowered.net.layers] == ["conv", "extra", "fc"]
    check = fake_quant_check(lowered, x)
    assert check.ok and check.prediction_agreement == 1.0, check


class _DataBranch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x
        return -x


def test_a_model_neither_can_trace_is_one_quiet_line(capfd: pytest.CaptureFixture[str]) -> None:
    """torch.export prints the partial graph of a failed export to stderr and logs guard
    warnings: none of it may reach the user; the one line names both tracers."""
    x = _images(2)
    with pytest.raises(LoweringError) as info:
        lower(_DataBranch(), x[:1], x, "bad")
    text = str(info.value)
    assert "\n" not in text and len(text) < 500, text
    assert "cannot trace _DataBranch with torch.fx (" in text
    assert "or torch.export (GuardOnDataDependentSymNode: " in text
    assert text.endswith("data-dependent control flow or dynamic shapes are not supported")
    out = capfd.readouterr()
    assert out.out == "" and out.err == "", out


def test_an_aten_operator_without_a_rule_names_its_node() -> None:
    class Up(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(3, 4, 2, stride=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(x)

    x = _images(2)
    with pytest.raises(LoweringError) as info:
        lower(_exported(Up().eval(), x[:1], False), x[:1], x, "up")
    assert str(info.value).startswith(
        "node conv_transpose2d (call_function torch._ops.aten.conv_transpose2d.input) in up: "
        "this operation is not supported"
    ), info.value


def test_a_model_that_does_not_run_on_the_example_is_named_before_export() -> None:
    """fx fails on the shape branch; the input has one channel where the conv takes three:
    the line says so (not an export error)."""
    x = torch.zeros(2, 1, 16, 16)
    with pytest.raises(LoweringError, match=r"does not run on an input of shape \(1, 1, 16, 16\)"):
        lower(_ShapeBranch().eval(), x[:1], x, "branch")
