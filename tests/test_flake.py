"""The flake detector's comparison: a changed stimulus, count or outcome is a difference."""

from __future__ import annotations

from systolic.models import ArrayParams
from systolic.tb.cli import flake_signature
from systolic.tb.runner import RunResult


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
