"""``systolic prune``: run the pruning methods on the digits CNNs and write their reports, or
inspect a saved pruned model. torch and scikit-learn are imported only when the command runs."""

from __future__ import annotations

import argparse
from typing import Any

from systolic.cli import options
from systolic.cli.options import UsageError
from systolic.pruning.registry import FAMILIES, NAMES, REGISTRY, users

EPILOG = """\
examples:
  systolic prune --method slimming                 Network Slimming, ratio 0.7
  systolic prune --method autopruner --keep-rate 0.4
  systolic prune --method all --out artifacts/pruning
  systolic prune --inspect artifacts/pruning/slimming/pruned   load a saved model, print GEMMs
Reports: <out>/<method>/report.{json,md}, pruning.png, pruned/ and dense/ models;
<out>/summary.md compares the methods that ran.

your own model (a factory package.module:function), pruned through the dependency graph:
  systolic prune --model mypkg.nets:small_cnn --input-shape 3,32,32 --method slimming \
      --amount 0.5 --round-to 16 --out build/small-pruned
  systolic lower --model build/small-pruned --out build/small-pruned-lowered
Writes <out>/model.json and weights.pt (systolic lower --model <out> reads them) and
<out>/report.{json,md}: cycles before/after on --rows x --cols, MACs, parameters, channels.
"""

#: The options of --model SPEC (a user's model), and the digits families' own defaults that it
#: refuses when changed (they configure the digits pipeline only).
DIGITS_ONLY = ("ratio", "keep_rate", "se_sparsity", "groups", "block_sparsity", "width", "batch")
USER_ONLY = ("weights", "input_shape", "amount", "target", "criterion", "data", "rows", "cols")

#: The methods' own options (which method reads which: the registry's ``options``).
METHOD_OPTIONS: dict[str, dict[str, Any]] = {
    "--ratio": dict(
        type=options.real(0, 1, lo_open=True, hi_open=True),
        default=0.7,
        help="fraction of all BN channels to prune, in (0, 1)",
    ),
    "--sparsity": dict(
        type=options.real(0, 10), default=5e-3, help="lambda of the L1 on BN scales"
    ),
    "--min-channels": dict(
        type=options.integer(0),
        default=1,
        help="keep at least this many channels per layer (0: no guard, an emptied "
        "layer is an error)",
    ),
    "--round-to": dict(
        type=options.integer(1, 4096),
        default=None,
        help="round kept channels up to a multiple of this (the array width)",
    ),
    "--keep-rate": dict(
        type=options.real(0, 1, lo_open=True, hi_open=True),
        default=0.4,
        help="target fraction r of channels to keep, in (0, 1)",
    ),
    "--se-threshold": dict(
        type=options.real(0, 1, lo_open=True, hi_open=True),
        default=0.05,
        help="a channel whose excitation stays below this for every calibration sample is removed",
    ),
    "--se-sparsity": dict(
        type=options.real(0, 10),
        default=0.1,
        help="lambda of the L1 on excitations during sparsity training",
    ),
    "--groups": dict(type=options.integer(1, 64), default=3, help="groups of the 1x1 convs"),
    "--block-sparsity": dict(
        type=options.real(0, 10),
        default=3e-2,
        help="lambda of the L1 on the off-diagonal weight blocks",
    ),
}


def register(subparsers: Any) -> None:
    """Add the ``prune`` subcommand: what to run, one option group per method (the registry's),
    the options several methods share, training and reporting."""
    titles = ", ".join(m.title for m in REGISTRY)
    p = subparsers.add_parser(
        "prune",
        help=f"prune digits CNNs ({titles}) and report",
        description="Train a small CNN on scikit-learn's digits, prune it with one of the "
        f"methods ({titles}), fine-tune, and report accuracy, parameters, MACs and GEMM shapes "
        "per layer.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _what(p.add_argument_group("what to run and where"))
    _methods(p)
    _user(p.add_argument_group("your own model (--model package.module:function)"))
    _training(p.add_argument_group("training and reporting"))
    p.set_defaults(func=_run)


def _user(p: Any) -> None:
    """Options of a user's model (``--model SPEC``)."""
    p.add_argument(
        "--weights",
        type=options.in_file(".pt", ".pth"),
        help="a state dict for the factory's model (torch.load weights_only=True; must fit)",
    )
    p.add_argument(
        "--input-shape", type=_input_shape, metavar="C,H,W", help="one input's shape (required)"
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--amount",
        type=options.real(0, 1, hi_open=True),
        help="fraction of the channels to remove, in [0, 1) (default 0.5)",
    )
    how.add_argument(
        "--target",
        type=options.real(1, 1000),
        help="instead of --amount: the least amount whose cycles are this many times fewer",
    )
    p.add_argument(
        "--criterion",
        choices=("bn", "l1"),
        help="slimming: BN scale |gamma| (bn, the default) or L1 magnitude (l1, for models "
        "without BN)",
    )
    p.add_argument(
        "--data",
        type=options.in_file(".npz"),
        help="labelled data .npz (x: N samples of --input-shape, y: N labels) to train with",
    )
    p.add_argument("--rows", type=options.array_param("ROWS"), help="PE rows of the cycles (16)")
    p.add_argument("--cols", type=options.array_param("COLS"), help="PE columns (16)")


def _input_shape(text: str) -> tuple[int, int, int]:
    from systolic.errors import SystolicError
    from systolic.pruning.factory import parse_input_shape

    try:
        return parse_input_shape(text)
    except SystolicError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--input-shape ")) from None


def _what(p: Any) -> None:
    """Options: what to run and where."""
    p.add_argument("--method", choices=(*NAMES, "all"), default=NAMES[0])
    p.add_argument(
        "--model",
        default=None,
        metavar="FAMILY|SPEC",
        help=f"a digits model family ({', '.join(FAMILIES)}; default: the method's own: "
        f"{', '.join(m.default_family for m in REGISTRY)}), or your own model: a factory "
        "package.module:function pruned through the dependency graph",
    )
    options.add_out(
        p,
        "report directory (default artifacts/pruning; with --model SPEC: the "
        "folder of the pruned model and its report, required)",
    )
    p.add_argument(
        "--inspect",
        type=options.in_dir,
        metavar="DIR",
        default=None,
        help="load a saved model directory, evaluate it and print its GEMMs",
    )


def _methods(p: argparse.ArgumentParser) -> None:
    """The methods' options: an option one method reads goes into that method's group, one that
    several read into a shared group that names them."""
    groups = {m.name: p.add_argument_group(f"{m.title} (--method {m.name})") for m in REGISTRY}
    shared = p.add_argument_group("settings of several methods")
    for flag, spec in METHOD_OPTIONS.items():
        readers = users(flag)
        if len(readers) == 1:
            groups[readers[0]].add_argument(flag, **spec)
        else:
            shared.add_argument(flag, **{**spec, "help": f"{spec['help']} ({', '.join(readers)})"})


def _training(p: Any) -> None:
    """Options: training and reporting."""
    p.add_argument(
        "--epochs", type=options.integer(1, 10_000), default=40, help="dense and sparsity epochs"
    )
    p.add_argument("--finetune-epochs", type=options.integer(0, 10_000), default=30)
    p.add_argument(
        "--width",
        type=options.integer(1, 4096),
        nargs="+",
        default=[32, 64, 128],
        metavar="C",
        help="conv stage widths of the plain/SE models",
    )
    p.add_argument(
        "--batch", type=options.integer(1, 1 << 20), default=1, help="batch of the reported GEMMs"
    )
    options.add_seed(p, default=0)
    p.add_argument(
        "--threads",
        type=options.integer(1, 1024),
        default=1,
        help="torch CPU threads (1 is as fast for these tiny networks and robust on a "
        "busy machine; results are deterministic per thread count)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _config(args: argparse.Namespace):
    from systolic.pruning.config import PruneConfig
    from systolic.pruning.train import TrainConfig

    # Ranges (and NaN / infinities) were refused by the option types before any work.
    return PruneConfig(
        seed=args.seed,
        threads=args.threads,
        progress=not args.quiet,
        model=args.model,
        widths=tuple(args.width),
        baseline=TrainConfig(epochs=args.epochs, select_best=True),
        sparsity_train=TrainConfig(epochs=args.epochs),
        finetune=TrainConfig(epochs=args.finetune_epochs, lr=0.02, select_best=True),
        ratio=args.ratio,
        sparsity=args.sparsity,
        min_channels=args.min_channels,
        round_to=args.round_to,
        keep_rate=args.keep_rate,
        se_threshold=args.se_threshold,
        se_sparsity=args.se_sparsity,
        shuffle_groups=args.groups,
        block_sparsity=args.block_sparsity,
    )


def _inspect(args: argparse.Namespace) -> int:
    from systolic.pruning.data import load_digits_split, seed_everything
    from systolic.pruning.io import load_model
    from systolic.pruning.lowering import count_params, gemm_shapes, total_macs
    from systolic.pruning.models import input_shape
    from systolic.pruning.train import accuracy

    seed_everything(args.seed, args.threads)
    model, kept, meta = load_model(args.inspect)
    data = load_digits_split()
    gemms = gemm_shapes(model, input_shape(model.spec), args.batch)
    print(
        f"{args.inspect}: {model.spec.kind} model, method {meta.get('method', '?')}, "
        f"{count_params(model):,} parameters, {total_macs(gemms):,} MACs at batch {args.batch}, "
        f"test accuracy {accuracy(model, data.x_test, data.y_test):.2f}%"
    )
    for g in gemms:
        print(f"  {g.layer:<16} {g.kind:<15} {g.count:>3} x GEMM M={g.M:<5} K={g.K:<5} N={g.N}")
    for layer, idx in kept.items():
        print(f"  kept {layer}: {len(idx)} channels {idx}")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.model is not None and args.model not in FAMILIES:
        from systolic.cli.prune_model import run_user

        return run_user(args)
    for dest in USER_ONLY:
        if getattr(args, dest) is not None:
            raise UsageError(
                f"prune: --{dest.replace('_', '-')} applies to --model package.module:function"
            )
    if args.out is None:
        args.out = options.out_dir("artifacts/pruning")
    if args.inspect:
        return _inspect(args)
    from systolic.pruning.config import method_spec
    from systolic.pruning.pipeline import run_methods
    from systolic.pruning.registry import get

    cfg = _config(args)
    methods = list(NAMES) if args.method == "all" else [args.method]
    if args.method == "all" and args.model:
        methods = [m for m in methods if get(m).refusal(args.model) is None]
    for m in methods:
        method_spec(cfg, m)  # reject a method/model mismatch before any training
    reports = run_methods(methods, cfg, args.out, args.batch)
    for r in reports:
        a = r["accuracy"]
        print(
            f"{r['method']:<10} acc dense {a['dense']:.2f} -> sparse {a['sparsity_trained']:.2f} "
            f"-> pruned {a['pruned']:.2f} -> fine-tuned {a['finetuned']:.2f} | MACs "
            f"{r['macs']['dense']:,} -> {r['macs']['pruned']:,} ({r['macs']['reduction']:.2f}x) "
            f"| params {r['params']['reduction']:.2f}x | {r['seconds']['total']:.1f} s"
        )
        for note in r["notes"]:
            print(f"  note: {note}")
        print(f"  report: {r['files']['markdown']}")
    print(f"summary: {args.out}/summary.md")
    return 0
