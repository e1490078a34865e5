"""Issue 3: tiling, zero-bubble streaming and the exact cycle model, in Python and on the RTL."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.engine import build, harness, runner, toolchain
from systolic.engine.config import RunSettings
from systolic.engine.harness import HarnessBuild
from systolic.errors import OperandError
from systolic.models import ArrayParams, Product, schedule, simulate
from systolic.models.fast_trace import fast_trace, stream_signature, trace_signature
from systolic.models.streams import gemm_stream
from systolic.models.tiling import (
    GemmPlan,
    check_dims,
    gemm_cycles,
    lower_bound_cycles,
    readout_stall_cycles,
    scalesim_os_cycles,
)
from systolic.mutation import catalog as mutants

ARRAYS = [ArrayParams(1, 1), ArrayParams(2, 5), ArrayParams(3, 3), ArrayParams(8, 8)]


@pytest.mark.parametrize("p", ARRAYS, ids=lambda p: p.tag)
def test_cycle_model_equals_register_model(p: ArrayParams) -> None:
    """gemm_cycles == last strobe + 1 of the register-level model, over many shapes."""
    rng = np.random.default_rng(p.rows * 7 + p.cols)
    for _ in range(12):
        m, k, n = (int(x) for x in rng.integers(1, [3 * p.rows + 2, 12, 3 * p.cols + 2]))
        trace = simulate(gemm_stream(m, k, n, p, 3).stimulus, p)
        last = int(np.flatnonzero(trace.res_vld.any(axis=(1, 2)))[-1])
        assert gemm_cycles(m, k, n, p) == last + 1, (m, k, n)
        assert gemm_cycles(m, k, n, p) >= lower_bound_cycles(m, k, n, p) - p.rows - p.cols


def test_short_k_earlier_fold_ends_last() -> None:
    """K=1 with a tiny last fold: the full fold before it finishes later than LB says."""
    p = ArrayParams(8, 8)
    assert gemm_cycles(9, 1, 8, p) == 15 > lower_bound_cycles(9, 1, 8, p) == 2 + 1 + 8 - 2
    assert gemm_cycles(16, 1, 8, p) == lower_bound_cycles(16, 1, 8, p) == 2 + 14


def test_plan_bounds_and_scalesim_formula() -> None:
    p = ArrayParams(16, 16)
    plan = GemmPlan(64, 64, 64, p)
    assert plan.fold_count == 16 and plan.cycles == plan.lower_bound == 16 * 64 + 30
    assert plan.scalesim_cycles == 16 * (64 + 30) == 1503 + 1  # SCALE-Sim reports 1503
    assert plan.utilization() == pytest.approx(64**3 / (1054 * 256))
    assert GemmPlan(3, 3, 3, p).mapping_efficiency == pytest.approx(9 / 256)
    assert scalesim_os_cycles(16, 16, 16, p) == 46  # SCALE-Sim reports 45


def test_readout_model() -> None:
    p = ArrayParams(8, 8)
    assert readout_stall_cycles(100, 3, 70, p, None) == 0  # this RTL: fully parallel readout
    # 8 results per cycle: a full fold needs 8 cycles of readout, K=3 gives 3 -> 5 stall each.
    assert readout_stall_cycles(16, 3, 8, p, 8) == 5
    assert readout_stall_cycles(16, 8, 8, p, 8) == 0


@pytest.mark.parametrize("bad", [(0, 3, 3), (3, -1, 3), (3, 3, 2.5), (True, 1, 1)])
def test_bad_dims(bad) -> None:
    with pytest.raises(OperandError, match="positive integer"):
        check_dims(*bad)


def test_bad_operands() -> None:
    from systolic.models.tiling import tile_gemm

    p = ArrayParams(4, 4)
    with pytest.raises(OperandError, match="inner dimensions differ"):
        tile_gemm(np.ones((3, 4), int), np.ones((5, 2), int), p)
    with pytest.raises(OperandError, match="outside the signed 8-bit range"):
        tile_gemm(np.full((3, 4), 200), np.ones((4, 2), int), p)


@pytest.mark.parametrize(
    "p", [ArrayParams(3, 3), ArrayParams(2, 5, 4, 8), ArrayParams(4, 3, 16, 64)], ids=str
)
def test_fast_trace_and_signature_match_the_step_model(p: ArrayParams) -> None:
    rng = np.random.default_rng(4)
    prods = [
        Product(
            rng.integers(p.data_min, p.data_max + 1, (int(rng.integers(1, p.rows + 1)), k)),
            rng.integers(p.data_min, p.data_max + 1, (k, int(rng.integers(1, p.cols + 1)))),
        )
        for k in (1, 2, 5, 9, 3)
    ]
    stim = schedule(prods, p, bubbles=rng.random(40) < 0.3).stimulus
    stim.a[~stim.a_vld] = p.data_max  # garbage on invalid lanes must be ignored
    stim.a_first |= ~stim.a_vld
    stim.a_last |= ~stim.a_vld
    ref, fast = simulate(stim, p), fast_trace(stim, p)
    for f in ("acc", "res", "res_vld"):
        assert np.array_equal(getattr(ref, f), getattr(fast, f)), f
    want = trace_signature(ref, p)
    assert not want.differences(stream_signature(stim, p, chunk_steps=5), p)
    # One wrong value in one PE at one cycle, and one strobe a cycle late, are both caught.
    bad = simulate(stim, p)
    bad.acc[7, p.rows - 1, 0] ^= np.int64(1) << np.int64(min(p.acc_w - 1, 62))
    errs = want.differences(trace_signature(bad, p), p)
    assert len(errs) == 1 and f"PE({p.rows - 1},0)" in errs[0]
    late = simulate(stim, p)
    t = int(np.flatnonzero(late.res_vld[:, 0, 0])[0])
    late.res_vld[t, 0, 0], late.res_vld[t + 1, 0, 0] = False, True
    assert want.differences(trace_signature(late, p), p)


# ------------------------------------------------------------------------------------------------
# On the RTL
# ------------------------------------------------------------------------------------------------

SWEEP = {
    "icarus": [ArrayParams(1, 1), ArrayParams(2, 5), ArrayParams(5, 2), ArrayParams(8, 8)],
    "verilator": [ArrayParams(2, 5), ArrayParams(8, 8)],
}
SWEEP_ITEMS = [(s, p) for s, ps in SWEEP.items() for p in ps]


@pytest.mark.sim
@pytest.mark.parametrize(
    ("sim", "params"), SWEEP_ITEMS, ids=[f"{s}-{p.tag}" for s, p in SWEEP_ITEMS]
)
def test_gemm_sweep_on_rtl(sim: str, params: ArrayParams, tmp_path_factory) -> None:
    """Whole GEMMs (incl. 100x37x70, 1x300x1, 65x1x65 on 8x8): every PE every cycle, every C,
    and RTL cycles == gemm_cycles, on both simulators."""
    # The array's own build, shared with tests/tb/test_sim.py (the runner's build lock makes that
    # safe across pytest-xdist workers).
    res = runner.run(
        RunSettings(sim), params, ["test_gemm_sweep"], test_module="systolic.tb.test_gemm"
    )
    assert res.passed, res.summary()
    assert res.stats and res.stats[0]["streams"] >= 13


#: (simulator, MUL_REG) of the fast path's own test: MUL_REG=1 on Icarus (a free build).
FAST = [("icarus", 0), ("verilator", 0), ("icarus", 1)]


@pytest.mark.sim
@pytest.mark.parametrize(("sim", "mul_reg"), FAST, ids=[f"{s}-m{m}" for s, m in FAST])
def test_fast_path_on_rtl(sim: str, mul_reg: int) -> None:
    """The harness fast path: signature == model, cycles == model, injected errors are caught
    (with the product register too: the harness passes MUL_REG down, the model adds L)."""
    res = harness.run_cocotb(
        RunSettings(sim, build_root=build.BUILD_ROOT / "gemm-tests"),
        ArrayParams(4, 4, mul_reg=mul_reg),
        ["test_fast_gemm", "test_fast_checker_bites"],
    )
    assert res.tests == 2 and res.passed, res.summary()


@pytest.mark.sim
def test_fast_path_kills_a_timing_mutant(tmp_path) -> None:
    """An RTL bug (last PE one cycle late) fails the fast path, naming that PE."""
    mutant = next(m for m in mutants.CATALOG if m.name == "delay_last_pe")
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = harness.run_cocotb(
        RunSettings("icarus", rtl_dir=rtl, build_root=tmp_path / "b"),
        ArrayParams(3, 3),
        ["test_fast_gemm"],
    )
    assert res.tests == 1 and not res.passed, res.summary()
    assert "PE(2,2)" in res.failures["test_fast_gemm"], res.summary()


@pytest.mark.sim
def test_fast_path_kills_a_product_register_mutant(tmp_path) -> None:
    """MUL_REG=1 with the product register bypassed (the product added one edge early) fails
    the fast path's signature."""
    mutant = mutants.by_name("product_register_bypassed")
    rtl = mutants.apply(mutant, build.RTL_DIR, tmp_path / "rtl")
    res = harness.run_cocotb(
        RunSettings("icarus", rtl_dir=rtl, build_root=tmp_path / "b"),
        ArrayParams(3, 3, mul_reg=1),
        ["test_fast_gemm"],
    )
    assert res.tests == 1 and not res.passed, res.summary()
    assert "signature of PE(" in res.failures["test_fast_gemm"], res.summary()


@pytest.mark.parametrize(
    "p",
    [ArrayParams(3, 3), ArrayParams(2, 5, 4, 16), ArrayParams(4, 3, 16, 64), ArrayParams(1, 1)],
    ids=str,
)
def test_closed_form_signature_matches_the_register_model(p: ArrayParams) -> None:
    from systolic.models.fast_trace import closed_form_applies, products_signature
    from systolic.models.tiling import tile_gemm

    rng = np.random.default_rng(11)
    a = rng.integers(p.data_min, p.data_max + 1, (11, 7))
    b = rng.integers(p.data_min, p.data_max + 1, (7, 9))
    prods = tile_gemm(a, b, p) + tile_gemm(a[:, :2], b[:2, :4], p)  # edge folds, K = 2 after 7
    stream = schedule(prods, p, bubbles=rng.random(90) < 0.3)
    st = stream.stimulus
    st.a[~st.a_vld] = p.data_max
    st.a_last |= ~st.a_vld
    want = trace_signature(simulate(st, p), p)
    assert closed_form_applies(stream, p)
    assert not want.differences(products_signature(stream, p), p)
    # Where a partial sum can overflow ACC_W, the closed form steps aside.
    q = ArrayParams(2, 2, 8, 16)
    big = schedule([Product(np.full((2, 9), -128), np.full((9, 2), -128))], q)
    assert not closed_form_applies(big, q) and products_signature(big, q) is None


# ------------------------------------------------------------------------------------------------
# Result dump of the fast path (DUMP=1 harness builds)
# ------------------------------------------------------------------------------------------------


def _dump_text(trace, p: ArrayParams) -> bytes:
    """What a DUMP=1 harness writes for a trace: per cycle, strobed lanes in ascending order."""
    digits = -(-p.acc_w // 4)
    mask = (1 << p.acc_w) - 1
    t, i, j = np.nonzero(trace.res_vld)  # C order: cycle, then lane i*COLS+j
    return b"".join(f"{int(v) & mask:0{digits}x}\n".encode() for v in trace.res[t, i, j])


@pytest.mark.parametrize("acc_w", [32, 20, 18, 64])
def test_result_dump_parser_sign_extends(acc_w: int) -> None:
    from systolic.tb.fastpath import parse_results

    digits = -(-acc_w // 4)
    want = [0, 1, -1, (1 << (acc_w - 1)) - 1, -(1 << (acc_w - 1)), -12345, 54321]
    text = b"".join(f"{v & ((1 << acc_w) - 1):0{digits}x}\n".encode() for v in want)
    vals, errs = parse_results(text, acc_w)
    assert not errs and vals.dtype == np.int64 and vals.tolist() == want
    vals, errs = parse_results(text.upper(), acc_w)  # upper-case digits are hex too
    assert not errs and vals.tolist() == want
    # A truncated file: the whole lines are kept, the cut one is reported.
    vals, errs = parse_results(text[:-3], acc_w)
    assert vals.tolist() == want[:-1] and len(errs) == 1 and "truncated" in errs[0]
    # x/z from the simulator: reported, values up to it kept.
    bad = text[: digits + 1] + b"x" * digits + b"\n" + text[2 * (digits + 1) :]
    vals, errs = parse_results(bad, acc_w)
    assert vals.tolist() == want[:1] and "line 1" in errs[0]
    assert parse_results(b"", acc_w)[0].size == 0


@pytest.mark.parametrize(
    "p", [ArrayParams(3, 4, 8, 20), ArrayParams(4, 4), ArrayParams(2, 3, 4, 8)]
)
def test_result_dump_placement(p: ArrayParams) -> None:
    """Dump lines (ordered by capture cycle, then lane) are mapped back to each product's C."""
    from systolic.models.tiling import tile_gemm
    from systolic.tb.fastpath import gemm_results, place_results

    rng = np.random.default_rng(3)
    shapes = [(2 * p.rows + 1, 1, p.cols + 1), (p.rows, 2 * p.rows + 3, 2 * p.cols - 1), (1, 1, 1)]
    ops = [
        (
            rng.integers(p.data_min, p.data_max + 1, (m, k)),
            rng.integers(p.data_min, p.data_max + 1, (k, n)),
        )
        for m, k, n in shapes
    ]
    prods = [f for a, b in ops for f in tile_gemm(a, b, p)]
    stream = schedule(prods, p, bubbles=rng.random(30) < 0.3)
    text = _dump_text(fast_trace(stream.stimulus, p), p)
    results, errs = place_results(text, stream.products, p, stream.cycles)
    assert not errs
    for sp, got in zip(stream.products, results, strict=True):
        assert np.array_equal(got, sp.expected)
    cs = gemm_results(results, [(m, n) for m, _, n in shapes], p)
    from systolic.models.gemm import golden_gemm

    for (a, b), c in zip(ops, cs, strict=True):
        assert np.array_equal(c, golden_gemm(a, b, p))
    # Truncated: the error says so, and the products entirely before the cut are still filled.
    width = -(-p.acc_w // 4) + 1
    results, errs = place_results(text[: -5 * width], stream.products, p, stream.cycles)
    assert errs and "result strobes expected" in errs[0]
    last = int(np.argmax([sp.end_cycle for sp in stream.products]))
    assert results[0] is not None and results[last] is None
    # One extra strobe: nothing can be placed.
    results, errs = place_results(text + text[:width], stream.products, p, stream.cycles)
    assert errs and all(r is None for r in results)


DUMP_ITEMS = [
    (s, p) for s in toolchain.SIMULATORS for p in (ArrayParams(3, 4, 8, 20), ArrayParams(4, 4))
]


@pytest.mark.sim
@pytest.mark.parametrize(("sim", "params"), DUMP_ITEMS, ids=[f"{s}-{p.tag}" for s, p in DUMP_ITEMS])
def test_fast_path_dump_on_rtl(sim: str, params: ArrayParams) -> None:
    """A DUMP=1 harness build hands back the RTL's own C values, equal to golden, on both
    simulators (and the fast-path checks still pass on that build)."""
    res = harness.run_cocotb(
        RunSettings(sim, build_root=build.BUILD_ROOT / "gemm-tests"),
        params,
        ["test_fast_dump", "test_fast_checker_bites"],
        name="dump",
        harness=HarnessBuild(dump=True),
    )
    assert res.tests == 2 and res.passed, res.summary()
