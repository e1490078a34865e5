"""Simulation speed (``systolic bench-sim``): simulated cycles per second of the same stream on
the cocotb default path, the cocotb fast path and the raw simulators."""

from __future__ import annotations

import functools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.bench.efficiency import DEFAULT_OUT
from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.engine.harness import HarnessBuild
from systolic.errors import SimulatorError
from systolic.models.params import ArrayParams
from systolic.models.streams import speed_stream

#: Speed workload length per (simulator, array size); the same stream for all three harnesses.
SPEED_CYCLES = {
    ("icarus", 16): 3000,
    ("icarus", 4): 40000,
    ("verilator", 16): 60000,
    ("verilator", 4): 200000,
}


def _rate(stats: list[dict], test: str) -> tuple[int, float]:
    s = next(x for x in stats if x["test"] == test)
    return int(s["cycles"]), float(s["wall_s"])


@dataclass(frozen=True)
class SpeedOptions:
    """What ``systolic bench-sim`` measures (see its --help)."""

    sizes: list[tuple[int, int]]
    sim: list[str] | None = None
    cycles: int | None = None
    repeat: int = 2
    seed: int = 1
    out: Path = DEFAULT_OUT / "bench_sim.json"


def run_bench_sim(args: SpeedOptions) -> int:
    """Simulated cycles per wall-second of one stream on every way of running it; the ratios
    and the JSON."""
    results = []
    for r, c in args.sizes:
        p = ArrayParams(r, c)
        for sim in args.sim or list(toolchain.SIMULATORS):
            cycles = args.cycles or SPEED_CYCLES.get((sim, max(r, c)), 20000)
            print(f"[{sim} {r}x{c}] {cycles} cycles ...", flush=True)
            row: dict[str, Any] = {"sim": sim, "array": f"{r}x{c}", "cycles": cycles}
            settings = RunSettings(sim, args.seed)
            row.update(_raw_rates(settings, p, cycles, args.repeat))
            cocotb = _cocotb_rates(settings, p, cycles, args.repeat)
            if cocotb is None:
                return 1
            row.update(cocotb)
            results.append(row)
    return _report(results, args)


def _raw_rates(settings: RunSettings, p: ArrayParams, cycles: int, repeat: int) -> dict[str, float]:
    """The raw baselines: the same harness and stimulus file, no Python; with and without the
    signature logic (the checked one's signature must equal the model's)."""
    from systolic.engine import harness
    from systolic.models.fast_trace import stream_signature

    sim = settings.sim
    stream = speed_stream(p, cycles, settings.seed)
    rows_n = harness.stimulus_rows(stream.stimulus)
    depth = 1 << max(10, (rows_n - 1).bit_length())
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        hexf, tiny = Path(tmp) / "stim.hex", Path(tmp) / "tiny.hex"
        harness.write_hex(hexf, stream.stimulus, p, 0, rows_n)
        harness.write_hex(tiny, stream.stimulus, p, 0, 1)
        for check, key in ((True, "raw"), (False, "raw_nocheck")):
            exe = harness.build_raw(settings, p, HarnessBuild(depth=depth, check=check))
            best = 0.0
            for _ in range(repeat):
                full = harness.run_raw(sim, exe, hexf, rows_n, stream.cycles, p, check)
                start = harness.run_raw(sim, exe, tiny, 1, 1, p, check)
                # Start-up excluded: the one-row run's time is subtracted.
                best = max(best, stream.cycles / max(full.wall_s - start.wall_s, 1e-9))
            rates[key] = best
            if check:
                diffs = stream_signature(stream.stimulus, p).differences(full.signature, p)
                if diffs:
                    raise SimulatorError(f"raw {sim} signature mismatch: {diffs[0]}")
    return rates


def _cocotb_rates(
    settings: RunSettings, p: ArrayParams, cycles: int, repeat: int
) -> dict[str, float] | None:
    """cocotb's default path (Python checks every PE every cycle) and fast path (HDL buffer and
    signature), the best of ``repeat`` runs each; None (after printing why) when a run fails."""
    from systolic.engine import harness

    inputs = {"speed_cycles": cycles}
    ways = {
        ("cocotb_default", "test_speed_default"): functools.partial(
            runner.run,
            settings,
            p,
            ["test_speed_default"],
            inputs=inputs,
            test_module="systolic.tb.test_gemm",
        ),
        ("cocotb_fast", "test_speed_fast"): functools.partial(
            harness.run_cocotb,
            settings,
            p,
            ["test_speed_fast"],
            inputs=inputs,
            name="speed",
        ),
    }
    rates = {}
    for (key, test), run_once in ways.items():
        best = 0.0
        for _ in range(repeat):
            res = run_once()
            if not res.passed:
                print(res.summary())
                return None
            n, wall = _rate(res.stats, test)
            best = max(best, n / wall)
        rates[key] = best
    return rates


def _report(results: list[dict[str, Any]], args: SpeedOptions) -> int:
    """The ratios, the table and the JSON."""
    targets = {"verilator": 0.5, "icarus": 1.0}
    print()
    print(
        f"{'sim':>9} {'array':>6} {'cycles':>7} {'cocotb':>9} {'cocotb':>9} {'raw':>9} "
        f"{'raw':>9} {'fast/raw':>8} {'target':>6} {'dflt/raw':>8}"
    )
    print(f"{'':>9} {'':>6} {'':>7} {'default':>9} {'fast':>9} {'harness':>9} {'no check':>9}")
    for x in results:
        x["fast_over_raw"] = x["cocotb_fast"] / x["raw"]
        x["default_over_raw"] = x["cocotb_default"] / x["raw"]
        x["fast_over_raw_nocheck"] = x["cocotb_fast"] / x["raw_nocheck"]
        x["target"] = targets[x["sim"]]
        x["met"] = x["fast_over_raw"] >= x["target"]
        print(
            f"{x['sim']:>9} {x['array']:>6} {x['cycles']:>7} {x['cocotb_default']:>9.0f} "
            f"{x['cocotb_fast']:>9.0f} {x['raw']:>9.0f} {x['raw_nocheck']:>9.0f} "
            f"{x['fast_over_raw']:>8.2f} {x['target']:>6.2f} {x['default_over_raw']:>8.3f}"
        )
    print(
        "(simulated cycles per wall-second, best of "
        f"{args.repeat}; build and simulator start-up excluded; every run checks every PE every "
        "cycle: default path in Python, fast path and raw harness by the state signature)"
    )
    fileio.atomic_write(args.out, json.dumps({"results": results}, indent=1))
    print(f"JSON written to {args.out}")
    return 0
