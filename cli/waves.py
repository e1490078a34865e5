"""``systolic waves``: read a wave file of the array and show it as text or pictures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from systolic.cli import options
from systolic.fileio import atomic_write

DESCRIPTION = """\
Read a VCD of systolic_array (written by `systolic sim/run --waves` or `make sim WAVES=1`, on
Icarus or Verilator, any array size) and show what the array did, cycle by cycle.

Without an output option it prints the timeline: per cycle the west and north edge inputs and
each PE's operands a and b, whether the pair fires, its accumulator and its result. Arrays with
more than 16 PEs get a per-cycle summary unless PEs are chosen with --pe / --region.

Pictures (the PE grid at each cycle, operands entering skewed from the left and top, the
diagonal wavefront, the accumulators filling) go to --png DIR, --gif FILE and/or --html FILE;
arrays larger than 8x8 are drawn as heat maps. --summary FILE.png draws MACs per PE, the final
accumulators and the activity per cycle.

Cycle 0 is the first cycle of the test's first stream (from the stimulus saved next to the
VCD by --waves runs; otherwise the first edge with a valid operand), as in failure messages.
"""

EPILOG = """\
examples:
  systolic waves build/waves/test_lecture_3x3-icarus-r3c3_d8_a32-seed1.vcd
  systolic waves FILE.vcd --pe 1,2 --cycles 8:14
  systolic waves FILE.vcd --region 0-1,0-2 --csv > pes.csv
  systolic waves FILE.vcd --gif lecture.gif --html lecture.html --png frames/
  systolic waves FILE.vcd --gtkw          (re)write FILE.gtkw, then: gtkwave FILE.vcd FILE.gtkw
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "waves",
        help="timeline and PE-grid pictures (PNG, GIF, HTML) from a VCD of the array",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", type=options.in_file(".vcd"), help="VCD written by Icarus or Verilator")
    p.add_argument("--pe", action="append", default=[], metavar="I,J", help="show PE(I,J)")
    p.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="R0-R1,C0-C1",
        help="show the PEs of rows R0..R1 and columns C0..C1 (inclusive)",
    )
    p.add_argument(
        "--cycles",
        metavar="A:B",
        help="inclusive cycle range (A:, :B, or one cycle); "
        "default: the whole file for text, cycle 0 to the end of activity for pictures",
    )
    p.add_argument(
        "--stream",
        type=options.integer(0),
        metavar="N",
        help="number cycles from the N-th stream of the test (default 0)",
    )
    p.add_argument(
        "--csv", action="store_true", help="print the timeline as CSV, one row per (cycle, PE)"
    )
    p.add_argument(
        "--timeline", action="store_true", help="print the timeline even when writing pictures"
    )
    p.add_argument(
        "--png", type=options.out_dir, metavar="DIR", help="write one PNG per cycle into DIR"
    )
    p.add_argument(
        "--gif", type=options.out_file(".gif"), metavar="FILE", help="write an animated GIF"
    )
    p.add_argument(
        "--html",
        type=options.out_file(".html", ".htm"),
        metavar="FILE",
        help="write a self-contained HTML page with the frames and play controls",
    )
    p.add_argument(
        "--summary",
        type=options.out_file(".png"),
        metavar="FILE",
        help="write a summary PNG: MACs per PE, accumulators, activity per cycle",
    )
    p.add_argument(
        "--heatmap", action="store_true", help="draw frames as heat maps even for small arrays"
    )
    p.add_argument(
        "--fps",
        type=options.real(0, 100, lo_open=True),
        default=2.0,
        help="GIF/HTML frames per second, 0 < FPS <= 100 (2)",
    )
    p.add_argument(
        "--max-frames", type=options.integer(1), default=400, help="refuse more frames (400)"
    )
    p.add_argument(
        "--gtkw",
        nargs="?",
        type=options.out_file(".gtkw"),
        const=True,
        default=None,
        metavar="OUT",
        help="(re)write the GTKWave save file (default: next to the VCD)",
    )
    p.set_defaults(func=cmd_waves)


def cmd_waves(args: argparse.Namespace) -> int:
    from systolic.waves import timeline as tlm
    from systolic.waves.vcd import ArrayWaves, WaveError

    waves = ArrayWaves(args.file)
    params = waves.params
    pes = [tlm.parse_pe(x) for x in args.pe]
    for region in args.region:
        pes += tlm.parse_region(region)
    if (args.pe or args.region) and not pes:
        raise WaveError("the --pe/--region selection contains no PE")
    pes = tlm.check_pes(pes, params)
    cycles = tlm.parse_cycles(args.cycles) if args.cycles else None
    if args.fps <= 0:
        raise WaveError(f"--fps must be positive, not {args.fps}")
    tl = tlm.read_timeline(waves, stream=args.stream)

    pictures = args.png or args.gif or args.html or args.summary
    if args.gtkw:
        from systolic.waves.gtkw import write_gtkw

        out = write_gtkw(args.file, None if args.gtkw is True else Path(args.gtkw), waves)
        print(f"gtkw:    {out}   (open: gtkwave {args.file} {out})")
    if args.csv:
        sys.stdout.write(tlm.format_csv(tl, pes or None, cycles))
    elif args.timeline or not (pictures or args.gtkw):
        sys.stdout.write(tlm.format_text(tl, pes or None, cycles))
    if not pictures:
        return 0

    from systolic.waves import render

    title = f"{args.file.name}: {params.rows}x{params.cols} array"
    if args.summary:
        atomic_write(args.summary, render.draw_summary(tl, cycles))
        print(f"summary: {args.summary}")
    if args.png or args.gif or args.html:
        frames = render.make_frames(tl, cycles, max_frames=args.max_frames)
        images = render.render(frames, title, heatmap=True if args.heatmap else None)
        span = f"cycles {frames[0].cycle}..{frames[-1].cycle}"
        if args.png:
            paths = render.write_pngs(frames, images, args.png)
            print(f"png:     {len(paths)} frames ({span}) in {args.png}/")
        if args.gif:
            render.write_gif(images, args.gif, args.fps)
            print(f"gif:     {args.gif} ({len(frames)} frames, {span})")
        if args.html:
            render.write_html(frames, images, args.html, title, args.fps)
            print(f"html:    {args.html} ({len(frames)} frames, {span})")
    return 0
