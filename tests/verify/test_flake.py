"""The flake detector: a changed stimulus, count or outcome is a difference, and a failing,
errored or empty run is never "stable" (the command fails loudly)."""

from __future__ import annotations

import subprocess
import sys
from argparse import Namespace

import pytest

from systolic.cli.sim import cmd_flake
from systolic.engine import runner, toolchain
from systolic.engine.runner import RunResult
from systolic.models import ArrayParams
from systolic.verify.flake import flake_signature


def result(digest: str, cycles: int, failures: dict[str, str] | None = None) -> RunResult:
    res = RunResult("icarus", ArrayParams(2, 2), seed=1, tests=1, failures=failures or {})
    res.stats = [
        {
            "test": "t",
            "stimulus_sha256": digest,
            "cycles": cycles,
            "products": 2,
            "pe_checks": 4 * cycles,
            "wall_s": 0.1 * cycles,
        }
    ]
    return res


def test_same_runs_have_equal_signatures() -> None:
    assert flake_signature(result("ab", 10)) == flake_signature(result("ab", 10))


def test_differences_are_seen() -> None:
    base = flake_signature(result("ab", 10))
    assert flake_signature(result("ac", 10)) != base  # other stimulus
    assert flake_signature(result("ab", 11)) != base  # other cycle count
    assert flake_signature(result("ab", 10, {"t": "PE(0,0) ..."})) != base  # other outcome


# ---- the command: a failing, errored or empty run is never "stable" ---------------------------


def _flake(
    monkeypatch: pytest.MonkeyPatch, results: list[RunResult], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """cmd_flake over fake runs (no simulator): returns its status and output."""
    answers = iter(results)
    monkeypatch.setattr(runner, "run", lambda *a, **k: next(answers))
    monkeypatch.setattr(toolchain, "check_simulator", lambda sim: None)
    status = cmd_flake(Namespace(runs=len(results), sizes="3x3", sim=["icarus"], seed=1))
    return status, capsys.readouterr().out


def errored() -> RunResult:
    """What every run looked like with --seed -1: every test errors, identically each time."""
    res = RunResult("icarus", ArrayParams(3, 3), seed=1, tests=11, failed=11)
    res.failures = {"test_lecture_3x3": "expected non-negative integer"}
    return res


def test_identical_passing_runs_are_stable(monkeypatch, capsys) -> None:
    status, out = _flake(monkeypatch, [result("ab", 10), result("ab", 10)], capsys)
    assert status == 0 and "stable" in out and "NOT" not in out, out


def test_identically_errored_runs_are_not_stable(monkeypatch, capsys) -> None:
    status, out = _flake(monkeypatch, [errored(), errored()], capsys)
    assert status == 1, out
    assert "NOT STABLE" in out and "FAILED run 1: 11/11 tests failed" in out, out


def test_runs_with_no_test_are_not_stable(monkeypatch, capsys) -> None:
    empty = RunResult("icarus", ArrayParams(3, 3), seed=1)
    status, out = _flake(monkeypatch, [empty, RunResult("icarus", ArrayParams(3, 3), 1)], capsys)
    assert status == 1 and "0 tests ran" in out, out


def test_differing_runs_fail(monkeypatch, capsys) -> None:
    status, out = _flake(monkeypatch, [result("ab", 10), result("ab", 11)], capsys)
    assert status == 1 and "differs: t" in out, out


@pytest.mark.parametrize(
    "argv",
    [
        ["flake", "--seed", "-1"],
        ["flake", "--runs", "1"],
        ["flake", "--runs", "x"],
        ["flake", "--sizes", "0x3"],
        ["flake", "--sim", "modelsim"],
    ],
)
def test_bad_flake_options_are_one_line_errors(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error:"), proc.stderr
    assert "stable" not in proc.stdout
