"""The integer-only requantization of models.quant against exact rational arithmetic: known
vectors, negative values, ties, large multipliers, every shift 0..31, and the host's rescaled
sum; and the integer network's host pooling against torch."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from systolic.models.im2col import PoolGeometry
from systolic.models.network import HostOp, Tensor
from systolic.models.quant import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rescale_sum,
    rounding_divide_by_pot,
)


def _exact(x: int, m0: int, shift: int) -> int:
    """round(x * m0 / 2^(31 + shift)), ties away from zero, in Python's exact integers."""
    v = Fraction(x * m0, 2 ** (31 + shift))
    r = int(abs(v) + Fraction(1, 2))  # floor(|v| + 1/2): ties away from zero
    return r if v >= 0 else -r


def test_known_vectors() -> None:
    assert quantize_multiplier(0.5) == (2**30, 0)
    assert quantize_multiplier(1.0) == (2**30, -1)
    assert quantize_multiplier(0.0) == (0, 0)
    m0, shift = quantize_multiplier(0.75)
    assert (m0, shift) == (3 * 2**29, 0)
    x = np.array([-5, -3, -1, 0, 1, 3, 5])
    # x * 0.5: ties go away from zero.
    assert multiply_by_quantized_multiplier(x, 2**30, 0).tolist() == [-3, -2, -1, 0, 1, 2, 3]
    assert rounding_divide_by_pot(np.array([-6, -5, 5, 6, 7]), 2).tolist() == [-2, -1, 1, 2, 2]


@pytest.mark.parametrize("shift", range(32))
def test_every_shift_against_exact_rounding(shift: int) -> None:
    rng = np.random.default_rng(shift)
    x = np.concatenate(
        [
            rng.integers(-(2**31), 2**31, 200),
            [-(2**31), 2**31 - 1, -1, 0, 1, min(2**shift, 2**31 - 1)],
        ]
    )
    for m0 in (2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))):
        got = multiply_by_quantized_multiplier(x, m0, shift)
        assert got.tolist() == [_exact(int(v), m0, shift) for v in x], (m0, shift)


def test_large_multipliers_and_left_shifts() -> None:
    for real in (1.0, 3.7, 255.5, 2.0**20 + 0.25):
        m0, shift = quantize_multiplier(real)
        assert 2**30 <= m0 < 2**31 and shift < 0
        assert abs(m0 * 2.0 ** (-31 - int(shift)) - real) <= real * 2**-30
        x = np.array([-1000, -7, 7, 1000])
        got = multiply_by_quantized_multiplier(x, m0, shift)
        assert got.tolist() == [_exact(int(v), int(m0), int(shift)) for v in x]


def test_multiplier_representation_and_range() -> None:
    reals = np.array([1e-9, 0.001, 0.3, 0.9999999999, 1.5, 1000.0])
    m0, shift = quantize_multiplier(reals)
    assert ((m0 >= 2**30) & (m0 < 2**31)).all()
    assert np.allclose(m0 * 2.0 ** (-31 - shift), reals, rtol=2**-30)
    assert quantize_multiplier(2.0**-70) == (0, 0)  # rounds every int32 to zero anyway
    from systolic.errors import LoweringError

    for bad in (-0.5, float("nan"), 2.0**31):
        with pytest.raises(LoweringError, match="multiplier is out of range"):
            quantize_multiplier(bad)
    with pytest.raises(LoweringError, match="does not fit in int32"):
        multiply_by_quantized_multiplier(np.array([2**31]), 2**30, 0)


def test_rescaled_sum_rounds_the_real_sum() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-127, 128, 5000)
    b = rng.integers(-127, 128, 5000)
    ra, rb = 0.37, 1.61
    got = rescale_sum([(a, ra), (b, rb)]).astype(np.float64)
    real = np.clip(a * ra + b * rb, -127, 127)
    tie = np.isclose(np.abs(real - np.trunc(real)), 0.5)
    # Ties (exact in decimal, not in the binary multipliers) go either way; the rest round.
    assert np.array_equal(got[~tie], np.rint(real[~tie])) and tie.sum() < 50
    assert np.abs(got - real).max() <= 0.5 + 1e-6
    assert rescale_sum([(a, 1.0), (b, 1.0)], 0, 127).min() >= 0


@pytest.mark.parametrize(
    ("k", "s", "p", "ceil", "include"),
    [(3, 2, 1, True, True), (3, 2, 1, True, False), (2, 2, 0, False, True), (5, 3, 2, True, True)],
)
def test_host_pooling_equals_torch(k: int, s: int, p: int, ceil: bool, include: bool) -> None:
    rng = np.random.default_rng(k + s)
    q = rng.integers(-127, 128, (2, 3, 11, 10)).astype(np.int8)
    env = {"x": Tensor(q, 0.1)}
    geo = PoolGeometry((k, k), (s, s), (p, p), ceil)
    t = torch.from_numpy(q.astype(np.float64))
    mx = HostOp("maxpool", "mp", "x", "y", pool=geo).apply(env)
    assert np.array_equal(mx.q, F.max_pool2d(t, k, s, p, ceil_mode=ceil).numpy())
    av = HostOp("avgpool", "ap", "x", "y", 0.1, pool=geo, count_include_pad=include).apply(env)
    want = F.avg_pool2d(t, k, s, p, ceil, include).numpy()
    assert np.abs(av.q - want).max() <= 0.5 + 1e-9  # the average, rounded to the same scale
    ad = HostOp("adaptive_avgpool", "ad", "x", "y", 0.1, output_size=(3, 4)).apply(env)
    want = F.adaptive_avg_pool2d(t, (3, 4)).numpy()
    assert np.abs(ad.q - want).max() <= 0.5 + 1e-9
