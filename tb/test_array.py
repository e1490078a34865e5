"""cocotb tests of ``systolic_array``: every PE checked every cycle, every finished C checked.

Run through ``systolic.engine.runner`` (pytest or ``systolic run``), which builds the RTL and
writes the run configuration (``systolic.tb.config``). Each test is a short scenario built from
the skew contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cocotb
import numpy as np

from systolic.models.array_model import EDGE_PORTS, ArrayTrace, simulate
from systolic.models.fixed import wrap
from systolic.models.gemm import golden_gemm
from systolic.models.params import ArrayParams
from systolic.models.skew import Product, ResetPulse, Stream, pe_delay, schedule
from systolic.models.tiling import assemble, tile_gemm
from systolic.tb.config import RUN
from systolic.tb.env import TB
from systolic.tb.scoreboard import DATA_PORTS, EDGE_OF, Scoreboard, ScoreboardError

#: Multiplier of the random streams' lengths (the nightly tier raises it).
STREAM_SCALE = RUN.stream_scale

#: Longest extreme-operand product test_extremes_wrap streams to make a wide accumulator wrap.
WRAP_STEPS_MAX = 4096

#: The lecture's 3x3 example.
LECTURE_A = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
LECTURE_B = np.array([[9, 8, 7], [6, 5, 4], [3, 2, 1]])


def random_matrix(rng: np.random.Generator, shape: tuple[int, int], p: ArrayParams) -> np.ndarray:
    """Uniform over the whole signed DATA_W range, extremes included."""
    return rng.integers(p.data_min, p.data_max + 1, size=shape, dtype=np.int64)


def random_products(tb: TB, ks: list[int], full: bool = False) -> list[Product]:
    """One product per K; sizes up to the array (or the full array when ``full``)."""
    p, rng = tb.params, tb.rng
    out = []
    for k in ks:
        m = p.rows if full else int(rng.integers(1, p.rows + 1))
        n = p.cols if full else int(rng.integers(1, p.cols + 1))
        out.append(Product(random_matrix(rng, (m, k), p), random_matrix(rng, (k, n), p), f"K={k}"))
    return out


async def run_and_check(
    tb: TB,
    stream: Stream,
    pulses: list[ResetPulse] | None = None,
    expected: ArrayTrace | None = None,
) -> Scoreboard:
    sb = await tb.run(stream, expected=expected, pulses=pulses or ())
    tb.write_stats(sb.passed)
    sb.raise_if_failed()
    return sb


async def check_gemm(tb: TB, a: np.ndarray, b: np.ndarray, bubbles: np.ndarray | None = None):
    """Tile a whole GEMM onto the array, stream it, check every PE and the assembled C."""
    stream = schedule(tile_gemm(a, b, tb.params), tb.params, bubbles=bubbles)
    sb = await tb.run(stream)
    tb.write_stats(sb.passed)
    sb.raise_if_failed()
    got = assemble(sb.finished_results(), a.shape[0], b.shape[1], tb.params)
    want = golden_gemm(a, b, tb.params)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (
        f"assembled C[{bad[0][0]}][{bad[0][1]}]: expected {want[tuple(bad[0])]}, "
        f"got {got[tuple(bad[0])]} [{tb.context}]"
    )


@cocotb.test()
async def test_lecture_3x3(dut):
    """The lecture's example: a 3x3 by 3x3 product (tiled when the array is smaller)."""
    tb = TB(dut, "test_lecture_3x3")
    await tb.start()
    a, b = LECTURE_A, LECTURE_B
    if LECTURE_A.max() > tb.params.data_max:  # DATA_W < 5: the same matrices, wrapped to fit
        a, b = wrap(a, tb.params.data_w), wrap(b, tb.params.data_w)
        tb.log.info(
            "lecture matrices wrapped to DATA_W=%d: A=%s B=%s",
            tb.params.data_w,
            a.tolist(),
            b.tolist(),
        )
    await check_gemm(tb, a, b)


@cocotb.test()
async def test_identity(dut):
    """A times the identity returns A, for K below, at and above the array size."""
    tb = TB(dut, "test_identity")
    await tb.start()
    p = tb.params
    prods = []
    for k in sorted({1, p.cols, 2 * max(p.rows, p.cols)}):
        a = random_matrix(tb.rng, (p.rows, k), p)
        eye = np.eye(k, min(k, p.cols), dtype=np.int64)
        prods.append(Product(a, eye, f"I{k}"))
    await run_and_check(tb, schedule(prods, p))


@cocotb.test()
async def test_zeros(dut):
    """All-zero operands (and zero times non-zero) give zero and keep every strobe right."""
    tb = TB(dut, "test_zeros")
    await tb.start()
    p = tb.params
    z_a, z_b = np.zeros((p.rows, 5), np.int64), np.zeros((5, p.cols), np.int64)
    r_a, r_b = random_matrix(tb.rng, (p.rows, 5), p), random_matrix(tb.rng, (5, p.cols), p)
    prods = [Product(z_a, z_b, "0*0"), Product(z_a, r_b, "0*B"), Product(r_a, z_b, "A*0")]
    await run_and_check(tb, schedule(prods, p))


@cocotb.test()
async def test_extremes_wrap(dut):
    """Operands at both extremes, repeated until the accumulator wraps (when reachable)."""
    tb = TB(dut, "test_extremes_wrap")
    await tb.start()
    p = tb.params
    lo, hi = p.data_min, p.data_max
    # min*min = 2^(2w-2) is the largest product: 2^(acc_w-1) / 2^(2w-2) + 1 of them overflow.
    # Wide accumulators (ACC_W > 2*DATA_W) are driven until they wrap when that takes at most
    # WRAP_STEPS_MAX steps; otherwise the extremes are checked with K = 512.
    k_wrap = (1 << (p.acc_w - 2 * p.data_w + 1)) + 1
    k = k_wrap + 2 if k_wrap + 2 <= WRAP_STEPS_MAX else 512
    prods = []
    for a_val, b_val in ((lo, lo), (lo, hi), (hi, hi), (hi, lo)):
        a = np.full((p.rows, k), a_val, np.int64)
        b = np.full((k, p.cols), b_val, np.int64)
        prods.append(Product(a, b, f"{a_val}*{b_val}x{k}"))
    stream = schedule(prods, p)
    if k >= k_wrap:
        unbounded = k * lo * lo
        assert stream.products[0].expected[0, 0] != unbounded, "the wrap scenario does not wrap"
        assert stream.products[0].expected[0, 0] == int(wrap(np.array([unbounded]), p.acc_w)[0])
        tb.log.info(
            "accumulator wraps: %d*%d*%d = %d mod 2^%d -> %d",
            k,
            lo,
            lo,
            unbounded,
            p.acc_w,
            stream.products[0].expected[0, 0],
        )
    else:
        tb.log.info("ACC_W=%d needs K=%d to wrap; extremes checked with K=%d", p.acc_w, k_wrap, k)
    await run_and_check(tb, stream)


def preload_value(p: ArrayParams) -> int:
    """What test_accumulator_every_bit preloads every accumulator with: the largest positive
    ACC_W-bit sum, 0111...1."""
    return (1 << (p.acc_w - 1)) - 1


def every_bit_steps(p: ArrayParams) -> list[tuple[int, int]]:
    """The (a, b) pairs test_accumulator_every_bit streams from the preload 0111...1: +1 wraps it
    to 1000...0 (every bit flips, the positive wrap), -1 back to 0111...1 (every bit flips, the
    negative wrap), then the extremes: min*min wraps it up by 2^(2*DATA_W-2), min*max and
    max*min down across the wrap again, and max*max lands exactly on the wrap (0111...1 + 1),
    then min*min once more."""
    lo, hi = p.data_min, p.data_max
    return [(1, 1), (-1, 1), (lo, lo), (lo, hi), (hi, lo), (hi, hi), (lo, lo)]


def every_bit_sums(p: ArrayParams) -> list[int]:
    """The accumulator after each step of every_bit_steps, as signed ACC_W-bit values (Python
    ints: the contract's wrap modulo 2^ACC_W, independent of the array's model)."""
    mod, half = 1 << p.acc_w, 1 << (p.acc_w - 1)
    out, acc = [], preload_value(p)
    for a, b in every_bit_steps(p):
        acc = (acc + a * b + half) % mod - half
        out.append(acc)
    return out


def pe_registers(dut: Any, p: ArrayParams, name: str) -> list[list[Any]]:
    """Handle of register ``name`` in every PE, [row][column], of the array or of the two chained
    arrays that make one (engine/hdl/systolic_chain.v)."""
    if getattr(dut, "SOUTH", None) is None:
        return [[dut.g_row[i].g_col[j].u_pe[name] for j in range(p.cols)] for i in range(p.rows)]
    south, split = int(dut.SOUTH.value), int(dut.SPLIT.value)
    pair = dut.g_north_south if south else dut.g_east_west

    def pe(i: int, j: int) -> Any:
        if south:
            arr, i = (pair.u_first, i) if i < split else (pair.u_second, i - split)
        else:
            arr, j = (pair.u_first, j) if j < split else (pair.u_second, j - split)
        return arr.g_row[i].g_col[j].u_pe[name]

    return [[pe(i, j) for j in range(p.cols)] for i in range(p.rows)]


def _plus(values: np.ndarray, offset: int, acc_w: int) -> np.ndarray:
    """``values + offset`` modulo 2^ACC_W, signed (uint64 arithmetic: wraps, never overflows)."""
    total = values.astype(np.uint64) + np.uint64(offset % (1 << 64))
    return wrap(total.view(np.int64), acc_w)


def preloaded_trace(stream: Stream, p: ArrayParams, offset: int) -> ArrayTrace:
    """The cycle model's trace of ``stream`` when every PE's accumulator held ``offset`` at the
    start and the first product has no `first` flag: ``offset`` is added to every accumulator
    until the second product's first pair restarts it, and to every result of the first."""
    trace = simulate(stream.stimulus, p)
    t = np.arange(trace.cycles)[:, None, None]
    first, second = stream.products
    captured = first.capture_cycles()[None]
    restart = (second.steps[0] + pe_delay(*np.indices((p.rows, p.cols))) + p.latency)[None]
    trace.acc = np.where(t < restart, _plus(trace.acc, offset, p.acc_w), trace.acc)
    held = (t >= captured) & (t < second.capture_cycles()[None])
    trace.res = np.where(held, _plus(trace.res, offset, p.acc_w), trace.res)
    return trace


@cocotb.test()
async def test_accumulator_every_bit(dut):
    """Every bit of every accumulator flips and the sum wraps modulo 2^ACC_W at exactly the right
    step, at any ACC_W: every PE's accumulator is preloaded with 0111...1 (a deposit into its
    acc_q after reset: from zero, 2^(ACC_W-2*DATA_W+1) extreme products are needed to get
    there), then one full-array product with no `first` flag adds +1, -1 and the extremes
    (every_bit_steps), and a second product restarts it. Every PE and edge is checked every
    cycle; the first product's C is the preload plus its sum, wrapped."""
    tb = TB(dut, "test_accumulator_every_bit")
    await tb.start()
    p = tb.params
    steps = every_bit_steps(p)
    a = np.array([[x for x, _ in steps]] * p.rows, np.int64)
    b = np.array([[y for _, y in steps]] * p.cols, np.int64).T
    after = random_products(tb, [3], full=True)
    stream = schedule([Product(a, b, "preloaded"), *after], p)
    rows = np.arange(p.rows)
    stream.stimulus.a_first[stream.products[0].steps[0] + rows, rows] = False  # no restart
    offset = preload_value(p)
    sums = [offset, *every_bit_sums(p)]
    # What makes the scenario: +1 flips every bit up across the wrap, -1 every bit back down,
    # and min*min + min*max + max*min + max*max = (min + max)^2 = 1 lands on the wrap again.
    every, low = (1 << p.acc_w) - 1, -(1 << (p.acc_w - 1))
    assert (sums[0] ^ sums[1]) & every == every and (sums[1] ^ sums[2]) & every == every, sums
    assert sums[1] == sums[6] == low and sums[2] == offset, sums
    stream.products[0].expected[:] = sums[-1]
    trace = preloaded_trace(stream, p, offset)
    assert (trace.acc[:, 0, 0] == sums[1]).any() and (trace.res[:, 0, 0] == sums[-1]).any()
    for row in pe_registers(dut, p, "acc_q"):
        for reg in row:
            # Positive: the same bits as an unsigned value. Cut to the register's own width, so
            # that a register narrower than ACC_W is a mismatch the scoreboard names.
            reg.value = offset & ((1 << len(reg)) - 1)
    tb.log.info("accumulators preloaded with %d, then %s: %s", offset, steps, sums[1:])
    await run_and_check(tb, stream, expected=trace)


@cocotb.test()
async def test_reset_between_edges(dut):
    """Asynchronous reset pulses containing no rising edge, while results are strobed and operands
    and flags sit on the east and south edges: every output reads zero right after rst_ni falls
    (before any clock edge), the state restarts from reset, and the products after are exact."""
    tb = TB(dut, "test_reset_between_edges")
    await tb.start()
    p = tb.params
    k = p.rows + p.cols + 2
    stream = schedule(random_products(tb, [k] * 5, full=True), p)
    plain = simulate(stream.stimulus, p)
    # Early in a cycle (before the monitor's sample): product 0's `last` flag leaves on east lane
    # 0 while PE(0, COLS-1) strobes its result. Late in a cycle (released just before the next
    # edge): product 3's `first` flag leaves on east lane 0.
    early = _busy_cycle(plain, k + p.cols - 2, "a_last_o", strobe=True)
    late = _busy_cycle(plain, 3 * k + p.cols - 1, "a_first_o", strobe=False)
    pulses = [ResetPulse(early, early, 0.2, 0.4), ResetPulse(late, late, 0.7, 0.9)]
    sb = await run_and_check(tb, stream, pulses)
    hit = [sp.aborted for sp in sb.stream.products]
    assert hit[0] and hit[3] and not hit[4], f"the pulses hit products {hit} [{tb.context}]"


def _busy_cycle(trace: ArrayTrace, cycle: int, flag: str, strobe: bool) -> int:
    """``cycle``, after checking what a reset pulse after its edge must clear: valid lanes on
    both edges, ``flag`` on east lane 0 and, if asked, a result strobe."""
    edges = trace.edges
    assert edges is not None
    assert edges.a_vld_o[cycle].any() and edges.b_vld_o[cycle].any(), f"edges idle at {cycle}"
    assert getattr(edges, flag)[cycle, 0], f"no {flag} on east lane 0 at cycle {cycle}"
    assert not strobe or trace.res_vld[cycle].any(), f"no strobe at cycle {cycle}"
    return cycle


@cocotb.test()
async def test_reset_release(dut):
    """The first usable cycle: with rst_ni held low over rising edges 1..L and released after
    edge L (early in the cycle, at the falling edge, or just before edge L+1), edge L+1 accepts
    the inputs of cycle L+1 and nothing driven earlier survives."""
    tb = TB(dut, "test_reset_release")
    await tb.start()
    p = tb.params
    held = 3  # L: the last rising edge that sees rst_ni low
    for rise in (0.1, 0.5, 0.9):
        # K = 1 products on every lane, back to back: every PE fires a first+last pair per cycle.
        prods = random_products(tb, [1] * (held + 2 * (p.rows + p.cols)), full=True)
        stream = schedule(prods, p)
        stim = stream.stimulus
        assert (stim.a_vld[held : held + 2, 0] & stim.b_vld[held : held + 2, 0]).all()
        sb = await run_and_check(tb, stream, [ResetPulse(0, held, 0.2, rise)])
        # The release rule on the samples alone: PE(0,0) fired nothing through edge L, then the
        # pair of cycle L+1 (a K = 1 product) at edge L+1, added at edge L+1+MUL_REG.
        pair = int(stim.a[held + 1, 0]) * int(stim.b[held + 1, 0])
        added = held + 1 + p.latency
        assert not (sb.obs_acc[:added].any() or sb.obs_vld[:added].any()), tb.context
        got = (int(sb.obs_acc[added, 0, 0]), bool(sb.obs_vld[added, 0, 0]))
        assert got == (pair, True), f"released at {rise}: PE(0,0) after edge {added}: {got}"
        await tb.reset()


@cocotb.test()
async def test_strobe_and_hold(dut):
    """K = 1 products back to back strobe every PE on consecutive cycles; a finished result stays
    on res_o, with the strobe low, across a long run of bubbles until the PE's next capture."""
    tb = TB(dut, "test_strobe_and_hold")
    await tb.start()
    p = tb.params
    singles, gap = 4, 3 * (p.rows + p.cols)
    prods = random_products(tb, [1] * singles + [3, 2], full=True)
    bubbles = np.zeros(singles + 3 + gap, bool)
    bubbles[singles + 3 :] = True  # between the K = 3 product and the last one
    stream = schedule(prods, p, bubbles=bubbles)
    sb = await run_and_check(tb, stream)
    # The documented statements, on the samples (the scoreboard checks them in every test too).
    caps = np.stack([sp.capture_cycles() for sp in stream.products])  # (products, R, C)
    assert (np.diff(caps[:singles], axis=0) == 1).all(), "the K = 1 captures are not consecutive"
    ii, jj = np.indices((p.rows, p.cols))
    for n in range(singles):
        assert sb.obs_vld[caps[n], ii, jj].all(), f"K = 1 strobe {n} missing [{tb.context}]"
    held, until = caps[singles], caps[singles + 1]
    assert (until - held > gap).all()
    c3 = stream.products[singles].expected
    for d in range(int((until - held).min())):
        assert (sb.obs_res[held + d, ii, jj] == c3).all(), f"result lost {d} cycles after capture"
        assert d == 0 or not sb.obs_vld[held + d, ii, jj].any(), f"strobe repeated at +{d}"


@cocotb.test()
async def test_random_k_sweep(dut):
    """Seeded random products for every K from 1 to 4*max(ROWS, COLS), back to back."""
    tb = TB(dut, "test_random_k_sweep")
    await tb.start()
    p = tb.params
    ks = list(range(1, 4 * max(p.rows, p.cols) + 1))
    tb.rng.shuffle(ks)
    await run_and_check(tb, schedule(random_products(tb, ks), p))


@cocotb.test()
async def test_back_to_back(dut):
    """Many full-array products streamed with no idle cycle and no clear between them."""
    tb = TB(dut, "test_back_to_back")
    await tb.start()
    p = tb.params
    ks = [int(k) for k in tb.rng.integers(1, 2 * max(p.rows, p.cols) + 2, size=40 * STREAM_SCALE)]
    stream = schedule(random_products(tb, ks, full=True), p)
    steps = np.concatenate([sp.steps for sp in stream.products])
    assert np.array_equal(steps, np.arange(steps.size)), "the stream has an idle step"
    await run_and_check(tb, stream)


@cocotb.test()
async def test_valid_bubbles(dut):
    """Random bubbles in the stream; invalid lanes carry random data and flags to prove gating."""
    tb = TB(dut, "test_valid_bubbles")
    await tb.start()
    p, rng = tb.params, tb.rng
    ks = [int(k) for k in rng.integers(1, 3 * max(p.rows, p.cols), size=12 * STREAM_SCALE)]
    prods = random_products(tb, ks)
    total = sum(ks)
    bubbles = rng.random(2 * total) < 0.3
    stream = schedule(prods, p, bubbles=bubbles)
    stim = stream.stimulus
    # Garbage on every invalid lane: data and both flags must be ignored when a pair does not fire.
    stim.a[~stim.a_vld] = random_matrix(rng, stim.a.shape, p)[~stim.a_vld]
    stim.b[~stim.b_vld] = random_matrix(rng, stim.b.shape, p)[~stim.b_vld]
    stim.a_first |= ~stim.a_vld & (rng.random(stim.a.shape) < 0.5)
    stim.a_last |= ~stim.a_vld & (rng.random(stim.a.shape) < 0.5)
    # One side valid alone must not fire either: a valid B lane beside an invalid A lane exists
    # whenever a product uses fewer rows than the array (and vice versa).
    await run_and_check(tb, stream)


@cocotb.test()
async def test_reset_mid_product(dut):
    """Reset in the middle of a product, then a clean product: no trace of the first remains."""
    tb = TB(dut, "test_reset_mid_product")
    await tb.start()
    p = tb.params
    k = 3 * max(p.rows, p.cols)
    first, second = random_products(tb, [k, k], full=True)
    cut = schedule([first], p).with_reset(at_cycle=k // 2 + p.rows, length=3)
    stream = cut.concat(schedule([second], p))
    assert stream.products[0].aborted and not stream.products[1].aborted
    # Right after reset, valid garbage on north lanes 1.. (which the new product's A operands
    # reach only later): it must meet no valid a, since reset cleared every a valid in flight.
    t = cut.cycles
    stim = stream.stimulus
    stim.b_vld[t, 1:] = True
    stim.b[t, 1:] = random_matrix(tb.rng, (1, p.cols - 1), p)
    await run_and_check(tb, stream)


@cocotb.test()
async def test_gemm_tiled(dut):
    """A whole GEMM larger than the array and not a multiple of it, folds back to back."""
    tb = TB(dut, "test_gemm_tiled")
    await tb.start()
    p, rng = tb.params, tb.rng
    m, k, n = 2 * p.rows + 1, int(rng.integers(1, 3 * p.rows + 2)), 2 * p.cols - 1
    await check_gemm(tb, random_matrix(rng, (m, k), p), random_matrix(rng, (k, n), p))


@cocotb.test()
async def test_checker_bites(dut):
    """A deliberately wrong expectation (one PE, one cycle, off by one) must be reported exactly."""
    tb = TB(dut, "test_checker_bites")
    await tb.start()
    p, rng = tb.params, tb.rng
    stream = schedule(random_products(tb, [p.rows + 2, 3], full=True), p)
    expected = simulate(stream.stimulus, p)
    t = int(rng.integers(1, stream.cycles - 1))
    i, j = int(rng.integers(p.rows)), int(rng.integers(p.cols))
    expected.acc[t, i, j] += 1
    sb = await tb.run(stream, expected=expected)
    assert sb.mismatch_count == 1, f"expected exactly one mismatch, got {sb.mismatch_count}"
    try:
        sb.raise_if_failed()
    except ScoreboardError as err:
        msg = str(err)
        assert f"PE({i},{j}) accumulator at cycle {t}" in msg, msg
        assert f"seed={tb.seed}" in msg and f"ROWS={p.rows}" in msg, msg
        tb.log.info("the checker reported the injected error: %s", msg)
    else:
        raise AssertionError("the scoreboard accepted a wrong expectation")
    tb.write_stats(True)


@cocotb.test()
async def test_checker_bites_edges(dut):
    """A wrong expectation on one edge lane at one cycle must be reported exactly: edge, lane,
    cycle, expected and got, with the parameters and the seed."""
    tb = TB(dut, "test_checker_bites_edges")
    await tb.start()
    p, rng = tb.params, tb.rng
    stream = schedule(random_products(tb, [p.rows + p.cols + 2, 3], full=True), p)
    expected = simulate(stream.stimulus, p)
    assert expected.edges is not None
    port = str(rng.choice(EDGE_PORTS))
    lanes = getattr(expected.edges, port)
    t, lane = int(rng.integers(1, stream.cycles - 1)), int(rng.integers(lanes.shape[1]))
    good = int(lanes[t, lane])
    lanes[t, lane] = good ^ 1 if port in DATA_PORTS else not good  # a legal, different value
    bad = int(lanes[t, lane])
    sb = await tb.run(stream, expected=expected)
    assert sb.mismatch_count == 1, f"expected exactly one mismatch, got {sb.mismatch_count}"
    want = f"{EDGE_OF[port]} lane {lane} {port.removesuffix('_o')} at cycle {t}: "
    want += f"expected {bad}, got {good}"
    try:
        sb.raise_if_failed()
    except ScoreboardError as err:
        msg = str(err)
        assert want in msg, f"{want!r} not in {msg!r}"
        assert f"seed={tb.seed}" in msg and f"ROWS={p.rows}" in msg, msg
        tb.log.info("the checker reported the injected edge error: %s", msg)
    else:
        raise AssertionError("the scoreboard accepted a wrong edge expectation")
    tb.write_stats(True)


@cocotb.test(expect_fail=True)
async def test_checker_bites_golden(dut):
    """A wrong golden result must fail the test: this test passes only because it fails."""
    tb = TB(dut, "test_checker_bites_golden")
    await tb.start()
    p = tb.params
    stream = schedule(random_products(tb, [4], full=True), p)
    stream.products[0].expected[-1, -1] ^= 1 << int(tb.rng.integers(p.acc_w - 1))
    sb = await tb.run(stream)
    tb.write_stats(True)
    assert sb.mismatch_count == 1, f"expected exactly one mismatch, got {sb.mismatch_count}"
    try:
        sb.raise_if_failed()
    except ScoreboardError as err:
        assert f"C[{p.rows - 1}][{p.cols - 1}] of product" in str(err), str(err)
        raise  # expect_fail: the test passes because the scoreboard failed it


@cocotb.test(skip=not RUN.gemm_file)
async def test_gemm_file(dut):
    """The GEMM in the run's ``gemm_file`` (npz with int arrays a, b) through the array; writes
    c next to it (``systolic gemm``)."""
    tb = TB(dut, "test_gemm_file")
    assert RUN.gemm_file, "the run names no GEMM file: use `systolic gemm`"
    await tb.start()
    path = Path(RUN.gemm_file)
    with np.load(path, allow_pickle=False) as data:
        a, b = data["a"], data["b"]
    stream = schedule(tile_gemm(a, b, tb.params), tb.params)
    sb = await tb.run(stream)
    tb.write_stats(sb.passed)
    sb.raise_if_failed()
    c = assemble(sb.finished_results(), a.shape[0], b.shape[1], tb.params)
    assert np.array_equal(c, golden_gemm(a, b, tb.params)), f"assembled C differs [{tb.context}]"
    out = path.with_name(path.stem + "_c.npy")
    np.save(out, c)
    tb.log.info("C (%dx%d) written to %s", c.shape[0], c.shape[1], out)
