"""The models at MUL_REG=1 (L = 1, the PE's product register) against the timing contract.

docs/architecture.md ("Timing contract") and rtl/systolic_array.v: PE(i,j) adds the pair of step
k at edge s_k + i + j + L and holds C[i][j] after edge s_{K-1} + i + j + L; the edges do not
depend on L. Each model (skew, the register model, the vectorized one, the signatures, tiling)
is checked here at L = 1, and against the same stream at L = 0.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from systolic.errors import ConfigError
from systolic.models import ArrayParams, Product, golden_gemm, schedule, simulate
from systolic.models.fast_trace import (
    fast_trace,
    products_signature,
    stream_signature,
    trace_signature,
)
from systolic.models.skew import ResetPulse, pulsed_model_inputs
from systolic.models.tiling import (
    GemmPlan,
    assemble,
    gemm_cycles,
    lower_bound_cycles,
    stream_cycles,
    tile_gemm,
)


def rand(rng: np.random.Generator, shape: tuple[int, int], p: ArrayParams) -> np.ndarray:
    """Random signed DATA_W-bit operands."""
    return rng.integers(p.data_min, p.data_max + 1, size=shape)


def random_stream(p: ArrayParams, seed: int, count: int = 12, kmax: int = 9):
    """Products of random shapes (edge folds, K = 1 included) with random bubbles."""
    rng = np.random.default_rng(seed)
    prods = [
        Product(
            rand(rng, (int(rng.integers(1, p.rows + 1)), int(k)), p),
            rand(rng, (int(k), int(rng.integers(1, p.cols + 1))), p),
        )
        for k in rng.integers(1, kmax, size=count)
    ]
    return schedule(prods, p, bubbles=rng.random(120) < 0.2)


def test_mul_reg_parameter_is_checked_and_named() -> None:
    """0 or 1 only; the tag changes only at 1 (MUL_REG=0 keeps its build folders' names), and
    MUL_REG is an HDL parameter only when it is 1."""
    assert ArrayParams(3, 3).tag == "r3c3_d8_a32" and ArrayParams(3, 3).latency == 0
    p1 = ArrayParams(3, 3, mul_reg=1)
    assert p1.tag == "r3c3_d8_a32_m1" and p1.latency == 1
    assert p1.hdl_parameters()["MUL_REG"] == 1 and "MUL_REG" not in ArrayParams().hdl_parameters()
    assert ArrayParams.from_dict(dataclasses.asdict(p1)) == p1
    for bad in (2, -1):
        with pytest.raises(ConfigError, match=f"MUL_REG={bad} is illegal"):
            ArrayParams(mul_reg=bad)
    with pytest.raises(ConfigError, match="MUL_REG must be an integer"):
        ArrayParams(mul_reg=True)  # type: ignore[arg-type]


def test_contract_l1_pe_adds_one_edge_after_the_pair_meets() -> None:
    """The accumulator of PE(i,j) changes exactly at cycles s_k+i+j+1, with the partial sums."""
    p = ArrayParams(3, 3, mul_reg=1)
    a = np.arange(1, 13).reshape(3, 4)
    b = np.arange(1, 13).reshape(4, 3)
    stream = schedule([Product(a, b)], p)
    trace = simulate(stream.stimulus, p)
    for i in range(3):
        for j in range(3):
            meet = [k + i + j for k in range(4)]
            assert np.flatnonzero(trace.fire[:, i, j]).tolist() == meet
            changes = np.flatnonzero(np.diff(trace.acc[:, i, j], prepend=0)).tolist()
            assert changes == [c + 1 for c in meet]
            partial = np.cumsum(a[i, :] * b[:, j])
            assert trace.acc[[c + 1 for c in meet], i, j].tolist() == partial.tolist()
            assert np.flatnonzero(trace.res_vld[:, i, j]).tolist() == [3 + i + j + 1]
    assert stream.products[0].capture_cycles().tolist() == [
        [3 + i + j + 1 for j in range(3)] for i in range(3)
    ]


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 3), (2, 5), (5, 2)])
def test_l1_is_l0_one_cycle_later_and_edges_unchanged(rows: int, cols: int) -> None:
    """The same stimulus: every PE's state at L = 1 is its state at L = 0 one cycle later;
    the east/south edges are the same; results equal golden at the capture cycles."""
    p0 = ArrayParams(rows, cols, 8, 16)
    p1 = dataclasses.replace(p0, mul_reg=1)
    stream = random_stream(p1, rows * 10 + cols)
    t0, t1 = simulate(stream.stimulus, p0), simulate(stream.stimulus, p1)
    for name in ("acc", "res", "res_vld"):
        assert not getattr(t1, name)[0].any()
        assert np.array_equal(getattr(t1, name)[1:], getattr(t0, name)[:-1]), name
    assert t0.edges is not None and t1.edges is not None
    for name, lanes in t0.edges.fields().items():
        assert np.array_equal(t1.edges.fields()[name], lanes), name
    for sp in stream.products:
        cc = sp.capture_cycles()
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        assert t1.res_vld[cc, ii, jj].all()
        assert np.array_equal(t1.res[cc, ii, jj], sp.expected)
    assert t1.res_vld.sum() == sum(sp.product.m * sp.product.n for sp in stream.products)


def test_l1_back_to_back_k1_products_strobe_every_cycle() -> None:
    """K = 1 products back to back: PE(0,0)'s strobe is 1 on consecutive cycles from cycle 1,
    a new sum each cycle (no idle cycle between products)."""
    p = ArrayParams(2, 2, mul_reg=1)
    rng = np.random.default_rng(5)
    prods = [Product(rand(rng, (2, 1), p), rand(rng, (1, 2), p)) for _ in range(6)]
    stream = schedule(prods, p)
    trace = simulate(stream.stimulus, p)
    assert np.flatnonzero(trace.res_vld[:, 0, 0]).tolist() == list(range(1, 7))
    assert trace.res[1:7, 0, 0].tolist() == [int(sp.expected[0, 0]) for sp in stream.products]


def test_l1_reset_clears_the_product_register() -> None:
    """A pair registered at edge t and a reset before edge t+1: its product is never added."""
    p = ArrayParams(1, 1, mul_reg=1)
    stream = schedule([Product(np.array([[5]]), np.array([[7]]))], p)
    clean = simulate(stream.stimulus, p)
    assert clean.res[1, 0, 0] == 35 and clean.res_vld[1, 0, 0]
    pulse = ResetPulse(after_edge=0, until_edge=0, fall=0.6, rise=0.8)  # between edges 0 and 1
    model, cleared = pulsed_model_inputs(stream.stimulus, [pulse])
    hit = simulate(model, p, cleared)
    assert not hit.acc.any() and not hit.res.any() and not hit.res_vld.any()
    assert pulse.spoils(stream.products[0])
    cut = stream.with_reset(at_cycle=1, length=2)  # reset held across edge 1
    assert cut.products[0].aborted and not simulate(cut.stimulus, p).res_vld.any()


@pytest.mark.parametrize("rows,cols,acc_w", [(3, 3, 32), (2, 5, 16), (4, 3, 64), (1, 1, 17)])
def test_fast_trace_and_signatures_equal_the_register_model_at_l1(
    rows: int, cols: int, acc_w: int
) -> None:
    """fast_trace equals simulate; the closed-form, step-domain and trace signatures agree."""
    p = ArrayParams(rows, cols, 8, acc_w, mul_reg=1)
    stream = random_stream(p, rows + cols + acc_w)
    trace = simulate(stream.stimulus, p)
    fast = fast_trace(stream.stimulus, p)
    for name in ("acc", "res", "res_vld"):
        assert np.array_equal(getattr(fast, name), getattr(trace, name)), name
    want = trace_signature(trace, p)
    got = stream_signature(stream.stimulus, p, chunk_steps=7)
    assert not want.differences(got, p)
    closed = products_signature(stream, p)  # None when a partial sum can overflow ACC_W
    assert (closed is None) == (acc_w < 32)
    assert closed is None or not want.differences(closed, p)
    at_l0 = trace_signature(simulate(stream.stimulus, dataclasses.replace(p, mul_reg=0)), p)
    assert want.differences(at_l0, p)  # the signature sees the one-cycle shift


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (100, 37, 70), (65, 1, 65), (9, 2, 17)])
def test_l1_tiled_gemm_cycles_are_one_more(m: int, k: int, n: int) -> None:
    """gemm_cycles, the lower bound and the stream's count are each L = 1 cycle more than at
    MUL_REG=0, and equal the model's last strobe + 1."""
    p = ArrayParams(8, 8, mul_reg=1)
    p0 = ArrayParams(8, 8)
    rng = np.random.default_rng(m + k + n)
    a, b = rand(rng, (m, k), p), rand(rng, (k, n), p)
    stream = schedule(tile_gemm(a, b, p), p)
    trace = simulate(stream.stimulus, p)
    tiles = []
    for sp in stream.products:
        cc = sp.capture_cycles()
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        tiles.append(trace.res[cc, ii, jj])
    assert np.array_equal(assemble(tiles, m, n, p), golden_gemm(a, b, p))
    last_strobe = int(np.flatnonzero(trace.res_vld.any(axis=(1, 2)))[-1])
    assert gemm_cycles(m, k, n, p) == stream_cycles(stream.products) == last_strobe + 1
    assert gemm_cycles(m, k, n, p) == gemm_cycles(m, k, n, p0) + 1
    assert lower_bound_cycles(m, k, n, p) == lower_bound_cycles(m, k, n, p0) + 1
    assert GemmPlan(m, k, n, p).cycles == GemmPlan(m, k, n, p0).cycles + 1


#: docs/architecture.md's MUL_REG timing table: the marker line, then a fenced block.
DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
MARKER = "<!-- mul-reg-timing: 1x1, K=2 then K=1 -->"


def _row(head: str, cells: list[str]) -> str:
    """One line of the table: a 21-character head, then 5 characters per cycle."""
    return (f"{head:<21}" + "".join(f"{x:<5}" for x in cells)).rstrip()


def mul_reg_timing_table(cycles: int = 5) -> str:
    """PE(0,0) of a 1x1 array at both settings: a K = 2 product (2*5 + 3*7 = 31) and right after
    it a K = 1 product (4*6 = 24), as the cycle model computes them (state after each edge)."""
    p0 = ArrayParams(1, 1)
    first = Product(np.array([[2, 3]]), np.array([[5], [7]]))
    second = Product(np.array([[4]]), np.array([[6]]))
    stim = schedule([first, second], p0, tail=cycles).stimulus.truncate(cycles)
    a, b, vld = stim.a[:, 0], stim.b[:, 0], stim.a_vld[:, 0]
    fl = zip(stim.a_first[:, 0], stim.a_last[:, 0], strict=True)
    pairs = [f"{x}*{y}" if v else "." for x, y, v in zip(a, b, vld, strict=True)]
    lines = [
        _row("cycle t", [str(t) for t in range(cycles)]),
        _row("pair at edge t", pairs),
        _row("first/last", ["f" * bool(f) + "l" * bool(la) or "." for f, la in fl]),
    ]
    for mul_reg in (0, 1):
        trace = simulate(stim, dataclasses.replace(p0, mul_reg=mul_reg))
        state = (("acc_o", trace.acc), ("res_o", trace.res), ("res_vld_o", trace.res_vld))
        for name, data in state:
            lines.append(_row(f"MUL_REG={mul_reg} {name}", [str(int(x)) for x in data[:, 0, 0]]))
    return "\n".join(lines)


def test_doc_timing_table_is_the_models() -> None:
    """The table in docs/architecture.md ("Timing contract") is the cycle model's output."""
    text = DOC.read_text()
    assert MARKER in text, "the MUL_REG timing table's marker is missing from the doc"
    block = text.split(MARKER, 1)[1].split("```", 2)[1].strip("\n")
    assert block == mul_reg_timing_table(), mul_reg_timing_table()
