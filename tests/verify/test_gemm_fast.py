"""``systolic gemm`` on the fast path: C read back from the RTL equals A @ B; a planted RTL bug
fails the command; large GEMMs take the fast path by default, small ones the default path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import main
from systolic.engine import build
from systolic.engine.config import RunSettings
from systolic.errors import ConfigError
from systolic.models.params import ArrayParams
from systolic.mutation import catalog as mutants
from systolic.verify.gemm import FAST_GEMM_CYCLES, use_fast_path

#: 3 x 3 folds on a 4x4 array with edge folds (M, N not multiples of 4), extreme values.
SHAPE = (11, 7, 9)


def _operands(folder: Path) -> tuple[Path, Path, np.ndarray]:
    rng = np.random.default_rng(3)
    m, k, n = SHAPE
    a = rng.integers(-128, 128, (m, k))
    b = rng.integers(-128, 128, (k, n))
    a[0, :], b[:, 0] = -128, -128  # the largest products
    np.save(folder / "a.npy", a)
    np.save(folder / "b.npy", b)
    return folder / "a.npy", folder / "b.npy", a @ b


def _gemm(a: Path, b: Path, out: Path) -> int:
    argv = ["gemm", "--a", str(a), "--b", str(b), "--rows", "4", "--cols", "4", "--fast"]
    return main([*argv, "--out", str(out)])


@pytest.mark.sim
def test_gemm_fast_equals_a_at_b(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, want = _operands(tmp_path)
    assert _gemm(a, b, tmp_path / "c.npy") == 0
    assert "1/1 tests passed" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "c.npy"), want)


@pytest.mark.sim
def test_gemm_fast_catches_a_broken_array(tmp_path: Path) -> None:
    """An accumulator that drops the last K step, named by SYSTOLIC_RTL_DIR (read when the
    command starts: its own process): the fast path fails the command and writes no C."""
    rtl = mutants.apply(mutants.by_name("result_misses_last_pair"), build.RTL_DIR, tmp_path / "rtl")
    a, b, _ = _operands(tmp_path)
    argv = ["gemm", "--a", str(a), "--b", str(b), "--rows", "4", "--cols", "4", "--fast"]
    env = {**os.environ, "SYSTOLIC_RTL_DIR": str(rtl), "SYSTOLIC_BUILD_DIR": str(tmp_path / "b")}
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv, "--out", str(tmp_path / "c.npy")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "0/1 tests passed" in proc.stdout or "FAILED" in proc.stdout, proc.stdout
    assert "test_fast_gemm_file" in proc.stdout and "signature of PE(" in proc.stdout, proc.stdout
    assert not (tmp_path / "c.npy").exists()


def test_large_gemms_take_the_fast_path_by_default() -> None:
    p = ArrayParams(4, 4)
    small = np.zeros((8, 8)), np.zeros((8, 8))
    big = np.zeros((200, 64)), np.zeros((64, 200))  # 50 x 50 folds of ~70 cycles
    plain, waves = RunSettings("icarus"), RunSettings("icarus", waves=True)
    assert not use_fast_path(plain, p, *small, None)
    assert use_fast_path(plain, p, *big, None) and FAST_GEMM_CYCLES < 50 * 50 * 64
    assert not use_fast_path(waves, p, *big, None)  # waves come from the default path
    assert use_fast_path(plain, p, *small, True) and not use_fast_path(plain, p, *big, False)
    with pytest.raises(ConfigError, match="--waves needs the default path"):
        use_fast_path(waves, p, *small, True)
