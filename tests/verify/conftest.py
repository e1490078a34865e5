"""A small workload file for the workload runs of tests/verify: a ShuffleNet with grouped and
depthwise convs (8 layers, 26 GEMMs) on 8x8 digits-like images, random weights and BN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn


def _pictures(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.random((n, 1, 8, 8)).astype(np.float32))


def small_shufflenet() -> nn.Module:
    """The ShuffleNet family at its smallest, with non-trivial BN statistics (eval mode)."""
    from systolic.pruning.models import ShuffleSpec, build_model

    torch.manual_seed(4)
    model = build_model(ShuffleSpec(channels=6, bottleneck=6, groups=3, shuffle_groups=3))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture(scope="session")
def shuffle_workload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The saved workload of :func:`small_shufflenet` on two images."""
    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.from_torch import build_quantnet

    net = build_quantnet(small_shufflenet(), _pictures(64, 2), "small-shuffle")
    wl = build_workload(net, _pictures(2, 7).numpy(), np.arange(2))
    return save_workload(wl, tmp_path_factory.mktemp("wl") / "shuffle.npz")
