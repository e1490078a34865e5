"""Pictures of the PE grid, cycle by cycle, drawn from a wave file's ``Timeline``.

Each ``Frame`` holds the data of one cycle (what a picture shows): the operands waiting on the
west and north edges (skewed: lane i of A is i cycles late), the operands at every PE's inputs,
which pairs fire (the diagonal wavefront), the accumulators and the results. Small arrays are
drawn as the lecture's grid with numbers; large ones as heat maps of activity and accumulators.
Frames are written as PNG files, an animated GIF or a self-contained HTML page.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.fileio import atomic_write
from systolic.waves.timeline import Timeline
from systolic.waves.vcd import WaveError

#: Arrays with more PEs per side than this are drawn as heat maps.
MAX_GRID = 8
#: Refuse to render more frames than this unless asked (a picture per cycle adds up).
MAX_FRAMES = 400


@dataclass(frozen=True)
class Frame:
    """The data behind the picture of one cycle."""

    cycle: int
    time_ns: float
    west: np.ndarray  # (ROWS, depth): west lane i in cycles t+1 .. t+depth (waiting to enter)
    west_vld: np.ndarray
    north: np.ndarray  # (COLS, depth): north lane j in cycles t+1 .. t+depth
    north_vld: np.ndarray
    a: np.ndarray  # (ROWS, COLS) operand a at each PE's input during the cycle
    a_vld: np.ndarray
    b: np.ndarray
    b_vld: np.ndarray
    fire: np.ndarray  # the pair fires at the cycle's edge
    acc: np.ndarray  # accumulators right after the edge
    res: np.ndarray
    res_vld: np.ndarray

    def to_json(self) -> dict:
        def ints(x: np.ndarray) -> list:
            return x.astype(np.int64).tolist()

        return {
            "cycle": self.cycle,
            "time_ns": self.time_ns,
            "fire": ints(self.fire),
            "a": ints(np.where(self.a_vld, self.a, 0)),
            "b": ints(np.where(self.b_vld, self.b, 0)),
            "acc": ints(self.acc),
            "res": ints(self.res),
            "res_vld": ints(self.res_vld),
        }


def make_frames(
    tl: Timeline,
    cycles: tuple[int | None, int | None] | None = None,
    depth: int | None = None,
    max_frames: int = MAX_FRAMES,
) -> list[Frame]:
    """One frame per cycle of the (inclusive) range; default: cycle 0 to the end of activity."""
    p = tl.params
    if cycles is None:  # from the cycle before the first operand enters: matrices waiting
        lo, hi = tl.active_range()
        cycles = (max(lo - 1, int(tl.cycle[0])), hi)
    rows = tl.rows_for(cycles)
    if len(rows) > max_frames:
        raise WaveError(
            f"{len(rows)} cycles would make {len(rows)} frames (limit {max_frames}): "
            "choose a range with --cycles A:B or raise --max-frames"
        )
    depth = depth or min(p.rows + p.cols, 8)
    n = len(tl)
    frames = []
    for k in rows:
        ahead = np.arange(k + 1, k + 1 + depth)
        inside = ahead < n
        idx = np.minimum(ahead, n - 1)
        frames.append(
            Frame(
                cycle=int(tl.cycle[k]),
                time_ns=float(tl.time_ns[k]),
                west=tl.west_a[idx].T.copy(),
                west_vld=(tl.west_vld[idx] & inside[:, None]).T.copy(),
                north=tl.north_b[idx].T.copy(),
                north_vld=(tl.north_vld[idx] & inside[:, None]).T.copy(),
                a=tl.pe_a[k].copy(),
                a_vld=tl.pe_a_vld[k].copy(),
                b=tl.pe_b[k].copy(),
                b_vld=tl.pe_b_vld[k].copy(),
                fire=tl.fire[k].copy(),
                acc=tl.acc[k].copy(),
                res=tl.res[k].copy(),
                res_vld=tl.res_vld[k].copy(),
            )
        )
    return frames


# --- drawing ------------------------------------------------------------------------------------

FIRE = "#ffb347"
CAPTURED = "#9ad99a"
IDLE = "#f2f2f2"
A_COLOR = "#1f5fa8"
B_COLOR = "#8a2d8f"


def _figure(size: tuple[float, float]):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _operand(ax, x: float, y: float, value: int, color: str) -> None:
    """An operand waiting outside the array: its value in a circle of its matrix's color."""
    ax.text(
        x,
        y,
        str(int(value)),
        ha="center",
        va="center",
        fontsize=10,
        color=color,
        bbox={"boxstyle": "circle", "fc": "white", "ec": color, "lw": 0.8},
    )


def draw_grid(frame: Frame, title: str = "") -> bytes:
    """The lecture's picture: PEs with their accumulators, operands entering skewed."""
    from matplotlib.patches import FancyArrowPatch, Rectangle

    rows, cols = frame.acc.shape
    depth = frame.west.shape[1]
    fig = _figure((0.9 * (cols + depth) + 0.6, 0.9 * (rows + depth) + 1.3))
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.86))
    ax.set_xlim(-depth - 0.2, cols + 0.1)
    ax.set_ylim(rows + 0.1, -depth - 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    s = 0.86  # cell size
    for i in range(rows):
        for j in range(cols):
            color = FIRE if frame.fire[i, j] else CAPTURED if frame.res_vld[i, j] else IDLE
            ax.add_patch(Rectangle((j, i), s, s, facecolor=color, edgecolor="#444", lw=1.2))
            ax.text(
                j + s / 2,
                i + s * 0.52,
                str(int(frame.acc[i, j])),
                ha="center",
                va="center",
                fontsize=13,
                weight="bold",
            )
            ax.text(j + 0.04, i + 0.1, f"PE({i},{j})", fontsize=6.5, color="#555", va="center")
            if frame.a_vld[i, j]:
                ax.text(
                    j + 0.04,
                    i + s * 0.52,
                    f"{int(frame.a[i, j])}\u2192",
                    fontsize=8,
                    color=A_COLOR,
                    va="center",
                )
            if frame.b_vld[i, j]:
                ax.text(
                    j + s - 0.04,
                    i + 0.1,
                    f"\u2193{int(frame.b[i, j])}",
                    fontsize=8,
                    color=B_COLOR,
                    va="center",
                    ha="right",
                )
            res_style = (
                {"weight": "bold", "color": "#1b6e1b"} if frame.res_vld[i, j] else {"color": "#777"}
            )
            ax.text(
                j + s / 2,
                i + s - 0.1,
                f"res {int(frame.res[i, j])}",
                fontsize=7,
                ha="center",
                va="center",
                **res_style,
            )
            if j + 1 < cols:
                ax.add_patch(
                    FancyArrowPatch(
                        (j + s, i + s / 2),
                        (j + 1, i + s / 2),
                        arrowstyle="-|>",
                        mutation_scale=8,
                        color="#888",
                    )
                )
            if i + 1 < rows:
                ax.add_patch(
                    FancyArrowPatch(
                        (j + s / 2, i + s),
                        (j + s / 2, i + 1),
                        arrowstyle="-|>",
                        mutation_scale=8,
                        color="#888",
                    )
                )
    # Operands waiting outside the array: west lane i's value of cycle t+d sits d cells left.
    for i, d in zip(*np.nonzero(frame.west_vld), strict=True):
        _operand(ax, -d - 1 + s / 2, i + s / 2, frame.west[i, d], A_COLOR)
    for j, d in zip(*np.nonzero(frame.north_vld), strict=True):
        _operand(ax, j + s / 2, -d - 1 + s / 2, frame.north[j, d], B_COLOR)
    fig.suptitle(f"cycle {frame.cycle}   ({frame.time_ns:g} ns)", fontsize=13, y=0.975)
    fig.text(
        0.5,
        0.915,
        title + ("\n" if title else "") + "orange: pair fires at this edge "
        "(wavefront)   green: result captured   blue A \u2192 east, purple B \u2193 south",
        ha="center",
        va="center",
        fontsize=7,
        color="#444",
    )
    return _png(fig)


def draw_heatmap(frame: Frame, acc_limit: float, title: str = "") -> bytes:
    """Large arrays: which PEs fire this cycle, and every accumulator, as two heat maps."""
    rows, cols = frame.acc.shape
    side = min(4.5, 0.18 * max(rows, cols) + 2.0)
    fig = _figure((2 * side + 1.6, side + 1.2))
    ax1 = fig.add_axes((0.05, 0.08, 0.4, 0.74))
    ax2 = fig.add_axes((0.53, 0.08, 0.4, 0.74))
    act = frame.fire.astype(float) + 0.45 * (frame.res_vld & ~frame.fire)
    ax1.imshow(act, cmap="Oranges", vmin=0, vmax=1, interpolation="nearest")
    ax1.set_title(
        f"pairs firing ({int(frame.fire.sum())}), results captured ({int(frame.res_vld.sum())})",
        fontsize=8,
    )
    im = ax2.imshow(
        frame.acc, cmap="RdBu_r", vmin=-acc_limit, vmax=acc_limit, interpolation="nearest"
    )
    ax2.set_title("accumulators", fontsize=8)
    fig.colorbar(im, ax=ax2, fraction=0.046, pad=0.04)
    for ax in (ax1, ax2):
        ax.set_xlabel("column j", fontsize=7)
        ax.set_ylabel("row i", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.suptitle(f"cycle {frame.cycle}   ({frame.time_ns:g} ns)   {title}", fontsize=10)
    return _png(fig)


def draw_summary(tl: Timeline, cycles: tuple[int | None, int | None] | None = None) -> bytes:
    """Any size: fires per PE, final accumulators and the activity per cycle over a range."""
    rows = tl.rows_for(cycles or tl.active_range())
    sl = slice(rows.start, rows.stop)
    fig = _figure((13, 4.2))
    ax1 = fig.add_axes((0.04, 0.12, 0.25, 0.7))
    ax2 = fig.add_axes((0.36, 0.12, 0.25, 0.7))
    ax3 = fig.add_axes((0.70, 0.14, 0.28, 0.68))
    im1 = ax1.imshow(tl.fire[sl].sum(axis=0), cmap="Oranges", interpolation="nearest")
    ax1.set_title("MACs per PE", fontsize=9)
    fig.colorbar(im1, ax=ax1, fraction=0.046, pad=0.04)
    last = tl.acc[rows.stop - 1]
    lim = float(max(np.abs(last).max(), 1))
    im2 = ax2.imshow(last, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    ax2.set_title(f"accumulators at cycle {tl.cycle[rows.stop - 1]}", fontsize=9)
    fig.colorbar(im2, ax=ax2, fraction=0.046, pad=0.04)
    for ax in (ax1, ax2):
        ax.set_xlabel("column j", fontsize=8)
        ax.set_ylabel("row i", fontsize=8)
    cyc = tl.cycle[sl]
    n_pe = tl.params.rows * tl.params.cols
    ax3.step(cyc, tl.fire[sl].reshape(len(cyc), -1).sum(axis=1), where="mid", label="PEs firing")
    ax3.step(
        cyc, tl.res_vld[sl].reshape(len(cyc), -1).sum(axis=1), where="mid", label="results captured"
    )
    ax3.set_ylim(0, n_pe * 1.05)
    ax3.set_xlabel("cycle", fontsize=8)
    ax3.set_title(f"activity ({n_pe} PEs)", fontsize=9)
    ax3.legend(fontsize=7)
    p = tl.params
    fig.suptitle(
        f"{tl.source.name}: {p.rows}x{p.cols} array, cycles {cyc[0]}..{cyc[-1]}", fontsize=10
    )
    return _png(fig)


def render(frames: Sequence[Frame], title: str = "", heatmap: bool | None = None) -> list[bytes]:
    """PNG bytes of every frame (grid pictures, or heat maps for large arrays)."""
    if not frames:
        raise WaveError("no cycle to draw")
    rows, cols = frames[0].acc.shape
    if heatmap is None:
        heatmap = max(rows, cols) > MAX_GRID
    if heatmap:
        lim = float(max(max(np.abs(f.acc).max() for f in frames), 1))
        return [draw_heatmap(f, lim, title) for f in frames]
    return [draw_grid(f, title) for f in frames]


# --- files --------------------------------------------------------------------------------------


def frame_name(cycle: int) -> str:
    return f"cycle_{cycle:04d}.png" if cycle >= 0 else f"cycle_m{-cycle:04d}.png"


def write_pngs(frames: Sequence[Frame], images: Sequence[bytes], folder: Path) -> list[Path]:
    out = []
    for f, img in zip(frames, images, strict=True):
        path = Path(folder) / frame_name(f.cycle)
        atomic_write(path, img)
        out.append(path)
    return out


def write_gif(images: Sequence[bytes], path: Path, fps: float = 2.0) -> Path:
    from PIL import Image

    pics = [Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    size = pics[0].size
    pics = [p if p.size == size else p.resize(size) for p in pics]
    pal = [p.convert("P", palette=Image.Palette.ADAPTIVE, colors=128) for p in pics]
    buf = io.BytesIO()
    pal[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=pal[1:],
        duration=int(1000 / fps),
        loop=0,
        optimize=True,
    )
    atomic_write(Path(path), buf.getvalue())
    return Path(path)


def write_html(
    frames: Sequence[Frame], images: Sequence[bytes], path: Path, title: str, fps: float = 2.0
) -> Path:
    """One self-contained page: the frames (embedded PNGs), play/step controls, the data."""
    srcs = [base64.b64encode(b).decode("ascii") for b in images]
    data = json.dumps([f.to_json() for f in frames])
    page = _HTML.format(
        title=html.escape(title),
        last=len(frames) - 1,
        first=srcs[0],
        frames=json.dumps(srcs),
        data=data.replace("</", "<\\/"),
        interval=int(1000 / fps),
    )
    atomic_write(Path(path), page.encode("utf-8"))
    return Path(path)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
#controls {{ margin: .6em 0; }} button {{ font-size: 1em; margin-right: .3em; }}
input[type=range] {{ width: 30em; vertical-align: middle; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin-top: .8em; font-size: .85em; }}
td {{ border: 1px solid #ccc; padding: .15em .5em; text-align: right; }}
td.fire {{ background: #ffb347; }} td.cap {{ background: #9ad99a; }}
</style></head><body>
<h2>{title}</h2>
<div id="controls">
<button id="prev">&#9664;</button><button id="play">play</button><button id="next">&#9654;</button>
<input id="slider" type="range" min="0" max="{last}" value="0"> <span id="label"></span>
</div>
<img id="frame" alt="PE grid" src="data:image/png;base64,{first}">
<table id="grid"></table>
<p>Accumulators right after the cycle's rising edge; orange: the pair fires at that edge,
green: a result is captured. Arrow keys step, space plays.</p>
<script>
const frames = {frames};
const data = {data};
let k = 0, timer = null;
const img = document.getElementById('frame'), slider = document.getElementById('slider');
function show(i) {{
  k = (i + frames.length) % frames.length;
  img.src = 'data:image/png;base64,' + frames[k];
  slider.value = k;
  const d = data[k];
  document.getElementById('label').textContent =
    'cycle ' + d.cycle + ' (' + d.time_ns + ' ns), frame ' + (k + 1) + '/' + frames.length;
  const t = document.getElementById('grid'); t.innerHTML = '';
  d.acc.forEach((row, i) => {{
    const tr = t.insertRow();
    row.forEach((v, j) => {{
      const td = tr.insertCell(); td.textContent = v;
      if (d.fire[i][j]) td.className = 'fire'; else if (d.res_vld[i][j]) td.className = 'cap';
    }});
  }});
}}
function play() {{
  if (timer) {{ clearInterval(timer); timer = null; }}
  else {{ timer = setInterval(() => show(k + 1), {interval}); }}
  document.getElementById('play').textContent = timer ? 'pause' : 'play';
}}
document.getElementById('prev').onclick = () => show(k - 1);
document.getElementById('next').onclick = () => show(k + 1);
document.getElementById('play').onclick = play;
slider.oninput = () => show(parseInt(slider.value));
document.addEventListener('keydown', e => {{
  if (e.key === 'ArrowLeft') show(k - 1);
  else if (e.key === 'ArrowRight') show(k + 1);
  else if (e.key === ' ') {{ e.preventDefault(); play(); }}
}});
show(0);
</script>
<script type="application/json" id="frame-data">{data}</script>
</body></html>
"""
