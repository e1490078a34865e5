"""The RTL of the systolic array, shipped inside the ``systolic`` package as data files.

``systolic.rtl.directory()`` is the folder that holds ``systolic_pe.v``, ``systolic_array.v``,
``formal/`` (the formal wrappers) and ``harness/`` (the fast-path harness), whether the project
runs from a checkout or from an installed wheel.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def directory() -> Path:
    """The folder of the shipped RTL files (a real folder: wheels install unzipped)."""
    return Path(str(files(__name__)))
