"""How the runner judges one simulator process from what it left behind (no simulator: a stand-in
for cocotb's runner writes the results, the statistics, or fails the way simulators do)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from systolic.engine import runner
from systolic.engine.config import RunConfig, RunSettings
from systolic.fileio import OutputError
from systolic.models.params import ArrayParams

P = ArrayParams(2, 2)
PASSED = """<testsuites><testsuite name="m"><testcase name="test_a">
<properties><property name="sim_time_stop" value="100.0"/>
<property name="sim_time_unit" value="ns"/></properties></testcase></testsuite></testsuites>"""
FAILED = """<testsuites><testsuite name="m"><testcase name="test_a">
<error message="OutputError: cannot write /x/stats/test_a.json: {why}"/></testcase></testsuite>
</testsuites>"""


class StandIn:
    """cocotb's runner as :class:`runner.Launch` calls it; ``act`` plays the simulator."""

    def __init__(self, act: Callable[[Path, dict[str, str]], None]) -> None:
        self.act = act

    def test(self, *, test_dir: Path, extra_env: dict[str, str], results_xml: str, **_) -> None:
        self.act(Path(test_dir), extra_env)


def launch(tmp_path: Path, act: Callable[[Path, dict[str, str]], None]) -> runner.RunResult:
    tdir = tmp_path / "run"
    cfg = runner.base_config(RunSettings("icarus"), P, tdir)
    return runner.Launch(StandIn(act), "icarus", "top", "m", 1).run(["test_a"], tdir, cfg)


def stats(tdir: Path, env: dict[str, str], checks: int) -> None:
    cfg = RunConfig.load(env)
    assert cfg.stats_dir
    (Path(cfg.stats_dir)).mkdir(parents=True, exist_ok=True)
    record = {"test": "test_a", "passed": True, "pe_checks": checks}
    (Path(cfg.stats_dir) / "test_a.json").write_text(json.dumps(record))


def test_a_pass_with_checks(tmp_path: Path) -> None:
    def act(tdir: Path, env: dict[str, str]) -> None:
        (tdir / "results.xml").write_text(PASSED)
        stats(tdir, env, 16)

    res = launch(tmp_path, act)
    assert res.passed and res.checks == 16


def test_no_statistics_is_no_pass(tmp_path: Path) -> None:
    res = launch(tmp_path, lambda tdir, env: (tdir / "results.xml").write_text(PASSED))
    assert (res.tests, res.failed, res.checks) == (1, 0, 0) and not res.passed
    assert runner.NO_CHECKS in res.summary()


def test_simulator_exiting_with_an_error_after_its_results_is_no_pass(tmp_path: Path) -> None:
    """cocotb's runner raises RuntimeError for a simulator's non-zero exit: a failed run, not
    a traceback, even when the results say the tests passed."""

    def act(tdir: Path, env: dict[str, str]) -> None:
        (tdir / "results.xml").write_text(PASSED)
        stats(tdir, env, 16)
        raise RuntimeError("Command failed with return code: 3")

    res = launch(tmp_path, act)
    assert not res.passed and "return code: 3" in res.failures["<simulator>"]


def test_crash_without_results_is_a_failed_run(tmp_path: Path) -> None:
    def act(tdir: Path, env: dict[str, str]) -> None:
        raise RuntimeError("Command failed with return code: 139")

    res = launch(tmp_path, act)
    assert not res.passed and "crashed" in res.failures["<simulator>"]


def test_results_cut_short_are_a_failed_run(tmp_path: Path) -> None:
    res = launch(tmp_path, lambda tdir, env: (tdir / "results.xml").write_text(PASSED[:60]))
    assert not res.passed and "unreadable results" in res.failures["<simulator>"]


@pytest.mark.parametrize("why", ["No space left on device", "File too large"])
def test_a_write_fault_inside_a_test_is_one_error(tmp_path: Path, why: str) -> None:
    """A test that failed because a write failed: a fault of the machine, one line."""

    def act(tdir: Path, env: dict[str, str]) -> None:
        (tdir / "results.xml").write_text(FAILED.format(why=why))
        (tdir / "waves.stim").mkdir()

    with pytest.raises(OutputError, match=why) as exc:
        launch(tmp_path, act)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "run" / "results.xml").exists()
    assert not (tmp_path / "run" / "waves.stim").exists()
