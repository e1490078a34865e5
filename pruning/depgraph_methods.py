"""The four pruning methods on any traced model: premise checks and channel scorers.

Each method is a premise (checked on the model itself: :func:`premise_refusal`, which the
registry's :meth:`~systolic.pruning.registry.MethodInfo.model_refusal` calls) and a score per
channel of each dependency group; :mod:`systolic.pruning.depgraph` selects and removes.

* ``slimming`` (Network Slimming): BN scale |gamma| (Torch-Pruning's ``BNScaleImportance``,
  mean over the group's BNs), after sparsity training (L1 subgradient on every gamma) when data
  is given; ``criterion="l1"``: the L1 norm of the group's weights (``MagnitudeImportance``).
* ``autopruner``: a gate per channel of every group, sigmoid(alpha * w), multiplied into the
  outputs of the group's BNs (of its convs without BN), trained jointly with the network under
  CE + lambda * (mean gate - keep rate)^2 while alpha rises; the channels with the lowest gates
  are removed. A simplification of :mod:`systolic.pruning.autopruner` (see docs/pruning.md).
* ``se``: the mean gate of every squeeze-excitation block over the calibration inputs; the
  gated channels with the lowest mean gate are removed (only the SE-gated groups are pruned).
* ``shuffle``: grouped-conv models, L1 magnitude; every grouped conv keeps the same channels in
  each of its groups (part-pruning on the dependency graph).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from systolic.models.params import ArrayParams
from systolic.pruning import registry
from systolic.pruning.data import Digits
from systolic.pruning.depgraph import (
    GroupInfo,
    PruneReport,
    Selection,
    build_graph,
    check_output,
    model_cost,
    prune_scored,
)
from systolic.pruning.errors import PruningError

#: Options :func:`run` reads besides amount, round_to and data.
OPTIONS = frozenset(
    {
        "target", "array", "scope", "min_channels", "criterion", "epochs", "finetune_epochs",
        "sparsity", "se_threshold", "keep_rate", "seed", "progress", "lr",
    }
)  # fmt: skip
CRITERIA = ("bn", "l1")


# --------------------------------------------------------------------------- premises


def _convs(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def has_bn(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def grouped_convs(model: nn.Module) -> list[nn.Conv2d]:
    """Convs with groups > 1 that are not depthwise."""
    return [m for m in _convs(model) if m.groups > 1 and m.groups != m.in_channels]


@dataclass(frozen=True)
class SEBlock:
    """One squeeze-excitation block: its excitation layer (whose output is gated) and gate."""

    fc2: str
    gate: Callable[[torch.Tensor], torch.Tensor]


_GATES: dict[Any, Callable[[torch.Tensor], torch.Tensor]] = {
    nn.Sigmoid: torch.sigmoid,
    nn.Hardsigmoid: F.hardsigmoid,
    torch.sigmoid: torch.sigmoid,
    F.sigmoid: torch.sigmoid,
    F.hardsigmoid: F.hardsigmoid,
    "sigmoid": torch.sigmoid,
}
_ACTS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.GELU, nn.Hardtanh)
_ACT_FNS = (F.relu, torch.relu, F.relu6, F.silu, F.hardswish, F.gelu)
_POOLS_FN = (F.adaptive_avg_pool2d, torch.mean, F.avg_pool2d)


def find_se_blocks(model: nn.Module) -> list[SEBlock]:
    """The squeeze-excitation blocks of ``model``: global pool -> fc/conv -> activation ->
    fc/conv -> sigmoid/hardsigmoid -> multiply, found in its torch.fx graph."""
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as exc:
        raise PruningError(
            f"torch.fx cannot trace the model to look for SE blocks: {type(exc).__name__}"
        ) from None
    mods = dict(gm.named_modules())

    def mod(n: Any) -> nn.Module | None:
        if isinstance(n, torch.fx.Node) and n.op == "call_module":
            return mods.get(str(n.target))
        return None

    def is_fc(n: Any) -> bool:
        return isinstance(mod(n), nn.Conv2d | nn.Linear)

    def is_act(n: Any) -> bool:
        m = mod(n)
        return isinstance(m, _ACTS) or (
            isinstance(n, torch.fx.Node) and n.op == "call_function" and n.target in _ACT_FNS
        )

    def is_pool(n: Any) -> bool:
        m = mod(n)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return m.output_size in (1, (1, 1))
        return isinstance(n, torch.fx.Node) and (
            (n.op == "call_function" and n.target in _POOLS_FN)
            or (n.op == "call_method" and n.target == "mean")
        )

    def gate_of(n: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
        if not isinstance(n, torch.fx.Node):
            return None
        m = mod(n)
        if m is not None:
            return _GATES.get(type(m))
        if n.op in ("call_function", "call_method"):
            return _GATES.get(n.target)
        return None

    def first_arg(n: Any) -> Any:
        return n.args[0] if isinstance(n, torch.fx.Node) and n.args else None

    def skip_reshape(n: Any) -> Any:
        while isinstance(n, torch.fx.Node) and (
            (n.op == "call_method" and n.target in ("view", "reshape", "flatten", "unsqueeze"))
            or (n.op == "call_function" and n.target in (torch.flatten, torch.reshape))
        ):
            n = first_arg(n)
        return n

    found = []
    for node in gm.graph.nodes:
        if not (
            (node.op in ("call_function", "call_method") and node.target in ("mul", "mul_"))
            or node.target in (torch.mul, __import__("operator").mul)
        ):
            continue
        for arg in node.args[:2]:
            gate = gate_of(skip_reshape(arg))
            if gate is None:
                continue
            fc2 = first_arg(skip_reshape(arg))
            act = first_arg(fc2)
            fc1 = first_arg(act)
            pool = skip_reshape(first_arg(fc1))
            if is_fc(fc2) and is_act(act) and is_fc(fc1) and is_pool(pool):
                found.append(SEBlock(str(fc2.target), gate))
                break
    return found


def premise_refusal(
    method: str, model: nn.Module, has_data: bool, options: dict[str, Any]
) -> str | None:
    """Why ``method`` does not apply to ``model`` (None: it applies), as one reason."""
    if not _convs(model):
        return "it prunes conv channels and the model has no Conv2d"
    if method == "slimming":
        criterion = options.get("criterion", "bn")
        if criterion not in CRITERIA:
            return f"unknown criterion {criterion!r} (choose bn or l1)"
        if criterion == "bn" and not has_bn(model):
            return (
                "its criterion is the BN scale |gamma| and the model has no BatchNorm; "
                "use the L1-magnitude criterion instead (--criterion l1)"
            )
    elif method == "autopruner":
        if not has_data:
            return "it learns channel importance from data: give a dataset (.npz with x and y)"
    elif method == "se":
        if not find_se_blocks(model):
            return (
                "it needs squeeze-excitation blocks (global pool -> fc -> activation -> fc -> "
                "sigmoid -> multiply) and the model has none"
            )
    elif method == "shuffle" and not grouped_convs(model):
        return "it needs grouped convs (groups > 1, not depthwise) and the model has none"
    return None


# --------------------------------------------------------------------------- scorers


def bn_scorer(group: GroupInfo) -> torch.Tensor | None:
    import torch_pruning as tp

    out: torch.Tensor | None = tp.importance.BNScaleImportance(normalizer=None)(group.group)
    return out


def l1_scorer(group: GroupInfo) -> torch.Tensor | None:
    import torch_pruning as tp

    out: torch.Tensor | None = tp.importance.MagnitudeImportance(p=1, normalizer="mean")(
        group.group
    )
    return out


# --------------------------------------------------------------------------- training


def _check_data(data: Any, example: torch.Tensor) -> Digits:
    if not isinstance(data, Digits):
        raise PruningError("data must be a Digits-like split (see systolic.pruning.userdata)")
    if tuple(data.x_train.shape[1:]) != tuple(example.shape[1:]):
        raise PruningError(
            f"the dataset's samples have shape {tuple(data.x_train.shape[1:])}, the model's "
            f"example input {tuple(example.shape[1:])}"
        )
    return data


def _train(
    model: nn.Module,
    data: Digits,
    epochs: int,
    lr: float,
    seed: int,
    progress: bool,
    desc: str,
    **hooks: Any,
) -> None:
    from systolic.pruning.train import TrainConfig, train

    if epochs > 0:
        cfg = TrainConfig(epochs=epochs, lr=lr, select_best=not hooks)
        train(
            model,
            data,
            cfg,
            torch.Generator().manual_seed(seed),
            desc=desc,
            progress=progress,
            **hooks,
        )


def _accuracy(model: nn.Module, data: Digits) -> float:
    from systolic.pruning.train import accuracy

    return accuracy(model, data.x_test, data.y_test)


def _sparsify_bn(model: nn.Module, lam: float) -> None:
    """Network Slimming's L1 subgradient on every BN scale."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            w = m.weight
            if isinstance(w, torch.Tensor) and w.grad is not None:
                w.grad.add_(lam * torch.sign(w.data))


def se_scorer(
    model: nn.Module, blocks: list[SEBlock], x: torch.Tensor
) -> Callable[[GroupInfo], torch.Tensor | None]:
    """Scores = mean SE gate per channel over ``x`` for the groups an SE block gates."""
    named = dict(model.named_modules())
    means: dict[str, torch.Tensor] = {}
    handles = []
    for b in blocks:

        def hook(m: nn.Module, i: Any, o: torch.Tensor, b: SEBlock = b) -> None:
            g = b.gate(o).reshape(o.shape[0], o.shape[1], -1).mean((0, 2))
            means[b.fc2] = means.get(b.fc2, 0) + g * o.shape[0]

        handles.append(named[b.fc2].register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for chunk in x.split(256):
                model(chunk)
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    means = {k: v / len(x) for k, v in means.items()}

    def score(group: GroupInfo) -> torch.Tensor | None:
        for name in group.members:
            if name in means and len(means[name]) == group.channels:
                return means[name]
        return None

    return score


class _Gates(nn.Module):
    """AutoPruner's gates: one vector per group, sigmoid(alpha * w), hooked into the outputs."""

    def __init__(self, groups: list[GroupInfo]) -> None:
        super().__init__()
        self.w = nn.ParameterList([nn.Parameter(torch.full((g.channels,), 1.0)) for g in groups])
        self.alpha = 1.0

    def gate(self, i: int) -> torch.Tensor:
        return torch.sigmoid(self.alpha * self.w[i])


def _gate_targets(model: nn.Module, group: GroupInfo) -> list[nn.Module]:
    named = dict(model.named_modules())
    mods = [named[n] for n in group.members if n in named]
    bns: list[nn.Module] = [m for m in mods if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return bns or [
        m
        for m in mods
        if isinstance(m, nn.Conv2d | nn.Linear)
        and not (isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1)
    ]


def autopruner_scorer(
    model: nn.Module,
    groups: list[GroupInfo],
    data: Digits,
    keep_rate: float,
    epochs: int,
    lr: float,
    seed: int,
    progress: bool,
) -> dict[str, torch.Tensor]:
    """Learn a gate per channel of every group with the network; returns the final gates."""
    gates = _Gates(groups)
    handles = []
    for i, g in enumerate(groups):
        for m in _gate_targets(model, g):

            def hook(mod: nn.Module, inp: Any, out: torch.Tensor, i: int = i) -> torch.Tensor:
                v = gates.gate(i)
                shape = (1, -1) + (1,) * (out.dim() - 2)
                return out * v.reshape(shape)

            handles.append(m.register_forward_hook(hook))
    steps = max(1, epochs * math.ceil(len(data.y_train) / 64))
    state = {"step": 0}

    def on_step(step: int) -> None:
        gates.alpha = 1.0 + 9.0 * min(1.0, step / steps)  # sharpen towards a binary code
        state["step"] = step

    def extra_loss(_: nn.Module) -> torch.Tensor:
        mean = torch.stack([gates.gate(i).mean() for i in range(len(groups))])
        return 10.0 * ((mean - keep_rate) ** 2).mean()

    params = [{"params": model.parameters()}, {"params": gates.parameters(), "lr": 10 * lr}]
    try:
        _train(
            model,
            data,
            epochs,
            lr,
            seed,
            progress,
            "autopruner",
            params=params,
            extra_loss=extra_loss,
            on_step=on_step,
        )
    finally:
        for h in handles:
            h.remove()
    return {g.root: gates.gate(i).detach() for i, g in enumerate(groups)}


# --------------------------------------------------------------------------- the entry


def run(
    model: nn.Module,
    example: torch.Tensor,
    method: str,
    amount: float,
    round_to: int,
    data: Any,
    options: dict[str, Any],
) -> tuple[nn.Module, PruneReport]:
    """:func:`systolic.pruning.depgraph.prune_module`'s body (checked arguments)."""
    unknown = set(options) - OPTIONS
    if unknown:
        raise PruningError(f"unknown option(s) {', '.join(sorted(unknown))}")
    info = registry.get(method)
    reason = info.model_refusal(model, data is not None, options)
    if reason is not None:
        raise PruningError(reason)
    # Every method below starts from a copy: the caller's model is never changed.
    import copy

    model = copy.deepcopy(model)
    if data is not None:
        data = _check_data(data, example)
    array = options.get("array", ArrayParams(16, 16))
    sel = Selection(
        amount=float(amount),
        target=options.get("target"),
        round_to=round_to,
        min_channels=int(options.get("min_channels", 1)),
        scope=options.get("scope", "local" if method == "autopruner" else "global"),
        array=array,
    )
    seed = int(options.get("seed", 0))
    progress = bool(options.get("progress", False))
    lr = float(options.get("lr", 0.01))
    epochs = int(options.get("epochs", 10))
    ft_epochs = int(options.get("finetune_epochs", 10))
    notes: list[str] = []
    acc: dict[str, float] = {}
    criterion = method
    before = model_cost(model, example, array)
    if data is not None:
        acc["given"] = _accuracy(model, data)
    only: Callable[[GroupInfo], bool] | None = None
    scorer: Callable[[GroupInfo], torch.Tensor | None]
    if method == "slimming":
        criterion = options.get("criterion", "bn")
        if data is not None and criterion == "bn" and epochs > 0:
            lam = float(options.get("sparsity", 1e-4))
            torch.manual_seed(seed)
            _train(
                model,
                data,
                epochs,
                lr,
                seed,
                progress,
                "sparsity",
                after_backward=lambda m: _sparsify_bn(m, lam),
            )
            acc["sparsity-trained"] = _accuracy(model, data)
            notes.append(f"sparsity training: {epochs} epochs, lambda {lam}")
        elif criterion == "bn":
            notes.append("no data: pruned by the model's own BN scales (no sparsity training)")
        scorer = bn_scorer if criterion == "bn" else l1_scorer
    elif method == "se":
        blocks = find_se_blocks(model)
        x = data.x_train if data is not None else example
        scorer = se_scorer(model, blocks, x)
        notes.append(f"{len(blocks)} SE blocks; mean gates over {len(x)} calibration inputs")
        tau = options.get("se_threshold")
        if tau is not None:
            sel = _threshold_selection(model, example, scorer, float(tau), sel)
            notes.append(f"gate threshold {tau}: amount {sel.amount:.3f} of the gated channels")
        criterion = "mean SE gate"
    elif method == "shuffle":
        scorer = l1_scorer
        criterion = "l1 (grouped convs keep equal groups)"
        only = None
    elif method == "autopruner":
        from systolic.pruning.depgraph import prunable_groups

        groups = prunable_groups(model, example, build_graph(model, example))
        keep_rate = float(options.get("keep_rate", 1.0 - float(amount)))
        gates = autopruner_scorer(model, groups, data, keep_rate, epochs, lr, seed, progress)
        acc["gate-trained"] = _accuracy(model, data)
        notes.append(f"gates trained {epochs} epochs towards keep rate {keep_rate}")
        scorer = lambda g: gates.get(g.root)  # noqa: E731 - a lookup
        criterion = "learned gates"
    else:  # the registry lists no other method
        raise PruningError(f"method {method!r} has no dependency-graph implementation")
    pruned, used, summary, history = prune_scored(model, example, scorer, sel, only=only)
    check_output(model, pruned, example)
    if data is not None:
        acc["pruned"] = _accuracy(pruned, data)
        if ft_epochs > 0:
            _train(pruned, data, ft_epochs, lr, seed + 1, progress, "finetune")
            acc["fine-tuned"] = _accuracy(pruned, data)
    report = PruneReport(
        method=method,
        criterion=criterion,
        amount=used,
        round_to=round_to,
        array=(array.rows, array.cols),
        before=before,
        after=model_cost(pruned, example, array),
        groups=summary,
        notes=notes,
        accuracy=acc,
        history=history,
    )
    return pruned, report


def _threshold_selection(
    model: nn.Module,
    example: torch.Tensor,
    scorer: Callable[[GroupInfo], torch.Tensor | None],
    tau: float,
    sel: Selection,
) -> Selection:
    """The amount that removes the gated channels whose mean gate is below ``tau``."""
    from dataclasses import replace

    from systolic.pruning.depgraph import prunable_groups

    scores = [
        s
        for g in prunable_groups(model, example, build_graph(model, example))
        if (s := scorer(g)) is not None
    ]
    total = sum(len(s) for s in scores)
    below = sum(int((s < tau).sum()) for s in scores)
    return replace(sel, amount=min(0.99, below / max(1, total)), target=None)
