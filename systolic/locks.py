"""Work folders shared by concurrent runs: one run at a time works in a folder.

Two runs of the same work at once (two ``systolic formal`` of one task, two ``systolic fpga`` of
one design and size, two ``systolic mutate`` of one mutant) would otherwise wipe and rewrite each
other's files (SymbiYosys's ``-f`` removes its folder first). Each such folder has a lock, the
file ``.<name>.lock`` beside it (the simulator builds' lock has the same name, see
``engine/build.py``), held with ``flock``: the kernel releases it when its holder dies, so a
killed run never blocks the next.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from systolic import procs

#: Seconds between two tries of a busy lock.
POLL_S = 0.1


def lock_path(folder: Path) -> Path:
    """The lock file of ``folder``: ``.<name>.lock`` in its parent."""
    folder = Path(folder)
    return folder.parent / f".{folder.name}.lock"


class FolderLock:
    """The lock of one work folder, open until :meth:`close`; :meth:`exclusive` for a run that
    writes in the folder, :meth:`shared` for runs that only read it. OSError when the lock file
    cannot be made (the folder's parent is created if needed)."""

    def __init__(self, folder: Path) -> None:
        path = lock_path(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = open(path, "a+")  # noqa: SIM115 (closed by close())

    def exclusive(self) -> None:
        """Wait until no other run holds the lock, then hold it alone."""
        self._take(fcntl.LOCK_EX)

    def shared(self) -> None:
        """Hold the lock together with other readers (a writer waits for all of them)."""
        self._take(fcntl.LOCK_SH)

    def _take(self, mode: int) -> None:
        # Non-blocking tries: a thread blocked in flock() would not see SIGTERM (only the main
        # thread runs signal handlers), and the command could not end while it waits.
        while True:
            try:
                fcntl.flock(self._file, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                procs.check_stopping()
                time.sleep(POLL_S)

    def close(self) -> None:
        """Release the lock."""
        self._file.close()

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[Path]:
    """Work in ``folder`` alone while the block runs (another run of the same work waits for
    its turn); yields ``folder``."""
    with FolderLock(folder) as lock:
        lock.exclusive()
        yield Path(folder)
