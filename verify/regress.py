"""Regressions on the RTL: run the cocotb tests at several array sizes and report them
(``systolic sim`` / ``systolic run``), with their waves when asked."""

from __future__ import annotations

import time
from collections.abc import Sequence

from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.models.params import ArrayParams


def run_and_report(
    settings: RunSettings, params: Sequence[ArrayParams], tests: Sequence[str] | None
) -> int:
    """Every test (or ``tests``) at every parameter set, a line per run and a summary; 0 when
    everything passed, else 1."""
    sim, waves = settings.sim, settings.waves
    toolchain.check_simulator(sim)
    results = []
    t0 = time.perf_counter()
    for p in params:
        mul_reg = " MUL_REG=1" if p.mul_reg else ""
        print(
            f"[{sim} {p.rows}x{p.cols} DATA_W={p.data_w} ACC_W={p.acc_w}{mul_reg}] "
            "building and running ...",
            flush=True,
        )
        res = runner.run(settings, p, tests)
        results.append(res)
        print(res.summary(), flush=True)
        print_waves(res, waves)
        if not res.passed:
            print(f"  log:   {res.log}")
    print_summary(results, time.perf_counter() - t0)
    return 0 if all(r.passed for r in results) else 1


def print_waves(res: runner.RunResult, asked: bool) -> None:
    """The wave file of every test (with its GTKWave view) and how to look at them."""
    if not asked:
        return
    if not res.waves:
        print(f"  waves: no VCD was written (see {res.log})")
        return
    for path in res.waves.values():
        print(f"  waves: {path}")
    first = next(iter(res.waves.values()))
    print(f"  look:  systolic waves {first}   (gtkwave {first} {first.with_suffix('.gtkw')})")


def print_summary(results: Sequence[runner.RunResult], wall: float) -> None:
    """Totals over the runs: tests, products, PE-cycle checks, cycles, wall time; which runs
    counted no check (no pass, whatever their tests reported)."""
    stats = [s for r in results for s in r.stats]
    tests = sum(r.tests for r in results)
    failed = sum(r.failed for r in results)
    print()
    print("summary")
    print(f"  tests            {tests - failed}/{tests} passed")
    print(f"  products checked {sum(s['products'] for s in stats)}")
    print(f"  PE-cycle checks  {sum(s['pe_checks'] for s in stats)}")
    print(f"  simulated cycles {sum(s['cycles'] for s in stats)}")
    print(f"  wall time        {wall:.1f} s")
    unchecked = [r for r in results if r.tests > r.failed == 0 and not r.checks]
    for r in unchecked:
        print(f"  NOT PASSED       {r.sim} {r.params.tag}: {runner.NO_CHECKS}")
