"""Command-line input validation shared by every subcommand.

Every option is parsed and range-checked by argparse before a command starts any work, with one
line ``systolic: error: …`` for anything wrong (never argparse's usage block). Paths are typed:
``InPath`` for what a command reads and ``OutFile`` / ``OutDir`` for what it writes; after
parsing, :func:`check_paths` refuses an output that is also an input of the same run.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import PosixPath
from typing import Any, NoReturn

from systolic import fileio
from systolic.engine.config import RunSettings
from systolic.errors import ConfigError, SystolicError
from systolic.models.params import (
    ACC_W_MAX,
    COLS_RANGE,
    DATA_W_RANGE,
    MUL_REG_RANGE,
    ROWS_RANGE,
    ArrayParams,
    TopParams,
)

#: Largest seed: NumPy's generators take any non-negative int, cocotb and the simulators 32 bits.
SEED_MAX = 2**32 - 1


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``systolic: error: <command>: <what>``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise UsageError(f"{command}{message}")

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # argparse drops a '--' value and may hand the option an empty list, never typed.
        if action.option_strings and "--" in arg_strings:
            self.error(f"argument {'/'.join(action.option_strings)}: expected a value, not '--'")
        return super()._get_values(action, arg_strings)


class UsageError(ConfigError):
    """A bad command line (reported by the CLI as one line, exit status 2)."""


class InPath(PosixPath):
    """A path the command reads (checked to exist before any work)."""


class OutFile(PosixPath):
    """A file the command writes (checked writable, of a known format, and no input)."""


class OutDir(PosixPath):
    """A folder the command writes into."""


def _type_error(exc: SystolicError) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(str(exc))


#: Upper bound of an integer option that names none (no count or size here gets near it).
INT_MAX = 2**31 - 1


def integer(lo: int | None = None, hi: int | None = INT_MAX) -> Callable[[str], int]:
    """argparse type: a decimal integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{value} is out of range {_range(lo, hi)}")
        return value

    parse.__name__ = "integer"
    return parse


def real(
    lo: float | None = None,
    hi: float | None = 1e9,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Callable[[str], float]:
    """argparse type: a finite number in the given range (NaN and infinities refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        too_low = lo is not None and (value <= lo if lo_open else value < lo)
        too_high = hi is not None and (value >= hi if hi_open else value > hi)
        if too_low or too_high:
            lb = "(" if lo_open else "["
            rb = ")" if hi_open else "]"
            raise argparse.ArgumentTypeError(
                f"{value:g} is out of range {lb}{_g(lo, '-inf')}, {_g(hi, 'inf')}{rb}"
            )
        return value

    parse.__name__ = "number"
    return parse


def _range(lo: int | None, hi: int | None) -> str:
    return f"{'-inf' if lo is None else lo}..{'inf' if hi is None else hi}"


def _g(value: float | None, default: str) -> str:
    return default if value is None else f"{value:g}"


def array_param(name: str) -> Callable[[str], int]:
    """argparse type: an array parameter (ROWS, COLS, DATA_W, ACC_W, MUL_REG) in its legal
    range; the relation ACC_W >= 2*DATA_W is ArrayParams's to check once both are known."""
    lo, hi = {
        "ROWS": ROWS_RANGE,
        "COLS": COLS_RANGE,
        "DATA_W": DATA_W_RANGE,
        "ACC_W": (2 * DATA_W_RANGE[0], ACC_W_MAX),
        "MUL_REG": MUL_REG_RANGE,
    }[name]
    as_int = integer()

    def parse(text: str) -> int:
        value = as_int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"{name}={value} is illegal: it must be between {lo} and {hi}"
            )
        return value

    parse.__name__ = name
    return parse


#: argparse type of every --seed option.
seed = integer(0, SEED_MAX)


def add_port(p: argparse.ArgumentParser) -> None:
    """``--out-rows`` and ``--shadows``: the accelerator top's result port (with --top accel)."""
    p.add_argument(
        "--out-rows",
        type=integer(1, 32),
        default=None,
        help="with --top accel: rows of C per result beat, OUT_ROWS = 1..ROWS (default 1)",
    )
    p.add_argument(
        "--shadows",
        type=integer(1, 4),
        default=None,
        help="with --top accel: shadow registers per PE, SHADOWS = 1..4 (default 1)",
    )


def settings_of(args: argparse.Namespace) -> RunSettings:
    """The run settings of a simulating command, built once from its options (``--sim``,
    ``--seed``, ``--waves``, ``--verbose`` where the command has them)."""
    return RunSettings(
        sim=args.sim,
        seed=args.seed,
        waves=bool(getattr(args, "waves", False)),
        quiet=not getattr(args, "verbose", False),
    )


def design_of(args: argparse.Namespace, params: ArrayParams) -> ArrayParams | TopParams:
    """The design a workload run goes through: the array ``params``, or with ``--top accel``
    the top around it at ``add_port``'s options (checked here, once: a bad port is one line
    before anything runs). Either port option without --top accel is an error."""
    given = [f for f, v in (("--out-rows", args.out_rows), ("--shadows", args.shadows)) if v]
    if args.top != "accel":
        if given:
            raise ConfigError(f"{given[0]} applies to --top accel runs only")
        return params
    return TopParams(params, out_rows=args.out_rows or 1, shadows=args.shadows or 1)


def count_list(lo: int, hi: int) -> Callable[[str], tuple[int, ...]]:
    """argparse type: a comma-separated list of distinct integers in [lo, hi], in order given."""

    def parse(text: str) -> tuple[int, ...]:
        items = [x.strip() for x in text.split(",")]
        one = integer(lo, hi)
        values = tuple(one(x) for x in items)
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r} names a value twice")
        return values

    parse.__name__ = "list"
    return parse


def sizes(text: str) -> list[tuple[int, int]]:
    """argparse type: comma-separated array sizes RxC (ranges are ArrayParams's to check)."""
    out = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        try:
            r, c = (int(x, 10) for x in parts)
        except ValueError:
            msg = f"bad array size {item!r}: expected RxC, e.g. 8x8"
            raise argparse.ArgumentTypeError(msg) from None
        try:
            ArrayParams(r, c)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(f"array size {item!r}: {exc}") from None
        out.append((r, c))
    return out


def _path_type(
    check: Callable[[str], Any], kind: type[PosixPath], name: str
) -> Callable[[str], Any]:
    """An argparse type from a fileio check: the checked path as ``kind``, or a type error."""

    def parse(text: str) -> Any:
        try:
            return kind(check(text))
        except SystolicError as exc:
            raise _type_error(exc) from None

    parse.__name__ = name
    return parse


def in_file(*suffixes: str) -> Callable[[str], InPath]:
    """argparse type: an existing readable file (with one of ``suffixes``, without case)."""
    return _path_type(lambda t: fileio.check_input_file(t, suffixes), InPath, "file")


def out_file(*suffixes: str) -> Callable[[str], OutFile]:
    """argparse type: a file that may be written; the suffix decides the format."""
    return _path_type(lambda t: fileio.check_output_file(t, suffixes), OutFile, "output file")


#: argparse type: an existing directory.
in_dir = _path_type(fileio.check_input_dir, InPath, "directory")
#: argparse type: a folder outputs may be written into.
out_dir = _path_type(fileio.check_output_dir, OutDir, "output folder")


def check_paths(args: argparse.Namespace) -> None:
    """Refuse any output path of the run that names one of its inputs (by any name)."""
    items = [(dest, v) for dest, value in vars(args).items() for v in _listed(value)]
    inputs = [v for _, v in items if isinstance(v, InPath)]
    for dest, value in items:
        if isinstance(value, OutFile | OutDir):
            try:
                fileio.check_not_input(value, inputs)
            except SystolicError as exc:
                raise UsageError(f"argument --{dest.replace('_', '-')}: {exc}") from None


def _listed(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def add_seed(p: argparse.ArgumentParser, default: int = 1) -> None:
    p.add_argument(
        "--seed", type=seed, default=default, help=f"random seed 0..2^32-1 (default {default})"
    )


def add_mul_reg(p: argparse.ArgumentParser, note: str = "") -> None:
    """``--mul-reg {0,1}``: the PE's product register (MUL_REG; 1 adds a cycle of latency)."""
    p.add_argument(
        "--mul-reg",
        type=array_param("MUL_REG"),
        default=0,
        metavar="{0,1}",
        help="MUL_REG: 1 registers each PE's product before the accumulator's adder (one more "
        f"cycle of latency; default 0){'; ' + note if note else ''}",
    )


def add_sim(
    p: argparse.ArgumentParser, default: str | None = "icarus", repeatable: bool = False
) -> None:
    """``--sim``: one simulator (default ``default``), or with ``repeatable`` several (default:
    all of them)."""
    from systolic.engine.toolchain import SIMULATORS

    if repeatable:
        p.add_argument(
            "--sim", action="append", choices=SIMULATORS, help="simulator (repeatable; default all)"
        )
    else:
        p.add_argument("--sim", default=default, choices=SIMULATORS, help=f"simulator ({default})")


def add_sizes(p: argparse.ArgumentParser, default: str | None = None, what: str = "") -> None:
    """``--sizes``: a comma-separated RxC list (e.g. 3x3,2x5,16x16)."""
    shown = f" (default {default})" if default else ""
    p.add_argument(
        "--sizes", type=sizes, default=default, help=f"{what or 'array sizes'}: RxC list{shown}"
    )


def add_out(
    p: argparse.ArgumentParser,
    what: str,
    *suffixes: str,
    required: bool = False,
    default: Any = None,
) -> None:
    """``--out``: a folder (no suffixes) or a file with one of ``suffixes``; never an input."""
    kind = out_file(*suffixes) if suffixes else out_dir
    p.add_argument("--out", type=kind, required=required, default=default, help=what)


def size_params(given: object) -> list[ArrayParams]:
    """Array sizes (a string, or already parsed by --sizes) as checked ArrayParams."""
    if isinstance(given, str):
        try:
            given = sizes(given)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(str(exc)) from None
    pairs = list(given or [])  # type: ignore[call-overload]
    if not pairs:
        raise ConfigError("no array size given")
    return [ArrayParams(r, c) for r, c in pairs]


def check_int(name: str, value: object, lo: int, hi: int) -> int:
    """An integer option given through the Python API (argparse checks the command line)."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return value
