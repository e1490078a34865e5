"""The accelerator top's checkers (systolic.tb.accel_check) without a simulator: each one passes a
correct recording and fails a broken one with a message that names port or fold, cycle and rule.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from systolic.models import ArrayParams
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
    sb = ResultScoreboard(P, "CTX")
    sb.check(folds, beats, cut)
    with pytest.raises(AccelCheckError) as info:
        sb.raise_if_failed()
    assert "[CTX]" in str(info.value)
    return str(info.value)


def test_scoreboard_passes_a_correct_stream() -> None:
    folds = expected_folds(*_gemm(), P)
    assert [(f.fold.m, f.fold.n) for f in folds] == [(2, 3), (2, 1), (1, 3), (1, 1)]
    sb = ResultScoreboard(P)
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
    sb = ResultScoreboard(P)
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
    assert check_protocol(samples, P) == []
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
    found = [str(v) for v in check_protocol(samples, P)]
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
