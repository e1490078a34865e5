"""im2col lowering: convolutions and linear layers as GEMMs C = A @ B.

Conv input X (B, C_in, H, W), weight W (C_out, C_in/g, kh, kw), padding p, stride s, dilation d:
H_o = floor((H + 2p - d(kh-1) - 1) / s) + 1 (same for W). Group j is the GEMM
A_j (B*H_o*W_o, C_in/g*kh*kw) @ B_j (C_in/g*kh*kw, C_out/g): columns of A in (c, kh, kw) order,
as ``torch.nn.functional.unfold`` and ``W.reshape(C_out, -1)`` order them; rows of A in
(batch, y, x) order. A grouped conv is g GEMMs, so the array pays only for the non-zero blocks of
the equivalent block-diagonal weight; a depthwise conv is C GEMMs of M x k^2 x 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from systolic.errors import LoweringError


@dataclass(frozen=True)
class ConvGeometry:
    """What a conv layer does to a feature map (ints, or (h, w) pairs)."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        out = []
        for size, k, s, p, d in zip(
            (h, w), self.kernel, self.stride, self.padding, self.dilation, strict=True
        ):
            o = (size + 2 * p - d * (k - 1) - 1) // s + 1
            if o < 1:
                raise LoweringError(f"the kernel does not fit the {h}x{w} input")
            out.append(o)
        return out[0], out[1]


@dataclass(frozen=True)
class PoolGeometry:
    """A pooling window (h, w pairs) with torch's output-size rule, ceil_mode included."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        out = []
        for size, k, s, p in zip((h, w), self.kernel, self.stride, self.padding, strict=True):
            if k < 1 or s < 1 or p < 0 or 2 * p > k:
                raise LoweringError(f"illegal pooling window: kernel {k}, stride {s}, padding {p}")
            span = size + 2 * p - k
            o = (span + (s - 1 if self.ceil_mode else 0)) // s + 1
            if self.ceil_mode and (o - 1) * s >= size + p:
                o -= 1  # the last window would start in the right padding
            if span < 0 or o < 1:
                raise LoweringError(f"the pooling window does not fit the {h}x{w} input")
            out.append(o)
        return out[0], out[1]


def adaptive_windows(size: int, out: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    if out < 1:
        raise LoweringError(f"adaptive pooling to {out} outputs")
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


@dataclass(frozen=True)
class GemmShape:
    """The GEMMs of one layer: ``count`` identical GEMMs of M x K x N (count = groups)."""

    m: int
    k: int
    n: int
    count: int = 1


def conv_gemm_shape(
    geo: ConvGeometry, batch: int, c_in: int, c_out: int, h: int, w: int
) -> GemmShape:
    """The one conv -> GEMM shape rule of the project: M = B*H_o*W_o, K = C_in/g*kh*kw,
    N = C_out/g, one GEMM per group (what :func:`conv_gemms` builds operands for)."""
    g = geo.groups
    if c_in % g or c_out % g:
        raise LoweringError(f"{c_in} input / {c_out} output channels do not split into {g} groups")
    ho, wo = geo.output_size(h, w)
    kh, kw = geo.kernel
    return GemmShape(batch * ho * wo, c_in // g * kh * kw, c_out // g, g)


def im2col(x: np.ndarray, geo: ConvGeometry) -> np.ndarray:
    """(B, C, H, W) -> (B*H_o*W_o, C*kh*kw) patches, columns in (c, kh, kw) order."""
    if x.ndim != 4:
        raise LoweringError(f"conv input must be B x C x H x W, got shape {x.shape}")
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = geo.kernel, geo.stride, geo.padding, geo.dilation
    b, c, h, w = x.shape
    ho, wo = geo.output_size(h, w)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    # Windows of the dilated kernel's extent, then every d-th element of each window.
    # numpy's stubs take one axis; a tuple of axes is documented and works.
    win = sliding_window_view(  # type: ignore[call-overload]
        xp, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3)
    )
    win = win[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]
    # (B, C, Ho, Wo, kh, kw) -> (B, Ho, Wo, C, kh, kw) -> rows (b, y, x), columns (c, kh, kw).
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(b * ho * wo, c * kh * kw)


def conv_gemms(
    x: np.ndarray, weight: np.ndarray, geo: ConvGeometry
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (A, B) operand pairs of a conv, one per group."""
    g = geo.groups
    c_in, c_out = x.shape[1], weight.shape[0]
    if c_in % g or c_out % g or weight.shape[1] != c_in // g:
        raise LoweringError(
            f"conv weight {weight.shape} does not match {c_in} input channels in {g} groups"
        )
    cg, ng = c_in // g, c_out // g
    out = []
    for j in range(g):
        a = im2col(x[:, j * cg : (j + 1) * cg], geo)
        b = weight[j * ng : (j + 1) * ng].reshape(ng, -1).T
        out.append((a, np.ascontiguousarray(b)))
    return out


def gemm_outputs_to_nchw(cols: list[np.ndarray], batch: int, ho: int, wo: int) -> np.ndarray:
    """Per-group GEMM results (M, N/g) back to a (B, C_out, H_o, W_o) feature map."""
    c = np.concatenate(cols, axis=1)  # (B*Ho*Wo, C_out), groups in channel order
    out: np.ndarray = c.reshape(batch, ho, wo, -1).transpose(0, 3, 1, 2)
    return out


def linear_gemm(x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A linear layer: A = x (M x in_features), B = W^T (in_features x out_features)."""
    if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
        raise LoweringError(f"linear input {x.shape} does not match weight {weight.shape}")
    return x, np.ascontiguousarray(weight.T)
