"""A workload file through the RTL: build the dumping fast-path harness, run
``tb/test_workload.py`` on it, read back its summary (``systolic sim --workload``, ``e2e``)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.engine import build
from systolic.engine.config import WORKLOAD_MODES, RunSettings
from systolic.engine.harness import HarnessBuild, build_cocotb, run_cocotb
from systolic.engine.layers import (
    LayerRecord,
    Progress,
    format_layer,
    layer_costs,
    replay_parts,
    run_replay_parts,
)
from systolic.engine.workload import Workload, load_workload
from systolic.errors import SystolicError, one_line
from systolic.models.params import ArrayParams, TopParams

#: Where progress lines go: one call per finished layer (e.g. :func:`stdout_lines`).
ProgressOut = Callable[[str], None]


def run_workload(
    path: Path,
    settings: RunSettings,
    design: ArrayParams | TopParams,
    mode: str = "e2e",
    name: str | None = None,
    jobs: int = 1,
    progress: ProgressOut | None = None,
) -> dict[str, Any]:
    """Build the dumping harness for ``design`` and run ``path`` through it.

    ``design``: the array (ArrayParams: the fast-path harness and tb/test_workload.py) or the
    accelerator top (TopParams: its harness, systolic.verify.accel_workload).

    ``jobs``: in ``replay``, layers run on up to this many simulator processes at once (the
    array: one cocotb process per group of layers; the top: one harness process per layer); the
    summary is the sequential run's apart from wall times. ``e2e`` runs layer after layer.
    ``progress``: receives one line per finished layer (layer i of n, cycles/s, ETA); the
    summary does not hold them.

    Returns the summary written by tb/test_workload.py (layers, totals, predictions); raises
    SystolicError if the simulation could not run at all. A failing check is reported in the
    summary (``passed`` False, per-layer ``errors``), not raised. The settings' build folder
    holds the harness build and ``workloads/<name>.json``."""
    build_root = settings.build_root
    params = design.array if isinstance(design, TopParams) else design
    if mode not in WORKLOAD_MODES:
        choices = ", ".join(WORKLOAD_MODES)
        raise SystolicError(f"unknown workload mode {mode!r}; choose from {choices}")
    if params.data_w < 8 or params.acc_w < 32:
        raise SystolicError(
            f"workloads hold int8 operands and int32 results: the array needs DATA_W >= 8 and "
            f"ACC_W >= 32 (got {params.data_w}, {params.acc_w})"
        )
    if jobs < 1:
        raise SystolicError(f"jobs must be at least 1 (got {jobs})")
    path = Path(path).resolve()
    wl = load_workload(path)  # one clear line for a bad file, before the simulator is looked for
    tag = name or f"workload_{path.stem}_{mode}" + top_run_tag(design)
    out = (build_root or build.BUILD_ROOT).resolve() / "workloads" / f"{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    costs = layer_costs(wl, params)
    tracker = None
    if progress is not None:
        tracker = Progress(costs, progress, [lay.name for lay in wl.net.layers])
    parts = replay_parts(costs, jobs) if mode == "replay" else []
    if isinstance(design, TopParams):
        return _run_on_accel(wl, mode, settings, design, out, jobs, tracker)
    t0 = time.perf_counter()
    build_cocotb(settings, params, HarnessBuild(dump=True))
    build_s = time.perf_counter() - t0
    if tracker is not None:
        tracker.start()
    if len(parts) > 1:
        summary = _run_array_parts(path, wl, settings, params, tag, out, parts, tracker)
    else:
        run = ArrayPart(settings, params, path, mode, tag, out, None)
        try:
            with _tailing([run.progress_file], tracker):
                summary, _ = run()
        finally:
            fileio.discard(run.progress_file)
    summary["sim_wall_s"] = time.perf_counter() - t0
    summary["build_s"] = build_s
    summary["results_json"] = str(out)
    return summary


@dataclass(frozen=True)
class ArrayPart:
    """One cocotb process of a workload run on the array: all its layers (``layers`` None) or
    the replay of some (their indices). Called in this process or in a worker process."""

    settings: RunSettings
    params: ArrayParams
    path: Path
    mode: str
    tag: str
    out: Path
    layers: tuple[int, ...] | None

    @property
    def progress_file(self) -> Path:
        return self.out.with_suffix(".progress")

    def __call__(self) -> tuple[dict[str, Any], str]:
        """Run it; returns (the summary tb/test_workload.py wrote, the simulator's log)."""
        self.progress_file.unlink(missing_ok=True)
        inputs = {
            "workload": str(self.path),
            "workload_mode": self.mode,
            "workload_out": str(self.out),
            "workload_progress": str(self.progress_file),
        }
        if self.layers is not None:
            inputs["workload_layers"] = ",".join(str(i) for i in self.layers)
        res = run_cocotb(
            self.settings,
            self.params,
            ["test_workload"],
            inputs=inputs,
            harness=HarnessBuild(dump=True),
            name=self.tag,
            test_module="systolic.tb.test_workload",
        )
        if not self.out.is_file():
            first = [f"{name}: {one_line(msg)}" for name, msg in list(res.failures.items())[:2]]
            raise SystolicError(
                "; ".join(
                    [
                        f"the {self.settings.sim} workload run wrote no results (see {res.log})",
                        *first,
                    ]
                )
            )
        summary = json.loads(self.out.read_text())
        summary["log"] = str(res.log)
        return summary, str(res.log)


def _run_array_parts(
    path: Path,
    wl: Workload,
    settings: RunSettings,
    params: ArrayParams,
    tag: str,
    out: Path,
    parts: list[list[int]],
    tracker: Progress | None,
) -> dict[str, Any]:
    """A replay on the array split into ``parts``, each a cocotb process in its own worker
    process (a simulator run redirects its process's output and environment, so two cannot
    share one); the summary (written to ``out``) is the sequential run's apart from wall
    times, with the log of every part."""
    runs = [
        ArrayPart(
            settings,
            params,
            path,
            "replay",
            f"{tag}_part{k}",
            out.with_name(f"{out.stem}_part{k}.json"),
            tuple(part),
        )
        for k, part in enumerate(parts)
    ]
    by_layers = {run.layers: run for run in runs}
    logs: dict[int, str] = {}
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
    try:
        # The tail reads the progress files one last time when the pool is done: removed after.
        with (
            concurrent.futures.ProcessPoolExecutor(len(runs), mp_context=ctx) as pool,
            _tailing([run.progress_file for run in runs], tracker),
        ):

            def run_part(part: Sequence[int]) -> list[LayerRecord]:
                run = by_layers[tuple(part)]
                part_summary, log = pool.submit(run).result()
                logs[runs.index(run)] = log
                return [LayerRecord(**row) for row in part_summary["layers"]]

            summary = run_replay_parts(wl, parts, run_part, len(runs), params)
    finally:
        for run in runs:
            fileio.discard(run.out, run.progress_file)
    summary["log"] = logs[0]
    summary["logs"] = [logs[k] for k in sorted(logs)]
    fileio.atomic_write(out, json.dumps(summary, indent=1))
    return summary


@contextlib.contextmanager
def _tailing(files: list[Path], tracker: Progress | None) -> Iterator[None]:
    """While the body runs, a thread reads the layer records the simulators append to ``files``
    (one JSON line each) and reports them to ``tracker``; the last lines are read at the end."""
    if tracker is None:
        yield
        return
    offsets = dict.fromkeys(files, 0)
    stop = threading.Event()

    def drain() -> None:
        for f, off in offsets.items():
            try:
                with open(f, "rb") as fh:
                    fh.seek(off)
                    data = fh.read()
            except FileNotFoundError:
                continue
            whole = data[: data.rfind(b"\n") + 1]  # a line still being written waits
            offsets[f] = off + len(whole)
            for line in whole.splitlines():
                tracker.layer_done(LayerRecord(**json.loads(line)))

    def poll() -> None:
        while not stop.wait(0.25):
            drain()

    thread = threading.Thread(target=poll, name="workload-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        drain()


def _run_on_accel(
    wl: Workload,
    mode: str,
    settings: RunSettings,
    top: TopParams,
    out: Path,
    jobs: int,
    tracker: Progress | None,
) -> dict[str, Any]:
    """The workload through the accelerator top ``top``; the summary is written to ``out``
    too."""
    from systolic.engine import accel_harness
    from systolic.verify.accel_workload import run_accel_workload

    t0 = time.perf_counter()
    exe = accel_harness.build_bench(settings, top)
    build_s = time.perf_counter() - t0
    work = out.with_suffix("")
    done = None
    if tracker is not None:
        tracker.start()
        done = tracker.layer_done
    try:
        summary = run_accel_workload(wl, mode, settings.sim, top, exe, work, jobs, done)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # operand and result files of every layer
    summary |= {"sim_wall_s": time.perf_counter() - t0, "build_s": build_s, "log": "-"}
    summary["results_json"] = str(out)
    fileio.atomic_write(out, json.dumps(summary, indent=1))
    return summary


def stdout_lines() -> ProgressOut:
    """Progress lines to this process's standard output as it is now, flushed at once: to a
    copy of its file descriptor, so that they reach the terminal even while a simulator run
    sends descriptor 1 to its log (toolchain.log_to). A stdout with no descriptor (a capture)
    is written to directly."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return lambda line: print(line, flush=True)
    sys.stdout.flush()
    stream = os.fdopen(os.dup(fd), "w", buffering=1, encoding=sys.stdout.encoding, errors="replace")

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return write


def port_phrase(top: TopParams) -> str:
    """How a run names the top's result port: nothing at the RTL's defaults, else e.g.
    ", 2 rows per beat, 2 shadow registers"."""
    out_rows, shadows = top.out_rows, top.shadows
    if (out_rows, shadows) == (1, 1):
        return ""
    rows = f"{out_rows} row{'s' if out_rows != 1 else ''} per beat"
    return f", {rows}, {shadows} shadow register{'s' if shadows != 1 else ''}"


def top_run_tag(design: ArrayParams | TopParams) -> str:
    """The run's name suffix: none for the array, _accel for the top at its defaults."""
    return "_accel" + design.port_tag if isinstance(design, TopParams) else ""


def print_summary(s: dict[str, Any]) -> None:
    """The per-layer table and totals of a run (what ``systolic sim --workload`` prints)."""
    for row in s["layers"]:
        print("  " + format_layer(LayerRecord(**row)))
    tot = s["total"]
    util = tot["macs"] / (tot["rtl_cycles"] * s["rows"] * s["cols"]) if tot["rtl_cycles"] else 0
    print(
        f"  total: {tot['gemms']} GEMMs, {tot['macs']:,} MACs, {tot['rtl_cycles']:,} cycles "
        f"(model {tot['model_cycles']:,}), utilization {100 * util:.1f}%, "
        f"wall {s.get('sim_wall_s', tot['wall_s']):.1f} s"
    )
    if s["mode"] == "e2e" and "agreement" in s:
        fa = s.get("float_accuracy")
        print(
            f"  {s['images']} images: RTL predictions equal the integer reference on "
            f"{s['agreement']}/{s['images']}; accuracy RTL {100 * s['rtl_accuracy']:.2f}%, "
            f"integer reference {100 * s['int_accuracy']:.2f}%"
            + (f", float {100 * fa:.2f}%" if fa is not None else "")
        )
    print(f"  {'PASSED' if s['passed'] else 'FAILED'}  (results: {s.get('results_json', '-')})")
