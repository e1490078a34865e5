"""The ``systolic`` command: help, a real GEMM, and one clear line for every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def systolic(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_help_lists_the_main_actions() -> None:
    proc = systolic("--help")
    assert proc.returncode == 0
    for word in ("sim", "run", "gemm", "lint", "doctor", "bench-sim"):
        assert word in proc.stdout


def test_missing_simulator(tmp_path: Path) -> None:
    # A PATH with Python but without iverilog/vvp.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    proc = systolic("run", "--rows", "2", env={"PATH": str(bindir)})
    assert_one_line_error(proc, "Icarus Verilog", "not found", "apt-get install")


@pytest.fixture
def mats(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    files = {
        "a": rng.integers(-128, 128, size=(7, 5)),
        "b": rng.integers(-128, 128, size=(5, 6)),
        "b_bad_k": rng.integers(-128, 128, size=(4, 6)),
        "a_float": rng.random((7, 5)),
        "a_range": np.full((7, 5), 300),
        "a_1d": np.arange(5),
    }
    out = {}
    for name, arr in files.items():
        out[name] = tmp_path / f"{name}.npy"
        np.save(out[name], arr)
    out["corrupt"] = tmp_path / "corrupt.npy"
    out["corrupt"].write_bytes(out["a"].read_bytes()[:40])
    return out


@pytest.mark.sim
def test_gemm_on_the_rtl(mats: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    proc = systolic(
        "gemm",
        "--a",
        str(mats["a"]),
        "--b",
        str(mats["b"]),
        "--rows",
        "3",
        "--cols",
        "4",
        "--out",
        str(out),
        env={"SYSTOLIC_BUILD_DIR": str(tmp_path / "build")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    c = np.loadtxt(out, delimiter=",", dtype=np.int64, ndmin=2)
    assert np.array_equal(c, np.load(mats["a"]) @ np.load(mats["b"]))
    assert not list(tmp_path.glob("tmp*")), "a temporary file was left behind"


@pytest.mark.parametrize("module", ["systolic", "systolic.cli"])
def test_python_dash_m_runs_the_command(module: str) -> None:
    """``python -m systolic`` and ``python -m systolic.cli`` are the ``systolic`` command."""
    proc = subprocess.run(
        [sys.executable, "-m", module, "sim", "--sizes", "0x3"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("systolic: error: sim: argument --sizes"), proc.stderr
