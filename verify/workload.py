"""A workload file through the RTL: build the dumping fast-path harness, run
``tb/test_workload.py`` on it, read back its summary (``systolic sim --workload``, ``e2e``)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.engine import build
from systolic.engine.config import WORKLOAD_MODES, RunSettings
from systolic.engine.harness import HarnessBuild, build_cocotb, run_cocotb
from systolic.engine.layers import LayerRecord, format_layer
from systolic.engine.workload import Workload, load_workload
from systolic.errors import SystolicError, one_line
from systolic.models.params import ArrayParams, TopParams


def run_workload(
    path: Path,
    settings: RunSettings,
    design: ArrayParams | TopParams,
    mode: str = "e2e",
    name: str | None = None,
) -> dict[str, Any]:
    """Build the dumping harness for ``design`` and run ``path`` through it.

    ``design``: the array (ArrayParams: the fast-path harness and tb/test_workload.py) or the
    accelerator top (TopParams: its harness, systolic.verify.accel_workload).

    Returns the summary written by tb/test_workload.py (layers, totals, predictions); raises
    SystolicError if the simulation could not run at all. A failing check is reported in the
    summary (``passed`` False, per-layer ``errors``), not raised. The settings' build folder
    holds the harness build and ``workloads/<name>.json``."""
    sim, build_root = settings.sim, settings.build_root
    params = design.array if isinstance(design, TopParams) else design
    if mode not in WORKLOAD_MODES:
        choices = ", ".join(WORKLOAD_MODES)
        raise SystolicError(f"unknown workload mode {mode!r}; choose from {choices}")
    if params.data_w < 8 or params.acc_w < 32:
        raise SystolicError(
            f"workloads hold int8 operands and int32 results: the array needs DATA_W >= 8 and "
            f"ACC_W >= 32 (got {params.data_w}, {params.acc_w})"
        )
    path = Path(path).resolve()
    wl = load_workload(path)  # one clear line for a bad file, before the simulator is looked for
    tag = name or f"workload_{path.stem}_{mode}" + top_run_tag(design)
    out = (build_root or build.BUILD_ROOT).resolve() / "workloads" / f"{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if isinstance(design, TopParams):
        return _run_on_accel(wl, mode, settings, design, out)
    t0 = time.perf_counter()
    harness = HarnessBuild(dump=True)
    build_cocotb(settings, params, harness)
    build_s = time.perf_counter() - t0
    res = run_cocotb(
        settings,
        params,
        ["test_workload"],
        inputs={"workload": str(path), "workload_mode": mode, "workload_out": str(out)},
        harness=harness,
        name=tag,
        test_module="systolic.tb.test_workload",
    )
    if not out.is_file():
        first = [f"{name}: {one_line(msg)}" for name, msg in list(res.failures.items())[:2]]
        raise SystolicError(
            "; ".join([f"the {sim} workload run wrote no results (see {res.log})", *first])
        )
    summary = json.loads(out.read_text())
    summary["sim_wall_s"] = time.perf_counter() - t0
    summary["build_s"] = build_s
    summary["log"] = str(res.log)
    summary["results_json"] = str(out)
    return summary


def _run_on_accel(
    wl: Workload,
    mode: str,
    settings: RunSettings,
    top: TopParams,
    out: Path,
) -> dict[str, Any]:
    """The workload through the accelerator top ``top``; the summary is written to ``out``
    too."""
    from systolic.engine import accel_harness
    from systolic.verify.accel_workload import run_accel_workload

    t0 = time.perf_counter()
    exe = accel_harness.build_bench(settings, top)
    build_s = time.perf_counter() - t0
    work = out.with_suffix("")
    try:
        summary = run_accel_workload(wl, mode, settings.sim, top, exe, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # operand and result files of every layer
    summary |= {"sim_wall_s": time.perf_counter() - t0, "build_s": build_s, "log": "-"}
    summary["results_json"] = str(out)
    fileio.atomic_write(out, json.dumps(summary, indent=1))
    return summary


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
