"""The testbench environment: a ``TB`` owns clock, reset, driver, monitor, model and scoreboard."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import zlib
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotb.utils import get_sim_time

from systolic.models.array_model import ArrayTrace, simulate
from systolic.models.params import ArrayParams
from systolic.models.skew import Stream
from systolic.tb import coverage
from systolic.tb.driver import EdgeDriver
from systolic.tb.monitor import ArrayMonitor
from systolic.tb.scoreboard import Scoreboard

CLOCK_PERIOD_NS = 10

#: Environment variable naming a folder where each test writes its statistics (JSON).
STATS_ENV = "SYSTOLIC_STATS_DIR"
#: Environment variable with the simulator name as the runner knows it (icarus / verilator).
SIM_ENV = "SYSTOLIC_SIM"
#: Environment variable with the run's seed (every test derives its own generator from it).
SEED_ENV = "SYSTOLIC_SEED"
#: Environment variable naming an .npz with matrices a and b for ``test_gemm_file``.
GEMM_FILE_ENV = "SYSTOLIC_GEMM_FILE"
#: Environment variable naming a folder where each stream's stimulus is saved (for wave checks).
STIM_DUMP_ENV = "SYSTOLIC_STIM_DIR"


class TB:
    """One array under test. Typical use inside a cocotb test::

    tb = TB(dut, "test_name")
    await tb.start()
    sb = await tb.run(schedule(products, tb.params))
    sb.raise_if_failed()
    """

    def __init__(self, dut: Any, test_name: str) -> None:
        self.dut = dut
        self.test_name = test_name
        self.params = ArrayParams.from_env()
        self._check_widths()
        self.seed = int(os.environ.get(SEED_ENV, "1"))
        # An independent, reproducible stream of random numbers per test.
        self.rng = np.random.default_rng([self.seed, zlib.crc32(test_name.encode())])
        self.log = logging.getLogger(f"cocotb.tb.{test_name}")
        self.driver = EdgeDriver(dut, self.params)
        self.monitor = ArrayMonitor(dut, self.params)
        self.sim = os.environ.get(SIM_ENV, cocotb.SIM_NAME or "?")
        self._digest = hashlib.sha256()
        self.stats: dict[str, float] = {
            "cycles": 0,
            "products": 0,
            "pe_checks": 0,
            "streams": 0,
            "wall_s": 0.0,
        }

    def _check_widths(self) -> None:
        p = self.params
        expect = {
            "a_i": p.rows * p.data_w,
            "b_i": p.cols * p.data_w,
            "acc_o": p.rows * p.cols * p.acc_w,
        }
        for name, width in expect.items():
            got = len(self.dut[name])
            if got != width:
                raise RuntimeError(
                    f"{name} is {got} bits wide, expected {width} for {p}: "
                    "the build does not match the parameters"
                )

    @property
    def context(self) -> str:
        p = self.params
        return (
            f"ROWS={p.rows} COLS={p.cols} DATA_W={p.data_w} ACC_W={p.acc_w} sim={self.sim} "
            f"seed={self.seed} test={self.test_name}; reproduce: systolic run --sim {self.sim} "
            f"--rows {p.rows} --cols {p.cols} --data-w {p.data_w} --acc-w {p.acc_w} "
            f"--seed {self.seed} --test {self.test_name}"
        )

    async def start(self, reset_cycles: int = 2) -> None:
        """Start the clock and apply a reset; returns at a falling edge, ready to drive."""
        Clock(self.dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start()
        await self.reset(reset_cycles)

    async def reset(self, cycles: int = 2) -> None:
        self.driver.idle(reset=True)
        await ClockCycles(self.dut.clk_i, cycles)
        await FallingEdge(self.dut.clk_i)
        self.driver.idle(reset=False)
        await FallingEdge(self.dut.clk_i)

    async def run(self, stream: Stream, expected: ArrayTrace | None = None) -> Scoreboard:
        """Drive a stream from reset state and check every PE every cycle.

        expected: the cycle model's prediction (computed here unless given, e.g. deliberately
        corrupted to show that the checker bites). Returns the scoreboard; the caller decides
        whether to raise, so that a test may inspect a failure.
        """
        trace = expected if expected is not None else simulate(stream.stimulus, self.params)
        self._dump_stimulus(stream)
        sb = Scoreboard(stream, trace, self.context)
        self.driver.load(stream.stimulus)
        # Driver and monitor run as separate coroutines, both on falling edges: at falling edge
        # t+1 the monitor samples the state after rising edge t while the driver applies the
        # inputs of cycle t+1. Register outputs only change at rising edges (or on reset, whose
        # write takes effect after the monitor's read in the same time step).
        t0 = time.perf_counter()
        monitor = cocotb.start_soon(self._monitor(sb, stream.cycles))
        driver = cocotb.start_soon(self._drive(stream.cycles))
        await driver
        await monitor
        self.stats["wall_s"] += time.perf_counter() - t0
        sb.check_results()
        coverage.sample(stream)
        self.stats["cycles"] += stream.cycles
        self.stats["products"] += sb.products_checked
        self.stats["pe_checks"] += sb.pe_checks
        self.stats["streams"] += 1
        for array in stream.stimulus.fields().values():  # what was driven, for flake checks
            self._digest.update(np.ascontiguousarray(array).tobytes())
        return sb

    def _dump_stimulus(self, stream: Stream) -> None:
        """Save the stimulus and the sim time of its cycle 0, so a wave file can be checked."""
        folder = os.environ.get(STIM_DUMP_ENV)
        if not folder:
            return
        path = Path(folder) / f"{self.test_name}_{self.stats['streams']}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path, t0_ns=get_sim_time("ns"), period_ns=CLOCK_PERIOD_NS, **stream.stimulus.fields()
        )

    async def _drive(self, cycles: int) -> None:
        clk = self.dut.clk_i
        for t in range(cycles):
            self.driver.apply(t)
            await FallingEdge(clk)
        self.driver.idle()

    async def _monitor(self, sb: Scoreboard, cycles: int) -> None:
        clk = self.dut.clk_i
        for t in range(cycles):
            await FallingEdge(clk)
            try:
                acc, res, vld = self.monitor.sample()
            except ValueError as exc:
                sb.unreadable(t, exc)
                continue
            sb.check_cycle(t, acc, res, vld)

    def write_stats(self, passed: bool) -> None:
        """Record this test's statistics for the runner's summary."""
        folder = os.environ.get(STATS_ENV)
        if not folder:
            return
        path = Path(folder) / f"{self.test_name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "test": self.test_name,
            "passed": passed,
            **self.stats,
            "stimulus_sha256": self._digest.hexdigest()[:16],
        }
        path.write_text(json.dumps(record))
        coverage.export()
