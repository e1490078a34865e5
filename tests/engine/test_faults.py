"""Faults a user's machine produces: concurrent runs, killed builds, full disks, closed pipes.

Each test drives the real ``systolic`` command in subprocesses with its own build folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from systolic.engine.build import BUILD_STAMP

RUN_2X2 = ["run", "--rows", "2", "--cols", "2", "--test", "test_lecture_3x3"]


def systolic(*argv: str, build: Path, cwd: Path | None = None, **kw) -> subprocess.Popen:
    env = {**os.environ, "SYSTOLIC_BUILD_DIR": str(build)}
    return subprocess.Popen(
        [sys.executable, "-m", "systolic.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.sim
@pytest.mark.parametrize("sim", ["icarus", "verilator"])
def test_identical_runs_started_together_both_pass(sim: str, tmp_path: Path) -> None:
    """Both build into and run from one build folder: they serialize on the build and never
    share a run folder. Repeated, the first round racing on a fresh build."""
    rounds = 3 if sim == "icarus" else 1
    for _ in range(rounds):
        procs = [systolic(*RUN_2X2, "--sim", sim, build=tmp_path) for _ in range(2)]
        for proc in procs:
            rc, out, err = finish(proc)
            assert rc == 0, out + err
            assert "1/1 tests passed" in out
    runs = list((tmp_path / sim / "r2c2_d8_a32" / "runs").glob("test_lecture_3x3_seed1.*"))
    assert len(runs) >= 2, runs


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.sim
def test_sigterm_mid_build_leaves_no_child_and_the_next_run_rebuilds(tmp_path: Path) -> None:
    proc = systolic(*RUN_2X2, "--sim", "verilator", build=tmp_path)
    # Wait until the Verilator build has children of its own (make, the compiler).
    seen: list[psutil.Process] = []

    def building() -> bool:
        seen[:] = _descendants(proc.pid)
        return any(p.name() in ("make", "cc1plus", "g++", "c++") for p in _alive(seen))

    assert _wait_for(building, 120), "the build never started a compiler"
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc, timeout=60)
    assert rc == 143, err
    assert "terminated" in one_error_line(err)
    survivors = [p for p in _alive(seen) if p.status() != psutil.STATUS_ZOMBIE]
    assert not survivors, f"children survived SIGTERM: {[p.cmdline() for p in survivors]}"
    bdir = tmp_path / "verilator" / "r2c2_d8_a32"
    assert not (bdir / BUILD_STAMP).exists(), "a build cut short was marked finished"
    rc, out, err = finish(systolic(*RUN_2X2, "--sim", "verilator", build=tmp_path))
    assert rc == 0 and "1/1 tests passed" in out, out + err
    assert (bdir / BUILD_STAMP).exists()


def _alive(procs: list[psutil.Process]) -> Iterator[psutil.Process]:
    for p in procs:
        try:
            if p.is_running():
                yield p
        except psutil.Error:
            continue


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only; CI runs as root)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.sim
def test_full_disk_is_one_line_and_the_next_run_passes(small_disk: Path) -> None:
    build = small_disk / "build"
    filler = small_disk / "filler"
    # Leave a few KiB: enough for the lock file, not for the simulator build.
    with open(filler, "wb", buffering=0) as fh, pytest.raises(OSError):
        while True:
            fh.write(b"\0" * 4096)
    os.truncate(filler, filler.stat().st_size - 8192)
    rc, out, err = finish(systolic(*RUN_2X2, build=build))
    assert rc == 2, out + err
    line = one_error_line(err)
    assert "space" in line.lower() or "failed" in line, line
    filler.unlink()
    rc, out, err = finish(systolic(*RUN_2X2, build=build))
    assert rc == 0 and "1/1 tests passed" in out, out + err


@pytest.mark.sim
def test_relative_build_dir_from_another_folder(tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    rc, out, err = finish(systolic(*RUN_2X2, build=Path("rel-build"), cwd=work))
    assert rc == 0, out + err
    assert (work / "rel-build" / "icarus" / "r2c2_d8_a32" / BUILD_STAMP).exists()


def test_closed_pipe_exits_quietly() -> None:
    """``systolic mutate --list | head -0``: no traceback, no message, the SIGPIPE status."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "systolic.cli", "mutate", "--list"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


def test_run_folders_are_unique_and_the_newest_five_kept(tmp_path: Path) -> None:
    """Each run gets its own folder; finished ones beyond the newest five are removed, and a
    folder without results (a run that may still be going) is never removed."""
    from systolic.engine.runner import KEEP_RUNS, fresh_run_dir

    going = fresh_run_dir(tmp_path, "t", 1)
    made = []
    for _ in range(8):
        d = fresh_run_dir(tmp_path, "t", 1)
        (d / "results.xml").write_text("<testsuites/>")
        made.append(d)
        time.sleep(0.01)
    assert len(set(made)) == 8
    left = sorted(tmp_path.glob("t_seed1.*"))
    assert going in left, "a run without results was removed"
    finished = [d for d in left if (d / "results.xml").exists()]
    assert KEEP_RUNS == 5 and len(finished) <= KEEP_RUNS and made[-1] in finished
