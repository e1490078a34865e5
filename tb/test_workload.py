"""cocotb: a workload file through the RTL (fast-path harness with result dump).

Launched by :func:`systolic.verify.workload.run_workload` (``systolic sim --workload FILE``); the
workload file, its mode (``e2e`` or ``replay``) and the output JSON come from the run
configuration.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import cast

import cocotb
import numpy as np

from systolic.engine.layers import LayerRecord, check_layer, format_layer, run_layers
from systolic.models.params import ArrayParams
from systolic.tb.config import RUN, dut_params
from systolic.tb.workload import layer_record, layer_stream, split_results


class WorkloadRun:
    """Runs layers on the harness and keeps their records (the array's per-layer callable of
    systolic.engine.layers.run_layers)."""

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
        want: list[np.ndarray] | None,
        errors: list[str],
    ) -> list[np.ndarray | None]:
        """All GEMMs of one layer in one stream; returns the RTL's C per GEMM. Each must equal
        ``want`` (None: the golden A @ B that scheduling computed for every fold)."""
        p = self.p
        t0 = time.perf_counter()
        stream = layer_stream(pairs, p)
        if want is None:
            # Scheduling computed the golden C of every fold: no GEMM's is missing.
            want = cast(
                "list[np.ndarray]", split_results([sp.expected for sp in stream.products], pairs, p)
            )
        t_run = time.perf_counter()
        await self.h.reset()
        res = await self.h.run(stream)
        cs = split_results(res.results, pairs, p)
        errors = [*errors, *res.errors, *check_layer(name, cs, want, pairs, p, "the RTL")]
        rec = layer_record(
            name, kind, pairs, stream, res.measured_cycles, time.perf_counter() - t0, errors, p
        )
        self.records.append(rec)
        self.dut._log.info(format_layer(rec))
        # Where the layer's wall time went (the benchmark's profile reads it from the log).
        phases = {k: round(v, 3) for k, v in res.phases.items()}
        self.dut._log.info("%s phases: stream %.3f s, run %s", name, t_run - t0, phases)
        _report_progress(rec)
        return cs


def _report_progress(rec: LayerRecord) -> None:
    """Append the finished layer's record to the run's progress file (one JSON line, written
    whole and flushed: the host reads it while the simulator runs)."""
    if RUN.workload_progress:
        with open(RUN.workload_progress, "a") as fh:
            fh.write(json.dumps(asdict(rec)) + "\n")


def _write(summary: dict) -> None:
    from systolic.fileio import atomic_write

    if RUN.workload_out:
        atomic_write(Path(RUN.workload_out), json.dumps(summary, indent=1))


@cocotb.test(skip=not RUN.workload)
async def test_workload(dut):
    """Every GEMM of the workload (replay) or the whole network (e2e) on the RTL, bit-exact."""
    from systolic.engine.workload import load_workload

    p = dut_params(dut)
    assert RUN.workload, "the run names no workload file: use `systolic sim --workload FILE`"
    wl = load_workload(RUN.workload)
    mode = RUN.workload_mode
    run = WorkloadRun(dut, p)
    only = [int(i) for i in RUN.workload_layers.split(",")] if RUN.workload_layers else None
    summary = await run_layers(wl, mode, run.layer, run.records, p, only=only)
    _write(summary)
    bad = [f"{r.layer}: {'; '.join(r.errors[:3])}" for r in run.records if not r.passed]
    if mode == "e2e" and not summary.get("agreement_ok", True):
        bad.append(
            f"RTL predictions differ from the integer reference on "
            f"{summary['images'] - summary['agreement']} of {summary['images']} images"
        )
    assert not bad, f"{wl.net.name} on {p.tag} ({mode}): " + " | ".join(bad[:4])
