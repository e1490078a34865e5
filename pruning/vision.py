"""torchvision's model definitions next to a CPU-only torch whose torchvision wheel does not fit.

On these machines the PyPI ``torchvision`` wheel is a CUDA build: its compiled operators
(``_C.so``) do not load next to the CPU ``torch``, and ``import torchvision`` then stops with
``RuntimeError: operator torchvision::nms does not exist`` (``_meta_registrations`` registers a
fake kernel for an operator the failed library never defined). The architectures themselves
(``torchvision.models``) are pure Python and need none of those operators.

:func:`import_torchvision` imports torchvision. Only when that import fails with exactly that
error does it step in: it forgets the half-imported ``torchvision`` modules, defines the two
operator schemas the import registers fakes for (``torchvision::nms`` and ``torchvision::qnms``)
with :mod:`torch.library`, each with a CPU kernel that raises :class:`VisionOpsMissing` when
called, and imports torchvision again. Nothing on disk is touched (no site-packages edit). A
working install (a matching CPU torch/torchvision pair) imports at the first try and is used
unchanged; any other import error is raised as it is.

What the stubs cost: detection ops (``torchvision.ops.nms``, ``roi_align``, ...) do not work
(torchvision itself refuses them, since its compiled ops are missing); classification models
(``torchvision.models.resnet18``, ``mobilenet_v2``, ...) build and run with torch's own ops.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

#: The one import failure the stubs answer (the CUDA wheel next to a CPU torch).
MISSING_OPS_ERROR = "operator torchvision::nms does not exist"
#: The operators whose fake kernels ``import torchvision`` registers unconditionally, and their
#: schemas (as torchvision's csrc/ops define them).
STUB_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

#: The library holding the stubs once defined (kept alive: dropping it would undefine them).
_stubs: Any = None


class VisionOpsMissing(RuntimeError):
    """A torchvision operator was called whose compiled kernel could not be loaded."""


def is_missing_ops(exc: BaseException) -> bool:
    """Whether ``exc`` is exactly the failure of the CUDA torchvision wheel next to a CPU torch."""
    return isinstance(exc, RuntimeError) and str(exc) == MISSING_OPS_ERROR


def stubs_defined() -> bool:
    """Whether this process runs torchvision on the stub operators."""
    return _stubs is not None


def import_torchvision() -> ModuleType:
    """``import torchvision``; with the stub operators only if the plain import fails with
    :data:`MISSING_OPS_ERROR`. Any other failure (torchvision not installed, another error) is
    raised unchanged."""
    try:
        # torchvision ships no py.typed marker (and may be missing): untyped to mypy
        import torchvision  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except RuntimeError as exc:
        if not is_missing_ops(exc):
            raise
    else:
        return torchvision
    _forget_torchvision()
    _define_stubs()
    import torchvision

    return torchvision


def _forget_torchvision() -> None:
    # The failed import leaves its submodules that did load (torchvision.extension, ...) behind;
    # the second import must start from scratch.
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]


def _define_stubs() -> None:
    global _stubs
    if _stubs is not None:
        return
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for name, schema in STUB_SCHEMAS.items():
        lib.define(schema)
        lib.impl(name, _raiser(name), "CPU")
    _stubs = lib


def _raiser(name: str) -> Any:
    def kernel(*args: object, **kwargs: object) -> Any:
        raise VisionOpsMissing(
            f"torchvision::{name} is a stub: this torchvision's compiled operators do not load "
            "next to this torch (systolic.pruning.vision); install a matching CPU torchvision "
            "to use it"
        )

    return kernel
