"""Your own matrices through the RTL (``systolic gemm``): read A and B, run the GEMM on the
simulator with every PE checked, return C.

Two paths, the same checks: the default path (``test_gemm_file``: cocotb drives the array and
Python compares every PE with the cycle model every cycle) and the fast path
(``test_fast_gemm_file`` on the fast-path harness: the stimulus is played from an HDL buffer at
the simulator's own speed, every PE's state over every cycle is checked through the harness's
signature, and C is read back from the RTL's result dump and compared with the golden GEMM). A
GEMM of more than :data:`FAST_GEMM_CYCLES` cycles takes the fast path unless told otherwise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from systolic import fileio
from systolic.engine import runner, toolchain
from systolic.engine.config import RunSettings
from systolic.errors import ConfigError, OperandError, one_line
from systolic.models.gemm import check_operands
from systolic.models.params import ArrayParams
from systolic.models.tiling import gemm_cycles

#: Matrix files read and written (the suffix, without case, decides the format).
MATRIX_IN = (".npy", ".csv", ".txt")
MATRIX_OUT = (".npy", ".csv")
#: Cycles above which ``systolic gemm`` takes the fast path by default (the default path checks
#: in Python at a few thousand cycles per second: this is about a few seconds of it).
FAST_GEMM_CYCLES = 10_000


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


def use_fast_path(
    settings: RunSettings, p: ArrayParams, a: np.ndarray, b: np.ndarray, fast: bool | None
) -> bool:
    """The path a GEMM takes: ``fast`` when given (waves need the default path), else the fast
    path when the GEMM is longer than FAST_GEMM_CYCLES and no waves are asked for."""
    if fast and settings.waves:
        raise ConfigError("--waves needs the default path: use --no-fast")
    if fast is not None:
        return fast
    return (
        not settings.waves and gemm_cycles(a.shape[0], a.shape[1], b.shape[1], p) > FAST_GEMM_CYCLES
    )


def gemm_on_rtl(
    settings: RunSettings,
    p: ArrayParams,
    a: np.ndarray,
    b: np.ndarray,
    fast: bool | None = None,
) -> tuple[runner.RunResult, np.ndarray | None]:
    """C = A @ B on the simulated array (``fast``: True the fast path, False the default path,
    None chosen by :func:`use_fast_path`); C is None when the run failed."""
    from systolic.engine import harness

    check_operands(a, b, p)
    on_fast = use_fast_path(settings, p, a, b, fast)
    toolchain.check_simulator(settings.sim)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "gemm.npz"
        np.savez(src, a=a.astype(np.int64), b=b.astype(np.int64))
        inputs = {"gemm_file": str(src)}
        if on_fast:
            res = harness.run_cocotb(
                settings,
                p,
                ["test_fast_gemm_file"],
                inputs=inputs,
                harness=harness.HarnessBuild(dump=True),
                name="gemm",
            )
        else:
            res = runner.run(settings, p, ["test_gemm_file"], inputs=inputs)
        if not res.passed:
            return res, None
        return res, np.load(Path(tmp) / "gemm_c.npy")
