"""Open a wave file of ``systolic_array`` from either simulator and sample its signals per cycle.

Reading is done by pywellen (values) and pyvcd's tokenizer (the declared ranges of the header,
which GTKWave needs); nothing here parses VCD text by hand. Both simulators put the array at
``systolic_array`` (Verilator adds a ``$rootio`` scope with the ports) and every PE at
``systolic_array.g_row[i].g_col[j].u_pe``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
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


@contextlib.contextmanager
def _native(path: Path) -> Iterator[None]:
    """Around every call into the wave reader (pywellen, Rust): its output is captured, and what
    it says about the file becomes one ``WaveError`` line.

    The reader prints straight to the process's stdout and stderr: warnings when a file
    contradicts itself (time that goes backwards, whose changes it then skips) and, when it
    panics on one (a value wider than its variable, a scope closed twice), a backtrace. A panic
    surfaces as ``pyo3_runtime.PanicException``, a ``BaseException``: caught here, not above.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            except BaseException as exc:
                if type(exc).__name__ != "PanicException":
                    raise
                why = str(exc).strip().splitlines()[0] if str(exc).strip() else "reader panic"
                raise WaveError(f"{path}: the wave file contradicts itself ({why})") from None
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        sink.seek(0)
        said = [line for line in sink.read().decode(errors="replace").splitlines() if line]
    if said:
        raise WaveError(f"{path}: the wave file contradicts itself ({said[0].strip()})")


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
        with _native(path):
            w = pywellen.Waveform(str(path))
    except WaveError:
        raise
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


def ps_per_unit(w) -> float:
    """Picoseconds per time unit of an open wave file."""
    ts = w.timescale
    unit = str(ts.unit).rsplit(".", 1)[-1].lower()
    return int(ts.factor) * _UNIT_PS.get(unit, 1.0)


def last_time(path: Path, chunk: int = 1 << 16) -> int | None:
    """The last time step (``#<n>`` line, file units) of a VCD, read from its end; None when it
    has none."""
    with open(path, "rb") as f:
        pos = f.seek(0, os.SEEK_END)
        buf = b""
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            buf = f.read(pos - start) + buf
            pos = start
            lines = buf.splitlines(keepends=True)
            # The first line of a chunk may be cut: searched with the next chunk.
            whole, buf = (lines[1:], lines[0]) if start > 0 else (lines, b"")
            for line in reversed(whole):
                text = line.strip()
                if text.startswith(b"#") and text[1:].isdigit():
                    return int(text[1:])
    return None


def check_complete(path: Path, until_ps: float | None = None, slack_ps: float = 0.0) -> None:
    """Raise a one-line ``WaveError`` unless ``path`` is a whole VCD: not empty, a readable
    header, a complete last line and, with ``until_ps``, a last time step no earlier than
    ``until_ps - slack_ps`` (where the simulation ended). A simulator writes its wave file
    itself and says nothing when that fails (a full disk, a size limit): this is the check."""
    path = Path(path)
    w = open_waveform(path)
    if until_ps is None:
        return
    with _native(path):
        scale = ps_per_unit(w)
    last = last_time(path)
    if last is None:
        raise WaveError(f"{path}: cut short: no time step in the file")
    if last * scale < until_ps - slack_ps:
        raise WaveError(
            f"{path}: cut short: it ends at {last * scale / 1000:g} ns, the simulation ran to "
            f"{until_ps / 1000:g} ns"
        )


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
    except OSError as exc:
        raise WaveError(f"{path}: {exc.strerror or exc}") from None
    except (VCDParseError, IndexError, ValueError, KeyError, AttributeError) as exc:
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
        with _native(self.path):
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
        with _native(self.path):
            return int(self._w[name].bitwidth)

    def _ps_per_unit(self) -> float:
        with _native(self.path):
            return ps_per_unit(self._w)

    def has(self, name: str) -> bool:
        return f"{self.scope}.{name}" in self.names

    # -- values ------------------------------------------------------------------------------
    def changes(self, name: str) -> tuple[np.ndarray, list]:
        """(times in file units, values) of every change of ``<scope>.name``."""
        if name not in self._changes:
            full = f"{self.scope}.{name}"
            if full not in self.names:
                raise WaveError(f"{self.path}: {full} is not in this wave file")
            with _native(self.path):
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
        width = width or self._width(f"{self.scope}.{name}") // lanes
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
        with _native(self.path):
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
