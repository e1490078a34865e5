"""Pruning any traced model through the dependency graph: consistency, round_to, premises, I/O."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from systolic.pruning import zoo
from systolic.pruning.depgraph import build_graph, prunable_groups, prune_module
from systolic.pruning.depgraph_io import load_pruned, save_pruned
from systolic.pruning.errors import PruningError
from systolic.pruning.userdata import load_npz

X = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def _random_bn(model: nn.Module) -> nn.Module:
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _kill_half(model: nn.Module) -> None:
    """Zero every other channel of each group in all its BNs: those channels carry nothing,
    so removing them consistently must leave the output unchanged."""
    named = dict(model.named_modules())
    for g in prunable_groups(model, X, build_graph(model, X)):
        per = g.channels // g.ch_groups
        dead = [j * per + i for j in range(g.ch_groups) for i in range(0, per, 2)]
        for name in g.members:
            if isinstance(named[name], nn.BatchNorm2d):
                named[name].weight.data[dead] = 0
                named[name].bias.data[dead] = 0


@pytest.mark.parametrize("factory", ["hand_cnn", "grouped_cnn", "shuffle_cnn", "se_cnn"])
def test_dead_channels_removed_consistently(factory: str) -> None:
    """Residual add, concat, depthwise, grouped conv, channel shuffle and SE gate: the removed
    channels are the dead ones in every coupled layer, so the output is the same."""
    torch.manual_seed(0)
    model = _random_bn(getattr(zoo, factory)())
    _kill_half(model)
    with torch.no_grad():
        want = model(X)
    pruned, report = prune_module(model, X, "slimming", amount=0.5, scope="local")
    assert report.after.cycles < report.before.cycles
    with torch.no_grad():
        got = pruned(X)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_round_to_counts_and_fewer_cycles() -> None:
    torch.manual_seed(0)
    model = zoo.hand_cnn()
    pruned, report = prune_module(model, X, "slimming", amount=0.5, round_to=16)
    assert report.groups and all(after % 16 == 0 for _, _, after in report.groups)
    convs = [m for m in pruned.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels % 16 == 0 for c in convs)
    assert pruned(X).shape == model(X).shape == (2, 10)
    assert report.speedup >= 2.0
    # The caller's model is left whole.
    assert model.stem[0].out_channels == 32


def test_target_reaches_cycle_ratio() -> None:
    torch.manual_seed(0)
    _, report = prune_module(zoo.hand_cnn(), X, "slimming", target=2.0, round_to=16)
    assert report.speedup >= 2.0 and report.amount < 0.95


def test_grouped_conv_keeps_groups_equal() -> None:
    torch.manual_seed(0)
    pruned, _ = prune_module(zoo.grouped_cnn(), X, "shuffle", amount=0.5, round_to=4)
    b = pruned.b[0]
    assert b.groups == 4 and b.out_channels % 4 == 0 and b.in_channels % 4 == 0
    pruned(X)


@pytest.mark.parametrize(
    ("method", "factory", "needle"),
    [
        ("slimming", "no_bn_cnn", "--criterion l1"),
        ("autopruner", "hand_cnn", "give a dataset"),
        ("se", "hand_cnn", "squeeze-excitation"),
        ("shuffle", "hand_cnn", "grouped convs"),
    ],
)
def test_premise_refusal_is_one_line(method: str, factory: str, needle: str) -> None:
    with pytest.raises(PruningError) as err:
        prune_module(getattr(zoo, factory)(), X, method)
    text = str(err.value)
    assert "\n" not in text and needle in text and f"method {method!r}" in text


def test_l1_criterion_prunes_a_model_without_bn() -> None:
    torch.manual_seed(0)
    pruned, report = prune_module(zoo.no_bn_cnn(), X, "slimming", criterion="l1", round_to=8)
    assert report.speedup > 1.0 and pruned(X).shape == (2, 10)


def test_se_prunes_only_gated_groups() -> None:
    torch.manual_seed(0)
    model = zoo.se_cnn()
    pruned, report = prune_module(model, X, "se", amount=0.5, round_to=8)
    assert {g for g, _, _ in report.groups} == {"s1.0", "s2.0"}
    assert pruned.se1.fc2.out_channels == pruned.s1[0].out_channels < 32


def test_save_load_roundtrip_and_tamper(tmp_path) -> None:
    torch.manual_seed(0)
    pruned, report = prune_module(zoo.hand_cnn(), X, "slimming", amount=0.5, round_to=16)
    save_pruned(tmp_path, pruned, "systolic.pruning.zoo:hand_cnn", (3, 32, 32), report.history)
    loaded, _ = load_pruned(tmp_path)
    pruned.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(X), pruned(X))
    (tmp_path / "weights.pt").write_bytes((tmp_path / "weights.pt").read_bytes() + b"x")
    with pytest.raises(PruningError, match="does not match the hash"):
        load_pruned(tmp_path)


def test_save_refuses_a_history_that_does_not_fit(tmp_path) -> None:
    torch.manual_seed(0)
    pruned, report = prune_module(zoo.hand_cnn(), X, "slimming", amount=0.5, round_to=16)
    with pytest.raises(PruningError, match="names no layer"):
        save_pruned(
            tmp_path, pruned, "systolic.pruning.zoo:hand_cnn", (3, 32, 32), [["nope", True, [0]]]
        )
    with pytest.raises(PruningError, match=r"package\.module:function"):
        save_pruned(tmp_path, pruned, "os.system", (3, 32, 32), report.history)
    assert not (tmp_path / "model.json").exists()


def test_npz_of_the_wrong_shape_is_one_line(tmp_path) -> None:
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((20, 1, 8, 8), np.float32), y=np.zeros(20, np.int64))
    with pytest.raises(PruningError, match=r"samples have shape \(1, 8, 8\)"):
        load_npz(path, (3, 32, 32))
    np.savez(path, x=np.zeros((20, 1, 8, 8), np.float32))
    with pytest.raises(PruningError, match="needs arrays x and y"):
        load_npz(path)


def test_equal_scores_prune_every_group_alike() -> None:
    """Untrained BN scales all equal 1: the global ranking then removes the same share of each
    group, grouped ones included (their per-position scores are means, not sums)."""
    torch.manual_seed(0)
    _, report = prune_module(zoo.grouped_cnn(), X, "slimming", amount=0.5)
    assert all(after == before // 2 for _, before, after in report.groups)
