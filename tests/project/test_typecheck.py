"""make lint type-checks the package: strict on the reference models and the engine."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
#: What mypy's --strict turns on, flag by flag (mypy 2.4).
STRICT_FLAGS = {
    "disallow_any_generics",
    "disallow_subclassing_any",
    "disallow_untyped_calls",
    "disallow_untyped_defs",
    "disallow_incomplete_defs",
    "disallow_untyped_decorators",
    "warn_unused_ignores",
    "warn_return_any",
    "strict_equality",
}


def test_models_and_engine_are_checked_strictly() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = [o for o in cfg["overrides"] if "systolic.models.*" in o["module"]]
    assert strict and "systolic.engine.*" in strict[0]["module"]
    on = {k for k, v in strict[0].items() if v is True}
    assert on >= STRICT_FLAGS, STRICT_FLAGS - on
    assert strict[0]["implicit_reexport"] is False  # --strict's no_implicit_reexport
    # check_untyped_defs, the last flag of --strict, holds for the whole package.
    assert cfg["packages"] == ["systolic"] and cfg["check_untyped_defs"] is True


def test_make_lint_runs_the_type_check() -> None:
    make = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*\n((?:\t.*\n)+)", make, re.M)
    assert lint and "scripts/typecheck.py" in lint[1], "make lint does not run mypy"
