"""Cycle-accurate model of rtl/systolic_array.v.

Given the per-cycle edge inputs it predicts every PE's accumulator, result register and result
strobe after every rising edge. The state is held as (ROWS, COLS) arrays, so each cycle is a
handful of NumPy operations over the whole grid: no Python loop over PEs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.models.fixed import wrap
from systolic.models.params import ArrayParams
from systolic.models.skew import EdgeStimulus


@dataclass
class ArrayTrace:
    """PE state after each rising edge t (row t), as the monitor samples it."""

    acc: np.ndarray  # (T, ROWS, COLS) int64
    res: np.ndarray  # (T, ROWS, COLS) int64
    res_vld: np.ndarray  # (T, ROWS, COLS) bool
    fire: np.ndarray  # (T, ROWS, COLS) bool: a pair fired at edge t (not observable directly)

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
        acc_w = self.params.acc_w
        with np.errstate(over="ignore"):
            nxt = wrap(np.where(a_first_in, 0, self.acc) + a_in * b_in, acc_w)
        capture = fire & a_last_in
        self.acc = np.where(fire, nxt, self.acc)
        self.res = np.where(capture, nxt, self.res)
        self.res_vld = capture
        self.fire = fire
        self.a_q, self.a_vld_q, self.a_first_q, self.a_last_q = (
            a_in,
            a_vld_in,
            a_first_in,
            a_last_in,
        )
        self.b_q, self.b_vld_q = b_in, b_vld_in

    def run(self, stim: EdgeStimulus) -> ArrayTrace:
        """Run a whole stimulus from the current state; returns the state after every edge."""
        t = stim.cycles
        shape = (t, self.params.rows, self.params.cols)
        trace = ArrayTrace(
            np.zeros(shape, np.int64),
            np.zeros(shape, np.int64),
            np.zeros(shape, bool),
            np.zeros(shape, bool),
        )
        for c in range(t):
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
        return trace


def simulate(stim: EdgeStimulus, params: ArrayParams) -> ArrayTrace:
    """Predict the PE state after every rising edge of ``stim``, from reset."""
    return ArrayModel(params).run(stim)


def _shift_in(reg: np.ndarray, edge: np.ndarray, axis: int) -> np.ndarray:
    """Inputs of each PE: ``edge`` for the first column (axis=1) / row (axis=0), else the register
    of the west / north neighbour."""
    edge = np.asarray(edge)
    if axis == 1:
        return np.concatenate([edge[:, None].astype(reg.dtype), reg[:, :-1]], axis=1)
    return np.concatenate([edge[None, :].astype(reg.dtype), reg[:-1, :]], axis=0)
