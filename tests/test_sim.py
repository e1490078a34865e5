"""The cocotb regression on both simulators, swept over array size and data width.

One pytest item per (simulator, parameter set) runs every cocotb test of systolic.tb.test_array in
one simulator process; a failure lists each failing cocotb test with the scoreboard's message
(PE, cycle, expected/got, parameters, seed and the command that reproduces it).
"""

from __future__ import annotations

import pytest

from systolic.models import ArrayParams
from systolic.tb import runner
from systolic.tb.cli import cocotb_tests

SIZES = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 5), (5, 2), (8, 8), (16, 16)]
WIDTHS = [(8, 32), (16, 32)]
# Narrow accumulators, where the extremes test really wraps, and the widest one.
EXTRA = [
    ArrayParams(3, 3, 8, 16),
    ArrayParams(2, 5, 4, 8),
    ArrayParams(1, 1, 2, 4),
    ArrayParams(4, 3, 16, 64),
]
PARAMS = [ArrayParams(r, c, d, a) for r, c in SIZES for d, a in WIDTHS] + EXTRA


def _id(p: ArrayParams) -> str:
    return f"{p.rows}x{p.cols}-d{p.data_w}-a{p.acc_w}"


@pytest.mark.sim
@pytest.mark.parametrize("sim", runner.SIMULATORS)
@pytest.mark.parametrize("params", PARAMS, ids=_id)
def test_regression(sim: str, params: ArrayParams, base_seed: int) -> None:
    seed = base_seed * 1000 + params.rows * 100 + params.cols
    res = runner.run(sim, params, seed=seed)
    assert res.tests >= 11, res.summary()
    assert res.passed, res.summary()
    stats = {s["test"]: s for s in res.stats}
    # Every test that ran drove at least one stream and checked every PE every cycle.
    assert set(stats) == set(cocotb_tests()), f"tests without statistics: {res.summary()}"
    for name, s in stats.items():
        assert s["cycles"] > 0 and s["products"] > 0, f"{name} simulated nothing: {s}"
        assert s["pe_checks"] == s["cycles"] * params.rows * params.cols, name
    assert stats["test_random_k_sweep"]["products"] == 4 * max(params.rows, params.cols)
