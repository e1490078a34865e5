"""The torchvision shim, kept importable here for callers of the lowering layer; it lives in
:mod:`systolic.pruning.vision` (the pruning layer loads user models too, and imports only
downward)."""

from __future__ import annotations

from systolic.pruning.vision import (
    MISSING_OPS_ERROR,
    STUB_SCHEMAS,
    VisionOpsMissing,
    import_torchvision,
    is_missing_ops,
    stubs_defined,
)

__all__ = [
    "MISSING_OPS_ERROR",
    "STUB_SCHEMAS",
    "VisionOpsMissing",
    "import_torchvision",
    "is_missing_ops",
    "stubs_defined",
]
