"""The array's activity per clock cycle, read from a wave file, and its textual form.

Cycle numbering follows the timing contract (docs/architecture.md): cycle t ends with rising
edge t; the *inputs* of cycle t are the values just before edge t, the *state* of cycle t the
register values right after it (read just before the next falling edge, where the testbench's
monitor samples). Cycle 0 is the stream's first cycle: taken from the stimulus the testbench
saved next to the wave file (``<wave>.stim/``, written by ``--waves`` runs), otherwise the first
rising edge at which an edge lane carries a valid operand.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.models.params import ArrayParams
from systolic.waves.stimfile import stim_dir, stream_starts
from systolic.waves.vcd import ArrayWaves, WaveError

PE = tuple[int, int]


@dataclass
class Timeline:
    """Everything the array saw and held, one row per rising edge of the clock."""

    params: ArrayParams
    source: Path
    origin_note: str
    cycle: np.ndarray  # (T,) cycle number of each rising edge (0 = the stream's first cycle)
    time_ns: np.ndarray  # (T,) time of the rising edge
    rst: np.ndarray  # (T,) reset asserted during the cycle
    west_a: np.ndarray  # (T, ROWS) west edge inputs of the cycle
    west_vld: np.ndarray
    west_first: np.ndarray
    west_last: np.ndarray
    north_b: np.ndarray  # (T, COLS) north edge inputs of the cycle
    north_vld: np.ndarray
    pe_a: np.ndarray  # (T, ROWS, COLS) operands at each PE's inputs during the cycle
    pe_a_vld: np.ndarray
    pe_first: np.ndarray
    pe_last: np.ndarray
    pe_b: np.ndarray
    pe_b_vld: np.ndarray
    fire: np.ndarray  # (T, ROWS, COLS) the pair fires at the cycle's edge
    acc: np.ndarray  # (T, ROWS, COLS) state right after the edge
    res: np.ndarray
    res_vld: np.ndarray

    def __len__(self) -> int:
        return int(self.cycle.shape[0])

    def index(self, cycle: int) -> int:
        """Row of a cycle number."""
        k = int(cycle - self.cycle[0])
        if not 0 <= k < len(self):
            raise WaveError(
                f"cycle {cycle} is outside the wave file (cycles {self.cycle[0]}..{self.cycle[-1]})"
            )
        return k

    def rows_for(self, cycles: tuple[int | None, int | None] | None) -> range:
        """Rows of an inclusive cycle range; None ends mean 0 and the last cycle."""
        lo, hi = cycles or (None, None)
        lo = 0 if lo is None else lo
        hi = int(self.cycle[-1]) if hi is None else hi
        lo, hi = max(lo, int(self.cycle[0])), min(hi, int(self.cycle[-1]))
        if lo > hi:
            raise WaveError(
                f"no cycle of the range in the wave file (cycles {self.cycle[0]}..{self.cycle[-1]})"
            )
        return range(self.index(lo), self.index(hi) + 1)

    def active_range(self) -> tuple[int, int]:
        """Cycles 0 .. one after the last cycle where a pair fires or a result is captured."""
        busy = (self.fire | self.res_vld).reshape(len(self), -1).any(axis=1) | self.west_vld.any(
            axis=1
        )
        busy &= self.cycle >= 0
        idx = np.flatnonzero(busy)
        last = int(self.cycle[idx[-1]]) + 1 if idx.size else 0
        return 0, min(last, int(self.cycle[-1]))


def read_timeline(
    path: Path | ArrayWaves, params: ArrayParams | None = None, stream: int | None = None
) -> Timeline:
    """Read a wave file of ``systolic_array`` (either simulator) into a ``Timeline``.

    stream: which saved stream's first cycle is cycle 0 (default: the first one).
    """
    waves = path if isinstance(path, ArrayWaves) else ArrayWaves(Path(path), params)
    p = waves.params
    rise, fall = waves.clock_edges()
    if rise.size == 0:
        raise WaveError(f"{waves.path}: the clock clk_i never rises in this wave file")
    end = waves.end_time()
    # State of cycle t: just before the first falling edge after rising edge t.
    nxt = np.searchsorted(fall, rise, side="right")
    state_t = np.where(nxt < fall.size, fall[np.minimum(nxt, fall.size - 1)] - 1, end)
    input_t = np.maximum(rise - 1, 0)
    r, c = p.rows, p.cols
    lanes = {
        "west_a": waves.sample("a_i", input_t, r, p.data_w),
        "west_vld": waves.sample("a_vld_i", input_t, r, 1, False).astype(bool),
        "west_first": waves.sample("a_first_i", input_t, r, 1, False).astype(bool),
        "west_last": waves.sample("a_last_i", input_t, r, 1, False).astype(bool),
        "north_b": waves.sample("b_i", input_t, c, p.data_w),
        "north_vld": waves.sample("b_vld_i", input_t, c, 1, False).astype(bool),
    }
    shape = (rise.size, r, c)
    per_pe = {k: np.zeros(shape, np.int64) for k in ("pe_a", "pe_b", "acc", "res")}
    flags = {
        k: np.zeros(shape, bool)
        for k in ("pe_a_vld", "pe_first", "pe_last", "pe_b_vld", "fire", "res_vld")
    }
    for i in range(r):
        for j in range(c):
            pe = f"g_row[{i}].g_col[{j}].u_pe"

            def s(name: str, times: np.ndarray, signed: bool = True, pe: str = pe) -> np.ndarray:
                return waves.sample(f"{pe}.{name}", times, signed=signed)[:, 0]

            per_pe["pe_a"][:, i, j] = s("a_i", input_t)
            per_pe["pe_b"][:, i, j] = s("b_i", input_t)
            flags["pe_a_vld"][:, i, j] = s("a_vld_i", input_t, False)
            flags["pe_first"][:, i, j] = s("a_first_i", input_t, False)
            flags["pe_last"][:, i, j] = s("a_last_i", input_t, False)
            flags["pe_b_vld"][:, i, j] = s("b_vld_i", input_t, False)
            per_pe["acc"][:, i, j] = s("acc_o", state_t)
            per_pe["res"][:, i, j] = s("res_o", state_t)
            flags["res_vld"][:, i, j] = s("res_vld_o", state_t, False)
    flags["fire"] = flags["pe_a_vld"] & flags["pe_b_vld"]
    rst = waves.sample("rst_ni", input_t, 1, 1, False)[:, 0] == 0
    origin, note = _origin(waves, rise, lanes, stream)
    ns = waves.ps_per_unit / 1e3
    return Timeline(
        params=p,
        source=waves.path,
        origin_note=note,
        cycle=np.arange(rise.size) - origin,
        time_ns=rise * ns,
        rst=rst,
        **lanes,
        **per_pe,
        **flags,
    )


def _origin(
    waves: ArrayWaves, rise: np.ndarray, lanes: dict[str, np.ndarray], stream: int | None
) -> tuple[int, str]:
    starts = stream_starts(waves.path)
    ns = waves.ps_per_unit / 1e3
    if starts:
        k = 0 if stream is None else stream
        if not 0 <= k < len(starts):
            raise WaveError(
                f"{waves.path}: stream {k} does not exist (the run saved {len(starts)} streams)"
            )
        t0 = starts[k] / ns
        idx = int(np.searchsorted(rise, t0, side="right"))
        if idx >= rise.size:
            raise WaveError(
                f"{waves.path}: truncated wave file: it ends before stream {k} starts "
                f"({starts[k]:g} ns)"
            )
        return idx, f"cycle 0 = first cycle of stream {k} of {len(starts)} (saved stimulus)"
    if stream not in (None, 0):
        raise WaveError(
            f"{waves.path}: --stream needs the stimulus saved by a --waves run "
            f"({stim_dir(waves.path).name}/ next to the wave file)"
        )
    valid = lanes["west_vld"].any(axis=1) | lanes["north_vld"].any(axis=1)
    valid_at = np.flatnonzero(valid)
    if valid_at.size:
        return int(valid_at[0]), "cycle 0 = first rising edge with a valid operand on an edge lane"
    return 0, "cycle 0 = first rising edge (no valid operand in the file)"


# --- selection ----------------------------------------------------------------------------------


def parse_pe(text: str) -> PE:
    try:
        i, j = (int(x) for x in text.replace("(", "").replace(")", "").split(","))
    except ValueError:
        raise WaveError(f"bad PE {text!r}: expected ROW,COL, e.g. 1,2") from None
    return i, j


def parse_region(text: str) -> list[PE]:
    """``R0-R1,C0-C1`` (inclusive, either part may be a single index) -> the PEs it covers."""
    try:
        rows, cols = text.split(",")
        r0, r1 = _span(rows)
        c0, c1 = _span(cols)
    except ValueError:
        raise WaveError(f"bad region {text!r}: expected R0-R1,C0-C1, e.g. 0-1,0-2") from None
    if r1 < r0 or c1 < c0 or min(r0, c0) < 0:
        raise WaveError(f"region {text!r} contains no PE (ranges are R0-R1 with 0 <= R0 <= R1)")
    return [(i, j) for i in range(r0, r1 + 1) for j in range(c0, c1 + 1)]


def _span(text: str) -> tuple[int, int]:
    a, _, b = text.partition("-")
    return int(a), int(b or a)


def parse_cycles(text: str) -> tuple[int | None, int | None]:
    """``A:B`` inclusive, ``A:`` from A, ``:B`` up to B, ``A`` one cycle."""
    lo: int | None
    hi: int | None
    try:
        if ":" not in text:
            lo, hi = int(text), int(text)
        else:
            a, b = text.split(":")
            lo, hi = (int(a) if a.strip() else None), (int(b) if b.strip() else None)
    except ValueError:
        raise WaveError(f"bad cycle range {text!r}: expected A:B, e.g. 0:20") from None
    if (lo is not None and lo < 0) or (hi is not None and hi < 0):
        raise WaveError(f"cycle range {text!r}: cycles are numbered from 0")
    if lo is not None and hi is not None and hi < lo:
        raise WaveError(f"cycle range {text!r} is empty: B must not be below A")
    return lo, hi


def check_pes(pes: Iterable[PE], params: ArrayParams) -> list[PE]:
    out = []
    for i, j in pes:
        if not (0 <= i < params.rows and 0 <= j < params.cols):
            raise WaveError(
                f"PE({i},{j}) is outside the {params.rows}x{params.cols} array in this wave file"
            )
        if (i, j) not in out:
            out.append((i, j))
    return out


# --- text ---------------------------------------------------------------------------------------

#: PEs listed per cycle when none are selected; larger arrays get a per-cycle summary.
MAX_LISTED_PES = 16

LEGEND = (
    "legend: operands as value+flags (f = first: restarts the accumulator, l = last: finishes "
    "it), '.' = lane not valid; * = the pair fires at the cycle's edge; acc/res = state right "
    "after the edge; ! = result captured (res_vld)"
)


def _operand(value: int, vld: bool, first: bool = False, last: bool = False) -> str:
    if not vld:
        return "."
    return f"{value}{'f' if first else ''}{'l' if last else ''}"


def format_text(
    tl: Timeline,
    pes: Sequence[PE] | None = None,
    cycles: tuple[int | None, int | None] | None = None,
) -> str:
    """The per-cycle timeline: edge inputs, then each selected PE's a, b, acc and result."""
    p = tl.params
    listed = list(pes) if pes else None
    if listed is None and p.rows * p.cols <= MAX_LISTED_PES:
        listed = [(i, j) for i in range(p.rows) for j in range(p.cols)]
    rows = tl.rows_for(cycles)
    out = io.StringIO()
    out.write(
        f"{tl.source}: {p.rows}x{p.cols} array, DATA_W={p.data_w} ACC_W={p.acc_w}; "
        f"{tl.origin_note}\n{LEGEND}\n"
    )
    if listed is None:
        out.write(
            f"({p.rows * p.cols} PEs: per cycle a summary; choose PEs with --pe I,J or "
            "--region R0-R1,C0-C1)\n"
        )
    vw = max(len(str(-(1 << (p.data_w - 1)))) + 2, 4)
    shown = [tl.acc[rows.start : rows.stop], tl.res[rows.start : rows.stop]]
    aw = max(len(str(int(x.min()))) for x in shown) if len(rows) else 1
    aw = max(aw, *(len(str(int(x.max()))) for x in shown), 3)
    for k in rows:
        west = " ".join(
            f"{_operand(a, v, f, la):>{vw}}"
            for a, v, f, la in zip(
                tl.west_a[k], tl.west_vld[k], tl.west_first[k], tl.west_last[k], strict=True
            )
        )
        north = " ".join(
            f"{_operand(tl.north_b[k, j], tl.north_vld[k, j]):>{vw}}" for j in range(p.cols)
        )
        rst = "  RESET" if tl.rst[k] else ""
        out.write(f"\ncycle {tl.cycle[k]:>4} @ {tl.time_ns[k]:.3f} ns{rst}\n")
        out.write(f"  west  a: {west}\n  north b: {north}\n")
        if listed is None:
            fires, caps = int(tl.fire[k].sum()), int(tl.res_vld[k].sum())
            diag = sorted({int(i + j) for i, j in np.argwhere(tl.fire[k])})
            out.write(
                f"  {fires} PEs fire (anti-diagonals i+j in {_ranges(diag) or '-'}), "
                f"{caps} results captured, |acc| max {int(np.abs(tl.acc[k]).max())}\n"
            )
            continue
        for i, j in listed:
            a = _operand(
                tl.pe_a[k, i, j], tl.pe_a_vld[k, i, j], tl.pe_first[k, i, j], tl.pe_last[k, i, j]
            )
            b = _operand(tl.pe_b[k, i, j], tl.pe_b_vld[k, i, j])
            fire = "*" if tl.fire[k, i, j] else " "
            cap = " !" if tl.res_vld[k, i, j] else ""
            out.write(
                f"  PE({i},{j})  a={a:>{vw}} b={b:>{vw}} {fire} acc={tl.acc[k, i, j]:>{aw}} "
                f"res={tl.res[k, i, j]:>{aw}}{cap}\n"
            )
    return out.getvalue()


def _ranges(values: list[int]) -> str:
    if not values:
        return ""
    parts, start, prev = [], values[0], values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}..{prev}")
        if v is not None:
            start = prev = v
    return ",".join(parts)


CSV_FIELDS = (
    "cycle",
    "time_ns",
    "row",
    "col",
    "a",
    "a_vld",
    "a_first",
    "a_last",
    "b",
    "b_vld",
    "fire",
    "acc",
    "res",
    "res_vld",
)


def format_csv(
    tl: Timeline,
    pes: Sequence[PE] | None = None,
    cycles: tuple[int | None, int | None] | None = None,
) -> str:
    """One line per (cycle, PE): the same data as the text timeline, for spreadsheets/pandas."""
    p = tl.params
    listed = list(pes) if pes else [(i, j) for i in range(p.rows) for j in range(p.cols)]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for k in tl.rows_for(cycles):
        for i, j in listed:
            w.writerow(
                [
                    int(tl.cycle[k]),
                    f"{tl.time_ns[k]:.3f}",
                    i,
                    j,
                    int(tl.pe_a[k, i, j]),
                    int(tl.pe_a_vld[k, i, j]),
                    int(tl.pe_first[k, i, j]),
                    int(tl.pe_last[k, i, j]),
                    int(tl.pe_b[k, i, j]),
                    int(tl.pe_b_vld[k, i, j]),
                    int(tl.fire[k, i, j]),
                    int(tl.acc[k, i, j]),
                    int(tl.res[k, i, j]),
                    int(tl.res_vld[k, i, j]),
                ]
            )
    return out.getvalue()
