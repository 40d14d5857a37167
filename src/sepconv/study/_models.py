"""The study's networks: one small CNN, three interchangeable convolutions."""

from __future__ import annotations

from collections import OrderedDict

from torch import nn

from ._config import FAMILIES

#: The convolutions a family replaces; the stem stays a standard convolution in every family,
#: as in MobileNet and Xception (a depthwise step on a one-channel image has nothing to mix).
BODY_CONVS: tuple[str, ...] = ("conv1", "conv2", "conv3")


def body_convolution(family: str, in_channels: int, out_channels: int) -> nn.Module:
    """A 3x3, stride-1, 'same'-padded convolution of ``family``, without bias.

    ``standard`` is ``nn.Conv2d``; ``depthwise`` is
    :class:`sepconv.nn.DepthwiseSeparableConv2d` with depth multiplier 1 and nothing between its
    two steps (Xception style: the layer is a drop-in replacement); ``spatial`` is
    :class:`sepconv.nn.SpatialSeparableConv2d` with ``mid_channels = in_channels``.
    """
    from ..nn import DepthwiseSeparableConv2d, SpatialSeparableConv2d

    if family == "standard":
        return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
    if family == "depthwise":
        return DepthwiseSeparableConv2d(in_channels, out_channels, 3, padding=1, bias=False)
    if family == "spatial":
        return SpatialSeparableConv2d(
            in_channels, out_channels, 3, mid_channels=in_channels, padding=1, bias=False
        )
    raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def build_model(family: str, width: int, in_channels: int, num_classes: int) -> nn.Module:
    """The study's CNN with ``width`` base channels and ``family`` convolutions.

    Layout: ``stem`` (standard 3x3, ``in_channels -> w``), ``conv1`` (``w -> 2w``), 2x2 max
    pooling, ``conv2`` (``2w -> 4w``), ``conv3`` (``4w -> 4w``), each convolution followed by
    batch normalisation and ReLU, then global average pooling and a linear classifier.  Only
    ``conv1``-``conv3`` change between families, so every difference in accuracy comes from
    the convolution.

    Examples
    --------
    >>> import torch
    >>> from sepconv.study import build_model
    >>> model = build_model("depthwise", 4, in_channels=1, num_classes=10)
    >>> model(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """
    w = int(width)
    layers: list[tuple[str, nn.Module]] = [
        ("stem", nn.Conv2d(in_channels, w, 3, padding=1, bias=False)),
        ("stem_bn", nn.BatchNorm2d(w)),
        ("stem_relu", nn.ReLU()),
    ]
    plan = [("conv1", w, 2 * w), ("conv2", 2 * w, 4 * w), ("conv3", 4 * w, 4 * w)]
    for name, c_in, c_out in plan:
        layers += [
            (name, body_convolution(family, c_in, c_out)),
            (f"{name}_bn", nn.BatchNorm2d(c_out)),
            (f"{name}_relu", nn.ReLU()),
        ]
        if name == "conv1":
            layers.append(("pool", nn.MaxPool2d(2)))
    layers += [
        ("gap", nn.AdaptiveAvgPool2d(1)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(4 * w, num_classes)),
    ]
    return nn.Sequential(OrderedDict(layers))


def model_cost(model: nn.Module, image_shape: tuple[int, int, int]) -> dict[str, int]:
    """Weights and multiply-accumulates of one image's forward pass.

    Both come from :func:`sepconv.nn.profile`: ``weights`` is every learned number (batch-norm
    scales and shifts included), ``macs`` its multiply-accumulate total for one image.
    """
    from ..nn import profile

    result = profile(model, tuple(image_shape))
    return {"weights": int(result.params), "macs": int(result.multiplications)}


__all__ = ["BODY_CONVS", "body_convolution", "build_model", "model_cost"]
