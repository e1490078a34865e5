"""The environment variables a user may set, each parsed and checked before any work.

Only these are read from the caller's environment; the other ``SYSTOLIC_*`` names are set by the
runner for the simulator process and are not settings. A bad value is one line naming the
variable, refused by the command line and by pytest alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from systolic import fileio
from systolic.errors import ConfigError, SystolicError

TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


def _boolean(value: str) -> None:
    if value.strip().lower() not in TRUE + FALSE:
        raise ConfigError(f"not a boolean: use one of {', '.join(t for t in TRUE + FALSE if t)}")


def _scale(value: str) -> None:
    try:
        n = int(value.strip(), 10)
    except ValueError:
        raise ConfigError("not an integer") from None
    if not 1 <= n <= 1000:
        raise ConfigError(f"{n} is out of range 1..1000")


def _out_dir(value: str) -> None:
    if not value.strip():
        raise ConfigError("empty path")
    fileio.check_output_dir(value)


def _in_dir(value: str) -> None:
    if not value.strip():
        raise ConfigError("empty path")
    fileio.check_input_dir(value)


@dataclass(frozen=True)
class Setting:
    name: str
    meaning: str
    check: Callable[[str], None]


SETTINGS = (
    Setting("SYSTOLIC_BUILD_DIR", "folder of builds, run results and waves (./build)", _out_dir),
    Setting("SYSTOLIC_RTL_DIR", "folder of the RTL to simulate (the project's rtl/)", _in_dir),
    Setting("SYSTOLIC_COV_DIR", "collect every run's coverage file in this folder", _out_dir),
    Setting("SYSTOLIC_WAVES", "1/true/yes: write waves on every run (0/false/no: off)", _boolean),
    Setting("SYSTOLIC_WAVES_DIR", "folder of wave files (<build>/waves)", _out_dir),
    Setting("SYSTOLIC_STREAM_SCALE", "multiplier of random stream lengths, 1..1000 (1)", _scale),
)


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Raise ConfigError (one line) for the first setting with a bad value."""
    env = os.environ if environ is None else environ
    for s in SETTINGS:
        if s.name not in env:
            continue
        try:
            s.check(env[s.name])
        except SystolicError as exc:
            raise ConfigError(f"${s.name}={env[s.name]!r}: {exc}") from None


def flag(name: str) -> bool:
    """A boolean setting (checked by :func:`check_environment`)."""
    return os.environ.get(name, "").strip().lower() in TRUE
