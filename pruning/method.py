"""The contract of a pruning method: the steps that differ between methods, in the spirit of
Torch-Pruning's ``MetaPruner``, whose subclasses (``BNScalePruner``, ``GroupNormPruner``) override
``regularize``.

:func:`systolic.pruning.pipeline.run_method` runs what every method shares (seeding, the dense
baseline, timing, evaluation, fine-tuning, the result) and calls a :class:`PruningMethod` for
the rest, in this order:

1. :meth:`~PruningMethod.check`: refuse bad settings before any training;
2. :meth:`~PruningMethod.regularize`: the network to prune and its accuracy (by default a fresh
   network sparsity-trained with the method's :meth:`~PruningMethod.penalty`);
3. :meth:`~PruningMethod.select`: which channels or parts to keep (a method-specific object);
4. :meth:`~PruningMethod.remove`: the structural surgery, a physically smaller network;
5. :meth:`~PruningMethod.describe`: the method's own report fields, plot data and notes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from torch import nn

from systolic.pruning.config import PruneConfig
from systolic.pruning.data import Digits
from systolic.pruning.models import Spec
from systolic.pruning.surgery import KeptMap
from systolic.pruning.train import AfterBackward, ExtraLoss, sparsity_train


@dataclass(frozen=True)
class RunContext:
    """What every step may read: the settings, the data, the architecture, the dense baseline."""

    cfg: PruneConfig
    data: Digits
    spec: Spec
    #: The trained dense baseline; the report saves it as is, so copy it before changing it.
    dense: nn.Module


@dataclass(frozen=True)
class Penalty:
    """A sparsity regularizer as the two hooks of :func:`systolic.pruning.train.train`."""

    extra_loss: ExtraLoss | None = None
    after_backward: AfterBackward | None = None


@dataclass
class Trained:
    """What :meth:`PruningMethod.regularize` leaves: the network to prune and its test accuracy
    (the report's ``sparsity_trained`` stage)."""

    model: nn.Module
    accuracy: float


@dataclass
class Pruned:
    """The physically pruned network and, per stage, the original channels it keeps."""

    model: nn.Module
    kept: KeptMap


@dataclass
class Description:
    """A method's own report content: what the histogram shows (label, values per layer,
    threshold, log scale), method-specific details, and notes (e.g. what a guard did)."""

    distribution: dict[str, Any]
    details: dict[str, Any]
    notes: list[str] = field(default_factory=list)


#: The method-specific selection that :meth:`PruningMethod.select` hands to ``remove``.
S = TypeVar("S")


class PruningMethod(ABC, Generic[S]):
    """One pruning method: only what is specific to it (see the module docstring)."""

    #: The name of the registry entry it implements (:mod:`systolic.pruning.registry`, which
    #: checks that the two agree): ``--method``, the report folder, ``MethodResult.method``.
    name: ClassVar[str]
    #: Progress-bar label of the sparsity training.
    regularizer: ClassVar[str] = "sparsity"
    #: Key of :meth:`regularize`'s wall time in the report.
    regularize_phase: ClassVar[str] = "sparsity_training"
    #: Key of the wall time of select + remove + evaluation; None: not reported separately.
    prune_phase: ClassVar[str | None] = "prune"

    def check(self, cfg: PruneConfig) -> None:
        """Refuse settings the method cannot use, before any training (default: nothing)."""

    def penalty(self, cfg: PruneConfig) -> Penalty:
        """The sparsity regularizer of the default :meth:`regularize` (default: none)."""
        return Penalty()

    def regularize(self, ctx: RunContext) -> Trained:
        """Sparsity training: a fresh network of ``ctx.spec`` (seeded like the baseline) trained
        with :meth:`penalty`'s hooks."""
        hooks = self.penalty(ctx.cfg)
        model, log = sparsity_train(
            ctx.cfg,
            ctx.spec,
            ctx.data,
            f"{self.name}: {self.regularizer}",
            extra_loss=hooks.extra_loss,
            after_backward=hooks.after_backward,
        )
        return Trained(model, log.test_accuracy)

    @abstractmethod
    def select(self, ctx: RunContext, trained: Trained) -> S:
        """Which channels (or weight parts) of ``trained.model`` to keep."""

    @abstractmethod
    def remove(self, ctx: RunContext, trained: Trained, selection: S) -> Pruned:
        """The structural surgery: a new, physically smaller network keeping ``selection``."""

    @abstractmethod
    def describe(
        self, ctx: RunContext, trained: Trained, selection: S, pruned: Pruned
    ) -> Description:
        """The method's own report content (runs before fine-tuning, on the pruned network)."""
