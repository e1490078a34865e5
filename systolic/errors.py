"""Errors that the command line reports as one clear line (and a non-zero exit), not a traceback.

Paths and values enter messages through :func:`shown` (a newline, a carriage return, a tab or a
terminal escape in a file name is shown escaped and quoted, never raw), and the command line
prints every error through :func:`error_line`, which escapes whatever control character is left:
no message can span two lines or drive the terminal.
"""

from __future__ import annotations

import os


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
    error. An exception without a message is named by its type."""
    text = " ".join(str(exc).split())
    if not text and isinstance(exc, BaseException):
        text = type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value: object, limit: int = 4096) -> str:
    """A path or value as it appears in a message: a printable string as it is, anything else
    (a control, format or line-separator character in it, or no string at all) repr-quoted, so
    ``'no\\nsuch.npy'`` stays on one line; shortened past ``limit`` characters."""
    text = os.fspath(value) if isinstance(value, os.PathLike) else value
    out = text if isinstance(text, str) and text.isprintable() else repr(text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def printable(text: str) -> str:
    """``text`` with every non-printable character (newline, carriage return, tab, ESC, NUL, the
    Unicode line and paragraph separators, ...) escaped as Python would write it (``\\n``,
    ``\\x1b``, ``\\u2028``): one line that cannot drive a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def error_line(message: BaseException | str) -> str:
    """The one stderr line of an error: ``systolic: error: <message>``, control characters
    escaped (the last safety net: a message that took a raw path still stays one line)."""
    text = str(message) or type(message).__name__
    return f"systolic: error: {printable(text)}"
