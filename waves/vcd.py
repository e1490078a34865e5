"""Open a wave file of ``systolic_array`` from either simulator and sample its signals per cycle.

Reading is done by pywellen (values) and pyvcd's tokenizer (the declared ranges of the header,
which GTKWave needs); nothing here parses VCD text by hand. Both simulators put the array at
``systolic_array`` (Verilator adds a ``$rootio`` scope with the ports) and every PE at
``systolic_array.g_row[i].g_col[j].u_pe``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.errors import SystolicError
from systolic.models.fixed import unpack_lanes
from systolic.models.params import ArrayParams

_UNIT_PS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3, "us": 1e6, "ms": 1e9, "s": 1e12}

#: Ports of each PE read per cycle (``fire`` is an internal wire; derived when absent).
PE_INPUTS = ("a_i", "a_vld_i", "a_first_i", "a_last_i", "b_i", "b_vld_i")
PE_STATE = ("acc_o", "res_o", "res_vld_o")
#: The array's edge inputs (packed, lane 0 in the least significant bits).
EDGE_INPUTS = ("a_i", "a_vld_i", "a_first_i", "a_last_i", "b_i", "b_vld_i")


class WaveError(SystolicError):
    """A wave file that is missing, unreadable, truncated or lacks the array's signals."""


def pe_scope(scope: str, i: int, j: int) -> str:
    return f"{scope}.g_row[{i}].g_col[{j}].u_pe"


def open_waveform(path: Path):
    """pywellen.Waveform of ``path``; one-line ``WaveError`` for anything that is not a VCD/FST."""
    import pywellen

    path = Path(path)
    if not path.exists():
        raise WaveError(f"{path}: no such wave file")
    if not path.is_file():
        raise WaveError(f"{path}: not a file")
    size = path.stat().st_size
    if size == 0:
        raise WaveError(f"{path}: empty file, not a VCD")
    with open(path, "rb") as f:
        head = f.read(64)
        f.seek(max(0, size - 1))
        last = f.read(1)
    is_vcd = head.lstrip()[:1] == b"$"
    try:
        w = pywellen.Waveform(str(path))
    except Exception as exc:  # pywellen raises RuntimeError with a multi-line text
        why = " ".join(str(exc).split())
        if is_vcd:
            raise WaveError(f"{path}: truncated or corrupt VCD header ({why})") from None
        raise WaveError(f"{path}: not a VCD file ({why})") from None
    if is_vcd and last not in (b"\n", b"\r"):
        raise WaveError(
            f"{path}: truncated VCD (the last line is incomplete: the simulation was cut short "
            "or the file is still being written)"
        )
    return w


@dataclass(frozen=True)
class Declared:
    """One variable as the VCD header declares it."""

    path: str  # hierarchical name, scopes joined by '.'
    width: int
    range: str  # "[7:0]" or "" for a scalar

    @property
    def gtkwave_name(self) -> str:
        """The name GTKWave binds in a save file: a vector needs its full declared range."""
        return f"{self.path}{self.range}" if self.range else self.path


def declarations(path: Path) -> dict[str, Declared]:
    """Every ``$var`` of a VCD header (first declaration of a name wins), via pyvcd's tokenizer."""
    from vcd.reader import TokenKind, VCDParseError, tokenize

    scopes: list[str] = []
    out: dict[str, Declared] = {}
    try:
        with open(path, "rb") as f:
            for tok in tokenize(f):
                if tok.kind is TokenKind.SCOPE:
                    scopes.append(tok.scope.ident)
                elif tok.kind is TokenKind.UPSCOPE:
                    scopes.pop()
                elif tok.kind is TokenKind.VAR:
                    var = tok.var
                    ref = var.reference
                    name = ".".join([*scopes, ref])
                    bits = var.bit_index
                    if isinstance(bits, tuple):
                        rng = f"[{bits[0]}:{bits[1]}]"
                    elif isinstance(bits, int):
                        rng = f"[{bits}]"
                    else:
                        rng = ""
                    out.setdefault(name, Declared(name, int(var.size), rng))
                elif tok.kind is TokenKind.ENDDEFINITIONS:
                    break
    except (VCDParseError, IndexError, ValueError) as exc:
        raise WaveError(f"{path}: cannot read the VCD header ({exc})") from None
    return out


class ArrayWaves:
    """The signals of one ``systolic_array`` in a wave file, sampled at chosen times.

    params: the array's parameters; inferred from the file (number of PEs, bus widths) when not
    given, checked against it when given.
    """

    def __init__(self, path: Path, params: ArrayParams | None = None) -> None:
        self.path = Path(path)
        self._w = open_waveform(self.path)
        self.names = {str(v)[4:-1] for v in self._w.all_vars()}  # "Var(scope.name)"
        self.scope = self._find_scope()
        inferred = self._infer_params()
        if params is not None and params != inferred:
            raise WaveError(
                f"{self.path}: the file holds a {inferred.rows}x{inferred.cols} array with "
                f"DATA_W={inferred.data_w} ACC_W={inferred.acc_w} MUL_REG={inferred.mul_reg}, "
                f"not {params}"
            )
        self.params = inferred
        self.ps_per_unit = self._ps_per_unit()
        self._changes: dict[str, tuple[np.ndarray, list]] = {}

    # -- structure ---------------------------------------------------------------------------
    def _find_scope(self) -> str:
        found = sorted(
            n[: -len(".g_row[0].g_col[0].u_pe.acc_o")]
            for n in self.names
            if n.endswith(".g_row[0].g_col[0].u_pe.acc_o")
        )
        for scope in found:
            if all(f"{scope}.{s}" in self.names for s in ("clk_i", "rst_ni", *EDGE_INPUTS)):
                return scope
        if not found:
            raise WaveError(
                f"{self.path}: no systolic_array signals in this wave file "
                "(expected <top>.g_row[0].g_col[0].u_pe.acc_o)"
            )
        raise WaveError(f"{self.path}: the array at {found[0]} lacks clk_i, rst_ni or edge inputs")

    def _infer_params(self) -> ArrayParams:
        rows = cols = 0
        pat = re.compile(re.escape(self.scope) + r"\.g_row\[(\d+)\]\.g_col\[(\d+)\]\.u_pe\.acc_o$")
        for n in self.names:
            m = pat.match(n)
            if m:
                rows, cols = max(rows, int(m[1]) + 1), max(cols, int(m[2]) + 1)
        pe = pe_scope(self.scope, 0, 0)
        data_w = self._width(f"{pe}.a_i")
        acc_w = self._width(f"{pe}.acc_o")
        mul_reg = int(f"{pe}.g_mul_reg.prod_q" in self.names)  # the product register's scope
        try:
            return ArrayParams(rows, cols, data_w, acc_w, mul_reg)
        except SystolicError as exc:
            raise WaveError(f"{self.path}: unexpected array shape ({exc})") from None

    def _width(self, name: str) -> int:
        if name not in self.names:
            raise WaveError(f"{self.path}: {name} is not in this wave file")
        return int(self._w[name].bitwidth)

    def _ps_per_unit(self) -> float:
        ts = self._w.timescale
        unit = str(ts.unit).rsplit(".", 1)[-1].lower()
        return int(ts.factor) * _UNIT_PS.get(unit, 1.0)

    def has(self, name: str) -> bool:
        return f"{self.scope}.{name}" in self.names

    # -- values ------------------------------------------------------------------------------
    def changes(self, name: str) -> tuple[np.ndarray, list]:
        """(times in file units, values) of every change of ``<scope>.name``."""
        if name not in self._changes:
            full = f"{self.scope}.{name}"
            if full not in self.names:
                raise WaveError(f"{self.path}: {full} is not in this wave file")
            tv = list(self._w[full].tv)  # iterating the Var itself never ends: use .tv
            times = np.fromiter((t for t, _ in tv), dtype=np.int64, count=len(tv))
            self._changes[name] = (times, [v for _, v in tv])
        return self._changes[name]

    def end_time(self) -> int:
        """Time of the last change of the clock (file units)."""
        times, _ = self.changes("clk_i")
        return int(times[-1]) if times.size else 0

    def clock_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (file units) of the rising and the falling edges of clk_i."""
        times, values = self.changes("clk_i")
        v = np.array([x if isinstance(x, int) else -1 for x in values])
        prev = np.concatenate([[-1], v[:-1]])
        return times[(v == 1) & (prev == 0)], times[(v == 0) & (prev == 1)]

    def sample(
        self, name: str, times: np.ndarray, lanes: int = 1, width: int = 0, signed: bool = True
    ) -> np.ndarray:
        """Value of ``name`` at each time (file units): (len(times), lanes) int64.

        A multi-lane bus is unpacked (lane 0 in the least significant bits); unknown (x/z) or
        not-yet-dumped values read as 0.
        """
        t_changes, values = self.changes(name)
        width = width or int(self._w[f"{self.scope}.{name}"].bitwidth) // lanes
        idx = np.searchsorted(t_changes, np.asarray(times, dtype=np.int64), side="right") - 1
        out = np.zeros((len(idx), lanes), np.int64)
        cache: dict[int, np.ndarray] = {}
        for k, i in enumerate(idx.tolist()):
            if i < 0:
                continue
            row = cache.get(i)
            if row is None:
                val = values[i]
                if not isinstance(val, int):
                    row = np.zeros(lanes, np.int64)
                else:
                    row = unpack_lanes(val, lanes, width, signed=signed)
                cache[i] = row
            out[k] = row
        return out

    # -- compatibility with the core's checks --------------------------------------------------
    def bus(self, name: str, time_ps: float) -> int:
        value = self._w[f"{self.scope}.{name}"][round(time_ps / self.ps_per_unit)]
        if value is None:
            raise WaveError(f"{self.scope}.{name} has no value at {time_ps} ps")
        return int(value)

    def pe_state(self, times_ps: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """acc, res, res_vld of every PE at each time (ps): arrays (len(times), ROWS, COLS)."""
        p = self.params
        n, shape = p.rows * p.cols, (len(times_ps), p.rows, p.cols)
        t = np.round(np.asarray(times_ps, dtype=float) / self.ps_per_unit).astype(np.int64)
        acc = self.sample("acc_o", t, n, p.acc_w).reshape(shape)
        res = self.sample("res_o", t, n, p.acc_w).reshape(shape)
        vld = self.sample("res_vld_o", t, n, 1, signed=False).reshape(shape).astype(bool)
        return acc, res, vld
