"""Subcommands that drive the RTL: sim, run, gemm, lint, doctor."""

from __future__ import annotations

import argparse
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
from systolic.errors import ConfigError, OperandError, SimulatorError
from systolic.models.gemm import check_operands
from systolic.models.params import ArrayParams
from systolic.tb import runner
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
    p.add_argument("--sizes", help="comma-separated RxC list, e.g. 3x3,2x5,16x16")
    p.add_argument(
        "--workload",
        type=Path,
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
        help="mutation testing: every RTL mutant must fail the quick regression",
        description="Apply each mutant of systolic.tb.mutants.CATALOG to a copy of rtl/, run the "
        "quick tier (every cocotb test) on Icarus at a few sizes, and report killed/survived.",
    )
    p.add_argument("--sizes", default="3x3,2x5", help="array sizes (default 3x3,2x5)")
    p.add_argument("--only", action="append", help="mutant name (repeatable)")
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("build/mutate"), help="work folder")
    p.set_defaults(func=cmd_mutate)

    p = sub.add_parser(
        "flake",
        help="run the quick regression N times and report any difference",
        description="Run every cocotb test N times with the same seeds on each simulator and "
        "size, and compare outcomes, failure messages, stimulus digests and cycle counts.",
    )
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", default="3x3,2x5,8x8")
    p.add_argument(
        "--sim",
        action="append",
        choices=runner.SIMULATORS,
        help="simulator (repeatable; default both)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_flake)

    p = sub.add_parser("lint", help="verilator --lint-only -Wall over several parameter sets")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("doctor", help="check that simulators and packages are in place")
    p.set_defaults(func=cmd_doctor)


def _array_args(p: argparse.ArgumentParser, rows: int | None, cols: int | None) -> None:
    p.add_argument(
        "--sim", default="icarus", choices=runner.SIMULATORS, help="icarus (default) or verilator"
    )
    p.add_argument("--rows", type=options.integer(), default=rows, help="PE rows (1..32)")
    p.add_argument("--cols", type=options.integer(), default=cols, help="PE columns (1..32)")
    p.add_argument(
        "--data-w", type=options.integer(), default=8, help="signed operand width (2..16)"
    )
    p.add_argument(
        "--acc-w", type=options.integer(), default=32, help="accumulator width (2*DATA_W..64)"
    )
    options.add_seed(p)
    p.add_argument("--waves", action="store_true", help="write a VCD per run and print its path")
    p.add_argument("-v", "--verbose", action="store_true", help="show the simulator's output")


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        try:
            r, c = item.lower().split("x")
            sizes.append((int(r), int(c)))
        except ValueError:
            raise ConfigError(f"bad array size {item!r}: expected RxC, e.g. 8x8") from None
    return sizes


def _params_list(args: argparse.Namespace) -> list[ArrayParams]:
    if args.rows is not None or args.cols is not None:
        rows = args.rows if args.rows is not None else args.cols
        cols = args.cols if args.cols is not None else args.rows
        sizes = [(rows, cols)]
    elif getattr(args, "sizes", None):
        sizes = parse_sizes(args.sizes)
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
        raise OperandError(f"{path}: cannot read a matrix ({_one_line(exc)})") from None
    return arr


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


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
            raise ConfigError(f"{f}: not a coverage file ({_one_line(exc)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{f}: not a coverage file (no cover points)")
    with fileio.atomic_path(out) as tmp:
        try:
            merge_coverage(lambda _msg: None, str(tmp), *map(str, files))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"coverage files under {out.parent} do not merge ({exc!r})") from None
        return yaml.safe_load(tmp.read_text())


def cmd_mutate(args: argparse.Namespace) -> int:
    import json

    from systolic.tb import mutants

    chosen = [mutants.by_name(n) for n in args.only] if args.only else list(mutants.CATALOG)
    sizes = parse_sizes(args.sizes)
    runner.check_simulator("icarus")
    print(f"{'mutant':26} {'result':9} first failure")
    rows = [_mutate_one(m, sizes, args.seed, args.out.resolve()) for m in chosen]
    killed = sum(r["status"] == "killed" for r in rows)
    print(f"{killed}/{len(rows)} mutants killed ({100 * killed / len(rows):.0f}%)")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(rows, indent=2))
    return 0 if killed == len(rows) else 1


def _mutate_one(mutant: Mutant, sizes: list[tuple[int, int]], seed: int, out: Path) -> dict:
    """Run the quick tier on one mutant: killed (a checker failed), SURVIVED or BROKEN."""
    from systolic.tb import mutants

    work = out / mutant.name
    rtl = mutants.apply(mutant, runner.RTL_DIR, work / "rtl")
    status, detail = "SURVIVED", mutant.what
    for r, c in sizes:
        try:
            res = runner.run(
                "icarus", ArrayParams(r, c), seed=seed, rtl_dir=rtl, build_root=work / "build"
            )
        except SimulatorError as exc:  # the mutant does not build
            status, detail = "BROKEN", f"{r}x{c}: {exc}"
            break
        if not res.passed:
            name, msg = next(iter(res.failures.items()), ("?", "simulation failed"))
            # A mutant that does not build or crashes the simulator is a broken mutant.
            status = "BROKEN" if name == "<simulator>" else "killed"
            detail = f"{r}x{c} {name}: {msg.split(' [')[0]}"
            break
    print(f"{mutant.name:26} {status:9} {detail[:100]}", flush=True)
    return {"mutant": mutant.name, "what": mutant.what, "status": status, "detail": detail}


def flake_signature(res: runner.RunResult) -> dict[str, tuple]:
    """What must not change between two runs with the same seed: per test, the outcome, the
    failure message, the stimulus digest and the simulated/checked amounts (not wall times)."""
    sig: dict[str, tuple] = {name: ("FAIL", msg) for name, msg in res.failures.items()}
    for s in res.stats:
        sig.setdefault(s["test"], ("pass",))
        sig[s["test"]] += (s["stimulus_sha256"], s["cycles"], s["products"], s["pe_checks"])
    return sig


def cmd_flake(args: argparse.Namespace) -> int:
    if args.runs < 2:
        raise ConfigError(f"--runs must be at least 2, got {args.runs}")
    sims = args.sim or list(runner.SIMULATORS)
    differences = 0
    for sim in sims:
        for r, c in parse_sizes(args.sizes):
            p = ArrayParams(r, c)
            sigs = [flake_signature(runner.run(sim, p, seed=args.seed)) for _ in range(args.runs)]
            diff = sorted(t for t in set().union(*sigs) if len({s.get(t) for s in sigs}) > 1)
            differences += len(diff)
            status = "stable" if not diff else "DIFFERS: " + ", ".join(diff)
            print(
                f"{sim:9} {r}x{c} seed={args.seed} x{args.runs}: {len(sigs[0])} tests {status}",
                flush=True,
            )
    print("no differences" if not differences else f"{differences} differing tests")
    return 1 if differences else 0


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
    ok = True
    for sim in runner.SIMULATORS:
        try:
            runner.check_simulator(sim)
            where = shutil.which("iverilog") if sim == "icarus" else runner.verilator_bin()
            print(f"{sim:10} ok   {where}")
        except Exception as exc:
            ok = False
            print(f"{sim:10} MISSING  {exc}")
    for mod in ("cocotb", "numpy", "torch", "torch_pruning", "sklearn", "pywellen"):
        try:
            m = __import__(mod)
            print(f"{mod:10} ok   {getattr(m, '__version__', '?')}")
        except ImportError:
            print(f"{mod:10} missing (optional parts need it: make setup installs it)")
    return 0 if ok else 1
