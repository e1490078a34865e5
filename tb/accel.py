"""The accelerator top's testbench: ``AccelTB`` owns clock, reset, the AXI4-Stream sources and
sink (cocotbext-axi), a fold driver, a sampler of every port and of the inner array, and the
checkers of ``systolic.tb.accel_check``.

Typical use inside a cocotb test::

    tb = AccelTB(dut, "test_name")
    tb.set_backpressure(0.3, 0.3, 0.5)
    await tb.start()
    await tb.send_gemm(a, b)
    await tb.wait_results()
    tb.check()  # protocol, skew contract, every PE every cycle, every result beat; coverage

Cycle n is the clock period that ends with rising edge n, counted from the first falling edge
after the clock starts. The sampler reads everything at the falling edge inside cycle n: the
inputs rising edge n will take, and the state after rising edge n-1. cocotbext-axi drives its
signals right after rising edges; rst_ni is driven RESET_OFFSET_NS after a rising edge. So no
sample races a write.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Iterator
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge, Timer
from cocotbext.axi import (
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from systolic.engine.stats import TestStats, write_stats
from systolic.models.array_model import ArrayTrace, simulate
from systolic.models.fixed import unpack_lanes
from systolic.models.params import ArrayParams, TopParams
from systolic.models.skew import EdgeStimulus, Stream
from systolic.models.tiling import plan_folds
from systolic.tb import coverage
from systolic.tb.accel_check import (
    AccelCheckError,
    Beat,
    ExpectedFold,
    PortSample,
    ResultBeat,
    ResultScoreboard,
    check_contract,
    check_protocol,
    contract_stimulus,
    expected_folds,
)
from systolic.tb.config import RUN, check_port_widths, dut_params
from systolic.tb.scoreboard import Scoreboard

CLOCK_PERIOD_NS = 10
#: rst_ni changes this long after a rising edge (well before the sampling falling edge).
RESET_OFFSET_NS = 2
#: The inner array's input ports, in the order of ``EdgeStimulus``'s fields.
ARRAY_INPUTS = ("a_i", "a_vld_i", "a_first_i", "a_last_i", "b_i", "b_vld_i")
ARRAY_STATE = ("acc_o", "res_o", "res_vld_o")
AXIS_SIGNALS = ("tdata", "tkeep", "tlast", "tvalid", "tready")


def bursty_pauses(rng: np.random.Generator, rate: float, mean_len: float) -> Iterator[bool]:
    """An endless pause pattern for cocotbext-axi: a pause starts with probability ``rate`` per
    cycle and lasts ``mean_len`` cycles on average (geometric). Bursts, not single cycles, so a
    stalled sink really fills the result FIFO."""
    leave = 1.0 / max(mean_len, 1.0)
    paused = False
    while True:
        paused = rng.random() >= leave if paused else rng.random() < rate
        yield paused


def _read(handle: Any) -> int | None:
    """A signal as a non-negative int, None when it has X or Z bits."""
    value = handle.value
    try:
        to_unsigned = getattr(value, "to_unsigned", None)
        return to_unsigned() if to_unsigned is not None else int(value)
    except ValueError:
        return None


class Sampler:
    """Reads every port of the top, rst_ni, the inner array's edge inputs and PE state, and the
    drain's pending counts at every falling edge, as raw ints (decoded by the checks afterwards,
    so that a cycle costs only the reads)."""

    def __init__(self, dut: Any, params: ArrayParams) -> None:
        self._rst = dut.rst_ni
        self._ports = [
            [getattr(dut, f"{port}_{sig}") for sig in AXIS_SIGNALS]
            for port in ("s_axis_a", "s_axis_b", "m_axis_c")
        ]
        array = dut.u_array  # hierarchical: the same handles on Icarus and Verilator
        self._array_in = [getattr(array, name) for name in ARRAY_INPUTS]
        self._array_state = [getattr(array, name) for name in ARRAY_STATE]
        # pend_q[r][j] = k >= 2: PE(r,j)'s oldest unread result sits in shadow register k-2.
        self._pending = [
            dut.g_drain_row[r].g_drain_col[j].pend_q
            for r in range(params.rows)
            for j in range(params.cols)
        ]
        self.samples: list[PortSample] = []
        self.array_in: list[tuple[int | None, ...]] = []
        self.array_state: list[tuple[int | None, ...]] = []
        #: The most unread results of any PE (pend_q, 0 .. SHADOWS + 1), per cycle: two or more
        #: put its oldest result in a shadow register.
        self.pending_max: list[int] = []
        #: Result frames completed (tlast handshakes on m_axis_c) since the last reset.
        self.frames_since_reset = 0

    def start(self, clock: Any) -> None:
        """Sample at every falling edge of ``clock`` from now on."""
        cocotb.start_soon(self._run(clock))

    async def _run(self, clock: Any) -> None:
        while True:
            await FallingEdge(clock)
            self.sample()

    def sample(self) -> None:
        a, b, c = (Beat(*(_read(h) for h in handles)) for handles in self._ports)
        rst = _read(self._rst) != 1
        self.samples.append(PortSample(rst, a, b, c))
        self.array_in.append(tuple(_read(h) for h in self._array_in))
        self.array_state.append(tuple(_read(h) for h in self._array_state))
        pending = [k for k in map(_read, self._pending) if k is not None]
        self.pending_max.append(max(pending, default=0))
        if not rst and c.tvalid == 1 and None in (c.tdata, c.tkeep, c.tlast):
            # Fail here, as a checker: cocotbext-axi's sink would otherwise stop the test with
            # its own error when it reads the X bits at the next rising edge.
            raise AccelCheckError(
                f"AXI4-Stream protocol: m_axis_c at cycle {self.cycle - 1}: "
                "tvalid high with X/Z in the payload"
            )
        if rst:
            self.frames_since_reset = 0
        elif c.fire and c.tlast:
            self.frames_since_reset += 1

    @property
    def cycle(self) -> int:
        """The cycle of the next sample."""
        return len(self.samples)


class FoldDriver:
    """Turns a GEMM into folds (``models.tiling.plan_folds``) and queues each fold as one frame
    on each operand stream: K beats, lane i of A's beat k = A[row0+i][k], lane j of B's beat k =
    B[k][col0+j]; tkeep a prefix mask of the fold's rows (columns); masked lanes zero."""

    def __init__(
        self, source_a: AxiStreamSource, source_b: AxiStreamSource, params: ArrayParams
    ) -> None:
        self.source_a, self.source_b, self.params = source_a, source_b, params
        self.gemms = 0

    def frames(self, a: np.ndarray, b: np.ndarray) -> list[tuple[AxiStreamFrame, AxiStreamFrame]]:
        """The (A, B) frame of every fold, in ``plan_folds`` order."""
        p = self.params
        k = a.shape[1]
        out = []
        for f in plan_folds(a.shape[0], b.shape[1], p):
            a_lanes = np.zeros((k, p.rows), np.int64)
            a_lanes[:, : f.m] = a[f.row0 : f.row0 + f.m, :].T
            b_lanes = np.zeros((k, p.cols), np.int64)
            b_lanes[:, : f.n] = b[:, f.col0 : f.col0 + f.n]
            a_keep = ([1] * f.m + [0] * (p.rows - f.m)) * k
            b_keep = ([1] * f.n + [0] * (p.cols - f.n)) * k
            out.append(
                (
                    AxiStreamFrame(tdata=a_lanes.ravel().tolist(), tkeep=a_keep),
                    AxiStreamFrame(tdata=b_lanes.ravel().tolist(), tkeep=b_keep),
                )
            )
        return out

    async def send(self, a: np.ndarray, b: np.ndarray) -> list[ExpectedFold]:
        """Queue every fold of A @ B; returns what the result stream must carry."""
        want = expected_folds(a, b, self.params, self.gemms)
        self.gemms += 1
        for frame_a, frame_b in self.frames(a, b):
            await self.source_a.send(frame_a)
            await self.source_b.send(frame_b)
        return want


class AccelTB:
    """One ``systolic_accel`` under test (see the module docstring)."""

    def __init__(self, dut: Any, test_name: str) -> None:
        self.dut = dut
        self.test_name = test_name
        self.params = dut_params(dut)
        #: The top's parameters, read from the DUT (its FIFO depth always given).
        self.top = TopParams(
            self.params,
            int(dut.FIFO_DEPTH.value),
            int(dut.OUT_ROWS.value),
            int(dut.SHADOWS.value),
        )
        self._check_widths()
        self.seed = RUN.seed
        self.rng = np.random.default_rng([self.seed, zlib.crc32(test_name.encode())])
        self.log = logging.getLogger(f"cocotb.tb.{test_name}")
        self.sim = RUN.sim or cocotb.SIM_NAME or "?"
        clk, rst = dut.clk_i, dut.rst_ni
        trust = os.environ.get("COCOTB_TRUST_INERTIAL_WRITES", "").strip().lower()
        if trust in ("1", "yes", "y", "on", "true", "enable"):
            # cocotbext-axi writes right after a rising edge; written at once, Icarus would let
            # that edge's always blocks see the write (every step one cycle early).
            raise RuntimeError(
                "the accelerator testbench needs COCOTB_TRUST_INERTIAL_WRITES unset "
                "(engine.tops.accel_top runs it so)"
            )
        self.source_a = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_a"), clk, rst, reset_active_level=False
        )
        self.source_b = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis_b"), clk, rst, reset_active_level=False
        )
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis_c"), clk, rst, reset_active_level=False
        )
        for port in (self.source_a, self.source_b, self.sink):
            port.log.setLevel(logging.WARNING)  # cocotbext-axi logs every frame at INFO
        self.driver = FoldDriver(self.source_a, self.source_b, self.params)
        self.sampler = Sampler(dut, self.params)
        #: The folds sent in each reset epoch; an epoch ends at the cycle in ``self.cuts``.
        self.epochs: list[list[ExpectedFold]] = [[]]
        self.cuts: list[int] = []
        self.stats = TestStats(test_name, passed=False)
        #: The words of every frame cocotbext-axi's sink received since the last reset.
        self._sink_words: list[int] = []
        self._t0 = time.perf_counter()

    def _check_widths(self) -> None:
        p = self.params
        expect = {
            "s_axis_a_tdata": p.rows * p.data_w,
            "s_axis_a_tkeep": p.rows,
            "s_axis_b_tdata": p.cols * p.data_w,
            "s_axis_b_tkeep": p.cols,
            "m_axis_c_tdata": self.top.words * p.acc_w,
            "m_axis_c_tkeep": self.top.words,
        }
        check_port_widths(self.dut, expect, p)

    @property
    def context(self) -> str:
        """Parameters, seed and the call that reproduces the test."""
        p, t = self.params, self.top
        depth, out_rows, shadows = t.fifo_depth, t.out_rows, t.shadows
        array = f"ArrayParams({p.rows}, {p.cols}, {p.data_w}, {p.acc_w}, {p.mul_reg})"
        return (
            f"design=systolic_accel ROWS={p.rows} COLS={p.cols} DATA_W={p.data_w} "
            f"ACC_W={p.acc_w} MUL_REG={p.mul_reg} FIFO_DEPTH={depth} OUT_ROWS={out_rows} "
            f"SHADOWS={shadows} sim={self.sim} seed={self.seed} test={self.test_name}; "
            f"reproduce: systolic.engine.runner.run(RunSettings('{self.sim}', seed={self.seed}), "
            f"{array}, ['{self.test_name}'], test_module=ACCEL_TEST_MODULE, "
            f"top=accel_top(TopParams({array}, {depth}, {out_rows}, {shadows})))"
        )

    def set_backpressure(self, a: float = 0.0, b: float = 0.0, c: float = 0.0) -> None:
        """Random pauses: sources A and B and the sink each pause with the given rate per cycle
        (bursts of a few cycles); 0 never pauses. One generator per port, seeded from the
        test's generator, so a seed reproduces the pattern."""
        for port, rate, mean in (
            (self.source_a, a, 2.0),
            (self.source_b, b, 2.0),
            (self.sink, c, 4.0),
        ):
            if rate <= 0:
                port.clear_pause_generator()
                port.pause = False
                continue
            child = np.random.default_rng(self.rng.integers(1 << 63))
            port.set_pause_generator(bursty_pauses(child, rate, mean))

    async def start(self, reset_cycles: int = 3) -> None:
        """Apply reset, then start the clock and the sampler; returns after rst_ni rose.

        rst_ni falls before the first clock edge: the registers are X until then (Icarus), and
        cocotbext-axi's ports must see the reset before they sample a handshake.
        """
        self.dut.rst_ni.value = 0
        await Timer(1, "ns")
        Clock(self.dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start()
        self.sampler.start(self.dut.clk_i)
        for _ in range(reset_cycles):
            await RisingEdge(self.dut.clk_i)
        await Timer(RESET_OFFSET_NS, "ns")
        self.dut.rst_ni.value = 1
        await FallingEdge(self.dut.clk_i)

    async def reset(self, cycles: int = 3) -> int:
        """Assert rst_ni RESET_OFFSET_NS after the next rising edge for ``cycles`` rising edges,
        dropping every frame still queued: the current epoch ends (its folds may stop early) and
        a new one starts. Returns the cycle of the first sample in reset."""
        clk = self.dut.clk_i
        await RisingEdge(clk)
        await Timer(RESET_OFFSET_NS, "ns")
        self.dut.rst_ni.value = 0
        cut = self.sampler.cycle  # the next falling edge samples the reset
        for port in (self.source_a, self.source_b):
            port.clear()  # the frames of the epoch that the reset ends are never sent
        self.sink.clear()
        self._sink_words = []
        for _ in range(cycles):
            await RisingEdge(clk)
        await Timer(RESET_OFFSET_NS, "ns")
        self.dut.rst_ni.value = 1
        self.cuts.append(cut)
        self.epochs.append([])
        return cut

    async def send_gemm(self, a: np.ndarray, b: np.ndarray) -> list[ExpectedFold]:
        """Queue a whole GEMM (every fold's frames); the results are checked by ``check``."""
        folds = await self.driver.send(np.asarray(a), np.asarray(b))
        self.epochs[-1].extend(folds)
        return folds

    def timeout_cycles(self) -> int:
        """A bound on the cycles the current epoch may take, generous for any pause rate."""
        p = self.params
        steps = sum(f.k + f.fold.m + p.rows + p.cols for f in self.epochs[-1])
        return 20 * (steps + 50)

    async def wait_results(self, timeout: int | None = None) -> None:
        """Wait until every fold of the current epoch has its result frame (or ``timeout``
        cycles passed: ``check`` then names what is missing), then a few idle cycles, so that an
        extra beat would be seen."""
        want = len(self.epochs[-1])
        limit = self.sampler.cycle + (timeout or self.timeout_cycles())
        clk = self.dut.clk_i
        while self.sampler.frames_since_reset < want and self.sampler.cycle < limit:
            await FallingEdge(clk)
        for _ in range(self.params.rows + self.params.cols + 4):
            await FallingEdge(clk)

    # -----------------------------------------------------------------------------------------
    # Checks.
    # -----------------------------------------------------------------------------------------

    def result_beats(self) -> list[list[ResultBeat]]:
        """The accepted beats of m_axis_c, one list per epoch."""
        bounds = [*self.cuts, self.sampler.cycle]
        out: list[list[ResultBeat]] = [[] for _ in bounds]
        epoch = 0
        for n, s in enumerate(self.sampler.samples):
            while n >= bounds[epoch]:
                epoch += 1
            if s.c.fire and not s.rst:
                assert s.c.tdata is not None and s.c.tkeep is not None
                out[epoch].append(ResultBeat(n, s.c.tdata, s.c.tkeep, int(s.c.tlast or 0)))
        return out

    def check(self) -> ResultScoreboard:
        """Run every check on what was sampled; raise AccelCheckError on the first kind that
        fails (protocol, then the skew contract, then the array, then the results), after
        recording statistics and coverage."""
        samples = self.sampler.samples
        p = self.params
        errors: list[str] = []
        violations = check_protocol(samples, self.top)
        if violations:
            errors.append(
                "AXI4-Stream protocol: "
                + "; ".join(str(v) for v in violations[:8])
                + (f"; and {len(violations) - 8} more" if len(violations) > 8 else "")
            )
        recorded = self.recorded_stimulus()
        contract = check_contract(contract_stimulus(samples, p), recorded)
        if contract:
            errors.append(
                "skew contract (step accepted in cycle c on west lane i in c+1+i, north lane j "
                "in c+1+j): " + "; ".join(contract[:8])
            )
        array_sb = self.check_array(recorded)
        sb = ResultScoreboard(self.top, self.context)
        beats = self.result_beats()
        for n, (folds, got) in enumerate(zip(self.epochs, beats, strict=True)):
            sb.check(folds, got, cut=n < len(self.epochs) - 1)
        self._record(sb, array_sb)
        self._check_sink(beats)
        if errors:
            raise AccelCheckError(
                f"{errors[0]} [{self.context}]" + "".join(f"; also {e}" for e in errors[1:])
            )
        array_sb.raise_if_failed()
        sb.raise_if_failed()
        return sb

    def recorded_stimulus(self) -> EdgeStimulus:
        """The array's edge inputs as sampled, with the cycle model's reset flags: rst[t] when
        the state after edge t is the reset state (rst_ni low at edge t, or fallen before the
        sample of cycle t+1, as the asynchronous clear acts at once)."""
        p = self.params
        t = len(self.sampler.samples)
        stim = EdgeStimulus.idle(t, p)
        low = np.array([s.rst for s in self.sampler.samples], bool)
        stim.rst[:] = low | np.append(low[1:], False)
        for n, row in enumerate(self.sampler.array_in):
            if None in row:
                continue  # X/Z: the state check reports what it did
            a, av, af, al, b, bv = (int(v) for v in row)  # type: ignore[arg-type]
            stim.a[n] = unpack_lanes(a, p.rows, p.data_w)
            stim.a_vld[n] = unpack_lanes(av, p.rows, 1, signed=False).astype(bool)
            stim.a_first[n] = unpack_lanes(af, p.rows, 1, signed=False).astype(bool)
            stim.a_last[n] = unpack_lanes(al, p.rows, 1, signed=False).astype(bool)
            stim.b[n] = unpack_lanes(b, p.cols, p.data_w)
            stim.b_vld[n] = unpack_lanes(bv, p.cols, 1, signed=False).astype(bool)
        return stim

    def check_array(self, stim: EdgeStimulus, expected: ArrayTrace | None = None) -> Scoreboard:
        """Every PE every cycle: the array's cycle model run on the recorded edge inputs against
        the sampled accumulators, results and strobes (tb/scoreboard.py's checks and messages).
        ``expected``: the model's trace, computed here unless given (a test may corrupt it)."""
        p = self.params
        trace = expected if expected is not None else simulate(stim, p)
        sb = Scoreboard(Stream(p, stim, []), trace, self.context, resets=stim.rst)
        n_pe, shape = p.rows * p.cols, (p.rows, p.cols)
        for n in range(1, len(self.sampler.array_state)):
            acc, res, vld = self.sampler.array_state[n]
            if acc is None or res is None or vld is None:
                sb.unreadable(n - 1, ValueError("X/Z in acc_o, res_o or res_vld_o"))
                continue
            sb.check_cycle(
                n - 1,
                unpack_lanes(acc, n_pe, p.acc_w).reshape(shape),
                unpack_lanes(res, n_pe, p.acc_w).reshape(shape),
                unpack_lanes(vld, n_pe, 1, signed=False).astype(bool).reshape(shape),
            )
        sb.check_results()  # no products: the hold checks on the samples alone
        return sb

    def _check_sink(self, beats: list[list[ResultBeat]]) -> None:
        """cocotbext-axi's sink saw the same words as the sampler since the last reset (the two
        sample at different edges: a disagreement is a testbench fault)."""
        while not self.sink.empty():
            self._sink_words += self.sink.recv_nowait(compact=False).tdata
        words = self._sink_words
        mask = (1 << self.params.acc_w) - 1
        want = [
            (beat.tdata >> (j * self.params.acc_w)) & mask
            for beat in _complete_frames(beats[-1])
            for j in range(self.top.words)
        ]
        if words != want:
            raise AccelCheckError(
                f"the sink's frames ({len(words)} words) differ from the sampled beats "
                f"({len(want)} words) [{self.context}]"
            )

    def _record(self, sb: ResultScoreboard, array_sb: Scoreboard) -> None:
        """Statistics and functional coverage of the test so far."""
        samples = self.sampler.samples
        coverage.sample_accel(self.top, samples, self.sampler.pending_max, self.epochs)
        self.stats.cycles = len(samples)
        self.stats.products = sb.folds_checked
        self.stats.pe_checks = array_sb.pe_checks
        self.stats.reset_pulses = len(self.cuts)
        self.stats.streams = sum(len(e) > 0 for e in self.epochs)
        self.stats.wall_s = time.perf_counter() - self._t0
        self.stats.passed = sb.passed and array_sb.passed

    def write_stats(self, passed: bool) -> None:
        """Record this test's statistics and coverage for the runner."""
        self.stats.passed = passed
        write_stats(RUN.stats_dir, self.stats)
        coverage.export()


def _complete_frames(beats: list[ResultBeat]) -> list[ResultBeat]:
    """The beats up to the last tlast (the sink queues only finished frames)."""
    last = max((n for n, b in enumerate(beats) if b.tlast), default=-1)
    return beats[: last + 1]
