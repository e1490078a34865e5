"""The installed package simulates: a wheel installed into a fresh venv (no extras), used from a
folder outside the repository, runs `doctor`, `run`, `gemm` and `waves`, and writes its builds
and results to ./build of that folder."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def sh(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a fresh venv with the wheel of this checkout installed (pinned dependencies)."""
    root = tmp_path_factory.mktemp("pkg")
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
       "-w", root / "dist", REPO, cwd=root)  # fmt: skip
    wheel = next((root / "dist").glob("systolic-*.whl"))
    venv.create(root / "venv", with_pip=True)
    pip = root / "venv" / "bin" / "pip"
    sh(pip, "install", "-q", "-c", REPO / "constraints.txt", wheel, cwd=root)
    return root / "venv" / "bin"


@pytest.mark.sim
@pytest.mark.slow
def test_wheel_simulates_outside_the_repository(installed: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSTOLIC_")}
    env["PATH"] = f"{installed}{os.pathsep}{env.get('PATH', '')}"
    exe = installed / "systolic"
    out = sh(exe, "doctor", cwd=tmp_path, env=env)
    assert "rtl " in out and "site-packages/systolic/rtl" in out, out
    out = sh(exe, "run", "--rows", "2", "--cols", "3", "--test", "test_lecture_3x3", "--waves",
             cwd=tmp_path, env=env)  # fmt: skip
    assert "1/1 tests passed" in out, out
    stamps = list((tmp_path / "build" / "icarus").glob("r2c3_*/.systolic-build-ok"))
    assert stamps, "the build did not go to ./build of the working folder"
    vcd = next((tmp_path / "build" / "waves").glob("test_lecture_3x3-*.vcd"))
    assert "2x3 array" in sh(exe, "waves", vcd, "--cycles", "0:3", cwd=tmp_path, env=env)
    np.savetxt(tmp_path / "a.csv", [[1, 2], [3, 4]], delimiter=",", fmt="%d")
    sh(exe, "gemm", "--a", "a.csv", "--b", "a.csv", "--rows", "2", "--cols", "2", "--out",
       "c.npy", cwd=tmp_path, env=env)  # fmt: skip
    assert np.load(tmp_path / "c.npy").tolist() == [[7, 10], [15, 22]]
    # Pictures need the `waves` extra, which this install lacks: one line saying so.
    proc = subprocess.run(
        [exe, "waves", vcd, "--gif", "x.gif"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "systolic[waves]" in proc.stderr and not (tmp_path / "x.gif").exists()
