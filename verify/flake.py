"""Is the regression deterministic? The same seed N times, every outcome compared
(``systolic flake``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams


def flake_signature(res: runner.RunResult) -> dict[str, tuple[Any, ...]]:
    """What must not change between two runs with the same seed: per test, the outcome, the
    failure message, the stimulus digest and the simulated/checked amounts (not wall times)."""
    sig: dict[str, tuple[Any, ...]] = {name: ("FAIL", msg) for name, msg in res.failures.items()}
    for s in res.stats:
        sig.setdefault(s["test"], ("pass",))
        sig[s["test"]] += (s["stimulus_sha256"], s["cycles"], s["products"], s["pe_checks"])
    sig["<tests>"] = (res.tests,)
    return sig


def flake_problems(results: Sequence[runner.RunResult]) -> list[str]:
    """Runs that cannot count as stable: no test ran, or a test failed or errored."""
    problems = []
    for k, res in enumerate(results, 1):
        if res.tests == 0:
            problems.append(f"run {k}: 0 tests ran (see {res.log})")
        elif not res.passed:
            name, msg = next(iter(res.failures.items()), ("?", ""))
            first = msg.splitlines()[0].split(" [")[0] if msg else "(no message)"
            problems.append(f"run {k}: {res.failed}/{res.tests} tests failed; {name}: {first}")
    return problems


def flake(runs: int, seed: int, params: Sequence[ArrayParams], sims: Sequence[str]) -> int:
    """``systolic flake``: the same seed ``runs`` times per simulator and size; stable (0) only
    if every run passed and nothing differs between the runs."""
    for sim in sims:
        toolchain.check_simulator(sim)
    differences = failing = 0
    for sim in sims:
        for p in params:
            results = [runner.run(RunSettings(sim, seed=seed), p) for _ in range(runs)]
            problems = flake_problems(results)
            sigs = [flake_signature(r) for r in results]
            diff = sorted(t for t in set().union(*sigs) if len({s.get(t) for s in sigs}) > 1)
            differences += len(diff)
            failing += bool(problems)
            status = "stable" if not diff and not problems else "NOT STABLE"
            if diff:
                status += " (differs: " + ", ".join(diff) + ")"
            print(
                f"{sim:9} {p.rows}x{p.cols} seed={seed} x{runs}: {results[0].tests} tests {status}",
                flush=True,
            )
            for line in problems:
                print(f"  FAILED {line}", flush=True)
    if failing:
        print(f"FAILED: {failing} configurations have failing or errored runs (not stable)")
    print("no differences" if not differences else f"{differences} differing tests")
    return 1 if differences or failing else 0
