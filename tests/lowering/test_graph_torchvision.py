"""torchvision's classification architectures (random weights, 32x32) lower through the one
traced path with no model-specific code; the integer network agrees with the fake-quant
forward (argmax identical, logits within the stated tolerance)."""

from __future__ import annotations

import pytest
import torch

from systolic.lowering.graph import fake_quant_check, lower

QUICK = ["resnet18", "squeezenet1_0"]
NIGHTLY = ["mobilenet_v2", "shufflenet_v2_x0_5"]


def _torchvision():  # type: ignore[no-untyped-def]
    try:
        from systolic.lowering.vision import import_torchvision
    except ImportError:
        pytest.skip("systolic.lowering.vision is not there")
    try:
        return import_torchvision()
    except ImportError:
        pytest.skip("torchvision is not installed")


def _check(name: str) -> None:
    tv = _torchvision()
    torch.manual_seed(0)
    model = getattr(tv.models, name)(num_classes=10).eval()
    x = torch.randn(6, 3, 32, 32)
    lowered = lower(model, x[:1], x, name)
    assert lowered.net.layers
    check = fake_quant_check(lowered, x[:4])
    assert check.prediction_agreement == 1.0, check
    assert check.max_abs_logit_diff <= check.tolerance, check


@pytest.mark.parametrize("name", QUICK)
def test_torchvision_lowers(name: str) -> None:
    _check(name)


@pytest.mark.nightly
@pytest.mark.parametrize("name", NIGHTLY)
def test_torchvision_lowers_nightly(name: str) -> None:
    _check(name)
