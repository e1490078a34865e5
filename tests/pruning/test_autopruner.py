"""AutoPruner: the layer's computation, binarisation as alpha grows, the compression term."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from systolic.pruning.autopruner import (
    AutoPrunerLayer,
    binary_fraction,
    prune_stage,
    train_stage_pruner,
)
from systolic.pruning.config import PruneConfig
from systolic.pruning.errors import PruningError
from systolic.pruning.models import DigitsCNN
from systolic.pruning.train import predict


def test_layer_computation() -> None:
    torch.manual_seed(0)
    layer = AutoPrunerLayer(channels=4, size=4, alpha=3.0)
    x = torch.randn(5, 4, 4, 4)
    pooled = F.max_pool2d(x.mean(0, keepdim=True), 2).flatten(1)  # batch mean, then 2x2 max
    v = torch.sigmoid(3.0 * layer.fc(pooled))[0]
    torch.testing.assert_close(layer.code(x), v)
    torch.testing.assert_close(layer(x), x * v[None, :, None, None])


def test_majority_vote_read_out() -> None:
    layer = AutoPrunerLayer(channels=3, size=2, vote=3)
    for code in ([1, 0, 1], [1, 0, 0], [0, 0, 1]):
        layer.votes.append(torch.tensor(code, dtype=torch.float))
    assert layer.read_out().tolist() == [True, False, True]
    layer.votes.append(torch.tensor([0.0, 0.0, 1.0]))  # only the last 3 batches vote
    assert layer.read_out().tolist() == [False, False, True]


def test_read_out_needs_training() -> None:
    with pytest.raises(PruningError, match="not seen a training batch"):
        AutoPrunerLayer(2, 2).read_out()


@pytest.fixture(scope="module")
def trained_pruner(slim_model: DigitsCNN, digits):
    model = copy.deepcopy(slim_model)
    cfg = PruneConfig(progress=False, keep_rate=0.4, ap_epochs=5)
    layer, run = train_stage_pruner(model, 1, digits, cfg, torch.Generator().manual_seed(0))
    return model, layer, run, cfg


@pytest.mark.slow  # trains CNNs: not in make unit
def test_code_becomes_binary_as_alpha_grows(trained_pruner) -> None:
    _, _, run, _ = trained_pruner
    alphas = [t[1] for t in run.trace]
    assert alphas == sorted(alphas) and alphas[-1] > 10 * alphas[0]
    early = sum(t[3] for t in run.trace[:10]) / 10
    assert early < 0.2  # alpha = 0.1: sigmoid(0.1 x) sits near 0.5
    assert run.binary_fraction >= 0.9


@pytest.mark.slow  # trains CNNs: not in make unit
def test_compression_term_steers_kept_fraction(trained_pruner) -> None:
    _, _, run, cfg = trained_pruner
    assert run.trace[0][2] == pytest.approx(0.5, abs=0.1)  # starts near sigmoid(0) = 0.5
    assert abs(run.kept / run.channels - cfg.keep_rate) <= 0.1
    assert abs(run.trace[-1][2] - cfg.keep_rate) <= 0.1


@pytest.mark.slow  # trains CNNs: not in make unit
def test_prune_stage_removes_closed_channels(trained_pruner, digits) -> None:
    model, layer, run, _ = trained_pruner
    model = copy.deepcopy(model)
    layer = model.stages[1].gate
    open_ = layer.read_out()
    pruned, kept, notes = prune_stage(model, 1, layer, {})
    assert pruned.spec.widths[1] == run.kept == int(open_.sum())
    assert kept["stages.1"] == torch.nonzero(open_).flatten().tolist()
    assert not notes
    assert predict(pruned, digits.x_test).shape == (len(digits.y_test), 10)


def test_keep_rate_outside_open_interval(slim_model: DigitsCNN, digits) -> None:
    cfg = PruneConfig(progress=False, keep_rate=1.0, ap_epochs=1)
    with pytest.raises(PruningError, match=r"keep rate must lie in \(0, 1\)"):
        train_stage_pruner(copy.deepcopy(slim_model), 0, digits, cfg, torch.Generator())


def test_binary_fraction() -> None:
    assert binary_fraction(torch.tensor([0.0, 0.05, 0.5, 0.95])) == 0.75
