"""One front end for any traceable model: torch.fx graph -> lowered graph -> integer network.

:func:`lower_module` traces an ``nn.Module`` with ``torch.fx.symbolic_trace`` (falling back to
``torch.export`` when fx cannot trace it), runs the traced graph once on the example input to
know every value's shape, and turns its nodes into a small graph of lowerable :class:`Node`\\ s:

* GEMMs: conv2d (any stride, padding, dilation, groups) and linear; an eval-mode BN right after
  a conv is folded into it (a BN elsewhere becomes a depthwise 1x1 conv);
* activation clamps fused into the node before them when it is their only reader (ReLU, ReLU6,
  hardtanh, clamp), else a host clamp;
* max / avg pooling (any kernel, stride, padding, ceil_mode), adaptive avg pooling, mean over
  H x W; residual add; cat; the SE gate ``x * sigmoid(fc(...))``;
* layout operations (view, reshape, flatten, transpose, permute, contiguous, chunk, split,
  indexing, squeeze/unsqueeze) are followed as an index map on the tensor they start from: a
  map that keeps the flat order is a reshape, one that picks channels (a channel shuffle, a
  chunk or split) is a channel selection; anything else is refused;
* dropout and identity vanish.

A node it cannot lower raises one :class:`LoweringError` line naming the node, its op and its
place in the model. The lowered graph runs in torch (float64) three ways: plain (equals the
model; calibration), fake-quantized (the check) and, separately, as the integer network
(:mod:`systolic.models.network`) built from it.

Quantization (see :mod:`systolic.lowering.quant` and :mod:`systolic.models.quant`): weights per
output channel, activations per tensor at every requantization point (GEMM outputs, add, cat,
average pools, the SE product), calibrated on the given images by max |x| / 127 (``"maxabs"``,
the default) or by the 99.99th percentile of |x| (``"percentile"``).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import logging
import operator
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from systolic.errors import LoweringError, one_line
from systolic.lowering.fold import fold_bn
from systolic.lowering.quant import quantize_layer
from systolic.models.im2col import ConvGeometry, PoolGeometry
from systolic.models.network import HOST_OPS, REQUANTIZING, GemmLayer, HostOp, QuantNet
from systolic.models.quant import QMAX

#: Calibration rules: max |x| / 127, or the PERCENTILE-th percentile of |x| / 127.
CALIBRATIONS = ("maxabs", "percentile")
PERCENTILE = 99.99
#: Images calibrated at once (bounds the memory of a large model's activations).
CALIB_CHUNK = 16


@dataclass
class Node:
    """One lowered operation in float: a GEMM (``op`` "gemm") or a host operation."""

    op: str
    name: str
    srcs: list[str]
    where: str
    kind: str = ""  # gemm: "conv" or "linear"
    weight: torch.Tensor | None = None
    bias: torch.Tensor | None = None
    geometry: ConvGeometry | None = None
    real_out: bool = False  # gemm read by a sigmoid: real output
    lo: float | None = None
    hi: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def requantizes(self) -> bool:
        return (self.op == "gemm" and not self.real_out) or self.op in REQUANTIZING


@dataclass
class Graph:
    """A lowered model: nodes in execution order, its input shape (C, H, W), its output."""

    nodes: list[Node]
    input_shape: tuple[int, ...]
    output: str


# ------------------------------------------------------------------------------------------------
# Tracing
# ------------------------------------------------------------------------------------------------


def _first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (torch.export's run over many lines)."""
    lines = str(exc).strip().splitlines()
    return one_line(lines[0] if lines else type(exc).__name__, limit)


@contextlib.contextmanager
def _quiet_torch() -> Iterator[None]:
    """torch.export logs guard warnings, emits deprecation warnings and prints a failed
    export's partial graph to stderr; a failure is reported as one line by the caller, so
    nothing else may reach the terminal."""
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    sink = io.StringIO()
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stderr(sink),
            contextlib.redirect_stdout(sink),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)


def trace(model: nn.Module, example: torch.Tensor) -> torch.fx.GraphModule:
    """The model's graph: a GraphModule as it is (a loaded ``.pt2`` program), else torch.fx,
    else ``torch.export`` (ATen operators, shapes fixed by ``example``). One LoweringError line
    if neither can trace it."""
    if isinstance(model, torch.fx.GraphModule):
        return model
    try:
        return torch.fx.symbolic_trace(model)
    except Exception as fx_exc:  # tracing user code raises anything
        fx_why = one_line(fx_exc, 120)
    try:
        with torch.no_grad():
            model(example)
    except Exception as exc:  # a user's model raises anything
        raise LoweringError(
            f"the model does not run on an input of shape {tuple(example.shape)}: {one_line(exc)}"
        ) from None
    try:
        with _quiet_torch():
            return torch.export.export(model, (example,), strict=False).module()
    except Exception as export_exc:  # exporting user code raises anything
        raise LoweringError(
            f"cannot trace {type(model).__name__} with torch.fx ({fx_why}) or torch.export "
            f"({type(export_exc).__name__}: {_first_line(export_exc)}): data-dependent control "
            "flow or dynamic shapes are not supported"
        ) from None


class _Recorder(torch.fx.Interpreter):
    """Runs the traced graph once and keeps every node's value."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__(gm)
        self.values: dict[str, Any] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        out = super().run_node(n)
        self.values[n.name] = out
        return out


# ------------------------------------------------------------------------------------------------
# Building the lowered graph
# ------------------------------------------------------------------------------------------------


@dataclass
class _T:
    """A lowered tensor."""

    name: str


@dataclass
class _L:
    """A layout view of lowered tensor ``base``: ``index`` maps each element to its flat
    index in ``base``."""

    base: str
    index: torch.Tensor
    made_by: str


@dataclass
class _Gate:
    """sigmoid of the real output of GEMM ``name`` (possibly reshaped)."""

    name: str


@dataclass
class _Seq:
    items: list[Any]


def _same(t: torch.Tensor, *_args: Any, **_kwargs: Any) -> torch.Tensor:
    """contiguous, clone, alias, detach: the same elements in the same order."""
    return t


_RELU = {F.relu, torch.relu, torch.relu_}
_LAYOUT_FUNCS = {
    torch.flatten,
    torch.reshape,
    torch.transpose,
    torch.permute,
    torch.squeeze,
    torch.unsqueeze,
    torch.chunk,
    torch.split,
    torch.narrow,
    torch.t,
    operator.getitem,
    _same,
}
_LAYOUT_METHODS = {
    "view",
    "reshape",
    "flatten",
    "transpose",
    "permute",
    "contiguous",
    "squeeze",
    "unsqueeze",
    "chunk",
    "split",
    "narrow",
    "clone",
    "detach",
    "t",
}
_PASS_MODULES = (nn.Identity, nn.Dropout, nn.Dropout2d, nn.Dropout1d, nn.AlphaDropout)
_ADD = {operator.add, operator.iadd, torch.add}
_MUL = {operator.mul, operator.imul, torch.mul}
_SIGMOID = {torch.sigmoid, F.sigmoid}


#: ATen overloads (what torch.export records) -> the torch function with the same positional
#: signature whose rule lowers them.
_ATEN_AS: dict[str, Callable[..., Any]] = {
    "conv2d.default": F.conv2d,
    "linear.default": F.linear,
    "relu.default": torch.relu,
    "relu_.default": torch.relu,
    "relu6.default": F.relu6,
    "hardtanh.default": F.hardtanh,
    "hardtanh_.default": F.hardtanh,
    "clamp.default": torch.clamp,
    "clamp_.default": torch.clamp,
    "max_pool2d.default": F.max_pool2d,
    "max_pool2d_with_indices.default": F.max_pool2d,
    "avg_pool2d.default": F.avg_pool2d,
    "adaptive_avg_pool2d.default": F.adaptive_avg_pool2d,
    "_adaptive_avg_pool2d.default": F.adaptive_avg_pool2d,
    "mean.dim": torch.mean,
    "add.Tensor": torch.add,
    "add_.Tensor": torch.add,
    "mul.Tensor": torch.mul,
    "mul_.Tensor": torch.mul,
    "cat.default": torch.cat,
    "sigmoid.default": torch.sigmoid,
    "sigmoid_.default": torch.sigmoid,
    "dropout.default": F.dropout,
    "dropout_.default": F.dropout,
    "feature_dropout.default": F.dropout,
    "feature_dropout_.default": F.dropout,
    "view.default": torch.reshape,
    "reshape.default": torch.reshape,
    "_unsafe_view.default": torch.reshape,
    "flatten.using_ints": torch.flatten,
    "transpose.int": torch.transpose,
    "permute.default": torch.permute,
    "t.default": torch.t,
    "squeeze.dim": torch.squeeze,
    "squeeze.dims": torch.squeeze,
    "squeeze.default": torch.squeeze,
    "unsqueeze.default": torch.unsqueeze,
    "chunk.default": torch.chunk,
    "split.Tensor": torch.split,
    "split_with_sizes.default": torch.split,
    "narrow.default": torch.narrow,
    "contiguous.default": _same,
    "clone.default": _same,
    "alias.default": _same,
    "detach.default": _same,
}


#: Tuple-valued ATen overloads of a decomposed export graph whose first output is the value.
_ATEN_TUPLES = {
    torch.ops.aten._native_batch_norm_legit_no_training.default,
    torch.ops.aten.max_pool2d_with_indices.default,
}


@functools.cache
def _aten_functions() -> dict[Any, Callable[..., Any]]:
    """:data:`_ATEN_AS` keyed by the overload objects this torch has."""
    table: dict[Any, Callable[..., Any]] = {}
    for key, fn in _ATEN_AS.items():
        packet, overload = key.split(".")
        op = getattr(getattr(torch.ops.aten, packet, None), overload, None)
        if op is not None:
            table[op] = fn
    return table


def _bn_module(
    rank: int,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    mean: Any,
    var: Any,
    eps: float,
) -> nn.Module:
    """The eval-mode BatchNorm module an ATen batch norm stands for (folding reads modules)."""
    if not isinstance(mean, torch.Tensor) or not isinstance(var, torch.Tensor):
        return nn.BatchNorm2d(1, track_running_stats=False)  # refused by batch_norm()
    c = mean.numel()
    bn = (nn.BatchNorm2d if rank == 4 else nn.BatchNorm1d)(c, eps=eps).double().eval()
    state = {
        "weight": torch.ones(c) if weight is None else weight,
        "bias": torch.zeros(c) if bias is None else bias,
        "running_mean": mean,
        "running_var": var,
        "num_batches_tracked": torch.tensor(0),
    }
    bn.load_state_dict(state)
    return bn


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(int(x) for x in v)
    return (t[0], t[0]) if len(t) == 1 else (t[0], t[1])


def _target_name(n: torch.fx.Node) -> str:
    t = n.target
    if isinstance(t, str):
        return t
    mod = getattr(t, "__module__", None) or ""
    return f"{mod}.{getattr(t, '__name__', repr(t))}".lstrip(".")


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_tensor(v) for v in value)


def _op_name(n: torch.fx.Node) -> str:
    """A readable name for the lowered operation of ``n``: the module path of a module call
    (in a torch.export graph: of an operator inside a torch.nn layer, such as the conv2d of a
    Conv2d), else place and node."""
    if n.op == "call_module":
        return str(n.target)
    place = _place(n)
    if place == "the model's forward":
        return n.name
    return place if _in_torch_layer(n) else f"{place}.{n.name}"


def _in_torch_layer(n: torch.fx.Node) -> bool:
    stack = n.meta.get("nn_module_stack") or {}
    if not stack or not isinstance(n.target, torch._ops.OpOverload):
        return False
    last = list(stack.values())[-1]
    kind = last[1] if isinstance(last, tuple) and len(last) > 1 else None
    module = kind if isinstance(kind, str) else getattr(kind, "__module__", "") or ""
    return "torch.nn.modules." in f"{module}." or module.startswith("torch.nn.modules")


def _place(n: torch.fx.Node) -> str:
    """The module path a node belongs to (its target for a module call)."""
    if n.op == "call_module":
        return str(n.target)
    stack = n.meta.get("nn_module_stack") or {}
    if stack:
        path = list(stack.values())[-1]
        return str(path[0] if isinstance(path, tuple) else path) or "the model's forward"
    return "the model's forward"


class _Builder:
    """Walks the fx graph once; keeps the lowered nodes and what each fx node became."""

    def __init__(self, gm: torch.fx.GraphModule, values: dict[str, Any]) -> None:
        self.gm = gm
        self.values = values
        self.modules = dict(gm.named_modules())
        self.env: dict[str, Any] = {}
        self.nodes: dict[str, Node] = {}
        self.order: list[str] = []
        self.users: dict[str, int] = {}  # lowered tensor -> fx readers of the fx node
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.used_names: set[str] = {"input"}
        self.materialized: dict[str, str] = {}
        self.places: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def fail(self, n: torch.fx.Node, why: str) -> LoweringError:
        return LoweringError(f"node {n.name} ({n.op} {_target_name(n)}) in {_place(n)}: {why}")

    def unique(self, name: str) -> str:
        base, i = name.replace("/", ".") or "op", 1
        out = base
        while out.lower() in self.used_names:
            i += 1
            out = f"{base}_{i}"
        self.used_names.add(out.lower())
        return out

    def add(self, n: torch.fx.Node, node: Node, shape: tuple[int, ...]) -> _T:
        self.nodes[node.name] = node
        self.order.append(node.name)
        self.users[node.name] = len(n.users)
        self.shapes[node.name] = shape
        return _T(node.name)

    def host(self, n: torch.fx.Node, op: str, srcs: list[str], **attrs: Any) -> _T:
        name = self.unique(_op_name(n))
        value = self.values[n.name]
        return self.add(n, Node(op, name, srcs, _place(n), attrs=attrs), tuple(value.shape))

    def arg(self, a: Any) -> Any:
        """An fx argument with nodes replaced by their entries (constants by their values)."""
        return torch.fx.node.map_arg(a, lambda x: self.env[x.name])

    def tensor(self, n: torch.fx.Node, entry: Any) -> str:
        """The lowered tensor an entry stands for (materializing a layout view)."""
        if isinstance(entry, _T):
            return entry.name
        if isinstance(entry, _L):
            return self.materialize(n, entry)
        raise self.fail(
            n, f"an input is not a tensor the lowering computes ({type(entry).__name__})"
        )

    def materialize(self, n: torch.fx.Node, view: _L) -> str:
        key = view.made_by
        if key in self.materialized:
            return self.materialized[key]
        base_shape = self.shapes[view.base]
        shape = tuple(view.index.shape)
        batch = base_shape[0]
        per = int(np.prod(base_shape[1:]))
        idx = view.index.reshape(shape[0], -1) if view.index.numel() else view.index
        if shape[0] != batch or not torch.equal(
            idx - torch.arange(batch)[:, None] * per, (idx[0] - 0).expand_as(idx)
        ):
            raise self.fail(n, "a layout change mixes the batch dimension")
        m = idx[0]
        if m.numel() == per and torch.equal(m, torch.arange(per)):
            if shape == base_shape:
                name = view.base
            else:
                name = self._host_named(view.made_by, "reshape", [view.base], shape=shape[1:])
                self.shapes[name] = shape
        else:
            chans = self._channel_index(m, base_shape, shape)
            if chans is None:
                raise self.fail(
                    n, "a layout change that is neither a reshape nor a channel selection"
                )
            name = self._host_named(view.made_by, "channels", [view.base], index=chans)
            self.shapes[name] = shape
        self.materialized[key] = name
        return name

    def _host_named(self, made_by: str, op: str, srcs: list[str], **attrs: Any) -> str:
        name = self.unique(made_by)
        node = Node(op, name, srcs, self.places.get(made_by, made_by), attrs=attrs)
        self.nodes[name] = node
        self.order.append(name)
        self.users[name] = 2  # never fuse a clamp into a layout operation
        return name

    @staticmethod
    def _channel_index(
        m: torch.Tensor, base: tuple[int, ...], shape: tuple[int, ...]
    ) -> tuple[int, ...] | None:
        if len(base) != len(shape) or base[2:] != shape[2:]:
            return None
        inner = int(np.prod(base[2:]))
        rows = m.reshape(shape[1], inner)
        first = rows[:, 0]
        if first.numel() == 0 or bool((first % inner != 0).any()):
            return None
        if not torch.equal(rows, first[:, None] + torch.arange(inner)[None, :]):
            return None
        return tuple(int(c) for c in first // inner)

    # -- the walk --------------------------------------------------------------------------------

    def run(self) -> Graph:
        graph = self.gm.graph
        input_shape: tuple[int, ...] | None = None
        output = None
        for n in graph.nodes:
            value = self.values.get(n.name)
            if n.op == "placeholder":
                if input_shape is not None:
                    raise self.fail(n, "a model with more than one input is not supported")
                if not isinstance(value, torch.Tensor):
                    raise self.fail(n, "the model's input is not a tensor")
                input_shape = tuple(value.shape)
                self.env[n.name] = _T("input")
                self.shapes["input"] = input_shape
                continue
            if n.op == "output":
                out = self.arg(n.args[0])
                if isinstance(out, (tuple, list)) and len(out) == 1:
                    out = out[0]
                output = self.tensor(n, out)
                continue
            if n.op == "get_attr":
                self.env[n.name] = value
                continue
            self.env[n.name] = self.visit(n, value)
        assert input_shape is not None and output is not None
        return Graph([self.nodes[k] for k in self.order], input_shape[1:], output)

    def visit(self, n: torch.fx.Node, value: Any) -> Any:
        args = [self.arg(a) for a in n.args]
        kwargs = {k: self.arg(v) for k, v in n.kwargs.items()}
        entries = [a for a in [*args, *kwargs.values()] if isinstance(a, (_T, _L, _Gate, _Seq))]
        nested = any(
            isinstance(x, (_T, _L, _Gate))
            for a in [*args, *kwargs.values()]
            if isinstance(a, (list, tuple))
            for x in a
        )
        if not entries and not nested:
            return value  # arithmetic on shapes and constants: its recorded value
        if not _holds_tensor(value):
            return value  # a shape read off a tensor (x.size(0), x.shape)
        if n.op == "call_module":
            return self.visit_module(n, self.modules[str(n.target)], args, kwargs, value)
        target = n.target
        if n.op == "call_method":
            return self.visit_method(n, str(target), args, kwargs, value)
        if isinstance(target, torch._ops.OpOverload):
            return self.visit_aten(n, target, args, kwargs, value)
        return self.visit_function(n, target, args, kwargs, value)

    # Modules ------------------------------------------------------------------------------------

    def visit_module(self, n, mod, args, kwargs, value):  # type: ignore[no-untyped-def]
        x = args[0] if args else None
        if isinstance(mod, _PASS_MODULES):
            return x
        if isinstance(mod, nn.Conv2d):
            if mod.padding_mode != "zeros":
                raise self.fail(n, f"padding mode {mod.padding_mode!r} (only zeros)")
            return self.conv(
                n, x, mod.weight, mod.bias, mod.stride, mod.padding, mod.dilation, mod.groups, value
            )
        if isinstance(mod, nn.Linear):
            return self.linear(n, x, mod.weight, mod.bias, value)
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)):
            return self.batch_norm(n, x, mod, value)
        if isinstance(mod, nn.ReLU):
            return self.clamp(n, x, 0.0, None, value)
        if isinstance(mod, nn.ReLU6):
            return self.clamp(n, x, 0.0, 6.0, value)
        if isinstance(mod, nn.Hardtanh):
            return self.clamp(n, x, float(mod.min_val), float(mod.max_val), value)
        if isinstance(mod, nn.MaxPool2d):
            return self.max_pool(
                n,
                x,
                mod.kernel_size,
                mod.stride,
                mod.padding,
                mod.dilation,
                mod.ceil_mode,
                mod.return_indices,
            )
        if isinstance(mod, nn.AvgPool2d):
            return self.avg_pool(
                n,
                x,
                mod.kernel_size,
                mod.stride,
                mod.padding,
                mod.ceil_mode,
                mod.count_include_pad,
                mod.divisor_override,
            )
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return self.adaptive(n, x, value)
        if isinstance(mod, nn.Flatten):
            return self.layout(n, lambda t: mod(t), x, value)
        if isinstance(mod, nn.Sigmoid):
            return self.sigmoid(n, x)
        raise self.fail(n, f"module {type(mod).__name__} is not supported")

    # Methods ------------------------------------------------------------------------------------

    def visit_method(self, n, name, args, kwargs, value):  # type: ignore[no-untyped-def]
        x = args[0]
        if name in _LAYOUT_METHODS:
            return self.layout(
                n,
                lambda t: getattr(t, name)(*self.consts(n, args[1:]), **self.consts(n, kwargs)),
                x,
                value,
            )
        if name in ("relu", "relu_"):
            return self.clamp(n, x, 0.0, None, value)
        if name in ("clamp", "clamp_", "clip", "clip_"):
            lo, hi = self._clamp_args(n, args[1:], kwargs)
            return self.clamp(n, x, lo, hi, value)
        if name == "sigmoid":
            return self.sigmoid(n, x)
        if name in ("add", "add_", "__add__", "__iadd__"):
            return self.add_op(n, args, kwargs, value)
        if name in ("mul", "mul_", "__mul__"):
            return self.mul(n, args[0], args[1], value)
        if name == "mean":
            return self.mean(n, x, args[1:], kwargs, value)
        raise self.fail(n, f"method {name!r} is not supported")

    # Functions ----------------------------------------------------------------------------------

    def visit_function(self, n, f, args, kwargs, value):  # type: ignore[no-untyped-def]
        def kw(i: int, key: str, default: Any) -> Any:
            return args[i] if len(args) > i else kwargs.get(key, default)

        x = args[0] if args else kwargs.get("input")
        if f is operator.getitem and isinstance(x, _Seq):
            return x.items[int(args[1])]
        if f in _LAYOUT_FUNCS:
            return self.layout(
                n, lambda t: f(t, *self.consts(n, args[1:]), **self.consts(n, kwargs)), x, value
            )
        if f is F.conv2d:
            return self.conv(
                n,
                x,
                kw(1, "weight", None),
                kw(2, "bias", None),
                kw(3, "stride", 1),
                kw(4, "padding", 0),
                kw(5, "dilation", 1),
                kw(6, "groups", 1),
                value,
            )
        if f is F.linear:
            return self.linear(n, x, kw(1, "weight", None), kw(2, "bias", None), value)
        if f in _RELU:
            return self.clamp(n, x, 0.0, None, value)
        if f is F.relu6:
            return self.clamp(n, x, 0.0, 6.0, value)
        if f is F.hardtanh:
            return self.clamp(
                n, x, float(kw(1, "min_val", -1.0)), float(kw(2, "max_val", 1.0)), value
            )
        if f in (torch.clamp, torch.clip):
            lo, hi = self._clamp_args(n, args[1:], kwargs)
            return self.clamp(n, x, lo, hi, value)
        if f is F.max_pool2d:
            k = kw(1, "kernel_size", None)
            return self.max_pool(
                n,
                x,
                k,
                kw(2, "stride", None),
                kw(3, "padding", 0),
                kw(4, "dilation", 1),
                kw(5, "ceil_mode", False),
                kw(6, "return_indices", False),
            )
        if f is F.avg_pool2d:
            return self.avg_pool(
                n,
                x,
                kw(1, "kernel_size", None),
                kw(2, "stride", None),
                kw(3, "padding", 0),
                kw(4, "ceil_mode", False),
                kw(5, "count_include_pad", True),
                kw(6, "divisor_override", None),
            )
        if f is F.adaptive_avg_pool2d:
            return self.adaptive(n, x, value)
        if f in _ADD:
            return self.add_op(n, args, kwargs, value)
        if f in _MUL:
            return self.mul(n, args[0], args[1], value)
        if f in (torch.cat, torch.concat, torch.concatenate):
            return self.cat(n, args[0] if args else kwargs["tensors"], kw(1, "dim", 0), value)
        if f in _SIGMOID:
            return self.sigmoid(n, x)
        if f is torch.mean:
            return self.mean(n, x, args[1:], kwargs, value)
        if f in (F.dropout, F.dropout2d, F.alpha_dropout):
            return x
        if f is F.batch_norm:
            raise self.fail(n, "functional batch norm is not supported (use nn.BatchNorm2d)")
        raise self.fail(n, "this operation is not supported")

    # ATen operators (a torch.export graph) --------------------------------------------------

    def visit_aten(self, n, op, args, kwargs, value):  # type: ignore[no-untyped-def]
        """An ATen operator: the few whose arguments differ are adapted here; the rest share
        their torch function's positional signature and take its rule."""
        if op in _ATEN_TUPLES:
            # (out, saved statistics or indices): the rule lowers `out`; the rest is no
            # tensor the lowering computes, so a reader of it is refused where it reads.
            self.values[n.name] = value[0]
            out = self._visit_aten_one(n, op, args, kwargs, value[0])
            return _Seq([out] + [None] * (len(value) - 1))
        return self._visit_aten_one(n, op, args, kwargs, value)

    def _visit_aten_one(self, n, op, args, kwargs, value):  # type: ignore[no-untyped-def]
        aten = torch.ops.aten
        if op in (aten.batch_norm.default, aten._native_batch_norm_legit_no_training.default):
            x, weight, bias, mean, var = args[:5]
            training = bool(args[5]) if op is aten.batch_norm.default else False
            eps = args[7] if op is aten.batch_norm.default else args[6]
            if training:
                raise self.fail(n, "batch norm in training mode (call model.eval() first)")
            bn = _bn_module(len(value.shape), weight, bias, mean, var, float(eps))
            return self.batch_norm(n, x, bn, value)
        if op is aten.convolution.default:
            x, weight, bias, stride, padding, dilation, transposed, _, groups = args[:9]
            if transposed:
                raise self.fail(n, "transposed convolution is not supported")
            return self.conv(n, x, weight, bias, stride, padding, dilation, groups, value)
        if op is aten.addmm.default:
            bias, x, weight_t = args[:3]
            if kwargs.get("beta", 1) != 1 or kwargs.get("alpha", 1) != 1:
                raise self.fail(n, "addmm with beta or alpha other than 1")
            if not isinstance(weight_t, torch.Tensor):
                raise self.fail(n, "the linear weight is computed, not a parameter")
            return self.linear(n, x, weight_t.t(), bias, value)
        f = _aten_functions().get(op)
        if f is None:
            raise self.fail(n, "this operation is not supported")
        return self.visit_function(n, f, args, kwargs, value)

    # -- lowering rules --------------------------------------------------------------------------

    def consts(self, n: torch.fx.Node, a: Any) -> Any:
        def check(x: Any) -> Any:
            if isinstance(x, (_T, _L, _Gate, _Seq)):
                raise self.fail(n, "a tensor is used as a shape argument")
            return x

        if isinstance(a, dict):
            return {k: check(v) for k, v in a.items()}
        return [check(v) for v in a]

    def _clamp_args(self, n, args, kwargs):  # type: ignore[no-untyped-def]
        lo = args[0] if args else kwargs.get("min")
        hi = args[1] if len(args) > 1 else kwargs.get("max")
        for b in (lo, hi):
            if b is not None and not isinstance(b, (int, float)):
                raise self.fail(n, "clamp bounds must be numbers")
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))

    def layout(self, n, fn, x, value):  # type: ignore[no-untyped-def]
        if isinstance(x, _Gate):
            return x
        if isinstance(x, _T):
            shape = self.shapes[x.name]
            x = _L(x.name, torch.arange(int(np.prod(shape))).reshape(shape), x.name)
        if not isinstance(x, _L):
            raise self.fail(n, "a layout operation on something that is not a tensor")
        out = fn(x.index)
        if isinstance(out, torch.Tensor):
            self.places[_op_name(n)] = _place(n)
            return _L(x.base, out, _op_name(n))
        if isinstance(out, (tuple, list)):
            self.places.update({f"{_op_name(n)}.{i}": _place(n) for i in range(len(out))})
            return _Seq([_L(x.base, t, f"{_op_name(n)}.{i}") for i, t in enumerate(out)])
        raise self.fail(n, "a layout operation with an unexpected result")

    def _geo_check(self, n: torch.fx.Node, weight: Any, what: str) -> torch.Tensor:
        if not isinstance(weight, torch.Tensor):
            raise self.fail(n, f"the {what} weight is computed, not a parameter")
        return weight.detach().double()

    def conv(self, n, x, weight, bias, stride, padding, dilation, groups, value):  # type: ignore[no-untyped-def]
        src = self.tensor(n, x)
        w = self._geo_check(n, weight, "conv")
        if w.dim() != 4:
            raise self.fail(n, "only 2-d convolutions are supported")
        kernel = (int(w.shape[2]), int(w.shape[3]))
        dil = _pair(dilation)
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            elif all(d * (k - 1) % 2 == 0 for d, k in zip(dil, kernel, strict=True)):
                padding = tuple(d * (k - 1) // 2 for d, k in zip(dil, kernel, strict=True))
            else:
                raise self.fail(n, "padding='same' with an even kernel is not supported")
        geo = ConvGeometry(kernel, _pair(stride), _pair(padding), dil, int(groups))
        b = torch.zeros(w.shape[0], dtype=torch.float64) if bias is None else bias.detach().double()
        name = self.unique(_op_name(n))
        node = Node("gemm", name, [src], _place(n), "conv", w, b, geo)
        return self.add(n, node, tuple(value.shape))

    def linear(self, n, x, weight, bias, value):  # type: ignore[no-untyped-def]
        src = self.tensor(n, x)
        if len(self.shapes[src]) != 2:
            raise self.fail(n, f"a linear layer on a {len(self.shapes[src])}-d tensor (only N x F)")
        w = self._geo_check(n, weight, "linear")
        b = torch.zeros(w.shape[0], dtype=torch.float64) if bias is None else bias.detach().double()
        name = self.unique(_op_name(n))
        return self.add(n, Node("gemm", name, [src], _place(n), "linear", w, b), tuple(value.shape))

    def batch_norm(self, n, x, bn, value):  # type: ignore[no-untyped-def]
        if bn.training:
            raise self.fail(n, "batch norm in training mode (call model.eval() first)")
        if bn.running_mean is None or bn.running_var is None:
            raise self.fail(n, "batch norm without running statistics cannot be folded")
        prev = self.nodes.get(x.name) if isinstance(x, _T) else None
        if (
            prev is not None
            and prev.op == "gemm"
            and self.users[prev.name] == 1
            and prev.lo is None
            and prev.hi is None
            and prev.weight is not None
        ):
            prev.weight, prev.bias = fold_bn(prev.weight, prev.bias, bn.double())
            self.users[prev.name] = len(n.users)
            return x
        if not isinstance(bn, nn.BatchNorm2d):
            raise self.fail(n, "a BatchNorm1d that does not follow a linear layer")
        c = bn.num_features
        w, b = fold_bn(torch.ones(c, 1, 1, 1, dtype=torch.float64), None, bn.double())
        src = self.tensor(n, x)
        geo = ConvGeometry((1, 1), groups=c)
        name = self.unique(_op_name(n))
        return self.add(
            n, Node("gemm", name, [src], _place(n), "conv", w, b, geo), tuple(value.shape)
        )

    def clamp(self, n, x, lo, hi, value):  # type: ignore[no-untyped-def]
        prev = self.nodes.get(x.name) if isinstance(x, _T) else None
        if prev is not None and self.users[prev.name] == 1 and (prev.requantizes or prev.real_out):
            new_lo = lo if prev.lo is None else (prev.lo if lo is None else max(lo, prev.lo))
            new_hi = hi if prev.hi is None else (prev.hi if hi is None else min(hi, prev.hi))
            if new_lo is None or new_hi is None or new_lo <= new_hi:
                prev.lo, prev.hi = new_lo, new_hi
                self.users[prev.name] = len(n.users)
                return x
        src = self.tensor(n, x)
        out = self.host(n, "clamp", [src])
        node = self.nodes[out.name]
        node.lo, node.hi = lo, hi
        return out

    def _pool_geo(self, n, kernel, stride, padding, ceil_mode) -> PoolGeometry:  # type: ignore[no-untyped-def]
        k = _pair(kernel)
        s = (
            k
            if stride is None or (isinstance(stride, (list, tuple)) and not stride)
            else _pair(stride)
        )
        geo = PoolGeometry(k, s, _pair(padding), bool(ceil_mode))
        if any(2 * p > kk for p, kk in zip(geo.padding, geo.kernel, strict=True)):
            raise self.fail(n, "pool padding larger than half the kernel")
        return geo

    def max_pool(self, n, x, kernel, stride, padding, dilation, ceil_mode, indices):  # type: ignore[no-untyped-def]
        if _pair(dilation) != (1, 1) or indices:
            raise self.fail(n, "max pooling with dilation or returned indices is not supported")
        geo = self._pool_geo(n, kernel, stride, padding, ceil_mode)
        return self.host(n, "maxpool", [self.tensor(n, x)], pool=geo)

    def avg_pool(self, n, x, kernel, stride, padding, ceil_mode, include_pad, divisor):  # type: ignore[no-untyped-def]
        if divisor is not None:
            raise self.fail(n, "average pooling with divisor_override is not supported")
        geo = self._pool_geo(n, kernel, stride, padding, ceil_mode)
        return self.host(
            n, "avgpool", [self.tensor(n, x)], pool=geo, count_include_pad=bool(include_pad)
        )

    def adaptive(self, n, x, value):  # type: ignore[no-untyped-def]
        src = self.tensor(n, x)
        if len(self.shapes[src]) != 4:
            raise self.fail(n, "adaptive pooling of a tensor that is not N x C x H x W")
        return self.host(n, "adaptive_avgpool", [src], output_size=tuple(value.shape[2:]))

    def mean(self, n, x, args, kwargs, value):  # type: ignore[no-untyped-def]
        src = self.tensor(n, x)
        dims = args[0] if args else kwargs.get("dim")
        keep = bool(args[1] if len(args) > 1 else kwargs.get("keepdim", False))
        rank = len(self.shapes[src])
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        if rank != 4 or sorted(d % 4 for d in dims) != [2, 3]:
            raise self.fail(n, "a mean other than over H and W of N x C x H x W")
        if keep:
            return self.host(n, "adaptive_avgpool", [src], output_size=(1, 1))
        return self.host(n, "gap", [src])

    def add_op(self, n, args, kwargs, value):  # type: ignore[no-untyped-def]
        a = args[0]
        b = args[1] if len(args) > 1 else kwargs.get("other")
        if kwargs.get("alpha", 1) != 1 or not all(isinstance(t, (_T, _L)) for t in (a, b)):
            raise self.fail(n, "only the sum of two computed tensors is supported")
        srcs = [self.tensor(n, a), self.tensor(n, b)]
        if self.shapes[srcs[0]] != self.shapes[srcs[1]]:
            raise self.fail(n, "an add with broadcasting is not supported")
        return self.host(n, "add", srcs)

    def cat(self, n, tensors, dim, value):  # type: ignore[no-untyped-def]
        srcs = [self.tensor(n, t) for t in tensors]
        rank = len(self.shapes[srcs[0]])
        if int(dim) % rank != 1:
            raise self.fail(n, "concatenation along a dimension other than the channels")
        return self.host(n, "cat", srcs)

    def sigmoid(self, n, x):  # type: ignore[no-untyped-def]
        prev = self.nodes.get(x.name) if isinstance(x, _T) else None
        if (
            prev is None
            or prev.op != "gemm"
            or self.users[prev.name] != 1
            or prev.lo is not None
            or prev.hi is not None
        ):
            raise self.fail(n, "a sigmoid other than an SE gate on a GEMM's output")
        prev.real_out = True
        return _Gate(prev.name)

    def mul(self, n, a, b, value):  # type: ignore[no-untyped-def]
        if isinstance(a, _Gate):
            a, b = b, a
        if not isinstance(b, _Gate) or not isinstance(a, (_T, _L)):
            raise self.fail(n, "a product other than an SE gate (x * sigmoid(fc(...)))")
        src = self.tensor(n, a)
        if len(self.shapes[src]) != 4 or tuple(value.shape) != self.shapes[src]:
            raise self.fail(n, "an SE gate on a tensor that is not N x C x H x W")
        gate_shape = self.shapes[b.name]
        if gate_shape[:2] != self.shapes[src][:2] or int(np.prod(gate_shape[2:])) != 1:
            raise self.fail(n, "an SE gate with other than one value per channel")
        return self.host(n, "se_scale", [src], gate=b.name)


def build_graph(model: nn.Module, example: torch.Tensor) -> Graph:
    """Trace ``model`` (eval mode) and lower it into a :class:`Graph` (shapes from ``example``)."""
    with warnings.catch_warnings():
        # Copying an exported program's module trips a torch-internal FutureWarning.
        warnings.simplefilter("ignore", FutureWarning)
        model = copy.deepcopy(model).eval().double()
    x = torch.as_tensor(example).double()
    if x.dim() != 4:
        raise LoweringError(f"the example input must be N x C x H x W, got shape {tuple(x.shape)}")
    gm = trace(model, x)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    rec = _Recorder(gm)
    try:
        with torch.no_grad():
            rec.run(x)
    except Exception as exc:  # a user's model raises anything
        raise LoweringError(
            f"the model does not run on an input of shape {tuple(x.shape)}: {one_line(exc)}"
        ) from None
    graph = _Builder(gm, rec.values).run()
    last = graph.nodes[-1] if graph.nodes else None
    if last is not None and last.name == graph.output and last.op == "gemm":
        last.real_out = True  # the logits: real values
    return graph


# ------------------------------------------------------------------------------------------------
# Running the lowered graph in torch: float, calibration, fake-quant
# ------------------------------------------------------------------------------------------------

#: act(node, tensor) -> tensor at a point with a scale (after the node's clamp).
ActFn = Callable[[Node, torch.Tensor], torch.Tensor]
#: params(node, weight, bias) -> (weight, bias) actually used.
ParamFn = Callable[[Node, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def _clamp(node: Node, t: torch.Tensor) -> torch.Tensor:
    return (
        torch.clamp(t, min=node.lo, max=node.hi)
        if node.lo is not None or node.hi is not None
        else t
    )


def _eval_node(node: Node, env: dict[str, torch.Tensor], params: ParamFn) -> torch.Tensor:
    x = env[node.srcs[0]]
    if node.op == "gemm":
        assert node.weight is not None and node.bias is not None
        w, b = params(node, node.weight, node.bias)
        if node.kind == "linear":
            return F.linear(x, w, b)
        geo = node.geometry
        assert geo is not None
        return F.conv2d(x, w, b, geo.stride, geo.padding, geo.dilation, geo.groups)
    a = node.attrs
    if node.op == "maxpool":
        p = a["pool"]
        return F.max_pool2d(x, p.kernel, p.stride, p.padding, ceil_mode=p.ceil_mode)
    if node.op == "avgpool":
        p = a["pool"]
        return F.avg_pool2d(x, p.kernel, p.stride, p.padding, p.ceil_mode, a["count_include_pad"])
    if node.op == "adaptive_avgpool":
        return F.adaptive_avg_pool2d(x, a["output_size"])
    if node.op == "gap":
        return x.mean(dim=(2, 3))
    if node.op == "reshape":
        return x.reshape(x.shape[0], *a["shape"])
    if node.op == "channels":
        return x[:, list(a["index"])]
    if node.op == "add":
        return x + env[node.srcs[1]]
    if node.op == "cat":
        return torch.cat([env[s] for s in node.srcs], dim=1)
    if node.op == "clamp":
        return x
    if node.op == "se_scale":
        gate = torch.sigmoid(env[str(a["gate"])]).reshape(x.shape[0], -1)
        return x * gate[:, :, None, None]
    raise LoweringError(f"{node.name}: unknown operation {node.op!r}")


def run_graph(
    graph: Graph,
    x: torch.Tensor,
    act: ActFn,
    params: ParamFn,
    inp: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Execute ``graph`` in float64 torch with the given hooks."""
    env = {"input": inp(torch.as_tensor(x, dtype=torch.float64))}
    with torch.no_grad():
        for node in graph.nodes:
            t = _clamp(node, _eval_node(node, env, params))
            env[node.name] = act(node, t) if node.requantizes or node.op == "clamp" else t
    return env[graph.output]


def _plain_params(_n: Node, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return w, b


def float_forward(graph: Graph, x: torch.Tensor) -> torch.Tensor:
    """The lowered graph without quantization (equals the model up to float rounding)."""
    return run_graph(graph, x, lambda _n, t: t, _plain_params, lambda t: t)


def calibrate(graph: Graph, calib: torch.Tensor, method: str = "maxabs") -> dict[str, float]:
    """The scale of the input and of every requantization point, from the float forward on
    ``calib``: max |x| / 127 or the PERCENTILE-th percentile of |x| / 127 (1.0 if zero)."""
    if method not in CALIBRATIONS:
        raise LoweringError(
            f"unknown calibration {method!r} (choose from {', '.join(CALIBRATIONS)})"
        )
    calib = torch.as_tensor(calib, dtype=torch.float64)
    if calib.dim() != 4 or tuple(calib.shape[1:]) != tuple(graph.input_shape) or not len(calib):
        raise LoweringError(
            f"calibration images must be N x {'x'.join(map(str, graph.input_shape))}, "
            f"got shape {tuple(calib.shape)}"
        )
    if not torch.isfinite(calib).all():
        raise LoweringError("calibration images hold NaN or infinity")
    seen: dict[str, list[float]] = {}

    def stat(t: torch.Tensor) -> float:
        a = t.abs().flatten()
        if not a.numel():
            return 0.0
        if method == "maxabs":
            return float(a.max())
        if a.numel() > 2**24:
            a = a[torch.randperm(a.numel(), generator=torch.Generator().manual_seed(0))[: 2**24]]
        return float(torch.quantile(a, PERCENTILE / 100))

    def record(name: str, t: torch.Tensor) -> torch.Tensor:
        seen.setdefault(name, []).append(stat(t))
        return t

    for chunk in torch.split(calib, CALIB_CHUNK):
        run_graph(
            graph,
            chunk,
            lambda nd, t: record(nd.name, t),
            _plain_params,
            lambda t: record("input", t),
        )
    # max-abs: the maximum over the chunks; percentile: the mean of the chunks' percentiles.
    agg: Callable[[list[float]], float] = max if method == "maxabs" else (lambda v: sum(v) / len(v))
    return {k: (agg(v) / QMAX if agg(v) > 0 else 1.0) for k, v in seen.items()}


def propagate_scales(graph: Graph, scales: dict[str, float]) -> dict[str, float]:
    """Scales of every tensor: requantization points their own, the rest their source's."""
    out = dict(scales)
    for node in graph.nodes:
        if node.name not in out and not node.real_out:
            src = node.srcs[0]
            if src in out:
                out[node.name] = out[src]
    return out


def _fq(t: torch.Tensor, scale: float, lo: float | None, hi: float | None) -> torch.Tensor:
    qlo = -QMAX if lo is None else max(-QMAX, int(torch.round(torch.tensor(lo / scale))))
    qhi = QMAX if hi is None else min(QMAX, int(torch.round(torch.tensor(hi / scale))))
    return torch.clamp(torch.round(t / scale), qlo, qhi) * scale


def fake_quant_forward(
    graph: Graph,
    x: torch.Tensor,
    scales: dict[str, float],
    trace_out: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The fake-quantized float64 forward at the integer network's rounding points: weights and
    biases dequantized from their integers, the input and every requantization point rounded
    and clamped to its int8 grid (ReLU/ReLU6/clamp bounds included). ``trace_out`` (if given)
    receives each such point's values by name."""
    s = propagate_scales(graph, scales)

    def act(node: Node, t: torch.Tensor) -> torch.Tensor:
        scale = s[node.name]
        out = _fq(t, scale, node.lo, node.hi)
        if trace_out is not None:
            trace_out[node.name] = out
        return out

    def params(node: Node, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s_in = s[node.srcs[0]]
        qw, qb = quantize_layer(w, b, s_in)
        return (
            torch.from_numpy(qw.dequantize()),
            torch.from_numpy(qb.astype(np.float64) * s_in * qw.scale),
        )

    return run_graph(graph, x, act, params, lambda t: _fq(t, s["input"], None, None))


# ------------------------------------------------------------------------------------------------
# The integer network
# ------------------------------------------------------------------------------------------------


def _host_op(node: Node, dst: str, s: dict[str, float]) -> HostOp:
    a = node.attrs
    assert node.op in HOST_OPS
    return HostOp(
        node.op,
        node.name,
        node.srcs[0],
        dst,
        s.get(node.name) if node.requantizes else None,
        gate=a.get("gate"),
        inputs=tuple(node.srcs[1:]),
        pool=a.get("pool"),
        count_include_pad=a.get("count_include_pad", True),
        output_size=a.get("output_size"),
        shape=tuple(a["shape"]) if "shape" in a else None,
        index=tuple(a["index"]) if "index" in a else None,
        lo=node.lo,
        hi=node.hi,
    )


def to_quantnet(graph: Graph, scales: dict[str, float], name: str) -> QuantNet:
    """The integer network of ``graph`` at the calibrated ``scales``."""
    s = propagate_scales(graph, scales)
    ops: list[GemmLayer | HostOp] = []
    for node in graph.nodes:
        dst = node.name
        if node.op != "gemm":
            ops.append(_host_op(node, dst, s))
            continue
        assert node.weight is not None and node.bias is not None
        s_in = s[node.srcs[0]]
        qw, qb = quantize_layer(node.weight, node.bias, s_in)
        ops.append(
            GemmLayer(
                name=node.name,
                kind=node.kind,
                src=node.srcs[0],
                dst=dst,
                weight=qw.q,
                w_scale=qw.scale,
                bias=qb.astype(np.int32),
                in_scale=s_in,
                out_scale=None if node.real_out or node.name == graph.output else s[node.name],
                geometry=node.geometry,
                lo=node.lo,
                hi=node.hi,
            )
        )
    return QuantNet(
        name, cast("tuple[int, int, int]", tuple(graph.input_shape)), s["input"], ops, graph.output
    )


@dataclass
class Lowered:
    """A lowered model: its graph, the calibrated scales and the integer network."""

    graph: Graph
    scales: dict[str, float]
    net: QuantNet


def lower(
    model: nn.Module,
    example: torch.Tensor,
    calib: torch.Tensor,
    name: str,
    calibration: str = "maxabs",
) -> Lowered:
    """Trace, calibrate on ``calib``, quantize: the lowered graph and its integer network."""
    graph = build_graph(model, example)
    scales = calibrate(graph, calib, calibration)
    return Lowered(graph, scales, to_quantnet(graph, scales, name))


def lower_module(
    model: nn.Module,
    example: torch.Tensor,
    calib: torch.Tensor,
    name: str,
    calibration: str = "maxabs",
) -> QuantNet:
    """The integer network of any traceable ``model``: trace with ``example`` (N x C x H x W),
    calibrate the activation scales on ``calib`` (``"maxabs"`` or ``"percentile"``)."""
    return lower(model, example, calib, name, calibration).net


@dataclass(frozen=True)
class FakeQuantCheck:
    """The integer network against the fake-quantized torch forward on some images."""

    max_abs_logit_diff: float
    prediction_agreement: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_logit_diff <= self.tolerance and self.prediction_agreement == 1.0

    def as_record(self) -> dict[str, float]:
        return {
            "max_abs_logit_diff": self.max_abs_logit_diff,
            "prediction_agreement": self.prediction_agreement,
            "tolerance": self.tolerance,
        }


def fake_quant_check(
    lowered: Lowered, x: torch.Tensor, rel_tolerance: float = 0.01
) -> FakeQuantCheck:
    """Run the integer network and the fake-quant forward on ``x``: argmax agreement and the
    largest logit difference, against a tolerance of ``rel_tolerance`` * max |fake-quant logit|."""
    from systolic.models.network import run

    x = torch.as_tensor(x, dtype=torch.float64)
    fq = fake_quant_forward(lowered.graph, x, lowered.scales).numpy()
    got = run(lowered.net, lowered.net.quantize_input(x.numpy())).real()
    fq2 = fq.reshape(fq.shape[0], -1)
    got2 = got.reshape(got.shape[0], -1)
    diff = float(np.abs(fq2 - got2).max()) if fq2.size else 0.0
    agree = float((predictions_np(fq2) == predictions_np(got2)).mean()) if fq2.size else 1.0
    tol = rel_tolerance * float(np.abs(fq2).max()) if fq2.size else 0.0
    return FakeQuantCheck(diff, agree, tol)


def predictions_np(logits: np.ndarray) -> np.ndarray:
    """Classes from logits (first maximum wins, as :func:`models.network.predictions`)."""
    out: np.ndarray = np.argmax(logits, axis=1)
    return out


def iter_gemm_nodes(graph: Graph) -> Iterator[Node]:
    """The GEMM nodes of a lowered graph."""
    return (n for n in graph.nodes if n.op == "gemm")
