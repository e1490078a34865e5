"""Benchmark subcommands (``bench-sim``); issue 3 grows this into the full benchmarks."""

from __future__ import annotations

import argparse

from systolic.models.params import ArrayParams
from systolic.tb import runner
from systolic.tb.cli import parse_sizes

#: Tests of the speed benchmark: long streams with every PE checked every cycle.
BENCH_TESTS = ("test_random_k_sweep", "test_back_to_back")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench-sim",
        help="simulated cycles per second with full checking",
        description="Simulated cycles per wall-second of the cocotb testbench with "
        "every PE checked every cycle, on both simulators side by side.",
    )
    p.add_argument("--sizes", default="16x16,4x4", help="comma-separated RxC (default 16x16,4x4)")
    p.add_argument(
        "--sim",
        action="append",
        choices=runner.SIMULATORS,
        help="simulator (repeatable; default both)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_bench_sim)


def cmd_bench_sim(args: argparse.Namespace) -> int:
    sims = args.sim or list(runner.SIMULATORS)
    rows = []
    for r, c in parse_sizes(args.sizes):
        p = ArrayParams(r, c)
        for sim in sims:
            runner.build(sim, p)  # builds are not part of the measurement
            res = runner.run(sim, p, tests=list(BENCH_TESTS), seed=args.seed)
            if not res.passed:
                print(res.summary())
                return 1
            cycles = sum(s["cycles"] for s in res.stats)
            wall = sum(s["wall_s"] for s in res.stats)
            rows.append((f"{r}x{c}", sim, cycles, wall, cycles / wall))
    print(f"{'array':>6} {'simulator':>10} {'cycles':>8} {'wall s':>7} {'cycles/s':>9}")
    for size, sim, cycles, wall, rate in rows:
        print(f"{size:>6} {sim:>10} {cycles:>8} {wall:>7.2f} {rate:>9.0f}")
    print(
        "(cocotb + Python checking of every PE every cycle; simulator start-up and build excluded)"
    )
    return 0
