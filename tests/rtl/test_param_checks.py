"""The RTL's own elaboration-time parameter checks, on both simulators, bypassing Python's checks.

Verilator must refuse an illegal parameter whatever its warning options (-Wno-fatal, even with
the user-warning classes switched off) and print the message; Icarus must refuse it through the
missing module named after the message. Legal extremes must still elaborate.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from systolic.engine import build, toolchain

#: Warning options that must not let an illegal parameter through.
LAX_FLAGS = ["-Wno-fatal", "-Wno-USERERROR", "-Wno-USERFATAL", "-Wno-lint", "-Wno-style"]

#: (top, parameters, Verilator message, Icarus missing-module name)
ILLEGAL = [
    (
        "systolic_pe",
        {"DATA_W": 17, "ACC_W": 40},
        "systolic_pe: need 2 <= DATA_W <= 16 and 2*DATA_W <= ACC_W <= 64",
        "systolic_pe__need_DATA_W_le_16_and_2xDATA_W_le_ACC_W_le_64",
    ),
    (
        "systolic_pe",
        {"DATA_W": 8, "ACC_W": 15},
        "systolic_pe: need 2 <= DATA_W <= 16 and 2*DATA_W <= ACC_W <= 64",
        "systolic_pe__need_DATA_W_le_16_and_2xDATA_W_le_ACC_W_le_64",
    ),
    (
        "systolic_array",
        {"ROWS": 33, "COLS": 2, "DATA_W": 8, "ACC_W": 32},
        "systolic_array: ROWS must be 1..32",
        "systolic_array__ROWS_must_be_1_to_32",
    ),
    (
        "systolic_array",
        {"ROWS": 2, "COLS": 0, "DATA_W": 8, "ACC_W": 32},
        "systolic_array: COLS must be 1..32",
        "systolic_array__COLS_must_be_1_to_32",
    ),
    (
        "systolic_array",
        {"ROWS": 2, "COLS": 2, "DATA_W": 17, "ACC_W": 40},
        "systolic_array: DATA_W must be 2..16",
        "systolic_array__DATA_W_must_be_2_to_16",
    ),
    (
        "systolic_array",
        {"ROWS": 2, "COLS": 2, "DATA_W": 8, "ACC_W": 65},
        "systolic_array: ACC_W must be 2*DATA_W..64",
        "systolic_array__ACC_W_must_be_2xDATA_W_to_64",
    ),
    (
        "systolic_pe",
        {"DATA_W": 8, "ACC_W": 32, "MUL_REG": 2},
        "systolic_pe: MUL_REG must be 0 or 1",
        "systolic_pe__MUL_REG_must_be_0_or_1",
    ),
    (
        "systolic_array",
        {"ROWS": 2, "COLS": 2, "DATA_W": 8, "ACC_W": 32, "MUL_REG": -1},
        "systolic_array: MUL_REG must be 0 or 1",
        "systolic_array__MUL_REG_must_be_0_or_1",
    ),
    (
        "systolic_accel",
        {"ROWS": 4, "COLS": 2, "FIFO_DEPTH": 3},
        "systolic_accel: FIFO_DEPTH must be ROWS..1024",
        "systolic_accel__FIFO_DEPTH_must_be_ROWS_to_1024",
    ),
    (
        "systolic_accel",
        {"ROWS": 2, "COLS": 2, "FIFO_DEPTH": 1025},
        "systolic_accel: FIFO_DEPTH must be ROWS..1024",
        "systolic_accel__FIFO_DEPTH_must_be_ROWS_to_1024",
    ),
    (
        "systolic_accel",
        {"ROWS": 33, "COLS": 2},
        "systolic_array: ROWS must be 1..32",
        "systolic_array__ROWS_must_be_1_to_32",
    ),
    (
        "systolic_accel",
        {"ROWS": 3, "COLS": 2, "OUT_ROWS": 4},
        "systolic_accel: OUT_ROWS must be 1..ROWS",
        "systolic_accel__OUT_ROWS_must_be_1_to_ROWS",
    ),
    (
        "systolic_accel",
        {"ROWS": 3, "COLS": 2, "OUT_ROWS": 0},
        "systolic_accel: OUT_ROWS must be 1..ROWS",
        "systolic_accel__OUT_ROWS_must_be_1_to_ROWS",
    ),
    (
        "systolic_accel",
        {"ROWS": 2, "COLS": 2, "SHADOWS": 5},
        "systolic_accel: SHADOWS must be 1..4",
        "systolic_accel__SHADOWS_must_be_1_to_4",
    ),
    (
        "systolic_accel",
        {"ROWS": 2, "COLS": 2, "SHADOWS": 0},
        "systolic_accel: SHADOWS must be 1..4",
        "systolic_accel__SHADOWS_must_be_1_to_4",
    ),
    (
        "systolic_fifo_ram",
        {"DEPTH": 0, "WIDTH": 8},
        "systolic_fifo_ram: DEPTH must be 1..1024",
        "systolic_fifo_ram__DEPTH_must_be_1_to_1024",
    ),
    (
        "systolic_fifo_ram",
        {"DEPTH": 1025, "WIDTH": 8},
        "systolic_fifo_ram: DEPTH must be 1..1024",
        "systolic_fifo_ram__DEPTH_must_be_1_to_1024",
    ),
    (
        "systolic_fifo_ram",
        {"DEPTH": 4, "WIDTH": 0},
        "systolic_fifo_ram: WIDTH must be at least 1",
        "systolic_fifo_ram__WIDTH_must_be_at_least_1",
    ),
    (
        "systolic_fifo_ram",
        {"DEPTH": 5, "WIDTH": 8, "ADDR_W": 2},
        "systolic_fifo_ram: need ADDR_W = clog2(DEPTH)",
        "systolic_fifo_ram__need_ADDR_W_eq_clog2_DEPTH",
    ),
]
LEGAL = [
    ("systolic_pe", {"DATA_W": 16, "ACC_W": 64}),
    ("systolic_pe", {"DATA_W": 2, "ACC_W": 4}),
    ("systolic_array", {"ROWS": 1, "COLS": 32, "DATA_W": 16, "ACC_W": 32}),
    ("systolic_pe", {"DATA_W": 16, "ACC_W": 64, "MUL_REG": 1}),
    ("systolic_array", {"ROWS": 1, "COLS": 32, "DATA_W": 2, "ACC_W": 4, "MUL_REG": 1}),
    ("systolic_accel", {"ROWS": 3, "COLS": 1, "FIFO_DEPTH": 3}),
    ("systolic_accel", {"ROWS": 1, "COLS": 2, "DATA_W": 16, "ACC_W": 64, "FIFO_DEPTH": 1024}),
    ("systolic_accel", {"ROWS": 3, "COLS": 2, "OUT_ROWS": 3, "SHADOWS": 4}),
    ("systolic_accel", {"ROWS": 5, "COLS": 2, "OUT_ROWS": 2, "SHADOWS": 1, "FIFO_DEPTH": 5}),
    ("systolic_fifo_ram", {"DEPTH": 1, "WIDTH": 1}),
    ("systolic_fifo_ram", {"DEPTH": 1024, "WIDTH": 3}),
]


def _sources(top: str) -> list[str]:
    if top == "systolic_accel":
        return [str(f) for f in build.accel_sources()]
    if top == "systolic_fifo_ram":
        return [str(f) for f in build.fifo_ram_sources()]
    files = build.rtl_sources()
    return [str(f) for f in (files[:1] if top == "systolic_pe" else files)]


def verilate(top: str, params: dict[str, int], mdir: Path, flags: list[str]) -> tuple[int, str]:
    """``verilator --cc`` (the elaboration step of a build) with the given warning flags."""
    exe = toolchain.verilator_bin() / "verilator"
    gen = [f"-G{k}={v}" for k, v in params.items()]
    cmd = [str(exe), "--cc", "--Mdir", str(mdir), *flags, "--top-module", top, *gen]
    env = {**os.environ, **toolchain.simulator_env("verilator")}
    env.pop("VERILATOR_ROOT", None)
    proc = subprocess.run([*cmd, *_sources(top)], capture_output=True, text=True, env=env)
    return proc.returncode, proc.stdout + proc.stderr


def icarus_compile(top: str, params: dict[str, int], out: Path) -> tuple[int, str]:
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    gen = [f"-P{top}.{k}={v}" for k, v in params.items()]
    cmd = ["iverilog", "-g2012", "-s", top, "-o", str(out), *gen, *_sources(top)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def _id(case: tuple) -> str:
    return f"{case[0]}-" + "-".join(f"{k}{v}" for k, v in case[1].items())


@pytest.mark.sim
@pytest.mark.parametrize("flags", [["-Wno-fatal"], LAX_FLAGS], ids=["Wno-fatal", "lax"])
@pytest.mark.parametrize("case", ILLEGAL, ids=_id)
def test_verilator_refuses_illegal_parameters(case: tuple, flags: list[str], tmp_path) -> None:
    top, params, message, _ = case
    rc, out = verilate(top, params, tmp_path, flags)
    assert rc != 0, f"{top} {params} elaborated under {flags}:\n{out}"
    assert message in out, out


@pytest.mark.sim
@pytest.mark.parametrize("case", ILLEGAL, ids=_id)
def test_icarus_refuses_illegal_parameters(case: tuple, tmp_path) -> None:
    top, params, _, module = case
    rc, out = icarus_compile(top, params, tmp_path / "sim.vvp")
    assert rc != 0, f"{top} {params} compiled:\n{out}"
    assert module in out, out


@pytest.mark.sim
@pytest.mark.parametrize("case", LEGAL, ids=_id)
def test_legal_extremes_elaborate(case: tuple, tmp_path) -> None:
    top, params = case
    rc, out = verilate(top, params, tmp_path / "v", ["-Wall"])
    assert rc == 0, out
    rc, out = icarus_compile(top, params, tmp_path / "sim.vvp")
    assert rc == 0, out
