"""Unit tests of the reference models: fixed-width semantics, skew contract, cycle model, tiling."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.errors import ConfigError, OperandError
from systolic.models import ArrayParams, Product, deskew, golden_gemm, schedule, simulate
from systolic.models.fixed import pack_bits, pack_lanes, unpack_lanes, wrap
from systolic.models.tiling import assemble, gemm_cycles, plan_folds, stream_cycles, tile_gemm


def rand(rng: np.random.Generator, shape: tuple[int, int], p: ArrayParams) -> np.ndarray:
    return rng.integers(p.data_min, p.data_max + 1, size=shape)


@pytest.mark.parametrize("width", [1, 3, 8, 13, 16, 32, 37, 40, 63, 64])
def test_pack_unpack_roundtrip(width: int) -> None:
    rng = np.random.default_rng(width)
    lo, hi = (0, 2) if width == 1 else (-(1 << (width - 1)), 1 << (width - 1))
    values = (
        rng.integers(lo, hi, size=(5, 7), dtype=np.int64)
        if width < 64
        else rng.integers(
            np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=(5, 7), dtype=np.int64
        )
    )
    packed = pack_lanes(values, width)
    for row, bus in zip(values, packed, strict=True):
        assert bus < (1 << (7 * width))
        assert np.array_equal(unpack_lanes(bus, 7, width, signed=width > 1), row)


def test_lane_order_is_lane0_lsb() -> None:
    assert pack_lanes(np.array([[1, 2, -1]]), 4) == [0xF21]
    assert pack_bits(np.array([[True, False, True]])) == [0b101]


@pytest.mark.parametrize("width", [4, 5, 16, 20, 32, 37, 63, 64])
def test_wrap_matches_python_modulo(width: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(-(2**62), 2**62, size=200, dtype=np.int64)
    expect = [((int(v) + (1 << (width - 1))) % (1 << width)) - (1 << (width - 1)) for v in x]
    assert wrap(x, width).tolist() == expect


@pytest.mark.parametrize(
    "data_w,acc_w",
    [(8, 32), (8, 16), (4, 8), (16, 32), (16, 64), (3, 7), (7, 20), (12, 37), (16, 63)],
)
def test_golden_gemm_equals_python_integers(data_w: int, acc_w: int) -> None:
    p = ArrayParams(4, 4, data_w, acc_w)
    rng = np.random.default_rng(data_w * acc_w)
    a, b = rand(rng, (6, 40), p), rand(rng, (40, 5), p)
    full = [
        [sum(int(a[i, k]) * int(b[k, j]) for k in range(40)) for j in range(5)] for i in range(6)
    ]
    half = 1 << (acc_w - 1)
    expect = [[((v + half) % (1 << acc_w)) - half for v in row] for row in full]
    assert golden_gemm(a, b, p).tolist() == expect


def test_golden_gemm_wraps_at_acc_w() -> None:
    p = ArrayParams(1, 1, 8, 16)
    a, b = np.full((1, 3), -128), np.full((3, 1), -128)
    assert golden_gemm(a, b, p)[0, 0] == int(wrap(np.array([3 * 16384]), 16)[0]) == -16384


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"rows": 0}, "ROWS=0"),
        ({"cols": 33}, "COLS=33"),
        ({"data_w": 1}, "DATA_W=1"),
        ({"data_w": 17}, "DATA_W=17"),
        ({"acc_w": 15}, "ACC_W=15"),
        ({"acc_w": 65}, "ACC_W=65"),
        ({"rows": 2.5}, "ROWS must be an integer"),
    ],
)
def test_illegal_params(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ArrayParams(**kwargs)


@pytest.mark.parametrize(
    "a,b,match",
    [
        (np.ones((2, 3), int), np.ones((4, 2), int), "inner dimensions"),
        (np.ones((2, 3)), np.ones((3, 2), int), "integer dtype"),
        (np.ones(3, int), np.ones((3, 2), int), "2-D"),
        (np.full((2, 3), 128), np.ones((3, 2), int), "outside the signed 8-bit range"),
        (np.full((2, 3), -129), np.ones((3, 2), int), "-129"),
        (np.ones((0, 3), int), np.ones((3, 2), int), "empty"),
    ],
)
def test_bad_operands(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(OperandError, match=match):
        golden_gemm(a, b, ArrayParams())


def test_product_too_big_for_array() -> None:
    p = ArrayParams(2, 2)
    with pytest.raises(OperandError, match="does not fit"):
        schedule([Product(np.ones((3, 2), int), np.ones((2, 2), int))], p)


def test_skew_contract_cycles() -> None:
    """A[i][k] is on west lane i at cycle s_k+i; B[k][j] on north lane j at s_k+j."""
    p = ArrayParams(3, 4)
    rng = np.random.default_rng(1)
    a, b = rand(rng, (3, 5), p), rand(rng, (5, 4), p)
    bubbles = np.array([0, 1, 0, 1, 1, 0], bool)
    stream = schedule([Product(a, b)], p, bubbles=bubbles)
    steps = stream.products[0].steps
    assert steps.tolist() == [0, 2, 5, 6, 7]
    st = stream.stimulus
    for k, s in enumerate(steps):
        for i in range(3):
            assert st.a[s + i, i] == a[i, k] and st.a_vld[s + i, i]
            assert st.a_first[s + i, i] == (k == 0) and st.a_last[s + i, i] == (k == 4)
        for j in range(4):
            assert st.b[s + j, j] == b[k, j] and st.b_vld[s + j, j]
    assert st.a_vld.sum() == 15 and st.b_vld.sum() == 20
    assert stream.products[0].capture_cycles().tolist() == [
        [7 + i + j for j in range(4)] for i in range(3)
    ]


def test_deskew_inverts_schedule() -> None:
    p = ArrayParams(4, 3)
    rng = np.random.default_rng(2)
    prods = [
        Product(rand(rng, (m, k), p), rand(rng, (k, n), p))
        for m, k, n in [(4, 5, 3), (2, 1, 3), (4, 7, 1), (1, 2, 2)]
    ]
    stream = schedule(prods, p, bubbles=rng.random(30) < 0.3)
    back = deskew(stream.stimulus)
    assert len(back) == len(prods)
    for got, want in zip(back, prods, strict=True):
        assert np.array_equal(got.a, want.a) and np.array_equal(got.b, want.b)


@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 3), (2, 5), (5, 2), (8, 8)])
def test_cycle_model_results_equal_golden(rows: int, cols: int) -> None:
    p = ArrayParams(rows, cols, 8, 16)
    rng = np.random.default_rng(rows * 10 + cols)
    prods = [
        Product(
            rand(rng, (int(rng.integers(1, rows + 1)), k), p),
            rand(rng, (k, int(rng.integers(1, cols + 1))), p),
        )
        for k in rng.integers(1, 20, size=15)
    ]
    stream = schedule(prods, p, bubbles=rng.random(200) < 0.2)
    trace = simulate(stream.stimulus, p)
    for sp in stream.products:
        cc = sp.capture_cycles()
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        assert trace.res_vld[cc, ii, jj].all()
        assert np.array_equal(trace.res[cc, ii, jj], sp.expected)
    # Exactly one strobe per PE per product, none elsewhere.
    assert trace.res_vld.sum() == sum(sp.product.m * sp.product.n for sp in stream.products)


def test_cycle_model_pe_sees_operands_at_skewed_cycle() -> None:
    """The accumulator of PE(i,j) changes exactly at cycles s_k+i+j."""
    p = ArrayParams(3, 3)
    a = np.arange(1, 13).reshape(3, 4)
    b = np.arange(1, 13).reshape(4, 3)
    stream = schedule([Product(a, b)], p)
    trace = simulate(stream.stimulus, p)
    for i in range(3):
        for j in range(3):
            assert np.flatnonzero(trace.fire[:, i, j]).tolist() == [k + i + j for k in range(4)]
            partial = np.cumsum(a[i, :] * b[:, j])
            assert trace.acc[[k + i + j for k in range(4)], i, j].tolist() == partial.tolist()


def test_cycle_model_reset_clears_in_flight_operands() -> None:
    p = ArrayParams(3, 3)
    rng = np.random.default_rng(3)
    first = schedule([Product(rand(rng, (3, 9), p), rand(rng, (9, 3), p))], p)
    stream = first.with_reset(at_cycle=6, length=2)
    trace = simulate(stream.stimulus, p)
    assert not trace.acc[6:].any() and not trace.res_vld[6:].any()
    assert stream.products[0].aborted


def test_cycle_model_ignores_flags_of_invalid_pairs() -> None:
    p = ArrayParams(2, 2)
    stream = schedule([Product(np.ones((2, 3), int), np.ones((3, 2), int))], p)
    st = stream.stimulus
    st.a_first[~st.a_vld] = True
    st.a_last[~st.a_vld] = True
    st.a[~st.a_vld] = 7
    trace = simulate(st, p)
    assert trace.res_vld.sum() == 4 and set(trace.res[-1].ravel()) == {3}


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (100, 37, 70), (1, 300, 1), (65, 1, 65), (9, 2, 17)])
def test_tiled_gemm_and_cycle_count(m: int, k: int, n: int) -> None:
    p = ArrayParams(8, 8)
    rng = np.random.default_rng(m + k + n)
    a, b = rand(rng, (m, k), p), rand(rng, (k, n), p)
    prods = tile_gemm(a, b, p)
    assert len(prods) == len(plan_folds(m, n, p)) == -(-m // 8) * -(-n // 8)
    stream = schedule(prods, p)
    trace = simulate(stream.stimulus, p)
    tiles = []
    for sp in stream.products:
        cc = sp.capture_cycles()
        ii, jj = np.meshgrid(np.arange(sp.product.m), np.arange(sp.product.n), indexing="ij")
        tiles.append(trace.res[cc, ii, jj])
    assert np.array_equal(assemble(tiles, m, n, p), golden_gemm(a, b, p))
    # The closed form equals the schedule, and the model's last strobe ends the count.
    last_strobe = int(np.flatnonzero(trace.res_vld.any(axis=(1, 2)))[-1])
    assert gemm_cycles(m, k, n, p) == stream_cycles(stream.products) == last_strobe + 1


@pytest.mark.parametrize("m,k,n", [(0, 3, 3), (3, 3, -1)])
def test_bad_gemm_dims(m: int, k: int, n: int) -> None:
    with pytest.raises(OperandError, match="positive integer"):
        gemm_cycles(m, k, n, ArrayParams())
