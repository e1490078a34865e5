"""Run configuration of a pruning method and the result every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from systolic.pruning.models import Spec
from systolic.pruning.registry import get
from systolic.pruning.surgery import KeptMap
from systolic.pruning.train import TrainConfig


@dataclass(frozen=True)
class PruneConfig:
    """Everything a method run depends on. Defaults are the benchmark settings."""

    seed: int = 0
    threads: int = 1
    progress: bool = True
    #: Model family (plain, se, shuffle); None: the method's default.
    model: str | None = None
    widths: tuple[int, ...] = (32, 64, 128)
    # The dense baseline and every fine-tuning keep their best epoch on the validation split.
    baseline: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=40, select_best=True))
    finetune: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=30, lr=0.02, select_best=True)
    )
    # Network Slimming. lambda 5e-3 and ratio 0.7 (the paper's CIFAR-10 ratio) were chosen on
    # the validation split over seeds 0-2 (docs/pruning.md): lambda 1e-2 cost accuracy in
    # sparsity training, 3e-3 left gamma too little separated for pruning 60-70 % of channels.
    ratio: float = 0.7
    sparsity: float = 5e-3
    sparsity_train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=40))
    min_channels: int = 1
    round_to: int | None = None
    # AutoPruner
    keep_rate: float = 0.4
    ap_epochs: int = 12
    ap_lr: float = 0.01
    ap_pruner_lr: float = 0.1
    ap_lambda: float = 10.0
    ap_alpha: tuple[float, float] = (0.1, 6.0)
    ap_vote: int = 10
    # SE static pruning
    se_sparsity: float = 0.1
    se_threshold: float = 0.05
    se_reduction: int = 4
    # ShuffleNet part-pruning
    shuffle_channels: int = 48
    shuffle_groups: int = 3
    block_sparsity: float = 3e-2


@dataclass
class MethodResult:
    """What a method produced. The report adds sizes, MACs and GEMM shapes from the models."""

    method: str
    dense_model: nn.Module
    pruned_model: nn.Module
    kept: KeptMap
    accuracy: dict[str, float]
    #: What the histogram plot shows: label, values per layer, threshold.
    distribution: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def method_spec(cfg: PruneConfig, method: str) -> Spec:
    """The architecture ``method`` runs on under ``cfg`` (``cfg.model`` or the method's
    default); a model the method does not apply to is a :class:`PruningError`."""
    from systolic.pruning.errors import PruningError
    from systolic.pruning.models import ShuffleSpec, plain_spec, se_spec

    info = get(method)
    family = cfg.model or info.default_family
    refusal = info.refusal(family)
    if refusal is not None:
        raise PruningError(refusal)
    if family == "plain":
        return plain_spec(cfg.widths)
    if family == "se":
        return se_spec(cfg.widths, cfg.se_reduction)
    return ShuffleSpec(
        channels=cfg.shuffle_channels,
        bottleneck=cfg.shuffle_channels,
        groups=1,
        shuffle_groups=cfg.shuffle_groups,
    )
