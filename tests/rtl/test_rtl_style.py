"""The RTL's style rules that docs/architecture.md and the RTL headers state, read from the
source: the PE's state lives in `_q` registers and each output is a copy of one, never read back;
parameters are UPPER_SNAKE_CASE; every file starts with `default_nettype none`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

RTL = Path(__file__).resolve().parents[2] / "rtl"
SOURCES = sorted([*RTL.glob("*.v"), *RTL.glob("harness/*.v"), *RTL.glob("formal/*.sv")])


def _code(path: Path) -> str:
    """The source without comments."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_pe_outputs_are_copies_of_q_registers() -> None:
    code = _code(RTL / "systolic_pe.v")
    outputs = re.findall(r"output\s+(\w+)[^,;)]*?(\w+_o)\b", code)
    assert outputs, "no output ports found"
    for kind, port in outputs:
        assert kind == "wire", f"{port} is declared 'output {kind}', not a wire"
        reg = port[: -len("_o")] + "_q"
        assert re.search(rf"assign\s+{port}\s*=\s*{reg}\s*;", code), f"{port} is not {reg}"
        assert re.search(rf"\breg\b[^;]*\b{reg}\b", code), f"{reg} is not a register"
        reads = [m for m in re.finditer(rf"\b{port}\b", code)]
        assert len(reads) == 2, f"{port} is used inside the PE (only its declaration and assign)"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(RTL)))
def test_parameters_are_upper_snake_case(path: Path) -> None:
    names = re.findall(r"\b(?:parameter|localparam)\s+(?:integer\s+|int\s+)?(\w+)", _code(path))
    bad = [n for n in names if not re.fullmatch(r"[A-Z][A-Z0-9_]*", n)]
    assert not bad, f"{path.name}: {bad}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(RTL)))
def test_default_nettype_none(path: Path) -> None:
    assert "`default_nettype none" in path.read_text(), path.name
