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
from systolic.engine.config import WORKLOAD_MODES
from systolic.engine.harness import build_cocotb, run_cocotb
from systolic.engine.tops import WORKLOAD_TOPS
from systolic.engine.workload import Workload, load_workload
from systolic.errors import SystolicError, one_line
from systolic.models.accel import top_parameters
from systolic.models.params import ArrayParams
from systolic.tb.workload import LayerRecord, format_layer


def run_workload(
    path: Path,
    sim: str,
    params: ArrayParams,
    mode: str = "e2e",
    seed: int = 1,
    name: str | None = None,
    build_root: Path | None = None,
    rtl_dir: Path | None = None,
    top: str = "array",
    out_rows: int = 1,
    shadows: int = 1,
) -> dict[str, Any]:
    """Build the dumping harness for ``params`` on ``sim`` and run ``path`` through it.

    ``top``: "array" (the array through the fast-path harness and tb/test_workload.py) or
    "accel" (the accelerator top through its harness, systolic.verify.accel_workload), with
    ``out_rows`` rows per result beat and ``shadows`` shadow registers per PE.

    Returns the summary written by tb/test_workload.py (layers, totals, predictions); raises
    SystolicError if the simulation could not run at all. A failing check is reported in the
    summary (``passed`` False, per-layer ``errors``), not raised. ``build_root`` (default
    build/) holds the harness build and ``workloads/<name>.json``; ``rtl_dir`` replaces rtl/
    (mutation tests)."""
    if mode not in WORKLOAD_MODES:
        choices = ", ".join(WORKLOAD_MODES)
        raise SystolicError(f"unknown workload mode {mode!r}; choose from {choices}")
    if params.data_w < 8 or params.acc_w < 32:
        raise SystolicError(
            f"workloads hold int8 operands and int32 results: the array needs DATA_W >= 8 and "
            f"ACC_W >= 32 (got {params.data_w}, {params.acc_w})"
        )
    if top not in WORKLOAD_TOPS:
        raise SystolicError(f"unknown top {top!r}; choose from {', '.join(WORKLOAD_TOPS)}")
    if top == "accel":
        top_parameters(params, None, out_rows, shadows)  # one clear line for a bad port
    elif (out_rows, shadows) != (1, 1):
        raise SystolicError("rows per result beat and shadow registers are the accelerator top's")
    path = Path(path).resolve()
    wl = load_workload(path)  # one clear line for a bad file, before the simulator is looked for
    tag = name or f"workload_{path.stem}_{mode}" + top_run_tag(top, out_rows, shadows)
    out = (build_root or build.BUILD_ROOT).resolve() / "workloads" / f"{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if top == "accel":
        port = (out_rows, shadows)
        return _run_on_accel(wl, mode, sim, params, out, build_root, rtl_dir, port)
    t0 = time.perf_counter()
    build_cocotb(sim, params, check=True, rtl_dir=rtl_dir, build_root=build_root, dump=True)
    build_s = time.perf_counter() - t0
    res = run_cocotb(
        sim,
        params,
        ["test_workload"],
        inputs={"workload": str(path), "workload_mode": mode, "workload_out": str(out)},
        seed=seed,
        name=tag,
        test_module="systolic.tb.test_workload",
        dump=True,
        build_root=build_root,
        rtl_dir=rtl_dir,
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
    sim: str,
    params: ArrayParams,
    out: Path,
    build_root: Path | None,
    rtl_dir: Path | None,
    port: tuple[int, int] = (1, 1),
) -> dict[str, Any]:
    """The workload through the accelerator top with ``port`` = (rows per result beat, shadow
    registers per PE); the summary is written to ``out`` too."""
    from systolic.engine import accel_harness
    from systolic.verify.accel_workload import run_accel_workload

    t0 = time.perf_counter()
    out_rows, shadows = port
    exe = accel_harness.build_bench(
        sim, params, build_root=build_root, rtl_dir=rtl_dir, out_rows=out_rows, shadows=shadows
    )
    build_s = time.perf_counter() - t0
    work = out.with_suffix("")
    try:
        summary = run_accel_workload(wl, mode, sim, params, exe, work, port)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # operand and result files of every layer
    summary |= {"sim_wall_s": time.perf_counter() - t0, "build_s": build_s, "log": "-"}
    summary["results_json"] = str(out)
    fileio.atomic_write(out, json.dumps(summary, indent=1))
    return summary


def port_phrase(out_rows: int, shadows: int) -> str:
    """How a run names the top's result port: nothing at the RTL's defaults, else e.g.
    ", 2 rows per beat, 2 shadow registers"."""
    if (out_rows, shadows) == (1, 1):
        return ""
    rows = f"{out_rows} row{'s' if out_rows != 1 else ''} per beat"
    return f", {rows}, {shadows} shadow register{'s' if shadows != 1 else ''}"


def top_run_tag(top: str, out_rows: int, shadows: int) -> str:
    """The run's name suffix: none for the array, _accel for the top at its defaults."""
    if top != "accel":
        return ""
    return "_accel" + (f"_o{out_rows}s{shadows}" if (out_rows, shadows) != (1, 1) else "")


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
