"""Shared fixtures of the pruning tests: the digits split and small, briefly trained networks.

Training here is deliberately short (a few epochs of narrow networks): the tests check the
algorithms' contracts, not the benchmark accuracy, which ``make bench-prune`` measures."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from systolic.pruning.data import Digits, load_digits_split, seed_everything  # noqa: E402
from systolic.pruning.models import DigitsCNN, build_model, plain_spec, se_spec  # noqa: E402
from systolic.pruning.slimming import bn_l1_subgradient  # noqa: E402
from systolic.pruning.train import TrainConfig, train_fresh  # noqa: E402

#: Narrow networks keep the tests fast; the domain notes' measured example uses these widths.
SMALL = (16, 32, 64)


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    # One thread per pytest-xdist worker: two workers share the machine's two cores.
    seed_everything(0, threads=1)


@pytest.fixture(scope="session")
def digits() -> Digits:
    return load_digits_split()


@pytest.fixture(scope="session")
def slim_model(digits: Digits) -> DigitsCNN:
    """Plain network after a short Network Slimming sparsity training (gammas separated)."""
    seed_everything(0, threads=1)
    model, _ = train_fresh(
        lambda: build_model(plain_spec(SMALL)),
        digits,
        TrainConfig(epochs=8),
        seed=0,
        progress=False,
        after_backward=bn_l1_subgradient(1e-2),
    )
    return model.eval()


@pytest.fixture(scope="session")
def se_model(digits: Digits) -> DigitsCNN:
    """SE network after a short training."""
    seed_everything(0, threads=1)
    model, _ = train_fresh(
        lambda: build_model(se_spec(SMALL)),
        digits,
        TrainConfig(epochs=4),
        seed=0,
        progress=False,
    )
    return model.eval()
