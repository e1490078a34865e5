"""The accelerator top's result FIFO in block RAM (rtl/systolic_fifo_ram.v, instance u_fifo_ram)
seen at the ports, on Icarus without cocotb: a beat held at the head is shown from the RAM's read
register, and an asynchronous reset leaves the storage alone: tvalid drops at once, and the payload
(don't-care while tvalid is low) keeps the entry that was at the head until the next rising edge,
then shows entry 0 (the read pointer's reset value), as the RTL header says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from systolic.engine import build

#: A 1x1 top (FIFO_DEPTH 4): two folds of K = 1 (2*3 = 6 into entry 0, 4*5 = 20 into entry 1)
#: into a stalled sink, one beat taken (the head moves to entry 1), then rst_ni falls 2 ns after a
#: rising edge and rises again after the next one.
BENCH = r"""
`timescale 1ns/1ps
module bench;
  reg clk = 1'b0, rst_ni = 1'b0;
  reg [7:0] a = 8'd0, b = 8'd0;
  reg valid = 1'b0, ready = 1'b0;
  wire [31:0] c;
  wire c_keep, c_last, c_valid, a_ready, b_ready;
  systolic_accel #(.ROWS(1), .COLS(1)) u_top (
    .clk_i(clk), .rst_ni(rst_ni),
    .s_axis_a_tdata(a), .s_axis_a_tkeep(1'b1), .s_axis_a_tlast(1'b1), .s_axis_a_tvalid(valid),
    .s_axis_a_tready(a_ready),
    .s_axis_b_tdata(b), .s_axis_b_tkeep(1'b1), .s_axis_b_tlast(1'b1), .s_axis_b_tvalid(valid),
    .s_axis_b_tready(b_ready),
    .m_axis_c_tdata(c), .m_axis_c_tkeep(c_keep), .m_axis_c_tlast(c_last),
    .m_axis_c_tvalid(c_valid), .m_axis_c_tready(ready));
  always #5 clk = ~clk;
  task step; begin @(posedge clk); #1; end endtask
  initial begin
    step; step; rst_ni = 1'b1;
    a = 8'd2; b = 8'd3; valid = 1'b1; step;   // fold 0 accepted (the top never holds K = 1 here)
    a = 8'd4; b = 8'd5; step;                 // fold 1
    valid = 1'b0; repeat (8) step;
    $display("HEAD %0d %0d", c_valid, c);     // entry 0 at the head
    ready = 1'b1; step; ready = 1'b0;
    $display("NEXT %0d %0d", c_valid, c);     // entry 1 at the head
    #1 rst_ni = 1'b0; #1;
    $display("RESET %0d %0d", c_valid, c);    // between the reset and the next edge
    @(posedge clk); #1;
    $display("EDGE %0d %0d", c_valid, c);     // after the first edge in reset
    rst_ni = 1'b1; step;
    $display("AFTER %0d %0d", c_valid, c);
    $finish;
  end
endmodule
"""


@pytest.mark.sim
def test_a_reset_leaves_the_storage_and_its_output_alone(tmp_path: Path) -> None:
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed")
    bench = tmp_path / "bench.v"
    bench.write_text(BENCH)
    exe = tmp_path / "bench.vvp"
    srcs = [str(f) for f in build.accel_sources()]
    cmd = ["iverilog", "-g2012", "-s", "bench", "-o", str(exe), str(bench), *srcs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run = subprocess.run(["vvp", "-n", str(exe)], capture_output=True, text=True, timeout=60)
    got = {x[0]: (int(x[1]), int(x[2])) for x in map(str.split, run.stdout.splitlines()) if x}
    assert got["HEAD"] == (1, 6) and got["NEXT"] == (1, 20), run.stdout
    assert got["RESET"] == (0, 20), run.stdout  # tvalid low at once, the payload not yet moved
    assert got["EDGE"] == (0, 6) and got["AFTER"] == (0, 6), run.stdout  # entry 0, as stored
