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


def _passes(input, passes, cval, nan_policy="propagate", mask=None):
    """1-D passes ``(weights, axis, mode, origin)`` in order; normalized convolution
    (:func:`sepconv.torch.skipping`) when samples are skipped."""
    omit = _args.to_nan_policy(nan_policy) == "omit"

    def run(y, c):
        for w, ax, m, o in passes:
            y = _pass(y, w, ax, m, c, o)
        return y if y is not input else input.clone()

    if not omit and mask is None:
        return run(input, cval)
    from .. import torch as sepconv_torch
    from .._normalized import no_valid_tol

    weights = [np.asarray(p[0], dtype=np.float64) for p in passes]
    _args.check_one_sign(weights)
    mask = sepconv_torch._mask_tensor(mask, input)
    tol = no_valid_tol(weights) if weights else 0.0
    return sepconv_torch.skipping(input, mask, omit, run, _args.real_cval(cval), tol)


def correlate1d_tensor(
    input, weights, axis, output, mode, cval, origin, nan_policy="propagate", mask=None, **_
):
    _no_output(output)
    w = np.asarray(weights)
    if w.ndim != 1 or w.size < 1:
        raise _args.FilterArgumentError(
            f"weights must be a non-empty 1-D sequence, got shape {w.shape}"
        )
    axis = _args.check_axis(axis, input.dim())
    origin = _args.to_origin(origin, w.size)
    return _passes(input, [(w, axis, mode, origin)], cval, nan_policy, mask)


def gaussian_filter_tensor(
    input,
    sigma,
    order,
    output,
    mode,
    cval,
    truncate,
    radius,
    axes,
    nan_policy="propagate",
    mask=None,
    **_,
):
    _no_output(output)
    axes = _args.to_axes(axes, input.dim())
    n = len(axes)
    orders = _args.to_sequence(order, n, "order")
    sigmas = _args.to_sequence(sigma, n, "sigma")
    modes = _args.to_sequence(mode, n, "mode")
    radii = _args.to_sequence(radius, n, "radius")
    passes = [
        (np.array(gaussian_weights(s, o, truncate, r)), ax, m, 0)
        for ax, s, o, m, r in zip(axes, sigmas, orders, modes, radii)
        if s > 1e-15
    ]
    return _passes(input, passes, cval, nan_policy, mask)


def uniform_filter_tensor(
    input, size, output, mode, cval, origin, axes, nan_policy="propagate", mask=None, **_
):
    _no_output(output)
    axes = _args.to_axes(axes, input.dim())
    n = len(axes)
    sizes = _args.to_sequence(size, n, "size")
    origins = _args.to_sequence(origin, n, "origin")
    modes = _args.to_sequence(mode, n, "mode")
    passes = [
        (np.full(int(s), 1.0 / int(s)), ax, m, _args.to_origin(o, int(s)))
        for ax, s, o, m in zip(axes, sizes, origins, modes)
        if s > 1
    ]
    return _passes(input, passes, cval, nan_policy, mask)


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
