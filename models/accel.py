"""The accelerator top's cycle model (rtl/systolic_accel.v), exact against the RTL.

The top takes one K-step of a fold per cycle from its two operand streams, skews it into the
array itself, and sends every fold's rows out one per beat through a result FIFO. A fold's last
step is *admitted* only when its rows fit the FIFO (room), the row-write schedule (slots) and the
shadow registers (shadow); every other step is taken at once. This module replays those rules
fold by fold for sources that never pause and a sink that never stalls, and gives the lower bound
that no design with the same streams and pipeline registers can beat.

Cycle numbering follows the RTL's header: cycle 0 is the cycle the first operand beat is
accepted; a count of cycles runs from cycle 0 to the cycle in which the last result beat is
accepted, inclusive.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from systolic.errors import OperandError
from systolic.models.params import ArrayParams
from systolic.models.tiling import check_dims, plan_folds


def default_fifo_depth(params: ArrayParams) -> int:
    """The RTL's default FIFO_DEPTH: ROWS + COLS + 2 result rows."""
    return params.rows + params.cols + 2


def slots(params: ArrayParams) -> int:
    """Length of the row-write schedule: a fold admitted in cycle c writes its rows no later than
    cycle c + ROWS + COLS."""
    return params.rows + params.cols + 1


@dataclass(frozen=True)
class AccelSchedule:
    """When each fold's last step is admitted and its rows are written, and the total cycles.

    admit[f]: the cycle fold f's last step is accepted; first_write[f]: the cycle its row 0 is
    written to the FIFO (row r in first_write[f] + r, on m_axis_c from the next cycle);
    held[f]: cycles fold f's last step waited (tready low) for room, slots or shadow;
    held_by[f]: the rules that failed in its first held cycle ("" when it was not held).
    """

    admit: tuple[int, ...]
    first_write: tuple[int, ...]
    held: tuple[int, ...]
    cycles: int
    held_by: tuple[str, ...] = ()


def check_depth(params: ArrayParams, fifo_depth: int | None) -> int:
    """FIFO_DEPTH as the RTL accepts it (ROWS..1024), default ``default_fifo_depth``."""
    if fifo_depth is None:
        return default_fifo_depth(params)
    if isinstance(fifo_depth, bool) or not isinstance(fifo_depth, int):
        raise OperandError(f"FIFO depth must be an integer, got {fifo_depth!r}")
    if not params.rows <= fifo_depth <= 1024:
        raise OperandError(f"FIFO depth must be {params.rows}..1024 (ROWS..1024), got {fifo_depth}")
    return fifo_depth


@dataclass(frozen=True)
class FoldShape:
    """One fold as the top sees it: K steps, m rows (A's tkeep), n columns (B's tkeep)."""

    k: int
    m: int
    n: int


def gemm_folds(m: int, k: int, n: int, params: ArrayParams) -> list[FoldShape]:
    """The folds of an M x K x N GEMM in ``plan_folds`` order."""
    m, k, n = check_dims(m, k, n)
    return [FoldShape(k, f.m, f.n) for f in plan_folds(m, n, params)]


def schedule(
    m: int, k: int, n: int, params: ArrayParams, fifo_depth: int | None = None
) -> AccelSchedule:
    """Replay the top's admission rules on an M x K x N GEMM (folds of ``plan_folds`` order)."""
    return schedule_folds(gemm_folds(m, k, n, params), params, fifo_depth)


def schedule_folds(
    folds: Sequence[FoldShape], params: ArrayParams, fifo_depth: int | None = None
) -> AccelSchedule:
    """Replay the top's admission rules on a sequence of folds streamed back to back (e.g. all
    GEMMs of a layer), for sources that never pause and a sink that never stalls."""
    depth = check_depth(params, fifo_depth)
    limit = slots(params)
    admit: list[int] = []
    first: list[int] = []
    held: list[int] = []
    held_by: list[str] = []
    last_write = -1  # the last row-write cycle reserved so far
    admitted_rows = 0
    pops: deque[int] = deque()  # pop cycles of rows not yet popped, in order
    prev = -1
    for f in folds:
        c = earliest = prev + f.k  # the sources never pause: one step per cycle
        why = ""
        while True:
            while pops and pops[0] < c:  # popped at an edge before cycle c: room again
                pops.popleft()
                admitted_rows -= 1
            w0 = max(c + 1 + f.n, last_write + 1)
            fits = (w0 - c) + f.m <= limit
            room = admitted_rows + f.m <= depth
            shadow = len(first) < 2 or c >= first[-2] - 1
            if fits and room and shadow:
                break
            if c == earliest:
                why = ",".join(
                    n for n, ok in (("room", room), ("slots", fits), ("shadow", shadow)) if not ok
                )
            c += 1
        admit.append(c)
        first.append(w0)
        held.append(c - earliest)
        held_by.append(why)
        last_write = w0 + f.m - 1
        admitted_rows += f.m
        # A sink that never stalls takes each row in the cycle after its write.
        pops.extend(range(w0 + 1, w0 + f.m + 1))
        prev = c
    cycles = last_write + 2 if folds else 0
    return AccelSchedule(tuple(admit), tuple(first), tuple(held), cycles, tuple(held_by))


def accel_cycles(m: int, k: int, n: int, params: ArrayParams, fifo_depth: int | None = None) -> int:
    """Cycles of an M x K x N GEMM through the top: first operand beat accepted (cycle 0) to last
    result beat accepted, inclusive; sources never pause, the sink never stalls."""
    return schedule(m, k, n, params, fifo_depth).cycles


def admit_cycles(
    m: int, k: int, n: int, params: ArrayParams, fifo_depth: int | None = None
) -> list[int]:
    """The cycle in which each fold's last step is accepted (``schedule``'s ``admit``)."""
    return list(schedule(m, k, n, params, fifo_depth).admit)


def accel_lower_bound(m: int, k: int, n: int, params: ArrayParams) -> int:
    """A lower bound on ``accel_cycles`` for any design with the top's streams and registers.

    Steps arrive one per cycle, so fold f's last step is in at cycle (f+1)K - 1 at the earliest;
    its row r is complete n_f + r cycles after the one input register (the array's skew), and
    leaves one cycle later through the output register; the rows leave one per beat, in order.
    So the beats from fold f's row 0 on cannot all be out before (f+1)K + n_f + (rows of folds
    f, f+1, ...). The bound is the largest of these over f, counted inclusively (+1). Fold 0
    gives the output port's bound (all rows through one port), the last fold the input streams'
    bound (all steps in, then fill and drain).
    """
    return folds_lower_bound(gemm_folds(m, k, n, params))


def folds_lower_bound(folds: Sequence[FoldShape]) -> int:
    """``accel_lower_bound`` of a sequence of folds streamed back to back."""
    steps = 0
    ends = []
    for f in folds:
        steps += f.k
        ends.append(steps)  # fold f's last step is in by cycle ends[f] - 1
    rows_from = 0
    best = -1
    for f, end in zip(reversed(folds), reversed(ends), strict=True):
        rows_from += f.m
        best = max(best, end + f.n + rows_from)
    return best + 1


def result_beats(m: int, n: int, params: ArrayParams) -> int:
    """Beats on m_axis_c for an M x N result: every fold's rows."""
    return sum(f.m for f in plan_folds(m, n, params))


def timing_diagram(
    m: int, k: int, n: int, params: ArrayParams, fifo_depth: int | None = None
) -> str:
    """A text timing diagram of an M x K x N GEMM through the top (sources that never pause, a
    sink that never stalls), one column per cycle: the step accepted on A/B (fold letter, step
    number), tlast, a last step held back, each west lane's `last` entering the array, the row
    written to the FIFO and the row on m_axis_c (fold letter, row number), and tlast there."""
    folds = gemm_folds(m, k, n, params)
    s = schedule_folds(folds, params, fifo_depth)
    cycles = s.cycles
    lines: dict[str, list[str]] = {}

    def row(name: str) -> list[str]:
        return lines.setdefault(name, ["."] * cycles)

    step_in, last_in, held = row("A/B step"), row("tlast in"), row("held")
    lanes = [row(f"west {i} last") for i in range(params.rows)]
    write, out, last_out = row("FIFO write"), row("C row out"), row("tlast out")
    prev = -1
    for f, fold in enumerate(folds):
        tag = chr(ord("a") + f % 26)
        steps = [*range(prev + 1, prev + fold.k), s.admit[f]]
        for step, cycle in enumerate(steps):
            step_in[cycle] = f"{tag}{step}" if step < 10 else tag
        last_in[s.admit[f]] = "1"
        for cycle in range(s.admit[f] - s.held[f], s.admit[f]):
            held[cycle] = "H"
        for i in range(fold.m):
            lanes[i][s.admit[f] + 1 + i] = tag
        for r in range(fold.m):
            write[s.first_write[f] + r] = f"{tag}{r}"
            out[s.first_write[f] + r + 1] = f"{tag}{r}"
        last_out[s.first_write[f] + fold.m] = "1"
        prev = s.admit[f]
    width = max(2, *(len(c) for cells in lines.values() for c in cells))
    label = max(len(name) for name in lines)
    ruler = "".join(f"{c:<{width + 1}}" if c % 5 == 0 else " " * (width + 1) for c in range(cycles))
    text = [f"{'cycle':<{label}}  {ruler.rstrip()}"]
    for name, cells in lines.items():
        text.append(f"{name:<{label}}  " + " ".join(f"{c:<{width}}" for c in cells).rstrip())
    return "\n".join(text)
