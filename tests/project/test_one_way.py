"""One way per job, kept: every per-simulator difference in the simulator classes, the top's
parameters as one value, one workload loop (docs/architecture.md, "Simulators and builds",
"One workload loop" and the TopParams paragraph)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The package's folders (tests and scripts aside).
PACKAGE = (
    "systolic", "models", "engine", "tb", "verify", "bench", "waves", "lowering", "pruning",
    "mutation", "formal", "cli",
)  # fmt: skip
SIMULATOR_CLASSES = ROOT / "engine" / "toolchain.py"


def _sources() -> list[Path]:
    return sorted(p for d in PACKAGE for p in (ROOT / d).rglob("*.py"))


def test_no_module_asks_which_simulator_it_runs() -> None:
    """A comparison with a simulator's name, or a simulator's own command, appears only in the
    simulator classes."""
    compare = re.compile(
        r"""(==|!=)\s*["'](icarus|verilator)["']|["'](icarus|verilator)["']\s*(==|!=)"""
    )
    tool = re.compile(r"""["'](iverilog|vvp)["']""")
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in _sources()
        if p != SIMULATOR_CLASSES
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if compare.search(line) or tool.search(line) or re.search(r"\bsim\s*[!=]=", line)
    ]
    assert not found, found


def test_no_function_takes_the_port_apart() -> None:
    """Outside the RTL-parameter boundary (models/params.py), no function takes the top's rows
    per beat and its shadow registers as separate parameters: they travel as one TopParams."""
    found = []
    for p in _sources():
        if p == ROOT / "models" / "params.py":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {a.arg for a in [*node.args.args, *node.args.kwonlyargs]}
                if {"out_rows", "shadows"} <= names or {"fifo_depth", "shadows"} <= names:
                    found.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not found, found


def test_one_workload_loop() -> None:
    """Both designs' workload runners call the one loop; neither walks the layers itself."""
    for path in (ROOT / "tb" / "test_workload.py", ROOT / "verify" / "accel_workload.py"):
        text = path.read_text()
        assert "run_layers(" in text, path
        assert "run_steps(" not in text and "in wl.net.layers:" not in text, path


def test_the_checks_bite(tmp_path: Path) -> None:
    """The patterns above find what they guard against."""
    line = 'cmd = ["vvp", exe] if sim == "icarus" else [exe]'
    assert re.search(r"\bsim\s*[!=]=", line) and re.search(r"""["'](iverilog|vvp)["']""", line)
    tree = ast.parse("def f(m, out_rows=1, shadows=1): pass")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef)
    assert {"out_rows", "shadows"} <= {a.arg for a in fn.args.args}


def test_no_long_argument_lists() -> None:
    """The run settings travel as one RunSettings (and the harness's build as one HarnessBuild):
    no function of the engine or the flows takes the simulator and its seed, waves or folders
    as separate parameters."""
    found = []
    for p in _sources():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {a.arg for a in [*node.args.args, *node.args.kwonlyargs]}
                if "sim" in names and names & {"seed", "waves", "rtl_dir", "build_root", "quiet"}:
                    found.append(f"{p.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not found, found
