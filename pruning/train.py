"""Training and evaluation loops shared by the methods: seeded, deterministic, with progress.

A method customises training through two hooks rather than its own loop:
``extra_loss(model) -> tensor`` is added to the cross entropy (e.g. AutoPruner's compression
term), ``after_backward(model)`` runs between ``backward()`` and the optimiser step (e.g. the
L1 subgradient of Network Slimming)."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.data import Digits

if TYPE_CHECKING:  # config imports this module (TrainConfig)
    from systolic.pruning.config import PruneConfig
    from systolic.pruning.models import Spec

ExtraLoss = Callable[[nn.Module], torch.Tensor]
AfterBackward = Callable[[nn.Module], None]
StepHook = Callable[[int], None]


@dataclass(frozen=True)
class TrainConfig:
    """SGD with momentum and a cosine learning-rate schedule."""

    epochs: int = 30
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64
    #: Keep the weights of the epoch with the best validation accuracy (latest on ties).
    select_best: bool = False


@dataclass
class TrainLog:
    """Per-epoch mean training loss and validation accuracy, the epoch whose weights were
    kept (1-based), and the test accuracy of those weights."""

    losses: list[float]
    test_accuracy: float
    val_accuracy: list[float]
    kept_epoch: int


def iterate_batches(n: int, batch_size: int, gen: torch.Generator) -> Iterable[torch.Tensor]:
    """Shuffled index batches from the run's own generator (reproducible, no worker processes)."""
    order = torch.randperm(n, generator=gen)
    yield from order.split(batch_size)


def train(
    model: nn.Module,
    data: Digits,
    cfg: TrainConfig,
    gen: torch.Generator,
    *,
    desc: str = "train",
    progress: bool = True,
    params: Iterable[dict] | None = None,
    extra_loss: ExtraLoss | None = None,
    after_backward: AfterBackward | None = None,
    on_step: StepHook | None = None,
) -> TrainLog:
    """Train ``model`` in place and return its log. ``params`` overrides the optimiser's
    parameter groups (e.g. a higher learning rate for AutoPruner's own layer)."""
    from tqdm.auto import tqdm

    groups = list(params) if params is not None else [{"params": model.parameters()}]
    opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(data.y_train) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch)
    losses: list[float] = []
    val: list[float] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    step = 0
    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False, unit="ep")
    for _ in bar:
        model.train()
        total, count = 0.0, 0
        for idx in iterate_batches(len(data.y_train), cfg.batch_size, gen):
            if on_step is not None:
                on_step(step)
            logits = model(data.x_train[idx])
            loss = F.cross_entropy(logits, data.y_train[idx])
            if extra_loss is not None:
                loss = loss + extra_loss(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if after_backward is not None:
                after_backward(model)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            count += len(idx)
            step += 1
        losses.append(total / count)
        val.append(accuracy(model, data.x_val, data.y_val))
        if cfg.select_best and (best is None or val[-1] >= best[0]):
            best = (val[-1], len(val), copy.deepcopy(model.state_dict()))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", val=f"{val[-1]:.2f}")
    kept = len(val)
    if best is not None:
        model.load_state_dict(best[2])
        kept = best[1]
    return TrainLog(losses, accuracy(model, data.x_test, data.y_test), val, kept)


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits of ``model`` in eval mode (the mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(chunk) for chunk in x.split(batch_size)])
    model.train(was_training)
    return out


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent."""
    return 100.0 * float((predict(model, x).argmax(1) == y).float().mean())


def train_fresh(
    model_factory: Callable[[], nn.Module],
    data: Digits,
    cfg: TrainConfig,
    seed: int,
    **kwargs: Any,
) -> tuple[nn.Module, TrainLog]:
    """Build a model with a seeded initialisation and train it with a seeded data order."""
    torch.manual_seed(seed)
    model = model_factory()
    gen = torch.Generator().manual_seed(seed)
    return model, train(model, data, cfg, gen, **kwargs)


def sparsity_train(
    cfg: PruneConfig, spec: Spec, data: Digits, desc: str, **hooks: Any
) -> tuple[nn.Module, TrainLog]:
    """A method's sparsity stage: a fresh model of ``spec`` trained with the method's hook
    (``extra_loss`` / ``after_backward``), seeded by ``cfg.seed``."""
    from systolic.pruning.models import build_model

    return train_fresh(
        lambda: build_model(spec),
        data,
        cfg.sparsity_train,
        cfg.seed,
        desc=desc,
        progress=cfg.progress,
        **hooks,
    )


def finetune(
    cfg: PruneConfig, model: nn.Module, data: Digits, desc: str
) -> tuple[nn.Module, TrainLog]:
    """Every method's last stage: fine-tune a copy of the pruned model (seed + 1)."""
    tuned = copy.deepcopy(model)
    log = train(
        tuned,
        data,
        cfg.finetune,
        torch.Generator().manual_seed(cfg.seed + 1),
        desc=desc,
        progress=cfg.progress,
    )
    return tuned, log


class BaselineCache:
    """Dense baselines by (spec, training config, seed): a run of several methods trains each
    baseline once. Callers get a copy, so pruning one never touches another's baseline."""

    def __init__(self) -> None:
        self._store: dict[tuple, tuple[nn.Module, float, float]] = {}

    def get(
        self, spec: Spec, data: Digits, cfg: TrainConfig, seed: int, progress: bool = True
    ) -> tuple[nn.Module, float, float]:
        """(trained model copy, test accuracy, seconds the training took)."""
        from systolic.pruning.models import build_model

        key = (spec, cfg, seed)
        if key not in self._store:
            t0 = time.perf_counter()
            model, log = train_fresh(
                lambda: build_model(spec),
                data,
                cfg,
                seed,
                desc=f"dense {spec.kind}",
                progress=progress,
            )
            self._store[key] = (model, log.test_accuracy, time.perf_counter() - t0)
        model, acc, secs = self._store[key]
        return copy.deepcopy(model), acc, secs
