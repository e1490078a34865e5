"""Saving a user model pruned through the dependency graph, and loading it without pickled code.

A user's architecture is code, so the saved form names the code instead of pickling it: the
model's factory ``package.module:function`` (called with no arguments), the input shape, and
Torch-Pruning's pruning history (which channels of which group were removed), which
:func:`~systolic.pruning.depgraph.replay` applies to a fresh instance. A directory of:

* ``model.json``: ``{"format": "systolic-depgraph-model", "version": 1, "factory": ...,
  "input_shape": [C, H, W], "history": [[layer, out?, [index, ...]], ...], "weights":
  "weights.pt", "weights_sha256": <hex>, "meta": {...}}``;
* ``weights.pt``: the pruned ``state_dict`` (tensors only), read back with
  ``torch.load(weights_only=True)``.

The loader checks the format and version, the factory (through the one loader of a user's
model, :mod:`systolic.pruning.factory`: the spec's shape, its import, that it returns an
``nn.Module``), the history's shape (layer names of the
model, distinct non-negative indices), the weights' hash and, strictly, their names and shapes
against the replayed model; any mismatch is one :class:`PruningError`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from systolic import names
from systolic.fileio import atomic_write
from systolic.pruning.depgraph import replay
from systolic.pruning.errors import PruningError
from systolic.pruning.io import save_weights

FORMAT = "systolic-depgraph-model"
VERSION = 1
META_FILE = "model.json"
WEIGHTS_FILE = "weights.pt"
MAX_META_BYTES = 1 << 24


def load_factory(spec: Any, where: str = "model factory") -> nn.Module:
    """The module the factory ``package.module:function`` returns, through the one loader of a
    user's model (:func:`systolic.pruning.factory.load_factory`); one line if it is not one."""
    from systolic.pruning.factory import load_factory as load

    model: nn.Module = load(spec, context=where, program_ok=False).module
    return model


def _check_history(raw: Any, model: nn.Module, where: str) -> list[tuple[str, bool, list[int]]]:
    layers = dict(model.named_modules())
    if not isinstance(raw, list):
        raise PruningError(f"{where}: history is not a list")
    out = []
    for item in raw:
        ok = isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
        if not ok or item[0] not in layers or not isinstance(item[1], bool):
            raise PruningError(
                f"{where}: history entry {str(item)[:60]} names no layer of the model"
            )
        idx = item[2]
        if not (isinstance(idx, list) and all(type(i) is int and i >= 0 for i in idx)) or len(
            set(idx)
        ) != len(idx):
            raise PruningError(f"{where}: history of {item[0]} is not distinct channel indices")
        out.append((item[0], item[1], idx))
    return out


def save_pruned(
    directory: str | Path,
    model: nn.Module,
    factory: str,
    input_shape: tuple[int, ...],
    history: list[Any],
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a pruned ``model`` (made by ``factory`` and pruned by ``history``) to
    ``directory``; the record is checked by replaying it first, so what is written loads."""
    out = Path(directory)
    where = names.shown(out / META_FILE)
    fresh = load_factory(factory, where)
    hist = _check_history(
        [[h[0], bool(h[1]), [int(i) for i in h[2]]] for h in history], fresh, where
    )
    replay(fresh, torch.zeros(1, *input_shape), hist)
    _match(fresh, model.state_dict(), where)
    meta = dict(meta or {})
    names.check_names(meta, "meta key", where, error=PruningError)
    out.mkdir(parents=True, exist_ok=True)
    weights = save_weights(model, out / WEIGHTS_FILE)
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "factory": factory,
        "input_shape": [int(d) for d in input_shape],
        "history": [list(h) for h in hist],
        "weights": WEIGHTS_FILE,
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "meta": meta,
    }
    return atomic_write(out / META_FILE, json.dumps(doc, indent=1))


def _match(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = " ".join(str(exc).strip().splitlines()[:3])
        raise PruningError(f"{where}: the weights do not fit the pruned model: {first}") from None


def load_pruned(directory: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Load what :func:`save_pruned` wrote: (model in eval mode, the JSON record)."""
    directory = Path(directory)
    path = directory / META_FILE
    where = names.shown(path)
    if not path.is_file():
        raise PruningError(f"no saved model in {names.shown(directory)} (missing {META_FILE})")
    doc = names.loads_json(
        names.read_limited(path, MAX_META_BYTES, PruningError), path, PruningError
    )
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PruningError(f"{where} is not a saved dependency-graph pruned model")
    if doc.get("version") != VERSION:
        raise PruningError(f"{where} has format version {doc.get('version')}, expected {VERSION}")
    shape = doc.get("input_shape")
    if not (isinstance(shape, list) and shape and all(type(d) is int and d > 0 for d in shape)):
        raise PruningError(f"{where}: input_shape is not a list of positive integers")
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise PruningError(f"{where}: meta is not a record")
    weights = names.confined(
        directory,
        doc.get("weights", WEIGHTS_FILE),
        where,
        what="weights file name",
        error=PruningError,
    )
    if not weights.is_file():
        raise PruningError(f"missing weights file {names.shown(weights)}")
    if hashlib.sha256(weights.read_bytes()).hexdigest() != doc.get("weights_sha256"):
        raise PruningError(
            f"{names.shown(weights)} does not match the hash recorded in {META_FILE}"
        )
    model = load_factory(doc.get("factory", ""), where)
    history = _check_history(doc.get("history"), model, where)
    replay(model, torch.zeros(1, *shape), history)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise PruningError(f"corrupt weights file {names.shown(weights)}: {exc}") from None
    if not isinstance(state, dict):
        raise PruningError(f"{names.shown(weights)} holds no state dict")
    _match(model, state, where)
    model.eval()
    return model, doc
