"""Errors of the pruning package that the command line reports as one clear line."""

from __future__ import annotations

from systolic.errors import SystolicError


class PruningError(SystolicError, ValueError):
    """Bad pruning input: a ratio outside (0, 1), a method that does not fit the model, a layer
    that a ratio would empty, a corrupt or mismatched saved model."""
