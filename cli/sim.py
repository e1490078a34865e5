"""Commands that drive the RTL: sim, run, gemm, coverage, flake, lint, doctor.

Each command's work is done by ``systolic.verify`` (and the engine); here are only the
arguments, their checks and the calls.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from systolic.cli import options
from systolic.engine import build, runner, toolchain
from systolic.engine.tops import WORKLOAD_TOPS
from systolic.errors import ConfigError
from systolic.models.params import ArrayParams, TopParams
from systolic.verify import coverage, doctor, flake, gemm, regress

#: Matrix files ``systolic gemm`` reads and writes (the suffix, without case, decides the format).
MATRIX_IN = options.in_file(*gemm.MATRIX_IN)
MATRIX_OUT = gemm.MATRIX_OUT

#: Array sizes of the default ``systolic sim`` regression (the lecture's 3x3 first).
DEFAULT_SIZES = ((3, 3), (2, 5), (4, 4), (8, 8))


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommands of this module."""
    _add_sim(sub)
    _add_run(sub)
    _add_gemm(sub)
    _add_coverage(sub)
    _add_flake(sub)
    _add_lint(sub)
    _add_doctor(sub)


def _add_sim(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="main job: lecture 3x3 + short random regression, with a summary",
        description="Run every cocotb test (lecture 3x3 example, identity, zeros, extremes and "
        "wrap, random K sweep, back-to-back, bubbles, reset, tiled GEMM, checker self-tests) "
        "on a few array sizes, or on the one given by --rows/--cols, and print a summary.",
    )
    _array_args(p, rows=None, cols=None)
    options.add_sizes(p, what="array sizes instead of the default ones, e.g. 3x3,2x5,16x16")
    p.add_argument(
        "--workload",
        type=options.in_file(".npz"),
        help="run a workload file (systolic lower) through the RTL instead: every GEMM checked "
        "bit-exactly, per-layer cycles, utilization and wall time (array 8x8 unless --rows/--cols)",
    )
    p.add_argument(
        "--mode",
        choices=("e2e", "replay"),
        default=None,
        help="with --workload: e2e = the network end to end, each layer fed with the RTL's own "
        "outputs (default); replay = the file's recorded GEMMs one by one",
    )
    p.add_argument(
        "--top",
        choices=WORKLOAD_TOPS,
        default=None,
        help="with --workload: the design it runs through, the array (default) or the "
        "accelerator top (AXI4-Stream, rtl/systolic_accel.v)",
    )
    p.add_argument(
        "--jobs",
        type=options.integer(1, 256),
        default=None,
        help="with --workload --mode replay: layers run on up to N simulator processes at once "
        "(default: the cores this process may use); e2e runs layer after layer",
    )
    options.add_port(p)
    p.set_defaults(func=cmd_sim)


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run chosen cocotb tests on one array size",
        description="Run selected cocotb tests (all when --test is not given) on "
        "one parameter set. This is the command a failure message prints.",
    )
    _array_args(p, rows=4, cols=4)
    p.add_argument("--test", action="append", help="cocotb test name (repeatable)")
    p.set_defaults(func=cmd_run)


def _add_gemm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gemm",
        help="multiply your own matrices on the RTL",
        description="Load A (MxK) and B (KxN) from .npy or .csv files, tile the "
        "GEMM onto the array, run it on the simulator with every PE checked, and "
        "write C (int64) to --out. A GEMM of more than "
        f"{gemm.FAST_GEMM_CYCLES:,} cycles takes the fast path (the stimulus played from an "
        "HDL buffer, every PE checked through a per-cycle signature, C read back from the RTL).",
    )
    _array_args(p, rows=4, cols=4)
    p.add_argument("--a", required=True, type=MATRIX_IN, help="A: .npy or .csv of integers")
    p.add_argument("--b", required=True, type=MATRIX_IN, help="B: .npy or .csv of integers")
    options.add_out(
        p, "where to write C (.npy or .csv: the suffix decides the format)", *MATRIX_OUT
    )
    p.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="--fast: the fast-path harness at the simulator's speed; --no-fast: the default "
        f"path (Python checks every PE every cycle; needed for --waves); default: fast above "
        f"{gemm.FAST_GEMM_CYCLES:,} cycles",
    )
    p.set_defaults(func=cmd_gemm)


def _add_coverage(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coverage",
        help="merge functional coverage of a regression, report it, check closure",
        description="Merge the coverage files (YAML, one per simulator run) found under DIR, "
        "print every cover point's bins and hits, and with --check exit 1 if any bin is unhit.",
    )
    p.add_argument(
        "dir", nargs="?", type=options.in_dir, help="folder of coverage files (build/coverage)"
    )
    p.add_argument("--check", action="store_true", help="fail when a bin was never hit")
    options.add_out(p, "merged YAML (default DIR/merged.yml)", ".yml", ".yaml")
    p.set_defaults(func=cmd_coverage)


def _add_flake(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "flake",
        help="run the quick regression N times and report any difference",
        description="Run every cocotb test N times with the same seeds on each simulator and "
        "size, and compare outcomes, failure messages, stimulus digests and cycle counts. Any "
        "failing or errored test, or a run with no test, fails the command.",
    )
    p.add_argument("--runs", type=options.integer(2, 100), default=3, help="runs (2..100)")
    options.add_sizes(p, "3x3,2x5,8x8")
    options.add_sim(p, repeatable=True)
    options.add_seed(p, default=1)
    p.set_defaults(func=cmd_flake)


def _add_lint(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="verilator --lint-only -Wall over several parameter sets")
    p.set_defaults(func=cmd_lint)


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor", help="check that every tool (simulators, z3, YoWASP) and package is in place"
    )
    p.set_defaults(func=cmd_doctor)


def _array_args(p: argparse.ArgumentParser, rows: int | None, cols: int | None) -> None:
    options.add_sim(p, "icarus")
    p.add_argument("--rows", type=options.array_param("ROWS"), default=rows, help="PE rows (1..32)")
    p.add_argument(
        "--cols", type=options.array_param("COLS"), default=cols, help="PE columns (1..32)"
    )
    p.add_argument(
        "--data-w",
        type=options.array_param("DATA_W"),
        default=8,
        help="signed operand width (2..16)",
    )
    p.add_argument(
        "--acc-w",
        type=options.array_param("ACC_W"),
        default=32,
        help="accumulator width (2*DATA_W..64)",
    )
    options.add_mul_reg(p)
    options.add_seed(p)
    p.add_argument("--waves", action="store_true", help="write a VCD per run and print its path")
    p.add_argument("-v", "--verbose", action="store_true", help="show the simulator's output")


def _params_list(args: argparse.Namespace) -> list[ArrayParams]:
    if args.rows is not None or args.cols is not None:
        rows = args.rows if args.rows is not None else args.cols
        cols = args.cols if args.cols is not None else args.rows
        sizes = [(rows, cols)]
    elif getattr(args, "sizes", None):
        sizes = args.sizes
    else:
        sizes = list(DEFAULT_SIZES)
    return [ArrayParams(r, c, args.data_w, args.acc_w, args.mul_reg) for r, c in sizes]


def cmd_sim(args: argparse.Namespace) -> int:
    if args.workload is not None:
        return cmd_sim_workload(args)
    given = (("--mode", args.mode), ("--top", args.top), ("--jobs", args.jobs))
    for flag_name, value in (*given, ("--out-rows", args.out_rows), ("--shadows", args.shadows)):
        if value is not None:
            raise ConfigError(f"{flag_name} applies to --workload runs only")
    return regress.run_and_report(options.settings_of(args), _params_list(args), None)


def cmd_sim_workload(args: argparse.Namespace) -> int:
    """``systolic sim --workload FILE``: one workload through the RTL, per-layer table."""
    from systolic.engine.layers import available_cores
    from systolic.verify.workload import port_phrase, print_summary, run_workload, stdout_lines

    for flag_name, given in (("--waves", args.waves), ("--sizes", args.sizes)):
        if given:
            raise ConfigError(f"{flag_name} does not apply to --workload runs")
    rows = args.rows if args.rows is not None else (args.cols or 8)
    cols = args.cols if args.cols is not None else rows
    p = ArrayParams(rows, cols, args.data_w, args.acc_w, args.mul_reg)
    design = options.design_of(args, p)
    where = f", accelerator top{port_phrase(design)}" if isinstance(design, TopParams) else ""
    print(
        f"[{args.sim} {p.rows}x{p.cols}] {args.workload} ({args.mode or 'e2e'}{where}) ...",
        flush=True,
    )
    summary = run_workload(
        args.workload,
        options.settings_of(args),
        design,
        args.mode or "e2e",
        jobs=args.jobs or available_cores(),
        progress=stdout_lines(),
    )
    print_summary(summary)
    return 0 if summary["passed"] else 1


def cmd_run(args: argparse.Namespace) -> int:
    known = runner.list_tests()
    for name in args.test or []:
        if name not in known:
            raise ConfigError(f"no cocotb test named {name!r}; known: {', '.join(known)}")
    return regress.run_and_report(options.settings_of(args), _params_list(args), args.test)


def cmd_gemm(args: argparse.Namespace) -> int:
    p = ArrayParams(args.rows, args.cols, args.data_w, args.acc_w, args.mul_reg)
    a, b = gemm.load_matrix(args.a), gemm.load_matrix(args.b)
    res, c = gemm.gemm_on_rtl(options.settings_of(args), p, a, b, args.fast)
    print(res.summary())
    regress.print_waves(res, args.waves)
    if c is None:
        return 1
    if args.out:
        gemm.save_matrix(args.out, c)
        print(f"C ({c.shape[0]}x{c.shape[1]}) written to {args.out}")
    else:
        np.savetxt(sys.stdout, c, delimiter=",", fmt="%d")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    return coverage.coverage_report(args.dir, args.check, args.out)


def cmd_flake(args: argparse.Namespace) -> int:
    runs = options.check_int("--runs", args.runs, 2, 100)
    seed = options.check_int("--seed", args.seed, 0, options.SEED_MAX)
    sims = args.sim or list(toolchain.SIMULATORS)
    return flake.flake(runs, seed, options.size_params(args.sizes), sims)


def cmd_lint(args: argparse.Namespace) -> int:
    """The array and the accelerator top at every parameter set of LINT_SETS, the top also at
    LINT_PORT_SETS (wider result ports), its FIFO's storage alone at LINT_FIFO_RAM_SETS."""
    bad = 0
    designs = ((build.TOPLEVEL, build.rtl_sources()), ("systolic_accel", build.accel_sources()))
    runs = [
        (top, sources, p.hdl_parameters()) for top, sources in designs for p in toolchain.LINT_SETS
    ]
    runs += [
        ("systolic_accel", build.accel_sources(), t.hdl_parameters())
        for t in toolchain.LINT_PORT_SETS
    ]
    runs += [
        ("systolic_fifo_ram", build.fifo_ram_sources(), {"DEPTH": d, "WIDTH": w})
        for d, w in toolchain.LINT_FIFO_RAM_SETS
    ]
    for top, sources, params in runs:
        msgs = toolchain.lint(top, sources, params)
        bad += bool(msgs)
        named = " ".join(f"{k}={v}" for k, v in params.items())
        print(f"lint {top} {named}: {'FAIL' if msgs else 'clean'}")
        for line in msgs:
            print(f"  {line}")
    return 1 if bad else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    return doctor.doctor()
