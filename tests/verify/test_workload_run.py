"""verify.workload: a workload run that writes no results is one clear error naming the
failures (no simulator needed: the engine calls are replaced)."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.engine.config import RunSettings
from systolic.engine.runner import RunResult
from systolic.errors import SystolicError
from systolic.models.params import ArrayParams
from systolic.verify import workload


def test_no_results_is_one_error_naming_the_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shuffle_workload: Path
) -> None:
    p = ArrayParams(8, 8)
    failed = RunResult("icarus", p, 1, tests=1, failed=1, log=tmp_path / "sim.log")
    failed.failures["test_workload"] = "AssertionError: layer conv1\nC[0][0] = 1, expected 2"
    monkeypatch.setattr(workload, "build_cocotb", lambda *a, **k: None)
    monkeypatch.setattr(workload, "run_cocotb", lambda *a, **k: failed)
    with pytest.raises(SystolicError) as exc:
        workload.run_workload(shuffle_workload, RunSettings("icarus", build_root=tmp_path), p)
    text = str(exc.value)
    assert "\n" not in text
    assert "wrote no results" in text and "sim.log" in text
    assert "test_workload: AssertionError: layer conv1 C[0][0] = 1, expected 2" in text


def test_unknown_mode_and_narrow_array_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystolicError, match="unknown workload mode 'x'"):
        workload.run_workload(tmp_path / "w.npz", RunSettings("icarus"), ArrayParams(8, 8), "x")
    with pytest.raises(SystolicError, match="DATA_W >= 8 and ACC_W >= 32"):
        workload.run_workload(tmp_path / "w.npz", RunSettings("icarus"), ArrayParams(8, 8, 4, 16))
