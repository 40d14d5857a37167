"""The tensor forms of the filters with a natural one: 1-D passes of sepconv.torch.

Each function takes the NumPy filter's bound arguments and returns a tensor of
the input's shape, differentiable with respect to it.  The passes are those the
NumPy filter makes (same weights, modes, origins), computed by
:func:`sepconv.torch.correlate`, so results equal the NumPy ones within float
rounding (the tensor path accumulates in the tensor's dtype).

Minimum and maximum filters (and grey morphology) have no rounding: a tensor
on the CPU that needs no gradient runs the NumPy function itself (scipy's
bits, NaN included); otherwise windows are gathered with the engine's
boundary rule (``Tensor.unfold`` of the extended tensor, a ``max_pool`` with
every mode) and reduced with ``torch.amin`` / ``torch.amax``, whose gradient
goes to the window's extreme (split evenly between ties).  Values then equal
the NumPy ones except where scipy's order-dependent NaN rule or the sign of a
zero among equal values decides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args
from .._boundary import kernel_reach
from ._filters import gaussian_weights
from ._morphology import reflected
from ._uniform import _box_origin, _size

__all__ = [
    "composite_tensor",
    "correlate1d_tensor",
    "gaussian_filter_tensor",
    "laplace_tensor",
    "minmax1d_tensor",
    "minmax_tensor",
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


# --------------------------------------------------------------------------- min / max


def _runs_numpy(x: Any) -> bool:
    import torch

    return x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled())


def _via_numpy(func: Any, x: Any, **kwargs: Any) -> Any:
    import torch

    return torch.from_numpy(np.asarray(func(x.detach().numpy(), **kwargs)))


def _window(x: Any, axis: int, size: int, mode: str, cval: float, origin: int, minimum: bool):
    before, after = kernel_reach(size, origin)
    y = _extend(x, axis, before, after, mode, cval).unfold(axis, size, 1)
    return y.amin(-1) if minimum else y.amax(-1)


def _minmax(x, size, footprint, structure, mode, cval, origin, axes, minimum):
    """The min (max) filter of a tensor, by scipy's choice of separable or N-D."""
    import torch

    ndim = x.dim()
    axes = _args.to_axes(axes, ndim)
    cval = _args.real_cval(cval)
    if structure is None and footprint is not None:
        fp = np.asarray(footprint, dtype=bool)
        if not fp.any():
            raise ValueError("All-zero footprint is not supported.")
        if fp.all():
            size, footprint = fp.shape, None
    if structure is None and footprint is None:
        if size is None:
            raise _args.FilterArgumentError("no footprint provided (pass size= or footprint=)")
        n = len(axes)
        y = x
        for ax, s, o, m in zip(
            axes,
            _args.to_sequence(size, n, "size"),
            _args.to_sequence(origin, n, "origin"),
            _args.to_sequence(mode, n, "mode"),
        ):
            if s > 1:
                s = int(s)
                y = _window(y, ax, s, _args.to_mode(m), cval, _box_origin(o, s), minimum)
        return y if y is not x else x.clone()
    st = None if structure is None else np.asarray(structure, dtype=np.float64)
    fp = np.ones(st.shape, bool) if footprint is None else np.asarray(footprint, dtype=bool)
    if len(axes) < ndim:
        others = tuple(ax for ax in range(ndim) if ax not in axes)
        fp = np.expand_dims(fp, others)
        st = None if st is None else np.expand_dims(st, others)
    if fp.ndim != ndim:
        raise _args.FilterArgumentError(
            f"footprint.ndim ({fp.ndim}) must match len(axes) ({len(axes)})"
        )
    # scipy's _expand_origin: entries follow axes, or the array's axes when all are filtered
    origins = _args.to_sequence(origin, len(axes), "origin")
    if len(axes) < ndim:
        expanded = [0] * ndim
        for o, ax in zip(origins, axes):
            expanded[ax] = o
        origins = expanded
    if not isinstance(mode, str):
        raise _args.FilterArgumentError(
            "A sequence of modes is not supported for non-separable footprints"
        )
    mode = _args.to_mode(mode)
    y = x
    kept = []
    for ax in range(ndim):
        k = fp.shape[ax]
        if k > 1 or origins[ax] != 0:
            before, after = kernel_reach(k, _box_origin(origins[ax], k))
            y = _extend(y, ax, before, after, mode, cval) if before or after else y
        kept.append(k)
    for ax in range(ndim):
        y = y.unfold(ax, kept[ax], 1)
    values = y.reshape(*x.shape, -1)[..., torch.from_numpy(np.flatnonzero(fp)).to(x.device)]
    if st is not None:
        offsets = torch.as_tensor(st[fp], dtype=x.dtype, device=x.device)
        values = values - offsets if minimum else values + offsets
    return values.amin(-1) if minimum else values.amax(-1)


def _extend(*args: Any) -> Any:
    from ..torch import _extend as extend

    return extend(*args)


def minmax1d_tensor(func: Any, minimum: bool) -> Any:
    """The tensor form of ``minimum_filter1d`` / ``maximum_filter1d`` (``func``)."""

    def tensor(input, size, axis, output, mode, cval, origin, workers=None, **_):
        _no_output(output)
        if _runs_numpy(input):
            return _via_numpy(
                func, input, size=size, axis=axis, mode=mode, cval=cval, origin=origin
            )
        axis = _args.check_axis(axis, input.dim())
        size = _size(size)
        origin = _box_origin(origin, size)
        return _window(
            input, axis, size, _args.to_mode(mode), _args.real_cval(cval), origin, minimum
        )

    return tensor


def minmax_tensor(func: Any, minimum: bool, dilation: bool = False) -> Any:
    """The tensor form of a minimum / maximum filter, erosion or dilation (``func``)."""

    def tensor(
        input,
        size=None,
        footprint=None,
        output=None,
        mode="reflect",
        cval=0.0,
        origin=0,
        axes=None,
        workers=None,
        structure=None,
        **_,
    ):
        _no_output(output)
        if _runs_numpy(input):
            extra = {} if structure is None else {"structure": structure}
            return _via_numpy(
                func,
                input,
                size=size,
                footprint=footprint,
                mode=mode,
                cval=cval,
                origin=origin,
                axes=axes,
                **extra,
            )
        if dilation:
            if size is None and footprint is None and structure is None:
                raise ValueError("size, footprint, or structure must be specified")
            footprint, structure, origin = reflected(
                input.dim(), size, footprint, structure, origin, axes
            )
        return _minmax(input, size, footprint, structure, mode, cval, origin, axes, minimum)

    return tensor


def composite_tensor(func: Any, kind: str) -> Any:
    """The tensor form of an opening, closing, gradient, Laplace or top-hat (``func``)."""
    erode = minmax_tensor(None, True)
    dilate = minmax_tensor(None, False, dilation=True)

    def tensor(input, size=None, footprint=None, structure=None, output=None, **kwargs):
        _no_output(output)
        kwargs.pop("workers", None)
        if _runs_numpy(input):
            return _via_numpy(
                func, input, size=size, footprint=footprint, structure=structure, **kwargs
            )
        if size is None and footprint is None and structure is None:
            raise ValueError("size, footprint, or structure must be specified")
        window = {"size": size, "footprint": footprint, "structure": structure, **kwargs}
        if kind == "opening":
            return dilate(erode(input, **window), **window)
        if kind == "closing":
            return erode(dilate(input, **window), **window)
        if kind == "gradient":
            return dilate(input, **window) - erode(input, **window)
        if kind == "laplace":
            return dilate(input, **window) + erode(input, **window) - input - input
        if kind == "white":
            opened = dilate(erode(input, **window), **window)
            return input ^ opened if input.dtype == _bool() else input - opened
        closed = erode(dilate(input, **window), **window)
        return closed ^ input if input.dtype == _bool() else closed - input

    return tensor


def _bool() -> Any:
    import torch

    return torch.bool
