"""The accelerator top's benchmark harness (rtl/harness/systolic_accel_bench.v): build, run, check.

One GEMM per run, no Python while it simulates: the harness streams formula operands through
systolic_accel with sources that never pause and a sink that never stalls, and prints the cycles,
the result beats, the protocol errors it saw and a signature of every result word. This module
computes the same operands and the expected signature with NumPy (independently of the RTL),
so a run counts only when its beats, errors and signature all agree.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import systolic.rtl
from systolic.engine import build, toolchain
from systolic.errors import SimulatorError
from systolic.models.accel import check_depth, result_beats
from systolic.models.params import ArrayParams
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


def _parameters(params: ArrayParams, fifo_depth: int | None) -> dict[str, int]:
    extra = {} if fifo_depth is None else {"FIFO_DEPTH": check_depth(params, fifo_depth)}
    return {**params.hdl_parameters(), **extra}


def build_bench(
    sim: str,
    params: ArrayParams,
    fifo_depth: int | None = None,
    build_root: Path | None = None,
    rtl_dir: Path | None = None,
) -> Path:
    """Build the harness for one array; returns the executable (vvp file or binary)."""
    toolchain.check_simulator(sim)
    gparams = _parameters(params, fifo_depth)
    tag = "_".join(f"{k}{v}" for k, v in gparams.items())
    bdir = build.build_dir(sim, params, root=build_root, rtl_dir=rtl_dir).parent / f"accel_{tag}"
    srcs = [*build.accel_sources(rtl_dir), HARNESS_DIR / "systolic_accel_bench.v"]
    main = HARNESS_DIR / "accel_main.cpp"
    key = {"sim": sim, "params": gparams, "top": BENCH_TOP}
    out = bdir / ("sim.vvp" if sim == "icarus" else "obj/Vsystolic_accel_bench")

    def do_build() -> None:
        bdir.mkdir(parents=True, exist_ok=True)
        if sim == "icarus":
            cmd = ["iverilog", "-g2012", "-o", str(out), "-s", f"{BENCH_TOP}_tb"]
            cmd += [f"-P{BENCH_TOP}_tb.{k}={v}" for k, v in gparams.items()]
            cmd += [str(s) for s in srcs]
        else:
            exe = toolchain.verilator_bin() / "verilator"
            cmd = [str(exe), "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint"]
            cmd += ["-Werror-USERFATAL", "--top-module", BENCH_TOP, "-Mdir", str(bdir / "obj")]
            cmd += [f"-G{k}={v}" for k, v in gparams.items()]
            cmd += [*map(str, srcs), str(main)]
        env = {**os.environ, **toolchain.simulator_env(sim)}
        env.pop("VERILATOR_ROOT", None)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=bdir)
        (bdir / "build.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not out.exists():
            raise SimulatorError(
                f"{sim} build of the accelerator harness failed; see {bdir / 'build.log'}"
            )

    with build.shared_build(bdir, key, [*srcs, main], do_build):
        return out


_REPORT = re.compile(r"^(DONE|CYCLES|BEATS|ERRORS|SIG) ([0-9a-fA-F]+)$", re.M)


def run_bench(
    sim: str, exe: Path, m: int, k: int, n: int, params: ArrayParams, max_cycles: int | None = None
) -> AccelRun:
    """Run one GEMM through the harness; raises SimulatorError when the run did not finish."""
    m, k, n = check_dims(m, k, n)
    # Generous: every fold alone, with its fill and drain, plus the reset.
    limit = max_cycles or len(plan_folds(m, n, params)) * (k + 2 * (params.rows + params.cols) + 8)
    args = [f"+M={m}", f"+K={k}", f"+N={n}", f"+MAXCYC={limit}"]
    cmd = ["vvp", "-n", str(exe), *args] if sim == "icarus" else [str(exe), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=exe.parent)
    wall = time.perf_counter() - t0
    report = {key: value for key, value in _REPORT.findall(proc.stdout)}
    if proc.returncode != 0 or set(report) != {"DONE", "CYCLES", "BEATS", "ERRORS", "SIG"}:
        tail = (proc.stderr or proc.stdout).strip()[-300:]
        raise SimulatorError(f"accelerator harness run {m}x{k}x{n} failed: {tail or 'no report'}")
    if report["DONE"] != "1":
        raise SimulatorError(
            f"accelerator harness run {m}x{k}x{n} did not finish within {limit} cycles "
            f"({report['BEATS']} result beats seen)"
        )
    return AccelRun(
        cycles=int(report["CYCLES"]),
        beats=int(report["BEATS"]),
        errors=int(report["ERRORS"]),
        signature=int(report["SIG"], 16),
        expected_beats=result_beats(m, n, params),
        expected_signature=expected_signature(m, k, n, params),
        wall_s=wall,
    )
