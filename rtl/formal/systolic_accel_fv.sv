// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_accel_fv: AXI4-Stream protocol and safety properties of the accelerator top
// (rtl/systolic_accel.v), checked by SymbiYosys (`systolic formal`; docs/verification.md).
//
// The wrapper drives systolic_accel with free inputs, constrained by assumptions (a_*) to what
// the header of rtl/systolic_accel.v requires of its sources; m_axis_c_tready is free (the sink
// may stall at any time, forever). The reset is asserted in the first cycle and free afterwards.
// Every parameter of the top is one of the wrapper's: OUT_ROWS rows of a fold per result beat (a
// "group", one FIFO entry) and SHADOWS shadow registers per PE; the properties below are stated
// for any OUT_ROWS and SHADOWS (at the defaults 1 and 1: one row per beat, one shadow).
//
// Assumptions (the sources):
//   a_src_*    AXI4-Stream source rules on s_axis_a and s_axis_b: while tvalid && !tready the
//              beat (tdata, tkeep, tlast) is stable and tvalid stays high; tvalid is low while
//              rst_ni is low
//   a_fold_*   the header's input rules: tkeep a non-empty prefix of lanes, the same on every
//              beat of a fold; tlast on the same beat of A and B
// Assertions, by group (the Python driver proves one or more groups per task):
//   p_axis_*   m_axis_c: the beat is stable and tvalid held while tvalid && !tready; tvalid low
//              while rst_ni is low and in the cycle after
//   p_in_*     s_axis_*_tready: the two are one wire, never high without both tvalid, and a step
//              that is not a fold's last is never held back
//   p_fifo_*   the result FIFO: count (entries = groups) within 0..FIFO_DEPTH, no write when
//              full, no read when empty
//   p_out_*    every group leaves m_axis_c intact and in order, with its rows' and fold's tkeep
//              and its fold's tlast (one watched entry, chosen by the solver)
//   p_resv_*   reservations: never below zero, entries in + reserved <= FIFO_DEPTH (and the room
//              rule's own count of them right), and equal to the group writes in the schedule
//              (no leak)
//   p_shadow_* no result lost in the drain: a PE never captures a new result while it holds
//              SHADOWS+1 unread ones (pend_q == SHADOWS+1: its result register and every shadow)
//              unless one is read in the same cycle
//   p_drain_*  every word written to the FIFO is the oldest unread result of its PE (a model
//              queue per PE), never read before it exists, and no PE ever has SHADOWS+2 unread
//              results
//   p_order_*  the write schedule: each fold's groups 0 .. ceil(m/OUT_ROWS)-1 in order, in the
//              order the folds were admitted, each with its rows' keep bits, tlast exactly on the
//              fold's last group
//   p_inv_*    lemmas for k-induction (internal consistency of the counters and pointers)
//   c_*        cover properties: a full fold in and out, a stalled sink filling the FIFO, a
//              fold's last step held back, a PE with all its shadows holding unread results
// Each property is an immediate assertion `if (<antecedent>) p_name: assert (<consequent>);` =
// SVA `@(posedge clk_i) <antecedent> |-> <consequent>`; a property over all PEs is one assertion
// of the AND of per-PE checks (f_ok_* vectors).
//
// The design's internal signals are reached by `hierconn` wires named after them (u_dut.<name>,
// u_dut.g_drain_row[i].g_drain_col[j].<name>), as in systolic_array_fv.sv; the driver reports a
// tap that `flatten` left undriven as an error. The width localparams repeat the design's.
//
// Time model: `multiclock off`, one solver step per clock cycle, the asynchronous reset modelled
// by SymbiYosys' async2sync (registers read as their reset value while rst_ni is low).
//
// Naming: the wrapper's own signals start with f_, assumptions with a_, properties with p_
// (assertions) or c_ (covers); genvars i (row), j (column), d (schedule slot), q (queue entry),
// k (a PE's model queue entry).

`default_nettype none

module systolic_accel_fv #(
  parameter integer ROWS       = 2,
  parameter integer COLS       = 2,
  parameter integer DATA_W     = 2,
  parameter integer ACC_W      = 4,
  parameter integer FIFO_DEPTH = 3,
  parameter integer OUT_ROWS   = 1,
  parameter integer SHADOWS    = 1,
  parameter integer MUL_REG    = 0
) (
  input wire                   clk_i,
  input wire                   rst_ni,
  input wire [ROWS*DATA_W-1:0] s_axis_a_tdata,
  input wire [ROWS-1:0]        s_axis_a_tkeep,
  input wire                   s_axis_a_tlast,
  input wire                   s_axis_a_tvalid,
  input wire [COLS*DATA_W-1:0] s_axis_b_tdata,
  input wire [COLS-1:0]        s_axis_b_tkeep,
  input wire                   s_axis_b_tlast,
  input wire                   s_axis_b_tvalid,
  input wire                   m_axis_c_tready,
  input wire                   f_pick_i  // free: watch the entry written to the FIFO now (p_out_*)
);

  // The design's widths (rtl/systolic_accel.v), for the taps.
  localparam integer SLOTS   = ROWS + COLS + 1 + MUL_REG;
  localparam integer CNT_W   = $clog2(SLOTS + 2) + 1;
  localparam integer GROUPS  = (ROWS + OUT_ROWS - 1) / OUT_ROWS;  // beats of a full fold
  localparam integer GRP_W   = (GROUPS > 1) ? $clog2(GROUPS) : 1;
  localparam integer FILL_W  = $clog2(2 * FIFO_DEPTH + ROWS + 1) + 1;
  localparam integer PTR_W   = (FIFO_DEPTH > 1) ? $clog2(FIFO_DEPTH) : 1;
  localparam integer NPE     = ROWS * COLS;
  localparam integer BEAT_W  = OUT_ROWS * COLS;           // words per result beat
  localparam integer PEND_W  = $clog2(SHADOWS + 2);       // a PE's unread results: 0..SHADOWS+1
  localparam integer ENTRY_W = BEAT_W * ACC_W + BEAT_W + 1;  // {last, keep, data}
  // The wrapper's own widths.
  localparam integer M_W     = $clog2(ROWS + 1);          // a fold's row count, 1..ROWS
  localparam integer G_W     = $clog2(GROUPS + 1);        // a fold's group index, 0..GROUPS
  localparam integer R_W     = $clog2(GROUPS * OUT_ROWS + OUT_ROWS + 1);  // row numbers
  localparam integer QD      = SLOTS + 1;                 // fold queue entries
  localparam integer QE_W    = M_W + COLS;                // a queue entry: {m, keep_b}
  localparam integer QC_W    = $clog2(QD + 1);
  localparam integer WIDE_W  = FILL_W + 2;                // sums of counters without overflow
  localparam integer CQ_W    = $clog2(SHADOWS + 3) + 1;   // a PE's model queue count, with room
                                                          // to show one too many

  // ---------------------------------------------------------------------------------------------
  // Design under test.
  // ---------------------------------------------------------------------------------------------
  wire                   s_axis_a_tready, s_axis_b_tready;
  wire [BEAT_W*ACC_W-1:0] m_axis_c_tdata;
  wire [BEAT_W-1:0]       m_axis_c_tkeep;
  wire                   m_axis_c_tlast, m_axis_c_tvalid;

  systolic_accel #(
    .ROWS       (ROWS),
    .COLS       (COLS),
    .DATA_W     (DATA_W),
    .ACC_W      (ACC_W),
    .FIFO_DEPTH (FIFO_DEPTH),
    .OUT_ROWS   (OUT_ROWS),
    .SHADOWS    (SHADOWS),
    .MUL_REG    (MUL_REG)
  ) u_dut (
    .clk_i           (clk_i),
    .rst_ni          (rst_ni),
    .s_axis_a_tdata  (s_axis_a_tdata),
    .s_axis_a_tkeep  (s_axis_a_tkeep),
    .s_axis_a_tlast  (s_axis_a_tlast),
    .s_axis_a_tvalid (s_axis_a_tvalid),
    .s_axis_a_tready (s_axis_a_tready),
    .s_axis_b_tdata  (s_axis_b_tdata),
    .s_axis_b_tkeep  (s_axis_b_tkeep),
    .s_axis_b_tlast  (s_axis_b_tlast),
    .s_axis_b_tvalid (s_axis_b_tvalid),
    .s_axis_b_tready (s_axis_b_tready),
    .m_axis_c_tdata  (m_axis_c_tdata),
    .m_axis_c_tkeep  (m_axis_c_tkeep),
    .m_axis_c_tlast  (m_axis_c_tlast),
    .m_axis_c_tvalid (m_axis_c_tvalid),
    .m_axis_c_tready (m_axis_c_tready)
  );

  // Taps of the design's internal state (hierconn: connected by `flatten`).
  (* hierconn *) wire [FILL_W-1:0]        \u_dut.count_q ;
  (* hierconn *) wire [FILL_W-1:0]        \u_dut.resv_q ;
  (* hierconn *) wire [FILL_W-1:0]        \u_dut.used_q ;
  (* hierconn *) wire [CNT_W-1:0]         \u_dut.end_q ;
  (* hierconn *) wire [GROUPS-1:0]        \u_dut.okg_q ;
  (* hierconn *) wire                     \u_dut.free_q ;
  (* hierconn *) wire                     \u_dut.valid_q ;
  (* hierconn *) wire [CNT_W-1:0]         \u_dut.guard_end ;
  (* hierconn *) wire                     \u_dut.first_q ;
  (* hierconn *) wire [SLOTS-1:0]         \u_dut.slot_vld_q ;
  (* hierconn *) wire [SLOTS-1:0]         \u_dut.slot_last_q ;
  (* hierconn *) wire [SLOTS-1:0]         \u_dut.pend_vld_q ;
  (* hierconn *) wire [PTR_W-1:0]         \u_dut.wr_ptr_q ;
  (* hierconn *) wire [PTR_W-1:0]         \u_dut.rd_ptr_q ;
  (* hierconn *) wire                     \u_dut.wr ;
  (* hierconn *) wire [GRP_W-1:0]         \u_dut.rd_grp ;
  (* hierconn *) wire [BEAT_W*ACC_W-1:0]  \u_dut.wr_data ;
  (* hierconn *) wire [BEAT_W-1:0]        \u_dut.wr_keep ;
  (* hierconn *) wire [NPE*ACC_W-1:0]     \u_dut.res ;
  (* hierconn *) wire [NPE-1:0]           \u_dut.res_vld ;

  wire [FILL_W-1:0] f_count = \u_dut.count_q ;
  wire [FILL_W-1:0] f_resv  = \u_dut.resv_q ;
  wire              f_wr    = \u_dut.wr ;  // a group is written to the FIFO in this cycle

  // ---------------------------------------------------------------------------------------------
  // Cycle bookkeeping and handshakes.
  // ---------------------------------------------------------------------------------------------
  reg f_past_valid = 1'b0;  // a previous cycle exists
  reg f_past_rst_n = 1'b0;  // rst_ni in the previous cycle
  always @(posedge clk_i) begin
    f_past_valid <= 1'b1;
    f_past_rst_n <= rst_ni;
  end
  // This cycle and the previous one out of reset: the last edge was an ordinary clock edge.
  wire f_live = f_past_valid && f_past_rst_n && rst_ni;

  wire f_acc   = s_axis_a_tvalid && s_axis_a_tready;  // a step is taken (A and B together)
  wire f_admit = f_acc && s_axis_a_tlast;             // ... and it is a fold's last
  wire f_rd    = m_axis_c_tvalid && m_axis_c_tready;  // a result beat (group) is taken

  function automatic [M_W-1:0] ones_rows(input [ROWS-1:0] v);
    integer n;
    begin
      ones_rows = {M_W{1'b0}};
      for (n = 0; n < ROWS; n = n + 1) ones_rows = ones_rows + {{(M_W - 1){1'b0}}, v[n]};
    end
  endfunction

  function automatic [CNT_W-1:0] ones_slots(input [SLOTS-1:0] v);
    integer n;
    begin
      ones_slots = {CNT_W{1'b0}};
      for (n = 0; n < SLOTS; n = n + 1) ones_slots = ones_slots + {{(CNT_W - 1){1'b0}}, v[n]};
    end
  endfunction

  // A non-empty prefix of lanes (lanes 0 .. m-1): v + 1 is a power of two.
  function automatic prefix_a(input [ROWS-1:0] v);
    prefix_a = (v != {ROWS{1'b0}}) && (({1'b0, v} & ({1'b0, v} + 1'b1)) == {(ROWS + 1){1'b0}});
  endfunction
  function automatic prefix_b(input [COLS-1:0] v);
    prefix_b = (v != {COLS{1'b0}}) && (({1'b0, v} & ({1'b0, v} + 1'b1)) == {(COLS + 1){1'b0}});
  endfunction

  // ---------------------------------------------------------------------------------------------
  // Assumptions: the sources.
  // ---------------------------------------------------------------------------------------------
  // The fold the sources are in: f_in_fold after a step without tlast; its masks.
  reg            f_in_fold;
  reg [ROWS-1:0] f_fold_keep_a;
  reg [COLS-1:0] f_fold_keep_b;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_in_fold     <= 1'b0;
      f_fold_keep_a <= {ROWS{1'b0}};
      f_fold_keep_b <= {COLS{1'b0}};
    end else if (f_acc) begin
      f_in_fold     <= !s_axis_a_tlast;
      f_fold_keep_a <= s_axis_a_tkeep;
      f_fold_keep_b <= s_axis_b_tkeep;
    end
  end

  wire [ROWS*DATA_W+ROWS:0] f_beat_a = {s_axis_a_tlast, s_axis_a_tkeep, s_axis_a_tdata};
  wire [COLS*DATA_W+COLS:0] f_beat_b = {s_axis_b_tlast, s_axis_b_tkeep, s_axis_b_tdata};

  always @(*) begin
    // Reset in the first cycle; free afterwards.
    if (!f_past_valid) a_init_reset: assume (!rst_ni);
    // AXI4-Stream: no tvalid while in reset.
    if (!rst_ni) a_src_rst: assume (!s_axis_a_tvalid && !s_axis_b_tvalid);
    // tkeep: a non-empty prefix of lanes, the fold's own on every later beat.
    if (s_axis_a_tvalid) a_fold_keep_a: assume (prefix_a(s_axis_a_tkeep));
    if (s_axis_b_tvalid) a_fold_keep_b: assume (prefix_b(s_axis_b_tkeep));
    if (s_axis_a_tvalid && f_in_fold) a_fold_same_a: assume (s_axis_a_tkeep == f_fold_keep_a);
    if (s_axis_b_tvalid && f_in_fold) a_fold_same_b: assume (s_axis_b_tkeep == f_fold_keep_b);
    // tlast on the same beat of A and B (the beats that are taken together).
    if (s_axis_a_tvalid && s_axis_b_tvalid)
      a_fold_last: assume (s_axis_a_tlast == s_axis_b_tlast);
  end

  always @(posedge clk_i) begin
    // AXI4-Stream source: a beat offered and not taken stays, unchanged.
    if (f_live && $past(s_axis_a_tvalid && !s_axis_a_tready))
      a_src_hold_a: assume (s_axis_a_tvalid && f_beat_a == $past(f_beat_a));
    if (f_live && $past(s_axis_b_tvalid && !s_axis_b_tready))
      a_src_hold_b: assume (s_axis_b_tvalid && f_beat_b == $past(f_beat_b));
  end

  // ---------------------------------------------------------------------------------------------
  // Fold queue: the admitted folds whose last group is not yet written, oldest (the one being
  // written) first; each entry {m, keep_b}. f_wgrp is the next group expected from the oldest:
  // rows f_wgrp*OUT_ROWS + p (p = 0 .. OUT_ROWS-1) of it, those below m kept.
  // ---------------------------------------------------------------------------------------------
  reg  [QD*QE_W-1:0] f_q;
  reg  [QC_W-1:0]    f_qcnt;
  reg  [G_W-1:0]     f_wgrp;
  wire [M_W-1:0]     f_head_m    = f_q[COLS +: M_W];
  wire [COLS-1:0]    f_head_keep = f_q[0 +: COLS];
  wire [R_W-1:0]     f_wrow      = f_wgrp * OUT_ROWS;  // the group's first row
  // The oldest fold's last group: its rows reach m.
  wire               f_wlast     = f_wrow + OUT_ROWS >= f_head_m;
  wire               f_wpop      = f_wr && f_wlast && (f_qcnt != 0);
  // The keep bits of the group: position p (row f_wrow + p) has the fold's columns if the row is
  // in the fold.
  reg  [BEAT_W-1:0]  f_wkeep;
  integer p;
  always @(*) begin
    for (p = 0; p < OUT_ROWS; p = p + 1)
      f_wkeep[p*COLS +: COLS] = (f_wrow + p < f_head_m) ? f_head_keep : {COLS{1'b0}};
  end
  wire [QE_W-1:0]    f_q_new     = {ones_rows(s_axis_a_tkeep), s_axis_b_tkeep};
  wire [QC_W-1:0]    f_qcnt_left = f_qcnt - {{(QC_W - 1){1'b0}}, f_wpop};

  reg [QD*QE_W-1:0] f_q_next;
  integer q;
  always @(*) begin
    f_q_next = f_wpop ? (f_q >> QE_W) : f_q;
    for (q = 0; q < QD; q = q + 1)
      if (f_admit && f_qcnt_left == q) f_q_next[q*QE_W +: QE_W] = f_q_new;
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_q    <= {(QD * QE_W){1'b0}};
      f_qcnt <= {QC_W{1'b0}};
      f_wgrp <= {G_W{1'b0}};
    end else begin
      f_q    <= f_q_next;
      f_qcnt <= f_qcnt_left + {{(QC_W - 1){1'b0}}, f_admit};
      if (f_wr) f_wgrp <= f_wlast ? {G_W{1'b0}} : f_wgrp + 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Drain: per PE a model queue of its unread results (up to SHADOWS+1: the PE's result register
  // and its shadows). A result enters when the PE's strobe (res_vld) shows it and leaves when its
  // group is written to the FIFO with the PE's row in the fold and its column in the fold's mask.
  // ---------------------------------------------------------------------------------------------
  localparam [CQ_W-1:0] F_HELD = SHADOWS + 1;  // results a PE can hold
  wire [NPE-1:0] f_ok_shadow;  // no capture over SHADOWS+1 unread results (none read)
  wire [NPE-1:0] f_ok_lost;    // at most SHADOWS+1 unread results
  wire [NPE-1:0] f_ok_early;   // a word is written only once its result exists
  wire [NPE-1:0] f_ok_word;    // the word written is the oldest unread result
  wire [NPE-1:0] f_ok_pend;    // the design's pend_q and read agree with the model
  wire [NPE-1:0] f_full;       // SHADOWS+1 unread results (every shadow holds one)

  genvar i, j, k;
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : \u_dut.g_drain_row
      for (j = 0; j < COLS; j = j + 1) begin : g_drain_col
        (* hierconn *) wire              \strobe ;  // PE(i,j) captures a result at this edge
        (* hierconn *) wire              \read ;    // its oldest result is read in this cycle
        (* hierconn *) wire [PEND_W-1:0] \pend_q ;  // its results not yet read
        localparam integer PE_K  = i * COLS + j;
        localparam integer GRP_I = i / OUT_ROWS;    // the group of row i
        localparam integer POS_I = i % OUT_ROWS;    // its position in the beat
        wire [ACC_W-1:0] f_res  = \u_dut.res [PE_K*ACC_W +: ACC_W];
        wire [ACC_W-1:0] f_word = \u_dut.wr_data [(POS_I*COLS+j)*ACC_W +: ACC_W];
        wire             f_push = \u_dut.res_vld [PE_K];
        wire             f_pop  = f_wr && (f_qcnt != 0) && (f_wgrp == GRP_I) && (i < f_head_m)
                                && f_head_keep[j];
        reg  [CQ_W-1:0]  f_cnt;  // unread results pushed before this cycle
        wire [CQ_W:0]    f_cnt_e = {1'b0, f_cnt} + {{CQ_W{1'b0}}, f_push};  // ... and now
        // The unread results in this cycle, oldest first: f_e[0 .. f_cnt_e-1]; f_v holds the
        // first SHADOWS+1 of the previous cycle's (the newest is still in the PE: f_res).
        reg  [(SHADOWS+1)*ACC_W-1:0] f_v;
        wire [(SHADOWS+2)*ACC_W-1:0] f_e;
        for (k = 0; k <= SHADOWS; k = k + 1) begin : g_e
          assign f_e[k*ACC_W +: ACC_W] = (f_cnt == k) ? f_res : f_v[k*ACC_W +: ACC_W];
        end
        assign f_e[(SHADOWS+1)*ACC_W +: ACC_W] = f_res;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            f_cnt <= {CQ_W{1'b0}};
            f_v   <= {((SHADOWS + 1) * ACC_W){1'b0}};
          end else begin
            f_cnt <= f_cnt_e[CQ_W-1:0] - {{(CQ_W - 1){1'b0}}, f_pop && f_cnt_e != 0};
            f_v   <= f_pop ? f_e[ACC_W +: (SHADOWS+1)*ACC_W] : f_e[0 +: (SHADOWS+1)*ACC_W];
          end
        end
        assign f_ok_shadow[PE_K] = !(\strobe && \pend_q == F_HELD && !\read );
        assign f_full[PE_K]      = \pend_q == F_HELD;
        assign f_ok_pend[PE_K]   = \pend_q == f_cnt_e && \read == f_pop;
        assign f_ok_lost[PE_K]   = f_cnt_e <= F_HELD;
        assign f_ok_early[PE_K]  = !f_pop || f_cnt_e != 0;
        assign f_ok_word[PE_K]   = !f_pop || f_word == f_e[0 +: ACC_W];
      end
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // FIFO: one watched entry (group), chosen by the solver (f_pick_i) when it is written; it must
  // reach the head after the entries before it and leave unchanged, with the model's keep bits
  // (its rows in the fold, the fold's columns) and tlast on the fold's last group.
  // ---------------------------------------------------------------------------------------------
  reg               f_watch;
  reg [FILL_W-1:0]  f_ahead;  // entries before the watched one
  reg [ENTRY_W-1:0] f_entry;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_watch <= 1'b0;
      f_ahead <= {FILL_W{1'b0}};
      f_entry <= {ENTRY_W{1'b0}};
    end else if (!f_watch) begin
      if (f_wr && f_pick_i) begin
        f_watch <= 1'b1;
        f_ahead <= f_count - {{(FILL_W - 1){1'b0}}, f_rd};
        f_entry <= {f_wlast, f_wkeep, \u_dut.wr_data };
      end
    end else if (f_rd) begin
      if (f_ahead == {FILL_W{1'b0}}) f_watch <= 1'b0;
      else f_ahead <= f_ahead - 1'b1;
    end
  end

  wire [ENTRY_W-1:0] f_head_beat = {m_axis_c_tlast, m_axis_c_tkeep, m_axis_c_tdata};
  wire [ENTRY_W-1:0] f_beat_c = f_head_beat;

  // ---------------------------------------------------------------------------------------------
  // Schedule lemmas.
  // ---------------------------------------------------------------------------------------------
  wire [WIDE_W-1:0] f_fill = {2'b00, f_count} + {2'b00, f_resv};
  // A slot's group is in it, or pending for it a cycle after its fold's admission.
  wire [SLOTS-1:0]  f_sched = \u_dut.slot_vld_q | \u_dut.pend_vld_q ;
  wire [CNT_W-1:0]  f_slots_used = ones_slots(f_sched);
  wire [SLOTS-1:0]  f_ok_end;  // no group write scheduled at or beyond end_q
  genvar d;
  generate
    for (d = 0; d < SLOTS; d = d + 1) begin : g_slot
      assign f_ok_end[d] = (d < \u_dut.end_q ) || !f_sched[d];
    end
  endgenerate
  // The admission's flags: okg_q[k-1] is slots and room for a fold of k groups, free_q shadow.
  wire [GROUPS-1:0] f_okg_exp;
  generate
    for (d = 0; d < GROUPS; d = d + 1) begin : g_okg
      assign f_okg_exp[d] = ({1'b0, \u_dut.end_q } + d + 1 <= SLOTS)
                         && ({2'b00, \u_dut.used_q } + d + 1 <= FIFO_DEPTH);
    end
  endgenerate
  // wr_ptr == rd_ptr + count (mod FIFO_DEPTH), both pointers in range.
  wire [WIDE_W-1:0] f_ptr_sum = {{(WIDE_W - PTR_W){1'b0}}, \u_dut.rd_ptr_q }
                              + {2'b00, f_count};
  wire [WIDE_W-1:0] f_ptr_exp = (f_ptr_sum >= FIFO_DEPTH) ? f_ptr_sum - FIFO_DEPTH : f_ptr_sum;
  wire f_ptrs_ok = (\u_dut.rd_ptr_q < FIFO_DEPTH) && (\u_dut.wr_ptr_q < FIFO_DEPTH)
                && (f_count > FIFO_DEPTH
                    || f_ptr_exp == {{(WIDE_W - PTR_W){1'b0}}, \u_dut.wr_ptr_q });

  // ---------------------------------------------------------------------------------------------
  // Properties.
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    // p_axis_hold: a result beat offered and not taken stays, unchanged, in the next cycle.
    if (f_live && $past(m_axis_c_tvalid && !m_axis_c_tready))
      p_axis_hold: assert (m_axis_c_tvalid && f_beat_c == $past(f_beat_c));
    // p_axis_rst: m_axis_c_tvalid is low while rst_ni is low and in the cycle after.
    if (!rst_ni || (f_past_valid && !f_past_rst_n))
      p_axis_rst: assert (!m_axis_c_tvalid);
  end

  always @(*) begin
    // p_in_same: one tready for both operand streams.
    p_in_same: assert (s_axis_a_tready == s_axis_b_tready);
    // p_in_valid: tready only while both tvalid are high.
    if (s_axis_a_tready) p_in_valid: assert (s_axis_a_tvalid && s_axis_b_tvalid);
    // p_in_body: a step that is not a fold's last step is never held back.
    if (rst_ni && s_axis_a_tvalid && s_axis_b_tvalid && !s_axis_a_tlast)
      p_in_body: assert (s_axis_a_tready);

    if (rst_ni) begin
      // p_fifo_count: 0 <= entries (groups) in the FIFO <= FIFO_DEPTH.
      p_fifo_count: assert (f_count <= FIFO_DEPTH);
      // p_fifo_overflow: no group write while the FIFO is full.
      if (f_wr) p_fifo_overflow: assert (f_count < FIFO_DEPTH);
      // p_fifo_underflow: no read while it is empty.
      if (f_rd) p_fifo_underflow: assert (f_count != {FILL_W{1'b0}});
      // p_out_entry: the watched entry, at the FIFO's head, is on m_axis_c as it was written,
      // with its rows' keep bits (the fold's columns on the rows below m) and tlast on the fold's
      // last group.
      if (f_watch && f_ahead == {FILL_W{1'b0}})
        p_out_entry: assert (m_axis_c_tvalid && f_head_beat == f_entry);
      // p_out_ahead: the entries before the watched one are in the FIFO.
      if (f_watch) p_out_ahead: assert (f_ahead < f_count);

      // p_resv_nonneg: a group write always has a reservation (the count never wraps below 0).
      if (f_wr) p_resv_nonneg: assert (f_resv != {FILL_W{1'b0}});
      // p_resv_room: entries in the FIFO + groups reserved <= FIFO_DEPTH.
      p_resv_room: assert (f_fill <= FIFO_DEPTH);
      // p_resv_used: the room rule's own count is entries in the FIFO + groups reserved.
      p_resv_used: assert ({2'b00, \u_dut.used_q } == f_fill);
      // p_resv_match: the reservations are exactly the group writes scheduled (no leak).
      p_resv_match: assert ({{(WIDE_W - CNT_W){1'b0}}, f_slots_used} == {2'b00, f_resv});

      // p_shadow_keep: no PE captures a result while it holds SHADOWS+1 unread results (its
      // result register and every shadow), unless one of them is read in that cycle.
      p_shadow_keep: assert (&f_ok_shadow);

      // p_drain_lost: no PE ever holds SHADOWS+2 unread results (one would be overwritten).
      p_drain_lost: assert (&f_ok_lost);
      // p_drain_early: a word is written only once its PE's result exists.
      p_drain_early: assert (&f_ok_early);
      // p_drain_word: the word written is the PE's oldest unread result.
      p_drain_word: assert (&f_ok_word);

      // p_order_fold: a group is written only for an admitted fold.
      if (f_wr) p_order_fold: assert (f_qcnt != {QC_W{1'b0}});
      // p_order_row: the groups of the oldest fold, 0 .. ceil(m/OUT_ROWS)-1 in order (rows
      // 0 .. m-1 in order at OUT_ROWS = 1).
      if (f_wr) p_order_row: assert (\u_dut.rd_grp == f_wgrp);
      // p_order_keep: the written entry's keep bits: the fold's columns on its rows below m.
      if (f_wr) p_order_keep: assert (\u_dut.wr_keep == f_wkeep);
      // p_order_last: the entry's tlast is set exactly on the fold's last group.
      if (f_wr) p_order_last: assert (\u_dut.slot_last_q [0] == f_wlast);
      // p_order_folds: the folds in flight fit the model queue (at most SLOTS of them).
      p_order_folds: assert (f_qcnt <= SLOTS);

      // Lemmas: the FIFO pointers, the end of the schedule, the first flag.
      p_inv_ptr:   assert (f_ptrs_ok);
      p_inv_end:   assert (&f_ok_end);
      p_inv_first: assert (\u_dut.first_q == !f_in_fold);
      // p_inv_okg, p_inv_free: the admission's flags are the rules on the registers they stand
      // for (slots and room per fold size; shadow).
      p_inv_okg:   assert (\u_dut.okg_q == f_okg_exp);
      p_inv_free:  assert (\u_dut.free_q == (\u_dut.guard_end == {CNT_W{1'b0}}));
      // p_inv_valid: m_axis_c_tvalid, a register of its own, is "the FIFO is not empty".
      p_inv_valid: assert (\u_dut.valid_q == (f_count != {FILL_W{1'b0}}));
      // p_inv_pend: a pending group's slot is free, and none is pending for slot 0.
      p_inv_pend:  assert ((\u_dut.pend_vld_q & \u_dut.slot_vld_q ) == {SLOTS{1'b0}}
                           && !\u_dut.pend_vld_q [0]);
      p_inv_watch: assert (!f_watch || f_ahead < FIFO_DEPTH);
      // p_drain_pend: the design's pending count and read strobe agree with the model.
      p_drain_pend: assert (&f_ok_pend);
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Covers (mode cover).
  // ---------------------------------------------------------------------------------------------
  reg [G_W-1:0] f_out_grp;  // beats (groups) of the current fold taken from m_axis_c
  reg           f_k2;       // a step without tlast was taken (a fold with K >= 2)
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_out_grp <= {G_W{1'b0}};
      f_k2      <= 1'b0;
    end else begin
      if (f_rd) f_out_grp <= m_axis_c_tlast ? {G_W{1'b0}} : f_out_grp + 1'b1;
      if (f_acc && !s_axis_a_tlast) f_k2 <= 1'b1;
    end
  end

  // The keep bits of a full fold's last group (rows (GROUPS-1)*OUT_ROWS .. ROWS-1, all columns).
  wire [BEAT_W-1:0] f_full_last_keep;
  generate
    for (i = 0; i < OUT_ROWS; i = i + 1) begin : g_full_last_keep
      assign f_full_last_keep[i*COLS +: COLS] = {COLS{(GROUPS - 1) * OUT_ROWS + i < ROWS}};
    end
  endgenerate

  always @(posedge clk_i) begin
    if (f_live) begin
      // c_full_fold: the last beat of a fold with all ROWS rows and COLS columns and K >= 2
      // leaves through m_axis_c.
      c_full_fold: cover (f_rd && m_axis_c_tlast && m_axis_c_tkeep == f_full_last_keep
                          && f_out_grp == GROUPS - 1 && f_k2);
      // c_fifo_full: a stalled sink lets the FIFO fill up.
      c_fifo_full: cover (f_count == FIFO_DEPTH && !m_axis_c_tready);
      // c_held: a fold's last step is offered and held back (tready low).
      c_held: cover (s_axis_a_tvalid && s_axis_b_tvalid && s_axis_a_tlast && !s_axis_a_tready);
      // c_held_full: ... while the FIFO is full.
      c_held_full: cover (s_axis_a_tvalid && s_axis_b_tvalid && s_axis_a_tlast
                          && !s_axis_a_tready && f_count == FIFO_DEPTH);
    end
  end

  // c_shadow: a PE holds SHADOWS+1 unread results, the older ones in its shadows. Not at 1x1:
  // there a fold's row write is never later than the next fold's capture.
  generate
    if (NPE > 1) begin : g_cover_shadow
      always @(posedge clk_i) begin
        if (f_live) c_shadow: cover (|f_full);
      end
    end
  endgenerate

endmodule

`default_nettype wire
