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


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # End the children first, while they are still ours: once the exception unwinds through
    # subprocess.run, it kills only its direct child (make), whose compilers would be orphaned.
    kill_children()
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """While the block runs (main thread only), SIGTERM and SIGINT end every descendant process
    and then raise :class:`Terminated` / ``KeyboardInterrupt``, so that ``finally`` blocks run."""
    try:
        old = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


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
