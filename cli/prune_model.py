"""``systolic prune --model package.module:function``: a user's model pruned through the
dependency graph (:func:`systolic.pruning.depgraph.prune_module`), saved with
:func:`systolic.pruning.depgraph_io.save_pruned` (``systolic lower --model DIR`` reads it) and
reported: cycles before/after on the array, MACs, parameters, channels per group, per layer.

Every bad input (a usage error, a model, weights or data that do not load, a method whose
premise the model does not meet) is one line before any pruning; nothing is written unless the
pruning succeeded, and what was written is removed if a later write fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path
from typing import Any

from systolic.cli.options import UsageError
from systolic.cli.prune import DIGITS_ONLY, METHOD_OPTIONS
from systolic.pruning.registry import FAMILIES

#: The defaults of the digits-only options without a METHOD_OPTIONS entry.
_DIGITS_DEFAULTS = {"width": [32, 64, 128], "batch": 1}
#: What a pruned model's folder holds besides model.json and weights.pt.
REPORT_JSON = "report.json"
REPORT_MD = "report.md"
DEFAULT_AMOUNT = 0.5
DEFAULT_ARRAY = 16


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def check_usage(args: argparse.Namespace) -> None:
    """The command line of ``--model SPEC``, refused in one line before anything loads."""
    from systolic.pruning.factory import is_program_file

    if is_program_file(args.model):
        raise UsageError(
            "prune: --model needs a factory package.module:function (a .pt2 program cannot be "
            "rebuilt to save the pruned model)"
        )
    if ":" not in args.model:
        raise UsageError(
            f"prune: --model {args.model!r} is neither a model family ({', '.join(FAMILIES)}) "
            "nor package.module:function"
        )
    if args.method == "all":
        raise UsageError("prune: --method all applies to the digits families; name one method")
    if args.inspect is not None:
        raise UsageError("prune: --inspect reads a digits model; use systolic lower --model DIR")
    if args.input_shape is None:
        raise UsageError("prune: --model package.module:function needs --input-shape C,H,W")
    if args.out is None:
        raise UsageError("prune: --model package.module:function needs --out DIR")
    if args.criterion is not None and args.method != "slimming":
        raise UsageError("prune: --criterion applies to --method slimming")
    for dest in DIGITS_ONLY:
        spec = METHOD_OPTIONS.get(_flag(dest))
        default = spec["default"] if spec is not None else _DIGITS_DEFAULTS[dest]
        if getattr(args, dest) != default:
            hint = " (use --amount)" if dest == "ratio" else ""
            raise UsageError(f"prune: {_flag(dest)} applies to the digits families only{hint}")
    out = Path(args.out)
    for given in (args.weights, args.data):
        for name in ("model.json", "weights.pt", REPORT_JSON, REPORT_MD):
            if given is not None and _same(Path(given), out / name):
                raise UsageError(
                    f"prune: argument --out: it would overwrite the input {given} ({name})"
                )


def _same(a: Path, b: Path) -> bool:
    with contextlib.suppress(OSError):
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    return False


def prune_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of :func:`prune_module` from the command line (a digits default is not
    passed: the dependency-graph methods have their own)."""
    from systolic.models.params import ArrayParams

    rows = args.rows or DEFAULT_ARRAY
    opts: dict[str, Any] = {
        "array": ArrayParams(rows, args.cols or rows, 8, 32),
        "min_channels": args.min_channels,
        "seed": args.seed,
        "progress": not args.quiet,
        "epochs": args.epochs,
        "finetune_epochs": args.finetune_epochs,
    }
    if args.target is not None:
        opts["target"] = args.target
    if args.criterion is not None:
        opts["criterion"] = args.criterion
    for dest in ("sparsity", "se_threshold"):
        if getattr(args, dest) != METHOD_OPTIONS[_flag(dest)]["default"]:
            opts[dest] = getattr(args, dest)
    return opts


def run_user(args: argparse.Namespace) -> int:
    """Load, check the method's premise, prune, save and report a user's model."""
    import torch

    from systolic.pruning import registry
    from systolic.pruning.depgraph import prune_module
    from systolic.pruning.errors import PruningError
    from systolic.pruning.factory import check_runs, load_factory, load_weights
    from systolic.pruning.userdata import load_npz

    check_usage(args)
    shape = args.input_shape
    model = load_factory(args.model, program_ok=False)
    if args.weights is not None:
        load_weights(model, args.weights)
    check_runs(model, shape)
    data = load_npz(args.data, shape, seed=args.seed) if args.data is not None else None
    opts = prune_options(args)
    refusal = registry.get(args.method).model_refusal(model.module, data is not None, opts)
    if refusal is not None:
        raise PruningError(refusal)
    torch.manual_seed(args.seed)
    example = torch.randn((1, *shape), generator=torch.Generator().manual_seed(args.seed))
    amount = DEFAULT_AMOUNT if args.amount is None else args.amount
    pruned, report = prune_module(
        model.module, example, args.method, amount, args.round_to or 1, data, **opts
    )
    files = write_all(Path(args.out), args, model, pruned, report)
    print(f"{model.name}: {report.summary()}")
    print("\n".join(f"  {f}" for f in files))
    return 0


def write_all(
    out: Path, args: argparse.Namespace, model: Any, pruned: Any, report: Any
) -> list[Path]:
    """The saved model (model.json, weights.pt) and the report; all or nothing."""
    from systolic.fileio import atomic_write, discard
    from systolic.pruning.depgraph_io import META_FILE, WEIGHTS_FILE, save_pruned

    doc = report_record(args, model, report)
    created = not out.exists()
    targets = [out / n for n in (WEIGHTS_FILE, META_FILE, REPORT_JSON, REPORT_MD)]
    try:
        meta = {k: doc[k] for k in ("model", "method", "criterion", "amount", "round_to")}
        meta["source"] = model.source
        save_pruned(out, pruned, args.model, args.input_shape, report.history, meta)
        atomic_write(out / REPORT_JSON, json.dumps(doc, indent=1))
        atomic_write(out / REPORT_MD, "\n".join(report_markdown(doc)) + "\n")
    except BaseException:
        discard(*targets)
        if created:
            discard(out)
        raise
    return targets


def report_record(args: argparse.Namespace, model: Any, report: Any) -> dict[str, Any]:
    """The report as one JSON record: settings, costs before/after, groups and layers."""
    d = report.as_dict()
    b, a = d["before"], d["after"]
    return {
        "model": model.name,
        "source": model.source,
        "input_shape": list(args.input_shape),
        "method": report.method,
        "criterion": report.criterion,
        "amount": report.amount,
        "round_to": report.round_to,
        "array": f"{report.array[0]}x{report.array[1]}",
        "cycles": {"before": b["cycles"], "after": a["cycles"], "speedup": report.speedup},
        "macs": {"before": b["macs"], "after": a["macs"]},
        "params": {"before": b["params"], "after": a["params"]},
        "groups": [{"group": g, "before": n, "after": k} for g, n, k in report.groups],
        "layers": _layers(b["layers"], a["layers"]),
        "notes": report.notes,
        "accuracy": report.accuracy,
    }


def _layers(before: list[Any], after: list[Any]) -> list[dict[str, Any]]:
    """Per conv/linear layer: its GEMM before and after (layers keep their names)."""
    got = {row[0]: row for row in after}
    out = []
    for name, kind, m, k, n, g, cyc in before:
        new = got.get(name)
        out.append(
            {
                "layer": name,
                "kind": kind,
                "before": {"M": m, "K": k, "N": n, "count": g, "cycles": cyc},
                "after": None
                if new is None
                else {"M": new[2], "K": new[3], "N": new[4], "count": new[5], "cycles": new[6]},
            }
        )
    return out


def report_markdown(doc: dict[str, Any]) -> list[str]:
    """The report's Markdown: costs, channels per group, layers."""
    from systolic.report import md_table

    c, m, p = doc["cycles"], doc["macs"], doc["params"]
    lines = [
        f"# {doc['model']} pruned: {doc['method']} ({doc['criterion']})",
        "",
        f"amount {doc['amount']:.3f}, round_to {doc['round_to']}, array {doc['array']}, "
        f"input {','.join(map(str, doc['input_shape']))}",
        "",
        *md_table(
            ["", "before", "after", "x fewer"],
            [
                ["model cycles", f"{c['before']:,}", f"{c['after']:,}", f"{c['speedup']:.2f}"],
                ["MACs", f"{m['before']:,}", f"{m['after']:,}", _ratio(m)],
                ["parameters", f"{p['before']:,}", f"{p['after']:,}", _ratio(p)],
            ],
            "lrrr",
        ),
        "",
        "## Channels per group",
        "",
        *md_table(
            ["group", "before", "after"],
            [[g["group"], g["before"], g["after"]] for g in doc["groups"]],
            "lrr",
        ),
        "",
        "## Layers (GEMM M x K x N, count; cycles)",
        "",
        *md_table(
            ["layer", "kind", "before", "cycles", "after", "cycles"],
            [_layer_row(r) for r in doc["layers"]],
            "llrrrr",
        ),
    ]
    lines += [f"note: {n}" for n in doc["notes"]]
    return lines


def _ratio(d: dict[str, int]) -> str:
    return f"{d['before'] / max(1, d['after']):.2f}"


def _layer_row(r: dict[str, Any]) -> list[object]:
    def shape(g: dict[str, int] | None) -> str:
        return "-" if g is None else f"{g['M']}x{g['K']}x{g['N']} x{g['count']}"

    b, a = r["before"], r["after"]
    return [r["layer"], r["kind"], shape(b), f"{b['cycles']:,}", shape(a), _cycles(a)]


def _cycles(g: dict[str, int] | None) -> str:
    return "-" if g is None else f"{g['cycles']:,}"
