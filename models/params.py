"""Array parameters, declared once per run and shared by the RTL build, drivers and models."""

from __future__ import annotations

import json
from dataclasses import dataclass

from systolic.errors import ConfigError

#: Legal ranges, mirrored by the elaboration-time checks in rtl/systolic_array.v.
ROWS_RANGE = (1, 32)
COLS_RANGE = (1, 32)
DATA_W_RANGE = (2, 16)
ACC_W_MAX = 64
MUL_REG_RANGE = (0, 1)


@dataclass(frozen=True)
class ArrayParams:
    """Size and widths of one systolic array instance.

    rows, cols: PE grid (rows of A / columns of B per fold); data_w: signed operand width;
    acc_w: accumulator width (wraps modulo 2**acc_w); mul_reg: the PE's product register
    (``MUL_REG``, 0 or 1), which delays every accumulator and result update by that many cycles
    (``latency``).
    """

    rows: int = 4
    cols: int = 4
    data_w: int = 8
    acc_w: int = 32
    mul_reg: int = 0

    def __post_init__(self) -> None:
        for name in ("rows", "cols", "data_w", "acc_w", "mul_reg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name.upper()} must be an integer, got {value!r}")
        _check_range("ROWS", self.rows, *ROWS_RANGE)
        _check_range("COLS", self.cols, *COLS_RANGE)
        _check_range("DATA_W", self.data_w, *DATA_W_RANGE)
        if not 2 * self.data_w <= self.acc_w <= ACC_W_MAX:
            raise ConfigError(
                f"ACC_W={self.acc_w} is illegal: it must be between 2*DATA_W={2 * self.data_w} "
                f"and {ACC_W_MAX}"
            )
        if not MUL_REG_RANGE[0] <= self.mul_reg <= MUL_REG_RANGE[1]:
            raise ConfigError(f"MUL_REG={self.mul_reg} is illegal: it must be 0 or 1")

    @property
    def latency(self) -> int:
        """L: the cycles between a pair's arrival edge and the edge that adds its product."""
        return self.mul_reg

    @property
    def data_min(self) -> int:
        """Smallest operand value (signed data_w bits)."""
        return -(1 << (self.data_w - 1))

    @property
    def data_max(self) -> int:
        """Largest operand value (signed data_w bits)."""
        return (1 << (self.data_w - 1)) - 1

    @property
    def tag(self) -> str:
        """Short name used for build and result folders, e.g. ``r4c4_d8_a32`` (``_m1`` appended
        with a product register, so that the folders of MUL_REG=0 keep their names)."""
        base = f"r{self.rows}c{self.cols}_d{self.data_w}_a{self.acc_w}"
        return base + ("_m1" if self.mul_reg else "")

    def hdl_parameters(self) -> dict[str, int]:
        """Top-level HDL parameters of ``systolic_array`` (and of the designs around it, which
        pass them down). ``MUL_REG`` is named only when it is 1 (the RTL's default is 0), so that
        the builds and their stamps at MUL_REG=0 stay as they were before it existed."""
        out = {"ROWS": self.rows, "COLS": self.cols, "DATA_W": self.data_w, "ACC_W": self.acc_w}
        if self.mul_reg:
            out["MUL_REG"] = self.mul_reg
        return out

    @classmethod
    def from_dict(cls, data: object) -> ArrayParams:
        """Parameters from a mapping of rows/cols/data_w/acc_w[/mul_reg] (checked like any
        others)."""
        try:
            return cls(**{k: int(v) for k, v in data.items()})  # type: ignore[attr-defined]
        except (ValueError, TypeError, AttributeError) as exc:
            raise ConfigError(f"malformed array parameters {data!r}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ArrayParams:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"malformed array parameters {text!r}: {exc}") from exc
        return cls.from_dict(data)


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value} is illegal: it must be between {lo} and {hi}")
