"""The ``systolic`` command line: one entry point for the project's main actions.

Each action lives next to the code it drives; this module only assembles the subcommands and
turns expected errors (bad input, missing simulator) into one clear line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from systolic import procs
from systolic.cli import options
from systolic.engine import config as settings
from systolic.errors import SystolicError, error_line, shown

#: Modules that contribute subcommands: each has ``register(subparsers)`` which adds its parsers
#: and sets ``func`` (args -> exit status) as the parser default.
COMMAND_MODULES = (
    "systolic.cli.sim",
    "systolic.cli.mutate",
    "systolic.cli.bench",
    "systolic.cli.waves",
    "systolic.cli.prune",
    "systolic.cli.lowering",
    "systolic.cli.formal",
)

#: Import names of the optional parts' packages -> the extra of pyproject.toml that installs them.
OPTIONAL_PACKAGES = {
    "torch": "pruning",
    "torch_pruning": "pruning",
    "sklearn": "pruning",
    "tqdm": "pruning",
    "matplotlib": "waves",
    "PIL": "waves",
    "scalesim": "bench",
}

DESCRIPTION = """\
Verification environment for an output-stationary systolic-array matrix-multiply accelerator.

Start with:
  systolic sim                      lecture 3x3 example + short random regression on Icarus
  systolic sim --sim verilator      the same on Verilator
  systolic sim --waves              also write a VCD per test and print its path
  systolic doctor                   check that every tool and package is in place
  systolic e2e                      digits CNNs (dense + pruned) end to end through the RTL
  systolic formal                   SymbiYosys proofs of the PE and array properties
Every subcommand has its own --help.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = options.Parser(
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
    """Run one subcommand; every expected failure is one line on stderr and a non-zero exit.

    Standard output is part of the result: a closed one (``>&-``) or a full device
    (``>/dev/full``) is an error (exit 2), a closed pipe (``| head``) the quiet exit 141."""
    if sys.stdout is None:  # Python's stdout when file descriptor 1 was closed at start
        print(error_line("standard output is closed"), file=sys.stderr)
        return 2
    stdout = sys.stdout
    sys.stdout = checked = procs.CheckedStdout(stdout)
    try:
        return _guarded(argv, checked)
    finally:
        sys.stdout = stdout


def _guarded(argv: Sequence[str] | None, stdout: procs.CheckedStdout) -> int:
    """The command under the signal handler; its children ended however it ends."""
    try:
        with procs.terminable():
            try:
                status = _main(argv)
            except SystemExit:  # --help: argparse swallows a failed write, so look again
                stdout.check()
                raise
            finally:
                procs.end_sessions()
            stdout.check()  # a full device may only show at the last flush
            return status
    except procs.StdoutError as exc:
        procs.quiet_stdout()  # the output is lost: drop what is buffered, quietly
        print(error_line(f"cannot write to standard output: {exc.strerror}"), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `systolic ... | head`: the reader is gone; exit as Unix tools do
        procs.quiet_stdout()
        return 141
    except procs.Terminated:
        procs.kill_children()
        print(error_line("terminated"), file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        procs.kill_children()
        print(error_line("interrupted"), file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        settings.check_environment()
        options.check_paths(args)
        return int(args.func(args) or 0)
    except SystolicError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "systolic":
            raise
        extra = OPTIONAL_PACKAGES.get(exc.name.split(".")[0])
        how = f"pip install 'systolic[{extra}]' (or make setup)" if extra else "make setup"
        print(error_line(f"this needs the Python package {exc.name!r}: {how}"), file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, (BrokenPipeError, procs.StdoutError)):
            raise
        # A fault of the machine (disk full, permissions changed under us): one line, not a
        # traceback; outputs are written atomically, so nothing half-written stays behind.
        where = f"{shown(exc.filename)}: " if getattr(exc, "filename", None) else ""
        print(error_line(f"{where}{exc.strerror or exc}"), file=sys.stderr)
        return 2
