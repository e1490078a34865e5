"""Benchmark subcommands: ``bench`` (hardware efficiency) and ``bench-sim`` (simulation speed)."""

from __future__ import annotations

import argparse
import functools
import json
import math
import tempfile
import time
from pathlib import Path

from systolic import fileio, options
from systolic.errors import ConfigError, SimulatorError
from systolic.models.params import ArrayParams
from systolic.models.tiling import GemmPlan
from systolic.models.workloads import BENCH_GEMMS
from systolic.tb import runner

DEFAULT_OUT = runner.BUILD_ROOT / "bench"
#: Speed workload length per (simulator, array size); the same stream for all three harnesses.
SPEED_CYCLES = {
    ("icarus", 16): 3000,
    ("icarus", 4): 40000,
    ("verilator", 16): 60000,
    ("verilator", 4): 200000,
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="hardware efficiency: RTL vs cycle model vs SCALE-Sim vs lower bound, area",
        description="Run the fixed GEMM list on the RTL (fast path, every GEMM checked), the "
        "cycle model and SCALE-Sim (output stationary) on each array size; print cycles, "
        "ratios, utilization and Yosys area side by side and write JSON.",
    )
    p.add_argument(
        "--sizes", type=options.sizes, default="8x8,16x16", help="RxC list (default 8x8,16x16)"
    )
    p.add_argument("--sim", default="verilator", choices=runner.SIMULATORS)
    p.add_argument("--quick", action="store_true", help="skip the ResNet-18 layers")
    p.add_argument(
        "--only", help="comma-separated GEMM names (substrings) to run, e.g. 'lecture,digits fc'"
    )
    p.add_argument("--no-area", action="store_true", help="skip the Yosys area table")
    p.add_argument("--no-scalesim", action="store_true", help="skip SCALE-Sim")
    p.add_argument(
        "--scalesim-max-cycles",
        type=options.integer(0),
        default=300_000,
        help="run SCALE-Sim only on GEMMs whose SCALE-Sim cycle count is at most this (it "
        "simulates about 10k cycles/s); larger ones get its formula, marked 'formula' "
        "(0: run SCALE-Sim on every GEMM)",
    )
    p.add_argument(
        "--out",
        type=options.out_file(".json"),
        default=str(DEFAULT_OUT / "bench.json"),
        help="JSON",
    )
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "bench-sim",
        help="simulated cycles per second: cocotb (default and fast path) vs raw simulators",
        description="Simulated cycles per wall-second of the same stream with full checking: "
        "cocotb default path (Python checks every PE every cycle), cocotb fast path (HDL buffer "
        "+ signature), and the raw simulators (Verilog testbench on Icarus, C++ main on "
        "Verilator) on the same harness and stimulus; prints the ratios and writes JSON.",
    )
    p.add_argument(
        "--sizes", type=options.sizes, default="16x16,4x4", help="RxC list (default 16x16,4x4)"
    )
    p.add_argument(
        "--sim", action="append", choices=runner.SIMULATORS, help="repeatable; default both"
    )
    p.add_argument(
        "--cycles",
        type=options.integer(100, 100_000_000),
        help="stream length (default: per simulator and size)",
    )
    p.add_argument(
        "--repeat", type=options.integer(1, 100), default=2, help="runs per measurement, best kept"
    )
    options.add_seed(p)
    p.add_argument(
        "--out",
        type=options.out_file(".json"),
        default=str(DEFAULT_OUT / "bench_sim.json"),
        help="JSON output",
    )
    p.set_defaults(func=cmd_bench_sim)


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


# ------------------------------------------------------------------------------------------------
# bench
# ------------------------------------------------------------------------------------------------


def measure_rtl(sim: str, params: ArrayParams, gemms, workdir: Path) -> dict[str, dict]:
    """RTL cycles of every GEMM (fast path, signature-checked against the cycle model)."""
    from systolic.bench import harness
    from systolic.tb.test_gemm import JOBS_ENV, OUT_ENV

    workdir.mkdir(parents=True, exist_ok=True)
    jobs = workdir / f"jobs_{params.tag}.json"
    out = workdir / f"rtl_{params.tag}.json"
    jobs.write_text(
        json.dumps([{"name": w.name, "m": w.m, "k": w.k, "n": w.n, "seed": 1} for w in gemms])
    )
    out.unlink(missing_ok=True)
    depth = harness.DEFAULT_DEPTH  # the build tests and bench-sim use too
    res = harness.run_cocotb(
        sim,
        params,
        ["test_fast_gemm"],
        extra_env={JOBS_ENV: str(jobs), OUT_ENV: str(out)},
        depth=depth,
        name="bench",
    )
    if not res.passed:
        raise SimulatorError(f"RTL run failed: {res.summary()}")
    return {row["name"]: row for row in json.loads(out.read_text())["rows"]}


def cmd_bench(args: argparse.Namespace) -> int:
    sizes = args.sizes
    gemms = [w for w in BENCH_GEMMS if not (args.quick and w.group == "resnet18")]
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        gemms = [w for w in gemms if any(k in w.name for k in keys)]
        if not gemms:
            raise ConfigError(f"--only {args.only!r} matches no GEMM of the benchmark list")
    work = args.out.parent / "work"
    report: dict = {"convention": CONVENTION, "arrays": {}, "targets": {}}
    all_lb, all_ss = [], []
    for r, c in sizes:
        p = ArrayParams(r, c)
        print(f"[{r}x{c}] RTL ({args.sim}, fast path) ...", flush=True)
        t0 = time.perf_counter()
        rtl = measure_rtl(args.sim, p, gemms, work)
        print(f"[{r}x{c}] RTL done in {time.perf_counter() - t0:.1f} s", flush=True)
        ss = {}
        if not args.no_scalesim:
            from systolic.bench.scalesim_run import run_gemms

            limit = args.scalesim_max_cycles
            run = [
                w for w in gemms if not limit or GemmPlan(w.m, w.k, w.n, p).scalesim_cycles <= limit
            ]
            print(f"[{r}x{c}] SCALE-Sim ({len(run)} of {len(gemms)} GEMMs) ...", flush=True)
            ss = run_gemms([(w.name, w.m, w.k, w.n) for w in run], r, c, work / f"scalesim_{r}x{c}")
        rows = []
        for w in gemms:
            plan = GemmPlan(w.m, w.k, w.n, p)
            got = rtl[w.name]
            s = ss.get(w.name)
            ss_cycles = s.project_cycles if s else None
            source = "SCALE-Sim" if s else None
            if s is None and not args.no_scalesim:
                ss_cycles, source = plan.scalesim_cycles, "formula"
            row = {
                "name": w.name,
                "group": w.group,
                "m": w.m,
                "k": w.k,
                "n": w.n,
                "macs": plan.macs,
                "folds": plan.fold_count,
                "rtl_cycles": got["rtl_cycles"],
                "model_cycles": plan.cycles,
                "lower_bound": plan.lower_bound,
                "scalesim_cycles": ss_cycles,
                "scalesim_source": source,
                "scalesim_reported": s.reported_cycles if s else None,
                "scalesim_formula": plan.scalesim_cycles,
                "rtl_over_lb": got["rtl_cycles"] / plan.lower_bound,
                "rtl_over_scalesim": got["rtl_cycles"] / ss_cycles if ss_cycles else None,
                "utilization": plan.utilization(got["rtl_cycles"]),
                "scalesim_utilization": plan.macs / (ss_cycles * r * c) if ss_cycles else None,
                "mapping_efficiency": plan.mapping_efficiency,
                "checked": got["passed"],
            }
            rows.append(row)
        g_lb = geomean([x["rtl_over_lb"] for x in rows])
        g_ss = geomean([x["rtl_over_scalesim"] for x in rows if x["rtl_over_scalesim"]])
        g_lbss = geomean(
            [x["lower_bound"] / x["scalesim_cycles"] for x in rows if x["scalesim_cycles"]]
        )
        all_lb += [x["rtl_over_lb"] for x in rows]
        all_ss += [x["rtl_over_scalesim"] for x in rows if x["rtl_over_scalesim"]]
        report["arrays"][f"{r}x{c}"] = {
            "rows": rows,
            "geomean_rtl_over_lb": g_lb,
            "geomean_rtl_over_scalesim": g_ss,
            "geomean_lb_over_scalesim": g_lbss,
        }
        _print_bench(r, c, rows, g_lb, g_ss, g_lbss)
    report["geomean_rtl_over_scalesim"] = geomean(all_ss)
    report["targets"] = _targets(report)
    print("targets")
    for name, t in report["targets"].items():
        print(f"  {'PASS' if t['met'] else 'MISS'} {name}: {t['value']}")
    if not args.no_area:
        from systolic.bench.area import area_table

        print("area (Yosys synth -flatten, generic cells; DATA_W=8 ACC_W=32) ...", flush=True)
        areas = area_table([(4, 4), (8, 8), (16, 16)], 8, 32, work / "yosys")
        report["area"] = [
            {
                "design": a.design,
                "rows": a.rows,
                "cols": a.cols,
                "cells": a.cells,
                "flops": a.flops,
                "cells_per_pe": a.cells_per_pe,
                "flops_per_pe": a.flops_per_pe,
            }
            for a in areas
        ]
        print(f"{'design':>16} {'cells':>8} {'flip-flops':>10} {'cells/PE':>9} {'FF/PE':>6}")
        for a in areas:
            name = f"{a.design} {a.rows}x{a.cols}" if a.design != "systolic_pe" else "systolic_pe"
            print(
                f"{name:>16} {a.cells:>8} {a.flops:>10} {a.cells_per_pe:>9.0f} "
                f"{a.flops_per_pe:>6.0f}"
            )
    fileio.atomic_write(args.out, json.dumps(report, indent=1))
    print(f"JSON written to {args.out}")
    return 0 if all(r["checked"] for a in report["arrays"].values() for r in a["rows"]) else 1


CONVENTION = (
    "cycles count from cycle 0 (the first operand applied at the array edge) to the cycle whose "
    "rising edge captures the last result, inclusive; SCALE-Sim's reported Total Cycles is one "
    "less in this convention (scalesim_cycles = reported + 1)"
)


def _targets(report: dict) -> dict:
    t = {}
    worst = max(r["rtl_over_lb"] for a in report["arrays"].values() for r in a["rows"])
    t["RTL <= 1.01 x LB for every GEMM"] = {"value": round(worst, 4), "met": worst <= 1.01}
    g = report["geomean_rtl_over_scalesim"]
    t["geomean RTL/SCALE-Sim <= 0.80 (all arrays)"] = {"value": round(g, 4), "met": g <= 0.80}
    for size, a in report["arrays"].items():
        v = a["geomean_rtl_over_scalesim"]
        t[f"geomean RTL/SCALE-Sim <= 0.80 on {size}"] = {"value": round(v, 4), "met": v <= 0.80}
        for r in a["rows"]:
            if r["name"] == "digits conv1" and r["rtl_over_scalesim"]:
                v = r["rtl_over_scalesim"]
                t[f"digits conv1 RTL/SCALE-Sim <= 0.45 on {size}"] = {
                    "value": round(v, 4),
                    "met": v <= 0.45,
                }
    a16 = report["arrays"].get("16x16")
    if a16:
        for r in a16["rows"]:
            if r["m"] == r["k"] == r["n"] == 64:
                u = r["utilization"]
                t["64^3 utilization on 16x16 >= 95%"] = {"value": round(u, 4), "met": u >= 0.95}
    return t


def _print_bench(r, c, rows, g_lb, g_ss, g_lbss) -> None:
    print()
    print(f"array {r}x{c}")
    hdr = (
        f"{'GEMM':<26} {'MxKxN':>15} {'RTL':>9} {'model':>9} {'SCALE-Sim':>9} {'LB':>9} "
        f"{'RTL/LB':>7} {'RTL/SS':>7} {'util':>6} {'SS util':>7} {'map eff':>7}"
    )
    print(hdr)
    for x in rows:
        ss = x["scalesim_cycles"]
        if ss and x["scalesim_source"] == "formula":
            ss = f"{ss}*"
        print(
            f"{x['name']:<26} {x['m']}x{x['k']}x{x['n']:<5}".ljust(43)
            + f"{x['rtl_cycles']:>9} {x['model_cycles']:>9} {ss if ss else '-':>9} "
            f"{x['lower_bound']:>9} {x['rtl_over_lb']:>7.4f} "
            f"{x['rtl_over_scalesim'] or float('nan'):>7.3f} {x['utilization']:>6.1%} "
            f"{x['scalesim_utilization'] or float('nan'):>7.1%} {x['mapping_efficiency']:>7.1%}"
        )
    print(
        f"geometric mean: RTL/LB {g_lb:.4f}, RTL/SCALE-Sim {g_ss:.3f} (LB/SCALE-Sim {g_lbss:.3f})"
    )


# ------------------------------------------------------------------------------------------------
# bench-sim
# ------------------------------------------------------------------------------------------------


def _rate(stats: list[dict], test: str) -> tuple[int, float]:
    s = next(x for x in stats if x["test"] == test)
    return int(s["cycles"]), float(s["wall_s"])


def cmd_bench_sim(args: argparse.Namespace) -> int:
    from systolic.bench import harness
    from systolic.bench.streams import speed_stream
    from systolic.tb.test_gemm import SPEED_ENV

    sims = args.sim or list(runner.SIMULATORS)
    results = []
    for r, c in args.sizes:
        p = ArrayParams(r, c)
        for sim in sims:
            cycles = args.cycles or SPEED_CYCLES.get((sim, max(r, c)), 20000)
            env = {SPEED_ENV: str(cycles)}
            print(f"[{sim} {r}x{c}] {cycles} cycles ...", flush=True)
            row = {"sim": sim, "array": f"{r}x{c}", "cycles": cycles}
            # Raw baselines: the same harness and stimulus file, no Python.
            stream = speed_stream(p, cycles, args.seed)
            rows_n = harness.stimulus_rows(stream.stimulus)
            depth = 1 << max(10, (rows_n - 1).bit_length())
            with tempfile.TemporaryDirectory() as tmp:
                hexf = Path(tmp) / "stim.hex"
                harness.write_hex(hexf, stream.stimulus, p, 0, rows_n)
                tiny = Path(tmp) / "tiny.hex"
                harness.write_hex(tiny, stream.stimulus, p, 0, 1)
                for check, key in ((True, "raw"), (False, "raw_nocheck")):
                    exe = harness.build_raw(sim, p, depth=depth, check=check)
                    best = 0.0
                    for _ in range(args.repeat):
                        full = harness.run_raw(sim, exe, hexf, rows_n, stream.cycles, p, check)
                        start = harness.run_raw(sim, exe, tiny, 1, 1, p, check)
                        best = max(best, stream.cycles / max(full.wall_s - start.wall_s, 1e-9))
                    row[key] = best
                    if check:
                        from systolic.models.fast_trace import stream_signature

                        want = stream_signature(stream.stimulus, p)
                        diffs = want.differences(full.signature, p)
                        if diffs:
                            raise SimulatorError(f"raw {sim} signature mismatch: {diffs[0]}")
            # cocotb: the default path (Python checks every PE every cycle) and the fast path
            # (HDL buffer + signature); the best of --repeat runs each.
            ways = {
                ("cocotb_default", "test_speed_default"): functools.partial(
                    runner.run,
                    sim,
                    p,
                    tests=["test_speed_default"],
                    seed=args.seed,
                    extra_env=env,
                    test_module="systolic.tb.test_gemm",
                ),
                ("cocotb_fast", "test_speed_fast"): functools.partial(
                    harness.run_cocotb,
                    sim,
                    p,
                    ["test_speed_fast"],
                    extra_env=env,
                    seed=args.seed,
                    name="speed",
                ),
            }
            for (key, test), run_once in ways.items():
                best = 0.0
                for _ in range(args.repeat):
                    res = run_once()
                    if not res.passed:
                        print(res.summary())
                        return 1
                    n, wall = _rate(res.stats, test)
                    best = max(best, n / wall)
                row[key] = best
            results.append(row)
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
