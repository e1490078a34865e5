"""Errors that the command line reports as one clear line (and a non-zero exit), not a traceback."""

from __future__ import annotations


class SystolicError(Exception):
    """Base class for every user-facing error of the project: bad input, bad configuration."""


class ConfigError(SystolicError, ValueError):
    """Illegal parameters: array size, widths, simulator name, ..."""


class OperandError(SystolicError, ValueError):
    """Matrices of the wrong shape or dtype, or values outside the data width."""


class SimulatorError(SystolicError, RuntimeError):
    """A simulator is missing or its build failed."""


class LoweringError(SystolicError):
    """A layer or model the lowering does not support, or inconsistent lowering inputs."""


def one_line(exc: BaseException | str, limit: int = 200) -> str:
    """An exception's (or a message's) text folded onto one line (and shortened) for a one-line
    error."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
