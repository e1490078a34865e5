"""ShuffleNet as part-pruning: block-diagonal weights, per-group GEMMs, the shuffle index map."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from systolic.pruning.errors import PruningError
from systolic.pruning.models import (
    ChannelShuffle,
    ShuffleDigitsNet,
    ShuffleSpec,
    shuffle_permutation,
)
from systolic.pruning.shuffle import (
    block_diagonal_mask,
    dense_to_grouped,
    fold_shuffle,
    grouped_to_dense,
    mask_off_diagonal,
    off_diagonal_l1,
    part_prune,
    per_group_conv,
)
from systolic.pruning.train import predict


@pytest.fixture
def grouped_conv() -> nn.Conv2d:
    torch.manual_seed(0)
    return nn.Conv2d(12, 6, 1, groups=3, bias=True)


def test_grouped_conv_is_a_block_diagonal_dense_conv(grouped_conv: nn.Conv2d) -> None:
    x = torch.randn(2, 12, 5, 5)
    dense = grouped_to_dense(grouped_conv)
    torch.testing.assert_close(dense(x), grouped_conv(x), atol=1e-6, rtol=1e-6)
    mask = block_diagonal_mask(6, 12, 3)
    assert torch.equal(dense.weight[:, :, 0, 0] != 0, mask)  # zero exactly off the blocks
    assert float((~mask).float().mean()) == pytest.approx(1 - 1 / 3)


def test_grouped_conv_as_per_group_blocks(grouped_conv: nn.Conv2d) -> None:
    x = torch.randn(2, 12, 5, 5)
    torch.testing.assert_close(per_group_conv(grouped_conv, x), grouped_conv(x))


def test_dense_to_grouped_round_trip(grouped_conv: nn.Conv2d) -> None:
    back = dense_to_grouped(grouped_to_dense(grouped_conv), 3)
    assert torch.equal(back.weight, grouped_conv.weight) and back.groups == 3


def test_permutation_matches_the_torch_module() -> None:
    x = torch.randn(2, 12, 3, 3)
    perm = shuffle_permutation(12, 3)
    torch.testing.assert_close(ChannelShuffle(3)(x), x[:, perm])
    # The paper's convention (torchvision's channel_shuffle): out[i*g + k] = in[k*n + i].
    assert perm.tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    # megvii's convention is the inverse map; it is a different permutation here.
    assert torch.argsort(perm).tolist() != perm.tolist()


def test_shuffle_folds_into_a_following_dense_layer() -> None:
    torch.manual_seed(1)
    conv = nn.Conv2d(12, 5, 1)
    x = torch.randn(2, 12, 4, 4)
    perm = shuffle_permutation(12, 3)
    folded = nn.Conv2d(12, 5, 1)
    with torch.no_grad():
        folded.weight.copy_(fold_shuffle(conv.weight, perm))
        folded.bias.copy_(conv.bias)
    torch.testing.assert_close(folded(x), conv(ChannelShuffle(3)(x)), atol=1e-6, rtol=1e-6)


def test_part_pruning_a_dense_network_gives_shufflenet(digits) -> None:
    torch.manual_seed(0)
    dense = ShuffleDigitsNet(ShuffleSpec(channels=24, bottleneck=24, groups=1, shuffle_groups=3))
    dense.eval()
    grouped = part_prune(dense, 3)
    assert all(c.groups == 3 for _, c in grouped.pointwise_convs())
    masked = mask_off_diagonal(dense, 3)
    torch.testing.assert_close(
        predict(grouped, digits.x_test), predict(masked, digits.x_test), atol=1e-5, rtol=1e-5
    )
    assert not torch.allclose(predict(dense, digits.x_test), predict(masked, digits.x_test))
    with pytest.raises(PruningError, match="already grouped"):
        part_prune(grouped, 3)


def test_off_diagonal_l1_touches_only_the_pruned_blocks() -> None:
    model = ShuffleDigitsNet(ShuffleSpec(channels=6, bottleneck=6, groups=1, shuffle_groups=3))
    for _, conv in model.pointwise_convs():
        conv.weight.grad = torch.zeros_like(conv.weight)
    off_diagonal_l1(0.1, 3)(model)
    conv = model.units[0].conv1
    mask = block_diagonal_mask(6, 6, 3)
    assert bool((conv.weight.grad[:, :, 0, 0][mask] == 0).all())
    torch.testing.assert_close(
        conv.weight.grad[:, :, 0, 0][~mask], 0.1 * torch.sign(conv.weight[:, :, 0, 0][~mask])
    )


@pytest.mark.parametrize(("c_out", "c_in", "g"), [(6, 12, 4), (5, 12, 3), (6, 6, 0)])
def test_groups_must_divide(c_out: int, c_in: int, g: int) -> None:
    with pytest.raises(PruningError, match="do not divide"):
        block_diagonal_mask(c_out, c_in, g)
