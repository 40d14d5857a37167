"""Real architectures built from their packages' configs (random weights, no downloads).

transformers' ResNet / ConvNeXt / MobileNetV2 / RegNet / EfficientNet / BiT and
efficientnet_pytorch's EfficientNet, in tiny configurations so the tests stay fast, plus two
test-local copies of timm layers (timm needs torchvision, which is not installed here):
``StdConv2d`` (weight standardisation) and ``Conv2dSame`` (TF "SAME" padding), written from
timm's documented behaviour and given timm's module names, as a model built with timm has.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _pad_same(x: torch.Tensor, kernel_size, stride, dilation) -> torch.Tensor:
    # timm.layers.padding.pad_same: TF "SAME", the odd pixel on the far side.
    pads = []
    for size, k, s, d in zip(x.shape[-2:], kernel_size, stride, dilation):
        pads.append(max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0))
    ph, pw = pads
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class StdConv2d(nn.Conv2d):
    """timm.layers.std_conv.StdConv2d: weights standardised per output channel in forward."""

    def __init__(self, in_ch, out_ch, kernel_size, stride=1, padding=None, bias=False, eps=1e-6):
        if padding is None:
            padding = ((stride - 1) + (kernel_size - 1)) // 2
        super().__init__(in_ch, out_ch, kernel_size, stride=stride, padding=padding, bias=bias)
        self.same_pad = False
        self.eps = eps

    def forward(self, x):
        if self.same_pad:
            x = _pad_same(x, self.kernel_size, self.stride, self.dilation)
        weight = F.batch_norm(
            self.weight.reshape(1, self.out_channels, -1),
            None,
            None,
            training=True,
            momentum=0.0,
            eps=self.eps,
        ).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2dSame(nn.Conv2d):
    """timm.layers.conv2d_same.Conv2dSame: TF "SAME" padding computed from each input."""

    def __init__(self, in_ch, out_ch, kernel_size, stride=1, dilation=1, groups=1, bias=True):
        super().__init__(in_ch, out_ch, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x):
        x = _pad_same(x, self.kernel_size, self.stride, self.dilation)
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


StdConv2d.__module__ = "timm.layers.std_conv"
Conv2dSame.__module__ = "timm.layers.conv2d_same"


class ScaledOutputConv2d(nn.Conv2d):
    """A subclass sepconv does not know: its forward scales the output (must stay untouched)."""

    def forward(self, x):
        return 2.0 * super().forward(x)


def timm_like() -> nn.Module:
    """A BiT-style stem and a TF-"SAME" EfficientNet-style stem, as timm builds them."""
    return nn.Sequential(
        StdConv2d(3, 8, 3, stride=1),
        nn.ReLU(),
        Conv2dSame(8, 8, 3, stride=2),
        nn.ReLU(),
        StdConv2d(8, 8, 3, stride=2, bias=True),
        ScaledOutputConv2d(8, 4, 3, padding=1),
        Conv2dSame(4, 4, 5, stride=1, dilation=2, groups=2),
    )


def _hf(model_cls, config):
    torch.manual_seed(0)
    return model_cls(config).eval()


def hf_resnet() -> nn.Module:
    from transformers import ResNetConfig, ResNetModel

    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])
    return _hf(ResNetModel, config)


def hf_convnext() -> nn.Module:
    from transformers import ConvNextConfig, ConvNextModel

    return _hf(ConvNextModel, ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2))


def hf_mobilenet_v2() -> nn.Module:
    from transformers import MobileNetV2Config, MobileNetV2Model

    return _hf(MobileNetV2Model, MobileNetV2Config(depth_multiplier=0.25, image_size=64))


def hf_regnet() -> nn.Module:
    from transformers import RegNetConfig, RegNetModel

    config = RegNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], groups_width=8)
    return _hf(RegNetModel, config)


def hf_efficientnet() -> nn.Module:
    from transformers import EfficientNetConfig, EfficientNetModel

    config = EfficientNetConfig(
        width_coefficient=0.25, depth_coefficient=0.2, hidden_dim=320, image_size=64
    )
    return _hf(EfficientNetModel, config)


def hf_bit() -> nn.Module:
    from transformers import BitConfig, BitModel

    config = BitConfig(
        embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], global_padding="SAME", num_groups=4
    )
    return _hf(BitModel, config)


def effnet_static() -> nn.Module:
    from efficientnet_pytorch import EfficientNet

    torch.manual_seed(0)
    return EfficientNet.from_name("efficientnet-b0", image_size=64).eval()


def effnet_dynamic() -> nn.Module:
    from efficientnet_pytorch import EfficientNet

    torch.manual_seed(0)
    return EfficientNet.from_name("efficientnet-b0", image_size=None).eval()


#: name -> factory of every real architecture the tests build.
REAL_ARCHITECTURES = {
    "timm_like": timm_like,
    "hf_resnet": hf_resnet,
    "hf_convnext": hf_convnext,
    "hf_mobilenet_v2": hf_mobilenet_v2,
    "hf_regnet": hf_regnet,
    "hf_efficientnet": hf_efficientnet,
    "hf_bit": hf_bit,
    "effnet_static": effnet_static,
    "effnet_dynamic": effnet_dynamic,
}
