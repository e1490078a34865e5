"""Scoreboard: every PE and every edge lane every cycle against the cycle model, every finished C
against golden, and every result held unchanged until the PE's next capture."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from systolic.models.array_model import EDGE_PORTS, ArrayTrace, EdgeTrace
from systolic.models.fixed import pack_lanes, unpack_lanes, wrap
from systolic.models.skew import ScheduledProduct, Stream

#: How many individual mismatches a failure message lists.
MAX_LISTED = 8


class ScoreboardError(AssertionError):
    """A mismatch between the DUT and the models (an AssertionError, so cocotb fails the test)."""


@dataclass(frozen=True)
class Mismatch:
    cycle: int
    row: int
    col: int
    what: str
    expected: int
    got: int | str

    def __str__(self) -> str:
        if self.row < 0:  # the whole state could not be read
            return f"array state at cycle {self.cycle}: {self.got}"
        return (
            f"PE({self.row},{self.col}) {self.what} at cycle {self.cycle}: "
            f"expected {self.expected}, got {self.got}"
        )


@dataclass(frozen=True)
class EdgeMismatch:
    """One lane of the east or south edge outputs at one cycle."""

    cycle: int
    edge: str  # "east" or "south"
    lane: int
    what: str  # the port without its _o, e.g. "a_vld"
    expected: int
    got: int

    def __str__(self) -> str:
        return (
            f"{self.edge} lane {self.lane} {self.what} at cycle {self.cycle}: "
            f"expected {self.expected}, got {self.got}"
        )


#: Which edge each output port belongs to; the data buses are signed DATA_W lanes, the rest flags.
EDGE_OF = {"a_o": "east", "a_vld_o": "east", "a_first_o": "east", "a_last_o": "east"}
EDGE_OF |= {"b_o": "south", "b_vld_o": "south"}
DATA_PORTS = ("a_o", "b_o")


@dataclass
class Scoreboard:
    """Compares monitor samples with an ``ArrayTrace`` and the stream's golden results.

    context: the parameters, seed and reproduce command, appended to every failure message.
    """

    stream: Stream
    expected: ArrayTrace
    context: str = ""
    #: (T,) bool: cycles whose state a reset changed (stimulus resets and pulses); default: the
    #: stimulus's own ``rst``. Ends the window in which a result must stay unchanged.
    resets: np.ndarray | None = None
    mismatches: list[Mismatch | EdgeMismatch] = field(default_factory=list)
    mismatch_count: int = 0
    pe_checks: int = 0
    edge_checks: int = 0
    products_checked: int = 0
    cycles_checked: int = 0

    def __post_init__(self) -> None:
        shape = self.expected.acc.shape
        self.obs_res: np.ndarray = np.zeros(shape, np.int64)
        self.obs_vld: np.ndarray = np.zeros(shape, bool)
        self.obs_acc: np.ndarray = np.zeros(shape, np.int64)
        if self.expected.edges is None:
            raise ValueError("the expected trace has no edge outputs: use models.simulate")
        if self.resets is None:
            self.resets = np.asarray(self.stream.stimulus.rst, bool)
        self._data_w = self.stream.params.data_w
        self._want_edges = _pack_edges(self.expected.edges, self._data_w)
        self._zero_edges = (0,) * len(EDGE_PORTS)
        #: Packed edge buses as sampled, one tuple per cycle (None where unreadable).
        self.obs_edges: list[tuple[int, ...] | None] = [None] * shape[0]

    def check_cycle(
        self,
        cycle: int,
        acc: np.ndarray,
        res: np.ndarray,
        res_vld: np.ndarray,
        edges: tuple[int, ...] | None = None,
    ) -> None:
        """Check one cycle's sample of every PE, and of the packed edge buses (``EDGE_PORTS``
        order) when given, against the cycle model."""
        exp = self.expected
        self.obs_acc[cycle], self.obs_res[cycle], self.obs_vld[cycle] = acc, res, res_vld
        self.cycles_checked += 1
        self.pe_checks += acc.size
        if not (
            np.array_equal(acc, exp.acc[cycle])
            and np.array_equal(res, exp.res[cycle])
            and np.array_equal(res_vld, exp.res_vld[cycle])
        ):
            self._pe_mismatches(
                cycle, "", (acc, res, res_vld), (exp.acc[cycle], exp.res[cycle], exp.res_vld[cycle])
            )
        if edges is None:
            return
        self.obs_edges[cycle] = edges
        self.edge_checks += 1
        if edges != self._want_edges[cycle]:  # packed ints: one comparison per bus
            assert self.expected.edges is not None  # checked by __post_init__
            want = {name: lanes[cycle] for name, lanes in self.expected.edges.fields().items()}
            self._edge_mismatches(cycle, "", edges, self._want_edges[cycle], want)

    def check_cleared(
        self,
        cycle: int,
        note: str,
        acc: np.ndarray,
        res: np.ndarray,
        res_vld: np.ndarray,
        edges: tuple[int, ...],
    ) -> None:
        """A sample taken while rst_ni is low (``note`` says when): every output must be zero."""
        zeros = np.zeros_like(acc)
        if acc.any() or res.any() or res_vld.any():
            self._pe_mismatches(cycle, note, (acc, res, res_vld), (zeros, zeros, zeros))
        if edges != self._zero_edges:
            assert self.expected.edges is not None  # checked by __post_init__
            want = {name: np.zeros_like(v[0]) for name, v in self.expected.edges.fields().items()}
            self._edge_mismatches(cycle, note, edges, self._zero_edges, want)

    def _pe_mismatches(
        self, cycle: int, note: str, got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]
    ) -> None:
        for what, g, w in zip(("accumulator", "result", "result valid"), got, want, strict=True):
            g, w = g.astype(np.int64), w.astype(np.int64)
            label = f"{what} {note}" if note else what
            for i, j in np.argwhere(g != w):
                self._add(Mismatch(cycle, int(i), int(j), label, int(w[i, j]), int(g[i, j])))

    def _edge_mismatches(
        self,
        cycle: int,
        note: str,
        got: tuple[int, ...],
        want_packed: tuple[int, ...],
        want: dict[str, np.ndarray],
    ) -> None:
        """Unpack only the buses that differ and report each differing lane."""
        for k, name in enumerate(EDGE_PORTS):
            if got[k] == want_packed[k]:
                continue
            data = name in DATA_PORTS
            lanes = want[name].size
            g = unpack_lanes(got[k], lanes, self._data_w if data else 1, signed=data)
            w = wrap(want[name], self._data_w) if data else want[name].astype(np.int64)
            what = name.removesuffix("_o") + (f" {note}" if note else "")
            for lane in np.flatnonzero(g != w):
                self._add(
                    EdgeMismatch(cycle, EDGE_OF[name], int(lane), what, int(w[lane]), int(g[lane]))
                )

    def unreadable(self, cycle: int, error: Exception) -> None:
        """The monitor could not read the state (X or Z bits)."""
        self._add(Mismatch(cycle, -1, -1, "state", 0, f"unreadable ({error})"))

    def check_results(self) -> None:
        """Check every finished product against the golden GEMM (independently of the model)."""
        for sp in self.stream.products:
            if sp.aborted:
                continue
            cc = sp.capture_cycles()
            if (cc >= self.cycles_checked).any():
                i, j = np.argwhere(cc >= self.cycles_checked)[0]
                self._result_mismatch(sp, cc, i, j, "never sampled (stream too short)")
                continue
            got, strobe = self._at_capture(sp, self.obs_res), self._at_capture(sp, self.obs_vld)
            for i, j in np.argwhere(~strobe):
                self._add(
                    Mismatch(int(cc[i, j]), int(i), int(j), f"result strobe of {_name(sp)}", 1, 0)
                )
            for i, j in np.argwhere(got != sp.expected):
                self._result_mismatch(sp, cc, i, j, int(got[i, j]))
            self.products_checked += 1
        self._check_holds()

    def _check_holds(self) -> None:
        """A captured result stays on res_o, with the strobe low, until the PE's next capture.

        Checked on the samples alone (not the cycle model): from the cycle after a PE captures a
        finished product's result until the PE's next capture of any product, or a reset,
        res_o must keep the value sampled at the capture and res_vld_o must be 0. One row of
        PEs at a time keeps the (T, COLS) temporaries small.
        """
        t, rows, cols = self.obs_res.shape
        t = min(t, self.cycles_checked)
        start, stop = self._hold_events(t)
        cycle = np.arange(t)[:, None]
        for i in range(rows):
            idx = np.where(start[:, i] | stop[:, i], cycle, -1)
            last = np.maximum.accumulate(idx, axis=0)  # latest event at or before each cycle
            src = np.maximum(last, 0)
            col = np.arange(cols)[None, :]
            inside = (last >= 0) & (last < cycle) & start[src, i, col]
            held = self.obs_res[src, i, col]
            res, vld = self.obs_res[:t, i], self.obs_vld[:t, i]
            for c, j in np.argwhere(inside & ((res != held) | vld)):
                since = int(last[c, j])
                if res[c, j] != held[c, j]:
                    what = f"result (captured at cycle {since}, not held)"
                    self._add(Mismatch(int(c), i, int(j), what, int(held[c, j]), int(res[c, j])))
                if vld[c, j]:
                    what = f"result valid (captured at cycle {since}, strobe not one cycle)"
                    self._add(Mismatch(int(c), i, int(j), what, 0, 1))

    def _hold_events(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(T, ROWS, COLS) bool: where a checked result window starts (capture of a finished
        product) and where any window ends without a known value (capture of an aborted
        product, a reset)."""
        shape = (t, *self.obs_res.shape[1:])
        start, stop = np.zeros(shape, bool), np.zeros(shape, bool)
        for sp in self.stream.products:
            cc = sp.capture_cycles()
            ii, jj = np.nonzero(cc < t)
            (stop if sp.aborted else start)[cc[ii, jj], ii, jj] = True
        stop[np.asarray(self.resets, bool)[:t]] = True
        stop &= ~start  # a capture right after an asynchronous clear starts a window
        return start, stop

    def _result_mismatch(
        self, sp: ScheduledProduct, cc: np.ndarray, i: int, j: int, got: int | str
    ) -> None:
        self._add(
            Mismatch(
                int(cc[i, j]),
                int(i),
                int(j),
                f"C[{i}][{j}] of {_name(sp)}",
                int(sp.expected[i, j]),
                got,
            )
        )

    def _at_capture(self, sp: ScheduledProduct, observed: np.ndarray) -> np.ndarray:
        """(m, n) values of ``observed`` at each PE's capture cycle (clipped to what was seen)."""
        cc = np.minimum(sp.capture_cycles(), max(self.cycles_checked - 1, 0))
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        return observed[cc, ii, jj]

    def finished_results(self) -> list[np.ndarray]:
        """The C of every non-aborted product as read from the DUT's result registers."""
        return [self._at_capture(sp, self.obs_res) for sp in self.stream.products if not sp.aborted]

    @property
    def passed(self) -> bool:
        return self.mismatch_count == 0

    def raise_if_failed(self) -> None:
        """Raise ScoreboardError naming the first mismatches, the parameters and the seed."""
        if self.passed:
            return
        first = self.mismatches[0]
        listed = "; ".join(str(m) for m in self.mismatches[1:MAX_LISTED])
        more = self.mismatch_count - min(self.mismatch_count, MAX_LISTED)
        msg = f"{first} [{self.context}]"
        if listed:
            msg += f"; then {listed}"
        if more:
            msg += f"; and {more} more mismatches"
        raise ScoreboardError(msg)

    def _add(self, mismatch: Mismatch | EdgeMismatch) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_LISTED:
            self.mismatches.append(mismatch)


def _name(sp: ScheduledProduct) -> str:
    label = sp.product.label
    return f"product {label}" if label else "product"


def _pack_edges(edges: EdgeTrace, data_w: int) -> list[tuple[int, ...]]:
    """Every cycle's expected edge buses as packed ints (``EDGE_PORTS`` order), so that a cycle
    is checked with one integer comparison per bus."""
    columns = [
        pack_lanes(lanes, data_w if name in DATA_PORTS else 1)
        for name, lanes in edges.fields().items()
    ]
    return list(zip(*columns, strict=True))
