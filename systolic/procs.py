"""Ending a run cleanly: SIGTERM and Ctrl-C end the whole tree of processes a command started
(simulator builds run ``make`` and ``c++``, tests run ``vvp`` or a Verilator model), never
leaving children behind."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while the block runs (main thread only), so that
    ``finally`` blocks and :func:`kill_children` run as they do for Ctrl-C."""
    try:
        old = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def kill_children(grace_s: float = 2.0) -> int:
    """Terminate every descendant of this process (then kill what is left after ``grace_s``);
    returns how many there were."""
    import psutil

    try:
        children = psutil.Process(os.getpid()).children(recursive=True)
    except psutil.Error:
        return 0
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return len(children)


def quiet_stdout() -> None:
    """After a closed pipe (``systolic … | head``): point stdout at /dev/null so that the
    interpreter's final flush does not complain, as Unix tools exit quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, 1)
    os.close(devnull)
