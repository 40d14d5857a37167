"""Small architectures the PyTorch tests profile and convert (built here, no downloads)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sepconv.nn import DepthwiseSeparableConv2d

#: Shape of one input sample for every architecture below.
INPUT_SIZE = (3, 32, 32)


def vgg_like() -> nn.Module:
    """Two VGG stages of 3x3 convolutions, max pooling, two linear layers."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 64),
        nn.ReLU(inplace=True),
        nn.Dropout(),
        nn.Linear(64, 10),
    )


def mobilenet_like() -> nn.Module:
    """A MobileNet-v1 stem and four depthwise separable blocks (BN + ReLU between steps)."""

    def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
        return [
            DepthwiseSeparableConv2d(
                c_in,
                c_out,
                3,
                stride=stride,
                padding=1,
                bias=False,
                mid_norm=nn.BatchNorm2d,
                mid_activation=nn.ReLU,
            ),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        *block(16, 32, 1),
        *block(32, 64, 2),
        *block(64, 64, 1),
        *block(64, 128, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


class BasicBlock(nn.Module):
    """ResNet's basic block; the residual sum and last ReLU are functional."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


def resnet_like() -> nn.Module:
    """A ResNet stem, three basic blocks (one with a strided 1x1 shortcut), pooling, fc."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        BasicBlock(16, 16),
        BasicBlock(16, 32, stride=2),
        BasicBlock(32, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )


ARCHITECTURES = {"vgg": vgg_like, "mobilenet": mobilenet_like, "resnet": resnet_like}
