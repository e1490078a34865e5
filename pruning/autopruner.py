"""AutoPruner (Luo & Wu; reference code Roll920/AutoPruner): an end-to-end trainable channel
selection layer, applied layer by layer.

The AutoPruner layer after conv-BN-ReLU of stage i takes the activation x (N x C x H x W):

1. batch-wise average pooling: mean over the batch, 1 x C x H x W;
2. spatial max-pooling 2x2;
3. a fully-connected layer to C values;
4. the scaled sigmoid v = sigmoid(alpha * .), alpha growing during training so that v becomes
   an (almost) binary code;

and outputs x * v per channel. The loss adds the compression term
lambda * (||v||_1 / C - r)^2 that steers the fraction of open channels towards the keep rate r;
lambda is raised while the fraction is off target. The binary code is read out as a majority
vote of (v > 0.5) over the last batches; closed channels are removed physically, the pruner
layer goes away, and the next stage follows (:func:`prune_stagewise`). A final fine-tuning
ends the method; :class:`AutoPruner` plugs the steps into the common pipeline.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.config import PruneConfig
from systolic.pruning.data import Digits
from systolic.pruning.errors import PruningError
from systolic.pruning.method import Description, Pruned, PruningMethod, RunContext, Trained
from systolic.pruning.models import DigitsCNN
from systolic.pruning.surgery import KeptMap, remove_channels
from systolic.pruning.train import TrainConfig, accuracy, train

#: |v - 0.5| above this counts as a binary entry of the code (v < 0.1 or v > 0.9).
BINARY_MARGIN = 0.4
#: The code counts as binary when this share of its entries is; else alpha is doubled.
BINARY_TARGET = 0.95
MAX_BUMPS = 3


class AutoPrunerLayer(nn.Module):
    """The AutoPruner layer for ``channels`` channels of ``size`` x ``size`` feature maps."""

    def __init__(self, channels: int, size: int, alpha: float = 0.1, vote: int = 10) -> None:
        super().__init__()
        pooled = max(1, size // 2)
        self.fc = nn.Linear(channels * pooled * pooled, channels)
        self.alpha = alpha
        self.last_code: torch.Tensor | None = None
        self.votes: deque[torch.Tensor] = deque(maxlen=vote)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The soft code v (C values) for a batch x."""
        z = x.mean(dim=0, keepdim=True)  # batch-wise average pooling
        if z.shape[-1] >= 2:
            z = F.max_pool2d(z, 2)
        return torch.sigmoid(self.alpha * self.fc(z.flatten(1)))[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = self.code(x)
        self.last_code = v
        if self.training:
            self.votes.append((v.detach() > 0.5).float())
        return x * v[None, :, None, None]

    def code_of_last_batch(self) -> torch.Tensor:
        """:attr:`last_code`; the layer must have run."""
        if self.last_code is None:
            raise PruningError("the AutoPruner layer has not seen a batch yet")
        return self.last_code

    def read_out(self) -> torch.Tensor:
        """Binary decision per channel: open in the majority of the recent training batches."""
        if not self.votes:
            raise PruningError("the AutoPruner layer has not seen a training batch yet")
        return torch.stack(list(self.votes)).mean(0) > 0.5


def binary_fraction(v: torch.Tensor) -> float:
    """Share of code entries within BINARY_MARGIN of 0 or 1."""
    return float(((v - 0.5).abs() > BINARY_MARGIN).float().mean())


@dataclass
class LayerRun:
    """What training one stage's AutoPruner layer did."""

    stage: int
    channels: int
    kept: int
    alpha: float
    lam: float
    binary_fraction: float
    gated_accuracy: float
    pruned_accuracy: float = math.nan
    #: (step, alpha, ||v||_1/C, binary fraction) after every training step.
    trace: list[tuple[int, float, float, float]] = field(default_factory=list)
    final_code: list[float] = field(default_factory=list)


def _feature_size(model: DigitsCNN, stage: int) -> int:
    size = model.spec.image_size
    return size // 2 ** sum(s.pool for s in model.spec.stages[:stage])


def train_stage_pruner(
    model: DigitsCNN,
    stage: int,
    data: Digits,
    cfg: PruneConfig,
    gen: torch.Generator,
    epochs: int | None = None,
) -> tuple[AutoPrunerLayer, LayerRun]:
    """Insert an AutoPruner layer in ``stage`` and train it jointly with the network (network
    at ``ap_lr``, pruner at ``ap_pruner_lr``). The layer stays in place; see :func:`prune_stage`."""
    if not isinstance(model, DigitsCNN):
        raise PruningError("AutoPruner needs a conv-stage network (plain or SE variant)")
    if not 0.0 < cfg.keep_rate < 1.0:
        raise PruningError(f"AutoPruner keep rate must lie in (0, 1), got {cfg.keep_rate}")
    epochs = epochs or cfg.ap_epochs
    channels = model.conv_stage(stage).bn.num_features
    layer = AutoPrunerLayer(channels, _feature_size(model, stage), cfg.ap_alpha[0], cfg.ap_vote)
    model.conv_stage(stage).gate = layer
    tcfg = TrainConfig(epochs=epochs, lr=cfg.ap_lr, weight_decay=5e-4)
    steps_per_epoch = math.ceil(len(data.y_train) / tcfg.batch_size)
    total = epochs * steps_per_epoch
    # alpha rises in 20 equal steps from alpha0 to alpha1 (the paper steps it every 100
    # iterations over a much longer run).
    levels = torch.linspace(cfg.ap_alpha[0], cfg.ap_alpha[1], 20).tolist()
    state = {"lam": cfg.ap_lambda}
    trace: list[tuple[int, float, float, float]] = []

    def on_step(step: int) -> None:
        layer.alpha = levels[min(len(levels) - 1, step * len(levels) // total)]
        # Raise lambda while the open fraction is still off target (the paper adapts it).
        epoch_start = step and step % steps_per_epoch == 0
        tolerance = 0.5 / channels + 0.02
        code = layer.last_code
        if (
            epoch_start
            and code is not None
            and abs(float(code.detach().mean()) - cfg.keep_rate) > tolerance
        ):
            state["lam"] = min(state["lam"] * 1.5, 1e3)

    def extra_loss(_: nn.Module) -> torch.Tensor:
        v = layer.code_of_last_batch()
        trace.append(
            (len(trace), layer.alpha, float(v.detach().mean()), binary_fraction(v.detach()))
        )
        return state["lam"] * (v.mean() - cfg.keep_rate) ** 2

    net_params = [p for n, p in model.named_parameters() if ".gate." not in n]
    train(
        model,
        data,
        tcfg,
        gen,
        desc=f"autopruner: stage {stage}",
        progress=cfg.progress,
        params=[{"params": net_params}, {"params": layer.parameters(), "lr": cfg.ap_pruner_lr}],
        extra_loss=extra_loss,
        on_step=on_step,
    )
    # Bump alpha while the code is not binary enough yet (as the reference code does), one
    # extra epoch per bump, at most MAX_BUMPS times.
    for _ in range(MAX_BUMPS):
        if binary_fraction(layer.code_of_last_batch().detach()) >= BINARY_TARGET:
            break
        levels[:] = [layer.alpha * 2.0]
        train(
            model,
            data,
            TrainConfig(epochs=1, lr=cfg.ap_lr * 0.1),
            gen,
            desc=f"autopruner: stage {stage}, alpha {levels[0]:.3g}",
            progress=cfg.progress,
            params=[
                {"params": net_params},
                {"params": layer.parameters(), "lr": cfg.ap_pruner_lr * 0.1},
            ],
            extra_loss=extra_loss,
            on_step=on_step,
        )
    code = layer.code_of_last_batch().detach()
    run = LayerRun(
        stage=stage,
        channels=channels,
        kept=int(layer.read_out().sum()),
        alpha=layer.alpha,
        lam=state["lam"],
        binary_fraction=binary_fraction(code),
        gated_accuracy=accuracy(model, data.x_test, data.y_test),
        trace=trace,
        final_code=code.tolist(),
    )
    return layer, run


def prune_stage(
    model: DigitsCNN, stage: int, layer: AutoPrunerLayer, kept: KeptMap, min_channels: int = 1
) -> tuple[DigitsCNN, KeptMap, list[str]]:
    """Remove the pruner layer of ``stage`` and the channels its read-out closed."""
    open_ = layer.read_out()
    notes = []
    keep = torch.nonzero(open_).flatten()
    if keep.numel() < max(1, min_channels):
        if min_channels == 0:
            raise PruningError(f"AutoPruner closed every channel of stages.{stage}")
        strongest = torch.topk(
            torch.stack(list(layer.votes)).mean(0) + layer.code_of_last_batch().detach(),
            min(min_channels, open_.numel()),
        ).indices
        keep = torch.sort(strongest).values
        notes.append(
            f"stages.{stage}: the code kept {int(open_.sum())} channels; the guard "
            f"keeps {keep.numel()}"
        )
    model.conv_stage(stage).gate = nn.Identity()
    pruned, kept = remove_channels(model, {stage: keep}, kept)
    return pruned, kept, notes


@dataclass
class StagewiseTrained(Trained):
    """AutoPruner's regularize result: the network with every stage already pruned, the
    kept-index map, each stage's record, and the guards' notes."""

    kept: KeptMap
    runs: list[LayerRun]
    notes: list[str]


def prune_stagewise(dense: nn.Module, data: Digits, cfg: PruneConfig) -> StagewiseTrained:
    """Train a pruner layer in each stage in turn and remove the channels it closes before the
    next stage trains (on a copy of ``dense``)."""
    if not isinstance(dense, DigitsCNN):
        raise PruningError("AutoPruner needs a conv-stage network (plain or SE variant)")
    model = copy.deepcopy(dense)
    kept: KeptMap = {}
    runs: list[LayerRun] = []
    notes: list[str] = []
    gen = torch.Generator().manual_seed(cfg.seed + 2)
    for stage in range(len(model.stages)):
        layer, lrun = train_stage_pruner(model, stage, data, cfg, gen)
        model, kept, guard_notes = prune_stage(model, stage, layer, kept, cfg.min_channels)
        lrun.pruned_accuracy = accuracy(model, data.x_test, data.y_test)
        runs.append(lrun)
        notes.extend(guard_notes)
    return StagewiseTrained(model, runs[-1].gated_accuracy, kept, runs, notes)


class AutoPruner(PruningMethod[StagewiseTrained]):
    """AutoPruner's steps of the common pipeline (:mod:`systolic.pruning.pipeline`)."""

    name = "autopruner"
    regularize_phase = "pruner_training"
    # The channels go while the pruner layers train (each stage trains on the already pruned
    # earlier ones), so select and remove only hand on what regularize did: nothing to time.
    prune_phase = None

    def regularize(self, ctx: RunContext) -> StagewiseTrained:
        """Stage by stage from the dense baseline: pruner training, then removal."""
        return prune_stagewise(ctx.dense, ctx.data, ctx.cfg)

    def select(self, ctx: RunContext, trained: Trained) -> StagewiseTrained:
        """The channels the pruner layers' read-outs kept (decided in regularize)."""
        if not isinstance(trained, StagewiseTrained):
            raise PruningError("AutoPruner selects from its own stage-wise training only")
        return trained

    def remove(self, ctx: RunContext, trained: Trained, selection: StagewiseTrained) -> Pruned:
        """The network regularize already pruned."""
        return Pruned(selection.model, selection.kept)

    def describe(
        self, ctx: RunContext, trained: Trained, selection: StagewiseTrained, pruned: Pruned
    ) -> Description:
        """The codes at read-out, the settings, each stage's record, the guards' notes."""
        cfg = ctx.cfg
        return Description(
            distribution={
                "label": "AutoPruner code v at read-out",
                "values": [r.final_code for r in selection.runs],
                "threshold": 0.5,
                "log": False,
            },
            details={
                "keep_rate": cfg.keep_rate,
                "alpha": list(cfg.ap_alpha),
                "lambda_start": cfg.ap_lambda,
                "vote_batches": cfg.ap_vote,
                "layers": [
                    {k: v for k, v in r.__dict__.items() if k not in ("trace", "final_code")}
                    for r in selection.runs
                ],
            },
            notes=selection.notes,
        )
