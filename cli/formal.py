"""The ``formal`` subcommand: run the SymbiYosys proofs and print one row per task."""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable, Sequence

from systolic.cli import options
from systolic.errors import ConfigError
from systolic.formal import run

HEADER = ("task", "configuration", "engine / mode", "status", "seconds")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "formal",
        help="formal proofs (SymbiYosys, k-induction and BMC) of the PE, array and accelerator "
        "top properties",
        description="Prove the properties of rtl/formal/*_fv.sv on the RTL with SymbiYosys "
        "(engine smtbmc z3): every PE property group at several widths, the array's skew, "
        "edge, lane and reset properties at small sizes, and the cover properties. Prints one "
        "row per task (a property group at one configuration) with its wall time; exits 0 only "
        "if every task ran and passed.",
    )
    p.add_argument("--tier", default="quick", choices=run.TIERS, help="quick (default) or full")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="task name or glob, e.g. 'pe_*_acc' (repeatable; see --list)",
    )
    p.add_argument(
        "--rtl-dir", type=options.in_dir, help="folder with the design's RTL (default rtl/)"
    )
    options.add_out(p, "work folder (default build/formal)")
    p.add_argument(
        "--jobs",
        type=options.integer(1, 64),
        help="parallel SymbiYosys runs, 1..64 (default: two per CPU)",
    )
    p.add_argument("--list", action="store_true", help="list the tier's tasks and exit")
    p.set_defaults(func=cmd_formal)


def format_table(results: Sequence[run.ProofResult]) -> list[str]:
    """The result table, one line per task, failures and errors explained under their row."""
    rows = [(r.task, r.config, r.mode, r.status.upper(), f"{r.seconds:.1f}") for r in results]
    widths = [max(len(row[i]) for row in (HEADER, *rows)) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(HEADER, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for result, row in zip(results, rows, strict=True):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if result.detail:
            lines.append(f"    {result.detail}")
    return lines


def summary(results: Sequence[run.ProofResult], wall: float, cpu: float) -> str:
    counts = {s: sum(r.status == s for r in results) for s in run.STATUSES}
    return (
        f"formal: {len(results)} tasks: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['error']} errors; wall {wall:.1f} s, tool CPU {cpu:.1f} s"
    )


def _progress(total: int) -> Callable[[run.ProofResult], None]:
    """A callback printing one short line per finished task."""
    done = 0

    def report(result: run.ProofResult) -> None:
        nonlocal done
        done += 1
        print(f"  [{done}/{total}] {result.task} {result.status.upper()} {result.seconds:.1f} s")

    return report


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cmd_formal(args: argparse.Namespace) -> int:
    tasks = run.select_tasks(run.catalog(args.tier), args.only)
    if args.list:
        for task in tasks:
            print(f"{task.name:28} {task.config:32} {task.group:10} {task.mode_text}")
        return 0
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    print(f"formal: {len(tasks)} tasks ({args.tier} tier) ...", flush=True)
    start, cpu0 = time.perf_counter(), _children_cpu()
    results = run.prove_tasks(tasks, args.rtl_dir, args.out, args.jobs, _progress(len(tasks)))
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    print()
    print("\n".join(format_table(results)))
    print(summary(results, wall, cpu))
    ok = bool(results) and all(r.passed for r in results)
    return 0 if ok else 1
