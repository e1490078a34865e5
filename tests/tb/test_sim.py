"""The cocotb regression on both simulators, swept over array size and data width.

One pytest item per (simulator, parameter set) runs every cocotb test of systolic.tb.test_array in
one simulator process; a failure lists each failing cocotb test with the scoreboard's message
(PE or edge lane, cycle, expected/got, parameters, seed and the command that reproduces it).
Besides the sweep: every parameter class the RTL accepts, an array of more than 256 PEs, two
arrays chained through their edge outputs, and the PE on its own.
"""

from __future__ import annotations

import pytest

from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.engine.tops import PE_TEST_MODULE, chain_top, pe_top
from systolic.models import ArrayParams
from systolic.tb.test_array import WRAP_STEPS_MAX

SIZES = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 5), (5, 2), (8, 8), (16, 16)]
WIDTHS = [(8, 32), (16, 32)]
# Narrow accumulators, where the extremes test really wraps, and the widest one.
EXTRA = [
    ArrayParams(3, 3, 8, 16, mul_reg=1),
    ArrayParams(2, 5, 4, 8),
    ArrayParams(1, 1, 2, 4),
    ArrayParams(4, 3, 16, 64),
]
PARAMS = [ArrayParams(r, c, d, a) for r, c in SIZES for d, a in WIDTHS] + EXTRA
# Every class of parameter the RTL accepts: odd and non-power-of-two DATA_W, ACC_W at 2*DATA_W,
# 2*DATA_W+1, not a power of two (20, 37, 63) and 64, one row and one column of PEs. Three wide
# accumulators (ACC_W > 2*DATA_W) wrap in test_extremes_wrap: (5, 11), (7, 20), (8, 20).
CLASSES = [
    ArrayParams(3, 2, 3, 6),
    ArrayParams(2, 3, 5, 11),
    ArrayParams(3, 3, 7, 20, mul_reg=1),
    ArrayParams(2, 2, 8, 20),
    ArrayParams(2, 4, 12, 37),
    ArrayParams(3, 2, 9, 63),
    ArrayParams(2, 2, 5, 64),
    ArrayParams(1, 7, 8, 32),
    ArrayParams(6, 1, 8, 32),
]
#: The classes built on Verilator too (its builds cost 7-15 s each; Icarus's 0.05 s).
VERILATOR_CLASSES = [ArrayParams(3, 3, 7, 20, mul_reg=1), ArrayParams(3, 2, 9, 63)]
#: Verilator builds cost 7-15 s of C++ each, so the quick tier builds the sizes at DATA_W 8
#: (2x2 and 5x2 left to 3x3 and 2x5) and the widest widths once; every other PARAMS set runs
#: on Verilator in the nightly tier (Icarus, whose builds are free, runs them all quick).
VERILATOR_QUICK = {(r, c, 8, 32) for r, c in SIZES if (r, c) not in ((2, 2), (5, 2))} | {
    (4, 4, 16, 32),
    (4, 3, 16, 64),
}
SIM_PARAMS = [(s, p) for s in toolchain.SIMULATORS for p in PARAMS]
SIM_PARAMS += [("icarus", p) for p in CLASSES]
SIM_PARAMS += [("verilator", p) for p in VERILATOR_CLASSES]


def _quick(sim: str, p: ArrayParams) -> bool:
    return sim == "icarus" or (p.rows, p.cols, p.data_w, p.acc_w) in VERILATOR_QUICK


def _case(sim: str, p: ArrayParams) -> object:
    marks = () if _quick(sim, p) or p in VERILATOR_CLASSES else (pytest.mark.nightly,)
    return pytest.param(sim, p, marks=marks, id=f"{_id(p)}-{sim}")


def _id(p: ArrayParams) -> str:
    return f"{p.rows}x{p.cols}-d{p.data_w}-a{p.acc_w}" + ("-m1" if p.mul_reg else "")


@pytest.mark.sim
@pytest.mark.parametrize(("sim", "params"), [_case(s, p) for s, p in SIM_PARAMS])
def test_regression(sim: str, params: ArrayParams, base_seed: int) -> None:
    seed = base_seed * 1000 + params.rows * 100 + params.cols
    res = runner.run(RunSettings(sim, seed=seed), params)
    assert res.tests >= 11, res.summary()
    assert res.passed, res.summary()
    stats = _check_stats(res, params, runner.list_tests())
    assert stats["test_random_k_sweep"]["products"] == 4 * max(params.rows, params.cols)
    # test_extremes_wrap streams enough extreme products to wrap whenever that is within reach.
    if (1 << (params.acc_w - 2 * params.data_w + 1)) + 3 <= WRAP_STEPS_MAX:
        assert stats["test_extremes_wrap"]["wrapped_products"] > 0, "the accumulator never wrapped"


def _check_stats(res: runner.RunResult, params: ArrayParams, tests: list[str]) -> dict[str, dict]:
    """Every test that ran drove at least one stream and checked every PE and both edges every
    cycle; returns the statistics by test name."""
    stats = {s["test"]: s for s in res.stats}
    assert set(stats) == set(tests), f"tests without statistics: {res.summary()}"
    for name, s in stats.items():
        assert s["cycles"] > 0 and s["products"] > 0, f"{name} simulated nothing: {s}"
        assert s["pe_checks"] == s["cycles"] * params.rows * params.cols, name
        assert s["edge_checks"] == s["cycles"], name
    return stats


#: The cocotb tests run on the array of more than 256 PEs (Icarus takes ~3 s per 1000 cycles
#: there; the long random streams are left to the nightly tier).
LARGE_TESTS = [
    "test_lecture_3x3",
    "test_accumulator_every_bit",
    "test_identity",
    "test_zeros",
    "test_gemm_tiled",
    "test_reset_between_edges",
    "test_reset_release",
    "test_strobe_and_hold",
    "test_checker_bites_edges",
]


@pytest.mark.sim
@pytest.mark.parametrize("sim", ["icarus"])
def test_more_than_256_pes(sim: str, base_seed: int) -> None:
    """17x16 = 272 PEs (the PE index no longer fits 8 bits) on Icarus, a subset of the tests."""
    params = ArrayParams(17, 16, 8, 32)
    res = runner.run(RunSettings(sim, seed=base_seed * 1000 + 1716), params, LARGE_TESTS)
    assert res.passed, res.summary()
    _check_stats(res, params, LARGE_TESTS)


#: (how, combined array, SPLIT): two arrays chained east into west (3x2 then 3x3) and south into
#: north (2x3 over 3x3), each tested as the one array they make.
CHAINS = [("east-west", ArrayParams(3, 5), 2), ("south-north", ArrayParams(5, 3), 2)]


@pytest.mark.sim
@pytest.mark.parametrize("sim", toolchain.SIMULATORS)
@pytest.mark.parametrize(("how", "params", "split"), CHAINS, ids=[c[0] for c in CHAINS])
def test_chained_arrays(
    sim: str, how: str, params: ArrayParams, split: int, base_seed: int
) -> None:
    """Two arrays chained through their edge outputs behave as one array: the whole cocotb
    suite, driven with the combined array's skew, checks every PE, both edges and every C."""
    top = chain_top(params, how == "south-north", split)
    res = runner.run(RunSettings(sim, seed=base_seed * 1000 + 77), params, top=top)
    assert res.passed, res.summary()
    _check_stats(res, params, runner.list_tests())


PE_TESTS = ["test_pe_random", "test_pe_directed", "test_pe_reset_between_edges"]
PE_TESTS += ["test_pe_checker_bites"]
#: (simulator, DATA_W, ACC_W, MUL_REG) of the standalone PE: the product register on both
#: simulators.
PE_SETS = [
    ("icarus", 8, 32, 0),
    ("icarus", 5, 11, 0),
    ("icarus", 16, 64, 0),
    ("icarus", 8, 32, 1),
    ("verilator", 7, 20, 1),
]


@pytest.mark.sim
@pytest.mark.parametrize(
    ("sim", "data_w", "acc_w", "mul_reg"),
    PE_SETS,
    ids=[f"{s}-d{d}-a{a}" + ("-m1" if m else "") for s, d, a, m in PE_SETS],
)
def test_standalone_pe(sim: str, data_w: int, acc_w: int, mul_reg: int, base_seed: int) -> None:
    params = ArrayParams(1, 1, data_w, acc_w, mul_reg)
    res = runner.run(
        RunSettings(sim, seed=base_seed * 1000 + data_w),
        params,
        test_module=PE_TEST_MODULE,
        top=pe_top(data_w, acc_w, mul_reg),
    )
    assert res.passed and res.tests == len(PE_TESTS), res.summary()
