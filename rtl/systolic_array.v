// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_array: a ROWS x COLS output-stationary systolic array computing C = A * B.
//
// PE(i,j) (generate block g_row[i].g_col[j].u_pe) accumulates C[i][j]. Operands of A enter at
// the west edge, one lane per row; operands of B enter at the north edge, one lane per column.
// Each PE forwards a to the east and b to the south through a register.
//
// State: none of its own. Every register is inside a PE (systolic_pe.v); this module only wires
// the PEs together, connects the edge lanes to them, and gathers the PEs' acc_o/res_o/res_vld_o
// into the flat output buses (combinational copies, no register in between).
//
// Lane order of the packed buses (lane 0 in the least significant bits):
//   a_i[i*DATA_W +: DATA_W]                         row i of A      (i = 0 .. ROWS-1)
//   b_i[j*DATA_W +: DATA_W]                         column j of B   (j = 0 .. COLS-1)
//   a_vld_i[i], a_first_i[i], a_last_i[i]           flags of west lane i
//   b_vld_i[j]                                      valid of north lane j
//   acc_o[(i*COLS+j)*ACC_W +: ACC_W], res_o[...]    PE(i,j)'s accumulator and result
//   res_vld_o[i*COLS+j]                             PE(i,j)'s result strobe
//   a_o / b_o and their flags                       the east / south edge (for chaining arrays)
//
// TIMING CONTRACT (the skew is applied by the driver, not by this module; models/skew.py is the
// executable form of this contract):
//   Cycle t is the clock period that ends with rising edge t; inputs for cycle t are applied
//   before edge t. A product is streamed as K steps; step k is issued at stream step s_k
//   (s_k = s_0 + k without bubbles). Then
//     * A[i][k] (with a_vld_i[i]=1, a_first_i[i]=(k==0), a_last_i[i]=(k==K-1)) is on lane i of
//       the west edge in cycle s_k + i;
//     * B[k][j] (with b_vld_i[j]=1) is on lane j of the north edge in cycle s_k + j;
//     * PE(i,j) sees A[i][k] and B[k][j] together in cycle s_k + i + j and adds their product at
//       rising edge s_k + i + j + L, where L = MUL_REG (0: multiply and add at the edge the pair
//       arrives; 1: the product is registered at that edge and added one edge later); acc_o shows
//       the new sum right after that edge;
//     * after the edge s_{K-1} + i + j + L, res_o holds C[i][j] and res_vld_o is 1 for exactly
//       one cycle; res_o keeps C[i][j] until the PE's next `last` pair is added.
//     * the east and south edges do not depend on MUL_REG (one register per PE and hop).
//   Products follow each other with no idle cycle: the first step of the next product may be
//   issued at the stream step after the last step of this one. A pair fires only when both of its
//   operands are valid; flags are ignored when it does not fire.
//   The accumulator wraps modulo 2^ACC_W (two's complement); operands are signed DATA_W bits.
//   rst_ni (asynchronous, active low) clears every register, including operands in flight.
//
// Naming: parameters and localparams are UPPER_SNAKE_CASE (ROWS, COLS, DATA_W, ACC_W, MUL_REG); genvars
// are i (row) and j (column); inter-PE nets are named after the PE port they feed, with suffix
// _h (horizontal, west to east) or _v (vertical, north to south).

`default_nettype none

module systolic_array #(
  parameter integer ROWS    = 4,  // PE rows = lanes of the west edge = rows of A per fold (1..32)
  parameter integer COLS    = 4,  // PE columns = lanes of the north edge = columns of B (1..32)
  parameter integer DATA_W  = 8,  // signed operand width in bits (2..16)
  parameter integer ACC_W   = 32, // accumulator width in bits (2*DATA_W..64), wraps modulo 2^ACC_W
  parameter integer MUL_REG = 0   // product register in each PE (0 or 1): L, the extra latency
) (
  input  wire                          clk_i,      // clock
  input  wire                          rst_ni,     // asynchronous reset, active low
  // West edge (A).
  input  wire [ROWS*DATA_W-1:0]        a_i,        // lane i = row i (each lane signed)
  input  wire [ROWS-1:0]               a_vld_i,    // lane valid
  input  wire [ROWS-1:0]               a_first_i,  // lane's pair starts a new accumulation
  input  wire [ROWS-1:0]               a_last_i,   // lane's pair ends the accumulation
  // North edge (B).
  input  wire [COLS*DATA_W-1:0]        b_i,        // lane j = column j (each lane signed)
  input  wire [COLS-1:0]               b_vld_i,    // lane valid
  // East and south edges (operands leaving the array, for chaining), same lane order.
  output wire [ROWS*DATA_W-1:0]        a_o,        // a leaving PE(i,COLS-1), lane i
  output wire [ROWS-1:0]               a_vld_o,    // its valid
  output wire [ROWS-1:0]               a_first_o,  // its first flag
  output wire [ROWS-1:0]               a_last_o,   // its last flag
  output wire [COLS*DATA_W-1:0]        b_o,        // b leaving PE(ROWS-1,j), lane j
  output wire [COLS-1:0]               b_vld_o,    // its valid
  // PE state, PE(i,j) at index i*COLS+j.
  output reg  [ROWS*COLS*ACC_W-1:0]    acc_o,      // running accumulators
  output reg  [ROWS*COLS*ACC_W-1:0]    res_o,      // finished sums
  output reg  [ROWS*COLS-1:0]          res_vld_o   // result strobes
);

  // ---------------------------------------------------------------------------------------------
  // Elaboration-time parameter checks.
  // ---------------------------------------------------------------------------------------------
  // Under Verilator an elaboration-time $error or $fatal is a warning, which -Wno-fatal lets
  // through; a constant function that executes $fatal cannot be evaluated, which is an error
  // whatever the warning options, and the message is printed. Icarus 11 has no elaboration-time
  // $error, so there an illegal value instantiates a module that does not exist, whose name is
  // the message.
`ifdef VERILATOR
  function automatic integer param_error(input string msg);
    $fatal(1, "%s", msg);
    param_error = 0;
  endfunction
  `define SYSTOLIC_PARAM_ERROR(name, msg) localparam integer PARAM_ERROR = param_error(msg);
`else
  `define SYSTOLIC_PARAM_ERROR(name, msg) name u_param_error ();
`endif
  generate
    if (ROWS < 1 || ROWS > 32) begin : g_err_rows
      `SYSTOLIC_PARAM_ERROR(systolic_array__ROWS_must_be_1_to_32,
                            "systolic_array: ROWS must be 1..32")
    end
    if (COLS < 1 || COLS > 32) begin : g_err_cols
      `SYSTOLIC_PARAM_ERROR(systolic_array__COLS_must_be_1_to_32,
                            "systolic_array: COLS must be 1..32")
    end
    if (DATA_W < 2 || DATA_W > 16) begin : g_err_data_w
      `SYSTOLIC_PARAM_ERROR(systolic_array__DATA_W_must_be_2_to_16,
                            "systolic_array: DATA_W must be 2..16")
    end
    if (ACC_W < 2 * DATA_W || ACC_W > 64) begin : g_err_acc_w
      `SYSTOLIC_PARAM_ERROR(systolic_array__ACC_W_must_be_2xDATA_W_to_64,
                            "systolic_array: ACC_W must be 2*DATA_W..64")
    end
    if (MUL_REG < 0 || MUL_REG > 1) begin : g_err_mul_reg
      `SYSTOLIC_PARAM_ERROR(systolic_array__MUL_REG_must_be_0_or_1,
                            "systolic_array: MUL_REG must be 0 or 1")
    end
  endgenerate
`undef SYSTOLIC_PARAM_ERROR

  // ---------------------------------------------------------------------------------------------
  // Inter-PE wiring: column c of the horizontal nets is the west input of PE(i,c); column COLS is
  // the east edge. Likewise row r of the vertical nets is the north input of PE(r,j).
  // ---------------------------------------------------------------------------------------------
  wire signed [DATA_W-1:0] a_h       [0:ROWS-1][0:COLS];
  wire                     a_vld_h   [0:ROWS-1][0:COLS];
  wire                     a_first_h [0:ROWS-1][0:COLS];
  wire                     a_last_h  [0:ROWS-1][0:COLS];
  wire signed [DATA_W-1:0] b_v       [0:ROWS][0:COLS-1];
  wire                     b_vld_v   [0:ROWS][0:COLS-1];

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_west
      assign a_h[i][0]       = a_i[i*DATA_W +: DATA_W];
      assign a_vld_h[i][0]   = a_vld_i[i];
      assign a_first_h[i][0] = a_first_i[i];
      assign a_last_h[i][0]  = a_last_i[i];
      assign a_o[i*DATA_W +: DATA_W] = a_h[i][COLS];
      assign a_vld_o[i]   = a_vld_h[i][COLS];
      assign a_first_o[i] = a_first_h[i][COLS];
      assign a_last_o[i]  = a_last_h[i][COLS];
    end
    for (j = 0; j < COLS; j = j + 1) begin : g_north
      assign b_v[0][j]     = b_i[j*DATA_W +: DATA_W];
      assign b_vld_v[0][j] = b_vld_i[j];
      assign b_o[j*DATA_W +: DATA_W] = b_v[ROWS][j];
      assign b_vld_o[j] = b_vld_v[ROWS][j];
    end

    for (i = 0; i < ROWS; i = i + 1) begin : g_row
      for (j = 0; j < COLS; j = j + 1) begin : g_col
        wire [ACC_W-1:0] acc;
        wire [ACC_W-1:0] res;
        wire             res_vld;

        systolic_pe #(
          .DATA_W  (DATA_W),
          .ACC_W   (ACC_W),
          .MUL_REG (MUL_REG)
        ) u_pe (
          .clk_i     (clk_i),
          .rst_ni    (rst_ni),
          .a_i       (a_h[i][j]),
          .a_vld_i   (a_vld_h[i][j]),
          .a_first_i (a_first_h[i][j]),
          .a_last_i  (a_last_h[i][j]),
          .b_i       (b_v[i][j]),
          .b_vld_i   (b_vld_v[i][j]),
          .a_o       (a_h[i][j+1]),
          .a_vld_o   (a_vld_h[i][j+1]),
          .a_first_o (a_first_h[i][j+1]),
          .a_last_o  (a_last_h[i][j+1]),
          .b_o       (b_v[i+1][j]),
          .b_vld_o   (b_vld_v[i+1][j]),
          .acc_o     (acc),
          .res_o     (res),
          .res_vld_o (res_vld)
        );

        // One always block per slice into an output reg: Icarus runs far slower when the flat
        // output buses are built from ROWS*COLS continuous part-select assigns.
        always @* begin
          acc_o[(i*COLS+j)*ACC_W +: ACC_W] = acc;
          res_o[(i*COLS+j)*ACC_W +: ACC_W] = res;
          res_vld_o[i*COLS+j]              = res_vld;
        end
      end
    end
  endgenerate

endmodule

`default_nettype wire
