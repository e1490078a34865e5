"""The accelerator top's benchmark harness (rtl/harness/systolic_accel_bench.v): build, run, check.

One GEMM per run, no Python while it simulates: the harness streams formula operands through
systolic_accel with sources that never pause and a sink that never stalls, and prints the cycles,
the result beats, the protocol errors it saw and a signature of every result word. This module
computes the same operands and the expected signature with NumPy (independently of the RTL),
so a run counts only when its beats, errors and signature all agree.
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import systolic.rtl
from systolic.engine import build, toolchain
from systolic.engine.config import RunSettings
from systolic.errors import SimulatorError
from systolic.models.accel import groups, result_beats
from systolic.models.params import ArrayParams, TopParams
from systolic.models.tiling import check_dims, plan_folds

HARNESS_DIR = systolic.rtl.directory() / "harness"
BENCH_TOP = "systolic_accel_bench"
_FNV = 1099511628211
_MASK64 = (1 << 64) - 1


def operands(m: int, k: int, n: int, data_w: int) -> tuple[np.ndarray, np.ndarray]:
    """The harness's A (M x K) and B (K x N): A[i][k] = 7i + 13k + 5, B[k][j] = 11k + 3j + 1,
    each wrapped to signed ``data_w`` bits."""
    i, kk = np.meshgrid(np.arange(m, dtype=np.int64), np.arange(k, dtype=np.int64), indexing="ij")
    a = _wrap_signed(7 * i + 13 * kk + 5, data_w)
    kk, j = np.meshgrid(np.arange(k, dtype=np.int64), np.arange(n, dtype=np.int64), indexing="ij")
    b = _wrap_signed(11 * kk + 3 * j + 1, data_w)
    return a, b


def _wrap_signed(x: np.ndarray, bits: int) -> np.ndarray:
    x = x & ((1 << bits) - 1)
    return np.where(x >= 1 << (bits - 1), x - (1 << bits), x)


def expected_signature(m: int, k: int, n: int, params: ArrayParams) -> int:
    """The signature the harness must print: every kept result word of every beat, in order."""
    a, b = operands(m, k, n, params.data_w)
    # Python ints: the products of long K overflow nothing, then the ACC_W-bit pattern.
    c = (a.astype(object) @ b.astype(object)) if k * 2 ** (2 * params.data_w) > 2**62 else a @ b
    sig = 0
    pattern = (1 << params.acc_w) - 1
    for f in plan_folds(m, n, params):
        for r in range(f.m):
            for j in range(f.n):
                sig = (sig * _FNV + (int(c[f.row0 + r, f.col0 + j]) & pattern)) & _MASK64
    return sig


@dataclass(frozen=True)
class AccelRun:
    """One harness run: its report and whether it agrees with the expected beats and signature."""

    cycles: int
    beats: int
    errors: int
    signature: int
    expected_beats: int
    expected_signature: int
    wall_s: float

    @property
    def problems(self) -> list[str]:
        out = []
        if self.beats != self.expected_beats:
            out.append(f"{self.beats} result beats, expected {self.expected_beats}")
        if self.errors:
            out.append(f"{self.errors} beats with a wrong tkeep or tlast")
        if self.signature != self.expected_signature:
            out.append(f"signature {self.signature:016x}, expected {self.expected_signature:016x}")
        return out


def build_bench(settings: RunSettings, top: TopParams) -> Path:
    """Build the harness for one top (the settings' simulator, RTL and build folders); returns
    the executable (vvp file or binary)."""
    sim, rtl_dir = settings.sim, settings.rtl_dir
    gparams = top.hdl_parameters()
    tag = "_".join(f"{k}{v}" for k, v in gparams.items()) + build.rtl_tag(rtl_dir)
    bdir = build.sim_folder(settings) / f"accel_{tag}"
    srcs = [*build.accel_sources(rtl_dir), HARNESS_DIR / "systolic_accel_bench.v"]
    main = HARNESS_DIR / "accel_main.cpp"
    return build.native_build(sim, bdir, f"{BENCH_TOP}_tb", BENCH_TOP, gparams, srcs, main)


_REPORT = re.compile(r"^(DONE|CYCLES|BEATS|ERRORS|SIG) ([0-9a-fA-F]+)$", re.M)


def _run(
    sim: str,
    exe: Path,
    args: list[str],
    limit: int,
    what: str,
    beats_out: int | None = None,
    cwd: Path | None = None,
) -> tuple[dict[str, str], float]:
    """One harness process with ``args`` and a cycle limit, in ``cwd`` (default: the build
    folder): its report (DONE, CYCLES, BEATS, ERRORS, SIG) and wall time. A crash, a missing
    report or an unfinished run raises SimulatorError naming ``what``."""
    cmd = toolchain.simulator(sim).native_run(exe, [*args, f"+MAXCYC={limit}"])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd or exe.parent)
    wall = time.perf_counter() - t0
    report = {key: value for key, value in _REPORT.findall(proc.stdout)}
    if proc.returncode != 0 or set(report) != {"DONE", "CYCLES", "BEATS", "ERRORS", "SIG"}:
        tail = (proc.stderr or proc.stdout).strip()[-300:]
        raise SimulatorError(f"{what} failed: {tail or 'no report'}")
    if report["DONE"] != "1":
        of = f" of {beats_out}" if beats_out is not None else ""
        raise SimulatorError(
            f"{what} did not finish within {limit} cycles ({report['BEATS']}{of} result beats seen)"
        )
    return report, wall


def run_bench(
    sim: str,
    exe: Path,
    m: int,
    k: int,
    n: int,
    top: TopParams,
    max_cycles: int | None = None,
) -> AccelRun:
    """Run one GEMM through the harness built for ``top``; raises SimulatorError when the run
    did not finish."""
    params = top.array
    m, k, n = check_dims(m, k, n)
    # Generous: every fold alone, with its fill and drain, plus the reset.
    limit = max_cycles or len(plan_folds(m, n, params)) * (k + 2 * (params.rows + params.cols) + 8)
    args = [f"+M={m}", f"+K={k}", f"+N={n}"]
    report, wall = _run(sim, exe, args, limit, f"accelerator harness run {m}x{k}x{n}")
    return AccelRun(
        cycles=int(report["CYCLES"]),
        beats=int(report["BEATS"]),
        errors=int(report["ERRORS"]),
        signature=int(report["SIG"], 16),
        expected_beats=result_beats(m, n, top),
        expected_signature=expected_signature(m, k, n, params),
        wall_s=wall,
    )


# ------------------------------------------------------------------------------------------------
# Operand files: real GEMMs (the workload runner) through the same harness
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamRun:
    """GEMMs streamed back to back through the top from files: the RTL's C of each GEMM (None
    when its beats were wrong or missing), the cycles and what went wrong."""

    results: list[np.ndarray | None]
    cycles: int
    beats: int
    problems: list[str]
    wall_s: float


#: The stream run's operand files (A and B steps) and result file (C beats), in its workdir.
STREAM_FILES = ("a", "b", "c")


def _hex_lines(fields: list[tuple[np.ndarray, int]]) -> list[str]:
    """One hex line per row of the (rows x lanes) unsigned fields, packed most significant
    first in the order given, each lane ``bits`` wide (lane 0 least significant)."""
    cols: list[np.ndarray] = []
    for values, bits in fields:
        for lane in range(values.shape[1] - 1, -1, -1):
            v = values[:, lane].astype(np.uint64)
            cols += [
                ((v >> np.uint64(b)) & np.uint64(1)).astype(np.uint8)
                for b in range(bits - 1, -1, -1)
            ]
    bits_m = np.stack(cols, axis=1)
    pad = (-bits_m.shape[1]) % 4
    if pad:
        bits_m = np.concatenate([np.zeros((bits_m.shape[0], pad), np.uint8), bits_m], axis=1)
    nib = bits_m.reshape(bits_m.shape[0], -1, 4) @ np.array([8, 4, 2, 1], np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", np.uint8)[nib]
    return [row.tobytes().decode() for row in chars]


def _operand_lines(
    gemms: list[tuple[np.ndarray, np.ndarray]], params: ArrayParams
) -> tuple[list[str], list[str], list[tuple[int, int, int, int, int]]]:
    """The A and B step lines of every fold of every GEMM, and the folds as (gemm, row0, m,
    col0, n)."""
    p = params
    mask = (1 << p.data_w) - 1
    a_rows, a_keep, a_last, b_rows, b_keep = [], [], [], [], []
    folds = []
    for g, (a, b) in enumerate(gemms):
        for f in plan_folds(a.shape[0], b.shape[1], p):
            k = a.shape[1]
            lanes_a = np.zeros((k, p.rows), np.int64)
            lanes_a[:, : f.m] = a[f.row0 : f.row0 + f.m, :].T
            lanes_b = np.zeros((k, p.cols), np.int64)
            lanes_b[:, : f.n] = b[:, f.col0 : f.col0 + f.n]
            a_rows.append(lanes_a & mask)
            b_rows.append(lanes_b & mask)
            a_keep.append(np.tile((np.arange(p.rows) < f.m).astype(np.int64), (k, 1)))
            b_keep.append(np.tile((np.arange(p.cols) < f.n).astype(np.int64), (k, 1)))
            last = np.zeros((k, 1), np.int64)
            last[-1, 0] = 1
            a_last.append(last)
            folds.append((g, f.row0, f.m, f.col0, f.n))
    a_lines = _hex_lines(
        [
            (np.concatenate(a_last), 1),
            (np.concatenate(a_keep), 1),
            (np.concatenate(a_rows), p.data_w),
        ]
    )
    b_lines = _hex_lines([(np.concatenate(b_keep), 1), (np.concatenate(b_rows), p.data_w)])
    return a_lines, b_lines, folds


def run_stream(
    sim: str,
    exe: Path,
    gemms: list[tuple[np.ndarray, np.ndarray]],
    top: TopParams,
    workdir: Path,
) -> StreamRun:
    """Stream every fold of ``gemms`` (back to back, in order) through the harness built for
    ``top`` and read back every result beat: each fold's beats must be its groups of rows in
    order with the fold's tkeep and tlast; each GEMM's C is assembled from them (signed ACC_W).
    Raises SimulatorError when the harness did not run or did not finish."""
    p, out_rows = top.array, top.out_rows
    workdir.mkdir(parents=True, exist_ok=True)
    a_lines, b_lines, folds = _operand_lines(gemms, p)
    files = {name: workdir / f"{name}.hex" for name in STREAM_FILES}
    files["a"].write_text("\n".join(a_lines) + "\n")
    files["b"].write_text("\n".join(b_lines) + "\n")
    files["c"].unlink(missing_ok=True)
    beats_out = sum(groups(f[2], out_rows) for f in folds)
    limit = len(a_lines) + len(folds) * (2 * (p.rows + p.cols) + 8) + beats_out
    # The harness runs in workdir and gets the files' bare names: it reads a plusarg path into
    # a 128-character register, so a long (or non-ASCII) absolute path would be cut, the file
    # never opened and the stream run empty, depending on where the build folder is.
    args = [f"+{name.upper()}_FILE={files[name].name}" for name in STREAM_FILES]
    args += [f"+BEATS_IN={len(a_lines)}", f"+BEATS_OUT={beats_out}"]
    report, wall = _run(sim, exe, args, limit, "accelerator stream run", beats_out, workdir)
    if not files["c"].is_file():
        raise SimulatorError(f"accelerator stream run failed: no result file {files['c']}")
    beats = [int(line, 16) for line in files["c"].read_text().split()]
    results, problems = _assemble(beats, folds, gemms, top)
    return StreamRun(results, int(report["CYCLES"]), len(beats), problems, wall)


def _assemble(
    beats: list[int],
    folds: list[tuple[int, int, int, int, int]],
    gemms: list[tuple[np.ndarray, np.ndarray]],
    top: TopParams,
) -> tuple[list[np.ndarray | None], list[str]]:
    """Result beats -> one C per GEMM, checking each beat's tkeep and tlast against its fold."""
    p, out_rows = top.array, top.out_rows
    word = (1 << p.acc_w) - 1
    lanes = out_rows * p.cols
    data_bits = lanes * p.acc_w
    out: list[np.ndarray | None] = [np.zeros((a.shape[0], b.shape[1]), np.int64) for a, b in gemms]
    problems: list[str] = []
    it = iter(beats)
    for idx, (g, row0, m, col0, n) in enumerate(folds):
        n_groups = groups(m, out_rows)
        for grp in range(n_groups):
            beat = next(it, None)
            if beat is None:
                problems.append(f"fold {idx}: {n_groups - grp} result beats missing")
                out[g] = None
                break
            rows = range(grp * out_rows, min((grp + 1) * out_rows, m))
            keep = (beat >> data_bits) & ((1 << lanes) - 1)
            last = beat >> (data_bits + lanes)
            want = sum(((1 << n) - 1) << ((r - rows[0]) * p.cols) for r in rows)
            if keep != want or last != int(grp == n_groups - 1):
                problems.append(
                    f"fold {idx} beat {grp}: tkeep {keep:0{lanes}b} tlast {last}, expected "
                    f"tkeep {want:0{lanes}b} tlast {int(grp == n_groups - 1)}"
                )
                out[g] = None
            c = out[g]
            if c is not None:
                for r in rows:
                    for j in range(n):
                        v = (beat >> (((r - rows[0]) * p.cols + j) * p.acc_w)) & word
                        c[row0 + r, col0 + j] = v - (1 << p.acc_w) if v >> (p.acc_w - 1) else v
    extra = sum(1 for _ in it)
    if extra:
        problems.append(f"{extra} result beats beyond the last fold's")
    return out, problems
