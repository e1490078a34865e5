"""A catalog of deliberate RTL bugs (mutants) that the regression must catch.

Each mutant is a list of exact text replacements applied to a copy of rtl/. ``apply`` refuses a
mutant whose text no longer matches the RTL exactly once, so the catalog cannot silently rot.

A mutant names the design it breaks (``design``: the array alone, run by tb/test_array.py, or
the accelerator top rtl/systolic_accel.v around it (with its FIFO's storage,
rtl/systolic_fifo_ram.v), run by tb/test_accel.py through its AXI4-Stream ports, at the mutant's
``fifo_depth``), its bug class, the parameter sets at which it
is run (a bug that only shows at an odd DATA_W, a wide ACC_W or more than 256 PEs is run there;
default 3x3, DATA_W 8, ACC_W 32), the cocotb tests (of its design's test module) that kill it
quickly (the whole quick tier kills it too: ``systolic mutate --full``
and the nightly test check that), and whether the formal properties can see it (``formal`` is
empty when they can, otherwise the reason they cannot).

``EQUIVALENT`` lists mutants that were written as bugs but change no output of the design; each
is proven equivalent to the real RTL by a formal equivalence check (tests/mutation/test_mutants.py), not
argued. They stay out of the killable catalog.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from systolic.errors import SystolicError
from systolic.models.params import ArrayParams, TopParams

PE = "systolic_pe.v"
TOP = "systolic_array.v"
ACCEL = "systolic_accel.v"
FIFO_RAM = "systolic_fifo_ram.v"  # the accelerator top's result FIFO storage

#: The designs a mutant is run through: the array alone (tb/test_array.py) or the accelerator
#: top around it (tb/test_accel.py).
DESIGNS = ("array", "accel")

#: (file, old text, new text): one exact replacement.
Edit = tuple[str, str, str]

#: The parameters a mutant runs at unless it says otherwise (the lecture's 3x3).
DEFAULT_PARAMS = (ArrayParams(3, 3, 8, 32),)

#: Bug classes, in the order the report lists them.
CLASSES = (
    "datapath",
    "control",
    "wiring",
    "reset",
    "edge outputs",
    "reset timing",
    "width slicing",
    "wide accumulator",
    ">256 PEs",
    "1xN / Nx1",
    "top streams",
    "top admission",
    "top drain",
    "top >16 lanes",
    "top FIFO depth",
    "product register",
)


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug.

    name, what: identifier and one-line description; edits: the text replacements.
    cls: bug class (one of CLASSES). design: the design it is run through (one of DESIGNS).
    params: the parameter sets it is run at (killed when a checker fails at any of them).
    fifo_depth: the accelerator top's FIFO_DEPTH at every parameter set (None: the RTL's
    default, ROWS + COLS + 2 + MUL_REG; only for design "accel"; a small depth puts the room rule
    to work).
    port: the accelerator top's (OUT_ROWS, SHADOWS) at every parameter set (only for design
    "accel"; (1, 1) is the RTL's default).
    tests: the cocotb tests of its design's test module run for it (None: the whole tier).
    formal: empty when a formal property should fail on it, else why formal cannot see it.
    proofs: the formal tasks (names or globs of systolic.formal.run's catalog) whose failure
    kills it quickly (None: every task of its formal tier; the nightly test runs them all).
    formal_tier: "quick", or "full" when only the full tier's configurations show the bug.
    """

    name: str
    what: str
    edits: tuple[Edit, ...]
    cls: str = "datapath"
    params: tuple[ArrayParams, ...] = DEFAULT_PARAMS
    tests: tuple[str, ...] | None = None
    formal: str = ""
    proofs: tuple[str, ...] | None = None
    formal_tier: str = "quick"
    design: str = "array"
    fifo_depth: int | None = None
    port: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        if self.cls not in CLASSES:
            raise SystolicError(f"mutant {self.name}: unknown class {self.cls!r}")
        if self.design not in DESIGNS:
            raise SystolicError(f"mutant {self.name}: unknown design {self.design!r}")
        if not self.params:
            raise SystolicError(f"mutant {self.name}: no parameter set")
        if (self.fifo_depth, self.port) != (None, (1, 1)) and self.design != "accel":
            raise SystolicError(
                f"mutant {self.name}: a FIFO depth or result port needs design 'accel'"
            )
        if self.design == "accel":
            for p in self.params:  # the top at every parameter set, checked as the RTL would
                try:
                    TopParams(p, self.fifo_depth, *self.port)
                except SystolicError as exc:
                    raise SystolicError(
                        f"mutant {self.name}: FIFO depth {self.fifo_depth}, port {self.port} "
                        f"at {p.tag}: {exc}"
                    ) from None
        if self.formal_tier not in ("quick", "full"):
            raise SystolicError(f"mutant {self.name}: unknown formal tier {self.formal_tier!r}")


@dataclass(frozen=True)
class Equivalent:
    """A mutant that changes no output, with the configurations it is proven equivalent at.

    top: the module compared (its ports are the outputs that must agree); params: one dict of
    that module's parameters per proof; why: what makes it harmless.
    """

    mutant: Mutant
    top: str
    params: tuple[dict[str, int], ...]
    why: str


def _p(rows: int, cols: int, data_w: int = 8, acc_w: int = 32, mul_reg: int = 0) -> ArrayParams:
    return ArrayParams(rows, cols, data_w, acc_w, mul_reg)


#: Where the product register's mutants run: the lecture's 3x3 with MUL_REG=1.
MUL_REG_PARAMS = (_p(3, 3, mul_reg=1),)


_DELAY_REGS = """        reg [DATA_W-1:0] mut_a_q, mut_b_q;
        reg              mut_av_q, mut_af_q, mut_al_q, mut_bv_q;
        always @(posedge clk_i) begin
          mut_a_q  <= a_h[i][j];     mut_av_q <= a_vld_h[i][j];
          mut_af_q <= a_first_h[i][j]; mut_al_q <= a_last_h[i][j];
          mut_b_q  <= b_v[i][j];     mut_bv_q <= b_vld_v[i][j];
        end
        wire mut_dly = (i == ROWS - 1) && (j == COLS - 1);

        systolic_pe #("""

# Lines of the RTL that several mutants edit, quoted once.
_SEXT = "{{(ACC_W - PROD_W){prod[PROD_W-1]}}, prod}"
_ACC_NEXT = "wire signed [ACC_W-1:0] acc_next = acc_base + mac_prod;"
_RESTART = "mac_first ? {ACC_W{1'b0}} : acc_q"
_FIRE = "wire fire = a_vld_i & b_vld_i;"
_STROBE = "      res_vld_q <= mac_fire & mac_last;"
_FWD_ALWAYS = (
    "  // Forwarding registers: operands and flags move on unconditionally, valid or not.\n"
    "  always @(posedge clk_i or negedge rst_ni) begin"
)
_ACC_ALWAYS = (
    "  // Accumulator, result and result strobe.\n  always @(posedge clk_i or negedge rst_ni) begin"
)
_WEST_A = "assign a_h[i][0]       = a_i[i*DATA_W +: DATA_W];"
_NORTH_B = "assign b_v[0][j]     = b_i[j*DATA_W +: DATA_W];"
_EAST_A = "assign a_o[i*DATA_W +: DATA_W] = a_h[i][COLS];"
_EAST_VLD = "assign a_vld_o[i]   = a_vld_h[i][COLS];"
_EAST_FLAGS = (
    "      assign a_first_o[i] = a_first_h[i][COLS];\n"
    "      assign a_last_o[i]  = a_last_h[i][COLS];"
)
_SOUTH_B = "assign b_o[j*DATA_W +: DATA_W] = b_v[ROWS][j];"
_SOUTH_VLD = "assign b_vld_o[j] = b_vld_v[ROWS][j];"
_ACC_SLICE = "acc_o[(i*COLS+j)*ACC_W +: ACC_W] = acc;"
_RES_SLICE = "res_o[(i*COLS+j)*ACC_W +: ACC_W] = res;"
_VLD_SLICE = "res_vld_o[i*COLS+j]              = res_vld;"
_PE_WIRES = "        wire             res_vld;\n"
_MUL_REG_RESET = (
    "      always @(posedge clk_i or negedge rst_ni) begin\n"
    "        if (!rst_ni) begin\n"
    "          prod_q  <= {ACC_W{1'b0}};\n"
    "          fire_q  <= 1'b0;\n"
    "          first_q <= 1'b0;\n"
    "          last_q  <= 1'b0;\n"
    "        end else begin\n"
)
_RESULT_IF = (
    "      if (mac_fire) begin\n        acc_q <= acc_next;\n        if (mac_last) begin\n"
    "          res_q <= acc_next;\n        end\n      end"
)

# Quick cocotb tests that the mutants name (the whole tier kills each mutant as well).
LECTURE = ("test_lecture_3x3",)
IDENTITY = ("test_identity",)
RANDOM = ("test_random_k_sweep",)
BUBBLES = ("test_valid_bubbles",)
RESET = ("test_reset_mid_product",)
RESET_EDGES = ("test_reset_between_edges",)
EXTREMES = ("test_extremes_wrap",)
EVERY_BIT = ("test_accumulator_every_bit",)
ZEROS = ("test_zeros",)
BACK_TO_BACK = ("test_back_to_back",)

# Formal tasks (systolic.formal.run's catalog) that kill the mutants quickly: the PE property
# groups at DATA_W 3 / ACC_W 7, the array groups at 2x3, and full-tier configurations where only
# they show a bug (ACC_W 64 at DATA_W 16, one row, one column).
FV_ACC = ("pe_d3a7_acc",)
FV_RES = ("pe_d3a7_res",)
FV_FWD = ("pe_d3a7_fwd",)
FV_RST = ("pe_d3a7_rst",)
FV_ARST = ("pe_d3a7_arst",)
FV_SKEW = ("array_2x3_d3a7_skew",)
FV_LANE = ("array_2x3_d3a7_lane",)
FV_EDGE = ("array_2x3_d3a7_edge",)
FV_ARRAY_RST = ("array_2x3_d3a7_rst",)
FV_WIDE = ("pe_d16a64_acc",)
FV_1XN_EDGE = ("array_1x3_d2a4_edge",)
FV_NX1_EDGE = ("array_3x1_d2a5_edge",)
FV_NX1_LANE = ("array_3x1_d2a5_lane",)
FV_M1_ACC = ("pe_d3a7m1_acc",)
FV_M1_RES = ("pe_d3a7m1_res",)

# Lines of the accelerator top that its mutants edit.
_FIRST_Q = "      if (accept) first_q <= s_axis_a_tlast;"
_A_STAGE0 = "          stage_q[0] <= {accept & s_axis_a_tkeep[i], first_q, s_axis_a_tlast,"
_B_STAGE0 = (
    "          stage_q[0] <= {accept & s_axis_b_tkeep[j], s_axis_b_tdata[j*DATA_W +: DATA_W]};"
)
_STEP_VLD = "wire             step_vld   = s_axis_a_tvalid & s_axis_b_tvalid;"
_ADMIT_OK = "wire             admit_ok   = (|(okg_q & fold_size)) & free_q;"
_ROOM = "    room_for = (g <= lim) && (u <= lim - g);"
_NEED = "wire [ARITH_W-1:0] used_w   = {{(ARITH_W - FILL_W){1'b0}}, used_q};"
_SHADOW_SEL = "(pend_q == HELD) ? shadow_q[sh]"
_PEND_NEXT = (
    "            pend_q <= pend_q + {{(PEND_W - 1){1'b0}}, strobe} - {{(PEND_W - 1){1'b0}}, read};"
)
_READ = "        wire read   = read_row & slot_keep_q[0][j];"

# The accelerator top's mutants run where tests/tb/test_accel_sim.py runs it on Icarus: 2x3 at
# the default FIFO depth, or 3x2 with FIFO_DEPTH 3 (= ROWS) where a bug needs the room rule at
# work. Their tests are systolic.tb.test_accel's.
ACCEL_PARAMS = (_p(2, 3),)
ACCEL_PARAMS_3X2 = (_p(3, 2),)
ACCEL_K1 = ("test_k1",)
ACCEL_TILED = ("test_tiled_edge_folds",)
ACCEL_BACKPRESSURE = ("test_backpressure",)
ACCEL_RESET = ("test_reset_mid_stream",)
# The wider result port's mutants run where tests/tb/test_accel_sim.py runs it on Icarus: 4x3,
# two rows per beat, two shadow registers.
ACCEL_PARAMS_4X3 = (_p(4, 3),)
PORT_O2S2 = (2, 2)
# The top around an array with the product register (MUL_REG = 1), where tests/tb runs it.
ACCEL_PARAMS_M1 = (ArrayParams(2, 3, 8, 32, mul_reg=1),)

# A top wider and taller than 16 lanes (tests/tb/test_accel_sim.py, Icarus): a count or index
# that only sees lanes 0..15 shows only there (the bench's 16x16 hides it).
ACCEL_PARAMS_WIDE = (_p(18, 17),)
# A tall, narrow top (ROWS >> COLS, COLS = 1) whose sink stalls until the FIFO is full: at the
# smallest FIFO_DEPTH (ROWS, a power of two here) and the largest (1024).
ACCEL_PARAMS_TALL = (_p(8, 1),)
ACCEL_FILL = ("test_fifo_fills",)

# The accelerator top's formal tasks (rtl/formal/systolic_accel_fv.sv): the quick tier's 1x2
# array with FIFO_DEPTH 2; full-tier configurations where a bug needs more than one row.
FV_ACCEL_IN = ("accel_1x2_d2a4_f2_in",)
FV_ACCEL_RESV = ("accel_1x2_d2a4_f2_resv",)
FV_ACCEL_FIFO = ("accel_1x2_d2a4_f2_fifo",)
FV_ACCEL_DRAIN = ("accel_1x2_d2a4_f2_drain",)
FV_ACCEL_ORDER = ("accel_1x2_d2a4_f2_order",)
FV_ACCEL_COVER = ("accel_1x2_d2a4_f2_cover",)
FV_ACCEL_2X2_DRAIN = ("accel_2x2_d2a4_f3_drain",)
FV_ACCEL_3X2_DRAIN = ("accel_3x2_d2a4_f3_drain",)
FV_ACCEL_2X2_ORDER = ("accel_2x2_d2a4_f3_order",)
# Full-tier tasks of the wider result port: two rows per beat with one or two shadow registers.
# With one, a fold waits behind the previous one's groups, which the shadow rule must then cover.
FV_ACCEL_O2S1_SHADOW = ("accel_2x2_d2a4_f3_o2s1_shadow",)
FV_ACCEL_O2S2_DRAIN = ("accel_2x2_d2a4_f3_o2s2_drain",)
FV_ACCEL_O2S2_ORDER = ("accel_2x2_d2a4_f3_o2s2_order",)
FV_ACCEL_M1_DRAIN = ("accel_2x2_d2a4_f3_m1_drain",)
# A tall, narrow top (4x1) with the deepest FIFO (1024): the counters' widths (quick tier).
FV_ACCEL_DEEP_FIFO = ("accel_4x1_d2a4_f1024_fifo",)
# The FIFO's storage (rtl/systolic_fifo_ram.v) against flip-flops, at a depth of 3 (quick tier).
FV_FIFO_RAM = ("fiforam_d3w2_read",)


_NEEDS_256 = "needs more than 256 PEs (17x16); the formal configurations are small arrays"
_FV_NARROW_ARRAY = "equivalent at DATA_W <= 8, and the array proofs stop at DATA_W 8"
_FV_OVERLAP = (
    "at ACC_W < 32 the overlapping lane writes are a Yosys error (not a kill); at ACC_W 32, "
    "the widest array proof, it is equivalent"
)
_FV_TAPPED_WIDTH = (
    "changes the width of a counter that the formal wrapper taps (count_q, used_q): the formal "
    "flow refuses the unconnected tap (an error, not a kill)"
)
_FV_UNDRIVEN = (
    "leaves north lanes undriven, which the formal flow refuses (an error, not a kill); "
    "equivalent on square arrays"
)

CATALOG: tuple[Mutant, ...] = (
    # ---- datapath --------------------------------------------------------------------------
    Mutant(
        "swap_ab_forwarding",
        "PE forwards b to the east and a to the south",
        (
            (PE, "      a_q       <= a_i;", "      a_q       <= b_i;"),
            (PE, "      b_q       <= b_i;", "      b_q       <= a_i;"),
        ),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_FWD,
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
                "          .a_first_i (a_first_h[i][j]),",
                "          .a_first_i (mut_dly ? mut_af_q : a_first_h[i][j]),",
            ),
            (
                TOP,
                "          .a_last_i  (a_last_h[i][j]),",
                "          .a_last_i  (mut_dly ? mut_al_q : a_last_h[i][j]),",
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
        cls="wiring",
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "no_sign_extension",
        "the product is zero-extended into the accumulator",
        ((PE, _SEXT, "{{(ACC_W - PROD_W){1'b0}}, prod}"),),
        tests=IDENTITY,
        proofs=FV_ACC,
    ),
    Mutant(
        "restart_ignored",
        "the first flag does not restart the accumulation",
        ((PE, _RESTART, "acc_q"),),
        cls="control",
        tests=IDENTITY,
        proofs=FV_ACC,
    ),
    Mutant(
        "unsigned_multiply",
        "operands multiplied as unsigned numbers",
        ((PE, "prod = a_i * b_i;", "prod = $unsigned(a_i) * $unsigned(b_i);"),),
        tests=IDENTITY,
        proofs=FV_ACC,
    ),
    Mutant(
        "result_misses_last_pair",
        "the result register captures the sum before the last pair",
        ((PE, "          res_q <= acc_next;", "          res_q <= acc_q;"),),
        cls="control",
        tests=LECTURE,
        proofs=FV_RES,
    ),
    Mutant(
        "valid_ignored",
        "a pair fires on a valid a alone",
        ((PE, _FIRE, "wire fire = a_vld_i;"),),
        cls="control",
        tests=IDENTITY,
        proofs=FV_ACC,
    ),
    Mutant(
        "b_valid_ignored",
        "a pair fires on a valid b alone",
        ((PE, _FIRE, "wire fire = b_vld_i;"),),
        cls="control",
        tests=BUBBLES,
        proofs=FV_ACC,
    ),
    Mutant(
        "reset_keeps_acc",
        "reset does not clear the accumulator",
        ((PE, "      acc_q     <= {ACC_W{1'b0}};\n", ""),),
        cls="reset",
        tests=LECTURE,
        proofs=FV_RST,
    ),
    Mutant(
        "west_lanes_reversed",
        "the west bus lane order is reversed",
        ((TOP, _WEST_A, "assign a_h[i][0]       = a_i[(ROWS-1-i)*DATA_W +: DATA_W];"),),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "acc_bus_transposed",
        "PE(i,j)'s accumulator lands in lane j*ROWS+i",
        ((TOP, _ACC_SLICE, "acc_o[(j*ROWS+i)*ACC_W +: ACC_W] = acc;"),),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_LANE,
    ),
    Mutant(
        "north_lanes_reversed",
        "the north bus lane order is reversed",
        ((TOP, _NORTH_B, "assign b_v[0][j]     = b_i[(COLS-1-j)*DATA_W +: DATA_W];"),),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "res_bus_transposed",
        "PE(i,j)'s result lands in lane j*ROWS+i",
        ((TOP, _RES_SLICE, "res_o[(j*ROWS+i)*ACC_W +: ACC_W] = res;"),),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_LANE,
    ),
    Mutant(
        "strobe_on_every_pair",
        "the result strobe pulses on every firing pair",
        ((PE, _STROBE, "      res_vld_q <= mac_fire;"),),
        cls="control",
        tests=LECTURE,
        proofs=FV_RES,
    ),
    Mutant(
        "strobe_without_fire",
        "the result strobe follows the last flag even when no pair fires",
        ((PE, _STROBE, "      res_vld_q <= mac_last;"),),
        cls="control",
        tests=IDENTITY,
        proofs=FV_RES,
    ),
    Mutant(
        "result_on_every_pair",
        "the result register follows the accumulator",
        (
            (
                PE,
                "        if (mac_last) begin\n          res_q <= acc_next;\n        end",
                "        res_q <= acc_next;",
            ),
        ),
        cls="control",
        tests=LECTURE,
        proofs=FV_RES,
    ),
    Mutant(
        "result_without_fire",
        "the result register captures on a last flag even when no pair fires",
        (
            (
                PE,
                _RESULT_IF,
                "      if (mac_last) begin\n        res_q <= acc_next;\n      end\n"
                "      if (mac_fire) begin\n        acc_q <= acc_next;\n      end",
            ),
        ),
        cls="control",
        tests=BUBBLES,
        proofs=FV_RES,
    ),
    Mutant(
        "last_ignored",
        "the last flag never captures a result",
        (
            (PE, "        if (mac_last) begin", "        if (1'b0) begin"),
            (PE, _STROBE, "      res_vld_q <= 1'b0;"),
        ),
        cls="control",
        tests=LECTURE,
        proofs=FV_RES,
    ),
    Mutant(
        "accumulator_truncated",
        "the accumulator loses its top bit",
        (
            (
                PE,
                _ACC_NEXT,
                "wire signed [ACC_W-1:0] acc_next = {1'b0, acc_base[ACC_W-2:0] + mac_prod[ACC_W-2:0]};",
            ),
        ),
        tests=IDENTITY,
        proofs=FV_ACC,
    ),
    Mutant(
        "restart_a_cycle_late",
        "the restart uses the previous cycle's first flag",
        ((PE, _RESTART, "a_first_q ? {ACC_W{1'b0}} : acc_q"),),
        cls="control",
        tests=LECTURE,
        proofs=FV_ACC,
    ),
    Mutant(
        "restart_on_last",
        "the last flag (not the first) restarts the accumulation",
        ((PE, _RESTART, "mac_last ? {ACC_W{1'b0}} : acc_q"),),
        cls="control",
        tests=LECTURE,
        proofs=FV_ACC,
    ),
    Mutant(
        "result_a_cycle_late",
        "the result register and strobe update one cycle late",
        (
            (
                PE,
                "  // Accumulator, result and result strobe.\n",
                "  // Accumulator, result and result strobe.\n  reg mut_cap_q;\n  reg signed [ACC_W-1:0] mut_sum_q;\n"
                "  always @(posedge clk_i) begin\n    mut_cap_q <= mac_fire & mac_last;\n    mut_sum_q <= acc_next;\n  end\n",
            ),
            (PE, _STROBE, "      res_vld_q <= mut_cap_q;"),
            (PE, "        if (mac_last) begin\n          res_q <= acc_next;\n        end\n", ""),
            (
                PE,
                "      if (mac_fire) begin\n        acc_q <= acc_next;",
                "      if (mut_cap_q) res_q <= mut_sum_q;\n      if (mac_fire) begin\n        acc_q <= acc_next;",
            ),
        ),
        cls="control",
        tests=LECTURE,
        proofs=FV_RES,
    ),
    # ---- the product register (MUL_REG=1 only) ---------------------------------------------
    Mutant(
        "product_register_bypassed",
        "MUL_REG=1: the product skips its register (added one edge early, with the registered "
        "pair's flags)",
        ((PE, "assign mac_prod  = prod_q;", "assign mac_prod  = prod_ext;"),),
        cls="product register",
        params=MUL_REG_PARAMS,
        tests=LECTURE,
        proofs=FV_M1_ACC,
    ),
    Mutant(
        "product_restart_early",
        "MUL_REG=1: the restart uses the arriving pair's first flag, not the registered one",
        ((PE, "assign mac_first = first_q;", "assign mac_first = a_first_i;"),),
        cls="product register",
        params=MUL_REG_PARAMS,
        tests=BACK_TO_BACK,
        proofs=FV_M1_ACC,
    ),
    Mutant(
        "product_last_early",
        "MUL_REG=1: the result capture and strobe use the arriving pair's last flag",
        ((PE, "assign mac_last  = last_q;", "assign mac_last  = a_last_i;"),),
        cls="product register",
        params=MUL_REG_PARAMS,
        tests=LECTURE,
        proofs=FV_M1_RES,
    ),
    Mutant(
        "product_register_not_reset",
        "MUL_REG=1: rst_ni does not clear the product register (a pair in flight survives reset)",
        ((PE, _MUL_REG_RESET, "      always @(posedge clk_i) begin\n        begin\n"),),
        cls="product register",
        params=MUL_REG_PARAMS,
        tests=RESET_EDGES,
        proofs=FV_M1_ACC,
    ),
    Mutant(
        "reset_keeps_a_pipeline",
        "reset does not clear the operands a in flight (data and valid)",
        ((PE, "      a_q       <= {DATA_W{1'b0}};\n      a_vld_q   <= 1'b0;\n", ""),),
        cls="reset",
        tests=RESET,
        proofs=FV_RST,
    ),
    Mutant(
        "flags_swapped",
        "first and last are swapped when forwarded",
        (
            (
                PE,
                "      a_first_q <= a_first_i;\n      a_last_q  <= a_last_i;",
                "      a_first_q <= a_last_i;\n      a_last_q  <= a_first_i;",
            ),
        ),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_FWD,
    ),
    Mutant(
        "south_valid_stuck",
        "b is forwarded south as always valid",
        ((PE, "      b_vld_q   <= b_vld_i;", "      b_vld_q   <= 1'b1;"),),
        cls="control",
        tests=LECTURE,
        proofs=FV_FWD,
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
                "          .a_first_i (a_first_h[i][j]),",
                "          .a_first_i ((i == 0 && j == 1) ? a_first_h[0][0] : a_first_h[i][j]),",
            ),
            (
                TOP,
                "          .a_last_i  (a_last_h[i][j]),",
                "          .a_last_i  ((i == 0 && j == 1) ? a_last_h[0][0] : a_last_h[i][j]),",
            ),
        ),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "a_not_forwarded",
        "a is never forwarded east (holds its reset value)",
        ((PE, "      a_q       <= a_i;", "      a_q       <= a_q;"),),
        cls="wiring",
        tests=LECTURE,
        proofs=FV_FWD,
    ),
    Mutant(
        "b_sign_dropped",
        "b is multiplied as an unsigned number",
        ((PE, "prod = a_i * b_i;", "prod = a_i * $signed({1'b0, b_i});"),),
        tests=EXTREMES,
        proofs=FV_ACC,
    ),
    # ---- edge outputs (east a_o..., south b_o...: checked every cycle by the scoreboard) -----
    Mutant(
        "east_lanes_reversed",
        "the east edge lane order of a_o is reversed",
        ((TOP, _EAST_A, "assign a_o[i*DATA_W +: DATA_W] = a_h[ROWS-1-i][COLS];"),),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "south_valid_wrong_lane",
        "south edge valid j comes from column j+1",
        ((TOP, _SOUTH_VLD, "assign b_vld_o[j] = b_vld_v[ROWS][(j + 1) % COLS];"),),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "east_flags_swapped",
        "the east edge carries last as first and first as last",
        (
            (
                TOP,
                _EAST_FLAGS,
                "      assign a_first_o[i] = a_last_h[i][COLS];\n"
                "      assign a_last_o[i]  = a_first_h[i][COLS];",
            ),
        ),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "east_valid_tied_low",
        "the east edge valid is tied off to 0",
        ((TOP, _EAST_VLD, "assign a_vld_o[i]   = 1'b0;"),),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "south_data_early",
        "the south edge b_o is the last row's input (one cycle early)",
        ((TOP, _SOUTH_B, "assign b_o[j*DATA_W +: DATA_W] = b_v[ROWS-1][j];"),),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "east_data_late",
        "the east edge a_o passes through one more register (one cycle late)",
        (
            (
                TOP,
                _EAST_A,
                "reg [DATA_W-1:0] mut_ae_q;\n      always @(posedge clk_i) mut_ae_q <= a_h[i][COLS];\n"
                "      assign a_o[i*DATA_W +: DATA_W] = mut_ae_q;",
            ),
        ),
        cls="edge outputs",
        tests=LECTURE,
        proofs=FV_EDGE,
    ),
    Mutant(
        "reset_keeps_a_valid",
        "reset clears the forwarded a but not its valid (seen only at the east edge)",
        ((PE, "      a_vld_q   <= 1'b0;\n", ""),),
        cls="edge outputs",
        tests=RESET_EDGES,
        proofs=FV_RST,
    ),
    Mutant(
        "reset_keeps_flags",
        "reset does not clear the forwarded first/last flags (seen only at the east edge)",
        ((PE, "      a_first_q <= 1'b0;\n      a_last_q  <= 1'b0;\n", ""),),
        cls="edge outputs",
        tests=RESET_EDGES,
        proofs=FV_RST,
    ),
    Mutant(
        "reset_keeps_b_pipeline",
        "reset does not clear the operands b in flight (data and valid)",
        ((PE, "      b_q       <= {DATA_W{1'b0}};\n      b_vld_q   <= 1'b0;\n", ""),),
        cls="edge outputs",
        tests=RESET_EDGES,
        proofs=FV_RST,
    ),
    # ---- reset timing ----------------------------------------------------------------------
    Mutant(
        "sync_reset_forwarding",
        "the forwarding registers have a synchronous reset (no negedge rst_ni)",
        ((PE, _FWD_ALWAYS, _FWD_ALWAYS.replace(" or negedge rst_ni", "")),),
        cls="reset timing",
        tests=RESET_EDGES,
        proofs=FV_ARST,
    ),
    Mutant(
        "sync_reset_accumulator",
        "accumulator, result and strobe have a synchronous reset (no negedge rst_ni)",
        ((PE, _ACC_ALWAYS, _ACC_ALWAYS.replace(" or negedge rst_ni", "")),),
        cls="reset timing",
        tests=RESET_EDGES,
        proofs=FV_ARST,
    ),
    Mutant(
        "reset_through_flop",
        "the PEs get rst_ni through a flop: reset asserted and released one clock late",
        (
            (
                TOP,
                "  genvar i, j;",
                "  reg mut_rst_q;\n  always @(posedge clk_i) mut_rst_q <= rst_ni;\n  genvar i, j;",
            ),
            (TOP, "          .rst_ni    (rst_ni),", "          .rst_ni    (mut_rst_q),"),
        ),
        cls="reset timing",
        tests=RESET_EDGES,
        proofs=FV_ARRAY_RST,
    ),
    Mutant(
        "reset_keeps_res_vld",
        "reset does not clear the result strobe",
        ((PE, "      res_vld_q <= 1'b0;\n", ""),),
        cls="reset timing",
        tests=RESET_EDGES,
        proofs=FV_RST,
    ),
    Mutant(
        "reset_keeps_result",
        "reset does not clear the result register",
        ((PE, "      res_q     <= {ACC_W{1'b0}};\n", ""),),
        cls="reset timing",
        tests=LECTURE,
        proofs=FV_RST,
    ),
    # ---- width-dependent slicing (only at DATA_W / ACC_W other than 8 / 32) -----------------
    Mutant(
        "west_lane_stride_8",
        "west lane i is sliced at i*8 (hard-coded 8) instead of i*DATA_W",
        ((TOP, _WEST_A, "assign a_h[i][0]       = a_i[i*8 +: DATA_W];"),),
        cls="width slicing",
        params=(_p(3, 3, 7, 20),),
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "north_lane_width_8",
        "north lane j is an 8-bit part-select (zero-extended at wider DATA_W)",
        ((TOP, _NORTH_B, "assign b_v[0][j]     = b_i[j*DATA_W +: 8];"),),
        cls="width slicing",
        params=(_p(2, 4, 12, 37),),
        tests=ZEROS,
        formal=_FV_NARROW_ARRAY,
    ),
    Mutant(
        "north_lane_offset_pow2",
        "north lane j starts at j << $clog2(DATA_W) (right for power-of-two DATA_W only)",
        ((TOP, _NORTH_B, "assign b_v[0][j]     = b_i[(j << $clog2(DATA_W)) +: DATA_W];"),),
        cls="width slicing",
        params=(_p(2, 3, 5, 11),),
        tests=LECTURE,
        proofs=FV_SKEW,
    ),
    Mutant(
        "sext_from_bit_15",
        "the product is sign-extended from bit 15 (hard-coded) instead of bit 2*DATA_W-1",
        ((PE, _SEXT, "{{(ACC_W - PROD_W){prod[15]}}, prod}"),),
        cls="width slicing",
        params=(_p(2, 4, 12, 37),),
        tests=EXTREMES,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    Mutant(
        "sext_fixed_16_bits",
        "the product is sign-extended by a fixed 16 bits (zeros above at ACC_W > 2*DATA_W+16)",
        ((PE, _SEXT, "{{16{prod[PROD_W-1]}}, prod}"),),
        cls="width slicing",
        params=(_p(3, 2, 9, 63),),
        tests=IDENTITY,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    Mutant(
        "product_width_16",
        "the product is kept in 16 bits (PROD_W hard-coded)",
        ((PE, "localparam integer PROD_W = 2 * DATA_W;", "localparam integer PROD_W = 16;"),),
        cls="width slicing",
        params=(_p(2, 4, 12, 37),),
        tests=EXTREMES,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    Mutant(
        "res_lane_width_32",
        "each result lane is written as 32 bits (hard-coded), clobbering the next lane",
        ((TOP, _RES_SLICE, "res_o[(i*COLS+j)*ACC_W +: 32] = res;"),),
        cls="width slicing",
        params=(_p(3, 3, 7, 20),),
        tests=LECTURE,
        formal=_FV_OVERLAP,
    ),
    # ---- wide-accumulator overflow ---------------------------------------------------------
    Mutant(
        "carry_lost_above_product",
        "the carry out of the low 2*DATA_W accumulator bits is lost",
        (
            (
                PE,
                _ACC_NEXT,
                "wire signed [ACC_W-1:0] acc_next = {acc_base[ACC_W-1:PROD_W] + mac_prod[ACC_W-1:PROD_W],\n"
                "                                    acc_base[PROD_W-1:0] + mac_prod[PROD_W-1:0]};",
            ),
        ),
        cls="wide accumulator",
        tests=EXTREMES,
        proofs=FV_ACC,
    ),
    Mutant(
        "carry_lost_above_32",
        "the accumulator adds in two halves and loses the carry out of bit 31",
        (
            (
                PE,
                _ACC_NEXT,
                "wire signed [ACC_W-1:0] acc_next = {acc_base[ACC_W-1:32] + mac_prod[ACC_W-1:32],\n"
                "                                    acc_base[31:0] + mac_prod[31:0]};",
            ),
        ),
        cls="wide accumulator",
        params=(_p(3, 2, 9, 63),),
        tests=EXTREMES,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    Mutant(
        "sum_in_integer",
        "the sum goes through a 32-bit Verilog integer (wrong above 2^31 at ACC_W > 32)",
        (
            (
                PE,
                _ACC_NEXT,
                "integer mut_sum;\n  always @* mut_sum = acc_base + mac_prod;\n"
                "  wire signed [ACC_W-1:0] acc_next = mut_sum;",
            ),
        ),
        cls="wide accumulator",
        params=(_p(4, 3, 16, 64),),
        tests=EXTREMES,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    Mutant(
        "saturating_accumulator",
        "the accumulator saturates at its extremes instead of wrapping",
        (
            (
                PE,
                _ACC_NEXT,
                "wire signed [ACC_W-1:0] mut_sum = acc_base + mac_prod;\n"
                "  wire mut_ovf = (acc_base[ACC_W-1] == mac_prod[ACC_W-1]) && (mut_sum[ACC_W-1] != acc_base[ACC_W-1]);\n"
                "  wire signed [ACC_W-1:0] acc_next = !mut_ovf ? mut_sum\n"
                "      : acc_base[ACC_W-1] ? {1'b1, {(ACC_W-1){1'b0}}} : {1'b0, {(ACC_W-1){1'b1}}};",
            ),
        ),
        cls="wide accumulator",
        params=(_p(3, 3, 8, 16),),
        tests=EXTREMES,
        proofs=FV_ACC,
    ),
    Mutant(
        "adder_guard_bits_only",
        "the accumulator adds in 2*DATA_W+9 bits (room for 512 extreme products), sign-extended"
        " to ACC_W: a wide accumulator wraps early",
        (
            (
                PE,
                _ACC_NEXT,
                "localparam integer MUT_W = (PROD_W + 9 < ACC_W) ? PROD_W + 9 : ACC_W;\n"
                "  wire signed [MUT_W-1:0] mut_sum = acc_base[MUT_W-1:0] + mac_prod[MUT_W-1:0];\n"
                "  wire signed [ACC_W-1:0] acc_next = mut_sum;",
            ),
        ),
        cls="wide accumulator",
        tests=EVERY_BIT,
        proofs=FV_WIDE,
        formal_tier="full",
    ),
    # ---- more than 256 PEs -----------------------------------------------------------------
    Mutant(
        "strobe_index_8bit",
        "the strobe lane of PE k shows the strobe of PE k mod 256 (an 8-bit PE index)",
        (
            (TOP, "  genvar i, j;", "  wire [ROWS*COLS-1:0] mut_vld;\n  genvar i, j;"),
            (TOP, _PE_WIRES, _PE_WIRES + "        assign mut_vld[i*COLS+j] = res_vld;\n"),
            (TOP, _VLD_SLICE, "res_vld_o[i*COLS+j]              = mut_vld[(i*COLS+j) % 256];"),
        ),
        cls=">256 PEs",
        params=(_p(17, 16),),
        tests=LECTURE,
        formal=_NEEDS_256,
    ),
    Mutant(
        "result_index_8bit",
        "the result lane of PE k shows the result of PE k mod 256 (an 8-bit PE index)",
        (
            (TOP, "          " + _RES_SLICE + "\n", ""),
            (
                TOP,
                _PE_WIRES,
                _PE_WIRES + "        if (i*COLS+j >= 256) begin : g_mut\n"
                "          always @* res_o[(i*COLS+j)*ACC_W +: ACC_W] =\n"
                "              g_row[(i*COLS+j-256)/COLS].g_col[(i*COLS+j-256)%COLS].res;\n"
                "        end else begin : g_mut\n"
                "          always @* res_o[(i*COLS+j)*ACC_W +: ACC_W] = res;\n"
                "        end\n",
            ),
        ),
        cls=">256 PEs",
        params=(_p(17, 16),),
        tests=LECTURE,
        formal=_NEEDS_256,
    ),
    # ---- 1xN / Nx1 -------------------------------------------------------------------------
    Mutant(
        "single_row_south_unregistered",
        "a one-row array passes b to the south edge without its register",
        (
            (
                TOP,
                _SOUTH_B,
                "assign b_o[j*DATA_W +: DATA_W] = (ROWS == 1) ? b_v[0][j] : b_v[ROWS][j];",
            ),
        ),
        cls="1xN / Nx1",
        params=(_p(1, 7),),
        tests=RESET_EDGES,
        proofs=FV_1XN_EDGE,
        formal_tier="full",
    ),
    Mutant(
        "single_col_east_valid_unregistered",
        "a one-column array passes a's valid to the east edge without its register",
        (
            (
                TOP,
                _EAST_VLD,
                "assign a_vld_o[i]   = (COLS == 1) ? a_vld_h[i][0] : a_vld_h[i][COLS];",
            ),
        ),
        cls="1xN / Nx1",
        params=(_p(6, 1),),
        tests=RESET_EDGES,
        proofs=FV_NX1_EDGE,
        formal_tier="full",
    ),
    Mutant(
        "north_loop_over_rows",
        "the north-edge generate loop runs over ROWS instead of COLS",
        (
            (
                TOP,
                "for (j = 0; j < COLS; j = j + 1) begin : g_north",
                "for (j = 0; j < ROWS; j = j + 1) begin : g_north",
            ),
        ),
        cls="1xN / Nx1",
        params=(_p(1, 7),),
        tests=LECTURE,
        formal=_FV_UNDRIVEN,
    ),
    Mutant(
        "strobe_stride_rows",
        "the strobe lane index uses ROWS as the row stride (i*ROWS+j)",
        ((TOP, _VLD_SLICE, "res_vld_o[i*ROWS+j]              = res_vld;"),),
        cls="1xN / Nx1",
        params=(_p(6, 1),),
        tests=LECTURE,
        proofs=FV_NX1_LANE,
        formal_tier="full",
    ),
    # ---- the accelerator top (rtl/systolic_accel.v through tb/test_accel.py) -----------------
    Mutant(
        "north_skew_one_short",
        "north lanes j >= 1 leave the skew one register early (lane j delayed j, not j+1)",
        (
            (
                ACCEL,
                "      assign arr_b[j*DATA_W +: DATA_W] = stage_q[j][DATA_W-1:0];\n"
                "      assign arr_b_vld[j] = stage_q[j][DATA_W];",
                "      localparam integer MUT_OUT = (j > 0) ? j - 1 : 0;\n"
                "      assign arr_b[j*DATA_W +: DATA_W] = stage_q[MUT_OUT][DATA_W-1:0];\n"
                "      assign arr_b_vld[j] = stage_q[MUT_OUT][DATA_W];",
            ),
        ),
        cls="top streams",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "first_not_raised_after_tlast",
        "the first flag is cleared after a fold's first step and never raised again by tlast",
        ((ACCEL, _FIRST_Q, "      if (accept) first_q <= 1'b0;"),),
        cls="top streams",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_RESV,
    ),
    Mutant(
        "a_tkeep_ignored",
        "masked A lanes (rows past the fold's m) are driven valid into the array",
        ((ACCEL, _A_STAGE0, "          stage_q[0] <= {accept, first_q, s_axis_a_tlast,"),),
        cls="top streams",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_TILED,
        proofs=FV_ACCEL_2X2_DRAIN,
        formal_tier="full",
    ),
    Mutant(
        "b_valid_from_a_keep",
        "north lane j is valid from A's tkeep bit j (the rows' mask) instead of B's",
        (
            (
                ACCEL,
                _B_STAGE0,
                "          stage_q[0] <= {accept & s_axis_a_tkeep[j], "
                "s_axis_b_tdata[j*DATA_W +: DATA_W]};",
            ),
        ),
        cls="top streams",
        design="accel",
        # 3x2: A's tkeep has a bit for every column (at 2x3 bit 2 would be out of range: X).
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,
        tests=ACCEL_TILED,
        proofs=FV_ACCEL_3X2_DRAIN,
        formal_tier="full",
    ),
    Mutant(
        "tready_on_either_valid",
        "a step is taken when either operand stream is valid, not both",
        ((ACCEL, _STEP_VLD, "wire             step_vld   = s_axis_a_tvalid | s_axis_b_tvalid;"),),
        cls="top streams",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_BACKPRESSURE,
        proofs=FV_ACCEL_IN,
    ),
    Mutant(
        "shadow_rule_removed",
        "the shadow rule is dropped: a third fold may overwrite a result not yet read",
        ((ACCEL, _ADMIT_OK, "wire             admit_ok   = |(okg_q & fold_size);"),),
        cls="top admission",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_O2S1_SHADOW,
        formal_tier="full",
    ),
    Mutant(
        "room_rule_strict",
        "the room rule admits a fold only if it leaves a FIFO row free (< instead of <=)",
        ((ACCEL, _ROOM, "    room_for = (g < lim) && (u < lim - g);"),),
        cls="top admission",
        design="accel",
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,  # FIFO_DEPTH = ROWS: a full fold never fits, the stream stops
        tests=ACCEL_K1,
        proofs=FV_ACCEL_COVER,
    ),
    Mutant(
        "admission_flags_ignore_admit",
        "the admission's flags (slots and room per fold size) move on as if no fold came: the "
        "next fold is admitted into a full schedule or FIFO",
        ((ACCEL, "okg_q  <= admit ? okg_add : okg_keep;", "okg_q  <= okg_keep;"),),
        cls="top admission",
        design="accel",
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,
        tests=(*ACCEL_K1, *ACCEL_BACKPRESSURE),
        proofs=FV_ACCEL_RESV,
    ),
    Mutant(
        "shadow_flag_ignores_admit",
        "the shadow rule's flag moves on as if no fold came: the fold SHADOWS+2 after one may "
        "capture before that one's rows are read",
        (
            (
                ACCEL,
                "free_q <= admit ? free_add : free_keep;",
                "free_q <= free_keep;",
            ),
        ),
        cls="top admission",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=("accel_2x2_d2a4_f3_o2s1_resv", *FV_ACCEL_O2S1_SHADOW),
        formal_tier="full",
    ),
    Mutant(
        "room_ignores_reserved",
        "the room rule forgets the rows admitted but not yet written to the FIFO",
        ((ACCEL, _NEED, "wire [ARITH_W-1:0] used_w   = {{(ARITH_W - FILL_W){1'b0}}, count_q};"),),
        cls="top admission",
        design="accel",
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,
        tests=ACCEL_BACKPRESSURE,
        proofs=FV_ACCEL_RESV,
    ),
    Mutant(
        "shadow_never_read",
        "a row read never takes a shadow register (pend_q > k+2 instead of == k+2)",
        ((ACCEL, _SHADOW_SEL, "(pend_q > HELD) ? shadow_q[sh]"),),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "pending_not_decremented",
        "a row read does not decrement the PEs' pending counts",
        ((ACCEL, _PEND_NEXT, "            pend_q <= pend_q + {{(PEND_W - 1){1'b0}}, strobe};"),),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "read_ignores_keep",
        "a row read decrements the pending count of masked columns too",
        ((ACCEL, _READ, "        wire read   = read_row;"),),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_BACKPRESSURE,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "tlast_a_row_early",
        "the result's tlast is set on the fold's beat before the last (never for one beat)",
        (
            (
                ACCEL,
                "assign g_end[gg] = (LO < fold_m) && (HI >= fold_m);",
                "assign g_end[gg] = (LO < fold_m) && (HI + OUT_ROWS == fold_m);",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,
        tests=ACCEL_TILED,
        proofs=FV_ACCEL_ORDER,
    ),
    Mutant(
        "rows_read_reversed",
        "a fold's groups of rows are read into the FIFO last group first",
        (
            (
                ACCEL,
                "take_grp  = take_grp | ({GRP_W{match[g]}} & g[GRP_W-1:0]);",
                "take_grp  = take_grp | ({GRP_W{match[g]}} & (fold_g[GRP_W-1:0] - 1'b1 - "
                "g[GRP_W-1:0]));",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_2X2_ORDER,
        formal_tier="full",
    ),
    Mutant(
        "fifo_wraps_one_early",
        "the FIFO pointers wrap after slot FIFO_DEPTH-2: a full FIFO overwrites its oldest row",
        (
            (
                ACCEL,
                "localparam integer     LAST_SLOT = FIFO_DEPTH - 1;",
                "localparam integer     LAST_SLOT = FIFO_DEPTH - 2;",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_3X2,
        fifo_depth=3,
        tests=ACCEL_BACKPRESSURE,
        proofs=FV_ACCEL_FIFO,
    ),
    Mutant(
        "fifo_bypass_removed",
        "the FIFO's block RAM does not show a group written at the edge its entry's read address "
        "is registered: a group written into an empty FIFO leaves with the entry's old contents",
        (
            (
                FIFO_RAM,
                "assign rdata_o = byp_q ? byp_data_q : rdata_q;",
                "assign rdata_o = rdata_q;",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_K1,
        proofs=FV_FIFO_RAM,
    ),
    Mutant(
        "reset_keeps_pending",
        "pend_q is initialised at power-up (FPGA style) but not cleared by rst_ni",
        (
            (
                ACCEL,
                "        reg  [PEND_W-1:0] pend_q;",
                "        reg  [PEND_W-1:0] pend_q = {PEND_W{1'b0}};",
            ),
            (ACCEL, "            pend_q <= {PEND_W{1'b0}};\n", ""),
        ),
        cls="reset",
        design="accel",
        params=ACCEL_PARAMS,
        tests=ACCEL_RESET,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "group_written_a_row_early",
        "a group of rows is written to the FIFO one cycle before its last row is complete",
        (
            (
                ACCEL,
                "wire [CNT_W-1:0] ready = fold_n + ((HI < fold_m) ? HI : fold_m) + LAT_C;",
                "wire [CNT_W-1:0] ready = fold_n + ((HI < fold_m) ? HI : fold_m) + LAT_C - 1'b1;",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_4X3,
        port=PORT_O2S2,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_DRAIN,
    ),
    Mutant(
        "shadow_chain_not_shifted",
        "a capture copies the PE's result into the first shadow register only: older ones are lost",
        (
            (
                ACCEL,
                "              for (s = 1; s < SHADOWS; s = s + 1) shadow_q[s] <= shadow_q[s-1];\n",
                "",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_4X3,
        port=PORT_O2S2,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_O2S2_DRAIN,
        formal_tier="full",
    ),
    Mutant(
        "row_keep_ignored",
        "tkeep marks every row of a beat, also rows past the fold's last (a partial last beat)",
        (
            (
                ACCEL,
                "assign wr_keep[pp*COLS +: COLS] = slot_keep_q[0] & {COLS{slot_rows_q[0][pp]}};",
                "assign wr_keep[pp*COLS +: COLS] = slot_keep_q[0];",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_4X3,
        port=PORT_O2S2,
        tests=ACCEL_TILED,
        proofs=FV_ACCEL_O2S2_ORDER,
        formal_tier="full",
    ),
    Mutant(
        "lane_count_stops_at_16",
        "a fold's rows and columns are counted over tkeep lanes 0..15 only",
        (
            (
                ACCEL,
                "for (n = 0; n < 33; n = n + 1) ones = ones +",
                "for (n = 0; n < 16; n = n + 1) ones = ones +",
            ),
        ),
        cls="top >16 lanes",
        design="accel",
        params=ACCEL_PARAMS_WIDE,
        tests=ACCEL_K1,
        formal="needs more than 16 rows or columns; the formal tops are at most 4x1 and 3x2",
    ),
    Mutant(
        "group_index_4_bits",
        "a fold's group (row) index is 4 bits wide: group 16 is read as group 0",
        (
            (
                ACCEL,
                "localparam integer GRP_W   = (GROUPS > 1) ? $clog2(GROUPS) : 1;",
                "localparam integer GRP_W   = (GROUPS > 16) ? 4 : (GROUPS > 1) ? $clog2(GROUPS) : 1;",
            ),
        ),
        cls="top >16 lanes",
        design="accel",
        params=ACCEL_PARAMS_WIDE,
        tests=ACCEL_K1,
        formal="needs more than 16 groups of rows; the formal tops are at most 4x1 and 3x2",
    ),
    Mutant(
        "fifo_count_pointer_wide",
        "the FIFO's entry count has the pointers' width: a full FIFO of 2^k entries reads empty",
        (
            (
                ACCEL,
                "reg  [FILL_W-1:0] count_q;  // entries (groups) in the FIFO",
                "reg  [PTR_W-1:0]  count_q;  // entries (groups) in the FIFO",
            ),
        ),
        cls="top FIFO depth",
        design="accel",
        params=ACCEL_PARAMS_TALL,
        fifo_depth=8,  # FIFO_DEPTH = ROWS, a power of two
        tests=ACCEL_FILL,
        formal=_FV_TAPPED_WIDTH,
    ),
    Mutant(
        "room_count_pointer_wide",
        "the room rule's count of entries in use has the pointers' width: a full FIFO of 2^k "
        "entries looks empty to it",
        (
            (
                ACCEL,
                "reg  [FILL_W-1:0] used_q;   // count_q + resv_q",
                "reg  [PTR_W-1:0]  used_q;   // count_q + resv_q",
            ),
        ),
        cls="top FIFO depth",
        design="accel",
        params=ACCEL_PARAMS_TALL,
        fifo_depth=8,  # FIFO_DEPTH = ROWS, a power of two
        tests=ACCEL_FILL,
        formal=_FV_TAPPED_WIDTH,
    ),
    Mutant(
        "room_limit_pointer_wide",
        "the room rule's limit takes FIFO_DEPTH at the pointers' width: 1024 entries read as 0, "
        "so no fold has room and the stream stops",
        (
            (
                ACCEL,
                "localparam [ARITH_W-1:0] DEPTH_C  = FIFO_DEPTH[ARITH_W-1:0];",
                "localparam [ARITH_W-1:0] DEPTH_C  = FIFO_DEPTH[PTR_W-1:0];",
            ),
        ),
        cls="top FIFO depth",
        design="accel",
        params=ACCEL_PARAMS_TALL,
        fifo_depth=1024,
        tests=ACCEL_FILL,
        formal="a FIFO of 1024 entries does not fill within a proof's depth: the k-induction "
        "is inconclusive, not a kill",
    ),
    Mutant(
        "edge_capture_not_delayed",
        "with MUL_REG = 1 the west edge's capture strobe is not delayed: shadows copy a cycle early",
        (
            (
                ACCEL,
                "if (j == 0 && LAT == 0) begin : g_w_edge",
                "if (j == 0) begin : g_w_edge",
            ),
        ),
        cls="top drain",
        design="accel",
        params=ACCEL_PARAMS_M1,
        tests=ACCEL_K1,
        proofs=FV_ACCEL_M1_DRAIN,
        formal_tier="full",
    ),
)

#: The widest PE: DATA_W 16, ACC_W 64 (2*DATA_W = 32, the edge of product_through_32_bits).
_WIDEST = {"DATA_W": 16, "ACC_W": 64}

#: Mutants that change no output of the design, each proven so by a formal equivalence check
#: (tests/mutation/test_mutants.py) at every parameter set listed, the widest first.
EQUIVALENT: tuple[Equivalent, ...] = (
    Equivalent(
        Mutant(
            "sext_implicit",
            "the explicit sign extension of the product is dropped (prod_ext = prod)",
            ((PE, _SEXT, "prod"),),
        ),
        top="systolic_pe",
        params=(
            _WIDEST,
            {"DATA_W": 8, "ACC_W": 32},
            {"DATA_W": 3, "ACC_W": 7},
            {"DATA_W": 5, "ACC_W": 37},
        ),
        why="prod and prod_ext are both declared signed, so the assignment sign-extends anyway",
    ),
    Equivalent(
        Mutant(
            "restart_gated_by_fire",
            "the restart also requires a firing pair (mac_fire & mac_first)",
            ((PE, _RESTART, "(mac_fire & mac_first) ? {ACC_W{1'b0}} : acc_q"),),
            cls="control",
        ),
        top="systolic_pe",
        params=(_WIDEST, {"DATA_W": 8, "ACC_W": 32}, {"DATA_W": 3, "ACC_W": 7}),
        why="acc_base only reaches a register through acc_next, which is stored only when mac_fire is 1",
    ),
    Equivalent(
        Mutant(
            "product_through_32_bits",
            "the product is computed into a 32-bit signed wire first",
            (
                (
                    PE,
                    "wire signed [PROD_W-1:0] prod = a_i * b_i;",
                    "wire signed [31:0] mut_p32 = a_i * b_i;\n"
                    "  wire signed [PROD_W-1:0] prod = mut_p32;",
                ),
            ),
        ),
        top="systolic_pe",
        params=(
            _WIDEST,
            {"DATA_W": 8, "ACC_W": 32},
            {"DATA_W": 3, "ACC_W": 7},
            {"DATA_W": 5, "ACC_W": 11},
        ),
        why="2*DATA_W <= 32 (DATA_W <= 16): the 32-bit signed product is exact and its low "
        "2*DATA_W bits are the product",
    ),
)


def edit_copy(
    rtl_dir: Path, out_dir: Path, edits: Iterable[tuple[str, str, str]], what: str = "edit"
) -> Path:
    """Copy rtl_dir to out_dir (replacing it) and apply exact text edits (file, old, new);
    returns out_dir. The one way the mutants and the tests' planted bugs change a copy of rtl/.

    Raises SystolicError naming ``what`` when an edit's old text is not found exactly once (a
    stale edit).
    """
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(rtl_dir, out_dir)
    for file, old, new in edits:
        path = out_dir / file
        text = path.read_text()
        if text.count(old) != 1:
            raise SystolicError(f"{what}: {old!r} not found once in {file}")
        path.write_text(text.replace(old, new))
    return out_dir


def apply(mutant: Mutant, rtl_dir: Path, out_dir: Path) -> Path:
    """Copy rtl_dir to out_dir and apply the mutant's edits; returns out_dir.

    Raises SystolicError when an edit's old text is not found exactly once (a stale mutant).
    """
    return edit_copy(rtl_dir, out_dir, mutant.edits, f"mutant {mutant.name}")


def by_name(name: str) -> Mutant:
    """The catalog mutant called ``name`` (one-line error for an unknown name)."""
    for m in CATALOG:
        if m.name == name:
            return m
    raise SystolicError(f"unknown mutant {name!r} (`systolic mutate --list` shows the catalog)")


def _check_names() -> None:
    names = [m.name for m in CATALOG] + [e.mutant.name for e in EQUIVALENT]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SystolicError(f"duplicate mutant names: {', '.join(dupes)}")


_check_names()
