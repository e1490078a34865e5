"""``systolic lower`` (a saved model to a workload file) and ``systolic e2e`` (train, prune,
lower and run the digits test split through the RTL, then report). torch is imported only when
a command runs."""

from __future__ import annotations

import argparse
from typing import Any

from systolic.cli import options
from systolic.cli.options import UsageError
from systolic.engine.tops import WORKLOAD_TOPS
from systolic.errors import SystolicError
from systolic.models.params import ArrayParams
from systolic.pruning.registry import NAMES

LOWER_EPILOG = """\
examples (your own model: docs/lowering.md, "Bring your own model"):
  systolic lower --model torchvision.models:resnet18 --input-shape 3,32,32 --out build/r18
  systolic lower --model mypkg.nets:small_cnn --weights sd.pt --input-shape 3,32,32 \\
      --calib images.npz --images 4 --out build/small
  systolic lower --model program.pt2 --input-shape 3,224,224 --out build/prog
  systolic lower --model build/small-pruned --out build/small-pruned-lowered
      (a folder written by systolic prune --model SPEC; its input shape is recorded)
A model from systolic prune:
  systolic lower artifacts/pruning/slimming/pruned --out build/slimming.npz
  systolic lower artifacts/pruning/shuffle/dense --out build/shuffle.npz --images 32
  systolic sim --workload build/slimming.npz --sim verilator     run it through the RTL
Writes FILE.npz (schema in docs/lowering.md) and FILE.scalesim_{conv,gemm}.csv; with --model,
DIR/NAME.npz, DIR/NAME.scalesim_{conv,gemm}.csv and the per-layer table DIR/NAME.layers.{md,json}.
"""

REPORT_EPILOG = """\
examples:
  systolic report build/r18/resnet18.npz --rows 16 --cols 16 --out build/r18/report
  systolic report build/r18/resnet18.npz --run build/workloads/workload_resnet18_e2e.json \\
      --pruned build/r18p/resnet18.npz --rows 16 --cols 16 --out build/r18/report
--run takes the results file that systolic sim --workload prints (results: ...).
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
        "model",
        nargs="?",
        type=options.in_dir,
        help="directory written by systolic prune (model.json); or use --model",
    )
    p.add_argument(
        "--model",
        dest="user_model",
        metavar="SPEC|FILE.pt2|DIR",
        help="your own model: a factory package.module:function (called with no arguments, "
        "returns an nn.Module), a torch.export program saved as .pt2, or a folder written by "
        "systolic prune --model",
    )
    p.add_argument(
        "--weights",
        type=options.in_file(".pt", ".pth"),
        help="with a factory: a state dict (torch.load weights_only=True) that must fit exactly",
    )
    p.add_argument(
        "--input-shape",
        type=_input_shape,
        metavar="C,H,W",
        help="with --model: the shape of one input image (required)",
    )
    p.add_argument(
        "--calib",
        type=options.in_file(".npy", ".npz", ".pt"),
        help="with --model: calibration images N x C x H x W (.npy; .npz or .pt with x and "
        "optionally labels y); default: 16 synthetic N(0,1) images, seed 0",
    )
    p.add_argument(
        "--out",
        type=_out_path,
        required=True,
        help="workload file to write (.npz); with --model, the folder to write into",
    )
    p.add_argument(
        "--images",
        type=options.integer(1),
        help="images in the workload: the first N test images (default: all 450); with "
        "--model the first N calibration images (default 1)",
    )
    p.add_argument(
        "--name",
        help="model name inside the workload (default: <parent>-<dir>, e.g. slimming-pruned; "
        "with --model the factory's function or the .pt2 file's stem)",
    )
    p.add_argument(
        "--rows",
        type=options.array_param("ROWS"),
        default=16,
        help="with --model: array rows of the per-layer table (default 16)",
    )
    p.add_argument(
        "--cols",
        type=options.array_param("COLS"),
        default=16,
        help="with --model: array columns of the per-layer table (default 16)",
    )
    p.add_argument("--no-scalesim", action="store_true", help="skip the SCALE-Sim CSV files")
    p.set_defaults(func=cmd_lower)

    p = sub.add_parser(
        "report",
        help="per-layer table of a lowered model: GEMM shapes, MACs, cycles, SCALE-Sim, RTL",
        description="Per layer: op, GEMM shape (M, K, N, groups), MACs, model cycles, "
        "utilization, SCALE-Sim cycles (formula) and, given the results of a systolic sim "
        "--workload run, RTL cycles and bit-exactness; totals; a plot of cycles per layer "
        "(dense against pruned with --pruned).",
        epilog=REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("workload", type=options.in_file(".npz"), help="workload file (systolic lower)")
    p.add_argument("--run", type=options.in_file(".json"), help="results of its RTL run")
    p.add_argument("--pruned", type=options.in_file(".npz"), help="the pruned model's workload")
    p.add_argument("--pruned-run", type=options.in_file(".json"), help="results of its RTL run")
    p.add_argument("--rows", type=options.array_param("ROWS"), default=16, help="PE rows (16)")
    p.add_argument("--cols", type=options.array_param("COLS"), default=16, help="PE columns (16)")
    options.add_out(p, "report folder (report.md, report.json, cycles.png)", required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "topology",
        help="per-layer cycle table of a SCALE-Sim topology file (shapes only)",
        description="Read a SCALE-Sim topology (conv or GEMM format, told apart by its header; "
        "every line checked) and print per layer the GEMM shape, MACs, model cycles, "
        "utilization and SCALE-Sim cycles on a ROWS x COLS array.",
    )
    p.add_argument("file", type=options.in_file(".csv"), help="SCALE-Sim topology .csv")
    p.add_argument("--rows", type=options.array_param("ROWS"), default=16, help="PE rows (16)")
    p.add_argument("--cols", type=options.array_param("COLS"), default=16, help="PE columns (16)")
    options.add_out(p, "write the table to this Markdown file instead of stdout", ".md")
    p.set_defaults(func=cmd_topology)

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


def _input_shape(text: str) -> tuple[int, int, int]:
    from systolic.lowering.user import parse_input_shape

    try:
        return parse_input_shape(text)
    except SystolicError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--input-shape ")) from None


def _out_path(text: str) -> options.OutFile | options.OutDir:
    """``--out``: a workload file (.npz) or, for --model, a folder."""
    if text.lower().endswith(".npz"):
        return options.out_file(".npz")(text)
    return options.out_dir(text)


def cmd_lower(args: argparse.Namespace) -> int:
    if args.user_model is not None:
        return cmd_lower_user(args)
    for flag, value in (
        ("--weights", args.weights),
        ("--input-shape", args.input_shape),
        ("--calib", args.calib),
    ):
        if value is not None:
            raise UsageError(f"lower: {flag} applies to --model only")
    if args.model is None:
        raise UsageError("lower: give a directory written by systolic prune, or --model")
    if not isinstance(args.out, options.OutFile):
        raise UsageError("lower: argument --out: a saved model is lowered to a .npz file")
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


def cmd_lower_user(args: argparse.Namespace) -> int:
    """``systolic lower --model``: a user's model to DIR/NAME.npz and its per-layer table."""
    from pathlib import Path

    from systolic.lowering import user
    from systolic.lowering.user import LowerRequest, lower_user_model

    if args.model is not None:
        raise UsageError("lower: give either a saved model directory or --model, not both")
    if args.input_shape is None and user.is_pruned_dir(args.user_model):
        # a folder from systolic prune --model records its input shape
        args.input_shape = user.saved_input_shape(Path(args.user_model))
    if args.input_shape is None:
        raise UsageError("lower: --model needs --input-shape C,H,W")
    if not isinstance(args.out, options.OutDir):
        raise UsageError("lower: argument --out: with --model, --out is a folder (not a .npz)")
    if args.no_scalesim:
        raise UsageError("lower: --no-scalesim applies to a saved model directory only")
    req = LowerRequest(
        model=args.user_model,
        input_shape=args.input_shape,
        out_dir=args.out,
        weights=args.weights,
        calib=args.calib,
        images=args.images,
        name=args.name,
    )
    info = lower_user_model(req, ArrayParams(args.rows, args.cols, 8, 32))
    print(
        f"{info['workload']}: {info['images']} image(s), {info['macs']:,} MACs; integer "
        f"reference predictions equal the float model's on {100 * info['agreement']:.0f}%; "
        f"calibration: {info['calibration']}"
    )
    print()
    print("\n".join(info["table"]))
    print()
    print("\n".join(f"  {f}" for f in info["files"]))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """``systolic report``: the per-layer table of a workload (and its pruned version), with
    RTL cycles from runs when given; Markdown, JSON and a plot of cycles per layer."""
    from systolic.lowering.report import write_cost_report

    if args.pruned_run is not None and args.pruned is None:
        raise UsageError("report: --pruned-run needs --pruned")
    models = [(args.workload, args.run)]
    if args.pruned is not None:
        models.append((args.pruned, args.pruned_run))
    files = write_cost_report(models, ArrayParams(args.rows, args.cols, 8, 32), args.out)
    print(files["text"], end="")
    print("\n".join(f"  {k}: {v}" for k, v in files.items() if k != "text"))
    return 0


def cmd_topology(args: argparse.Namespace) -> int:
    """``systolic topology FILE.csv``: a SCALE-Sim topology's per-layer cycle table."""
    from systolic.lowering.report import cost_markdown, cost_row
    from systolic.lowering.topology import read_topology

    params = ArrayParams(args.rows, args.cols, 8, 32)
    rows = [cost_row(n, "gemm", m, k, nn, 1, params) for n, m, k, nn in read_topology(args.file)]
    text = (
        "\n".join(cost_markdown(f"{args.file.name} on {params.rows}x{params.cols}", rows, params))
        + "\n"
    )
    if args.out is not None:
        from systolic.fileio import atomic_write

        atomic_write(args.out, text)
        print(f"written to {args.out}")
    else:
        print(text, end="")
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
