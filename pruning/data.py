"""The digits data set (scikit-learn's ``load_digits``: 1797 8x8 images, 10 classes, no download)
with a fixed stratified held-out split, plus the seeding helpers every run goes through."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

#: Fraction of the samples held out for testing (stratified by class).
TEST_FRACTION = 0.25
#: Fraction of the remaining training samples set aside for validation (model selection:
#: the best fine-tuning epoch is chosen on it, never on the test samples).
VAL_FRACTION = 0.15
#: Seed of the split: fixed, so every method and every run sees the same held-out samples.
SPLIT_SEED = 0


@dataclass(frozen=True)
class Digits:
    """The split as float tensors: images N x 1 x 8 x 8 scaled to [0, 1], integer labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(self.y_train.max()) + 1

    def describe(self) -> str:
        return (
            f"sklearn digits, {len(self.y_train)} train / {len(self.y_val)} validation / "
            f"{len(self.y_test)} test (stratified, split seed {SPLIT_SEED})"
        )


def load_digits_split() -> Digits:
    """Load the digits and split them; the result is the same on every call and every machine."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    # Pixel values are integers 0..16: a fixed scale keeps train and test on the same footing
    # without statistics that would leak from the test set.
    images = (bunch.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    x_tr, x_va, y_tr, y_va = train_test_split(
        x_tr, y_tr, test_size=VAL_FRACTION, stratify=y_tr, random_state=SPLIT_SEED
    )
    return Digits(*map(torch.from_numpy, (x_tr, y_tr, x_te, y_te, x_va, y_va)))


def seed_everything(seed: int, threads: int | None = None) -> torch.Generator:
    """Seed python, numpy and torch, ask torch for deterministic kernels, and return a generator
    for the run's own shuffling (so that shuffling does not depend on unrelated RNG draws)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(max(1, threads))
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen
