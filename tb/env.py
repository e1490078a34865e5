"""The testbench environment: a ``TB`` owns clock, reset, driver, monitor, model and scoreboard."""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer
from cocotb.utils import get_sim_time

from systolic.engine.stats import TestStats, write_stats
from systolic.fileio import atomic_path
from systolic.models.array_model import EDGE_PORTS, ArrayTrace, simulate
from systolic.models.skew import ResetPulse, Stream, pulsed_model_inputs
from systolic.tb import coverage
from systolic.tb.config import RUN, check_port_widths, dut_params
from systolic.tb.driver import EdgeDriver
from systolic.tb.monitor import ArrayMonitor
from systolic.tb.scoreboard import Scoreboard

CLOCK_PERIOD_NS = 10
#: How long after rst_ni falls the TB reads every output (well before the next clock edge).
RESET_READ_PS = 100


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
        self.params = dut_params(dut)
        self._check_widths()
        self.seed = RUN.seed
        # An independent, reproducible stream of random numbers per test.
        self.rng = np.random.default_rng([self.seed, zlib.crc32(test_name.encode())])
        self.log = logging.getLogger(f"cocotb.tb.{test_name}")
        self.driver = EdgeDriver(dut, self.params)
        self.monitor = ArrayMonitor(dut, self.params)
        self.sim = RUN.sim or cocotb.SIM_NAME or "?"
        self._digest = hashlib.sha256()
        # What the test did, counted as it runs (written by write_stats).
        self.stats = TestStats(test_name, passed=False)

    def _check_widths(self) -> None:
        p = self.params
        expect = {
            "a_i": p.rows * p.data_w,
            "b_i": p.cols * p.data_w,
            "acc_o": p.rows * p.cols * p.acc_w,
            "a_o": p.rows * p.data_w,
            "b_o": p.cols * p.data_w,
        }
        check_port_widths(self.dut, expect, p)

    @property
    def context(self) -> str:
        p = self.params
        top = RUN.top
        design = f"design={top} (tests/tb/test_sim.py) " if top else ""
        mul_reg = (" MUL_REG=1", " --mul-reg 1") if p.mul_reg else ("", "")
        return (
            f"{design}ROWS={p.rows} COLS={p.cols} DATA_W={p.data_w} ACC_W={p.acc_w}{mul_reg[0]} "
            f"sim={self.sim} seed={self.seed} test={self.test_name}; reproduce: systolic run "
            f"--sim {self.sim} --rows {p.rows} --cols {p.cols} --data-w {p.data_w} "
            f"--acc-w {p.acc_w}{mul_reg[1]} --seed {self.seed} --test {self.test_name}"
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

    async def run(
        self,
        stream: Stream,
        expected: ArrayTrace | None = None,
        pulses: Sequence[ResetPulse] = (),
    ) -> Scoreboard:
        """Drive a stream from reset state and check every PE and edge lane every cycle.

        expected: the cycle model's prediction (computed here unless given, e.g. deliberately
        corrupted to show that the checker bites). pulses: asynchronous rst_ni pulses placed
        between clock edges; right after each falls, every output is read and must be zero.
        Returns the scoreboard; the caller decides whether to raise, so that a test may inspect
        a failure.
        """
        self._check_pulses(stream, pulses)
        model_stim, cleared = pulsed_model_inputs(stream.stimulus, pulses)
        stream = stream.with_pulses(pulses)
        trace = expected if expected is not None else simulate(model_stim, self.params, cleared)
        self._dump_stimulus(stream)
        sb = Scoreboard(stream, trace, self.context, resets=model_stim.rst | cleared)
        self.driver.load(stream.stimulus)
        # Driver and monitor run as separate coroutines, both on falling edges: at falling edge
        # t+1 the monitor samples the state after rising edge t while the driver applies the
        # inputs of cycle t+1. Register outputs only change at rising edges (or on reset, whose
        # write takes effect after the monitor's read in the same time step).
        t0 = time.perf_counter()
        monitor = cocotb.start_soon(self._monitor(sb, stream.cycles))
        driver = cocotb.start_soon(self._drive(stream.cycles))
        pulser = cocotb.start_soon(self._pulse(sb, pulses))
        await driver
        await monitor
        await pulser
        self.stats.wall_s += time.perf_counter() - t0
        sb.check_results()
        self._sample_coverage(stream, trace)
        self.stats.cycles += stream.cycles
        self.stats.products += sb.products_checked
        self.stats.pe_checks += sb.pe_checks
        self.stats.edge_checks += sb.edge_checks
        self.stats.reset_pulses += len(pulses)
        self.stats.streams += 1
        for array in stream.stimulus.fields().values():  # what was driven, for flake checks
            self._digest.update(np.ascontiguousarray(array).tobytes())
        self._digest.update(repr(list(pulses)).encode())
        return sb

    def _check_pulses(self, stream: Stream, pulses: Sequence[ResetPulse]) -> None:
        """Pulses must not overlap each other or the stimulus's own resets (both drive rst_ni),
        and a pulse without a rising edge must leave time for the read after rst_ni falls."""
        edge = -1
        for pulse in sorted(pulses, key=lambda x: x.after_edge):
            if pulse.after_edge <= edge:
                raise ValueError(f"{pulse} overlaps the previous pulse")
            window = stream.stimulus.rst[max(pulse.after_edge - 1, 0) : pulse.until_edge + 2]
            if window.any():
                raise ValueError(f"{pulse} overlaps a reset of the stimulus")
            if pulse.until_edge == pulse.after_edge and (
                _ps(pulse.rise) - _ps(pulse.fall) <= RESET_READ_PS
            ):
                raise ValueError(f"{pulse} is too short for the read after rst_ni falls")
            edge = pulse.until_edge

    def _sample_coverage(self, stream: Stream, trace: ArrayTrace) -> None:
        self.stats.wrapped_products += coverage.sample(stream, trace.edges)
        rst = np.asarray(stream.stimulus.rst, bool)
        # A stimulus reset falls at falling edge t, when the state after edge t-1 is visible.
        for t in np.flatnonzero(rst[1:] & ~rst[:-1]) + 1:
            coverage.sample_reset(_reset_events(trace, int(t) - 1, held=True))

    async def _pulse(self, sb: Scoreboard, pulses: Sequence[ResetPulse]) -> None:
        """Apply the reset pulses; read every output right after rst_ni falls (between edges)."""
        clk, rst = self.dut.clk_i, self.dut.rst_ni
        edge = -1  # the last rising edge that has passed (run starts before edge 0)
        for pulse in sorted(pulses, key=lambda x: x.after_edge):
            await ClockCycles(clk, pulse.after_edge - edge)
            await Timer(_ps(pulse.fall), "ps")
            try:
                before = self._read_all()  # what rst_ni is about to clear (for coverage)
            except ValueError:  # X/Z: the per-cycle checks report it
                before = None
            rst.value = 0
            await Timer(RESET_READ_PS, "ps")
            note = f"{RESET_READ_PS} ps after rst_ni fell"
            try:
                sb.check_cleared(pulse.after_edge, note, *self._read_all())
            except ValueError as exc:
                sb.unreadable(pulse.after_edge, exc)
            if pulse.until_edge > pulse.after_edge:
                await ClockCycles(clk, pulse.until_edge - pulse.after_edge)
                await Timer(_ps(pulse.rise), "ps")
            else:
                await Timer(_ps(pulse.rise) - _ps(pulse.fall) - RESET_READ_PS, "ps")
            rst.value = 1
            edge = pulse.until_edge
            coverage.sample_reset(_pulse_events(pulse, before))

    def _read_all(self) -> tuple:
        """Every output: (acc, res, res_vld) grids and the packed edge buses."""
        return (*self.monitor.sample(), self.monitor.sample_edges())

    def _dump_stimulus(self, stream: Stream) -> None:
        """Save the stimulus and the sim time of its cycle 0, so a wave file can be checked."""
        folder = RUN.stim_dir
        if not folder:
            return
        path = Path(folder) / f"{self.test_name}_{self.stats.streams}.npz"
        with atomic_path(path) as tmp:  # a failed write (full disk) leaves no partial file
            np.savez(
                tmp,
                t0_ns=get_sim_time("ns"),
                period_ns=CLOCK_PERIOD_NS,
                # numpy's stubs: a ** mapping might also name the keyword allow_pickle (a bool).
                **stream.stimulus.fields(),  # type: ignore[arg-type]
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
                edges = self.monitor.sample_edges()
            except ValueError as exc:
                sb.unreadable(t, exc)
                continue
            sb.check_cycle(t, acc, res, vld, edges)

    def write_stats(self, passed: bool) -> None:
        """Record this test's statistics for the runner's summary."""
        self.stats.passed = passed
        self.stats.stimulus_sha256 = self._digest.hexdigest()[:16]
        write_stats(RUN.stats_dir, self.stats)
        coverage.export()


def _ps(periods: float) -> int:
    """A time given in clock periods, in whole picoseconds (the simulators' precision)."""
    return round(periods * CLOCK_PERIOD_NS * 1000)


def _reset_events(trace: ArrayTrace, cycle: int, held: bool) -> list[str]:
    """Coverage of a reset that falls while the model's state after edge ``cycle`` is visible."""
    events = ["held across rising edges"] if held else []
    if trace.res_vld[cycle].any():
        events.append("during a result strobe")
    edges = trace.edges
    if edges is not None and (edges.a_vld_o[cycle].any() or edges.b_vld_o[cycle].any()):
        events.append("operands on the east/south edges")
    return events


def _pulse_events(pulse: ResetPulse, before: tuple | None) -> list[str]:
    """Coverage of one pulse, from the outputs read just before rst_ni fell (None: unreadable)."""
    held = pulse.until_edge > pulse.after_edge
    events = ["held across rising edges" if held else "pulse with no rising edge"]
    events.append(
        "released before the falling edge"
        if pulse.rise < 0.5
        else "released at/after the falling edge"
    )
    if before is None:
        return events
    if before[2].any():
        events.append("during a result strobe")
    edge_valid = dict(zip(EDGE_PORTS, before[3], strict=True))
    if edge_valid["a_vld_o"] or edge_valid["b_vld_o"]:
        events.append("operands on the east/south edges")
    return events
