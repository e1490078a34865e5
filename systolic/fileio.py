"""Writing output files atomically: a temporary file in the same folder, renamed into place, with
the permissions an ordinary file would get. A failed write leaves no half-written file and is one
:class:`OutputError` line, not a traceback."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from systolic.errors import SystolicError


class OutputError(SystolicError, OSError):
    """An output file could not be written."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path, same_name: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    For writers that want a file name (``numpy.savez``, ``Figure.savefig``); the temporary name
    keeps the suffix, so such writers do not append their own. ``same_name``: the temporary file
    has ``path``'s very name, in a private folder next to it, for writers that record the file's
    name inside the file (``torch.save`` names its archive after it), so that the bytes do not
    depend on the temporary name."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if same_name:
            folder = tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent)
            tmp = os.path.join(folder, path.name)
        else:
            folder = None
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
            os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp files are private: make it an ordinary one
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if folder is not None:
            with contextlib.suppress(OSError):
                os.rmdir(folder)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    return Path(path)


# ---------------------------------------------------------------------------------------------
# Checking paths before any work starts: one place that decides what an input or an output may
# be, so that every command refuses the same bad paths with the same one-line messages.
# ---------------------------------------------------------------------------------------------


class InputError(SystolicError, OSError):
    """An input path is missing, unreadable or not what the command reads."""


def resolve(path: str | os.PathLike[str]) -> Path:
    """An absolute path, relative ones taken from the caller's working directory.

    Not ``realpath``: a symbolic link stays visible, so that the output checks can refuse it.
    Resolving early matters because simulators run in other folders.
    """
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _lstat(path: Path, error: type[SystolicError]) -> os.stat_result | None:
    """``lstat`` with one-line errors; None when nothing is there."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise error(f"{path}: a folder in this path is a file") from None
    except OSError as exc:
        raise error(f"{path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


def _stat_input(p: Path, missing: str) -> os.stat_result:
    """``stat`` of an input (symbolic links followed) with one-line errors."""
    try:
        return os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{p}: {missing}") from None
    except NotADirectoryError:
        raise InputError(f"{p}: a folder in this path is a file") from None
    except OSError as exc:
        raise InputError(f"{p}: {_reason(exc)}") from None


def check_input_file(path: str | os.PathLike[str], suffixes: Sequence[str] = ()) -> Path:
    """A readable regular file (symbolic links followed), with one of ``suffixes`` if given."""
    p = resolve(path)
    st = _stat_input(p, "no such file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{p}: is {_kind(st.st_mode)}, not a file")
    if suffixes and p.suffix.lower() not in suffixes:
        raise InputError(
            f"{p}: unsupported format {p.suffix or '(none)'}; use {', '.join(suffixes)}"
        )
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: not readable")
    return p


def check_input_dir(path: str | os.PathLike[str]) -> Path:
    """An existing, readable directory (symbolic links followed)."""
    p = resolve(path)
    st = _stat_input(p, "no such directory")
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{p}: is {_kind(st.st_mode)}, not a directory")
    return p


def _writable_dir(d: Path, st: os.stat_result, what: str) -> None:
    """``d`` (lstat ``st``, links followed) must be a directory that we may write into."""
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(d)
        except OSError as exc:
            raise OutputError(f"{what}: {d}: {_reason(exc)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{what}: {d} is {_kind(st.st_mode)}, not a folder")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(f"{what}: folder {d} is not writable")


def _check_parent(p: Path) -> None:
    """The nearest existing ancestor of ``p`` must be a writable directory."""
    for parent in p.parents:
        st = _lstat(parent, OutputError)
        if st is not None:
            _writable_dir(parent, st, str(p))
            return


def check_output_file(
    path: str | os.PathLike[str],
    suffixes: Sequence[str] = (),
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """A path that an atomic write may replace: nothing, or a regular file that is no input.

    Refused: a symbolic link (replacing it would not write where it points), a directory, a
    device, FIFO or socket, a path through a file, a folder that is not writable, a suffix not
    in ``suffixes`` (compared without case: the suffix decides the format), any of ``inputs``.
    """
    p = resolve(path)
    if p.name in ("", ".", ".."):
        raise OutputError(f"{p}: not a file name")
    st = _lstat(p, OutputError)
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{p}: is a symbolic link; give the file it should replace")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{p}: is {_kind(st.st_mode)}; refusing to replace it")
    _check_parent(p)
    if suffixes and p.suffix.lower() not in suffixes:
        raise OutputError(
            f"{p}: cannot write format {p.suffix or '(no suffix)'}; use {', '.join(suffixes)}"
        )
    check_not_input(p, inputs)
    return p


def check_output_dir(
    path: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """A folder that outputs may be written into: an existing writable directory or nothing yet."""
    p = resolve(path)
    st = _lstat(p, OutputError)
    if st is not None:
        _writable_dir(p, st, "output folder")
    else:
        _check_parent(p)
    check_not_input(p, inputs)
    return p


def check_not_input(out: Path, inputs: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse an output that is one of the run's inputs (the same file by any name)."""
    for item in inputs:
        src = resolve(item)
        same = src == out or os.path.realpath(src) == os.path.realpath(out)
        with contextlib.suppress(OSError):
            same = same or os.path.samefile(src, out)
        if same:
            raise OutputError(f"{out}: is also an input of this run; refusing to overwrite it")


# ---------------------------------------------------------------------------------------------
# Outputs that another program writes (a simulator's wave file): checked by the caller, then
# moved into place whole, or removed.
# ---------------------------------------------------------------------------------------------


def discard(*paths: str | Path) -> None:
    """Remove files or folders that must not stay behind (partial outputs); missing ones and
    failures to remove are ignored (the caller is already reporting an error)."""
    for item in paths:
        p = Path(item)
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink(missing_ok=True)


def move_into_place(src: str | Path, dest: str | Path) -> Path:
    """Move the finished file or folder ``src`` to ``dest``, replacing what is there.

    ``dest`` is then whole or absent, never partial: a rename on one file system, else a copy
    under a temporary name next to ``dest`` that is renamed into place. A failure (full disk,
    no permission) is one :class:`OutputError` line and leaves nothing at ``dest``."""
    src, dest = Path(src), Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        discard(dest)
        try:
            os.replace(src, dest)
            return dest
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        if src.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
            try:
                shutil.copytree(src, tmp, dirs_exist_ok=True)
                os.chmod(tmp, 0o777 & ~_umask())
                os.replace(tmp, dest)
            finally:
                discard(tmp)
            discard(src)
            return dest
    except OSError as exc:
        discard(dest)
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from None
    with atomic_path(dest) as tmp_file:
        shutil.copyfile(src, tmp_file)
    discard(src)
    return dest
