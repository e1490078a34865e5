"""``systolic mutate``: mutation testing of the RTL (the work is ``systolic.mutation``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from systolic import fileio
from systolic.cli import options
from systolic.engine import build
from systolic.errors import ConfigError, SystolicError
from systolic.mutation import mutate
from systolic.mutation.catalog import Mutant


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mutate",
        help="mutation testing: every RTL mutant must be killed by a checker (sim and/or formal)",
        description="Apply each mutant of the catalog (systolic.mutation.catalog) to a copy of "
        "rtl/ and run it on Icarus through its design's testbench (the array's, or the "
        "accelerator top's) at its own parameter sets (the cocotb tests it names, or every "
        "test with --full) and/or on the formal properties. A mutant counts as killed only by a "
        "checker's failure (a scoreboard mismatch or a test assertion; a failing proof); a build "
        "failure, "
        "crash or error is BROKEN. The unmodified RTL must pass the same runs first. Prints a "
        "table and writes OUT/report.json.",
    )
    p.add_argument(
        "--engine",
        choices=("sim", "formal", "both"),
        default="sim",
        help="sim (cocotb on Icarus, default), formal (the properties), or both",
    )
    options.add_sizes(p, what="run every mutant at these sizes (its widths kept), not its own")
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
    options.add_out(p, "work folder and report.json (default build/mutate)")
    p.set_defaults(func=cmd_mutate)


def cmd_mutate(args: argparse.Namespace) -> int:
    """Baseline first, then every chosen mutant; table and report.json."""
    chosen = _chosen_mutants(args)
    sizes = [(p.rows, p.cols) for p in options.size_params(args.sizes)] if args.sizes else None
    if args.list:
        for m in chosen:
            params = mutate.targets_tag(m)
            formal = "formal n/a" if m.formal else "formal"
            print(f"{m.name:34} {m.cls:16} {params:14} {formal:10} {m.what}")
        return 0
    out = Path(args.out or fileio.check_output_dir(build.BUILD_ROOT / "mutate")).resolve()
    return mutate.campaign(chosen, args.engine, args.seed, args.full, sizes, out)


def _mutant_name(text: str) -> str:
    """argparse type of --only: a mutant of the catalog."""
    from systolic.mutation import catalog as mutants

    try:
        return mutants.by_name(text).name
    except SystolicError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _mutant_class(text: str) -> str:
    """argparse type of --class: a bug class of the catalog."""
    from systolic.mutation.catalog import CLASSES

    if text not in CLASSES:
        known = ", ".join(repr(c) for c in CLASSES)
        raise argparse.ArgumentTypeError(f"unknown bug class {text!r}; known: {known}")
    return text


def _chosen_mutants(args: argparse.Namespace) -> list[Mutant]:
    """The catalog, narrowed by --only and --class (an empty choice is an error)."""
    from systolic.mutation import catalog as mutants

    chosen = list(mutants.CATALOG)
    if args.only:
        chosen = [mutants.by_name(n) for n in dict.fromkeys(args.only)]
    if getattr(args, "classes", None):
        chosen = [m for m in chosen if m.cls in args.classes]
    if not chosen:
        raise ConfigError("no mutant matches --only/--class")
    return chosen
