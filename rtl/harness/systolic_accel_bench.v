// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_accel_bench: plays one M x K x N GEMM through systolic_accel with sources that never
// pause and a sink that never stalls, and reports the cycles, the result beats, the protocol
// errors it saw and a signature of every result word. No Python while it runs: the benchmark
// (`systolic bench`) runs it under Verilator (accel_main.cpp) or Icarus (the _tb module below).
//
// Two sources of operands:
// * files (+A_FILE= +B_FILE= +BEATS_IN=, set with files_i): one hex line per step, A's as
//   {tlast, tkeep, tdata}, B's as {tkeep, tdata} (the workload runner writes them); every result
//   beat goes to +C_FILE= as one hex line {tlast, tkeep, tdata}; the fold checks below are off.
// * otherwise a formula of their position, which engine/accel_harness.py computes the same way:
//   A[i][k] = (7*i + 13*k + 5) and B[k][j] = (11*k + 3*j + 1), each wrapped to signed DATA_W.
// Folds are sent in models.tiling.plan_folds order (row folds outer, column folds inner), one
// K-step per beat, tkeep the fold's rows / columns, tlast on step K-1.
// The signature runs over the result beats in order, over each kept word:
//   sig = sig * 1099511628211 + word (mod 2^64), word = the ACC_W-bit pattern, zero-extended,
// the words of a beat in lane order (row p = 0 .. OUT_ROWS-1, column j within it): C row-major.
// cycles_o counts from the cycle the first operand beat is accepted to the cycle the last
// result beat is accepted, inclusive. errors_o counts result beats whose tkeep or tlast differs
// from the fold they belong to, and beats beyond the last.
//
// Naming: parameters UPPER_SNAKE_CASE; registers end in _q.

`default_nettype none

module systolic_accel_bench #(
  parameter integer ROWS       = 4,
  parameter integer COLS       = 4,
  parameter integer DATA_W     = 8,
  parameter integer ACC_W      = 32,
  parameter integer MUL_REG    = 0,
  parameter integer FIFO_DEPTH = ROWS + COLS + 2 + MUL_REG,  // the top's default
  parameter integer OUT_ROWS   = 1,
  parameter integer SHADOWS    = 1
) (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire [31:0] m_i,        // GEMM M, K, N (held during the run)
  input  wire [31:0] k_i,
  input  wire [31:0] n_i,
  input  wire        files_i,    // operands from the files, results to the file (see above)
  input  wire [63:0] beats_in_i, // with files_i: steps in the files
  input  wire [63:0] beats_out_i,// with files_i: result beats to wait for
  output reg         done_o,     // the last result beat was accepted
  output reg  [63:0] cycles_o,
  output reg  [63:0] beats_o,
  output reg  [31:0] errors_o,
  output reg  [63:0] sig_o
);

  // ---------------------------------------------------------------------------------------------
  // Sources: fold (r0, c0), step k.
  // ---------------------------------------------------------------------------------------------
  reg  [31:0] r0_q, c0_q, k_q;
  reg         sent_q;  // every step has been accepted
  wire        a_ready, b_ready;
  reg  [ROWS*DATA_W-1:0] a_data, a_data_f;
  reg  [ROWS-1:0]        a_keep, a_keep_f;
  reg  [COLS*DATA_W-1:0] b_data, b_data_f;
  reg  [COLS-1:0]        b_keep, b_keep_f;
  reg                    a_last_f;
  wire                   step_last_f = (k_q == k_i - 32'd1);
  wire                   step_last = files_i ? a_last_f : step_last_f;
  wire [ROWS*DATA_W-1:0] a_tdata = files_i ? a_data_f : a_data;
  wire [ROWS-1:0]        a_tkeep = files_i ? a_keep_f : a_keep;
  wire [COLS*DATA_W-1:0] b_tdata = files_i ? b_data_f : b_data;
  wire [COLS-1:0]        b_tkeep = files_i ? b_keep_f : b_keep;

  integer x;
  reg [31:0] v;
  always @* begin
    for (x = 0; x < ROWS; x = x + 1) begin
      v = 32'd7 * (r0_q + x) + 32'd13 * k_q + 32'd5;
      a_data[x*DATA_W +: DATA_W] = v[DATA_W-1:0];
      a_keep[x] = (r0_q + x) < m_i;
    end
    for (x = 0; x < COLS; x = x + 1) begin
      v = 32'd11 * k_q + 32'd3 * (c0_q + x) + 32'd1;
      b_data[x*DATA_W +: DATA_W] = v[DATA_W-1:0];
      b_keep[x] = (c0_q + x) < n_i;
    end
  end

  wire valid = rst_ni & ~sent_q;
  wire take  = valid & a_ready;  // a_ready == b_ready (one wire in the top)

  // File source: the current step's line is in the _f registers; a taken step reads the next.
  integer a_fd = 0, b_fd = 0, c_fd = 0, got = 0;
  reg [63:0] taken_q = 64'd0;
  reg [ROWS*DATA_W+ROWS:0] a_line;
  reg [COLS*DATA_W+COLS-1:0] b_line;
  reg [1023:0] path;
  task automatic read_lines;  // the next step's lines into a_line / b_line
    begin
      got = $fscanf(a_fd, "%h\n", a_line);
      got = $fscanf(b_fd, "%h\n", b_line);
    end
  endtask
  initial begin
    a_line = {(ROWS*DATA_W+ROWS+1){1'b0}};
    b_line = {(COLS*DATA_W+COLS){1'b0}};
    if ($value$plusargs("A_FILE=%s", path)) a_fd = $fopen(path, "r");
    if ($value$plusargs("B_FILE=%s", path)) b_fd = $fopen(path, "r");
    if ($value$plusargs("C_FILE=%s", path)) c_fd = $fopen(path, "w");
    if (a_fd != 0 && b_fd != 0) read_lines;
    {a_last_f, a_keep_f, a_data_f} = a_line;
    {b_keep_f, b_data_f} = b_line;
  end
  always @(posedge clk_i) begin
    // Nonblocking: the top samples this step's payload at the same edge.
    if (files_i && take && rst_ni) begin
      taken_q <= taken_q + 64'd1;
      if (taken_q + 64'd1 < beats_in_i) begin
        read_lines;
        {a_last_f, a_keep_f, a_data_f} <= a_line;
        {b_keep_f, b_data_f} <= b_line;
      end
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r0_q <= 32'd0; c0_q <= 32'd0; k_q <= 32'd0; sent_q <= 1'b0;
    end else if (files_i) begin
      if (take && taken_q + 64'd1 >= beats_in_i) sent_q <= 1'b1;
    end else if (take) begin
      if (!step_last) begin
        k_q <= k_q + 32'd1;
      end else begin
        k_q <= 32'd0;
        if (c0_q + COLS < n_i) begin
          c0_q <= c0_q + COLS;
        end else begin
          c0_q <= 32'd0;
          if (r0_q + ROWS < m_i) r0_q <= r0_q + ROWS;
          else sent_q <= 1'b1;
        end
      end
    end
  end

  // ---------------------------------------------------------------------------------------------
  // The top.
  // ---------------------------------------------------------------------------------------------
  wire [OUT_ROWS*COLS*ACC_W-1:0] c_data;
  wire [OUT_ROWS*COLS-1:0]       c_keep;
  wire                           c_last, c_valid;

  systolic_accel #(
    .ROWS (ROWS), .COLS (COLS), .DATA_W (DATA_W), .ACC_W (ACC_W), .FIFO_DEPTH (FIFO_DEPTH),
    .OUT_ROWS (OUT_ROWS), .SHADOWS (SHADOWS), .MUL_REG (MUL_REG)
  ) u_accel (
    .clk_i (clk_i), .rst_ni (rst_ni),
    .s_axis_a_tdata (a_tdata), .s_axis_a_tkeep (a_tkeep), .s_axis_a_tlast (step_last),
    .s_axis_a_tvalid (valid), .s_axis_a_tready (a_ready),
    .s_axis_b_tdata (b_tdata), .s_axis_b_tkeep (b_tkeep), .s_axis_b_tlast (step_last),
    .s_axis_b_tvalid (valid), .s_axis_b_tready (b_ready),
    .m_axis_c_tdata (c_data), .m_axis_c_tkeep (c_keep), .m_axis_c_tlast (c_last),
    .m_axis_c_tvalid (c_valid), .m_axis_c_tready (1'b1)
  );

  // ---------------------------------------------------------------------------------------------
  // Sink: the fold (rows, columns) each beat belongs to, and the signature.
  // ---------------------------------------------------------------------------------------------
  reg  [31:0] or0_q, oc0_q, orow_q;   // the fold and first row of the next expected beat
  reg         out_done_q;
  reg  [63:0] cyc_q, first_q;
  reg         started_q;
  wire [31:0] fold_m = (m_i - or0_q < ROWS) ? m_i - or0_q : ROWS;
  wire [31:0] fold_n = (n_i - oc0_q < COLS) ? n_i - oc0_q : COLS;
  wire        want_last = (orow_q + OUT_ROWS >= fold_m);
  reg  [OUT_ROWS*COLS-1:0] want_keep;
  reg  [63:0]              sig_next;
  integer y, q;
  always @* begin
    sig_next = sig_o;
    for (q = 0; q < OUT_ROWS; q = q + 1) begin
      for (y = 0; y < COLS; y = y + 1) begin
        want_keep[q*COLS+y] = (y < fold_n) && (orow_q + q < fold_m);
        if ((y < fold_n) && (orow_q + q < fold_m)) begin
          sig_next = sig_next * 64'd1099511628211
                     + {{(64 - ACC_W){1'b0}}, c_data[(q*COLS+y)*ACC_W +: ACC_W]};
        end
      end
    end
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      or0_q <= 32'd0; oc0_q <= 32'd0; orow_q <= 32'd0; out_done_q <= 1'b0;
      cyc_q <= 64'd0; first_q <= 64'd0; started_q <= 1'b0;
      done_o <= 1'b0; cycles_o <= 64'd0; beats_o <= 64'd0; errors_o <= 32'd0; sig_o <= 64'd0;
    end else begin
      cyc_q <= cyc_q + 64'd1;
      if (take && !started_q) begin
        started_q <= 1'b1;
        first_q   <= cyc_q;
      end
      if (c_valid && files_i) begin
        beats_o <= beats_o + 64'd1;
        if (c_fd != 0) $fwrite(c_fd, "%h\n", {c_last, c_keep, c_data});
        if (beats_o + 64'd1 == beats_out_i) begin
          done_o   <= 1'b1;
          cycles_o <= cyc_q - first_q + 64'd1;
        end
      end else if (c_valid) begin
        beats_o <= beats_o + 64'd1;
        if (out_done_q || c_keep != want_keep || c_last != want_last) begin
          errors_o <= errors_o + 32'd1;
        end
        if (!out_done_q) sig_o <= sig_next;
        if (!want_last) begin
          orow_q <= orow_q + OUT_ROWS;
        end else begin
          orow_q <= 32'd0;
          if (oc0_q + COLS < n_i) begin
            oc0_q <= oc0_q + COLS;
          end else begin
            oc0_q <= 32'd0;
            if (or0_q + ROWS < m_i) begin
              or0_q <= or0_q + ROWS;
            end else begin
              out_done_q <= 1'b1;
              done_o     <= 1'b1;
              cycles_o   <= cyc_q - first_q + 64'd1;
            end
          end
        end
      end
    end
  end

endmodule

// Icarus: the clock, the reset and the plusargs +M= +K= +N= +MAXCYC= (or +BEATS_IN= +BEATS_OUT=
// and the files); prints the report.
module systolic_accel_bench_tb;
  parameter integer ROWS = 4, COLS = 4, DATA_W = 8, ACC_W = 32, MUL_REG = 0,
                    FIFO_DEPTH = ROWS + COLS + 2 + MUL_REG, OUT_ROWS = 1, SHADOWS = 1;

  reg clk = 1'b0, rst_n = 1'b0;
  reg [31:0] m = 32'd1, k = 32'd1, n = 32'd1;
  reg [63:0] maxcyc = 64'd0, cyc = 64'd0, beats_in = 64'd0, beats_out = 64'd0;
  reg files = 1'b0;
  wire done;
  wire [63:0] cycles, beats, sig;
  wire [31:0] errors;

  systolic_accel_bench #(
    .ROWS (ROWS), .COLS (COLS), .DATA_W (DATA_W), .ACC_W (ACC_W), .FIFO_DEPTH (FIFO_DEPTH),
    .OUT_ROWS (OUT_ROWS), .SHADOWS (SHADOWS), .MUL_REG (MUL_REG)
  ) u_bench (
    .clk_i (clk), .rst_ni (rst_n), .m_i (m), .k_i (k), .n_i (n), .files_i (files),
    .beats_in_i (beats_in), .beats_out_i (beats_out), .done_o (done),
    .cycles_o (cycles), .beats_o (beats), .errors_o (errors), .sig_o (sig)
  );

  always #5 clk = ~clk;

  initial begin
    if (!$value$plusargs("M=%d", m)) m = 32'd1;
    if (!$value$plusargs("K=%d", k)) k = 32'd1;
    if (!$value$plusargs("N=%d", n)) n = 32'd1;
    if (!$value$plusargs("MAXCYC=%d", maxcyc)) maxcyc = 64'd1000000;
    if ($value$plusargs("BEATS_IN=%d", beats_in)) files = 1'b1;
    if (!$value$plusargs("BEATS_OUT=%d", beats_out)) beats_out = 64'd0;
    repeat (2) @(negedge clk);
    rst_n = 1'b1;
    while (!done && cyc < maxcyc) begin
      @(negedge clk);
      cyc = cyc + 64'd1;
    end
    repeat (2) @(negedge clk);  // beats beyond the last are counted as errors
    if (u_bench.c_fd != 0) $fclose(u_bench.c_fd);
    $display("DONE %0d", done);
    $display("CYCLES %0d", cycles);
    $display("BEATS %0d", beats);
    $display("ERRORS %0d", errors);
    $display("SIG %016h", sig);
    $finish;
  end
endmodule

`default_nettype wire
