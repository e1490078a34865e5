"""The scoreboard and the models behind it, without a simulator: edge outputs, reset pulses and
the result-hold check, each shown to report exactly what was broken."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.errors import OperandError
from systolic.models import ArrayParams, Product, schedule, simulate
from systolic.models.array_model import EDGE_PORTS, edge_outputs
from systolic.models.fixed import pack_lanes
from systolic.models.skew import ResetPulse, Stream, pulsed_model_inputs
from systolic.tb.scoreboard import DATA_PORTS, Scoreboard

P = ArrayParams(3, 4, 8, 32)


def _stream(p: ArrayParams = P, ks: tuple[int, ...] = (5, 1, 1, 6), seed: int = 0) -> Stream:
    rng = np.random.default_rng(seed)
    prods = [
        Product(
            rng.integers(p.data_min, p.data_max + 1, (p.rows, k)),
            rng.integers(p.data_min, p.data_max + 1, (k, p.cols)),
        )
        for k in ks
    ]
    return schedule(prods, p)


def _packed(trace, data_w: int) -> list[tuple[int, ...]]:
    cols = [
        pack_lanes(lanes, data_w if name in DATA_PORTS else 1)
        for name, lanes in trace.edges.fields().items()
    ]
    return list(zip(*cols, strict=True))


def _replay(sb: Scoreboard, trace, edges: list[tuple[int, ...]] | None = None) -> None:
    """Feed the scoreboard a DUT that behaves exactly like ``trace`` (edges may be overridden)."""
    packed = edges if edges is not None else _packed(trace, sb.stream.params.data_w)
    for t in range(trace.cycles):
        sb.check_cycle(t, trace.acc[t], trace.res[t], trace.res_vld[t], packed[t])
    sb.check_results()


def test_a_dut_equal_to_the_model_passes() -> None:
    stream = _stream()
    trace = simulate(stream.stimulus, P)
    sb = Scoreboard(stream, trace)
    _replay(sb, trace)
    assert sb.passed and sb.edge_checks == trace.cycles and sb.products_checked == 4


@pytest.mark.parametrize("port", EDGE_PORTS)
def test_an_edge_lane_wrong_at_one_cycle_is_named(port: str) -> None:
    stream = _stream()
    trace = simulate(stream.stimulus, P)
    lanes = getattr(trace.edges, port)
    t = int(np.flatnonzero(trace.edges.a_vld_o.any(axis=1))[2])
    lane = lanes.shape[1] - 1
    dut = simulate(stream.stimulus, P)
    good = getattr(dut.edges, port)
    good[t, lane] = good[t, lane] ^ 1 if port in DATA_PORTS else not good[t, lane]
    sb = Scoreboard(stream, trace, "ctx")
    _replay(sb, trace, _packed(dut, P.data_w))
    edge = "east" if port.startswith("a") else "south"
    want = f"{edge} lane {lane} {port[:-2]} at cycle {t}: "
    want += f"expected {int(lanes[t, lane])}, got {int(good[t, lane])}"
    assert sb.mismatch_count == 1 and str(sb.mismatches[0]) == want


def test_a_result_not_held_is_reported_without_the_model() -> None:
    """The hold check works on the samples: a result that changes between captures (here the
    model agrees, so only the hold check can see it) is named with PE, cycle and capture."""
    stream = _stream(ks=(2, 9))
    trace = simulate(stream.stimulus, P)
    cap = int(stream.products[0].capture_cycles()[1, 2])
    trace.res[cap + 3, 1, 2] += 1  # DUT and model both "lose" the result three cycles later
    trace.res_vld[cap + 4, 1, 2] = True  # and strobe it again
    sb = Scoreboard(stream, trace)
    _replay(sb, trace)
    msgs = [str(m) for m in sb.mismatches]
    assert any(
        m.startswith(f"PE(1,2) result (captured at cycle {cap}, not held) at cycle {cap + 3}")
        for m in msgs
    ), msgs
    assert any(f"strobe not one cycle) at cycle {cap + 4}" in m for m in msgs), msgs


def test_the_hold_window_ends_at_the_next_capture_and_at_reset() -> None:
    """K = 1 products back to back: each window is one cycle, and a reset ends a window."""
    stream = _stream(ks=(1, 1, 1, 4)).with_reset(at_cycle=9, length=2)
    trace = simulate(stream.stimulus, P)
    sb = Scoreboard(stream, trace)
    _replay(sb, trace)
    assert sb.passed, [str(m) for m in sb.mismatches]


def test_outputs_read_during_reset_must_be_zero() -> None:
    stream = _stream()
    trace = simulate(stream.stimulus, P)
    t, note = 7, "100 ps after rst_ni fell"
    packed = _packed(trace, P.data_w)[t]
    zeros = np.zeros_like(trace.acc[t])
    assert trace.acc[t].any() and packed[EDGE_PORTS.index("a_vld_o")]
    sb = Scoreboard(stream, trace)
    sb.check_cleared(t, note, trace.acc[t], zeros, zeros.astype(bool), (0,) * len(EDGE_PORTS))
    i, j = np.argwhere(trace.acc[t] != 0)[0]
    want = f"PE({i},{j}) accumulator {note} at cycle {t}: expected 0, got {trace.acc[t, i, j]}"
    assert str(sb.mismatches[0]) == want
    sb = Scoreboard(stream, trace)
    sb.check_cleared(t, note, zeros, zeros, zeros.astype(bool), packed)
    lane = int(np.flatnonzero(trace.edges.a_vld_o[t])[0])
    msgs = [str(m) for m in sb.mismatches]
    assert f"east lane {lane} a_vld {note} at cycle {t}: expected 0, got 1" in msgs, msgs


def test_edge_outputs_are_the_inputs_delayed() -> None:
    """Closed form and register model agree, resets and garbage on invalid lanes included; east
    lane i after edge t is west lane i of cycle t-(COLS-1) (seen by a chained array in cycle t+1,
    i.e. COLS cycles after it entered)."""
    for p in (P, ArrayParams(1, 1, 2, 4), ArrayParams(2, 5, 5, 11)):
        stim = _stream(p).with_reset(at_cycle=6, length=2).concat(_stream(p, seed=1)).stimulus
        rng = np.random.default_rng(2)
        stim.a[~stim.a_vld] = rng.integers(p.data_min, p.data_max + 1, stim.a.shape)[~stim.a_vld]
        stim.a_first |= ~stim.a_vld
        model, closed = simulate(stim, p).edges, edge_outputs(stim, p)
        for name in EDGE_PORTS:
            assert np.array_equal(getattr(model, name), getattr(closed, name)), (p, name)
        t = 11 + p.cols  # after the reset (cycles 6, 7)
        assert np.array_equal(model.a_o[t], stim.a[t - (p.cols - 1)])
        assert np.array_equal(model.b_vld_o[t], stim.b_vld[t - (p.rows - 1)])
        assert not model.a_vld_o[6].any() and not model.b_vld_o[7].any()


def test_reset_pulse_in_model_terms() -> None:
    """Early fall: the sample of its edge shows reset; late fall: the next edge starts from
    reset and works; held edges change nothing; the products hit are exactly those spoiled."""
    stream = _stream(ks=(5, 5, 5))
    early, late = ResetPulse(4, 4, 0.2, 0.4), ResetPulse(12, 14, 0.7, 0.1)
    stim, cleared = pulsed_model_inputs(stream.stimulus, [early, late])
    assert np.flatnonzero(stim.rst).tolist() == [4, 13, 14]
    assert np.flatnonzero(cleared).tolist() == [13]
    assert not stream.stimulus.rst.any()  # the driven stimulus is left alone
    trace = simulate(stim, P, cleared)
    assert not trace.acc[4].any() and not trace.acc[13:15].any()
    hit = [sp.aborted for sp in stream.with_pulses([early, late]).products]
    assert hit == [True, True, True]  # product 1 (steps 5..9) is still running at edge 13
    assert [sp.aborted for sp in stream.with_pulses([ResetPulse(17, 17, 0.7, 0.9)]).products] == [
        False,
        False,
        True,
    ]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"after_edge": 3, "until_edge": 3, "fall": 0.5, "rise": 0.9},
        {"after_edge": 3, "until_edge": 3, "fall": 0.4, "rise": 0.3},
        {"after_edge": 3, "until_edge": 2},
        {"after_edge": 3, "until_edge": 4, "fall": 1.0},
    ],
)
def test_bad_reset_pulses_are_refused(kwargs: dict) -> None:
    with pytest.raises(OperandError):
        ResetPulse(**kwargs)
