"""The cocotb side of the fast path: stream whole GEMMs through rtl/harness/systolic_harness.v.

Python does not wake per cycle: it writes the skewed stimulus in bulk (a $readmemh file per
segment of up to DEPTH rows), lets the C++/GPI clock run, and wakes once per segment (``need_o``)
and once at the end (``done_o``) to read the signature of every PE's accumulator, result and
strobe over every cycle, and the last strobe cycle. While the simulator runs, a worker thread
computes the same signature from the cycle model (closed form per product when no partial sum
can overflow, else the register model vectorized over time; NumPy releases the GIL), so checking
costs little wall time. A mismatch names the PEs whose state differed; rerun that GEMM on the
default path (``tb/test_gemm.py::test_gemm_sweep`` style, every PE every cycle in Python) to see
the first wrong cycle.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer

from systolic.bench.harness import DEFAULT_DEPTH, slots, stimulus_rows, write_hex
from systolic.models.fast_trace import (
    Signature,
    chunk_count,
    closed_form_applies,
    expected_signature,
)
from systolic.models.params import ArrayParams
from systolic.models.skew import Stream

CLOCK_PERIOD_NS = 10
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2)
#: Rows of the first segment: small, so that the simulator starts while the rest is written.
FIRST_SEGMENT = 2048


@dataclass
class FastResult:
    """Outcome of one stream on the harness."""

    expected: Signature
    observed: Signature
    cycles: int  # sampled cycles (the stream's length)
    wall_s: float
    errors: list[str] = field(default_factory=list)
    phases: dict = field(default_factory=dict)  # prepare_s, simulate_s, model_wait_s

    @property
    def measured_cycles(self) -> int:
        """First operand in (cycle 0) to the last result strobe, inclusive: last strobe + 1."""
        return self.observed.last_strobe + 1

    @property
    def passed(self) -> bool:
        return not self.errors


class FastHarness:
    """Drives ``systolic_harness``: reset, segments, signature read-back."""

    def __init__(self, dut: Any, params: ArrayParams, workdir: Path | None = None) -> None:
        self.dut = dut
        self.params = params
        self.depth = int(os.environ.get("SYSTOLIC_HARNESS_DEPTH", DEFAULT_DEPTH))
        self.stim_file = Path(os.environ.get("SYSTOLIC_HARNESS_DIR", workdir or ".")) / "stim.hex"
        self._seg = 0
        self._clock_started = False
        # systolic_harness_top generates its clock in HDL (signal clk); systolic_harness takes
        # cocotb's clock on clk_i.
        self.hdl_clock = not hasattr(dut, "clk_i")
        self.clk = dut.clk if self.hdl_clock else dut.clk_i

    async def reset(self, cycles: int = 2) -> None:
        dut = self.dut
        if not self._clock_started:
            self._clock_started = True
            if self.hdl_clock:
                await Timer(1, unit="ns")  # let the HDL clock's initial value settle
            else:
                Clock(dut.clk_i, CLOCK_PERIOD_NS, unit="ns").start()
        clk = self.clk
        await FallingEdge(clk)  # never write the reset inside a rising edge's time step
        dut.rst_ni.value = 0
        dut.seg_i.value = self._seg
        dut.rows_i.value = 0
        dut.total_i.value = 0
        await ClockCycles(clk, cycles)
        await FallingEdge(clk)
        dut.rst_ni.value = 1
        await FallingEdge(clk)

    def _seg_file(self, k: int) -> Path:
        return self.stim_file.with_name(f"{self.stim_file.name}.{k}")

    async def run(self, stream: Stream, expected: Signature | None = None) -> FastResult:
        """Play a stream (from reset) and compare the signature with the model's."""
        p = self.params
        stim = stream.stimulus
        total = stim.cycles
        t0 = time.perf_counter()
        future = None
        if expected is None:
            future = _POOL.submit(expected_signature, stream, p)
        rows = stimulus_rows(stim)
        dut = self.dut
        dut.total_i.value = total
        # Segments: a small first one, then DEPTH rows each, written by worker threads while
        # the simulator plays the previous one; each is renamed into place when it is needed.
        bounds = [0, min(rows, FIRST_SEGMENT, self.depth)]
        while bounds[-1] < rows:
            bounds.append(min(rows, bounds[-1] + self.depth))
        segs = list(itertools.pairwise(bounds))
        write_hex(self.stim_file, stim, p, *segs[0])
        t_sim = time.perf_counter()
        pending = [
            _POOL.submit(write_hex, self._seg_file(k), stim, p, lo, hi)
            for k, (lo, hi) in enumerate(segs[1:], start=1)
        ]
        for k, (lo, hi) in enumerate(segs):
            if k:
                pending[k - 1].result()
                os.replace(self._seg_file(k), self.stim_file)
            dut.rows_i.value = hi - lo
            self._seg += 1
            dut.seg_i.value = self._seg
            if k + 1 < len(segs):
                await RisingEdge(dut.need_o)
        await RisingEdge(dut.done_o)
        # done_o and the last signature update share a time step: read after it settled.
        await FallingEdge(self.clk)
        observed = Signature(
            int(dut.n_smp_o.value.to_unsigned()),
            slots(dut.sig_acc_o.value.to_unsigned(), chunk_count("acc", p)),
            slots(dut.sig_res_o.value.to_unsigned(), chunk_count("res", p)),
            slots(dut.sig_vld_o.value.to_unsigned(), chunk_count("vld", p)),
            _last(int(dut.last_vld_o.value.to_unsigned())),
        )
        t_done = time.perf_counter()
        if future is not None:
            expected = future.result()
        wall = time.perf_counter() - t0
        phases = {
            "prepare_s": t_sim - t0,
            "simulate_s": t_done - t_sim,
            "model_wait_s": wall - (t_done - t0),
        }
        errors = expected.differences(observed, p)
        return FastResult(expected, observed, total, wall, errors, phases)


def _last(v: int) -> int:  # all ones: no strobe seen
    return -1 if v == 0xFFFFFFFF else v


def check_results_vs_golden(stream: Stream, params: ArrayParams) -> list[str]:
    """The model's captured results equal the golden GEMM (so the RTL's, which match the model's
    signature, do too). The closed-form signature is built from the golden results themselves;
    otherwise the register model's captures are compared product by product."""
    from systolic.models.fast_trace import _step_chunks  # the model's step states

    if closed_form_applies(stream, params):
        return []
    want = {int(sp.steps[-1]): sp for sp in stream.products if not sp.aborted}
    errors: list[str] = []
    for s0, st in _step_chunks(
        stream.stimulus, params, max(256, (1 << 22) // params.rows // params.cols)
    ):
        n = st.acc.shape[0]
        for s in [s for s in want if s0 <= s < s0 + n]:
            sp = want[s]
            got = st.res[s - s0, : sp.product.m, : sp.product.n]
            if not np.array_equal(got, sp.expected):
                i, j = np.argwhere(got != sp.expected)[0]
                errors.append(
                    f"model C[{i}][{j}] of {sp.product.label}: {got[i, j]} != golden "
                    f"{sp.expected[i, j]}"
                )
    return errors
