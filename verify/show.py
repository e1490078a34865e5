"""``make waves``: the wave file of one test, opened in GTKWave with its generated view.

Runs the test with waves first when its VCD does not exist yet. Without GTKWave (or without a
display) it prints the wave files and the commands that open them (GTKWave, Surfer, or the
textual timeline and pictures of ``systolic waves``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from systolic import procs
from systolic.engine.config import RunSettings
from systolic.errors import SystolicError


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    from systolic.engine import runner
    from systolic.models.params import ArrayParams
    from systolic.waves.gtkw import gtkw_path, write_gtkw

    ap = argparse.ArgumentParser(prog="make waves", description=__doc__)
    ap.add_argument("--sim", default="icarus")
    ap.add_argument("--rows", type=int, default=3)
    ap.add_argument("--cols", type=int, default=3)
    ap.add_argument("--data-w", type=int, default=8)
    ap.add_argument("--acc-w", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--test", default="test_lecture_3x3")
    ap.add_argument("--no-open", action="store_true", help="only print the files and commands")
    args = ap.parse_args(argv)
    try:
        params = ArrayParams(args.rows, args.cols, args.data_w, args.acc_w)
        vcd = runner.wave_path(RunSettings(args.sim, args.seed, waves=True), params, args.test)
        if not vcd.is_file():
            print(f"{_rel(vcd)} does not exist yet: running {args.test} with waves ...", flush=True)
            res = runner.run(RunSettings(args.sim, seed=args.seed, waves=True), params, [args.test])
            print(res.summary())
            if not vcd.is_file():
                raise SystolicError(f"no wave file was written; see {res.log}")
        gtkw = gtkw_path(vcd)
        if not gtkw.is_file():
            write_gtkw(vcd)
    except SystolicError as exc:
        print(f"make waves: error: {exc}", file=sys.stderr)
        return 2
    gtkwave = shutil.which("gtkwave")
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if gtkwave and display and not args.no_open:
        print(f"opening {_rel(vcd)} in GTKWave with {_rel(gtkw)}")
        procs.detach(  # make returns while the viewer stays open
            [gtkwave, str(vcd), str(gtkw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return 0
    why = "no display" if gtkwave else "GTKWave is not installed (apt-get install -y gtkwave)"
    print(f"not opening a viewer: {why}")
    print(f"  wave file      {_rel(vcd)}")
    print(f"  GTKWave view   {_rel(gtkw)}")
    print("open it with one of:")
    print(f"  gtkwave {_rel(vcd)} {_rel(gtkw)}")
    print(f"  surfer {_rel(vcd)}")
    print("      (Surfer: https://surfer-project.org, also runs in a browser)")
    print(f"  .venv/bin/systolic waves {_rel(vcd)}")
    print("      (the timeline in the terminal; add --html FILE for the PE-grid animation)")
    others = sorted(p for p in vcd.parent.glob("*.vcd") if p != vcd)
    if others:
        print(f"other wave files in {_rel(vcd.parent)}/:")
        for p in others[:20]:
            print(f"  {p.name}")
        if len(others) > 20:
            print(f"  ... and {len(others) - 20} more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
