"""cocotb tests of the accelerator top ``systolic_accel`` (rtl/systolic_accel.v).

Every test drives whole GEMMs through the AXI4-Stream ports (``systolic.tb.accel.AccelTB``) and
ends with ``AccelTB.check``: the AXI4-Stream rules on every port every cycle, the skew contract
of the inner array's edge inputs, every PE of ``u_array`` every cycle against the array's cycle
model, and every result beat against NumPy. Run through ``systolic.engine.runner`` with
``test_module=ACCEL_TEST_MODULE`` and ``top=accel_top(params)`` (tests/tb/test_accel_sim.py).
"""

from __future__ import annotations

import dataclasses

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge

from systolic.models.accel import accel_cycles, admit_cycles, groups, schedule
from systolic.models.array_model import simulate
from systolic.models.params import ArrayParams
from systolic.tb.accel import AccelTB
from systolic.tb.accel_check import AccelCheckError, ExpectedFold, ResultBeat, ResultScoreboard
from systolic.tb.scoreboard import ScoreboardError


def random_matrix(rng: np.random.Generator, shape: tuple[int, int], p: ArrayParams) -> np.ndarray:
    """Uniform over the whole signed DATA_W range, extremes included."""
    return rng.integers(p.data_min, p.data_max + 1, size=shape, dtype=np.int64)


def edge_gemm(
    tb: AccelTB, k: int, row_folds: int = 2, col_folds: int = 2, ragged: bool = False
) -> tuple:
    """A random GEMM whose M and N are not multiples of ROWS and COLS (when the array has more
    than one row / column): the last fold of each row and column of folds is an edge fold.
    ``ragged``: with OUT_ROWS > 1, the edge folds' rows are not a multiple of OUT_ROWS either
    (their last result beat carries fewer than OUT_ROWS rows)."""
    p, rng = tb.params, tb.rng
    if p.rows == 1:
        m = row_folds
    elif ragged and tb.top.out_rows > 1:
        edge_rows = [r for r in range(1, p.rows) if r % tb.top.out_rows]  # 1 is one
        m = (row_folds - 1) * p.rows + edge_rows[int(rng.integers(len(edge_rows)))]
    else:
        m = (row_folds - 1) * p.rows + int(rng.integers(1, p.rows))
    n = (col_folds - 1) * p.cols + int(rng.integers(1, p.cols)) if p.cols > 1 else col_folds
    return random_matrix(rng, (m, k), p), random_matrix(rng, (k, n), p)


async def finish(tb: AccelTB) -> ResultScoreboard:
    """Run every check, write the statistics either way, return the result scoreboard."""
    try:
        sb = tb.check()
    except AssertionError:
        tb.write_stats(False)
        raise
    tb.write_stats(True)
    return sb


async def run_gemms(tb: AccelTB, gemms: list[tuple]) -> ResultScoreboard:
    """Queue every GEMM back to back, wait for all results, check."""
    for a, b in gemms:
        await tb.send_gemm(a, b)
    await tb.wait_results()
    sb = await finish(tb)
    got, want = sb.folds_per_epoch[-1], len(tb.epochs[-1])
    assert got == want, f"{got} of {want} folds checked [{tb.context}]"
    return sb


@cocotb.test()
async def test_tiled_edge_folds(dut):
    """A tiled GEMM with edge folds on both sides (M, N not multiples of ROWS, COLS), then a
    second one straight after it in the same stream."""
    tb = AccelTB(dut, "test_tiled_edge_folds")
    await tb.start()
    k = int(tb.rng.integers(3, 9))
    await run_gemms(tb, [edge_gemm(tb, k), edge_gemm(tb, k + 1, 1, 3)])


@cocotb.test()
async def test_k1(dut):
    """K = 1: every beat is a fold's last step, so admission (slots, shadow) decides the pace."""
    tb = AccelTB(dut, "test_k1")
    await tb.start()
    await run_gemms(tb, [edge_gemm(tb, 1, 3, 2, ragged=True)])


@cocotb.test()
async def test_long_k(dut):
    """K = 64: long folds, results of one fold leave while the next streams in."""
    tb = AccelTB(dut, "test_long_k")
    await tb.start()
    await run_gemms(tb, [edge_gemm(tb, 64, 2, 1)])


@cocotb.test()
async def test_backpressure(dut):
    """Random pauses on both sources and stalls of the sink (bursts): the FIFO fills, folds are
    held back at their last step, and still every result comes out once, in order."""
    tb = AccelTB(dut, "test_backpressure")
    tb.set_backpressure(a=0.3, b=0.3, c=0.5)
    await tb.start()
    k = int(tb.rng.integers(1, 4))
    await run_gemms(tb, [edge_gemm(tb, k, 3, 2), edge_gemm(tb, 1, 2, 2), edge_gemm(tb, 5)])


@cocotb.test()
async def test_fifo_fills(dut):
    """A sink that stalls until the result FIFO is full, at any FIFO_DEPTH (ROWS .. 1024): a
    GEMM of K = 1 with M >> ROWS (full folds of every row, enough of them to fill the FIFO
    twice over at a small depth) streams in while the sink takes nothing. The room rule must
    then hold a fold's last step back for longer than the write schedule (nothing left in
    flight), the FIFO must hold every beat it has room for and, once the sink takes one beat
    per cycle, deliver them back to back; every result beat exact and in order."""
    tb = AccelTB(dut, "test_fifo_fills")
    await tb.start()
    p = tb.params
    per_fold = groups(p.rows, tb.top.out_rows)  # beats of a full fold
    room = tb.top.depth // per_fold * per_fold  # the beats the room rule lets in
    folds = tb.top.depth // per_fold + 3
    a = random_matrix(tb.rng, (folds * p.rows, 1), p)
    b = random_matrix(tb.rng, (1, p.cols), p)
    tb.sink.pause = True
    await tb.send_gemm(a, b)
    # Filling takes a cycle per beat; a FIFO that never fills is released after 4 times that,
    # so that the checks below name what came out wrong.
    held, hold = 0, p.rows + p.cols + 2 + p.latency  # longer than any write still scheduled
    limit = tb.sampler.cycle + 4 * (folds * (per_fold + 1) + hold)
    while held <= hold and tb.sampler.cycle < limit:
        await FallingEdge(dut.clk_i)
        s = tb.sampler.samples[-1]
        held = held + 1 if s.a.tvalid == 1 and s.a.tready == 0 else 0
    release = tb.sampler.cycle
    tb.sink.pause = False
    await run_gemms(tb, [])
    assert held > hold, (
        f"the input was never held back while the sink stalled {release} cycles: the FIFO of "
        f"{tb.top.depth} entries never filled [{tb.context}]"
    )
    fires = [s.c.fire for s in tb.sampler.samples[release:]]
    first = fires.index(True)  # the sink takes beats from the rising edge after the release
    burst = [*fires[first:], False].index(False)
    assert burst >= room, (
        f"after the stall the FIFO delivered {burst} beats back to back, it had room for "
        f"{room} of them (FIFO_DEPTH {tb.top.depth}) [{tb.context}]"
    )


def held_gemms(tb: AccelTB) -> list[tuple]:
    """For each admission rule (room, slots, shadow) that can hold a fold back at the DUT's
    parameters with sources that never pause: a random K = 1 GEMM of up to 3 x 3 folds that
    models.accel holds back by that rule, by it alone when there is one (so that the admit
    cycles show the rule); none for a rule that never binds there."""
    p, rng = tb.params, tb.rng
    rules = ("room", "slots", "shadow")
    alone: dict[str, list[tuple[int, int]]] = {rule: [] for rule in rules}
    among: dict[str, list[tuple[int, int]]] = {rule: [] for rule in rules}
    for m in range(1, 3 * p.rows + 1):
        for n in range(1, 3 * p.cols + 1):
            held = schedule(m, 1, n, tb.top).held_by
            for rule in rules:
                if rule in held:
                    alone[rule].append((m, n))
                elif any(rule in h.split(",") for h in held):
                    among[rule].append((m, n))
    out = []
    for rule in rules:
        shapes = alone[rule] or among[rule]
        if shapes:
            m, n = shapes[int(rng.integers(len(shapes)))]
            out.append((random_matrix(rng, (m, 1), p), random_matrix(rng, (1, n), p)))
    return out


@cocotb.test()
async def test_no_pause_cycles(dut):
    """Sources that never pause and a sink that never stalls: the cycle count from the first
    accepted operand beat to the last result beat, and the cycle each fold's last step is
    admitted, equal models.accel's. After GEMMs of K = 1, 2 and ROWS + COLS with edge folds, a
    K = 1 GEMM held back by each admission rule that can bind at these parameters."""
    tb = AccelTB(dut, "test_no_pause_cycles")
    await tb.start()
    p = tb.params
    gemms = [edge_gemm(tb, k, 2, 2) for k in (1, 2, p.rows + p.cols)]
    for a, b in [*gemms, *held_gemms(tb)]:
        k = a.shape[1]
        start = tb.sampler.cycle
        await run_gemms(tb, [(a, b)])
        samples = tb.sampler.samples[start:]
        steps = [n for n, s in enumerate(samples) if s.a.fire]
        beats = [n for n, s in enumerate(samples) if s.c.fire]
        c0 = steps[0]
        got_admit = [n - c0 for n in steps if samples[n].a.tlast]
        m, n = a.shape[0], b.shape[1]
        shape = (m, k, n, tb.top)
        want_admit = admit_cycles(*shape)
        assert got_admit == want_admit, (
            f"M={m} K={k} N={n}: folds admitted in cycles {got_admit}, models.accel says "
            f"{want_admit} [{tb.context}]"
        )
        got = beats[-1] - c0 + 1
        want = accel_cycles(*shape)
        assert got == want, (
            f"M={m} K={k} N={n}: {got} cycles from the first operand beat to the last result "
            f"beat, models.accel says {want} [{tb.context}]"
        )


def _count(handle: object) -> int | None:
    """A counter's value, None when it has X or Z bits."""
    try:
        return int(handle.value)  # type: ignore[attr-defined]
    except ValueError:
        return None


@cocotb.test()
async def test_reset_mid_stream(dut):
    """rst_ni asserted while operands are in flight, results are waiting in the FIFO and a PE
    holds a result not yet read (the drain's pending count): nothing of the first GEMM comes out
    after the reset, and a new GEMM afterwards is exact (a pending count the reset left behind
    would read the new results from the wrong register)."""
    tb = AccelTB(dut, "test_reset_mid_stream")
    tb.set_backpressure(c=0.6)  # results pile up in the FIFO
    await tb.start()
    a, b = edge_gemm(tb, 6, 3, 2)
    await tb.send_gemm(a, b)
    p = tb.params
    drain = [dut.g_drain_row[r].g_drain_col[j] for r in range(p.rows) for j in range(p.cols)]
    # Reset once a fold's results are out, more wait in the FIFO, operands still stream in and a
    # PE's result is captured but not yet read into the FIFO, still after the next rising edge
    # (the reset comes just after it): a PE with an unread result (pend_q) that this edge does
    # not read (its `read`, decided by the state the falling edge sees), or with two. Such a
    # cycle depends on the sink's pauses: another GEMM follows while none has come (up to 6).
    sent, waited, limit = 1, 0, tb.timeout_cycles()
    while waited < limit:
        if tb.source_a.empty() and sent < 6:
            await tb.send_gemm(*edge_gemm(tb, 6, 3, 2))
            sent += 1
            limit = waited + tb.timeout_cycles()
        await FallingEdge(dut.clk_i)
        waited += 1
        last = tb.sampler.samples[-1]
        kept = False
        for pe in drain:
            count, read = _count(pe.pend_q), _count(pe["read"])
            # X: unread as far as anyone can tell (a reset must clear it).
            kept |= count is None or count > (read if read is not None else 1)
        if tb.sampler.frames_since_reset >= 1 and last.c.tvalid and last.a.tvalid and kept:
            break
    else:
        raise AssertionError(
            f"no cycle with results waiting, operands streaming and a PE's result unread "
            f"in {sent} GEMMs [{tb.context}]"
        )
    await tb.reset()
    tb.set_backpressure(a=0.2, b=0.2, c=0.3)
    await run_gemms(tb, [edge_gemm(tb, 4, 2, 2)])
    assert len(tb.epochs) == 2 and tb.cuts, tb.context


@cocotb.test()
async def test_checker_bites(dut):
    """The checks fail, naming what and where, on a real recording with one thing broken: the
    result scoreboard on a corrupted expected word, a dropped beat, a cleared tkeep bit and a
    tlast moved, the per-PE check of the inner array on a corrupted model value."""
    tb = AccelTB(dut, "test_checker_bites")
    await tb.start()
    await run_gemms(tb, [edge_gemm(tb, 3, 2, 2)])
    folds, beats = tb.epochs[0], tb.result_beats()[0]

    def fails(folds_: list[ExpectedFold], beats_: list[ResultBeat], needle: str) -> None:
        sb = ResultScoreboard(tb.top, tb.context)
        sb.check(folds_, beats_, cut=False)
        try:
            sb.raise_if_failed()
        except AccelCheckError as exc:
            assert needle in str(exc) and tb.context in str(exc), f"wrong message: {exc}"
            return
        raise AssertionError(f"the result scoreboard passed a broken stream ({needle})")

    bad = folds[1].c.copy()
    bad[0, 0] += 1
    wrong = [*folds[:1], dataclasses.replace(folds[1], c=bad), *folds[2:]]
    row0 = next(b for b in beats if b.tlast).cycle + 1  # fold 1's first beat follows fold 0's
    first_of_fold1 = next(b.cycle for b in beats if b.cycle >= row0)
    where = "row 0" if tb.top.out_rows == 1 else "beat 0 row 0"
    fails(wrong, beats, f"{folds[1].label} {where} at cycle {first_of_fold1}: C word 0 expected")
    dropped = [b for b in beats if b.cycle != first_of_fold1]
    g = groups(folds[1].fold.m, tb.top.out_rows)
    # A fold of one beat loses its whole frame: then the folds after it are one short.
    lost = f"({len(folds) - 1} of {len(folds)} folds received)"
    fails(folds, dropped, f"{folds[1].label}: {g - 1} result beats, expected" if g > 1 else lost)
    # The highest kept bit of fold 1's first beat cleared: its last row of that beat, last column.
    first = next(n for n, b in enumerate(beats) if b.cycle == first_of_fold1)
    keep = beats[first].tkeep
    cleared = [
        *beats[:first],
        dataclasses.replace(beats[first], tkeep=keep & ~(1 << keep.bit_length() - 1)),
        *beats[first + 1 :],
    ]
    fails(folds, cleared, f"at cycle {first_of_fold1}: tkeep expected {keep:#x}")
    # tlast moved from fold 0's last beat to fold 1's first: fold 0's frame runs into fold 1's.
    end0 = next(n for n, b in enumerate(beats) if b.tlast)
    moved = [
        dataclasses.replace(b, tlast=int(n == first or (b.tlast == 1 and n != end0)))
        for n, b in enumerate(beats)
    ]
    fails(folds, moved, f"{folds[0].label}: ")

    # The inner array: one accumulator of the model changed where a pair fired.
    stim = tb.recorded_stimulus()
    trace = simulate(stim, tb.params)
    cycle, i, j = (int(x) for x in np.argwhere(trace.fire)[len(np.argwhere(trace.fire)) // 2])
    trace.acc[cycle, i, j] += 1
    array_sb = tb.check_array(stim, trace)
    try:
        array_sb.raise_if_failed()
    except ScoreboardError as exc:
        want = f"PE({i},{j}) accumulator at cycle {cycle}: expected {trace.acc[cycle, i, j]}"
        assert str(exc).startswith(want) and tb.context in str(exc), f"wrong message: {exc}"
    else:
        raise AssertionError("the per-PE check passed a corrupted model")
