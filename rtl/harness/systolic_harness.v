// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_harness: the fast-path harness around systolic_array. Python (cocotb) or a raw
// testbench (Verilog on Icarus, C++ main on Verilator) fills a stimulus buffer in bulk and reads
// back a state signature and the last result-strobe cycle at the end; nothing wakes per cycle.
//
// Stimulus buffer: DEPTH rows, one per cycle, exactly the EdgeStimulus rows of models/skew.py
// (already skewed), packed LSB first as {b_vld, b, a_last, a_first, a_vld, a}. A segment is
// loaded with $readmemh from the file named by the plusarg +SYSTOLIC_STIM=<path> at the rising
// edge where seg_i differs from the last segment played; that edge applies the segment's row 0
// (so the next edge is the stream's cycle 0 when it is the first segment). Rows past rows_i
// are idle (all lanes invalid). need_o rises after the edge that applied the segment's last row:
// the next segment must be loaded (seg_i changed) before the next rising edge to keep the stream
// gapless -- the simulator waits while Python writes, so no cycle is lost.
//
// Checking (CHECK=1): at every rising edge the harness reads the state the array holds after the
// previous edge -- acc_o, res_o, res_vld_o, the state "at cycle t" of docs/architecture.md -- for
// t = 0 .. total_i-1, and folds it into 64-bit slots, slot = 3*slot + value (mod 2^64): one slot
// per PE for its accumulator and one for its result register (ACC_W bits, sign-extended), one
// per row for the strobes (bit j = column j). systolic.models.fast_trace computes the same
// signature from the cycle model. The sig_*_o buses are written at the last sample only.
// last_vld_o is the last sampled cycle with any result strobe (the cycle count of the stream is
// last_vld_o + 1). done_o rises after total_i samples.
//
// Result dump (DUMP=1): with the plusarg +SYSTOLIC_RES=<path>, the file is opened for writing
// once; at every sampled edge (cycle t = n_smp_o, the same samples as the signature) each lane
// l = i*COLS+j whose strobe res_vld_o is set, in ascending l, writes its ACC_W-bit result as one
// line of ceil(ACC_W/4) zero-padded hex digits. So the file lists every finished C[i][j] ordered
// by capture cycle, then lane (systolic.bench.fastpath reads it). The file is flushed at the last
// sample (done_o rises) and when reset is asserted, so a reader sees every line after done_o.
// Several streams (with a reset between) append to the same file. Without the plusarg, or with
// DUMP=0, nothing is written and the hardware is the same as without the parameter.
//
// Naming: parameters and localparams are UPPER_SNAKE_CASE; genvars are i (row) and j (column);
// registers end in _q (except the stimulus memory `mem` and the simulation-only file variables),
// and every output port is a copy of one (`assign x_o = x_q;`).

`default_nettype none

module systolic_harness #(
  parameter integer ROWS   = 4,
  parameter integer COLS   = 4,
  parameter integer DATA_W = 8,
  parameter integer ACC_W  = 32,
  parameter integer MUL_REG = 0,     // the array's product register (0 or 1)
  parameter integer DEPTH  = 65536,  // stimulus rows per segment
  parameter integer CHECK  = 1,      // 0: no signature logic (stimulus replay only)
  parameter integer DUMP   = 0       // 1: write every strobed result to +SYSTOLIC_RES=<path>
) (
  input  wire        clk_i,
  input  wire        rst_ni,     // resets the array and the harness state
  input  wire [31:0] seg_i,      // change it to start playing a freshly written segment
  input  wire [31:0] rows_i,     // rows of the current segment
  input  wire [31:0] total_i,    // cycles to sample from the stream's cycle 0
  output wire        need_o,     // the current segment has been applied completely
  output wire        done_o,     // total_i cycles sampled
  output wire [31:0] n_smp_o,    // cycles sampled so far
  output wire [31:0] last_vld_o, // last sampled cycle with a result strobe (all ones: none)
  output wire [64*ROWS*COLS-1:0] sig_acc_o,  // one 64-bit slot per PE (valid once done_o)
  output wire [64*ROWS*COLS-1:0] sig_res_o,
  output wire [64*ROWS-1:0]      sig_vld_o   // one 64-bit slot per row
);

  localparam integer AW  = ROWS * DATA_W;
  localparam integer BW  = COLS * DATA_W;
  localparam integer WIN = AW + 3 * ROWS + BW + COLS;

  reg [WIN-1:0] mem [0:DEPTH-1];
  reg [WIN-1:0] in_q;
  reg [31:0]    ptr_q;
  reg [31:0]    seg_q;
  reg [1:0]     warm_q;     // edges since the first segment started (saturates at 2)
  reg           started_q;
  reg           need_q;
  reg           done_q;
  reg [31:0]    n_smp_q;
  reg [31:0]    last_vld_q;
  // Signatures at the last sample, written there only (per slot, in the generate blocks below).
  reg [64*ROWS*COLS-1:0] sig_acc_out_q;
  reg [64*ROWS*COLS-1:0] sig_res_out_q;
  reg [64*ROWS-1:0]      sig_vld_out_q;
  reg [8*1024-1:0] stim_file;

  initial begin
    if (!$value$plusargs("SYSTOLIC_STIM=%s", stim_file)) stim_file = "stim.hex";
  end

  wire fresh = (seg_i != seg_q);

  wire [ROWS*COLS*ACC_W-1:0] acc, res;
  wire [ROWS*COLS-1:0]       res_vld;

  systolic_array #(
    .ROWS (ROWS), .COLS (COLS), .DATA_W (DATA_W), .ACC_W (ACC_W), .MUL_REG (MUL_REG)
  ) u_array (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .a_i       (in_q[0 +: AW]),
    .a_vld_i   (in_q[AW +: ROWS]),
    .a_first_i (in_q[AW + ROWS +: ROWS]),
    .a_last_i  (in_q[AW + 2 * ROWS +: ROWS]),
    .b_i       (in_q[AW + 3 * ROWS +: BW]),
    .b_vld_i   (in_q[AW + 3 * ROWS + BW +: COLS]),
    .a_o       (),
    .a_vld_o   (),
    .a_first_o (),
    .a_last_o  (),
    .b_o       (),
    .b_vld_o   (),
    .acc_o     (acc),
    .res_o     (res),
    .res_vld_o (res_vld)
  );

  // Stimulus playback.
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_q      <= {WIN{1'b0}};
      ptr_q     <= 32'd0;
      seg_q     <= seg_i;
      need_q    <= 1'b0;
      started_q <= 1'b0;
      warm_q    <= 2'd0;
    end else begin
      if (fresh) begin
        $readmemh(stim_file, mem, 0, rows_i - 1);
        in_q      <= mem[0];
        ptr_q     <= 32'd1;
        seg_q     <= seg_i;
        need_q    <= (rows_i <= 32'd1);
        started_q <= 1'b1;
      end else if (started_q && ptr_q < rows_i) begin
        in_q   <= mem[ptr_q];
        ptr_q  <= ptr_q + 32'd1;
        need_q <= (ptr_q + 32'd1 == rows_i);
      end else begin
        in_q <= {WIN{1'b0}};
      end
      if ((started_q || fresh) && warm_q != 2'd2) warm_q <= warm_q + 2'd1;
    end
  end

  // Sampling: at an edge with warm_q == 2 the array shows its state after the previous edge.
  wire sample = started_q && (warm_q == 2'd2) && (n_smp_q < total_i);

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      n_smp_q    <= 32'd0;
      last_vld_q <= 32'hFFFF_FFFF;
      done_q     <= 1'b0;
    end else if (sample) begin
      if (|res_vld) last_vld_q <= n_smp_q;
      n_smp_q <= n_smp_q + 32'd1;
      done_q  <= (n_smp_q + 32'd1 == total_i);
    end
  end

  // The last sample: the signature registers sig_*_out_q below are written only then (cheap on
  // Icarus, where updating slices of a wide bus every cycle is slow).
  wire last_sample = sample && (n_smp_q + 32'd1 == total_i);

  genvar i, j;
  generate
    if (CHECK != 0) begin : g_check
      // One 64-bit slot per PE for acc and res, one per row for the strobes (bit j = column j).
      for (i = 0; i < ROWS; i = i + 1) begin : g_row
        for (j = 0; j < COLS; j = j + 1) begin : g_col
          localparam integer PE = i * COLS + j;
          // The signed ACC_W-bit values, sign-extended to 64 bits.
          wire [63:0] acc_u = {{(64 - ACC_W){acc[PE*ACC_W+ACC_W-1]}}, acc[PE*ACC_W +: ACC_W]};
          wire [63:0] res_u = {{(64 - ACC_W){res[PE*ACC_W+ACC_W-1]}}, res[PE*ACC_W +: ACC_W]};
          reg  [63:0] sig_acc_q, sig_res_q;
          wire [63:0] sig_acc_d = {sig_acc_q[62:0], 1'b0} + sig_acc_q + acc_u;
          wire [63:0] sig_res_d = {sig_res_q[62:0], 1'b0} + sig_res_q + res_u;
          always @(posedge clk_i or negedge rst_ni) begin
            if (!rst_ni) begin
              sig_acc_q <= 64'd0;
              sig_res_q <= 64'd0;
            end else if (sample) begin
              sig_acc_q <= sig_acc_d;
              sig_res_q <= sig_res_d;
              if (last_sample) begin
                sig_acc_out_q[PE*64 +: 64] <= sig_acc_d;
                sig_res_out_q[PE*64 +: 64] <= sig_res_d;
              end
            end
          end
        end
        wire [63:0] vld_u = {{(64 - COLS){1'b0}}, res_vld[i*COLS +: COLS]};
        reg  [63:0] sig_vld_q;
        wire [63:0] sig_vld_d = {sig_vld_q[62:0], 1'b0} + sig_vld_q + vld_u;
        always @(posedge clk_i or negedge rst_ni) begin
          if (!rst_ni) begin
            sig_vld_q <= 64'd0;
          end else if (sample) begin
            sig_vld_q <= sig_vld_d;
            if (last_sample) sig_vld_out_q[i*64 +: 64] <= sig_vld_d;
          end
        end
      end
    end
  endgenerate

  // Outputs: each a copy of one register.
  assign need_o     = need_q;
  assign done_o     = done_q;
  assign n_smp_o    = n_smp_q;
  assign last_vld_o = last_vld_q;
  assign sig_acc_o  = sig_acc_out_q;
  assign sig_res_o  = sig_res_out_q;
  assign sig_vld_o  = sig_vld_out_q;

  // Result dump: simulation-only file output, nothing synthesizable.
  generate
    if (DUMP != 0) begin : g_dump
      integer          res_fd;
      integer          lane;
      reg [8*1024-1:0] res_file;
      initial begin
        res_fd = 0;
        if ($value$plusargs("SYSTOLIC_RES=%s", res_file)) begin
          res_fd = $fopen(res_file, "w");
          if (res_fd == 0) $display("systolic_harness: cannot open +SYSTOLIC_RES file");
        end
      end
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          if (res_fd != 0) $fflush(res_fd);
        end else if (sample && res_fd != 0) begin
          if (|res_vld) begin
            for (lane = 0; lane < ROWS * COLS; lane = lane + 1) begin
              if (res_vld[lane]) $fwrite(res_fd, "%h\n", res[lane*ACC_W +: ACC_W]);
            end
          end
          if (last_sample) $fflush(res_fd);
        end
      end
    end
  endgenerate

endmodule

`default_nettype wire
