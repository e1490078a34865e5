"""``systolic mutate`` given a broken RTL folder (``SYSTOLIC_RTL_DIR``) refuses it in one line,
exit 2, before any mutant runs, as ``systolic run`` and ``systolic formal`` do: a missing file,
a file that does not build, a file that a mutant's edit no longer applies to."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from systolic.engine import build

MUTANT = "swap_ab_forwarding"


def _missing(rtl: Path) -> None:
    (rtl / "systolic_array.v").unlink()


def _garbage(rtl: Path) -> None:
    with open(rtl / "systolic_pe.v", "a") as f:
        f.write("\nthis is not verilog\n")


def _edited(rtl: Path) -> None:
    """The PE without the text the mutant edits (a stale or foreign RTL)."""
    from systolic.mutation import catalog

    pe = rtl / "systolic_pe.v"
    text = pe.read_text()
    for file, old, _new in catalog.by_name(MUTANT).edits:
        assert file == pe.name
        text = text.replace(old, old.replace("<=", "<= ") + " ")
    pe.write_text(text)


@pytest.mark.sim
@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (_missing, "systolic_array.v: no such file"),
        (_garbage, "does not build"),
        (_edited, f"mutant {MUTANT}: its edit does not apply"),
    ],
    ids=["missing-file", "syntax-error", "edit-does-not-apply"],
)
@pytest.mark.parametrize("engine", ["sim", "formal"])
def test_a_broken_rtl_folder_is_one_line_exit_2(
    breakage: Callable[[Path], None], says: str, engine: str, tmp_path: Path
) -> None:
    rtl = tmp_path / "rtl"
    shutil.copytree(build.RTL_DIR, rtl)
    breakage(rtl)
    env = {**os.environ, "SYSTOLIC_RTL_DIR": str(rtl), "SYSTOLIC_BUILD_DIR": str(tmp_path / "b")}
    out = tmp_path / "mut"
    argv = ["mutate", "--only", MUTANT, "--engine", engine, "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), proc.stderr
    assert says in lines[0]
    assert "mutant " not in proc.stdout  # no table: no mutant ran
    assert not (out / "report.json").exists() and not (out / MUTANT).exists()
