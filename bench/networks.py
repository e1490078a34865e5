"""Benchmark: whole CNNs end to end on the RTL, with where the time goes (issue 23's target).

``make bench-networks`` (``python -m systolic.bench.networks``): torchvision's resnet18 and
mobilenet_v2 (random weights, seeded) at 224x224 are lowered by the one front end
(``systolic.lowering.graph.lower_module``), turned into a workload file (the integer
reference's operands and results of every GEMM) and run through ``systolic sim --workload``'s
runner on the array (Verilator, 16x16 by default), end to end: every layer fed with the RTL's
own outputs, every GEMM bit-exact, every layer's cycles equal to the model's. ``--workload
FILE`` runs saved workload files instead (e.g. the digits models of ``make e2e``).

Each network's record splits its wall time: ``lower_s`` (trace, fold, calibrate), ``reference_s``
(the integer reference: im2col, GEMMs, requantization), ``save_s`` (the workload file),
``harness_build_s`` (the simulator build; reused across runs), ``rtl_s`` (the run on the RTL:
the target, <= TARGET_S on a quiet 2-core machine) and ``host_s`` (the part of ``rtl_s`` spent
outside the simulator's layer runs: process start, loading, writing results). It is a benchmark,
not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from systolic import fileio
from systolic.engine import build
from systolic.engine.config import WORKLOAD_MODES, RunSettings
from systolic.models.params import ArrayParams

#: The issue's networks (torchvision.models names) and its target per network.
NETWORKS = ("resnet18", "mobilenet_v2")
TARGET_S = 120.0
#: Calibration images of the synthetic set (uniform [0, 1), seeded) and images run.
CALIB_IMAGES = 4
RUN_IMAGES = 1


def network_workload(name: str, size: int, folder: Path, seed: int = 0) -> tuple[Path, dict]:
    """torchvision's ``name`` (random weights, ``seed``) lowered at ``size`` x ``size`` and saved
    as a workload of RUN_IMAGES image(s) in ``folder``; returns the file and its phase times."""
    import torch

    from systolic.engine.workload import build_workload, save_workload
    from systolic.lowering.graph import lower_module
    from systolic.lowering.vision import import_torchvision

    tv = import_torchvision()
    torch.manual_seed(seed)
    model = getattr(tv.models, name)(weights=None).eval()
    x = torch.from_numpy(
        np.random.default_rng(seed).random((CALIB_IMAGES, 3, size, size)).astype(np.float32)
    )
    t0 = time.perf_counter()
    net = lower_module(model, x[:1], x, name)
    t1 = time.perf_counter()
    wl = build_workload(net, x[:RUN_IMAGES].numpy(), np.zeros(RUN_IMAGES, np.int64))
    t2 = time.perf_counter()
    path = save_workload(wl, folder / f"{name}_{size}.npz")
    t3 = time.perf_counter()
    return path, {"lower_s": t1 - t0, "reference_s": t2 - t1, "save_s": t3 - t2}


def run_network(
    path: Path, settings: RunSettings, p: ArrayParams, mode: str, jobs: int
) -> dict[str, Any]:
    """One workload through the array: the runner's summary plus the benchmark's timings."""
    from systolic.verify.workload import run_workload, stdout_lines

    t0 = time.perf_counter()
    s = run_workload(path, settings, p, mode, f"bench_{path.stem}_{mode}", jobs, stdout_lines())
    wall = time.perf_counter() - t0
    layers_s = sum(lr["wall_s"] for lr in s["layers"])
    rtl_s = wall - s["build_s"]
    return {
        "workload": str(path),
        "mode": mode,
        "passed": s["passed"],
        "layers": len(s["layers"]),
        "gemms": s["total"]["gemms"],
        "rtl_cycles": s["total"]["rtl_cycles"],
        "model_cycles": s["total"]["model_cycles"],
        "bit_exact": all(not lr["errors"] for lr in s["layers"]),
        "harness_build_s": s["build_s"],
        "rtl_s": rtl_s,
        "layers_s": layers_s,
        "host_s": rtl_s - layers_s if jobs == 1 or mode == "e2e" else None,
        "cycles_per_s": s["total"]["rtl_cycles"] / rtl_s if rtl_s > 0 else 0.0,
        "target_s": TARGET_S,
        "met": s["passed"] and rtl_s <= TARGET_S,
        "results_json": s["results_json"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; prints a table and writes the records as JSON (--out)."""
    ap = argparse.ArgumentParser(prog="python -m systolic.bench.networks", description=__doc__)
    ap.add_argument("--networks", default=",".join(NETWORKS), help="torchvision model names")
    ap.add_argument("--workload", type=Path, action="append", help="run this file instead")
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    ap.add_argument("--rows", type=int, default=16)
    ap.add_argument("--cols", type=int, default=16)
    ap.add_argument("--mode", default="e2e", choices=WORKLOAD_MODES)
    ap.add_argument("--jobs", type=int, default=1, help="replay: simulator processes at once")
    ap.add_argument("--out", type=Path, default=None, help="JSON of the records")
    args = ap.parse_args(argv)
    root = build.BUILD_ROOT / "bench" / "networks"
    root.mkdir(parents=True, exist_ok=True)
    p = ArrayParams(args.rows, args.cols)
    settings = RunSettings(args.sim)
    records = []
    todo: list[tuple[str, Path | None]] = [(str(w), w) for w in args.workload or []]
    if not todo:
        todo = [(n.strip(), None) for n in args.networks.split(",") if n.strip()]
    for label, given in todo:
        print(f"[{label}] ...", flush=True)
        phases: dict[str, float] = {}
        path = given
        if path is None:
            path, phases = network_workload(label, args.size, root)
            print(f"  workload: {json.dumps({k: round(v, 1) for k, v in phases.items()})}")
        rec = {"network": label, **phases, **run_network(path, settings, p, args.mode, args.jobs)}
        records.append(rec)
        print(
            f"  {label}: {rec['layers']} layers, {rec['gemms']} GEMMs, {rec['rtl_cycles']:,} "
            f"cycles (model {rec['model_cycles']:,}), bit-exact {rec['bit_exact']}; on the RTL "
            f"{rec['rtl_s']:.1f} s ({rec['cycles_per_s']:,.0f} cycles/s, layers "
            f"{rec['layers_s']:.1f} s), harness build {rec['harness_build_s']:.1f} s; target "
            f"<= {TARGET_S:.0f} s {'met' if rec['met'] else 'NOT met'}",
            flush=True,
        )
    out = args.out or root / "networks.json"
    fileio.atomic_write(out, json.dumps(records, indent=1))
    print(f"records: {out}")
    return 0 if all(r["passed"] for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
