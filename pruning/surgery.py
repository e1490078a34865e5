"""Physical channel removal for :class:`~systolic.pruning.models.DigitsCNN`, shared by all
channel-pruning methods.

A pruned network is *smaller*, not masked: the conv filters, the BN entries, the SE rows and
columns, the next conv's input channels and the classifier's flattened features of a removed
channel are cut out, and a new network is built from the narrower spec. ``kept_indices`` maps
every stage's surviving channels back to the channels of the original, unpruned network.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.errors import PruningError
from systolic.pruning.models import CNNSpec, DigitsCNN

#: Layer name -> indices (into the original network) of the channels that the layer keeps.
KeptMap = dict[str, list[int]]


def stage_name(i: int) -> str:
    """The name of conv stage ``i`` (the keys of a kept-index map)."""
    return f"stages.{i}"


def full_kept_map(spec: CNNSpec) -> KeptMap:
    """Kept-index map of an unpruned network: every channel of every stage."""
    return {stage_name(i): list(range(w)) for i, w in enumerate(spec.widths)}


def flat_feature_index(keep: torch.Tensor, hw: int) -> torch.Tensor:
    """Classifier inputs that belong to channels ``keep`` after a channel-major flatten:
    channel c owns features c*hw ... c*hw + hw - 1."""
    return (keep[:, None] * hw + torch.arange(hw)).reshape(-1)


def _check_keep(model: DigitsCNN, keep: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    out = {}
    for i, stage in enumerate(model.conv_stages()):
        c = stage.bn.num_features
        k = torch.as_tensor(keep.get(i, torch.arange(c)), dtype=torch.long)
        k = torch.unique(k)  # sorted, duplicates removed: channel order is preserved
        if k.numel() == 0:
            raise PruningError(f"pruning would remove every channel of {stage_name(i)}")
        if int(k.min()) < 0 or int(k.max()) >= c:
            raise PruningError(f"kept index out of range for {stage_name(i)} ({c} channels)")
        if not isinstance(stage.gate, nn.Identity):
            raise PruningError(f"{stage_name(i)} still carries a pruning gate; remove it first")
        out[i] = k
    return out


def remove_channels(
    model: nn.Module,
    keep: dict[int, torch.Tensor],
    kept: KeptMap | None = None,
    se_fold: dict[int, torch.Tensor] | None = None,
    out_fold: dict[int, torch.Tensor] | None = None,
) -> tuple[DigitsCNN, KeptMap]:
    """A new, physically smaller network keeping channels ``keep[i]`` of stage i (stages not in
    ``keep`` stay whole), and the updated kept-index map.

    ``se_fold[i]`` (optional, one value per channel of stage i) is the expected squeeze input
    E[GAP(u_c)] of each channel: the SE block's first FC loses input column c, and
    ``W1[:, c] * E[GAP(u_c)]`` moves into its bias so that the squeeze path changes as little as
    possible. Without it the removed channels are assumed to output zero (as after masking).

    ``out_fold[i]`` (optional, C x H x W: the mean output map of stage i over a calibration set)
    compensates the consumer for the removed channels' mean output: the next conv's
    contribution from it (averaged over pixels) moves into that stage's BN running mean, or,
    after the last stage, ``W_head[:, cols] @ mean`` moves into the classifier bias.
    """
    if not isinstance(model, DigitsCNN):
        raise PruningError("channel removal needs a conv-stage network (plain or SE variant)")
    keep = _check_keep(model, keep)
    # Stages without history so far are still whole: their indices are the identity.
    kept = {**full_kept_map(model.spec), **(kept or {})}
    spec = model.spec.with_widths([int(keep[i].numel()) for i in range(len(model.stages))])
    old = model.state_dict()
    new: dict[str, torch.Tensor] = {}
    shifts = _output_compensation(model, keep, out_fold or {})
    prev = torch.arange(model.spec.in_channels)
    for i, k in keep.items():
        p = f"stages.{i}."
        new[p + "conv.weight"] = old[p + "conv.weight"][k][:, prev]
        for name in ("weight", "bias", "running_var"):
            new[p + "bn." + name] = old[p + "bn." + name][k]
        new[p + "bn.running_mean"] = (old[p + "bn.running_mean"] - shifts.get(i, 0.0))[k]
        new[p + "bn.num_batches_tracked"] = old[p + "bn.num_batches_tracked"]
        if model.spec.stages[i].se_hidden is not None:
            w1, b1 = old[p + "se.fc1.weight"], old[p + "se.fc1.bias"]
            removed = torch.ones(w1.shape[1], dtype=torch.bool)
            removed[k] = False
            if se_fold is not None and i in se_fold:
                b1 = b1 + w1[:, removed] @ se_fold[i][removed].to(w1.dtype)
            new[p + "se.fc1.weight"], new[p + "se.fc1.bias"] = w1[:, k], b1
            new[p + "se.fc2.weight"] = old[p + "se.fc2.weight"][k]
            new[p + "se.fc2.bias"] = old[p + "se.fc2.bias"][k]
        prev = k
    cols = flat_feature_index(prev, model.spec.final_size() ** 2)
    new["head.weight"] = old["head.weight"][:, cols]
    new["head.bias"] = old["head.bias"] + shifts.get("head", 0.0)
    pruned = DigitsCNN(spec)
    pruned.load_state_dict({n: t.clone() for n, t in new.items()})
    pruned.train(model.training)
    new_kept = {stage_name(i): [kept[stage_name(i)][j] for j in keep[i].tolist()] for i in keep}
    return pruned, new_kept


def _output_compensation(
    model: DigitsCNN, keep: dict[int, torch.Tensor], out_fold: dict[int, torch.Tensor]
) -> dict[int | str, torch.Tensor]:
    """Per consumer: for the next stage i+1, the amount to take off its BN running mean; for
    "head", the amount to add to the classifier bias (the removed channels' mean contribution,
    computed from their mean output maps ``out_fold``)."""
    shifts: dict[int | str, torch.Tensor] = {}
    last = len(model.stages) - 1
    for i, mean_map in out_fold.items():
        removed = torch.ones(mean_map.shape[0], dtype=torch.bool)
        removed[keep[i]] = False
        if not removed.any():
            continue
        if i < last:
            conv = model.conv_stage(i + 1).conv
            delta = F.conv2d(
                mean_map[removed][None],
                conv.weight.detach()[:, removed],
                stride=conv.stride,
                padding=conv.padding,
            )
            # BN subtracts its running mean: lowering it by the lost mean contribution puts
            # that contribution back (exactly for a constant map, up to padding borders).
            shifts[i + 1] = delta.mean(dim=(0, 2, 3))
        else:
            hw = mean_map.shape[1] * mean_map.shape[2]
            cols = flat_feature_index(torch.nonzero(removed).flatten(), hw)
            shifts["head"] = model.head.weight.detach()[:, cols] @ mean_map[removed].reshape(-1)
    return shifts


def mask_channels(model: DigitsCNN, keep: dict[int, torch.Tensor]) -> DigitsCNN:
    """A copy of ``model`` where the channels not kept have BN gamma and beta set to zero: the
    masked network that physical removal must reproduce exactly (ReLU(0) = 0 downstream)."""
    keep = _check_keep(model, keep)
    masked = copy.deepcopy(model)
    with torch.no_grad():
        for i, k in keep.items():
            bn = masked.conv_stage(i).bn
            drop = torch.ones(bn.num_features, dtype=torch.bool)
            drop[k] = False
            bn.weight[drop] = 0.0
            bn.bias[drop] = 0.0
    return masked
