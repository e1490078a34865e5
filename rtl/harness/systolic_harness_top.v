// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_harness_top: systolic_harness with its clock generated in HDL (period 10 ns), for the
// cocotb fast path on Verilator (built with --timing): the simulator advances the clock itself,
// with no GPI clock callback per edge. Same ports as systolic_harness minus clk_i; the clock is
// visible as `clk`.
//
// Naming: parameters are UPPER_SNAKE_CASE (those of systolic_harness).

`timescale 1ns / 1ps
`default_nettype none

module systolic_harness_top #(
  parameter integer ROWS   = 4,
  parameter integer COLS   = 4,
  parameter integer DATA_W = 8,
  parameter integer ACC_W  = 32,
  parameter integer MUL_REG = 0,
  parameter integer DEPTH  = 65536,
  parameter integer CHECK  = 1,
  parameter integer DUMP   = 0   // 1: dump strobed results to +SYSTOLIC_RES=<path>
) (
  input  wire                    rst_ni,
  input  wire [31:0]             seg_i,
  input  wire [31:0]             rows_i,
  input  wire [31:0]             total_i,
  output wire                    need_o,
  output wire                    done_o,
  output wire [31:0]             n_smp_o,
  output wire [31:0]             last_vld_o,
  output wire [64*ROWS*COLS-1:0] sig_acc_o,
  output wire [64*ROWS*COLS-1:0] sig_res_o,
  output wire [64*ROWS-1:0]      sig_vld_o
);
  reg clk = 1'b0;
  always #5 clk = ~clk;

  systolic_harness #(
    .ROWS (ROWS), .COLS (COLS), .DATA_W (DATA_W), .ACC_W (ACC_W), .DEPTH (DEPTH), .CHECK (CHECK),
    .DUMP (DUMP), .MUL_REG (MUL_REG)
  ) u_h (
    .clk_i (clk), .rst_ni (rst_ni), .seg_i (seg_i), .rows_i (rows_i), .total_i (total_i),
    .need_o (need_o), .done_o (done_o), .n_smp_o (n_smp_o), .last_vld_o (last_vld_o),
    .sig_acc_o (sig_acc_o), .sig_res_o (sig_res_o), .sig_vld_o (sig_vld_o)
  );
endmodule

`default_nettype wire
