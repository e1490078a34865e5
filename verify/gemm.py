"""Your own matrices through the RTL (``systolic gemm``): read A and B, run the GEMM on the
simulator with every PE checked, return C."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from systolic import fileio
from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.errors import OperandError, one_line
from systolic.models.gemm import check_operands
from systolic.models.params import ArrayParams

#: Matrix files read and written (the suffix, without case, decides the format).
MATRIX_IN = (".npy", ".csv", ".txt")
MATRIX_OUT = (".npy", ".csv")


def load_matrix(path: Path) -> np.ndarray:
    """Read an integer matrix from .npy (no pickles) or .csv; one-line errors for bad files."""
    try:
        path = fileio.check_input_file(path, MATRIX_IN)
    except fileio.InputError as exc:
        raise OperandError(str(exc)) from None
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise OperandError(f"{path}: cannot read a matrix ({one_line(exc)})") from None
    return np.asarray(arr)


def save_matrix(path: Path, c: np.ndarray) -> None:
    """Write C atomically in the format its suffix names (.npy or .csv, without case)."""
    path = fileio.check_output_file(path, MATRIX_OUT)
    # A file object, because np.save would append .npy to a name in capitals.
    with fileio.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if path.suffix.lower() == ".npy":
            np.save(fh, c)
        else:
            np.savetxt(fh, c, delimiter=",", fmt="%d")


def gemm_on_rtl(
    settings: RunSettings, p: ArrayParams, a: np.ndarray, b: np.ndarray
) -> tuple[runner.RunResult, np.ndarray | None]:
    """C = A @ B on the simulated array (``test_gemm_file``); C is None when the run failed."""
    check_operands(a, b, p)
    toolchain.check_simulator(settings.sim)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gemm.npz"
        np.savez(src, a=a.astype(np.int64), b=b.astype(np.int64))
        res = runner.run(settings, p, ["test_gemm_file"], inputs={"gemm_file": str(src)})
        if not res.passed:
            return res, None
        return res, np.load(Path(tmp) / "gemm_c.npy")
