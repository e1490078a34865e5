"""A workload's layers through a design: the one loop of both modes and the per-layer records.

The array (inside cocotb, tb/test_workload.py) and the accelerator top (on the host,
systolic.verify.accel_workload) run the same loop, :func:`run_layers`, each with its own
per-layer callable that streams one layer's GEMMs through its design and returns its C per GEMM
(None where the design returned none):

* ``replay``: every GEMM recorded in the file, layer by layer; each result must equal the
  recorded C bit for bit.
* ``e2e``: the network end to end. Only the input images come from the file; every GEMM's A is
  built from the *design's* outputs of the previous layers (bias, requantization, ReLU, pooling,
  shuffle, SE gate on the host), so the predictions are the design's. Each A is also compared
  with the file's (the integer reference's), and each C with the exact A @ B.

In ``replay`` the layers are independent: :func:`run_replay_parts` runs groups of them at once
(threads that each drive a simulator process) and puts the records back in the workload's order,
so the summary equals the sequential run's apart from wall times. ``e2e`` runs layer after layer
(each feeds the next). :class:`Progress` turns each finished layer's record into one line:
layer i of n, cycles/s and an ETA.

The records and the summary are the contract between the runners and ``systolic sim
--workload``'s report; they live here, below both the host flows and the testbench.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from systolic.engine.workload import Workload, check_operands_match
from systolic.models.network import predictions, run_steps
from systolic.models.params import ArrayParams
from systolic.models.tiling import gemm_cycles

Pairs = list[tuple[np.ndarray, np.ndarray]]
#: One layer through a design: (layer name, kind, its GEMMs' operands, the C each must equal
#: (None: the exact A @ B), errors found before the run) -> the design's C per GEMM.
LayerRunner = Callable[
    [str, str, Pairs, "list[np.ndarray] | None", list[str]], Awaitable[list["np.ndarray | None"]]
]


@dataclass
class LayerRecord:
    """What one layer cost and whether it was right."""

    layer: str
    kind: str
    gemms: int
    M: int
    K: int
    N: int
    macs: int
    rtl_cycles: int
    model_cycles: int
    lower_bound: int
    block_diagonal_cycles: int | None  # grouped layers: the dense block-diagonal GEMM instead
    utilization: float
    wall_s: float
    passed: bool
    errors: list[str] = field(default_factory=list)


async def run_layers(
    wl: Workload,
    mode: str,
    layer: LayerRunner,
    records: list[LayerRecord],
    p: ArrayParams,
    design: dict[str, Any] | None = None,
    only: Sequence[int] | None = None,
) -> dict[str, Any]:
    """``wl`` in ``mode`` through a design, one ``layer`` call per layer (which appends its
    record to ``records``); returns the summary (``design``: fields that name the design, after
    the file's). In ``e2e`` mode a layer whose C is missing for any GEMM stops the run (its
    record says why; the summary is still complete). ``only`` (replay): the indices of the
    layers to run, in that order (one part of :func:`run_replay_parts`)."""
    extra = {**summary_header(wl, mode, p), **(design or {})}
    if mode == "replay":
        chosen = range(len(wl.net.layers)) if only is None else only
        for lay in (wl.net.layers[i] for i in chosen):
            gs = wl.gemms[lay.name]
            await layer(lay.name, lay.kind, [(g.a, g.b) for g in gs], [g.c for g in gs], [])
        return summarize(records, extra)
    steps = run_steps(wl.net, wl.x)
    try:
        item = next(steps)
        while True:
            name, kind, pairs = item.layer.name, item.layer.kind, item.pairs
            diverged = [check_operands_match(wl, name, g, a) for g, (a, _) in enumerate(pairs)]
            cs = await layer(name, kind, pairs, None, [d for d in diverged if d])
            done = [c for c in cs if c is not None]
            if len(done) != len(cs):  # only the design's own values go on
                extra.update(agreement=0, agreement_ok=False, rtl_accuracy=0.0, stopped_at=name)
                return summarize(records, extra)
            item = steps.send(done)
    except StopIteration as stop:
        extra.update(prediction_fields(wl, predictions(stop.value)))
    return summarize(records, extra)


def run_replay_parts(
    wl: Workload,
    parts: Sequence[Sequence[int]],
    run_part: Callable[[Sequence[int]], list[LayerRecord]],
    jobs: int,
    p: ArrayParams,
    design: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``replay`` with the layers split into ``parts`` (layer indices) run ``jobs`` at a time:
    ``run_part`` runs one part's layers (each on its own simulator process or processes) and
    returns their records. The records go back into the workload's layer order, so the summary
    equals :func:`run_layers`'s in ``replay`` apart from wall times. A part that raises fails the
    whole run (the first error is raised after every started part has finished)."""
    index = {lay.name: i for i, lay in enumerate(wl.net.layers)}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_part, part) for part in parts]
        records = [rec for fut in futures for rec in fut.result()]
    records.sort(key=lambda r: index[r.layer])
    want = [i for part in parts for i in part]
    if sorted(index[r.layer] for r in records) != sorted(want):
        raise RuntimeError("a replay part returned records of other layers than it was given")
    return summarize(records, {**summary_header(wl, "replay", p), **(design or {})})


def layer_costs(wl: Workload, p: ArrayParams) -> list[int]:
    """Each layer's cycles on the array by the cycle model, from the workload's recorded GEMM
    shapes (the same shapes in both modes): the weights of the ETA and of the parts."""
    return [
        sum(gemm_cycles(g.a.shape[0], g.a.shape[1], g.b.shape[1], p) for g in wl.gemms[lay.name])
        for lay in wl.net.layers
    ]


def replay_parts(costs: Sequence[int], parts: int) -> list[list[int]]:
    """Layer indices in ``parts`` groups of about equal total cost (longest first onto the
    least loaded group), each group in the workload's order; empty groups dropped."""
    groups: list[list[int]] = [[] for _ in range(max(1, parts))]
    load = [0] * len(groups)
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        k = load.index(min(load))
        groups[k].append(i)
        load[k] += costs[i]
    return [sorted(g) for g in groups if g]


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity call on this platform (macOS)
        return max(1, os.cpu_count() or 1)


class Progress:
    """One line per finished layer: ``layer i of n``, the layer's simulated cycles per second
    and the ETA of the whole run (the remaining layers' cycle-model cost at the rate so far).
    Thread-safe: parallel replay parts report from their threads."""

    def __init__(
        self, costs: Sequence[int], out: Callable[[str], None], names: Sequence[str]
    ) -> None:
        self.cost = dict(zip(names, costs, strict=True))
        self.total = sum(costs)
        self.out = out
        self.done = 0
        self.done_cost = 0
        self.t0 = time.perf_counter()
        self._lock = threading.Lock()

    def start(self) -> None:
        """The run starts now (after the build): elapsed time and ETA count from here."""
        self.t0 = time.perf_counter()

    def layer_done(self, rec: LayerRecord) -> None:
        """Report one finished layer."""
        with self._lock:
            self.done += 1
            self.done_cost += self.cost.get(rec.layer, 0)
            self.out(self.line(rec, time.perf_counter() - self.t0))

    def line(self, rec: LayerRecord, elapsed: float) -> str:
        """The progress line of ``rec``, ``elapsed`` seconds into the run."""
        rate = rec.rtl_cycles / rec.wall_s if rec.wall_s > 0 else 0.0
        left = self.total - self.done_cost
        if left <= 0:
            eta = "done"
        elif self.done_cost > 0:
            eta = f"ETA {format_seconds(elapsed * left / self.done_cost)}"
        else:
            eta = "ETA ?"
        status = "ok" if rec.passed else "FAILED"
        return (
            f"  layer {self.done} of {len(self.cost)} {rec.layer}: {rec.rtl_cycles:,} cycles in "
            f"{rec.wall_s:.2f} s ({rate:,.0f} cycles/s) {status}; "
            f"elapsed {format_seconds(elapsed)}, {eta}"
        )


def format_seconds(s: float) -> str:
    """``42 s`` or ``3 min 05 s``."""
    if s < 60:
        return f"{s:.0f} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


def run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result of a coroutine whose awaits all complete at once (the host's layer calls are
    plain functions wrapped as coroutines): :func:`run_layers` outside cocotb."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a host layer runner awaited something that did not complete at once")


def check_layer(
    name: str,
    cs: list[np.ndarray | None],
    want: list[np.ndarray],
    pairs: Pairs,
    p: ArrayParams,
    design: str,
) -> list[str]:
    """Each GEMM's C of a layer against ``want``: a missing one (``design`` names what returned
    none), or where it first differs."""
    errors = []
    for g, (c, w, (_, b)) in enumerate(zip(cs, want, pairs, strict=True)):
        label = f"{name}[{g}]" if len(pairs) > 1 else name
        if c is None:
            errors.append(f"{label}: {design} returned no results")
        elif not np.array_equal(c, w):
            errors.append(f"{label}: " + first_mismatch(c, w, b.shape[1], p))
    return errors


def first_mismatch(got: np.ndarray, want: np.ndarray, n_total: int, p: ArrayParams) -> str:
    """Where a GEMM's C first differs: entry, fold and PE (i, j) that computed it."""
    bad = np.argwhere(got != want)
    i, j = (int(v) for v in bad[0])
    fold = (i // p.rows) * -(-n_total // p.cols) + j // p.cols
    return (
        f"{len(bad)} wrong entries; first C[{i}][{j}] = {int(got[i, j])}, expected "
        f"{int(want[i, j])} (fold {fold}, PE({i % p.rows},{j % p.cols}))"
    )


def make_record(
    name: str,
    kind: str,
    pairs: Pairs,
    cycles: int,
    model: int,
    lower_bound: int,
    wall: float,
    errors: list[str],
    p: ArrayParams,
) -> LayerRecord:
    """A layer's record from its measured cycles, its model's cycles and its lower bound (the
    design's own: the array's or the accelerator top's)."""
    m, k = pairs[0][0].shape
    n = pairs[0][1].shape[1]
    g = len(pairs)
    macs = sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b in pairs)
    return LayerRecord(
        layer=name,
        kind=kind,
        gemms=g,
        M=m,
        K=k,
        N=n,
        macs=macs,
        rtl_cycles=cycles,
        model_cycles=model,
        lower_bound=lower_bound,
        block_diagonal_cycles=gemm_cycles(m, k * g, n * g, p) if g > 1 else None,
        utilization=macs / (cycles * p.rows * p.cols) if cycles > 0 else 0.0,
        wall_s=wall,
        passed=not errors,
        errors=errors,
    )


def summary_header(wl: Workload, mode: str, p: ArrayParams) -> dict[str, Any]:
    """The fields of a workload run's summary that come from the file and the array."""
    return {
        "mode": mode,
        "model": wl.net.name,
        "array": p.tag,
        "rows": p.rows,
        "cols": p.cols,
        "images": int(wl.x.shape[0]),
        "source": wl.meta.get("source", {}),
        "float_accuracy": wl.meta.get("accuracy", {}).get("float"),
        "int_accuracy": float((wl.predictions == wl.labels).mean()),
    }


def prediction_fields(wl: Workload, preds: np.ndarray) -> dict[str, Any]:
    """The summary's verdict on a design's predictions against the workload's labels and its
    integer reference's predictions."""
    agree = int((preds == wl.predictions).sum())
    return {
        "rtl_accuracy": float((preds == wl.labels).mean()),
        "agreement": agree,
        "agreement_ok": agree == len(preds),
        "rtl_predictions": preds.tolist(),
    }


def summarize(records: list[LayerRecord], extra: dict[str, Any]) -> dict[str, Any]:
    """Totals over the layers plus ``extra`` (mode, model, predictions...)."""
    cycles = sum(r.rtl_cycles for r in records)
    return {
        **extra,
        "layers": [asdict(r) for r in records],
        "total": {
            "macs": sum(r.macs for r in records),
            "rtl_cycles": cycles,
            "model_cycles": sum(r.model_cycles for r in records),
            "gemms": sum(r.gemms for r in records),
            "wall_s": sum(r.wall_s for r in records),
        },
        "passed": all(r.passed for r in records) and extra.get("agreement_ok", True),
    }


def format_layer(r: LayerRecord) -> str:
    shape = f"{r.M}x{r.K}x{r.N}" + (f" x{r.gemms}" if r.gemms > 1 else "")
    status = "ok" if r.passed else "FAILED: " + "; ".join(r.errors[:3])
    return (
        f"{r.layer:<22} {shape:<20} {r.macs:>12,} MACs {r.rtl_cycles:>11,} cycles "
        f"(model {r.model_cycles:,}) util {100 * r.utilization:5.1f}% {r.wall_s:7.2f} s  {status}"
    )
