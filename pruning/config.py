"""Run configuration of a pruning method and the result every method returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from systolic.pruning.surgery import KeptMap
from systolic.pruning.train import TrainConfig
from torch import nn

METHODS = ("slimming", "autopruner", "se", "shuffle")


@dataclass(frozen=True)
class PruneConfig:
    """Everything a method run depends on. Defaults are the benchmark settings."""

    seed: int = 0
    threads: int = 2
    progress: bool = True
    widths: tuple[int, ...] = (32, 64, 128)
    baseline: TrainConfig = TrainConfig(epochs=40)
    finetune: TrainConfig = TrainConfig(epochs=30, lr=0.02)
    # Network Slimming
    ratio: float = 0.6
    sparsity: float = 1e-2
    sparsity_train: TrainConfig = TrainConfig(epochs=40)
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
    se_sparsity: float = 2e-2
    se_threshold: float = 0.05
    se_reduction: int = 4
    # ShuffleNet part-pruning
    shuffle_channels: int = 48
    shuffle_groups: int = 3
    block_sparsity: float = 1e-3


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
