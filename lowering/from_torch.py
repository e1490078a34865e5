"""From a trained (pruned) torch model to a :class:`~systolic.models.network.QuantNet`.

Steps: check that every module is one the lowering supports (else one error naming the layer),
fold each BN into its conv (eval mode), calibrate one activation scale per requantization point
on training images (max |x| / 127 of the float model), quantize weights per output channel and
biases in the accumulator's scale.

:func:`torch_forward` walks the torch model with its own torch ops (conv2d, linear, max-pool,
sigmoid) in float64, either plain (calibration; equals the model's forward) or fake-quantized:
weights and biases replaced by their dequantized integers and every activation rounded to its
int8 grid at the same points as the integer network. The integer network is built separately
from the same structure (:func:`build_quantnet`), so the two agreeing checks the lowering
(im2col, groups, bias, requantization, host operations) through independent execution; they share
only the parameter quantization (``quant.quantize_layer``), which is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from systolic.errors import LoweringError
from systolic.lowering.fold import fold_bn
from systolic.lowering.quant import quantize_layer
from systolic.models.im2col import ConvGeometry
from systolic.models.network import GemmLayer, HostOp, QuantNet
from systolic.models.quant import QMAX
from systolic.pruning.models import (
    ChannelShuffle,
    ConvStage,
    DigitsCNN,
    SEBlock,
    ShuffleDigitsNet,
    ShuffleUnit,
    input_shape,
)


def check_supported(model: nn.Module) -> None:
    """Raise LoweringError naming the first layer the lowering cannot handle, and why."""
    if not isinstance(model, DigitsCNN | ShuffleDigitsNet):
        raise LoweringError(
            f"model of type {type(model).__name__} is not supported: the lowering handles the "
            "digits CNNs of systolic.pruning (DigitsCNN, ShuffleDigitsNet)"
        )
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.padding_mode != "zeros":
            raise LoweringError(f"{name}: padding mode {module.padding_mode!r} (only zeros)")
        if isinstance(module, nn.BatchNorm2d) and module.running_var is None:
            raise LoweringError(f"{name}: batch norm without running statistics cannot be folded")
        if isinstance(module, ConvStage):
            if not isinstance(module.gate, nn.Identity):
                raise LoweringError(
                    f"{name}.gate: a {type(module.gate).__name__} is attached (an AutoPruner "
                    "gate while it trains); lower the pruned model, which has none"
                )
            if not isinstance(module.se, nn.Identity | SEBlock):
                raise LoweringError(f"{name}.se: unsupported block {type(module.se).__name__}")
            if not isinstance(module.pool, nn.Identity | nn.MaxPool2d):
                raise LoweringError(f"{name}.pool: unsupported {type(module.pool).__name__}")
        if isinstance(module, nn.MaxPool2d) and (
            module.kernel_size not in (2, (2, 2))
            or module.stride not in (2, (2, 2), None)
            or module.padding not in (0, (0, 0))
            or module.dilation not in (1, (1, 1))
            or module.ceil_mode
        ):
            raise LoweringError(f"{name}: only 2x2 max-pooling with stride 2 is supported")
        if isinstance(module, ShuffleDigitsNet):
            for i, pool in enumerate(module.pools):
                if not isinstance(pool, nn.Identity | nn.MaxPool2d):
                    raise LoweringError(f"{name}.pools.{i}: unsupported {type(pool).__name__}")
        if isinstance(module, ShuffleUnit) and not isinstance(module.shuffle, ChannelShuffle):
            raise LoweringError(
                f"{name}.shuffle: unsupported {type(module.shuffle).__name__} (a channel shuffle)"
            )


def _geometry(conv: nn.Conv2d) -> ConvGeometry:
    # torch types a conv's geometry as tuple[int, ...] (padding also as a string): a Conv2d's
    # are int pairs.
    return ConvGeometry(
        cast("tuple[int, int]", tuple(conv.kernel_size)),
        cast("tuple[int, int]", tuple(conv.stride)),
        cast("tuple[int, int]", tuple(conv.padding)),
        cast("tuple[int, int]", tuple(conv.dilation)),
        conv.groups,
    )


def _conv_args(conv: nn.Conv2d) -> dict:
    return {
        "stride": conv.stride,
        "padding": conv.padding,
        "dilation": conv.dilation,
        "groups": conv.groups,
    }


# ------------------------------------------------------------------------------------------------
# The torch walk: float (calibration) or fake-quantized
# ------------------------------------------------------------------------------------------------

#: act(point, tensor, relu) -> tensor: what happens at a requantization point.
ActFn = Callable[[str, torch.Tensor, bool], torch.Tensor]
#: params(layer, weight, bias, input point) -> (weight, bias) actually used.
ParamFn = Callable[[str, torch.Tensor, torch.Tensor, str], tuple[torch.Tensor, torch.Tensor]]


def _linear_params(fc: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    b = fc.bias if fc.bias is not None else torch.zeros(fc.out_features, dtype=fc.weight.dtype)
    return fc.weight.detach(), b.detach()


def _walk_cnn(model: DigitsCNN, x: torch.Tensor, act: ActFn, params: ParamFn) -> torch.Tensor:
    x = act("input", x, False)
    cur = "input"
    for i, st in enumerate(model.stages):
        assert isinstance(st, ConvStage)
        w, b = fold_bn(st.conv.weight, st.conv.bias, st.bn)
        w, b = params(f"stages.{i}.conv", w, b, cur)
        x = act(f"stages.{i}", F.relu(F.conv2d(x, w, b, **_conv_args(st.conv))), True)
        cur = f"stages.{i}"
        if isinstance(st.se, SEBlock):
            p = f"stages.{i}.se"
            sq = act(f"{p}.squeeze", x.mean(dim=(2, 3)), False)
            w1, b1 = params(f"{p}.fc1", *_linear_params(st.se.fc1), f"{p}.squeeze")
            h = act(f"{p}.fc1", F.relu(F.linear(sq, w1, b1)), True)
            w2, b2 = params(f"{p}.fc2", *_linear_params(st.se.fc2), f"{p}.fc1")
            x = act(p, x * torch.sigmoid(F.linear(h, w2, b2))[:, :, None, None], False)
            cur = p
        if isinstance(st.pool, nn.MaxPool2d):
            x = F.max_pool2d(x, 2)
    w, b = params("head", *_linear_params(model.head), cur)
    return F.linear(torch.flatten(x, 1), w, b)


def _walk_shuffle(
    model: ShuffleDigitsNet, x: torch.Tensor, act: ActFn, params: ParamFn
) -> torch.Tensor:
    x = act("input", x, False)
    w, b = params("stem", *fold_bn(model.stem.weight, model.stem.bias, model.stem_bn), "input")
    x = act("stem", F.relu(F.conv2d(x, w, b, **_conv_args(model.stem))), True)
    cur = "stem"
    for u, (pool, unit) in enumerate(zip(model.pools, model.units, strict=True)):
        assert isinstance(unit, ShuffleUnit)
        if isinstance(pool, nn.MaxPool2d):
            x = F.max_pool2d(x, 2)
        p = f"units.{u}"
        w, b = params(f"{p}.conv1", *fold_bn(unit.conv1.weight, unit.conv1.bias, unit.bn1), cur)
        y = act(f"{p}.conv1", F.relu(F.conv2d(x, w, b, **_conv_args(unit.conv1))), True)
        y = unit.shuffle(y)
        w, b = params(f"{p}.dw", *fold_bn(unit.dw.weight, unit.dw.bias, unit.bn2), f"{p}.conv1")
        y = act(f"{p}.dw", F.conv2d(y, w, b, **_conv_args(unit.dw)), False)
        w, b = params(
            f"{p}.conv2", *fold_bn(unit.conv2.weight, unit.conv2.bias, unit.bn3), f"{p}.dw"
        )
        x = act(p, F.relu(x + F.conv2d(y, w, b, **_conv_args(unit.conv2))), True)
        cur = p
    sq = act("gap", x.mean(dim=(2, 3)), False)
    w, b = params("head", *_linear_params(model.head), "gap")
    return F.linear(sq, w, b)


def torch_forward(model: nn.Module, x: torch.Tensor, act: ActFn, params: ParamFn) -> torch.Tensor:
    """Walk ``model`` on ``x`` (float64) with the given activation and parameter hooks."""
    check_supported(model)
    with torch.no_grad():
        x = torch.as_tensor(x, dtype=torch.float64)
        if isinstance(model, DigitsCNN):
            return _walk_cnn(model, x, act, params)
        assert isinstance(model, ShuffleDigitsNet)  # check_supported
        return _walk_shuffle(model, x, act, params)


def _as_double(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model).double().eval()


def float_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The walk without quantization (equals ``model(x)`` up to float rounding)."""
    return torch_forward(_as_double(model), x, lambda _n, t, _r: t, lambda _n, w, b, _i: (w, b))


def calibrate(model: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Activation scale (max |x| / 127, 1.0 if all zero) of every requantization point."""
    seen: dict[str, float] = {}

    def record(name: str, t: torch.Tensor, _relu: bool) -> torch.Tensor:
        seen[name] = max(seen.get(name, 0.0), float(t.abs().max()) if t.numel() else 0.0)
        return t

    torch_forward(_as_double(model), x, record, lambda _n, w, b, _i: (w, b))
    return {k: (v / QMAX if v > 0 else 1.0) for k, v in seen.items()}


def _fake(t: torch.Tensor, scale: float, relu: bool) -> torch.Tensor:
    return torch.clamp(torch.round(t / scale), 0 if relu else -QMAX, QMAX) * scale


def fake_quant_forward(
    model: nn.Module,
    x: torch.Tensor,
    scales: dict[str, float],
    trace: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The fake-quantized float64 forward: dequantized int8 weights, int32 biases, and every
    activation rounded and clamped to its int8 grid. Returns the logits; ``trace`` (if given)
    receives every requantization point's activation by name."""

    def act(name: str, t: torch.Tensor, relu: bool) -> torch.Tensor:
        out = _fake(t, scales[name], relu)
        if trace is not None:
            trace[name] = out
        return out

    def params(_name: str, w: torch.Tensor, b: torch.Tensor, src: str):
        s_in = scales[src]
        qw, qb = quantize_layer(w, b, s_in)
        return (
            torch.from_numpy(qw.dequantize()),
            torch.from_numpy(qb.astype(np.float64) * s_in * qw.scale),
        )

    return torch_forward(_as_double(model), x, act, params)


# ------------------------------------------------------------------------------------------------
# The integer network
# ------------------------------------------------------------------------------------------------


def _gemm_layer(
    name: str,
    kind: str,
    src: str,
    dst: str,
    w: torch.Tensor,
    b: torch.Tensor,
    scales: dict[str, float],
    relu: bool,
    out_scale: float | None,
    conv: nn.Conv2d | None = None,
    residual: str | None = None,
) -> GemmLayer:
    s_in = scales[src]
    qw, qb = quantize_layer(w.detach().double(), b.detach().double(), s_in)
    return GemmLayer(
        name=name,
        kind=kind,
        src=src,
        dst=dst,
        weight=qw.q,
        w_scale=qw.scale,
        bias=qb.astype(np.int32),
        in_scale=s_in,
        out_scale=out_scale,
        relu=relu,
        geometry=_geometry(conv) if conv is not None else None,
        residual=residual,
    )


def _ops_cnn(model: DigitsCNN, scales: dict[str, float]) -> list:
    ops: list = []
    s = dict(scales)  # grows by the tensors that keep their source's scale (pool, flatten)
    cur = "input"
    for i, st in enumerate(model.stages):
        assert isinstance(st, ConvStage)
        w, b = fold_bn(st.conv.weight, st.conv.bias, st.bn)
        dst = f"stages.{i}"
        ops.append(_gemm_layer(f"{dst}.conv", "conv", cur, dst, w, b, s, True, s[dst], st.conv))
        cur = dst
        if isinstance(st.se, SEBlock):
            p = f"stages.{i}.se"
            ops.append(HostOp("gap", f"{p}.squeeze", cur, f"{p}.squeeze", s[f"{p}.squeeze"]))
            w1, b1 = _linear_params(st.se.fc1)
            ops.append(
                _gemm_layer(
                    f"{p}.fc1", "linear", f"{p}.squeeze", f"{p}.fc1", w1, b1, s, True, s[f"{p}.fc1"]
                )
            )
            w2, b2 = _linear_params(st.se.fc2)
            ops.append(
                _gemm_layer(f"{p}.fc2", "linear", f"{p}.fc1", f"{p}.fc2", w2, b2, s, False, None)
            )
            ops.append(HostOp("se_scale", p, cur, p, s[p], gate=f"{p}.fc2"))
            cur = p
        if isinstance(st.pool, nn.MaxPool2d):
            ops.append(HostOp("maxpool", f"stages.{i}.pool", cur, f"stages.{i}.pool"))
            s[f"stages.{i}.pool"] = s[cur]
            cur = f"stages.{i}.pool"
    s["flatten"] = s[cur]
    ops.append(HostOp("flatten", "flatten", cur, "flatten"))
    w, b = _linear_params(model.head)
    ops.append(_gemm_layer("head", "linear", "flatten", "logits", w, b, s, False, None))
    return ops


def _ops_shuffle(model: ShuffleDigitsNet, scales: dict[str, float]) -> list:
    ops: list = []
    s = dict(scales)  # grows by the tensors that keep their source's scale (pool, shuffle)
    w, b = fold_bn(model.stem.weight, model.stem.bias, model.stem_bn)
    ops.append(_gemm_layer("stem", "conv", "input", "stem", w, b, s, True, s["stem"], model.stem))
    cur = "stem"
    for u, (pool, unit) in enumerate(zip(model.pools, model.units, strict=True)):
        assert isinstance(unit, ShuffleUnit)
        p = f"units.{u}"
        if isinstance(pool, nn.MaxPool2d):
            ops.append(HostOp("maxpool", f"{p}.pool", cur, f"{p}.pool"))
            s[f"{p}.pool"] = s[cur]
            cur = f"{p}.pool"
        w, b = fold_bn(unit.conv1.weight, unit.conv1.bias, unit.bn1)
        ops.append(
            _gemm_layer(
                f"{p}.conv1", "conv", cur, f"{p}.conv1", w, b, s, True, s[f"{p}.conv1"], unit.conv1
            )
        )
        ops.append(
            HostOp(
                "shuffle", f"{p}.shuffle", f"{p}.conv1", f"{p}.shuffle", groups=unit.shuffle.groups
            )
        )
        s[f"{p}.shuffle"] = s[f"{p}.conv1"]
        w, b = fold_bn(unit.dw.weight, unit.dw.bias, unit.bn2)
        ops.append(
            _gemm_layer(
                f"{p}.dw", "conv", f"{p}.shuffle", f"{p}.dw", w, b, s, False, s[f"{p}.dw"], unit.dw
            )
        )
        w, b = fold_bn(unit.conv2.weight, unit.conv2.bias, unit.bn3)
        ops.append(
            _gemm_layer(
                f"{p}.conv2", "conv", f"{p}.dw", p, w, b, s, True, s[p], unit.conv2, residual=cur
            )
        )
        cur = p
    ops.append(HostOp("gap", "gap", cur, "gap", s["gap"]))
    w, b = _linear_params(model.head)
    ops.append(_gemm_layer("head", "linear", "gap", "logits", w, b, s, False, None))
    return ops


def build_quantnet(model: nn.Module, calib: torch.Tensor, name: str = "model") -> QuantNet:
    """Fold, calibrate on ``calib`` (float images), quantize: the integer network of ``model``."""
    check_supported(model)
    model = _as_double(model)
    assert isinstance(model, DigitsCNN | ShuffleDigitsNet)  # check_supported
    scales = calibrate(model, calib)
    with torch.no_grad():
        ops = (
            _ops_cnn(model, scales) if isinstance(model, DigitsCNN) else _ops_shuffle(model, scales)
        )
    return QuantNet(name, input_shape(model.spec), scales["input"], ops)


def quantnet_scales(net: QuantNet) -> dict[str, float]:
    """Every requantization point's scale in ``net`` (for :func:`fake_quant_forward`)."""
    out = {"input": net.input_scale}
    out.update({op.dst: op.out_scale for op in net.ops if op.out_scale is not None})
    return out
