// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_accel: the accelerator top. AXI4-Stream operands in, AXI4-Stream results out, around
// one systolic_array (instance u_array) that it feeds skewed and drains one row per beat.
//
// STREAMS (every port has the full tvalid/tready handshake; tkeep has one bit per lane word):
//   s_axis_a  one K-step of a fold per beat: lane i = A[row0+i][k], ROWS lanes of DATA_W bits.
//   s_axis_b  the same K-step of B: lane j = B[k][col0+j], COLS lanes of DATA_W bits.
//             A beat of A and a beat of B are taken together (both tready are the same wire, high
//             only while both tvalid are). tlast marks the fold's last step (K = beats since the
//             previous tlast); it must be set on the same beat of both streams. tkeep marks the
//             fold's rows (A) and columns (B): a prefix of lanes (0 .. m-1, 0 .. n-1), the same on
//             every beat of the fold, never empty. Masked lanes are driven invalid into the array
//             (their PEs do no MAC).
//   m_axis_c  the results, OUT_ROWS rows of the fold's C per beat (a "group"): beat g of a fold
//             carries rows r = g*OUT_ROWS + p (p = 0 .. OUT_ROWS-1), lane p*COLS + j =
//             C[row0+r][col0+j] (ACC_W bits, two's complement); ceil(m/OUT_ROWS) beats per fold.
//             tkeep bit p*COLS + j is set for the fold's rows (r < m) and columns (j < n), so the
//             kept words of a fold's beats are its C in row-major order. tlast on the fold's
//             last beat. Folds leave in the order they came in. OUT_ROWS = 1: one row per beat.
//
// TIMING CONTRACT (models/accel.py is its executable form). Cycle c is the clock period that
// ends with rising edge c. A step accepted in cycle c (tvalid && tready sampled at edge c) is on
// the array's west lane i in cycle c+1+i and north lane j in cycle c+1+j: the array's own
// contract with stream step s = c+1 (systolic_array.v). L = MUL_REG is the array's result
// latency (its product register). When a fold's last step is accepted in cycle c, PE(r,j)
// captures its result at edge c+1+r+j+L, and row r is complete (all n columns) from cycle
// c+1+r+n+L. Group g (rows g*OUT_ROWS .. min((g+1)*OUT_ROWS, m) - 1: one FIFO entry, one beat) is
// complete from cycle c + n + min((g+1)*OUT_ROWS, m) + L and is written to the result FIFO in
// cycle
//     w_g = max(c + n + min((g+1)*OUT_ROWS, m) + L, e + g),
// e being the cycle after the previous fold's last group write (groups are written in order, at
// most one per cycle); it is on m_axis_c from cycle w_g+1 (FIFO output, registered), if the FIFO
// is empty. With OUT_ROWS = 1, w_r = w_0 + r: a fold's rows are written back to back.
// A fold's last step is held back (tready low, nothing lost) until all of these hold:
//   * room:   its groups fit in the FIFO beside the entries in it and those still to be written;
//   * slots:  its group writes fit in the schedule (its last write no later than
//             c+ROWS+COLS+L);
//   * shadow: the fold SHADOWS+1 before it has its first group written no later than cycle
//             c+1+L (a PE's results are held by its result register and SHADOWS shadow
//             registers, so the fold SHADOWS+2 after one must not capture before that one's row
//             is read; row r of a fold is written no later than w_0 + r, and PE(r,0) of the
//             fold admitted in cycle c captures at edge c+1+r+L).
// Steps that are not a fold's last step are never held back. With a sink that never stalls, room
// holds no fold back when FIFO_DEPTH >= min(ROWS + COLS, (SHADOWS + 2) * ceil(ROWS / OUT_ROWS))
// + L + 2 (models/accel.py no_hold_depth, docs/architecture.md): a group holds an entry from its
// fold's admission to the cycle after its write, writes are one per cycle, the slots rule ends
// them by c+ROWS+COLS+L and the shadow rule bounds the folds in flight. The default,
// ROWS + COLS + 2 + L, is at least that.
//
// BACKPRESSURE: the array never stops. A stalled sink fills the FIFO; the room rule then stops
// new folds at their last step, so no result is ever dropped or duplicated.
//
// DRAIN: PE(r,j)'s result register keeps a result until the PE's next `last` pair; at that edge
// the top shifts the old result into its shadow registers (shadow_q[0], the older ones on to
// shadow_q[1] ..). pend_q counts PE(r,j)'s results not yet read (0 .. SHADOWS+1); a row read
// takes each kept word from the oldest pending one: shadow_q[pend_q-2] while more than one is
// pending, the PE's result register otherwise. The shadow rule keeps pend_q <= SHADOWS+1. With
// OUT_ROWS > 1, SHADOWS = 2 lets a fold's rows wait behind the previous folds' groups without
// holding the input (docs/architecture.md). The edge at which PE(r,j) captures its result is
// seen from outside the array as: the `last` beat on west lane r (j = 0; one cycle later with
// L = 1) or PE(r,j-1)'s result strobe, together with b valid on north lane j (r = 0; one cycle
// later with L = 1) or PE(r-1,j)'s result strobe (this needs the prefix masks above).
//
// rst_ni (asynchronous, active low) clears every register except the FIFO's storage (u_fifo_ram:
// its entries and read registers); operands in flight and results not yet sent are dropped, and the
// next beat starts a new fold. m_axis_c_tvalid drops at once; the payload, don't-care while tvalid
// is low, keeps the head entry until the first edge in reset, then shows entry 0.

`default_nettype none

module systolic_accel #(
  parameter integer ROWS       = 4,                // PE rows (1..32)
  parameter integer COLS       = 4,                // PE columns (1..32)
  parameter integer DATA_W     = 8,                // signed operand width (2..16)
  parameter integer ACC_W      = 32,               // accumulator width (2*DATA_W..64)
  parameter integer MUL_REG    = 0,                // the array's product register (0 or 1)
  // result beats buffered (ROWS..1024); the default never holds a fold for room (header)
  parameter integer FIFO_DEPTH = ROWS + COLS + 2 + MUL_REG,
  parameter integer OUT_ROWS   = 1,                // rows of C per result beat (1..ROWS)
  parameter integer SHADOWS    = 1                 // shadow registers per PE (1..4)
) (
  input  wire                     clk_i,
  input  wire                     rst_ni,
  // Operand stream A: one K-step of a fold's ROWS rows per beat.
  input  wire [ROWS*DATA_W-1:0]   s_axis_a_tdata,
  input  wire [ROWS-1:0]          s_axis_a_tkeep,
  input  wire                     s_axis_a_tlast,
  input  wire                     s_axis_a_tvalid,
  output wire                     s_axis_a_tready,
  // Operand stream B: the same K-step of the fold's COLS columns.
  input  wire [COLS*DATA_W-1:0]   s_axis_b_tdata,
  input  wire [COLS-1:0]          s_axis_b_tkeep,
  input  wire                     s_axis_b_tlast,
  input  wire                     s_axis_b_tvalid,
  output wire                     s_axis_b_tready,
  // Result stream C: OUT_ROWS rows of a fold per beat.
  output wire [OUT_ROWS*COLS*ACC_W-1:0] m_axis_c_tdata,
  output wire [OUT_ROWS*COLS-1:0] m_axis_c_tkeep,
  output wire                     m_axis_c_tlast,
  output wire                     m_axis_c_tvalid,
  input  wire                     m_axis_c_tready
);

  // ---------------------------------------------------------------------------------------------
  // Elaboration-time parameter checks (the array checks ROWS, COLS, DATA_W and ACC_W itself).
  // ---------------------------------------------------------------------------------------------
`ifdef VERILATOR
  function automatic integer param_error(input string msg);
    $fatal(1, "%s", msg);
    param_error = 0;
  endfunction
`endif
  generate
    if (FIFO_DEPTH < ROWS || FIFO_DEPTH > 1024) begin : g_err_fifo_depth
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_accel: FIFO_DEPTH must be ROWS..1024");
`else
      systolic_accel__FIFO_DEPTH_must_be_ROWS_to_1024 u_param_error ();
`endif
    end
    if (OUT_ROWS < 1 || OUT_ROWS > ROWS) begin : g_err_out_rows
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_accel: OUT_ROWS must be 1..ROWS");
`else
      systolic_accel__OUT_ROWS_must_be_1_to_ROWS u_param_error ();
`endif
    end
    if (SHADOWS < 1 || SHADOWS > 4) begin : g_err_shadows
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_accel: SHADOWS must be 1..4");
`else
      systolic_accel__SHADOWS_must_be_1_to_4 u_param_error ();
`endif
    end
  endgenerate

  localparam integer LAT     = MUL_REG;               // the array's result latency L (0 or 1)
  localparam integer SLOTS   = ROWS + COLS + 1 + LAT; // write schedule: cycles c+1 .. c+SLOTS
  localparam integer CNT_W   = $clog2(SLOTS + 2) + 1; // counters over the schedule (signed room)
  localparam integer GROUPS  = (ROWS + OUT_ROWS - 1) / OUT_ROWS;  // beats of a full fold
  localparam integer GRP_W   = (GROUPS > 1) ? $clog2(GROUPS) : 1;
  localparam integer FILL_W  = $clog2(2 * FIFO_DEPTH + ROWS + 1) + 1;
  localparam integer PTR_W   = (FIFO_DEPTH > 1) ? $clog2(FIFO_DEPTH) : 1;
  localparam integer BEAT_W  = OUT_ROWS * COLS;         // words per result beat
  localparam integer PEND_W  = $clog2(SHADOWS + 2);     // a PE's unread results: 0..SHADOWS+1
  localparam integer ENTRY_W = BEAT_W * ACC_W + BEAT_W + 1;  // {last, keep, data}
  // The room and reservation sums: wide enough for FIFO_DEPTH and for a fold's groups.
  localparam integer ARITH_W = ((FILL_W > CNT_W) ? FILL_W : CNT_W) + 1;

  // ---------------------------------------------------------------------------------------------
  // Input handshake and fold admission.
  // ---------------------------------------------------------------------------------------------
  reg  [CNT_W-1:0] end_q;     // schedule slots in use from now: the last reserved write is in
                              // cycle now+end_q-1 (0: none)
  // guard_q[s]: cycles until the fold SHADOWS+1 after the s-th newest admitted fold may be
  // admitted (the s-th newest has its first group written by the next cycle); the newest fold
  // is guard_q[0]. The next fold's last step needs guard_q[SHADOWS] == 0.
  reg  [CNT_W-1:0] guard_q [0:SHADOWS];
  reg  [FILL_W-1:0] resv_q;   // groups admitted but not yet written to the FIFO
  reg  [FILL_W-1:0] count_q;  // entries (groups) in the FIFO
  reg  [FILL_W-1:0] used_q;   // count_q + resv_q, its own register: room is then one compare
  reg               first_q;  // the next accepted step starts a fold
  // The rules as flags for the next cycle (the admission is then a pick of one flag, not a
  // compare: it drives every register a fold loads). okg_q[k-1]: a fold of k groups passes slots
  // (end_q <= SLOTS - k) and room (used_q <= FIFO_DEPTH - k); free_q: shadow
  // (guard_q[SHADOWS] == 0). Reset: end_q, used_q and guard_q are 0, every fold size passes.
  reg  [GROUPS-1:0] okg_q;
  reg               free_q;
  reg               valid_q;  // count_q != 0 (m_axis_c_tvalid), its own register

  // The set bits of a mask of up to 32 lanes (ROWS, COLS and GROUPS are at most 32), given
  // zero-extended to 33 bits so that the padding is never an empty replication.
  function automatic [CNT_W-1:0] ones(input [32:0] v);
    integer n;
    begin
      ones = {CNT_W{1'b0}};
      for (n = 0; n < 33; n = n + 1) ones = ones + {{(CNT_W - 1){1'b0}}, v[n]};
    end
  endfunction

  wire [CNT_W-1:0] fold_m = ones({{(33 - ROWS){1'b0}}, s_axis_a_tkeep});  // rows of the fold
  wire [CNT_W-1:0] fold_n = ones({{(33 - COLS){1'b0}}, s_axis_b_tkeep});  // columns of the fold

  localparam [CNT_W-1:0] LAT_C = LAT[CNT_W-1:0];

  // Group g of the fold admitted now: in the fold (g_in), its last (g_end), its rows (g_keep), and
  // its write slot (g_pos: the cycle now + g_pos) = max(n + min((g+1)*OUT_ROWS, m), end_q + g).
  wire [GROUPS-1:0]   g_in;
  wire [GROUPS-1:0]   g_end;
  wire [OUT_ROWS-1:0] g_keep [0:GROUPS-1];
  wire [CNT_W-1:0]    g_pos  [0:GROUPS-1];
  wire [GROUPS-1:0]   g_late;                   // g_pos is end_q + g (else its ready cycle)
  wire [CNT_W-1:0]    g_ready [0:GROUPS-1];
  genvar gg, pp;
  generate
    for (gg = 0; gg < GROUPS; gg = gg + 1) begin : g_group
      localparam integer     LO_I = gg * OUT_ROWS;
      localparam integer     HI_I = (gg + 1) * OUT_ROWS;
      localparam [CNT_W-1:0] LO   = LO_I[CNT_W-1:0];  // its first row
      localparam [CNT_W-1:0] HI   = HI_I[CNT_W-1:0];  // one past its last row (full group)
      localparam [CNT_W-1:0] G  = gg;
      wire [CNT_W-1:0] ready = fold_n + ((HI < fold_m) ? HI : fold_m) + LAT_C;  // complete from now+ready
      wire [CNT_W-1:0] after = end_q + G;                                // the write order's slot
      // after > ready, compared on end_q itself (ready - G > 0 for a group in the fold), so
      // that the sum and the compare run side by side.
      wire             late  = end_q > ready - G;
      assign g_in[gg]  = LO < fold_m;
      assign g_end[gg] = (LO < fold_m) && (HI >= fold_m);
      assign g_pos[gg] = late ? after : ready;
      assign g_late[gg] = late;
      assign g_ready[gg] = ready;
      for (pp = 0; pp < OUT_ROWS; pp = pp + 1) begin : g_row_keep
        localparam integer     ROW_I = gg * OUT_ROWS + pp;
        localparam [CNT_W-1:0] ROW   = ROW_I[CNT_W-1:0];
        assign g_keep[gg][pp] = ROW < fold_m;
      end
    end
  endgenerate

  wire [CNT_W-1:0] fold_g     = ones({{(33 - GROUPS){1'b0}}, g_in});  // groups (beats) of the fold
  wire [CNT_W-1:0] start_slot = g_pos[0];      // its first group write: now + start_slot
  // Its last group write: max(n + m, end_q + fold_g - 1) (g_pos of its last group).
  wire [CNT_W-1:0] order_end  = end_q + fold_g - {{(CNT_W - 1){1'b0}}, 1'b1};
  wire [CNT_W-1:0] ready_end  = fold_n + fold_m + LAT_C;
  // The compares take the register on one side and the beat's figures on the other (no sum of
  // a register before a compare: the admission is the top's longest path). order_end >
  // ready_end is end_q > ready_end + 1 - fold_g (> 0: fold_g <= m).
  wire [CNT_W-1:0] ready_lim  = ready_end + {{(CNT_W - 1){1'b0}}, 1'b1} - fold_g;
  wire             late_end   = end_q > ready_lim;  // its last write follows the order
  wire [CNT_W-1:0] last_slot  = late_end ? order_end : ready_end;
  wire [ARITH_W-1:0] fold_g_w = {{(ARITH_W - CNT_W){1'b0}}, fold_g};
  wire [ARITH_W-1:0] used_w   = {{(ARITH_W - FILL_W){1'b0}}, used_q};
  wire [ARITH_W-1:0] resv_w   = {{(ARITH_W - FILL_W){1'b0}}, resv_q};
  // slots, room and shadow: the flag of the fold's size, one-hot from the groups in it (its own
  // decode: g_end marks the last group's tlast and is not the size's).
  wire [GROUPS-1:0] fold_size = g_in & ~(g_in >> 1);
  wire             admit_ok   = (|(okg_q & fold_size)) & free_q;
  wire             step_vld   = s_axis_a_tvalid & s_axis_b_tvalid;
  wire             accept     = step_vld & (~s_axis_a_tlast | admit_ok);
  wire             admit      = accept & s_axis_a_tlast;

  assign s_axis_a_tready = accept;
  assign s_axis_b_tready = accept;

  // B's tlast carries no information of its own (it must equal A's; the protocol checker in
  // rtl/formal/systolic_accel_fv.sv asserts that).
  wire unused_b_tlast = s_axis_b_tlast;

  function automatic [CNT_W-1:0] dec_sat(input [CNT_W-1:0] v);
    dec_sat = (v == {CNT_W{1'b0}}) ? v : v - {{(CNT_W - 1){1'b0}}, 1'b1};
  endfunction

  // ---------------------------------------------------------------------------------------------
  // Write schedule: slot_q[d] is the group written to the FIFO d cycles from now.
  // ---------------------------------------------------------------------------------------------
  reg  [SLOTS-1:0]    slot_vld_q;
  reg  [GRP_W-1:0]    slot_grp_q  [0:SLOTS-1];  // group index in its fold
  reg  [SLOTS-1:0]    slot_last_q;              // the fold's last group
  reg  [COLS-1:0]     slot_keep_q [0:SLOTS-1];  // the fold's columns
  reg  [OUT_ROWS-1:0] slot_rows_q [0:SLOTS-1];  // the group's rows in the fold
  // A fold's groups reach their slots a cycle after its admission: pend_*_q[d] is the group a
  // fold admitted in the previous cycle writes d cycles from now (as slot d would hold it), and
  // it moves into slot d-1 at the next edge, where the shift would have taken it. So the
  // admission drives one flip-flop per slot (pend_vld_q), not every field of every slot. A
  // pending group's slot is free (it is at or beyond the schedule's end before the admission).
  reg  [SLOTS-1:0]    pend_vld_q;
  reg  [GRP_W-1:0]    pend_grp_q  [0:SLOTS-1];
  reg  [SLOTS-1:0]    pend_last_q;
  reg  [OUT_ROWS-1:0] pend_rows_q [0:SLOTS-1];
  reg  [COLS-1:0]     pend_keep_q;              // the fold's columns (one fold is pending)

  wire wr = slot_vld_q[0];  // a group is written to the FIFO in this cycle
  // Nothing is pending for slot 0 (g_pos >= 2: p_inv_pend), so its pending group is never read.
  wire unused_pend0 = ^{pend_vld_q[0], pend_grp_q[0], pend_last_q[0], pend_rows_q[0]};

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) pend_keep_q <= {COLS{1'b0}};
    else pend_keep_q <= s_axis_b_tkeep;
  end

  genvar sd;
  generate
    for (sd = 0; sd < SLOTS; sd = sd + 1) begin : g_slot
      // Slot sd+1 of this cycle is slot sd of the next; a fold admitted now writes group g in
      // slot g_pos[g] of this cycle.
      localparam [CNT_W-1:0] POS = sd + 1;
      // match[g]: group g of the fold admitted now is written in this slot. At most one g
      // matches (g_pos rises with g), so the group's fields are an OR over the matches (a tree,
      // not a chain of priority muxes), and admit only gates the result.
      // g_pos[g] == POS without the sum: end_q + g == POS is end_q == POS - g, a compare with a
      // constant.
      wire [GROUPS-1:0]  match;
      reg                take;
      reg [GRP_W-1:0]    take_grp;
      reg                take_last;
      reg [OUT_ROWS-1:0] take_rows;
      genvar mg;
      for (mg = 0; mg < GROUPS; mg = mg + 1) begin : g_match
        localparam integer     BACK_I = sd + 1 - mg;  // end_q of a late group g = mg here
        localparam [CNT_W-1:0] BACK   = (BACK_I < 0) ? {CNT_W{1'b1}} : BACK_I[CNT_W-1:0];
        assign match[mg] = g_in[mg] && (g_late[mg] ? (BACK_I >= 0) && (end_q == BACK)
                                                   : (g_ready[mg] == POS));
      end
      integer g;
      always @* begin
        take      = admit & (|match);
        take_grp  = {GRP_W{1'b0}};
        take_last = |(match & g_end);
        take_rows = {OUT_ROWS{1'b0}};
        for (g = 0; g < GROUPS; g = g + 1) begin
          take_grp  = take_grp | ({GRP_W{match[g]}} & g[GRP_W-1:0]);
          take_rows = take_rows | ({OUT_ROWS{match[g]}} & g_keep[g]);
        end
      end
      wire                next_vld;
      wire [GRP_W-1:0]    next_grp;
      wire                next_last;
      wire [COLS-1:0]     next_keep;
      wire [OUT_ROWS-1:0] next_rows;
      if (sd + 1 < SLOTS) begin : g_shift
        wire pend = pend_vld_q[sd+1];  // a pending group lands here, else the shift
        assign next_vld  = pend | slot_vld_q[sd+1];
        assign next_grp  = pend ? pend_grp_q[sd+1]  : slot_grp_q[sd+1];
        assign next_last = pend ? pend_last_q[sd+1] : slot_last_q[sd+1];
        assign next_keep = pend ? pend_keep_q       : slot_keep_q[sd+1];
        assign next_rows = pend ? pend_rows_q[sd+1] : slot_rows_q[sd+1];
      end else begin : g_top
        assign next_vld  = 1'b0;
        assign next_grp  = {GRP_W{1'b0}};
        assign next_last = 1'b0;
        assign next_keep = {COLS{1'b0}};
        assign next_rows = {OUT_ROWS{1'b0}};
      end
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          slot_vld_q[sd]  <= 1'b0;
          slot_grp_q[sd]  <= {GRP_W{1'b0}};
          slot_last_q[sd] <= 1'b0;
          slot_keep_q[sd] <= {COLS{1'b0}};
          slot_rows_q[sd] <= {OUT_ROWS{1'b0}};
          pend_vld_q[sd]  <= 1'b0;
          pend_grp_q[sd]  <= {GRP_W{1'b0}};
          pend_last_q[sd] <= 1'b0;
          pend_rows_q[sd] <= {OUT_ROWS{1'b0}};
        end else begin
          // The fields are loaded in every cycle; only the valid flag waits for the admission.
          pend_vld_q[sd]  <= take;
          pend_grp_q[sd]  <= take_grp;
          pend_last_q[sd] <= take_last;
          pend_rows_q[sd] <= take_rows;
          slot_vld_q[sd]  <= next_vld;
          slot_grp_q[sd]  <= next_grp;
          slot_last_q[sd] <= next_last;
          slot_keep_q[sd] <= next_keep;
          slot_rows_q[sd] <= next_rows;
        end
      end
    end
  endgenerate

  // Admission state. The reservations and the entries in use, with and without the fold.
  wire [ARITH_W-1:0] wr_w      = {{(ARITH_W - 1){1'b0}}, wr};
  wire               rd        = m_axis_c_tvalid & m_axis_c_tready;  // a result beat leaves
  wire [ARITH_W-1:0] rd_w      = {{(ARITH_W - 1){1'b0}}, rd};
  wire [ARITH_W-1:0] resv_add  = resv_w + fold_g_w - wr_w;
  wire [ARITH_W-1:0] resv_keep = resv_w - wr_w;
  wire [ARITH_W-1:0] used_add  = used_w + fold_g_w - rd_w;
  wire [ARITH_W-1:0] used_keep = used_w - rd_w;
  // Their top bits: the counts never exceed FILL_W bits (p_resv_room, p_fifo_count).
  wire unused_sums = ^{resv_add[ARITH_W-1:FILL_W], resv_keep[ARITH_W-1:FILL_W],
                       used_add[ARITH_W-1:FILL_W], used_keep[ARITH_W-1:FILL_W]};
  // The schedule's end and the guard of the next cycle, without and with an admission now.
  wire [CNT_W-1:0] end_keep   = dec_sat(end_q);
  wire [CNT_W-1:0] guard_end  = guard_q[SHADOWS];
  localparam [CNT_W-1:0] ONE_G = {{(CNT_W - 1){1'b0}}, 1'b1};
  localparam [FILL_W-1:0] COUNT_ONE = {{(FILL_W - 1){1'b0}}, 1'b1};
  wire             free_keep  = guard_end <= ONE_G;              // dec_sat(guard_end) == 0
  wire             free_add   = guard_q[SHADOWS-1] <= ONE_G;     // its next value on admission
  // The flags of the next cycle, both ways. Each rule is one compare of a register with a
  // constant or with a figure of the beat alone (a sum of registers before a compare is two carry
  // chains in a row); this cycle's read and admission select last.
  // slots: the schedule's end e (a fold's last write e - 1) and g more writes fit before
  // lim: e + g <= lim, taken as e <= lim - g.
  function automatic fits_for(input [ARITH_W-1:0] e, input [ARITH_W-1:0] g,
                              input [ARITH_W-1:0] lim);
    fits_for = (g <= lim) && (e <= lim - g);
  endfunction
  // room: u entries in use (in the FIFO and reserved) and g more fit in lim: u + g <= lim.
  function automatic room_for(input [ARITH_W-1:0] u, input [ARITH_W-1:0] g,
                              input [ARITH_W-1:0] lim);
    room_for = (g <= lim) && (u <= lim - g);
  endfunction
  localparam [ARITH_W-1:0] DEPTH_C  = FIFO_DEPTH[ARITH_W-1:0];
  localparam [ARITH_W-1:0] SLOTS_C  = SLOTS[ARITH_W-1:0];
  localparam [ARITH_W-1:0] ONE_C    = {{(ARITH_W - 1){1'b0}}, 1'b1};
  wire [ARITH_W-1:0] end_w       = {{(ARITH_W - CNT_W){1'b0}}, end_q};
  wire [ARITH_W-1:0] ready_end_w = {{(ARITH_W - CNT_W){1'b0}}, ready_end};
  wire [GROUPS-1:0] okg_keep;
  wire [GROUPS-1:0] okg_add;
  genvar gk;
  generate
    for (gk = 0; gk < GROUPS; gk = gk + 1) begin : g_admits
      localparam integer       K_I = gk + 1;                 // the fold's groups
      localparam [ARITH_W-1:0] K   = K_I[ARITH_W-1:0];
      // Without an admission: end_keep + k <= SLOTS is end_q + k <= SLOTS + 1 (end_q = 0
      // passes both); used_q - rd + k <= FIFO_DEPTH is used_q + k <= FIFO_DEPTH + rd.
      wire fits_keep = fits_for(end_w, K, SLOTS_C + ONE_C);
      wire room_keep = rd ? room_for(used_w, K, DEPTH_C + ONE_C) : room_for(used_w, K, DEPTH_C);
      // With one: last_slot + k <= SLOTS, last_slot being end_q + fold_g - 1 (late_end) or
      // ready_end; used_q + fold_g - rd + k <= FIFO_DEPTH.
      wire fits_add  = late_end ? fits_for(end_w, fold_g_w + K, SLOTS_C + ONE_C)
                                : fits_for(ready_end_w, K, SLOTS_C);
      wire room_add  = rd ? room_for(used_w, fold_g_w + K, DEPTH_C + ONE_C)
                          : room_for(used_w, fold_g_w + K, DEPTH_C);
      assign okg_keep[gk] = fits_keep & room_keep;
      assign okg_add[gk]  = fits_add & room_add;
    end
  endgenerate
  integer gs;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      end_q    <= {CNT_W{1'b0}};
      for (gs = 0; gs <= SHADOWS; gs = gs + 1) guard_q[gs] <= {CNT_W{1'b0}};
      resv_q   <= {FILL_W{1'b0}};
      used_q   <= {FILL_W{1'b0}};
      first_q  <= 1'b1;
      okg_q    <= {GROUPS{1'b1}};
      free_q   <= 1'b1;
      valid_q  <= 1'b0;
    end else begin
      if (accept) first_q <= s_axis_a_tlast;
      if (admit) begin
        end_q    <= last_slot;
        // The fold after next may come once this fold's first group write is at most one cycle
        // away: start_slot - 1 cycles from now, i.e. start_slot - 2 from the next cycle.
        guard_q[0] <= start_slot - {{(CNT_W - 2){1'b0}}, 2'd2} - LAT_C;
        for (gs = 1; gs <= SHADOWS; gs = gs + 1) guard_q[gs] <= dec_sat(guard_q[gs-1]);
      end else begin
        end_q    <= end_keep;
        for (gs = 0; gs <= SHADOWS; gs = gs + 1) guard_q[gs] <= dec_sat(guard_q[gs]);
      end
      okg_q  <= admit ? okg_add : okg_keep;
      free_q <= admit ? free_add : free_keep;
      // count_q + wr - rd != 0, without the sum.
      valid_q <= wr | (count_q > COUNT_ONE) | ((count_q == COUNT_ONE) & ~rd);
      // Both sums side by side, the admission only selecting (it comes last).
      resv_q <= admit ? resv_add[FILL_W-1:0] : resv_keep[FILL_W-1:0];
      used_q <= admit ? used_add[FILL_W-1:0] : used_keep[FILL_W-1:0];
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Skew: west lane i is delayed by i+1 registers, north lane j by j+1.
  // ---------------------------------------------------------------------------------------------
  wire [ROWS*DATA_W-1:0] arr_a;
  wire [ROWS-1:0]        arr_a_vld;
  wire [ROWS-1:0]        arr_a_first;
  wire [ROWS-1:0]        arr_a_last;
  wire [COLS*DATA_W-1:0] arr_b;
  wire [COLS-1:0]        arr_b_vld;

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_skew_a
      // {vld, first, last, data} per stage; stage 0 takes the accepted step.
      reg [DATA_W+2:0] stage_q [0:i];
      integer s;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (s = 0; s <= i; s = s + 1) stage_q[s] <= {(DATA_W + 3){1'b0}};
        end else begin
          stage_q[0] <= {accept & s_axis_a_tkeep[i], first_q, s_axis_a_tlast,
                         s_axis_a_tdata[i*DATA_W +: DATA_W]};
          for (s = 1; s <= i; s = s + 1) stage_q[s] <= stage_q[s-1];
        end
      end
      assign arr_a[i*DATA_W +: DATA_W] = stage_q[i][DATA_W-1:0];
      assign arr_a_last[i]  = stage_q[i][DATA_W];
      assign arr_a_first[i] = stage_q[i][DATA_W+1];
      assign arr_a_vld[i]   = stage_q[i][DATA_W+2];
    end
    for (j = 0; j < COLS; j = j + 1) begin : g_skew_b
      reg [DATA_W:0] stage_q [0:j];  // {vld, data}
      integer s;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (s = 0; s <= j; s = s + 1) stage_q[s] <= {(DATA_W + 1){1'b0}};
        end else begin
          stage_q[0] <= {accept & s_axis_b_tkeep[j], s_axis_b_tdata[j*DATA_W +: DATA_W]};
          for (s = 1; s <= j; s = s + 1) stage_q[s] <= stage_q[s-1];
        end
      end
      assign arr_b[j*DATA_W +: DATA_W] = stage_q[j][DATA_W-1:0];
      assign arr_b_vld[j] = stage_q[j][DATA_W];
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // The array.
  // ---------------------------------------------------------------------------------------------
  wire [ROWS*COLS*ACC_W-1:0] acc;
  wire [ROWS*COLS*ACC_W-1:0] res;
  wire [ROWS*COLS-1:0]       res_vld;
  wire [ROWS*DATA_W-1:0]     east_a;
  wire [ROWS-1:0]            east_a_vld;
  wire [ROWS-1:0]            east_a_first;
  wire [ROWS-1:0]            east_a_last;
  wire [COLS*DATA_W-1:0]     south_b;
  wire [COLS-1:0]            south_b_vld;

  systolic_array #(
    .ROWS    (ROWS),
    .COLS    (COLS),
    .DATA_W  (DATA_W),
    .ACC_W   (ACC_W),
    .MUL_REG (MUL_REG)
  ) u_array (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .a_i       (arr_a),
    .a_vld_i   (arr_a_vld),
    .a_first_i (arr_a_first),
    .a_last_i  (arr_a_last),
    .b_i       (arr_b),
    .b_vld_i   (arr_b_vld),
    .a_o       (east_a),
    .a_vld_o   (east_a_vld),
    .a_first_o (east_a_first),
    .a_last_o  (east_a_last),
    .b_o       (south_b),
    .b_vld_o   (south_b_vld),
    .acc_o     (acc),
    .res_o     (res),
    .res_vld_o (res_vld)
  );

  // The edges leaving the array and the running sums are not used by the top.
  wire unused_array = ^{east_a, east_a_vld, east_a_first, east_a_last, south_b, south_b_vld, acc,
                        res_vld};  // res_vld is used too, except at 1x1

  // ---------------------------------------------------------------------------------------------
  // Drain: shadow registers, row read, result FIFO.
  // ---------------------------------------------------------------------------------------------
  wire [GRP_W-1:0] rd_grp = slot_grp_q[0];
  wire [COLS*ACC_W-1:0] row_words [0:ROWS-1];

  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_drain_row
      localparam integer     GRP_N = i / OUT_ROWS;
      localparam [GRP_W-1:0] GRP_I = GRP_N[GRP_W-1:0];
      wire read_row = wr && (rd_grp == GRP_I) && slot_rows_q[0][i % OUT_ROWS];
      for (j = 0; j < COLS; j = j + 1) begin : g_drain_col
        // shadow_q[s]: PE(i,j)'s result register as it was s+1 captures ago.
        reg  [ACC_W-1:0]  shadow_q [0:SHADOWS-1];
        reg  [PEND_W-1:0] pend_q;  // results of PE(i,j) not yet read: 0, 1 (the one in the PE)
                                   // .. SHADOWS+1; the oldest of k > 1 is in shadow_q[k-2]
        wire             west_last;
        wire             north_vld;
        // At the west and north edges the PE's firing `last` pair is seen on the lanes; with the
        // product register (LAT = 1) it captures one edge later, so the lanes' flags are delayed.
        if (j == 0 && LAT == 0) begin : g_w_edge
          assign west_last = arr_a_vld[i] & arr_a_last[i];
        end else if (j == 0) begin : g_w_edge_reg
          reg west_last_q;
          always @(posedge clk_i or negedge rst_ni) begin
            if (!rst_ni) west_last_q <= 1'b0;
            else west_last_q <= arr_a_vld[i] & arr_a_last[i];
          end
          assign west_last = west_last_q;
        end else begin : g_w_inner
          assign west_last = res_vld[i*COLS+j-1];
        end
        if (i == 0 && LAT == 0) begin : g_n_edge
          assign north_vld = arr_b_vld[j];
        end else if (i == 0) begin : g_n_edge_reg
          reg north_vld_q;
          always @(posedge clk_i or negedge rst_ni) begin
            if (!rst_ni) north_vld_q <= 1'b0;
            else north_vld_q <= arr_b_vld[j];
          end
          assign north_vld = north_vld_q;
        end else begin : g_n_inner
          assign north_vld = res_vld[(i-1)*COLS+j];
        end
        wire strobe = west_last & north_vld;        // PE(i,j) captures a result at this edge
        wire read   = read_row & slot_keep_q[0][j];  // its oldest result is read in this cycle
        integer s;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            for (s = 0; s < SHADOWS; s = s + 1) shadow_q[s] <= {ACC_W{1'b0}};
            pend_q <= {PEND_W{1'b0}};
          end else begin
            // Copying on every capture is enough: a copy is read only while that many results
            // are pending.
            if (strobe) begin
              shadow_q[0] <= res[(i*COLS+j)*ACC_W +: ACC_W];
              for (s = 1; s < SHADOWS; s = s + 1) shadow_q[s] <= shadow_q[s-1];
            end
            pend_q <= pend_q + {{(PEND_W - 1){1'b0}}, strobe} - {{(PEND_W - 1){1'b0}}, read};
          end
        end
        // The oldest unread result: in the PE while one is pending, else in a shadow register.
        wire [ACC_W-1:0] pick [0:SHADOWS];
        assign pick[0] = res[(i*COLS+j)*ACC_W +: ACC_W];
        genvar sh;
        for (sh = 0; sh < SHADOWS; sh = sh + 1) begin : g_pick
          localparam integer      HELD_N = sh + 2;
          localparam [PEND_W-1:0] HELD   = HELD_N[PEND_W-1:0];
          assign pick[sh+1] = (pend_q == HELD) ? shadow_q[sh] : pick[sh];
        end
        assign row_words[i][j*ACC_W +: ACC_W] = pick[SHADOWS];
      end
    end
  endgenerate

  // The written group: position p holds row rd_grp*OUT_ROWS + p (zero past the last row).
  // rd_grp is decoded a cycle early (slot 0 of the next cycle is slot 1 of this one, or the group
  // pending for it: no fold is ever scheduled in slot 0 itself, g_pos >= 2) into one-hot selects
  // held in flip-flops, one copy per column, so that no select drives more than one column's
  // words.
  wire [BEAT_W*ACC_W-1:0] wr_data;
  wire [BEAT_W-1:0]       wr_keep;
  localparam [GROUPS-1:0] SEL_RESET = 1;  // group 0: slot 0's group after reset
  // rd_grp of the next cycle. (A group pending for slot 1 is always a fold's group 0, g_pos = 2
  // needing n + 1 + L <= 2, and an empty slot holds group 0 too; the select says it anyway.)
  wire [GRP_W-1:0] grp_next = pend_vld_q[1] ? pend_grp_q[1] : slot_grp_q[1];
  reg  [GROUPS-1:0] rd_sel_q [0:COLS-1];
  integer sc, sg;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (sc = 0; sc < COLS; sc = sc + 1) rd_sel_q[sc] <= SEL_RESET;
    end else begin
      for (sc = 0; sc < COLS; sc = sc + 1)
        for (sg = 0; sg < GROUPS; sg = sg + 1)
          rd_sel_q[sc][sg] <= ({{(32 - GRP_W){1'b0}}, grp_next} == sg);
    end
  end
  generate
    for (pp = 0; pp < OUT_ROWS; pp = pp + 1) begin : g_beat_row
      wire [COLS*ACC_W-1:0] cand [0:GROUPS-1];  // row g*OUT_ROWS + pp of each group g
      for (gg = 0; gg < GROUPS; gg = gg + 1) begin : g_cand
        if (gg * OUT_ROWS + pp < ROWS) begin : g_row
          assign cand[gg] = row_words[gg * OUT_ROWS + pp];
        end else begin : g_none
          assign cand[gg] = {(COLS * ACC_W){1'b0}};
        end
      end
      for (j = 0; j < COLS; j = j + 1) begin : g_sel_col
        reg [ACC_W-1:0] word;
        integer g;
        always @* begin
          word = {ACC_W{1'b0}};
          for (g = 0; g < GROUPS; g = g + 1)
            word = word | ({ACC_W{rd_sel_q[j][g]}} & cand[g][j*ACC_W +: ACC_W]);
        end
        assign wr_data[(pp*COLS+j)*ACC_W +: ACC_W] = word;
      end
      assign wr_keep[pp*COLS +: COLS] = slot_keep_q[0] & {COLS{slot_rows_q[0][pp]}};
    end
  endgenerate

  // The storage: block RAM with a registered read (systolic_fifo_ram.v). It is handed the read
  // pointer's next value (rd_ptr_d), which the RAM registers at the edge where rd_ptr_q loads it,
  // and it shows a group written at that edge into that entry (into an empty FIFO) itself: head
  // is the entry at rd_ptr_q, as the combinational read of flip-flops it replaces gave, in every
  // cycle but the one where rst_ni falls (header; formal tasks fiforam_* prove the storage). In
  // flip-flops the decode of wr_ptr_q into one entry's write enables was the 8x8 top's critical
  // path on the ECP5, and in LUT RAM (TRELLIS_DPR16X4) nextpnr could not route it (docs/gemm.md).
  reg [PTR_W-1:0]   wr_ptr_q;
  reg [PTR_W-1:0]   rd_ptr_q;

  localparam integer     LAST_SLOT = FIFO_DEPTH - 1;
  localparam [PTR_W-1:0] LAST_PTR  = LAST_SLOT[PTR_W-1:0];
  function automatic [PTR_W-1:0] ptr_inc(input [PTR_W-1:0] p);
    ptr_inc = (p == LAST_PTR) ? {PTR_W{1'b0}} : p + {{(PTR_W - 1){1'b0}}, 1'b1};
  endfunction

  wire [PTR_W-1:0]   rd_ptr_d = rd ? ptr_inc(rd_ptr_q) : rd_ptr_q;  // rd_ptr_q after this edge
  wire [ENTRY_W-1:0] head;

  systolic_fifo_ram #(
    .DEPTH  (FIFO_DEPTH),
    .WIDTH  (ENTRY_W),
    .ADDR_W (PTR_W)
  ) u_fifo_ram (
    .clk_i   (clk_i),
    .we_i    (wr),
    .waddr_i (wr_ptr_q),
    .wdata_i ({slot_last_q[0], wr_keep, wr_data}),
    .raddr_i (rd_ptr_d),
    .rdata_o (head)
  );

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= {PTR_W{1'b0}};
      rd_ptr_q <= {PTR_W{1'b0}};
      count_q  <= {FILL_W{1'b0}};
    end else begin
      if (wr) wr_ptr_q <= ptr_inc(wr_ptr_q);
      rd_ptr_q <= rd_ptr_d;
      count_q <= count_q + {{(FILL_W - 1){1'b0}}, wr} - {{(FILL_W - 1){1'b0}}, rd};
    end
  end

  assign m_axis_c_tvalid = valid_q;
  assign m_axis_c_tdata  = head[BEAT_W*ACC_W-1:0];
  assign m_axis_c_tkeep  = head[BEAT_W*ACC_W +: BEAT_W];
  assign m_axis_c_tlast  = head[ENTRY_W-1];

endmodule

`default_nettype wire
