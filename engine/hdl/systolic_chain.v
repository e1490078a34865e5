// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_chain (test only): two systolic_array instances chained into one ROWS x COLS array.
//
//   SOUTH = 0: a ROWS x SPLIT array whose east edge feeds the west edge of a ROWS x (COLS-SPLIT)
//              array (the north edge is split between them, the south edges are concatenated);
//   SOUTH = 1: a SPLIT x COLS array whose south edge feeds the north edge of a (ROWS-SPLIT) x COLS
//              array (the west edge is split, the east edges are concatenated).
//
// Its ports are those of systolic_array for ROWS x COLS, in the same lane order (PE(i,j) of the
// combined array at index i*COLS+j), so the unchanged testbench drives it with the skew of the
// combined array and checks every PE, every edge lane and every result. That holds only if the
// edge outputs of systolic_array carry its west/north inputs COLS/ROWS cycles later, which is
// what the chaining contract in docs/architecture.md promises.
//
// State: none of its own (acc_o/res_o/res_vld_o are combinational copies of the two arrays').
// Naming: parameters and localparams are UPPER_SNAKE_CASE; the genvar i is the row.

`default_nettype none

module systolic_chain #(
  parameter integer ROWS   = 3,
  parameter integer COLS   = 5,
  parameter integer DATA_W = 8,
  parameter integer ACC_W  = 32,
  parameter integer MUL_REG = 0, // both arrays' product register (0 or 1)
  parameter integer SOUTH  = 0,  // 0: chained east into west, 1: south into north
  parameter integer SPLIT  = 2   // columns (SOUTH=0) or rows (SOUTH=1) of the first array
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  input  wire [ROWS*DATA_W-1:0]     a_i,
  input  wire [ROWS-1:0]            a_vld_i,
  input  wire [ROWS-1:0]            a_first_i,
  input  wire [ROWS-1:0]            a_last_i,
  input  wire [COLS*DATA_W-1:0]     b_i,
  input  wire [COLS-1:0]            b_vld_i,
  output wire [ROWS*DATA_W-1:0]     a_o,
  output wire [ROWS-1:0]            a_vld_o,
  output wire [ROWS-1:0]            a_first_o,
  output wire [ROWS-1:0]            a_last_o,
  output wire [COLS*DATA_W-1:0]     b_o,
  output wire [COLS-1:0]            b_vld_o,
  output reg  [ROWS*COLS*ACC_W-1:0] acc_o,
  output reg  [ROWS*COLS*ACC_W-1:0] res_o,
  output reg  [ROWS*COLS-1:0]       res_vld_o
);

  localparam integer W = DATA_W;

  genvar i;
  generate
    if (SOUTH == 0) begin : g_east_west
      localparam integer C1 = SPLIT;
      localparam integer C2 = COLS - SPLIT;
      // The first array's east edge, which is the second array's west edge.
      wire [ROWS*W-1:0]        a_mid;
      wire [ROWS-1:0]          vld_mid, fst_mid, lst_mid;
      wire [ROWS*C1*ACC_W-1:0] acc1, res1;
      wire [ROWS*C2*ACC_W-1:0] acc2, res2;
      wire [ROWS*C1-1:0]       rv1;
      wire [ROWS*C2-1:0]       rv2;

      systolic_array #(.ROWS(ROWS), .COLS(C1), .DATA_W(DATA_W), .ACC_W(ACC_W), .MUL_REG(MUL_REG)) u_first (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .a_i(a_i), .a_vld_i(a_vld_i), .a_first_i(a_first_i), .a_last_i(a_last_i),
        .b_i(b_i[C1*W-1:0]), .b_vld_i(b_vld_i[C1-1:0]),
        .a_o(a_mid), .a_vld_o(vld_mid), .a_first_o(fst_mid), .a_last_o(lst_mid),
        .b_o(b_o[C1*W-1:0]), .b_vld_o(b_vld_o[C1-1:0]),
        .acc_o(acc1), .res_o(res1), .res_vld_o(rv1)
      );
      systolic_array #(.ROWS(ROWS), .COLS(C2), .DATA_W(DATA_W), .ACC_W(ACC_W), .MUL_REG(MUL_REG)) u_second (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .a_i(a_mid), .a_vld_i(vld_mid), .a_first_i(fst_mid), .a_last_i(lst_mid),
        .b_i(b_i[COLS*W-1:C1*W]), .b_vld_i(b_vld_i[COLS-1:C1]),
        .a_o(a_o), .a_vld_o(a_vld_o), .a_first_o(a_first_o), .a_last_o(a_last_o),
        .b_o(b_o[COLS*W-1:C1*W]), .b_vld_o(b_vld_o[COLS-1:C1]),
        .acc_o(acc2), .res_o(res2), .res_vld_o(rv2)
      );
      // Row i of the combined array: the first array's row i, then the second's.
      for (i = 0; i < ROWS; i = i + 1) begin : g_row
        always @* begin
          acc_o[i*COLS*ACC_W +: C1*ACC_W]      = acc1[i*C1*ACC_W +: C1*ACC_W];
          acc_o[(i*COLS+C1)*ACC_W +: C2*ACC_W] = acc2[i*C2*ACC_W +: C2*ACC_W];
          res_o[i*COLS*ACC_W +: C1*ACC_W]      = res1[i*C1*ACC_W +: C1*ACC_W];
          res_o[(i*COLS+C1)*ACC_W +: C2*ACC_W] = res2[i*C2*ACC_W +: C2*ACC_W];
          res_vld_o[i*COLS +: C1]              = rv1[i*C1 +: C1];
          res_vld_o[i*COLS+C1 +: C2]           = rv2[i*C2 +: C2];
        end
      end
    end else begin : g_north_south
      localparam integer R1 = SPLIT;
      localparam integer R2 = ROWS - SPLIT;
      // The first array's south edge, which is the second array's north edge.
      wire [COLS*W-1:0]        b_mid;
      wire [COLS-1:0]          vld_mid;
      wire [R1*COLS*ACC_W-1:0] acc1, res1;
      wire [R2*COLS*ACC_W-1:0] acc2, res2;
      wire [R1*COLS-1:0]       rv1;
      wire [R2*COLS-1:0]       rv2;

      systolic_array #(.ROWS(R1), .COLS(COLS), .DATA_W(DATA_W), .ACC_W(ACC_W), .MUL_REG(MUL_REG)) u_first (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .a_i(a_i[R1*W-1:0]), .a_vld_i(a_vld_i[R1-1:0]),
        .a_first_i(a_first_i[R1-1:0]), .a_last_i(a_last_i[R1-1:0]),
        .b_i(b_i), .b_vld_i(b_vld_i),
        .a_o(a_o[R1*W-1:0]), .a_vld_o(a_vld_o[R1-1:0]),
        .a_first_o(a_first_o[R1-1:0]), .a_last_o(a_last_o[R1-1:0]),
        .b_o(b_mid), .b_vld_o(vld_mid),
        .acc_o(acc1), .res_o(res1), .res_vld_o(rv1)
      );
      systolic_array #(.ROWS(R2), .COLS(COLS), .DATA_W(DATA_W), .ACC_W(ACC_W), .MUL_REG(MUL_REG)) u_second (
        .clk_i(clk_i), .rst_ni(rst_ni),
        .a_i(a_i[ROWS*W-1:R1*W]), .a_vld_i(a_vld_i[ROWS-1:R1]),
        .a_first_i(a_first_i[ROWS-1:R1]), .a_last_i(a_last_i[ROWS-1:R1]),
        .b_i(b_mid), .b_vld_i(vld_mid),
        .a_o(a_o[ROWS*W-1:R1*W]), .a_vld_o(a_vld_o[ROWS-1:R1]),
        .a_first_o(a_first_o[ROWS-1:R1]), .a_last_o(a_last_o[ROWS-1:R1]),
        .b_o(b_o), .b_vld_o(b_vld_o),
        .acc_o(acc2), .res_o(res2), .res_vld_o(rv2)
      );
      // Rows 0..R1-1 of the combined array are the first array's, the rest the second's.
      always @* begin
        acc_o     = {acc2, acc1};
        res_o     = {res2, res1};
        res_vld_o = {rv2, rv1};
      end
    end
  endgenerate

endmodule

`default_nettype wire
