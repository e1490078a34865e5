"""The accelerator top's cycle model (rtl/systolic_accel.v), exact against the RTL.

The top takes one K-step of a fold per cycle from its two operand streams, skews it into the
array itself, and sends every fold's rows out through a result FIFO, OUT_ROWS rows per beat (a
*group*; ``out_rows`` here, 1 by default). A fold's last step is *admitted* only when its groups
fit the FIFO (room), the write schedule (slots) and the shadow registers (shadow); every other step
is taken at once. This module replays those rules
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

from systolic.models.params import FIFO_DEPTH_MAX, ArrayParams, TopParams
from systolic.models.tiling import check_dims, plan_folds


def groups(m: int, out_rows: int) -> int:
    """Beats (groups of ``out_rows`` rows) of a fold of m rows."""
    return -(-m // out_rows)


def group_ready(n: int, m: int, g: int, out_rows: int, latency: int = 0) -> int:
    """Cycles after a fold's last step is accepted (cycle c) from which its group g is complete:
    row r is complete from c + 1 + r + n + L (L = ``latency``, the array's MUL_REG), and group g
    ends at row min((g+1)*out_rows, m) - 1."""
    return n + min((g + 1) * out_rows, m) + latency


@dataclass(frozen=True)
class AccelSchedule:
    """When each fold's last step is admitted and its rows are written, and the total cycles.

    admit[f]: the cycle fold f's last step is accepted; writes[f][g]: the cycle its group g is
    written to the FIFO (on m_axis_c from the next cycle); first_write[f] = writes[f][0];
    held[f]: cycles fold f's last step waited (tready low) for room, slots or shadow;
    held_by[f]: the rules that failed in its first held cycle ("" when it was not held);
    peak: the most FIFO entries in use or reserved that an admission needed (the room rule's
    left side at the cycle a fold was admitted).
    """

    admit: tuple[int, ...]
    first_write: tuple[int, ...]
    held: tuple[int, ...]
    cycles: int
    held_by: tuple[str, ...] = ()
    writes: tuple[tuple[int, ...], ...] = ()
    peak: int = 0


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


def schedule(m: int, k: int, n: int, top: TopParams) -> AccelSchedule:
    """Replay the top's admission rules on an M x K x N GEMM (folds of ``plan_folds`` order)."""
    return schedule_folds(gemm_folds(m, k, n, top.array), top)


def _shadow_ok(first: Sequence[int], c: int, shadows: int, latency: int) -> bool:
    """The shadow rule: the fold ``shadows`` + 1 back has its first group written by cycle
    c + 1 + L."""
    return len(first) <= shadows or c >= first[-1 - shadows] - 1 - latency


def schedule_folds(folds: Sequence[FoldShape], top: TopParams) -> AccelSchedule:
    """Replay the top's admission rules on a sequence of folds streamed back to back (e.g. all
    GEMMs of a layer), for sources that never pause and a sink that never stalls."""
    depth, out_rows, shadows, latency = top.depth, top.out_rows, top.shadows, top.latency
    limit = top.slots
    admit: list[int] = []
    first: list[int] = []
    writes: list[tuple[int, ...]] = []
    held: list[int] = []
    held_by: list[str] = []
    last_write = -1  # the last group-write cycle reserved so far
    admitted = 0  # FIFO entries in it or reserved
    peak = 0
    pops: deque[int] = deque()  # pop cycles of entries not yet popped, in order
    prev = -1
    for f in folds:
        c = earliest = prev + f.k  # the sources never pause: one step per cycle
        n_groups = groups(f.m, out_rows)
        why = ""
        while True:
            while pops and pops[0] < c:  # popped at an edge before cycle c: room again
                pops.popleft()
                admitted -= 1
            # Groups in order, at most one per cycle, each once it is complete.
            w = tuple(
                max(c + group_ready(f.n, f.m, g, out_rows, latency), last_write + 1 + g)
                for g in range(n_groups)
            )
            fits = w[-1] - c < limit
            room = admitted + n_groups <= depth
            shadow = _shadow_ok(first, c, shadows, latency)
            if fits and room and shadow:
                break
            if c == earliest:
                why = ",".join(
                    n for n, ok in (("room", room), ("slots", fits), ("shadow", shadow)) if not ok
                )
            c += 1
        admit.append(c)
        first.append(w[0])
        writes.append(w)
        held.append(c - earliest)
        held_by.append(why)
        last_write = w[-1]
        admitted += n_groups
        peak = max(peak, admitted)
        # A sink that never stalls takes each beat in the cycle after its write.
        pops.extend(x + 1 for x in w)
        prev = c
    cycles = last_write + 2 if folds else 0
    return AccelSchedule(
        tuple(admit), tuple(first), tuple(held), cycles, tuple(held_by), tuple(writes), peak
    )


def no_hold_depth(top: TopParams) -> int:
    """The FIFO depth from which room never holds a fold of any stream back (sink never stalls):
    max(ROWS, min(ROWS + COLS, (SHADOWS + 2) * ceil(ROWS / OUT_ROWS)) + L + 2).

    A group holds an entry from its fold's admission (cycle c) to its pop, the cycle after its
    write, so at cycle c the entries in use are groups written in c - 1 or later. Writes are one
    per cycle and the slots rule ends them by c + ROWS + COLS + L: at most ROWS + COLS + L + 2.
    The shadow rule puts the first write of the fold SHADOWS + 1 back no later than c + 1 + L,
    so older folds hold at most L + 2 of them, and that fold, the SHADOWS between and the new
    one at most ceil(ROWS / OUT_ROWS) each. Exact (one entry less holds some GEMM back) when
    ROWS + COLS <= (SHADOWS + 2) * ceil(ROWS / OUT_ROWS); ``fifo_need`` is a stream's own need.
    """
    a = top.array
    per_fold = groups(a.rows, top.out_rows)
    return max(a.rows, min(a.rows + a.cols, (top.shadows + 2) * per_fold) + a.latency + 2)


def fifo_need(folds: Sequence[FoldShape], top: TopParams) -> int:
    """The least FIFO depth at which room holds no fold of ``folds`` back (sink never stalls):
    the peak of entries in use or reserved with a FIFO that never fills, at least ROWS (the
    least legal depth). ``top``'s own depth is ignored."""
    free = TopParams(top.array, FIFO_DEPTH_MAX, top.out_rows, top.shadows)
    return max(top.array.rows, schedule_folds(folds, free).peak)


def accel_cycles(m: int, k: int, n: int, top: TopParams) -> int:
    """Cycles of an M x K x N GEMM through the top: first operand beat accepted (cycle 0) to last
    result beat accepted, inclusive; sources never pause, the sink never stalls."""
    return schedule(m, k, n, top).cycles


def admit_cycles(m: int, k: int, n: int, top: TopParams) -> list[int]:
    """The cycle in which each fold's last step is accepted (``schedule``'s ``admit``)."""
    return list(schedule(m, k, n, top).admit)


def accel_lower_bound(m: int, k: int, n: int, top: TopParams) -> int:
    """A lower bound on ``accel_cycles`` for any design with the top's streams and registers.

    Steps arrive one per cycle, so fold f's last step is in at cycle (f+1)K - 1 at the earliest;
    its row r is complete n_f + r + L cycles after the one input register (the array's skew and
    its result latency L = MUL_REG), so its group g (rows up to min((g+1)P, m_f) - 1, P =
    ``out_rows``) leaves no earlier than (f+1)K + n_f + min((g+1)P, m_f) + L - 1 + 1 through the
    output register; the groups leave one per
    beat, in order. So the beats from fold f's group g on cannot all be out before that plus the
    beats from there on. The bound is the largest of these over (f, g), counted inclusively (+1).
    Fold 0's group 0 gives the output port's bound (all beats through one port), the last group
    the input streams' bound (all steps in, then fill and drain).
    """
    return folds_lower_bound(gemm_folds(m, k, n, top.array), top)


def folds_lower_bound(folds: Sequence[FoldShape], top: TopParams) -> int:
    """``accel_lower_bound`` of a sequence of folds streamed back to back through ``top`` (its
    rows per beat and its array's result latency count; its FIFO and shadows do not)."""
    out_rows, latency = top.out_rows, top.latency
    steps = 0
    ends = []
    for f in folds:
        steps += f.k
        ends.append(steps)  # fold f's last step is in by cycle ends[f] - 1
    beats_from = 0
    best = -1
    for f, end in zip(reversed(folds), reversed(ends), strict=True):
        for g in reversed(range(groups(f.m, out_rows))):
            beats_from += 1
            best = max(best, end - 1 + group_ready(f.n, f.m, g, out_rows, latency) + beats_from)
    return best + 1


def result_beats(m: int, n: int, top: TopParams) -> int:
    """Beats on m_axis_c for an M x N result: every fold's groups of OUT_ROWS rows."""
    return sum(groups(f.m, top.out_rows) for f in plan_folds(m, n, top.array))


def timing_diagram(m: int, k: int, n: int, top: TopParams) -> str:
    """A text timing diagram of an M x K x N GEMM through the top (sources that never pause, a
    sink that never stalls), one column per cycle: the step accepted on A/B (fold letter, step
    number), tlast, a last step held back, each west lane's `last` entering the array, the row
    written to the FIFO and the row on m_axis_c (fold letter, row number; with OUT_ROWS > 1
    the group number), and tlast there."""
    params = top.array
    folds = gemm_folds(m, k, n, params)
    s = schedule_folds(folds, top)
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
        for g, cycle in enumerate(s.writes[f]):
            write[cycle] = f"{tag}{g}"
            out[cycle + 1] = f"{tag}{g}"
        last_out[s.writes[f][-1] + 1] = "1"
        prev = s.admit[f]
    width = max(2, *(len(c) for cells in lines.values() for c in cells))
    label = max(len(name) for name in lines)
    ruler = "".join(f"{c:<{width + 1}}" if c % 5 == 0 else " " * (width + 1) for c in range(cycles))
    text = [f"{'cycle':<{label}}  {ruler.rstrip()}"]
    for name, cells in lines.items():
        text.append(f"{name:<{label}}  " + " ".join(f"{c:<{width}}" for c in cells).rstrip())
    return "\n".join(text)
