"""Benchmark commands: ``bench`` (hardware efficiency), ``bench-sim`` (simulation speed) and
``fpga`` (ECP5 implementation figures). The work is ``systolic.bench``."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from systolic.bench import fpga
from systolic.bench.efficiency import DEFAULT_OUT, BenchOptions, run_bench
from systolic.bench.simspeed import SpeedOptions, run_bench_sim
from systolic.cli import options


def register(sub: argparse._SubParsersAction) -> None:
    """Add the subcommands of this module."""
    _add_bench(sub)
    _add_bench_sim(sub)
    _add_fpga(sub)


def _add_bench(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="hardware efficiency: RTL vs cycle model vs SCALE-Sim vs lower bound, area",
        description="Run the fixed GEMM list on the RTL (fast path, every GEMM checked), the "
        "cycle model and SCALE-Sim (output stationary) on each array size; print cycles, "
        "ratios, utilization and Yosys area side by side and write JSON.",
    )
    options.add_sizes(p, "8x8,16x16")
    options.add_sim(p, "verilator")
    p.add_argument("--quick", action="store_true", help="skip the ResNet-18 layers")
    p.add_argument(
        "--only", help="comma-separated GEMM names (substrings) to run, e.g. 'lecture,digits fc'"
    )
    p.add_argument("--no-area", action="store_true", help="skip the Yosys area table")
    p.add_argument("--no-scalesim", action="store_true", help="skip SCALE-Sim")
    p.add_argument(
        "--no-top",
        action="store_true",
        help="skip the accelerator top's columns (rtl/systolic_accel.v through its harness)",
    )
    options.add_mul_reg(p, "the array alone and the accelerator top's array")
    p.add_argument(
        "--out-rows",
        type=options.count_list(2, 32),
        default=None,
        help="the top's extra result-port widths: rows of C per result beat (OUT_ROWS), a "
        "comma-separated list of 2..ROWS (default: 2 and 4 where they fit; the RTL's default, "
        "1, is measured anyway)",
    )
    p.add_argument(
        "--shadows",
        type=options.integer(1, 4),
        default=2,
        help="shadow registers per PE (SHADOWS) of the top at those widths (default 2)",
    )
    p.add_argument(
        "--scalesim-max-cycles",
        type=options.integer(0),
        default=300_000,
        help="run SCALE-Sim only on GEMMs whose SCALE-Sim cycle count is at most this (it "
        "simulates about 10k cycles/s); larger ones get its formula, marked 'formula' "
        "(0: run SCALE-Sim on every GEMM)",
    )
    options.add_out(p, "JSON", ".json", default=str(DEFAULT_OUT / "bench.json"))
    p.set_defaults(func=cmd_bench)


def _add_bench_sim(sub: Any) -> None:
    p = sub.add_parser(
        "bench-sim",
        help="simulated cycles per second: cocotb (default and fast path) vs raw simulators",
        description="Simulated cycles per wall-second of the same stream with full checking: "
        "cocotb default path (Python checks every PE every cycle), cocotb fast path (HDL buffer "
        "+ signature), and the raw simulators (Verilog testbench on Icarus, C++ main on "
        "Verilator) on the same harness and stimulus; prints the ratios and writes JSON.",
    )
    options.add_sizes(p, "16x16,4x4")
    options.add_sim(p, repeatable=True)
    p.add_argument(
        "--cycles",
        type=options.integer(100, 100_000_000),
        help="stream length (default: per simulator and size)",
    )
    p.add_argument(
        "--repeat", type=options.integer(1, 100), default=2, help="runs per measurement, best kept"
    )
    options.add_seed(p)
    options.add_out(p, "JSON output", ".json", default=str(DEFAULT_OUT / "bench_sim.json"))
    p.set_defaults(func=cmd_bench_sim)


def _add_fpga(sub: Any) -> None:
    p = sub.add_parser(
        "fpga",
        help="FPGA figures: Yosys + nextpnr on a Lattice ECP5-85F, the array and the accelerator "
        "top (LUTs, FFs, DSPs, BRAM, Fmax, GOPS)",
        description="Synthesize with Yosys (synth_ecp5) and place and route with nextpnr-ecp5 on "
        "a Lattice ECP5-85F, out of context (no I/O buffers: the flat buses exceed the "
        "package's pins), at each size and for each of --designs: the array (systolic_array) "
        "and/or the accelerator top around it (systolic_accel: AXI4-Stream ports, skew and "
        "shadow registers, the result FIFO at its default depth ROWS+COLS+2+MUL_REG), one row "
        "each; print LUT4s, flip-flops, "
        "MULT18X18D, DP16KD, the Fmax nextpnr achieved against the --freq target, its critical "
        "path and the peak GOPS (2*ROWS*COLS*Fmax), what Yosys made of each memory (block RAM, "
        "LUT RAM or flip-flops), and write JSON. nextpnr runs with a fixed --seed; nothing is "
        "cached; a failed tool run is an error, never a row.",
    )
    options.add_sizes(p, "4x4,8x8,12x12")
    p.add_argument(
        "--designs",
        type=_designs,
        default=[fpga.ARRAY.name],
        help=f"comma-separated top levels to implement, each at every size, of "
        f"{','.join(fpga.DESIGNS)} (default {fpga.ARRAY.name}; make fpga also runs "
        f"systolic_accel at 4x4,8x8,12x12, at MUL_REG 0 and 1)",
    )
    p.add_argument(
        "--data-w",
        type=options.array_param("DATA_W"),
        default=fpga.DEFAULT_DATA_W,
        help=f"signed operand width (2..16, default {fpga.DEFAULT_DATA_W})",
    )
    p.add_argument(
        "--acc-w",
        type=options.array_param("ACC_W"),
        default=fpga.DEFAULT_ACC_W,
        help=f"accumulator width (2*DATA_W..64, default {fpga.DEFAULT_ACC_W})",
    )
    options.add_mul_reg(p, "the array alone and the accelerator top's array")
    lo, hi = fpga.FREQ_RANGE
    p.add_argument(
        "--freq",
        type=options.real(lo, hi),
        default=fpga.DEFAULT_FREQ,
        help=f"clock target for nextpnr in MHz ({lo:g}..{hi:g}, default {fpga.DEFAULT_FREQ:g})",
    )
    options.add_seed(p, default=fpga.DEFAULT_SEED)
    options.add_out(p, "JSON output", ".json", default=str(fpga.DEFAULT_OUT))
    p.set_defaults(func=cmd_fpga)


def _designs(text: str) -> list[str]:
    """``--designs``: module names of ``fpga.DESIGNS``, comma-separated, each once."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in fpga.DESIGNS]
    if bad or not names or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected some of {', '.join(fpga.DESIGNS)}, each once; got {text!r}"
        )
    return names


def _fields(cls: type, args: argparse.Namespace) -> dict[str, object]:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}


def cmd_bench(args: argparse.Namespace) -> int:
    return run_bench(BenchOptions(**_fields(BenchOptions, args)))  # type: ignore[arg-type]


def cmd_bench_sim(args: argparse.Namespace) -> int:
    return run_bench_sim(SpeedOptions(**_fields(SpeedOptions, args)))  # type: ignore[arg-type]


def cmd_fpga(args: argparse.Namespace) -> int:
    opts = fpga.FpgaOptions(**_fields(fpga.FpgaOptions, args))  # type: ignore[arg-type]
    return fpga.run_fpga(opts)
