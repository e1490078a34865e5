#!/usr/bin/env python3
"""Benchmark: torchvision models pruned through the dependency graph, model cycles on the array.

    python scripts/bench_depgraph.py                     # resnet18 and mobilenet_v2 at 224x224
    python scripts/bench_depgraph.py --models resnet18 --amount 0.5 --round-to 16
    python scripts/bench_depgraph.py --digits            # digits residual CNN: accuracy, >= 2x

Random weights (no download): BN scales are all 1, so the slimming criterion's ties are broken by
place and every group loses the same share. Cycles are ``models.tiling.gemm_cycles`` of every
conv/linear GEMM at ROWS x COLS (16x16), before and after. Targets (issue 23): resnet18 >= 2.0x,
mobilenet_v2 >= 1.7x fewer cycles.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from systolic.models.params import ArrayParams
from systolic.pruning.depgraph import prune_module
from systolic.pruning.vision import import_torchvision

TARGETS = {"resnet18": 2.0, "mobilenet_v2": 1.7}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(TARGETS))
    ap.add_argument("--amount", type=float, default=0.5)
    ap.add_argument("--round-to", type=int, default=16)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--array", type=int, default=16)
    ap.add_argument("--digits", action="store_true", help="the digits residual CNN instead")
    args = ap.parse_args(argv)
    if args.digits:
        return digits(args)
    tv = import_torchvision()
    torch.manual_seed(0)
    x = torch.randn(1, 3, args.size, args.size)
    ok = True
    print(
        "| model | amount | round_to | cycles dense | cycles pruned | x fewer | target | MACs x |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.models:
        model = getattr(tv.models, name)(weights=None)
        t0 = time.perf_counter()
        _, r = prune_module(
            model, x, "slimming", amount=args.amount, round_to=args.round_to,
            array=ArrayParams(args.array, args.array),
        )  # fmt: skip
        target = TARGETS.get(name)
        met = target is None or r.speedup >= target
        ok &= met
        print(
            f"| {name} | {r.amount:.2f} | {args.round_to} | {r.before.cycles:,} | "
            f"{r.after.cycles:,} | {r.speedup:.2f} | {target or '-'} {'met' if met else 'MISSED'}"
            f" | {r.before.macs / r.after.macs:.2f} |  ({time.perf_counter() - t0:.1f} s)"
        )
    return 0 if ok else 1


def digits(args: argparse.Namespace) -> int:
    """Train systolic.pruning.zoo's DigitsResNet on the digits, prune it to >= 2x fewer cycles
    (slimming: sparsity training, then fine-tuning) and compare test accuracy."""
    from systolic.pruning import zoo
    from systolic.pruning.data import load_digits_split, seed_everything
    from systolic.pruning.train import TrainConfig, train

    data = load_digits_split()
    gen = seed_everything(0, threads=1)
    model = zoo.digits_resnet()
    log = train(model, data, TrainConfig(epochs=30, select_best=True), gen, progress=False)
    x = data.x_test[:1]
    _, r = prune_module(
        model, x, "slimming", target=2.0, round_to=args.round_to, data=data,
        array=ArrayParams(args.array, args.array), epochs=10, finetune_epochs=20,
        sparsity=1e-4, seed=0,
    )  # fmt: skip
    print(f"dense test accuracy {log.test_accuracy:.2f} %")
    print(r.summary())
    loss = log.test_accuracy - r.accuracy["fine-tuned"]
    print(f"accuracy lost: {loss:.2f} points (target <= 1), {r.speedup:.2f}x fewer cycles")
    return 0 if loss <= 1.0 and r.speedup >= 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
