"""sepconv.study._models: the three families differ only in their body convolutions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sepconv.nn import DepthwiseSeparableConv2d, SpatialSeparableConv2d
from sepconv.study import build_model
from sepconv.study._models import BODY_CONVS, model_cost


@pytest.mark.parametrize(
    ("family", "layer"),
    [
        ("standard", nn.Conv2d),
        ("depthwise", DepthwiseSeparableConv2d),
        ("spatial", SpatialSeparableConv2d),
    ],
)
def test_body_convolutions_are_the_familys_layer(family, layer):
    model = build_model(family, 4, in_channels=3, num_classes=5)
    for name in BODY_CONVS:
        assert type(getattr(model, name)) is layer
    assert type(model.stem) is nn.Conv2d
    assert model(torch.zeros(2, 3, 9, 7)).shape == (2, 5)


def test_families_share_every_other_layer():
    def skeleton(family):
        model = build_model(family, 3, 1, 10)
        return [
            (name, type(m).__name__, tuple(p.shape for p in m.parameters()))
            for name, m in model.named_children()
            if name not in BODY_CONVS
        ]

    assert skeleton("standard") == skeleton("depthwise") == skeleton("spatial")


def _hand_weights(family, w, classes=10):
    # stem 9w, BN 2 per channel, fc 4w*classes + classes; body by the layer's formula.
    def body(c_in, c_out):
        if family == "standard":
            return 9 * c_in * c_out
        if family == "depthwise":
            return 9 * c_in + c_in * c_out
        return 3 * c_in * c_in + 3 * c_in * c_out  # k x 1 into c_in, then 1 x k

    bn = 2 * (w + 2 * w + 4 * w + 4 * w)
    return 9 * w + bn + body(w, 2 * w) + body(2 * w, 4 * w) + body(4 * w, 4 * w) + 40 * w + 10


@pytest.mark.parametrize("family", ["standard", "depthwise", "spatial"])
@pytest.mark.parametrize("width", [1, 2, 8])
def test_weights_match_the_hand_formula_and_torch(family, width):
    model = build_model(family, width, 1, 10)
    cost = model_cost(model, (1, 8, 8))
    assert cost["weights"] == _hand_weights(family, width)
    assert cost["weights"] == sum(p.numel() for p in model.parameters())


def test_standard_macs_of_the_body_match_the_hand_formula():
    w = 2
    model = build_model("standard", w, 1, 10)
    depthwise = build_model("depthwise", w, 1, 10)
    # conv1 at 8x8, conv2 and conv3 at 4x4 after pooling: H*W*C_out*C_in*9 each.
    standard_body = 64 * 2 * w * w * 9 + 16 * 4 * w * 2 * w * 9 + 16 * 4 * w * 4 * w * 9
    separable_body = (
        64 * (w * 9 + 2 * w * w)
        + 16 * (2 * w * 9 + 4 * w * 2 * w)
        + 16 * (4 * w * 9 + 4 * w * 4 * w)
    )
    difference = model_cost(model, (1, 8, 8))["macs"] - model_cost(depthwise, (1, 8, 8))["macs"]
    assert difference == standard_body - separable_body


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="family must be one of"):
        build_model("grouped", 2, 1, 10)
