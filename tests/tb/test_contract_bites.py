"""The contract tests fail, with a message naming what broke, on RTL that breaks the contract.

A few deliberate bugs, each aimed at one statement of docs/architecture.md that only the new
tests check (asynchronous reset, the release rule, chaining through the edge outputs), run on
Icarus with just the cocotb test meant to catch it. The mutation catalog (mutation/catalog.py)
covers many more; these keep the proof next to the tests it is about.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from systolic.engine import build, config, runner
from systolic.engine.config import RunSettings
from systolic.engine.tops import CHAIN_V, chain_top
from systolic.models import ArrayParams

PE_FILE = "systolic_pe.v"
ARRAY_FILE = "systolic_array.v"
ASYNC = "always @(posedge clk_i or negedge rst_ni) begin"
PE_RST = "          .rst_ni    (rst_ni),"


def _mutated_rtl(tmp: Path, file: str, old: str, new: str, count: int = 1) -> Path:
    """A copy of rtl/ with ``old`` (found exactly ``count`` times) replaced in ``file``."""
    rtl = tmp / "rtl"
    shutil.copytree(build.RTL_DIR, rtl)
    path = rtl / file
    text = path.read_text()
    assert text.count(old) == count, f"stale edit: {old!r} is not {count}x in {file}"
    path.write_text(text.replace(old, new))
    return rtl


def _failures(res: runner.RunResult) -> str:
    assert not res.passed, f"the broken RTL passed: {res.summary()}"
    assert "<simulator>" not in res.failures, res.summary()  # killed by a checker, not a crash
    return " ".join(res.failures.values())


@pytest.fixture(autouse=True)
def _no_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.COV_DIR, raising=False)  # broken RTL does not count


@pytest.mark.sim
def test_synchronous_reset_is_caught_between_edges(tmp_path: Path) -> None:
    """Registers that reset only at a clock edge keep their values when rst_ni falls, and a pulse
    with no rising edge inside does not reset them at all. (The third always block, the product
    register's, is not built at MUL_REG=0.)"""
    rtl = _mutated_rtl(tmp_path, PE_FILE, ASYNC, "always @(posedge clk_i) begin", count=3)
    res = runner.run(
        RunSettings("icarus", seed=5, rtl_dir=rtl, build_root=tmp_path / "build"),
        ArrayParams(3, 3),
        ["test_reset_between_edges"],
    )
    msg = _failures(res)
    assert "100 ps after rst_ni fell at cycle" in msg, msg


@pytest.mark.sim
def test_late_release_is_caught(tmp_path: Path) -> None:
    """A reset synchronizer (asserted at once, released one edge late): a common design, but not
    the documented release rule, so the inputs of the first cycle after release are lost."""
    sync = (
        "  reg rst_q;\n"
        "  always @(posedge clk_i or negedge rst_ni) rst_q <= !rst_ni ? 1'b0 : 1'b1;\n"
        "  wire late_rst_n = rst_ni & rst_q;\n"
        "  genvar i, j;"
    )
    rtl = _mutated_rtl(tmp_path, ARRAY_FILE, "  genvar i, j;", sync)
    path = rtl / ARRAY_FILE
    path.write_text(path.read_text().replace(PE_RST, "          .rst_ni    (late_rst_n),"))
    res = runner.run(
        RunSettings("icarus", seed=5, rtl_dir=rtl, build_root=tmp_path / "build"),
        ArrayParams(2, 3),
        ["test_reset_release"],
    )
    msg = _failures(res)
    # Held over edges 1..3: edge 4 is the first that must accept inputs.
    assert msg.startswith("PE(0,0) accumulator at cycle 4: expected "), msg


@pytest.mark.sim
def test_chain_without_the_edge_delay_is_caught(tmp_path: Path) -> None:
    """The second array fed from the first one's west inputs instead of its east edge: what the
    chaining contract rules out must fail the chained regression."""
    chain = tmp_path / "systolic_chain.v"
    text = CHAIN_V.read_text()
    old = ".a_i(a_mid), .a_vld_i(vld_mid), .a_first_i(fst_mid), .a_last_i(lst_mid),"
    assert text.count(old) == 1
    chain.write_text(
        text.replace(
            old, ".a_i(a_i), .a_vld_i(a_vld_i), .a_first_i(a_first_i), .a_last_i(a_last_i),"
        )
    )
    params = ArrayParams(3, 5)
    top = chain_top(params, south=False, split=2, source=chain)
    res = runner.run(
        RunSettings("icarus", seed=5, build_root=tmp_path / "build"),
        params,
        ["test_lecture_3x3"],
        top=top,
    )
    msg = _failures(res)
    assert "PE(0,2) accumulator at cycle" in msg, msg
