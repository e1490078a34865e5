"""The integer network: a CNN lowered to int8 GEMMs for the array plus the host's work between them.

A :class:`QuantNet` is a list of operations on named tensors. :class:`GemmLayer` (conv or linear)
is what runs on the array: its input int8 activations are lowered to one GEMM per group
(im2col), the array returns the int32 products A @ B, and the host adds the int32 bias and
requantizes (rounding, clamping; ReLU is the lower clamp, a residual input is added in real
units first). Everything else is host work: max-pool, flatten, global average pool, channel
shuffle and the SE gate (sigmoid of the excitation, channel scaling).

Tensors are int8 activations with one scale each (zero-point 0), or real float64 values
(``scale is None``: the classifier's logits and the SE excitation). The same code runs the
integer reference (``golden`` GEMMs in NumPy) and the RTL run (GEMMs through the array):
:func:`run` takes the GEMM engine as an argument, and :func:`run_steps` yields the GEMMs one
layer at a time so that an asynchronous caller (the cocotb test) can feed them to a simulator.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import numpy as np

from systolic.errors import LoweringError
from systolic.models.im2col import ConvGeometry, conv_gemms, gemm_outputs_to_nchw, linear_gemm
from systolic.models.quant import to_int8

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


@dataclass
class GemmLayer:
    """A conv or linear layer on the array (BN already folded into ``weight`` and ``bias``).

    ``weight``: int8, (C_out, C_in/g, kh, kw) or (out, in); ``w_scale``: per output channel;
    ``bias``: int32 in the accumulator's scale ``in_scale * w_scale``. The output is int8 at
    ``out_scale`` (requantized, ReLU if ``relu``) or, with ``out_scale`` None, real values.
    ``residual``: a tensor added (in real units) before the ReLU and requantization.
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
    residual: str | None = None

    op = "gemm"

    @property
    def groups(self) -> int:
        return self.geometry.groups if self.geometry else 1

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
        """Bias, residual, requantization of the GEMM results ``products`` (one per group)."""
        if self.kind == "conv":
            assert self.geometry is not None  # a conv layer has its geometry
            ho, wo = self.geometry.output_size(x.shape[2], x.shape[3])
            acc = gemm_outputs_to_nchw(products, x.shape[0], ho, wo).astype(np.int64)
            acc = acc + self.bias.astype(np.int64)[None, :, None, None]
            w_scale = self.w_scale[None, :, None, None]
        else:
            acc = products[0].astype(np.int64) + self.bias.astype(np.int64)[None, :]
            w_scale = self.w_scale[None, :]
        real = acc.astype(np.float64) * (self.in_scale * w_scale)
        if self.residual is not None:
            real = real + env[self.residual].real()
        if self.out_scale is None:
            return Tensor(np.maximum(real, 0) if self.relu else real, None)
        return Tensor(requant(real, self.out_scale, self.relu), self.out_scale)


@dataclass
class HostOp:
    """Work the host does between GEMM layers.

    ``maxpool`` (2x2, stride 2), ``flatten`` (channel-major), ``gap`` (global average pool,
    requantized to ``out_scale``), ``shuffle`` (channel shuffle with ``groups``), ``se_scale``
    (multiply ``src`` per channel by sigmoid(``gate``), requantize to ``out_scale``).
    """

    op: str
    name: str
    src: str
    dst: str
    out_scale: float | None = None
    groups: int = 1
    gate: str | None = None

    def apply(self, env: dict[str, Tensor]) -> Tensor:
        x = env[self.src]
        if self.op == "maxpool":
            n, c, h, w = x.q.shape
            q = x.q[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2)
            return Tensor(q.max(axis=(3, 5)), x.scale)
        if self.op == "flatten":
            return Tensor(x.q.reshape(x.q.shape[0], -1), x.scale)
        if self.op == "gap":
            assert self.out_scale is not None  # gap requantizes
            return Tensor(
                requant(x.real().mean(axis=(2, 3)), self.out_scale, False), self.out_scale
            )
        if self.op == "shuffle":
            n, c, h, w = x.q.shape
            q = x.q.reshape(n, self.groups, c // self.groups, h, w).transpose(0, 2, 1, 3, 4)
            return Tensor(np.ascontiguousarray(q).reshape(n, c, h, w), x.scale)
        if self.op == "se_scale":
            assert self.gate is not None and self.out_scale is not None  # se_scale has both
            g = 1.0 / (1.0 + np.exp(-env[self.gate].real()))
            return Tensor(
                requant(x.real() * g[:, :, None, None], self.out_scale, False), self.out_scale
            )
        raise LoweringError(f"{self.name}: unknown host operation {self.op!r}")


HOST_OPS = ("maxpool", "flatten", "gap", "shuffle", "se_scale")
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
        if op.src not in env:
            raise LoweringError(f"{op.name}: input tensor {op.src!r} is not computed before it")
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
