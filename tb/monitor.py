"""Array monitor: one packed read per output bus per cycle.

The PE state buses are unpacked into (ROWS, COLS) grids; the east/south edge buses are returned
packed (the scoreboard compares them as integers and unpacks only on a mismatch).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from systolic.models.array_model import EDGE_PORTS
from systolic.models.fixed import unpack_lanes
from systolic.models.params import ArrayParams


class ArrayMonitor:
    """Samples every PE's accumulator, result register and result strobe, and the edge outputs."""

    def __init__(self, dut: Any, params: ArrayParams) -> None:
        self.params = params
        self._acc = dut.acc_o
        self._res = dut.res_o
        self._vld = dut.res_vld_o
        self._edges = [dut[name] for name in EDGE_PORTS]
        self._n = params.rows * params.cols
        self._shape = (params.rows, params.cols)

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(acc, res, res_vld) of every PE, as int64 / int64 / bool arrays of shape (ROWS, COLS).

        Raises ValueError on X/Z bits (``to_unsigned`` refuses them), which the scoreboard reports.
        """
        w = self.params.acc_w
        acc = unpack_lanes(_bits(self._acc.value), self._n, w).reshape(self._shape)
        res = unpack_lanes(_bits(self._res.value), self._n, w).reshape(self._shape)
        vld = unpack_lanes(_bits(self._vld.value), self._n, 1, signed=False)
        return acc, res, vld.astype(bool).reshape(self._shape)

    def sample_edges(self) -> tuple[int, ...]:
        """The east and south edge buses as packed non-negative ints, in ``EDGE_PORTS`` order.

        Raises ValueError on X/Z bits, like ``sample``.
        """
        return tuple(_bits(handle.value) for handle in self._edges)


def _bits(value: Any) -> int:
    """A bus value as a non-negative int; a 1-bit port reads as a ``Logic``, not a LogicArray.

    Both conversions raise ValueError on X/Z.
    """
    to_unsigned = getattr(value, "to_unsigned", None)
    return to_unsigned() if to_unsigned is not None else int(value)
