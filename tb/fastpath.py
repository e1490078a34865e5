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

Result values: a harness built with DUMP=1 (``harness.run_cocotb`` with
``harness=HarnessBuild(dump=True)``) writes every strobed result to a file, named to the tests
by the run configuration (``harness_res``).
``FastHarness.run`` then also returns the RTL's own C of every product (``FastResult.results``),
read back after ``done_o`` from where the previous run's lines ended; ``gemm_result`` puts the
folds of a tiled GEMM back into its M x N C. Values come from the RTL, not from the model.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer

from systolic.engine.harness import DEFAULT_DEPTH, slots, stimulus_rows, write_hex
from systolic.errors import SimulatorError
from systolic.models.fast_trace import (
    Signature,
    chunk_count,
    closed_form_applies,
    expected_signature,
)
from systolic.models.params import ArrayParams
from systolic.models.skew import ScheduledProduct, Stream, pe_delay
from systolic.models.tiling import assemble, plan_folds
from systolic.tb.config import RUN

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
    phases: dict[str, float] = field(default_factory=dict)  # prepare_s, simulate_s, model_wait_s
    #: With a DUMP=1 build: the RTL's C (m x n int64, signed ACC_W-bit) of every product of the
    #: stream, in ``stream.products`` order; None for an aborted product or one whose results
    #: could not be placed (see errors). Empty when the build does not dump.
    results: list[np.ndarray | None] = field(default_factory=list)

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
        self.depth = RUN.harness_depth or DEFAULT_DEPTH
        self.stim_file = Path(RUN.harness_dir or workdir or ".") / "stim.hex"
        self._seg = 0
        self._clock_started = False
        # systolic_harness_top generates its clock in HDL (signal clk); systolic_harness takes
        # cocotb's clock on clk_i.
        self.hdl_clock = not hasattr(dut, "clk_i")
        self.clk = dut.clk if self.hdl_clock else dut.clk_i
        # A DUMP=1 build (HarnessBuild(dump=True)): the file of strobed results.
        self.res_file: Path | None = Path(RUN.harness_res) if RUN.harness_res else None
        self._res_offset = 0  # bytes of the results file consumed by earlier runs

    @property
    def dump(self) -> bool:
        """The harness writes every strobed result (FastResult.results is filled)."""
        return self.res_file is not None

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
        layout = None
        if self.res_file is not None:  # self.dump
            # Lines of earlier runs (also of an aborted one: the harness flushes in reset).
            self._res_offset = _file_size(self.res_file)
            layout = _POOL.submit(expected_strobes, stream.products, p, total)
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
        results: list[np.ndarray | None] = []
        dump_errors: list[str] = []
        if self.res_file is not None:  # self.dump
            assert layout is not None  # submitted above when dumping
            with open(self.res_file, "rb") as f:
                f.seek(self._res_offset)
                data = f.read()
            self._res_offset += len(data)
            results, dump_errors = place_results(data, stream.products, p, total, layout.result())
        t_read = time.perf_counter()
        if future is not None:
            expected = future.result()
        assert expected is not None  # given, or the model's
        wall = time.perf_counter() - t0
        phases = {
            "prepare_s": t_sim - t0,
            "simulate_s": t_done - t_sim,
            "results_s": t_read - t_done,
            "model_wait_s": wall - (t_read - t0),
        }
        errors = expected.differences(observed, p) + dump_errors
        return FastResult(expected, observed, total, wall, errors, phases, results)


def _last(v: int) -> int:  # all ones: no strobe seen
    return -1 if v == 0xFFFFFFFF else v


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# ------------------------------------------------------------------------------------------------
# Result dump (DUMP=1 builds)
# ------------------------------------------------------------------------------------------------

#: Hex digit value of every byte (255: not a hex digit, e.g. x or z).
_HEX_VALUE = np.full(256, 255, np.uint8)
_HEX_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX_VALUE[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_HEX_VALUE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


def parse_results(data: bytes, acc_w: int) -> tuple[np.ndarray, list[str]]:
    """The harness's result lines (ceil(acc_w/4) hex digits and a newline each) as signed acc_w-bit
    int64 values, vectorized. Returns (values, errors): a partial last line or a line that is not
    hex gives an error; the values of the whole, valid lines before it are still returned."""
    digits = -(-acc_w // 4)
    width = digits + 1
    n = len(data) // width
    errors: list[str] = []
    if len(data) % width:
        errors.append(
            f"result dump: {len(data)} bytes is not a whole number of {width}-byte lines "
            f"({digits} hex digits + newline for ACC_W={acc_w}): truncated or wrong width"
        )
    lines = np.frombuffer(data, np.uint8, count=n * width).reshape(n, width)
    vals = _HEX_VALUE[lines[:, :digits]]
    bad = (vals == 255).any(axis=1) | (lines[:, digits] != ord("\n"))
    if bad.any():
        first = int(np.argmax(bad))
        text = bytes(lines[first]).decode("ascii", "replace").rstrip("\n")
        errors.append(f"result dump: line {first} is not {digits} hex digits: {text!r}")
        n = first
        vals = vals[:n]
    out = np.zeros(n, np.uint64)
    for d in range(digits):  # a loop over the digits of a line, not over lines
        out = (out << np.uint64(4)) | vals[:, d].astype(np.uint64)
    if acc_w < 64:
        mask = np.uint64((1 << acc_w) - 1)
        sign = np.uint64(1 << (acc_w - 1))
        out &= mask
        signed = (out ^ sign).astype(np.int64) - np.int64(1 << (acc_w - 1))
    else:
        signed = out.view(np.int64)
    return signed, errors


def expected_strobes(
    products: Sequence[ScheduledProduct], params: ArrayParams, cycles: int | None = None
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Where each result of each product is in the dump file.

    Returns (position, offsets, placed): the results of placed product ``placed[q]`` are the
    flattened (m, n) C at file lines ``position[offsets[q]:offsets[q+1]]`` (row-major), the file
    being sorted by capture cycle, then lane i*COLS+j. Aborted products, and products not all
    captured within ``cycles`` sampled cycles, strobe nothing that is expected: not placed."""
    placed = [
        q
        for q, sp in enumerate(products)
        if not sp.aborted and (cycles is None or sp.end_cycle < cycles)
    ]
    ends = np.array([int(products[q].steps[-1]) for q in placed], np.int64)
    ms = np.array([products[q].product.m for q in placed], np.int64)
    ns = np.array([products[q].product.n for q in placed], np.int64)
    sizes = ms * ns
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    local = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], sizes)
    n_rep = np.repeat(ns, sizes)
    i, j = local // n_rep, local % n_rep
    cycle = np.repeat(ends, sizes) + pe_delay(i, j) + params.latency  # capture of C[i][j]
    lane = i * params.cols + j
    order = np.lexsort((lane, cycle))  # file order -> entry
    position = np.empty_like(order)
    position[order] = np.arange(order.size)  # entry -> file line
    return position, offsets, placed


def place_results(
    data: bytes,
    products: Sequence[ScheduledProduct],
    params: ArrayParams,
    cycles: int | None = None,
    layout: tuple[np.ndarray, np.ndarray, list[int]] | None = None,
) -> tuple[list[np.ndarray | None], list[str]]:
    """Map a run's dump lines to (product, i, j): one (m, n) int64 C per product (None when
    aborted or not placeable) and the errors found. When the file has fewer lines than expected
    strobes, the products entirely within the lines present are still filled; with more lines the
    mapping is unknown and nothing is filled. layout: ``expected_strobes(products, params,
    cycles)`` if already computed."""
    vals, errors = parse_results(data, params.acc_w)
    position, offsets, placed = layout or expected_strobes(products, params, cycles)
    results: list[np.ndarray | None] = [None] * len(products)
    placed_set = set(placed)
    skipped = [q for q, sp in enumerate(products) if not sp.aborted and q not in placed_set]
    if skipped:
        errors.append(
            f"result dump: {len(skipped)} product(s) (first: #{skipped[0]} "
            f"{products[skipped[0]].product.label}) end after the stream's {cycles} sampled cycles"
        )
    want = int(offsets[-1])
    if vals.size != want:
        errors.append(
            f"result dump: {vals.size} results read, {want} result strobes expected from the "
            f"capture cycles of {len(placed)} products"
            + (" (extra or early strobes: no result placed)" if vals.size > want else "")
        )
        if vals.size > want:
            return results, errors
    if not placed:
        return results, errors
    # Every entry's value at once; a product is filled only when all its lines are present.
    flat = vals[np.minimum(position, max(vals.size - 1, 0))] if vals.size else position * 0
    complete = np.maximum.reduceat(position, offsets[:-1]) < vals.size
    for k, q in enumerate(placed):
        if complete[k]:
            sp = products[q]
            results[q] = flat[offsets[k] : offsets[k + 1]].reshape(sp.product.m, sp.product.n)
    return results, errors


def gemm_result(
    res: FastResult | Sequence[np.ndarray | None],
    m: int,
    n: int,
    params: ArrayParams,
    first: int = 0,
) -> np.ndarray:
    """The M x N C of a GEMM whose ``tile_gemm`` folds are products ``first ..`` of the stream
    (``FastResult.results`` or that list), assembled from the RTL's fold results."""
    results = res.results if isinstance(res, FastResult) else res
    count = len(plan_folds(m, n, params))
    tiles = list(results[first : first + count])
    if len(tiles) != count:
        raise SimulatorError(
            f"GEMM {m}x{n} needs {count} fold results from product #{first}, the run has "
            f"{len(results)} (was the harness built with dump=True?)"
        )
    missing = [first + q for q, t in enumerate(tiles) if t is None]
    if missing:
        raise SimulatorError(f"GEMM {m}x{n}: no RTL result for product(s) {missing[:8]}")
    return assemble([t for t in tiles if t is not None], m, n, params)


def gemm_results(
    res: FastResult | Sequence[np.ndarray | None],
    shapes: Sequence[tuple[int, int]],
    params: ArrayParams,
    first: int = 0,
) -> list[np.ndarray]:
    """The C of several GEMMs (M, N per GEMM) whose folds were streamed one GEMM after the other."""
    out = []
    for m, n in shapes:
        out.append(gemm_result(res, m, n, params, first))
        first += len(plan_folds(m, n, params))
    return out


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
