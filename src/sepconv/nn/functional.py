"""Depthwise convolutions with ``torch.nn.functional``'s arguments and a fast CPU backward.

``depthwise_conv2d(x, w, b, stride, padding, dilation, groups)`` returns what
``F.conv2d`` does for ``groups == in_channels`` (depth multiplier
``w.shape[0] // in_channels`` included), and so for 1-D and 3-D.  On the CPU,
in float32 and float64, contiguous or channels-last, the forward, the
gradient of the input and the gradient of the weight run on sepconv's Numba
kernels wherever they measure faster than PyTorch's for that shape and
thread count (PyTorch's CPU depthwise backward is slow: pytorch#13716,
#18631, #37406); everything else -- GPU tensors, other dtypes, scripting,
tracing, compiling -- is ``F.conv2d`` unchanged.  The kernels' results agree
with PyTorch's to rounding and do not depend on the thread count; under
``torch.use_deterministic_algorithms(True)`` nothing is timed and sepconv's
kernels always run (a choice by timing could differ between runs).  See
``sepconv/nn/_depthwise.py``.
"""

from __future__ import annotations

import torch

from ._depthwise import depthwise

__all__ = ["depthwise_conv1d", "depthwise_conv2d", "depthwise_conv3d"]

_Size = int | tuple[int, ...]
_Padding = int | tuple[int, ...] | str


def depthwise_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: _Size = 1,
    padding: _Padding = 0,
    dilation: _Size = 1,
    groups: int | None = None,
) -> torch.Tensor:
    """``torch.nn.functional.conv2d`` for a depthwise convolution, with a fast CPU backward.

    Parameters
    ----------
    input : Tensor
        ``(N, C, H, W)`` or unbatched ``(C, H, W)``.
    weight : Tensor
        ``(C * M, 1, kh, kw)``: ``M`` filters per input channel (output
        channel ``c * M + m`` is filter ``m`` of channel ``c``).
    bias : Tensor, optional
        ``(C * M,)``.
    stride, padding, dilation
        As for ``F.conv2d``, ``padding="same"`` and ``"valid"`` included.
    groups : int, optional
        ``C``, the only value a depthwise convolution has; ``None`` means ``C``.

    Returns
    -------
    Tensor
        ``F.conv2d(input, weight, bias, stride, padding, dilation, C)``, in
        the input's memory format.

    Raises
    ------
    ValueError
        If ``groups`` is not the input's channel count.  Other bad arguments
        raise PyTorch's own errors.

    Examples
    --------
    >>> import torch
    >>> from torch.nn import functional as F
    >>> from sepconv.nn.functional import depthwise_conv2d
    >>> x = torch.randn(2, 8, 16, 16, requires_grad=True)
    >>> w = torch.randn(8, 1, 3, 3, requires_grad=True)
    >>> y = depthwise_conv2d(x, w, padding=1)
    >>> torch.allclose(y, F.conv2d(x, w, padding=1, groups=8), atol=1e-5)
    True
    >>> y.square().sum().backward()
    >>> w.grad.shape
    torch.Size([8, 1, 3, 3])
    """
    return depthwise(input, weight, bias, stride, padding, dilation, groups, 2)


def depthwise_conv1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: _Size = 1,
    padding: _Padding = 0,
    dilation: _Size = 1,
    groups: int | None = None,
) -> torch.Tensor:
    """:func:`depthwise_conv2d` for ``(N, C, L)`` inputs and ``(C * M, 1, k)`` weights.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn.functional import depthwise_conv1d
    >>> depthwise_conv1d(torch.ones(1, 2, 5), torch.ones(2, 1, 3), padding="same")
    tensor([[[2., 3., 3., 3., 2.],
             [2., 3., 3., 3., 2.]]])
    """
    return depthwise(input, weight, bias, stride, padding, dilation, groups, 1)


def depthwise_conv3d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: _Size = 1,
    padding: _Padding = 0,
    dilation: _Size = 1,
    groups: int | None = None,
) -> torch.Tensor:
    """:func:`depthwise_conv2d` for ``(N, C, D, H, W)`` inputs, ``(C * M, 1, kd, kh, kw)`` weights.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn.functional import depthwise_conv3d
    >>> depthwise_conv3d(torch.ones(1, 3, 4, 4, 4), torch.ones(6, 1, 2, 2, 2)).shape
    torch.Size([1, 6, 3, 3, 3])
    """
    return depthwise(input, weight, bias, stride, padding, dilation, groups, 3)
