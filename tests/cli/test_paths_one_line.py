"""A path or value with a control character in it never breaks the one-line rule.

``systolic gemm --a $'no\\nsuch.npy'`` once printed its error over two lines. Paths enter
messages through ``systolic.errors.shown`` and every error is printed by
``systolic.errors.error_line``, which escapes whatever control character is left, so each case
below is exactly one stderr line ``systolic: error: …`` with the character shown escaped.

Cases run in-process (``systolic.cli.main``); the work a command would start is a tripwire, so a
bad input accepted by mistake fails fast instead of simulating.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import main, options
from systolic.errors import error_line, printable, shown

#: The hostile characters: new line, carriage return, tab, and a terminal escape sequence.
HOSTILE = {"newline": "\n", "return": "\r", "tab": "\t", "escape": "\x1b[31m"}


class WorkStarted(Exception):
    """A bad input was accepted: the command went on to real work."""


@pytest.fixture(autouse=True)
def tripwires(monkeypatch: pytest.MonkeyPatch) -> None:
    def trip(*_a: object, **_k: object) -> None:
        raise WorkStarted("the command started work on a bad input")

    from systolic.engine import build, toolchain

    monkeypatch.setattr(build, "built", trip)
    monkeypatch.setattr(toolchain, "check_simulator", trip)


def name_with(char: str, stem: str) -> str:
    return f"no{char}such{stem}"


def good_matrix(folder: Path) -> Path:
    path = folder / "b.npy"
    np.save(path, np.ones((2, 2), dtype=np.int64))
    return path


def corrupt(path: Path) -> Path:
    path.write_bytes(b"not a file of this kind\n")
    return path


#: Command lines, each given a hostile name and its folder: paths that are missing, that are
#: unreadable files of the right suffix, folders that are files, and outputs under a file.
CASES: dict[str, Callable[[Path, str], list[str]]] = {
    "gemm: missing --a": lambda d, c: [
        "gemm",
        "--a",
        str(d / name_with(c, ".npy")),
        "--b",
        str(good_matrix(d)),
    ],
    "gemm: unreadable --a": lambda d, c: [
        "gemm",
        "--a",
        str(corrupt(d / name_with(c, ".npy"))),
        "--b",
        str(good_matrix(d)),
    ],
    "gemm: --out under a file": lambda d, c: [
        "gemm",
        "--a",
        str(good_matrix(d)),
        "--b",
        str(good_matrix(d)),
        "--out",
        str(corrupt(d / name_with(c, ".txt")) / "c.npy"),
    ],
    "sim: missing --workload": lambda d, c: ["sim", "--workload", str(d / name_with(c, ".npz"))],
    "sim: unreadable --workload": lambda d, c: [
        "sim",
        "--workload",
        str(corrupt(d / name_with(c, ".npz"))),
    ],
    "coverage: missing folder": lambda d, c: ["coverage", str(d / name_with(c, ""))],
    "waves: missing VCD": lambda d, c: ["waves", str(d / name_with(c, ".vcd"))],
    "waves: unreadable VCD": lambda d, c: ["waves", str(corrupt(d / name_with(c, ".vcd")))],
    "formal: missing --rtl-dir": lambda d, c: [
        "formal",
        "--rtl-dir",
        str(d / name_with(c, "")),
        "--list",
    ],
    "bad choice": lambda d, c: ["sim", "--sim", name_with(c, "")],
    "unknown option": lambda d, c: ["sim", f"--{name_with(c, '')}"],
}


def one_error_line(err: str) -> str:
    """The single stderr line (asserted), with no control character left in it."""
    lines = err.splitlines()  # splits at \r, \x1c-\x1e, \x85, \u2028 too
    assert len(lines) == 1 and err.endswith("\n"), repr(err)
    line = lines[0]
    assert line.startswith("systolic: error: "), line
    assert line.isprintable(), repr(line)
    return line


@pytest.mark.parametrize("char", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_path_is_one_line(
    case: str, char: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = CASES[case](tmp_path, char)
    before = sorted(tmp_path.iterdir())
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert repr(char)[1:-1] in line  # the character is shown, escaped: the name stays readable
    assert sorted(tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("char", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_machine_fault_naming_a_hostile_file_is_one_line(
    char: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An OSError (full disk, permissions changed under the run) names its file: shown quoted."""
    name = name_with(char, ".vcd")

    def fault(_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", name)

    monkeypatch.setattr(options, "check_paths", fault)
    assert main(["lint"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line == f"systolic: error: {shown(name)}: No space left on device"


def test_the_issue_example_through_the_installed_command(tmp_path: Path) -> None:
    """``systolic gemm --a $'no\\nsuch.npy'``: one line, as a user sees it."""
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", "gemm", "--a", "no\nsuch.npy", "--b", "b.npy"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "no\\nsuch.npy" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ü path/x.npy", "plain ü path/x.npy"),
        ("a\nb\rc\td\x1b[0m\x00e\u2028f\x85g", "a\\nb\\rc\\td\\x1b[0m\\x00e\\u2028f\\x85g"),
        ("bad utf-8 \udcff", "bad utf-8 \\udcff"),
    ],
)
def test_printable_escapes_every_control_character(text: str, expected: str) -> None:
    assert printable(text) == expected
    assert error_line(ValueError(text)) == f"systolic: error: {expected}"


def test_shown_quotes_only_what_needs_it() -> None:
    assert shown("a b/ü.npy") == "a b/ü.npy"
    assert shown(Path("no\nsuch.npy")) == "'no\\nsuch.npy'"
    assert shown("x" * 50, limit=10) == "xxxxxxx..."
