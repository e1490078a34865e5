"""A workload file through the accelerator top (``systolic sim --workload FILE --top accel``).

The same loop, modes and checks as the array's runner (systolic.engine.layers.run_layers), on
rtl/systolic_accel.v through its no-Python harness: every GEMM of a layer is streamed through
the top's AXI4-Stream ports back to back (the layer's folds in order), every result beat's
tkeep and tlast is checked, each GEMM's C must equal A @ B exactly, and the layer's cycles
(first operand beat accepted to last result beat accepted) must equal models.accel. In ``e2e``
mode every layer is fed with the top's own results of the layers before it, so the predictions
are the accelerator's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from systolic import names
from systolic.engine import accel_harness
from systolic.engine.layers import (
    LayerRecord,
    Pairs,
    check_layer,
    layer_costs,
    make_record,
    run_layers,
    run_now,
    run_replay_parts,
)
from systolic.engine.workload import Workload
from systolic.models.accel import FoldShape, folds_lower_bound, schedule_folds
from systolic.models.gemm import exact_matmul
from systolic.models.params import TopParams
from systolic.models.tiling import plan_folds


class AccelLayers:
    """Runs layers through the top's harness and keeps their records (the top's per-layer
    callable of run_layers)."""

    def __init__(
        self,
        sim: str,
        top: TopParams,
        exe: Path,
        workdir: Path,
        progress: Callable[[LayerRecord], None] | None = None,
    ) -> None:
        self.sim, self.top, self.exe, self.workdir = sim, top, exe, workdir
        self.p = top.array
        self.records: list[LayerRecord] = []
        self.progress = progress

    async def layer(
        self, name: str, kind: str, pairs: Pairs, want: list[np.ndarray] | None, errors: list[str]
    ) -> list[np.ndarray | None]:
        """All GEMMs of one layer in one stream; returns the top's C per GEMM (None where its
        beats were wrong). Each must equal ``want`` (None: the exact A @ B)."""
        p = self.p
        t0 = time.perf_counter()
        # The loader checked the name; checked again where it becomes a folder (in depth).
        folder = names.confined(self.workdir, name, "the workload", what="layer name")
        run = accel_harness.run_stream(self.sim, self.exe, pairs, self.top, folder)
        if want is None:  # exact: the operands may be int8 arrays
            want = [exact_matmul(a, b) for a, b in pairs]
        errors = [
            *errors,
            *run.problems,
            *check_layer(name, run.results, want, pairs, p, "the top"),
        ]
        self.records.append(self._record(name, kind, pairs, run.cycles, t0, errors))
        if self.progress is not None:
            self.progress(self.records[-1])
        return run.results

    def _record(
        self, name: str, kind: str, pairs: Pairs, cycles: int, t0: float, errors: list[str]
    ) -> LayerRecord:
        """The layer's record: its cycles against the top's cycle model and lower bound."""
        p = self.p
        folds = [
            FoldShape(a.shape[1], f.m, f.n)
            for a, b in pairs
            for f in plan_folds(a.shape[0], b.shape[1], p)
        ]
        model = schedule_folds(folds, self.top).cycles
        if cycles != model:
            errors = [*errors, f"the top took {cycles} cycles, its cycle model {model}"]
        wall = time.perf_counter() - t0
        lower = folds_lower_bound(folds, self.top)
        return make_record(name, kind, pairs, cycles, model, lower, wall, errors, p)


def run_accel_workload(
    wl: Workload,
    mode: str,
    sim: str,
    top: TopParams,
    exe: Path,
    workdir: Path,
    jobs: int = 1,
    progress: Callable[[LayerRecord], None] | None = None,
) -> dict[str, Any]:
    """``wl`` through the top (its harness ``exe`` built for ``top``) in ``mode`` (``replay`` or
    ``e2e``); the summary of the array's runner, with ``top`` = "accel", ``out_rows`` and
    ``shadows``. In ``replay`` with ``jobs`` > 1 the layers run as that many harness processes
    at once (the costliest first); ``progress`` gets each layer's record as it finishes."""
    layer_names = [layer.name for layer in wl.net.layers]
    names.check_names(layer_names, "layer name", "the workload", rule="file")  # before any run
    design = {"top": "accel", "out_rows": top.out_rows, "shadows": top.shadows}
    if mode == "replay" and jobs > 1 and len(layer_names) > 1:
        costs = layer_costs(wl, top.array)
        order = sorted(range(len(costs)), key=lambda i: -costs[i])

        def run_part(part: Sequence[int]) -> list[LayerRecord]:
            run = AccelLayers(sim, top, exe, workdir, progress)
            run_now(run_layers(wl, mode, run.layer, run.records, top.array, design, only=part))
            return run.records

        return run_replay_parts(wl, [[i] for i in order], run_part, jobs, top.array, design)
    run = AccelLayers(sim, top, exe, workdir, progress)
    return run_now(run_layers(wl, mode, run.layer, run.records, top.array, design))
