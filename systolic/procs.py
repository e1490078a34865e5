"""Ending a run cleanly: SIGTERM and Ctrl-C end the whole tree of processes a command started
(simulator builds run ``make`` and ``c++``, tests run ``vvp`` or a Verilator model, the formal and
FPGA flows run the YoWASP tools), never leaving children behind.

Two kinds of children:

- those started in our own process group (the simulators, ``make``): a signal to the group
  reaches them too, and :func:`kill_children` finds them as our descendants;
- those started in a session of their own by :func:`start` (the YoWASP tools, whose process
  trees a timeout must be able to kill as one): a signal to our group never reaches them, so each
  one's process group is tracked here and killed as a whole, on a signal and at exit, even after
  its leader has died and its children were handed to init. :func:`start` is the one place that
  starts such a child (``tests/systolic/test_signals.py`` checks that no other module does).

The signal handler is re-entrant: the first SIGTERM or SIGINT ends every child and raises
:class:`Terminated` / ``KeyboardInterrupt``; any later one (``make`` forwards the TERM that the
process group also receives, so a TERM to ``make``'s group arrives twice) is ignored while that
cleanup runs, and once stopping, no new child is started.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

# Imported here, never in the handler: a second signal arriving while a handler imports a module
# finds it half-initialized ("partially initialized module 'psutil'").
import psutil

#: Seconds between SIGTERM and SIGKILL when ending children.
GRACE_S = 2.0
_POLL_S = 0.05


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


class _StopFlag:
    """The "command is ending" flag: set by the first signal, read by every thread.

    No lock anywhere: ``threading.Event.set`` takes one, and a second signal arriving while the
    first handler held it re-entered the handler, which waited on that lock for ever (seen under
    load: eight SIGTERMs to ``systolic fpga``). :meth:`claim` is ``next()`` on a counter, one C
    call, which a signal handler cannot interrupt: exactly one caller is first."""

    def __init__(self) -> None:
        self.clear()

    def claim(self) -> bool:
        """Set the flag; True for the first caller only."""
        first = next(self._count) == 0
        self._set = True
        return first

    def set(self) -> None:
        self.claim()

    def is_set(self) -> bool:
        return self._set

    def clear(self) -> None:
        self._count = itertools.count()
        self._set = False


#: Set by the first signal: the command is ending; no new child may start.
_stopping = _StopFlag()
#: Process groups of the children started by :func:`start` (pgid == the child's pid), with their
#: Popen objects. RLock: the handler runs in the main thread, maybe while it holds the lock.
_sessions: dict[int, subprocess.Popen[Any]] = {}
_lock = threading.RLock()


def stopping() -> bool:
    """Has the command been told to end (SIGTERM or SIGINT seen)?"""
    return _stopping.is_set()


def check_stopping() -> None:
    """Raise :class:`Terminated` when the command is ending (for waits in worker threads, which
    a signal does not interrupt)."""
    if _stopping.is_set():
        raise Terminated()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if not _stopping.claim():
        # Cleanup already under way (make forwards the group's TERM; Ctrl-C after a TERM):
        # running it again, or raising from inside it, would only cut it short.
        return
    # End the children first, while they are still ours: once the exception unwinds through
    # subprocess.run, it kills only its direct child (make), whose compilers would be orphaned.
    kill_children()
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While the block runs (main thread only), SIGTERM and SIGINT end every descendant process
    and then raise :class:`Terminated` / ``KeyboardInterrupt``, so that ``finally`` blocks run.

    After a signal the handler stays installed (ignoring further signals) when the block ends:
    the process is ending, and a late second signal must not interrupt its last words."""
    try:
        old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        if not _stopping.is_set():
            for sig, handler in old.items():
                signal.signal(sig, handler)


# ------------------------------------------------------------------------------------------------
# Children in a session of their own
# ------------------------------------------------------------------------------------------------


def start(cmd: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)``, tracked: its whole
    process group is ended on a signal and at exit. Raises :class:`Terminated` once the command
    is ending (a worker thread must not start a tool after the cleanup), OSError when it cannot
    start."""
    with _lock:
        check_stopping()
        proc = subprocess.Popen(list(cmd), start_new_session=True, **popen_kwargs)
        _sessions[proc.pid] = proc
    return proc


def detach(cmd: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen[Any]:
    """Start a process meant to outlive the command (a wave viewer): a session of its own, not
    tracked, never ended by us."""
    return subprocess.Popen(list(cmd), start_new_session=True, **popen_kwargs)


def finish(proc: subprocess.Popen[Any]) -> None:
    """After ``proc`` (from :func:`start`) has ended: kill what is left of its process group (a
    tool's own children) and stop tracking it."""
    with _lock:
        _sessions.pop(proc.pid, None)
        if proc.poll() is None:
            proc.kill()
        _killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=GRACE_S)


def run_in_session(
    cmd: Sequence[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[str, int | None]:
    """Run ``cmd`` in its own session (stderr into stdout); returns (output, exit status), the
    status None when it ran longer than ``timeout`` seconds: then its whole process group is
    killed, so that no solver or router outlives the run. OSError when it cannot start."""
    proc = start(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        try:
            out, _ = proc.communicate(timeout=timeout)
            return out, proc.returncode
        except subprocess.TimeoutExpired:
            _killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return out, None
    finally:
        finish(proc)


def end_sessions(grace_s: float = GRACE_S) -> int:
    """End every tracked process group (SIGTERM, then SIGKILL after ``grace_s``); returns how
    many there were. Called on a signal and at exit."""
    with _lock:
        groups = dict(_sessions)
        _sessions.clear()
    _end_groups(set(groups), [], grace_s)
    for proc in groups.values():
        with contextlib.suppress(OSError):
            proc.poll()  # reap the leader if it is gone
    return len(groups)


def kill_children(grace_s: float = GRACE_S) -> int:
    """Terminate every descendant of this process and the whole process group of every child
    in a session of its own (then kill what is left after ``grace_s``); returns how many
    processes and groups there were."""
    with _lock:
        groups = set(_sessions)
        _sessions.clear()
    try:
        children = psutil.Process(os.getpid()).children(recursive=True)
    except psutil.Error:
        children = []
    own = os.getpgrp()
    for child in children:
        # A descendant leading a group of its own (started in a new session, e.g. by a tool we
        # did not start through start()): its group may hold processes no longer ours.
        with contextlib.suppress(OSError):
            pgid = os.getpgid(child.pid)
            if pgid == child.pid and pgid != own:
                groups.add(pgid)
    _end_groups(groups, children, grace_s)
    return len(children) + len(groups)


def _end_groups(groups: set[int], procs: list[psutil.Process], grace_s: float) -> None:
    """SIGTERM every group and process, wait up to ``grace_s`` for them to go, SIGKILL the
    rest."""
    for pgid in groups:
        _killpg(pgid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    deadline = time.monotonic() + grace_s
    while _any_alive(groups, procs) and time.monotonic() < deadline:
        time.sleep(_POLL_S)
    for pgid in groups:
        _killpg(pgid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(procs, timeout=grace_s)


def _any_alive(groups: set[int], procs: list[psutil.Process]) -> bool:
    """Is a process of ``procs`` or a member of a group of ``groups`` still running (zombies
    reaped where they are ours, else not counted)?"""
    psutil.wait_procs(procs, timeout=0)  # reaps our own children that have exited
    if any(_running(p) for p in procs):
        return True
    if not groups:
        return False
    for p in psutil.process_iter():
        with contextlib.suppress(OSError, psutil.Error):
            if os.getpgid(p.pid) in groups and _running(p):
                return True
    return False


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# A library user (pytest, a notebook) that never reaches the CLI's cleanup still ends its tools.
atexit.register(end_sessions)


# ------------------------------------------------------------------------------------------------
# Standard output
# ------------------------------------------------------------------------------------------------


class StdoutError(OSError):
    """A write to standard output failed for another reason than a closed pipe: it is closed
    (EBADF) or its device is full (ENOSPC), so the command's output is lost."""


class CheckedStdout:
    """``sys.stdout`` whose failed writes raise :class:`StdoutError` (a closed pipe stays
    ``BrokenPipeError``, the quiet case of ``systolic … | head``); everything else is the wrapped
    stream's."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        #: The first failure, kept: a caller may swallow the exception (argparse's --help does).
        self.error: StdoutError | None = None

    def write(self, text: str) -> int:
        with self._errors():
            return int(self.stream.write(text))

    def writelines(self, lines: Any) -> None:
        with self._errors():
            self.stream.writelines(lines)

    def flush(self) -> None:
        with self._errors():
            self.stream.flush()

    def check(self) -> None:
        """Flush, and raise the first failure of any write so far."""
        self.flush()
        if self.error is not None:
            raise self.error

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except BrokenPipeError:
            raise
        except OSError as exc:
            error = StdoutError(exc.errno, exc.strerror or str(exc), "standard output")
            self.error = self.error or error
            raise error from None


def quiet_stdout() -> None:
    """After a closed pipe (``systolic … | head``) or a failed write: point stdout at /dev/null
    so that the interpreter's final flush does not complain, as Unix tools exit quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, 1)
    os.close(devnull)
