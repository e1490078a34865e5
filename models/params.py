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


#: Legal ranges of the accelerator top's own parameters, mirrored by rtl/systolic_accel.v.
FIFO_DEPTH_MAX = 1024
SHADOWS_RANGE = (1, 4)


@dataclass(frozen=True)
class TopParams:
    """The accelerator top (rtl/systolic_accel.v) of one run: its array and its result port.

    array: the array inside (size, widths, MUL_REG); fifo_depth: result-FIFO entries (None: the
    RTL's default, ROWS + COLS + 2 + MUL_REG; legal ROWS..1024); out_rows: rows of C per result beat
    (OUT_ROWS, 1..ROWS), a *group*; shadows: shadow registers per PE (SHADOWS, 1..4). Checked
    when built, so a bad port is one line before anything runs; passed as one value from the
    command line to the models, the builds, the testbench and the flows.
    """

    array: ArrayParams = ArrayParams()
    fifo_depth: int | None = None
    out_rows: int = 1
    shadows: int = 1

    def __post_init__(self) -> None:
        from systolic.errors import OperandError

        if not isinstance(self.array, ArrayParams):
            raise ConfigError(f"a top's array must be ArrayParams, got {self.array!r}")
        for name, what in (
            ("fifo_depth", "FIFO depth"),
            ("out_rows", "rows per result beat"),
            ("shadows", "shadow registers per PE"),
        ):
            value = getattr(self, name)
            if value is None and name == "fifo_depth":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise OperandError(f"{what} must be an integer, got {value!r}")
        rows = self.array.rows
        if self.fifo_depth is not None and not rows <= self.fifo_depth <= FIFO_DEPTH_MAX:
            raise OperandError(
                f"FIFO depth must be {rows}..{FIFO_DEPTH_MAX} (ROWS..{FIFO_DEPTH_MAX}), "
                f"got {self.fifo_depth}"
            )
        if not 1 <= self.out_rows <= rows:
            raise OperandError(
                f"rows per result beat must be 1..{rows} (1..ROWS), got {self.out_rows}"
            )
        if not SHADOWS_RANGE[0] <= self.shadows <= SHADOWS_RANGE[1]:
            raise OperandError(
                f"shadow registers per PE must be {SHADOWS_RANGE[0]}..{SHADOWS_RANGE[1]}, "
                f"got {self.shadows}"
            )

    @property
    def depth(self) -> int:
        """The FIFO depth the RTL elaborates (the default resolved: ROWS + COLS + 2 + L, which
        is never below the depth at which room holds no fold back, models/accel.py
        ``no_hold_depth``)."""
        a = self.array
        return a.rows + a.cols + 2 + a.latency if self.fifo_depth is None else self.fifo_depth

    @property
    def latency(self) -> int:
        """L: the array's result latency (MUL_REG)."""
        return self.array.latency

    @property
    def mul_reg(self) -> int:
        return self.array.mul_reg

    @property
    def slots(self) -> int:
        """Length of the write schedule: a fold admitted in cycle c writes its groups no later
        than cycle c + ROWS + COLS + L."""
        return self.array.rows + self.array.cols + 1 + self.latency

    @property
    def words(self) -> int:
        """Words of one result beat: OUT_ROWS x COLS."""
        return self.out_rows * self.array.cols

    def hdl_parameters(self) -> dict[str, int]:
        """The top's HDL parameters: the array's, then FIFO_DEPTH (when given), OUT_ROWS and
        SHADOWS only when they differ from the RTL's defaults (so build folders keep their
        names)."""
        extra: dict[str, int] = {}
        if self.fifo_depth is not None:
            extra["FIFO_DEPTH"] = self.fifo_depth
        if self.out_rows != 1:
            extra["OUT_ROWS"] = self.out_rows
        if self.shadows != 1:
            extra["SHADOWS"] = self.shadows
        return {**self.array.hdl_parameters(), **extra}

    @property
    def port_tag(self) -> str:
        """The result port's part of a name: '' at the defaults, else e.g. ``_o2s2``."""
        if (self.out_rows, self.shadows) == (1, 1):
            return ""
        return f"_o{self.out_rows}s{self.shadows}"

    @property
    def tag(self) -> str:
        """Short name of the top, e.g. ``r4c4_d8_a32_f10_o2s2`` (the array's tag, then the FIFO
        depth when given and the port when not the default)."""
        fifo = "" if self.fifo_depth is None else f"_f{self.fifo_depth}"
        return self.array.tag + fifo + self.port_tag
