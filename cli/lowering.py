"""``systolic lower`` (a saved model to a workload file) and ``systolic e2e`` (train, prune,
lower and run the digits test split through the RTL, then report). torch is imported only when
a command runs."""

from __future__ import annotations

import argparse
from typing import Any

from systolic.cli import options
from systolic.engine.tops import WORKLOAD_TOPS
from systolic.models.params import ArrayParams
from systolic.pruning.registry import NAMES

LOWER_EPILOG = """\
examples:
  systolic lower artifacts/pruning/slimming/pruned --out build/slimming.npz
  systolic lower artifacts/pruning/shuffle/dense --out build/shuffle.npz --images 32
  systolic sim --workload build/slimming.npz --sim verilator     run it through the RTL
Writes FILE.npz (schema in docs/lowering.md) and FILE.scalesim_{conv,gemm}.csv.
"""

E2E_EPILOG = """\
examples:
  systolic e2e                                 all methods, Verilator 8x8, whole test split
  systolic e2e --methods slimming --images 64 --sim icarus
  systolic e2e --top accel                     the same through the accelerator top
Models are read from --prune-dir (trained and pruned there first when missing); the report
goes to --out: report.md, report.json, e2e.png, workloads/*.npz.
"""


def _methods(text: str) -> list[str]:
    """Comma-separated method names, or ``all``; unknown ones are one clear error (not argparse
    usage)."""
    from systolic.errors import LoweringError

    if text.strip() == "all":
        return list(NAMES)
    names = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    bad = [m for m in names if m not in NAMES]
    if bad or not names:
        raise LoweringError(
            f"unknown method {', '.join(bad) or '(none)'}; choose from {', '.join(NAMES)} or all"
        )
    return names


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lower",
        help="lower a saved (pruned) model to a workload file of int8 GEMMs",
        description="Fold BN, quantize to int8 (per-channel weights, calibrated activations), "
        "run the integer reference on the digits test split and write every GEMM it computes "
        "(A, B, expected C) with the network's metadata to a .npz workload file.",
        epilog=LOWER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "model", type=options.in_dir, help="directory written by systolic prune (model.json)"
    )
    options.add_out(p, "workload file to write (.npz)", ".npz", required=True)
    p.add_argument(
        "--images", type=options.integer(1), help="first N test images (default: all 450)"
    )
    p.add_argument(
        "--name",
        help="model name inside the workload (default: <parent>-<dir>, e.g. slimming-pruned)",
    )
    p.add_argument("--no-scalesim", action="store_true", help="skip the SCALE-Sim CSV files")
    p.set_defaults(func=cmd_lower)

    p = sub.add_parser(
        "e2e",
        help="train, prune, lower and run the digits test split through the RTL; report",
        description="For the dense and every pruned model: lower to int8 GEMMs, run the whole "
        "network on the RTL layer by layer (the host feeds each layer the RTL's own outputs), "
        "check every GEMM bit-exactly and the predictions against the integer reference, and "
        "report cycles, utilization and accuracy (dense vs pruned).",
        epilog=E2E_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--methods",
        default="all",
        help=f"comma-separated pruning methods ({','.join(NAMES)}), or all (the default)",
    )
    options.add_sim(p, "verilator")
    p.add_argument(
        "--rows", type=options.array_param("ROWS"), default=8, help="PE rows (default 8)"
    )
    p.add_argument(
        "--cols", type=options.array_param("COLS"), default=8, help="PE columns (default 8)"
    )
    p.add_argument(
        "--images", type=options.integer(1), help="first N test images (default: all 450)"
    )
    options.add_seed(p, default=0)
    p.add_argument(
        "--prune-dir",
        type=options.out_dir,
        default="artifacts/pruning/e2e",
        help="saved models (trained and pruned there when missing)",
    )
    options.add_out(p, "report folder", default="artifacts/e2e")
    p.add_argument("--retrain", action="store_true", help="train and prune even if models exist")
    p.add_argument(
        "--top",
        choices=WORKLOAD_TOPS,
        default="array",
        help="the design the network runs through: the array (fast-path harness) or the "
        "accelerator top (AXI4-Stream, rtl/systolic_accel.v) (default: array)",
    )
    options.add_port(p)
    p.set_defaults(func=cmd_e2e)


def cmd_lower(args: argparse.Namespace) -> int:
    from systolic.lowering.e2e import lower_model

    model_dir = args.model.resolve()
    name = args.name or f"{model_dir.parent.name}-{model_dir.name}"
    info = lower_model(args.model, args.out, name, args.images, not args.no_scalesim)
    print(
        f"{info['workload']}: {info['images']} images, {info['macs']:,} MACs; accuracy float "
        f"{100 * info['float_accuracy']:.2f}%, integer {100 * info['int_accuracy']:.2f}%; "
        f"integer vs fake-quantized torch logits within "
        f"{info['fake_quant_check']['max_abs_logit_diff']:.1e}"
    )
    for path in info["scalesim_topologies"]:
        print(f"  {path}")
    return 0


def cmd_e2e(args: argparse.Namespace) -> int:
    from systolic.lowering.e2e import run_e2e
    from systolic.lowering.report import to_markdown

    report = run_e2e(
        _methods(args.methods),
        args.prune_dir,
        args.out,
        options.settings_of(args),
        options.design_of(args, ArrayParams(args.rows, args.cols, 8, 32)),
        args.images,
        args.retrain,
    )
    print()
    print(to_markdown({**report, "runs": []}))
    print("\n".join(f"  {k}: {v}" for k, v in report["files"].items()))
    return 0 if report["passed"] else 1
