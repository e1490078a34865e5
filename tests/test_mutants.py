"""Breaking the RTL on purpose must make the regression fail, with a scoreboard message."""

from __future__ import annotations

import pytest

from systolic.models import ArrayParams
from systolic.tb import mutants, runner


@pytest.mark.sim
@pytest.mark.parametrize("mutant", mutants.CATALOG, ids=lambda m: m.name)
def test_mutant_is_killed(mutant: mutants.Mutant, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(runner.COV_DIR_ENV, raising=False)  # mutants do not count as coverage
    rtl = mutants.apply(mutant, runner.RTL_DIR, tmp_path / "rtl")
    params = ArrayParams(3, 3, 8, 32)
    res = runner.run("icarus", params, seed=3, rtl_dir=rtl, build_root=tmp_path / "build")
    assert res.tests >= 11, f"mutant {mutant.name} did not run: {res.summary()}"
    assert not res.passed, f"mutant {mutant.name} ({mutant.what}) survived the regression"
    # Killed by the checkers, not by a crash: some failure names a PE or a result.
    assert any("PE(" in msg or "assembled C" in msg for msg in res.failures.values()), res.summary()


def test_unmodified_rtl_passes_the_same_tier(tmp_path) -> None:
    res = runner.run("icarus", ArrayParams(3, 3, 8, 32), seed=3, build_root=tmp_path / "build")
    assert res.passed, res.summary()


def test_stale_mutant_is_refused(tmp_path) -> None:
    stale = mutants.Mutant("stale", "text that is not in the RTL", (("systolic_pe.v", "nope", ""),))
    with pytest.raises(mutants.SystolicError, match="not found"):
        mutants.apply(stale, runner.RTL_DIR, tmp_path / "rtl")
