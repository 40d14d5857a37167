"""sepconv.nn layers: shapes, weight counts and outputs against nn.Conv2d written out by hand."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from sepconv import cost  # noqa: E402
from sepconv.nn import (  # noqa: E402
    DepthwiseConv2d,
    DepthwiseSeparableConv2d,
    PointwiseConv2d,
    SpatialSeparableConv2d,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
    ),
]
PADDING_MODES = ["zeros", "reflect", "replicate", "circular"]


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def test_article_example_has_843_weights():
    layer = DepthwiseSeparableConv2d(3, 256, 5, bias=False)
    assert layer.depthwise.weight.numel() == 75
    assert layer.pointwise.weight.numel() == 768
    assert n_params(layer) == 843 == cost.depthwise((12, 12, 3), 256, 5).separable_params
    assert layer(torch.zeros(1, 3, 12, 12)).shape == (1, 256, 8, 8)


@pytest.mark.parametrize(
    "c,o,k,m,bias", [(3, 256, 5, 1, False), (8, 16, 3, 2, True), (5, 7, (3, 5), 3, True)]
)
def test_weight_counts_match_hand_formulas(c, o, k, m, bias):
    kh, kw = (k, k) if isinstance(k, int) else k
    assert (
        n_params(DepthwiseConv2d(c, k, depth_multiplier=m, bias=bias))
        == c * m * kh * kw + bias * c * m
    )
    assert n_params(PointwiseConv2d(c, o, bias=bias)) == c * o + bias * o
    # The depthwise step has no bias (Keras, timm); the pointwise step has it.
    assert n_params(DepthwiseSeparableConv2d(c, o, k, depth_multiplier=m, bias=bias)) == (
        c * m * kh * kw + c * m * o + bias * o
    )
    mid = 4
    assert n_params(SpatialSeparableConv2d(c, o, k, mid_channels=mid, bias=bias)) == (
        c * mid * kh + mid * o * kw + bias * o
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "stride,padding,dilation,mode",
    [
        (1, 0, 1, "zeros"),
        (2, 1, 1, "zeros"),
        (1, 2, 2, "reflect"),
        (1, "same", 1, "circular"),
        (2, (1, 2), (1, 2), "replicate"),
    ],
)
def test_depthwise_matches_one_convolution_per_channel(device, stride, padding, dilation, mode):
    torch.manual_seed(0)
    c, m = 3, 2
    layer = DepthwiseConv2d(
        c,
        (3, 5),
        stride,
        padding,
        dilation,
        depth_multiplier=m,
        padding_mode=mode,
        device=device,
        dtype=torch.float64,
    )
    x = torch.randn(2, c, 13, 14, dtype=torch.float64, device=device)
    ref_layer = nn.Conv2d(
        1,
        1,
        (3, 5),
        stride,
        padding,
        dilation,
        padding_mode=mode,
        bias=True,
        device=device,
        dtype=torch.float64,
    )
    parts = []
    for ci in range(c):
        for mi in range(m):
            with torch.no_grad():  # output channel ci*m + mi sees input channel ci only
                ref_layer.weight.copy_(layer.weight[ci * m + mi : ci * m + mi + 1])
                ref_layer.bias.copy_(layer.bias[ci * m + mi : ci * m + mi + 1])
                parts.append(ref_layer(x[:, ci : ci + 1]))
    torch.testing.assert_close(layer(x), torch.cat(parts, dim=1))


def dense_of_depthwise_separable(layer):
    """W[o, c] = sum_m P[o, c*M + m] D[c*M + m], written as loops."""
    c, o, m = layer.in_channels, layer.out_channels, layer.depth_multiplier
    d, p = layer.depthwise.weight, layer.pointwise.weight
    w = torch.zeros(o, c, *layer.kernel_size, dtype=d.dtype, device=d.device)
    for oi in range(o):
        for ci in range(c):
            for mi in range(m):
                w[oi, ci] += p[oi, ci * m + mi, 0, 0] * d[ci * m + mi, 0]
    return w


def dense_of_spatial(layer):
    v, h = layer.vertical.weight, layer.horizontal.weight
    w = torch.zeros(layer.out_channels, layer.in_channels, *layer.kernel_size, dtype=v.dtype)
    for k in range(layer.mid_channels):
        w += h[:, k, 0, :][:, None, None, :] * v[k, :, :, 0][None, :, :, None]
    return w


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize(
    "stride,padding,dilation", [(1, 1, 1), (2, 2, 1), (1, 2, 2), (1, "same", 1), (2, "valid", 1)]
)
def test_depthwise_separable_equals_conv2d_with_dense_weight(
    device, mode, stride, padding, dilation
):
    torch.manual_seed(1)
    layer = DepthwiseSeparableConv2d(
        4,
        6,
        3,
        stride,
        padding,
        dilation,
        depth_multiplier=2,
        padding_mode=mode,
        device=device,
        dtype=torch.float64,
    )
    ref = nn.Conv2d(
        4, 6, 3, stride, padding, dilation, padding_mode=mode, device=device, dtype=torch.float64
    )
    with torch.no_grad():
        ref.weight.copy_(dense_of_depthwise_separable(layer))
        ref.bias.copy_(layer.pointwise.bias)
    x = torch.randn(2, 4, 11, 12, dtype=torch.float64, device=device)
    torch.testing.assert_close(layer(x), ref(x))
    torch.testing.assert_close(layer.dense_weight(), ref.weight)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", PADDING_MODES)
@pytest.mark.parametrize(
    "kernel,stride,padding,dilation",
    [
        (3, 1, 1, 1),
        ((3, 5), 2, (1, 2), 1),
        (3, 1, 2, 2),
        ((5, 3), 1, "same", 1),
        ((4, 2), 1, "same", (2, 1)),
        (3, 2, "valid", 1),
    ],
)
def test_spatial_separable_equals_conv2d_with_dense_weight(
    device, mode, kernel, stride, padding, dilation
):
    torch.manual_seed(2)
    layer = SpatialSeparableConv2d(
        3,
        5,
        kernel,
        stride,
        padding,
        dilation,
        mid_channels=4,
        padding_mode=mode,
        device=device,
        dtype=torch.float64,
    )
    ref = nn.Conv2d(
        3,
        5,
        kernel,
        stride,
        padding,
        dilation,
        padding_mode=mode,
        device=device,
        dtype=torch.float64,
    )
    with torch.no_grad():
        ref.weight.copy_(dense_of_spatial(layer.cpu()).to(device))
        ref.bias.copy_(layer.horizontal.bias)
    layer.to(device)
    x = torch.randn(2, 3, 12, 13, dtype=torch.float64, device=device)
    torch.testing.assert_close(layer(x), ref(x))
    torch.testing.assert_close(layer.dense_weight(), ref.weight)


def test_mid_norm_and_activation_run_between_the_steps():
    torch.manual_seed(3)
    layer = DepthwiseSeparableConv2d(
        4, 8, 3, padding=1, mid_norm=nn.BatchNorm2d, mid_activation=nn.ReLU
    ).eval()
    with torch.no_grad():
        layer.norm.running_mean.uniform_(-1, 1)
        layer.norm.running_var.uniform_(0.5, 2)
    assert isinstance(layer.norm, nn.BatchNorm2d) and layer.norm.num_features == 4
    assert isinstance(layer.activation, nn.ReLU)
    x = torch.randn(2, 4, 9, 9)
    manual = layer.pointwise(torch.relu(layer.norm(layer.depthwise(x))))
    torch.testing.assert_close(layer(x), manual)
    with pytest.raises(ValueError, match="mid_norm"):
        layer.dense_weight()
    # Xception style: nothing between the steps.
    plain = DepthwiseSeparableConv2d(4, 8, 3)
    assert plain.norm is None and plain.activation is None
    # Modules are used as given.
    act = nn.ReLU6()
    assert DepthwiseSeparableConv2d(4, 8, 3, mid_activation=act).activation is act


def test_properties_mirror_conv2d():
    layer = DepthwiseSeparableConv2d(
        4,
        8,
        (3, 5),
        depth_multiplier=2,
        stride=2,
        padding=(1, 2),
        dilation=1,
        padding_mode="reflect",
    )
    assert (
        layer.in_channels,
        layer.out_channels,
        layer.kernel_size,
        layer.stride,
        layer.padding,
        layer.depth_multiplier,
        layer.padding_mode,
    ) == (4, 8, (3, 5), (2, 2), (1, 2), 2, "reflect")
    assert isinstance(layer.depthwise, nn.Conv2d) and layer.depthwise.groups == 4
    assert isinstance(layer.pointwise, nn.Conv2d) and layer.pointwise.kernel_size == (1, 1)
    sp = SpatialSeparableConv2d(
        4, 8, (3, 5), mid_channels=6, stride=(2, 1), padding=(1, 2), dilation=(1, 2)
    )
    assert (
        sp.in_channels,
        sp.mid_channels,
        sp.out_channels,
        sp.kernel_size,
        sp.stride,
        sp.dilation,
        sp.padding,
    ) == (4, 6, 8, (3, 5), (2, 1), (1, 2), (1, 2))
    assert sp.vertical.kernel_size == (3, 1) and sp.horizontal.kernel_size == (1, 5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_device_dtype_and_autograd(device, dtype):
    layer = DepthwiseSeparableConv2d(
        3,
        8,
        3,
        padding=1,
        mid_norm=nn.BatchNorm2d,
        mid_activation=nn.ReLU,
        device=device,
        dtype=dtype,
    )
    assert {p.dtype for p in layer.parameters()} == {dtype}
    assert {p.device.type for p in layer.parameters()} == {torch.device(device).type}
    x = torch.randn(2, 3, 8, 8, device=device, dtype=dtype, requires_grad=True)
    layer(x).square().sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in layer.parameters())


def test_half_precision_forward_matches_float32():
    torch.manual_seed(4)
    layer = DepthwiseSeparableConv2d(3, 8, 3, padding=1)
    x = torch.randn(1, 3, 8, 8)
    expected = layer(x)
    half = layer.to(torch.bfloat16)(x.to(torch.bfloat16))
    torch.testing.assert_close(half.float(), expected, atol=5e-2, rtol=5e-2)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="in_channels"):
        DepthwiseConv2d(0, 3)
    with pytest.raises(ValueError, match="depth_multiplier"):
        DepthwiseSeparableConv2d(3, 8, 3, depth_multiplier=0)
    with pytest.raises(TypeError, match="out_channels"):
        PointwiseConv2d(3, 2.5)
    with pytest.raises(ValueError, match="mid_channels"):
        SpatialSeparableConv2d(3, 8, 3, mid_channels=0)
    with pytest.raises(ValueError, match="kernel_size"):
        SpatialSeparableConv2d(3, 8, (3, 3, 3), mid_channels=2)
    with pytest.raises(TypeError, match="mid_norm"):
        DepthwiseSeparableConv2d(3, 8, 3, mid_norm="batchnorm")
