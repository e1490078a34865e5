"""SE as dynamic -> static pruning: statistics, channel classes, removal with bias folding."""

from __future__ import annotations

import copy

import pytest
import torch

from systolic.pruning.errors import PruningError
from systolic.pruning.models import DigitsCNN, plain_spec, se_spec
from systolic.pruning.se_prune import (
    classify_channels,
    excitation_l1,
    excitation_stats,
    static_keep,
)
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import predict

DEAD = 3  # the channel forced to be always squeezed


def _with_dead_channel(model: DigitsCNN) -> DigitsCNN:
    """Stage 0's channel DEAD outputs the constant 0.7 and its excitation is sigmoid(-30):
    squeezed for every sample, with a squeeze input that is the same for every sample."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.stages[0].bn.weight[DEAD] = 0.0
        model.stages[0].bn.bias[DEAD] = 0.7
        model.stages[0].se.fc2.weight[DEAD] = 0.0
        model.stages[0].se.fc2.bias[DEAD] = -30.0
    return model


def test_stats_and_classes(se_model: DigitsCNN, digits) -> None:
    model = _with_dead_channel(se_model)
    stats = excitation_stats(model, digits.x_train, digits.y_train)
    assert stats.max[0][DEAD] < 1e-12
    assert stats.squeeze_mean[0][DEAD] == pytest.approx(0.7)
    assert stats.class_max[0].shape == (10, 16)
    # Class maxima bound the overall maximum, class means average to the mean (weighted).
    torch.testing.assert_close(stats.class_max[1].max(0).values, stats.max[1])
    counts = torch.bincount(digits.y_train).float()
    torch.testing.assert_close(
        (stats.class_mean[2] * counts[:, None]).sum(0) / counts.sum(), stats.mean[2]
    )
    classes = classify_channels(stats, tau=0.05)
    assert DEAD in classes[0]["always_squeezed"]
    for c in classes:
        assert sorted(c["always_squeezed"] + c["class_dependent"] + c["active"]) == list(
            range(len(c["active"]) + len(c["class_dependent"]) + len(c["always_squeezed"]))
        )


def test_class_dependent_channel_stays(se_model: DigitsCNN, digits) -> None:
    stats = excitation_stats(se_model, digits.x_train, digits.y_train)
    channel = int(torch.nonzero(stats.max[1] >= 0.05)[0])
    # Make it squeezed for every sample of class 0 only: class-dependent, so it must stay.
    stats.class_max[1][0, channel] = 0.01
    classes = classify_channels(stats, tau=0.05)
    assert channel in classes[1]["class_dependent"]
    assert channel not in classes[1]["always_squeezed"]
    keep, _ = static_keep(stats, 0.05)
    assert channel in keep[1].tolist()


def test_removal_with_bias_folding_is_exact_for_a_constant_channel(se_model, digits) -> None:
    model = _with_dead_channel(se_model)
    stats = excitation_stats(model, digits.x_train, digits.y_train)
    keep = {0: torch.tensor([c for c in range(16) if c != DEAD])}
    folded, kept = remove_channels(model, keep, se_fold=dict(enumerate(stats.squeeze_mean)))
    plain, _ = remove_channels(model, keep)
    ref = predict(model, digits.x_test)
    torch.testing.assert_close(predict(folded, digits.x_test), ref, atol=1e-4, rtol=1e-4)
    # Without the fold the squeeze path loses W1[:, c] * 0.7: visibly different.
    assert (predict(plain, digits.x_test) - ref).abs().max() > 1e-3
    assert DEAD not in kept["stages.0"]
    assert folded.stages[0].se.fc2.weight.shape == (16 - 1, se_model.spec.stages[0].se_hidden)


def test_output_fold_is_exact_for_a_constant_last_stage_channel(se_model, digits) -> None:
    # Last-stage channel 7 outputs 0.7 * sigmoid(0) = 0.35 on every pixel of every sample:
    # its whole contribution to the logits is a constant that the head bias can absorb.
    model = copy.deepcopy(se_model)
    with torch.no_grad():
        model.stages[2].bn.weight[7] = 0.0
        model.stages[2].bn.bias[7] = 0.7
        model.stages[2].se.fc2.weight[7] = 0.0
        model.stages[2].se.fc2.bias[7] = 0.0
    stats = excitation_stats(model, digits.x_train, digits.y_train)
    torch.testing.assert_close(stats.output_mean[2][7], torch.full((2, 2), 0.35))
    keep = {2: torch.tensor([c for c in range(64) if c != 7])}
    folded, _ = remove_channels(
        model,
        keep,
        se_fold=dict(enumerate(stats.squeeze_mean)),
        out_fold=dict(enumerate(stats.output_mean)),
    )
    ref = predict(model, digits.x_test)
    torch.testing.assert_close(predict(folded, digits.x_test), ref, atol=1e-4, rtol=1e-4)
    squeeze_only, _ = remove_channels(model, keep, se_fold=dict(enumerate(stats.squeeze_mean)))
    assert (predict(squeeze_only, digits.x_test) - ref).abs().max() > 1e-3


def test_output_fold_into_next_bn(se_model, digits) -> None:
    # A mid-network channel with a constant output: folding its mean into the next BN's
    # running mean must beat dropping it (exact but for the zero-padded border pixels).
    model = copy.deepcopy(se_model)
    with torch.no_grad():
        model.stages[1].bn.weight[4] = 0.0
        model.stages[1].bn.bias[4] = 2.0
        model.stages[1].se.fc2.weight[4] = 0.0
        model.stages[1].se.fc2.bias[4] = 0.0
    stats = excitation_stats(model, digits.x_train, digits.y_train)
    keep = {1: torch.tensor([c for c in range(32) if c != 4])}
    sq = dict(enumerate(stats.squeeze_mean))
    out = dict(enumerate(stats.output_mean))
    folded, _ = remove_channels(model, keep, se_fold=sq, out_fold=out)
    dropped, _ = remove_channels(model, keep, se_fold=sq)
    ref = predict(model, digits.x_test)
    err_folded = (predict(folded, digits.x_test) - ref).abs().mean()
    err_dropped = (predict(dropped, digits.x_test) - ref).abs().mean()
    assert err_folded < 0.5 * err_dropped


def test_static_keep_guard_and_threshold(se_model: DigitsCNN, digits) -> None:
    stats = excitation_stats(se_model, digits.x_train, digits.y_train)
    keep, notes = static_keep(stats, tau=0.999, min_channels=2)
    assert all(k.numel() >= 2 for k in keep.values()) and notes
    with pytest.raises(PruningError, match="every channel"):
        static_keep(stats, tau=0.999, min_channels=0)
    with pytest.raises(PruningError, match=r"threshold must lie in \(0, 1\)"):
        static_keep(stats, tau=1.5)


def test_needs_se_blocks(digits) -> None:
    with pytest.raises(PruningError, match="SE pruning needs"):
        excitation_stats(DigitsCNN(plain_spec((4, 4))), digits.x_test, digits.y_test)


def test_excitation_l1_penalises_open_channels() -> None:
    model = DigitsCNN(se_spec((8,)))
    model(torch.rand(4, 1, 8, 8))
    s = model.stages[0].se.last_excitation
    loss = float(excitation_l1(0.5)(model).detach())
    assert loss == pytest.approx(0.5 * float(s.detach().mean()))
