"""Wave files that contradict themselves or were cut short: one line, never a panic's backtrace
or a traceback; and the check that a simulator's wave file is whole."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.engine import config, runner
from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams
from systolic.waves.vcd import WaveError, check_complete, last_time


@pytest.fixture(scope="module")
def vcd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real wave file: the lecture test on a 2x2 array (Icarus)."""
    tmp = tmp_path_factory.mktemp("vcd")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(config.WAVES_DIR, str(tmp / "waves"))
        mp.delenv(config.COV_DIR, raising=False)
        res = runner.run(
            RunSettings("icarus", waves=True, build_root=tmp / "b"),
            ArrayParams(2, 2),
            ["test_lecture_3x3"],
        )
    assert res.passed, res.summary()
    return res.waves["test_lecture_3x3"]


def _edit(vcd: Path, out: Path, edit) -> Path:
    out.write_text(edit(vcd.read_text()))
    return out


def _wide_value(text: str) -> str:
    """A value wider than its variable: a PE's 32-bit accumulator given 40 bits."""
    ident = re.search(r"^\$var \w+ 32 (\S+) acc_o \[31:0\] \$end$", text, re.M)[1]
    head, body = text.split("$enddefinitions $end\n", 1)
    first, rest = body.split("\n", 1)
    return f"{head}$enddefinitions $end\n{first}\nb1{'0' * 39} {ident}\n{rest}"


def _scope_closed_twice(text: str) -> str:
    return text.replace("$upscope $end\n", "$upscope $end\n$upscope $end\n$upscope $end\n", 1)


def _time_backwards(text: str) -> str:
    times = re.findall(r"^#(\d+)$", text, re.M)
    late = times[len(times) // 2]
    return text.replace(f"#{late}\n", f"#{late}\n#{int(times[1])}\n", 1)


CONTRADICTIONS = {
    "value wider than its variable": _wide_value,
    "scope closed twice": _scope_closed_twice,
    "time goes backwards": _time_backwards,
}


@pytest.mark.sim
@pytest.mark.parametrize("case", sorted(CONTRADICTIONS))
def test_contradicting_vcd_is_one_line(case: str, vcd: Path, tmp_path: Path, capfd) -> None:
    """The wave reader panics (a Rust panic, a BaseException) or skips what it cannot place:
    ``systolic waves`` says so in one line, exit 2; nothing of the reader's output shows."""
    from systolic.cli import main

    bad = _edit(vcd, tmp_path / "bad.vcd", CONTRADICTIONS[case])
    assert main(["waves", str(bad)]) == 2
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), err
    assert "contradicts itself" in lines[0] and str(bad) in lines[0], lines[0]
    assert "panicked" not in out + err and "WARN" not in out


@pytest.mark.sim
def test_panic_in_the_reader_is_one_line_in_a_process(vcd: Path, tmp_path: Path) -> None:
    bad = _edit(vcd, tmp_path / "bad.vcd", _wide_value)
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", "waves", str(bad)],
        capture_output=True,
        text=True,
        env={"RUST_BACKTRACE": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "contradicts itself" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.sim
def test_check_complete_finds_a_cut_file(vcd: Path, tmp_path: Path) -> None:
    """Whole: passes. Cut mid-line or at a line end before the simulation's end: WaveError."""
    end = last_time(vcd)
    assert end is not None and end > 0
    check_complete(vcd, until_ps=end)
    text = vcd.read_bytes()
    mid = text.index(b"\n#", len(text) // 2) + 1  # a time step in the second half
    cut = tmp_path / "cut.vcd"
    cut.write_bytes(text[:mid])
    with pytest.raises(WaveError, match="cut short: it ends at"):
        check_complete(cut, until_ps=end)
    cut.write_bytes(text[: mid + 3])
    with pytest.raises(WaveError, match="the last line is incomplete"):
        check_complete(cut, until_ps=end)
    assert last_time(vcd, chunk=7) == end  # read backwards in small pieces: the same step
