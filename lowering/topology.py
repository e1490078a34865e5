"""SCALE-Sim topology files for a workload's layers.

Two files, same layers:

* conv topology (``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides,``): SCALE-Sim has no padding, batch or group column, so the IFMAP sizes
  are the *padded* sizes, a grouped conv is one row per group (``name_g<j>``, C_in/g channels,
  C_out/g filters) and the batch is left out (SCALE-Sim simulates one image per layer). A linear
  layer is a 1x1 conv on a 1x1 map. SCALE-Sim has no dilation either: a dilated conv is refused
  (use the GEMM topology).
* GEMM topology (``Layer Name, M, N, K,``, for ``-i gemm``): one row per GEMM, exactly the GEMMs
  of the workload (batch included in M).
"""

from __future__ import annotations

from pathlib import Path

from systolic.engine.workload import Workload
from systolic.errors import LoweringError, shown
from systolic.fileio import atomic_write

CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,"
)


def _safe(name: str) -> str:
    # SCALE-Sim splits on commas and treats names containing "DP" as depthwise layers.
    return name.replace(",", "_").replace(" ", "_").replace("DP", "dp")


def conv_rows(wl: Workload) -> list[tuple]:
    """(name, ifmap_h, ifmap_w, filter_h, filter_w, channels, filters, stride) per conv group."""
    rows = []
    for layer in wl.net.layers:
        if layer.kind == "linear":
            rows.append(
                (_safe(layer.name), 1, 1, 1, 1, layer.weight.shape[1], layer.weight.shape[0], 1)
            )
            continue
        geo = layer.geometry
        assert geo is not None  # a conv layer has its geometry
        if geo.dilation != (1, 1):
            raise LoweringError(
                f"{layer.name}: dilation {geo.dilation} has no SCALE-Sim conv topology column; "
                "use the GEMM topology"
            )
        if geo.stride[0] != geo.stride[1]:
            raise LoweringError(f"{layer.name}: SCALE-Sim takes one stride, got {geo.stride}")
        h_in, w_in = wl.input_shapes[layer.name][1:]
        kh, kw = geo.kernel
        c_g = layer.weight.shape[1]
        n_g = layer.weight.shape[0] // geo.groups
        for j in range(geo.groups):
            name = _safe(layer.name if geo.groups == 1 else f"{layer.name}_g{j}")
            rows.append(
                (
                    name,
                    h_in + 2 * geo.padding[0],
                    w_in + 2 * geo.padding[1],
                    kh,
                    kw,
                    c_g,
                    n_g,
                    geo.stride[0],
                )
            )
    return rows


def write_topologies(wl: Workload, stem: str | Path, conv: bool = True) -> tuple[Path, ...]:
    """Write ``<stem>.scalesim_conv.csv`` (unless ``conv`` is false: a model with dilated convs
    has none) and ``<stem>.scalesim_gemm.csv``; returns the paths written, the GEMM one last."""
    stem = Path(stem)
    conv_path = stem.with_name(stem.name + ".scalesim_conv.csv")
    gemm = stem.with_name(stem.name + ".scalesim_gemm.csv")
    written: tuple[Path, ...] = ()
    if conv:
        lines = [CONV_HEADER]
        lines += [", ".join(map(str, r)) + "," for r in conv_rows(wl)]
        atomic_write(conv_path, "\n".join(lines) + "\n")
        written = (conv_path,)
    lines = ["Layer Name, M, N, K,"]
    for g in wl.all_gemms:
        m, k, n = g.shape
        name = g.layer if len(wl.gemms[g.layer]) == 1 else f"{g.layer}_g{g.group}"
        lines.append(f"{_safe(name)}, {m}, {n}, {k},")
    atomic_write(gemm, "\n".join(lines) + "\n")
    return (*written, gemm)


# ------------------------------------------------------------------------------------------------
# Reading a SCALE-Sim topology (systolic topology FILE.csv)
# ------------------------------------------------------------------------------------------------

#: The columns of the two SCALE-Sim topology formats, by their header's normalized names.
CONV_COLUMNS = (
    "layer name",
    "ifmap height",
    "ifmap width",
    "filter height",
    "filter width",
    "channels",
    "num filter",
    "strides",
)
GEMM_COLUMNS = ("layer name", "m", "n", "k")
#: The largest number a topology cell may hold (a dimension).
MAX_TOPOLOGY_VALUE = 1 << 24
#: The largest topology file read (bytes) and the most layers.
MAX_TOPOLOGY_BYTES = 1 << 20


class TopologyError(LoweringError):
    """A SCALE-Sim topology file that cannot be read: one line names the file, line and cell."""


def _cells(line: str) -> list[str]:
    cells = [c.strip() for c in line.split(",")]
    return cells[:-1] if cells and cells[-1] == "" else cells  # SCALE-Sim ends rows with ","


def read_topology(path: Path) -> list[tuple[str, int, int, int]]:
    """The GEMMs (name, M, K, N) of a SCALE-Sim topology file, conv or GEMM format (told apart
    by the header). A conv row is SCALE-Sim's own mapping: M = E*F output pixels with
    E = (H - R) // S + 1 (the IFMAP is already padded), K = R*S*C, N = filters."""
    from systolic import names

    text = names.read_limited(path, MAX_TOPOLOGY_BYTES, TopologyError)
    try:
        lines = text.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise TopologyError(f"{shown(path)}: not UTF-8 text") from None
    if not lines:
        raise TopologyError(f"{shown(path)}: empty; a SCALE-Sim topology starts with its header")
    header = [" ".join(c.lower().split()) for c in _cells(lines[0])]
    if tuple(header) == CONV_COLUMNS:
        conv = True
    elif tuple(header) == GEMM_COLUMNS:
        conv = False
    else:
        raise TopologyError(
            f"{shown(path)}: line 1: the header is neither SCALE-Sim's conv topology "
            f"({', '.join(CONV_COLUMNS)}) nor its GEMM topology ({', '.join(GEMM_COLUMNS)})"
        )
    out: list[tuple[str, int, int, int]] = []
    for no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = _cells(line)
        if len(cells) != len(header):
            raise TopologyError(
                f"{shown(path)}: line {no}: {len(cells)} cells, the header has {len(header)}"
            )
        name = cells[0]
        names.check_name(name, f"line {no}: layer name", path, rule="file", error=TopologyError)
        nums = [_number(path, no, header[i], cells[i]) for i in range(1, len(cells))]
        out.append((name, *(_conv_gemm(path, no, nums) if conv else (nums[0], nums[2], nums[1]))))
    if not out:
        raise TopologyError(f"{shown(path)}: no layers after the header")
    names.check_unique([o[0] for o in out], "layer name", path, rule="file", error=TopologyError)
    return out


def _number(path: Path, no: int, column: str, cell: str) -> int:
    if not cell.isascii() or not cell.isdecimal() or not 1 <= int(cell) <= MAX_TOPOLOGY_VALUE:
        raise TopologyError(
            f"{shown(path)}: line {no}: {column} must be an integer 1..{MAX_TOPOLOGY_VALUE}, "
            f"got {cell!r}"
        )
    return int(cell)


def _conv_gemm(path: Path, no: int, nums: list[int]) -> tuple[int, int, int]:
    h, w, r, s, c, filters, stride = nums
    if r > h or s > w:
        raise TopologyError(
            f"{shown(path)}: line {no}: the filter ({r}x{s}) is larger than the IFMAP ({h}x{w})"
        )
    e, f = (h - r) // stride + 1, (w - s) // stride + 1
    return e * f, r * s * c, filters
