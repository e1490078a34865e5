"""The pruning methods: the one list every other place derives from.

The command line's choices and option groups (``systolic prune``, ``systolic e2e --methods``),
the pipeline's implementations, the reports' targets, the benchmarks, ``make bench-prune`` and
the table in docs/pruning.md all read :data:`REGISTRY`; a method is added by adding one
:class:`MethodInfo` here (and its implementation).

This module imports no torch (the command line builds its parser from it, and ``systolic
--help`` must stay fast); the implementation is imported by :meth:`MethodInfo.load` on use.

    python -m systolic.pruning.registry              # the method names (make bench-prune)
    python -m systolic.pruning.registry --markdown   # the table of docs/pruning.md
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from systolic.pruning.errors import PruningError
from systolic.report import md_table

if TYPE_CHECKING:
    from systolic.pruning.method import PruningMethod


@dataclass(frozen=True)
class MethodInfo:
    """One pruning method, as everything outside its implementation sees it.

    name: ``--method`` value, report folder, ``MethodResult.method``; title: its name in help
    and docs; families: the model families it applies to (the first is its default); premise:
    what it needs of a model, the reason given when it refuses one (:meth:`refusal`);
    implementation: ``module:Class`` of its :class:`~systolic.pruning.method.PruningMethod`;
    options: the ``systolic prune`` options it reads (its option group); removes: what the
    pruned network has fewer of (``channels``, or ``weights`` for part-pruning, which keeps the
    channel counts); targets: the benchmark targets apply to it (docs/pruning.md, docs/lowering.md).
    """

    name: str
    title: str
    families: tuple[str, ...]
    premise: str
    implementation: str
    options: tuple[str, ...]
    removes: Literal["channels", "weights"] = "channels"
    targets: bool = False

    @property
    def default_family(self) -> str:
        return self.families[0]

    def refusal(self, family: str) -> str | None:
        """Why the method does not apply to a ``family`` model (None: it applies), in one line.

        The method's one premise check: every refusal (the command line, ``method_spec``) goes
        through here, so a check of the model itself can take the family's place."""
        if family in self.families:
            return None
        return (
            f"method {self.name!r} does not apply to the {family!r} model: {self.premise} "
            f"(use --model {' or '.join(self.families)})"
        )

    def model_refusal(self, model: Any, has_data: bool, options: dict[str, Any]) -> str | None:
        """Why the method does not apply to a user's model (any ``nn.Module``, pruned through
        the dependency graph), in one line; None: it applies. The check looks at the model
        itself (its BNs, SE blocks, grouped convs) and whether data was given."""
        from systolic.pruning.depgraph_methods import premise_refusal

        reason = premise_refusal(self.name, model, has_data, options)
        if reason is None:
            return None
        return f"method {self.name!r} ({self.title}) does not apply to this model: {reason}"

    def load(self) -> PruningMethod[Any]:
        """A fresh instance of the implementation (imports torch)."""
        module, cls = self.implementation.split(":")
        impl: PruningMethod[Any] = getattr(importlib.import_module(module), cls)()
        if impl.name != self.name:
            raise PruningError(f"{self.implementation} is named {impl.name!r}, not {self.name!r}")
        return impl


_CONV_BN = "it needs conv-BN stages whose channels can be removed"

#: Every method, in the order of ``--method all``, the reports and the docs.
REGISTRY: tuple[MethodInfo, ...] = (
    MethodInfo(
        name="slimming",
        title="Network Slimming",
        families=("plain", "se"),
        premise=_CONV_BN,
        implementation="systolic.pruning.slimming:NetworkSlimming",
        options=("--ratio", "--sparsity", "--min-channels", "--round-to"),
        targets=True,
    ),
    MethodInfo(
        name="autopruner",
        title="AutoPruner",
        families=("plain", "se"),
        premise=_CONV_BN,
        implementation="systolic.pruning.autopruner:AutoPruner",
        options=("--keep-rate", "--min-channels"),
        targets=True,
    ),
    MethodInfo(
        name="se",
        title="SE static pruning",
        families=("se",),
        premise="it needs an SE block after every conv stage",
        implementation="systolic.pruning.se_prune:SEPruning",
        options=("--se-threshold", "--se-sparsity", "--min-channels"),
    ),
    MethodInfo(
        name="shuffle",
        title="ShuffleNet part-pruning",
        families=("shuffle",),
        premise="it part-prunes the 1x1 convs of ShuffleNet units",
        implementation="systolic.pruning.shuffle:ShufflePartPruning",
        options=("--groups", "--block-sparsity"),
        removes="weights",
    ),
)

NAMES: tuple[str, ...] = tuple(m.name for m in REGISTRY)
#: The model families of all methods, each once, in order of first use.
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(f for m in REGISTRY for f in m.families))
#: The methods the benchmark targets apply to.
TARGET_METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY if m.targets)


def get(name: str) -> MethodInfo:
    """The method called ``name``; an unknown name is a :class:`PruningError`."""
    for m in REGISTRY:
        if m.name == name:
            return m
    raise PruningError(f"unknown method {name!r}; choose from {', '.join(NAMES)}")


def users(option: str) -> tuple[str, ...]:
    """The methods that read ``option`` (a ``systolic prune`` flag)."""
    return tuple(m.name for m in REGISTRY if option in m.options)


def markdown_table() -> str:
    """The methods as the Markdown table of docs/pruning.md."""
    rows = [
        (
            f"`{m.name}`",
            m.title,
            ", ".join(f"`{f}`" for f in m.families),
            m.premise,
            m.removes,
            " ".join(f"`{o}`" for o in m.options),
            "yes" if m.targets else "-",
        )
        for m in REGISTRY
    ]
    header = ("`--method`", "method", "models (default first)", "premise", "removes", "options")
    return "\n".join(md_table((*header, "targets"), rows)) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--markdown"]):
        print("usage: python -m systolic.pruning.registry [--markdown]", file=sys.stderr)
        return 2
    print(markdown_table() if args else " ".join(NAMES), end="" if args else "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
