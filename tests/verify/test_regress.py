"""Nightly depth (make regress): large and odd arrays, DATA_W 4/8/16, many seeds, long streams."""

from __future__ import annotations

import os

import pytest

from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.models import ArrayParams

SIZES = [(32, 32), (1, 32), (32, 1), (7, 3), (3, 7), (16, 16), (6, 6)]
WIDTHS = [(4, 8), (8, 16), (16, 32), (8, 32)]
SEEDS = [11, 12, 13]
PARAMS = [ArrayParams(r, c, d, a) for r, c in SIZES for d, a in WIDTHS]


@pytest.mark.nightly
@pytest.mark.sim
@pytest.mark.parametrize("sim", toolchain.SIMULATORS)
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: p.tag)
@pytest.mark.parametrize("seed", SEEDS)
def test_nightly(
    sim: str, params: ArrayParams, seed: int, base_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYSTOLIC_STREAM_SCALE", os.environ.get("SYSTOLIC_STREAM_SCALE", "5"))
    res = runner.run(RunSettings(sim, seed=base_seed * 100 + seed), params)
    assert res.tests >= 11 and res.passed, res.summary()


@pytest.mark.nightly
@pytest.mark.sim
def test_flake(capsys) -> None:
    """The quick tier, twice with the same seeds, on both simulators: nothing may differ."""
    from argparse import Namespace

    from systolic.cli.sim import cmd_flake

    status = cmd_flake(Namespace(runs=2, sizes="3x3,2x5", sim=None, seed=5))
    assert status == 0, capsys.readouterr().out
