"""Checkers of the accelerator top (rtl/systolic_accel.v) that need no simulator.

Everything here works on what the sampler of ``systolic.tb.accel`` recorded, one ``PortSample``
per cycle: the AXI4-Stream protocol rules of every port (``check_protocol``), the model of the
result stream (``expected_folds``), the result scoreboard (``ResultScoreboard``) and the skew
contract of the array's edge inputs (``contract_stimulus``). Pure Python and NumPy, so the
checkers are unit-tested in tests/tb without a simulator (and shown to bite there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from systolic.models.accel import groups
from systolic.models.fixed import unpack_lanes
from systolic.models.gemm import golden_gemm
from systolic.models.params import ArrayParams, TopParams
from systolic.models.skew import EdgeStimulus
from systolic.models.tiling import Fold, plan_folds

#: How many individual mismatches a failure message lists (as tb/scoreboard.py).
MAX_LISTED = 8

#: The three AXI4-Stream ports of the top; A and B are slave inputs, C the master output.
PORTS = ("s_axis_a", "s_axis_b", "m_axis_c")
SLAVE_PORTS = PORTS[:2]


class AccelCheckError(AssertionError):
    """A failed check of the accelerator top (an AssertionError, so cocotb fails the test)."""


@dataclass(frozen=True)
class Beat:
    """One cycle of one AXI4-Stream port as sampled (None: the bits were X or Z)."""

    tdata: int | None
    tkeep: int | None
    tlast: int | None
    tvalid: int | None
    tready: int | None

    @property
    def fire(self) -> bool:
        """The handshake: tvalid and tready both 1 at the rising edge that ends the cycle."""
        return self.tvalid == 1 and self.tready == 1

    @property
    def payload(self) -> tuple[int | None, int | None, int | None]:
        return self.tdata, self.tkeep, self.tlast


IDLE_BEAT = Beat(0, 0, 0, 0, 0)


@dataclass(frozen=True)
class PortSample:
    """Every port of the top in one cycle, sampled between rising edges (what the next edge
    sees); ``rst`` is True while rst_ni is low."""

    rst: bool
    a: Beat
    b: Beat
    c: Beat

    def port(self, name: str) -> Beat:
        return {"s_axis_a": self.a, "s_axis_b": self.b, "m_axis_c": self.c}[name]


# ---------------------------------------------------------------------------------------------
# AXI4-Stream protocol.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtocolViolation:
    port: str
    cycle: int
    rule: str

    def __str__(self) -> str:
        return f"{self.port} at cycle {self.cycle}: {self.rule}"


def is_prefix_mask(keep: int) -> bool:
    """A non-empty prefix of lanes: 0b1, 0b11, 0b111, ..."""
    return keep > 0 and keep & (keep + 1) == 0


def result_keep(rows: int, n: int, params: ArrayParams) -> int:
    """m_axis_c's tkeep of a beat that carries ``rows`` rows of a fold of ``n`` columns: bit
    p*COLS + j for p < rows and j < n (the row-keep x column-keep pattern)."""
    col = (1 << n) - 1
    return sum(col << (p * params.cols) for p in range(rows))


def split_result_keep(keep: int, top: TopParams) -> tuple[int, int] | None:
    """(rows, columns) of an m_axis_c tkeep that is ``result_keep(rows, columns)`` with
    1 <= rows <= OUT_ROWS and 1 <= columns <= COLS; None for any other pattern."""
    cols, out_rows = top.array.cols, top.out_rows
    lane = (1 << cols) - 1
    col = keep & lane
    if keep >> (out_rows * cols) or not is_prefix_mask(col):
        return None
    rows = 0
    for p in range(out_rows):
        part = (keep >> (p * cols)) & lane
        if part == col and rows == p:
            rows += 1
        elif part != 0:
            return None
    return rows, col.bit_length()


def check_protocol(samples: Sequence[PortSample], top: TopParams) -> list[ProtocolViolation]:
    """Every AXI4-Stream rule the top's ports must keep, every port, every cycle.

    All ports: tvalid low while rst_ni is low; tvalid never X or Z out of reset; once tvalid is
    high without tready, tvalid stays high and tdata, tkeep and tlast stay unchanged until the
    handshake (a reset ends the transfer); a valid payload has no X or Z bits.
    Slave inputs, as the header requires: tkeep a non-empty prefix of lanes, the same on every
    beat of a fold; tlast on the same beat of A and B. The top's handshake: both tready are the
    same wire and high only while both tvalid are.
    The result stream (OUT_ROWS rows of COLS words per beat), as the header
    promises: tdata and tkeep no wider than OUT_ROWS*COLS*ACC_W and OUT_ROWS*COLS bits; tkeep
    the row-keep x column-keep pattern (``result_keep``: a non-empty prefix of the OUT_ROWS rows,
    each with the same non-empty prefix of columns), the same columns on every beat of a frame,
    and fewer than OUT_ROWS rows only on a frame's last beat (tlast).
    """
    out: list[ProtocolViolation] = []
    fold_keep: dict[str, int | None] = dict.fromkeys(PORTS)
    prev: PortSample | None = None
    for cycle, s in enumerate(samples):
        for name in PORTS:
            beat = s.port(name)
            if s.rst:
                if beat.tvalid != 0:
                    out.append(ProtocolViolation(name, cycle, "tvalid is not low during reset"))
                continue
            if beat.tvalid is None or beat.tready is None:
                out.append(ProtocolViolation(name, cycle, "tvalid or tready is X/Z"))
                continue
            if beat.tvalid and None in beat.payload:
                out.append(ProtocolViolation(name, cycle, "tvalid high with X/Z in the payload"))
            if prev is not None and not prev.rst:
                before = prev.port(name)
                if before.tvalid == 1 and before.tready == 0:
                    if beat.tvalid != 1:
                        out.append(
                            ProtocolViolation(
                                name, cycle, "tvalid dropped before the handshake (tready low)"
                            )
                        )
                    elif beat.payload != before.payload:
                        out.append(
                            ProtocolViolation(
                                name,
                                cycle,
                                f"payload changed while waiting for tready: tdata/tkeep/tlast "
                                f"{_hexes(before.payload)} -> {_hexes(beat.payload)}",
                            )
                        )
        if s.rst:
            fold_keep = dict.fromkeys(PORTS)  # the next beat starts a new fold
            prev = s
            continue
        out += _check_slave_beats(cycle, s, fold_keep)
        out += _check_result_beat(cycle, s.c, fold_keep, top)
        prev = s
    return out


def _check_result_beat(
    cycle: int, beat: Beat, fold_keep: dict[str, int | None], top: TopParams
) -> list[ProtocolViolation]:
    """The header's rules of an accepted m_axis_c beat (updates ``fold_keep["m_axis_c"]``: the
    frame's column keep)."""
    if not beat.fire or beat.tkeep is None:
        return []
    name, out = "m_axis_c", []
    params, out_rows, words = top.array, top.out_rows, top.words
    if beat.tdata is not None and beat.tdata >> (words * params.acc_w):
        out.append(
            ProtocolViolation(
                name, cycle, f"tdata wider than OUT_ROWS*COLS*ACC_W = {words * params.acc_w} bits"
            )
        )
    shape = split_result_keep(beat.tkeep, top)
    if shape is None:
        out.append(
            ProtocolViolation(
                name,
                cycle,
                f"tkeep {beat.tkeep:#x} is not a row x column pattern (a non-empty prefix of the "
                f"OUT_ROWS={out_rows} rows, each keeping the same non-empty prefix of the "
                f"COLS={params.cols} columns)",
            )
        )
        fold_keep[name] = None if beat.tlast else fold_keep[name]
        return out
    rows, n = shape
    want = fold_keep[name]
    if want is not None and n != want:
        out.append(
            ProtocolViolation(
                name, cycle, f"tkeep keeps {n} columns, the frame's earlier beats {want}"
            )
        )
    if rows < out_rows and not beat.tlast:
        out.append(
            ProtocolViolation(
                name,
                cycle,
                f"tkeep {beat.tkeep:#x} keeps {rows} of OUT_ROWS={out_rows} rows on a beat "
                "without tlast",
            )
        )
    fold_keep[name] = None if beat.tlast else n
    return out


def _check_slave_beats(
    cycle: int, s: PortSample, fold_keep: dict[str, int | None]
) -> list[ProtocolViolation]:
    """The header's rules of the operand streams for one cycle (updates ``fold_keep``)."""
    out = []
    if s.a.tready != s.b.tready:
        out.append(ProtocolViolation("s_axis_a", cycle, "tready differs from s_axis_b_tready"))
    if s.a.tready and not (s.a.tvalid and s.b.tvalid):
        out.append(
            ProtocolViolation("s_axis_a", cycle, "tready high while not both tvalid are high")
        )
    for name, beat in (("s_axis_a", s.a), ("s_axis_b", s.b)):
        if not beat.fire or beat.tkeep is None:
            continue
        if not is_prefix_mask(beat.tkeep):
            out.append(
                ProtocolViolation(name, cycle, f"tkeep {beat.tkeep:#x} is not a non-empty prefix")
            )
        want = fold_keep[name]
        if want is not None and beat.tkeep != want:
            out.append(
                ProtocolViolation(
                    name, cycle, f"tkeep {beat.tkeep:#x} differs from the fold's {want:#x}"
                )
            )
        fold_keep[name] = None if beat.tlast else beat.tkeep
    if s.a.fire and s.b.fire and s.a.tlast != s.b.tlast:
        out.append(
            ProtocolViolation(
                "s_axis_a", cycle, f"tlast {s.a.tlast} but s_axis_b_tlast {s.b.tlast}"
            )
        )
    return out


def _hexes(values: tuple[int | None, ...]) -> str:
    return "/".join("X" if v is None else f"{v:#x}" for v in values)


# ---------------------------------------------------------------------------------------------
# Model of the result stream.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedFold:
    """One fold of a GEMM: its place in C and its m x n result tile (ACC_W, two's complement)."""

    gemm: int  # which GEMM of the test (0, 1, ...)
    fold: Fold
    c: np.ndarray  # (m, n) int64
    k: int  # steps (beats per operand frame)

    @property
    def label(self) -> str:
        f = self.fold
        return (
            f"GEMM {self.gemm} fold {f.index} "
            f"[rows {f.row0}:{f.row0 + f.m}, cols {f.col0}:{f.col0 + f.n}]"
        )


def expected_folds(
    a: np.ndarray, b: np.ndarray, params: ArrayParams, gemm: int = 0
) -> list[ExpectedFold]:
    """Each fold's C tile in the order the top must send them (``plan_folds``, row-major), from
    NumPy's product wrapped to ACC_W (models.gemm's golden GEMM)."""
    c = golden_gemm(a, b, params)
    return [
        ExpectedFold(
            gemm, f, c[f.row0 : f.row0 + f.m, f.col0 : f.col0 + f.n].copy(), int(a.shape[1])
        )
        for f in plan_folds(a.shape[0], b.shape[1], params)
    ]


# ---------------------------------------------------------------------------------------------
# Scoreboard of the result stream.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultBeat:
    """One accepted beat of m_axis_c."""

    cycle: int
    tdata: int
    tkeep: int
    tlast: int

    def words(self, top: TopParams) -> np.ndarray:
        """The OUT_ROWS x COLS words (row p of the beat, column j), signed ACC_W (bits above
        the port's width ignored: ``check_protocol`` reports them)."""
        acc_w = top.array.acc_w
        lanes = unpack_lanes(self.tdata & ((1 << (top.words * acc_w)) - 1), top.words, acc_w)
        return lanes.reshape(top.out_rows, top.array.cols)


@dataclass
class ResultScoreboard:
    """Checks every beat of m_axis_c against the expected folds, folds in order.

    Each beat carries OUT_ROWS rows of a fold, a *group*: beat g has the fold's
    rows g*OUT_ROWS + p in its row p (lanes p*COLS .. p*COLS + COLS - 1). A fold's frame must
    have ceil(m / OUT_ROWS) beats, tkeep = the fold's rows x the fold's columns on every beat
    (``result_keep``), tlast on the last beat only, and every kept word equal to C. Beats are
    split into frames at tlast, so a dropped or extra beat names the fold whose frame has the
    wrong length. ``epochs``: the folds expected between resets; a reset (``cut``) ends an
    epoch, whose results may then stop early but must still be a correct prefix.
    """

    top: TopParams
    context: str = ""
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    beats_checked: int = 0
    folds_checked: int = 0
    #: Folds whose whole frame was checked, per ``check`` call (epoch).
    folds_per_epoch: list[int] = field(default_factory=list)

    def check(self, folds: Sequence[ExpectedFold], beats: Sequence[ResultBeat], cut: bool) -> None:
        """Compare one epoch: the folds sent and the beats received (``cut``: ended by a reset,
        so missing trailing beats are allowed)."""
        before = self.folds_checked
        frames = _frames(beats)
        for n, frame in enumerate(frames):
            if n >= len(folds):
                self._add(
                    f"unexpected result beat at cycle {frame[0].cycle}: {len(folds)} folds sent, "
                    f"{len(frames)} result frames received"
                    + (f" (and {len(frames) - n - 1} more)" if len(frames) > n + 1 else "")
                )
                break
            complete = n < len(frames) - 1 or frame[-1].tlast == 1
            self._check_frame(folds[n], frame, complete or not cut)
        received = len(frames) - (1 if frames and frames[-1][-1].tlast != 1 else 0)
        if not cut and received < len(folds):
            missing = folds[len(frames)] if len(frames) < len(folds) else folds[received]
            after = f" after cycle {beats[-1].cycle}" if beats else ""
            self._add(
                f"{missing.label}: no complete result frame{after} "
                f"({received} of {len(folds)} folds received)"
            )
        self.folds_per_epoch.append(self.folds_checked - before)

    def _check_frame(self, fold: ExpectedFold, frame: list[ResultBeat], complete: bool) -> None:
        f, p, rows = fold.fold, self.top.array, self.top.out_rows
        n_beats = groups(f.m, rows)
        if len(frame) != n_beats and (complete or len(frame) > n_beats):
            per = "one per fold row" if rows == 1 else f"one per OUT_ROWS={rows} fold rows"
            self._add(
                f"{fold.label}: {len(frame)} result beats, expected {n_beats} ({per}), "
                f"frame ends at cycle {frame[-1].cycle}"
            )
        for g, beat in enumerate(frame):
            self.beats_checked += 1
            if g >= n_beats:
                continue  # counted above
            row0 = g * rows
            kept = min(rows, f.m - row0)  # the fold's rows in this beat
            where = (
                f"{fold.label} row {g} at cycle {beat.cycle}"
                if rows == 1
                else f"{fold.label} beat {g} (rows {row0}..{row0 + kept - 1}) at cycle {beat.cycle}"
            )
            keep = result_keep(kept, f.n, p)
            if beat.tkeep != keep:
                self._add(
                    f"{where}: tkeep expected {keep:#x}, got {beat.tkeep:#x}"
                    + self._keep_diff(keep, beat.tkeep, row0)
                )
            want_last = int(g == n_beats - 1)
            if beat.tlast != want_last and g < len(frame) - 1:
                self._add(f"{where}: tlast expected {want_last}, got {beat.tlast}")
            got = beat.words(self.top)
            for q in range(kept):
                r = row0 + q
                at = where if rows == 1 else f"{fold.label} beat {g} row {r} at cycle {beat.cycle}"
                for j in np.flatnonzero(got[q, : f.n] != fold.c[r]):
                    self._add(f"{at}: C word {j} expected {fold.c[r, j]}, got {got[q, j]}")
        if len(frame) == n_beats:
            self.folds_checked += 1

    def _keep_diff(self, want: int, got: int, row0: int) -> str:
        """The first tkeep bit that differs, as the fold's row (the beat's first is ``row0``)
        and column."""
        diff = want ^ got
        bit = (diff & -diff).bit_length() - 1
        row, col = divmod(bit, self.top.array.cols)
        state = ("not kept", "kept")
        where = f"column {col}" if self.top.out_rows == 1 else f"row {row0 + row} column {col}"
        return f" ({where}: expected {state[want >> bit & 1]}, got {state[got >> bit & 1]})"

    @property
    def passed(self) -> bool:
        return self.error_count == 0

    def raise_if_failed(self) -> None:
        if self.passed:
            return
        listed = "; ".join(self.errors[1:MAX_LISTED])
        more = self.error_count - min(self.error_count, MAX_LISTED)
        msg = f"{self.errors[0]} [{self.context}]"
        if listed:
            msg += f"; then {listed}"
        if more:
            msg += f"; and {more} more mismatches"
        raise AccelCheckError(msg)

    def _add(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(text)


def _frames(beats: Sequence[ResultBeat]) -> list[list[ResultBeat]]:
    """Beats cut into frames after each tlast (the last frame may be unfinished)."""
    frames: list[list[ResultBeat]] = []
    current: list[ResultBeat] = []
    for beat in beats:
        current.append(beat)
        if beat.tlast:
            frames.append(current)
            current = []
    if current:
        frames.append(current)
    return frames


# ---------------------------------------------------------------------------------------------
# The skew contract: what the array's edge inputs must carry, from the accepted steps.
# ---------------------------------------------------------------------------------------------


def contract_stimulus(samples: Sequence[PortSample], params: ArrayParams) -> EdgeStimulus:
    """The array's edge inputs the header's timing contract implies: a step accepted in cycle c
    is on west lane i in cycle c+1+i (valid where tkeep has lane i, with first on a fold's first
    step and last on its tlast step) and on north lane j in cycle c+1+j; a reset drops the steps
    still in the skew registers. Only valid lanes' data and flags are defined."""
    t, rows, cols = len(samples), params.rows, params.cols
    stim = EdgeStimulus.idle(t, params)
    rst = np.array([s.rst for s in samples], bool)
    first = True
    for c, s in enumerate(samples):
        stim.rst[c] = rst[c]
        if s.rst:
            first = True
            continue
        if not (s.a.fire and s.b.fire):
            continue
        assert s.a.tdata is not None and s.b.tdata is not None
        a_lanes = unpack_lanes(s.a.tdata, rows, params.data_w)
        b_lanes = unpack_lanes(s.b.tdata, cols, params.data_w)
        for i in range(rows):
            at = c + 1 + i
            if at < t and not rst[c + 1 : at + 1].any() and (s.a.tkeep or 0) >> i & 1:
                stim.a[at, i], stim.a_vld[at, i] = a_lanes[i], True
                stim.a_first[at, i], stim.a_last[at, i] = first, bool(s.a.tlast)
        for j in range(cols):
            at = c + 1 + j
            if at < t and not rst[c + 1 : at + 1].any() and (s.b.tkeep or 0) >> j & 1:
                stim.b[at, j], stim.b_vld[at, j] = b_lanes[j], True
        first = bool(s.a.tlast)
    return stim


def check_contract(want: EdgeStimulus, got: EdgeStimulus, first_cycle: int = 0) -> list[str]:
    """Differences between the contract's edge inputs and the recorded ones: every valid bit,
    and data and flags of the valid lanes (invalid lanes carry anything)."""
    out = []
    for side, lanes, flags in (("west", "a", ("a_first", "a_last")), ("north", "b", ())):
        wv, gv = getattr(want, f"{lanes}_vld"), getattr(got, f"{lanes}_vld")
        for c, k in np.argwhere(wv != gv):
            if c >= first_cycle:
                out.append(
                    f"{side} lane {k} valid at cycle {c}: expected {int(wv[c, k])}, "
                    f"got {int(gv[c, k])}"
                )
        both = wv & gv
        for name in (lanes, *flags):
            w, g = getattr(want, name), getattr(got, name)
            for c, k in np.argwhere(both & (w != g)):
                if c >= first_cycle:
                    out.append(
                        f"{side} lane {k} {name} at cycle {c}: expected {int(w[c, k])}, "
                        f"got {int(g[c, k])}"
                    )
    return out
