// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_pe: one processing element (PE) of the output-stationary systolic array.
//
// The PE owns one accumulator. Each cycle it receives an operand a from the west (with a valid
// bit and the two stream flags first/last) and an operand b from the north (with a valid bit),
// and registers all of them unchanged towards the east (a) and the south (b).
//
// State: every register of the PE is a `_q` register below, and each output port is a plain
// copy of one of them (`assign x_o = x_q;`), never read back inside the PE:
//   a_q, a_vld_q, a_first_q, a_last_q  -> a_o, a_vld_o, a_first_o, a_last_o  (forwarded east)
//   b_q, b_vld_q                       -> b_o, b_vld_o                        (forwarded south)
//   acc_q                              -> acc_o                               (accumulator)
//   res_q, res_vld_q                   -> res_o, res_vld_o                    (result, strobe)
//   g_mul_reg.prod_q, fire_q, first_q, last_q                                 (MUL_REG = 1 only)
// All of them are cleared by rst_ni (asynchronous, active low) and change only at a rising edge
// of clk_i otherwise.
//
// When both operands are valid (a "pair" fires) at a rising edge t:
//   acc_q <= (first ? 0 : acc_q) + sext(a * b)          -- wraps modulo 2^ACC_W
//   if last: res_q <= that same new sum, res_vld_q <= 1   -- for exactly one cycle
// res_q holds a finished sum until the next pair with `last` fires, so the next accumulation can
// run while the previous result is still readable. Flags of a non-firing cycle are ignored.
//
// MUL_REG (0 or 1) is the number of registers between the multiplier and the accumulator's
// adder. With MUL_REG = 0 the update above happens at edge t itself (multiply and add in one
// cycle). With MUL_REG = 1 edge t only registers the sign-extended product with the pair's fire,
// first and last bits (prod_q, fire_q, first_q, last_q), and the update above, made from those
// registers, happens at edge t+1; a pair may fire at every edge, so products still follow each
// other with no idle cycle. The forwarding registers are the same in both cases.
//
// FPGA mapping (MUL_REG = 1 only): when the Verilog define ECP5_DSP_PRODUCT_REG is set, which only
// the FPGA flow does (bench/fpga.py, for the Lattice ECP5), prod_q is replaced by the output
// register of a MULT18X18D DSP block (rtl/fpga/systolic_pe_mult_ecp5.v: operands sign-extended
// to 18 bits, RESETMODE "ASYNC" with RST0 = ~rst_ni, GSR "DISABLED"), sign-extended after it;
// Yosys's synth_ecp5 does not infer that register from the behavioural code. The cycle behaviour
// is the same: formal/run.py's prove_dsp_equivalent proves the two equivalent. Simulation
// (Icarus, Verilator) never sets the define and runs the behavioural code below.
//
// Timing: a value presented on a_i/b_i before rising edge t is in a_q/b_q (seen on a_o/b_o by
// the next PE) before rising edge t+1, and its effect on acc_q/res_q/res_vld_q (acc_o/res_o/
// res_vld_o) is visible right after edge t + MUL_REG.
//
// Naming: parameters and localparams are UPPER_SNAKE_CASE; registers end in _q.

`default_nettype none

module systolic_pe #(
  parameter integer DATA_W  = 8,  // operand width in bits; operands are signed two's complement
  parameter integer ACC_W   = 32, // accumulator width in bits; >= 2*DATA_W, wraps modulo 2^ACC_W
  parameter integer MUL_REG = 0   // registers between multiplier and adder (0 or 1): the latency
) (
  input  wire                     clk_i,      // clock, all state changes on the rising edge
  input  wire                     rst_ni,     // asynchronous reset, active low: clears all state
  // West side: operand a and the stream flags travelling with it.
  input  wire signed [DATA_W-1:0] a_i,        // operand a
  input  wire                     a_vld_i,    // a_i is valid
  input  wire                     a_first_i,  // this pair starts a new accumulation
  input  wire                     a_last_i,   // this pair ends the accumulation (capture result)
  // North side: operand b.
  input  wire signed [DATA_W-1:0] b_i,        // operand b
  input  wire                     b_vld_i,    // b_i is valid
  // East side: a and its flags, registered (seen by the east neighbour one cycle later).
  output wire signed [DATA_W-1:0] a_o,        // operand a
  output wire                     a_vld_o,    // a_o is valid
  output wire                     a_first_o,  // first flag travelling with a_o
  output wire                     a_last_o,   // last flag travelling with a_o
  // South side: b, registered (seen by the south neighbour one cycle later).
  output wire signed [DATA_W-1:0] b_o,        // operand b
  output wire                     b_vld_o,    // b_o is valid
  // Accumulator and result.
  output wire signed [ACC_W-1:0]  acc_o,      // running accumulator
  output wire signed [ACC_W-1:0]  res_o,      // last finished sum, held until the next one
  output wire                     res_vld_o   // res_o was captured at the previous rising edge
);

  localparam integer PROD_W = 2 * DATA_W;  // width of the full-precision signed product

  // Elaboration-time checks, the same ranges as the array's (which checks its own parameters the
  // same way). Under Verilator an elaboration-time $error or $fatal is a warning, which
  // -Wno-fatal lets through; a constant function that executes $fatal cannot be evaluated, which
  // is an error whatever the warning options, and the message is printed. Icarus 11 has no
  // elaboration-time $error, so there an illegal value instantiates a module that does not
  // exist, whose name is the message.
`ifdef VERILATOR
  function automatic integer param_error(input string msg);
    $fatal(1, "%s", msg);
    param_error = 0;
  endfunction
`endif
  generate
    if (DATA_W < 2 || DATA_W > 16 || ACC_W < PROD_W || ACC_W > 64) begin : g_err_widths
`ifdef VERILATOR
      localparam integer PARAM_ERROR =
          param_error("systolic_pe: need 2 <= DATA_W <= 16 and 2*DATA_W <= ACC_W <= 64");
`else
      systolic_pe__need_DATA_W_le_16_and_2xDATA_W_le_ACC_W_le_64 u_param_error ();
`endif
    end
    if (MUL_REG < 0 || MUL_REG > 1) begin : g_err_mul_reg
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_pe: MUL_REG must be 0 or 1");
`else
      systolic_pe__MUL_REG_must_be_0_or_1 u_param_error ();
`endif
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // State registers.
  // ---------------------------------------------------------------------------------------------
  reg signed [DATA_W-1:0] a_q;        // operand a, forwarded east
  reg                     a_vld_q;    // its valid
  reg                     a_first_q;  // its first flag
  reg                     a_last_q;   // its last flag
  reg signed [DATA_W-1:0] b_q;        // operand b, forwarded south
  reg                     b_vld_q;    // its valid
  reg signed [ACC_W-1:0]  acc_q;      // accumulator
  reg signed [ACC_W-1:0]  res_q;      // result: the last finished sum
  reg                     res_vld_q;  // result strobe

  // Full-precision signed product, then sign-extended to the accumulator width.
  wire signed [PROD_W-1:0] prod = a_i * b_i;
  wire signed [ACC_W-1:0] prod_ext;
  generate
    if (ACC_W > PROD_W) begin : g_sext
      assign prod_ext = {{(ACC_W - PROD_W){prod[PROD_W-1]}}, prod};
    end else begin : g_no_sext  // ACC_W == 2*DATA_W (smaller widths are rejected above)
      assign prod_ext = prod;
    end
  endgenerate

  wire fire = a_vld_i & b_vld_i;

  // The pair that updates the accumulator at this edge: the one at the inputs (MUL_REG = 0), or
  // the one registered at the previous edge (MUL_REG = 1).
  wire                    mac_fire;
  wire                    mac_first;
  wire                    mac_last;
  wire signed [ACC_W-1:0] mac_prod;
  generate
    if (MUL_REG == 1) begin : g_mul_reg
      reg signed [ACC_W-1:0] prod_q;   // sign-extended product of the pair at the last edge
      reg                    fire_q;   // that pair fired
      reg                    first_q;  // its first flag
      reg                    last_q;   // its last flag

      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          prod_q  <= {ACC_W{1'b0}};
          fire_q  <= 1'b0;
          first_q <= 1'b0;
          last_q  <= 1'b0;
        end else begin
          prod_q  <= prod_ext;
          fire_q  <= fire;
          first_q <= a_first_i;
          last_q  <= a_last_i;
        end
      end

      assign mac_fire  = fire_q;
      assign mac_first = first_q;
      assign mac_last  = last_q;
`ifdef ECP5_DSP_PRODUCT_REG
      // FPGA flow only (bench/fpga.py defines ECP5_DSP_PRODUCT_REG): the product register inside
      // the ECP5's MULT18X18D (rtl/fpga/systolic_pe_mult_ecp5.v), sign-extended after it. It
      // holds what prod_q holds (proven: formal/run.py prove_dsp_equivalent); prod_q is then
      // unused and synthesis removes it.
      wire unused_prod_q = ^prod_q;  // prod_q is unused here on purpose (lint)
      wire signed [PROD_W-1:0] prod_dsp_q;  // a_i * b_i of the last edge, in the DSP block
      systolic_pe_mult_ecp5 #(
        .DATA_W(DATA_W)
      ) u_mult (
        .clk_i (clk_i),
        .rst_ni(rst_ni),
        .a_i   (a_i),
        .b_i   (b_i),
        .p_o   (prod_dsp_q)
      );
      if (ACC_W > PROD_W) begin : g_dsp_sext
        assign mac_prod = {{(ACC_W - PROD_W){prod_dsp_q[PROD_W-1]}}, prod_dsp_q};
      end else begin : g_dsp_no_sext
        assign mac_prod = prod_dsp_q;
      end
`else
      assign mac_prod  = prod_q;
`endif
    end else begin : g_mul_comb
      assign mac_fire  = fire;
      assign mac_first = a_first_i;
      assign mac_last  = a_last_i;
      assign mac_prod  = prod_ext;
    end
  endgenerate

  wire signed [ACC_W-1:0] acc_base = mac_first ? {ACC_W{1'b0}} : acc_q;
  wire signed [ACC_W-1:0] acc_next = acc_base + mac_prod;

  // Forwarding registers: operands and flags move on unconditionally, valid or not.
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_q       <= {DATA_W{1'b0}};
      a_vld_q   <= 1'b0;
      a_first_q <= 1'b0;
      a_last_q  <= 1'b0;
      b_q       <= {DATA_W{1'b0}};
      b_vld_q   <= 1'b0;
    end else begin
      a_q       <= a_i;
      a_vld_q   <= a_vld_i;
      a_first_q <= a_first_i;
      a_last_q  <= a_last_i;
      b_q       <= b_i;
      b_vld_q   <= b_vld_i;
    end
  end

  // Accumulator, result and result strobe.
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q     <= {ACC_W{1'b0}};
      res_q     <= {ACC_W{1'b0}};
      res_vld_q <= 1'b0;
    end else begin
      res_vld_q <= mac_fire & mac_last;
      if (mac_fire) begin
        acc_q <= acc_next;
        if (mac_last) begin
          res_q <= acc_next;
        end
      end
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Outputs: each a copy of one register.
  // ---------------------------------------------------------------------------------------------
  assign a_o       = a_q;
  assign a_vld_o   = a_vld_q;
  assign a_first_o = a_first_q;
  assign a_last_o  = a_last_q;
  assign b_o       = b_q;
  assign b_vld_o   = b_vld_q;
  assign acc_o     = acc_q;
  assign res_o     = res_q;
  assign res_vld_o = res_vld_q;

endmodule

`default_nettype wire
