"""Cycle-accurate model of rtl/systolic_array.v.

Given the per-cycle edge inputs it predicts every PE's accumulator, result register and result
strobe, and the east and south edge outputs, after every rising edge. With ``params.mul_reg`` = 1
each PE also has the product register of rtl/systolic_pe.v (``g_mul_reg``): the product of a pair
and its fire/first/last bits are registered at the edge the pair arrives and added one edge
later. The state is held as (ROWS, COLS) arrays, so each cycle is a handful of NumPy operations
over the whole grid: no Python loop over PEs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.models.fixed import wrap
from systolic.models.params import ArrayParams
from systolic.models.skew import EdgeStimulus

#: Output ports of the east and south edges, in the order of ``EdgeTrace.fields``.
EDGE_PORTS = ("a_o", "a_vld_o", "a_first_o", "a_last_o", "b_o", "b_vld_o")


@dataclass
class EdgeTrace:
    """The east and south edge outputs after each rising edge t (row t), lane order of the buses.

    East lane i is the a register of PE(i, COLS-1), south lane j the b register of PE(ROWS-1, j).
    """

    a_o: np.ndarray  # (T, ROWS) int64
    a_vld_o: np.ndarray  # (T, ROWS) bool
    a_first_o: np.ndarray  # (T, ROWS) bool
    a_last_o: np.ndarray  # (T, ROWS) bool
    b_o: np.ndarray  # (T, COLS) int64
    b_vld_o: np.ndarray  # (T, COLS) bool

    @classmethod
    def zeros(cls, cycles: int, params: ArrayParams) -> EdgeTrace:
        r, c = params.rows, params.cols
        return cls(
            np.zeros((cycles, r), np.int64),
            np.zeros((cycles, r), bool),
            np.zeros((cycles, r), bool),
            np.zeros((cycles, r), bool),
            np.zeros((cycles, c), np.int64),
            np.zeros((cycles, c), bool),
        )

    def fields(self) -> dict[str, np.ndarray]:
        """Port name -> (T, lanes) array, in ``EDGE_PORTS`` order."""
        return {name: getattr(self, name) for name in EDGE_PORTS}


@dataclass
class ArrayTrace:
    """PE state and edge outputs after each rising edge t (row t), as the monitor samples them."""

    acc: np.ndarray  # (T, ROWS, COLS) int64
    res: np.ndarray  # (T, ROWS, COLS) int64
    res_vld: np.ndarray  # (T, ROWS, COLS) bool
    fire: np.ndarray  # (T, ROWS, COLS) bool: a pair arrived and fired at edge t (not observable)
    edges: EdgeTrace | None = None  # east/south edge outputs (None: not modelled)

    @property
    def cycles(self) -> int:
        return int(self.acc.shape[0])


class ArrayModel:
    """Register-level model of the array; ``step`` advances one rising edge."""

    def __init__(self, params: ArrayParams) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        shape = (self.params.rows, self.params.cols)
        # Forwarding registers of each PE (its east/south outputs).
        self.a_q = np.zeros(shape, np.int64)
        self.a_vld_q = np.zeros(shape, bool)
        self.a_first_q = np.zeros(shape, bool)
        self.a_last_q = np.zeros(shape, bool)
        self.b_q = np.zeros(shape, np.int64)
        self.b_vld_q = np.zeros(shape, bool)
        # Accumulator, result and strobe.
        self.acc = np.zeros(shape, np.int64)
        self.res = np.zeros(shape, np.int64)
        self.res_vld = np.zeros(shape, bool)
        self.fire = np.zeros(shape, bool)
        # The product register (MUL_REG = 1): the pair of the last edge, added at the next one.
        self.prod_q = np.zeros(shape, np.int64)
        self.fire_q = np.zeros(shape, bool)
        self.first_q = np.zeros(shape, bool)
        self.last_q = np.zeros(shape, bool)

    def step(
        self,
        a: np.ndarray,
        a_vld: np.ndarray,
        a_first: np.ndarray,
        a_last: np.ndarray,
        b: np.ndarray,
        b_vld: np.ndarray,
        rst: bool = False,
    ) -> None:
        """Apply one cycle of edge inputs and advance through its rising edge."""
        if rst:
            self.reset()
            return
        # Inputs seen by every PE: the edge for column/row 0, the neighbour's register otherwise.
        # The lanes are DATA_W bits wide: an out-of-range stimulus value wraps as in hardware.
        a = wrap(np.asarray(a), self.params.data_w)
        b = wrap(np.asarray(b), self.params.data_w)
        a_in = _shift_in(self.a_q, a, axis=1)
        a_vld_in = _shift_in(self.a_vld_q, a_vld, axis=1)
        a_first_in = _shift_in(self.a_first_q, a_first, axis=1)
        a_last_in = _shift_in(self.a_last_q, a_last, axis=1)
        b_in = _shift_in(self.b_q, b, axis=0)
        b_vld_in = _shift_in(self.b_vld_q, b_vld, axis=0)

        fire = a_vld_in & b_vld_in
        self._accumulate(*self._mac_inputs(fire, a_first_in, a_last_in, a_in * b_in))
        self.fire = fire
        self.a_q, self.a_vld_q, self.a_first_q, self.a_last_q = (
            a_in,
            a_vld_in,
            a_first_in,
            a_last_in,
        )
        self.b_q, self.b_vld_q = b_in, b_vld_in

    def _mac_inputs(
        self, fire: np.ndarray, first: np.ndarray, last: np.ndarray, prod: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The (fire, first, last, product) added at this edge: the arriving pair's at MUL_REG=0,
        the registered pair's at MUL_REG=1 (which then registers the arriving one)."""
        if not self.params.mul_reg:
            return fire, first, last, prod
        out = (self.fire_q, self.first_q, self.last_q, self.prod_q)
        self.fire_q, self.first_q, self.last_q, self.prod_q = fire, first, last, prod
        return out

    def _accumulate(
        self, fire: np.ndarray, first: np.ndarray, last: np.ndarray, prod: np.ndarray
    ) -> None:
        """Accumulator, result and strobe at one edge, given the pair that is added there."""
        with np.errstate(over="ignore"):
            nxt = wrap(np.where(first, 0, self.acc) + prod, self.params.acc_w)
        capture = fire & last
        self.acc = np.where(fire, nxt, self.acc)
        self.res = np.where(capture, nxt, self.res)
        self.res_vld = capture

    def run(self, stim: EdgeStimulus, cleared: np.ndarray | None = None) -> ArrayTrace:
        """Run a whole stimulus from the current state; returns the state after every edge.

        cleared: optional (T,) bool; ``cleared[t]`` clears every register between the sample of
        edge t-1 and edge t (an asynchronous reset pulse that holds across no edge), after which
        edge t works normally. A reset held across edge t is ``stim.rst[t]`` instead.
        """
        t = stim.cycles
        shape = (t, self.params.rows, self.params.cols)
        edges = EdgeTrace.zeros(t, self.params)
        trace = ArrayTrace(
            np.zeros(shape, np.int64),
            np.zeros(shape, np.int64),
            np.zeros(shape, bool),
            np.zeros(shape, bool),
            edges,
        )
        for c in range(t):
            if cleared is not None and cleared[c]:
                self.reset()
            self.step(
                stim.a[c],
                stim.a_vld[c],
                stim.a_first[c],
                stim.a_last[c],
                stim.b[c],
                stim.b_vld[c],
                bool(stim.rst[c]),
            )
            trace.acc[c], trace.res[c], trace.res_vld[c] = self.acc, self.res, self.res_vld
            trace.fire[c] = self.fire
            # The edge outputs are the registers of the last column (east) and last row (south).
            edges.a_o[c], edges.a_vld_o[c] = self.a_q[:, -1], self.a_vld_q[:, -1]
            edges.a_first_o[c], edges.a_last_o[c] = self.a_first_q[:, -1], self.a_last_q[:, -1]
            edges.b_o[c], edges.b_vld_o[c] = self.b_q[-1, :], self.b_vld_q[-1, :]
        return trace


def simulate(
    stim: EdgeStimulus, params: ArrayParams, cleared: np.ndarray | None = None
) -> ArrayTrace:
    """Predict the PE state and edge outputs after every rising edge of ``stim``, from reset.

    cleared: asynchronous reset pulses between edges (see ``ArrayModel.run``).
    """
    return ArrayModel(params).run(stim, cleared)


def edge_outputs(stim: EdgeStimulus, params: ArrayParams) -> EdgeTrace:
    """The edge outputs in closed form: the delay-line view of the forwarding registers.

    After edge t, east lane i holds what west lane i carried in cycle t - (COLS-1) and south lane
    j what north lane j carried in cycle t - (ROWS-1) (so a chained array sees them COLS / ROWS
    cycles after they entered), or zero when that cycle is before the stream or a reset was
    asserted in between. Independent of ``ArrayModel`` (tests compare the two).
    """
    cycles = np.arange(stim.cycles)
    # The most recent cycle (<= t) in which reset was asserted, -1 if none.
    last_rst = np.maximum.accumulate(np.where(np.asarray(stim.rst, bool), cycles, -1))
    east, south = params.cols - 1, params.rows - 1
    w = params.data_w
    return EdgeTrace(
        a_o=_delayed(wrap(stim.a, w), east, last_rst),
        a_vld_o=_delayed(stim.a_vld, east, last_rst),
        a_first_o=_delayed(stim.a_first, east, last_rst),
        a_last_o=_delayed(stim.a_last, east, last_rst),
        b_o=_delayed(wrap(stim.b, w), south, last_rst),
        b_vld_o=_delayed(stim.b_vld, south, last_rst),
    )


def _delayed(lanes: np.ndarray, delay: int, last_rst: np.ndarray) -> np.ndarray:
    """Row t = ``lanes`` of cycle t - delay, or zero when that cycle precedes the stream or a
    reset asserted in cycles t - delay .. t cleared it on its way."""
    lanes = np.asarray(lanes)
    src = np.arange(lanes.shape[0]) - delay
    ok = (src >= 0) & (src > last_rst)
    return np.where(ok[:, None], lanes[np.maximum(src, 0)], np.zeros_like(lanes))


def _shift_in(reg: np.ndarray, edge: np.ndarray, axis: int) -> np.ndarray:
    """Inputs of each PE: ``edge`` for the first column (axis=1) / row (axis=0), else the register
    of the west / north neighbour."""
    edge = np.asarray(edge)
    if axis == 1:
        return np.concatenate([edge[:, None].astype(reg.dtype), reg[:, :-1]], axis=1)
    return np.concatenate([edge[None, :].astype(reg.dtype), reg[:-1, :]], axis=0)
