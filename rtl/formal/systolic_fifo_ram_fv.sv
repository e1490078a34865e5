// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_fifo_ram_fv: the result FIFO's storage (rtl/systolic_fifo_ram.v) against the storage
// it replaced in the accelerator top, a flip-flop array read combinationally at a registered
// read pointer (fifo_q[rd_ptr_q]), checked by SymbiYosys (`systolic formal`, tasks fiforam_*;
// docs/verification.md).
//
// Every input is free in every cycle: any sequence of writes (we_i, waddr_i, wdata_i) and read
// addresses (raddr_i), constrained only to addresses below DEPTH (a_addr_*). The reference is
// this wrapper's own: f_ref_q, written like the RAM, and f_ptr_q, the read pointer, which loads
// raddr_i at every edge as the top's rd_ptr_q loads the raddr it hands the RAM. The two start
// with the same contents (a_init: the power-up state of the storage is arbitrary, the same in
// both); the RAM's read registers start arbitrary.
// Assertions:
//   p_ram_read  from the first edge on, rdata_o is f_ref_q[f_ptr_q]: what the top's
//               combinational read of flip-flops showed on m_axis_c in that cycle
//   p_ram_word  every word of the RAM equals the reference's (the lemma that makes the read
//               k-inductive: a word that is not read for many cycles must still be right)
//   c_*         covers: a read of a word written at the same edge (the bypass), a read of a word
//               written earlier (the RAM's own read port)
//
// The RAM's words are reached after Yosys' memory_map, which turns u_dut.mem_q into registers
// u_dut.mem_q[0] .. u_dut.mem_q[DEPTH-1]: the driver (systolic.formal.run, Task.memory_taps)
// connects them to f_words after flatten (word k at [k*WIDTH +: WIDTH]). Unconnected, f_words
// is free and p_ram_word fails: a renamed memory is an error or a failure, never a pass.
//
// Time model: `multiclock off`, one solver step per clock cycle; no reset (the RAM has none).
//
// Naming: the wrapper's own signals start with f_, assumptions with a_, properties with p_
// (assertions) or c_ (covers).

`default_nettype none

module systolic_fifo_ram_fv #(
  parameter integer DEPTH = 3,
  parameter integer WIDTH = 2
) (
  input wire              clk_i,
  input wire              we_i,
  input wire [ADDR_W-1:0] waddr_i,
  input wire [WIDTH-1:0]  wdata_i,
  input wire [ADDR_W-1:0] raddr_i
);

  localparam integer ADDR_W = (DEPTH > 1) ? $clog2(DEPTH) : 1;

  // ---------------------------------------------------------------------------------------------
  // Design under test.
  // ---------------------------------------------------------------------------------------------
  wire [WIDTH-1:0] rdata;

  systolic_fifo_ram #(
    .DEPTH (DEPTH),
    .WIDTH (WIDTH)
  ) u_dut (
    .clk_i   (clk_i),
    .we_i    (we_i),
    .waddr_i (waddr_i),
    .wdata_i (wdata_i),
    .raddr_i (raddr_i),
    .rdata_o (rdata)
  );

  // ---------------------------------------------------------------------------------------------
  // The reference: flip-flops read combinationally at the registered read pointer.
  // ---------------------------------------------------------------------------------------------
  reg  [WIDTH-1:0]       f_ref_q [0:DEPTH-1];
  reg  [ADDR_W-1:0]      f_ptr_q;
  reg                    f_past_q = 1'b0;  // an edge has passed
  wire [DEPTH*WIDTH-1:0] f_words;          // u_dut.mem_q's words, connected by the driver

  always @(posedge clk_i) begin
    if (we_i) f_ref_q[waddr_i] <= wdata_i;
    f_ptr_q  <= raddr_i;
    f_past_q <= 1'b1;
  end

  reg     f_same;  // every word of the RAM equals the reference's
  integer k;
  always @* begin
    f_same = 1'b1;
    for (k = 0; k < DEPTH; k = k + 1)
      f_same = f_same && (f_words[k*WIDTH +: WIDTH] == f_ref_q[k]);
  end

  // ---------------------------------------------------------------------------------------------
  // Assumptions and properties.
  // ---------------------------------------------------------------------------------------------
  always @* begin
    a_addr_w: assume (waddr_i < DEPTH);
    a_addr_r: assume (raddr_i < DEPTH);
    if (!f_past_q) a_init: assume (f_same);

    p_ram_word: assert (f_same);
    if (f_past_q) p_ram_read: assert (rdata == f_ref_q[f_ptr_q]);
  end

  // The RAM's read registers, reached by `hierconn` wires named after them (as in
  // systolic_array_fv.sv; the driver reports a tap that `flatten` left undriven as an error).
  (* hierconn *) wire [WIDTH-1:0] \u_dut.rdata_q ;
  (* hierconn *) wire             \u_dut.byp_q ;

  // The cycle after a write to the address handed over for reading at that edge, and after a
  // read of a word written at an earlier edge and not since.
  reg f_coll_q = 1'b0;
  reg f_old_q  = 1'b0;
  always @(posedge clk_i) begin
    f_coll_q <= we_i && (waddr_i == raddr_i);
    f_old_q  <= f_coll_q && !we_i && (raddr_i == f_ptr_q);
  end
  always @* begin
    // c_ram_bypass: a word shown the cycle after it was written, the RAM's own read giving the
    // word as it was before.
    c_ram_bypass: cover (f_past_q && f_coll_q && rdata != \u_dut.rdata_q );
    // c_ram_stored: the same word read again a cycle later, now from the RAM's read port.
    c_ram_stored: cover (f_old_q && !\u_dut.byp_q );
  end

endmodule

`default_nettype wire
