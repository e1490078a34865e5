"""The result FIFO's storage in block RAM (rtl/systolic_fifo_ram.v) is proven to read exactly
what the flip-flop array it replaced read (rtl/formal/systolic_fifo_ram_fv.sv: rdata_o ==
ref[rd_ptr_q] for every sequence of writes and read addresses), and the proof bites: a RAM
without its bypass, with its collision flag stuck, reading an address it did not register or
writing the wrong word fails it, and a renamed memory is an error, never a pass. The top hands it
the read pointer's next value and the write port the planted bug of test_formal_accel.py moved
to."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from systolic.engine import build, toolchain
from systolic.formal import prove, run
from systolic.mutation.catalog import edit_copy

RAM = "systolic_fifo_ram.v"
ACCEL = "systolic_accel.v"
#: The quick tier's storage at a depth that is not a power of two.
TASK = "fiforam_d3w2_read"

#: Wrong storages the proof must reject: (RTL text, replacement, property that fails).
WRONG = {
    # a write at the edge where its address is registered for reading is not shown: the read
    # gives the word as it was before the write
    "bypass_removed": (
        "assign rdata_o = byp_q ? byp_data_q : rdata_q;",
        "assign rdata_o = rdata_q;",
        "p_ram_read",
    ),
    "collision_flag_stuck_at_0": (
        "byp_q      <= we_i && waddr_ok && (waddr_i == raddr_i);",
        "byp_q      <= 1'b0;",
        "p_ram_read",
    ),
    # the bypass taken on an address match without a write: stale wdata_i shown
    "bypass_without_write": (
        "byp_q      <= we_i && waddr_ok && (waddr_i == raddr_i);",
        "byp_q      <= waddr_ok && (waddr_i == raddr_i);",
        "p_ram_read",
    ),
    # the read address not registered: the next cycle's word read now (a combinational read)
    "read_address_not_registered": (
        "assign rdata_o = byp_q ? byp_data_q : rdata_q;",
        "assign rdata_o = byp_q ? byp_data_q : mem_q[raddr_i];",
        "p_ram_read",
    ),
    # the write port writes the word being read: the storage itself goes wrong
    "write_to_the_read_address": (
        "if (we_i) mem_q[waddr_i] <= wdata_i;",
        "if (we_i) mem_q[raddr_i] <= wdata_i;",
        "p_ram_word",
    ),
}


def _edited_rtl(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of rtl/ with one exact edit of ``file`` (it must match exactly once)."""
    return edit_copy(run.RTL_DIR, tmp_path / "rtl", [(file, old, new)], "planted bug")


def test_catalog_proves_and_covers_the_storage() -> None:
    """Each tier proves p_ram_* by k-induction and covers c_ram_* at its (DEPTH, WIDTH) sets:
    one word, depths that are a power of two and ones that are not; the full tier adds more."""
    quick = [t for t in run.catalog("quick") if t.wrapper == "systolic_fifo_ram_fv"]
    full = [t for t in run.catalog("full") if t.wrapper == "systolic_fifo_ram_fv"]
    depths = {dict(t.params)["DEPTH"] for t in quick}
    powers = {d for d in depths if d > 1 and not d & (d - 1)}
    assert 1 in depths and powers and depths - powers - {1}
    assert {t.name for t in quick} < {t.name for t in full}
    for task in full:
        assert task.files == run.FIFO_RAM_FILES
        assert task.memory_taps == (("f_words", "u_dut.mem_q", dict(task.params)["DEPTH"]),)
        assert (task.mode, task.group) in {("prove", "p_ram_*"), ("cover", "c_ram_*")}
    names = {t.name for t in full}
    assert all(n.replace("_read", "_cover") in names for n in names if n.endswith("_read"))


def test_sby_file_maps_the_memory_and_taps_its_words() -> None:
    """memory_map before flatten, the words connected after it (last word first), then the
    usual check; the wrapper and the storage read from their folders."""
    [task] = run.select_tasks(run.catalog("quick"), [TASK])
    text = run.sby_text(task, run.RTL_DIR)
    script = text.split("[script]")[1].split("[files]")[0].splitlines()
    assert script.index("memory_map") < script.index("flatten")
    connect = r"connect -set f_words \u_dut.mem_q[2],\u_dut.mem_q[1],\u_dut.mem_q[0]"
    assert script.index("flatten") < script.index(connect) < script.index("check")
    assert "read_verilog -sv systolic_fifo_ram.v" in text
    assert "chparam -set DEPTH 3 -set WIDTH 2 systolic_fifo_ram_fv" in text
    [accel] = run.select_tasks(run.catalog("quick"), ["accel_1x2_d2a4_f2_axis"])
    assert "memory_map" not in run.sby_text(accel, run.RTL_DIR)  # the others keep memories


@pytest.mark.formal
def test_the_storage_is_proven(tmp_path: Path) -> None:
    results = prove(work=tmp_path, tier="full", only=["fiforam_*"])
    assert len(results) == 2 * len(run.FIFO_RAM_CONFIGS["full"] + run.FIFO_RAM_CONFIGS["quick"])
    assert all(r.status == "pass" for r in results), [(r.task, r.detail) for r in results]
    assert all("k-induction" in r.mode for r in results if r.task.endswith("_read"))


@pytest.mark.formal
@pytest.mark.parametrize("name", sorted(WRONG))
def test_a_wrong_storage_fails(tmp_path: Path, name: str) -> None:
    old, new, prop = WRONG[name]
    rtl = _edited_rtl(tmp_path, RAM, old, new)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=[TASK])
    assert result.status == "fail", result
    assert prop in result.detail, result.detail


@pytest.mark.formal
def test_a_renamed_memory_is_an_error(tmp_path: Path) -> None:
    """The driver connects the words by the memory's name: renamed, the run is an error."""
    rtl = _edited_rtl(tmp_path, RAM, "mem_q [0:DEPTH-1];", "store_q [0:DEPTH-1];")
    text = (rtl / RAM).read_text().replace("mem_q[", "store_q[")
    (rtl / RAM).write_text(text)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=[TASK])
    assert result.status == "error", result


def test_the_top_hands_over_the_next_read_pointer() -> None:
    """rtl/systolic_accel.v: the RAM's read address is the value rd_ptr_q loads at the same
    edge, and its write port takes the written group at wr_ptr_q (the lines the planted bugs
    and the mutants edit)."""
    text = (run.RTL_DIR / ACCEL).read_text()
    assert "wire [PTR_W-1:0]   rd_ptr_d = rd ? ptr_inc(rd_ptr_q) : rd_ptr_q;" in text
    assert "      rd_ptr_q <= rd_ptr_d;" in text
    assert "    .raddr_i (rd_ptr_d)," in text and "    .waddr_i (wr_ptr_q)," in text
    assert "    .WIDTH  (ENTRY_W)," in text and "    .DEPTH  (FIFO_DEPTH)," in text
    # an entry: {tlast, tkeep, tdata}, OUT_ROWS*COLS*(ACC_W + 1) + 1 bits (docs/architecture.md)
    assert "localparam integer ENTRY_W = BEAT_W * ACC_W + BEAT_W + 1;" in text
    assert "    .wdata_i ({slot_last_q[0], wr_keep, wr_data})," in text
    assert "fifo_q" not in text


def test_the_storage_has_no_reset() -> None:
    """docs/architecture.md: reset leaves the storage alone (its words and read registers): the
    module has no reset port, and no register of it is initialised."""
    text = (run.RTL_DIR / RAM).read_text()
    ports = re.findall(r"^\s*(?:input|output)\s+wire\s+(?:\[[^\]]*\]\s*)?(\w+)", text, re.M)
    assert ports == ["clk_i", "we_i", "waddr_i", "wdata_i", "raddr_i", "rdata_o"]
    assert "negedge" not in text and " = 1'b0;" not in text


@pytest.mark.parametrize(("depth", "width"), [(1, 1), (3, 5), (26, 397)])
def test_the_storage_is_lint_clean(depth: int, width: int) -> None:
    """verilator --lint-only -Wall on the storage alone (systolic lint runs it too)."""
    exe = toolchain.verilator_bin() / "verilator"
    cmd = [str(exe), "--lint-only", "-Wall", "--top-module", "systolic_fifo_ram"]
    cmd += [f"-GDEPTH={depth}", f"-GWIDTH={width}", *map(str, build.fifo_ram_sources())]
    env = {**os.environ, **toolchain.simulator_env("verilator")}
    env.pop("VERILATOR_ROOT", None)  # as toolchain.lint does
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    messages = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]
    assert proc.returncode == 0 and not messages, messages
