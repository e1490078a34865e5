"""Formal checks of the accelerator top (rtl/formal/systolic_accel_fv.sv): the catalog holds its
tasks (at OUT_ROWS/SHADOWS 1 and at OUT_ROWS 2 and/or SHADOWS 2), planted bugs in
rtl/systolic_accel.v fail the right property, and a renamed internal signal is an error, never a
pass.

The quick tier's accelerator tasks pass on the committed RTL in
tests/formal/test_formal.py::test_quick_tier_proves_every_property (it runs the whole tier); the
full tier's run nightly here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.errors import ConfigError
from systolic.formal import ProofResult, prove, run
from systolic.mutation.catalog import edit_copy

ACCEL = "systolic_accel.v"
#: The quick tier's accelerator configuration (formal.run.ACCEL_CONFIGS).
QUICK = "accel_1x2_d2a4_f2"
#: The full tier's configurations at OUT_ROWS 2 and/or SHADOWS 2 (the quick tier has the first
#: one's in, fifo and resv proofs).
O2S2 = "accel_2x2_d2a4_f3_o2s2"
O2S2_3X2 = "accel_3x2_d2a4_f3_o2s2"
O2S1 = "accel_2x2_d2a4_f3_o2s1"
O1S2 = "accel_2x2_d2a4_f6_o1s2"
#: The tall, narrow top of the deep-FIFO proofs (FIFO_DEPTH 4, 1000 and 1024).
DEEP = "accel_4x1_d2a4"

#: Planted bugs: (id, RTL text, replacement, task that must fail, property it must name). Their
#: tasks are in the quick tier (make test).
BUGS = (
    (
        "room_off_by_one",
        "    room_for = (g <= lim) && (u <= lim - g);",
        "    room_for = (g <= lim + 1'b1) && (u <= lim + 1'b1 - g);",
        f"{QUICK}_resv",
        # The flags' lemma sees it a cycle before the FIFO overflows (p_resv_room, which
        # tready_ignores_admission shows).
        "p_inv_okg",
    ),
    (
        # The room flags must count this cycle's read: here a read never frees an entry early.
        "room_flags_ignore_read",
        "room_keep = rd ? room_for(used_w, K, DEPTH_C + ONE_C) : room_for(used_w, K, DEPTH_C);",
        "room_keep = room_for(used_w, K, DEPTH_C);",
        f"{QUICK}_resv",
        "p_inv_okg",
    ),
    (
        # The admission's flags must follow an admission: here they move on as if none came.
        "admission_flags_ignore_admit",
        "okg_q  <= admit ? okg_add : okg_keep;",
        "okg_q  <= okg_keep;",
        f"{QUICK}_resv",
        "p_inv_okg",
    ),
    (
        "tready_ignores_admission",
        "wire             accept     = step_vld & (~s_axis_a_tlast | admit_ok);",
        "wire             accept     = step_vld;",
        f"{QUICK}_fifo",
        "p_resv_room",
    ),
    (
        "write_over_head",
        "    .waddr_i (wr_ptr_q),",
        "    .waddr_i (rd_ptr_q),",
        f"{QUICK}_axis",
        "p_axis_hold",
    ),
    (
        "shadow_strobe_removed",
        "            if (strobe) begin\n              shadow_q[0] <=",
        "            if (1'b0) begin\n              shadow_q[0] <=",
        f"{QUICK}_drain",
        "p_drain_word",
    ),
    (
        "reservations_count_rows",
        "resv_add  = resv_w + fold_g_w - wr_w;",
        "resv_add  = resv_w + {{(ARITH_W - CNT_W){1'b0}}, fold_m} - wr_w;",
        f"{O2S2}_resv",
        "p_resv_match",
    ),
)

#: Planted bugs that only show at OUT_ROWS 2 or SHADOWS 2, against full-tier tasks (nightly).
BUGS_FULL = (
    (
        # The room rule's own count of entries in use (used_q) must follow every read, at the
        # deepest FIFO too (the quick tier's deep-FIFO task).
        "room_count_ignores_reads",
        "wire [ARITH_W-1:0] used_keep = used_w - rd_w;",
        "wire [ARITH_W-1:0] used_keep = used_w;",
        f"{DEEP}_f1024_fifo",
        "p_resv_used",
    ),
    (
        # At OUT_ROWS 2 a fold's rows wait for the group's last row: with one shadow, the fold
        # two before must be read before a new fold captures, and only the shadow rule ensures it.
        "shadow_rule_removed",
        "wire             admit_ok   = (|(okg_q & fold_size)) & free_q;",
        "wire             admit_ok   = |(okg_q & fold_size);",
        f"{O2S1}_shadow",
        "p_shadow_keep",
    ),
    (
        # m_axis_c_tvalid is a register: here it drops when the last entry is not read.
        "valid_drops_on_last_entry",
        "valid_q <= wr | (count_q > COUNT_ONE) | ((count_q == COUNT_ONE) & ~rd);",
        "valid_q <= wr | (count_q > COUNT_ONE);",
        f"{DEEP}_f1024_fifo",
        "p_inv_valid",
    ),
    (
        "second_shadow_never_read",
        "assign pick[sh+1] = (pend_q == HELD) ? shadow_q[sh] : pick[sh];",
        "assign pick[sh+1] = (pend_q == HELD) ? shadow_q[0] : pick[sh];",
        f"{O2S2}_drain",
        "p_drain_word",
    ),
    (
        "shadow_chain_not_shifted",
        "for (s = 1; s < SHADOWS; s = s + 1) shadow_q[s] <= shadow_q[s-1];",
        "",
        f"{O1S2}_drain",
        "p_drain_word",
    ),
    (
        "group_keep_ignores_rows",
        "assign wr_keep[pp*COLS +: COLS] = slot_keep_q[0] & {COLS{slot_rows_q[0][pp]}};",
        "assign wr_keep[pp*COLS +: COLS] = slot_keep_q[0];",
        f"{O2S2_3X2}_order",
        "p_order_keep",
    ),
    (
        "read_ignores_rows",
        "wire read_row = wr && (rd_grp == GRP_I) && slot_rows_q[0][i % OUT_ROWS];",
        "wire read_row = wr && (rd_grp == GRP_I);",
        f"{O2S2_3X2}_drain",
        "p_drain_pend",
    ),
    (
        "group_written_before_its_last_row",
        "wire [CNT_W-1:0] ready = fold_n + ((HI < fold_m) ? HI : fold_m) + LAT_C;",
        "wire [CNT_W-1:0] ready = fold_n + ((LO < fold_m) ? LO + 1'b1 : fold_m) + LAT_C;",
        f"{O2S2_3X2}_drain",
        "p_drain_early",
    ),
)


def _mutated_rtl(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of rtl/ with one exact edit of rtl/systolic_accel.v (it must match exactly once)."""
    return edit_copy(run.RTL_DIR, tmp_path / "rtl", [(ACCEL, old, new)], "planted bug")


def _table(results: list[ProofResult]) -> str:
    return "\n".join(f"{r.task} {r.status} {r.seconds:.1f}s {r.detail}" for r in results)


def _accel(tier: str) -> list[run.Task]:
    return [t for t in run.catalog(tier) if t.wrapper == "systolic_accel_fv"]


def test_catalog_has_every_accel_group() -> None:
    """Each tier proves, bounds or covers every group of the wrapper; the full tier adds sizes
    and OUT_ROWS/SHADOWS; the quick tier has three k-inductions at OUT_ROWS 2, SHADOWS 2."""
    quick, full = _accel("quick"), _accel("full")
    suffixes = {name for name, _globs, _mode in run.ACCEL_GROUPS} | {"cover"}
    assert {t.name.removeprefix(f"{QUICK}_") for t in quick if t.name.startswith(QUICK)} == suffixes
    assert {t.name for t in quick if not t.name.startswith(QUICK)} == {
        f"{O2S2}_in",
        f"{O2S2}_fifo",
        f"{O2S2}_resv",
        f"{DEEP}_f1024_fifo",
    }
    # Tall, narrow tops with deep FIFOs: k-inductions only (no cover or bmc fills 1000 entries).
    assert {t.name for t in full if t.name.startswith((f"{DEEP}_f1000_", f"{DEEP}_f1024_"))} == {
        f"{DEEP}_f{depth}_{group}"
        for depth in (1000, 1024)
        for group in ("axis", "in", "fifo", "resv")
    }
    assert {t.name for t in quick} < {t.name for t in full}
    at_l0 = [t for t in full if "_m1_" not in t.name]
    for config in (O2S2, O2S2_3X2, O2S1, O1S2):
        assert {t.name.removeprefix(f"{config}_") for t in at_l0 if t.name.startswith(config)} == (
            suffixes
        )
    # With the array's product register (MUL_REG = 1): every group at 2x2/f3, OUT_ROWS 1 and 2.
    for config in ("accel_2x2_d2a4_f3_m1", f"{O2S2}_m1"):
        tasks = [t for t in full if t.name.startswith(f"{config}_")]
        assert {t.name.removeprefix(f"{config}_") for t in tasks} == suffixes
        assert all(("MUL_REG", 1) in t.params for t in tasks)
    assert len({t.name for t in full}) == len(full)
    assert all(t.files == run.ACCEL_FILES and t.tier in run.TIERS for t in full)
    modes = {t.name.rsplit("_", 1)[1]: t.mode for t in quick}
    assert modes["axis"] == modes["fifo"] == modes["resv"] == modes["in"] == "prove"
    assert modes["drain"] == modes["shadow"] == modes["order"] == modes["out"] == "bmc"
    assert modes["cover"] == "cover"


def test_sby_file_reads_the_top_and_keeps_the_lemmas() -> None:
    """A task with several globs keeps all of them (each must match a check) and reads the top."""
    [task] = run.select_tasks(run.catalog("quick"), [f"{QUICK}_axis"])
    text = run.sby_text(task, run.RTL_DIR)
    assert "read_verilog -sv systolic_accel.v" in text
    assert "chparam -set ROWS 1 -set COLS 2 -set DATA_W 2 -set ACC_W 4 -set FIFO_DEPTH 2" in text
    for glob in ("p_axis_*", "p_resv_*", "p_inv_*"):
        assert f"select -assert-min 1 t:$check c:{glob} %i" in text
    assert "chformal -assert -remove t:* c:p_axis_* c:p_resv_* %u c:p_inv_* %u %d" in text
    [bmc] = run.select_tasks(run.catalog("quick"), [f"{QUICK}_drain"])
    assert "mode bmc" in run.sby_text(bmc, run.RTL_DIR)
    assert "bmc depth" in bmc.mode_text
    [o2s2] = run.select_tasks(run.catalog("quick"), [f"{O2S2}_resv"])
    assert (
        "chparam -set ROWS 2 -set COLS 2 -set DATA_W 2 -set ACC_W 4 -set FIFO_DEPTH 3 "
        "-set OUT_ROWS 2 -set SHADOWS 2 systolic_accel_fv"
    ) in run.sby_text(o2s2, run.RTL_DIR)


def test_accel_task_names_of_the_mutant_catalog_exist() -> None:
    """The tasks named by the top's mutants (mutation/catalog.py) keep their names."""
    names = {t.name for t in _accel("full")}
    for task in (
        *(f"{QUICK}_{g}" for g in ("in", "resv", "fifo", "drain", "order", "cover")),
        "accel_2x2_d2a4_f3_drain",
        "accel_3x2_d2a4_f3_drain",
        "accel_2x2_d2a4_f3_order",
    ):
        assert task in names, task


def test_bmc_verdict() -> None:
    """bmc: PASS is a pass without an induction; a counterexample fails; a timeout is an error."""
    assert run.verdict("bmc", run.SbyRun("PASS", 0, "engine_0 returned pass", 1.0))[0] == "pass"
    cex = "summary: failed assertion systolic_accel_fv.p_drain_word at x.sv:409.5-409.40 step 4"
    status, detail = run.verdict("bmc", run.SbyRun("FAIL", 2, cex, 1.0))
    assert status == "fail" and "p_drain_word" in detail and "step 4" in detail
    assert run.verdict("bmc", run.SbyRun("", None, "", 330.0))[0] == "error"
    with pytest.raises(ConfigError, match="mode"):
        run.Task("t", "systolic_accel_fv", (), "p_*", "sim", 1)


@pytest.mark.formal
@pytest.mark.parametrize(
    ("old", "new", "task", "prop"), [b[1:] for b in BUGS], ids=[b[0] for b in BUGS]
)
def test_planted_bug_fails_its_property(
    tmp_path: Path, old: str, new: str, task: str, prop: str
) -> None:
    rtl = _mutated_rtl(tmp_path, old, new)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=[task])
    assert result.status == "fail", result
    assert prop in result.detail, result.detail


@pytest.mark.formal
@pytest.mark.nightly
@pytest.mark.parametrize(
    ("old", "new", "task", "prop"), [b[1:] for b in BUGS_FULL], ids=[b[0] for b in BUGS_FULL]
)
def test_planted_bug_at_out_rows_shadows_fails_its_property(
    tmp_path: Path, old: str, new: str, task: str, prop: str
) -> None:
    rtl = _mutated_rtl(tmp_path, old, new)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", tier="full", only=[task])
    assert result.status == "fail", result
    assert prop in result.detail, result.detail


def test_undriven_multibit_tap_is_reported(tmp_path: Path) -> None:
    """Yosys names an undriven bit of a vector tap as `name [bit]`: it counts as unconnected."""
    log = tmp_path / "design.log"
    log.write_text(
        "Warning: Wire systolic_accel_fv.\\u_dut.g_drain_row[0].g_drain_col[1].pend_q [1] is "
        "used but has no driver.\n"
        "Warning: Wire systolic_accel_fv.\\u_dut.wr is used but has no driver.\n"
    )
    assert run.unconnected_taps(log) == ["u_dut.g_drain_row[0].g_drain_col[1].pend_q", "u_dut.wr"]


@pytest.mark.formal
def test_renamed_drain_register_is_an_error(tmp_path: Path) -> None:
    """The wrapper reaches pend_q by its name: renamed, the run is an error naming the tap."""
    rtl = _mutated_rtl(tmp_path, "reg  [PEND_W-1:0] pend_q;", "reg  [PEND_W-1:0] pending_q;")
    text = (rtl / ACCEL).read_text().replace("pend_q", "pending_q")
    (rtl / ACCEL).write_text(text)
    [result] = prove(rtl_dir=rtl, work=tmp_path / "work", only=[f"{QUICK}_in"])
    assert result.status == "error", result
    assert "u_dut.g_drain_row[0].g_drain_col[0].pend_q" in result.detail, result.detail


@pytest.mark.formal
@pytest.mark.nightly
def test_full_tier_accel_tasks_pass(tmp_path: Path) -> None:
    results = prove(work=tmp_path, tier="full", only=["accel_*"])
    assert len(results) == len(_accel("full")) > len(_accel("quick"))
    assert all(r.status == "pass" for r in results), _table(results)
