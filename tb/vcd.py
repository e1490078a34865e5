"""Read the array's PE state back from a VCD written by either simulator (via pywellen)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from systolic.errors import SystolicError
from systolic.models.fixed import unpack_lanes
from systolic.models.params import ArrayParams

_UNIT_PS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "ms": 1e9, "s": 1e12}


class WaveError(SystolicError):
    """A wave file that is missing, unreadable or lacks the array's signals."""


class ArrayWaves:
    """The top-level buses of ``systolic_array`` in a VCD, sampled at chosen times."""

    def __init__(self, path: Path, params: ArrayParams) -> None:
        import pywellen

        if not Path(path).is_file():
            raise WaveError(f"{path}: no such wave file")
        try:
            self._w = pywellen.Waveform(str(path))
        except Exception as exc:  # pywellen raises plain exceptions for bad files
            raise WaveError(f"{path}: not a readable VCD/FST file ({exc})") from None
        self.params = params
        self.scope = self._find_scope(path)
        self.ps_per_unit = self._ps_per_unit()

    def _find_scope(self, path: Path) -> str:
        for var in self._w.all_vars():
            name = str(var)[4:-1]  # "Var(scope.name)"
            if name.endswith(".acc_o") and name.count(".") <= 2 and "g_row" not in name:
                return name[: -len(".acc_o")]
        raise WaveError(f"{path}: no systolic_array signals (acc_o) in this wave file")

    def _ps_per_unit(self) -> float:
        ts = self._w.timescale
        unit = str(ts.unit).rsplit(".", 1)[-1].lower()
        return int(ts.factor) * _UNIT_PS.get(unit, 1.0)

    def bus(self, name: str, time_ps: float) -> int:
        value = self._w[f"{self.scope}.{name}"][round(time_ps / self.ps_per_unit)]
        if value is None:
            raise WaveError(f"{self.scope}.{name} has no value at {time_ps} ps")
        return int(value)

    def pe_state(self, times_ps: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """acc, res, res_vld of every PE at each time: arrays (len(times), ROWS, COLS)."""
        p = self.params
        n, shape = p.rows * p.cols, (len(times_ps), p.rows, p.cols)
        acc, res, vld = np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape, bool)
        for k, t in enumerate(times_ps):
            acc[k] = unpack_lanes(self.bus("acc_o", t), n, p.acc_w).reshape(p.rows, p.cols)
            res[k] = unpack_lanes(self.bus("res_o", t), n, p.acc_w).reshape(p.rows, p.cols)
            vld[k] = (
                unpack_lanes(self.bus("res_vld_o", t), n, 1, signed=False)
                .reshape(p.rows, p.cols)
                .astype(bool)
            )
        return acc, res, vld
