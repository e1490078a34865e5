"""The accelerator top's checkers (systolic.tb.accel_check) without a simulator: each one passes a
correct recording and fails a broken one with a message that names port or fold, cycle and rule.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from systolic.models import ArrayParams, TopParams
from systolic.models.fixed import pack_lanes
from systolic.tb.accel_check import (
    IDLE_BEAT,
    AccelCheckError,
    Beat,
    PortSample,
    ResultBeat,
    ResultScoreboard,
    check_contract,
    check_protocol,
    contract_stimulus,
    expected_folds,
    is_prefix_mask,
    result_keep,
    split_result_keep,
)

P = ArrayParams(2, 3, 8, 32)


def _gemm(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, (3, 4)), rng.integers(-128, 128, (4, 4))  # 2x2 folds, edges


def _beats(folds: list, start: int = 10) -> list[ResultBeat]:
    """The result beats a correct top sends for ``folds``, one per cycle from ``start``."""
    out, cycle = [], start
    for f in folds:
        for r in range(f.fold.m):
            row = np.zeros(P.cols, np.int64)
            row[: f.fold.n] = f.c[r]
            data = pack_lanes(row[None, :], P.acc_w)[0]
            out.append(ResultBeat(cycle, data, (1 << f.fold.n) - 1, int(r == f.fold.m - 1)))
            cycle += 1
    return out


def _failure(folds: list, beats: list[ResultBeat], cut: bool = False) -> str:
    sb = ResultScoreboard(TopParams(P), "CTX")
    sb.check(folds, beats, cut)
    with pytest.raises(AccelCheckError) as info:
        sb.raise_if_failed()
    assert "[CTX]" in str(info.value)
    return str(info.value)


def test_scoreboard_passes_a_correct_stream() -> None:
    folds = expected_folds(*_gemm(), P)
    assert [(f.fold.m, f.fold.n) for f in folds] == [(2, 3), (2, 1), (1, 3), (1, 1)]
    sb = ResultScoreboard(TopParams(P))
    sb.check(folds, _beats(folds), cut=False)
    sb.raise_if_failed()
    assert sb.folds_checked == len(folds) and sb.beats_checked == 6


def test_scoreboard_names_a_corrupted_word() -> None:
    folds = expected_folds(*_gemm(), P)
    bad = folds[1].c.copy()
    bad[1, 0] ^= 4
    wrong = [*folds[:1], dataclasses.replace(folds[1], c=bad), *folds[2:]]
    msg = _failure(wrong, _beats(folds))
    assert msg.startswith(f"{folds[1].label} row 1 at cycle 13: C word 0 expected {bad[1, 0]}")


def test_scoreboard_names_a_dropped_beat() -> None:
    folds = expected_folds(*_gemm(), P)
    beats = _beats(folds)
    del beats[2]  # fold 1's row 0
    msg = _failure(folds, beats)
    assert msg.startswith(f"{folds[1].label}: 1 result beats, expected 2 (one per fold row)")


def test_scoreboard_names_a_missing_tlast_and_a_missing_fold() -> None:
    folds = expected_folds(*_gemm(), P)
    beats = _beats(folds)
    beats[1] = dataclasses.replace(beats[1], tlast=0)  # fold 0 runs into fold 1
    assert f"{folds[0].label}: 4 result beats, expected 2" in _failure(folds, beats)
    msg = _failure(folds, _beats(folds)[:-1])
    assert msg.startswith(f"{folds[3].label}: no complete result frame after cycle 14")
    extra = _beats(folds) + _beats(folds[:1], start=30)
    assert _failure(folds, extra).startswith("unexpected result beat at cycle 30")


def test_scoreboard_tkeep_and_cut_epochs() -> None:
    folds = expected_folds(*_gemm(), P)
    beats = _beats(folds)
    beats[2] = dataclasses.replace(beats[2], tkeep=0b111)
    assert "row 0 at cycle 12: tkeep expected 0x1, got 0x7" in _failure(folds, beats)
    # An epoch ended by a reset may stop anywhere, but what came out must be right.
    sb = ResultScoreboard(TopParams(P))
    sb.check(folds, _beats(folds)[:3], cut=True)
    sb.raise_if_failed()
    assert sb.folds_per_epoch == [1]


def _axis(tdata: int, tkeep: int, tlast: int, tvalid: int, tready: int) -> Beat:
    return Beat(tdata, tkeep, tlast, tvalid, tready)


def _step(keep_a: int, keep_b: int, last: int, ready: int = 1, data: int = 5) -> PortSample:
    return PortSample(
        False,
        _axis(data, keep_a, last, 1, ready),
        _axis(data, keep_b, last, 1, ready),
        IDLE_BEAT,
    )


def test_protocol_passes_a_correct_recording() -> None:
    rst = PortSample(True, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT)
    waits = _step(0b11, 0b1, 1, ready=0)
    samples = [rst, _step(0b11, 0b1, 0), waits, waits, _step(0b11, 0b1, 1), _step(0b1, 0b111, 1)]
    assert check_protocol(samples, TopParams(P)) == []
    assert is_prefix_mask(0b111) and not is_prefix_mask(0b101) and not is_prefix_mask(0)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            [_step(0b11, 0b1, 1, ready=0), _step(0b11, 0b1, 1, ready=1, data=6)],
            "s_axis_a at cycle 2: payload changed while waiting for tready",
        ),
        (
            [_step(0b11, 0b1, 1, ready=0), PortSample(False, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT)],
            "s_axis_a at cycle 2: tvalid dropped before the handshake",
        ),
        ([_step(0b10, 0b1, 1)], "s_axis_a at cycle 1: tkeep 0x2 is not a non-empty prefix"),
        (
            [_step(0b11, 0b1, 0), _step(0b1, 0b1, 1)],
            "s_axis_a at cycle 2: tkeep 0x1 differs from the fold's 0x3",
        ),
        (
            [PortSample(False, _axis(1, 1, 1, 1, 1), _axis(1, 1, 0, 1, 1), IDLE_BEAT)],
            "s_axis_a at cycle 1: tlast 1 but s_axis_b_tlast 0",
        ),
        (
            [PortSample(False, _axis(1, 1, 1, 1, 1), _axis(1, 1, 1, 0, 0), IDLE_BEAT)],
            "s_axis_a at cycle 1: tready differs from s_axis_b_tready",
        ),
        (
            [PortSample(True, IDLE_BEAT, IDLE_BEAT, _axis(0, 1, 1, 1, 0))],
            "m_axis_c at cycle 1: tvalid is not low during reset",
        ),
        (
            [PortSample(False, IDLE_BEAT, IDLE_BEAT, _axis(None, 1, 1, 1, 1))],  # type: ignore[arg-type]
            "m_axis_c at cycle 1: tvalid high with X/Z in the payload",
        ),
    ],
)
def test_protocol_checker_bites(broken: list[PortSample], message: str) -> None:
    samples = [PortSample(True, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT), *broken]
    found = [str(v) for v in check_protocol(samples, TopParams(P))]
    assert any(v.startswith(message) for v in found), found


def test_contract_stimulus_and_check() -> None:
    rst = PortSample(True, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT)
    a0, b0 = pack_lanes(np.array([[3, -4]]), 8)[0], pack_lanes(np.array([[7, 0, 0]]), 8)[0]
    step = PortSample(False, _axis(a0, 0b11, 1, 1, 1), _axis(b0, 0b1, 1, 1, 1), IDLE_BEAT)
    idle = PortSample(False, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT)
    want = contract_stimulus([rst, step, idle, idle, idle], P)
    # Accepted in cycle 1: west lane i in cycle 2+i, north lane 0 in cycle 2; first and last.
    assert want.a_vld[:, 0].tolist() == [0, 0, 1, 0, 0]
    assert want.a_vld[:, 1].tolist() == [0, 0, 0, 1, 0]
    assert (want.a[2, 0], want.a[3, 1], want.b[2, 0]) == (3, -4, 7)
    assert want.a_first[2, 0] and want.a_last[3, 1] and not want.b_vld[:, 1:].any()
    assert check_contract(want, want) == []
    late = dataclasses.replace(want, a_vld=np.roll(want.a_vld, 1, axis=0))
    assert "west lane 0 valid at cycle 2: expected 1, got 0" in check_contract(want, late)


# ---------------------------------------------------------------------------------------------
# OUT_ROWS > 1: each result beat carries a group of OUT_ROWS rows of a fold.
# ---------------------------------------------------------------------------------------------

P3 = ArrayParams(3, 2, 8, 32)
OUT = 2  # OUT_ROWS: a full fold (3 rows) is two beats, rows 0-1 and row 2
T3 = TopParams(P3, out_rows=OUT)


def _gemm3(seed: int = 1) -> list:
    """Folds of rows 3, 3, 1, 1 and columns 2, 1, 2, 1: full and short groups, edge columns."""
    rng = np.random.default_rng(seed)
    return expected_folds(rng.integers(-128, 128, (4, 5)), rng.integers(-128, 128, (5, 3)), P3)


def _group_beats(folds: list, start: int = 10, junk: int = 0) -> list[ResultBeat]:
    """The beats a correct top with OUT_ROWS = 2 sends for ``folds``, one per cycle from
    ``start``; the lanes tkeep does not keep carry ``junk``."""
    out, cycle = [], start
    for f in folds:
        n_beats = -(-f.fold.m // OUT)
        for g in range(n_beats):
            rows = f.c[g * OUT : (g + 1) * OUT]
            lanes = np.full((OUT, P3.cols), junk, np.int64)
            lanes[: len(rows), : f.fold.n] = rows
            data = pack_lanes(lanes.reshape(1, -1), P3.acc_w)[0]
            keep = result_keep(len(rows), f.fold.n, P3)
            out.append(ResultBeat(cycle, data, keep, int(g == n_beats - 1)))
            cycle += 1
    return out


def _group_failure(folds: list, beats: list[ResultBeat], cut: bool = False) -> str:
    sb = ResultScoreboard(T3, "CTX")
    sb.check(folds, beats, cut)
    with pytest.raises(AccelCheckError) as info:
        sb.raise_if_failed()
    assert "[CTX]" in str(info.value)
    return str(info.value)


def _result_samples(beats: list[ResultBeat]) -> list[PortSample]:
    """A recording of ``beats`` on m_axis_c, one accepted beat per cycle after a reset cycle."""
    rst = PortSample(True, IDLE_BEAT, IDLE_BEAT, IDLE_BEAT)
    return [rst] + [
        PortSample(False, IDLE_BEAT, IDLE_BEAT, _axis(b.tdata, b.tkeep, b.tlast, 1, 1))
        for b in beats
    ]


def test_result_keep_is_rows_times_columns() -> None:
    assert result_keep(1, 2, P3) == 0b0011 and result_keep(2, 1, P3) == 0b0101
    assert result_keep(2, 2, P3) == 0b1111
    assert split_result_keep(0b0101, T3) == (2, 1)
    assert split_result_keep(0b0011, T3) == (1, 2)
    assert split_result_keep(0b0011, TopParams(P3)) == (1, 2)  # OUT_ROWS = 1: a plain column prefix
    for bad in (0, 0b0100, 0b1001, 0b0111, 0b0010, 0b1_0011):  # no row 0, mixed, too wide
        assert split_result_keep(bad, T3) is None, bin(bad)
    # Rows must be a prefix: rows 0 and 2 without row 1 is not a pattern.
    assert split_result_keep(0b01_00_01, TopParams(P3, out_rows=3)) is None
    assert split_result_keep(0b00_01_01, TopParams(P3, out_rows=3)) == (2, 1)


def test_group_scoreboard_passes_a_correct_stream() -> None:
    folds = _gemm3()
    assert [(f.fold.m, f.fold.n) for f in folds] == [(3, 2), (3, 1), (1, 2), (1, 1)]
    beats = _group_beats(folds, junk=-7)  # words tkeep does not keep are not checked
    assert [b.tkeep for b in beats] == [0b1111, 0b0011, 0b0101, 0b0001, 0b0011, 0b0001]
    sb = ResultScoreboard(T3)
    sb.check(folds, beats, cut=False)
    sb.raise_if_failed()
    assert sb.folds_checked == 4 and sb.beats_checked == 6
    assert check_protocol(_result_samples(beats), T3) == []
    # The same beats read as one row per beat are wrong: the checker uses OUT_ROWS.
    assert _failure_with(TopParams(P3), folds, beats).startswith(
        f"{folds[0].label}: 2 result beats, expected 3 (one per fold row)"
    )


def _failure_with(top: TopParams, folds: list, beats: list[ResultBeat]) -> str:
    sb = ResultScoreboard(top, "CTX")
    sb.check(folds, beats, cut=False)
    assert not sb.passed
    return sb.errors[0]


def test_group_scoreboard_names_a_wrong_word() -> None:
    folds = _gemm3()
    beats = _group_beats(folds)
    # Fold 0's row 1 is row 1 of its beat 0 (cycle 10): lanes COLS .. 2*COLS-1.
    words = beats[0].words(T3).copy()
    words[1, 1] += 3
    beats[0] = dataclasses.replace(beats[0], tdata=pack_lanes(words.reshape(1, -1), 32)[0])
    msg = _group_failure(folds, beats)
    assert msg.startswith(
        f"{folds[0].label} beat 0 row 1 at cycle 10: C word 1 expected {folds[0].c[1, 1]}, "
        f"got {folds[0].c[1, 1] + 3}"
    )
    # And a wrong expectation of row 2 (beat 1, row 0 of the beat).
    bad = folds[0].c.copy()
    bad[2, 0] ^= 8
    wrong = [dataclasses.replace(folds[0], c=bad), *folds[1:]]
    msg = _group_failure(wrong, _group_beats(folds))
    assert msg.startswith(
        f"{folds[0].label} beat 1 row 2 at cycle 11: C word 0 expected {bad[2, 0]}"
    )


def test_group_checkers_name_a_wrong_row_keep_bit() -> None:
    folds = _gemm3()
    beats = _group_beats(folds)
    # Fold 0's beat 1 carries only row 2: row 3 (the beat's second row) kept is wrong.
    extra = [*beats[:1], dataclasses.replace(beats[1], tkeep=0b1111), *beats[2:]]
    msg = _group_failure(folds, extra)
    assert msg.startswith(
        f"{folds[0].label} beat 1 (rows 2..2) at cycle 11: tkeep expected 0x3, got 0xf "
        "(row 3 column 0: expected not kept, got kept)"
    )
    # Fold 0's beat 0 with row 1 dropped from tkeep: the scoreboard names row 1, and the
    # protocol checker sees a short beat without tlast.
    short = [dataclasses.replace(beats[0], tkeep=0b0011), *beats[1:]]
    msg = _group_failure(folds, short)
    assert msg.startswith(
        f"{folds[0].label} beat 0 (rows 0..1) at cycle 10: tkeep expected 0xf, got 0x3 "
        "(row 1 column 0: expected kept, got not kept)"
    )
    found = [str(v) for v in check_protocol(_result_samples(short), T3)]
    assert found == [
        "m_axis_c at cycle 1: tkeep 0x3 keeps 1 of OUT_ROWS=2 rows on a beat without tlast"
    ]


def test_group_scoreboard_names_a_missing_beat() -> None:
    folds = _gemm3()
    beats = _group_beats(folds)
    del beats[0]  # fold 0's first beat (rows 0 and 1)
    msg = _group_failure(folds, beats)
    assert msg.startswith(
        f"{folds[0].label}: 1 result beats, expected 2 (one per OUT_ROWS=2 fold rows), "
        "frame ends at cycle 11"
    )
    # The last fold's only beat lost: the epoch is a fold short.
    msg = _group_failure(folds, _group_beats(folds)[:-1])
    assert msg.startswith(f"{folds[3].label}: no complete result frame after cycle 14")


def test_group_scoreboard_names_a_wrong_tlast() -> None:
    folds = _gemm3()
    beats = _group_beats(folds)
    early = [dataclasses.replace(beats[0], tlast=1), *beats[1:]]  # fold 0 ends a beat early
    msg = _group_failure(folds, early)
    assert msg.startswith(f"{folds[0].label}: 1 result beats, expected 2")
    late = [beats[0], dataclasses.replace(beats[1], tlast=0), *beats[2:]]  # runs into fold 1
    msg = _group_failure(folds, late)
    assert msg.startswith(f"{folds[0].label}: 4 result beats, expected 2")
    assert f"{folds[0].label} beat 1 (rows 2..2) at cycle 11: tlast expected 1, got 0" in msg
    # A cut epoch may stop after any beat, but a prefix that came out must be right.
    sb = ResultScoreboard(T3)
    sb.check(folds, beats[:3], cut=True)
    sb.raise_if_failed()
    assert sb.folds_per_epoch == [1]


@pytest.mark.parametrize(
    ("keeps", "message"),
    [
        ([(0b1001, 1)], "m_axis_c at cycle 1: tkeep 0x9 is not a row x column pattern"),
        ([(0b0110, 1)], "m_axis_c at cycle 1: tkeep 0x6 is not a row x column pattern"),
        ([(0b1_0011, 1)], "m_axis_c at cycle 1: tdata wider than OUT_ROWS*COLS*ACC_W"),
        ([(0b1111, 0), (0b0001, 1)], "m_axis_c at cycle 2: tkeep keeps 1 columns, the frame's"),
        ([(0b0101, 0)], "m_axis_c at cycle 1: tkeep 0x5 keeps 2 of OUT_ROWS=2 rows"),
    ],
)
def test_group_protocol_checker_bites(keeps: list[tuple[int, int]], message: str) -> None:
    """m_axis_c's tkeep is OUT_ROWS*COLS bits: the row-keep x column-keep pattern."""
    beats = [ResultBeat(n, 1, keep, last) for n, (keep, last) in enumerate(keeps)]
    if "tdata wider" in message:
        beats = [dataclasses.replace(beats[0], tdata=1 << (OUT * P3.cols * P3.acc_w))]
    found = [str(v) for v in check_protocol(_result_samples(beats), T3)]
    if "keeps 2 of" in message:  # a full beat without tlast is fine: this one must pass
        assert found == []
        return
    assert any(v.startswith(message) for v in found), found
