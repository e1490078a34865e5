// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_pe_fv: formal properties of systolic_pe (rtl/systolic_pe.v), checked by SymbiYosys
// (`systolic formal`, `make formal`; see docs/verification.md, "Formal proofs").
//
// The wrapper instantiates the PE with every input free: the solver chooses each input in each
// cycle, so a proof holds for ALL input sequences, and from ANY power-up state (no reset is
// assumed; the properties say what holds after reset or after the first flag).
//
// Open-source Yosys has no `bind` and no concurrent `assert property`, so every property is an
// immediate assertion in a clocked always block, written as
//     if (<antecedent>) p_name: assert (<consequent>);
// i.e. the SVA property `@(posedge clk_i) <antecedent> |-> <consequent>`. The label is the
// property's name in every report. Names by group (the Python driver proves one group per task):
//   p_acc_*   accumulate / restart / hold, and the wrap-around model       (single clock)
//   p_res_*   result capture and the one-cycle strobe                        (single clock)
//   p_fwd_*   forwarding of every operand and flag                           (single clock)
//   p_rst_*   reset, cycle view: registers are zero during and after reset   (single clock)
//   p_arst_*  reset, asynchronous view: zero at once, state moves only on    (multiclock on)
//             a rising clock edge; needs SymbiYosys `multiclock on`
//   c_*       cover properties (reachability of interesting scenarios)
//
// Time model. With `multiclock off` (every group but p_arst_*) one solver step is one clock cycle
// and SymbiYosys models the asynchronous reset with `async2sync`: while rst_ni is low the
// registers read as their reset value, and they load it at the edge. With `multiclock on`
// (p_arst_*) one step is one tick of a global clock, clk_i is a free input that may toggle at any
// tick, and the reset acts between clock edges.
//
// "f_live" below means: this cycle and the previous one were out of reset, so the last rising
// edge was an ordinary clock edge (the antecedent of every functional property).
//
// MUL_REG: with MUL_REG = 1 the PE registers each pair's product with its fire/first/last bits
// and adds it one edge later. The accumulator and result properties are stated for "the pair
// added at this edge" (f_m*): the inputs themselves at MUL_REG = 0, and at MUL_REG = 1 the pair
// of the previous edge, kept by the wrapper's own copy of the product register (f_*_q, cleared
// by the same asynchronous reset). From an arbitrary power-up state that copy equals the PE's
// register only after one edge, so the accumulator and result properties then also need
// f_mac_live (f_live and at least two cycles since power-up).
//
// Naming: parameters and localparams are UPPER_SNAKE_CASE; the wrapper's own signals (models,
// bookkeeping) start with f_, properties with p_ (assertions) or c_ (covers).

`default_nettype none

module systolic_pe_fv #(
  parameter integer DATA_W  = 4,
  parameter integer ACC_W   = 8,
  parameter integer MUL_REG = 0
) (
  input wire                     clk_i,
  input wire                     rst_ni,
  input wire signed [DATA_W-1:0] a_i,
  input wire                     a_vld_i,
  input wire                     a_first_i,
  input wire                     a_last_i,
  input wire signed [DATA_W-1:0] b_i,
  input wire                     b_vld_i
);

  // ---------------------------------------------------------------------------------------------
  // Design under test.
  // ---------------------------------------------------------------------------------------------
  wire signed [DATA_W-1:0] a_o, b_o;
  wire                     a_vld_o, a_first_o, a_last_o, b_vld_o;
  wire signed [ACC_W-1:0]  acc_o, res_o;
  wire                     res_vld_o;

  systolic_pe #(
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

  // Every register of the PE (each output port is a copy of one), for the reset properties.
  localparam integer STATE_W = 2 * DATA_W + 4 + 2 * ACC_W + 1;
  wire [STATE_W-1:0] f_state = {a_o, a_vld_o, a_first_o, a_last_o, b_o, b_vld_o,
                                acc_o, res_o, res_vld_o};

  // ---------------------------------------------------------------------------------------------
  // Specification. The signed product is exact at 2*DATA_W bits; assigning it to a wider signed
  // wire sign-extends it. (Multiplying sign-extended ACC_W-bit operands instead would state the
  // same thing, but SAT solvers struggle to prove two different multiplier circuits equal.)
  // ---------------------------------------------------------------------------------------------
  wire                    f_fire    = a_vld_i && b_vld_i;             // a pair arrives and fires
  wire signed [2*DATA_W-1:0] f_prod_exact = a_i * b_i;              // exact signed product
  wire signed [ACC_W-1:0] f_prod    = f_prod_exact;                   // sign-extended

  reg f_past_valid = 1'b0;  // a previous cycle exists ($past is meaningful)
  reg f_past2_valid = 1'b0; // two previous cycles exist
  reg f_past_rst_n;          // rst_ni in the previous cycle
  always @(posedge clk_i) begin
    f_past_valid  <= 1'b1;
    f_past2_valid <= f_past_valid;
    f_past_rst_n  <= rst_ni;
  end

  wire f_live = f_past_valid && f_past_rst_n && rst_ni;

  // The pair the accumulator adds at the next edge (see MUL_REG above): fire, first, last and
  // the sign-extended product.
  wire                    f_mfire;
  wire                    f_mfirst;
  wire                    f_mlast;
  wire signed [ACC_W-1:0] f_mprod;
  wire                    f_mac_live;  // f_live, and the wrapper's copy of the pipeline is exact
  wire                    f_mac_synced;  // this cycle, the copy equals the PE's register
  generate
    if (MUL_REG == 1) begin : g_fv_mul_reg
      reg                    f_fire_q;
      reg                    f_first_q;
      reg                    f_last_q;
      reg signed [ACC_W-1:0] f_prod_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          f_fire_q  <= 1'b0;
          f_first_q <= 1'b0;
          f_last_q  <= 1'b0;
          f_prod_q  <= {ACC_W{1'b0}};
        end else begin
          f_fire_q  <= f_fire;
          f_first_q <= a_first_i;
          f_last_q  <= a_last_i;
          f_prod_q  <= f_prod;
        end
      end
      assign f_mfire      = f_fire_q;
      assign f_mfirst     = f_first_q;
      assign f_mlast      = f_last_q;
      assign f_mprod      = f_prod_q;
      assign f_mac_synced = f_past_valid || !rst_ni;
      assign f_mac_live   = f_live && f_past2_valid;
    end else begin : g_fv_mul_comb
      assign f_mfire      = f_fire;
      assign f_mfirst     = a_first_i;
      assign f_mlast      = a_last_i;
      assign f_mprod      = f_prod;
      assign f_mac_synced = 1'b1;
      assign f_mac_live   = f_live;
    end
  endgenerate

  wire                    f_capture = f_mfire && f_mlast;             // the added pair ends a sum
  wire signed [ACC_W-1:0] f_sum     = (f_mfirst ? $signed({ACC_W{1'b0}}) : acc_o) + f_mprod;

  // ---------------------------------------------------------------------------------------------
  // p_acc_*: the accumulator rule  acc' = (first ? 0 : acc) + sext(a*b)  when a pair fires.
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    // p_acc_restart: a firing pair with `first` starts a new sum: acc' = sext(a*b).
    if (f_mac_live && $past(f_mfire && f_mfirst))
      p_acc_restart: assert (acc_o == $past(f_mprod));
    // p_acc_accumulate: a firing pair without `first` adds its product: acc' = acc + sext(a*b).
    if (f_mac_live && $past(f_mfire && !f_mfirst))
      p_acc_accumulate: assert (acc_o == $past(acc_o) + $past(f_mprod));
    // p_acc_hold: no pair fires (either valid low): the accumulator keeps its value, whatever
    // the flags and operands are.
    if (f_mac_live && !$past(f_mfire))
      p_acc_hold: assert (acc_o == $past(acc_o));
  end

  // p_acc_wrap_model: an exact-integer model of the accumulator (8 bits wider than ACC_W, so it
  // does not wrap where the RTL does) follows the same pairs; the RTL's accumulator must always
  // equal the model's low ACC_W bits, i.e. it wraps modulo 2^ACC_W and nothing else. The model
  // is synchronised with the PE by a reset or by a firing `first` pair (f_tracked); before that
  // the power-up accumulator is unknown.
  localparam integer MODEL_W = ACC_W + 8;
  wire signed [MODEL_W-1:0] f_model_prod = f_mprod;  // sign-extended to the model width
  reg  signed [MODEL_W-1:0] f_model;
  reg                       f_tracked = 1'b0;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      f_model   <= {MODEL_W{1'b0}};
      f_tracked <= 1'b1;
    end else if (f_mfire) begin
      f_model   <= (f_mfirst ? $signed({MODEL_W{1'b0}}) : f_model) + f_model_prod;
      f_tracked <= f_tracked || (f_mfirst && f_mac_synced);
    end
  end
  always @(posedge clk_i) begin
    if (f_tracked)
      p_acc_wrap_model: assert (acc_o == f_model[ACC_W-1:0]);
  end

  // ---------------------------------------------------------------------------------------------
  // p_res_*: result capture and strobe.
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    // p_res_capture: a firing pair with `last` loads the result register with the new sum
    // (the same value the accumulator gets, including a restart when `first` is also set).
    if (f_mac_live && $past(f_capture))
      p_res_capture: assert (res_o == $past(f_sum));
    // p_res_hold: any other edge (no pair, or a pair without `last`) keeps the result.
    if (f_mac_live && !$past(f_capture))
      p_res_hold: assert (res_o == $past(res_o));
    // p_res_vld_strobe: res_vld_o is exactly "a pair with `last` was added at the previous
    // edge": high for one cycle per captured result, low otherwise (no stuck or late strobe).
    if (f_mac_live)
      p_res_vld_strobe: assert (res_vld_o == $past(f_capture));
  end

  // ---------------------------------------------------------------------------------------------
  // p_fwd_*: operands and flags move on through one register, valid or not.
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    if (f_live) begin
      p_fwd_a:       assert (a_o == $past(a_i));
      p_fwd_a_vld:   assert (a_vld_o == $past(a_vld_i));
      p_fwd_a_first: assert (a_first_o == $past(a_first_i));
      p_fwd_a_last:  assert (a_last_o == $past(a_last_i));
      p_fwd_b:       assert (b_o == $past(b_i));
      p_fwd_b_vld:   assert (b_vld_o == $past(b_vld_i));
    end
  end

  // ---------------------------------------------------------------------------------------------
  // p_rst_*: reset clears every register (cycle view, multiclock off).
  // ---------------------------------------------------------------------------------------------
  always @(posedge clk_i) begin
    // p_rst_active: in a cycle where rst_ni is low every register reads zero (so the reset does
    // not wait for a clock edge; a synchronous reset fails this).
    if (!rst_ni)
      p_rst_active: assert (f_state == {STATE_W{1'b0}});
    // p_rst_after: after any cycle with rst_ni low, every register is zero (before the inputs
    // of the new cycle can act).
    if (f_past_valid && !$past(rst_ni))
      p_rst_after: assert (f_state == {STATE_W{1'b0}});
  end

  // ---------------------------------------------------------------------------------------------
  // p_arst_*: reset, asynchronous view (multiclock on: $global_clock ticks faster than clk_i).
  // ---------------------------------------------------------------------------------------------
  reg f_gpast_valid = 1'b0;
  always @($global_clock) f_gpast_valid <= 1'b1;

  // p_arst_clears: at every global tick where rst_ni is low, between clock edges included, every
  // register is zero.
  always @(*) begin
    if (!rst_ni)
      p_arst_clears: assert (f_state == {STATE_W{1'b0}});
  end

  always @($global_clock) begin
    // p_arst_stable: out of reset, the registers change only at a rising edge of clk_i.
    if (f_gpast_valid && rst_ni && $past(rst_ni) && !$rose(clk_i))
      p_arst_stable: assert (f_state == $past(f_state));
    // p_arst_edge_fwd: at a rising edge out of reset, the forwarding registers load the values
    // the inputs had just before the edge (the clocked rule also holds in this time model).
    if (f_gpast_valid && rst_ni && $past(rst_ni) && $rose(clk_i))
      p_arst_edge_fwd: assert ({a_o, a_vld_o, a_first_o, a_last_o, b_o, b_vld_o}
                               == $past({a_i, a_vld_i, a_first_i, a_last_i, b_i, b_vld_i}));
  end

  // ---------------------------------------------------------------------------------------------
  // c_*: cover properties: each scenario must be reachable (SymbiYosys `mode cover`).
  // ---------------------------------------------------------------------------------------------
  // Product bookkeeping for the covers: inside a product (after a firing `first` pair without
  // `last`), f_bubbled records a cycle where no pair fired.
  reg f_in_product = 1'b0;
  reg f_bubbled    = 1'b0;
  always @(posedge clk_i) begin
    if (!rst_ni) begin
      f_in_product <= 1'b0;
      f_bubbled    <= 1'b0;
    end else if (f_mfire) begin
      f_in_product <= f_mlast ? 1'b0 : (f_mfirst || f_in_product);
      f_bubbled    <= f_mfirst ? 1'b0 : f_bubbled;
    end else if (f_in_product) begin
      f_bubbled    <= 1'b1;
    end
  end

  always @(posedge clk_i) begin
    if (f_live) begin
      // c_k1_product: a one-step product (first and last on the same pair) gives a result,
      // a non-zero one.
      c_k1_product: cover ($past(f_mfire && f_mfirst && f_mlast) && res_vld_o && res_o != 0);
      // c_back_to_back: results in two consecutive cycles (two K = 1 products in a row, or the
      // end of one product and a K = 1 product right after).
      c_back_to_back: cover (res_vld_o && $past(res_vld_o));
      // c_bubble: a product whose pairs had a non-firing cycle between its first and last pair.
      c_bubble: cover (res_vld_o && $past(f_in_product && f_bubbled && !f_mfirst));
      // c_acc_wrap: the accumulator wrapped: the exact sum no longer fits in ACC_W bits.
      c_acc_wrap: cover (f_tracked && f_model != {{(MODEL_W - ACC_W){acc_o[ACC_W-1]}}, acc_o});
    end
    // c_reset_during_strobe: reset asserted in the cycle whose strobe a `last` pair had set up:
    // the strobe (and the result) are cleared.
    if (f_past_valid)
      c_reset_during_strobe: cover ($past(rst_ni && f_capture) && !rst_ni);
  end

endmodule

`default_nettype wire
