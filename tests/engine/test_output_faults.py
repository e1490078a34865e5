"""Faults under a run's outputs: a full disk, a file size limit, statistics that never arrive.

A run that could not write its outputs is one ``systolic: error:`` line, a non-zero exit and no
partial file; a run whose tests counted no check is never a pass.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from systolic.engine import build, config, runner
from systolic.engine.config import RunSettings
from systolic.engine.runner import NO_CHECKS, RunResult
from systolic.models.params import ArrayParams

P2 = ArrayParams(2, 2)
RUN_2X2 = ["run", "--rows", "2", "--cols", "2", "--test", "test_lecture_3x3", "--waves"]
WAVE_NAME = "test_lecture_3x3-icarus-r2c2_d8_a32-seed1"


def systolic(
    *argv: str, env: dict[str, str], fsize: int | None = None
) -> subprocess.CompletedProcess:
    """The real command in a subprocess, with a file size limit (``ulimit -f``) if given."""

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        preexec_fn=limit,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), proc.stderr
    assert "passed" not in proc.stdout, proc.stdout
    return lines[0]


def fill(disk: Path, room: int) -> Path:
    """Fill ``disk`` up to ``room`` free bytes; returns the filler file."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 4096)
    os.truncate(filler, max(0, filler.stat().st_size - room))
    return filler


def leftovers(folder: Path) -> list[str]:
    """Every wave, stimulus or view file under ``folder``."""
    if not folder.exists():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.suffix in (".vcd", ".gtkw", ".npz", ".stim")
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build folder holding the 2x2 Icarus build with waves (the runs below reuse it)."""
    root = tmp_path_factory.mktemp("build")
    build.build(RunSettings("icarus", waves=True, build_root=root), P2)
    return root


@pytest.mark.sim
def test_full_disk_under_the_wave_files_is_one_line_and_leaves_nothing(
    built: Path, tmpfs: Callable[[str], Path]
) -> None:
    """``SYSTOLIC_WAVES_DIR`` on a full disk: not "1/1 passed" with 0 checks and a cut VCD, but
    one line; the next run with room passes and counts its checks."""
    disk = tmpfs("256k")
    waves = disk / "waves"
    filler = fill(disk, 8192)
    env = {config.BUILD_DIR: str(built), config.WAVES_DIR: str(waves)}
    line = one_error_line(systolic(*RUN_2X2, env=env))
    assert "No space left on device" in line and WAVE_NAME in line, line
    assert leftovers(disk) == [], leftovers(disk)
    filler.unlink()
    proc = systolic(*RUN_2X2, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counted = dict(re.findall(r"^  (products checked|PE-cycle checks) +(\d+)$", proc.stdout, re.M))
    assert int(counted["products checked"]) == 4 and int(counted["PE-cycle checks"]) > 0, counted
    assert leftovers(waves) == [
        f"{WAVE_NAME}.gtkw",
        f"{WAVE_NAME}.stim",
        f"{WAVE_NAME}.stim/test_lecture_3x3_0.npz",
        f"{WAVE_NAME}.vcd",
    ]


@pytest.mark.sim
def test_full_disk_under_the_run_folder_is_one_line(tmpfs: Callable[[str], Path]) -> None:
    """The build folder's disk fills up after the build: the simulator's wave file, the
    stimulus and cocotb's results are cut; one line, and none of them stays behind."""
    disk = tmpfs("1m")
    root = disk / "build"
    build.build(RunSettings("icarus", waves=True, build_root=root), P2)
    fill(disk, 20000)
    proc = systolic(*RUN_2X2, env={config.BUILD_DIR: str(root)})
    line = one_error_line(proc)
    assert "No space left on device" in line, line
    assert leftovers(root) == [], leftovers(root)
    assert not list(root.rglob("results.xml")), "a cut results file was left behind"


@pytest.mark.sim
def test_wave_file_cut_by_the_file_size_limit_is_one_line(built: Path, tmp_path: Path) -> None:
    """``ulimit -f``: the simulator's VCD stops mid-file and the simulator says nothing; the
    check after the run finds it cut, names the limit and removes it."""
    waves = tmp_path / "waves"
    env = {config.BUILD_DIR: str(built), config.WAVES_DIR: str(waves)}
    line = one_error_line(systolic(*RUN_2X2, env=env, fsize=10_000))
    assert f"{WAVE_NAME}.vcd" in line and "ulimit -f" in line, line
    assert "truncated" in line or "cut short" in line, line
    assert leftovers(waves) == [] and leftovers(built / "icarus") == []


@pytest.mark.sim
def test_run_that_counted_no_check_is_no_pass(built: Path, monkeypatch, capsys) -> None:
    """Tests that pass but whose statistics never arrive: the run is not a pass and
    ``systolic run`` exits 1 saying so."""
    from systolic.cli import main

    monkeypatch.setattr(build, "BUILD_ROOT", built)
    base = runner.base_config
    monkeypatch.setattr(
        runner, "base_config", lambda *a, **k: base(*a, **k).replace(stats_dir=None)
    )
    res = runner.run(RunSettings("icarus"), P2, ["test_lecture_3x3"], out_dir=built / "nostats")
    assert (res.tests, res.failed, res.checks) == (1, 0, 0)
    assert not res.passed and NO_CHECKS in res.summary()
    assert main(RUN_2X2[:-1]) == 1
    out = capsys.readouterr().out
    assert "NOT PASSED" in out and NO_CHECKS in out, out


def test_passed_needs_a_counted_check() -> None:
    res = RunResult("icarus", P2, 1, tests=2)
    assert not res.passed
    res.stats = [{"test": "t", "products": 0, "pe_checks": 0, "edge_checks": 0}]
    assert not res.passed
    res.stats[0]["edge_checks"] = 1
    assert res.passed
    res.failed = 1
    assert not res.passed
