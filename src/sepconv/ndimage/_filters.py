"""scipy.ndimage's correlation and Gaussian filters, bit for bit (uniform: :mod:`._uniform`).

Each function has scipy 1.17's name, positional order, defaults and keywords,
plus a keyword-only ``workers``.  The spine is scipy's: ``asarray`` ->
normalise (:mod:`sepconv._args`, scipy's checks in scipy's order) -> the
engine with the ``exact`` policy (:mod:`sepconv._engine`) -> return
``output``.  Multi-axis filters compose 1-D passes as scipy's ``_filters.py``
does, each pass stored in the output dtype; the engine runs the last two as
one sweep and stores the intermediate in cache instead of ``output``, which
changes no bit.  Repeated calls replay their recorded launches
(:mod:`sepconv._replay`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args, _engine, _normalized
from .._docs import fill_doc
from .._gaussian import gaussian_weights
from .._replay import call_key, recorded, replay

__all__ = [
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
]

EXACT = _engine.EXACT


def skipping(nan_policy: Any, mask: Any) -> bool:
    """Whether a call skips samples (``nan_policy='omit'`` or a mask): normalized convolution."""
    return _args.to_nan_policy(nan_policy) == "omit" or mask is not None


def skip_key(key: tuple | None, mask: Any) -> tuple | None:
    """The replay key of a call that skips samples: its own, none with a mask (the copy
    that marks it depends on the mask's values)."""
    return None if key is None or mask is not None else ("omit", *key)


def filter_skipping(
    input: np.ndarray,
    output: Any,
    passes: list[tuple[int, np.ndarray, str, int]],
    cval: float,
    nan_policy: str,
    mask: Any,
    workers: int | None,
    key: tuple | None,
) -> np.ndarray:
    """1-D passes ``(axis, weights, mode, origin)`` as one normalized convolution
    (:mod:`sepconv._normalized`): the engine's fast policy, float output."""
    if input.dtype.kind == "c":
        raise TypeError(
            "nan_policy='omit' and mask= need real input, got complex; filter the real and "
            "imaginary parts (input.real, input.imag) separately"
        )
    out = _args.omit_output(output, input)
    mask = _args.to_mask(mask, input.shape)
    omit = nan_policy == "omit"
    if not passes:  # nothing filtered: each sample is its own mean, NaN where skipped
        out[...] = input
        if mask is not None:
            out[mask] = np.nan
        return out
    passes = sorted(passes, key=lambda p: p[0])
    axes = tuple(p[0] for p in passes)
    with recorded(key, input) as keep:
        _normalized.correlate(
            input,
            out,
            None,
            axes,
            [p[2] for p in passes],
            cval,
            [p[3] for p in passes],
            mask=mask,
            omit=omit,
            workers=workers,
            terms=[[p[1] for p in passes]],
        )
        keep(out)
    return out


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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """1-D correlation along ``axis``, as ``scipy.ndimage.correlate1d``.

    Parameters
    ----------
    %(input)s
    %(weights_1d)s
    %(axis)s
    %(output)s
    %(mode_one)s
    %(cval)s
    %(origin)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.correlate1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3])
    array([ 8, 26,  8, 12,  7, 28, 36,  9])
    """
    key = call_key("correlate1d", input, output, weights, axis, mode, cval, origin, workers)
    skip = skipping(nan_policy, mask)
    if skip:
        key = skip_key(key, mask)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output)
    weights = np.asarray(weights)
    workers = _args.check_workers(workers)
    if skip and weights.dtype.kind != "c":
        fw = _args.weights1d(weights)
        axis = _args.check_axis(axis, input.ndim)
        origin = _args.to_origin(origin, fw.shape[0], scipy="1d")
        passes = [(axis, fw, _args.to_mode(mode), origin)]
        return filter_skipping(
            input, output, passes, _args.real_cval(cval), nan_policy, mask, workers, key
        )
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        if skip:
            raise TypeError(
                "nan_policy='omit' and mask= need real weights and input; filter the real and "
                "imaginary parts separately"
            )
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
    output = _args.get_output(output, input)
    fw = _args.weights1d(weights)
    axis = _args.check_axis(axis, input.ndim)
    origin = _args.to_origin(origin, fw.shape[0], scipy="1d")
    mode = _args.to_mode(mode)
    _args.real_output(output)
    cval = _args.real_cval(cval)
    with recorded(key, input) as keep:
        _engine.run_passes(
            input,
            output,
            [_engine.Pass(axis, fw, mode, origin)],
            cval,
            policy=EXACT,
            workers=workers,
        )
        keep(output)
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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """1-D convolution along ``axis``, as ``scipy.ndimage.convolve1d``.

    Correlation with the reversed weights at the mirrored origin
    (:func:`sepconv._args.convolve_origin`).

    Parameters
    ----------
    %(input)s
    %(weights_1d)s
    %(axis)s
    %(output)s
    %(mode_one)s
    %(cval)s
    %(origin)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.convolve1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), [1, 3])
    array([14, 24,  4, 13, 12, 36, 27,  0])
    """
    weights = np.asarray(weights)
    weights = weights[::-1] if weights.ndim else weights
    origin = -origin  # scipy negates first (a TypeError for what cannot be negated)
    if weights.ndim == 1 and weights.shape[0] and not weights.shape[0] & 1:
        origin -= 1
    if weights.dtype.kind == "c":
        weights = weights.conj()  # undone by correlate1d's conjugation
    return correlate1d(
        input,
        weights,
        axis,
        output,
        mode,
        cval,
        origin,
        workers=workers,
        nan_policy=nan_policy,
        mask=mask,
    )


# --------------------------------------------------------------------------- Gaussian


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
    method: str = "fir",
    workers: int | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
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
    %(mode_one)s
    %(cval)s
    truncate : float, optional
        Radius in standard deviations (``int(truncate * sigma + 0.5)``).
    radius : int, optional
        Radius in samples; overrides ``truncate``.
    %(method_gaussian)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.gaussian_filter1d(np.array([1.0, 2, 3, 4, 5]), 1).round(4)
    array([1.427 , 2.0678, 3.    , 3.9322, 4.573 ])
    >>> ndi.gaussian_filter1d(np.array([1.0, 2, np.nan, 4, 5]), 1, nan_policy="omit").round(4)
    array([1.3294, 1.77  , 3.    , 4.23  , 4.6706])
    >>> x = np.zeros(101); x[50] = 1.0
    >>> y = ndi.gaussian_filter1d(x, 10.0, method="recursive")
    >>> bool(abs(y - ndi.gaussian_filter1d(x, 10.0)).max() < 1e-3 * y.max())
    True
    """
    if _check_method(method) == "recursive":
        return gaussian_filter(
            input,
            sigma,
            order,
            output,
            mode,
            cval,
            truncate,
            radius=radius,
            axes=(axis,),
            method=method,
            workers=workers,
            nan_policy=nan_policy,
            mask=mask,
        )
    weights = gaussian_weights(sigma, order, truncate, radius)
    return correlate1d(
        input,
        weights,
        axis,
        output,
        mode,
        cval,
        0,
        workers=workers,
        nan_policy=nan_policy,
        mask=mask,
    )


def _check_method(method: Any) -> str:
    if method not in ("fir", "recursive"):
        raise ValueError(
            f"method must be 'fir' (scipy's sampled kernel, its bits) or 'recursive' (cost "
            f"flat in sigma), got {method!r}"
        )
    return method


def _recursive(
    input: np.ndarray,
    output: np.ndarray,
    passes: list[tuple[Any, Any, Any, Any, Any]],
    cval: Any,
    key: Any,
    workers: int | None,
) -> np.ndarray:
    """Each pass a recursive Gaussian (derivative), stored in ``output`` as scipy stores."""
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        raise TypeError(
            "method='recursive' filters real data; filter input.real and input.imag "
            "separately, or use method='fir'"
        )
    checked = []
    for axis, sd, o, m, r in passes:
        if r is not None:
            raise ValueError(
                "radius does not apply to method='recursive' (its kernel is not truncated); "
                "drop radius= or use method='fir'"
            )
        if isinstance(o, bool) or not isinstance(o, (int, np.integer)) or o not in (0, 1, 2):
            raise ValueError(
                f"order must be 0, 1 or 2 for method='recursive', got {o!r}; use method='fir' "
                "for higher orders"
            )
        checked.append((_args.check_axis(axis, input.ndim), float(sd), int(o), _args.to_mode(m)))
    workers = _args.check_workers(workers)
    cval = _args.real_cval(cval)
    with recorded(key, input) as keep:
        source = input
        for axis, sd, o, m in checked:
            _engine.run_recursive(source, output, axis, sd, o, m, cval, workers=workers)
            source = output
        keep(output)
    return output


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
    method: str = "fir",
    workers: int | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
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
    %(method_gaussian)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv import ndimage as ndi
    >>> x = np.arange(50, step=2).reshape(5, 5).astype(np.uint8)
    >>> np.array_equal(ndi.gaussian_filter(x, 1), ndimage.gaussian_filter(x, 1))
    True
    >>> y = np.ones((5, 5))
    >>> y[2, 2] = np.nan
    >>> ndi.gaussian_filter(y, 1, nan_policy="omit")[2]
    array([1., 1., 1., 1., 1.])
    """
    _check_method(method)
    key = call_key(
        "gaussian_filter",
        input,
        output,
        sigma,
        order,
        mode,
        cval,
        truncate,
        radius,
        axes,
        workers,
        method,
    )
    skip = skipping(nan_policy, mask)
    if skip:
        if method == "recursive":
            raise ValueError(
                "method='recursive' does not skip samples: nan_policy='omit' and mask= take "
                "method='fir' (normalized convolution with the sampled kernel)"
            )
        key = skip_key(key, mask)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output)
    given_output = output
    output = _args.get_output(output, input) if not skip else None
    axes = _args.to_axes(axes, input.ndim)
    num_axes = len(axes)
    orders = _args.to_sequence(order, num_axes, "order")
    sigmas = _args.to_sequence(sigma, num_axes, "sigma")
    modes = _args.to_sequence(mode, num_axes, "mode")
    radiuses = _args.to_sequence(radius, num_axes, "radius")
    try:
        passes = [
            (axes[ii], sigmas[ii], orders[ii], modes[ii], radiuses[ii])
            for ii in range(num_axes)
            if sigmas[ii] > 1e-15
        ]
    except TypeError as exc:
        raise TypeError(
            f"{exc} (sigma must be a number or a sequence of numbers, got {sigma!r})"
        ) from None
    if skip:
        checked_passes = [
            (
                _args.check_axis(axis, input.ndim),
                _args.weights1d(gaussian_weights(sd, o, truncate, r)),
                _args.to_mode(m),
                0,
            )
            for axis, sd, o, m, r in passes
        ]
        workers = _args.check_workers(workers)
        return filter_skipping(
            input,
            given_output,
            checked_passes,
            _args.real_cval(cval),
            nan_policy,
            mask,
            workers,
            key,
        )
    if not passes:
        output[...] = input[...]
        return output
    if method == "recursive":
        return _recursive(input, output, passes, cval, key, workers)
    if input.dtype.kind == "c" or output.dtype.kind == "c":
        for axis, sd, o, m, r in passes:
            gaussian_filter1d(
                input, sd, axis, o, output, m, cval, truncate, radius=r, workers=workers
            )
            input = output
        return output
    # Real data: every pass checked as correlate1d checks it before any runs.
    workers = _args.check_workers(workers)
    checked = [
        _engine.Pass(
            _args.check_axis(axis, input.ndim),
            _args.weights1d(gaussian_weights(sd, o, truncate, r)),
            _args.to_mode(m),
            0,
        )
        for axis, sd, o, m, r in passes
    ]
    _args.real_output(output)
    cval = _args.real_cval(cval)
    with recorded(key, input) as keep:
        _engine.run_passes(input, output, checked, cval, policy=EXACT, workers=workers)
        keep(output)
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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    name = "convolve" if convolution else "correlate"
    key = call_key(name, input, output, weights, mode, cval, origin, axes, workers)
    skip = skipping(nan_policy, mask)
    if skip:
        key = skip_key(key, mask)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output, nd=True)
    weights = np.asarray(weights)
    workers = _args.check_workers(workers)
    if skip:
        return _normalized.correlate_nd(
            input,
            weights,
            output,
            mode,
            cval,
            origin,
            axes,
            convolution,
            nan_policy,
            mask,
            key,
            workers=workers,
        )
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
    call = _args.normalize_nd(input, weights, output, mode, cval, origin, axes, convolution)
    done = _args.degenerate_nd(
        call,
        lambda i, w, o: _correlate_or_convolve(
            i, w, o, "reflect", call.cval, 0, False, None, workers
        ),
    )
    if done is not None:
        return done
    with recorded(key, input) as keep:
        _engine.run_dense(
            input,
            call.output,
            call.weights,
            call.modes,
            call.cval,
            call.origins,
            policy=EXACT,
            workers=workers,
        )
        keep(call.output)
    return call.output


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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Multidimensional correlation, as ``scipy.ndimage.correlate``.

    Sums ``w * x`` over the taps with ``|w| > DBL_EPSILON`` in C order, in
    double precision, as scipy's ``NI_Correlate``.

    Parameters
    ----------
    %(input)s
    %(weights_nd)s
    %(output)s
    %(mode_one)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.correlate(np.arange(9.0).reshape(3, 3), np.ones((2, 2)))[0]
    array([0., 2., 6.])
    """
    return _correlate_or_convolve(
        input, weights, output, mode, cval, origin, False, axes, workers, nan_policy, mask
    )


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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Multidimensional convolution, as ``scipy.ndimage.convolve``.

    Parameters
    ----------
    %(input)s
    %(weights_nd)s
    %(output)s
    %(mode_one)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.convolve(np.array([0.0, 0, 1, 0, 0]), [1.0, 2, 3])
    array([0., 1., 2., 3., 0.])
    """
    return _correlate_or_convolve(
        input, weights, output, mode, cval, origin, True, axes, workers, nan_policy, mask
    )
