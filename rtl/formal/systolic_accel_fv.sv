// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_accel_fv: AXI4-Stream protocol and safety properties of the accelerator top
// (rtl/systolic_accel.v), checked by SymbiYosys (`systolic formal`; docs/verification.md).
//
// The wrapper drives systolic_accel with free inputs, constrained by assumptions (a_*) to what
// the header of rtl/systolic_accel.v requires of its sources; m_axis_c_tready is free (the sink
// may stall at any time, forever). The reset is asserted in the first cycle and free afterwards.
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
//   p_fifo_*   the result FIFO: count within 0..FIFO_DEPTH, no write when full, no read when
//              empty
//   p_out_*    every row leaves m_axis_c intact and in order, with its fold's tkeep and tlast
//              (one watched row, chosen by the solver)
//   p_resv_*   reservations: never below zero, rows in + reserved <= FIFO_DEPTH, and equal to
//              the row writes in the schedule (no leak)
//   p_shadow_* no result lost in the drain: a PE never captures a new result while its shadow
//              holds an unread one (pend_q == 2) unless that one is read in the same cycle
//   p_drain_*  every row word written to the FIFO is the oldest unread result of its PE (a model
//              queue per PE), never read before it exists, and no PE ever has three unread results
//   p_order_*  the row-write schedule: each fold's rows 0 .. m-1 in order, in the order the folds
//              were admitted, tlast exactly on row m-1
//   p_inv_*    lemmas for k-induction (internal consistency of the counters and pointers)
//   c_*        cover properties: a full fold in and out, a stalled sink filling the FIFO, a
//              fold's last step held back
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
// (assertions) or c_ (covers); genvars i (row), j (column), d (schedule slot), q (queue entry).

`default_nettype none

module systolic_accel_fv #(
  parameter integer ROWS       = 2,
  parameter integer COLS       = 2,
  parameter integer DATA_W     = 2,
  parameter integer ACC_W      = 4,
  parameter integer FIFO_DEPTH = 3
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
  input wire                   f_pick_i  // free: watch the row written to the FIFO now (p_out_*)
);

  // The design's widths (rtl/systolic_accel.v), for the taps.
  localparam integer SLOTS   = ROWS + COLS + 1;
  localparam integer CNT_W   = $clog2(SLOTS + 2) + 1;
  localparam integer ROW_W   = (ROWS > 1) ? $clog2(ROWS) : 1;
  localparam integer FILL_W  = $clog2(2 * FIFO_DEPTH + ROWS + 1) + 1;
  localparam integer PTR_W   = (FIFO_DEPTH > 1) ? $clog2(FIFO_DEPTH) : 1;
  localparam integer NPE     = ROWS * COLS;
  localparam integer ENTRY_W = COLS * ACC_W + COLS + 1;  // {last, keep, data}
  // The wrapper's own widths.
  localparam integer M_W     = $clog2(ROWS + 1);          // a fold's row count, 1..ROWS
  localparam integer QD      = SLOTS + 1;                 // fold queue entries
  localparam integer QE_W    = M_W + COLS;                // a queue entry: {m, keep_b}
  localparam integer QC_W    = $clog2(QD + 1);
  localparam integer WIDE_W  = FILL_W + 2;                // sums of counters without overflow

  // ---------------------------------------------------------------------------------------------
  // Design under test.
  // ---------------------------------------------------------------------------------------------
  wire                   s_axis_a_tready, s_axis_b_tready;
  wire [COLS*ACC_W-1:0]  m_axis_c_tdata;
  wire [COLS-1:0]        m_axis_c_tkeep;
  wire                   m_axis_c_tlast, m_axis_c_tvalid;

  systolic_accel #(
    .ROWS       (ROWS),
    .COLS       (COLS),
    .DATA_W     (DATA_W),
    .ACC_W      (ACC_W),
    .FIFO_DEPTH (FIFO_DEPTH)
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
  (* hierconn *) wire [CNT_W-1:0]         \u_dut.end_q ;
  (* hierconn *) wire                     \u_dut.first_q ;
  (* hierconn *) wire [SLOTS-1:0]         \u_dut.slot_vld_q ;
  (* hierconn *) wire [SLOTS-1:0]         \u_dut.slot_last_q ;
  (* hierconn *) wire [PTR_W-1:0]         \u_dut.wr_ptr_q ;
  (* hierconn *) wire [PTR_W-1:0]         \u_dut.rd_ptr_q ;
  (* hierconn *) wire                     \u_dut.wr ;
  (* hierconn *) wire [ROW_W-1:0]         \u_dut.rd_row ;
  (* hierconn *) wire [COLS*ACC_W-1:0]    \u_dut.wr_data ;
  (* hierconn *) wire [NPE*ACC_W-1:0]     \u_dut.res ;
  (* hierconn *) wire [NPE-1:0]           \u_dut.res_vld ;

  wire [FILL_W-1:0] f_count = \u_dut.count_q ;
  wire [FILL_W-1:0] f_resv  = \u_dut.resv_q ;
  wire              f_wr    = \u_dut.wr ;  // a row is written to the FIFO in this cycle

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
  wire f_rd    = m_axis_c_tvalid && m_axis_c_tready;  // a result row is taken

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
  // Fold queue: the admitted folds whose last row is not yet written, oldest (the one being
  // written) first; each entry {m, keep_b}. f_wrow is the next row expected from the oldest.
  // ---------------------------------------------------------------------------------------------
  reg  [QD*QE_W-1:0] f_q;
  reg  [QC_W-1:0]    f_qcnt;
  reg  [M_W-1:0]     f_wrow;
  wire [M_W-1:0]     f_head_m    = f_q[COLS +: M_W];
  wire [COLS-1:0]    f_head_keep = f_q[0 +: COLS];
  wire               f_wlast     = f_wrow == f_head_m - 1'b1;  // the oldest fold's last row
  wire               f_wpop      = f_wr && f_wlast && (f_qcnt != 0);
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
      f_wrow <= {M_W{1'b0}};
    end else begin
      f_q    <= f_q_next;
      f_qcnt <= f_qcnt_left + {{(QC_W - 1){1'b0}}, f_admit};
      if (f_wr) f_wrow <= f_wlast ? {M_W{1'b0}} : f_wrow + 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Drain: per PE a model queue of its unread results (up to two: the PE's result register and
  // the shadow). A result enters when the PE's strobe (res_vld) shows it and leaves when its row
  // is written to the FIFO with the PE's column in the fold's mask.
  // ---------------------------------------------------------------------------------------------
  wire [NPE-1:0] f_ok_shadow;  // no shadow overwritten with an unread result in it
  wire [NPE-1:0] f_ok_lost;    // at most two unread results
  wire [NPE-1:0] f_ok_early;   // a word is written only once its result exists
  wire [NPE-1:0] f_ok_word;    // the word written is the oldest unread result
  wire [NPE-1:0] f_ok_pend;    // the design's pend_q and read agree with the model
  wire [NPE-1:0] f_two;        // two unread results (the older in the shadow)

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : \u_dut.g_drain_row
      for (j = 0; j < COLS; j = j + 1) begin : g_drain_col
        (* hierconn *) wire       \strobe ;  // PE(i,j) captures a result at this edge
        (* hierconn *) wire       \read ;    // its oldest result is read in this cycle
        (* hierconn *) wire [1:0] \pend_q ;  // its results not yet read
        localparam integer K = i * COLS + j;
        wire [ACC_W-1:0] f_res  = \u_dut.res [K*ACC_W +: ACC_W];
        wire [ACC_W-1:0] f_word = \u_dut.wr_data [j*ACC_W +: ACC_W];
        wire             f_push = \u_dut.res_vld [K];
        wire             f_pop  = f_wr && (f_qcnt != 0) && (f_wrow == i) && f_head_keep[j];
        reg  [1:0]       f_cnt;
        reg  [ACC_W-1:0] f_v0, f_v1;
        wire [2:0]       f_cnt_e = {1'b0, f_cnt} + {2'b00, f_push};
        // The unread results in this cycle, oldest first (f_e0 .. f_e2; f_cnt_e of them).
        wire [ACC_W-1:0] f_e0 = (f_cnt == 2'd0) ? f_res : f_v0;
        wire [ACC_W-1:0] f_e1 = (f_cnt == 2'd1) ? f_res : f_v1;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            f_cnt <= 2'd0;
            f_v0  <= {ACC_W{1'b0}};
            f_v1  <= {ACC_W{1'b0}};
          end else begin
            f_cnt <= f_cnt_e[1:0] - {1'b0, f_pop && f_cnt_e != 3'd0};
            f_v0  <= f_pop ? f_e1 : f_e0;
            f_v1  <= f_pop ? f_res : f_e1;
          end
        end
        assign f_ok_shadow[K] = !(\strobe && \pend_q == 2'd2 && !\read );
        assign f_two[K]       = \pend_q == 2'd2;
        assign f_ok_pend[K]   = \pend_q == f_cnt_e[1:0] && \read == f_pop;
        assign f_ok_lost[K]   = f_cnt_e <= 3'd2;
        assign f_ok_early[K]  = !f_pop || f_cnt_e != 3'd0;
        assign f_ok_word[K]   = !f_pop || f_word == f_e0;
      end
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // FIFO: one watched row, chosen by the solver (f_pick_i) when it is written; it must reach the
  // head after the rows before it and leave unchanged, with the fold's mask and tlast.
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
        f_entry <= {f_wlast, f_head_keep, \u_dut.wr_data };
      end
    end else if (f_rd) begin
      if (f_ahead == {FILL_W{1'b0}}) f_watch <= 1'b0;
      else f_ahead <= f_ahead - 1'b1;
    end
  end

  wire [ENTRY_W-1:0] f_head_beat = {m_axis_c_tlast, m_axis_c_tkeep, m_axis_c_tdata};
  wire [COLS*ACC_W+COLS:0] f_beat_c = f_head_beat;

  // ---------------------------------------------------------------------------------------------
  // Schedule lemmas.
  // ---------------------------------------------------------------------------------------------
  wire [WIDE_W-1:0] f_fill = {2'b00, f_count} + {2'b00, f_resv};
  wire [CNT_W-1:0]  f_slots_used = ones_slots(\u_dut.slot_vld_q );
  wire [SLOTS-1:0]  f_ok_end;  // no row write scheduled at or beyond end_q
  genvar d;
  generate
    for (d = 0; d < SLOTS; d = d + 1) begin : g_slot
      assign f_ok_end[d] = (d < \u_dut.end_q ) || !\u_dut.slot_vld_q [d];
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
      // p_fifo_count: 0 <= rows in the FIFO <= FIFO_DEPTH.
      p_fifo_count: assert (f_count <= FIFO_DEPTH);
      // p_fifo_overflow: no row write while the FIFO is full.
      if (f_wr) p_fifo_overflow: assert (f_count < FIFO_DEPTH);
      // p_fifo_underflow: no row read while it is empty.
      if (f_rd) p_fifo_underflow: assert (f_count != {FILL_W{1'b0}});
      // p_out_entry: the watched row, at the FIFO's head, is on m_axis_c as it was written, with
      // its fold's mask and tlast on the fold's last row.
      if (f_watch && f_ahead == {FILL_W{1'b0}})
        p_out_entry: assert (m_axis_c_tvalid && f_head_beat == f_entry);
      // p_out_ahead: the rows before the watched one are in the FIFO.
      if (f_watch) p_out_ahead: assert (f_ahead < f_count);

      // p_resv_nonneg: a row write always has a reservation (the count never wraps below 0).
      if (f_wr) p_resv_nonneg: assert (f_resv != {FILL_W{1'b0}});
      // p_resv_room: rows in the FIFO + rows reserved <= FIFO_DEPTH.
      p_resv_room: assert (f_fill <= FIFO_DEPTH);
      // p_resv_match: the reservations are exactly the row writes scheduled (no leak).
      p_resv_match: assert ({{(WIDE_W - CNT_W){1'b0}}, f_slots_used} == {2'b00, f_resv});

      // p_shadow_keep: no PE captures a result while two of its results are unread (the older
      // in the shadow), unless the older one is read in that cycle.
      p_shadow_keep: assert (&f_ok_shadow);

      // p_drain_lost: no PE ever holds three unread results (one would be overwritten).
      p_drain_lost: assert (&f_ok_lost);
      // p_drain_early: a row word is written only once its PE's result exists.
      p_drain_early: assert (&f_ok_early);
      // p_drain_word: the word written is the PE's oldest unread result.
      p_drain_word: assert (&f_ok_word);

      // p_order_fold: a row is written only for an admitted fold.
      if (f_wr) p_order_fold: assert (f_qcnt != {QC_W{1'b0}});
      // p_order_row: the rows of the oldest fold, 0 .. m-1 in order.
      if (f_wr) p_order_row: assert (\u_dut.rd_row == f_wrow);
      // p_order_last: the entry's tlast is set exactly on the fold's row m-1.
      if (f_wr) p_order_last: assert (\u_dut.slot_last_q [0] == f_wlast);
      // p_order_folds: the folds in flight fit the model queue (at most SLOTS of them).
      p_order_folds: assert (f_qcnt <= SLOTS);

      // Lemmas: the FIFO pointers, the end of the schedule, the first flag.
      p_inv_ptr:   assert (f_ptrs_ok);
      p_inv_end:   assert (&f_ok_end);
      p_inv_first: assert (\u_dut.first_q == !f_in_fold);
      p_inv_watch: assert (!f_watch || f_ahead < FIFO_DEPTH);
      // p_drain_pend: the design's pending count and read strobe agree with the model.
      p_drain_pend: assert (&f_ok_pend);
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Covers (mode cover).
  // ---------------------------------------------------------------------------------------------
  reg [M_W-1:0] f_out_row;  // rows of the current fold taken from m_axis_c
  reg           f_k2;       // a step without tlast was taken (a fold with K >= 2)
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_out_row <= {M_W{1'b0}};
      f_k2      <= 1'b0;
    end else begin
      if (f_rd) f_out_row <= m_axis_c_tlast ? {M_W{1'b0}} : f_out_row + 1'b1;
      if (f_acc && !s_axis_a_tlast) f_k2 <= 1'b1;
    end
  end

  always @(posedge clk_i) begin
    if (f_live) begin
      // c_full_fold: the last row of a fold with all ROWS rows and COLS columns and K >= 2
      // leaves through m_axis_c.
      c_full_fold: cover (f_rd && m_axis_c_tlast && &m_axis_c_tkeep
                          && f_out_row == ROWS - 1 && f_k2);
      // c_fifo_full: a stalled sink lets the FIFO fill up.
      c_fifo_full: cover (f_count == FIFO_DEPTH && !m_axis_c_tready);
      // c_held: a fold's last step is offered and held back (tready low).
      c_held: cover (s_axis_a_tvalid && s_axis_b_tvalid && s_axis_a_tlast && !s_axis_a_tready);
      // c_held_full: ... while the FIFO is full.
      c_held_full: cover (s_axis_a_tvalid && s_axis_b_tvalid && s_axis_a_tlast
                          && !s_axis_a_tready && f_count == FIFO_DEPTH);
    end
  end

  // c_shadow: a PE holds two unread results, the older one in its shadow. Not at 1x1: there a
  // fold's row write is never later than the next fold's capture.
  generate
    if (NPE > 1) begin : g_cover_shadow
      always @(posedge clk_i) begin
        if (f_live) c_shadow: cover (|f_two);
      end
    end
  endgenerate

endmodule

`default_nettype wire
