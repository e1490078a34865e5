"""Subcommands that drive the RTL: sim, run, gemm, lint, doctor."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from systolic import fileio, options
from systolic.errors import ConfigError, OperandError, SystolicError, one_line
from systolic.models.gemm import check_operands
from systolic.models.params import ArrayParams
from systolic.tb import mutate, runner
from systolic.tb.env import GEMM_FILE_ENV
from systolic.tb.mutants import Mutant

#: Matrix files ``systolic gemm`` reads and writes (the suffix, without case, decides the format).
MATRIX_IN = options.in_file(".npy", ".csv", ".txt")
MATRIX_OUT = (".npy", ".csv")

#: Array sizes of the default ``systolic sim`` regression (the lecture's 3x3 first).
DEFAULT_SIZES = ((3, 3), (2, 5), (4, 4), (8, 8))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sim",
        help="main job: lecture 3x3 + short random regression, with a summary",
        description="Run every cocotb test (lecture 3x3 example, identity, zeros, extremes and "
        "wrap, random K sweep, back-to-back, bubbles, reset, tiled GEMM, checker self-tests) "
        "on a few array sizes, or on the one given by --rows/--cols, and print a summary.",
    )
    _array_args(p, rows=None, cols=None)
    p.add_argument(
        "--sizes", type=options.sizes, help="comma-separated RxC list, e.g. 3x3,2x5,16x16"
    )
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
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser(
        "run",
        help="run chosen cocotb tests on one array size",
        description="Run selected cocotb tests (all when --test is not given) on "
        "one parameter set. This is the command a failure message prints.",
    )
    _array_args(p, rows=4, cols=4)
    p.add_argument("--test", action="append", help="cocotb test name (repeatable)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "gemm",
        help="multiply your own matrices on the RTL",
        description="Load A (MxK) and B (KxN) from .npy or .csv files, tile the "
        "GEMM onto the array, run it on the simulator with every PE checked, and "
        "write C (int64) to --out.",
    )
    _array_args(p, rows=4, cols=4)
    p.add_argument("--a", required=True, type=MATRIX_IN, help="A: .npy or .csv of integers")
    p.add_argument("--b", required=True, type=MATRIX_IN, help="B: .npy or .csv of integers")
    p.add_argument(
        "--out",
        type=options.out_file(*MATRIX_OUT),
        help="where to write C (.npy or .csv: the suffix decides the format)",
    )
    p.set_defaults(func=cmd_gemm)

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
    p.add_argument(
        "--out", type=options.out_file(".yml", ".yaml"), help="merged YAML (default DIR/merged.yml)"
    )
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser(
        "mutate",
        help="mutation testing: every RTL mutant must be killed by a checker (sim and/or formal)",
        description="Apply each mutant of systolic.tb.mutants.CATALOG to a copy of rtl/ and run "
        "it on Icarus at its own parameter sets (the cocotb tests it names, or every test with "
        "--full) and/or on the formal properties. A mutant counts as killed only by a checker's "
        "failure (a scoreboard mismatch or a test assertion; a failing proof); a build failure, "
        "crash or error is BROKEN. The unmodified RTL must pass the same runs first. Prints a "
        "table and writes OUT/report.json.",
    )
    p.add_argument(
        "--engine",
        choices=("sim", "formal", "both"),
        default="sim",
        help="sim (cocotb on Icarus, default), formal (the properties), or both",
    )
    p.add_argument(
        "--sizes",
        type=options.sizes,
        help="run every mutant at these RxC sizes (its widths kept) instead of its own "
        "parameter sets",
    )
    p.add_argument("--only", action="append", type=_mutant_name, help="mutant name (repeatable)")
    p.add_argument(
        "--class",
        dest="classes",
        action="append",
        type=_mutant_class,
        help="only mutants of this bug class (repeatable)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="run every cocotb test and every formal task of the tier, not only the mutant's own",
    )
    p.add_argument("--list", action="store_true", help="print the catalog and exit")
    options.add_seed(p, default=3)
    p.add_argument(
        "--out", type=options.out_dir, help="work folder and report.json (default build/mutate)"
    )
    p.set_defaults(func=cmd_mutate)

    p = sub.add_parser(
        "flake",
        help="run the quick regression N times and report any difference",
        description="Run every cocotb test N times with the same seeds on each simulator and "
        "size, and compare outcomes, failure messages, stimulus digests and cycle counts. Any "
        "failing or errored test, or a run with no test, fails the command.",
    )
    p.add_argument("--runs", type=options.integer(2, 100), default=3, help="runs (2..100)")
    p.add_argument("--sizes", type=options.sizes, default="3x3,2x5,8x8", help="RxC sizes")
    p.add_argument(
        "--sim",
        action="append",
        choices=runner.SIMULATORS,
        help="simulator (repeatable; default both)",
    )
    options.add_seed(p, default=1)
    p.set_defaults(func=cmd_flake)

    p = sub.add_parser("lint", help="verilator --lint-only -Wall over several parameter sets")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("doctor", help="check that simulators and packages are in place")
    p.set_defaults(func=cmd_doctor)


def _array_args(p: argparse.ArgumentParser, rows: int | None, cols: int | None) -> None:
    p.add_argument(
        "--sim", default="icarus", choices=runner.SIMULATORS, help="icarus (default) or verilator"
    )
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
    return [ArrayParams(r, c, args.data_w, args.acc_w) for r, c in sizes]


def _run_and_report(
    args: argparse.Namespace, params: list[ArrayParams], tests: Sequence[str] | None
) -> int:
    runner.check_simulator(args.sim)
    results = []
    t0 = time.perf_counter()
    for p in params:
        print(
            f"[{args.sim} {p.rows}x{p.cols} DATA_W={p.data_w} ACC_W={p.acc_w}] building "
            "and running ...",
            flush=True,
        )
        res = runner.run(
            args.sim, p, tests=tests, seed=args.seed, waves=args.waves, quiet=not args.verbose
        )
        results.append(res)
        print(res.summary(), flush=True)
        _print_waves(res, args.waves)
        if not res.passed:
            print(f"  log:   {res.log}")
    _print_summary(results, time.perf_counter() - t0)
    return 0 if all(r.passed for r in results) else 1


def _print_waves(res: runner.RunResult, asked: bool) -> None:
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


def _print_summary(results: list[runner.RunResult], wall: float) -> None:
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


def cmd_sim(args: argparse.Namespace) -> int:
    if args.workload is not None:
        return cmd_sim_workload(args)
    if args.mode is not None:
        raise ConfigError("--mode applies to --workload runs only")
    return _run_and_report(args, _params_list(args), None)


def cmd_sim_workload(args: argparse.Namespace) -> int:
    """``systolic sim --workload FILE``: one workload through the RTL, per-layer table."""
    from systolic.tb.workload import print_summary, run_workload

    for flag, given in (("--waves", args.waves), ("--sizes", args.sizes)):
        if given:
            raise ConfigError(f"{flag} does not apply to --workload runs")
    rows = args.rows if args.rows is not None else (args.cols or 8)
    cols = args.cols if args.cols is not None else rows
    p = ArrayParams(rows, cols, args.data_w, args.acc_w)
    print(f"[{args.sim} {p.rows}x{p.cols}] {args.workload} ({args.mode or 'e2e'}) ...", flush=True)
    summary = run_workload(args.workload, args.sim, p, args.mode or "e2e", args.seed)
    print_summary(summary)
    return 0 if summary["passed"] else 1


def cocotb_tests(module_path: Path | None = None) -> list[str]:
    """Names of the cocotb tests in tb/test_array.py (read from its source, no simulator)."""
    import ast

    path = module_path or Path(__file__).with_name("test_array.py")
    tree = ast.parse(path.read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef)
        and any("cocotb.test" in ast.unparse(d) for d in node.decorator_list)
        and node.name != "test_gemm_file"  # driven by `systolic gemm`, needs its input file
    ]


def cmd_run(args: argparse.Namespace) -> int:
    known = cocotb_tests()
    for name in args.test or []:
        if name not in known:
            raise ConfigError(f"no cocotb test named {name!r}; known: {', '.join(known)}")
    return _run_and_report(args, _params_list(args), args.test)


def load_matrix(path: Path) -> np.ndarray:
    """Read an integer matrix from .npy (no pickles) or .csv; one-line errors for bad files."""
    try:
        path = fileio.check_input_file(path, (".npy", ".csv", ".txt"))
    except fileio.InputError as exc:
        raise OperandError(str(exc)) from None
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise OperandError(f"{path}: cannot read a matrix ({one_line(exc)})") from None
    return arr


def save_matrix(path: Path, c: np.ndarray) -> None:
    """Write C atomically in the format its suffix names (.npy or .csv, without case)."""
    path = fileio.check_output_file(path, MATRIX_OUT)
    # A file object, because np.save would append .npy to a name in capitals.
    with fileio.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if path.suffix.lower() == ".npy":
            np.save(fh, c)
        else:
            np.savetxt(fh, c, delimiter=",", fmt="%d")


def cmd_gemm(args: argparse.Namespace) -> int:
    p = ArrayParams(args.rows, args.cols, args.data_w, args.acc_w)
    a, b = load_matrix(args.a), load_matrix(args.b)
    check_operands(a, b, p)
    runner.check_simulator(args.sim)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gemm.npz"
        np.savez(src, a=a.astype(np.int64), b=b.astype(np.int64))
        os.environ[GEMM_FILE_ENV] = str(src)
        try:
            res = runner.run(
                args.sim,
                p,
                tests=["test_gemm_file"],
                seed=args.seed,
                waves=args.waves,
                quiet=not args.verbose,
            )
        finally:
            os.environ.pop(GEMM_FILE_ENV, None)
        print(res.summary())
        _print_waves(res, args.waves)
        if not res.passed:
            return 1
        c = np.load(Path(tmp) / "gemm_c.npy")
    if args.out:
        save_matrix(args.out, c)
        print(f"C ({c.shape[0]}x{c.shape[1]}) written to {args.out}")
    else:
        np.savetxt(sys.stdout, c, delimiter=",", fmt="%d")
    return 0


def cmd_coverage(args: argparse.Namespace) -> int:
    if args.dir is None:
        args.dir = fileio.resolve("build/coverage")
    files = (
        sorted(f for f in args.dir.rglob("*.yml") if f.name != "merged.yml")
        if args.dir.is_dir()
        else []
    )
    if not files:
        if args.check:
            raise ConfigError(f"no coverage files under {args.dir}: run a regression first")
        print(f"no coverage files under {args.dir} (nothing was simulated)")
        return 0
    out = args.out or fileio.check_output_file(args.dir / "merged.yml")
    db = _merge_coverage(files, out)
    holes = []
    print(f"functional coverage of {len(files)} simulator runs ({out})")
    for name, item in sorted(db.items()):
        bins = item.get("bins:_hits")
        if bins is None:
            continue
        missing = [str(b) for b, hits in bins.items() if hits < item.get("at_least", 1)]
        holes += [f"{name}: {b}" for b in missing]
        pct = item.get("cover_percentage", 0.0)
        print(f"  {name:30} {pct:6.1f}%  " + ", ".join(f"{b}={h}" for b, h in bins.items()))
    if holes:
        print("unhit bins:")
        for hole in holes:
            print(f"  {hole}")
    else:
        print("coverage closed: every bin hit")
    return 1 if holes and args.check else 0


def _merge_coverage(files: list[Path], out: Path) -> dict:
    """Merge coverage files into ``out`` (atomically); a malformed file is one clear error."""
    import yaml
    from cocotb_coverage.coverage import merge_coverage

    for f in files:
        try:
            data = yaml.safe_load(f.read_text())
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{f}: not a coverage file ({one_line(exc)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{f}: not a coverage file (no cover points)")
    with fileio.atomic_path(out) as tmp:
        try:
            merge_coverage(lambda _msg: None, str(tmp), *map(str, files))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"coverage files under {out.parent} do not merge ({exc!r})") from None
        return yaml.safe_load(tmp.read_text())


def _mutant_name(text: str) -> str:
    """argparse type of --only: a mutant of the catalog."""
    from systolic.tb import mutants

    try:
        return mutants.by_name(text).name
    except SystolicError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mutant_class(text: str) -> str:
    """argparse type of --class: a bug class of the catalog."""
    from systolic.tb.mutants import CLASSES

    if text not in CLASSES:
        known = ", ".join(repr(c) for c in CLASSES)
        raise argparse.ArgumentTypeError(f"unknown bug class {text!r}; known: {known}")
    return text


def _chosen_mutants(args: argparse.Namespace) -> list[Mutant]:
    """The catalog, narrowed by --only and --class (an empty choice is an error)."""
    from systolic.tb import mutants

    chosen = list(mutants.CATALOG)
    if args.only:
        chosen = [mutants.by_name(n) for n in dict.fromkeys(args.only)]
    if getattr(args, "classes", None):
        chosen = [m for m in chosen if m.cls in args.classes]
    if not chosen:
        raise ConfigError("no mutant matches --only/--class")
    return chosen


SIM_CELL = 78
MUTATE_HEADER = (
    f"{'mutant':34} {'class':16} {'params':13} {'sim: result + first failure':{SIM_CELL}} formal"
)


def _mutate_row(rep: mutate.MutantReport) -> str:
    """One line of the mutation table."""
    m = rep.mutant
    params = ",".join(mutate.short_tag(p) for p in m.params)
    sim = rep.sim.cell(SIM_CELL, where=len(m.params) > 1) if rep.sim else "-"
    formal = rep.formal.cell(70) if rep.formal else "-"
    return f"{m.name:34} {m.cls:16} {params:13} {sim:{SIM_CELL}} {formal}"


def cmd_mutate(args: argparse.Namespace) -> int:
    """``systolic mutate``: baseline first, then every chosen mutant; table and report.json."""
    chosen = _chosen_mutants(args)
    sizes = [(p.rows, p.cols) for p in _size_params(args.sizes)] if args.sizes else None
    if args.list:
        for m in chosen:
            params = ",".join(mutate.short_tag(p) for p in m.params)
            formal = "formal n/a" if m.formal else "formal"
            print(f"{m.name:34} {m.cls:16} {params:14} {formal:10} {m.what}")
        return 0
    out = Path(args.out or fileio.check_output_dir(runner.BUILD_ROOT / "mutate")).resolve()
    engines = ("sim", "formal") if args.engine == "both" else (args.engine,)
    if "sim" in engines:
        runner.check_simulator(mutate.SIM)
    if "formal" in engines:
        mutate.formal_module()
    problems = _mutate_baseline(chosen, engines, args, sizes, out)
    if problems:
        _write_report(out, args, [], problems)
        print("the unmodified RTL does not pass the runs the mutants need:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(MUTATE_HEADER, flush=True)
    reports = []
    for m in chosen:
        reports.append(_mutate_one(m, args, sizes, out))
        print(_mutate_row(reports[-1]), flush=True)
    return _mutate_summary(reports, engines, out, args)


def _mutate_baseline(
    chosen: list[Mutant],
    engines: Sequence[str],
    args: argparse.Namespace,
    sizes: list[tuple[int, int]] | None,
    out: Path,
) -> list[str]:
    """The unmodified RTL on every run the mutants need; returns the problems."""
    problems = []
    if "sim" in engines:
        combos = mutate.sim_combinations(chosen, args.full, sizes)
        print(f"baseline: unmodified RTL, {len(combos)} simulator runs ...", flush=True)
        problems += mutate.baseline_sim(combos, args.seed, out / "_baseline")
    if "formal" in engines:
        print("baseline: unmodified RTL, formal proofs ...", flush=True)
        problems += mutate.baseline_formal(chosen, out / "_baseline", args.full)
    return problems


def _mutate_one(
    mutant: Mutant, args: argparse.Namespace, sizes: list[tuple[int, int]] | None, out: Path
) -> mutate.MutantReport:
    """One mutant on the chosen engines (see systolic.tb.mutate)."""
    return mutate.mutate_one(mutant, out, args.engine, args.seed, args.full, sizes)


def _mutate_summary(
    reports: list[mutate.MutantReport], engines: Sequence[str], out: Path, args: argparse.Namespace
) -> int:
    """Counts per engine over the runs that executed; report.json; the exit status."""
    lines = []
    for engine in engines:
        killed, executed, broken, na = mutate.count(reports, engine)
        text = f"{engine}: {killed}/{executed} killed"
        if broken:
            text += f", {broken} BROKEN (not counted)"
        if na:
            text += f", {na} not applicable"
        lines.append(text)
    both = sum(len(r.killed_by) == 2 for r in reports)
    if len(engines) == 2:
        lines.append(f"killed twice (sim and formal): {both}/{len(reports)}")
    for line in lines:
        print(line)
    path = _write_report(out, args, reports, [])
    print(f"report: {path}")
    return 0 if all(r.ok() for r in reports) else 1


def _write_report(
    out: Path, args: argparse.Namespace, reports: list[mutate.MutantReport], baseline: list[str]
) -> Path:
    """report.json, written atomically."""
    import json

    data = {
        "engine": args.engine,
        "seed": args.seed,
        "full": args.full,
        "baseline_problems": baseline,
        "mutants": [r.to_json() for r in reports],
        "summary": {e: _counts(reports, e) for e in ("sim", "formal")},
    }
    return fileio.atomic_write(out / "report.json", json.dumps(data, indent=2) + "\n")


def _counts(reports: list[mutate.MutantReport], engine: str) -> dict[str, int]:
    killed, executed, broken, na = mutate.count(reports, engine)
    return {"killed": killed, "executed": executed, "broken": broken, "not_applicable": na}


def _size_params(sizes: object) -> list[ArrayParams]:
    """Array sizes (a string, or already parsed by --sizes) as checked ArrayParams."""
    if isinstance(sizes, str):
        try:
            sizes = options.sizes(sizes)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(str(exc)) from None
    pairs = list(sizes or [])  # type: ignore[call-overload]
    if not pairs:
        raise ConfigError("no array size given")
    return [ArrayParams(r, c) for r, c in pairs]


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    """An integer option given through the Python API (argparse checks the command line)."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def flake_signature(res: runner.RunResult) -> dict[str, tuple]:
    """What must not change between two runs with the same seed: per test, the outcome, the
    failure message, the stimulus digest and the simulated/checked amounts (not wall times)."""
    sig: dict[str, tuple] = {name: ("FAIL", msg) for name, msg in res.failures.items()}
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


def cmd_flake(args: argparse.Namespace) -> int:
    """``systolic flake``: the same seed N times; stable only if every run passed and nothing
    differs between the runs."""
    runs = _check_int("--runs", args.runs, 2, 100)
    seed = _check_int("--seed", args.seed, 0, options.SEED_MAX)
    params = _size_params(args.sizes)
    sims = args.sim or list(runner.SIMULATORS)
    for sim in sims:
        runner.check_simulator(sim)
    differences = failing = 0
    for sim in sims:
        for p in params:
            results = [runner.run(sim, p, seed=seed) for _ in range(runs)]
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


LINT_SETS = ((4, 4, 8, 32), (1, 1, 2, 4), (2, 5, 8, 16), (32, 32, 16, 64), (3, 7, 4, 8))


def cmd_lint(args: argparse.Namespace) -> int:
    exe = runner.verilator_bin() / "verilator"
    bad = 0
    for rows, cols, dw, aw in LINT_SETS:
        cmd = [
            str(exe),
            "--lint-only",
            "-Wall",
            "--top-module",
            runner.TOPLEVEL,
            f"-GROWS={rows}",
            f"-GCOLS={cols}",
            f"-GDATA_W={dw}",
            f"-GACC_W={aw}",
            *map(str, runner.rtl_sources()),
        ]
        env = {**os.environ, **runner.simulator_env("verilator")}
        env.pop("VERILATOR_ROOT", None)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        msgs = [
            ln
            for ln in (proc.stdout + proc.stderr).splitlines()
            if ln.startswith("%") or "rror" in ln
        ]
        status = "clean" if proc.returncode == 0 and not msgs else "FAIL"
        bad += status != "clean"
        print(f"lint ROWS={rows} COLS={cols} DATA_W={dw} ACC_W={aw}: {status}")
        for line in msgs:
            print(f"  {line}")
    return 1 if bad else 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Is everything a simulation needs in place: the RTL, both simulators, the build folder?"""
    checks = [
        ("rtl", _doctor_rtl),
        *((sim, functools.partial(_doctor_sim, sim)) for sim in runner.SIMULATORS),
        ("build dir", _doctor_build),
    ]
    ok = True
    for name, check in checks:
        try:
            where = check()
            print(f"{name:13} ok       {where}")
        except SystolicError as exc:
            ok = False
            print(f"{name:13} PROBLEM  {exc}")
    for mod in ("cocotb", "numpy", "pywellen", "torch", "torch_pruning", "sklearn", "matplotlib"):
        try:
            m = importlib.import_module(mod)
            print(f"{mod:13} ok       {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod:13} missing  (optional parts need it: make setup installs it)")
    return 0 if ok else 1


def _doctor_rtl() -> str:
    for src in runner.rtl_sources():
        fileio.check_input_file(src)
    return str(runner.RTL_DIR)


def _doctor_sim(sim: str) -> str:
    runner.check_simulator(sim)
    return str(shutil.which("iverilog") if sim == "icarus" else runner.verilator_bin())


def _doctor_build() -> str:
    root = fileio.check_output_dir(runner.BUILD_ROOT)
    return f"{root} ($SYSTOLIC_BUILD_DIR, else ./build)"
