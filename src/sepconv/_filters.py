"""Filtering NumPy arrays with scipy.ndimage's semantics, at the engine's fast policy.

:func:`correlate` and :func:`convolve` take exactly the arguments
``sepconv.ndimage.correlate`` / ``convolve`` take, checked by the same
normaliser (:mod:`sepconv._args`, scipy's checks and messages), and give
scipy's results to rounding: they differ only in arithmetic (the engine's
``fast`` policy: float32 work where that is exact enough, fused multiply-add,
the intermediate of a separable kernel kept in the work dtype) and in
choosing how to compute (:func:`sepconv.plan`: separable passes, a low-rank
sum of them, direct or FFT).  Two extensions: ``mode`` may be one per filtered
axis, and a complex ``output`` takes a real result.  :func:`sepfilter` applies
one 1-D kernel per axis.

Everything is validated before anything is written.  The functions know
nothing of Dask or PyTorch: :mod:`sepconv.filters` wraps them (the one
backend wrapper, :mod:`sepconv._backends`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _args, _engine, _normalized
from ._docs import fill_doc
from ._plan import all_finite, make_plan, run
from ._reduce import fold_for_data
from ._replay import call_key, recorded, replay

__all__ = ["convolve", "correlate", "sepfilter"]


# --------------------------------------------------------------------------- public


@fill_doc
def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Multidimensional correlation, as ``scipy.ndimage.correlate``, computed fast.

    ``output[i] = sum_j weights[j] * padded[i + j - weights.shape // 2 - origin]``
    over the filtered axes, with ``padded`` the input extended by ``mode``.
    Weights with ``|w| <= 2.2e-16`` (and NaN weights) are skipped as scipy
    skips them, so a NaN in the input spreads only through nonzero weights.

    Parameters
    ----------
    %(input)s
    %(weights_nd)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(method)s
    %(rtol)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Raises
    ------
    TypeError, ValueError, RuntimeError
        What ``sepconv.ndimage.correlate`` raises for the same arguments
        (scipy's classes and text, then the argument and the fix).
    NotSeparableError
        For ``method='separable'`` and a kernel that does not separate.

    See Also
    --------
    convolve, sepfilter, sepconv.plan, sepconv.ndimage.correlate

    Notes
    -----
    Accepts exactly what ``sepconv.ndimage.correlate`` accepts (every dtype
    scipy takes, complex data as real and imaginary parts, scipy's ``axes``
    and ``weights`` rules), plus one ``mode`` per filtered axis and a complex
    ``output`` for a real result.  Floating outputs match scipy to rounding
    (float32 work stays float32).  Integer inputs are computed in float32
    (8-bit data, when every result is exact well below one unit) or float64;
    integer outputs then equal scipy's truncation except, by one, where the
    exact value lies on an integer within rounding.  uint8 filtered into uint8
    by two smoothing factors (symmetric, non-negative, summing to at most 1)
    is computed in 16-bit integers, 0.3-1.0x the float path's time: a mean
    (a normalised box; of uint16 data too) exactly, giving the truncated mean itself; other
    factors in fixed point, whose value before the truncation is within a
    bound that ``sepconv.plan(...).explain()`` states (0.1 for a 9-tap
    Gaussian, 0.33 for 33 taps) of the exact one, so an output is one above
    scipy's where the exact value lies that close below an integer (4 %% of
    the outputs at 9 taps, 13 %% at 33); flat regions keep their value.
    Results do not depend on the number of threads.

    A kernel is filtered as separable when it is rank 1 to the rounding of
    its own dtype or of the work dtype (a float32 ``np.outer(g, g)``
    separates); the plan states its factors' error.  Kernel axes of size 1
    cost no pass.

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> x = np.arange(25.0).reshape(5, 5)
    >>> sepconv.correlate(x, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])[0]
    array([24., 36., 52., 68., 80.])
    >>> from scipy import ndimage
    >>> k = sepconv.kernels.disk(2)
    >>> ours = sepconv.correlate(x, k, mode="wrap")
    >>> bool(np.allclose(ours, ndimage.correlate(x, k, mode="wrap")))
    True
    """
    key = call_key(
        "sepconv.correlate", input, output, weights, mode, cval, origin, axes, method, rtol
    )
    if _skipping(nan_policy, mask):
        key = None if key is None or mask is not None else ("omit", *key)
        if (done := replay(key, input, output)) is not None:
            return done
        return _normalized.correlate_nd(
            _args.as_input(input, output, nd=True),
            weights,
            output,
            mode,
            cval,
            origin,
            axes,
            False,
            nan_policy,
            mask,
            key,
            sequence_modes=True,
            method=method,
            rtol=rtol,
        )
    if (done := replay(key, input, output)) is not None:
        return done
    return _filter(input, weights, output, mode, cval, origin, axes, method, rtol, False, key)


@fill_doc
def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Multidimensional convolution, as ``scipy.ndimage.convolve``, computed fast.

    Correlation with the kernel flipped along every axis and each origin
    mirrored (``-origin``, minus one more for an even-sized axis), as scipy
    defines it.

    Parameters
    ----------
    %(input)s
    %(weights_nd)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(method)s
    %(rtol)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    See Also
    --------
    correlate, sepfilter, sepconv.plan, sepconv.ndimage.convolve

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> sepconv.convolve(np.array([0.0, 0.0, 1.0, 0.0, 0.0]), [1.0, 2.0, 3.0])
    array([0., 1., 2., 3., 0.])
    """
    key = call_key(
        "sepconv.convolve", input, output, weights, mode, cval, origin, axes, method, rtol
    )
    if _skipping(nan_policy, mask):
        key = None if key is None or mask is not None else ("omit", *key)
        if (done := replay(key, input, output)) is not None:
            return done
        return _normalized.correlate_nd(
            _args.as_input(input, output, nd=True),
            weights,
            output,
            mode,
            cval,
            origin,
            axes,
            True,
            nan_policy,
            mask,
            key,
            sequence_modes=True,
            method=method,
            rtol=rtol,
        )
    if (done := replay(key, input, output)) is not None:
        return done
    return _filter(input, weights, output, mode, cval, origin, axes, method, rtol, True, key)


@fill_doc
def sepfilter(
    input: Any,
    factors: Sequence[Any],
    axes: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
    *,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Separable correlation: one 1-D kernel per filtered axis.

    Factor ``i`` filters ``axes[i]`` (with ``mode[i]`` and ``origin[i]``): for
    increasing ``axes`` the result equals ``correlate(input, outer(*factors),
    ...)`` (what chaining ``scipy.ndimage.correlate1d`` over the axes computes;
    ``correlate`` pairs the kernel's dimensions with the axes in increasing
    order whatever order ``axes`` is given in).  Two adjacent axes run as one
    fused sweep; like :func:`cv2.sepFilter2D`, but N-D and with scipy's
    boundary modes.  The arithmetic is done once in floating point, with a
    single conversion at the end (chained ``correlate1d`` with an integer
    output rounds after every axis), and zero taps are skipped as in
    :func:`correlate`.  Complex data or factors are filtered as ``correlate``
    composes them from real filterings; no factor (``axes=()``) copies the
    input.

    Parameters
    ----------
    %(input)s
    factors : sequence of array_like
        One 1-D kernel per filtered axis, in the order of ``axes``.
    %(axes)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> x = np.arange(16.0).reshape(4, 4)
    >>> sepconv.sepfilter(x, [[1, 2, 1], [-1, 0, 1]])[1]
    array([4., 8., 8., 4.])
    >>> rgb = np.ones((4, 5, 3), dtype=np.uint8)
    >>> sepconv.sepfilter(rgb, [[1, 1], [1, 1, 1]], axes=(0, 1))[0, 0].tolist()
    [6, 6, 6]
    """
    key = call_key("sepconv.sepfilter", input, output, factors, axes, mode, cval, origin)
    skip = _skipping(nan_policy, mask)
    if skip:
        key = None if key is None or mask is not None else ("omit", *key)
    if (done := replay(key, input, output)) is not None:
        return done
    array = _args.as_input(input, output, nd=True)
    vectors = _as_factors(factors)
    axes = _args.to_axes(axes, array.ndim)
    if skip:
        return _sepfilter_skipping(
            array, vectors, axes, output, mode, cval, origin, nan_policy, mask, key
        )
    if any(v.dtype.kind == "c" for v in vectors) or array.dtype.kind == "c":
        # complex data or factors: the dense kernel, filtered as correlate composes it
        # from real filterings (factor i goes with axes[i])
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        dense = np.array(1.0)
        for i in order:
            dense = np.multiply.outer(dense, vectors[i])
        origins = _args.to_sequence(origin, len(axes), "origin")
        modes = (
            mode
            if isinstance(mode, str)
            else [_args.to_sequence(mode, len(axes), "mode")[i] for i in order]
        )
        return _filter(
            array,
            dense,
            output,
            modes,
            cval,
            [origins[i] for i in order],
            [axes[i] for i in order],
            "auto",
            None,
            False,
        )
    if len(vectors) != len(axes):
        raise _args.FilterArgumentError(
            "sequence argument must have length equal to input rank (factors must hold one "
            f"1-D kernel per filtered axis: {len(axes)} axes {axes} are filtered but "
            f"{len(vectors)} factors were given)"
        )
    for ax in axes:
        _args.check_axis(ax, array.ndim, "axes entry")
    origins = [
        _args.to_origin(o, v.size)
        for o, v in zip(_args.to_sequence(origin, len(axes), "origin"), vectors)
    ]
    modes = _args.to_modes(mode, len(axes))
    cval = _args.real_cval(cval)
    output = _args.real_output(_args.get_output(output, array, nd=True), "array type not supported")
    if not vectors:  # no axis filtered: the product of no factors is 1
        output[...] = array
        return output
    for i, ax in enumerate(axes):  # a factor longer than its line folds to a short one
        vectors[i], (origins[i],), asked = fold_for_data(
            vectors[i],
            [array.shape[ax]],
            [modes[i]],
            [origins[i]],
            lambda: all_finite(array, cval),
        )
        key = None if asked else key  # the fold depended on the values: do not keep it
    if array.size == 0:
        return output
    if np.may_share_memory(array, output):
        scratch = np.empty(array.shape, output.dtype)
        sepfilter(array, vectors, axes, scratch, modes, cval, origins)
        output[...] = scratch
        return output
    effective = [_args.effective_weights(v) for v in vectors]
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    with recorded(key, input) as keep:
        if all(np.all(np.isfinite(v)) for v in effective):
            abs_sum = float(np.prod([np.abs(v).sum() for v in effective]))
            work = _engine.work_dtype(
                array.dtype, output.dtype, abs_sum, int(np.prod([v.size for v in effective]))
            )
            passes = [_engine.Pass(axes[i], effective[i], modes[i], origins[i]) for i in order]
            _engine.run_passes(array, output, passes, cval, policy=_engine.FAST, work=work)
        else:  # infinite taps: only the dense product behaves as scipy (inf * 0 = nan)
            dense = effective[order[0]]
            with np.errstate(invalid="ignore"):
                for i in order[1:]:
                    dense = np.multiply.outer(dense, effective[i])
            dense = _args.effective_weights(dense)  # skip the NaN weights inf * 0 makes
            sorted_axes = [axes[i] for i in order]
            full = np.expand_dims(
                dense, tuple(a for a in range(array.ndim) if a not in sorted_axes)
            )
            mode_of = dict(zip(axes, modes))
            origin_of = dict(zip(axes, origins))
            _engine.run_dense(
                array,
                output,
                full,
                [mode_of.get(a, "reflect") for a in range(array.ndim)],
                cval,
                [origin_of.get(a, 0) for a in range(array.ndim)],
                policy=_engine.FAST,
                work=np.dtype(np.float64),
            )
        keep(output)
    return output


# --------------------------------------------------------------------------- skipping NaN


def _skipping(nan_policy: Any, mask: Any) -> bool:
    return _args.to_nan_policy(nan_policy) == "omit" or mask is not None


def _sepfilter_skipping(
    array: np.ndarray,
    vectors: list[np.ndarray],
    axes: tuple[int, ...],
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    nan_policy: str,
    mask: Any,
    key: Any,
) -> np.ndarray:
    """sepfilter with ``nan_policy='omit'`` or a mask: one normalized convolution."""
    if any(v.dtype.kind == "c" for v in vectors) or array.dtype.kind == "c":
        raise TypeError(
            "nan_policy='omit' and mask= need real input and factors; filter the real and "
            "imaginary parts separately"
        )
    if len(vectors) != len(axes):
        raise _args.FilterArgumentError(
            "sequence argument must have length equal to input rank (factors must hold one "
            f"1-D kernel per filtered axis: {len(axes)} axes {axes} are filtered but "
            f"{len(vectors)} factors were given)"
        )
    for ax in axes:
        _args.check_axis(ax, array.ndim, "axes entry")
    origins = [
        _args.to_origin(o, v.size)
        for o, v in zip(_args.to_sequence(origin, len(axes), "origin"), vectors)
    ]
    modes = _args.to_modes(mode, len(axes))
    cval = _args.real_cval(cval)
    out = _args.omit_output(output, array)
    mask = _args.to_mask(mask, array.shape)
    effective = [_args.effective_weights(v) for v in vectors]
    _args.check_one_sign(effective)
    if not vectors:  # no axis filtered: each sample is its own mean
        out[...] = array
        if mask is not None:
            out[mask] = np.nan
        return out
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    with recorded(key, array) as keep:
        _normalized.correlate(
            array,
            out,
            None,
            tuple(axes[i] for i in order),
            [modes[i] for i in order],
            cval,
            [origins[i] for i in order],
            mask=mask,
            omit=_args.to_nan_policy(nan_policy) == "omit",
            terms=[[effective[i] for i in order]],
        )
        keep(out)
    return out


# --------------------------------------------------------------------------- the spine


def _filter(
    input: Any,
    weights: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    method: str,
    rtol: float | None,
    convolution: bool,
    key: Any = None,
) -> np.ndarray:
    array = _args.as_input(input, output, nd=True)
    kernel = np.asarray(weights)
    if array.dtype.kind == "c" or kernel.dtype.kind == "c":
        if kernel.dtype.kind == "c" and not convolution:
            kernel = kernel.conj()  # as np.correlate: conjugate the weights
        output = _args.get_output(output, array, complex_output=True)
        return _args.complex_via_real(
            _filter_kw,
            array,
            kernel,
            output,
            cval,
            mode=mode,
            origin=origin,
            axes=axes,
            method=method,
            rtol=rtol,
            convolution=convolution,
        )
    call = _args.normalize_nd(
        array, kernel, output, mode, cval, origin, axes, convolution, sequence_modes=True
    )
    done = _args.degenerate_nd(
        call,
        lambda i, w, o: _filter(i, w, o, "reflect", call.cval, 0, None, method, rtol, False),
    )
    if done is not None:
        return done
    out = call.output
    lengths = list(array.shape)
    folded, origins, asked = fold_for_data(
        call.weights,
        lengths,
        list(call.modes),
        list(call.origins),
        lambda: all_finite(array, call.cval),
    )
    key = None if asked else key  # the fold depended on the values: do not keep it
    # Plan over the kernel's axes of more than one tap (size-1 axes are scales).
    filtered = tuple(a for a in range(array.ndim) if folded.shape[a] > 1) or (array.ndim - 1,)
    kernel = folded.reshape([folded.shape[a] for a in filtered])
    modes = [call.modes[a] for a in filtered]
    origins = [origins[a] for a in filtered]
    out_dtype = out.dtype if out.dtype.kind != "c" else None
    chosen = make_plan(
        array.shape, kernel, filtered, array.dtype, method, rtol, out_dtype=out_dtype
    )
    if array.size == 0:
        return out
    if chosen.method == "fft" and method == "auto" and not all_finite(array, call.cval):
        key = None  # the choice depended on the values: do not keep it
        chosen = make_plan(
            array.shape,
            kernel,
            filtered,
            array.dtype,
            method,
            rtol,
            exclude=frozenset({"fft"}),
            out_dtype=out_dtype,
        )
    if np.may_share_memory(array, out):
        scratch = np.empty(array.shape, out.dtype)
        run(chosen, array, scratch, modes, call.cval, origins)
        out[...] = scratch
        return out
    with recorded(key, input) as keep:
        run(chosen, array, out, modes, call.cval, origins)
        keep(out)
    return out


def _filter_kw(
    input: Any,
    weights: Any,
    *,
    output: Any,
    cval: Any,
    mode: Any,
    origin: Any,
    axes: Any,
    method: str,
    rtol: float | None,
    convolution: bool,
) -> np.ndarray:
    # complex_via_real's calling convention (keywords) for _filter.
    return _filter(input, weights, output, mode, cval, origin, axes, method, rtol, convolution)


def _as_factors(factors: Any) -> list[np.ndarray]:
    if isinstance(factors, (str, bytes, np.ndarray)) and np.ndim(factors) != 2:
        raise TypeError("factors must be a sequence of 1-D kernels, one per filtered axis")
    try:
        items = list(factors)
    except TypeError:
        raise TypeError(
            "factors must be a sequence of 1-D kernels, one per filtered axis"
        ) from None
    vectors = []
    for i, item in enumerate(items):
        v = np.asarray(item)
        if v.dtype == bool:
            v = v.astype(np.float64)
        if v.dtype.kind not in "iufc":
            raise TypeError(
                f"factors[{i}] must hold numbers, got dtype {v.dtype}; convert it first, e.g. "
                f"np.asarray(factors[{i}], dtype=np.float64)"
            )
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"factors[{i}] must be a non-empty 1-D kernel, got shape {v.shape}")
        vectors.append(v.astype(np.complex128 if v.dtype.kind == "c" else np.float64))
    return vectors
