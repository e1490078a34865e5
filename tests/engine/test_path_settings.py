"""Path settings are read once, against the caller's folder: a relative value names the same
folder in the command, in the simulator (which runs in the run folder) and after a ``cd``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.engine import build, config

ACCESSORS = {
    config.BUILD_DIR: config.build_root,
    config.RTL_DIR: config.rtl_dir_setting,
    config.COV_DIR: config.cov_dir,
    config.WAVES_DIR: config.waves_dir_setting,
}


def test_every_folder_setting_is_a_path_setting() -> None:
    """Each setting checked as a folder is read through the one accessor."""
    assert set(config.PATH_SETTINGS) == set(ACCESSORS)


@pytest.mark.parametrize("name", sorted(ACCESSORS))
def test_relative_value_is_taken_from_the_callers_folder_once(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, elsewhere = tmp_path / "caller", tmp_path / "elsewhere"
    (caller / "rel").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(caller)
    monkeypatch.setenv(name, "rel")
    assert config.path_setting(name) == caller / "rel"
    assert ACCESSORS[name]() == caller / "rel"
    assert config.resolved_paths()[name] == str(caller / "rel")
    config.check_environment()  # what the command line and pytest do first
    monkeypatch.chdir(elsewhere)
    assert os.environ[name] == str(caller / "rel")
    assert ACCESSORS[name]() == caller / "rel"


@pytest.mark.sim
def test_relative_settings_from_another_folder_run_and_land_in_the_callers_folder(
    tmp_path: Path,
) -> None:
    """Every path setting relative, the command started in another folder: the run passes, the
    wave file and the coverage file are in the caller's folders, none in the run folder."""
    caller = tmp_path / "caller"
    caller.mkdir()
    shutil.copytree(build.RTL_DIR, caller / "rtl-copy")
    env = {
        **os.environ,
        config.BUILD_DIR: "b",
        config.RTL_DIR: "rtl-copy",
        config.COV_DIR: "cov",
        config.WAVES_DIR: "w",
    }
    argv = ["run", "--rows", "2", "--cols", "2", "--test", "test_lecture_3x3", "--waves"]
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=caller,
        timeout=300,
    )
    assert proc.returncode == 0 and "1/1 tests passed" in proc.stdout, proc.stdout + proc.stderr
    assert [p.name for p in (caller / "w").glob("*.vcd")] == [
        "test_lecture_3x3-icarus-r2c2_d8_a32-seed1.vcd"
    ]
    assert len(list((caller / "cov").glob("*.yml"))) == 1
    # A build of an RTL folder other than the packaged one is named after it (_rtl<hash>).
    (bdir,) = (caller / "b" / "icarus").glob("r2c2_d8_a32_waves_rtl*")
    vvp = (bdir / "sim.vvp").read_bytes()
    assert str(caller / "rtl-copy" / "systolic_pe.v").encode() in vvp, "built from other RTL"
    stray = [p for p in (caller / "b").rglob("*") if p.name in ("w", "cov", "rtl-copy")]
    assert not stray, stray
