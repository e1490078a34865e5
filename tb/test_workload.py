"""cocotb: a workload file through the RTL (fast-path harness with result dump).

Launched by :func:`systolic.verify.workload.run_workload` (``systolic sim --workload FILE``); the
workload file, its mode (``e2e`` or ``replay``) and the output JSON come from the run
configuration.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import cast

import cocotb
import numpy as np

from systolic.models.params import ArrayParams
from systolic.tb.config import RUN, dut_params
from systolic.tb.workload import (
    LayerRecord,
    first_mismatch,
    format_layer,
    layer_record,
    layer_stream,
    prediction_fields,
    split_results,
    summarize,
    summary_header,
)


class WorkloadRun:
    """Runs layers on the harness and keeps their records."""

    def __init__(self, dut, params: ArrayParams) -> None:
        from systolic.tb.fastpath import FastHarness

        self.dut = dut
        self.p = params
        self.h = FastHarness(dut, params)
        self.records: list[LayerRecord] = []

    async def layer(
        self,
        name: str,
        kind: str,
        pairs: list[tuple[np.ndarray, np.ndarray]],
        want: list[np.ndarray] | None = None,
        errors: list[str] | None = None,
    ) -> list[np.ndarray | None]:
        """All GEMMs of one layer in one stream; returns the RTL's C per GEMM. Each must equal
        ``want`` (default: the golden A @ B that scheduling computed for every fold)."""
        p = self.p
        t0 = time.perf_counter()
        stream = layer_stream(pairs, p)
        if want is None:
            # Scheduling computed the golden C of every fold: no GEMM's is missing.
            want = cast(
                "list[np.ndarray]", split_results([sp.expected for sp in stream.products], pairs, p)
            )
        await self.h.reset()
        res = await self.h.run(stream)
        errors = [*(errors or []), *res.errors]
        cs = split_results(res.results, pairs, p)
        for g, (c, w, (_, b)) in enumerate(zip(cs, want, pairs, strict=True)):
            label = f"{name}[{g}]" if len(pairs) > 1 else name
            if c is None:
                errors.append(f"{label}: the RTL returned no results")
            elif not np.array_equal(c, w):
                errors.append(f"{label}: " + first_mismatch(c, w, b.shape[1], p))
        rec = layer_record(
            name, kind, pairs, stream, res.measured_cycles, time.perf_counter() - t0, errors, p
        )
        self.records.append(rec)
        self.dut._log.info(format_layer(rec))
        return cs


def _write(summary: dict) -> None:
    from systolic.fileio import atomic_write

    if RUN.workload_out:
        atomic_write(Path(RUN.workload_out), json.dumps(summary, indent=1))


@cocotb.test(skip=not RUN.workload)
async def test_workload(dut):
    """Every GEMM of the workload (replay) or the whole network (e2e) on the RTL, bit-exact."""
    from systolic.engine.workload import check_operands_match, load_workload
    from systolic.models.network import predictions, run_steps

    p = dut_params(dut)
    assert RUN.workload, "the run names no workload file: use `systolic sim --workload FILE`"
    wl = load_workload(RUN.workload)
    mode = RUN.workload_mode
    run = WorkloadRun(dut, p)
    extra: dict = summary_header(wl, mode, p)
    if mode == "replay":
        for layer in wl.net.layers:
            gs = wl.gemms[layer.name]
            await run.layer(layer.name, layer.kind, [(g.a, g.b) for g in gs], [g.c for g in gs])
    else:
        steps = run_steps(wl.net, wl.x)
        try:
            item = next(steps)
            while True:
                layer, pairs = item.layer, item.pairs
                diverged = [
                    check_operands_match(wl, layer.name, g, a) for g, (a, _) in enumerate(pairs)
                ]
                cs = await run.layer(
                    layer.name, layer.kind, pairs, errors=[d for d in diverged if d]
                )
                # Only the RTL's values go on; a missing result stops the run (its layer record
                # says so, and the summary is still written).
                done = [c for c in cs if c is not None]
                if len(done) != len(cs):
                    extra.update(
                        agreement=0, agreement_ok=False, rtl_accuracy=0.0, stopped_at=layer.name
                    )
                    break
                item = steps.send(done)
        except StopIteration as stop:
            extra.update(prediction_fields(wl, predictions(stop.value)))
    summary = summarize(run.records, extra)
    _write(summary)
    bad = [f"{r.layer}: {'; '.join(r.errors[:3])}" for r in run.records if not r.passed]
    if mode == "e2e" and not extra["agreement_ok"]:
        bad.append(
            f"RTL predictions differ from the integer reference on "
            f"{extra['images'] - extra['agreement']} of {extra['images']} images"
        )
    assert not bad, f"{wl.net.name} on {p.tag} ({mode}): " + " | ".join(bad[:4])
