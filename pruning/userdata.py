"""A user's labelled data for the pruning methods that train: ``.npz`` files with ``x`` and ``y``.

``x``: samples N x (the model's input shape without the batch), numbers; ``y``: N integer class
labels >= 0. Read with ``allow_pickle=False`` (an object array is refused, never unpickled).
One file is split like the digits (stratification aside): 25 % test, then 15 % of the rest for
validation, by a seeded permutation; a second file, when given, is the test set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from systolic import names
from systolic.pruning.data import Digits
from systolic.pruning.errors import PruningError


def _read(path: str | Path, sample_shape: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    where = names.shown(Path(path))
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f.files or "y" not in f.files:
                raise PruningError(f"{where}: an .npz dataset needs arrays x and y, has {f.files}")
            x, y = f["x"], f["y"]
    except PruningError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise PruningError(f"{where}: not a readable .npz file ({exc})") from None
    if x.dtype.kind not in "fiub" or x.ndim < 2:
        raise PruningError(
            f"{where}: x must be a numeric array of samples, got {x.dtype} {x.shape}"
        )
    if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(x) or len(y) == 0:
        raise PruningError(f"{where}: y must be {len(x)} integer labels, got {y.dtype} {y.shape}")
    if (y < 0).any():
        raise PruningError(f"{where}: y has negative labels")
    if sample_shape is not None and tuple(x.shape[1:]) != tuple(sample_shape):
        raise PruningError(
            f"{where}: samples have shape {tuple(x.shape[1:])}, "
            f"the model takes {tuple(sample_shape)}"
        )
    if not np.isfinite(x.astype(np.float64)).all():
        raise PruningError(f"{where}: x has NaN or infinite values")
    return x.astype(np.float32), y.astype(np.int64)


def load_npz(
    path: str | Path,
    sample_shape: tuple[int, ...] | None = None,
    test_path: str | Path | None = None,
    seed: int = 0,
) -> Digits:
    """The split of a user's ``.npz`` dataset (see the module docstring)."""
    x, y = _read(path, sample_shape)
    gen = np.random.default_rng(seed)
    order = gen.permutation(len(y))
    if test_path is not None:
        xt, yt = _read(test_path, tuple(x.shape[1:]))
        rest = order
    else:
        n_test = len(y) // 4
        xt, yt = x[order[:n_test]], y[order[:n_test]]
        rest = order[n_test:]
    n_val = max(1, int(len(rest) * 0.15))
    val, train = rest[:n_val], rest[n_val:]
    if len(train) == 0 or len(yt) == 0:
        raise PruningError(f"{names.shown(Path(path))}: too few samples ({len(y)}) to split")
    t = torch.from_numpy
    return Digits(t(x[train]), t(y[train]), t(xt), t(yt), t(x[val]), t(y[val]))
