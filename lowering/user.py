"""A user's own CNN, loaded safely and checked before it is lowered (``systolic lower --model``).

Three ways in, each refused in one line (:class:`UserModelError`) when it does not fit (the
factory and its weights through the one loader, :mod:`systolic.pruning.factory`):

* a factory spec ``package.module:function`` (the function is called with no arguments and must
  return an ``nn.Module``); importing a spec runs that module's code, as ``python -c "import
  package.module"`` would: name only code you trust;
* with ``--weights FILE``, a state dict read by ``torch.load(weights_only=True)`` (tensors and
  plain containers only, never arbitrary objects) that must fit the model exactly: no missing or
  unexpected keys, every shape equal;
* a ``torch.export`` program saved as ``.pt2``: its archive is checked before
  ``torch.export.load`` reads it (:func:`check_pt2_archive`), because that loader falls back to
  unpickling (``pickle.loads``, ``torch.load(weights_only=False)``) for pickled weights,
  constants, script and opaque objects and for sample inputs that the safe loader refuses.

Data for calibration (``--calib``) is ``.npy`` (``numpy.load(allow_pickle=False)``), ``.npz``
(arrays ``x`` and optionally ``y``, ``allow_pickle=False``) or ``.pt`` (a tensor, or a dict with
``x`` and optionally ``y``, ``torch.load(weights_only=True)``): float images N x C x H x W of the
``--input-shape``; ``y`` integer labels, one per image. Without ``--calib`` the calibration set is
synthetic (:func:`synthetic_calibration`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic import names
from systolic.errors import LoweringError, one_line, shown

# The one loader of a user's model (factory, weights, input shape): these names are this
# module's API too (``user.UserModelError``, ``user.load_factory``, ...).
from systolic.pruning.factory import (
    MAX_DIM,
    UserModel,
    UserModelError,
    check_runs,
    is_program_file,
    load_factory,
    load_torch_safely,
    load_weights,
    parse_input_shape,
)

__all__ = [
    "MAX_DIM",
    "UserModel",
    "UserModelError",
    "check_runs",
    "is_program_file",
    "load_factory",
    "load_weights",
    "parse_input_shape",
]

#: Synthetic calibration set (no ``--calib``): this many images drawn from the standard normal
#: distribution N(0, 1), NumPy's default generator seeded with :data:`SYNTHETIC_SEED`, float32.
#: It matches inputs normalized to zero mean and unit variance (torchvision's preprocessing); the
#: activation scales then fit such inputs, not the user's real data.
SYNTHETIC_IMAGES = 16
SYNTHETIC_SEED = 0
#: Calibration uses at most this many images of a ``--calib`` file (the first ones).
MAX_CALIBRATION_IMAGES = 512


@dataclass
class Dataset:
    """Float images (N, C, H, W) and, when the file has them, integer labels (N,)."""

    x: np.ndarray
    y: np.ndarray | None
    source: str


# ------------------------------------------------------------------------------------------------
# Loading a .pt2 program (factories and weights: systolic.pruning.factory)
# ------------------------------------------------------------------------------------------------


#: The entries a torch.export archive may hold (below its one top folder); anything else (custom
#: or opaque objects, legacy pickled weights, AOTInductor code, extra files) is refused.
_PT2_ENTRIES = re.compile(
    r"archive_format|archive_version|byteorder|\.data/version|\.data/serialization_id"
    r"|models/model\.json|data/sample_inputs/model\.pt"
    r"|data/weights/model_weights_config\.json|data/weights/weight_\d+"
    r"|data/constants/model_constants_config\.json|data/constants/tensor_\d+"
)
#: The largest ``.pt2`` archive entry read for the check (the JSON graph and configs).
_PT2_JSON_LIMIT = 64 << 20


def check_pt2_archive(path: Path) -> None:
    """Refuse a ``.pt2`` that ``torch.export.load`` would read with ``pickle``: only the entries
    of :data:`_PT2_ENTRIES`, every weight and constant stored raw (``use_pickle`` false), and
    sample inputs that ``torch.load(weights_only=True)`` reads (the loader's first try; it
    unpickles only when that fails)."""
    import torch

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserModelError(
            f"{shown(path)}: not a torch.export archive ({one_line(exc)})"
        ) from None
    with zf:
        entries = zf.namelist()
        tops = {e.split("/", 1)[0] for e in entries}
        if len(tops) != 1 or not all("/" in e for e in entries):
            raise UserModelError(f"{shown(path)}: not a torch.export archive (one top folder)")
        top = tops.pop()
        for e in entries:
            rest = e[len(top) + 1 :]
            if not _PT2_ENTRIES.fullmatch(rest):
                raise UserModelError(
                    f"{shown(path)}: the archive holds {names.quoted(e)}, which torch.export.load "
                    "could unpickle or run; only a program with raw tensor weights is read"
                )
        for config in (
            "data/weights/model_weights_config.json",
            "data/constants/model_constants_config.json",
        ):
            _check_payload_config(path, zf, f"{top}/{config}", entries)
        sample = f"{top}/data/sample_inputs/model.pt"
        if sample in entries:
            try:
                torch.load(io.BytesIO(zf.read(sample)), weights_only=True)
            except Exception as exc:
                raise UserModelError(
                    f"{shown(path)}: its sample inputs do not load with weights_only=True "
                    f"({type(exc).__name__}); torch.export.load would unpickle them"
                ) from None


def _check_payload_config(path: Path, zf: zipfile.ZipFile, entry: str, entries: list[str]) -> None:
    if entry not in entries:
        raise UserModelError(f"{shown(path)}: not a torch.export archive (no {entry})")
    if zf.getinfo(entry).file_size > _PT2_JSON_LIMIT:
        raise UserModelError(f"{shown(path)}: {entry} is larger than {_PT2_JSON_LIMIT} bytes")
    doc = names.loads_json(zf.read(entry), path, UserModelError, what=entry)
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise UserModelError(f"{shown(path)}: {entry} is not a payload configuration")
    for fqn, meta in config.items():
        if not isinstance(meta, dict) or meta.get("use_pickle") is not False:
            raise UserModelError(
                f"{shown(path)}: {names.quoted(str(fqn))} is stored pickled; torch.export.load "
                "would unpickle it (save the program with plain tensors)"
            )


def load_program(path: Path, shape: tuple[int, int, int]) -> UserModel:
    """A saved ``torch.export`` program, checked (:func:`check_pt2_archive`), with one input of
    static shape (1, C, H, W)."""
    import torch

    check_pt2_archive(path)
    try:
        ep = torch.export.load(path)
    except Exception as exc:
        raise UserModelError(
            f"{shown(path)}: torch.export.load failed: {type(exc).__name__}: {one_line(exc, 120)}"
        ) from None
    inputs = [s for s in ep.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    if len(inputs) != 1:
        raise UserModelError(
            f"{shown(path)}: the program takes {len(inputs)} inputs, not one image"
        )
    node = next(n for n in ep.graph.nodes if n.op == "placeholder" and n.name == inputs[0].arg.name)
    val = node.meta.get("val")
    dims = tuple(getattr(val, "shape", ()))
    if not all(isinstance(d, int) for d in dims):
        raise UserModelError(
            f"{shown(path)}: the program has dynamic shapes (input {tuple(map(str, dims))}); "
            "export it with static shapes"
        )
    if len(dims) != 4 or dims[1:] != shape:
        want = ", ".join(map(str, shape))
        raise UserModelError(
            f"{shown(path)}: the program takes inputs of shape {dims}, not (N, {want})"
        )
    source = {"model": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return UserModel(ep.module(), path.stem, source)


# ------------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------------


def synthetic_calibration(shape: tuple[int, int, int]) -> Dataset:
    """The documented synthetic calibration set (:data:`SYNTHETIC_IMAGES`, N(0, 1), seed
    :data:`SYNTHETIC_SEED`)."""
    rng = np.random.default_rng(SYNTHETIC_SEED)
    x = rng.standard_normal((SYNTHETIC_IMAGES, *shape)).astype(np.float32)
    return Dataset(x, None, f"synthetic: {SYNTHETIC_IMAGES} images N(0,1), seed {SYNTHETIC_SEED}")


def load_dataset(path: Path, shape: tuple[int, int, int]) -> Dataset:
    """Images (and labels) from ``.npy``, ``.npz`` or ``.pt``, checked against ``shape``."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x, y = _npy(path), None
    elif suffix == ".npz":
        x, y = _npz(path)
    elif suffix == ".pt":
        x, y = _pt(path)
    else:
        raise UserModelError(f"{shown(path)}: data must be .npy, .npz or .pt")
    return Dataset(_images(path, x, shape), _labels(path, y, len(x)), str(path))


def _npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:
        raise UserModelError(
            f"{shown(path)}: not a .npy array file ({one_line(exc, 100)})"
        ) from None


def _npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            names.check_names(keys, "array name", path, error=UserModelError)
            extra = [k for k in keys if k not in ("x", "y")]
            if extra or "x" not in keys:
                raise UserModelError(
                    f"{shown(path)}: a data .npz holds the arrays 'x' (images) and optionally "
                    f"'y' (labels), found {', '.join(names.quoted(k) for k in keys) or 'none'}"
                )
            return z["x"], z["y"] if "y" in keys else None
    except UserModelError:
        raise
    except Exception as exc:
        raise UserModelError(f"{shown(path)}: not a .npz archive ({one_line(exc, 100)})") from None


def _pt(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    import torch

    obj = load_torch_safely(path, "data")
    if isinstance(obj, torch.Tensor):
        return obj.numpy(), None
    if (
        isinstance(obj, dict)
        and "x" in obj
        and set(obj) <= {"x", "y"}
        and all(isinstance(v, torch.Tensor) for v in obj.values())
    ):
        return obj["x"].numpy(), obj["y"].numpy() if "y" in obj else None
    raise UserModelError(
        f"{shown(path)}: a data .pt holds a tensor of images or a dict with tensors 'x' and "
        "optionally 'y'"
    )


def _images(path: Path, x: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    if x.dtype.kind not in "fiu" or x.dtype == np.bool_:
        raise UserModelError(f"{shown(path)}: images must be numbers, got dtype {x.dtype}")
    if x.ndim != 4 or tuple(x.shape[1:]) != shape or x.shape[0] < 1:
        raise UserModelError(
            f"{shown(path)}: images must be N x {' x '.join(map(str, shape))} (--input-shape), "
            f"got shape {tuple(x.shape)}"
        )
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise UserModelError(f"{shown(path)}: images hold NaN or infinite values")
    return x


def _labels(path: Path, y: np.ndarray | None, n: int) -> np.ndarray | None:
    if y is None:
        return None
    if y.dtype.kind not in "iu" or y.shape != (n,):
        raise UserModelError(
            f"{shown(path)}: labels 'y' must be {n} integers (one per image), got "
            f"{y.dtype} {tuple(y.shape)}"
        )
    return y.astype(np.int64)


def model_name(text: str) -> str:
    """A workload name given by the user (becomes file names): checked as a portable file name."""
    names.check_name(text, "model name", "--name", rule="file", error=UserModelError)
    return text


def describe(source: dict[str, Any]) -> str:
    """The model's source record as one JSON line (for messages)."""
    return json.dumps(source, sort_keys=True)


# ------------------------------------------------------------------------------------------------
# Lowering (systolic lower --model)
# ------------------------------------------------------------------------------------------------

#: Images of the workload (run through the RTL) when ``--images`` is not given.
DEFAULT_IMAGES = 1


@dataclass
class LowerRequest:
    """Everything ``systolic lower --model`` was given, checked by argparse."""

    model: str
    input_shape: tuple[int, int, int]
    out_dir: Path
    weights: Path | None = None
    calib: Path | None = None
    images: int | None = None
    name: str | None = None


def is_pruned_dir(text: str) -> bool:
    """Whether ``--model`` names a folder (written by ``systolic prune --model``)."""
    return Path(text).is_dir()


def saved_input_shape(directory: Path) -> tuple[int, int, int]:
    """The input shape recorded in a pruned model's folder (``systolic prune --model``)."""
    from systolic.pruning.depgraph_io import MAX_META_BYTES, META_FILE

    path = directory / META_FILE
    if not path.is_file():
        raise UserModelError(
            f"--model {shown(directory)}: a folder must be one written by systolic prune "
            f"--model (it has no {META_FILE})"
        )
    doc = names.loads_json(
        names.read_limited(path, MAX_META_BYTES, UserModelError), path, UserModelError
    )
    shape = doc.get("input_shape") if isinstance(doc, dict) else None
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(type(d) is int and 1 <= d <= MAX_DIM for d in shape)
    ):
        raise UserModelError(f"{shown(path)}: input_shape is not C,H,W (three positive integers)")
    return shape[0], shape[1], shape[2]


def load_pruned_model(req: LowerRequest) -> UserModel:
    """A model pruned by ``systolic prune --model`` (:func:`~systolic.pruning.depgraph_io.
    load_pruned`: its factory, the pruning history replayed, the saved weights), named
    ``<function>-pruned``."""
    from systolic.pruning.depgraph_io import load_pruned

    if req.weights is not None:
        raise UserModelError(
            "--weights applies to a factory spec; a pruned model's folder holds its weights"
        )
    module, doc = load_pruned(req.model)
    shape = tuple(doc["input_shape"])
    if shape != req.input_shape:
        raise UserModelError(
            f"--input-shape {','.join(map(str, req.input_shape))}: the pruned model in "
            f"{shown(req.model)} takes {','.join(map(str, shape))}"
        )
    factory = str(doc.get("factory", ""))
    source = {
        "model": factory,
        "pruned": str(req.model),
        "weights_sha256": doc.get("weights_sha256"),
        "method": doc.get("meta", {}).get("method"),
    }
    return UserModel(
        module.eval(), f"{factory.rsplit(':', 1)[-1].rsplit('.', 1)[-1]}-pruned", source
    )


def load_user_model(req: LowerRequest) -> UserModel:
    """The model of a request (factory and weights, a ``.pt2``, or a folder written by
    ``systolic prune --model``), checked to run on its input shape."""
    if is_pruned_dir(req.model):
        model = load_pruned_model(req)
    elif is_program_file(req.model):
        if req.weights is not None:
            raise UserModelError("--weights applies to a factory spec; a .pt2 holds its weights")
        model = load_program(Path(req.model), req.input_shape)
    else:
        model = load_factory(req.model)
        if req.weights is not None:
            load_weights(model, req.weights)
    if req.name is not None:
        model.name = model_name(req.name)
    else:
        names.check_name(model.name, "model name", req.model, rule="file", error=UserModelError)
    check_runs(model, req.input_shape)
    return model


def trace_error(model: UserModel, exc: BaseException) -> UserModelError:
    """One line for a model the tracer cannot follow (data-dependent control flow, dynamic
    shapes), from the tracer's own exception."""
    text = one_line(exc, 160)
    kind = type(exc).__name__
    if "control flow" in text or "data-dependent" in text.lower() or kind == "TraceError":
        why = "its control flow depends on tensor values"
    elif "dynamic" in text.lower() or "symbolic" in text.lower() or "Guard" in kind:
        why = "its shapes are dynamic"
    else:
        why = "tracing failed"
    return UserModelError(f"{model.name} cannot be traced ({why}): {kind}: {text}")


def lower_user_model(req: LowerRequest, params: Any) -> dict[str, Any]:
    """Load, check, lower (``systolic.lowering.graph.lower_module``) and write the workload,
    the SCALE-Sim topologies and the per-layer table of ``params`` into ``req.out_dir``.
    Nothing is written unless every check passed."""
    import torch

    from systolic.engine.workload import build_workload, save_workload
    from systolic.fileio import atomic_write
    from systolic.lowering.report import cost_markdown, cost_totals, workload_costs
    from systolic.lowering.topology import conv_rows, write_topologies

    model = load_user_model(req)
    data = (
        load_dataset(req.calib, req.input_shape)
        if req.calib is not None
        else synthetic_calibration(req.input_shape)
    )
    images = req.images or DEFAULT_IMAGES
    if images > len(data.x):
        raise UserModelError(
            f"--images {images}: the data ({data.source}) holds only {len(data.x)} images"
        )
    calib = torch.from_numpy(data.x[:MAX_CALIBRATION_IMAGES])
    example = torch.zeros((1, *req.input_shape))
    from systolic.lowering import graph  # helper F's front end: the one lowering

    try:
        lowered = graph.lower(model.module, example, calib, model.name)
    except LoweringError:
        raise
    except Exception as exc:
        raise trace_error(model, exc) from None
    net = lowered.net
    x = data.x[:images]
    check = graph.fake_quant_check(lowered, torch.from_numpy(x))
    if not check.ok:
        raise UserModelError(
            f"{model.name}: the integer network disagrees with the fake-quantized torch forward "
            f"(logits differ by up to {check.max_abs_logit_diff:.3g}, tolerance "
            f"{check.tolerance:.3g}; predictions agree on {100 * check.prediction_agreement:.0f}%)"
        )
    with torch.no_grad():
        float_logits = model.module(torch.from_numpy(x)).double().numpy()
    float_pred = float_logits.argmax(1)
    labels = data.y[:images] if data.y is not None else float_pred
    float_acc = float((float_pred == labels).mean()) if data.y is not None else None
    source = {**model.source, "input_shape": ",".join(map(str, req.input_shape))}
    source["calibration"] = data.source
    wl = build_workload(net, x, labels, source=source, float_accuracy=float_acc)
    wl.meta["fake_quant_check"] = check.as_record()
    rows = workload_costs(wl, params)
    try:
        conv_rows(wl)
        conv_ok = True
    except LoweringError:
        conv_ok = False  # a dilated conv or uneven strides: the GEMM topology only
    table = cost_markdown(f"{model.name} on {params.rows}x{params.cols}", rows, params)
    doc = {
        "model": model.name,
        "array": params.tag,
        "layers": rows,
        "total": cost_totals(rows, params),
    }
    stem = names.confined(
        req.out_dir, model.name, req.model, what="model name", error=UserModelError
    )
    files = _write_all(
        req.out_dir,
        [
            (Path(f"{stem}.npz"), lambda p: save_workload(wl, p)),
            (stem, lambda p: write_topologies(wl, p, conv=conv_ok)),
            (Path(f"{stem}.layers.md"), lambda p: atomic_write(p, "\n".join(table) + "\n")),
            (Path(f"{stem}.layers.json"), lambda p: atomic_write(p, json.dumps(doc, indent=1))),
        ],
    )
    return {
        "name": model.name,
        "workload": str(files[0]),
        "files": [str(f) for f in files],
        "images": images,
        "macs": wl.macs,
        "calibration": data.source,
        "agreement": float((wl.predictions == float_pred).mean()),
        "fake_quant_check": check.as_record(),
        "table": table,
    }


def _write_all(out_dir: Path, writers: list[tuple[Path, Any]]) -> list[Path]:
    """Run each writer (atomic file writes) into ``out_dir``; if one fails, remove what the
    others wrote (and the folder, if this call created it) and re-raise: all or nothing."""
    from systolic.fileio import discard

    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    done: list[Path] = []
    try:
        for path, write in writers:
            got = write(path)
            done += list(got) if isinstance(got, tuple | list) else [Path(got)]
    except BaseException:
        discard(*done)
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    return done
