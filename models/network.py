"""The integer network: a CNN lowered to int8 GEMMs for the array plus the host's work between them.

A :class:`QuantNet` is a list of operations on named tensors. :class:`GemmLayer` (conv or linear)
is what runs on the array: its input int8 activations are lowered to one GEMM per group
(im2col), the array returns the int32 products A @ B, and the host adds the int32 bias and
requantizes in integers only (an int32 multiplier and a shift per output channel, gemmlowp
style: :func:`systolic.models.quant.requantize_int`), clamping to the activation's bounds (ReLU,
ReLU6, hardtanh, clamp). Everything else is host work: max and average pooling (any kernel,
stride, padding, ceil_mode), adaptive average pooling, global average pool, reshape (flatten),
channel selection (a channel shuffle, chunk or split), residual add and concatenation (each
input rescaled to one output scale, integers only), a clamp, and the SE gate (sigmoid of the
excitation, channel scaling: the one host operation computed in floating point).

Tensors are int8 activations with one scale each (zero-point 0), or real float64 values
(``scale is None``: the classifier's logits and the SE excitation). The same code runs the
integer reference (``golden`` GEMMs in NumPy) and the RTL run (GEMMs through the array):
:func:`run` takes the GEMM engine as an argument, and :func:`run_steps` yields the GEMMs one
layer at a time so that an asynchronous caller (the cocotb test) can feed them to a simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from systolic.errors import LoweringError
from systolic.models.im2col import (
    ConvGeometry,
    PoolGeometry,
    adaptive_windows,
    conv_gemms,
    gemm_outputs_to_nchw,
    linear_gemm,
)
from systolic.models.quant import (
    int8_bound,
    quantize_multiplier,
    requantize_int,
    rescale_sum,
    to_int8,
)

#: Accumulator width of the integer reference (the array runs with ACC_W = 32).
ACC_BITS = 32


@dataclass
class Tensor:
    """An activation: int8 values ``q`` with scale ``scale``, or real values (``scale`` None)."""

    q: np.ndarray
    scale: float | None

    def real(self) -> np.ndarray:
        return self.q.astype(np.float64) * (1.0 if self.scale is None else self.scale)


requant = to_int8  # real values to int8 codes (round half to even, ReLU as the lower clamp)


def _bounds(scale: float, relu: bool, lo: float | None, hi: float | None) -> tuple[int, int]:
    """int8 clamp bounds at ``scale`` for ReLU (lower bound 0) and the real bounds lo, hi."""
    if relu:
        lo = 0.0 if lo is None else max(lo, 0.0)
    return int8_bound(lo, scale, True), int8_bound(hi, scale, False)


def _clamp_real(x: np.ndarray, relu: bool, lo: float | None, hi: float | None) -> np.ndarray:
    if relu:
        lo = 0.0 if lo is None else max(lo, 0.0)
    return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)


@dataclass
class GemmLayer:
    """A conv or linear layer on the array (BN already folded into ``weight`` and ``bias``).

    ``weight``: int8, (C_out, C_in/g, kh, kw) or (out, in); ``w_scale``: per output channel;
    ``bias``: int32 in the accumulator's scale ``in_scale * w_scale``. The output is int8 at
    ``out_scale``: acc + bias requantized in integers (:attr:`multiplier`: M0 and shift per
    channel for in_scale * w_scale / out_scale) and clamped to the activation's bounds (``relu``:
    lower bound 0; ``lo``/``hi``: real bounds, None = unbounded). With ``out_scale`` None the
    output is real values (the logits, the SE excitation), clamped in real units.
    """

    name: str
    kind: str  # "conv" or "linear"
    src: str
    dst: str
    weight: np.ndarray
    w_scale: np.ndarray
    bias: np.ndarray
    in_scale: float
    out_scale: float | None
    relu: bool = False
    geometry: ConvGeometry | None = None
    lo: float | None = None
    hi: float | None = None

    op = "gemm"

    @property
    def groups(self) -> int:
        return self.geometry.groups if self.geometry else 1

    @property
    def multiplier(self) -> tuple[np.ndarray, np.ndarray]:
        """Per output channel (M0, shift): in_scale * w_scale / out_scale as integers."""
        assert self.out_scale is not None  # only an int8 output is requantized
        return quantize_multiplier(
            self.in_scale * np.asarray(self.w_scale, np.float64) / self.out_scale
        )

    def lower(self, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (A, B) int8 operand pairs of this layer for input ``x``, one per group."""
        if self.kind == "conv":
            if x.ndim != 4:
                raise LoweringError(f"{self.name}: conv input must be N x C x H x W, got {x.shape}")
            assert self.geometry is not None  # a conv layer has its geometry
            return conv_gemms(x, self.weight, self.geometry)
        try:
            return [linear_gemm(x, self.weight)]
        except LoweringError as exc:
            raise LoweringError(f"{self.name}: {exc}") from None

    def finish(self, x: np.ndarray, products: list[np.ndarray], env: dict[str, Tensor]) -> Tensor:
        """Bias and requantization of the GEMM results ``products`` (one per group)."""
        if self.kind == "conv":
            assert self.geometry is not None  # a conv layer has its geometry
            ho, wo = self.geometry.output_size(x.shape[2], x.shape[3])
            acc = gemm_outputs_to_nchw(products, x.shape[0], ho, wo).astype(np.int64)
            acc = acc + self.bias.astype(np.int64)[None, :, None, None]
            per_channel: tuple[int, ...] = (1, -1, 1, 1)
        else:
            acc = products[0].astype(np.int64) + self.bias.astype(np.int64)[None, :]
            per_channel = (1, -1)
        if self.out_scale is None:
            real = acc.astype(np.float64) * (self.in_scale * self.w_scale.reshape(per_channel))
            return Tensor(_clamp_real(real, self.relu, self.lo, self.hi), None)
        m0, shift = self.multiplier
        qmin, qmax = _bounds(self.out_scale, self.relu, self.lo, self.hi)
        try:
            q = requantize_int(acc, m0.reshape(per_channel), shift.reshape(per_channel), qmin, qmax)
        except LoweringError as exc:
            raise LoweringError(f"{self.name}: {exc}") from None
        return Tensor(q, self.out_scale)


def _need(value: Any, what: str, name: str) -> Any:
    if value is None:
        raise LoweringError(f"{name}: the operation needs its {what}")
    return value


def _pool_windows(x: np.ndarray, geo: PoolGeometry, fill: int) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) windows of ``x`` padded with ``fill`` (ceil_mode included)."""
    h, w = x.shape[2:]
    ho, wo = geo.output_size(h, w)
    (kh, kw), (sh, sw), (ph, pw) = geo.kernel, geo.stride, geo.padding
    extra_h = max(0, (ho - 1) * sh + kh - h - 2 * ph)
    extra_w = max(0, (wo - 1) * sw + kw - w - 2 * pw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), constant_values=fill)
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # type: ignore[call-overload]
    out: np.ndarray = win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
    return out


def _avg_counts(h: int, w: int, geo: PoolGeometry, include_pad: bool) -> np.ndarray:
    """torch's divisor of every output position of an average pool: (Ho, Wo)."""
    ho, wo = geo.output_size(h, w)
    counts = []
    for size, out, k, s, p in zip(
        (h, w), (ho, wo), geo.kernel, geo.stride, geo.padding, strict=True
    ):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        if not include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    out_counts: np.ndarray = counts[0][:, None] * counts[1][None, :]
    return out_counts


def _not_channels(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[0], *shape[2:])


def _average(
    x: Tensor, sums: np.ndarray, counts: np.ndarray, out_scale: float, b: tuple[int, int]
) -> Tensor:
    """Window sums of int8 codes divided by their counts and requantized, in integers only:
    the multiplier per position is s_in / (s_out * count)."""
    assert x.scale is not None
    m0, shift = quantize_multiplier(x.scale / (out_scale * counts.astype(np.float64)))
    return Tensor(requantize_int(sums, m0, shift, *b), out_scale)


@dataclass
class HostOp:
    """Work the host does between GEMM layers (the module's docstring lists them).

    ``maxpool``/``avgpool``: ``pool`` geometry (avgpool: ``count_include_pad``);
    ``adaptive_avgpool``: ``output_size``; ``gap``: global average pool to N x C; ``flatten``
    and ``reshape`` (to ``shape``, per sample; flat order kept); ``shuffle``: channel shuffle with
    ``groups``; ``channels``: output channel (or feature) j is input channel ``index[j]``;
    ``add``: ``src`` + each of ``inputs``; ``cat``: ``src`` and ``inputs`` along the channels;
    ``clamp``: to real bounds; ``se_scale``: ``src`` per channel times sigmoid(``gate``).
    Operations with ``out_scale`` requantize to it (integers only, except se_scale); every
    int8 result is clamped to ``relu`` (lower bound 0) and the real bounds ``lo``, ``hi``.
    """

    op: str
    name: str
    src: str
    dst: str
    out_scale: float | None = None
    groups: int = 1
    gate: str | None = None
    inputs: tuple[str, ...] = ()
    pool: PoolGeometry | None = None
    count_include_pad: bool = True
    output_size: tuple[int, int] | None = None
    shape: tuple[int, ...] | None = None
    index: tuple[int, ...] | None = None
    relu: bool = False
    lo: float | None = None
    hi: float | None = None

    @property
    def reads(self) -> list[str]:
        """Every tensor the operation reads."""
        return [self.src, *self.inputs] + ([self.gate] if self.gate else [])

    def _b(self, scale: float) -> tuple[int, int]:
        return _bounds(scale, self.relu, self.lo, self.hi)

    def apply(self, env: dict[str, Tensor]) -> Tensor:
        x = env[self.src]
        if self.op in REQUANTIZING and self.out_scale is None:
            raise LoweringError(f"{self.name}: {self.op} needs an output scale")
        if self.op in SPATIAL and x.q.ndim != 4:
            raise LoweringError(f"{self.name}: {self.op} takes N x C x H x W, got {x.q.shape}")
        if x.scale is None and self.op not in ("flatten", "reshape", "channels", "clamp"):
            raise LoweringError(f"{self.name}: {self.op} takes int8 activations")
        handler = getattr(self, f"_op_{self.op}", None)
        if handler is None:
            raise LoweringError(f"{self.name}: unknown host operation {self.op!r}")
        out: Tensor = handler(x, env)
        return out

    def _op_maxpool(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        geo = _need(self.pool, "pool geometry", self.name)
        win = _pool_windows(x.q.astype(np.int16), geo, -(2**15))
        return Tensor(win.max(axis=(4, 5)).astype(np.int8), x.scale)

    def _op_avgpool(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        geo = _need(self.pool, "pool geometry", self.name)
        sums = _pool_windows(x.q.astype(np.int64), geo, 0).sum(axis=(4, 5))
        counts = _avg_counts(x.q.shape[2], x.q.shape[3], geo, self.count_include_pad)
        assert self.out_scale is not None
        return _average(x, sums, counts[None, None], self.out_scale, self._b(self.out_scale))

    def _op_adaptive_avgpool(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        oh, ow = _need(self.output_size, "output size", self.name)
        h, w = x.q.shape[2:]
        rows, cols = adaptive_windows(h, oh), adaptive_windows(w, ow)
        q = x.q.astype(np.int64)
        sums = np.stack(
            [
                np.stack([q[:, :, r0:r1, c0:c1].sum(axis=(2, 3)) for c0, c1 in cols], -1)
                for r0, r1 in rows
            ],
            -2,
        )
        counts = np.array([[(r1 - r0) * (c1 - c0) for c0, c1 in cols] for r0, r1 in rows])
        assert self.out_scale is not None
        return _average(x, sums, counts[None, None], self.out_scale, self._b(self.out_scale))

    def _op_gap(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        h, w = x.q.shape[2:]
        sums = x.q.astype(np.int64).sum(axis=(2, 3))
        assert self.out_scale is not None
        return _average(x, sums, np.array(h * w), self.out_scale, self._b(self.out_scale))

    def _op_flatten(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        return Tensor(x.q.reshape(x.q.shape[0], -1), x.scale)

    def _op_reshape(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        shape = _need(self.shape, "shape", self.name)
        if int(np.prod(shape)) != int(np.prod(x.q.shape[1:])):
            raise LoweringError(f"{self.name}: cannot reshape {x.q.shape[1:]} to {tuple(shape)}")
        return Tensor(x.q.reshape((x.q.shape[0], *shape)), x.scale)

    def _op_shuffle(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        n, c, h, w = x.q.shape
        if c % self.groups:
            raise LoweringError(f"{self.name}: {self.groups} groups do not divide {c} channels")
        q = x.q.reshape(n, self.groups, c // self.groups, h, w).transpose(0, 2, 1, 3, 4)
        return Tensor(np.ascontiguousarray(q).reshape(n, c, h, w), x.scale)

    def _op_channels(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        index = np.asarray(_need(self.index, "channel index", self.name), np.int64)
        if x.q.ndim < 2 or index.size == 0 or index.min() < 0 or index.max() >= x.q.shape[1]:
            raise LoweringError(f"{self.name}: channel index out of range for {x.q.shape}")
        return Tensor(np.ascontiguousarray(x.q[:, index]), x.scale)

    def _op_clamp(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        if x.scale is None:
            return Tensor(_clamp_real(x.q, self.relu, self.lo, self.hi), None)
        return Tensor(np.clip(x.q, *self._b(x.scale)).astype(np.int8), x.scale)

    def _int_inputs(self, env: dict[str, Tensor]) -> list[Tensor]:
        ts = [env[t] for t in [self.src, *self.inputs]]
        if any(t.scale is None for t in ts):
            raise LoweringError(f"{self.name}: {self.op} takes int8 activations")
        return ts

    def _op_add(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        ts = self._int_inputs(env)
        if len(ts) < 2 or any(t.q.shape != ts[0].q.shape for t in ts):
            raise LoweringError(f"{self.name}: add needs two or more tensors of one shape")
        assert self.out_scale is not None
        terms = [(t.q, float(t.scale) / self.out_scale) for t in ts]  # type: ignore[arg-type]
        return Tensor(rescale_sum(terms, *self._b(self.out_scale)), self.out_scale)

    def _op_cat(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        ts = self._int_inputs(env)
        if any(
            t.q.ndim != x.q.ndim or _not_channels(t.q.shape) != _not_channels(x.q.shape) for t in ts
        ):
            raise LoweringError(f"{self.name}: cat inputs do not match in shape")
        assert self.out_scale is not None
        b = self._b(self.out_scale)
        parts = []
        for t in ts:
            m0, shift = quantize_multiplier(float(t.scale) / self.out_scale)  # type: ignore[arg-type]
            parts.append(requantize_int(t.q, m0, shift, *b))
        return Tensor(np.concatenate(parts, axis=1), self.out_scale)

    def _op_se_scale(self, x: Tensor, env: dict[str, Tensor]) -> Tensor:
        gate = env[_need(self.gate, "gate", self.name)].real()
        g = 1.0 / (1.0 + np.exp(-gate.reshape(gate.shape[0], -1)))
        if g.shape != x.q.shape[:2]:
            raise LoweringError(f"{self.name}: gate {gate.shape} does not match {x.q.shape}")
        assert self.out_scale is not None
        real = _clamp_real(x.real() * g[:, :, None, None], self.relu, self.lo, self.hi)
        q = requant(real, self.out_scale, False)
        return Tensor(q, self.out_scale)


HOST_OPS = (
    "maxpool",
    "avgpool",
    "adaptive_avgpool",
    "gap",
    "flatten",
    "reshape",
    "shuffle",
    "channels",
    "add",
    "cat",
    "clamp",
    "se_scale",
)
#: Host operations on feature maps (N x C x H x W).
SPATIAL = ("maxpool", "avgpool", "adaptive_avgpool", "gap", "shuffle", "se_scale")
#: Host operations that requantize to their own output scale.
REQUANTIZING = ("avgpool", "adaptive_avgpool", "gap", "add", "cat", "se_scale")
Op = GemmLayer | HostOp


@dataclass
class QuantNet:
    """An integer network: input scale, operations in order, the output (logits) tensor name."""

    name: str
    input_shape: tuple[int, int, int]
    input_scale: float
    ops: list[Op] = field(default_factory=list)
    output: str = "logits"

    @property
    def layers(self) -> list[GemmLayer]:
        return [op for op in self.ops if isinstance(op, GemmLayer)]

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Float images (N x C x H x W) to the int8 input of the first layer."""
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.input_shape):
            raise LoweringError(
                f"{self.name} takes N x {'x'.join(map(str, self.input_shape))} images, "
                f"got shape {x.shape}"
            )
        return requant(np.asarray(x, np.float64), self.input_scale, False)


#: A GEMM engine: (layer, group index, A, B) -> C = A @ B as int64.
GemmFn = Callable[[GemmLayer, int, np.ndarray, np.ndarray], np.ndarray]


def exact_gemm(layer: GemmLayer, group: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The integer reference's GEMM: exact int64, checked to fit the 32-bit accumulator."""
    from systolic.models.gemm import exact_matmul  # float64 BLAS where exact: ~50x the int path

    c = exact_matmul(a, b)
    if c.size and np.abs(c).max() >= 2 ** (ACC_BITS - 1):
        raise LoweringError(f"{layer.name}: a dot product overflows the {ACC_BITS}-bit accumulator")
    return c


@dataclass
class LayerGemms:
    """What :func:`run_steps` yields for one GEMM layer: its operand pairs, one per group."""

    layer: GemmLayer
    pairs: list[tuple[np.ndarray, np.ndarray]]


def run_steps(
    net: QuantNet, x_q: np.ndarray, trace: dict[str, Tensor] | None = None
) -> Generator[LayerGemms, list[np.ndarray], Tensor]:
    """Execute ``net`` on int8 input ``x_q``; yields each GEMM layer's operands and expects the
    products back through ``send``. Returns the output tensor (StopIteration.value)."""
    env: dict[str, Tensor] = {"input": Tensor(x_q, net.input_scale)}
    for op in net.ops:
        reads = [op.src] if isinstance(op, GemmLayer) else op.reads
        missing = [t for t in reads if t not in env]
        if missing:
            raise LoweringError(f"{op.name}: input tensor {missing[0]!r} is not computed before it")
        if isinstance(op, GemmLayer):
            src = env[op.src]
            if src.scale is None or src.scale != op.in_scale:
                raise LoweringError(
                    f"{op.name}: its input {op.src!r} has scale {src.scale}, the layer was "
                    f"quantized for {op.in_scale}"
                )
            x = src.q
            pairs = op.lower(x)
            products = yield LayerGemms(op, pairs)
            if len(products) != len(pairs):
                raise LoweringError(f"{op.name}: {len(products)} GEMM results for {len(pairs)}")
            env[op.dst] = op.finish(x, products, env)
        else:
            env[op.dst] = op.apply(env)
        if trace is not None:
            trace[op.dst] = env[op.dst]
    return env[net.output]


def run(
    net: QuantNet,
    x_q: np.ndarray,
    gemm: GemmFn = exact_gemm,
    trace: dict[str, Tensor] | None = None,
) -> Tensor:
    """Execute ``net`` synchronously with the GEMM engine ``gemm``; returns the logits."""
    steps = run_steps(net, x_q, trace)
    try:
        item = next(steps)
        while True:
            item = steps.send([gemm(item.layer, g, a, b) for g, (a, b) in enumerate(item.pairs)])
    except StopIteration as stop:
        logits: Tensor = stop.value
        return logits


def predictions(logits: Tensor) -> np.ndarray:
    """Class predictions from the logits (argmax of the real values; first maximum wins)."""
    classes: np.ndarray = np.argmax(logits.real(), axis=1)
    return classes
