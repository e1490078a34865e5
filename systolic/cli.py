"""The ``systolic`` command line: one entry point for the project's main actions.

Each action lives next to the code it drives; this module only assembles the subcommands and
turns expected errors (bad input, missing simulator) into one clear line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from systolic.errors import SystolicError

#: Modules that contribute subcommands: each has ``register(subparsers)`` which adds its parsers
#: and sets ``func`` (args -> exit status) as the parser default.
COMMAND_MODULES = (
    "systolic.tb.cli",
    "systolic.bench.cli",
    "systolic.waves.cli",
    "systolic.pruning.cli",
    "systolic.lowering.cli",
)

DESCRIPTION = """\
Verification environment for an output-stationary systolic-array matrix-multiply accelerator.

Start with:
  systolic sim                      lecture 3x3 example + short random regression on Icarus
  systolic sim --sim verilator      the same on Verilator
  systolic sim --waves              also write a VCD per test and print its path
  systolic doctor                   check that simulators and packages are in place
  systolic e2e                      digits CNNs (dense + pruned) end to end through the RTL
Every subcommand has its own --help.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="systolic",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # optional parts (e.g. torch for pruning) missing
            if exc.name and exc.name.startswith("systolic"):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SystolicError as exc:
        print(f"systolic: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("systolic: interrupted", file=sys.stderr)
        return 130
