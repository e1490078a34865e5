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
//   m_axis_c  the results, one row of the fold's C per beat, rows 0 .. m-1 in order: lane j =
//             C[row0+r][col0+j] (ACC_W bits, two's complement), tkeep = the fold's columns,
//             tlast on row m-1. Folds leave in the order they came in.
//
// TIMING CONTRACT (models/accel.py is its executable form). Cycle c is the clock period that
// ends with rising edge c. A step accepted in cycle c (tvalid && tready sampled at edge c) is on
// the array's west lane i in cycle c+1+i and north lane j in cycle c+1+j: the array's own
// contract with stream step s = c+1 (systolic_array.v). When a fold's last step is accepted in
// cycle c, PE(r,j) captures its result at edge c+1+r+j, and row r is complete (all n columns)
// from cycle c+1+r+n. Its rows are written to the result FIFO in cycles w, w+1, .., w+m-1 with
//     w = max(c + 1 + n, the cycle after the previous fold's last row write),
// and row r is on m_axis_c from cycle w+r+1 (FIFO output, registered), if the FIFO is empty.
// A fold's last step is held back (tready low, nothing lost) until all of these hold:
//   * room:   its m rows fit in the FIFO beside the rows in it and those still to be written;
//   * slots:  its row writes fit in the schedule (w+m-1 <= c + ROWS + COLS);
//   * shadow: the fold two before it has its first row written no later than cycle c+1
//             (a result is held by the PE's result register and one shadow register, so a third
//             fold must not overwrite a row that has not been read).
// Steps that are not a fold's last step are never held back. With a sink that never stalls and
// FIFO_DEPTH >= ROWS + COLS + 2 no fold is held back by room (models/accel.py, docs/architecture.md).
//
// BACKPRESSURE: the array never stops. A stalled sink fills the FIFO; the room rule then stops
// new folds at their last step, so no result is ever dropped or duplicated.
//
// DRAIN: PE(r,j)'s result register keeps a result until the PE's next `last` pair; at that edge
// the top copies the old result into its shadow_q. pend_q counts PE(r,j)'s results not yet read
// (0, 1 or 2); a row read takes each kept word from the shadow while two are pending (the older
// one), from the PE otherwise. The shadow rule keeps pend_q <= 2. The edge at which PE(r,j) fires `last` is seen from outside the array as: the
// `last` beat on west lane r (j = 0) or PE(r,j-1)'s result strobe, together with b valid on north
// lane j (r = 0) or PE(r-1,j)'s result strobe (this needs the prefix masks above).
//
// rst_ni (asynchronous, active low) clears every register except the FIFO's storage; operands in
// flight and results not yet sent are dropped, and the next beat starts a new fold.

`default_nettype none

module systolic_accel #(
  parameter integer ROWS       = 4,                // PE rows (1..32)
  parameter integer COLS       = 4,                // PE columns (1..32)
  parameter integer DATA_W     = 8,                // signed operand width (2..16)
  parameter integer ACC_W      = 32,               // accumulator width (2*DATA_W..64)
  parameter integer FIFO_DEPTH = ROWS + COLS + 2   // result rows buffered (ROWS..1024)
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
  // Result stream C: one row of a fold per beat.
  output wire [COLS*ACC_W-1:0]    m_axis_c_tdata,
  output wire [COLS-1:0]          m_axis_c_tkeep,
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
  endgenerate

  localparam integer SLOTS   = ROWS + COLS + 1;       // row-write schedule: cycles c+1 .. c+SLOTS
  localparam integer CNT_W   = $clog2(SLOTS + 2) + 1; // counters over the schedule (signed room)
  localparam integer ROW_W   = (ROWS > 1) ? $clog2(ROWS) : 1;
  localparam integer FILL_W  = $clog2(2 * FIFO_DEPTH + ROWS + 1) + 1;
  localparam integer PTR_W   = (FIFO_DEPTH > 1) ? $clog2(FIFO_DEPTH) : 1;
  localparam integer ENTRY_W = COLS * ACC_W + COLS + 1;  // {last, keep, data}

  // ---------------------------------------------------------------------------------------------
  // Input handshake and fold admission.
  // ---------------------------------------------------------------------------------------------
  reg  [CNT_W-1:0] end_q;     // schedule slots in use from now: the last reserved write is in
                              // cycle now+end_q-1 (0: none)
  reg  [CNT_W-1:0] guard1_q;  // cycles until the fold after the newest may be admitted...
  reg  [CNT_W-1:0] guard2_q;  // ...and the fold after the one before the newest: must be 0
  reg  [FILL_W-1:0] resv_q;   // rows admitted but not yet written to the FIFO
  reg  [FILL_W-1:0] count_q;  // rows in the FIFO
  reg               first_q;  // the next accepted step starts a fold

  function automatic [CNT_W-1:0] ones_a(input [ROWS-1:0] v);
    integer n;
    begin
      ones_a = {CNT_W{1'b0}};
      for (n = 0; n < ROWS; n = n + 1) ones_a = ones_a + {{(CNT_W - 1){1'b0}}, v[n]};
    end
  endfunction

  function automatic [CNT_W-1:0] ones_b(input [COLS-1:0] v);
    integer n;
    begin
      ones_b = {CNT_W{1'b0}};
      for (n = 0; n < COLS; n = n + 1) ones_b = ones_b + {{(CNT_W - 1){1'b0}}, v[n]};
    end
  endfunction

  wire [CNT_W-1:0] fold_m     = ones_a(s_axis_a_tkeep);          // rows of the fold
  wire [CNT_W-1:0] fold_n     = ones_b(s_axis_b_tkeep);          // columns of the fold
  wire [CNT_W-1:0] ready_slot = fold_n + {{(CNT_W - 1){1'b0}}, 1'b1};  // row 0 complete: c+1+n
  wire [CNT_W-1:0] start_slot = (end_q > ready_slot) ? end_q : ready_slot;
  wire [CNT_W:0]   stop_slot  = {1'b0, start_slot} + {1'b0, fold_m};     // one past the last
  wire             fits       = stop_slot <= SLOTS[CNT_W:0];
  wire [FILL_W:0]  need       = {1'b0, count_q} + {1'b0, resv_q}
                              + {{(FILL_W - CNT_W + 1){1'b0}}, fold_m};
  wire             room       = need <= FIFO_DEPTH[FILL_W:0];
  wire             admit_ok   = fits & room & (guard2_q == {CNT_W{1'b0}});
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
  // Row-write schedule: slot_q[d] is the row written to the FIFO d cycles from now.
  // ---------------------------------------------------------------------------------------------
  reg  [SLOTS-1:0] slot_vld_q;
  reg  [ROW_W-1:0] slot_row_q  [0:SLOTS-1];
  reg  [SLOTS-1:0] slot_last_q;
  reg  [COLS-1:0]  slot_keep_q [0:SLOTS-1];

  wire wr = slot_vld_q[0];  // a row is written to the FIFO in this cycle

  genvar sd;
  generate
    for (sd = 0; sd < SLOTS; sd = sd + 1) begin : g_slot
      // Slot sd+1 of this cycle is slot sd of the next; a fold admitted now takes slots
      // start_slot .. stop_slot-1 of this cycle.
      localparam [CNT_W-1:0] POS = sd + 1;
      wire             take = admit && (POS >= start_slot) && ({1'b0, POS} < stop_slot);
      wire [CNT_W-1:0] rel  = POS - start_slot;  // row index: only its low ROW_W bits
      wire             unused_rel_hi = ^rel[CNT_W-1:ROW_W];
      wire             next_vld;
      wire [ROW_W-1:0] next_row;
      wire             next_last;
      wire [COLS-1:0]  next_keep;
      if (sd + 1 < SLOTS) begin : g_shift
        assign next_vld  = slot_vld_q[sd+1];
        assign next_row  = slot_row_q[sd+1];
        assign next_last = slot_last_q[sd+1];
        assign next_keep = slot_keep_q[sd+1];
      end else begin : g_top
        assign next_vld  = 1'b0;
        assign next_row  = {ROW_W{1'b0}};
        assign next_last = 1'b0;
        assign next_keep = {COLS{1'b0}};
      end
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          slot_vld_q[sd]  <= 1'b0;
          slot_row_q[sd]  <= {ROW_W{1'b0}};
          slot_last_q[sd] <= 1'b0;
          slot_keep_q[sd] <= {COLS{1'b0}};
        end else if (take) begin
          slot_vld_q[sd]  <= 1'b1;
          slot_row_q[sd]  <= rel[ROW_W-1:0];
          slot_last_q[sd] <= {1'b0, POS} + 1'b1 == stop_slot;
          slot_keep_q[sd] <= s_axis_b_tkeep;
        end else begin
          slot_vld_q[sd]  <= next_vld;
          slot_row_q[sd]  <= next_row;
          slot_last_q[sd] <= next_last;
          slot_keep_q[sd] <= next_keep;
        end
      end
    end
  endgenerate

  // Admission state.
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      end_q    <= {CNT_W{1'b0}};
      guard1_q <= {CNT_W{1'b0}};
      guard2_q <= {CNT_W{1'b0}};
      resv_q   <= {FILL_W{1'b0}};
      first_q  <= 1'b1;
    end else begin
      if (accept) first_q <= s_axis_a_tlast;
      if (admit) begin
        end_q    <= stop_slot[CNT_W-1:0] - {{(CNT_W - 1){1'b0}}, 1'b1};
        // The fold after next may come once this fold's first row write is at most one cycle
        // away: start_slot - 1 cycles from now, i.e. start_slot - 2 from the next cycle.
        guard1_q <= start_slot - {{(CNT_W - 2){1'b0}}, 2'd2};
        guard2_q <= dec_sat(guard1_q);
      end else begin
        end_q    <= dec_sat(end_q);
        guard1_q <= dec_sat(guard1_q);
        guard2_q <= dec_sat(guard2_q);
      end
      resv_q <= resv_q + (admit ? {{(FILL_W - CNT_W){1'b0}}, fold_m} : {FILL_W{1'b0}})
                       - {{(FILL_W - 1){1'b0}}, wr};
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
    .ROWS   (ROWS),
    .COLS   (COLS),
    .DATA_W (DATA_W),
    .ACC_W  (ACC_W)
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
  wire [ROW_W-1:0] rd_row = slot_row_q[0];
  wire [COLS*ACC_W-1:0] row_words [0:ROWS-1];

  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_drain_row
      localparam [ROW_W-1:0] ROW_I = i;
      wire read_row = wr && (rd_row == ROW_I);
      for (j = 0; j < COLS; j = j + 1) begin : g_drain_col
        reg  [ACC_W-1:0] shadow_q;  // PE(i,j)'s result register, as it was before its last capture
        reg  [1:0]       pend_q;    // results of PE(i,j) not yet read: 0, 1 (in the PE) or 2
                                    // (the older one in shadow_q)
        wire             west_last;
        wire             north_vld;
        if (j == 0) begin : g_w_edge
          assign west_last = arr_a_vld[i] & arr_a_last[i];
        end else begin : g_w_inner
          assign west_last = res_vld[i*COLS+j-1];
        end
        if (i == 0) begin : g_n_edge
          assign north_vld = arr_b_vld[j];
        end else begin : g_n_inner
          assign north_vld = res_vld[(i-1)*COLS+j];
        end
        wire strobe = west_last & north_vld;        // PE(i,j) captures a result at this edge
        wire read   = read_row & slot_keep_q[0][j];  // its oldest result is read in this cycle
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            shadow_q <= {ACC_W{1'b0}};
            pend_q   <= 2'd0;
          end else begin
            // Copying on every capture is enough: the copy is read only while two are pending.
            if (strobe) shadow_q <= res[(i*COLS+j)*ACC_W +: ACC_W];
            pend_q <= pend_q + {1'b0, strobe} - {1'b0, read};
          end
        end
        assign row_words[i][j*ACC_W +: ACC_W] = (pend_q == 2'd2) ? shadow_q
                                                                 : res[(i*COLS+j)*ACC_W +: ACC_W];
      end
    end
  endgenerate

  wire [COLS*ACC_W-1:0] wr_data = row_words[rd_row];

  // Flip-flops, not LUT RAM: the read is combinational (no block RAM), and with Yosys' LUT RAM
  // (TRELLIS_DPR16X4) nextpnr could not route the 8x8 top on the ECP5-85F in 30 minutes; with
  // flip-flops it routes (make fpga, docs/gemm.md).
  (* ram_style = "logic" *) reg [ENTRY_W-1:0] fifo_q [0:FIFO_DEPTH-1];
  reg [PTR_W-1:0]   wr_ptr_q;
  reg [PTR_W-1:0]   rd_ptr_q;

  wire rd = m_axis_c_tvalid & m_axis_c_tready;

  localparam integer     LAST_SLOT = FIFO_DEPTH - 1;
  localparam [PTR_W-1:0] LAST_PTR  = LAST_SLOT[PTR_W-1:0];
  function automatic [PTR_W-1:0] ptr_inc(input [PTR_W-1:0] p);
    ptr_inc = (p == LAST_PTR) ? {PTR_W{1'b0}} : p + {{(PTR_W - 1){1'b0}}, 1'b1};
  endfunction

  always @(posedge clk_i) begin
    if (wr) fifo_q[wr_ptr_q] <= {slot_last_q[0], slot_keep_q[0], wr_data};
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= {PTR_W{1'b0}};
      rd_ptr_q <= {PTR_W{1'b0}};
      count_q  <= {FILL_W{1'b0}};
    end else begin
      if (wr) wr_ptr_q <= ptr_inc(wr_ptr_q);
      if (rd) rd_ptr_q <= ptr_inc(rd_ptr_q);
      count_q <= count_q + {{(FILL_W - 1){1'b0}}, wr} - {{(FILL_W - 1){1'b0}}, rd};
    end
  end

  wire [ENTRY_W-1:0] head = fifo_q[rd_ptr_q];
  assign m_axis_c_tvalid = count_q != {FILL_W{1'b0}};
  assign m_axis_c_tdata  = head[COLS*ACC_W-1:0];
  assign m_axis_c_tkeep  = head[COLS*ACC_W +: COLS];
  assign m_axis_c_tlast  = head[ENTRY_W-1];

endmodule

`default_nettype wire
