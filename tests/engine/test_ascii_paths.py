"""Non-ASCII paths: the simulator only ever sees ASCII names (Icarus mangles other bytes of a
path it is handed), so a workload named ``ü`` or a build folder with ``ü`` just works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from systolic.engine import config
from systolic.engine.runner import ascii_name, fresh_run_dir, simulator_arg
from systolic.errors import ConfigError


def systolic(*argv: str, build: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, config.BUILD_DIR: str(build)},
        timeout=600,
    )


def tiny_workload(path: Path) -> Path:
    """A one-layer network (flatten, then a 4 -> 3 linear layer) on two images."""
    from systolic.engine.workload import build_workload, save_workload
    from systolic.models.network import GemmLayer, HostOp, QuantNet

    rng = np.random.default_rng(0)
    weight = rng.integers(-20, 20, (3, 4)).astype(np.int8)
    fc = GemmLayer(
        "fc",
        "linear",
        "flat",
        "logits",
        weight,
        np.full(3, 0.01),
        np.zeros(3, np.int32),
        0.05,
        None,
    )
    net = QuantNet("tiny", (1, 2, 2), 0.05, [HostOp("flatten", "flatten", "input", "flat"), fc])
    return save_workload(build_workload(net, rng.random((2, 1, 2, 2)), np.array([0, 1])), path)


@pytest.mark.sim
def test_workload_whose_name_is_not_ascii_runs_on_icarus(tmp_path: Path) -> None:
    wl = tiny_workload(tmp_path / "wörkload ü.npz")
    argv = ["sim", "--workload", str(wl), "--mode", "replay", "--rows", "2", "--cols", "2"]
    proc = systolic(*argv, build=tmp_path / "build")
    assert proc.returncode == 0 and "PASSED" in proc.stdout, proc.stdout + proc.stderr


#: Verilator's build takes half a minute: nightly tier.
SIMS = ["icarus", pytest.param("verilator", marks=pytest.mark.nightly)]


@pytest.mark.sim
@pytest.mark.parametrize("sim", SIMS)
def test_build_folder_that_is_not_ascii_writes_its_waves(sim: str, tmp_path: Path) -> None:
    build = tmp_path / ("bü ild" if sim == "icarus" else "bü-ild")  # make takes no blank
    argv = ["run", "--sim", sim, "--rows", "2", "--cols", "2", "--test", "test_lecture_3x3"]
    proc = systolic(*argv, "--waves", build=build)
    assert proc.returncode == 0 and "1/1 tests passed" in proc.stdout, proc.stdout + proc.stderr
    vcd = build / "waves" / f"test_lecture_3x3-{sim}-r2c2_d8_a32-seed1.vcd"
    assert vcd.is_file() and f"waves: {vcd}" in proc.stdout, proc.stdout


def test_run_folders_get_ascii_names(tmp_path: Path) -> None:
    assert ascii_name("test_lecture_3x3") == "test_lecture_3x3"
    a, b = ascii_name("workload_ü_replay"), ascii_name("workload_ö_replay")
    assert a.isascii() and b.isascii() and a != b
    assert len(ascii_name("x" * 500)) < 100
    d = fresh_run_dir(tmp_path / "bü", "wörk", 1)
    assert d.name.isascii() and d.name.startswith("w_rk_")


def test_simulator_arguments_are_ascii(tmp_path: Path) -> None:
    """A path inside the run folder is handed over relative to it; another non-ASCII path is
    refused with one line."""
    run = tmp_path / "bü" / "run"
    assert simulator_arg(f"+SYSTOLIC_STIM={run / 'stim.hex'}", run) == "+SYSTOLIC_STIM=stim.hex"
    assert simulator_arg("+ROWS_N=3", run) == "+ROWS_N=3"
    with pytest.raises(ConfigError, match="ASCII"):
        simulator_arg(f"+SYSTOLIC_STIM={tmp_path / 'bü' / 'elsewhere.hex'}", run)


def test_verilator_build_folder_with_a_blank_is_one_line(tmp_path: Path) -> None:
    """GNU make cannot build there: said before any work, naming the folder."""
    from systolic.engine.build import check_build_path
    from systolic.errors import SimulatorError

    check_build_path("icarus", tmp_path / "a b")
    with pytest.raises(SimulatorError, match="GNU make takes no blank"):
        check_build_path("verilator", tmp_path / "a b")
