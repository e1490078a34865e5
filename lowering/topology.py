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
from systolic.errors import LoweringError
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


def write_topologies(wl: Workload, stem: str | Path) -> tuple[Path, Path]:
    """Write ``<stem>.scalesim_conv.csv`` and ``<stem>.scalesim_gemm.csv``; returns both paths."""
    stem = Path(stem)
    conv = stem.with_name(stem.name + ".scalesim_conv.csv")
    gemm = stem.with_name(stem.name + ".scalesim_gemm.csv")
    lines = [CONV_HEADER]
    lines += [", ".join(map(str, r)) + "," for r in conv_rows(wl)]
    atomic_write(conv, "\n".join(lines) + "\n")
    lines = ["Layer Name, M, N, K,"]
    for g in wl.all_gemms:
        m, k, n = g.shape
        name = g.layer if len(wl.gemms[g.layer]) == 1 else f"{g.layer}_g{g.group}"
        lines.append(f"{_safe(name)}, {m}, {n}, {k},")
    atomic_write(gemm, "\n".join(lines) + "\n")
    return conv, gemm
