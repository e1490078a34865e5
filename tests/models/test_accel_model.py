"""models/accel.py: the accelerator top's admission rules, cycles and lower bound.

The model is checked against the RTL in tests/engine/test_accel_harness.py; these tests pin its
arithmetic on cases worked by hand and its invariants on many shapes.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from systolic.errors import OperandError
from systolic.models.accel import (
    FoldShape,
    accel_cycles,
    accel_lower_bound,
    admit_cycles,
    fifo_need,
    gemm_folds,
    no_hold_depth,
    result_beats,
    schedule,
    schedule_folds,
)
from systolic.models.params import ArrayParams, TopParams
from systolic.models.tiling import GemmPlan, plan_folds

P44 = ArrayParams(rows=4, cols=4)


def test_one_fold_by_hand() -> None:
    # 3x3x3 on 4x4: last step accepted in cycle 2, row r complete in cycle 2+1+r+3, written then,
    # on the port one cycle later: rows out in cycles 7, 8, 9 -> 10 cycles inclusive.
    s = schedule(3, 3, 3, TopParams(P44))
    assert s.admit == (2,) and s.first_write == (6,) and s.held == (0,)
    assert s.cycles == 10 == accel_lower_bound(3, 3, 3, TopParams(P44))


def test_k1_folds_wait_for_the_port() -> None:
    # K = 1, full folds: one fold per cycle comes in, but four rows per fold go out: the row
    # writes queue up behind each other until the schedule is full, then admission waits.
    s = schedule(16, 1, 4, TopParams(P44))
    assert s.first_write == (5, 9, 13, 17)
    assert s.cycles == 16 + 5 + 1 == accel_lower_bound(16, 1, 4, TopParams(P44))
    assert sum(s.held) > 0


def test_shadow_rule_holds_a_third_fold() -> None:
    # 1 x 1 x 12 on 1x4: each fold is one row of 4 columns, K = 1, its row written 1 + 4 cycles
    # after its step. Fold 2 must wait until one cycle before fold 0's write (cycle 5 - 1).
    s = schedule(1, 1, 12, TopParams(ArrayParams(rows=1, cols=4)))
    assert s.admit == (0, 1, 4) and s.held == (0, 0, 2) and s.held_by[2] == "shadow"
    assert s.first_write == (5, 6, 9)


def test_small_fifo_holds_folds_back() -> None:
    free = schedule(64, 9, 16, TopParams(P44))
    tight = schedule(64, 9, 16, TopParams(P44, fifo_depth=4))
    assert sum(free.held) == 0 and sum(tight.held) > 0
    assert "room" in tight.held_by[1]
    assert tight.cycles > free.cycles


@pytest.mark.parametrize("rows,cols", [(1, 1), (2, 3), (4, 4), (3, 5), (8, 8)])
def test_lower_bound_and_beats_on_many_shapes(rows: int, cols: int) -> None:
    p = ArrayParams(rows=rows, cols=cols)
    for m, k, n in itertools.product((1, 3, 7, 16), (1, 2, 9, 30), (1, 5, 11)):
        s = schedule(m, k, n, TopParams(p))
        assert accel_lower_bound(m, k, n, TopParams(p)) <= s.cycles, (m, k, n)
        assert len(s.admit) == len(plan_folds(m, n, p))
        assert list(s.admit) == admit_cycles(m, k, n, TopParams(p))
        assert s.cycles == accel_cycles(m, k, n, TopParams(p))
        # Folds in order, each at least K cycles after the one before.
        assert all(b - a >= k for a, b in itertools.pairwise(s.admit))
        assert result_beats(m, n, TopParams(p)) == sum(f.m for f in plan_folds(m, n, p))
        assert s.cycles >= result_beats(m, n, TopParams(p))


def test_default_depth_never_holds_on_the_bench_shapes() -> None:
    """The same on the benchmark list (without ResNet-18) at 4x4, 8x8 and 16x16, both MUL_REG."""
    from systolic.models.workloads import BENCH_GEMMS

    for size, mul_reg in itertools.product((4, 8, 16), (0, 1)):
        p = ArrayParams(rows=size, cols=size, mul_reg=mul_reg)
        for w in BENCH_GEMMS:
            if w.group == "resnet18":
                continue
            s = schedule(w.m, w.k, w.n, TopParams(p, TopParams(p).depth))
            by_room = schedule(w.m, w.k, w.n, TopParams(p, 1024))
            assert s.cycles == by_room.cycles, (size, w.name)


@pytest.mark.parametrize("depth", [0, 3, 1025, True, 4.0])
def test_bad_fifo_depth(depth: object) -> None:
    with pytest.raises(OperandError, match="FIFO depth"):
        schedule(4, 4, 4, TopParams(P44, fifo_depth=depth))  # type: ignore[arg-type]


def test_bad_dimensions() -> None:
    with pytest.raises(OperandError, match="GEMM dimension K"):
        accel_cycles(4, 0, 4, TopParams(P44))


def test_default_depth_never_holds_a_fold_for_room() -> None:
    """docs/architecture.md: with the default FIFO_DEPTH = ROWS + COLS + 2 + L and a sink that
    never stalls, room never holds a fold back: the admissions equal those of an unbounded FIFO
    (both MUL_REG settings)."""
    sizes = (1, 2, 3, 5, 8)
    dims = (1, 2, 3, 5, 8, 13, 17)
    for rows, cols, mul_reg in itertools.product(sizes, sizes, (0, 1)):
        p = ArrayParams(rows=rows, cols=cols, mul_reg=mul_reg)
        for m, k, n in itertools.product(dims, (1, 2, 3, 4, 7, 9, 20), dims):
            got = schedule(m, k, n, TopParams(p, TopParams(p).depth)).admit
            free = schedule(m, k, n, TopParams(p, 1024)).admit
            assert got == free, (rows, cols, mul_reg, m, k, n)


def test_product_register_default_depth_holds_nothing() -> None:
    """issue 24: at MUL_REG=1 the default FIFO (then ROWS + COLS + 2) held folds back with a
    sink that never stalls. The default now covers L: the cycles the rules give without the hold,
    and digits conv1 on 16x16 at its lower bound."""
    for (rows, cols), (m, k, n), before, after in (
        ((1, 1), (1, 1, 6), 11, 10),  # six folds of K = 1
        ((4, 4), (9, 1, 9), 35, 34),
        ((16, 16), (64, 9, 16), 92, 91),  # digits conv1: now at its lower bound
    ):
        p = ArrayParams(rows, cols, mul_reg=1)
        old = schedule(m, k, n, TopParams(p, rows + cols + 2))
        assert old.cycles == before and "room" in ",".join(old.held_by)
        new, free = schedule(m, k, n, TopParams(p)), schedule(m, k, n, TopParams(p, 1024))
        assert new.cycles == after and TopParams(p).depth == rows + cols + 3
        assert new.admit == free.admit  # room holds nothing back
    digits = TopParams(ArrayParams(16, 16, mul_reg=1))
    assert accel_lower_bound(64, 9, 16, digits) == 91
    assert schedule(1, 1, 6, TopParams(ArrayParams(1, 1, mul_reg=1))).peak == 5


def _random_folds(rng: np.random.Generator, p: ArrayParams) -> list[FoldShape]:
    """A stream of folds of random shapes, mostly K = 1 (where the port and the rules bind)."""
    count = int(rng.integers(3, 25))
    ks = rng.choice([1, 1, 1, 2, 3], count)
    ms, ns = rng.integers(1, p.rows + 1, count), rng.integers(1, p.cols + 1, count)
    return [FoldShape(int(k), int(m), int(n)) for k, m, n in zip(ks, ms, ns, strict=True)]


def _holds(folds: list[FoldShape], top: TopParams) -> bool:
    """Room holds some fold of ``folds`` back at ``top``'s depth (vs a FIFO that never fills)."""
    free = TopParams(top.array, 1024, top.out_rows, top.shadows)
    return schedule_folds(folds, top).admit != schedule_folds(folds, free).admit


def test_no_hold_depth_rule() -> None:
    """docs/architecture.md: at no_hold_depth no stream of folds is held for room (random
    streams and GEMMs); where ROWS + COLS <= (SHADOWS + 2) * ceil(ROWS / OUT_ROWS) one entry less
    holds the GEMM ROWS x 1 x COLS * (D + 2) back; the default depth is never below the rule; and
    a stream's own need (fifo_need) is exact: no hold at it, a hold one below."""
    rng = np.random.default_rng(24)
    tight = 0
    for rows, cols, mul_reg in itertools.product((1, 2, 3, 5), (1, 2, 4, 7), (0, 1)):
        p = ArrayParams(rows, cols, mul_reg=mul_reg)
        for out_rows, shadows in itertools.product(sorted({1, 2, rows}), (1, 2, 3)):
            if out_rows > rows:
                continue
            rule = no_hold_depth(TopParams(p, None, out_rows, shadows))
            top = TopParams(p, rule, out_rows, shadows)
            assert TopParams(p, None, out_rows, shadows).depth >= rule
            streams = [_random_folds(rng, p) for _ in range(8)]
            streams += [gemm_folds(m, 1, n, p) for m, n in ((rows, cols * 9), (2 * rows, 5))]
            for folds in streams:
                assert not _holds(folds, top), (p, out_rows, shadows, folds)
                need = fifo_need(folds, top)
                assert need <= rule and not _holds(folds, TopParams(p, need, out_rows, shadows))
                if need > rows:
                    assert _holds(folds, TopParams(p, need - 1, out_rows, shadows))
            if rows + cols <= (shadows + 2) * -(-rows // out_rows) and rule > rows:
                witness = gemm_folds(rows, 1, cols * (rule + 2), p)
                assert _holds(witness, TopParams(p, rule - 1, out_rows, shadows)), top
                tight += 1
    assert tight > 100


def test_doc_timing_diagram() -> None:
    """The timing diagram in docs/architecture.md is what ``timing_diagram`` prints today."""
    from pathlib import Path

    from systolic.models.accel import timing_diagram

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"<!-- timing-diagram: (.*?) -->\n```\n(.*?)\n```", doc, re.S)
    assert len(blocks) == 3
    for spec, block in blocks:
        m, k, n, size, *opts = spec.split()
        rows, cols = map(int, size.split("x"))
        kw = {key: int(v) for key, v in (o.split("=") for o in opts)}
        assert block == timing_diagram(
            int(m), int(k), int(n), TopParams(ArrayParams(rows, cols), **kw)
        )


def test_doc_shadow_registers_example() -> None:
    """docs/architecture.md: 6x1x2 on a 2x2 top, two rows per beat: with one shadow register fold
    c waits one cycle for fold a's first write (cycle 4); with two it does not (8 cycles, not 9)."""
    p = ArrayParams(2, 2)
    one = schedule(6, 1, 2, TopParams(p, None, 2, 1))
    two = schedule(6, 1, 2, TopParams(p, None, 2, 2))
    assert one.held == (0, 0, 1) and one.held_by[2] == "shadow" and one.first_write[0] == 4
    assert one.admit[2] == 3 and one.cycles == 9
    assert sum(two.held) == 0 and two.cycles == 8


def test_timing_diagram_marks_every_event() -> None:
    from systolic.models.accel import timing_diagram

    text = timing_diagram(6, 1, 2, TopParams(ArrayParams(2, 2)))
    rows = {}
    for line in text.splitlines()[1:]:
        name, cells = re.split(r"\s{2,}", line, maxsplit=1)
        rows[name] = cells.split()
    s = schedule(6, 1, 2, TopParams(ArrayParams(2, 2)))
    assert [i for i, c in enumerate(rows["tlast in"]) if c == "1"] == list(s.admit)
    assert rows["held"].count("H") == sum(s.held) == 2
    # docs/architecture.md: the slots rule holds folds b and c back, one cycle each.
    assert s.held == (0, 1, 1) and s.held_by == ("", "slots", "slots")
    assert rows["C row out"].count(".") == s.cycles - 6  # six rows, one beat each
    assert len(rows["FIFO write"]) == s.cycles


def test_digits_conv1_on_16x16_is_port_bound() -> None:
    """docs/gemm.md: digits conv1 (64x9x16) on a 16x16 top is bound by its one result port to
    90 cycles, and the top's schedule reaches that bound."""
    p = ArrayParams(rows=16, cols=16)
    assert accel_lower_bound(64, 9, 16, TopParams(p)) == accel_cycles(64, 9, 16, TopParams(p)) == 90


# ------------------------------------------------------------------------------------------------
# Wider result port (OUT_ROWS) and more shadow registers (SHADOWS)
# ------------------------------------------------------------------------------------------------


def test_groups_by_hand() -> None:
    # 4x3x3 on 4x4, two rows per beat: the last step is accepted in cycle 2; rows 0-1 are
    # complete from cycle 2 + 3 + 2 = 7, rows 2-3 from 2 + 3 + 4 = 9: two beats, out in cycles 8
    # and 10 -> 11 cycles inclusive, which is the lower bound.
    s = schedule(4, 3, 3, TopParams(P44, out_rows=2))
    assert s.admit == (2,) and s.writes == ((7, 9),)
    assert s.cycles == 11 == accel_lower_bound(4, 3, 3, TopParams(P44, out_rows=2))
    assert result_beats(4, 3, TopParams(P44, out_rows=2)) == 2
    assert result_beats(5, 3, TopParams(P44, out_rows=2)) == 3  # folds of 4 and 1 rows: 2 + 1 beats


def test_one_row_per_beat_writes_rows_back_to_back() -> None:
    p = ArrayParams(rows=3, cols=2)
    for m, k, n in itertools.product((1, 3, 7), (1, 2, 9), (1, 2, 5)):
        s = schedule(m, k, n, TopParams(p))
        folds = plan_folds(m, n, p)
        assert [list(w) for w in s.writes] == [
            list(range(first, first + f.m)) for first, f in zip(s.first_write, folds, strict=True)
        ]


@pytest.mark.parametrize(
    ("rows", "cols", "out_rows", "shadows"),
    [
        (r, c, o, sh)
        for (r, c), (o, sh) in itertools.product(
            [(2, 3), (4, 4), (5, 3)], [(2, 1), (2, 2), (3, 2), (1, 3)]
        )
        if o <= r  # OUT_ROWS is 1..ROWS
    ],
)
def test_wide_port_invariants(rows: int, cols: int, out_rows: int, shadows: int) -> None:
    p = ArrayParams(rows=rows, cols=cols)
    for m, k, n in itertools.product((1, 3, 7, 16), (1, 2, 9), (1, 5, 11)):
        s = schedule(m, k, n, TopParams(p, None, out_rows, shadows))
        assert accel_lower_bound(m, k, n, TopParams(p, out_rows=out_rows)) <= s.cycles, (m, k, n)
        beats = [w for fold in s.writes for w in fold]
        assert len(beats) == result_beats(m, n, TopParams(p, out_rows=out_rows))
        # One FIFO write per cycle at most, in order; every fold's first write is its writes[0].
        assert all(b > a for a, b in itertools.pairwise(beats))
        assert s.first_write == tuple(w[0] for w in s.writes)
        # With a sink that never stalls, the default FIFO depth never holds a fold for room.
        assert s.admit == schedule(m, k, n, TopParams(p, 1024, out_rows, shadows)).admit


def test_digits_conv1_on_16x16_with_two_rows_per_beat() -> None:
    """docs/gemm.md: with two rows (32 words) per beat, digits conv1 on a 16x16 top is held back
    by the shadow rule with one shadow register per PE (74 cycles, lower bound 69), and reaches
    the lower bound with two (69 cycles)."""
    p = ArrayParams(rows=16, cols=16)
    one = schedule(64, 9, 16, TopParams(p, None, 2, 1))
    two = schedule(64, 9, 16, TopParams(p, None, 2, 2))
    assert accel_lower_bound(64, 9, 16, TopParams(p, out_rows=2)) == 69
    assert one.cycles == 74 and one.held == (0, 0, 0, 5) and one.held_by[3] == "shadow"
    assert one.first_write[1] == 41  # behind fold 0's groups
    assert two.cycles == 69 and sum(two.held) == 0
    # The array alone takes 66 cycles, SCALE-Sim 156: 69 is 0.442 of SCALE-Sim.
    plan = GemmPlan(64, 9, 16, p)
    assert plan.cycles == 66 and plan.scalesim_cycles == 156
    assert round(two.cycles / plan.scalesim_cycles, 3) == 0.442


@pytest.mark.parametrize(
    ("out_rows", "shadows", "match"),
    [
        (0, 1, "rows per result beat"),
        (5, 1, "rows per result beat"),
        (True, 1, "rows per result beat"),
        (1, 0, "shadow registers"),
        (1, 5, "shadow registers"),
        (1, 2.0, "shadow registers"),
    ],
)
def test_bad_port_parameters(out_rows: object, shadows: object, match: str) -> None:
    with pytest.raises(OperandError, match=match):
        schedule(4, 4, 4, TopParams(P44, None, out_rows, shadows))  # type: ignore[arg-type]


def test_doc_result_port_table() -> None:
    """docs/gemm.md's result-port table: every figure that the model gives (the benchmark
    checked the top's cycles equal to the model on every GEMM) is the model's, over the whole
    benchmark list, with SCALE-Sim's formula (equal to its runs, tests/bench)."""
    import math
    from pathlib import Path

    from systolic.models.workloads import BENCH_GEMMS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "gemm.md").read_text()
    table = doc.split("<!-- port-table -->\n", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert len(table) == 6
    for line in table:
        size, out_rows, words, shadows, g_ss, worst, _, conv1, conv1_ss = (
            c.strip() for c in line.strip("|").split("|")
        )
        r, c = map(int, size.split("x"))
        p = ArrayParams(rows=r, cols=c)
        o, s = int(out_rows), int(shadows)
        assert int(words) == o * c
        ratios, over_lb = [], []
        for w in BENCH_GEMMS:
            cycles = accel_cycles(w.m, w.k, w.n, TopParams(p, None, o, s))
            ratios.append(cycles / GemmPlan(w.m, w.k, w.n, p).scalesim_cycles)
            over_lb.append(cycles / accel_lower_bound(w.m, w.k, w.n, TopParams(p, out_rows=o)))
        assert float(g_ss) == round(math.exp(sum(map(math.log, ratios)) / len(ratios)), 3)
        assert float(worst) == round(max(over_lb), 4)
        assert int(conv1) == accel_cycles(64, 9, 16, TopParams(p, None, o, s))
        assert float(conv1_ss) == round(int(conv1) / GemmPlan(64, 9, 16, p).scalesim_cycles, 3)


def test_product_register_by_hand() -> None:
    # The 3x3x3 example of test_one_fold_by_hand with MUL_REG = 1: every capture is one edge
    # later, so the rows are written in cycles 7, 8, 9 and the GEMM takes 11 cycles.
    p = ArrayParams(rows=4, cols=4, mul_reg=1)
    s = schedule(3, 3, 3, TopParams(p))
    assert s.admit == (2,) and s.first_write == (7,) and s.held == (0,)
    assert s.cycles == 11 == accel_lower_bound(3, 3, 3, TopParams(p))


@pytest.mark.parametrize(("out_rows", "shadows"), [(1, 1), (2, 2), (3, 1)])
def test_product_register_shifts_an_unheld_schedule(out_rows: int, shadows: int) -> None:
    """With MUL_REG = 1 and no fold held back at either setting, every write and the total are
    exactly one cycle later; the lower bound holds at both settings."""
    p0, p1 = ArrayParams(rows=3, cols=4), ArrayParams(rows=3, cols=4, mul_reg=1)
    shifted = 0
    for m, k, n in itertools.product((1, 3, 7, 16), (1, 2, 9), (1, 5, 11)):
        s0 = schedule(m, k, n, TopParams(p0, None, out_rows, shadows))
        s1 = schedule(m, k, n, TopParams(p1, None, out_rows, shadows))
        assert accel_lower_bound(m, k, n, TopParams(p1, out_rows=out_rows)) <= s1.cycles
        assert (
            accel_lower_bound(m, k, n, TopParams(p1, out_rows=out_rows))
            == accel_lower_bound(m, k, n, TopParams(p0, out_rows=out_rows)) + 1
        )
        if sum(s0.held) == sum(s1.held) == 0:
            assert s1.writes == tuple(tuple(w + 1 for w in f) for f in s0.writes)
            assert s1.cycles == s0.cycles + 1
            shifted += 1
    assert shifted > 20


def test_top_params_is_one_checked_value() -> None:
    """TopParams carries the array and the result port as one frozen value: the derived
    figures, the HDL parameters (FIFO_DEPTH only when given, OUT_ROWS and SHADOWS only when not
    the RTL's defaults, so build folders keep their names) and a tag."""
    top = TopParams(ArrayParams(4, 3, mul_reg=1), out_rows=2, shadows=2)
    assert (top.depth, top.slots, top.latency, top.words) == (4 + 3 + 2 + 1, 4 + 3 + 1 + 1, 1, 6)
    assert top.hdl_parameters() == {
        "ROWS": 4,
        "COLS": 3,
        "DATA_W": 8,
        "ACC_W": 32,
        "MUL_REG": 1,
        "OUT_ROWS": 2,
        "SHADOWS": 2,
    }
    assert TopParams(P44).hdl_parameters() == P44.hdl_parameters()
    assert TopParams(P44, 9).hdl_parameters() == {**P44.hdl_parameters(), "FIFO_DEPTH": 9}
    assert top.tag == "r4c3_d8_a32_m1_o2s2" and TopParams(P44, 9).tag == "r4c4_d8_a32_f9"
    assert {top: 1}[TopParams(ArrayParams(4, 3, mul_reg=1), None, 2, 2)] == 1  # hashable, equal


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fifo_depth": 3}, r"FIFO depth must be 4\.\.1024"),
        ({"fifo_depth": 1025}, "FIFO depth"),
        ({"fifo_depth": 4.0}, "FIFO depth must be an integer"),
        ({"out_rows": 5}, r"rows per result beat must be 1\.\.4"),
        ({"shadows": 0}, r"shadow registers per PE must be 1\.\.4"),
        ({"shadows": False}, "shadow registers per PE must be an integer"),
    ],
)
def test_top_params_refuses_what_the_rtl_refuses(kwargs: dict, match: str) -> None:
    with pytest.raises(OperandError, match=match):
        TopParams(P44, **kwargs)
