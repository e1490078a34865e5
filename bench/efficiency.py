"""Hardware efficiency (``systolic bench``): RTL cycles vs the cycle model, the lower bound and
SCALE-Sim on a fixed GEMM list, with Yosys area; the targets checked in the same run."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systolic import fileio
from systolic.bench.report import figure
from systolic.engine import build
from systolic.engine.config import RunSettings
from systolic.engine.harness import HarnessBuild
from systolic.errors import ConfigError, SimulatorError
from systolic.models.accel import accel_cycles, accel_lower_bound
from systolic.models.params import ArrayParams, TopParams
from systolic.models.tiling import GemmPlan
from systolic.models.workloads import BENCH_GEMMS, Workload

DEFAULT_OUT = build.BUILD_ROOT / "bench"
#: The top's extra result-port widths (rows per beat) by default, at each size they fit.
DEFAULT_OUT_ROWS = (2, 4)


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def measure_rtl(sim: str, params: ArrayParams, gemms, workdir: Path) -> dict[str, dict]:
    """RTL cycles of every GEMM (fast path, signature-checked against the cycle model)."""
    from systolic.engine import harness

    workdir.mkdir(parents=True, exist_ok=True)
    jobs = workdir / f"jobs_{params.tag}.json"
    out = workdir / f"rtl_{params.tag}.json"
    fileio.atomic_write(
        jobs, json.dumps([{"name": w.name, "m": w.m, "k": w.k, "n": w.n, "seed": 1} for w in gemms])
    )
    out.unlink(missing_ok=True)
    depth = harness.DEFAULT_DEPTH  # the build tests and bench-sim use too
    res = harness.run_cocotb(
        RunSettings(sim),
        params,
        ["test_fast_gemm"],
        inputs={"gemm_jobs": str(jobs), "gemm_out": str(out)},
        name="bench",
        harness=HarnessBuild(depth=depth),
    )
    if not res.passed:
        raise SimulatorError(f"RTL run failed: {res.summary()}")
    return {row["name"]: row for row in json.loads(out.read_text())["rows"]}


def measure_top(sim: str, top: TopParams, gemms: list[Workload]) -> dict[str, dict]:
    """The accelerator top's cycles of every GEMM (rtl/harness/systolic_accel_bench.v: sources
    that never pause, a sink that never stalls), each run checked by beats, tkeep/tlast and the
    signature of every result word."""
    from systolic.engine import accel_harness

    params = top.array
    exe = accel_harness.build_bench(RunSettings(sim), top)
    out = {}
    for w in gemms:
        run = accel_harness.run_bench(sim, exe, w.m, w.k, w.n, top)
        out[w.name] = {"top_cycles": run.cycles, "problems": run.problems}
        for problem in run.problems:
            print(f"[{params.rows}x{params.cols}] top {w.name}: {problem}", flush=True)
    return out


@dataclass(frozen=True)
class BenchOptions:
    """What ``systolic bench`` measures (see its --help)."""

    sizes: list[tuple[int, int]]
    sim: str = "verilator"
    quick: bool = False
    only: str | None = None
    no_area: bool = False
    no_scalesim: bool = False
    scalesim_max_cycles: int = 300_000
    no_top: bool = False
    out_rows: tuple[int, ...] | None = None  # None: DEFAULT_OUT_ROWS where they fit
    shadows: int = 2
    mul_reg: int = 0  # the array's product register (the top's array too)
    out: Path = DEFAULT_OUT / "bench.json"


def run_bench(args: BenchOptions) -> int:
    """The GEMM list on the RTL, the cycle model and SCALE-Sim at every size; the table, the
    targets, the area and the JSON; 0 when every GEMM was checked."""
    gemms = select_gemms(args.quick, args.only)
    _check_ports(args)
    work = args.out.parent / "work"
    report: dict[str, Any] = {
        "convention": CONVENTION,
        "mul_reg": args.mul_reg,
        "arrays": {},
        "targets": {},
    }
    all_ss: list[float] = []
    for r, c in args.sizes:
        p = ArrayParams(r, c, mul_reg=args.mul_reg)
        print(f"[{r}x{c}] RTL ({args.sim}, fast path{', MUL_REG=1' if p.mul_reg else ''}) ...")
        t0 = time.perf_counter()
        rtl = measure_rtl(args.sim, p, gemms, work)
        print(f"[{r}x{c}] RTL done in {time.perf_counter() - t0:.1f} s", flush=True)
        top: dict[str, dict] = {}
        if not args.no_top:
            print(f"[{r}x{c}] accelerator top ({args.sim}, harness) ...", flush=True)
            t0 = time.perf_counter()
            top = measure_top(args.sim, TopParams(p), gemms)
            print(f"[{r}x{c}] top done in {time.perf_counter() - t0:.1f} s", flush=True)
        ss = {} if args.no_scalesim else _scalesim(p, gemms, args.scalesim_max_cycles, work)
        rows = [
            _row(w, p, rtl[w.name], ss.get(w.name), args.no_scalesim, top.get(w.name))
            for w in gemms
        ]
        array = _array_summary(rows)
        if top:
            widths = args.out_rows or [x for x in DEFAULT_OUT_ROWS if x <= r]
            array["ports"] = [_port_summary(TopParams(p), rows)] + [
                _measure_port(args, TopParams(p, None, out_rows, args.shadows), gemms, rows)
                for out_rows in widths
            ]
        report["arrays"][f"{r}x{c}"] = array
        all_ss += [x["rtl_over_scalesim"] for x in rows if x["rtl_over_scalesim"]]
        _print_bench(r, c, array)
    report["geomean_rtl_over_scalesim"] = geomean(all_ss)
    report["targets"] = _targets(report)
    print("targets")
    for name, t in report["targets"].items():
        print(f"  {'PASS' if t['met'] else 'MISS'} {name}: {t['value']}")
    if not args.no_area:
        report["area"] = _area(work, args.mul_reg)
    # A geometric mean over nothing (e.g. --no-scalesim) is NaN in Python: null in the JSON.
    fileio.atomic_write(args.out, json.dumps(_no_nan(report), indent=1, allow_nan=False))
    print(f"JSON written to {args.out}")
    rows = [r for a in report["arrays"].values() for r in a["rows"]]
    ports = [
        x for a in report["arrays"].values() for port in a.get("ports", []) for x in port["rows"]
    ]
    checked = all(r["checked"] and r.get("top_checked", True) for r in rows)
    return 0 if checked and all(x["top_checked"] for x in ports) else 1


def _check_ports(args: BenchOptions) -> None:
    """The result-port widths fit every array size (OUT_ROWS is 1..ROWS) and are not the
    default's (measured anyway)."""
    if args.no_top:
        return
    for out_rows in args.out_rows or ():
        if out_rows < 2:
            raise ConfigError(
                f"--out-rows {out_rows}: the top is measured at 1 anyway; give 2 or more"
            )
        for r, c in args.sizes:
            if out_rows > r:
                raise ConfigError(
                    f"--out-rows {out_rows} does not fit the {r}x{c} array (1..ROWS rows per beat)"
                )
    if not 1 <= args.shadows <= 4:
        raise ConfigError(f"--shadows {args.shadows}: must be 1..4")


def _measure_port(
    args: BenchOptions,
    top: TopParams,
    gemms: list[Workload],
    rows: list[dict[str, Any]],
) -> dict[str, Any]:
    """The top with a wider result port on every GEMM: its rows and summary."""
    p = top.array
    print(
        f"[{p.rows}x{p.cols}] accelerator top, {top.out_rows} rows per beat, {top.shadows} shadow "
        f"registers ({args.sim}, harness) ...",
        flush=True,
    )
    t0 = time.perf_counter()
    measured = measure_top(args.sim, top, gemms)
    print(f"[{p.rows}x{p.cols}] done in {time.perf_counter() - t0:.1f} s", flush=True)
    port_rows = [
        _top_fields(w, top, measured[w.name], row["scalesim_cycles"])
        | {"name": w.name, "m": w.m, "k": w.k, "n": w.n}
        for w, row in zip(gemms, rows, strict=True)
    ]
    return _port_summary(top, port_rows)


def _port_summary(top: TopParams, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One result-port configuration of the top at one array size: its GEMM rows, the geometric
    mean top/SCALE-Sim, the worst top/LB and digits conv1's figures."""
    conv1 = next((x for x in rows if x["name"] == "digits conv1"), None)
    keys = ("name", "m", "k", "n", *(k for k in rows[0] if k.startswith("top_"))) if rows else ()
    return {
        "out_rows": top.out_rows,
        "shadows": top.shadows,
        "words_per_beat": top.words,
        "rows": [{k: x[k] for k in keys} for x in rows],
        "geomean_top_over_scalesim": geomean(
            [x["top_over_scalesim"] for x in rows if x.get("top_over_scalesim")]
        ),
        "max_top_over_lb": max(x["top_over_lb"] for x in rows),
        "conv1_top_cycles": conv1["top_cycles"] if conv1 else None,
        "conv1_top_over_scalesim": conv1["top_over_scalesim"] if conv1 else None,
    }


def _no_nan(value: Any) -> Any:
    """``value`` with every NaN float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def select_gemms(quick: bool, only: str | None) -> list[Workload]:
    """The benchmark list, without ResNet-18 when ``quick``, narrowed to the ``only`` names."""
    gemms = [w for w in BENCH_GEMMS if not (quick and w.group == "resnet18")]
    if only:
        keys = [k.strip() for k in only.split(",") if k.strip()]
        gemms = [w for w in gemms if any(k in w.name for k in keys)]
        if not gemms:
            raise ConfigError(f"--only {only!r} matches no GEMM of the benchmark list")
    return gemms


def _scalesim(p: ArrayParams, gemms: list[Workload], limit: int, work: Path) -> dict[str, Any]:
    """SCALE-Sim on the GEMMs whose SCALE-Sim cycle count is at most ``limit`` (0: all)."""
    from systolic.bench.scalesim_run import run_gemms

    run = [w for w in gemms if not limit or GemmPlan(w.m, w.k, w.n, p).scalesim_cycles <= limit]
    print(f"[{p.rows}x{p.cols}] SCALE-Sim ({len(run)} of {len(gemms)} GEMMs) ...", flush=True)
    where = work / f"scalesim_{p.rows}x{p.cols}"
    return run_gemms([(w.name, w.m, w.k, w.n) for w in run], p.rows, p.cols, where)


def _row(
    w: Workload,
    p: ArrayParams,
    got: dict[str, Any],
    s: Any,
    no_scalesim: bool,
    top: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One GEMM's line: RTL, model, lower bound and SCALE-Sim (its run, else its formula), and
    the accelerator top's cycles, model and lower bound when measured."""
    plan = GemmPlan(w.m, w.k, w.n, p)
    ss_cycles = s.project_cycles if s else None
    source = "SCALE-Sim" if s else None
    if s is None and not no_scalesim:
        ss_cycles, source = plan.scalesim_cycles, "formula"
    row = {
        "name": w.name,
        "group": w.group,
        "m": w.m,
        "k": w.k,
        "n": w.n,
        "macs": plan.macs,
        "folds": plan.fold_count,
        "rtl_cycles": got["rtl_cycles"],
        "model_cycles": plan.cycles,
        "lower_bound": plan.lower_bound,
        "scalesim_cycles": ss_cycles,
        "scalesim_source": source,
        "scalesim_reported": s.reported_cycles if s else None,
        "scalesim_formula": plan.scalesim_cycles,
        "rtl_over_lb": got["rtl_cycles"] / plan.lower_bound,
        "rtl_over_scalesim": got["rtl_cycles"] / ss_cycles if ss_cycles else None,
        "utilization": plan.utilization(got["rtl_cycles"]),
        "scalesim_utilization": plan.macs / (ss_cycles * p.rows * p.cols) if ss_cycles else None,
        "mapping_efficiency": plan.mapping_efficiency,
        "checked": got["passed"],
    }
    if top is not None:
        row |= _top_fields(w, TopParams(p), top, ss_cycles)
    return row


def _top_fields(
    w: Workload,
    top: TopParams,
    measured: dict[str, Any],
    ss_cycles: int | None,
) -> dict[str, Any]:
    """The accelerator top's columns of one GEMM: its cycles, model, lower bound and ratios."""
    cycles = measured["top_cycles"]
    lb = accel_lower_bound(w.m, w.k, w.n, top)
    return {
        "top_cycles": cycles,
        "top_model_cycles": accel_cycles(w.m, w.k, w.n, top),
        "top_lower_bound": lb,
        "top_over_lb": cycles / lb,
        "top_over_scalesim": cycles / ss_cycles if ss_cycles else None,
        "top_checked": not measured["problems"],
    }


def _array_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows of one array size and their geometric means."""
    return {
        "rows": rows,
        "geomean_rtl_over_lb": geomean([x["rtl_over_lb"] for x in rows]),
        "geomean_rtl_over_scalesim": geomean(
            [x["rtl_over_scalesim"] for x in rows if x["rtl_over_scalesim"]]
        ),
        "geomean_lb_over_scalesim": geomean(
            [x["lower_bound"] / x["scalesim_cycles"] for x in rows if x["scalesim_cycles"]]
        ),
        "geomean_top_over_scalesim": geomean(
            [x["top_over_scalesim"] for x in rows if x.get("top_over_scalesim")]
        ),
    }


def _area(work: Path, mul_reg: int = 0) -> list[dict[str, Any]]:
    """Yosys area of the PE and the array at 4x4, 8x8 and 16x16 (printed and returned)."""
    from systolic.bench.area import area_table

    at = f"DATA_W=8 ACC_W=32{' MUL_REG=1' if mul_reg else ''}"
    print(f"area (Yosys synth -flatten, generic cells; {at}) ...", flush=True)
    areas = area_table([(4, 4), (8, 8), (16, 16)], 8, 32, work / "yosys", mul_reg)
    print(f"{'design':>16} {'cells':>8} {'flip-flops':>10} {'cells/PE':>9} {'FF/PE':>6}")
    for a in areas:
        name = f"{a.design} {a.rows}x{a.cols}" if a.design != "systolic_pe" else "systolic_pe"
        print(
            f"{name:>16} {a.cells:>8} {a.flops:>10} {a.cells_per_pe:>9.0f} {a.flops_per_pe:>6.0f}"
        )
    keys = ("design", "rows", "cols", "cells", "flops", "cells_per_pe", "flops_per_pe")
    return [{k: getattr(a, k) for k in keys} for a in areas]


CONVENTION = (
    "cycles count from cycle 0 (the first operand applied at the array edge) to the cycle whose "
    "rising edge captures the last result, inclusive; SCALE-Sim's reported Total Cycles is one "
    "less in this convention (scalesim_cycles = reported + 1)"
)


def _targets(report: dict) -> dict:
    """The run's targets by name (" at MUL_REG=1" appended to every name in a run of the arrays
    with the product register, so that the two settings' targets are told apart)."""
    t = _targets_of(report)
    if report.get("mul_reg"):
        return {f"{name} at MUL_REG={report['mul_reg']}": v for name, v in t.items()}
    return t


def _targets_of(report: dict) -> dict:
    t = {}
    worst = max(r["rtl_over_lb"] for a in report["arrays"].values() for r in a["rows"])
    t["RTL <= 1.01 x LB for every GEMM"] = {"value": round(worst, 4), "met": worst <= 1.01}
    g = report["geomean_rtl_over_scalesim"]
    if not math.isnan(g):  # --no-scalesim: nothing to compare with, no target
        t["geomean RTL/SCALE-Sim <= 0.80 (all arrays)"] = {"value": round(g, 4), "met": g <= 0.80}
    for size, a in report["arrays"].items():
        v = a["geomean_rtl_over_scalesim"]
        if math.isnan(v):
            continue
        t[f"geomean RTL/SCALE-Sim <= 0.80 on {size}"] = {"value": round(v, 4), "met": v <= 0.80}
        for r in a["rows"]:
            if r["name"] == "digits conv1" and r["rtl_over_scalesim"]:
                v = r["rtl_over_scalesim"]
                t[f"digits conv1 RTL/SCALE-Sim <= 0.45 on {size}"] = {
                    "value": round(v, 4),
                    "met": v <= 0.45,
                }
    t |= _top_targets(report)
    a16 = report["arrays"].get("16x16")
    if a16:
        for r in a16["rows"]:
            if r["m"] == r["k"] == r["n"] == 64:
                u = r["utilization"]
                t["64^3 utilization on 16x16 >= 95%"] = {"value": round(u, 4), "met": u >= 0.95}
    return t


def _top_targets(report: dict) -> dict:
    """The accelerator top's targets, when it was measured: at every result-port width."""
    rows = [r for a in report["arrays"].values() for r in a["rows"] if "top_cycles" in r]
    if not rows:
        return {}
    rows += [
        x
        for a in report["arrays"].values()
        for port in a.get("ports", [])[1:]  # [0] is the default port: the rows above
        for x in port["rows"]
    ]
    t = {}
    off = [r for r in rows if r["top_cycles"] != r["top_model_cycles"]]
    t["top cycles == top model for every GEMM"] = {"value": f"{len(off)} differ", "met": not off}
    worst = max(r["top_over_lb"] for r in rows)
    t["top <= 1.01 x top LB for every GEMM"] = {"value": round(worst, 4), "met": worst <= 1.01}
    for size in ("8x8", "16x16"):
        a = report["arrays"].get(size)
        if a and any(r.get("top_over_scalesim") for r in a["rows"]):
            v = a["geomean_top_over_scalesim"]
            t[f"geomean top/SCALE-Sim <= 0.80 on {size}"] = {"value": round(v, 4), "met": v <= 0.80}
    a16 = report["arrays"].get("16x16")
    two = [x for x in a16.get("ports", []) if x["out_rows"] == 2] if a16 else []
    if two and two[0]["conv1_top_over_scalesim"]:
        v = two[0]["conv1_top_over_scalesim"]
        name = "digits conv1 top/SCALE-Sim <= 0.45 on 16x16 at 2 rows (2*COLS words) per beat"
        t[name] = {"value": round(v, 4), "met": v <= 0.45}
    return t


def _print_bench(r: int, c: int, array: dict[str, Any]) -> None:
    """One array size's table, as the benchmark prints it."""
    rows = array["rows"]
    g_lb, g_ss = array["geomean_rtl_over_lb"], array["geomean_rtl_over_scalesim"]
    g_lbss = array["geomean_lb_over_scalesim"]
    print()
    print(f"array {r}x{c}")
    hdr = (
        f"{'GEMM':<26} {'MxKxN':>15} {'RTL':>9} {'model':>9} {'SCALE-Sim':>9} {'LB':>9} "
        f"{'RTL/LB':>7} {'RTL/SS':>7} {'util':>6} {'SS util':>7} {'map eff':>7}"
    )
    print(hdr)
    for x in rows:
        ss = x["scalesim_cycles"]
        if ss and x["scalesim_source"] == "formula":
            ss = f"{ss}*"
        print(
            f"{x['name']:<26} {x['m']}x{x['k']}x{x['n']:<5}".ljust(43)
            + f"{x['rtl_cycles']:>9} {x['model_cycles']:>9} {ss if ss else '-':>9} "
            f"{x['lower_bound']:>9} {figure(x['rtl_over_lb'], '.4f'):>7} "
            f"{figure(x['rtl_over_scalesim'], '.3f'):>7} {figure(x['utilization'], '.1%'):>6} "
            f"{figure(x['scalesim_utilization'], '.1%'):>7} "
            f"{figure(x['mapping_efficiency'], '.1%'):>7}"
        )
    print(
        f"geometric mean: RTL/LB {figure(g_lb, '.4f')}, RTL/SCALE-Sim {figure(g_ss, '.3f')} "
        f"(LB/SCALE-Sim {figure(g_lbss, '.3f')})"
    )
    if any("top_cycles" in x for x in rows):
        _print_top(rows, array["geomean_top_over_scalesim"])
    if array.get("ports"):
        _print_ports(array["ports"])


def _print_ports(ports: list[dict[str, Any]]) -> None:
    """The top at each result-port width: one line per (rows per beat, shadow registers)."""
    print()
    print(
        f"{'result port':<26} {'words/beat':>10} {'shadows':>7} {'top/SS':>7} {'max top/LB':>10} "
        f"{'== model':>8} {'conv1':>6} {'conv1/SS':>8} {'checked':>7}"
    )
    for x in ports:
        same = sum(r["top_cycles"] == r["top_model_cycles"] for r in x["rows"])
        agree = f"{same}/{len(x['rows'])}"
        ok = all(r["top_checked"] for r in x["rows"])
        conv1 = x["conv1_top_cycles"]
        conv1_ss = x["conv1_top_over_scalesim"]
        print(
            f"{x['out_rows']} row{'s' if x['out_rows'] > 1 else ''} per beat".ljust(26)
            + f" {x['words_per_beat']:>10} {x['shadows']:>7} "
            f"{figure(x['geomean_top_over_scalesim'], '.3f'):>7} "
            f"{figure(x['max_top_over_lb'], '.4f'):>10} {agree:>8} {figure(conv1):>6} "
            f"{figure(conv1_ss, '.3f'):>8} {'yes' if ok else 'NO':>7}"
        )


def _print_top(rows: list[dict[str, Any]], g_ss: float) -> None:
    """The accelerator top's columns: first operand beat in to last result beat out."""
    print()
    print(
        f"{'accelerator top':<26} {'MxKxN':>15} {'top':>9} {'model':>9} {'top LB':>9} "
        f"{'top/LB':>7} {'top/SS':>7} {'top/RTL':>7} {'checked':>7}"
    )
    for x in rows:
        print(
            f"{x['name']:<26} {x['m']}x{x['k']}x{x['n']:<5}".ljust(43)
            + f"{x['top_cycles']:>9} {x['top_model_cycles']:>9} {x['top_lower_bound']:>9} "
            f"{figure(x['top_over_lb'], '.4f'):>7} {figure(x['top_over_scalesim'], '.3f'):>7} "
            f"{x['top_cycles'] / x['rtl_cycles']:>7.3f} {'yes' if x['top_checked'] else 'NO':>7}"
        )
    if not math.isnan(g_ss):
        print(f"geometric mean: top/SCALE-Sim {g_ss:.3f}")
