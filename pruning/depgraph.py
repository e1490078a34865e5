"""Channel pruning of any traceable ``nn.Module`` through Torch-Pruning's ``DependencyGraph``.

The dependency graph (Fang et al., "DepGraph", CVPR 2023; ``torch_pruning`` 1.6.1) groups every
layer whose channels are coupled to a conv's output channels: the BN after it, the next layers'
inputs, both sides of a residual add, the slice of a concat, a depthwise conv (whose input and
output channels are one), an SE block's gate. Pruning a group removes the same channels from all
of them, so the pruned model still runs and its output shape is unchanged.

A method here is a *scorer* (a score per channel of a group,
:mod:`systolic.pruning.depgraph_methods`) plus the one selection rule of this module
(:func:`select`): a fraction ``amount`` of the
channels, ranked globally or per group, each group's kept count rounded *up* to a multiple of
``round_to`` (the array's rows/cols, so that pruning removes whole folds and cuts cycles, not only
MACs). A grouped (not depthwise) conv in a group keeps the same channels in each of its groups.
``target`` asks instead for the smallest amount whose model cycles on the array are at least
``target`` times fewer (a bisection over ``amount``).

Cycles are the project's cycle model (``models.tiling.gemm_cycles``) of every conv/linear GEMM
(``models.im2col``'s shape rule, as in :mod:`systolic.pruning.lowering`), measured with a forward
pass on the example input.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from systolic.errors import SystolicError, one_line
from systolic.models.params import ArrayParams
from systolic.models.tiling import gemm_cycles
from systolic.pruning.errors import PruningError
from systolic.pruning.lowering import LayerGemm, hooked_forward, layer_gemms

Scope = Literal["global", "local"]
#: A score per channel of one group (higher: more important), length = the group's channels.
Scorer = Callable[["GroupInfo"], "torch.Tensor | None"]


@dataclass
class GroupInfo:
    """One prunable dependency group: its root layer, channels, channel groups and members."""

    root: str
    module: nn.Module
    channels: int
    #: Channel groups of the grouped convs in it (1: none); pruning keeps them equal in size.
    ch_groups: int
    #: Names of the layers whose output channels the group removes.
    members: tuple[str, ...]
    group: Any = field(repr=False)


@dataclass(frozen=True)
class Cost:
    """What a model costs on the array for one example input: cycles, MACs, parameters."""

    cycles: int
    macs: int
    params: int
    layers: tuple[tuple[str, str, int, int, int, int, int], ...]  # name, kind, M, K, N, g, cycles


@dataclass
class PruneReport:
    """What :func:`prune_module` did: the method, settings, groups and the cost before/after."""

    method: str
    criterion: str
    amount: float
    round_to: int
    array: tuple[int, int]
    before: Cost
    after: Cost
    #: Per group: root layer, channels before, channels after.
    groups: list[tuple[str, int, int]]
    notes: list[str] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)
    #: Torch-Pruning's pruning history (root layer, output-channel pruning?, indices), which
    #: replays the pruning on a fresh instance of the same model (:func:`replay`).
    history: list[tuple[str, bool, list[int]]] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.before.cycles / max(1, self.after.cycles)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["speedup"] = self.speedup
        return d

    def summary(self) -> str:
        """A few lines: the method and the cycles, MACs and parameters before and after."""
        b, a = self.before, self.after
        lines = [
            f"{self.method} ({self.criterion}), amount {self.amount:.3f}, round_to {self.round_to},"
            f" array {self.array[0]}x{self.array[1]}",
            f"cycles {b.cycles:,} -> {a.cycles:,} ({self.speedup:.2f}x fewer)",
            f"MACs {b.macs:,} -> {a.macs:,}; parameters {b.params:,} -> {a.params:,}",
            *self.notes,
        ]
        lines += [f"accuracy {k}: {v:.2f} %" for k, v in self.accuracy.items()]
        return "\n".join(lines)


def model_cost(model: nn.Module, example: torch.Tensor, array: ArrayParams) -> Cost:
    """Cycles (the project's cycle model, every GEMM of every conv/linear), MACs and parameters
    of ``model`` for ``example`` on ``array``."""
    rows = []
    for lg in layer_gemms(model, example):
        cyc = lg.count * gemm_cycles(lg.M, lg.K, lg.N, array)
        rows.append((lg.layer, lg.kind, lg.M, lg.K, lg.N, lg.count, cyc))
    macs = sum(LayerGemm(r[0], r[1], r[2], r[3], r[4], r[5]).macs for r in rows)
    params = sum(p.numel() for p in model.parameters())
    return Cost(sum(r[6] for r in rows), macs, params, tuple(rows))


def _torch_pruning() -> Any:
    import torch_pruning as tp

    return tp


def build_graph(model: nn.Module, example: torch.Tensor) -> Any:
    """Torch-Pruning's dependency graph of ``model`` traced on ``example``; a model it cannot
    trace is one :class:`PruningError` line (e.g. shufflenet_v2's channel shuffle, on which
    torch-pruning 1.6.1's ``update_reshape_index_mapping`` divides by zero)."""
    tp = _torch_pruning()
    was_training = model.training
    model.eval()
    try:
        return tp.DependencyGraph().build_dependency(model, example_inputs=example, verbose=False)
    except ZeroDivisionError as exc:
        raise PruningError(
            "torch-pruning's DependencyGraph cannot follow this model's reshapes (a channel "
            f"shuffle or a view that splits channels: ZeroDivisionError {one_line(exc)})"
        ) from None
    except (RuntimeError, TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        raise PruningError(
            f"torch-pruning's DependencyGraph cannot trace this model: {type(exc).__name__}: "
            f"{one_line(exc)}"
        ) from None
    finally:
        model.train(was_training)


def output_layers(model: nn.Module, example: torch.Tensor) -> list[nn.Module]:
    """The last conv/linear executed on ``example``: its output channels are the model's
    output, which pruning must not change."""
    order: list[nn.Module] = []
    handles = [
        m.register_forward_hook(lambda mod, i, o: order.append(mod))
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    hooked_forward(model, example, handles)
    return order[-1:]


def shuffled_layers(model: nn.Module, example: torch.Tensor) -> set[str] | None:
    """Names of the layers whose output channels pass through a reshape that splits the
    channel dimension (a channel shuffle, view/transpose/view); None if torch.fx cannot trace
    the model. Torch-Pruning maps channel indices through such a view as if it kept channel
    order, which is wrong after the transpose, so these layers' groups are not pruned."""
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        gm = torch.fx.symbolic_trace(model)
        ShapeProp(gm).propagate(example)
    except Exception:
        return None
    mods = dict(gm.named_modules())
    found: set[str] = set()
    for node in gm.graph.nodes:
        is_view = (node.op == "call_method" and node.target in ("view", "reshape")) or (
            node.op == "call_function" and node.target is torch.reshape
        )
        src = node.args[0] if node.args else None
        if not is_view or not isinstance(src, torch.fx.Node):
            continue
        shp_in = getattr(src.meta.get("tensor_meta"), "shape", None)
        shp_out = getattr(node.meta.get("tensor_meta"), "shape", None)
        if shp_in is None or shp_out is None or len(shp_in) < 2 or len(shp_out) <= len(shp_in):
            continue
        if shp_out[1] == shp_in[1]:
            continue  # the channel dimension is kept whole
        stack, seen = [src], set()
        while stack:  # every layer upstream up to (and including) the nearest conv/linear
            n = stack.pop()
            if not isinstance(n, torch.fx.Node) or n in seen:
                continue
            seen.add(n)
            m = mods.get(str(n.target)) if n.op == "call_module" else None
            if m is not None:
                found.add(str(n.target))
                if isinstance(m, nn.Conv2d | nn.Linear):
                    continue
            stack.extend(a for a in n.args if isinstance(a, torch.fx.Node))
    return found


def _is_grouped(m: nn.Module) -> bool:
    """A conv with groups > 1 that is not depthwise (whose in, out and groups are one count)."""
    return isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups != m.in_channels


def prunable_groups(model: nn.Module, example: torch.Tensor, dg: Any) -> list[GroupInfo]:
    """Every dependency group rooted at a conv/linear, except the one of the output layer."""
    names = {m: n for n, m in model.named_modules()}
    ignored = output_layers(model, example)
    shuffled = shuffled_layers(model, example) or set()
    found = []
    for group in dg.get_all_groups(
        ignored_layers=ignored, root_module_types=[nn.Conv2d, nn.Linear]
    ):
        root = group[0].dep.target.module
        members = []
        ch_groups = 1
        for dep, _ in group:
            mod = dep.target.module
            if _is_grouped(mod):
                ch_groups = math.lcm(ch_groups, mod.groups)
            if mod in names and dg.is_out_channel_pruning_fn(dep.handler):
                members.append(names[mod])
        channels = len(group[0].idxs)
        if channels < 2 or channels % ch_groups or shuffled.intersection(members):
            continue
        found.append(GroupInfo(names[root], root, channels, ch_groups, tuple(members), group))
    return found


def kept_count(kept: int, channels: int, ch_groups: int, round_to: int, min_channels: int) -> int:
    """A group's kept channel count: at least ``min_channels``, rounded up to a multiple of
    ``round_to`` (and of its channel groups), never more than it has."""
    step = math.lcm(max(1, round_to), ch_groups)
    kept = max(kept, min_channels, 1)
    kept = -(-kept // step) * step
    return min(kept, channels)


def _folded(scores: torch.Tensor, ch_groups: int) -> torch.Tensor:
    """Scores of a group with channel groups, one per position inside a group (their mean)."""
    return scores.reshape(ch_groups, -1).mean(0) if ch_groups > 1 else scores


def select(
    groups: Sequence[GroupInfo],
    scores: Sequence[torch.Tensor],
    amount: float,
    round_to: int = 1,
    min_channels: int = 1,
    scope: Scope = "global",
) -> list[list[int]]:
    """The channels to remove from each group.

    ``amount`` of all channels (``global``: ranked together, lowest score first, ties broken by
    the channel's relative place in its group so that equal scores prune every group alike) or
    of each group's (``local``). Each group's kept count then goes through :func:`kept_count`;
    the kept channels are the group's best. A grouped conv in a group keeps the same positions
    in each of its channel groups."""
    if not 0.0 <= amount < 1.0:
        raise PruningError(f"the amount to prune must be in [0, 1), got {amount}")
    folded = [_folded(s.detach().float(), g.ch_groups) for s, g in zip(scores, groups, strict=True)]
    if scope == "global":
        keys = [
            (float(v), i / len(f), gi, i)
            for gi, f in enumerate(folded)
            for i, v in enumerate(f.tolist())
        ]
        keys.sort()
        total = sum(len(f) * g.ch_groups for f, g in zip(folded, groups, strict=True))
        budget = int(total * amount)
        cut = [0] * len(groups)
        for _, _, gi, _ in keys:
            if budget < groups[gi].ch_groups:
                break
            budget -= groups[gi].ch_groups
            cut[gi] += 1
        wanted = [len(f) - c for f, c in zip(folded, cut, strict=True)]
    elif scope == "local":
        wanted = [len(f) - int(len(f) * amount) for f in folded]
    else:
        raise PruningError(f"unknown scope {scope!r} (global or local)")
    plan = []
    for f, g, want in zip(folded, groups, wanted, strict=True):
        keep = kept_count(want * g.ch_groups, g.channels, g.ch_groups, round_to, min_channels)
        keep_pos = keep // g.ch_groups
        order = torch.argsort(f, descending=True, stable=True)
        drop = sorted(int(i) for i in order[keep_pos:])
        per = len(f)
        plan.append([j * per + i for j in range(g.ch_groups) for i in drop])
    return plan


def apply(groups: Sequence[GroupInfo], plan: Sequence[Sequence[int]]) -> None:
    """Remove the planned channels of every group (through the dependency graph)."""
    for g, idxs in zip(groups, plan, strict=True):
        if idxs:
            # record_history=False: the group prunes through a new group of these indices, which
            # records them; this full-index group would record every channel again.
            g.group.prune(list(idxs), record_history=False)


def replay(model: nn.Module, example: torch.Tensor, history: list[Any]) -> nn.Module:
    """Apply a :attr:`PruneReport.history` to a fresh instance of the same model (in place)."""
    dg = build_graph(model, example)
    try:
        dg.load_pruning_history([(str(n), bool(o), [int(i) for i in idx]) for n, o, idx in history])
    except (AttributeError, IndexError, ValueError, TypeError, RuntimeError) as exc:
        raise PruningError(
            f"the pruning history does not fit this model: {one_line(exc)}"
        ) from None
    return model


def _prune_copy(
    model: nn.Module,
    example: torch.Tensor,
    scores: Sequence[torch.Tensor],
    amount: float,
    round_to: int,
    min_channels: int,
    scope: Scope,
    only: set[str],
) -> tuple[nn.Module, list[tuple[str, int, int]], list[Any]]:
    """A pruned deep copy of ``model`` (the scores were computed on ``model``'s groups named
    in ``only``)."""
    pruned = copy.deepcopy(model)
    dg = build_graph(pruned, example)
    groups = [g for g in prunable_groups(pruned, example, dg) if g.root in only]
    if len(groups) != len(scores):
        raise PruningError("the dependency groups of a copy differ from the model's")
    plan = select(groups, scores, amount, round_to, min_channels, scope)
    apply(groups, plan)
    summary = [(g.root, g.channels, g.channels - len(p)) for g, p in zip(groups, plan, strict=True)]
    return pruned, summary, [list(h) for h in dg.pruning_history()]


def check_output(model: nn.Module, pruned: nn.Module, example: torch.Tensor) -> None:
    """The pruned model runs on ``example`` and gives the dense model's output shape."""
    with torch.no_grad():
        model.eval()
        pruned.eval()
        want = model(example).shape
        try:
            got = pruned(example).shape
        except (RuntimeError, ValueError) as exc:
            raise PruningError(f"the pruned model does not run: {one_line(exc)}") from None
    if got != want:
        raise PruningError(f"pruning changed the output shape from {tuple(want)} to {tuple(got)}")


@dataclass(frozen=True)
class Selection:
    """How much to prune: a fixed ``amount``, or the least amount reaching ``target`` cycles."""

    amount: float = 0.5
    target: float | None = None
    round_to: int = 1
    min_channels: int = 1
    scope: Scope = "global"
    array: ArrayParams = field(default_factory=lambda: ArrayParams(16, 16))


def prune_scored(
    model: nn.Module,
    example: torch.Tensor,
    scorer: Scorer,
    sel: Selection,
    *,
    only: Callable[[GroupInfo], bool] | None = None,
) -> tuple[nn.Module, float, list[tuple[str, int, int]], list[Any]]:
    """Score the groups of ``model`` and prune a copy by ``sel``.

    Returns the pruned model, the amount used, the per-group summary and the pruning history.
    ``only`` limits pruning to some groups (e.g. the SE-gated ones)."""
    dg = build_graph(model, example)
    groups, scores = [], []
    for g in prunable_groups(model, example, dg):
        s = scorer(g) if only is None or only(g) else None
        if s is not None:  # a group the criterion cannot score (e.g. no BN in it) is kept
            groups.append(g)
            scores.append(s)
    if not groups:
        raise PruningError("the model has no channel group that this criterion can prune")
    chosen = {g.root for g in groups}

    def attempt(amount: float) -> tuple[nn.Module, list[tuple[str, int, int]], list[Any]]:
        args = (scores, amount, sel.round_to, sel.min_channels, sel.scope, chosen)
        return _prune_copy(model, example, *args)

    if sel.target is None:
        pruned, summary, history = attempt(sel.amount)
        return pruned, sel.amount, summary, history
    if sel.target < 1.0:
        raise PruningError(f"the cycle target must be at least 1.0 (x fewer), got {sel.target}")
    dense = model_cost(model, example, sel.array).cycles
    lo, hi = 0.0, 0.95
    best = attempt(hi)
    if dense / max(1, model_cost(best[0], example, sel.array).cycles) < sel.target:
        raise PruningError(f"no amount up to {hi} reaches {sel.target}x fewer cycles on this model")
    best_amount = hi
    for _ in range(8):  # to 0.004 of amount: finer steps move a few channels, not folds
        mid = (lo + hi) / 2
        cand = attempt(mid)
        if dense / max(1, model_cost(cand[0], example, sel.array).cycles) >= sel.target:
            hi, best, best_amount = mid, cand, mid
        else:
            lo = mid
    return best[0], best_amount, best[1], best[2]


def prune_module(
    model: nn.Module,
    example: torch.Tensor,
    method: str = "slimming",
    amount: float = 0.5,
    round_to: int = 1,
    data: Any = None,
    **options: Any,
) -> tuple[nn.Module, PruneReport]:
    """Prune any traceable ``model`` (given an ``example`` input batch) with ``method``.

    ``method``: ``slimming`` (``criterion="bn"`` or ``"l1"``), ``autopruner``, ``se`` or
    ``shuffle``; ``amount``: the fraction of channels to remove; ``round_to``: kept channel
    counts are multiples of it; ``data``: a :class:`~systolic.pruning.data.Digits`-like split
    (``load_npz`` reads one) for the methods that train. Further ``options``: ``target``
    (x fewer cycles; overrides ``amount``), ``array`` (ArrayParams, 16x16), ``scope``,
    ``min_channels``, ``criterion``, ``epochs``, ``finetune_epochs``, ``sparsity``,
    ``se_threshold``, ``seed``, ``progress``. Returns the pruned model (a copy) and its report.
    A method whose premise does not hold for the model is one :class:`PruningError` line."""
    from systolic.pruning import depgraph_methods

    if not isinstance(model, nn.Module):
        raise PruningError(f"expected an nn.Module, got {type(model).__name__}")
    if not isinstance(example, torch.Tensor):
        raise PruningError(f"expected an example input tensor, got {type(example).__name__}")
    if isinstance(round_to, bool) or not isinstance(round_to, int) or round_to < 1:
        raise PruningError(f"round_to must be a positive integer, got {round_to!r}")
    try:
        return depgraph_methods.run(model, example, method, amount, round_to, data, options)
    except PruningError:
        raise
    except SystolicError as exc:
        raise PruningError(one_line(exc)) from None
