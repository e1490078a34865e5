"""Names that come from inside an input file, checked in one place before any loader uses them.

A workload's layer and tensor names, a coverage file's cover points and bins, a saved model's
weights file and layer keys, the stimulus files next to a wave file: the file decides these
strings, so a downloaded file could otherwise decide where something is written
(``workdir / "../../x"``) or what a terminal shows. Every loader runs each such string through
:func:`check_name` and each set of them through :func:`check_unique`; where a name becomes a path,
:func:`confined` joins it and checks that the result stays inside the run folder.

The rules, by how a string is used (``rule``; each broken rule is one error line that names the
file and the string, repr-quoted):

* ``"label"`` (text that is only shown, such as a coverage bin ``"east/south edges"``): a
  non-empty ``str`` of at most :data:`MAX_NAME` characters without NUL, control, format or
  line-separator characters (``str.isprintable``), so it cannot break a one-line message or
  drive a terminal;
* ``"name"`` (an identifier: a tensor, a cover point, a key): a label without ``/`` or ``\\``,
  that is not ``.`` or ``..`` and not an absolute path (POSIX or Windows, drive letters
  included);
* ``"file"`` (a name that becomes a file or folder name): a name of the POSIX portable file-name
  characters ``A-Z a-z 0-9 . _ -`` only (ASCII: simulators mangle the rest), without ``..``,
  not starting with ``.`` or ``-``, not ending with ``.``, no Windows device name.

Names of one kind are unique; file names also after Unicode normalisation (NFKC) and case
folding, since a case-insensitive file system would merge them.
"""

from __future__ import annotations

import json
import ntpath
import os
import re
import stat
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from systolic.errors import SystolicError, shown

__all__ = [
    "MAX_NAME",
    "InnerNameError",
    "Rule",
    "check_name",
    "check_names",
    "check_unique",
    "confined",
    "fold",
    "loads_json",
    "quoted",
    "read_limited",
    "shown",
]

#: The longest name a file may give (characters): generous for layer names such as
#: ``units.12.se.fc2`` or a cover point's bin, short enough to stay one readable line and far
#: below every file system's limit (255 bytes per name) once a suffix is added.
MAX_NAME = 100

_PORTABLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10)}


#: How a string from a file is used (see the module's docstring).
Rule = Literal["label", "name", "file"]


class InnerNameError(SystolicError, ValueError):
    """A name, key or path inside an input file that a loader refuses."""


def quoted(name: str) -> str:
    """A name in a message: always repr-quoted, shortened after 60 characters."""
    text = repr(name)
    return text if len(text) <= 62 else text[:59] + "...'"


def _why(name: str, rule: Rule) -> str | None:
    """What is wrong with ``name`` (a str) under ``rule``, or None."""
    if not name:
        return "is empty"
    if len(name) > MAX_NAME:
        return f"has {len(name)} characters (at most {MAX_NAME})"
    if "\0" in name:
        return "holds a NUL character"
    if not name.isprintable():
        return "holds a control or non-printing character"
    if rule == "label":
        return None
    if "/" in name or "\\" in name:
        return "holds a path separator ('/' or '\\')"
    if name in (".", ".."):
        return "is a relative path"
    if os.path.isabs(name) or ntpath.isabs(name) or ntpath.splitdrive(name)[0]:
        return "is an absolute path or names a drive"
    if rule == "name":
        return None
    if ".." in name:
        return "holds '..'"
    if not _PORTABLE.fullmatch(name):
        return "is not a portable file name (only A-Z a-z 0-9 . _ -, not first . or -)"
    if name.endswith("."):
        return "ends with '.'"
    if name.split(".")[0].upper() in _DEVICES:
        return "is a reserved device name"
    return None


def check_name(
    name: object,
    what: str,
    source: object,
    *,
    rule: Rule = "name",
    error: type[SystolicError] = InnerNameError,
) -> str:
    """``name`` if it is a legal ``what`` (e.g. "layer name") under ``rule``, read from ``source``
    (the file), else raise ``error``."""
    if not isinstance(name, str):
        raise error(f"{shown(source)}: {what} {shown(name, 60)} is not a string")
    why = _why(name, rule)
    if why:
        raise error(f"{shown(source)}: {what} {quoted(name)} {why}")
    return name


def fold(name: str, rule: Rule = "name") -> str:
    """The form two names must not share: NFC, and for file names NFKC plus case folding."""
    if rule == "file":
        return unicodedata.normalize("NFKC", name).casefold()
    return unicodedata.normalize("NFC", name)


def check_unique(
    names: Iterable[str],
    what: str,
    source: object,
    *,
    rule: Rule = "name",
    error: type[SystolicError] = InnerNameError,
) -> None:
    """Raise ``error`` on the first ``what`` that repeats an earlier one (see :func:`fold`)."""
    seen: dict[str, str] = {}
    for name in names:
        key = fold(name, rule)
        if key in seen:
            same = "" if seen[key] == name else f" (the same file name as {quoted(seen[key])})"
            raise error(f"{shown(source)}: duplicate {what} {quoted(name)}{same}")
        seen[key] = name


def check_names(
    names: Iterable[object],
    what: str,
    source: object,
    *,
    rule: Rule = "name",
    error: type[SystolicError] = InnerNameError,
) -> list[str]:
    """:func:`check_name` on each, then :func:`check_unique` on all; returns them."""
    checked = [check_name(n, what, source, rule=rule, error=error) for n in names]
    check_unique(checked, what, source, rule=rule, error=error)
    return checked


def confined(
    root: Path,
    name: str,
    source: object,
    *,
    what: str = "name",
    error: type[SystolicError] = InnerNameError,
) -> Path:
    """``root / name`` for a checked file name, after checking (again, in depth) that the path
    resolves inside ``root``: a symbolic link planted in ``root`` cannot lead it out either."""
    check_name(name, what, source, rule="file", error=error)
    base = Path(os.path.realpath(root))
    path = Path(os.path.realpath(base / name))
    if path == base or base not in path.parents:
        raise error(f"{shown(source)}: {what} {quoted(name)} leads outside {shown(root)}")
    return root / name


def _unique_pairs(source: object, what: str, error: type[SystolicError]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise error(f"{shown(source)}: {what} repeats the key {quoted(key)}")
            out[key] = value
        return out

    return hook


def loads_json(
    text: str | bytes,
    source: object,
    error: type[SystolicError] = InnerNameError,
    what: str = "JSON",
) -> Any:
    """Parse ``what`` (JSON) from the input file ``source``: a repeated key (which ``json`` would
    silently drop), bad text and nesting too deep for the parser are each one ``error`` line."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs(source, what, error))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{shown(source)}: corrupt {what} ({shown(str(exc), 200)})") from None
    except RecursionError:
        raise error(f"{shown(source)}: {what} nested too deeply") from None


def read_limited(path: Path, limit: int, error: type[SystolicError] = InnerNameError) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; a FIFO, a device (``/dev/zero``),
    a folder or a larger file is one ``error`` line and is not read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise error(f"{shown(path)}: cannot read ({exc.strerror or exc})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{shown(path)}: not a regular file")
        if st.st_size > limit:
            raise error(f"{shown(path)}: {st.st_size} bytes, more than the {limit} allowed")
        data = os.read(fd, limit + 1)
    except OSError as exc:
        raise error(f"{shown(path)}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{shown(path)}: more than the {limit} bytes allowed")
    return data
