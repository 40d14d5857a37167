"""The tensor forms of the filters with a natural one: 1-D passes of sepconv.torch.

Each function takes the NumPy filter's bound arguments and returns a tensor of
the input's shape, differentiable with respect to it.  The passes are those the
NumPy filter makes (same weights, modes, origins), computed by
:func:`sepconv.torch.correlate`, so results equal the NumPy ones within float
rounding (the tensor path accumulates in the tensor's dtype).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args
from ._filters import gaussian_weights

__all__ = [
    "correlate1d_tensor",
    "gaussian_filter_tensor",
    "laplace_tensor",
    "prewitt_tensor",
    "sobel_tensor",
    "uniform_filter_tensor",
]


def _pass(x: Any, weights: Any, axis: int, mode: str, cval: Any, origin: int = 0) -> Any:
    from .. import torch as sepconv_torch

    w = np.asarray(weights, dtype=np.float64)
    return sepconv_torch.correlate(
        x, w, mode=_args.to_mode(mode), cval=cval, origin=origin, axes=(axis,)
    )


def _no_output(output: Any) -> None:
    if output is not None:
        raise TypeError("output must be None for a torch.Tensor input; the result is returned")


def correlate1d_tensor(input, weights, axis, output, mode, cval, origin, workers=None, **_):
    _no_output(output)
    w = np.asarray(weights)
    if w.ndim != 1 or w.size < 1:
        raise _args.FilterArgumentError(
            f"weights must be a non-empty 1-D sequence, got shape {w.shape}"
        )
    axis = _args.check_axis(axis, input.dim())
    return _pass(input, w, axis, mode, cval, _args.to_origin(origin, w.size))


def gaussian_filter_tensor(input, sigma, order, output, mode, cval, truncate, radius, axes, **_):
    _no_output(output)
    axes = _args.to_axes(axes, input.dim())
    n = len(axes)
    orders = _args.to_sequence(order, n, "order")
    sigmas = _args.to_sequence(sigma, n, "sigma")
    modes = _args.to_sequence(mode, n, "mode")
    radii = _args.to_sequence(radius, n, "radius")
    y = input
    for ax, s, o, m, r in zip(axes, sigmas, orders, modes, radii):
        if s > 1e-15:
            y = _pass(y, np.array(gaussian_weights(s, o, truncate, r)), ax, m, cval)
    return y if y is not input else input.clone()


def uniform_filter_tensor(input, size, output, mode, cval, origin, axes, **_):
    _no_output(output)
    axes = _args.to_axes(axes, input.dim())
    n = len(axes)
    sizes = _args.to_sequence(size, n, "size")
    origins = _args.to_sequence(origin, n, "origin")
    modes = _args.to_sequence(mode, n, "mode")
    y = input
    for ax, s, o, m in zip(axes, sizes, origins, modes):
        if s > 1:
            y = _pass(y, np.full(int(s), 1.0 / int(s)), ax, m, cval, _args.to_origin(o, int(s)))
    return y if y is not input else input.clone()


def _edge_tensor(input, axis, output, mode, cval, smooth):
    _no_output(output)
    axis = _args.check_axis(axis, input.dim())
    modes = _args.to_sequence(mode, input.dim(), "mode")
    y = _pass(input, [-1.0, 0.0, 1.0], axis, modes[axis], cval)
    for ax in range(input.dim()):
        if ax != axis:
            y = _pass(y, smooth, ax, modes[ax], cval)
    return y


def sobel_tensor(input, axis, output, mode, cval, **_):
    return _edge_tensor(input, axis, output, mode, cval, [1.0, 2.0, 1.0])


def prewitt_tensor(input, axis, output, mode, cval, **_):
    return _edge_tensor(input, axis, output, mode, cval, [1.0, 1.0, 1.0])


def laplace_tensor(input, output, mode, cval, axes, **_):
    _no_output(output)
    axes = _args.to_axes(axes, input.dim())
    if not axes:
        return input.clone()
    modes = _args.to_sequence(mode, len(axes), "mode")
    y = _pass(input, [1.0, -2.0, 1.0], axes[0], modes[0], cval)
    for ax, m in zip(axes[1:], modes[1:]):
        y = y + _pass(input, [1.0, -2.0, 1.0], ax, m, cval)
    return y
