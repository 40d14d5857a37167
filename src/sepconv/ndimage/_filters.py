"""scipy.ndimage's correlation and Gaussian filters, bit for bit (uniform: :mod:`._uniform`).

Each function has scipy 1.17's name, positional order, defaults and keywords,
plus a keyword-only ``workers``.  The spine is scipy's: ``asarray`` ->
normalise (:mod:`sepconv._args`) -> one exact kernel (:mod:`._run`) -> return
``output``.  Multi-axis filters compose 1-D passes as scipy's ``_filters.py``
does, each pass stored in the output dtype; the last two run as one sweep
(:mod:`._fused`), which stores the same intermediate in a cache-sized buffer
instead of ``output``.  Repeated small calls replay their launches
(:mod:`._lane`).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .. import _args
from .._args import FilterArgumentError
from . import _lane, _run

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
]

F = TypeVar("F", bound=Callable[..., Any])

DOCS = {
    "input": """input : array_like
        The array to filter: bool, (u)int8 .. (u)int64, float32, float64,
        complex64 or complex128 (float16 is refused, as by scipy).  Never
        modified.""",
    "axis": """axis : int, optional
        The axis to filter.  Default -1.""",
    "output": """output : ndarray or dtype, optional
        Array to store the result in, or its dtype.  Default: ``input.dtype``.
        Integer outputs are C casts of the double result (truncation); a
        multi-axis filter stores every 1-D pass in this dtype, as scipy does.""",
    "mode": """mode : str or sequence of str, optional
        Boundary mode: ``'reflect'`` (default), ``'mirror'``, ``'nearest'``,
        ``'wrap'``, ``'constant'``, or scipy's synonyms ``'grid-mirror'``,
        ``'grid-constant'``, ``'grid-wrap'``; multi-axis filters accept one per
        filtered axis.""",
    "cval": """cval : scalar, optional
        Value beyond the edges for ``mode='constant'``.  Default 0.0.""",
    "origin": """origin : int or sequence of int, optional
        Shift of the kernel's anchor (scipy's convention).  Default 0.""",
    "axes": """axes : int or sequence of int, optional
        Axes to filter; default all.""",
    "workers": """workers : int, optional
        Threads to use: ``None`` (default) is sepconv's setting
        (:func:`sepconv.set_num_threads`), ``-1`` all cores.  Results do not
        depend on it.""",
}


def fill_doc(func: F) -> F:
    """Fill ``%(name)s`` parameter descriptions written once in :data:`DOCS`."""
    func.__doc__ = (func.__doc__ or "") % DOCS
    return func


def check_workers(workers: Any) -> int | None:
    """``None``, ``-1`` (all cores) or a positive thread count."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be None, -1 or a positive integer, got {workers!r}")
    if workers == -1 or workers >= 1:
        return int(workers)
    raise ValueError(f"workers must be None, -1 or a positive integer, got {workers}")


# --------------------------------------------------------------------------- 1-D


@fill_doc
def correlate1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """1-D correlation along ``axis``, as ``scipy.ndimage.correlate1d``.

    Parameters
    ----------
    %(input)s
    weights : array_like
        1-D sequence of weights.
    %(axis)s
    %(output)s
    mode : str, optional
        Boundary mode (see :func:`correlate`).  Default ``'reflect'``.
    %(cval)s
    %(origin)s
    %(workers)s

    Returns
    -------
    ndarray
        The result (``output`` itself when an array is given).

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.correlate1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    lane = _lane.key("correlate1d", input, weights, axis, output, mode, cval, origin, workers)
    if (done := _lane.lookup(lane, input, output)) is not None:
        return done
    input = _args.as_input(input)
    weights = np.asarray(weights)
    workers = check_workers(workers)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if weights.dtype.kind == "c":
            weights = weights.conj().astype(np.complex128, copy=False)
        output = _args.get_output(output, input, complex_output=True)
        return _args.complex_via_real(
            correlate1d,
            input,
            weights,
            output,
            cval,
            axis=axis,
            mode=mode,
            origin=origin,
            workers=workers,
        )
    output = _args.real_output(_args.get_output(output, input))
    fw = _weights1d(weights)
    axis = _args.check_axis(axis, input.ndim)
    origin = _origin1d(origin, fw.shape[0])
    mode = _args.to_mode(mode)
    cval = _args.real_cval(cval)
    _lane.record(lane, _run.run_correlate1d(input, fw, axis, output, mode, cval, origin, workers))
    return output


@fill_doc
def convolve1d(
    input: Any,
    weights: Any,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """1-D convolution along ``axis``, as ``scipy.ndimage.convolve1d``.

    Correlation with the reversed weights at the mirrored origin
    (:func:`sepconv._args.convolve_origin`).

    Parameters
    ----------
    %(input)s
    weights : array_like
        1-D sequence of weights.
    %(axis)s
    %(output)s
    mode : str, optional
        Boundary mode.  Default ``'reflect'``.
    %(cval)s
    %(origin)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.convolve1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    weights = np.asarray(weights)
    origin = _int_origin(origin)  # first, as scipy negates it first
    if weights.ndim != 1 or weights.shape[0] < 1:
        raise FilterArgumentError(
            f"weights must be a non-empty 1-D sequence, got shape {weights.shape}"
        )
    weights = weights[::-1]
    origin = _args.convolve_origin(origin, weights.shape[0])
    if weights.dtype.kind == "c":
        weights = weights.conj()  # undone by correlate1d's conjugation
    return correlate1d(input, weights, axis, output, mode, cval, origin, workers=workers)


def _weights1d(weights: np.ndarray) -> np.ndarray:
    try:
        fw = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"weights must be numbers, got dtype {weights.dtype}") from None
    if fw.ndim != 1 or fw.shape[0] < 1:
        raise FilterArgumentError(f"weights must be a non-empty 1-D sequence, got shape {fw.shape}")
    return np.ascontiguousarray(fw)


def _int_origin(origin: Any) -> int:
    if type(origin) is int:
        return origin
    if isinstance(origin, (bool, np.bool_)):
        raise TypeError(f"origin must be an integer, got {origin!r}")
    try:
        return int(origin.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"origin must be an integer, got {origin!r}") from None


def _origin1d(origin: Any, size: int) -> int:
    if type(origin) is int and -(size // 2) <= origin <= (size - 1) // 2:
        return origin  # the common case without the general checks
    return _args.to_origin(_int_origin(origin), size)


# --------------------------------------------------------------------------- Gaussian


def _gaussian_kernel1d(sigma: float, order: int, radius: int) -> np.ndarray:
    # scipy's own arithmetic, operation for operation: the weights are part of the bits.
    if order < 0:
        raise ValueError(f"order must be non-negative, got {order}")
    exponent_range = np.arange(order + 1)
    sigma2 = sigma * sigma
    x = np.arange(-radius, radius + 1)
    phi_x = np.exp(-0.5 / sigma2 * x**2)
    phi_x = phi_x / phi_x.sum()
    if order == 0:
        return phi_x
    q = np.zeros(order + 1)
    q[0] = 1
    D = np.diag(exponent_range[1:], 1)
    P = np.diag(np.ones(order) / -sigma2, -1)
    Q_deriv = D + P
    for _ in range(order):
        q = Q_deriv.dot(q)
    q = (x[:, None] ** exponent_range).dot(q)
    return q * phi_x


def gaussian_weights(sigma: Any, order: int, truncate: float, radius: Any) -> np.ndarray:
    """The correlation weights ``gaussian_filter1d`` applies (scipy's, reversed)."""
    # Cache only plain Python scalars: a NumPy float32 sigma or truncate changes
    # scipy's arithmetic (NEP 50), so those take the uncached path.
    if (
        type(sigma) in (float, int)
        and type(truncate) in (float, int)
        and type(order) is int
        and (radius is None or type(radius) is int)
    ):
        return _cached_gaussian(sigma, order, truncate, radius)
    return _gaussian_weights(sigma, order, truncate, radius)


@functools.lru_cache(maxsize=256)
def _cached_gaussian(sigma: float, order: int, truncate: float, radius: Any) -> np.ndarray:
    # Keys 2 and 2.0 are one entry: int and float sigmas give the same weights.
    weights = _gaussian_weights(sigma, order, truncate, radius)
    weights.flags.writeable = False
    return weights


def _gaussian_weights(sigma: Any, order: int, truncate: float, radius: Any) -> np.ndarray:
    sd = float(sigma)
    lw = int(truncate * sd + 0.5)
    if radius is not None:
        lw = radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise ValueError(f"radius must be a nonnegative integer, got {lw!r}")
    return _gaussian_kernel1d(sigma, order, lw)[::-1]


@fill_doc
def gaussian_filter1d(
    input: Any,
    sigma: float,
    axis: int = -1,
    order: int = 0,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: int | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """1-D Gaussian filter (or derivative), as ``scipy.ndimage.gaussian_filter1d``.

    Parameters
    ----------
    %(input)s
    sigma : scalar
        Standard deviation of the Gaussian.
    %(axis)s
    order : int, optional
        0 smooths; 1, 2, 3 convolve with that derivative of the Gaussian.
    %(output)s
    mode : str, optional
        Boundary mode.  Default ``'reflect'``.
    %(cval)s
    truncate : float, optional
        Radius in standard deviations (``int(truncate * sigma + 0.5)``).
    radius : int, optional
        Radius in samples; overrides ``truncate``.
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.gaussian_filter1d(np.array([1.0, 2, 3, 4, 5]), 1).round(4)
    array([1.427 , 2.0678, 3.    , 3.9322, 4.573 ])
    """
    weights = gaussian_weights(sigma, order, truncate, radius)
    return correlate1d(input, weights, axis, output, mode, cval, 0, workers=workers)


@fill_doc
def gaussian_filter(
    input: Any,
    sigma: Any,
    order: Any = 0,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    truncate: float = 4.0,
    *,
    radius: Any = None,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional Gaussian filter, as ``scipy.ndimage.gaussian_filter``.

    One :func:`gaussian_filter1d` pass per axis with ``sigma > 1e-15``, each
    stored in ``output`` (so integer outputs truncate between axes, as scipy).

    Parameters
    ----------
    %(input)s
    sigma : scalar or sequence of scalars
        Standard deviation per filtered axis.
    order : int or sequence of ints, optional
        Derivative order per filtered axis (0 smooths).
    %(output)s
    %(mode)s
    %(cval)s
    truncate : float, optional
        Radius in standard deviations.  Default 4.0.
    radius : None, int or sequence of ints, optional
        Radius in samples per filtered axis; overrides ``truncate``.
    %(axes)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv import ndimage as ndi
    >>> x = np.arange(50, step=2).reshape(5, 5).astype(np.uint8)
    >>> np.array_equal(ndi.gaussian_filter(x, 1), ndimage.gaussian_filter(x, 1))
    True
    """
    lane = None
    if axes is None:
        params = (sigma, order, truncate, radius)
        lane = _lane.key("gaussian_filter", input, params, -1, output, mode, cval, 0, workers)
        if (done := _lane.lookup(lane, input, output)) is not None:
            return done
    input = _args.as_input(input)
    output = _args.get_output(output, input)
    axes = _args.to_axes(axes, input.ndim)
    num_axes = len(axes)
    orders = _args.to_sequence(order, num_axes, "order")
    sigmas = _args.to_sequence(sigma, num_axes, "sigma")
    modes = _args.to_sequence(mode, num_axes, "mode")
    radiuses = _args.to_sequence(radius, num_axes, "radius")
    passes = [
        (axes[ii], sigmas[ii], orders[ii], modes[ii], radiuses[ii])
        for ii in range(num_axes)
        if sigmas[ii] > 1e-15
    ]
    if not passes:
        output[...] = input[...]
        return output
    if input.dtype.kind != "c" and output.dtype.kind != "c":
        # Real data: each pass validated as correlate1d validates it, then run
        # by _run.run_passes (which sweeps the last two axes at once).
        cval = _args.real_cval(cval)
        workers = check_workers(workers)
        normal = [
            (
                _args.check_axis(axis, input.ndim),
                _weights1d(gaussian_weights(sd, o, truncate, r)),
                _args.to_mode(m),
                0,
            )
            for axis, sd, o, m, r in passes
        ]
        _lane.record(lane, *_run.run_passes(input, normal, output, cval, workers))
        return output
    for axis, sd, o, m, r in passes:
        gaussian_filter1d(input, sd, axis, o, output, m, cval, truncate, radius=r, workers=workers)
        input = output
    return output


# --------------------------------------------------------------------------- N-D


def _correlate_or_convolve(
    input: Any,
    weights: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    convolution: bool,
    axes: Any,
    workers: int | None,
) -> np.ndarray:
    input = _args.as_input(input)
    weights = np.asarray(weights)
    workers = check_workers(workers)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if weights.dtype.kind == "c" and not convolution:
            weights = weights.conj()  # as np.correlate: conjugate the weights
        output = _args.get_output(output, input, complex_output=True)
        return _args.complex_via_real(
            _correlate_or_convolve,
            input,
            weights,
            output,
            cval,
            mode=mode,
            origin=origin,
            convolution=convolution,
            axes=axes,
            workers=workers,
        )
    axes = _args.to_axes(axes, input.ndim)
    try:
        weights = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"weights must be numbers, got dtype {weights.dtype}") from None
    origins = _args.to_sequence(origin, len(axes), "origin")
    if len(axes) < input.ndim:
        if weights.ndim != len(axes):
            raise FilterArgumentError(
                f"weights.ndim ({weights.ndim}) must match len(axes) ({len(axes)}): give "
                "the kernel one dimension per filtered axis"
            )
        weights = np.expand_dims(weights, tuple(a for a in range(input.ndim) if a not in axes))
        full = [0] * input.ndim
        for o, ax in zip(origins, axes):
            full[ax] = o
        origins = full
    wshape = [k for k in weights.shape if k > 0]
    if len(wshape) != input.ndim:
        raise FilterArgumentError(
            f"weights.ndim ({len(wshape)}) must match len(axes) ({len(axes)}): give the "
            "kernel one non-empty dimension per filtered axis"
        )
    origins = [_int_origin(o) for o in origins]
    if convolution:
        weights = weights[(slice(None, None, -1),) * weights.ndim]
        origins = [_args.convolve_origin(o, k) for o, k in zip(origins, weights.shape)]
    for o, k in zip(origins, wshape):
        _args.to_origin(o, k)
    output = _args.real_output(_args.get_output(output, input))
    if _args.is_iterable_mode(mode):
        raise FilterArgumentError(
            "mode must be a single mode for correlate/convolve (scipy.ndimage does not "
            f"support a sequence of modes here), got {mode!r}"
        )
    mode = _args.to_mode(mode)
    cval = _args.real_cval(cval)
    if mode == "reflect" and _past_four_lines(input.shape, weights.shape, origins):
        # scipy's N-D filters extend 'reflect' their own way once a kernel reaches four
        # lines or more past an edge (found by sepconv._fuzz); its bits come from scipy.
        from scipy import ndimage

        ndimage.correlate(input, weights, output, mode, cval, origins)
        return output
    _run.run_correlate_nd(input, weights, output, mode, cval, origins, workers)
    return output


def _past_four_lines(shape: Any, kshape: Any, origins: Any) -> bool:
    for n, k, o in zip(shape, kshape, origins):
        if n > 0 and max(k // 2 + o, k - 1 - k // 2 - o) >= 4 * n:
            return True
    return False


@fill_doc
def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional correlation, as ``scipy.ndimage.correlate``.

    Sums ``w * x`` over the taps with ``|w| > DBL_EPSILON`` in C order, in
    double precision, as scipy's ``NI_Correlate``.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The kernel: one dimension per filtered axis.
    %(output)s
    mode : str, optional
        One boundary mode (a sequence is refused, as by scipy).
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.correlate(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))[0]
    array([0., 2., 6.])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, False, axes, workers)


@fill_doc
def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional convolution, as ``scipy.ndimage.convolve``.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The kernel: one dimension per filtered axis.
    %(output)s
    mode : str, optional
        One boundary mode.
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.convolve(np.array([0.0, 0, 1, 0, 0]), [1.0, 2, 3])
    array([0., 1., 2., 3., 0.])
    """
    return _correlate_or_convolve(input, weights, output, mode, cval, origin, True, axes, workers)
