"""sepconv.cost: the article's numbers derived by code, checked against brute-force counting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sepconv import cost


def test_article_spatial_example_is_81_vs_72():
    c = cost.spatial((5, 5), (3, 3))
    assert (c.normal, c.separable) == (81, 72)
    assert c.passes == ((0, 45), (1, 27))


def test_article_depthwise_example():
    c = cost.depthwise((12, 12, 3), 256, 5)
    assert c.output_shape == (8, 8, 256)
    assert c.normal.multiplications == 1_228_800
    assert c.depthwise.multiplications == 4_800
    assert c.pointwise.multiplications == 49_152
    assert c.separable_multiplications == 53_952
    assert (c.normal.params, c.depthwise.params, c.pointwise.params) == (19_200, 75, 768)
    assert c.separable_params == 843


def brute_force_separable(image, kernel, pads, strides):
    """Count multiplications by running the 1-D passes on index grids."""
    shape = [n + 2 * p for n, p in zip(image, pads)]
    total = 0
    for axis, k in enumerate(kernel):
        shape[axis] = len(range(0, shape[axis] - k + 1, strides[axis]))
        total += math.prod(shape) * k
    return total


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(3, 12), min_size=1, max_size=3),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 3),
    st.integers(1, 3),
)
def test_spatial_counts_match_brute_force(image, k, pad, stride, r):
    kernel = [k] * len(image)
    c = cost.spatial(image, kernel, rank=r, padding=pad, stride=stride)
    outputs = [len(range(0, n + 2 * pad - k + 1, stride)) for n in image]
    assert c.output_shape == tuple(outputs)
    assert c.normal == math.prod(outputs) * k ** len(image)
    assert c.separable == r * brute_force_separable(image, kernel, [pad] * 3, [stride] * 3)


def test_conv2d_counts_match_an_explicit_loop():
    # Count every multiply of a grouped, strided, dilated, padded conv by enumeration.
    c_in, h, w, c_out, k, s, p, d, g = 4, 9, 7, 6, 3, 2, 1, 2, 2
    result = cost.conv2d((c_in, h, w), c_out, k, stride=s, padding=p, dilation=d, groups=g)
    ho = len(range(0, h + 2 * p - d * (k - 1), s))
    wo = len(range(0, w + 2 * p - d * (k - 1), s))
    count = sum(
        1
        for _ in itertools.product(
            range(c_out), range(ho), range(wo), range(c_in // g), range(k), range(k)
        )
    )
    assert result.output_shape == (c_out, ho, wo)
    assert result.multiplications == count
    assert result.params == c_out * (c_in // g) * k * k


def test_conv2d_matches_torch_output_shape():
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(6, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    out = conv(torch.zeros(1, 6, 17, 19))
    c = cost.conv2d((6, 17, 19), 8, (3, 5), (2, 1), (1, 2), (1, 2), groups=2, bias=True)
    assert c.output_shape == tuple(out.shape[1:])
    assert c.params == sum(p.numel() for p in conv.parameters())


def test_linear_counts():
    c = cost.linear(512, 10, bias=True)
    assert (c.multiplications, c.params) == (5120, 5130)


def test_depthwise_multiplier_and_bias():
    c = cost.depthwise((8, 8, 4), 16, 3, depth_multiplier=2, padding=1, bias=True)
    assert c.depthwise.output_shape == (8, 8, 8)
    assert c.depthwise.params == 8 * 9 + 8
    assert c.pointwise.params == 16 * 8 + 16
    assert c.pointwise.multiplications == 8 * 8 * 16 * 8


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cost.spatial((5, 5), (3,)), "same"),
        (lambda: cost.spatial((2, 2), (3, 3)), "does not fit"),
        (lambda: cost.spatial((5, 5), (3, 3), rank=0), "rank"),
        (lambda: cost.depthwise((12, 12), 256, 5), r"\(H, W, C\)"),
        (lambda: cost.conv2d((3, 8, 8), 4, 3, groups=2), "groups"),
        (lambda: cost.conv2d((3, 8, 8), 4, 3, stride=0), "stride"),
        (lambda: cost.conv_output_length(10, 3, padding=-1), "padding"),
        (lambda: cost.conv2d((3, 8, 8), 4, (3, 3, 3)), "pair"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_results_export_to_json_ready_dicts():
    import json

    json.dumps(cost.spatial((5, 5), (3, 3)).to_dict())
    data = cost.depthwise((12, 12, 3), 256, 5).to_dict()
    assert json.loads(json.dumps(data))["separable_multiplications"] == 53952
    assert np.isclose(data["ratio"], 1228800 / 53952)
