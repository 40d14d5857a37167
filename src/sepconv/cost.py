"""Multiplication and parameter counts of normal and separable convolutions.

Every count in sepconv comes from here: the CLI, the report and
:func:`sepconv.profile` call these functions rather than repeating a formula.
A *multiplication* is one multiply–accumulate of a weight with an input value;
additions and bias terms are not counted.

Two conventions, chosen to match their users: :func:`spatial` and
:func:`depthwise` take shapes the way the separable-convolution literature
writes them (``H x W`` images, ``H x W x C`` inputs), while :func:`conv2d` and
:func:`linear` take PyTorch's ``(C, H, W)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ._args import check_positive_int

__all__ = [
    "DepthwiseCost",
    "LayerCost",
    "SpatialCost",
    "conv2d",
    "conv_output_length",
    "depthwise",
    "linear",
    "spatial",
]


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer: output shape, multiplications and trainable parameters."""

    output_shape: tuple[int, ...]
    multiplications: int
    params: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpatialCost:
    """Normal vs spatially separable filtering of one image with one kernel.

    ``passes`` lists ``(axis, multiplications)`` for the 1-D passes, in the order
    they run (axis 0 first); ``separable`` is their sum times ``rank``.
    """

    image_shape: tuple[int, ...]
    kernel_shape: tuple[int, ...]
    rank: int
    output_shape: tuple[int, ...]
    normal: int
    passes: tuple[tuple[int, int], ...]
    separable: int

    @property
    def ratio(self) -> float:
        """``normal / separable``: how many times fewer multiplications separating needs."""
        return self.normal / self.separable

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class DepthwiseCost:
    """A standard convolution vs its depthwise + pointwise replacement (``H x W x C``)."""

    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]
    normal: LayerCost
    depthwise: LayerCost
    pointwise: LayerCost

    @property
    def separable_multiplications(self) -> int:
        return self.depthwise.multiplications + self.pointwise.multiplications

    @property
    def separable_params(self) -> int:
        return self.depthwise.params + self.pointwise.params

    @property
    def ratio(self) -> float:
        """``normal / separable`` multiplications."""
        return self.normal.multiplications / self.separable_multiplications

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "separable_multiplications": self.separable_multiplications,
            "separable_params": self.separable_params,
            "ratio": self.ratio,
        }


def conv_output_length(
    length: int, kernel_size: int, padding: int = 0, stride: int = 1, dilation: int = 1
) -> int:
    """Output length of a convolution along one axis (PyTorch's rule).

    Examples
    --------
    >>> from sepconv import cost
    >>> cost.conv_output_length(12, 5)
    8
    >>> cost.conv_output_length(224, 3, padding=1, stride=2)
    112
    """
    length = check_positive_int(length, "length")
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    padding = check_positive_int(padding, "padding", minimum=0)
    stride = check_positive_int(stride, "stride")
    dilation = check_positive_int(dilation, "dilation")
    reach = dilation * (kernel_size - 1) + 1
    if length + 2 * padding < reach:
        raise ValueError(
            f"kernel_size {kernel_size} (dilation {dilation}) does not fit in length {length} "
            f"with padding {padding}; increase padding or use a smaller kernel"
        )
    return (length + 2 * padding - reach) // stride + 1


def conv2d(
    input_shape: Sequence[int],
    out_channels: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    bias: bool = False,
) -> LayerCost:
    """Cost of a ``torch.nn.Conv2d`` on one ``(C, H, W)`` input.

    ``multiplications = H_out * W_out * out_channels * (C / groups) * kh * kw``;
    ``params = out_channels * (C / groups) * kh * kw`` (+ ``out_channels`` with bias).

    Examples
    --------
    >>> from sepconv import cost
    >>> c = cost.conv2d((3, 12, 12), 256, 5)
    >>> c.output_shape, c.multiplications, c.params
    ((256, 8, 8), 1228800, 19200)
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
    channels = check_positive_int(input_shape[0], "input_shape[0] (channels)")
    out_channels = check_positive_int(out_channels, "out_channels")
    groups = check_positive_int(groups, "groups")
    if channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide in_channels={channels} and out_channels={out_channels}"
        )
    ks, st, pd, dl = (
        _pair(v, name)
        for v, name in (
            (kernel_size, "kernel_size"),
            (stride, "stride"),
            (padding, "padding"),
            (dilation, "dilation"),
        )
    )
    out_hw = tuple(
        conv_output_length(int(input_shape[1 + i]), ks[i], pd[i], st[i], dl[i]) for i in range(2)
    )
    per_output = (channels // groups) * ks[0] * ks[1]
    params = out_channels * per_output + (out_channels if bias else 0)
    return LayerCost((out_channels, *out_hw), math.prod(out_hw) * out_channels * per_output, params)


def linear(in_features: int, out_features: int, bias: bool = False) -> LayerCost:
    """Cost of a ``torch.nn.Linear`` on one feature vector.

    Examples
    --------
    >>> from sepconv import cost
    >>> cost.linear(512, 10, bias=True)
    LayerCost(output_shape=(10,), multiplications=5120, params=5130)
    """
    in_features = check_positive_int(in_features, "in_features")
    out_features = check_positive_int(out_features, "out_features")
    return LayerCost(
        (out_features,),
        in_features * out_features,
        in_features * out_features + (out_features if bias else 0),
    )


def spatial(
    image_shape: Sequence[int],
    kernel_shape: Sequence[int],
    rank: int = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
) -> SpatialCost:
    """Multiplications of filtering an image with a dense kernel vs ``rank`` separable terms.

    The separable way runs one 1-D pass per axis, axis 0 first.  A pass over
    axis ``a`` produces output-sized lengths on the axes already filtered and
    padded full lengths on the rest, times the kernel length along ``a``.

    Parameters
    ----------
    image_shape, kernel_shape : sequence of int
        Same number of dimensions (e.g. ``(5, 5)`` and ``(3, 3)``).
    rank : int
        Number of separable terms (1 for an exactly separable kernel).
    padding, stride : int or sequence of int
        Per-axis zero padding and stride.

    Examples
    --------
    The article's 5x5 image and 3x3 kernel without padding:

    >>> from sepconv import cost
    >>> c = cost.spatial((5, 5), (3, 3))
    >>> c.normal, c.passes, c.separable
    (81, ((0, 45), (1, 27)), 72)
    """
    image = tuple(check_positive_int(n, "image_shape") for n in image_shape)
    kernel = tuple(check_positive_int(n, "kernel_shape") for n in kernel_shape)
    if len(image) != len(kernel) or not image:
        raise ValueError(
            f"image_shape {image} and kernel_shape {kernel} must have the same, non-zero length"
        )
    rank = check_positive_int(rank, "rank")
    pads = _per_axis(padding, len(image), "padding", minimum=0)
    strides = _per_axis(stride, len(image), "stride")
    out = tuple(conv_output_length(n, k, p, s) for n, k, p, s in zip(image, kernel, pads, strides))
    normal = math.prod(out) * math.prod(kernel)
    current = [n + 2 * p for n, p in zip(image, pads)]
    passes = []
    for axis, k in enumerate(kernel):
        current[axis] = out[axis]
        passes.append((axis, math.prod(current) * k))
    separable = rank * sum(m for _, m in passes)
    return SpatialCost(image, kernel, rank, out, normal, tuple(passes), separable)


def depthwise(
    input_shape: Sequence[int],
    out_channels: int,
    kernel_size: int | Sequence[int],
    depth_multiplier: int = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
    bias: bool = False,
) -> DepthwiseCost:
    """A standard convolution vs depthwise (one k x k filter per channel) + pointwise 1x1.

    Parameters
    ----------
    input_shape : (H, W, C)
        Input height, width and channels, as the article writes them.
    out_channels : int
        Output channels of the standard convolution (and of the pointwise step).
    kernel_size : int or (kh, kw)
    depth_multiplier : int
        Filters per input channel in the depthwise step (Keras' ``depth_multiplier``).
    padding, stride : int or pair
    bias : bool
        Count bias parameters.

    Examples
    --------
    The article's 12x12x3 input, 256 filters of 5x5x3, no padding:

    >>> from sepconv import cost
    >>> c = cost.depthwise((12, 12, 3), 256, 5)
    >>> c.normal.multiplications, c.depthwise.multiplications, c.pointwise.multiplications
    (1228800, 4800, 49152)
    >>> c.separable_multiplications, c.normal.params, c.separable_params
    (53952, 19200, 843)
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {tuple(input_shape)}")
    h, w, c = (check_positive_int(n, "input_shape") for n in input_shape)
    dm = check_positive_int(depth_multiplier, "depth_multiplier")
    chw = (c, h, w)
    normal = conv2d(chw, out_channels, kernel_size, stride, padding, bias=bias)
    dw = conv2d(chw, c * dm, kernel_size, stride, padding, groups=c, bias=bias)
    pw = conv2d(dw.output_shape, out_channels, 1, bias=bias)
    n_out, h_out, w_out = normal.output_shape
    return DepthwiseCost((h, w, c), (h_out, w_out, n_out), normal, dw, pw)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    minimum = 0 if name == "padding" else 1
    if isinstance(value, (int,)) or hasattr(value, "__index__"):
        v = check_positive_int(value, name, minimum)
        return (v, v)
    values = tuple(value)
    if len(values) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return tuple(check_positive_int(v, name, minimum) for v in values)  # type: ignore[return-value]


def _per_axis(value: int | Sequence[int], n: int, name: str, minimum: int = 1) -> tuple[int, ...]:
    if isinstance(value, int) or hasattr(value, "__index__"):
        return (check_positive_int(value, name, minimum),) * n
    values = tuple(check_positive_int(v, name, minimum) for v in value)
    if len(values) != n:
        raise ValueError(f"{name} must be an int or have {n} values, got {value!r}")
    return values
