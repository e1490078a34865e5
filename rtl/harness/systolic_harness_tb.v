// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// Raw Icarus testbench (no Python): plays one stimulus segment through systolic_harness and
// prints the sampled cycles, the last strobe cycle and the signatures. Plusargs:
// +SYSTOLIC_STIM=<hex file> +ROWS_N=<rows in the file> +TOTAL=<cycles to sample>.
//
// Naming: parameters are UPPER_SNAKE_CASE (those of systolic_harness).

`timescale 1ns / 1ps
`default_nettype none

module systolic_harness_tb;
  parameter integer ROWS = 4, COLS = 4, DATA_W = 8, ACC_W = 32, DEPTH = 65536, CHECK = 1;
  parameter integer MUL_REG = 0;

  reg clk = 1'b0, rst_n = 1'b0;
  reg [31:0] seg = 32'd0, rows_n = 32'd0, total = 32'd0;
  wire need, done;
  wire [31:0] n_smp, last_vld;
  wire [64*ROWS*COLS-1:0] sig_acc, sig_res;
  wire [64*ROWS-1:0] sig_vld;

  systolic_harness #(
    .ROWS (ROWS), .COLS (COLS), .DATA_W (DATA_W), .ACC_W (ACC_W), .DEPTH (DEPTH), .CHECK (CHECK),
    .MUL_REG (MUL_REG)
  ) u_h (
    .clk_i (clk), .rst_ni (rst_n), .seg_i (seg), .rows_i (rows_n), .total_i (total),
    .need_o (need), .done_o (done), .n_smp_o (n_smp), .last_vld_o (last_vld),
    .sig_acc_o (sig_acc), .sig_res_o (sig_res), .sig_vld_o (sig_vld)
  );

  always #5 clk = ~clk;

  initial begin
    if (!$value$plusargs("ROWS_N=%d", rows_n)) rows_n = 0;
    if (!$value$plusargs("TOTAL=%d", total)) total = 0;
    repeat (2) @(negedge clk);
    rst_n = 1'b1;
    @(negedge clk);
    seg = 32'd1;
    wait (done);
    $display("SAMPLED %0d", n_smp);
    $display("LAST_VLD %0d", last_vld);
    $display("SIG_ACC %h", sig_acc);
    $display("SIG_RES %h", sig_res);
    $display("SIG_VLD %h", sig_vld);
    $finish;
  end
endmodule

`default_nettype wire
