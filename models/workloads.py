"""The fixed GEMM list of the hardware-efficiency benchmark (``systolic bench``), M x K x N.

* the lecture's 3x3x3; 16^3; 64^3; 1x10x64 (M=1, K=10, N=64);
* the digits CNN at batch 1, dense and pruned (docs/pruning.md);
* ResNet-18 conv layers at batch 1 (224x224 input) lowered by im2col: M = H_o*W_o,
  K = C_in*kh*kw, N = C_out.
"""

from __future__ import annotations

from dataclasses import dataclass

from systolic.models.im2col import ConvGeometry, conv_gemm_shape


@dataclass(frozen=True)
class Workload:
    name: str
    m: int
    k: int
    n: int
    group: str

    @property
    def shape(self) -> str:
        return f"{self.m}x{self.k}x{self.n}"


def conv_gemm(
    h: int, w: int, c_in: int, c_out: int, kh: int, stride: int, pad: int
) -> tuple[int, int, int]:
    """(M, K, N) of a square-kernel conv at batch 1 lowered by im2col."""
    geo = ConvGeometry((kh, kh), (stride, stride), (pad, pad))
    s = conv_gemm_shape(geo, 1, c_in, c_out, h, w)
    return s.m, s.k, s.n


BENCH_GEMMS: tuple[Workload, ...] = (
    Workload("lecture 3x3", 3, 3, 3, "basic"),
    Workload("gemm 16^3", 16, 16, 16, "basic"),
    Workload("gemm 64^3", 64, 64, 64, "basic"),
    Workload("gemv 1x10x64", 1, 10, 64, "basic"),
    Workload("digits conv1", 64, 9, 16, "digits dense"),
    Workload("digits conv2", 64, 144, 32, "digits dense"),
    Workload("digits conv3", 16, 288, 64, "digits dense"),
    Workload("digits fc", 1, 256, 10, "digits dense"),
    Workload("digits conv1 pruned", 64, 9, 11, "digits pruned"),
    Workload("digits conv2 pruned", 64, 99, 17, "digits pruned"),
    Workload("digits conv3 pruned", 16, 153, 28, "digits pruned"),
    Workload("digits fc pruned", 1, 112, 10, "digits pruned"),
    Workload("resnet18 conv1", *conv_gemm(224, 224, 3, 64, 7, 2, 3), "resnet18"),
    Workload("resnet18 layer1 3x3", *conv_gemm(56, 56, 64, 64, 3, 1, 1), "resnet18"),
    Workload("resnet18 layer2 down 1x1", *conv_gemm(56, 56, 64, 128, 1, 2, 0), "resnet18"),
    Workload("resnet18 layer4 3x3", *conv_gemm(7, 7, 512, 512, 3, 1, 1), "resnet18"),
)
