"""Network Slimming: the rule itself, its guards, and the cross-check against Torch-Pruning."""

from __future__ import annotations

import copy

import pytest
import torch

from systolic.pruning.errors import PruningError
from systolic.pruning.models import DigitsCNN, ShuffleDigitsNet, ShuffleSpec, plain_spec
from systolic.pruning.slimming import (
    bn_l1_subgradient,
    bn_layers,
    global_threshold,
    select_channels,
)
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import predict


def _torch_pruning_keep(model: DigitsCNN, ratio: float) -> tuple[DigitsCNN, dict[int, list]]:
    """Prune a copy with Torch-Pruning's BNScalePruner; recover each stage's kept channels by
    matching the surviving BN scale factors against the original ones (they are distinct)."""
    tp = pytest.importorskip("torch_pruning")
    pruned = copy.deepcopy(model)
    pruner = tp.pruner.BNScalePruner(
        pruned,
        example_inputs=torch.zeros(1, 1, 8, 8),
        importance=tp.importance.BNScaleImportance(normalizer=None),
        global_pruning=True,
        pruning_ratio=ratio,
        ignored_layers=[pruned.head],
    )
    pruner.step()
    keep = {}
    for i, (orig, new) in enumerate(zip(bn_layers(model), bn_layers(pruned), strict=True)):
        match = new.weight.detach()[:, None] == orig.weight.detach()[None, :]
        assert bool((match.sum(1) == 1).all()), "BN scales must identify channels uniquely"
        keep[i] = match.float().argmax(1).tolist()
    return pruned, keep


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.7])
def test_matches_torch_pruning(slim_model: DigitsCNN, digits, ratio: float) -> None:
    sel = select_channels(slim_model, ratio)
    assert not sel.guarded  # the cross-check is about the rule, not the guard
    ours, _ = remove_channels(slim_model, sel.keep)
    theirs, tp_keep = _torch_pruning_keep(slim_model, ratio)
    assert {i: k.tolist() for i, k in sel.keep.items()} == tp_keep
    torch.testing.assert_close(
        predict(ours, digits.x_test), predict(theirs, digits.x_test), atol=1e-6, rtol=1e-6
    )


def test_threshold_prunes_the_requested_fraction(slim_model: DigitsCNN) -> None:
    sel = select_channels(slim_model, 0.5)
    total = sum(bn.num_features for bn in bn_layers(slim_model))
    assert sum(k.numel() for k in sel.keep.values()) == int(total * 0.5)
    gammas = torch.cat([bn.weight.detach().abs() for bn in bn_layers(slim_model)])
    kept = torch.cat(
        [bn.weight.detach().abs()[sel.keep[i]] for i, bn in enumerate(bn_layers(slim_model))]
    )
    assert float(kept.min()) > sel.threshold >= float(gammas.min())


def test_global_threshold_ties_are_pruned_together() -> None:
    thr, n = global_threshold(torch.tensor([0.1, 0.2, 0.2, 0.9]), 0.5)
    assert (thr, n) == (pytest.approx(0.2), 2)


def _model_with_weak_layer() -> DigitsCNN:
    model = DigitsCNN(plain_spec((8, 8, 8)))
    with torch.no_grad():
        for i, bn in enumerate(bn_layers(model)):
            bn.weight.copy_(torch.linspace(1, 2, 8) * (1e-3 if i == 1 else 1.0))
    return model


def test_guard_keeps_a_layer_alive_and_says_so() -> None:
    sel = select_channels(_model_with_weak_layer(), 0.5, min_channels=2)
    assert sel.keep[1].tolist() == [6, 7]  # its two strongest channels
    assert len(sel.guarded) == 1 and "stages.1" in sel.guarded[0]


def test_without_guard_an_emptied_layer_is_an_error() -> None:
    with pytest.raises(PruningError, match=r"would remove every channel of stages.1"):
        select_channels(_model_with_weak_layer(), 0.5, min_channels=0)


def test_round_to_array_width(slim_model: DigitsCNN) -> None:
    sel = select_channels(slim_model, 0.5, round_to=8)
    assert all(
        k.numel() % 8 == 0 or k.numel() == bn.num_features
        for k, bn in zip(sel.keep.values(), bn_layers(slim_model), strict=True)
    )
    assert sel.rounded


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_ratio_outside_open_interval(slim_model: DigitsCNN, ratio: float) -> None:
    with pytest.raises(PruningError, match=r"ratio must lie in \(0, 1\)"):
        select_channels(slim_model, ratio)


def test_needs_bn_stages() -> None:
    with pytest.raises(PruningError, match="Network Slimming needs"):
        select_channels(ShuffleDigitsNet(ShuffleSpec()), 0.5)


def test_subgradient_adds_lambda_sign_gamma() -> None:
    model = DigitsCNN(plain_spec((4,)))
    bn = model.stages[0].bn
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([0.5, -0.5, 2.0, 0.0]))
    bn.weight.grad = torch.zeros(4)
    bn_l1_subgradient(0.1)(model)
    torch.testing.assert_close(bn.weight.grad, torch.tensor([0.1, -0.1, 0.1, 0.0]))
