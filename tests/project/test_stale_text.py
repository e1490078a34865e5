"""Text that outlives what it describes: doc comments left without their assignment, and help
lines that contradict what the commands do (paths: test_paths_named.py)."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from systolic.models.params import ArrayParams

ROOT = Path(__file__).resolve().parents[2]


def orphaned_doc_comments(source: str) -> list[int]:
    """Lines of ``#:`` comments (the attribute docs Sphinx reads) that no assignment follows:
    what they documented is gone, or moved away from them."""
    lines = source.splitlines()
    starts = {
        n.lineno
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Assign | ast.AnnAssign | ast.AugAssign)
    }
    out = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("#:"):
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].lstrip().startswith("#"):
            j += 1
        if j + 1 not in starts:
            out.append(i + 1)
        i = j
    return out


def _python_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [p for p in out.split() if (ROOT / p).is_file()]


def test_every_doc_comment_documents_an_assignment() -> None:
    orphans = [
        f"{rel}:{line}"
        for rel in _python_files()
        for line in orphaned_doc_comments((ROOT / rel).read_text())
    ]
    assert not orphans, orphans


@pytest.mark.parametrize(
    ("source", "orphans"),
    [
        # models/params.py before issue 22: the variable went, its comment stayed.
        ("X = 1\n\n#: Environment variable that ...\n@dataclass\nclass A:\n    a: int\n", [3]),
        ("#: the answer\n#: (two lines)\nX = 42\n", []),
        ("class A:\n    #: a name\n    name: str\n", []),
        ("#: trailing\n", [1]),
    ],
)
def test_the_orphan_check_bites(source: str, orphans: list[int]) -> None:
    assert orphaned_doc_comments(source) == orphans


def _make(*args: str) -> str:
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


def test_make_help_on_mul_reg_with_the_top_is_what_make_does() -> None:
    """`make help` said MUL_REG=1 does not work with TOP=accel; make passes it to the top and
    the command line takes it (README: `--mul-reg 1` ... also with `--top accel`)."""
    from systolic.cli import build_parser

    line = next(x for x in _make("help").splitlines() if "MUL_REG=1:" in x)
    run = _make("-n", "sim", "TOP=accel", "MUL_REG=1")
    passes = bool(re.search(r"--mul-reg '?1'?\s.*--top '?accel\b", run))
    assert passes == ("not with TOP=accel" not in line), (line, run)
    args = build_parser().parse_args(["sim", "--top", "accel", "--mul-reg", "1"])
    assert (args.top, args.mul_reg) == ("accel", 1)


def test_the_designs_around_the_array_take_its_parameters() -> None:
    """ArrayParams.hdl_parameters' docstring: the accelerator top passes the array's
    parameters, MUL_REG included, down to the array (so the top takes them all)."""
    names = ArrayParams(mul_reg=1).hdl_parameters()
    for rtl in ("systolic_array.v", "systolic_accel.v"):
        text = (ROOT / "rtl" / rtl).read_text()
        declared = set(re.findall(r"parameter\s+(?:integer\s+)?(\w+)", text))
        assert set(names) <= declared, (rtl, set(names) - declared)
