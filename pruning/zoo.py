"""Small hand-written CNNs for the dependency-graph pruning (tests, demos, the benchmark).

Each is a factory ``package.module:function`` (``systolic.pruning.zoo:hand_cnn``) with no
arguments, so a saved pruned model can name it. Widths are multiples of 16 so that
``round_to`` up to 16 keeps whole folds.
"""

from __future__ import annotations

import torch
from torch import nn


def _cbr(c_in: int, c_out: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class HandCNN(nn.Module):
    """Stem, a residual block with a depthwise conv, a two-branch concat, a strided conv,
    global pooling and a classifier (input 3 x 32 x 32)."""

    def __init__(self, c: int = 32, classes: int = 10, in_ch: int = 3) -> None:
        super().__init__()
        self.stem = _cbr(in_ch, c)
        self.expand = _cbr(c, 2 * c, 1)
        self.dw = _cbr(2 * c, 2 * c, 3, groups=2 * c)
        self.project = nn.Sequential(nn.Conv2d(2 * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.left = _cbr(c, c, 3)
        self.right = _cbr(c, c, 1)
        self.down = _cbr(2 * c, 2 * c, 3, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.project(self.dw(self.expand(x))))
        x = torch.cat([self.left(x), self.right(x)], 1)
        x = self.pool(self.down(x))
        return self.fc(torch.flatten(x, 1))


class NoBNCNN(nn.Module):
    """Convs with biases and no BatchNorm (Network Slimming's BN criterion cannot apply)."""

    def __init__(self, c: int = 32, classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.fc = nn.Linear(2 * c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))


class SqueezeExcite(nn.Module):
    """The squeeze-excitation gate of MobileNetV3 (hardsigmoid) or SE-Net (sigmoid)."""

    def __init__(self, c: int, hard: bool = True) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, max(1, c // 4), 1)
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(max(1, c // 4), c, 1)
        self.gate = nn.Hardsigmoid() if hard else nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gate(self.fc2(self.act(self.fc1(self.avgpool(x))))) * x


class SECNN(nn.Module):
    """Two conv-BN-ReLU stages, each followed by an SE block, then a classifier."""

    def __init__(self, c: int = 32, classes: int = 10) -> None:
        super().__init__()
        self.s1 = _cbr(3, c)
        self.se1 = SqueezeExcite(c)
        self.s2 = _cbr(c, 2 * c, stride=2)
        self.se2 = SqueezeExcite(2 * c, hard=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se2(self.s2(self.se1(self.s1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class GroupedCNN(nn.Module):
    """A ResNeXt-like block: 1x1 conv, grouped 3x3 conv (4 groups), 1x1 conv, residual add."""

    def __init__(self, c: int = 32, classes: int = 10, groups: int = 4) -> None:
        super().__init__()
        self.stem = _cbr(3, c)
        self.a = _cbr(c, 2 * c, 1)
        self.b = _cbr(2 * c, 2 * c, 3, groups=groups)
        self.c = nn.Sequential(nn.Conv2d(2 * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.c(self.b(self.a(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class ShuffleCNN(GroupedCNN):
    """GroupedCNN with a channel shuffle (view/transpose/view) after the first 1x1 conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.a(x)
        n, ch, h, w = y.shape
        y = y.view(n, 4, ch // 4, h, w).transpose(1, 2).reshape(n, ch, h, w)
        x = torch.relu(x + self.c(self.b(y)))
        return self.fc(torch.flatten(self.pool(x), 1))


class DigitsResNet(nn.Module):
    """A residual CNN for the 8x8 digits: stem, two residual blocks at 64 channels, a strided
    stage to 128 with one residual block, global pooling, linear."""

    def __init__(self, c: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.stem = _cbr(1, c)
        self.b1 = nn.Sequential(_cbr(c, c), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
        self.b2 = nn.Sequential(_cbr(c, c), nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))
        self.down = _cbr(c, 2 * c, 3, stride=2)
        self.b3 = nn.Sequential(
            _cbr(2 * c, 2 * c), nn.Conv2d(2 * c, 2 * c, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.b1(x))
        x = torch.relu(x + self.b2(x))
        x = self.down(x)
        x = torch.relu(x + self.b3(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def hand_cnn() -> nn.Module:
    return HandCNN()


def no_bn_cnn() -> nn.Module:
    return NoBNCNN()


def se_cnn() -> nn.Module:
    return SECNN()


def grouped_cnn() -> nn.Module:
    return GroupedCNN()


def shuffle_cnn() -> nn.Module:
    return ShuffleCNN()


def digits_resnet() -> nn.Module:
    return DigitsResNet()
