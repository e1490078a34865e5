"""A catalog of deliberate RTL bugs (mutants) that the regression must catch.

Each mutant is a list of exact text replacements applied to a copy of rtl/. ``apply`` refuses a
mutant whose text no longer matches the RTL, so the catalog cannot silently rot.

Equivalent mutants found and left out (they cannot change any observable value):
- reset not clearing only the forwarded *valid* of a: the forwarded datum is cleared, so the stale
  pair adds 0 * b = 0 to an accumulator that reset also cleared, and the next product restarts it
  with its first flag. ``reset_keeps_a_pipeline`` (datum and valid kept) is the killable form.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from systolic.errors import SystolicError

PE = "systolic_pe.v"
TOP = "systolic_array.v"


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    edits: tuple[tuple[str, str, str], ...]  # (file, old text, new text)


_DELAY_REGS = """        reg [DATA_W-1:0] mut_a_q, mut_b_q;
        reg              mut_av_q, mut_af_q, mut_al_q, mut_bv_q;
        always @(posedge clk_i) begin
          mut_a_q  <= a_h[i][j];     mut_av_q <= a_vld_h[i][j];
          mut_af_q <= a_fst_h[i][j]; mut_al_q <= a_lst_h[i][j];
          mut_b_q  <= b_v[i][j];     mut_bv_q <= b_vld_v[i][j];
        end
        wire mut_dly = (i == ROWS - 1) && (j == COLS - 1);

        systolic_pe #("""

CATALOG: tuple[Mutant, ...] = (
    Mutant(
        "swap_ab_forwarding",
        "PE forwards b to the east and a to the south",
        (
            (PE, "      a_o       <= a_i;", "      a_o       <= b_i;"),
            (PE, "      b_o       <= b_i;", "      b_o       <= a_i;"),
        ),
    ),
    Mutant(
        "delay_last_pe",
        "the last PE sees its operands one cycle late",
        (
            (TOP, "        systolic_pe #(", _DELAY_REGS),
            (
                TOP,
                "          .a_i       (a_h[i][j]),",
                "          .a_i       (mut_dly ? mut_a_q : a_h[i][j]),",
            ),
            (
                TOP,
                "          .a_vld_i   (a_vld_h[i][j]),",
                "          .a_vld_i   (mut_dly ? mut_av_q : a_vld_h[i][j]),",
            ),
            (
                TOP,
                "          .a_first_i (a_fst_h[i][j]),",
                "          .a_first_i (mut_dly ? mut_af_q : a_fst_h[i][j]),",
            ),
            (
                TOP,
                "          .a_last_i  (a_lst_h[i][j]),",
                "          .a_last_i  (mut_dly ? mut_al_q : a_lst_h[i][j]),",
            ),
            (
                TOP,
                "          .b_i       (b_v[i][j]),",
                "          .b_i       (mut_dly ? mut_b_q : b_v[i][j]),",
            ),
            (
                TOP,
                "          .b_vld_i   (b_vld_v[i][j]),",
                "          .b_vld_i   (mut_dly ? mut_bv_q : b_vld_v[i][j]),",
            ),
        ),
    ),
    Mutant(
        "no_sign_extension",
        "the product is zero-extended into the accumulator",
        ((PE, "{{(ACC_W - ProdW){prod[ProdW-1]}}, prod}", "{{(ACC_W - ProdW){1'b0}}, prod}"),),
    ),
    Mutant(
        "restart_ignored",
        "the first flag does not restart the accumulation",
        ((PE, "a_first_i ? {ACC_W{1'b0}} : acc_o", "acc_o"),),
    ),
    Mutant(
        "unsigned_multiply",
        "operands multiplied as unsigned numbers",
        ((PE, "prod = a_i * b_i;", "prod = $unsigned(a_i) * $unsigned(b_i);"),),
    ),
    Mutant(
        "result_misses_last_pair",
        "the result register captures the sum before the last pair",
        ((PE, "          res_o <= acc_next;", "          res_o <= acc_o;"),),
    ),
    Mutant(
        "valid_ignored",
        "a pair fires on a valid a alone",
        ((PE, "fire     = a_vld_i & b_vld_i;", "fire     = a_vld_i;"),),
    ),
    Mutant(
        "reset_keeps_acc",
        "reset does not clear the accumulator",
        ((PE, "      acc_o     <= {ACC_W{1'b0}};\n", ""),),
    ),
    Mutant(
        "west_lanes_reversed",
        "the west bus lane order is reversed",
        (
            (
                TOP,
                "assign a_h[i][0]     = a_i[i*DATA_W +: DATA_W];",
                "assign a_h[i][0]     = a_i[(ROWS-1-i)*DATA_W +: DATA_W];",
            ),
        ),
    ),
    Mutant(
        "acc_bus_transposed",
        "PE(i,j)'s accumulator lands in lane j*ROWS+i",
        (
            (
                TOP,
                "acc_o[(i*COLS+j)*ACC_W +: ACC_W] = acc;",
                "acc_o[(j*ROWS+i)*ACC_W +: ACC_W] = acc;",
            ),
        ),
    ),
    Mutant(
        "north_lanes_reversed",
        "the north bus lane order is reversed",
        (
            (
                TOP,
                "assign b_v[0][j]     = b_i[j*DATA_W +: DATA_W];",
                "assign b_v[0][j]     = b_i[(COLS-1-j)*DATA_W +: DATA_W];",
            ),
        ),
    ),
    Mutant(
        "res_bus_transposed",
        "PE(i,j)'s result lands in lane j*ROWS+i",
        (
            (
                TOP,
                "res_o[(i*COLS+j)*ACC_W +: ACC_W] = res;",
                "res_o[(j*ROWS+i)*ACC_W +: ACC_W] = res;",
            ),
        ),
    ),
    Mutant(
        "strobe_on_every_pair",
        "the result strobe pulses on every firing pair",
        ((PE, "      res_vld_o <= fire & a_last_i;", "      res_vld_o <= fire;"),),
    ),
    Mutant(
        "result_on_every_pair",
        "the result register follows the accumulator",
        (
            (
                PE,
                "        if (a_last_i) begin\n          res_o <= acc_next;\n        end",
                "        res_o <= acc_next;",
            ),
        ),
    ),
    Mutant(
        "last_ignored",
        "the last flag never captures a result",
        (
            (PE, "        if (a_last_i) begin", "        if (1'b0) begin"),
            (PE, "      res_vld_o <= fire & a_last_i;", "      res_vld_o <= 1'b0;"),
        ),
    ),
    Mutant(
        "accumulator_truncated",
        "the accumulator loses its top bit",
        (
            (
                PE,
                "wire signed [ACC_W-1:0] acc_next = acc_base + prod_ext;",
                "wire signed [ACC_W-1:0] acc_next = {1'b0, acc_base[ACC_W-2:0] + prod_ext[ACC_W-2:0]};",
            ),
        ),
    ),
    Mutant(
        "restart_a_cycle_late",
        "the restart uses the previous cycle's first flag",
        ((PE, "a_first_i ? {ACC_W{1'b0}} : acc_o", "a_first_o ? {ACC_W{1'b0}} : acc_o"),),
    ),
    Mutant(
        "result_a_cycle_late",
        "the result register and strobe update one cycle late",
        (
            (
                PE,
                "  // Accumulator and result register.\n",
                "  // Accumulator and result register.\n  reg mut_cap_q;\n  reg signed [ACC_W-1:0] mut_sum_q;\n"
                "  always @(posedge clk_i) begin\n    mut_cap_q <= fire & a_last_i;\n    mut_sum_q <= acc_next;\n  end\n",
            ),
            (PE, "      res_vld_o <= fire & a_last_i;", "      res_vld_o <= mut_cap_q;"),
            (PE, "        if (a_last_i) begin\n          res_o <= acc_next;\n        end\n", ""),
            (
                PE,
                "      if (fire) begin\n        acc_o <= acc_next;",
                "      if (mut_cap_q) res_o <= mut_sum_q;\n      if (fire) begin\n        acc_o <= acc_next;",
            ),
        ),
    ),
    Mutant(
        "reset_keeps_a_pipeline",
        "reset does not clear the operands a in flight (data and valid)",
        ((PE, "      a_o       <= {DATA_W{1'b0}};\n      a_vld_o   <= 1'b0;\n", ""),),
    ),
    Mutant(
        "flags_swapped",
        "first and last are swapped when forwarded",
        (
            (
                PE,
                "      a_first_o <= a_first_i;\n      a_last_o  <= a_last_i;",
                "      a_first_o <= a_last_i;\n      a_last_o  <= a_first_i;",
            ),
        ),
    ),
    Mutant(
        "south_valid_stuck",
        "b is forwarded south as always valid",
        ((PE, "      b_vld_o   <= b_vld_i;", "      b_vld_o   <= 1'b1;"),),
    ),
    Mutant(
        "bypass_one_register",
        "PE(0,0) passes a to PE(0,1) without its register",
        (
            (
                TOP,
                "          .a_i       (a_h[i][j]),",
                "          .a_i       ((i == 0 && j == 1) ? a_h[0][0] : a_h[i][j]),",
            ),
            (
                TOP,
                "          .a_vld_i   (a_vld_h[i][j]),",
                "          .a_vld_i   ((i == 0 && j == 1) ? a_vld_h[0][0] : a_vld_h[i][j]),",
            ),
            (
                TOP,
                "          .a_first_i (a_fst_h[i][j]),",
                "          .a_first_i ((i == 0 && j == 1) ? a_fst_h[0][0] : a_fst_h[i][j]),",
            ),
            (
                TOP,
                "          .a_last_i  (a_lst_h[i][j]),",
                "          .a_last_i  ((i == 0 && j == 1) ? a_lst_h[0][0] : a_lst_h[i][j]),",
            ),
        ),
    ),
    Mutant(
        "a_not_forwarded",
        "a is never forwarded east (holds its reset value)",
        ((PE, "      a_o       <= a_i;", "      a_o       <= a_o;"),),
    ),
    Mutant(
        "b_sign_dropped",
        "b is multiplied as an unsigned number",
        ((PE, "prod = a_i * b_i;", "prod = a_i * $signed({1'b0, b_i});"),),
    ),
)


def apply(mutant: Mutant, rtl_dir: Path, out_dir: Path) -> Path:
    """Copy rtl_dir to out_dir and apply the mutant's edits; returns out_dir."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(rtl_dir, out_dir)
    for file, old, new in mutant.edits:
        path = out_dir / file
        text = path.read_text()
        if text.count(old) != 1:
            raise SystolicError(f"mutant {mutant.name}: {old!r} not found once in {file}")
        path.write_text(text.replace(old, new))
    return out_dir


def by_name(name: str) -> Mutant:
    for m in CATALOG:
        if m.name == name:
            return m
    raise SystolicError(f"unknown mutant {name!r}: see systolic.tb.mutants.CATALOG")
