"""The repository's structure: the import graph keeps its layers, tests mirror them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_graph_keeps_the_layers_and_the_doc_is_current() -> None:
    """No import cycle, no import up a layer, and docs/architecture.md shows today's graph."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "import_graph.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_checker_bites(tmp_path: Path) -> None:
    """An upward import and a cycle are both reported."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import import_graph
    finally:
        sys.path.pop(0)
    found = {("models", "engine"): ["models/x.py"], ("engine", "models"): ["engine/y.py"]}
    problems = import_graph.problems(found)
    assert any("models imports engine" in p for p in problems), problems
    assert any("import cycle: engine -> models -> engine" in p for p in problems), problems


def test_an_allowance_no_import_uses_is_reported() -> None:
    """A same-layer allowance whose import went away is stale (issue 22: bench -> verify and
    mutation -> verify were still allowed)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import import_graph
    finally:
        sys.path.pop(0)
    found = {("lowering", "verify"): ["lowering/e2e.py"]}
    allowed = {("lowering", "verify"), ("bench", "verify")}
    assert import_graph.problems(found, allowed) == [
        "SAME_LAYER_OK allows bench -> verify, which no module imports: remove it"
    ]


def test_test_modules_have_unique_names() -> None:
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_tests_mirror_the_package_folders() -> None:
    """Every test folder is named after a package folder (or is about the project itself)."""
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert folders - packages <= {"project"}, folders - packages
