"""Saving and loading (pruned) models without unpickling code.

A saved model is a directory with two files:

* ``model.json``: ``{"format": "systolic-pruned-model", "version": 1, "spec": <architecture>,
  "kept_indices": {layer: [original channel, ...]}, "weights": "weights.pt",
  "weights_sha256": <hex>, "meta": {...}}``
* ``weights.pt``: a plain ``state_dict`` (tensors only) written by ``torch.save`` and read back
  with ``torch.load(..., weights_only=True)``, which refuses anything but tensors and containers.

Loading rebuilds the network from the spec, checks the file hash, the tensor names and shapes
and the kept-index map; any mismatch is one :class:`PruningError`. What ``model.json`` names is
checked before it is used (:mod:`systolic.names`): ``weights`` is a plain file name that stays in
the model's folder, each ``kept_indices`` key is a conv stage of the model with distinct
non-negative channel indices, ``meta`` is a record under checked keys, and no key repeats.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from systolic import names
from systolic.fileio import atomic_path, atomic_write
from systolic.pruning.errors import PruningError
from systolic.pruning.models import (
    CNNSpec,
    Network,
    Spec,
    build_model,
    spec_from_dict,
    spec_of,
    spec_to_dict,
)

FORMAT = "systolic-pruned-model"
VERSION = 1
META_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"
#: The largest ``model.json`` read (bytes): a spec and kept indices take a few kilobytes.
MAX_META_BYTES = 1 << 22


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_weights(model: nn.Module, path: Path) -> Path:
    """``model``'s state dict (CPU copies) written atomically to ``path``; returns it. torch.save
    names the archive inside after the file: the final name keeps the bytes (and so a recorded
    SHA-256, by which e2e finds equal dense models) independent of the write."""
    with atomic_path(path, same_name=True) as tmp:
        torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, tmp)
    return path


def save_model(
    directory: str | Path,
    model: nn.Module,
    kept_indices: dict[str, list[int]] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (which must carry its ``spec``) to ``directory``; returns the JSON path.
    A kept-index map or meta record that :func:`load_model` would refuse is refused first."""
    out = Path(directory)
    spec = spec_of(model)
    record = {"kept_indices": kept_indices or {}, "meta": meta or {}}
    _kept_map(record, spec, names.shown(out / META_FILE))
    _meta(record, names.shown(out / META_FILE))
    out.mkdir(parents=True, exist_ok=True)
    weights = save_weights(model, out / WEIGHTS_FILE)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_to_dict(spec),
        "kept_indices": record["kept_indices"],
        "weights": WEIGHTS_FILE,
        "weights_sha256": _sha256(weights),
        "meta": record["meta"],
    }
    path = out / META_FILE
    return atomic_write(path, json.dumps(doc, indent=1))


def read_doc(directory: str | Path) -> dict[str, Any]:
    """A saved model's ``model.json`` as a dict, checked as far as it is read without torch: a
    regular file of at most MAX_META_BYTES, JSON without repeated keys, this format and version,
    a ``weights_sha256`` that is text."""
    directory = Path(directory)
    path = directory / META_FILE
    if not path.is_file():
        raise PruningError(f"no saved model in {names.shown(directory)} (missing {META_FILE})")
    text = names.read_limited(path, MAX_META_BYTES, PruningError)
    doc = names.loads_json(text, path, PruningError)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PruningError(f"{path} is not a saved systolic pruned model")
    if doc.get("version") != VERSION:
        raise PruningError(f"{path} has format version {doc.get('version')}, expected {VERSION}")
    if not isinstance(doc.get("weights_sha256", ""), str):
        raise PruningError(f"{names.shown(path)}: weights_sha256 is not text")
    return doc


def _kept_map(doc: dict[str, Any], spec: Spec, where: str) -> dict[str, list[int]]:
    """``kept_indices``: conv stage name -> distinct non-negative original channel indices."""
    raw = doc.get("kept_indices", {})
    if not isinstance(raw, dict):
        raise PruningError(f"{where}: kept_indices is not a map of layers")
    widths = spec.widths if isinstance(spec, CNNSpec) else []  # other models keep no map
    stages = {f"stages.{i}" for i in range(len(widths))}
    kept: dict[str, list[int]] = {}
    for key, idx in raw.items():
        names.check_name(key, "kept_indices layer", where, error=PruningError)
        if key not in stages:
            raise PruningError(f"{where}: kept_indices layer {key!r} is no conv stage of the model")
        ok = isinstance(idx, list) and all(type(i) is int and i >= 0 for i in idx)
        if not ok or len(set(idx)) != len(idx):
            raise PruningError(
                f"{where}: kept_indices of {key} are not distinct non-negative channel indices"
            )
        kept[key] = idx
    _check_kept(spec, kept)
    return kept


def _meta(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """``meta``: a record under checked keys; its ``method``, when given, a name."""
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise PruningError(f"{where}: meta is not a record")
    names.check_names(meta, "meta key", where, error=PruningError)
    if "method" in meta:
        names.check_name(meta["method"], "method name", where, error=PruningError)
    return dict(meta)


def _weights_path(doc: dict[str, Any], directory: Path, where: str) -> Path:
    """The weights file the JSON names: a plain file name inside the model's folder."""
    name = doc.get("weights", WEIGHTS_FILE)
    return names.confined(directory, name, where, what="weights file name", error=PruningError)


def _check_kept(spec: Spec, kept: dict[str, list[int]]) -> None:
    if not isinstance(spec, CNNSpec):
        return
    for i, width in enumerate(spec.widths):
        idx = kept.get(f"stages.{i}")
        if idx is not None and len(idx) != width:
            raise PruningError(
                f"kept_indices of stages.{i} lists {len(idx)} channels but the layer has {width}"
            )


def load_model(directory: str | Path) -> tuple[Network, dict[str, list[int]], dict[str, Any]]:
    """Load what :func:`save_model` wrote: (model in eval mode, kept_indices, meta)."""
    directory = Path(directory)
    doc = read_doc(directory)
    where = names.shown(directory / META_FILE)
    spec_doc = doc.get("spec", {})
    if not isinstance(spec_doc, dict):
        raise PruningError(f"{where}: malformed architecture spec {type(spec_doc).__name__}")
    spec = spec_from_dict(spec_doc)
    kept = _kept_map(doc, spec, where)
    meta = _meta(doc, where)
    weights = _weights_path(doc, directory, where)
    if not weights.is_file():
        raise PruningError(f"missing weights file {weights}")
    if _sha256(weights) != doc.get("weights_sha256"):
        raise PruningError(f"{weights} does not match the hash recorded in {META_FILE}")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated or foreign files
        raise PruningError(f"corrupt weights file {weights}: {exc}") from exc
    model = build_model(spec)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()
        raise PruningError(
            f"weights in {weights} do not match the architecture: {' '.join(first[:3])}"
        ) from exc
    model.eval()
    return model, kept, meta
