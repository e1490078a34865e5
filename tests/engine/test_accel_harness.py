"""The accelerator top through its no-Python harness: cycles equal models/accel.py and every
result word, tkeep and tlast is right, on both simulators; and the harness's check bites."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from systolic.engine import accel_harness, build
from systolic.engine.config import RunSettings
from systolic.errors import SimulatorError
from systolic.models.accel import accel_cycles, schedule
from systolic.models.params import ArrayParams, TopParams
from systolic.mutation import catalog as mutants

pytestmark = pytest.mark.sim

#: GEMMs with edge folds on both sides, K = 1, long K and the bench's short-K shapes.
SHAPES = [(3, 3, 3), (16, 16, 16), (64, 9, 16), (1, 10, 64), (5, 1, 7), (7, 40, 9), (9, 1, 11)]


def _random_shapes(seed: int, count: int) -> list[tuple[int, int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(1, 20), rng.randint(1, 12), rng.randint(1, 20)) for _ in range(count)]


@pytest.mark.parametrize(
    "sim,rows,cols,data_w,acc_w,depth,out_rows,shadows",
    [
        ("icarus", 4, 4, 8, 32, None, 1, 1),
        ("icarus", 3, 5, 8, 32, 5, 1, 1),  # a FIFO of ROWS+2: admission held back for room
        ("icarus", 2, 3, 4, 8, None, 1, 1),  # narrow accumulators wrap
        ("icarus", 1, 1, 8, 32, None, 1, 1),
        # Wider result ports: two and three rows per beat (a last beat of fewer rows), more
        # shadow registers, a FIFO of ROWS entries.
        ("icarus", 4, 4, 8, 32, None, 2, 2),
        ("icarus", 5, 3, 8, 32, None, 3, 1),
        ("icarus", 3, 2, 8, 32, 3, 2, 3),
        # A tall, narrow top with a deep FIFO of 1000 entries (not a power of two): 64x9x16's
        # 1024 result beats take its pointers past their wrap at 999.
        ("icarus", 8, 1, 8, 32, 1000, 1, 1),
        # One Verilator build costs 10-20 s of C++: the e2e and cocotb tests of the top run
        # Verilator in make test; these sets run in the nightly tier.
        pytest.param("verilator", 4, 2, 8, 20, 4, 1, 1, marks=pytest.mark.nightly),
        pytest.param("verilator", 6, 4, 8, 32, None, 4, 2, marks=pytest.mark.nightly),
    ],
)
def test_cycles_equal_the_model_and_every_word_checks(
    sim: str,
    rows: int,
    cols: int,
    data_w: int,
    acc_w: int,
    depth: int | None,
    out_rows: int,
    shadows: int,
) -> None:
    p = ArrayParams(rows=rows, cols=cols, data_w=data_w, acc_w=acc_w)
    top = TopParams(p, depth, out_rows, shadows)
    exe = accel_harness.build_bench(RunSettings(sim), top)
    held = 0
    for m, k, n in SHAPES + _random_shapes(rows * 10 + cols, 8):
        run = accel_harness.run_bench(sim, exe, m, k, n, top)
        assert not run.problems, (m, k, n, run.problems)
        assert run.cycles == accel_cycles(m, k, n, top), (m, k, n)
        held += sum(schedule(m, k, n, top).held)
    # The list exercises admission control, not only free streaming (a 1x1 array's one row per
    # fold always keeps up with the port).
    assert held > 0 or rows == cols == 1


def test_a_top_wider_and_taller_than_16_lanes() -> None:
    """18x17: full folds of 18 rows and 17 columns and edge folds of one, K = 1 and 2, admission
    holding folds back; the cycles equal models.accel and every word checks (a count or index
    that sees lanes 0..15 only, which 16x16 hides, fails here)."""
    top = TopParams(ArrayParams(rows=18, cols=17))
    exe = accel_harness.build_bench(RunSettings(), top)
    for m, k, n in ((19, 1, 18), (36, 2, 34)):
        run = accel_harness.run_bench("icarus", exe, m, k, n, top)
        assert not run.problems, (m, k, n, run.problems)
        assert run.cycles == accel_cycles(m, k, n, top), (m, k, n)
        assert sum(schedule(m, k, n, top).held) > 0, (m, k, n)


def test_the_check_bites_on_a_broken_drain(tmp_path: Path) -> None:
    """The drain never reading the shadow register loses results: the signature must say so.

    1 x 2 x 16 on 4x4: four one-row folds of K = 2; each row is read 1 + 4 cycles after its
    step, so the next fold's result arrives before the read and the older one is in the shadow.
    """
    rtl = mutants.apply(mutants.by_name("shadow_never_read"), build.RTL_DIR, tmp_path / "rtl")
    top = TopParams(ArrayParams(rows=4, cols=4))
    exe = accel_harness.build_bench(RunSettings(build_root=tmp_path / "b", rtl_dir=rtl), top)
    run = accel_harness.run_bench("icarus", exe, 1, 2, 16, top)
    assert any("signature" in x for x in run.problems), run.problems
    good = accel_harness.run_bench(
        "icarus", accel_harness.build_bench(RunSettings(), top), 1, 2, 16, top
    )
    assert not good.problems


def test_a_run_that_does_not_finish_is_an_error() -> None:
    top = TopParams(ArrayParams(rows=2, cols=2))
    exe = accel_harness.build_bench(RunSettings(), top)
    with pytest.raises(SimulatorError, match="did not finish within 5 cycles"):
        accel_harness.run_bench("icarus", exe, 8, 8, 8, top, max_cycles=5)


def test_the_check_bites_on_groups_read_in_reverse(tmp_path: Path) -> None:
    """A drain that reads a fold's groups last first (its beats keep their tkeep and tlast): with
    two rows per beat the words land in the wrong beats, and the signature must say so."""
    rtl = mutants.apply(mutants.by_name("rows_read_reversed"), build.RTL_DIR, tmp_path / "rtl")
    top = TopParams(ArrayParams(rows=4, cols=4), out_rows=2, shadows=2)
    exe = accel_harness.build_bench(RunSettings(build_root=tmp_path / "b", rtl_dir=rtl), top)
    run = accel_harness.run_bench("icarus", exe, 7, 3, 5, top)
    assert any("signature" in x for x in run.problems), run.problems


@pytest.mark.parametrize(("out_rows", "shadows", "depth"), [(1, 1, None), (2, 2, None), (1, 1, 3)])
def test_the_product_register_shifts_the_schedule(
    out_rows: int, shadows: int, depth: int | None
) -> None:
    """MUL_REG = 1: the top passes it to its array, whose results come a cycle later; the top's
    cycles still equal models.accel (which adds the latency to every capture, write and bound),
    and every result word checks."""
    top = TopParams(ArrayParams(rows=3, cols=2, mul_reg=1), depth, out_rows, shadows)
    top0 = TopParams(ArrayParams(rows=3, cols=2), depth, out_rows, shadows)
    exe = accel_harness.build_bench(RunSettings(), top)
    slower = 0
    for m, k, n in SHAPES + _random_shapes(32, 6):
        run = accel_harness.run_bench("icarus", exe, m, k, n, top)
        assert not run.problems, (m, k, n, run.problems)
        assert run.cycles == accel_cycles(m, k, n, top), (m, k, n)
        slower += run.cycles > accel_cycles(m, k, n, top0)
    assert slower == len(SHAPES) + 6  # one cycle of latency is never free


def test_a_stream_run_does_not_depend_on_where_its_folder_is(tmp_path: Path) -> None:
    """The same GEMMs give the same exact results from a folder whose path is longer than the
    harness's 128-character plusarg register, with a non-ASCII name (a build folder deep in a
    user's tree): a run depends on the design only. The harness once got absolute paths, which
    it cut, so it opened no file and saw 0 result beats: the e2e test of the top then failed on
    unchanged RTL whenever the build folder's path was long enough (a false kill)."""
    top = TopParams(ArrayParams(rows=4, cols=4))
    exe = accel_harness.build_bench(RunSettings(), top)
    rng = np.random.default_rng(5)
    gemms = [
        (rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n)))
        for m, k, n in ((9, 3, 6), (4, 1, 5))
    ]
    deep = tmp_path / ("\u00fc" + "x" * 150) / "units.0.conv1"
    assert len(str(deep / "a.hex")) > 128
    for folder in (tmp_path / "s", deep):
        run = accel_harness.run_stream("icarus", exe, gemms, top, folder)
        assert not run.problems, (folder, run.problems)
        assert run.beats == (9 + 4) * 2 and run.cycles > 0  # rows x column folds
        for c, (a, b) in zip(run.results, gemms, strict=True):
            assert c is not None and np.array_equal(c, a @ b), folder
