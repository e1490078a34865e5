// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// MULT18X18D (Lattice ECP5 sysDSP 18x18 multiplier): a behavioural model of exactly the subset of
// the primitive that rtl/fpga/systolic_pe_mult_ecp5.v uses, for the formal equivalence proof only
// (formal/run.py prove_dsp_equivalent). It is never synthesized (synth_ecp5 reads the real
// primitive as a black box from Yosys's cells_bb.v) and never simulated by the testbench.
//
// Written from Lattice's documented behaviour of the primitive (FPGA-TN-02205, ECP5 and ECP5-5G
// sysDSP Usage Guide; the port and parameter names are those of Yosys's cells_bb.v):
//   P[35:0] = A[17:0] * B[17:0], each operand two's complement when its SIGNEDA/SIGNEDB is 1
//   (else unsigned); the 36-bit product is exact, so every operand pair gives its true product.
//   Each of the input registers (REG_INPUTA_CLK, REG_INPUTB_CLK: A with SIGNEDA, B with SIGNEDB),
//   the pipeline register (REG_PIPELINE_CLK) and the output register (REG_OUTPUT_CLK) is either
//   bypassed ("NONE") or clocked; a clocked register loads at the rising edge of its clock while
//   its clock enable is 1, and its reset (active high) clears it; with RESETMODE "ASYNC" the reset
//   acts at once, without a clock edge.
// The subset: every register "NONE" or clocked by CLK0 with CE0 and RST0, RESETMODE "ASYNC",
// GSR "DISABLED", MULT_BYPASS "DISABLED", no C input register, no cascade match register; the
// operands from the A and B ports (SOURCEA = SOURCEB = 0: the shift-chain inputs SRIA/SRIB and
// the cascade outputs SROA/SROB/ROA/ROB/ROC are not modelled and read 0). Any other parameter
// value fails elaboration (an instance of a module that does not exist, named after the reason).

`default_nettype none

// The primitive's name is the module's; the file's says it is a model. Its unused inputs (C, the
// shift chain, the clocks, enables and resets other than CLK0/CE0/RST0) are ports of the
// primitive that the subset leaves alone, and so are most of its parameters.
/* verilator lint_off DECLFILENAME */
/* verilator lint_off UNUSEDSIGNAL */
/* verilator lint_off UNUSEDPARAM */
module MULT18X18D (
  A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0, B17, B16, B15,
  B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0, C17, C16, C15, C14, C13, C12,
  C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0, SIGNEDA, SIGNEDB, SOURCEA, SOURCEB, CLK3,
  CLK2, CLK1, CLK0, CE3, CE2, CE1, CE0, RST3, RST2, RST1, RST0, SRIA17, SRIA16, SRIA15, SRIA14,
  SRIA13, SRIA12, SRIA11, SRIA10, SRIA9, SRIA8, SRIA7, SRIA6, SRIA5, SRIA4, SRIA3, SRIA2, SRIA1,
  SRIA0, SRIB17, SRIB16, SRIB15, SRIB14, SRIB13, SRIB12, SRIB11, SRIB10, SRIB9, SRIB8, SRIB7,
  SRIB6, SRIB5, SRIB4, SRIB3, SRIB2, SRIB1, SRIB0, SROA17, SROA16, SROA15, SROA14, SROA13, SROA12,
  SROA11, SROA10, SROA9, SROA8, SROA7, SROA6, SROA5, SROA4, SROA3, SROA2, SROA1, SROA0, SROB17,
  SROB16, SROB15, SROB14, SROB13, SROB12, SROB11, SROB10, SROB9, SROB8, SROB7, SROB6, SROB5,
  SROB4, SROB3, SROB2, SROB1, SROB0, ROA17, ROA16, ROA15, ROA14, ROA13, ROA12, ROA11, ROA10, ROA9,
  ROA8, ROA7, ROA6, ROA5, ROA4, ROA3, ROA2, ROA1, ROA0, ROB17, ROB16, ROB15, ROB14, ROB13, ROB12,
  ROB11, ROB10, ROB9, ROB8, ROB7, ROB6, ROB5, ROB4, ROB3, ROB2, ROB1, ROB0, ROC17, ROC16, ROC15,
  ROC14, ROC13, ROC12, ROC11, ROC10, ROC9, ROC8, ROC7, ROC6, ROC5, ROC4, ROC3, ROC2, ROC1, ROC0,
  P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17,
  P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0, SIGNEDP
);
  // Lattice's defaults, except GSR and RESETMODE: Yosys elaborates the module once with its
  // defaults, which must be inside the subset (the wrapper sets every parameter).
  parameter REG_INPUTA_CLK = "NONE";
  parameter REG_INPUTA_CE = "CE0";
  parameter REG_INPUTA_RST = "RST0";
  parameter REG_INPUTB_CLK = "NONE";
  parameter REG_INPUTB_CE = "CE0";
  parameter REG_INPUTB_RST = "RST0";
  parameter REG_INPUTC_CLK = "NONE";
  parameter REG_INPUTC_CE = "CE0";
  parameter REG_INPUTC_RST = "RST0";
  parameter REG_PIPELINE_CLK = "NONE";
  parameter REG_PIPELINE_CE = "CE0";
  parameter REG_PIPELINE_RST = "RST0";
  parameter REG_OUTPUT_CLK = "NONE";
  parameter REG_OUTPUT_CE = "CE0";
  parameter REG_OUTPUT_RST = "RST0";
  parameter CLK0_DIV = "ENABLED";
  parameter CLK1_DIV = "ENABLED";
  parameter CLK2_DIV = "ENABLED";
  parameter CLK3_DIV = "ENABLED";
  parameter HIGHSPEED_CLK = "NONE";
  parameter GSR = "DISABLED";  // Lattice: "ENABLED" (see below)
  parameter CAS_MATCH_REG = "FALSE";
  parameter SOURCEB_MODE = "B_SHIFT";
  parameter MULT_BYPASS = "DISABLED";
  parameter RESETMODE = "ASYNC";  // Lattice: "SYNC" (see below)

  input wire A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0;
  input wire B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0;
  input wire C17, C16, C15, C14, C13, C12, C11, C10, C9, C8, C7, C6, C5, C4, C3, C2, C1, C0;
  input wire SIGNEDA, SIGNEDB, SOURCEA, SOURCEB;
  input wire CLK3, CLK2, CLK1, CLK0;
  input wire CE3, CE2, CE1, CE0;
  input wire RST3, RST2, RST1, RST0;
  input wire SRIA17, SRIA16, SRIA15, SRIA14, SRIA13, SRIA12, SRIA11, SRIA10, SRIA9, SRIA8, SRIA7,
             SRIA6, SRIA5, SRIA4, SRIA3, SRIA2, SRIA1, SRIA0;
  input wire SRIB17, SRIB16, SRIB15, SRIB14, SRIB13, SRIB12, SRIB11, SRIB10, SRIB9, SRIB8, SRIB7,
             SRIB6, SRIB5, SRIB4, SRIB3, SRIB2, SRIB1, SRIB0;
  output wire SROA17, SROA16, SROA15, SROA14, SROA13, SROA12, SROA11, SROA10, SROA9, SROA8, SROA7,
              SROA6, SROA5, SROA4, SROA3, SROA2, SROA1, SROA0;
  output wire SROB17, SROB16, SROB15, SROB14, SROB13, SROB12, SROB11, SROB10, SROB9, SROB8, SROB7,
              SROB6, SROB5, SROB4, SROB3, SROB2, SROB1, SROB0;
  output wire ROA17, ROA16, ROA15, ROA14, ROA13, ROA12, ROA11, ROA10, ROA9, ROA8, ROA7, ROA6, ROA5,
              ROA4, ROA3, ROA2, ROA1, ROA0;
  output wire ROB17, ROB16, ROB15, ROB14, ROB13, ROB12, ROB11, ROB10, ROB9, ROB8, ROB7, ROB6, ROB5,
              ROB4, ROB3, ROB2, ROB1, ROB0;
  output wire ROC17, ROC16, ROC15, ROC14, ROC13, ROC12, ROC11, ROC10, ROC9, ROC8, ROC7, ROC6, ROC5,
              ROC4, ROC3, ROC2, ROC1, ROC0;
  output wire P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19,
              P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0;
  output wire SIGNEDP;

  // Each register of the subset: bypassed, or CLK0 / CE0 / RST0.
  localparam IN_A = REG_INPUTA_CLK == "CLK0";
  localparam IN_B = REG_INPUTB_CLK == "CLK0";
  localparam PIPE = REG_PIPELINE_CLK == "CLK0";
  localparam OUT  = REG_OUTPUT_CLK == "CLK0";

`ifdef VERILATOR
  function automatic integer model_param_error(input string msg);
    $fatal(1, "%s", msg);
    model_param_error = 0;
  endfunction
`endif
  generate
    if ((REG_INPUTA_CLK != "NONE" && (!IN_A || REG_INPUTA_CE != "CE0" || REG_INPUTA_RST != "RST0"))
        || (REG_INPUTB_CLK != "NONE"
            && (!IN_B || REG_INPUTB_CE != "CE0" || REG_INPUTB_RST != "RST0"))
        || (REG_PIPELINE_CLK != "NONE"
            && (!PIPE || REG_PIPELINE_CE != "CE0" || REG_PIPELINE_RST != "RST0"))
        || (REG_OUTPUT_CLK != "NONE"
            && (!OUT || REG_OUTPUT_CE != "CE0" || REG_OUTPUT_RST != "RST0")))
    begin : g_err_regs
`ifdef VERILATOR
      localparam integer PARAM_ERROR = model_param_error("MULT18X18D model: registers must be NONE or CLK0/CE0/RST0");
`else
      MULT18X18D_model__registers_must_be_NONE_or_CLK0_CE0_RST0 u_unsupported ();
`endif
    end
    if (REG_INPUTC_CLK != "NONE" || CAS_MATCH_REG != "FALSE") begin : g_err_c
`ifdef VERILATOR
      localparam integer PARAM_ERROR = model_param_error("MULT18X18D model: no C register, no cascade match register");
`else
      MULT18X18D_model__no_C_register_and_no_cascade_match u_unsupported ();
`endif
    end
    if (RESETMODE != "ASYNC" || GSR != "DISABLED" || MULT_BYPASS != "DISABLED") begin : g_err_mode
`ifdef VERILATOR
      localparam integer PARAM_ERROR = model_param_error("MULT18X18D model: needs RESETMODE ASYNC, GSR and MULT_BYPASS DISABLED");
`else
      MULT18X18D_model__needs_RESETMODE_ASYNC_GSR_DISABLED_MULT_BYPASS_DISABLED u_unsupported ();
`endif
    end
  endgenerate

  wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};

  // Input registers: A with SIGNEDA, B with SIGNEDB.
  reg [17:0] a_r, b_r;
  reg        sa_r, sb_r;
  always @(posedge CLK0 or posedge RST0) begin
    if (RST0) begin
      a_r  <= 18'd0;
      sa_r <= 1'b0;
      b_r  <= 18'd0;
      sb_r <= 1'b0;
    end else if (CE0) begin
      a_r  <= a;
      sa_r <= SIGNEDA;
      b_r  <= b;
      sb_r <= SIGNEDB;
    end
  end
  wire [17:0] a_m  = IN_A ? a_r : a;
  wire [17:0] b_m  = IN_B ? b_r : b;
  wire        sa_m = IN_A ? sa_r : SIGNEDA;
  wire        sb_m = IN_B ? sb_r : SIGNEDB;

  // The exact product: each operand extended to 36 bits by its sign bit or by zeros.
  wire [35:0] a_x  = {{18{sa_m & a_m[17]}}, a_m};
  wire [35:0] b_x  = {{18{sb_m & b_m[17]}}, b_m};
  wire [35:0] prod = a_x * b_x;
  wire        sp   = sa_m | sb_m;

  // Pipeline register, then output register.
  reg [35:0] pipe_r, out_r;
  reg        sp_pipe_r, sp_out_r;
  wire [35:0] prod_m = PIPE ? pipe_r : prod;
  wire        sp_m   = PIPE ? sp_pipe_r : sp;
  always @(posedge CLK0 or posedge RST0) begin
    if (RST0) begin
      pipe_r    <= 36'd0;
      sp_pipe_r <= 1'b0;
      out_r     <= 36'd0;
      sp_out_r  <= 1'b0;
    end else if (CE0) begin
      pipe_r    <= prod;
      sp_pipe_r <= sp;
      out_r     <= prod_m;
      sp_out_r  <= sp_m;
    end
  end

  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18,
          P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = OUT ?
          out_r : prod_m;
  assign SIGNEDP = OUT ? sp_out_r : sp_m;

  // Not modelled (the subset leaves them unused): shift-chain and cascade outputs.
  assign {SROA17, SROA16, SROA15, SROA14, SROA13, SROA12, SROA11, SROA10, SROA9, SROA8, SROA7,
          SROA6, SROA5, SROA4, SROA3, SROA2, SROA1, SROA0} = 18'd0;
  assign {SROB17, SROB16, SROB15, SROB14, SROB13, SROB12, SROB11, SROB10, SROB9, SROB8, SROB7,
          SROB6, SROB5, SROB4, SROB3, SROB2, SROB1, SROB0} = 18'd0;
  assign {ROA17, ROA16, ROA15, ROA14, ROA13, ROA12, ROA11, ROA10, ROA9, ROA8, ROA7, ROA6, ROA5,
          ROA4, ROA3, ROA2, ROA1, ROA0} = 18'd0;
  assign {ROB17, ROB16, ROB15, ROB14, ROB13, ROB12, ROB11, ROB10, ROB9, ROB8, ROB7, ROB6, ROB5,
          ROB4, ROB3, ROB2, ROB1, ROB0} = 18'd0;
  assign {ROC17, ROC16, ROC15, ROC14, ROC13, ROC12, ROC11, ROC10, ROC9, ROC8, ROC7, ROC6, ROC5,
          ROC4, ROC3, ROC2, ROC1, ROC0} = 18'd0;

endmodule
/* verilator lint_on UNUSEDPARAM */
/* verilator lint_on UNUSEDSIGNAL */
/* verilator lint_on DECLFILENAME */

`default_nettype wire
