"""Derivative filters (Sobel, Prewitt, Laplace and their Gaussian forms), bit for bit.

These compose 1-D passes exactly as scipy's ``_filters.py`` does: the first
pass writes ``output``, later passes run in place on it or into temporaries of
``output``'s dtype that are then added (``output += tmp``) in that dtype, so
integer outputs wrap and truncate where scipy's do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _args, _engine
from .._docs import fill_doc
from .._replay import call_key, recorded, replay
from ._filters import (
    correlate1d,
    gaussian_filter,
    gaussian_weights,
)

__all__ = [
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_gradient_magnitude",
    "generic_laplace",
    "laplace",
    "prewitt",
    "sobel",
]


def _edge(
    input: Any,
    axis: int,
    output: Any,
    mode: Any,
    cval: Any,
    smooth: list[int],
    workers: int | None,
) -> np.ndarray:
    name = "sobel" if smooth is _SOBEL else "prewitt"
    key = call_key(name, input, output, axis, mode, cval, workers)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output)
    workers = _args.check_workers(workers)
    axis = _args.check_axis(axis, input.ndim)
    output = _args.get_output(output, input, stacklevel=5)
    modes = _args.to_sequence(mode, input.ndim, "mode")
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        correlate1d(input, _DIFF, axis, output, modes[axis], cval, 0, workers=workers)
        for ii in range(input.ndim):
            if ii != axis:
                correlate1d(output, smooth, ii, output, modes[ii], cval, 0, workers=workers)
        return output
    # Real data: validated once here, then the passes go straight to the engine
    # (the same passes correlate1d makes; small images are dominated by this path).
    modes = [_args.to_mode(m) for m in modes]
    _args.real_output(output)
    cval = _args.real_cval(cval)
    passes = [_engine.Pass(axis, _DIFF, modes[axis], 0)]
    passes += [_engine.Pass(ii, smooth, modes[ii], 0) for ii in range(input.ndim) if ii != axis]
    with recorded(key, input) as keep:
        _engine.run_passes(input, output, passes, cval, policy=_engine.EXACT, workers=workers)
        keep(output)
    return output


_DIFF = np.array([-1.0, 0.0, 1.0])
_SOBEL = np.array([1.0, 2.0, 1.0])
_PREWITT = np.array([1.0, 1.0, 1.0])
_SECOND = np.array([1.0, -2.0, 1.0])


@fill_doc
def sobel(
    input: Any,
    axis: int = -1,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Sobel derivative along ``axis``, as ``scipy.ndimage.sobel``.

    ``[-1, 0, 1]`` along ``axis``, then ``[1, 2, 1]`` along every other axis,
    each pass stored in ``output``.

    Parameters
    ----------
    %(input)s
    %(axis)s
    %(output)s
    mode : str or sequence of str, optional
        Boundary mode, or one per array axis.  Default ``'reflect'``.
    %(cval)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.sobel(np.array([[0.0, 0, 1, 1]] * 3), axis=1)[0]
    array([0., 4., 4., 0.])
    """
    return _edge(input, axis, output, mode, cval, _SOBEL, workers)


@fill_doc
def prewitt(
    input: Any,
    axis: int = -1,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """Prewitt derivative along ``axis``, as ``scipy.ndimage.prewitt``.

    Parameters
    ----------
    %(input)s
    %(axis)s
    %(output)s
    mode : str or sequence of str, optional
        Boundary mode, or one per array axis.  Default ``'reflect'``.
    %(cval)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.prewitt(np.array([[0.0, 0, 1, 1]] * 3), axis=1)[0]
    array([0., 3., 3., 0.])
    """
    return _edge(input, axis, output, mode, cval, _PREWITT, workers)


@fill_doc
def generic_laplace(
    input: Any,
    derivative2: Callable[..., Any],
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict[str, Any] | None = None,
    *,
    axes: Any = None,
) -> np.ndarray:
    """Sum of second derivatives along the axes, as ``scipy.ndimage.generic_laplace``.

    ``derivative2(input, axis, output, mode, cval, *extra_arguments,
    **extra_keywords)`` may be any callable; sepconv's own (the second
    derivatives of :func:`laplace` and :func:`gaussian_laplace`) run on the
    exact kernels.

    Parameters
    ----------
    %(input)s
    derivative2 : callable
        Second derivative along one axis.
    %(output)s
    %(mode)s
    %(cval)s
    extra_arguments, extra_keywords : sequence, dict, optional
        Passed on to ``derivative2``.
    %(axes)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> d2 = lambda x, axis, out, mode, cval: ndi.correlate1d(x, [1, -2, 1], axis, out, mode, cval)
    >>> ndi.generic_laplace(np.eye(3), d2)[0]
    array([-2.,  1.,  0.])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = _args.as_input(input, output)
    output = _args.get_output(output, input)
    axes = _args.to_axes(axes, input.ndim)
    if not axes:
        output[...] = input[...]
        return output
    modes = _args.to_sequence(mode, len(axes), "mode")
    derivative2(input, axes[0], output, modes[0], cval, *extra_arguments, **extra_keywords)
    for ii in range(1, len(axes)):
        tmp = derivative2(
            input, axes[ii], output.dtype, modes[ii], cval, *extra_arguments, **extra_keywords
        )
        output += tmp
    return output


@fill_doc
def laplace(
    input: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Laplace filter (``[1, -2, 1]`` per axis, summed), as ``scipy.ndimage.laplace``.

    Parameters
    ----------
    %(input)s
    %(output)s
    %(mode)s
    %(cval)s
    %(axes)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.laplace(np.eye(3))[1]
    array([ 1., -4.,  1.])
    """
    workers = _args.check_workers(workers)
    key = call_key("laplace", input, output, mode, cval, axes, workers)
    if (done := replay(key, input, output)) is not None:
        return done
    if type(input) is np.ndarray and input.ndim == 2 and input.dtype.kind in "biuf":
        _args.as_input(input, output)  # float16: scipy's error, before any pass
        # Both terms and their sum in one sweep, when the output dtype allows
        # (bool's += is a logical or: not an addition the sweep makes).
        out = _args.get_output(output, input)
        axes2 = _args.to_axes(axes, 2)
        # (An output overlapping the input: scipy's second term reads what its first
        # wrote; the term-by-term path below does exactly that.)
        if (
            out.dtype.kind in "iuf"
            and sorted(axes2) == [0, 1]
            and not np.may_share_memory(input, out)
        ):
            modes = _args.to_modes(mode, 2)
            cval = _args.real_cval(cval)
            terms = [(_SECOND, None) if ax == 0 else (None, _SECOND) for ax in axes2]
            mode_of = dict(zip(axes2, modes))
            with recorded(key, input) as keep:
                _engine.run_terms(
                    input,
                    out,
                    0,
                    terms,
                    (mode_of[0], mode_of[1]),
                    cval,
                    (0, 0),
                    policy=_engine.EXACT,
                    order=_engine.ORDER_VH,
                    combine=_engine.COMBINE_ADD_DST,
                    sizes=(3, 3),
                    workers=workers,
                )
                keep(out)
            return out
        output = out

    def derivative2(input: Any, axis: int, output: Any, mode: str, cval: Any) -> np.ndarray:
        return correlate1d(input, _SECOND, axis, output, mode, cval, 0, workers=workers)

    return generic_laplace(input, derivative2, output, mode, cval, axes=axes)


@fill_doc
def gaussian_laplace(
    input: Any,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> np.ndarray:
    """Laplacian of Gaussian, as ``scipy.ndimage.gaussian_laplace``.

    Parameters
    ----------
    %(input)s
    sigma : scalar or sequence of scalars
        Standard deviation per filtered axis.
    %(output)s
    %(mode)s
    %(cval)s
    %(axes)s
    **kwargs
        Passed to :func:`gaussian_filter` (``truncate``, ``radius``, ``workers``).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv import ndimage as ndi
    >>> x = np.random.default_rng(0).random((6, 7))
    >>> np.array_equal(ndi.gaussian_laplace(x, 1), ndimage.gaussian_laplace(x, 1))
    True
    """
    input = _args.as_input(input, output)

    fused = _gaussian_terms(input, sigma, output, mode, cval, axes, kwargs, 2)
    if fused is not None:
        return fused

    def derivative2(
        input: Any, axis: int, output: Any, mode: str, cval: Any, sigma: Any, **kwargs: Any
    ) -> np.ndarray:
        order = [0] * input.ndim
        order[axis] = 2
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    axes = _args.to_axes(axes, input.ndim)
    sigma = _full_sigma(sigma, axes, input.ndim)
    return generic_laplace(
        input,
        derivative2,
        output,
        mode,
        cval,
        extra_arguments=(sigma,),
        extra_keywords=kwargs,
        axes=axes,
    )


def _full_sigma(sigma: Any, axes: tuple[int, ...], ndim: int) -> list[Any]:
    # scipy: sigma 0 (no smoothing) on the axes that are not filtered.
    sigmas = _args.to_sequence(sigma, len(axes), "sigma")
    if len(axes) == ndim:
        return sigmas
    full = [0] * ndim
    for s, ax in zip(sigmas, axes):
        full[ax] = s
    return full


@fill_doc
def generic_gradient_magnitude(
    input: Any,
    derivative: Callable[..., Any],
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    extra_arguments: Sequence[Any] = (),
    extra_keywords: dict[str, Any] | None = None,
    *,
    axes: Any = None,
) -> np.ndarray:
    """Root of the sum of squared derivatives, as ``scipy.ndimage.generic_gradient_magnitude``.

    Parameters
    ----------
    %(input)s
    derivative : callable
        ``derivative(input, axis, output, mode, cval, *extra_arguments,
        **extra_keywords)``, e.g. :func:`sobel`.
    %(output)s
    %(mode)s
    %(cval)s
    extra_arguments, extra_keywords : sequence, dict, optional
        Passed on to ``derivative``.
    %(axes)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.generic_gradient_magnitude(np.array([[0.0, 0, 1, 1]] * 3), ndi.sobel)[0]
    array([0., 4., 4., 0.])
    """
    if extra_keywords is None:
        extra_keywords = {}
    input = _args.as_input(input, output)
    output = _args.get_output(output, input)
    axes = _args.to_axes(axes, input.ndim)
    if not axes:
        output[...] = input[...]
        return output
    modes = _args.to_sequence(mode, len(axes), "mode")
    derivative(input, axes[0], output, modes[0], cval, *extra_arguments, **extra_keywords)
    np.multiply(output, output, output)
    for ii in range(1, len(axes)):
        tmp = derivative(
            input, axes[ii], output.dtype, modes[ii], cval, *extra_arguments, **extra_keywords
        )
        np.multiply(tmp, tmp, tmp)
        output += tmp
    np.sqrt(output, output, casting="unsafe")
    return output


@fill_doc
def gaussian_gradient_magnitude(
    input: Any,
    sigma: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    *,
    axes: Any = None,
    **kwargs: Any,
) -> np.ndarray:
    """Gradient magnitude with Gaussian derivatives, as scipy's ``gaussian_gradient_magnitude``.

    Parameters
    ----------
    %(input)s
    sigma : scalar or sequence of scalars
        Standard deviation per axis.
    %(output)s
    %(mode)s
    %(cval)s
    %(axes)s
    **kwargs
        Passed to :func:`gaussian_filter` (``truncate``, ``radius``, ``workers``).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv import ndimage as ndi
    >>> x = np.random.default_rng(0).random((6, 7)).astype(np.float32)
    >>> a, b = ndi.gaussian_gradient_magnitude(x, 2), ndimage.gaussian_gradient_magnitude(x, 2)
    >>> np.array_equal(a, b)
    True
    """
    input = _args.as_input(input, output)

    fused = _gaussian_terms(input, sigma, output, mode, cval, axes, kwargs, 1)
    if fused is not None:
        return fused

    def derivative(
        input: Any, axis: int, output: Any, mode: str, cval: Any, sigma: Any, **kwargs: Any
    ) -> np.ndarray:
        order = [0] * input.ndim
        order[axis] = 1
        return gaussian_filter(input, sigma, order, output, mode, cval, **kwargs)

    return generic_gradient_magnitude(
        input,
        derivative,
        output,
        mode,
        cval,
        extra_arguments=(sigma,),
        extra_keywords=kwargs,
        axes=axes,
    )


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _gaussian_terms(
    input: Any,
    sigma: Any,
    output: Any,
    mode: Any,
    cval: Any,
    axes: Any,
    kwargs: dict[str, Any],
    order: int,
) -> np.ndarray | None:
    """gaussian_laplace (``order`` 2) or gaussian_gradient_magnitude (1) of a 2-D
    float image in one sweep (:func:`._fused.two_pairs`), with scipy's bits;
    None, having done nothing, where the term-by-term path must run.  A signature
    seen before replays its recorded launches."""
    key = None
    if set(kwargs) <= {"truncate", "radius", "workers"}:
        name = "gaussian_laplace" if order == 2 else "gaussian_gradient_magnitude"
        extra = [kwargs.get(k) for k in ("truncate", "radius", "workers")]
        key = call_key(name, input, output, sigma, mode, cval, axes, *extra)
    if (done := replay(key, input, output)) is not None:
        return done
    if (
        type(input) is not np.ndarray
        or input.ndim != 2
        or input.dtype.kind not in "biuf"
        or not set(kwargs) <= {"truncate", "radius", "workers"}
        or (axes is not None and _args.to_axes(axes, 2) != (0, 1))
    ):
        return None
    if output is None:
        dtype = input.dtype
    elif isinstance(output, np.ndarray):
        dtype = output.dtype
    else:
        try:
            dtype = np.dtype(output)
        except TypeError:
            return None
    sigmas = _args.to_sequence(sigma, 2, "sigma")
    if dtype not in _FLOATS or not all(isinstance(s, (int, float)) and s > 1e-15 for s in sigmas):
        return None  # a zero sigma skips its axis's pass in scipy; integers square and root
    truncate = kwargs.get("truncate", 4.0)
    radiuses = _args.to_sequence(kwargs.get("radius"), 2, "radius")
    modes = [_args.to_mode(m) for m in _args.to_sequence(mode, 2, "mode")]
    if modes[0] != modes[1]:
        return None  # scipy filters term ii with modes[ii] along every axis
    weights = [
        [
            _args.weights1d(gaussian_weights(sigmas[ax], o, truncate, radiuses[ax]))
            for o in (order, 0)
        ]
        for ax in (0, 1)
    ]
    out = _args.get_output(output, input)
    if np.may_share_memory(input, out):
        return None  # scipy's second term reads what its first wrote: term by term
    (d0, s0), (d1, s1) = weights
    if d0.shape != s0.shape or d1.shape != s1.shape:
        return None  # the terms' kernels must share one ring (same radius per axis)
    combine = _engine.COMBINE_HYPOT_DST if order == 1 else _engine.COMBINE_ADD_DST
    with recorded(key, input) as keep:
        _engine.run_terms(
            input,
            out,
            0,
            [(d0, s1), (s0, d1)],
            (modes[0], modes[0]),
            _args.real_cval(cval),
            (0, 0),
            policy=_engine.EXACT,
            order=_engine.ORDER_VH,
            combine=combine,
            workers=_args.check_workers(kwargs.get("workers")),
        )
        keep(out)
    return out
