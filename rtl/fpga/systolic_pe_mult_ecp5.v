// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_pe_mult_ecp5: the PE's registered product (MUL_REG = 1) in one Lattice ECP5
// MULT18X18D, with the register inside the DSP block instead of in fabric flip-flops.
//
// Used only when the FPGA flow (bench/fpga.py) defines ECP5_DSP_PRODUCT_REG: systolic_pe.v then
// instantiates this module in place of its behavioural `prod_q <= a_i * b_i`. Simulation
// (Icarus, Verilator) never sets the define and runs the behavioural PE. Yosys's synth_ecp5 does
// not infer the MULT18X18D's own registers from the behavioural RTL (docs/gemm.md), hence the
// instance.
//
// Behaviour: p_o is the signed product a_i * b_i of the operands present before a rising edge of
// clk_i, from right after that edge on (one register between operands and p_o); rst_ni
// (asynchronous, active low) clears p_o to zero. That is exactly the behavioural PE's prod_q
// (before its sign extension to ACC_W), which formal/run.py's prove_dsp_equivalent proves with
// the model of the primitive in rtl/fpga/mult18x18d_model.v.
//
// Mapping: operands sign-extended to the primitive's 18 bits and multiplied signed
// (SIGNEDA = SIGNEDB = 1, parallel inputs: SOURCEA = SOURCEB = 0); the low 2*DATA_W bits of the
// 36-bit product are the full-precision product. One register, clocked by CLK0 with CE0 = 1 and
// reset by RST0 = ~rst_ni, RESETMODE "ASYNC", GSR "DISABLED"; REG picks where it sits:
//   "OUTPUT"   REG_OUTPUT   (after the multiplier; the default)
//   "PIPELINE" REG_PIPELINE (inside the multiplier)
//   "INPUT"    REG_INPUTA and REG_INPUTB (before the multiplier)
// All three give the same cycle behaviour (the multiplier is combinational between them). The PE
// uses the default: nextpnr times a REG_PIPELINE-only multiplier as combinational, and with
// REG_INPUT the multiplication is on the adder's path (measured: docs/gemm.md, FPGA).

`default_nettype none

module systolic_pe_mult_ecp5 #(
  parameter integer DATA_W = 8,        // operand width in bits, signed; 2..18
  parameter [63:0]  REG    = "OUTPUT"  // where the product register sits (see above)
) (
  input  wire                       clk_i,   // clock
  input  wire                       rst_ni,  // asynchronous reset, active low: clears p_o
  input  wire signed [DATA_W-1:0]   a_i,     // operand a
  input  wire signed [DATA_W-1:0]   b_i,     // operand b
  output wire signed [2*DATA_W-1:0] p_o      // a_i * b_i, registered
);

  // Elaboration-time checks: the 18x18 primitive covers up to 18 signed bits per operand, and
  // REG must be one of the three placements. The same idiom as systolic_pe.v's: under Verilator
  // a constant function that executes $fatal; under Yosys an instance of a module that does not
  // exist, whose name is the message.
`ifdef VERILATOR
  function automatic integer mult_param_error(input string msg);
    $fatal(1, "%s", msg);
    mult_param_error = 0;
  endfunction
`endif
  generate
    if (DATA_W < 2 || DATA_W > 18) begin : g_err_width
`ifdef VERILATOR
      localparam integer PARAM_ERROR = mult_param_error("systolic_pe_mult_ecp5: need 2 <= DATA_W <= 18");
`else
      systolic_pe_mult_ecp5__need_2_le_DATA_W_le_18 u_mult_param_error ();
`endif
    end
    if (REG != "OUTPUT" && REG != "PIPELINE" && REG != "INPUT") begin : g_err_reg
`ifdef VERILATOR
      localparam integer PARAM_ERROR =
          mult_param_error("systolic_pe_mult_ecp5: REG must be OUTPUT, PIPELINE or INPUT");
`else
      systolic_pe_mult_ecp5__REG_must_be_OUTPUT_PIPELINE_or_INPUT u_mult_param_error ();
`endif
    end
  endgenerate

  localparam REG_IN  = (REG == "INPUT")    ? "CLK0" : "NONE";
  localparam REG_PIP = (REG == "PIPELINE") ? "CLK0" : "NONE";
  localparam REG_OUT = (REG == "OUTPUT")   ? "CLK0" : "NONE";

  // Sign extension to the primitive's 18-bit operands (a no-op at DATA_W = 18).
  wire [17:0] a18 = {{(18 - DATA_W){a_i[DATA_W-1]}}, a_i};
  wire [17:0] b18 = {{(18 - DATA_W){b_i[DATA_W-1]}}, b_i};
  /* verilator lint_off UNUSEDSIGNAL */  // the product's bits above 2*DATA_W: sign copies
  wire [35:0] p36;
  /* verilator lint_on UNUSEDSIGNAL */
  wire        rst = ~rst_ni;  // the primitive's resets are active high

  // The pins left open are the ones the mapping does not use: the shift-chain inputs (SRIA,
  // SRIB: nextpnr cannot route a constant to them; Yosys's own MULT18X18D mapping leaves them open
  // as well), CLK1-3/CE1-3/RST1-3 and every output but P.
  /* verilator lint_off PINMISSING */
  MULT18X18D #(
    .REG_INPUTA_CLK(REG_IN), .REG_INPUTA_CE("CE0"), .REG_INPUTA_RST("RST0"),
    .REG_INPUTB_CLK(REG_IN), .REG_INPUTB_CE("CE0"), .REG_INPUTB_RST("RST0"),
    .REG_INPUTC_CLK("NONE"),
    .REG_PIPELINE_CLK(REG_PIP), .REG_PIPELINE_CE("CE0"), .REG_PIPELINE_RST("RST0"),
    .REG_OUTPUT_CLK(REG_OUT), .REG_OUTPUT_CE("CE0"), .REG_OUTPUT_RST("RST0"),
    .CLK0_DIV("ENABLED"), .CLK1_DIV("ENABLED"), .CLK2_DIV("ENABLED"), .CLK3_DIV("ENABLED"),
    .HIGHSPEED_CLK("NONE"), .GSR("DISABLED"), .CAS_MATCH_REG("FALSE"),
    .SOURCEB_MODE("B_SHIFT"), .MULT_BYPASS("DISABLED"), .RESETMODE("ASYNC")
  ) u_mult (
    .A0(a18[0]), .A1(a18[1]), .A2(a18[2]), .A3(a18[3]), .A4(a18[4]), .A5(a18[5]),
    .A6(a18[6]), .A7(a18[7]), .A8(a18[8]), .A9(a18[9]), .A10(a18[10]), .A11(a18[11]),
    .A12(a18[12]), .A13(a18[13]), .A14(a18[14]), .A15(a18[15]), .A16(a18[16]), .A17(a18[17]),
    .B0(b18[0]), .B1(b18[1]), .B2(b18[2]), .B3(b18[3]), .B4(b18[4]), .B5(b18[5]),
    .B6(b18[6]), .B7(b18[7]), .B8(b18[8]), .B9(b18[9]), .B10(b18[10]), .B11(b18[11]),
    .B12(b18[12]), .B13(b18[13]), .B14(b18[14]), .B15(b18[15]), .B16(b18[16]), .B17(b18[17]),
    .C0(1'b0), .C1(1'b0), .C2(1'b0), .C3(1'b0), .C4(1'b0), .C5(1'b0),
    .C6(1'b0), .C7(1'b0), .C8(1'b0), .C9(1'b0), .C10(1'b0), .C11(1'b0),
    .C12(1'b0), .C13(1'b0), .C14(1'b0), .C15(1'b0), .C16(1'b0), .C17(1'b0),
    .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
    .CLK0(clk_i), .CE0(1'b1), .RST0(rst),
    .P0(p36[0]), .P1(p36[1]), .P2(p36[2]), .P3(p36[3]), .P4(p36[4]), .P5(p36[5]), .P6(p36[6]), .P7(p36[7]),
    .P8(p36[8]), .P9(p36[9]), .P10(p36[10]), .P11(p36[11]), .P12(p36[12]), .P13(p36[13]),
    .P14(p36[14]), .P15(p36[15]), .P16(p36[16]), .P17(p36[17]), .P18(p36[18]), .P19(p36[19]),
    .P20(p36[20]), .P21(p36[21]), .P22(p36[22]), .P23(p36[23]), .P24(p36[24]), .P25(p36[25]),
    .P26(p36[26]), .P27(p36[27]), .P28(p36[28]), .P29(p36[29]), .P30(p36[30]), .P31(p36[31]),
    .P32(p36[32]), .P33(p36[33]), .P34(p36[34]), .P35(p36[35])
  );
  /* verilator lint_on PINMISSING */

  assign p_o = p36[2*DATA_W-1:0];

endmodule

`default_nettype wire
