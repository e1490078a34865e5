// Copyright systolic contributors. SPDX-License-Identifier: Apache-2.0
//
// systolic_fifo_ram: the storage of the accelerator top's result FIFO (systolic_accel.v, instance
// u_fifo_ram): DEPTH words of WIDTH bits, one write port and one read port, with a synchronous
// read that Yosys maps to block RAM (on the ECP5 the pseudo-dual-port PDPW16KD, a DP16KD site),
// seen at its output as a memory read combinationally at a registered address.
//
// TIMING CONTRACT (cycle t is the clock period that ends with rising edge t):
//   * write: when we_i is high in cycle t, word waddr_i takes wdata_i at edge t;
//   * read:  raddr_i in cycle t is the read address of cycle t+1 (the caller hands over its read
//            pointer's next value, which its own pointer register loads at the same edge t);
//            rdata_o in cycle t+1 is word raddr_i as it is after edge t, the write of edge t
//            included. So a caller whose pointer register p_q loads raddr_i at every edge sees
//            rdata_o == word p_q in every cycle after the first edge, exactly what a
//            combinational read of flip-flops (mem[p_q]) gives.
//   Addresses are below DEPTH (a write past the last word is lost, as in flip-flops, and a read
//   there is X in simulation). rdata_o is a function of registers only (no path from an input).
//
// HOW: rdata_q <= mem_q[raddr_i] is a read port with its address registered (a block RAM's);
// at the same edge it returns the word as it was before that edge's write. A write at that edge
// to the address being registered (a collision) is shown instead from registers of the written
// data: byp_q (the collision) and byp_data_q (the data, loaded at every edge: no enable).
// Collisions are handled here, so the memory carries `no_rw_check` (Yosys need not make the
// RAM's own read-during-write behaviour anything in particular).
//
// No reset: the storage and the read registers hold data only; the caller's valid flags say
// which words mean anything. rtl/formal/systolic_fifo_ram_fv.sv proves rdata_o equal to a
// combinational read of a flip-flop array for every sequence of writes and read addresses
// (systolic formal, tasks fiforam_*).

`default_nettype none

module systolic_fifo_ram #(
  parameter integer DEPTH  = 4,                                // words (1..1024)
  parameter integer WIDTH  = 8,                                // bits per word (at least 1)
  parameter integer ADDR_W = (DEPTH > 1) ? $clog2(DEPTH) : 1   // address bits (derived)
) (
  input  wire              clk_i,
  input  wire              we_i,      // write word waddr_i at this edge
  input  wire [ADDR_W-1:0] waddr_i,
  input  wire [WIDTH-1:0]  wdata_i,
  input  wire [ADDR_W-1:0] raddr_i,   // the read address of the next cycle
  output wire [WIDTH-1:0]  rdata_o    // word raddr_i of the previous cycle, as now
);

  // ---------------------------------------------------------------------------------------------
  // Elaboration-time parameter checks (as in systolic_array.v: a $fatal in a constant function
  // under Verilator, a missing module named after the message under Icarus).
  // ---------------------------------------------------------------------------------------------
`ifdef VERILATOR
  function automatic integer param_error(input string msg);
    $fatal(1, "%s", msg);
    param_error = 0;
  endfunction
`endif
  generate
    if (DEPTH < 1 || DEPTH > 1024) begin : g_err_depth
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_fifo_ram: DEPTH must be 1..1024");
`else
      systolic_fifo_ram__DEPTH_must_be_1_to_1024 u_param_error ();
`endif
    end
    if (WIDTH < 1) begin : g_err_width
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_fifo_ram: WIDTH must be at least 1");
`else
      systolic_fifo_ram__WIDTH_must_be_at_least_1 u_param_error ();
`endif
    end
    if (ADDR_W != ((DEPTH > 1) ? $clog2(DEPTH) : 1)) begin : g_err_addr_w
`ifdef VERILATOR
      localparam integer PARAM_ERROR = param_error("systolic_fifo_ram: need ADDR_W = clog2(DEPTH)");
`else
      systolic_fifo_ram__need_ADDR_W_eq_clog2_DEPTH u_param_error ();
`endif
    end
  endgenerate

  // ---------------------------------------------------------------------------------------------
  // Storage and the read port.
  // ---------------------------------------------------------------------------------------------
  (* ram_style = "block", no_rw_check *) reg [WIDTH-1:0] mem_q [0:DEPTH-1];
  reg  [WIDTH-1:0] rdata_q;     // word raddr_i as it was before the edge (the RAM's output)
  reg              byp_q;       // that edge wrote the word it read: show byp_data_q
  reg  [WIDTH-1:0] byp_data_q;  // the data written at that edge

  // A write past the last word (a caller's bug) is lost, as in flip-flops, so it is not shown
  // either: such a read stays X in simulation, as a read past the end of flip-flops is.
  wire waddr_ok;
  generate
    if (DEPTH == (1 << ADDR_W)) begin : g_every_addr
      assign waddr_ok = 1'b1;
    end else begin : g_addr_check
      localparam integer      LAST_I = DEPTH - 1;
      localparam [ADDR_W-1:0] LAST   = LAST_I[ADDR_W-1:0];
      assign waddr_ok = waddr_i <= LAST;
    end
  endgenerate

  always @(posedge clk_i) begin
    if (we_i) mem_q[waddr_i] <= wdata_i;
    rdata_q    <= mem_q[raddr_i];
    byp_q      <= we_i && waddr_ok && (waddr_i == raddr_i);
    byp_data_q <= wdata_i;
  end

  assign rdata_o = byp_q ? byp_data_q : rdata_q;

endmodule

`default_nettype wire
