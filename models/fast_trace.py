"""The cycle model vectorized over time, and the state signature the fast HDL harness computes.

``ArrayModel`` steps one rising edge at a time (a Python loop over cycles). For long streams that
start from reset and contain no reset, the same state is computed here in closed form:

* in *stream-step* coordinates s = t - i - j every PE sees the edge lanes unskewed
  (A lane i at cycle s + i, B lane j at cycle s + j), so PE(i,j) fires at step s iff
  a_vld[s+i, i] & b_vld[s+j, j];
* the accumulator after step s is a segmented cumulative sum of the fired products, restarted at
  every fired ``first`` step; the result register holds the accumulator of the latest fired
  ``last`` step; the strobe is 1 exactly at fired ``last`` steps;
* the state at cycle t is the step state at s = t - i - j - L (reset state before), with L the
  product register's latency (``params.latency``, MUL_REG): PE(i,j) adds the pair of step s at
  edge s + i + j + L.

``fast_trace`` returns an ``ArrayTrace`` equal to ``simulate`` (tests assert it).

State signature (what ``rtl/harness/systolic_harness.v`` folds every cycle): one 64-bit slot per
PE for its accumulator and one for its result register (the signed ACC_W-bit value,
sign-extended to 64 bits), and
one per row for the strobes (bit j = column j); every cycle ``slot = 3*slot + value (mod 2**64)``.
After T cycles slot q holds sum_t 3**(T-1-t) * value_q(t) mod 2**64. Because 3 is odd, any wrong
value in a single cycle changes its slot; a value one cycle early or late changes it by
2*3**k*d != 0 (0 < |d| < 2**63, i.e. always for ACC_W <= 32); a wrong value held L < 2**31
cycles changes it by d*(3**L-1)/2 != 0. Distinct PEs never cancel each other. The signature is
linear in the lanes, so it is computed per PE in step coordinates, chunk by chunk over time,
without the (T, ROWS, COLS) trace -- or, faster, in closed form from the products
(``products_signature``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from systolic.errors import OperandError
from systolic.models.array_model import ArrayTrace, edge_outputs
from systolic.models.fixed import wrap
from systolic.models.params import ArrayParams
from systolic.models.skew import EdgeStimulus, Stream, pe_delay, unskew

U64 = np.uint64
#: Multiplier of the signature (odd, so invertible modulo 2**64).
SIG_MUL = 3
INV3 = pow(SIG_MUL, -1, 1 << 64)
BUSES = ("acc", "res", "vld")


def state_delay(params: ArrayParams) -> np.ndarray:
    """(ROWS, COLS): the cycle at which PE(i,j) shows the state of stream step s is s + this,
    i + j + L (the skew rule plus the product register's latency)."""
    i = np.arange(params.rows)[:, None]
    j = np.arange(params.cols)[None, :]
    out: np.ndarray = np.asarray(pe_delay(i, j)) + params.latency
    return out


def _inv3(delay: np.ndarray) -> np.ndarray:
    """3**-d mod 2**64 for every delay d of ``delay`` (same shape, uint64)."""
    table = np.array([pow(INV3, k, 1 << 64) for k in range(int(delay.max()) + 1)], dtype=U64)
    out: np.ndarray = table[delay]
    return out


def _check(stim: EdgeStimulus) -> None:
    if stim.rst.any():
        raise OperandError("the vectorized cycle model needs a stream without reset")


@dataclass
class StepState:
    """PE state per stream step for a range of steps (arrays shaped (S, ROWS, COLS))."""

    acc: np.ndarray
    res: np.ndarray
    vld: np.ndarray


@dataclass
class _Carry:
    acc: np.ndarray
    res: np.ndarray


def _step_chunks(
    stim: EdgeStimulus, params: ArrayParams, chunk: int
) -> Iterator[tuple[int, StepState]]:
    """Yield (s0, StepState) over all T stream steps of the stimulus, ``chunk`` steps at a time."""
    _check(stim)
    t = stim.cycles
    r, c = params.rows, params.cols
    a = unskew(stim.a, t)
    av = unskew(stim.a_vld, t)
    af = unskew(stim.a_first, t)
    al = unskew(stim.a_last, t)
    b = unskew(stim.b, t)
    bv = unskew(stim.b_vld, t)
    carry = _Carry(np.zeros((r, c), np.int64), np.zeros((r, c), np.int64))
    for s0 in range(0, t, chunk):
        s1 = min(t, s0 + chunk)
        yield (
            s0,
            _advance(a[s0:s1], av[s0:s1], af[s0:s1], al[s0:s1], b[s0:s1], bv[s0:s1], carry, params),
        )


def _advance(
    a: np.ndarray,
    av: np.ndarray,
    af: np.ndarray,
    al: np.ndarray,
    b: np.ndarray,
    bv: np.ndarray,
    carry: _Carry,
    params: ArrayParams,
) -> StepState:
    s = a.shape[0]
    narrow = params.acc_w <= 32  # int32 arithmetic wraps modulo 2**32 like the RTL (then wrap)
    dt = np.int32 if narrow else np.int64
    a = np.where(av, a, 0).astype(dt)  # invalid lanes carry nothing (their data is ignored)
    b = np.where(bv, b, 0).astype(dt)
    fire = av[:, :, None] & bv[:, None, :]
    with np.errstate(over="ignore"):
        prod = a[:, :, None] * b[:, None, :]  # 0 wherever the pair does not fire
        csum = np.cumsum(prod, axis=0, dtype=dt)
        prev = csum - prod  # sum before step s (within the chunk)
        idx = np.arange(s, dtype=np.int32)[:, None, None]
        restart = fire & af[:, :, None]
        rs = np.maximum.accumulate(np.where(restart, idx, np.int32(-1)), axis=0)
        base = np.where(
            rs >= 0,
            np.take_along_axis(prev, np.maximum(rs, 0), axis=0),
            (-carry.acc[None]).astype(dt),
        )
        acc = csum - base
        if params.acc_w not in (32, 64):
            acc = wrap(acc, params.acc_w)
        acc = acc.astype(np.int64)
    cap = fire & al[:, :, None]
    cs = np.maximum.accumulate(np.where(cap, idx, np.int32(-1)), axis=0)
    res = np.where(cs >= 0, np.take_along_axis(acc, np.maximum(cs, 0), axis=0), carry.res[None])
    carry.acc, carry.res = acc[-1].copy(), res[-1].copy()
    return StepState(acc, res, cap)


def fast_trace(stim: EdgeStimulus, params: ArrayParams) -> ArrayTrace:
    """The same ``ArrayTrace`` as ``simulate(stim, params)`` (stream from reset, no reset in it)."""
    t = stim.cycles
    r, c = params.rows, params.cols
    _, st = next(_step_chunks(stim, params, max(t, 1)))
    skew = state_delay(params)[None]  # (1, R, C)
    s = np.arange(t)[:, None, None] - skew  # (T, R, C) step seen at cycle t
    ok = s >= 0
    sc = np.maximum(s, 0)
    ii = np.arange(r)[None, :, None]
    jj = np.arange(c)[None, None, :]
    acc = np.where(ok, st.acc[sc, ii, jj], 0)
    res = np.where(ok, st.res[sc, ii, jj], 0)
    vld = ok & st.vld[sc, ii, jj]
    # Fired pairs are not observable; the accumulator, result, strobe and edges are compared.
    return ArrayTrace(acc, res, vld, np.zeros_like(vld), edge_outputs(stim, params))


# ------------------------------------------------------------------------------------------------
# Signature
# ------------------------------------------------------------------------------------------------


@dataclass
class Signature:
    """Per-chunk signatures of the three state buses, and the last cycle with a result strobe."""

    cycles: int
    acc: np.ndarray  # (chunks,) uint64
    res: np.ndarray
    vld: np.ndarray
    last_strobe: int  # -1 when no result was captured
    extra: dict[str, Any] = field(default_factory=dict)

    def differences(self, other: Signature, params: ArrayParams) -> list[str]:
        """Human-readable differences (self = expected, other = observed), naming the PEs."""
        out = []
        if self.cycles != other.cycles:
            out.append(f"sampled {other.cycles} cycles, expected {self.cycles}")
        for bus in BUSES:
            want, got = getattr(self, bus), getattr(other, bus)
            for q in np.flatnonzero(want != got):
                pes = ", ".join(f"PE({i},{j})" for i, j in chunk_pes(bus, int(q), params))
                out.append(
                    f"{_BUS_NAME[bus]} signature of {pes} differs: expected {int(want[q]):#018x}, "
                    f"got {int(got[q]):#018x}"
                )
        if self.last_strobe != other.last_strobe:
            out.append(
                f"last result strobe at cycle {other.last_strobe}, expected {self.last_strobe}"
            )
        return out


_BUS_NAME = {"acc": "accumulator", "res": "result", "vld": "result-valid"}


def chunk_count(bus: str, params: ArrayParams) -> int:
    """Signature slots of a bus: one per PE (acc, res), one per row (vld)."""
    return params.rows * params.cols if bus in ("acc", "res") else params.rows


def chunk_pes(bus: str, q: int, params: ArrayParams) -> list[tuple[int, int]]:
    """The PEs folded into signature slot q of a bus."""
    if bus in ("acc", "res"):
        return [(q // params.cols, q % params.cols)]
    return [(q, j) for j in range(params.cols)]


def _pieces(
    bus: str, params: ArrayParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pe, slot, shift_right, mask, shift_left) of every PE lane in the signature slots."""
    p = params.rows * params.cols
    pe = np.arange(p, dtype=np.int64)
    zero = np.zeros(p, U64)
    if bus in ("acc", "res"):
        return pe, pe, zero, np.full(p, (1 << 64) - 1, U64), zero
    return pe, pe // params.cols, zero, np.ones(p, U64), (pe % params.cols).astype(U64)


def _pow3(n: int) -> np.ndarray:
    """3**e mod 2**64 for e = 0 .. n-1."""
    p = np.full(max(n, 1), SIG_MUL, U64)
    p[0] = 1
    return np.cumprod(p, dtype=U64)[:n]


def stream_signature(
    stim: EdgeStimulus, params: ArrayParams, chunk_steps: int | None = None
) -> Signature:
    """The harness signature of the model's state over all T = stim.cycles cycles.

    Computed in step coordinates, ``chunk_steps`` steps at a time (bounded memory), without the
    cycle-domain trace.
    """
    t = stim.cycles
    r, c = params.rows, params.cols
    p = r * c
    if chunk_steps is None:
        chunk_steps = max(256, (1 << 22) // p)
    pow3 = _pow3(t)
    skew = state_delay(params).ravel()  # (P,)
    inv = _inv3(skew)
    pieces = {bus: _pieces(bus, params) for bus in BUSES}
    sums = {bus: np.zeros(p, U64) for bus in BUSES}  # per PE lane
    last = -1
    for s0, st in _step_chunks(stim, params, chunk_steps):
        n = st.acc.shape[0]
        steps = np.arange(s0, s0 + n)
        w = pow3[t - 1 - steps]  # 3^(T-1-s): weight of the state at step s for PE(0,0)
        acc = st.acc.reshape(n, p)
        res = st.res.reshape(n, p)
        vld = st.vld.reshape(n, p)
        # The state at step s is seen at cycle s+i+j+L < T only.
        if s0 + n + int(skew.max()) > t - 1:
            seen = (steps[:, None] + skew[None, :]) < t
            acc, res, vld = np.where(seen, acc, 0), np.where(seen, res, 0), vld & seen
        if vld.any():
            ss, pe = np.nonzero(vld)
            last = max(last, int((steps[ss] + skew[pe]).max()))
        with np.errstate(over="ignore"):
            for bus, lanes in (("acc", acc), ("res", res)):
                sums[bus] += w @ lanes.view(U64)  # signed values; uint64 wraps modulo 2**64
            sums["vld"] += w @ vld.astype(U64)
    out = {}
    for bus in BUSES:
        pe, q, _, _, sl = pieces[bus]
        with np.errstate(over="ignore"):
            contrib = (sums[bus][pe] * inv[pe]) << sl
        slots = np.zeros(chunk_count(bus, params), U64)
        np.add.at(slots, q, contrib)
        out[bus] = slots
    return Signature(t, out["acc"], out["res"], out["vld"], last)


def trace_signature(trace: ArrayTrace, params: ArrayParams) -> Signature:
    """The harness signature of an explicit cycle-domain trace (e.g. a deliberately wrong one)."""
    t = trace.cycles
    p = params.rows * params.cols
    pow3 = _pow3(t)[::-1]  # 3^(T-1-t)
    out = {}
    for bus, data in (("acc", trace.acc), ("res", trace.res), ("vld", trace.res_vld)):
        if bus == "vld":
            u = data.reshape(t, p).astype(U64)
        else:
            u = data.reshape(t, p).astype(np.int64).view(U64)  # signed, sign-extended
        pe, q, sr, m, sl = _pieces(bus, params)
        piece = ((u[:, pe] >> sr) & m) << sl
        with np.errstate(over="ignore"):
            per = (piece * pow3[:, None]).sum(axis=0, dtype=U64)
        acc = np.zeros(chunk_count(bus, params), U64)
        np.add.at(acc, q, per)
        out[bus] = acc
    strobes = np.flatnonzero(trace.res_vld.reshape(t, p).any(axis=1))
    return Signature(
        t, out["acc"], out["res"], out["vld"], int(strobes[-1]) if strobes.size else -1
    )


def closed_form_applies(stream: Stream, params: ArrayParams) -> bool:
    """No reset, sampled to the end, and no partial sum can overflow the signed ACC_W range."""
    prods = stream.products
    if not prods or any(sp.aborted for sp in prods) or stream.stimulus.rst.any():
        return False
    last_step = max(int(sp.steps[-1]) for sp in prods)
    if stream.cycles < last_step + params.rows + params.cols - 1 + params.latency:
        return False
    limit = (1 << (params.acc_w - 1)) - 1
    kmax = max(sp.product.k for sp in prods)
    if kmax * (1 << (2 * params.data_w - 2)) <= limit:  # no operands of DATA_W bits can overflow
        return True
    return all(
        sp.product.k * int(np.abs(sp.product.a).max()) * int(np.abs(sp.product.b).max()) <= limit
        for sp in prods
    )


def products_signature(stream: Stream, params: ArrayParams) -> Signature | None:
    """The harness signature in closed form from the scheduled products (fast: ~one MAC each).

    By the timing contract, PE(i,j) of a product p (i < m_p, j < n_p) restarts at p's first step,
    adds A[i][k]*B[k][j] at step s_k, and holds the sum until the next product covering it
    restarts it; its result register holds C_p from p's last step until the next covering
    product's last step; its strobe is 1 exactly at p's last step. With W(x) = sum_{s<x} w_s and
    w_s = 3**(T-1-s), PE(i,j)'s accumulator slot is therefore (in step coordinates)

        sum_p  C_p[i][j] * W(h_p) - (A_p diag(W(s_p)) B_p)[i][j]

    with h_p the next covering product's first step (or the end of what the harness samples), an
    integer matrix product per product. It applies when no partial sum overflows ACC_W (then the
    signed register values equal the exact sums), the stream has no reset and is sampled to its
    end; otherwise it returns None and ``stream_signature`` is used. Tests check it against the
    register-level model, bubbles and garbage on invalid lanes included.
    """
    if not closed_form_applies(stream, params):
        return None
    r, c = params.rows, params.cols
    t = stream.cycles
    prods = stream.products
    w = _pow3(t)[::-1].copy()  # w[s] = 3^(T-1-s)
    with np.errstate(over="ignore"):
        wp = np.concatenate([np.zeros(1, U64), np.cumsum(w, dtype=U64)])  # W(x) = sum_{s<x}
    skew = state_delay(params)
    end = (t - skew).astype(np.int64)  # first step whose state the harness does not sample
    n_p = len(prods)
    pm = np.array([sp.product.m for sp in prods])
    pn = np.array([sp.product.n for sp in prods])
    first = np.array([int(sp.steps[0]) for sp in prods] + [0], np.int64)
    e = np.array([int(sp.steps[-1]) for sp in prods] + [0], np.int64)
    # PE(i,j) is covered by product p when i < m_p and j < n_p; nxt = next covering product.
    cov = (np.arange(r)[None, :, None] < pm[:, None, None]) & (
        np.arange(c)[None, None, :] < pn[:, None, None]
    )
    idx = np.where(cov, np.arange(n_p)[:, None, None], n_p)
    after = np.minimum.accumulate(idx[::-1], axis=0)[::-1]  # first covering q >= p
    nxt = np.concatenate([after[1:], np.full((1, r, c), n_p)], axis=0)  # first covering q > p
    none = nxt == n_p
    h = np.where(none, end[None], first[nxt])  # the accumulator holds until h
    hc = np.where(none, end[None], e[nxt])  # the result register holds until hc
    cfull = np.zeros((n_p, r, c), np.int64)
    groups: dict[tuple[int, int, int], list[int]] = {}
    for q, sp in enumerate(prods):
        groups.setdefault((sp.product.m, sp.product.k, sp.product.n), []).append(q)
    with np.errstate(over="ignore"):
        s_acc = np.zeros((r, c), U64)
        for (m, _k, n), qs in groups.items():
            cfull[qs, :m, :n] = np.stack([prods[q].expected for q in qs])
            a = np.stack([prods[q].product.a for q in qs]).astype(np.int64).view(U64)
            b = np.stack([prods[q].product.b for q in qs]).astype(np.int64).view(U64)
            steps = np.stack([prods[q].steps for q in qs]).astype(np.int64)
            s_acc[:m, :n] -= ((a * wp[steps][:, None, :]) @ b).sum(axis=0, dtype=U64)
        cu = cfull.view(U64)
        s_acc += (cu * wp[h]).sum(axis=0, dtype=U64)
        s_res = (cu * (wp[hc] - wp[e[:n_p]][:, None, None])).sum(axis=0, dtype=U64)
        s_vld = (cov * w[e[:n_p]][:, None, None]).sum(axis=0, dtype=U64)
        last = int((e[:n_p] + pm + pn - 2).max()) + params.latency
        inv = _inv3(skew)
        acc = (s_acc * inv).ravel()
        res = (s_res * inv).ravel()
        vld = ((s_vld * inv) << np.arange(c, dtype=U64)[None, :]).sum(axis=1, dtype=U64)
    return Signature(t, acc, res, vld, last)


def expected_signature(stream: Stream, params: ArrayParams) -> Signature:
    """The closed form when it applies, else the vectorized register model."""
    sig = products_signature(stream, params)
    return sig if sig is not None else stream_signature(stream.stimulus, params)
