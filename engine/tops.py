"""Designs the regression builds besides the array alone: the accelerator top, two chained
arrays, a standalone PE."""

from __future__ import annotations

from pathlib import Path

from systolic.engine import build
from systolic.engine.build import HdlTop
from systolic.models.params import ArrayParams, TopParams

#: Test-only top level: two systolic_array instances chained into one array.
CHAIN_V = Path(__file__).resolve().parent / "hdl" / "systolic_chain.v"
#: The cocotb module of the standalone PE.
PE_TEST_MODULE = "systolic.tb.test_pe"


def chain_top(params: ArrayParams, south: bool, split: int, source: Path = CHAIN_V) -> HdlTop:
    """engine/hdl/systolic_chain.v making one ``params`` array of two: chained east into west
    (``split`` columns, then the rest) or, when ``south``, south into north (``split`` rows)."""
    return HdlTop(
        name="systolic_chain",
        sources=(source,),
        parameters={**params.hdl_parameters(), "SOUTH": int(south), "SPLIT": split},
    )


#: The designs a workload (``systolic sim --workload``, ``e2e``) can run through.
WORKLOAD_TOPS = ("array", "accel")
#: The cocotb module of the accelerator top.
ACCEL_TEST_MODULE = "systolic.tb.test_accel"


def accel_top(top: TopParams) -> HdlTop:
    """rtl/systolic_accel.v around the array, at ``top``'s parameters. Its testbench
    (cocotbext-axi) writes right after rising edges, so cocotb defers writes to the ReadWrite
    phase for it."""
    return HdlTop(
        name="systolic_accel",
        rtl_extra=build.ACCEL_EXTRA,
        parameters=top.hdl_parameters(),
        trust_inertial_writes=False,
    )


def pe_top(data_w: int, acc_w: int, mul_reg: int = 0) -> HdlTop:
    """rtl/systolic_pe.v alone, with its parameters (MUL_REG named only when 1)."""
    return HdlTop(
        name="systolic_pe",
        rtl_only=("systolic_pe.v",),
        parameters={"DATA_W": data_w, "ACC_W": acc_w, **({"MUL_REG": 1} if mul_reg else {})},
    )
