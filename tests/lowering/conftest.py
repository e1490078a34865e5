"""Small models of every family with non-trivial BN statistics, and a workload built from one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from systolic.pruning.models import ShuffleSpec, build_model, plain_spec, se_spec

SPECS = {
    "plain": plain_spec((4, 6, 8)),
    "se": se_spec((4, 8, 8), reduction=2),
    "shuffle-g3": ShuffleSpec(channels=6, bottleneck=6, groups=3, shuffle_groups=3),
    "shuffle-dense": ShuffleSpec(channels=6, bottleneck=6, groups=1, shuffle_groups=3),
}


def random_model(family: str, seed: int = 0) -> nn.Module:
    """A freshly initialised model with random BN statistics and affine parameters (eval)."""
    torch.manual_seed(seed)
    return randomize_bn(build_model(SPECS[family]))


def randomize_bn(model: nn.Module) -> nn.Module:
    """``model`` with random BN statistics and affine parameters, in eval mode (from torch's
    current random state)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


def images(n: int, seed: int = 1) -> torch.Tensor:
    """Digits-like images: N x 1 x 8 x 8 in [0, 1]."""
    return torch.from_numpy(np.random.default_rng(seed).random((n, 1, 8, 8)).astype(np.float32))


@pytest.fixture(scope="session")
def small_workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved workload of the small plain model on 6 images."""
    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.from_torch import build_quantnet

    model = random_model("plain")
    net = build_quantnet(model, images(64, 2), "small-plain")
    wl = build_workload(net, images(6).numpy(), np.arange(6) % 10)
    return save_workload(wl, tmp_path_factory.mktemp("wl") / "small.npz")
