"""The FPGA mapping of the PE's product register (ECP5_DSP_PRODUCT_REG: the register inside an ECP5
MULT18X18D, rtl/fpga/) is proven equivalent to the behavioural PE and array, and the proof fails
for a wrong wrapper; the mapping is Verilator-lint clean and simulation never sees it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import systolic.rtl
from systolic.engine import toolchain
from systolic.errors import ConfigError
from systolic.formal import run
from systolic.mutation.catalog import edit_copy

WRAPPER = systolic.rtl.ECP5_DSP_WRAPPER
MODEL = systolic.rtl.ECP5_DSP_MODEL
PE = "systolic_pe.v"

#: Wrong mappings the proof must reject: (file, exact RTL text, replacement, outputs that differ).
WRONG = {
    # operand a zero-extended to the primitive's 18 bits instead of sign-extended
    "a_not_sign_extended": (
        WRAPPER,
        "wire [17:0] a18 = {{(18 - DATA_W){a_i[DATA_W-1]}}, a_i};",
        "wire [17:0] a18 = {{(18 - DATA_W){1'b0}}, a_i};",
        "acc_o",
    ),
    # the primitive's reset (active high) driven with rst_ni itself: the register held cleared
    "reset_polarity": (WRAPPER, ".RST0(rst)", ".RST0(rst_ni)", "acc_o"),
    # no register in the DSP: the product reaches the adder one edge early
    "no_register": (
        WRAPPER,
        'localparam REG_OUT = (REG == "OUTPUT")   ? "CLK0" : "NONE";',
        'localparam REG_OUT = "NONE";',
        "acc_o",
    ),
    # the product's sign extension to ACC_W after the DSP dropped (zero-extended)
    "product_not_sign_extended": (
        PE,
        "assign mac_prod = {{(ACC_W - PROD_W){prod_dsp_q[PROD_W-1]}}, prod_dsp_q};",
        "assign mac_prod = {{(ACC_W - PROD_W){1'b0}}, prod_dsp_q};",
        "acc_o",
    ),
}


def _edited_rtl(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of rtl/ (with fpga/) with exact text edits, each matching exactly once."""
    return edit_copy(run.RTL_DIR, tmp_path / "rtl", edits, "planted bug")


@pytest.mark.formal
@pytest.mark.parametrize(
    ("top", "params"),
    [
        ("systolic_pe", {"DATA_W": 8, "ACC_W": 32, "MUL_REG": 1}),  # the FPGA flow's widths
        ("systolic_pe", {"DATA_W": 4, "ACC_W": 8, "MUL_REG": 1}),  # ACC_W = 2*DATA_W: no sext
        ("systolic_pe", {"DATA_W": 16, "ACC_W": 40, "MUL_REG": 1}),  # the widest operands
        ("systolic_array", {"ROWS": 2, "COLS": 3, "DATA_W": 3, "ACC_W": 7, "MUL_REG": 1}),
    ],
)
def test_dsp_mapping_is_equivalent(tmp_path: Path, top: str, params: dict[str, int]) -> None:
    result = run.prove_dsp_equivalent(top, params, tmp_path / "work")
    assert result.status == "pass", result
    assert result.task == f"equiv_dsp_{top}" and "k-induction" in result.mode


@pytest.mark.formal
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_mapping_fails(tmp_path: Path, name: str) -> None:
    file, old, new, output = WRONG[name]
    rtl = _edited_rtl(tmp_path, [(file, old, new)])
    params = {"DATA_W": 3, "ACC_W": 8, "MUL_REG": 1}
    result = run.prove_dsp_equivalent("systolic_pe", params, tmp_path / "work", rtl)
    assert result.status == "fail", result
    assert output in result.detail, result.detail


@pytest.mark.formal
@pytest.mark.parametrize("reg", ["PIPELINE", "INPUT"])
def test_other_register_placements_are_equivalent(tmp_path: Path, reg: str) -> None:
    """The wrapper's other placements of its one register (the model's pipeline and input
    registers) give the same cycle behaviour."""
    old = 'parameter [63:0]  REG    = "OUTPUT"'
    rtl = _edited_rtl(tmp_path, [(WRAPPER, old, old.replace("OUTPUT", reg))])
    params = {"DATA_W": 3, "ACC_W": 8, "MUL_REG": 1}
    result = run.prove_dsp_equivalent("systolic_pe", params, tmp_path / "work", rtl)
    assert result.status == "pass", result


@pytest.mark.formal
def test_an_unsupported_primitive_setting_is_an_error(tmp_path: Path) -> None:
    """The model refuses what it does not model (here a synchronous reset): the proof is an
    error, never a pass."""
    rtl = _edited_rtl(tmp_path, [(WRAPPER, '.RESETMODE("ASYNC")', '.RESETMODE("SYNC")')])
    params = {"DATA_W": 3, "ACC_W": 8, "MUL_REG": 1}
    result = run.prove_dsp_equivalent("systolic_pe", params, tmp_path / "work", rtl)
    assert result.status == "error", result
    assert "needs_RESETMODE_ASYNC" in result.detail, result.detail


def test_the_mapping_needs_the_product_register(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MUL_REG=1"):
        run.prove_dsp_equivalent("systolic_pe", {"DATA_W": 8, "ACC_W": 32}, tmp_path)


def test_simulation_never_reads_the_mapping() -> None:
    """The define is set only by the FPGA flow: no design's simulation sources name rtl/fpga/,
    and the behavioural register is what systolic_pe.v has without it."""
    for top in systolic.rtl.DESIGNS:
        assert all(p.parent.name != "fpga" for p in systolic.rtl.sources(top))
    text = (run.RTL_DIR / PE).read_text()
    dsp, behavioural = text.split(f"`ifdef {systolic.rtl.ECP5_DSP_DEFINE}")[1].split("`else")
    assert "systolic_pe_mult_ecp5" in dsp
    assert "assign mac_prod  = prod_q;" in behavioural.split("`endif")[0]


@pytest.mark.parametrize("mul_reg", [0, 1])
def test_the_mapping_is_lint_clean(mul_reg: int) -> None:
    """verilator --lint-only -Wall on the array read with the define, the wrapper and the
    primitive's model (the model stands in for the black box)."""
    exe = toolchain.verilator_bin() / "verilator"
    rtl = run.RTL_DIR
    files = [rtl / MODEL, rtl / WRAPPER, *systolic.rtl.sources("systolic_array", rtl)]
    cmd = [str(exe), "--lint-only", "-Wall", "--top-module", "systolic_array"]
    cmd += [f"-GMUL_REG={mul_reg}", f"+define+{systolic.rtl.ECP5_DSP_DEFINE}", *map(str, files)]
    env = {**os.environ, **toolchain.simulator_env("verilator")}
    env.pop("VERILATOR_ROOT", None)  # as toolchain.lint does
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    messages = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]
    assert proc.returncode == 0 and not messages, messages


@pytest.mark.formal
def test_the_primitives_signedness_does_not_matter(tmp_path: Path) -> None:
    """docs/verification.md: with both operands sign-extended to 18 bits, the low 2*DATA_W
    product bits are the same whether the primitive multiplies signed or unsigned."""
    edits = [(WRAPPER, f".SIGNED{x}(1'b1)", f".SIGNED{x}(1'b0)") for x in "AB"]
    rtl = _edited_rtl(tmp_path, edits)
    params = {"DATA_W": 3, "ACC_W": 8, "MUL_REG": 1}
    result = run.prove_dsp_equivalent("systolic_pe", params, tmp_path / "work", rtl)
    assert result.status == "pass", result
