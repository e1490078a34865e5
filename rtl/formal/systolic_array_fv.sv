// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_array_fv: formal properties of systolic_array (rtl/systolic_array.v), checked by
// SymbiYosys (`systolic formal`, `make formal`; see docs/verification.md, "Formal proofs").
//
// Every input is free (the solver chooses it in each cycle) and the power-up state is arbitrary.
// The PE's own rule is proven by systolic_pe_fv; this wrapper proves how the array connects its
// PEs, so that together they give the timing contract of rtl/systolic_array.v:
//   p_skew_*   PE(i,j) sees west lane i delayed j cycles and north lane j delayed i cycles
//              (operands, valids and flags): the skew of the timing contract
//   p_edge_*   the east edge is west lane i delayed COLS cycles, the south edge is north lane j
//              delayed ROWS cycles (for chaining arrays)
//   p_lane_*   acc_o / res_o / res_vld_o lane i*COLS+j is PE(i,j)'s own register
//   p_rst_*    reset clears every register of the array, operands in flight included
//   c_*        cover properties
// Each property is an immediate assertion, `if (<antecedent>) p_name: assert (<consequent>);`
// = SVA `@(posedge clk_i) <antecedent> |-> <consequent>`; a property over all PEs or lanes is one
// assertion of the AND of per-PE checks (f_ok_* vectors), so a report names the property.
//
// "Delayed d cycles" is kept by shadow delay lines in this wrapper (f_west_dly, f_north_dly).
// They are cleared by the same asynchronous reset, because the array clears the operands in
// flight. From an arbitrary power-up state a d-cycle delay line holds defined history only after
// d cycles (or a reset), so a check at delay d waits until f_age >= d.
//
// Time model: `multiclock off`, one solver step per clock cycle, the asynchronous reset modelled
// by SymbiYosys' async2sync (registers read as zero while rst_ni is low).
//
// Naming: parameters and localparams are UPPER_SNAKE_CASE; genvars are i (row) and j (column);
// the wrapper's own signals start with f_, properties with p_ (assertions) or c_ (covers); the
// escaped `\u_pe.*` wires are named after the design's hierarchy (see "Per-PE checks").

`default_nettype none

module systolic_array_fv #(
  parameter integer ROWS   = 2,
  parameter integer COLS   = 2,
  parameter integer DATA_W  = 2,
  parameter integer ACC_W   = 4,
  parameter integer MUL_REG = 0   // the PEs' product register: the properties hold for both
) (
  input wire                   clk_i,
  input wire                   rst_ni,
  input wire [ROWS*DATA_W-1:0] a_i,
  input wire [ROWS-1:0]        a_vld_i,
  input wire [ROWS-1:0]        a_first_i,
  input wire [ROWS-1:0]        a_last_i,
  input wire [COLS*DATA_W-1:0] b_i,
  input wire [COLS-1:0]        b_vld_i
);

  localparam integer NPE = ROWS * COLS;
  localparam integer AW  = DATA_W + 3;  // one west lane: {last, first, vld, a}
  localparam integer BW  = DATA_W + 1;  // one north lane: {vld, b}
  localparam integer MAX_DELAY = (ROWS > COLS) ? ROWS : COLS;

  // ---------------------------------------------------------------------------------------------
  // Design under test.
  // ---------------------------------------------------------------------------------------------
  wire [ROWS*DATA_W-1:0] a_o;
  wire [ROWS-1:0]        a_vld_o, a_first_o, a_last_o;
  wire [COLS*DATA_W-1:0] b_o;
  wire [COLS-1:0]        b_vld_o;
  wire [NPE*ACC_W-1:0]   acc_o, res_o;
  wire [NPE-1:0]         res_vld_o;

  systolic_array #(
    .ROWS   (ROWS),
    .COLS   (COLS),
    .DATA_W  (DATA_W),
    .ACC_W   (ACC_W),
    .MUL_REG (MUL_REG)
  ) u_dut (
    .clk_i     (clk_i),
    .rst_ni    (rst_ni),
    .a_i       (a_i),
    .a_vld_i   (a_vld_i),
    .a_first_i (a_first_i),
    .a_last_i  (a_last_i),
    .b_i       (b_i),
    .b_vld_i   (b_vld_i),
    .a_o       (a_o),
    .a_vld_o   (a_vld_o),
    .a_first_o (a_first_o),
    .a_last_o  (a_last_o),
    .b_o       (b_o),
    .b_vld_o   (b_vld_o),
    .acc_o     (acc_o),
    .res_o     (res_o),
    .res_vld_o (res_vld_o)
  );

  // ---------------------------------------------------------------------------------------------
  // Cycle bookkeeping.
  // ---------------------------------------------------------------------------------------------
  reg f_past_valid = 1'b0;  // a previous cycle exists
  reg f_past_rst_n;         // rst_ni in the previous cycle
  reg [7:0] f_age = 8'd0;   // cycles since power-up, saturating at MAX_DELAY (<= 32)
  always @(posedge clk_i) begin
    f_past_valid <= 1'b1;
    f_past_rst_n <= rst_ni;
    if (f_age < MAX_DELAY) f_age <= f_age + 1;
  end

  // ---------------------------------------------------------------------------------------------
  // Shadow delay lines: f_west_dly[i][d] = west lane i delayed d cycles (d = 0 .. COLS), flat as
  // f_west_dly[(i*(COLS+1)+d)*AW +: AW]; likewise f_north_dly[(j*(ROWS+1)+d)*BW +: BW].
  // ---------------------------------------------------------------------------------------------
  wire [ROWS*(COLS+1)*AW-1:0] f_west_dly;
  wire [COLS*(ROWS+1)*BW-1:0] f_north_dly;

  genvar i, j;
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_west_dly
      wire [AW-1:0] f_lane = {a_last_i[i], a_first_i[i], a_vld_i[i], a_i[i*DATA_W +: DATA_W]};
      reg  [COLS*AW-1:0] f_hist;  // delays 1 .. COLS, delay 1 in the low bits
      wire [(COLS+1)*AW-1:0] f_line = {f_hist, f_lane};
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) f_hist <= {(COLS*AW){1'b0}};
        else         f_hist <= f_line[COLS*AW-1:0];
      end
      assign f_west_dly[i*(COLS+1)*AW +: (COLS+1)*AW] = f_line;
    end
    for (j = 0; j < COLS; j = j + 1) begin : g_north_dly
      wire [BW-1:0] f_lane = {b_vld_i[j], b_i[j*DATA_W +: DATA_W]};
      reg  [ROWS*BW-1:0] f_hist;
      wire [(ROWS+1)*BW-1:0] f_line = {f_hist, f_lane};
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) f_hist <= {(ROWS*BW){1'b0}};
        else         f_hist <= f_line[ROWS*BW-1:0];
      end
      assign f_north_dly[j*(ROWS+1)*BW +: (ROWS+1)*BW] = f_line;
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // Per-PE checks. Yosys has no hierarchical references; instead the generate blocks below mirror
  // the design's hierarchy (u_dut.g_row[i].g_col[j].u_pe) and declare `hierconn` wires named like
  // the PE's ports. `flatten` connects each such wire to the port of the same flattened name, and
  // the driver's `check -assert` after `flatten` fails the run if any of them stays undriven (a
  // renamed port or block cannot turn into a vacuous proof).
  // ---------------------------------------------------------------------------------------------
  wire [NPE-1:0] f_ok_skew_west;    // PE(i,j)'s west inputs == west lane i delayed j
  wire [NPE-1:0] f_ok_skew_north;   // PE(i,j)'s north inputs == north lane j delayed i
  wire [NPE-1:0] f_ok_lane_acc;     // acc_o lane == PE's accumulator
  wire [NPE-1:0] f_ok_lane_res;     // res_o lane == PE's result
  wire [NPE-1:0] f_ok_lane_res_vld; // res_vld_o lane == PE's strobe
  wire [NPE-1:0] f_pe_zero;         // every register of the PE (and what it forwards) is zero

  generate
    for (i = 0; i < ROWS; i = i + 1) begin : \u_dut.g_row
      for (j = 0; j < COLS; j = j + 1) begin : g_col
        (* hierconn, keep *) wire [DATA_W-1:0] \u_pe.a_i ;
        (* hierconn, keep *) wire              \u_pe.a_vld_i ;
        (* hierconn, keep *) wire              \u_pe.a_first_i ;
        (* hierconn, keep *) wire              \u_pe.a_last_i ;
        (* hierconn, keep *) wire [DATA_W-1:0] \u_pe.b_i ;
        (* hierconn, keep *) wire              \u_pe.b_vld_i ;
        (* hierconn, keep *) wire [DATA_W-1:0] \u_pe.a_o ;
        (* hierconn, keep *) wire              \u_pe.a_vld_o ;
        (* hierconn, keep *) wire              \u_pe.a_first_o ;
        (* hierconn, keep *) wire              \u_pe.a_last_o ;
        (* hierconn, keep *) wire [DATA_W-1:0] \u_pe.b_o ;
        (* hierconn, keep *) wire              \u_pe.b_vld_o ;
        (* hierconn, keep *) wire [ACC_W-1:0]  \u_pe.acc_o ;
        (* hierconn, keep *) wire [ACC_W-1:0]  \u_pe.res_o ;
        (* hierconn, keep *) wire              \u_pe.res_vld_o ;

        wire [AW-1:0] f_west  = {\u_pe.a_last_i , \u_pe.a_first_i , \u_pe.a_vld_i , \u_pe.a_i };
        wire [BW-1:0] f_north = {\u_pe.b_vld_i , \u_pe.b_i };
        localparam integer K = i * COLS + j;

        assign f_ok_skew_west[K]  = (f_age < j) ||
                                    f_west == f_west_dly[(i*(COLS+1)+j)*AW +: AW];
        assign f_ok_skew_north[K] = (f_age < i) ||
                                    f_north == f_north_dly[(j*(ROWS+1)+i)*BW +: BW];
        assign f_ok_lane_acc[K]     = acc_o[K*ACC_W +: ACC_W] == \u_pe.acc_o ;
        assign f_ok_lane_res[K]     = res_o[K*ACC_W +: ACC_W] == \u_pe.res_o ;
        assign f_ok_lane_res_vld[K] = res_vld_o[K] == \u_pe.res_vld_o ;
        assign f_pe_zero[K] = {\u_pe.a_o , \u_pe.a_vld_o , \u_pe.a_first_o , \u_pe.a_last_o ,
                               \u_pe.b_o , \u_pe.b_vld_o , \u_pe.acc_o , \u_pe.res_o ,
                               \u_pe.res_vld_o } == 0;
      end
    end
  endgenerate

  // Edge lanes.
  wire [ROWS-1:0] f_ok_edge_east;   // east lane i == west lane i delayed COLS
  wire [COLS-1:0] f_ok_edge_south;  // south lane j == north lane j delayed ROWS
  generate
    for (i = 0; i < ROWS; i = i + 1) begin : g_east
      assign f_ok_edge_east[i] = (f_age < COLS) ||
          {a_last_o[i], a_first_o[i], a_vld_o[i], a_o[i*DATA_W +: DATA_W]}
          == f_west_dly[(i*(COLS+1)+COLS)*AW +: AW];
    end
    for (j = 0; j < COLS; j = j + 1) begin : g_south
      assign f_ok_edge_south[j] = (f_age < ROWS) ||
          {b_vld_o[j], b_o[j*DATA_W +: DATA_W]} == f_north_dly[(j*(ROWS+1)+ROWS)*BW +: BW];
    end
  endgenerate

  // Every output of the array is zero (the flat buses and the edges).
  wire f_outputs_zero = {a_o, a_vld_o, a_first_o, a_last_o, b_o, b_vld_o,
                         acc_o, res_o, res_vld_o} == 0;

  // ---------------------------------------------------------------------------------------------
  // Properties.
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    // p_skew_west: PE(i,j)'s a, a_vld, a_first, a_last equal west lane i delayed j cycles.
    p_skew_west: assert (&f_ok_skew_west);
    // p_skew_north: PE(i,j)'s b, b_vld equal north lane j delayed i cycles.
    p_skew_north: assert (&f_ok_skew_north);

    // p_edge_east: a_o lane i (and its valid and flags) = west lane i delayed COLS cycles.
    p_edge_east: assert (&f_ok_edge_east);
    // p_edge_south: b_o lane j (and its valid) = north lane j delayed ROWS cycles.
    p_edge_south: assert (&f_ok_edge_south);

    // p_lane_acc / p_lane_res / p_lane_res_vld: output lane i*COLS+j is PE(i,j)'s register.
    p_lane_acc:     assert (&f_ok_lane_acc);
    p_lane_res:     assert (&f_ok_lane_res);
    p_lane_res_vld: assert (&f_ok_lane_res_vld);

    // p_rst_active: while rst_ni is low, every PE register and every output reads zero.
    if (!rst_ni)
      p_rst_active: assert ((&f_pe_zero) && f_outputs_zero);
    // p_rst_after: after any cycle with rst_ni low, every PE register and output is zero.
    if (f_past_valid && !f_past_rst_n)
      p_rst_after: assert ((&f_pe_zero) && f_outputs_zero);
  end

  // ---------------------------------------------------------------------------------------------
  // Covers (mode cover).
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    if (f_past_valid && f_past_rst_n && rst_ni) begin
      // c_corner_result: the last PE, PE(ROWS-1,COLS-1), strobes a non-zero result.
      c_corner_result: cover (res_vld_o[NPE-1] && res_o[(NPE-1)*ACC_W +: ACC_W] != 0);
      // c_all_results: every PE strobes in the same cycle.
      c_all_results: cover (&res_vld_o);
      // c_edge_valid: a valid operand leaves through both the east and the south edge at once.
      c_edge_valid: cover (a_vld_o[ROWS-1] && b_vld_o[COLS-1]);
    end
  end

endmodule

`default_nettype wire
