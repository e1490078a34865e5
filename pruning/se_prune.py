"""Squeeze-and-Excitation as dynamic pruning, turned into static pruning.

Every SE block scales channel c of sample x by s_c(x) in (0, 1): a per-sample (dynamic)
pruning. Over a calibration set (the training split) this module gathers, per block and channel,
the excitation's maximum and mean over all samples and per class, and E[GAP(u_c)], the squeeze
input. Channels are then classed with the threshold tau:

* ``always_squeezed``: max over all samples < tau; squeezed for every input, so the dynamic
  pruning is in fact static. These are removed: the conv filter and BN entry, row c of the
  excitation FC (W2, b2), input channel c of the next layer, and column c of the squeeze FC W1,
  whose contribution W1[:, c] * E[GAP(u_c)] is folded into W1's bias. The channel's mean
  output (u_c * s_c, small but not zero) is compensated too: its mean contribution to the next
  conv moves into that stage's BN running mean (or into the classifier bias).
* ``class_dependent``: squeezed (max < tau) for every sample of some classes but not of all:
  useful for the others, so it stays.
* ``active``: everything else.

Optional sparsity training (an L1 penalty on the excitations) pushes useless channels' scales
towards zero so that more of them end up always squeezed; it plays the role that the L1 on BN
scales plays in Network Slimming. :class:`SEPruning` plugs the steps into the common pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from systolic.pruning.config import PruneConfig
from systolic.pruning.data import Digits
from systolic.pruning.errors import PruningError
from systolic.pruning.method import Description, Penalty, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.models import DigitsCNN, SEBlock
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import ExtraLoss, accuracy


def _se_network(model: nn.Module) -> tuple[DigitsCNN, list[SEBlock]]:
    """The model as the conv-stage network it must be, and its SE blocks (one per stage)."""
    if isinstance(model, DigitsCNN):
        blocks = model.se_blocks()
        if blocks and len(blocks) == len(model.stages):
            return model, blocks
    raise PruningError(
        "SE pruning needs a network with an SE block after every conv stage (the 'se' variant)"
    )


def se_blocks_of(model: nn.Module) -> list[SEBlock]:
    """The model's SE blocks; a model without any is a user error for this method."""
    return _se_network(model)[1]


def excitation_l1(lam: float) -> ExtraLoss:
    """``extra_loss`` of sparsity training: lam * sum over blocks of the mean excitation."""

    def loss(model: nn.Module) -> torch.Tensor:
        total = sum(b.excitation().mean() for b in se_blocks_of(model))
        assert isinstance(total, torch.Tensor)  # not sum()'s start 0: there is at least one block
        return lam * total

    return loss


@dataclass
class ExcitationStats:
    """Per-stage statistics over the calibration set (tensors of C, or classes x C)."""

    max: list[torch.Tensor]
    mean: list[torch.Tensor]
    class_max: list[torch.Tensor]
    class_mean: list[torch.Tensor]
    squeeze_mean: list[torch.Tensor]
    #: Mean output map (C x H x W) of every stage: what its consumer sees on average.
    output_mean: list[torch.Tensor]


@torch.no_grad()
def excitation_stats(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512
) -> ExcitationStats:
    """Run the calibration set through the model in eval mode and summarise each SE block."""
    cnn, blocks = _se_network(model)
    was_training = model.training
    model.eval()
    scales: list[list[torch.Tensor]] = [[] for _ in blocks]
    squeezes: list[list[torch.Tensor]] = [[] for _ in blocks]
    out_sums: dict[int, torch.Tensor] = {}

    def summer(i: int) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
            out_sums[i] = out_sums.get(i, 0.0) + out.sum(0)

        return hook

    handles = [s.register_forward_hook(summer(i)) for i, s in enumerate(cnn.stages)]
    try:
        for chunk in x.split(batch_size):
            model(chunk)
            for i, b in enumerate(blocks):
                scales[i].append(b.excitation())
                squeezes[i].append(b.squeeze_output())
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    classes = int(y.max()) + 1
    stats = ExcitationStats([], [], [], [], [], [out_sums[i] / len(x) for i in range(len(blocks))])
    for sc, sq in zip(scales, squeezes, strict=True):
        s = torch.cat(sc)
        stats.max.append(s.max(0).values)
        stats.mean.append(s.mean(0))
        stats.class_max.append(torch.stack([s[y == k].max(0).values for k in range(classes)]))
        stats.class_mean.append(torch.stack([s[y == k].mean(0) for k in range(classes)]))
        stats.squeeze_mean.append(torch.cat(sq).mean(0))
    return stats


def classify_channels(stats: ExcitationStats, tau: float) -> list[dict[str, list[int]]]:
    """Per stage: always-squeezed, class-dependent and active channel indices."""
    out = []
    for mx, cmx in zip(stats.max, stats.class_max, strict=True):
        always = mx < tau
        some_class = (cmx < tau).any(0) & ~always
        out.append(
            {
                "always_squeezed": torch.nonzero(always).flatten().tolist(),
                "class_dependent": torch.nonzero(some_class).flatten().tolist(),
                "active": torch.nonzero(~always & ~some_class).flatten().tolist(),
            }
        )
    return out


def static_keep(
    stats: ExcitationStats, tau: float, min_channels: int = 1
) -> tuple[dict[int, torch.Tensor], list[str]]:
    """Channels to keep per stage (all but the always-squeezed), with the empty-layer guard."""
    if not 0.0 < tau < 1.0:
        raise PruningError(f"excitation threshold must lie in (0, 1), got {tau}")
    keep, notes = {}, []
    for i, mx in enumerate(stats.max):
        k = torch.nonzero(mx >= tau).flatten()
        if k.numel() < max(1, min_channels):
            if min_channels == 0:
                raise PruningError(f"threshold {tau} would remove every channel of stages.{i}")
            k = torch.sort(torch.topk(mx, min(min_channels, mx.numel())).indices).values
            notes.append(f"stages.{i}: every channel is below tau; the guard keeps {k.numel()}")
        keep[i] = k
    return keep, notes


@dataclass
class SESelection:
    """The calibration statistics, each stage's channel classes, and what stays."""

    stats: ExcitationStats
    classes: list[dict[str, list[int]]]
    keep: dict[int, torch.Tensor]
    notes: list[str]

    @property
    def squeeze_fold(self) -> dict[int, torch.Tensor]:
        """Per stage E[GAP(u_c)]: the squeeze FC's bias fold (``remove_channels``' se_fold)."""
        return dict(enumerate(self.stats.squeeze_mean))

    @property
    def output_fold(self) -> dict[int, torch.Tensor]:
        """Per stage the mean output map: the consumer's fold (``remove_channels``' out_fold)."""
        return dict(enumerate(self.stats.output_mean))


def fold_ablation(model: nn.Module, selection: SESelection, data: Digits) -> dict[str, float]:
    """Test accuracy right after pruning with one fold or none: what each fold contributes."""
    variants = (
        ("squeeze_fold_only", selection.squeeze_fold, None),
        ("output_fold_only", None, selection.output_fold),
        ("no_fold", None, None),
    )
    return {
        name: accuracy(
            remove_channels(model, selection.keep, se_fold=sq, out_fold=out)[0],
            data.x_test,
            data.y_test,
        )
        for name, sq, out in variants
    }


class SEPruning(PruningMethod[SESelection]):
    """SE static pruning's steps of the common pipeline (:mod:`systolic.pruning.pipeline`)."""

    name = "se"
    regularizer = "excitation sparsity"

    def penalty(self, cfg: PruneConfig) -> Penalty:
        """The L1 on the excitations (none at lambda 0)."""
        return Penalty(extra_loss=excitation_l1(cfg.se_sparsity) if cfg.se_sparsity > 0 else None)

    def select(self, ctx: RunContext, trained: Trained) -> SESelection:
        """Statistics over the calibration set (the training split), channel classes, and the
        always-squeezed channels removed (with the empty-layer guard)."""
        tau, data = ctx.cfg.se_threshold, ctx.data
        stats = excitation_stats(trained.model, data.x_train, data.y_train)
        classes = classify_channels(stats, tau)
        keep, notes = static_keep(stats, tau, ctx.cfg.min_channels)
        return SESelection(stats, classes, keep, notes)

    def remove(self, ctx: RunContext, trained: Trained, selection: SESelection) -> Pruned:
        """Channel removal with both folds."""
        return Pruned(
            *remove_channels(
                trained.model,
                selection.keep,
                se_fold=selection.squeeze_fold,
                out_fold=selection.output_fold,
            )
        )

    def describe(
        self, ctx: RunContext, trained: Trained, selection: SESelection, pruned: Pruned
    ) -> Description:
        """The max-excitation distribution, the channel classes, the fold ablation."""
        classes = selection.classes
        return Description(
            distribution={
                "label": "max excitation over the calibration set",
                "values": [m.tolist() for m in selection.stats.max],
                "threshold": ctx.cfg.se_threshold,
                "log": True,
            },
            details={
                "threshold": ctx.cfg.se_threshold,
                "sparsity_lambda": ctx.cfg.se_sparsity,
                "calibration_samples": len(ctx.data.y_train),
                "pruned_accuracy_by_fold": fold_ablation(trained.model, selection, ctx.data),
                "channel_classes": {
                    f"stages.{i}": {k: len(v) for k, v in c.items()} for i, c in enumerate(classes)
                },
                "channel_class_indices": {f"stages.{i}": c for i, c in enumerate(classes)},
            },
            notes=selection.notes,
        )
