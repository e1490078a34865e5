"""Standard output is part of a command's result: a closed one (``>&-``) or a full device
(``>/dev/full``) is one line on stderr and exit 2, never a silent 0; a closed pipe (``| head``)
stays the quiet case (exit 141, or 0 when everything was written before the reader left)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

SYSTOLIC = f"{sys.executable} -m systolic.cli"
#: Commands that print and do nothing else: a short output, and one longer than a write buffer
#: (the device fails in the middle of the command, not only at its last flush).
COMMANDS = ["mutate --list", "formal --list", "sim --help"]


def shell(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def one_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_closed_stdout_is_an_error(command: str, tmp_path: Path) -> None:
    proc = shell(f"{SYSTOLIC} {command} >&-", tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert one_error(proc.stderr) == "systolic: error: standard output is closed"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_device_on_stdout_is_an_error(command: str, tmp_path: Path) -> None:
    proc = shell(f"{SYSTOLIC} {command} >/dev/full", tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = one_error(proc.stderr)
    assert line == "systolic: error: cannot write to standard output: No space left on device"


def test_the_long_listing_fails_mid_command_too(tmp_path: Path) -> None:
    """mutate --list is longer than a write buffer: the first failed write ends it."""
    full = shell(f"{SYSTOLIC} mutate --list | wc -c", tmp_path)
    assert int(full.stdout) > io.DEFAULT_BUFFER_SIZE, "no longer than a buffer: pick a longer one"
    proc = shell(f"{SYSTOLIC} mutate --list >/dev/full", tmp_path)
    assert proc.returncode == 2 and "No space left on device" in one_error(proc.stderr)


def test_a_closed_pipe_stays_quiet(tmp_path: Path) -> None:
    proc = shell(
        f"{SYSTOLIC} mutate --list | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}", tmp_path
    )
    assert proc.stdout.strip() in ("141", "0"), proc.stdout + proc.stderr
    assert proc.stderr == ""


def test_one_line_folds_and_names_a_silent_exception() -> None:
    """The shared one-line helper: whitespace folded, long text cut, and an exception without a
    message named by its type (not an empty reason after a colon)."""
    from systolic.errors import one_line

    assert one_line(ValueError("a\n  b\tc")) == "a b c"
    assert one_line(KeyError()) == "KeyError"
    assert one_line("") == ""
    assert one_line("x" * 300, 20) == "x" * 17 + "..."
