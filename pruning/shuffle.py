"""ShuffleNet as part-pruning: a grouped 1x1 conv is a dense 1x1 conv with the off-diagonal
blocks of its weight pruned, and channel shuffle is the hand-designed wiring that lets the next
grouped conv see every group.

The pieces, each usable on its own and tested against torch:

* :func:`block_diagonal_mask`: which weights a g-group conv keeps ((1 - 1/g) are zero);
* :func:`grouped_to_dense` / :func:`dense_to_grouped`: the two forms of the same layer;
* :func:`per_group_conv`: the grouped conv as g separate dense convs (the g GEMMs an array runs);
* :func:`~systolic.pruning.models.shuffle_permutation`: the shuffle as an explicit index map;
* :func:`fold_shuffle`: a shuffle folded into the input order of a following *dense* layer.

The method (:class:`ShufflePartPruning`, run by the common pipeline) trains the dense network
(1x1 convs with groups=1, the same fixed shuffle), optionally with an L1 penalty on the
off-diagonal blocks, prunes those blocks (mask), converts the masked dense network into a real
grouped one (identical outputs, checked), and fine-tunes the grouped network.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.config import PruneConfig
from systolic.pruning.errors import PruningError
from systolic.pruning.method import Description, Penalty, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.models import ShuffleDigitsNet, ShuffleSpec
from systolic.pruning.train import AfterBackward, predict

#: How the report states the shuffle (see :func:`~systolic.pruning.models.shuffle_permutation`).
SHUFFLE_CONVENTION = "x.view(N, g, C/g, H, W).transpose(1, 2): out[j] = in[perm[j]]"


def block_diagonal_mask(c_out: int, c_in: int, groups: int) -> torch.Tensor:
    """Boolean C_out x C_in mask: output group i sees input group i only."""
    if groups < 1 or c_out % groups or c_in % groups:
        raise PruningError(f"{groups} groups do not divide {c_out} x {c_in} channels")
    return torch.block_diag(*[torch.ones(c_out // groups, c_in // groups)] * groups).bool()


def _pair(v: tuple[int, ...]) -> tuple[int, int]:
    """A Conv2d geometry tuple (kernel size, stride, padding, dilation: two entries) as a pair."""
    h, w = v
    return h, w


def grouped_to_dense(conv: nn.Conv2d) -> nn.Conv2d:
    """The dense conv (groups=1) whose weight is the grouped conv's, block-diagonally placed."""
    g, c_in, c_out = conv.groups, conv.in_channels, conv.out_channels
    dense = nn.Conv2d(
        c_in,
        c_out,
        _pair(conv.kernel_size),
        _pair(conv.stride),
        conv.padding if isinstance(conv.padding, str) else _pair(conv.padding),
        _pair(conv.dilation),
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        w = torch.zeros_like(dense.weight)
        co, ci = c_out // g, c_in // g
        for i in range(g):
            w[i * co : (i + 1) * co, i * ci : (i + 1) * ci] = conv.weight[i * co : (i + 1) * co]
        dense.weight.copy_(w)
        if conv.bias is not None:
            assert dense.bias is not None  # made with bias=True
            dense.bias.copy_(conv.bias)
    return dense


def diagonal_blocks(weight: torch.Tensor, groups: int) -> torch.Tensor:
    """The grouped-conv weight (C_out x C_in/g x kh x kw) made of the diagonal blocks of a dense
    weight; the off-diagonal blocks are dropped (they are the pruned part)."""
    c_out, c_in = weight.shape[:2]
    block_diagonal_mask(c_out, c_in, groups)  # validates the group count
    co, ci = c_out // groups, c_in // groups
    return torch.cat([weight[i * co : (i + 1) * co, i * ci : (i + 1) * ci] for i in range(groups)])


def dense_to_grouped(conv: nn.Conv2d, groups: int) -> nn.Conv2d:
    """A real grouped conv from the diagonal blocks of a dense conv."""
    grouped = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        _pair(conv.kernel_size),
        _pair(conv.stride),
        conv.padding if isinstance(conv.padding, str) else _pair(conv.padding),
        _pair(conv.dilation),
        groups=groups,
        bias=conv.bias is not None,
    )
    with torch.no_grad():
        grouped.weight.copy_(diagonal_blocks(conv.weight, groups))
        if conv.bias is not None:
            assert grouped.bias is not None  # made with bias=True
            grouped.bias.copy_(conv.bias)
    return grouped


def per_group_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The grouped conv computed as g independent dense convs on the input's channel slices."""
    g = conv.groups
    xs = x.chunk(g, dim=1)
    ws = conv.weight.chunk(g, dim=0)
    bs = conv.bias.chunk(g) if conv.bias is not None else [None] * g
    return torch.cat(
        [
            F.conv2d(xi, wi, bi, conv.stride, conv.padding, conv.dilation)
            for xi, wi, bi in zip(xs, ws, bs, strict=True)
        ],
        dim=1,
    )


def fold_shuffle(weight: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Weight of a dense layer that reads its input unshuffled: conv(x[:, perm], W) equals
    conv(x, fold_shuffle(W, perm)). (Not possible into a block-diagonal layer: the folded
    weight is no longer block-diagonal.)"""
    return weight[:, torch.argsort(perm)]


def _require_shuffle(model: nn.Module) -> ShuffleDigitsNet:
    if not isinstance(model, ShuffleDigitsNet):
        raise PruningError("ShuffleNet part-pruning needs the ShuffleNet-style network")
    return model


def off_diagonal_l1(lam: float, groups: int) -> AfterBackward:
    """``after_backward`` hook: an L1 subgradient on the weights a g-group conv would prune."""

    def hook(model: nn.Module) -> None:
        for _, conv in _require_shuffle(model).pointwise_convs():
            if conv.groups != 1 or conv.weight.grad is None:
                continue
            off = ~block_diagonal_mask(conv.out_channels, conv.in_channels, groups)
            conv.weight.grad.add_(lam * torch.sign(conv.weight.detach()) * off[:, :, None, None])

    return hook


def mask_off_diagonal(model: ShuffleDigitsNet, groups: int) -> ShuffleDigitsNet:
    """A copy of the dense network with the off-diagonal blocks of every 1x1 conv zeroed."""
    masked = copy.deepcopy(_require_shuffle(model))
    with torch.no_grad():
        for _, conv in masked.pointwise_convs():
            mask = block_diagonal_mask(conv.out_channels, conv.in_channels, groups)
            conv.weight.mul_(mask[:, :, None, None])
    return masked


def part_prune(model: ShuffleDigitsNet, groups: int) -> ShuffleDigitsNet:
    """The grouped network (groups ``groups``) that keeps the dense network's diagonal blocks."""
    model = _require_shuffle(model)
    if model.spec.groups != 1:
        raise PruningError(f"the network is already grouped (groups={model.spec.groups})")
    spec = ShuffleSpec(
        **{**{k: v for k, v in model.spec.__dict__.items() if k != "kind"}, "groups": groups}
    )
    grouped = ShuffleDigitsNet(spec)
    state = model.state_dict()
    for name, conv in model.pointwise_convs():
        state[f"{name}.weight"] = diagonal_blocks(conv.weight.detach(), groups)
    grouped.load_state_dict(state)
    return grouped


def block_norms(model: ShuffleDigitsNet, groups: int) -> list[list[float]]:
    """Per 1x1 conv: the L1 norm of each of its g x g weight blocks (row-major)."""
    out = []
    for _, conv in model.pointwise_convs():
        w = conv.weight.detach().abs()[:, :, 0, 0]
        co, ci = w.shape[0] // groups, w.shape[1] // groups
        out.append(w.view(groups, co, groups, ci).sum(dim=(1, 3)).flatten().tolist())
    return out


def max_abs_diff(a: nn.Module, b: nn.Module, x: torch.Tensor) -> float:
    """Largest absolute difference between the two networks' logits on ``x``."""
    return float((predict(a, x) - predict(b, x)).abs().max())


@dataclass
class PartSelection:
    """The parts to keep: the diagonal blocks of ``groups`` groups, and the dense network with
    everything else zeroed (the reference the grouped network must reproduce)."""

    groups: int
    masked: ShuffleDigitsNet


class ShufflePartPruning(PruningMethod[PartSelection]):
    """ShuffleNet part-pruning's steps of the common pipeline (:mod:`systolic.pruning.pipeline`)."""

    name = "shuffle"
    regularizer = "block sparsity"
    #: Largest logit difference allowed between the masked dense and the grouped network.
    TOLERANCE = 1e-4

    def penalty(self, cfg: PruneConfig) -> Penalty:
        """The L1 on the off-diagonal blocks (none at lambda 0)."""
        lam, g = cfg.block_sparsity, cfg.shuffle_groups
        return Penalty(after_backward=off_diagonal_l1(lam, g) if lam else None)

    def select(self, ctx: RunContext, trained: Trained) -> PartSelection:
        """Keep the diagonal blocks of every 1x1 conv."""
        g = ctx.cfg.shuffle_groups
        return PartSelection(g, mask_off_diagonal(_require_shuffle(trained.model), g))

    def remove(self, ctx: RunContext, trained: Trained, selection: PartSelection) -> Pruned:
        """The real grouped network, checked against the masked dense one. The channels stay
        (an empty kept-index map): what goes is weights."""
        grouped = part_prune(_require_shuffle(trained.model), selection.groups)
        diff = max_abs_diff(selection.masked, grouped, ctx.data.x_test)
        if diff > self.TOLERANCE:
            raise PruningError(f"grouped network differs from the masked dense one by {diff:.3g}")
        return Pruned(grouped, {})

    def describe(
        self, ctx: RunContext, trained: Trained, selection: PartSelection, pruned: Pruned
    ) -> Description:
        """The block norms, the shuffle wiring, the masked-vs-grouped check."""
        sparse = _require_shuffle(trained.model)
        g = selection.groups
        c, gb = ctx.cfg.shuffle_channels, ctx.cfg.shuffle_channels // g
        return Description(
            distribution={
                "label": "L1 norm of each g x g block of the 1x1 weights",
                "values": block_norms(sparse, g),
                "threshold": None,
                "log": True,
            },
            details={
                "groups": g,
                "block_sparsity_lambda": ctx.cfg.block_sparsity,
                "pruned_weight_fraction": 1 - 1 / g,
                "masked_vs_grouped_max_abs_diff": max_abs_diff(
                    selection.masked, pruned.model, ctx.data.x_test
                ),
                "shuffle_permutation": torch.arange(c).view(g, gb).t().reshape(-1).tolist(),
                "shuffle_convention": SHUFFLE_CONVENTION,
                "kept_input_channels_per_output_group": {
                    name: [list(range(i * gb, (i + 1) * gb)) for i in range(g)]
                    for name, _ in sparse.pointwise_convs()
                },
            },
        )
