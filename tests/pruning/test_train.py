"""Data split and training loop: fixed stratified split, determinism, best-epoch selection."""

from __future__ import annotations

import torch

from systolic.pruning.data import load_digits_split
from systolic.pruning.models import build_model, plain_spec
from systolic.pruning.train import TrainConfig, accuracy, train_fresh


def test_split_is_fixed_stratified_and_disjoint(digits) -> None:
    assert (len(digits.y_train), len(digits.y_val), len(digits.y_test)) == (1144, 203, 450)
    again = load_digits_split()
    assert torch.equal(again.x_test, digits.x_test) and torch.equal(again.y_val, digits.y_val)
    for y in (digits.y_train, digits.y_val, digits.y_test):
        share = torch.bincount(y, minlength=10).float() / len(y)
        assert float((share - 0.1).abs().max()) < 0.02  # every class about 10 %
    rows = {tuple(x.flatten().tolist()) for x in digits.x_test}
    assert not any(tuple(x.flatten().tolist()) in rows for x in digits.x_val[:50])
    assert float(digits.x_train.max()) <= 1.0 and float(digits.x_train.min()) >= 0.0


def test_training_is_deterministic(digits) -> None:
    cfg = TrainConfig(epochs=2)
    runs = [
        train_fresh(lambda: build_model(plain_spec((8, 8))), digits, cfg, seed=3, progress=False)
        for _ in range(2)
    ]
    assert runs[0][1].losses == runs[1][1].losses
    for a, b in zip(runs[0][0].parameters(), runs[1][0].parameters(), strict=True):
        assert torch.equal(a, b)


def test_select_best_keeps_the_best_validation_epoch(digits) -> None:
    cfg = TrainConfig(epochs=4, lr=0.3, select_best=True)
    model, log = train_fresh(
        lambda: build_model(plain_spec((4, 4))), digits, cfg, seed=0, progress=False
    )
    best = max(log.val_accuracy)
    latest_best = max(i for i, v in enumerate(log.val_accuracy, 1) if v == best)
    assert log.kept_epoch == latest_best
    assert accuracy(model, digits.x_val, digits.y_val) == best
    assert log.test_accuracy == accuracy(model, digits.x_test, digits.y_test)
