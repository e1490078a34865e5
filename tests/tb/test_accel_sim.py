"""The accelerator top (rtl/systolic_accel.v) on both simulators: systolic.tb.test_accel's cocotb
tests through the AXI4-Stream ports, with the inner array checked every PE every cycle.

One pytest item per (simulator, parameter set, FIFO depth, OUT_ROWS, SHADOWS) runs every cocotb
test in one simulator process. Small arrays and a few folds keep make test's added time small;
the small FIFO (FIFO_DEPTH = ROWS) makes the room rule hold folds back even without a stalled
sink. Each simulator runs a top with OUT_ROWS = 2 (two rows of C per result beat, and edge folds
whose last beat carries one) and SHADOWS = 2; Icarus also one with OUT_ROWS = ROWS (a whole fold
per beat) and a small FIFO, where the room rule counts beats of three rows, and a tall, narrow
8x1 top with the deepest FIFO (1024 entries, which test_fifo_fills fills). test_accel_partial
runs a few tests on an 18x17 top (more than 16 rows and columns) and on 8x1 at FIFO_DEPTH 8.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from systolic.engine import build, runner, toolchain
from systolic.engine.config import RunSettings
from systolic.engine.tops import ACCEL_TEST_MODULE, accel_top
from systolic.models import ArrayParams, TopParams
from systolic.models.params import FIFO_DEPTH_MAX

#: The tops per simulator. A Verilator build costs 15-25 s of C++ on a busy 2-core machine, so
#: Verilator gets one set (the multi-row one; Icarus runs OUT_ROWS = 1 too); Icarus's builds are
#: free. The two multi-row Icarus sets between them kill every accelerator mutant of
#: systolic.mutation.catalog (the default FIFO lets the shadow rule bind, the small one the room
#: rule). The 2x3 set's array has the product register (MUL_REG = 1: every capture one cycle
#: later). The tall, narrow 8x1 top (ROWS >> COLS, COLS = 1) has the deepest FIFO:
#: test_fifo_fills stalls the sink until all 1024 entries are full, where a counter one bit short
#: would wrap.
SETS = {
    "icarus": [
        TopParams(ArrayParams(2, 3, 8, 32, mul_reg=1)),
        TopParams(ArrayParams(3, 2, 8, 32), fifo_depth=3),
        TopParams(ArrayParams(4, 3, 8, 32), out_rows=2, shadows=2),
        TopParams(ArrayParams(3, 2, 8, 32), fifo_depth=3, out_rows=3, shadows=2),
        TopParams(ArrayParams(8, 1, 8, 32), fifo_depth=FIFO_DEPTH_MAX),
    ],
    "verilator": [TopParams(ArrayParams(4, 4, 8, 32), out_rows=2, shadows=2)],
}
CASES = [(sim, t) for sim in toolchain.SIMULATORS for t in SETS[sim]]


def _case(sim: str, top: TopParams) -> object:
    """One item; its xdist group names the accelerator's own build (tests/conftest.py groups
    items by simulator and array parameters, which would put it with the array regression's
    item of the same parameters: a different build, so nothing to share)."""
    group = pytest.mark.xdist_group(f"build-{sim}-{top.array.tag}{accel_top(top).tag}")
    return pytest.param(sim, top, marks=group, id=_id(sim, top))


def _id(sim: str, top: TopParams) -> str:
    p = top.array
    return (
        f"{p.rows}x{p.cols}-d{p.data_w}-a{p.acc_w}"
        + (f"-fifo{top.fifo_depth}" if top.fifo_depth else "")
        + (f"-out{top.out_rows}" if top.out_rows != 1 else "")
        + (f"-sh{top.shadows}" if top.shadows != 1 else "")
        + ("-mulreg" if p.mul_reg else "")
        + f"-{sim}"
    )


@pytest.mark.sim
@pytest.mark.parametrize(("sim", "top"), [_case(*c) for c in CASES])
def test_accel(sim: str, top: TopParams, base_seed: int) -> None:
    params = top.array
    seed = base_seed * 1000 + 300 + params.rows * 10 + params.cols
    res = runner.run(
        RunSettings(sim, seed=seed), params, test_module=ACCEL_TEST_MODULE, top=accel_top(top)
    )
    tests = runner.list_tests(ACCEL_TEST_MODULE)
    assert res.passed and res.tests == len(tests), res.summary()
    stats = {s["test"]: s for s in res.stats}
    assert set(stats) == set(tests), f"tests without statistics: {res.summary()}"
    for name, s in stats.items():
        # Every test checked result folds and every PE of the inner array every sampled cycle.
        assert s["products"] > 0, f"{name} checked no fold: {s}"
        assert s["pe_checks"] == (s["cycles"] - 1) * params.rows * params.cols, (name, s)


#: Icarus tops that run some of the cocotb tests only, with those tests: one wider and taller
#: than 16 lanes (a count or index that sees lanes 0..15 only, which the bench's 16x16 hides;
#: Icarus runs about 80 cycles a second there), and the tall, narrow top at the smallest FIFO
#: depth, ROWS (a power of two: a full FIFO of 2^k entries).
PARTIAL_SETS = [
    (TopParams(ArrayParams(18, 17, 8, 32)), ("test_k1",)),
    (TopParams(ArrayParams(8, 1, 8, 32), fifo_depth=8), ("test_fifo_fills", "test_backpressure")),
]


def _partial(top: TopParams, tests: tuple[str, ...]) -> object:
    group = pytest.mark.xdist_group(f"build-icarus-{top.array.tag}{accel_top(top).tag}")
    return pytest.param(top, tests, marks=group, id=_id("icarus", top))


@pytest.mark.sim
@pytest.mark.parametrize(("top", "tests"), [_partial(*s) for s in PARTIAL_SETS])
def test_accel_partial(top: TopParams, tests: tuple[str, ...], base_seed: int) -> None:
    params = top.array
    res = runner.run(
        RunSettings("icarus", seed=base_seed * 1000 + 500 + params.rows * 10 + params.cols),
        params,
        tests,
        test_module=ACCEL_TEST_MODULE,
        top=accel_top(top),
    )
    assert res.passed and res.tests == len(tests), res.summary()
    stats = {s["test"]: s for s in res.stats}
    assert set(stats) == set(tests), f"tests without statistics: {res.summary()}"
    for name, s in stats.items():
        assert s["products"] > 0, f"{name} checked no fold: {s}"
        assert s["pe_checks"] == (s["cycles"] - 1) * params.rows * params.cols, (name, s)


@pytest.mark.sim
def test_the_testbench_refuses_immediate_writes() -> None:
    """cocotbext-axi writes right after a rising edge; with COCOTB_TRUST_INERTIAL_WRITES on,
    Icarus would let that edge see the write. The top is run with it off, and its testbench
    refuses to run otherwise (one clear message per test, no silent one-cycle shift)."""
    p = ArrayParams(2, 2, 8, 32)
    top = dataclasses.replace(accel_top(TopParams(p)), trust_inertial_writes=True)
    res = runner.run(RunSettings("icarus"), p, ["test_k1"], test_module=ACCEL_TEST_MODULE, top=top)
    assert not res.passed and res.failed == 1
    assert "needs COCOTB_TRUST_INERTIAL_WRITES unset" in res.failures["test_k1"]


@pytest.mark.sim
def test_x_on_the_result_stream_is_a_checker_failure(tmp_path: Path) -> None:
    """A FIFO that wraps at a power of two reads past its 3 rows and puts X on m_axis_c_tdata:
    the sampler must fail the test as a protocol violation (a checker), before cocotbext-axi's
    sink stops it with an error of its own."""
    rtl = tmp_path / "rtl"
    rtl.mkdir()
    for f in build.accel_sources():
        (rtl / f.name).write_text(f.read_text())
    top = rtl / build.ACCEL_V
    text = top.read_text()
    old = "localparam integer     LAST_SLOT = FIFO_DEPTH - 1;"
    assert text.count(old) == 1
    top.write_text(text.replace(old, "localparam integer     LAST_SLOT = (1 << PTR_W) - 1;"))
    p = ArrayParams(3, 2, 8, 32)
    res = runner.run(
        RunSettings("icarus", rtl_dir=rtl, build_root=tmp_path / "b"),
        p,
        ["test_k1"],
        test_module=ACCEL_TEST_MODULE,
        top=accel_top(TopParams(p, 3)),
    )
    assert not res.passed
    assert "tvalid high with X/Z in the payload" in res.failures["test_k1"], res.failures


@pytest.mark.sim
def test_rtl_default_fifo_depth_is_the_models(tmp_path: Path) -> None:
    """issue 24: the RTL's default FIFO_DEPTH (the top's and its bench harness's, used whenever
    a run gives none) is TopParams' default, ROWS + COLS + 2 + MUL_REG, at both MUL_REG; and
    the smallest FIFO elaborates."""
    import shutil
    import subprocess

    from systolic.engine.accel_harness import HARNESS_DIR

    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    cases = [(1, 1, 0), (1, 1, 1), (4, 4, 1), (3, 5, 0), (3, 5, 1)]
    lines = []
    for n, (rows, cols, mul_reg) in enumerate(cases):
        inst = f"#(.ROWS({rows}), .COLS({cols}), .MUL_REG({mul_reg}))"
        lines += [
            f"  systolic_accel {inst} u{n} ();",
            f"  systolic_accel_bench {inst} h{n} ();",
            f'  initial $display("{n} %0d %0d", u{n}.FIFO_DEPTH, h{n}.FIFO_DEPTH);',
        ]
    # The smallest legal FIFO (FIFO_DEPTH = ROWS = 1) elaborates too: its counters are narrower
    # than the schedule's, which once made a negative replication that Icarus refused.
    lines += [f"  systolic_accel #(.ROWS(1), .COLS({c}), .FIFO_DEPTH(1)) s{c} ();" for c in (1, 2)]
    probe = tmp_path / "probe.v"
    probe.write_text("module probe;\n" + "\n".join(lines) + "\nendmodule\n")
    srcs = [str(f) for f in (*build.accel_sources(), HARNESS_DIR / "systolic_accel_bench.v")]
    exe = tmp_path / "probe.vvp"
    cmd = ["iverilog", "-g2012", "-s", "probe", "-o", str(exe), str(probe), *srcs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, timeout=60)
    got = {int(x[0]): (int(x[1]), int(x[2])) for x in map(str.split, run.stdout.splitlines())}
    for n, (rows, cols, mul_reg) in enumerate(cases):
        want = TopParams(ArrayParams(rows, cols, mul_reg=mul_reg)).depth
        assert got[n] == (want, want), (rows, cols, mul_reg, got[n], want)
