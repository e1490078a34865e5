"""Edge driver: applies an EdgeStimulus to the array's west and north buses, one cycle at a time.

Every bus gets at most one packed write per cycle, and only when its value changes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from systolic.models.fixed import pack_bits, pack_lanes
from systolic.models.params import ArrayParams
from systolic.models.skew import EdgeStimulus

#: DUT input ports in the order of the packed rows built by ``EdgeDriver.load``.
INPUT_PORTS = ("a_i", "a_vld_i", "a_first_i", "a_last_i", "b_i", "b_vld_i", "rst_ni")


class EdgeDriver:
    """Drives the west (A) and north (B) edges and the reset of a ``systolic_array``."""

    def __init__(self, dut: Any, params: ArrayParams) -> None:
        self.params = params
        self._handles = [dut[name] for name in INPUT_PORTS]
        self._last: list[int | None] = [None] * len(INPUT_PORTS)
        self._rows: list[tuple[int, ...]] = []
        self._idle = (0, 0, 0, 0, 0, 0, 1)

    def load(self, stim: EdgeStimulus) -> None:
        """Pre-pack every cycle's bus values so that driving costs no NumPy work per cycle."""
        w = self.params.data_w
        columns = [
            pack_lanes(stim.a, w),
            pack_bits(stim.a_vld),
            pack_bits(stim.a_first),
            pack_bits(stim.a_last),
            pack_lanes(stim.b, w),
            pack_bits(stim.b_vld),
            [0 if r else 1 for r in np.asarray(stim.rst, bool)],  # rst_ni is active low
        ]
        self._rows = list(zip(*columns, strict=True))

    @property
    def cycles(self) -> int:
        return len(self._rows)

    def apply(self, cycle: int) -> None:
        """Apply the loaded stimulus of ``cycle`` (idle, out of reset, past its end)."""
        row = self._rows[cycle] if cycle < len(self._rows) else self._idle
        self._write(row)

    def idle(self, reset: bool = False) -> None:
        """Drive every lane invalid; optionally hold reset."""
        self._write((*self._idle[:-1], 0 if reset else 1))

    def _write(self, row: tuple[int, ...]) -> None:
        for k, value in enumerate(row):
            if value != self._last[k]:
                self._handles[k].value = value
                self._last[k] = value
