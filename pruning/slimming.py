"""Network Slimming (Liu et al., ICCV 2017).

1. Sparsity training: L = CE + lambda * sum |gamma| over every BatchNorm scale factor, applied as
   the subgradient ``gamma.grad += lambda * sign(gamma)`` after ``backward()`` (default
   lambda 5e-3: the paper's 1e-4/1e-5 do not separate gamma on digits, 1e-2 costs accuracy).
2. Global threshold: the |gamma| of all BN layers are ranked together and the smallest fraction
   ``ratio`` is pruned (default 0.7, the paper's CIFAR-10 ratio; the same count Torch-Pruning's
   global ``BNScalePruner`` prunes: ``total - int(total * (1 - ratio))``, ties at the threshold
   pruned too).
3. Guards: a layer keeps at least ``min_channels`` channels (its strongest ones; a global
   threshold can otherwise empty a layer), and optionally its kept count is rounded up to a
   multiple of the array width so that the GEMM N dimension fills whole array columns.
4. Physical removal (:mod:`systolic.pruning.surgery`), then fine-tuning.

:class:`NetworkSlimming` plugs these steps into the common pipeline
(:func:`systolic.pruning.pipeline.run_method`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from systolic.pruning.config import PruneConfig
from systolic.pruning.errors import PruningError
from systolic.pruning.method import Description, Penalty, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.models import DigitsCNN
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import AfterBackward


def bn_layers(model: nn.Module) -> list[nn.BatchNorm2d]:
    """The BN layers whose scale factors Network Slimming ranks (conv stages only)."""
    if not isinstance(model, DigitsCNN):
        raise PruningError("Network Slimming needs a conv-BN network (plain or SE variant)")
    return [stage.bn for stage in model.conv_stages()]


def bn_l1_subgradient(lam: float) -> AfterBackward:
    """The ``after_backward`` hook of sparsity training: gamma.grad += lam * sign(gamma)."""

    def hook(model: nn.Module) -> None:
        for bn in bn_layers(model):
            if bn.weight.grad is not None:
                bn.weight.grad.add_(lam * torch.sign(bn.weight.detach()))

    return hook


@dataclass
class SlimmingSelection:
    """Which channels every stage keeps, the global threshold, and what the guards did."""

    keep: dict[int, torch.Tensor]
    threshold: float
    guarded: list[str] = field(default_factory=list)
    rounded: list[str] = field(default_factory=list)


def check_ratio(ratio: float) -> None:
    """A pruning ratio must lie strictly between 0 and 1."""
    if not 0.0 < ratio < 1.0 or math.isnan(ratio):
        raise PruningError(f"pruning ratio must lie in (0, 1), got {ratio}")


def global_threshold(gammas: torch.Tensor, ratio: float) -> tuple[float, int]:
    """(threshold, number pruned): channels with |gamma| <= threshold are pruned."""
    total = gammas.numel()
    n_prune = total - int(total * (1.0 - ratio))
    if n_prune <= 0:
        return -math.inf, 0
    return float(torch.sort(gammas).values[n_prune - 1]), n_prune


def select_channels(
    model: nn.Module, ratio: float, min_channels: int = 1, round_to: int | None = None
) -> SlimmingSelection:
    """Apply the global threshold and the guards to the trained model's BN scale factors."""
    check_ratio(ratio)
    if min_channels < 0:
        raise PruningError(f"min_channels must be >= 0, got {min_channels}")
    if round_to is not None and round_to < 1:
        raise PruningError(f"round_to must be >= 1, got {round_to}")
    layers = bn_layers(model)
    scales = [bn.weight.detach().abs() for bn in layers]
    thr, _ = global_threshold(torch.cat(scales), ratio)
    sel = SlimmingSelection({}, thr)
    for i, g in enumerate(scales):
        n_keep = int((g > thr).sum())
        if n_keep < min_channels or n_keep == 0:
            if min_channels == 0:
                raise PruningError(
                    f"ratio {ratio} would remove every channel of stages.{i}; lower the ratio "
                    "or set a minimum of channels per layer"
                )
            sel.guarded.append(
                f"stages.{i}: the threshold keeps {n_keep} of {g.numel()} channels; the guard "
                f"keeps its {min(min_channels, g.numel())} strongest"
            )
            n_keep = min(min_channels, g.numel())
        if round_to:
            rounded = min(g.numel(), math.ceil(n_keep / round_to) * round_to)
            if rounded != n_keep:
                sel.rounded.append(f"stages.{i}: {n_keep} -> {rounded} channels")
            n_keep = rounded
        # The strongest n_keep channels, back in their original order.
        sel.keep[i] = torch.sort(torch.topk(g, n_keep).indices).values
    return sel


class NetworkSlimming(PruningMethod[SlimmingSelection]):
    """Network Slimming's steps of the common pipeline (:mod:`systolic.pruning.pipeline`)."""

    name = "slimming"

    def check(self, cfg: PruneConfig) -> None:
        """The ratio, before any training."""
        check_ratio(cfg.ratio)

    def penalty(self, cfg: PruneConfig) -> Penalty:
        """The L1 on the BN scales."""
        return Penalty(after_backward=bn_l1_subgradient(cfg.sparsity))

    def select(self, ctx: RunContext, trained: Trained) -> SlimmingSelection:
        """Global threshold with the guards."""
        cfg = ctx.cfg
        return select_channels(trained.model, cfg.ratio, cfg.min_channels, cfg.round_to)

    def remove(self, ctx: RunContext, trained: Trained, selection: SlimmingSelection) -> Pruned:
        """Physical channel removal."""
        return Pruned(*remove_channels(trained.model, selection.keep))

    def describe(
        self, ctx: RunContext, trained: Trained, selection: SlimmingSelection, pruned: Pruned
    ) -> Description:
        """The |gamma| distribution with the threshold, the settings, the guards' notes."""
        gammas = [bn.weight.detach().abs().tolist() for bn in bn_layers(trained.model)]
        total = sum(len(g) for g in gammas)
        return Description(
            distribution={
                "label": "|gamma| (BN scale) after sparsity training",
                "values": gammas,
                "threshold": selection.threshold,
                "log": True,
            },
            details={
                "ratio": ctx.cfg.ratio,
                "sparsity_lambda": ctx.cfg.sparsity,
                "min_channels": ctx.cfg.min_channels,
                "round_to": ctx.cfg.round_to,
                "threshold": selection.threshold,
                "pruned_channels": total - sum(len(k) for k in pruned.kept.values()),
                "total_channels": total,
            },
            notes=[*selection.guarded, *(f"rounded {r}" for r in selection.rounded)],
        )
