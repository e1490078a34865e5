"""cocotb tests of a standalone ``systolic_pe`` against a tiny, independent PE model.

Run through ``systolic.engine.runner`` with ``PE_TOP`` (tests/tb/test_sim.py), which builds
rtl/systolic_pe.v alone with DATA_W, ACC_W and MUL_REG from the run configuration (ROWS, COLS
unused).
Every output port is compared with the model after every rising edge.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from systolic.engine.stats import TestStats, write_stats
from systolic.tb.config import RUN, dut_params
from systolic.tb.env import CLOCK_PERIOD_NS, RESET_READ_PS

#: Input ports in the order of a stimulus tuple.
IN_PORTS = ("a_i", "a_vld_i", "a_first_i", "a_last_i", "b_i", "b_vld_i")
#: Output ports: the forwarded operands and flags, then the accumulator state.
OUT_PORTS: tuple[str, ...] = (
    "a_o",
    "a_vld_o",
    "a_first_o",
    "a_last_o",
    "b_o",
    "b_vld_o",
    "acc_o",
    "res_o",
)
OUT_PORTS += ("res_vld_o",)
#: Multi-bit ports, read as signed numbers.
SIGNED_PORTS = ("a_o", "b_o", "acc_o", "res_o")

Inputs = tuple[int, int, int, int, int, int]


def _wrap(value: int, width: int) -> int:
    """Python-int two's-complement wrap (independent of systolic.models.fixed on purpose)."""
    half = 1 << (width - 1)
    return ((value + half) % (1 << width)) - half


#: A pair as the accumulator sees it: (fire, first, last, product).
Pair = tuple[bool, int, int, int]
NO_PAIR: Pair = (False, 0, 0, 0)


@dataclass
class PeModel:
    """The PE of docs/architecture.md in a dozen lines: every output is a register. With
    ``mul_reg`` the pair of an edge is held in the product register and added at the next."""

    data_w: int
    acc_w: int
    mul_reg: int = 0
    out: dict[str, int] = field(default_factory=dict)
    pipe: Pair = NO_PAIR

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.out = dict.fromkeys(OUT_PORTS, 0)
        self.pipe = NO_PAIR

    def step(self, inputs: Inputs) -> None:
        """One rising edge with ``inputs`` (IN_PORTS order) applied."""
        a, a_vld, a_first, a_last, b, b_vld = inputs
        a, b = _wrap(a, self.data_w), _wrap(b, self.data_w)
        pair: Pair = (bool(a_vld and b_vld), a_first, a_last, a * b)
        if self.mul_reg:
            pair, self.pipe = self.pipe, pair
        fire, first, last, prod = pair
        total = _wrap((0 if first else self.out["acc_o"]) + prod, self.acc_w)
        o = self.out
        o["res_vld_o"] = int(fire and bool(last))
        if fire:
            o["acc_o"] = total
            if last:
                o["res_o"] = total
        o["a_o"], o["a_vld_o"], o["a_first_o"], o["a_last_o"] = a, a_vld, a_first, a_last
        o["b_o"], o["b_vld_o"] = b, b_vld


class PeBench:
    """Clock, reset, driver, monitor and checker of one standalone PE."""

    def __init__(self, dut: Any, test_name: str) -> None:
        self.dut = dut
        self.test_name = test_name
        self.params = dut_params(dut, only=("DATA_W", "ACC_W", "MUL_REG"))
        self.seed = RUN.seed
        self.rng = np.random.default_rng([self.seed, zlib.crc32(test_name.encode())])
        self.model = PeModel(self.params.data_w, self.params.acc_w, self.params.mul_reg)
        self.errors: list[str] = []
        self.cycle = 0
        self.compares = 0  # output comparisons made (the run's statistics count them)
        self._in = [dut[name] for name in IN_PORTS]
        self._out = {name: dut[name] for name in OUT_PORTS}
        if len(dut.acc_o) != self.params.acc_w or len(dut.a_i) != self.params.data_w:
            raise RuntimeError(f"the build does not match {self.params}")

    @property
    def context(self) -> str:
        p = self.params
        sim = RUN.sim or "?"
        m1 = ("MUL_REG=1 ", "-m1") if p.mul_reg else ("", "")
        return (
            f"systolic_pe DATA_W={p.data_w} ACC_W={p.acc_w} {m1[0]}sim={sim} seed={self.seed} "
            f"test={self.test_name}; reproduce: pytest tests/tb/test_sim.py -k 'standalone_pe and "
            f"{sim}-d{p.data_w}-a{p.acc_w}{m1[1]}'"
        )

    async def start(self) -> None:
        """Start the clock and reset; returns at a falling edge, ready to drive cycle 0."""
        Clock(self.dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start()
        await self.reset()

    async def reset(self) -> None:
        self.dut.rst_ni.value = 0
        self.drive((0, 0, 0, 0, 0, 0))
        await ClockCycles(self.dut.clk_i, 2)
        await FallingEdge(self.dut.clk_i)
        self.dut.rst_ni.value = 1
        self.model.reset()

    def drive(self, inputs: Inputs) -> None:
        for handle, value in zip(self._in, inputs, strict=True):
            handle.value = _unsigned(value, len(handle))

    def read(self) -> dict[str, int]:
        """Every output; multi-bit ports as signed numbers."""
        return {
            name: h.value.to_signed() if name in SIGNED_PORTS else int(h.value)
            for name, h in self._out.items()
        }

    async def run(self, stimulus: list[Inputs]) -> None:
        """Drive one input tuple per cycle and check every output after every rising edge."""
        for inputs in stimulus:
            self.drive(inputs)
            await FallingEdge(self.dut.clk_i)
            self.model.step(inputs)
            self.compare(self.model.out, f"at cycle {self.cycle}")
            self.cycle += 1

    def compare(self, want: dict[str, int], when: str) -> None:
        got = self.read()
        self.compares += 1
        for name in OUT_PORTS:
            if got[name] != want[name]:
                self.errors.append(f"PE {name} {when}: expected {want[name]}, got {got[name]}")

    def write_stats(self, passed: bool) -> None:
        """Record what the test checked (a run that counted no check is no pass)."""
        record = TestStats(self.test_name, passed, self.cycle, pe_checks=self.compares)
        write_stats(RUN.stats_dir, record)

    def raise_if_failed(self) -> None:
        self.write_stats(not self.errors)
        if self.errors:
            more = f"; and {len(self.errors) - 8} more" if len(self.errors) > 8 else ""
            shown = "; ".join(self.errors[:8])
            raise AssertionError(f"{shown}{more} [{self.context}]")

    def random_inputs(self, n: int, p_valid: float = 0.7) -> list[Inputs]:
        """Operands over the whole signed range (garbage too when invalid), random flags."""
        p, rng = self.params, self.rng
        out: list[Inputs] = []
        for _ in range(n):
            a, b = (int(v) for v in rng.integers(p.data_min, p.data_max + 1, 2))
            a_vld, b_vld, first, last = (
                int(v) for v in rng.random(4) < (p_valid, p_valid, 0.3, 0.3)
            )
            out.append((a, a_vld, first, last, b, b_vld))
        return out


def _unsigned(value: int, width: int) -> int:
    return value & ((1 << width) - 1)


def accumulate(values: Iterable[tuple[int, int]]) -> list[Inputs]:
    """One accumulation of (a, b) pairs: first on the first pair, last on the last."""
    pairs = list(values)
    return [(a, 1, int(k == 0), int(k == len(pairs) - 1), b, 1) for k, (a, b) in enumerate(pairs)]


IDLE: Inputs = (0, 0, 0, 0, 0, 0)


@cocotb.test()
async def test_pe_random(dut):
    """Random operands, valids and flags for 400 cycles: every output after every edge."""
    pb = PeBench(dut, "test_pe_random")
    await pb.start()
    await pb.run(pb.random_inputs(400))
    pb.raise_if_failed()


@cocotb.test()
async def test_pe_directed(dut):
    """Extremes until the accumulator wraps (when reachable), flags of non-firing cycles,
    back-to-back K = 1 strobes, a result held over idle cycles."""
    pb = PeBench(dut, "test_pe_directed")
    await pb.start()
    p = pb.params
    lo, hi = p.data_min, p.data_max
    k = min((1 << (p.acc_w - 2 * p.data_w + 1)) + 2, 600)
    stim = accumulate((lo, lo) for _ in range(k)) + accumulate((lo, hi) for _ in range(3))
    # Flags and data with only one operand valid, or none: nothing may fire.
    stim += [(hi, 1, 1, 1, hi, 0), (lo, 0, 1, 1, lo, 1), (hi, 0, 1, 1, hi, 0)]
    stim += accumulate([(hi, hi)]) + accumulate([(lo, hi)]) + accumulate([(3, -2)])
    stim += [IDLE] * 5 + accumulate([(1, 1), (2, 2)])
    await pb.run(stim)
    pb.raise_if_failed()
    if k * lo * lo >= 1 << (p.acc_w - 1):  # the extremes overflowed: the model must have wrapped
        assert _wrap(k * lo * lo, p.acc_w) != k * lo * lo, pb.context


@cocotb.test()
async def test_pe_reset_between_edges(dut):
    """rst_ni falling between clock edges clears every output at once (no edge needed); the
    first edge after its release accepts that cycle's inputs."""
    pb = PeBench(dut, "test_pe_reset_between_edges")
    await pb.start()
    p = pb.params
    await pb.run(accumulate([(p.data_max, p.data_min), (3, 5)]) + accumulate([(p.data_min, 7)]))
    assert any(pb.read().values()), "nothing to clear"
    await Timer(2, "ns")  # 7 ns after the last rising edge, 3 ns before the next
    dut.rst_ni.value = 0
    await Timer(RESET_READ_PS, "ps")
    pb.model.reset()
    pb.compare(pb.model.out, f"{RESET_READ_PS} ps after rst_ni fell before cycle {pb.cycle}")
    await Timer(1, "ns")
    dut.rst_ni.value = 1  # released 2 ns before the next rising edge
    await pb.run(accumulate([(2, 3)]) + [IDLE] * 2)
    pb.raise_if_failed()


@cocotb.test()
async def test_pe_checker_bites(dut):
    """A wrong model value at one cycle must be reported exactly: port, cycle, expected, got."""
    pb = PeBench(dut, "test_pe_checker_bites")
    await pb.start()
    stim = pb.random_inputs(30, p_valid=0.9)
    await pb.run(stim[:20])
    pb.model.step(stim[20])
    good = pb.model.out["acc_o"]
    pb.model.out["acc_o"] = _wrap(good + 1, pb.params.acc_w)
    pb.drive(stim[20])
    await FallingEdge(dut.clk_i)
    pb.compare(pb.model.out, "at cycle 20")
    want = f"PE acc_o at cycle 20: expected {pb.model.out['acc_o']}, got {good}"
    assert pb.errors == [want], pb.errors
    pb.write_stats(True)  # the injected error was reported as it must be
