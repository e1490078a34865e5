"""The one loader of a user's model: a factory ``package.module:function``, its optional state
dict, its input shape, checked to run. ``systolic prune --model``, ``systolic lower --model``
and the saved dependency-graph models (:mod:`systolic.pruning.depgraph_io`) all load through it.

* A factory spec ``package.module:function`` (the function is called with no arguments and must
  return an ``nn.Module``); importing a spec runs that module's code, as ``python -c "import
  package.module"`` would: name only code you trust. torchvision is imported through
  :func:`systolic.pruning.vision.import_torchvision` when the module's import needs it.
* A state dict read by ``torch.load(weights_only=True)`` (tensors and plain containers only,
  never arbitrary objects) that must fit the model exactly: no missing or unexpected keys, every
  shape equal.

Every refusal is one :class:`UserModelError` line (a :class:`PruningError` and a
:class:`~systolic.errors.LoweringError`, so both layers' callers catch it).
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from systolic import names
from systolic.errors import LoweringError, one_line, shown
from systolic.pruning.errors import PruningError

#: The largest input dimension accepted for ``--input-shape`` (C, H and W each).
MAX_DIM = 4096

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SPEC = re.compile(rf"({_IDENT}(?:\.{_IDENT})*):({_IDENT}(?:\.{_IDENT})*)")


class UserModelError(PruningError, LoweringError):
    """A user's model, weights or data file that cannot be loaded: one line says why."""


@dataclass
class UserModel:
    """A loaded user model in eval mode and where it came from."""

    module: Any  # torch.nn.Module
    name: str
    source: dict[str, Any] = field(default_factory=dict)


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``C,H,W`` (three positive integers) as a tuple; one line otherwise."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(p.isdecimal() for p in parts):
        raise UserModelError(f"--input-shape must be C,H,W (three positive integers), got {text!r}")
    dims = tuple(int(p) for p in parts)
    if not all(1 <= d <= MAX_DIM for d in dims):
        raise UserModelError(f"--input-shape: each of C, H, W must be 1..{MAX_DIM}, got {text!r}")
    return dims[0], dims[1], dims[2]


def is_program_file(text: str) -> bool:
    """Whether ``--model`` names a saved ``torch.export`` program (``.pt2``) rather than a spec."""
    return text.lower().endswith(".pt2")


def load_factory(spec: str, context: str | None = None, program_ok: bool = True) -> UserModel:
    """Import ``package.module:function``, call it with no arguments, check the result is an
    ``nn.Module`` (in eval mode on return).

    ``context``: where the spec came from when not from ``--model`` (e.g. a saved model's
    ``model.json``): messages then start with it. ``program_ok``: whether the command also takes
    a ``.pt2`` program (the message for a bad spec names it)."""
    import torch

    label = f"--model {spec}" if context is None else f"{context}: factory {spec}"
    match = _SPEC.fullmatch(spec) if isinstance(spec, str) else None
    if match is None:
        what = "--model" if context is None else f"{context}: factory"
        alt = (
            "neither package.module:function nor a .pt2 file"
            if program_ok
            else ("not package.module:function")
        )
        raise UserModelError(f"{what} {spec!r} is {alt}")
    module_name, attr = match.groups()
    module = _import(label, module_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserModelError(f"{label}: module {module_name} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserModelError(f"{label}: {attr} is a {type(obj).__name__}, not callable")
    _check_not_system(label, obj)
    try:
        model = obj()
    except Exception as exc:
        raise UserModelError(
            f"{label}: calling {attr}() failed: {type(exc).__name__}: {one_line(exc)}"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise UserModelError(
            f"{label}: {attr}() returned a {type(model).__name__}, not a torch.nn.Module"
        )
    return UserModel(model.eval(), attr.rsplit(".", 1)[-1], {"model": spec})


def _check_not_system(label: str, obj: Any) -> None:
    """Refuse, before calling it, a callable of Python's own library or of a compiled extension
    (``os:abort``, ``sys:exit``, ``builtins:breakpoint``): no model factory is one, and a saved
    model's ``model.json`` names its factory, so a downloaded folder must not be able to call
    them. A model factory is a Python function or an ``nn.Module`` class of an installed or
    user package."""
    import inspect

    import torch

    if inspect.isclass(obj):
        if not issubclass(obj, torch.nn.Module):
            raise UserModelError(f"{label}: {obj.__name__} is a class but not a torch.nn.Module")
        return
    if not inspect.isfunction(obj):
        raise UserModelError(
            f"{label}: a {type(obj).__name__} is not a model factory (a Python function "
            "or an nn.Module class)"
        )
    top = (getattr(obj, "__module__", "") or "").split(".")[0]
    if top in sys.stdlib_module_names or top in ("builtins", "torch"):
        raise UserModelError(f"{label}: a function of {top} is not a model factory")


def _import(label: str, module_name: str) -> Any:
    """Import ``module_name``; the torchvision shim steps in once, only for the CUDA wheel's
    missing-operator error (the module imported torchvision)."""
    from systolic.pruning import vision

    for attempt in (1, 2):
        try:
            return importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            hint = (
                "pip install 'systolic[vision]' (or make setup)"
                if (exc.name or "").split(".")[0] == "torchvision"
                else "is its folder on PYTHONPATH?"
            )
            raise UserModelError(
                f"{label}: no module named {exc.name or module_name!r} ({hint})"
            ) from None
        except Exception as exc:
            if attempt == 1 and vision.is_missing_ops(exc):
                vision.import_torchvision()  # the stub operators, then the module again
                continue
            raise UserModelError(
                f"{label}: importing {module_name} failed: {type(exc).__name__}: {one_line(exc)}"
            ) from None
    raise AssertionError("unreachable")


def load_torch_safely(path: Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` (tensors and plain containers, never a pickled
    object); one line saying the file is not ``what`` when torch refuses it."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserModelError(
            f"{shown(path)}: not {what} that torch loads safely (weights_only=True): "
            f"{type(exc).__name__}: {one_line(exc, 120)}"
        ) from None


def load_weights(model: UserModel, path: Path) -> None:
    """Load the state dict in ``path`` into ``model`` (strict: keys and shapes must fit)."""
    import torch

    state = load_torch_safely(path, "a state dict")
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise UserModelError(
            f"{shown(path)}: a state dict maps parameter names to tensors; this file holds a "
            f"{type(state).__name__} that does not"
        )
    names.check_names(state, "state dict key", path, rule="label", error=UserModelError)
    want = model.module.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s), first {names.quoted(missing[0])}")
        if unexpected:
            parts.append(
                f"{len(unexpected)} unexpected key(s), first {names.quoted(unexpected[0])}"
            )
        raise UserModelError(
            f"{shown(path)}: the state dict does not fit {model.name}: {'; '.join(parts)}"
        )
    for k, v in want.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise UserModelError(
                f"{shown(path)}: the state dict does not fit {model.name}: {names.quoted(k)} has "
                f"shape {tuple(state[k].shape)}, the model {tuple(v.shape)}"
            )
    model.module.load_state_dict(state, strict=True)
    model.source["weights"] = str(path)
    model.source["weights_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()


def check_runs(model: UserModel, shape: tuple[int, int, int]) -> Any:
    """Run the model on one zero image of ``shape``; returns its output. A model that does not
    take that shape (or fails) is one line."""
    import torch

    x = torch.zeros((1, *shape))
    try:
        with torch.no_grad():
            out = model.module(x)
    except Exception as exc:
        raise UserModelError(
            f"{model.name} does not run on an input of shape {tuple(x.shape)}: "
            f"{type(exc).__name__}: {one_line(exc, 140)}"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 1:
        what = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserModelError(
            f"{model.name}: the output must be one tensor of logits (N, classes), got {what}"
        )
    return out
