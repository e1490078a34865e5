"""Formal proofs (SymbiYosys): the quick tier passes, a planted RTL bug fails the right property,
a broken tool chain or broken RTL is an error (never a pass), and the equivalence check tells an
identical copy from a mutant."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from systolic.errors import ConfigError, SimulatorError
from systolic.formal import ProofResult, prove, prove_equivalent, run
from systolic.mutation.catalog import edit_copy

RES_VLD = "res_vld_q <= mac_fire & mac_last;"

#: Planted bugs: (file, RTL text, replacement, task that must fail, property it must name).
BUGS = (
    ("systolic_pe.v", RES_VLD, "res_vld_q <= mac_fire;", "pe_d3a7_res", "p_res_vld_strobe"),
    (
        "systolic_pe.v",
        "if (mac_fire) begin\n        acc_q <= acc_next;",
        "if (a_vld_i) begin\n        acc_q <= acc_next;",
        "pe_d2a4_acc",
        "p_acc_hold",
    ),
    (
        "systolic_array.v",
        "assign b_v[0][j]     = b_i[j*DATA_W +: DATA_W];",
        "assign b_v[0][j]     = b_i[(COLS-1-j)*DATA_W +: DATA_W];",
        "array_2x3_d3a7_skew",
        "p_skew_north",
    ),
    # MUL_REG=1: the registered pair's fire bit taken from a alone, and the product register
    # bypassed (the product added one edge early, with the registered pair's flags).
    ("systolic_pe.v", "fire_q  <= fire;", "fire_q  <= a_vld_i;", "pe_d3a7m1_acc", "p_acc_hold"),
    (
        "systolic_pe.v",
        "assign mac_prod  = prod_q;",
        "assign mac_prod  = prod_ext;",
        "pe_d3a7m1_acc",
        "p_acc_",
    ),
)


def _mutated_rtl(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of rtl/ with one exact text edit (the edit must match exactly once)."""
    return edit_copy(run.RTL_DIR, tmp_path / "rtl", [(file, old, new)], "planted bug")


def _table(results: list[ProofResult]) -> str:
    return "\n".join(f"{r.task} {r.status} {r.seconds:.1f}s {r.detail}" for r in results)


@pytest.mark.formal
def test_quick_tier_proves_every_property(tmp_path: Path) -> None:
    results = prove(work=tmp_path)
    assert len(results) == len(run.catalog("quick")) > 0
    assert all(r.status == "pass" for r in results), _table(results)
    assert {r.task for r in results} >= {"pe_d3a7_arst", "pe_d3a6_cover", "array_3x2_d4a8_skew"}
    assert {r.task for r in results} >= {"pe_d3a7m1_acc", "pe_d3a6m1_cover", "array_2x3_d3a7m1_rst"}


@pytest.mark.formal
@pytest.mark.parametrize(
    ("file", "old", "new", "task", "prop"), BUGS, ids=[f"{b[3]}-{b[4]}" for b in BUGS]
)
def test_planted_bug_fails_its_property(
    tmp_path: Path, file: str, old: str, new: str, task: str, prop: str
) -> None:
    rtl = _mutated_rtl(tmp_path, file, old, new)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=[task])
    assert result.status == "fail", result
    assert prop in result.detail, result.detail


def test_broken_toolchain_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Yosys replaced by a program that fails: every task is an error, none passes."""
    tools = run.find_toolchain()
    broken = run.Toolchain(
        tools.sby, shutil.which("false") or "/bin/false", tools.smtbmc, tools.witness
    )
    monkeypatch.setattr(run, "find_toolchain", lambda: broken)
    results = prove(work=tmp_path, only=["pe_d2a4_fwd", "array_2x2_d2a4_cover"])
    assert [r.status for r in results] == ["error", "error"], _table(results)


@pytest.mark.formal
def test_broken_rtl_is_an_error(tmp_path: Path) -> None:
    rtl = _mutated_rtl(tmp_path, "systolic_pe.v", RES_VLD, "res_vld_q <= fire &&& ;")
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=["pe_d2a4_res"])
    assert result.status == "error", result
    assert "ERROR" in result.detail or "error" in result.detail, result.detail


@pytest.mark.formal
def test_renamed_hierarchy_is_an_error(tmp_path: Path) -> None:
    """The array wrapper reaches PE ports by their hierarchical names: if the design renames a
    generate block, the run is an error naming the unconnected signals, never a pass."""
    rtl = _mutated_rtl(tmp_path, "systolic_array.v", "begin : g_col", "begin : g_column")
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=["array_2x2_d2a4_lane"])
    assert result.status == "error", result
    assert "u_dut.g_row[0].g_col[0].u_pe" in result.detail, result.detail


def test_no_matching_task_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no formal task"):
        prove(work=tmp_path, only=["no_such_task"])
    with pytest.raises(ConfigError, match="tier"):
        prove(work=tmp_path, tier="weekly")


def test_verdict_never_passes_without_a_proof() -> None:
    """A PASS status without a k-induction proof, a timeout or no status at all is an error."""
    no_proof = run.SbyRun("PASS", 0, "summary: engine_0 returned pass for basecase", 1.0)
    assert run.verdict("prove", no_proof)[0] == "error"
    assert run.verdict("prove", run.SbyRun("", None, "", 330.0))[0] == "error"
    assert run.verdict("prove", run.SbyRun("", 0, "", 1.0))[0] == "error"
    assert run.verdict("prove", run.SbyRun("UNKNOWN", 4, "", 1.0))[0] == "error"
    assert run.verdict("cover", run.SbyRun("PASS", 0, "reached cover statement", 1.0))[0] == "pass"


@pytest.mark.formal
def test_equivalence_identical_and_mutant(tmp_path: Path) -> None:
    params = {"DATA_W": 3, "ACC_W": 7}
    same = prove_equivalent(run.RTL_DIR, run.RTL_DIR, "systolic_pe", params, tmp_path / "same")
    assert same.status == "pass", same
    mutant = _mutated_rtl(tmp_path, "systolic_pe.v", RES_VLD, "res_vld_q <= mac_fire;")
    diff = prove_equivalent(run.RTL_DIR, mutant, "systolic_pe", params, tmp_path / "diff")
    assert diff.status == "fail", diff
    assert "res_vld_o" in diff.detail, diff.detail


@pytest.mark.formal
def test_equivalence_of_arrays(tmp_path: Path) -> None:
    params = {"ROWS": 2, "COLS": 3, "DATA_W": 2, "ACC_W": 5}
    same = prove_equivalent(run.RTL_DIR, run.RTL_DIR, "systolic_array", params, tmp_path / "same")
    assert same.status == "pass", same
    old, new, *_ = BUGS[2][1:]
    mutant = _mutated_rtl(tmp_path, "systolic_array.v", old, new)
    diff = prove_equivalent(run.RTL_DIR, mutant, "systolic_array", params, tmp_path / "diff")
    assert diff.status == "fail", diff


def _systolic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "systolic.cli", *args], capture_output=True, text=True, timeout=600
    )


@pytest.mark.formal
def test_cli_table_and_exit_status(tmp_path: Path) -> None:
    proc = _systolic("formal", "--only", "pe_d2a4_fwd", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pe_d2a4_fwd" in proc.stdout and "PASS" in proc.stdout
    assert "1 passed, 0 failed, 0 errors" in proc.stdout

    rtl = _mutated_rtl(tmp_path, "systolic_pe.v", RES_VLD, "res_vld_q <= fire;")
    proc = _systolic(
        "formal", "--only", "pe_d2a4_res", "--rtl-dir", str(rtl), "--out", str(tmp_path)
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL" in proc.stdout and "p_res_vld_strobe" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [("--only", "no_such_task"), ("--rtl-dir", "/nonexistent"), ("--jobs", "0"), ("--tier", "x")],
    ids=["no-task", "no-rtl", "jobs", "tier"],
)
def test_cli_usage_errors_are_one_line(args: tuple[str, ...], tmp_path: Path) -> None:
    proc = _systolic("formal", "--out", str(tmp_path), *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), proc.stderr


def test_missing_solver_is_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No z3 on PATH: nothing runs, `systolic formal` says so in one line and exits 2."""
    from systolic import cli

    real_which = shutil.which
    monkeypatch.setattr(
        run.shutil, "which", lambda name: None if name == "z3" else real_which(name)
    )
    with pytest.raises(SimulatorError, match="z3"):
        run.find_toolchain()
    assert cli.main(["formal", "--only", "pe_d2a4_fwd", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("systolic: error: ") and "z3" in err[0], err
    assert not (tmp_path / "pe_d2a4_fwd").exists()


@pytest.mark.formal
@pytest.mark.nightly
def test_full_tier_proves_every_property(tmp_path: Path) -> None:
    results = prove(work=tmp_path, tier="full")
    assert len(results) == len(run.catalog("full")) > len(run.catalog("quick"))
    assert all(r.status == "pass" for r in results), _table(results)
