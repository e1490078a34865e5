"""The benchmarks: SCALE-Sim agrees with the formula, the bench runs end to end, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.bench import scalesim_run
from systolic.bench.area import parse_stat
from systolic.models import ArrayParams
from systolic.models.tiling import scalesim_os_cycles


@pytest.mark.skipif(not scalesim_run.available(), reason="scalesim (bench extra) not installed")
def test_scalesim_matches_its_formula(tmp_path) -> None:
    gemms = [("a", 3, 3, 3), ("b", 64, 64, 64), ("c", 1, 10, 64), ("d", 17, 5, 9)]
    res = scalesim_run.run_gemms(gemms, 8, 8, tmp_path)
    for name, m, k, n in gemms:
        assert res[name].project_cycles == scalesim_os_cycles(m, k, n, ArrayParams(8, 8)), name


def test_parse_yosys_stat() -> None:
    log = """Printing statistics.
=== systolic_pe ===
     1077 cells
       64   $_DFFE_PN0P_
       21   $_DFF_PN0_
      500   $_AND_
"""
    a = parse_stat(log, "systolic_pe", 1, 1)
    assert (a.cells, a.flops) == (1077, 85)


def _systolic(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.sim
def test_bench_end_to_end(tmp_path) -> None:
    out = tmp_path / "bench.json"
    only = "lecture,16^3,gemv,digits conv1,digits fc pruned"
    proc = _systolic(
        "bench", "--sizes", "4x4", "--sim", "icarus", "--only", only, "--no-area", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "geometric mean" in proc.stdout and "RTL/LB" in proc.stdout
    assert "accelerator top" in proc.stdout and "PASS top cycles == top model" in proc.stdout
    rows = json.loads(out.read_text())["arrays"]["4x4"]["rows"]
    assert len(rows) == 6  # digits conv1 and digits conv1 pruned
    for r in rows:
        assert r["checked"] and r["rtl_cycles"] == r["model_cycles"], r
        assert r["top_checked"] and r["top_cycles"] == r["top_model_cycles"], r
        assert r["top_lower_bound"] <= r["top_cycles"] <= 1.01 * r["top_lower_bound"], r
        if scalesim_run.available():
            assert r["scalesim_cycles"] == r["scalesim_reported"] + 1 == r["scalesim_formula"]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["bench", "--sizes", "0x4"], "ROWS=0"),
        (["bench", "--sizes", "4by4"], "bad array size"),
        (["bench-sim", "--repeat", "0"], "--repeat"),
        (["bench-sim", "--cycles", "5"], "--cycles"),
        (["bench", "--sizes", "40x4"], "ROWS=40"),
        (["bench", "--only", "nope"], "matches no GEMM"),
    ],
)
def test_bench_bad_input(args, needle) -> None:
    proc = _systolic(*args)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


@pytest.mark.slow
def test_area_step_from_another_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Yosys area step works whatever the working folder and wherever the checkout is: it
    once failed from a checkout under /tmp ('rtl/systolic_pe.v not found'), because YoWASP maps
    /tmp to a private folder. The RTL is copied to such a checkout here to prove it."""
    import shutil

    from systolic.engine import build

    rtl = tmp_path / "checkout" / "rtl"
    rtl.mkdir(parents=True)
    for src in build.rtl_sources():
        shutil.copy(src, rtl)
    monkeypatch.setattr(build, "RTL_DIR", rtl)
    assert str(rtl).startswith("/tmp/") or not str(tmp_path).startswith("/tmp")
    from systolic.bench.area import area_table

    monkeypatch.chdir(tmp_path)
    pe, arr = area_table([(2, 2)], 8, 32, tmp_path / "fresh" / "yosys")
    assert pe.design == "systolic_pe" and pe.cells > 0 and pe.flops > 0
    # Four PEs: four times the PE's flip-flops, and at least four times its cells.
    assert arr.flops == 4 * pe.flops and arr.cells >= 4 * pe.cells
    assert (tmp_path / "fresh" / "yosys" / "area.json").is_file()


def test_targets_without_scalesim_or_top_are_not_misses() -> None:
    """--no-scalesim / --no-top: no target is reported on figures that were not measured."""
    from systolic.bench.efficiency import _targets

    row = {"name": "g", "m": 2, "k": 2, "n": 2, "rtl_over_lb": 1.0, "rtl_over_scalesim": None}
    array = {"rows": [row], "geomean_rtl_over_scalesim": float("nan")}
    report = {"arrays": {"2x2": array}, "geomean_rtl_over_scalesim": float("nan")}
    assert list(_targets(report)) == ["RTL <= 1.01 x LB for every GEMM"]


@pytest.mark.sim
def test_bench_json_has_no_nan_without_scalesim(tmp_path) -> None:
    """--no-scalesim: the geometric means over SCALE-Sim are null, and the file is strict JSON."""
    out = tmp_path / "bench.json"
    args = ["bench", "--sizes", "2x2", "--sim", "icarus", "--only", "lecture", "--no-area"]
    proc = _systolic(*args, "--no-scalesim", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in {out}")

    report = json.loads(out.read_text(), parse_constant=refuse)
    array = report["arrays"]["2x2"]
    assert array["geomean_rtl_over_scalesim"] is None
    assert array["geomean_top_over_scalesim"] is None
    assert array["rows"][0]["top_checked"]
    # The default result-port widths that fit a 2x2 top: 1 (the RTL's default) and 2.
    assert [(x["out_rows"], x["shadows"]) for x in array["ports"]] == [(1, 1), (2, 2)]
    assert all(r["top_checked"] for x in array["ports"] for r in x["rows"])


def test_figure_prints_a_dash_where_nothing_was_computed() -> None:
    """issue 24: --no-scalesim printed nan and nan% for the ratios it did not compute. The one
    formatter of the printed and Markdown tables writes '-' for None and NaN, the figure else."""
    from systolic.bench.report import figure

    assert [figure(None, ".3f"), figure(float("nan"), ".1%"), figure(None)] == ["-"] * 3
    assert (figure(0.4423, ".3f"), figure(0.5, ".1%"), figure(69)) == ("0.442", "50.0%", "69")


def test_tables_without_scalesim_show_dashes(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    """The printed tables (array, top, ports) and the Markdown of bench.json say '-', never
    nan, where SCALE-Sim was not run."""
    from systolic.bench import efficiency, report

    row = {
        "name": "lecture 3x3", "m": 3, "k": 3, "n": 3, "rtl_cycles": 8, "model_cycles": 8,
        "scalesim_cycles": None, "scalesim_source": None, "lower_bound": 8, "rtl_over_lb": 1.0,
        "rtl_over_scalesim": None, "utilization": 0.2, "scalesim_utilization": None,
        "mapping_efficiency": 0.5, "top_cycles": 10, "top_model_cycles": 10,
        "top_lower_bound": 10, "top_over_lb": 1.0, "top_over_scalesim": None, "top_checked": True,
    }  # fmt: skip
    nan = float("nan")
    port = {
        "out_rows": 1, "shadows": 1, "words_per_beat": 2, "rows": [row],
        "geomean_top_over_scalesim": nan, "max_top_over_lb": 1.0, "conv1_top_cycles": None,
        "conv1_top_over_scalesim": None,
    }  # fmt: skip
    array = {
        "rows": [row], "geomean_rtl_over_lb": 1.0, "geomean_rtl_over_scalesim": nan,
        "geomean_lb_over_scalesim": nan, "geomean_top_over_scalesim": nan, "ports": [port],
    }  # fmt: skip
    efficiency._print_bench(2, 2, array)
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and " - " in out and "RTL/SCALE-Sim -" in out
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(efficiency._no_nan({"arrays": {"2x2": array}, "targets": {}})))
    md = report.bench_md(path)
    assert "nan" not in md.lower() and "RTL/SCALE-Sim - (LB/SCALE-Sim -)" in md


def test_targets_at_mul_reg_1_are_named_so() -> None:
    """issue 24: make bench checks the targets at MUL_REG=1 too (a second run); that run's
    target names say so, and the top's 1.01 x LB target is among them."""
    from systolic.bench.efficiency import _targets

    row = {
        "name": "g", "m": 2, "k": 2, "n": 2, "rtl_over_lb": 1.0, "rtl_over_scalesim": None,
        "top_cycles": 9, "top_model_cycles": 9, "top_over_lb": 1.011, "top_over_scalesim": None,
    }  # fmt: skip
    array = {"rows": [row], "geomean_rtl_over_scalesim": float("nan")}
    report = {"arrays": {"2x2": array}, "geomean_rtl_over_scalesim": float("nan"), "mul_reg": 1}
    t = _targets(report)
    name = "top <= 1.01 x top LB for every GEMM at MUL_REG=1"
    assert t[name] == {"value": 1.011, "met": False}
    assert "RTL <= 1.01 x LB for every GEMM at MUL_REG=1" in t
    assert all(n.endswith(" at MUL_REG=1") for n in t)
    mk = (Path(__file__).resolve().parents[2] / "mk" / "bench.mk").read_text()
    assert "CMD.bench.2 = bench --mul-reg 1 " in mk and "@$(SYSTOLIC) $(CMD.bench.2)\n" in mk
