"""Workload files: a lowered network, its input batch and every GEMM it runs, in one ``.npz``.

Schema (version 1; read with ``numpy.load(..., allow_pickle=False)``, so no code is ever
unpickled). Arrays:

* ``meta``: uint8, UTF-8 JSON (below).
* ``input``: int8 (N, C, H, W), the quantized images; ``labels``: int64 (N,);
  ``predictions``: int64 (N,), the integer reference's classes; ``logits``: float64 (N, classes).
* per GEMM layer ``L``: ``w.L`` int8 weight (C_out, C_in/g, kh, kw) or (out, in), ``ws.L``
  float64 per-output-channel weight scales, ``bias.L`` int32 (accumulator scale).
* per GEMM ``g`` of layer ``L``: ``gemm.L.g.A`` int8 (M, K), ``gemm.L.g.B`` int8 (K, N),
  ``gemm.L.g.C`` int32 (M, N) = A @ B exactly (what the array must return, before bias).

``meta``::

    {"format": "systolic-workload", "version": 2, "model": str, "source": {...},
     "data_w": 8, "acc_w": 32, "input_scale": float, "input_shape": [C, H, W],
     "images": N, "output": "logits", "accuracy": {"float": f, "int": f},
     "ops": [{"op": "gemm", "name", "kind": "conv"|"linear", "src", "dst", "in_scale",
              "out_scale" (null: real output), "relu", "lo", "hi" (real clamp bounds or null),
              "geometry": {"kernel", "stride", "padding", "dilation", "groups"} | null,
              "gemms": [{"M", "K", "N"}, ...]},
             {"op": one of models.network.HOST_OPS, "name", "src", "dst", "out_scale",
              "groups", "gate", "inputs" (further tensors read: add, cat), "pool" ({"kernel",
              "stride", "padding", "ceil_mode"} | null), "count_include_pad", "output_size",
              "shape", "index", "relu", "lo", "hi"}, ...]}

Version 2 (integer-only requantization, general host operations) refuses version-1 files: their
numbers were requantized in floating point, so rerunning them would not reproduce them.

Loading checks everything a simulator run relies on and reports the first problem in one line
(:class:`WorkloadError`): truncated or foreign file, missing arrays, wrong dtypes, shapes that do
not chain, B that is not the layer's weight, C that is not A @ B, unknown operations.

Names inside the file are checked before anything uses them (:mod:`systolic.names`): operation
(layer) names become folder names of a run on the accelerator top, so they and the tensor names
are portable file names (``A-Z a-z 0-9 . _ -``, at most 100 characters, no ``..``), unique, also
without regard to case; every array must be one the format names (no extra or repeated keys); the
metadata is JSON without repeated keys, its ``source``, ``accuracy`` and ``fake_quant_check``
flat records of numbers and printable strings. Saving applies the same checks.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, overload

import numpy as np

from systolic import names
from systolic.errors import LoweringError
from systolic.fileio import atomic_path
from systolic.models.im2col import ConvGeometry, PoolGeometry
from systolic.models.network import HOST_OPS, REQUANTIZING, GemmLayer, HostOp, QuantNet, Tensor

FORMAT = "systolic-workload"
VERSION = 2
#: Arrays every workload holds, besides the per-layer ones (``w.L``, ``gemm.L.g.A``, ...).
FIXED_ARRAYS = ("meta", "input", "labels", "predictions", "logits")
#: The metadata records that are kept (flat: names to numbers, strings or null).
RECORDS = ("source", "accuracy", "fake_quant_check")
#: The longest string a metadata record may hold (a model folder's path, a hash).
MAX_RECORD_TEXT = 4096


class WorkloadError(LoweringError):
    """A workload file that cannot be used: corrupt, inconsistent or out of range."""


@dataclass
class Gemm:
    """One GEMM of a layer: operands and the exact expected product."""

    layer: str
    group: int
    a: np.ndarray  # int8 (M, K)
    b: np.ndarray  # int8 (K, N)
    c: np.ndarray  # int32 (M, N)

    @property
    def shape(self) -> tuple[int, int, int]:
        return int(self.a.shape[0]), int(self.a.shape[1]), int(self.b.shape[1])

    @property
    def macs(self) -> int:
        m, k, n = self.shape
        return m * k * n


@dataclass
class Workload:
    """A loaded (or freshly built) workload."""

    net: QuantNet
    x: np.ndarray  # int8 input batch
    labels: np.ndarray
    predictions: np.ndarray
    logits: np.ndarray
    gemms: dict[str, list[Gemm]] = field(default_factory=dict)  # by layer name, in op order
    meta: dict[str, Any] = field(default_factory=dict)
    #: Per GEMM layer: its input tensor's shape without the batch (C, H, W) or (features,).
    input_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def all_gemms(self) -> list[Gemm]:
        return [g for layer in self.net.layers for g in self.gemms[layer.name]]

    @property
    def macs(self) -> int:
        return sum(g.macs for g in self.all_gemms)


# ------------------------------------------------------------------------------------------------
# Building and saving
# ------------------------------------------------------------------------------------------------


def build_workload(
    net: QuantNet,
    x_float: np.ndarray,
    labels: np.ndarray,
    source: dict[str, Any] | None = None,
    float_accuracy: float | None = None,
) -> Workload:
    """Run the integer reference on ``x_float`` and record every GEMM it computes."""
    from systolic.models.network import exact_gemm, predictions, run

    x_q = net.quantize_input(np.asarray(x_float))
    gemms: dict[str, list[Gemm]] = {}

    def record(layer: GemmLayer, g: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        c = exact_gemm(layer, g, a, b)
        gemms.setdefault(layer.name, []).append(
            Gemm(layer.name, g, a.astype(np.int8), b.astype(np.int8), c.astype(np.int32))
        )
        return c

    trace: dict[str, Tensor] = {}
    logits = run(net, x_q, record, trace)
    trace["input"] = Tensor(x_q, net.input_scale)
    shapes = {layer.name: tuple(trace[layer.src].q.shape[1:]) for layer in net.layers}
    labels = np.asarray(labels, np.int64)
    preds = predictions(logits)
    meta = {
        "source": source or {},
        "accuracy": {
            "float": float_accuracy,
            "int": float((preds == labels).mean()) if labels.size else None,
        },
    }
    return Workload(net, x_q, labels, preds, logits.real(), gemms, meta, shapes)


def _geometry_dict(geo: ConvGeometry | None) -> dict[str, Any] | None:
    if geo is None:
        return None
    return {
        "kernel": list(geo.kernel),
        "stride": list(geo.stride),
        "padding": list(geo.padding),
        "dilation": list(geo.dilation),
        "groups": geo.groups,
    }


def _op_meta(
    op: GemmLayer | HostOp, gemms: list[Gemm], in_shape: tuple[int, ...]
) -> dict[str, Any]:
    if isinstance(op, HostOp):
        pool = op.pool
        return {
            "op": op.op,
            "name": op.name,
            "src": op.src,
            "dst": op.dst,
            "out_scale": op.out_scale,
            "groups": op.groups,
            "gate": op.gate,
            "inputs": list(op.inputs),
            "pool": None
            if pool is None
            else {
                "kernel": list(pool.kernel),
                "stride": list(pool.stride),
                "padding": list(pool.padding),
                "ceil_mode": pool.ceil_mode,
            },
            "count_include_pad": op.count_include_pad,
            "output_size": None if op.output_size is None else list(op.output_size),
            "shape": None if op.shape is None else list(op.shape),
            "index": None if op.index is None else list(op.index),
            "relu": op.relu,
            "lo": op.lo,
            "hi": op.hi,
        }
    return {
        "op": "gemm",
        "name": op.name,
        "kind": op.kind,
        "src": op.src,
        "dst": op.dst,
        "in_scale": op.in_scale,
        "out_scale": op.out_scale,
        "relu": op.relu,
        "lo": op.lo,
        "hi": op.hi,
        "geometry": _geometry_dict(op.geometry),
        "input_shape": list(in_shape),
        "gemms": [dict(zip("MKN", g.shape, strict=True)) for g in gemms],
    }


def save_workload(wl: Workload, path: str | Path) -> Path:
    """Write ``wl`` to ``path`` (.npz, compressed) atomically: a partial file never appears."""
    path = Path(path)
    if path.suffix != ".npz":
        raise WorkloadError(f"a workload file name ends in .npz, got {path}")
    net = wl.net
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": net.name,
        "data_w": 8,
        "acc_w": 32,
        "input_scale": net.input_scale,
        "input_shape": list(net.input_shape),
        "images": int(wl.x.shape[0]),
        "output": net.output,
        **wl.meta,
        "ops": [
            _op_meta(op, wl.gemms.get(op.name, []), wl.input_shapes.get(op.name, ()))
            for op in net.ops
        ],
    }
    # What the reader would refuse is not written either.
    check_meta_names(meta, names.shown(path))
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), np.uint8),
        "input": wl.x.astype(np.int8),
        "labels": wl.labels.astype(np.int64),
        "predictions": wl.predictions.astype(np.int64),
        "logits": wl.logits.astype(np.float64),
    }
    for layer in net.layers:
        arrays[f"w.{layer.name}"] = layer.weight.astype(np.int8)
        arrays[f"ws.{layer.name}"] = layer.w_scale.astype(np.float64)
        arrays[f"bias.{layer.name}"] = layer.bias.astype(np.int32)
        for g in wl.gemms.get(layer.name, []):
            key = f"gemm.{layer.name}.{g.group}"
            arrays[f"{key}.A"], arrays[f"{key}.B"], arrays[f"{key}.C"] = g.a, g.b, g.c
    with atomic_path(path) as tmp:
        # numpy's stubs: a ** mapping might also name the keyword allow_pickle (a bool).
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
    return path


# ------------------------------------------------------------------------------------------------
# Loading and checking
# ------------------------------------------------------------------------------------------------


class _Arrays:
    """Typed access to the arrays of an open npz, each failure one WorkloadError."""

    def __init__(self, npz: Any, path: str) -> None:
        self.npz, self.path = npz, path

    def get(self, key: str, dtype: type, ndim: int | None = None) -> np.ndarray:
        if key not in self.npz.files:
            raise WorkloadError(f"{self.path}: array {key!r} is missing")
        try:
            arr: np.ndarray = self.npz[key]
        except ValueError as exc:  # object arrays need pickle, which is refused
            raise WorkloadError(f"{self.path}: array {key!r} cannot be read: {exc}") from None
        except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
            raise WorkloadError(f"{self.path}: array {key!r} is corrupt: {exc}") from None
        if arr.dtype != np.dtype(dtype):
            raise WorkloadError(
                f"{self.path}: array {key!r} has dtype {arr.dtype}, expected {np.dtype(dtype)}"
            )
        if ndim is not None and arr.ndim != ndim:
            raise WorkloadError(
                f"{self.path}: array {key!r} has {arr.ndim} dimensions {arr.shape}, expected {ndim}"
            )
        return arr


def _need(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise WorkloadError(f"{where}: missing field {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise WorkloadError(f"{where}: field {key!r} has the wrong type ({value!r})")
    return value


@overload
def _scale(d: dict[str, Any], key: str, where: str, optional: Literal[False] = False) -> float: ...
@overload
def _scale(d: dict[str, Any], key: str, where: str, optional: bool) -> float | None: ...
def _scale(d: dict[str, Any], key: str, where: str, optional: bool = False) -> float | None:
    if optional and d.get(key) is None:
        return None
    value = float(_need(d, key, (int, float), where))
    if not np.isfinite(value) or value <= 0:
        raise WorkloadError(f"{where}: {key} must be a positive finite number, got {value}")
    return value


def _read_meta(arrays: _Arrays) -> dict[str, Any]:
    raw = arrays.get("meta", np.uint8, 1)
    try:
        text = raw.tobytes().decode()
    except UnicodeDecodeError as exc:
        raise WorkloadError(f"{arrays.path}: corrupt metadata: {exc}") from None
    meta = names.loads_json(text, arrays.path, WorkloadError, "metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WorkloadError(f"{arrays.path} is not a systolic workload file")
    if meta.get("version") != VERSION:
        raise WorkloadError(
            f"{arrays.path}: workload format version {meta.get('version')}, expected {VERSION}"
        )
    return meta


def _file_name(value: Any, what: str, where: str) -> str:
    return names.check_name(value, what, where, rule="file", error=WorkloadError)


def _op_names(ops: list[Any], where: str) -> None:
    """The names in the operations' metadata (before anything uses them): each a portable file
    name; operation names unique, and each tensor written once, both without regard to case."""
    op_names: list[str] = []
    written = ["input"]
    for d in ops:
        if not isinstance(d, dict):
            continue  # refused as a malformed operation when it is read
        if "name" in d:
            what = "layer name" if d.get("op") == "gemm" else "operation name"
            op_names.append(_file_name(d["name"], what, where))
        for key in ("src", "dst", "gate"):
            if d.get(key) is not None:
                _file_name(d[key], "tensor name", where)
        inputs = d.get("inputs")
        for t in inputs if isinstance(inputs, list) else []:
            _file_name(t, "tensor name", where)
        if "dst" in d:
            written.append(d["dst"])
    for what, found in (("operation name", op_names), ("output tensor", written)):
        names.check_unique(found, what, where, rule="file", error=WorkloadError)


def _records(meta: dict[str, Any], where: str) -> None:
    """``source``, ``accuracy``, ``fake_quant_check``: flat records of numbers, printable strings
    and nulls under checked keys (they are copied into every run's summary)."""
    for record in RECORDS:
        value = meta.get(record, {})
        if not isinstance(value, dict):
            raise WorkloadError(f"{where}: metadata {record!r} is not a record")
        for key, item in value.items():
            names.check_name(key, f"{record} key", where, error=WorkloadError)
            text = isinstance(item, str)
            if not (item is None or text or isinstance(item, int | float)):
                raise WorkloadError(f"{where}: {record} {key!r} is not a number or a string")
            if text and (len(item) > MAX_RECORD_TEXT or not item.isprintable()):
                raise WorkloadError(
                    f"{where}: {record} {key!r} is not printable text of at most "
                    f"{MAX_RECORD_TEXT} characters"
                )


def check_meta_names(meta: dict[str, Any], where: str) -> None:
    """Every name and record of a workload's metadata (see the module's docstring); the loader
    and :func:`save_workload` both apply it."""
    if "model" in meta:
        names.check_name(meta["model"], "model name", where, error=WorkloadError)
    if "output" in meta:
        _file_name(meta["output"], "tensor name", where)
    if isinstance(meta.get("ops"), list):
        _op_names(meta["ops"], where)
    _records(meta, where)


def _stray_arrays(npz: Any, wl: Workload, where: str) -> None:
    """Every array of the file is one the format names for ``wl``."""
    known = set(FIXED_ARRAYS)
    for layer in wl.net.layers:
        known |= {f"{k}.{layer.name}" for k in ("w", "ws", "bias")}
        groups = range(len(wl.gemms[layer.name]))
        known |= {f"gemm.{layer.name}.{g}.{x}" for g in groups for x in "ABC"}
    stray = [k for k in npz.files if k not in known]
    if stray:
        raise WorkloadError(f"{where}: array {names.quoted(stray[0])} is not part of a workload")


def _pair(values: Any) -> tuple[int, int]:
    """``values`` as a tuple of ints, typed as the pair that ``_geometry`` then checks it is."""
    return cast("tuple[int, int]", tuple(int(v) for v in values))


def _geometry(d: dict[str, Any] | None, where: str) -> ConvGeometry:
    if not isinstance(d, dict):
        raise WorkloadError(f"{where}: a conv layer needs its geometry")
    try:
        geo = ConvGeometry(
            _pair(d["kernel"]),
            _pair(d["stride"]),
            _pair(d["padding"]),
            _pair(d["dilation"]),
            int(d["groups"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkloadError(f"{where}: malformed geometry {d!r} ({exc})") from None
    pairs = (geo.kernel, geo.stride, geo.padding, geo.dilation)
    if (
        any(len(p) != 2 for p in pairs)
        or geo.groups < 1
        or min(*geo.kernel, *geo.stride, *geo.dilation) < 1
        or min(geo.padding) < 0
    ):
        raise WorkloadError(f"{where}: illegal geometry {d!r}")
    return geo


def _layer(d: dict[str, Any], arrays: _Arrays) -> GemmLayer:
    name = _need(d, "name", str, "workload op")
    where = f"{arrays.path}: layer {name}"
    kind = _need(d, "kind", str, where)
    if kind not in ("conv", "linear"):
        raise WorkloadError(f"{where}: unknown layer kind {kind!r}")
    weight = arrays.get(f"w.{name}", np.int8, 4 if kind == "conv" else 2)
    w_scale = arrays.get(f"ws.{name}", np.float64, 1)
    bias = arrays.get(f"bias.{name}", np.int32, 1)
    c_out = weight.shape[0]
    geometry = _geometry(d.get("geometry"), where) if kind == "conv" else None
    if geometry is not None and (
        tuple(weight.shape[2:]) != geometry.kernel or c_out % geometry.groups
    ):
        raise WorkloadError(
            f"{where}: weight {weight.shape} does not match kernel {geometry.kernel} in "
            f"{geometry.groups} groups"
        )
    if w_scale.shape != (c_out,) or bias.shape != (c_out,):
        raise WorkloadError(
            f"{where}: {c_out} output channels but {w_scale.size} scales, {bias.size} biases"
        )
    if not (np.isfinite(w_scale).all() and (w_scale > 0).all()):
        raise WorkloadError(f"{where}: weight scales must be positive and finite")
    return GemmLayer(
        name=name,
        kind=kind,
        src=_need(d, "src", str, where),
        dst=_need(d, "dst", str, where),
        weight=weight,
        w_scale=w_scale,
        bias=bias,
        in_scale=_scale(d, "in_scale", where),
        out_scale=_scale(d, "out_scale", where, optional=True),
        relu=bool(_need(d, "relu", bool, where)),
        geometry=geometry,
        lo=_bound(d, "lo", where),
        hi=_bound(d, "hi", where),
    )


def _bound(d: dict[str, Any], key: str, where: str) -> float | None:
    """An optional real clamp bound: null or a finite number."""
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
        raise WorkloadError(f"{where}: {key} must be a finite number or null, got {v!r}")
    return float(v)


def _ints(
    d: dict[str, Any], key: str, where: str, size: int | None, low: int
) -> tuple[int, ...] | None:
    """An optional list of integers >= ``low`` (of length ``size`` if given)."""
    v = d.get(key)
    if v is None:
        return None
    if (
        not isinstance(v, list)
        or not v
        or (size is not None and len(v) != size)
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= low for x in v)
    ):
        raise WorkloadError(f"{where}: malformed {key} {v!r}")
    return tuple(v)


def _pool(d: dict[str, Any], where: str) -> PoolGeometry | None:
    p = d.get("pool")
    if p is None:
        return None
    if not isinstance(p, dict) or set(p) != {"kernel", "stride", "padding", "ceil_mode"}:
        raise WorkloadError(f"{where}: malformed pool {p!r}")
    kernel = _ints(p, "kernel", where, 2, 1)
    stride = _ints(p, "stride", where, 2, 1)
    padding = _ints(p, "padding", where, 2, 0)
    if kernel is None or stride is None or padding is None or not isinstance(p["ceil_mode"], bool):
        raise WorkloadError(f"{where}: malformed pool {p!r}")
    if any(2 * pad > k for pad, k in zip(padding, kernel, strict=True)):
        raise WorkloadError(f"{where}: pool padding larger than half the kernel {p!r}")
    return PoolGeometry(_pair(kernel), _pair(stride), _pair(padding), p["ceil_mode"])


#: What each host operation needs besides src and dst.
_HOST_NEEDS = {
    "maxpool": ("pool",),
    "avgpool": ("pool", "out_scale"),
    "adaptive_avgpool": ("output_size", "out_scale"),
    "gap": ("out_scale",),
    "reshape": ("shape",),
    "channels": ("index",),
    "add": ("inputs", "out_scale"),
    "cat": ("out_scale",),
    "se_scale": ("gate", "out_scale"),
}


def _host_op(d: dict[str, Any], where: str) -> HostOp:
    op = d["op"]
    if op not in HOST_OPS:
        raise WorkloadError(f"{where}: unknown operation {op!r}")
    groups = d.get("groups", 1)
    if not isinstance(groups, int) or groups < 1:
        raise WorkloadError(f"{where}: groups must be a positive integer, got {groups!r}")
    inputs = d.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
        raise WorkloadError(f"{where}: inputs must be a list of tensor names, got {inputs!r}")
    include_pad = d.get("count_include_pad", True)
    relu = d.get("relu", False)
    if not isinstance(include_pad, bool) or not isinstance(relu, bool):
        raise WorkloadError(f"{where}: count_include_pad and relu must be true or false")
    out = HostOp(
        op,
        _need(d, "name", str, where),
        _need(d, "src", str, where),
        _need(d, "dst", str, where),
        _scale(d, "out_scale", where, optional=op not in REQUANTIZING),
        groups,
        d.get("gate"),
        inputs=tuple(inputs),
        pool=_pool(d, where),
        count_include_pad=include_pad,
        output_size=cast("tuple[int, int] | None", _ints(d, "output_size", where, 2, 1)),
        shape=_ints(d, "shape", where, None, 1),
        index=_ints(d, "index", where, None, 0),
        relu=relu,
        lo=_bound(d, "lo", where),
        hi=_bound(d, "hi", where),
    )
    missing = [k for k in _HOST_NEEDS.get(op, ()) if not getattr(out, k)]
    if missing:
        raise WorkloadError(f"{where}: {op} needs its {missing[0]}")
    if op == "add" and len(inputs) != 1:
        raise WorkloadError(f"{where}: add reads exactly two tensors")
    return out


def _gemms(layer: GemmLayer, declared: Any, arrays: _Arrays) -> list[Gemm]:
    where = f"{arrays.path}: layer {layer.name}"
    if not isinstance(declared, list) or len(declared) != layer.groups:
        raise WorkloadError(
            f"{where}: expected {layer.groups} GEMMs, the metadata lists {declared!r}"
        )
    out = []
    for g, dims in enumerate(declared):
        key = f"gemm.{layer.name}.{g}"
        a = arrays.get(f"{key}.A", np.int8, 2)
        b = arrays.get(f"{key}.B", np.int8, 2)
        c = arrays.get(f"{key}.C", np.int32, 2)
        shape = (a.shape[0], a.shape[1], b.shape[1])
        want = tuple(dims.get(x) for x in "MKN") if isinstance(dims, dict) else None
        if (
            b.shape[0] != a.shape[1]
            or c.shape != (a.shape[0], b.shape[1])
            or want != shape
            or 0 in shape
        ):
            raise WorkloadError(
                f"{where} GEMM {g}: shapes do not match: A {a.shape}, B {b.shape}, C {c.shape}, "
                f"declared M,K,N {want}"
            )
        n_g = layer.weight.shape[0] // layer.groups
        w = layer.weight[g * n_g : (g + 1) * n_g].reshape(n_g, -1).T
        if w.shape != b.shape or not np.array_equal(w, b):
            raise WorkloadError(f"{where} GEMM {g}: B is not the layer's weight (group {g})")
        # int8 products summed over K <= 2^20 are exact in float64, so BLAS can check C.
        if a.shape[1] > 2**20 or not np.array_equal(
            a.astype(np.float64) @ b.astype(np.float64), c.astype(np.float64)
        ):
            raise WorkloadError(
                f"{where} GEMM {g}: C is not A @ B (the expected results are wrong)"
            )
        out.append(Gemm(layer.name, g, a, b, c))
    return out


def load_workload(path: str | Path) -> Workload:
    """Load and check a workload file; every problem is one WorkloadError line."""
    path = Path(path)
    label = names.shown(path)  # the path in messages: one line, whatever it holds
    if path.is_dir():
        raise WorkloadError(f"{label} is a directory, not a workload file (.npz)")
    if not path.is_file():
        raise WorkloadError(f"workload file {label} does not exist")
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise WorkloadError(
            f"{label} is not a readable workload file (.npz): {names.shown(str(exc), 200)}"
        ) from None
    if not hasattr(npz, "files"):
        raise WorkloadError(f"{label} holds a single array, not a workload (.npz)")
    with npz:
        arrays = _Arrays(npz, label)
        meta = _read_meta(arrays)
        check_meta_names(meta, label)
        # A zip may hold one member name twice; which one numpy reads is not for a file to pick.
        names.check_unique(npz.files, "array", label, error=WorkloadError)
        try:
            wl = _build(meta, arrays, label)
        except (KeyError, TypeError, AttributeError) as exc:
            raise WorkloadError(f"{label}: malformed metadata ({exc!r})") from None
        _stray_arrays(npz, wl, label)
        return wl


def _build(meta: dict[str, Any], arrays: _Arrays, path: str) -> Workload:
    shape = tuple(_need(meta, "input_shape", list, str(path)))
    x = arrays.get("input", np.int8, 4)
    if tuple(x.shape[1:]) != shape:
        raise WorkloadError(f"{path}: input is {x.shape}, the network takes N x {shape}")
    n = x.shape[0]
    labels = arrays.get("labels", np.int64, 1)
    preds = arrays.get("predictions", np.int64, 1)
    logits = arrays.get("logits", np.float64, 2)
    if labels.shape != (n,) or preds.shape != (n,) or logits.shape[0] != n:
        raise WorkloadError(
            f"{path}: {n} images but {labels.size} labels, {preds.size} predictions"
        )
    ops: list[GemmLayer | HostOp] = []
    gemms: dict[str, list[Gemm]] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    known = {"input"}
    for d in _need(meta, "ops", list, str(path)):
        if not isinstance(d, dict) or "op" not in d:
            raise WorkloadError(f"{path}: malformed operation {d!r}")
        op = _layer(d, arrays) if d["op"] == "gemm" else _host_op(d, f"{path}: op {d.get('name')}")
        needs = [op.src] if isinstance(op, GemmLayer) else op.reads
        missing = [t for t in needs if t not in known]
        if missing:
            raise WorkloadError(f"{path}: {op.name} reads {missing[0]!r} before it is computed")
        known.add(op.dst)
        if isinstance(op, GemmLayer):
            gemms[op.name] = _gemms(op, d.get("gemms"), arrays)
            in_shape = d.get("input_shape")
            if not isinstance(in_shape, list) or not all(isinstance(v, int) for v in in_shape):
                raise WorkloadError(f"{path}: layer {op.name} has no valid input_shape")
            shapes[op.name] = tuple(in_shape)
        ops.append(op)
    net = QuantNet(
        _need(meta, "model", str, str(path)),
        shape,
        _scale(meta, "input_scale", str(path)),
        ops,
        _need(meta, "output", str, str(path)),
    )
    if net.output not in known:
        raise WorkloadError(f"{path}: output tensor {net.output!r} is never computed")
    extra: dict[str, Any] = {
        k: meta[k] for k in ("source", "accuracy", "fake_quant_check") if k in meta
    }
    wl = Workload(net, x, labels, preds, logits, gemms, extra, shapes)
    _check_reference(wl, path)
    return wl


def _check_reference(wl: Workload, path: str) -> None:
    """Rerun the integer reference from the input: it must run, lower to exactly the recorded
    GEMMs, and reproduce the recorded logits and predictions (so a run never starts on a file
    whose network and GEMMs disagree)."""
    from systolic.models.network import predictions, run

    seen: dict[tuple[str, int], bool] = {}

    def recorded(layer: GemmLayer, group: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        gemms = wl.gemms[layer.name]
        if group >= len(gemms):
            raise WorkloadError(f"{path}: layer {layer.name} lowers to more GEMMs than recorded")
        why = check_operands_match(wl, layer.name, group, a)
        if why:
            raise WorkloadError(f"{path}: the network does not reproduce its GEMMs: {why}")
        seen[layer.name, group] = True
        return gemms[group].c.astype(np.int64)

    try:
        logits = run(wl.net, wl.x, recorded)
    except WorkloadError:
        raise
    except (LoweringError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise WorkloadError(f"{path}: the network cannot run: {exc}") from None
    if len(seen) != sum(len(g) for g in wl.gemms.values()):
        raise WorkloadError(f"{path}: some recorded GEMMs are not part of the network")
    if logits.scale is not None or logits.q.shape != wl.logits.shape:
        raise WorkloadError(f"{path}: the output {wl.net.output!r} is not the recorded logits")
    if not np.allclose(logits.real(), wl.logits, rtol=1e-9, atol=1e-12) or not np.array_equal(
        predictions(logits), wl.predictions
    ):
        raise WorkloadError(f"{path}: the recorded logits or predictions are not the network's")


def check_operands_match(wl: Workload, layer: str, group: int, a: np.ndarray) -> str | None:
    """None if ``a`` equals the workload's recorded A of (layer, group), else why not."""
    want = wl.gemms[layer][group].a
    if want.shape != a.shape:
        return f"{layer}[{group}]: A is {a.shape}, the workload recorded {want.shape}"
    if not np.array_equal(want, a):
        bad = np.argwhere(want != a)
        return (
            f"{layer}[{group}]: A differs from the workload's in {len(bad)} entries, "
            f"first at {tuple(int(v) for v in bad[0])}"
        )
    return None


def reference_run(wl: Workload) -> Tensor:
    """Rerun the integer reference on the stored input (to check a loaded file end to end)."""
    from systolic.models.network import run

    return run(wl.net, wl.x)
