"""The stimulus a ``--waves`` run saves next to its wave file (``<wave>.stim/<test>_<k>.npz``),
read back to number a wave file's cycles.

The folder sits next to a wave file that may come from anywhere, so its files are read like any
input (:mod:`systolic.names`): each is a regular file (no link, FIFO or device) named
``<test>_<stream>.npz`` with a portable test name, all of one test, no stream number twice; each
holds only the arrays ``tb/env.py`` writes, none of them twice, and no pickle is ever loaded. Its
``t0_ns`` is a finite, non-negative number. Anything else is one :class:`WaveError` line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from systolic import names
from systolic.models.skew import EdgeStimulus
from systolic.waves.vcd import WaveError

#: The arrays of a saved stream: the sim time of its cycle 0, the clock period, the stimulus.
STIM_ARRAYS = frozenset(("t0_ns", "period_ns", *(f.name for f in dataclasses.fields(EdgeStimulus))))
#: How large ``t0_ns`` may be inside the archive (bytes): a scalar with its .npy header.
MAX_SCALAR_BYTES = 1024
_NAME = re.compile(r"(?P<test>.+)_(?P<k>[0-9]{1,9})\.npz", re.DOTALL)


def stim_dir(vcd: Path) -> Path:
    """Folder where a ``--waves`` run keeps the stimulus of each stream of this wave file."""
    vcd = Path(vcd)
    return vcd.with_name(vcd.name.removesuffix(vcd.suffix) + ".stim")


def stream_starts(vcd: Path) -> list[float]:
    """Sim time (ns) at which each saved stream's cycle 0 is applied, in stream order."""
    folder = stim_dir(vcd)
    if not folder.is_dir():
        return []
    where = names.shown(folder)
    by_stream: dict[int, Path] = {}
    tests: set[str] = set()
    for f in folder.glob("*.npz"):
        k, test = _stream_of(f, where)
        if k in by_stream:
            raise WaveError(f"{where}: two files of stream {k}: {f.name!r}, {by_stream[k].name!r}")
        by_stream[k] = f
        tests.add(test)
        if len(tests) > 1:
            raise WaveError(f"{where}: stimulus files of more than one test: {sorted(tests)!r}")
    return [_start_of(by_stream[k]) for k in sorted(by_stream)]


def _stream_of(f: Path, where: str) -> tuple[int, str]:
    """(stream number, test name) of a stimulus file, whose name and kind are checked."""
    m = _NAME.fullmatch(f.name)
    if not m:
        raise WaveError(f"{where}: file {names.quoted(f.name)} is not named <test>_<stream>.npz")
    names.check_name(m["test"], "test name", where, rule="file", error=WaveError)
    try:
        mode = os.lstat(f).st_mode
    except OSError as exc:
        raise WaveError(f"{names.shown(f)}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise WaveError(f"{names.shown(f)}: not a regular file (a link, folder or device)")
    return int(m["k"]), m["test"]


def _start_of(f: Path) -> float:
    """``t0_ns`` of one stimulus file, every array name of the file checked first."""
    where = names.shown(f)
    try:
        npz = np.load(f, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):  # one .npy array, not an archive
            raise WaveError(f"{where}: not a stimulus archive (.npz)")
        with npz:
            return _t0(npz, where)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        # ValueError: numpy refusing a pickle (a pickled file, an object array) or a bad header.
        raise WaveError(f"{where}: corrupt stimulus file ({names.shown(str(exc), 160)})") from None


def _t0(npz: Any, where: str) -> float:
    keys = list(npz.files)
    names.check_unique(keys, "array", where, error=WaveError)
    stray = sorted(set(keys) - STIM_ARRAYS)
    if stray:
        raise WaveError(f"{where}: array {names.quoted(stray[0])} is not part of a stimulus file")
    if "t0_ns" not in keys:
        raise WaveError(f"{where}: array 't0_ns' is missing")
    members = {i.filename: i.file_size for i in npz.zip.infolist()}
    if members.get("t0_ns.npy", members.get("t0_ns", 0)) > MAX_SCALAR_BYTES:
        raise WaveError(f"{where}: array 't0_ns' is not a number")
    t0 = npz["t0_ns"]
    ok = isinstance(t0, np.ndarray) and t0.shape == () and t0.dtype.kind in "iuf"
    if not ok or not np.isfinite(t0) or t0 < 0:
        raise WaveError(f"{where}: array 't0_ns' is not a finite non-negative number")
    return float(t0)
