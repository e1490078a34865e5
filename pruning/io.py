"""Saving and loading (pruned) models without unpickling code.

A saved model is a directory with two files:

* ``model.json``: ``{"format": "systolic-pruned-model", "version": 1, "spec": <architecture>,
  "kept_indices": {layer: [original channel, ...]}, "weights": "weights.pt",
  "weights_sha256": <hex>, "meta": {...}}``
* ``weights.pt``: a plain ``state_dict`` (tensors only) written by ``torch.save`` and read back
  with ``torch.load(..., weights_only=True)``, which refuses anything but tensors and containers.

Loading rebuilds the network from the spec, checks the file hash, the tensor names and shapes
and the kept-index map; any mismatch is one :class:`PruningError`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(
    directory: str | Path,
    model: nn.Module,
    kept_indices: dict[str, list[int]] | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` (which must carry its ``spec``) to ``directory``; returns the JSON path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    # torch.save names the archive inside after the file: the final name keeps the bytes (and
    # so weights_sha256, by which e2e finds equal dense models) independent of the write.
    with atomic_path(weights, same_name=True) as tmp:
        torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, tmp)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_to_dict(spec_of(model)),
        "kept_indices": kept_indices or {},
        "weights": WEIGHTS_FILE,
        "weights_sha256": _sha256(weights),
        "meta": meta or {},
    }
    path = out / META_FILE
    return atomic_write(path, json.dumps(doc, indent=1))


def _read_doc(directory: Path) -> dict[str, Any]:
    path = directory / META_FILE
    if not path.is_file():
        raise PruningError(f"no saved model in {directory} (missing {META_FILE})")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PruningError(f"corrupt {path}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PruningError(f"{path} is not a saved systolic pruned model")
    if doc.get("version") != VERSION:
        raise PruningError(f"{path} has format version {doc.get('version')}, expected {VERSION}")
    return doc


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
    doc = _read_doc(directory)
    spec = spec_from_dict(doc.get("spec", {}))
    kept = {str(k): [int(i) for i in v] for k, v in doc.get("kept_indices", {}).items()}
    _check_kept(spec, kept)
    weights = directory / str(doc.get("weights", WEIGHTS_FILE))
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
    return model, kept, dict(doc.get("meta", {}))
