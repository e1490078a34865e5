"""The CNNs that the pruning methods work on, each fully described by a JSON-able spec.

Two families:

* :class:`DigitsCNN` (spec :class:`CNNSpec`): stages of conv3x3-BN-ReLU, optionally followed by a
  Squeeze-and-Excitation block and a 2x2 max-pool, then flatten and one linear classifier. The
  ``plain`` variant has no SE blocks, the ``se`` variant one per stage. Channel pruning changes
  only the stage widths in the spec, so a pruned model is rebuilt from its spec alone.
* :class:`ShuffleDigitsNet` (spec :class:`ShuffleSpec`): a ShuffleNet-v1-style network (stem
  conv, units of grouped 1x1 conv - channel shuffle - depthwise 3x3 - grouped 1x1 conv with a
  residual add), global average pooling and a linear classifier. ``groups=1`` gives the dense
  network that ShuffleNet's grouped convs are a part-pruning of.

Module names are stable (``stages.{i}.conv``, ``stages.{i}.bn``, ``stages.{i}.se.fc1``, ``head``,
...), so a ``state_dict`` together with the spec is a complete, code-free description.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from systolic.pruning.errors import PruningError


@dataclass(frozen=True)
class StageSpec:
    """One conv stage: its output channels, whether a 2x2 max-pool follows, and the hidden width
    of its SE block (``None``: no SE block)."""

    out_channels: int
    pool: bool = False
    se_hidden: int | None = None


@dataclass(frozen=True)
class CNNSpec:
    """A :class:`DigitsCNN`: input geometry, stages, classes."""

    stages: tuple[StageSpec, ...]
    in_channels: int = 1
    image_size: int = 8
    num_classes: int = 10
    kind: str = field(default="cnn", init=False)

    @property
    def has_se(self) -> bool:
        return any(s.se_hidden is not None for s in self.stages)

    @property
    def widths(self) -> list[int]:
        return [s.out_channels for s in self.stages]

    def with_widths(self, widths: list[int]) -> CNNSpec:
        """The same network with other stage widths (what channel pruning produces)."""
        stages = tuple(
            StageSpec(w, s.pool, s.se_hidden) for w, s in zip(widths, self.stages, strict=True)
        )
        return CNNSpec(stages, self.in_channels, self.image_size, self.num_classes)

    def final_size(self) -> int:
        """Spatial size of the feature map that is flattened into the classifier."""
        return self.image_size // 2 ** sum(s.pool for s in self.stages)


@dataclass(frozen=True)
class ShuffleSpec:
    """A :class:`ShuffleDigitsNet`. ``groups`` is the group count of the 1x1 convs (1 = dense);
    ``shuffle_groups`` fixes the channel-shuffle permutation, kept even in the dense network so
    that its part-pruning to ``groups == shuffle_groups`` yields exactly the ShuffleNet wiring."""

    channels: int = 48
    bottleneck: int = 48
    units: tuple[bool, ...] = (False, True)  # per unit: 2x2 max-pool before it
    groups: int = 3
    shuffle_groups: int = 3
    in_channels: int = 1
    image_size: int = 8
    num_classes: int = 10
    kind: str = field(default="shuffle", init=False)


Spec = CNNSpec | ShuffleSpec


def plain_spec(widths: tuple[int, ...] = (32, 64, 128)) -> CNNSpec:
    """The plain conv-BN-ReLU network; pools after the second and third stage (8 -> 4 -> 2)."""
    pools = [i >= 1 for i in range(len(widths))]
    return CNNSpec(tuple(StageSpec(w, p) for w, p in zip(widths, pools, strict=True)))


def se_spec(widths: tuple[int, ...] = (32, 64, 128), reduction: int = 4) -> CNNSpec:
    """The plain network with an SE block (bottleneck ``C / reduction``) after every stage."""
    base = plain_spec(widths)
    return CNNSpec(
        tuple(
            StageSpec(s.out_channels, s.pool, max(1, s.out_channels // reduction))
            for s in base.stages
        )
    )


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """JSON-able form of a spec (tuples become lists)."""
    return asdict(spec)


def spec_from_dict(data: dict[str, Any]) -> Spec:
    """Rebuild a spec from :func:`spec_to_dict` output; malformed input raises PruningError."""
    try:
        kind = data["kind"]
        rest = {k: v for k, v in data.items() if k != "kind"}
        if kind == "cnn":
            stages = tuple(StageSpec(**s) for s in rest.pop("stages"))
            spec: Spec = CNNSpec(stages, **rest)
        elif kind == "shuffle":
            rest["units"] = tuple(bool(u) for u in rest["units"])
            spec = ShuffleSpec(**rest)
        else:
            raise PruningError(f"unknown model kind {kind!r} in the saved architecture")
    except (KeyError, TypeError, AttributeError) as exc:
        raise PruningError(f"malformed architecture spec: {exc}") from exc
    validate_spec(spec)
    return spec


def validate_spec(spec: Spec) -> None:
    """Reject specs no network can be built from (empty layers, groups that do not divide)."""
    if isinstance(spec, CNNSpec):
        if not spec.stages:
            raise PruningError("a CNN spec needs at least one stage")
        for i, s in enumerate(spec.stages):
            if s.out_channels < 1:
                raise PruningError(f"stage {i} has {s.out_channels} channels (needs >= 1)")
            if s.se_hidden is not None and s.se_hidden < 1:
                raise PruningError(f"stage {i} has an SE hidden width of {s.se_hidden}")
        if spec.final_size() < 1:
            raise PruningError("too many pooling stages for the image size")
        return
    for name in ("groups", "shuffle_groups"):
        g = getattr(spec, name)
        if g < 1 or spec.channels % g or spec.bottleneck % g:
            raise PruningError(
                f"{name}={g} must divide channels ({spec.channels}) and bottleneck "
                f"({spec.bottleneck})"
            )


class SEBlock(nn.Module):
    """Squeeze-and-Excitation: s = sigmoid(W2 relu(W1 GAP(u))), output u * s per channel.

    The last excitation ``s`` (N x C) is kept in :attr:`last_excitation` for the statistics of
    the SE pruning method and its sparsity loss; :attr:`last_squeeze` keeps GAP(u)."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        self.last_excitation: torch.Tensor | None = None
        self.last_squeeze: torch.Tensor | None = None

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        squeeze = u.mean(dim=(2, 3))
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(squeeze))))
        self.last_excitation, self.last_squeeze = s, squeeze.detach()
        return u * s[:, :, None, None]

    def excitation(self) -> torch.Tensor:
        """:attr:`last_excitation`; the block must have run."""
        if self.last_excitation is None:
            raise PruningError("the SE block has not seen a batch yet")
        return self.last_excitation

    def squeeze_output(self) -> torch.Tensor:
        """:attr:`last_squeeze`; the block must have run."""
        if self.last_squeeze is None:
            raise PruningError("the SE block has not seen a batch yet")
        return self.last_squeeze


class ConvStage(nn.Module):
    """conv3x3 (no bias: BN follows) - BN - ReLU - [SE] - [gate] - [max-pool 2x2].

    ``gate`` is an identity slot where AutoPruner inserts its layer while it trains."""

    def __init__(self, c_in: int, spec: StageSpec) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, spec.out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(spec.out_channels)
        self.se: nn.Module = (
            SEBlock(spec.out_channels, spec.se_hidden) if spec.se_hidden else nn.Identity()
        )
        self.gate: nn.Module = nn.Identity()
        self.pool: nn.Module = nn.MaxPool2d(2) if spec.pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.gate(self.se(F.relu(self.bn(self.conv(x))))))


class DigitsCNN(nn.Module):
    """Stages from a :class:`CNNSpec`, then flatten (channel-major: feature = c * H*W + pixel)
    and a linear classifier ``head``."""

    spec: CNNSpec
    #: The :class:`ConvStage` of every spec stage; :meth:`conv_stages` and :meth:`conv_stage`
    #: give them typed (``nn.ModuleList`` yields plain modules).
    stages: nn.ModuleList

    def __init__(self, spec: CNNSpec) -> None:
        super().__init__()
        validate_spec(spec)
        self.spec = spec
        widths = [spec.in_channels, *spec.widths]
        self.stages = nn.ModuleList(
            ConvStage(c_in, s) for c_in, s in zip(widths[:-1], spec.stages, strict=True)
        )
        self.head = nn.Linear(spec.widths[-1] * spec.final_size() ** 2, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.head(torch.flatten(x, 1))

    def conv_stages(self) -> list[ConvStage]:
        """The stages as :class:`ConvStage` (which is all ``__init__`` puts in ``stages``)."""
        return [cast(ConvStage, s) for s in self.stages]

    def conv_stage(self, i: int) -> ConvStage:
        """Stage ``i`` as :class:`ConvStage`."""
        return cast(ConvStage, self.stages[i])

    def se_blocks(self) -> list[SEBlock]:
        return [s.se for s in self.conv_stages() if isinstance(s.se, SEBlock)]


def shuffle_permutation(channels: int, groups: int) -> torch.Tensor:
    """The channel-shuffle index map: output channel j is input channel ``perm[j]``.

    Convention of the ShuffleNet paper and torchvision: view the channels as (groups, n),
    transpose to (n, groups), flatten. So output j = i * groups + g takes input g * n + i."""
    if groups < 1 or channels % groups:
        raise PruningError(f"{groups} groups do not divide {channels} channels")
    return torch.arange(channels).view(groups, channels // groups).t().reshape(-1)


class ChannelShuffle(nn.Module):
    """Channel shuffle as reshape-transpose-reshape (the paper's and torchvision's form)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """ShuffleNet-v1 unit, stride 1: gconv1x1-BN-ReLU - shuffle - dwconv3x3-BN - gconv1x1-BN,
    residual add, ReLU."""

    def __init__(self, channels: int, bottleneck: int, groups: int, shuffle_groups: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, bottleneck, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(bottleneck)
        self.shuffle = ChannelShuffle(shuffle_groups)
        self.dw = nn.Conv2d(bottleneck, bottleneck, 3, padding=1, groups=bottleneck, bias=False)
        self.bn2 = nn.BatchNorm2d(bottleneck)
        self.conv2 = nn.Conv2d(bottleneck, channels, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.shuffle(F.relu(self.bn1(self.conv1(x))))
        y = self.bn3(self.conv2(self.bn2(self.dw(y))))
        return F.relu(x + y)


class ShuffleDigitsNet(nn.Module):
    """Stem conv3x3-BN-ReLU, ShuffleNet units (optionally preceded by a 2x2 max-pool), global
    average pooling and a linear classifier ``head``."""

    spec: ShuffleSpec

    def __init__(self, spec: ShuffleSpec) -> None:
        super().__init__()
        validate_spec(spec)
        self.spec = spec
        self.stem = nn.Conv2d(spec.in_channels, spec.channels, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(spec.channels)
        self.pools = nn.ModuleList(nn.MaxPool2d(2) if p else nn.Identity() for p in spec.units)
        self.units = nn.ModuleList(
            ShuffleUnit(spec.channels, spec.bottleneck, spec.groups, spec.shuffle_groups)
            for _ in spec.units
        )
        self.head = nn.Linear(spec.channels, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(x)))
        for pool, unit in zip(self.pools, self.units, strict=True):
            x = unit(pool(x))
        return self.head(x.mean(dim=(2, 3)))

    def pointwise_convs(self) -> list[tuple[str, nn.Conv2d]]:
        """The 1x1 convs that ShuffleNet groups (the part-pruning targets), with their names."""
        return [
            (f"units.{i}.{name}", getattr(unit, name))
            for i, unit in enumerate(self.units)
            for name in ("conv1", "conv2")
        ]


def family(spec: Spec) -> str:
    """The model family name used on the command line: plain, se or shuffle."""
    if isinstance(spec, ShuffleSpec):
        return "shuffle"
    return "se" if spec.has_se else "plain"


#: A network of this module: what :func:`build_model` makes from a :data:`Spec`.
Network = DigitsCNN | ShuffleDigitsNet


def build_model(spec: Spec) -> Network:
    """Instantiate the network a spec describes (freshly initialised)."""
    return DigitsCNN(spec) if isinstance(spec, CNNSpec) else ShuffleDigitsNet(spec)


def spec_of(model: nn.Module) -> Spec:
    """The spec a network carries (its ``spec`` attribute, as every :data:`Network` has)."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, CNNSpec | ShuffleSpec):
        raise PruningError(f"a {type(model).__name__} carries no model spec")
    return spec


def input_shape(spec: Spec) -> tuple[int, int, int]:
    """C x H x W of one input sample."""
    return (spec.in_channels, spec.image_size, spec.image_size)
