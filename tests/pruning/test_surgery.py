"""Physical channel removal: equals masking, keeps index maps, rejects impossible requests."""

from __future__ import annotations

import pytest
import torch

from systolic.pruning.errors import PruningError
from systolic.pruning.lowering import gemm_shapes
from systolic.pruning.models import DigitsCNN, plain_spec
from systolic.pruning.surgery import (
    flat_feature_index,
    full_kept_map,
    mask_channels,
    remove_channels,
)
from systolic.pruning.train import predict


def _random_keep(model: DigitsCNN, frac: float, seed: int) -> dict[int, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    keep = {}
    for i, w in enumerate(model.spec.widths):
        keep[i] = torch.sort(torch.randperm(w, generator=gen)[: max(1, int(w * frac))]).values
    return keep


@pytest.mark.parametrize("fixture", ["slim_model", "se_model"])
def test_removal_equals_masking(fixture: str, request: pytest.FixtureRequest, digits) -> None:
    model = request.getfixturevalue(fixture)
    keep = _random_keep(model, 0.4, seed=1)
    pruned, kept = remove_channels(model, keep)
    masked = mask_channels(model, keep)
    x = digits.x_test
    torch.testing.assert_close(predict(pruned, x), predict(masked, x), atol=1e-5, rtol=1e-5)
    assert pruned.spec.widths == [len(k) for k in keep.values()]
    assert kept == {f"stages.{i}": k.tolist() for i, k in keep.items()}
    # And the masking really did something: the unpruned network differs.
    assert not torch.allclose(predict(model, x), predict(masked, x), atol=1e-3)


def test_shapes_shrink_in_place_of_masks(slim_model: DigitsCNN) -> None:
    keep = {0: torch.arange(0, 16, 2), 1: torch.arange(0, 32, 4), 2: torch.arange(10, 20)}
    pruned, _ = remove_channels(slim_model, keep)
    assert pruned.stages[0].conv.weight.shape == (8, 1, 3, 3)
    assert pruned.stages[1].conv.weight.shape == (8, 8, 3, 3)
    assert pruned.stages[2].bn.running_var.shape == (10,)
    assert pruned.head.weight.shape == (10, 10 * 4)  # 10 channels x 2x2 pixels
    shapes = [(g.M, g.K, g.N) for g in gemm_shapes(pruned, (1, 8, 8))]
    assert shapes == [(64, 9, 8), (64, 72, 8), (16, 72, 10), (1, 40, 10)]


def test_flatten_mapping_is_channel_major() -> None:
    assert flat_feature_index(torch.tensor([1, 3]), 4).tolist() == [4, 5, 6, 7, 12, 13, 14, 15]


def test_kept_indices_compose_over_successive_prunings(slim_model: DigitsCNN, digits) -> None:
    first, kept = remove_channels(slim_model, {1: torch.arange(8, 32)})
    second, kept = remove_channels(first, {1: torch.tensor([0, 5, 23])}, kept)
    assert kept["stages.1"] == [8, 13, 31]
    assert kept["stages.0"] == list(range(16))
    once, _ = remove_channels(slim_model, {1: torch.tensor([8, 13, 31])})
    torch.testing.assert_close(predict(second, digits.x_test), predict(once, digits.x_test))


def test_full_map_and_original_untouched(slim_model: DigitsCNN) -> None:
    before = {k: v.clone() for k, v in slim_model.state_dict().items()}
    remove_channels(slim_model, {0: torch.tensor([0])})
    after = slim_model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert full_kept_map(plain_spec((2, 3)))["stages.1"] == [0, 1, 2]


@pytest.mark.parametrize(
    ("keep", "message"),
    [
        ({0: torch.tensor([], dtype=torch.long)}, "every channel of stages.0"),
        ({1: torch.tensor([40])}, "out of range"),
        ({1: torch.tensor([-1])}, "out of range"),
    ],
)
def test_bad_keep_is_one_clear_error(slim_model: DigitsCNN, keep, message: str) -> None:
    with pytest.raises(PruningError, match=message):
        remove_channels(slim_model, keep)


def test_non_cnn_is_rejected() -> None:
    from systolic.pruning.models import ShuffleDigitsNet, ShuffleSpec

    with pytest.raises(PruningError, match="conv-stage network"):
        remove_channels(ShuffleDigitsNet(ShuffleSpec()), {0: torch.tensor([0])})
