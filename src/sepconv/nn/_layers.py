"""Depthwise, pointwise and separable convolution layers with ``nn.Conv2d``'s arguments.

:class:`DepthwiseConv2d` and :class:`PointwiseConv2d` *are* ``nn.Conv2d``
(subclasses with ``groups`` / ``kernel_size`` fixed), so every tool that knows
``nn.Conv2d`` (fusion, quantisation, counters that check ``isinstance``) knows
them too.  The two separable layers are a pair of such convolutions.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from .._args import check_positive_int
from . import _depthwise, _inference

__all__ = [
    "DepthwiseConv1d",
    "DepthwiseConv2d",
    "DepthwiseConv3d",
    "DepthwiseSeparableConv2d",
    "PointwiseConv2d",
    "SpatialSeparableConv2d",
]

_Size2 = int | tuple[int, int]
_Padding = int | tuple[int, int] | str


def _pair(value: _Size2, name: str, minimum: int = 1) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (
            check_positive_int(value[0], name, minimum),
            check_positive_int(value[1], name, minimum),
        )
    v = check_positive_int(value, name, minimum)
    return (v, v)


class _Depthwise:
    """The depthwise layers' shared part: ``nn.ConvNd`` with ``groups=in_channels``, our kernels.

    ``_conv_forward`` (called by ``nn.ConvNd.forward``) computes the same
    convolution through :func:`sepconv.nn._depthwise.depthwise`, whose CPU
    kernels make the backward cost about what the forward does, and which
    keeps PyTorch's kernels wherever they measure faster.  Scripted, it is
    ``nn.ConvNd``'s own.
    """

    _dims: int

    def __init__(
        self,
        in_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] | str = 0,
        dilation: int | tuple[int, ...] = 1,
        *,
        depth_multiplier: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        in_channels = check_positive_int(in_channels, "in_channels")
        self.depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
        super().__init__(
            in_channels,
            in_channels * self.depth_multiplier,
            kernel_size,
            stride,
            padding,
            dilation,
            groups=in_channels,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )

    def _conv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        if torch.jit.is_scripting():
            return self._scripted(input, weight, bias)
        return self._sepconv_forward(input, weight, bias)

    # The inference path may replace this layer by its fused kernel: it computes
    # exactly the convolution nn.ConvNd would (sepconv/nn/_inference.py).
    _conv_forward.computes_conv = True

    @torch.jit.unused
    def _sepconv_forward(self, input: torch.Tensor, weight: torch.Tensor, bias) -> torch.Tensor:
        padding = self.padding
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        return _depthwise.depthwise(
            input, weight, bias, self.stride, padding, self.dilation, self.groups, self._dims
        )


class DepthwiseConv2d(_Depthwise, nn.Conv2d):
    """One ``kernel_size`` filter per input channel (``depth_multiplier`` of them).

    An ``nn.Conv2d`` with ``groups=in_channels`` and
    ``out_channels = in_channels * depth_multiplier``; output channel
    ``c * depth_multiplier + m`` is filter ``m`` of input channel ``c`` (Keras'
    ``DepthwiseConv2D`` order).  On the CPU it runs sepconv's depthwise
    kernels where they measure faster than PyTorch's, the backward above all
    (see :func:`sepconv.nn.functional.depthwise_conv2d`).

    Parameters
    ----------
    in_channels : int
    kernel_size : int or (int, int)
    depth_multiplier : int
        Filters per input channel.
    stride, padding, dilation, bias, padding_mode, device, dtype
        As for :class:`torch.nn.Conv2d` (``padding="same"`` included).

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import DepthwiseConv2d
    >>> layer = DepthwiseConv2d(3, 5, depth_multiplier=2, bias=False)
    >>> layer.weight.shape, layer(torch.zeros(1, 3, 12, 12)).shape
    (torch.Size([6, 1, 5, 5]), torch.Size([1, 6, 8, 8]))
    """

    _dims = 2

    def _scripted(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        # nn.Conv2d._conv_forward, for TorchScript (which compiles each method once by name).
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(input, weight, bias, self.stride, (0, 0), self.dilation, self.groups)
        return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class DepthwiseConv1d(_Depthwise, nn.Conv1d):
    """:class:`DepthwiseConv2d` for ``(N, C, L)`` signals: an ``nn.Conv1d`` with ``groups=C``.

    Same arguments (ints or 1-tuples), same kernels.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import DepthwiseConv1d
    >>> DepthwiseConv1d(4, 3, padding=1)(torch.zeros(2, 4, 10)).shape
    torch.Size([2, 4, 10])
    """

    _dims = 1

    def _scripted(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        # nn.Conv1d._conv_forward, for TorchScript (which compiles each method once by name).
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv1d(input, weight, bias, self.stride, 0, self.dilation, self.groups)
        return F.conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class DepthwiseConv3d(_Depthwise, nn.Conv3d):
    """:class:`DepthwiseConv2d` for ``(N, C, D, H, W)`` volumes: an ``nn.Conv3d`` with ``groups=C``.

    Same arguments (ints or 3-tuples), same kernels; PyTorch's own CPU
    backward is slowest here (pytorch#37406).

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import DepthwiseConv3d
    >>> DepthwiseConv3d(2, 3, padding=1)(torch.zeros(1, 2, 4, 5, 6)).shape
    torch.Size([1, 2, 4, 5, 6])
    """

    _dims = 3

    def _scripted(self, input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None):
        # nn.Conv3d._conv_forward, for TorchScript (which compiles each method once by name).
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv3d(input, weight, bias, self.stride, (0, 0, 0), self.dilation, self.groups)
        return F.conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)


class PointwiseConv2d(nn.Conv2d):
    """A 1 x 1 convolution: a per-pixel linear map from ``in_channels`` to ``out_channels``.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import PointwiseConv2d
    >>> PointwiseConv2d(3, 256, bias=False).weight.numel()
    768
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            check_positive_int(in_channels, "in_channels"),
            check_positive_int(out_channels, "out_channels"),
            1,
            bias=bias,
            device=device,
            dtype=dtype,
        )


class DepthwiseSeparableConv2d(nn.Module):
    """Depthwise ``kernel_size`` filtering, then a pointwise 1 x 1 mix (MobileNet, Xception).

    Computes ``pointwise(activation(norm(depthwise(x))))``; without
    ``mid_norm`` and ``mid_activation`` (Xception, Keras' ``SeparableConv2D``)
    it is a linear layer equal to an ``nn.Conv2d`` whose weight is
    :meth:`dense_weight`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    depth_multiplier : int
        Depthwise filters per input channel.
    stride, padding, dilation, padding_mode
        Those of the depthwise step, as for :class:`torch.nn.Conv2d`.
    bias : bool
        Bias of the pointwise step.  The depthwise step has none, as in Keras
        and timm: with nothing between the steps a depthwise bias folds into the
        pointwise one, and a normalisation removes it anyway.
    mid_norm : callable, optional
        Called with the number of intermediate channels
        (``in_channels * depth_multiplier``) to build the normalisation, e.g.
        ``torch.nn.BatchNorm2d``; an ``nn.Module`` is used as given.
    mid_activation : callable, optional
        An ``nn.Module`` (``torch.nn.ReLU(inplace=True)``) or a callable without
        arguments that builds one (``torch.nn.ReLU``).
    device, dtype
        As for :class:`torch.nn.Conv2d`.

    Attributes
    ----------
    depthwise : DepthwiseConv2d
    norm, activation : nn.Module or None
    pointwise : PointwiseConv2d

    Notes
    -----
    In eval mode with gradients disabled (``torch.no_grad()``,
    ``torch.inference_mode()``), on the CPU and for a float32 channels-last
    input, the layer may run a faster inference path: the pointwise step as
    MKL ``sgemm`` over strips, or the depthwise and pointwise steps fused
    strip by strip.  The first calls of each shape and thread count measure
    them against the plain path and keep the fastest, and a path other than
    the plain one only if it is clearly faster (see ``sepconv/nn/_inference.py``).
    The paths agree to float32 rounding, not bit for bit, so those first calls
    may differ from each other in the last bits.  Training, and any call with
    gradients enabled, always runs the plain path, whose depthwise step
    (:class:`DepthwiseConv2d`) measures sepconv's depthwise kernels against
    PyTorch's in the same way, forward and backward apart: PyTorch's CPU
    depthwise backward is many times its forward.

    Examples
    --------
    The article's example, 3 -> 256 channels with a 5 x 5 kernel, has
    75 + 768 = 843 weights instead of 19,200:

    >>> import torch
    >>> from sepconv.nn import DepthwiseSeparableConv2d
    >>> layer = DepthwiseSeparableConv2d(3, 256, 5, bias=False)
    >>> layer.depthwise.weight.numel(), layer.pointwise.weight.numel()
    (75, 768)
    >>> layer(torch.zeros(1, 3, 12, 12)).shape
    torch.Size([1, 256, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Size2,
        stride: _Size2 = 1,
        padding: _Padding = 0,
        dilation: _Size2 = 1,
        *,
        depth_multiplier: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        mid_norm: Callable[[int], nn.Module] | nn.Module | None = None,
        mid_activation: Callable[[], nn.Module] | nn.Module | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.depthwise = DepthwiseConv2d(
            in_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            depth_multiplier=depth_multiplier,
            bias=False,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        mid = self.depthwise.out_channels
        self.norm = _build(mid_norm, "mid_norm", mid, device, dtype)
        self.activation = _build(mid_activation, "mid_activation", None, device, dtype)
        self.pointwise = PointwiseConv2d(mid, out_channels, bias=bias, device=device, dtype=dtype)

    in_channels = property(lambda self: self.depthwise.in_channels)
    out_channels = property(lambda self: self.pointwise.out_channels)
    kernel_size = property(lambda self: self.depthwise.kernel_size)
    stride = property(lambda self: self.depthwise.stride)
    padding = property(lambda self: self.depthwise.padding)
    dilation = property(lambda self: self.depthwise.dilation)
    padding_mode = property(lambda self: self.depthwise.padding_mode)
    depth_multiplier = property(lambda self: self.depthwise.depth_multiplier)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or torch.is_grad_enabled():
            return self._forward_plain(x)
        # Eval without gradients: the fastest of the measured inference paths,
        # this code among them (_inference.py).
        return _inference.forward(self, x, self._forward_plain)

    def _forward_plain(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise(x)
        if self.norm is not None:
            x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        return self.pointwise(x)

    def dense_weight(self) -> torch.Tensor:
        """The ``(out_channels, in_channels, kh, kw)`` weight of the equal ``nn.Conv2d``.

        ``W[o, c] = sum_m P[o, c*M + m] * D[c*M + m]`` for depth multiplier ``M``.
        Defined only without ``mid_norm`` / ``mid_activation`` (otherwise the
        layer is not a single convolution).
        """
        if self.norm is not None or self.activation is not None:
            raise ValueError(
                "dense_weight is defined only for a layer without mid_norm and mid_activation"
            )
        m = self.depth_multiplier
        d = self.depthwise.weight.reshape(self.in_channels, m, *self.kernel_size)
        p = self.pointwise.weight.reshape(self.out_channels, self.in_channels, m)
        return torch.einsum("ocm,cmij->ocij", p, d)


class SpatialSeparableConv2d(nn.Module):
    """A ``kh x 1`` convolution into ``mid_channels``, then a ``1 x kw`` one (Jaderberg 2014).

    Stride, padding and dilation are split by axis: the vertical step applies
    the first component of each, the horizontal step the second, so the layer
    equals an ``nn.Conv2d`` with the given arguments and weight
    :meth:`dense_weight` -- for every ``padding_mode``, since padding acts on
    each axis independently.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    mid_channels : int
        Channels between the two steps (the rank of the factorisation).
    stride, padding, dilation, padding_mode, device, dtype
        As for :class:`torch.nn.Conv2d`.
    bias : bool
        Bias of the horizontal (second) step; the vertical step has none.

    Attributes
    ----------
    vertical : nn.Conv2d
        ``(mid_channels, in_channels, kh, 1)`` weight.
    horizontal : nn.Conv2d
        ``(out_channels, mid_channels, 1, kw)`` weight.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import SpatialSeparableConv2d
    >>> layer = SpatialSeparableConv2d(64, 64, 3, mid_channels=32, padding=1)
    >>> layer.vertical.weight.shape, layer.horizontal.weight.shape
    (torch.Size([32, 64, 3, 1]), torch.Size([64, 32, 1, 3]))
    >>> layer(torch.zeros(2, 64, 10, 10)).shape
    torch.Size([2, 64, 10, 10])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: _Size2,
        stride: _Size2 = 1,
        padding: _Padding = 0,
        dilation: _Size2 = 1,
        *,
        mid_channels: int,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        in_channels = check_positive_int(in_channels, "in_channels")
        out_channels = check_positive_int(out_channels, "out_channels")
        mid_channels = check_positive_int(mid_channels, "mid_channels")
        kh, kw = _pair(kernel_size, "kernel_size")
        sh, sw = _pair(stride, "stride")
        dh, dw = _pair(dilation, "dilation")
        if isinstance(padding, str):
            ph = pw = padding
        else:
            ph, pw = _pair(padding, "padding", minimum=0)
        self.vertical = nn.Conv2d(
            in_channels,
            mid_channels,
            (kh, 1),
            (sh, 1),
            ph if isinstance(ph, str) else (ph, 0),
            (dh, 1),
            bias=False,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        self.horizontal = nn.Conv2d(
            mid_channels,
            out_channels,
            (1, kw),
            (1, sw),
            pw if isinstance(pw, str) else (0, pw),
            (1, dw),
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        self.padding = padding if isinstance(padding, str) else (ph, pw)

    in_channels = property(lambda self: self.vertical.in_channels)
    mid_channels = property(lambda self: self.vertical.out_channels)
    out_channels = property(lambda self: self.horizontal.out_channels)
    kernel_size = property(
        lambda self: (self.vertical.kernel_size[0], self.horizontal.kernel_size[1])
    )
    stride = property(lambda self: (self.vertical.stride[0], self.horizontal.stride[1]))
    dilation = property(lambda self: (self.vertical.dilation[0], self.horizontal.dilation[1]))
    padding_mode = property(lambda self: self.vertical.padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.horizontal(self.vertical(x))

    def dense_weight(self) -> torch.Tensor:
        """The ``(out_channels, in_channels, kh, kw)`` weight of the equal ``nn.Conv2d``.

        ``W[o, c, i, j] = sum_k H[o, k, 0, j] * V[k, c, i, 0]``.
        """
        return torch.einsum(
            "okj,kci->ocij", self.horizontal.weight[:, :, 0, :], self.vertical.weight[:, :, :, 0]
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"mid_channels={self.mid_channels}"
        )


def _build(
    spec: Callable[..., nn.Module] | nn.Module | None,
    name: str,
    channels: int | None,
    device: torch.device | str | None,
    dtype: torch.dtype | None,
) -> nn.Module | None:
    if spec is None or isinstance(spec, nn.Module):
        return spec
    if not callable(spec):
        raise TypeError(
            f"{name} must be an nn.Module, a callable building one, or None; "
            f"got {type(spec).__name__}"
        )
    module = spec() if channels is None else spec(channels)
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must build an nn.Module, got {type(module).__name__}")
    if device is not None or dtype is not None:
        module = module.to(device=device, dtype=dtype)
    return module
