"""cocotb tests of whole GEMMs on the array (issue 3): tiling, zero-bubble streaming, exact cycles.

Two kinds of run, told apart by the toplevel the runner built:

* ``systolic_array`` (the default path, ``systolic.engine.runner.run(..., test_module=
  "systolic.tb.test_gemm")``): the project's testbench -- cocotb coroutines drive the skewed
  folds, Python checks every PE every cycle against the cycle model and every C against golden,
  and the measured cycle count (first operand at cycle 0 to the last result strobe) must equal
  ``models.tiling.gemm_cycles``;
* ``systolic_harness`` (the fast path, ``systolic.engine.harness.run_cocotb``): the same streams
  played from an HDL buffer, checked through a per-cycle state signature (models/fast_trace.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import cocotb
import numpy as np

from systolic.engine.stats import TestStats, write_stats
from systolic.fileio import atomic_write
from systolic.models.gemm import golden_gemm
from systolic.models.params import ArrayParams
from systolic.models.skew import schedule
from systolic.models.streams import gemm_stream, random_operands, speed_stream
from systolic.models.tiling import assemble, gemm_cycles, tile_gemm
from systolic.tb.config import RUN, dut_params

#: The build is the fast-path harness (the runner names its stimulus folder), not the array.
FAST = bool(RUN.harness_dir)
#: The run's list of GEMMs for test_fast_gemm ({"name", "m", "k", "n", "seed"}; default: a
#: small list), where test_fast_gemm / test_gemm_sweep write their per-job results, and the
#: length of the speed workload for test_speed_default / test_speed_fast.
JOBS, OUT, SPEED_CYCLES = RUN.gemm_jobs, RUN.gemm_out, RUN.speed_cycles


def sweep_shapes(p: ArrayParams, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """GEMM shapes for the cycle-model sweep: edges of the array, short K, and random shapes."""
    r, c = p.rows, p.cols
    shapes = [
        (1, 1, 1),
        (r, 1, c),
        (r + 1, 1, c + 1),  # K = 1: a full fold then tiny ones (an earlier fold ends last)
        (2 * r + 1, 2, 1),
        (1, 3, 3 * c + 2),
        (r, r + c, c),
        (3, 3, 3),
    ]
    if (r, c) == (8, 8):  # the examples
        shapes += [(100, 37, 70), (1, 300, 1), (65, 1, 65)]
    for _ in range(6):
        shapes.append(
            (
                int(rng.integers(1, 3 * r + 2)),
                int(rng.integers(1, 2 * max(r, c) + 3)),
                int(rng.integers(1, 3 * c + 2)),
            )
        )
    return shapes


def _write_out(name: str, rows: list[dict]) -> None:
    if OUT:
        atomic_write(Path(OUT), json.dumps({"test": name, "rows": rows}, indent=1))


@cocotb.test(skip=FAST)
async def test_gemm_sweep(dut):
    """Whole GEMMs of many shapes: every PE every cycle, every C, and cycles == gemm_cycles."""
    from systolic.tb.env import TB

    tb = TB(dut, "test_gemm_sweep")
    await tb.start()
    p = tb.params
    failures = []
    rows = []
    for idx, (m, k, n) in enumerate(sweep_shapes(p, tb.rng)):
        if idx:
            await tb.reset()
        a, b = random_operands(m, k, n, p, tb.seed + idx)
        stream = schedule(tile_gemm(a, b, p), p)
        st = stream.stimulus
        # Counting starts at cycle 0 = the first operand applied (A[0][0] on west lane 0).
        assert st.a_vld[0, 0] and st.b_vld[0, 0], "the stream does not start at cycle 0"
        sb = await tb.run(stream)
        sb.raise_if_failed()
        c = assemble(sb.finished_results(), m, n, p)
        want = golden_gemm(a, b, p)
        if not np.array_equal(c, want):
            i, j = np.argwhere(c != want)[0]
            failures.append(f"{m}x{k}x{n}: C[{i}][{j}] = {c[i, j]}, golden {want[i, j]}")
        strobes = np.flatnonzero(sb.obs_vld.any(axis=(1, 2)))
        measured = int(strobes[-1]) + 1
        model = gemm_cycles(m, k, n, p)
        rows.append({"m": m, "k": k, "n": n, "rtl_cycles": measured, "model_cycles": model})
        if measured != model:
            failures.append(f"{m}x{k}x{n}: RTL {measured} cycles, cycle model {model}")
    tb.write_stats(not failures)
    _write_out("test_gemm_sweep", rows)
    tb.log.info("%d GEMMs: RTL cycles == gemm_cycles for every one", len(rows))
    assert not failures, f"{'; '.join(failures)} [{tb.context}]"


@cocotb.test(skip=FAST or not SPEED_CYCLES)
async def test_speed_default(dut):
    """The throughput workload on the default path (Python checks every PE every cycle)."""
    from systolic.tb.env import TB

    tb = TB(dut, "test_speed_default")
    await tb.start()
    stream = speed_stream(tb.params, SPEED_CYCLES, tb.seed)
    sb = await tb.run(stream)
    tb.write_stats(sb.passed)
    sb.raise_if_failed()


# ------------------------------------------------------------------------------------------------
# Fast path (toplevel systolic_harness)
# ------------------------------------------------------------------------------------------------


def _fast_context(p: ArrayParams) -> str:
    return (
        f"ROWS={p.rows} COLS={p.cols} DATA_W={p.data_w} ACC_W={p.acc_w} "
        f"{'MUL_REG=1 ' if p.mul_reg else ''}sim={RUN.sim or '?'} fast path"
    )


def _stats(name: str, passed: bool, cycles: int, wall: float, pe: int) -> None:
    record = TestStats(name, passed, cycles=cycles, wall_s=wall, pe_checks=cycles * pe, streams=1)
    write_stats(RUN.stats_dir, record)


@cocotb.test(skip=not FAST)
async def test_fast_gemm(dut):
    """GEMMs through the harness: signature == model, model C == golden, cycles == gemm_cycles."""
    from systolic.tb.fastpath import FastHarness, check_results_vs_golden

    p = dut_params(dut)
    h = FastHarness(dut, p)
    if JOBS:
        jobs = json.loads(Path(JOBS).read_text())
    else:
        jobs = [
            {"name": f"{m}x{k}x{n}", "m": m, "k": k, "n": n, "seed": i}
            for i, (m, k, n) in enumerate(sweep_shapes(p, np.random.default_rng(5)))
        ]
    failures, rows = [], []
    cycles = wall = 0.0
    for job in jobs:
        m, k, n = job["m"], job["k"], job["n"]
        await h.reset()
        stream = gemm_stream(m, k, n, p, job.get("seed", 1))
        res = await h.run(stream)
        errs = list(res.errors) + check_results_vs_golden(stream, p)
        model = gemm_cycles(m, k, n, p)
        if res.measured_cycles != model:
            errs.append(f"RTL {res.measured_cycles} cycles, cycle model {model}")
        failures += [f"{job['name']} {m}x{k}x{n}: {e}" for e in errs]
        cycles += res.cycles
        wall += res.wall_s
        rows.append(
            {
                **job,
                "rtl_cycles": res.measured_cycles,
                "model_cycles": model,
                "stream_cycles": res.cycles,
                "wall_s": res.wall_s,
                "passed": not errs,
            }
        )
        dut._log.info(
            "%s %dx%dx%d: %d cycles (model %d) %s in %.2f s",
            job["name"],
            m,
            k,
            n,
            res.measured_cycles,
            model,
            "ok" if not errs else "FAILED",
            res.wall_s,
        )
    _write_out("test_fast_gemm", rows)
    _stats("test_fast_gemm", not failures, int(cycles), wall, p.rows * p.cols)
    assert not failures, f"{'; '.join(failures[:8])} [{_fast_context(p)}]"


@cocotb.test(skip=not (FAST and SPEED_CYCLES))
async def test_speed_fast(dut):
    """The throughput workload on the fast path (same stream as test_speed_default)."""
    from systolic.tb.fastpath import FastHarness

    p = dut_params(dut)
    h = FastHarness(dut, p)
    await h.reset()
    stream = speed_stream(p, SPEED_CYCLES, RUN.seed)
    res = await h.run(stream)
    dut._log.info("fast path phases: %s", {k: round(v, 3) for k, v in res.phases.items()})
    _stats("test_speed_fast", res.passed, res.cycles, res.wall_s, p.rows * p.cols)
    assert res.passed, f"{'; '.join(res.errors)} [{_fast_context(p)}]"


@cocotb.test(skip=not FAST or bool(JOBS))
async def test_fast_checker_bites(dut):
    """The fast path's checking is as strong as the default path's: one wrong value in one PE
    at one cycle, or one PE's result one cycle late, is caught and the PE is named."""
    from systolic.models.fast_trace import fast_trace, trace_signature
    from systolic.tb.fastpath import FastHarness

    p = dut_params(dut)
    h = FastHarness(dut, p)
    rng = np.random.default_rng(RUN.seed)
    stream = gemm_stream(2 * p.rows + 1, p.rows + 3, p.cols + 1, p, 7)
    good = fast_trace(stream.stimulus, p)
    await h.reset()
    res = await h.run(stream, expected=trace_signature(good, p))
    assert res.passed, f"unmodified expectation failed: {res.errors}"
    # 1. One accumulator off by one in one PE at one cycle.
    t = int(rng.integers(1, good.cycles - 1))
    i, j = int(rng.integers(p.rows)), int(rng.integers(p.cols))
    bad = fast_trace(stream.stimulus, p)
    bad.acc[t, i, j] += 1
    # 2. One PE's result (value and strobe) one cycle late.
    late = fast_trace(stream.stimulus, p)
    ci, cj = p.rows - 1, p.cols - 1
    tc = int(np.flatnonzero(late.res_vld[:, ci, cj])[0])
    late.res_vld[tc, ci, cj], late.res_vld[tc + 1, ci, cj] = False, True
    late.res[tc, ci, cj] = late.res[tc - 1, ci, cj] if tc else 0
    for what, trace, pe in (("value", bad, (i, j)), ("timing", late, (ci, cj))):
        await h.reset()
        res = await h.run(stream, expected=trace_signature(trace, p))
        assert res.errors, f"the fast path accepted a wrong {what} in PE{pe}"
        assert all(f"PE({pe[0]},{pe[1]})" in e for e in res.errors if "signature" in e), res.errors
        dut._log.info("injected %s error in PE%s caught: %s", what, pe, res.errors[0])
    # The unmodified stream was checked (a run that counted no check is no pass).
    _stats("test_fast_checker_bites", True, good.cycles, 0.0, p.rows * p.cols)


def _c_mismatches(name: str, got: np.ndarray, want: np.ndarray) -> list[str]:
    """Differences between a C read back from the RTL and the expected one (first one named)."""
    if got.shape != want.shape:
        return [f"{name}: C is {got.shape}, expected {want.shape}"]
    bad = np.argwhere(got != want)
    if not bad.size:
        return []
    i, j = bad[0]
    return [f"{name}: {len(bad)} wrong, first C[{i}][{j}] = {got[i, j]}, expected {want[i, j]}"]


@cocotb.test(skip=not (FAST and RUN.harness_res))
async def test_fast_dump(dut):
    """A DUMP=1 harness returns the RTL's own C: several GEMMs (edge folds, K=1, two GEMMs in one
    stream, two runs with a reset between) equal golden_gemm exactly; a wrong value is noticed."""
    from systolic.tb.fastpath import FastHarness, gemm_results

    p = dut_params(dut)
    h = FastHarness(dut, p)
    assert h.dump, "FastHarness does not see the results file"
    r, c = p.rows, p.cols
    runs = [
        [(r + 1, 1, c + 1), (2 * r + 1, 3, c + 2)],  # K = 1 with edge folds, then a second GEMM
        [(r, r + c, c), (1, 1, 1), (3 * r - 1, 2, 2 * c + 1)],
    ]
    failures: list[str] = []
    cycles = 0
    for run_idx, shapes in enumerate(runs):
        ops = [
            random_operands(m, k, n, p, 40 + 10 * run_idx + q) for q, (m, k, n) in enumerate(shapes)
        ]
        if run_idx == 1:  # extreme operands: the most negative and positive sums
            m, k, n = shapes[0]
            ops[0] = (np.full((m, k), p.data_min), np.full((k, n), p.data_min))
        stream = schedule([f for a, b in ops for f in tile_gemm(a, b, p)], p)
        await h.reset()
        res = await h.run(stream)
        cycles += res.cycles
        failures += [f"run {run_idx}: {e}" for e in res.errors]
        assert len(res.results) == len(stream.products), res.errors
        cs = gemm_results(res, [(m, n) for m, _, n in shapes], p)
        for (m, k, n), (a, b), got in zip(shapes, ops, cs, strict=True):
            want = golden_gemm(a, b, p)
            failures += _c_mismatches(f"run {run_idx} {m}x{k}x{n}", got, want)
            # The comparison bites: one expected value off by one is noticed.
            wrong = want.copy()
            wrong[m - 1, n // 2] += 1
            assert _c_mismatches("wrong", got, wrong), "a wrong expectation was not noticed"
        dut._log.info(
            "run %d: %d GEMMs, %d results read back in %.3f s",
            run_idx,
            len(shapes),
            sum(x.size for x in res.results if x is not None),
            res.phases.get("results_s", 0.0),
        )
    _stats("test_fast_dump", not failures, cycles, 0.0, p.rows * p.cols)
    assert not failures, f"{'; '.join(failures[:8])} [{_fast_context(p)}]"


@cocotb.test(skip=not (FAST and RUN.gemm_file and RUN.harness_res))
async def test_fast_gemm_file(dut):
    """``systolic gemm --fast``: the GEMM in the run's ``gemm_file`` (npz with int arrays a, b)
    streamed through the dumping harness at the simulator's speed. Every PE's state over every
    cycle is checked through the signature, the cycles must equal the cycle model's, and the C
    read back from the RTL must equal the golden GEMM; C is written next to the file."""
    from systolic.errors import SimulatorError
    from systolic.tb.fastpath import FastHarness, gemm_result

    p = dut_params(dut)
    assert RUN.gemm_file, "the run names no GEMM file: use `systolic gemm --fast`"
    path = Path(RUN.gemm_file)
    with np.load(path, allow_pickle=False) as data:
        a, b = data["a"], data["b"]
    m, n = a.shape[0], b.shape[1]
    h = FastHarness(dut, p)
    await h.reset()
    stream = schedule(tile_gemm(a, b, p), p)
    res = await h.run(stream)
    failures = list(res.errors)
    model = gemm_cycles(m, a.shape[1], n, p)
    if res.measured_cycles != model:
        failures.append(f"RTL {res.measured_cycles} cycles, cycle model {model}")
    c = None
    try:
        c = gemm_result(res, m, n, p)
    except SimulatorError as exc:  # a missing result tile: reported with the other failures
        failures.append(str(exc))
    if c is not None:
        failures += _c_mismatches("C", c, golden_gemm(a, b, p))
    k = a.shape[1]
    dut._log.info("fast path %dx%dx%d: %d cycles in %.2f s", m, k, n, res.cycles, res.wall_s)
    _stats("test_fast_gemm_file", not failures, res.cycles, res.wall_s, p.rows * p.cols)
    assert not failures, f"{'; '.join(failures[:8])} [{_fast_context(p)}]"
    assert c is not None
    out = path.with_name(path.stem + "_c.npy")
    np.save(out, c)
    dut._log.info("C (%dx%d) written to %s", m, n, out)
