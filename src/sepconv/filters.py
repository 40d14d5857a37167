"""Filtering NumPy arrays with scipy.ndimage's semantics: validate, plan, run.

:func:`correlate` and :func:`convolve` take scipy.ndimage's arguments and give
its results (every boundary mode, ``cval``, per-axis ``origin``, ``axes``, an
``output`` array or dtype, any number of dimensions), choosing how to compute
with :func:`sepconv.plan`.  :func:`sepfilter` applies one 1-D kernel per axis.

Everything is validated before anything is written: a bad argument raises
before ``output`` is touched.  Dask arrays are handed to :mod:`sepconv.dask`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ._args import convolve_origin
from ._boundary import (
    check_axes,
    entries_by_axis,
    normalize_modes,
    per_axis_origins,
)
from ._plan import Plan, check_cval, effective_weights, make_plan, plan
from ._reduce import fold_for_data
from ._replay import (
    _PROGRAMS,
    _output_key,
    _replay,
    _run_program,
    _sepfilter_signature,
    _signature,
)

__all__ = ["convolve", "correlate", "plan", "sepfilter"]

F = TypeVar("F", bound=Callable[..., Any])

_PARAMETERS = {
    "input": """input : array_like
        The array to filter.  Supported dtypes: uint8, int8, uint16, int16,
        uint32, int32, int64, float32, float64, and complex64 / complex128
        (filtered as real and imaginary parts, as scipy does).  Any strides,
        read-only arrays included; it is never modified.""",
    "output": """output : ndarray or dtype, optional
        Array to write the result into (same shape as ``input``; it may overlap
        ``input``) or the dtype of a new result.  Default: ``input.dtype``.
        Integer outputs follow scipy's conversion: the floating result is
        truncated toward zero (out-of-range values wrap as a C cast does on
        x86-64).""",
    "mode": """mode : str or sequence of str, optional
        How the array extends beyond its edges (one mode, or one per filtered
        axis): ``'reflect'`` (``d c b a | a b c d | d c b a``, default),
        ``'mirror'`` (``d c b | a b c d | c b a``), ``'nearest'``
        (``a a a | a b c d | d d d``), ``'wrap'`` (``a b c d | a b c d``),
        ``'constant'`` (``k k k | a b c d | k k k`` with ``k = cval``), and
        scipy's synonyms ``'grid-mirror'`` (= reflect), ``'grid-constant'``
        (= constant), ``'grid-wrap'`` (= wrap).""",
    "cval": """cval : float, optional
        Value beyond the edges for ``mode='constant'``.  Default 0.0.""",
    "origin": """origin : int or sequence of int, optional
        Shift of the kernel's anchor, one per filtered axis or one for all;
        ``-(k // 2) <= origin <= (k - 1) // 2`` for a kernel of ``k`` taps.
        Default 0 (the centre, ``k // 2``).""",
    "axes": """axes : int or sequence of int, optional
        Axes to filter; the others are filtered independently (batches,
        channels).  Default: all axes.  As in scipy.ndimage, the kernel's
        dimensions follow the filtered axes in increasing order, while
        ``origin`` and ``mode`` entries follow ``axes`` as given.""",
    "method": """method : {'auto', 'direct', 'separable', 'lowrank', 'fft'}, optional
        How to compute.  ``'auto'`` (default) takes the cheapest exact method
        for this kernel and shape (see :func:`sepconv.plan`); ``'separable'``
        raises :class:`sepconv.NotSeparableError` for a kernel that does not
        separate; ``'lowrank'`` sums separable passes approximating the kernel
        to ``rtol`` (2-D kernels); ``'fft'`` pads with the boundary mode and
        convolves with scipy.fft (NaN or infinity then spreads to the whole
        output, and float32 results carry FFT rounding relative to the
        largest value).""",
    "rtol": """rtol : float, optional
        Relative (Frobenius) error allowed in the kernel.  With ``'auto'`` it
        lets low-rank plans compete; with ``'lowrank'`` it sets the rank
        (default: the kernel's numerical rank, which is exact).""",
}


def _fill_doc(func: F) -> F:
    func.__doc__ = (func.__doc__ or "") % _PARAMETERS
    return func


def _is_dask(value: Any) -> bool:
    return type(value).__module__.startswith("dask")


# --------------------------------------------------------------------------- public


@_fill_doc
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
) -> np.ndarray:
    """Multidimensional correlation, as ``scipy.ndimage.correlate``.

    ``output[i] = sum_j weights[j] * padded[i + j - weights.shape // 2 - origin]``
    over the filtered axes, with ``padded`` the input extended by ``mode``.
    Weights with ``|w| <= 2.2e-16`` (and NaN weights) are skipped as scipy
    skips them, so a NaN in the input spreads only through nonzero weights.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The kernel: one dimension per filtered axis.
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(method)s
    %(rtol)s

    Returns
    -------
    ndarray
        The result (``output`` itself when an array is given).

    Raises
    ------
    TypeError, ValueError
        For unsupported dtypes or bad arguments; the message names the argument.
    NotSeparableError
        For ``method='separable'`` and a kernel that does not separate.

    See Also
    --------
    convolve, sepfilter, sepconv.plan

    Notes
    -----
    Floating outputs match scipy to rounding (float32 work stays float32).
    Integer inputs are computed in float32 (uint8 and int8, when every result
    is exact well below one unit) or float64; integer outputs then equal
    scipy's except, by one, where the exact value lies on an integer within
    rounding.  Results do not depend on the number of threads.

    A kernel is filtered as separable when it is rank 1 to the rounding of
    its own dtype or of the work dtype (a float32 ``np.outer(g, g)``
    separates); the plan states its factors' error.  Kernel axes of size 1
    cost no pass, and constant factors of 16 taps or more (box / mean
    filters) run as running sums, at a cost flat in their length.

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
    key = _signature(False, input, weights, output, mode, cval, origin, axes, method, rtol)
    if key is not None and (done := _replay(key, input, output)) is not None:
        return done
    if _is_dask(input):
        from . import dask

        return dask.correlate(
            input, weights, output, mode, cval, origin, axes=axes, method=method, rtol=rtol
        )
    return _correlate_or_convolve(
        input, weights, output, mode, cval, origin, axes, method, rtol, convolution=False, key=key
    )


@_fill_doc
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
) -> np.ndarray:
    """Multidimensional convolution, as ``scipy.ndimage.convolve``.

    Correlation with the kernel flipped along every axis and each origin
    mirrored (``-origin``, minus one more for an even-sized axis), as scipy
    defines it.

    Parameters
    ----------
    %(input)s
    weights : array_like
        The kernel: one dimension per filtered axis.
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(method)s
    %(rtol)s

    Returns
    -------
    ndarray
        The result (``output`` itself when an array is given).

    See Also
    --------
    correlate, sepfilter, sepconv.plan

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> sepconv.convolve(np.array([0.0, 0.0, 1.0, 0.0, 0.0]), [1.0, 2.0, 3.0])
    array([0., 1., 2., 3., 0.])
    """
    key = _signature(True, input, weights, output, mode, cval, origin, axes, method, rtol)
    if key is not None and (done := _replay(key, input, output)) is not None:
        return done
    if _is_dask(input):
        from . import dask

        return dask.convolve(
            input, weights, output, mode, cval, origin, axes=axes, method=method, rtol=rtol
        )
    return _correlate_or_convolve(
        input, weights, output, mode, cval, origin, axes, method, rtol, convolution=True, key=key
    )


@_fill_doc
def sepfilter(
    input: Any,
    factors: Sequence[Any],
    axes: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
) -> np.ndarray:
    """Separable correlation: one 1-D kernel per filtered axis.

    The result equals ``correlate(input, outer(*factors), ...)`` (what chaining
    ``scipy.ndimage.correlate1d`` over the axes computes), computed in one fused
    pass for the last two axes; like :func:`cv2.sepFilter2D`, but N-D and with
    scipy's boundary modes.  The arithmetic is done once in floating point,
    with a single conversion at the end (chained ``correlate1d`` with an
    integer output rounds after every axis), and zero taps are skipped as in
    :func:`correlate`.

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

    Returns
    -------
    ndarray
        The result (``output`` itself when an array is given).

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
    key = _sepfilter_signature(input, factors, axes, output, mode, cval, origin)
    if key is not None and (done := _replay(key, input, output)) is not None:
        return done
    if _is_dask(input):
        from . import dask

        return dask.sepfilter(input, factors, axes, output, mode, cval, origin)
    array = _as_input(input)
    vectors = _as_factors(factors)
    if array.dtype.kind == "c":
        output = _get_output(output, array, complex_output=True)
        cv = complex(cval)
        sepfilter(array.real, vectors, axes, output.real, mode, cv.real, origin)
        sepfilter(array.imag, vectors, axes, output.imag, mode, cv.imag, origin)
        return output
    axes = check_axes(axes, array.ndim)
    if len(vectors) != len(axes):
        raise ValueError(
            f"factors must hold one 1-D kernel per filtered axis: {len(axes)} axes "
            f"{axes} are filtered but {len(vectors)} factors were given"
        )
    origins = per_axis_origins(origin, [v.size for v in vectors])
    modes = normalize_modes(mode, len(axes))
    cval = check_cval(cval)
    for i, ax in enumerate(axes):  # a factor longer than its line folds to a short one
        vectors[i], (origins[i],), asked = fold_for_data(
            vectors[i],
            [array.shape[ax]],
            [modes[i]],
            [origins[i]],
            lambda: _all_finite(array, cval),
        )
        key = None if asked else key  # the fold depended on the values: do not keep it
    output, target = _get_output(output, array), None
    if output.dtype.kind == "c":  # a real result asked for in a complex array, as correlate
        sepfilter(array, vectors, axes, output.real, mode, cval, origin)
        output.imag[...] = 0
        return output
    if array.size == 0:
        return output
    if np.may_share_memory(array, output):
        target, output, key = output, np.empty(array.shape, output.dtype), None
    from . import _engine

    effective = [effective_weights(v) for v in vectors]
    with _engine.recording() as rec:
        if all(np.all(np.isfinite(v)) for v in effective):
            _engine.run_separable(array, output, axes, [effective], modes, cval, origins)
        else:  # infinite taps: only the dense product behaves as scipy (inf * 0 = nan)
            dense = effective[0]
            with np.errstate(invalid="ignore"):
                for v in effective[1:]:
                    dense = np.multiply.outer(dense, v)
            # correlate(input, outer(*factors)) skips the NaN weights inf * 0 makes.
            dense = effective_weights(dense)
            _engine.run_direct(array, output, axes, dense, modes, cval, origins)
    if target is not None:
        target[...] = output
        return target
    if key is not None:
        _PROGRAMS.put(key, rec, array, output)
    return output


# --------------------------------------------------------------------------- the spine


def _correlate_or_convolve(
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
    array = _as_input(input)
    kernel = _as_weights(weights)
    if array.dtype.kind == "c" or kernel.dtype.kind == "c":
        return _complex(array, kernel, output, mode, cval, origin, axes, method, rtol, convolution)
    axes = check_axes(axes, array.ndim)
    if kernel.ndim != len(axes):
        hint = "; pass axes=(...) to filter only some axes" if len(axes) == array.ndim else ""
        raise ValueError(
            f"weights must have one dimension per filtered axis: {len(axes)} axes are "
            f"filtered but weights is {kernel.ndim}-D (shape {kernel.shape}){hint}"
        )
    # As in scipy, the kernel's dimensions follow the filtered axes in increasing
    # order; origin and mode entries are mapped by entries_by_axis.
    origin_of = entries_by_axis(origin, axes, array.ndim, "origin")
    mode_of = entries_by_axis(mode, axes, array.ndim, "mode")
    axes = tuple(sorted(axes))
    # A mirrored origin is valid exactly when the origin is: check what was given.
    origins = per_axis_origins([origin_of[a] for a in axes], kernel.shape)
    mode = [mode_of[a] for a in axes]
    if convolution:
        # scipy: flip the kernel, mirror each origin (one more for even sizes).
        kernel = kernel[(slice(None, None, -1),) * kernel.ndim]
        origins = [convolve_origin(o, k) for o, k in zip(origins, kernel.shape)]
    modes = normalize_modes(mode, len(axes))
    cval = check_cval(cval)
    output = _get_output(output, array)
    lengths = [array.shape[a] for a in axes]
    kernel, origins, asked = fold_for_data(
        kernel, lengths, modes, origins, lambda: _all_finite(array, cval)
    )
    key = None if asked else key  # the fold depended on the values: do not keep it
    out_dtype = output.dtype if output.dtype.kind != "c" else None
    chosen = make_plan(array.shape, kernel, axes, array.dtype, method, rtol, out_dtype=out_dtype)
    if array.size == 0:
        return output
    if chosen.method == "fft" and method == "auto" and not _all_finite(array, cval):
        key = None  # the choice depended on the values: do not keep it
        chosen = make_plan(array.shape, kernel, axes, array.dtype, method, rtol,
                           exclude=frozenset({"fft"}), out_dtype=out_dtype)  # fmt: skip
    if np.may_share_memory(array, output):
        target = output
        _run(chosen, array, np.empty(array.shape, output.dtype), modes, cval, origins, target)
        return target
    from ._engine import recording

    with recording() as rec:
        _run(chosen, array, output, modes, cval, origins)
    if key is not None:
        _PROGRAMS.put(key, rec, array, output)
    return output


# --------------------------------------------------------------------------- replays


def run_plan(chosen: Plan, array: np.ndarray, output: Any) -> np.ndarray:
    """Filter ``array`` (of the plan's shape and dtype) with a plan from :func:`sepconv.plan`.

    The body of ``Plan.__call__``: the launches of each (input strides,
    output) layout are kept in the plan's own program cache (16 layouts).
    """
    try:
        key: Any = (array.strides, _output_key(output))
        hash(key)
    except TypeError:
        key = None
    if key is not None and (program := chosen._programs.get(key)) is not None:
        if (done := _run_program(program, array, output)) is not None:
            return done
    output = _get_output(output, array)
    if array.size == 0:
        return output
    run = chosen
    if chosen.method == "fft" and chosen.requested == "auto":
        if not _all_finite(array, chosen.cval):
            key = None
            run = make_plan(chosen.shape, chosen.weights, chosen.axes, array.dtype, "auto", None,
                            exclude=frozenset({"fft"}))  # fmt: skip
    modes, cval, origins = chosen.modes, chosen.cval, chosen.origins
    if np.may_share_memory(array, output):
        _run(run, array, np.empty(array.shape, output.dtype), modes, cval, origins, output)
        return output
    from ._engine import recording

    with recording() as rec:
        _run(run, array, output, modes, cval, origins)
    if key is not None:
        chosen._programs.put(key, rec, array, output)
    return output


def _run(
    chosen: Plan,
    array: np.ndarray,
    output: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    target: np.ndarray | None = None,
) -> None:
    """Run a plan; with ``target``, ``output`` is scratch copied into ``target`` after."""
    from . import _engine

    if target is not None:
        _run(chosen, array, output, modes, cval, origins)
        target[...] = output
        return
    if output.dtype.kind == "c":  # a real result asked for in a complex array
        _engine.not_replayable()
        output.imag[...] = 0
        output = output.real
    axes = chosen.axes
    if chosen.method == "separable":
        assert chosen.factors is not None
        _engine.run_separable(array, output, axes, [chosen.factors], modes, cval, origins)
    elif chosen.method == "lowrank":
        assert chosen.terms is not None
        terms = [list(term) for term in chosen.terms]
        _engine.run_separable(array, output, axes, terms, modes, cval, origins)
    elif chosen.method == "fft":
        _engine.run_fft(array, output, axes, chosen.weights, modes, cval, origins)
    else:
        _engine.run_direct(array, output, axes, chosen.weights, modes, cval, origins)


def _complex(
    array: np.ndarray,
    kernel: np.ndarray,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    method: str,
    rtol: float | None,
    convolution: bool,
) -> np.ndarray:
    """Complex input or weights as real filterings, exactly as scipy composes them."""
    if kernel.dtype.kind == "c" and not convolution:
        kernel = kernel.conj()  # as np.correlate: conjugate the weights
    if array.dtype.kind != "c" and np.iscomplexobj(cval):
        raise ValueError("cval must be real for a real input, got a complex value")
    if isinstance(cval, (str, bytes)):
        raise TypeError(f"cval must be a number, got {cval!r}")
    output = _get_output(output, array, complex_output=True)
    cv = complex(cval)

    def run(x: np.ndarray, w: np.ndarray, out: Any, c: Any) -> np.ndarray:
        return _correlate_or_convolve(x, w, out, mode, c, origin, axes, method, rtol, convolution)

    if array.dtype.kind == "c" and kernel.dtype.kind == "c":
        run(array.real, kernel.real, output.real, cv.real)
        output.real -= run(array.imag, kernel.imag, None, cv.imag)
        run(array.real, kernel.imag, output.imag, cv.real)
        output.imag += run(array.imag, kernel.real, None, cv.imag)
    elif array.dtype.kind == "c":
        run(array.real, kernel, output.real, cv.real)
        run(array.imag, kernel, output.imag, cv.imag)
    else:
        run(array, kernel.real, output.real, cv.real)
        run(array, kernel.imag, output.imag, cv.real)
    return output


def _all_finite(array: np.ndarray, cval: float) -> bool:
    if array.dtype.kind != "f":
        return bool(np.isfinite(cval))
    return bool(np.isfinite(cval) and np.isfinite(array).all())


# --------------------------------------------------------------------------- arguments


def _supported() -> tuple[np.dtype, ...]:
    from ._engine import SUPPORTED_DTYPES

    return SUPPORTED_DTYPES


def _dtype_error(name: str, dtype: np.dtype) -> TypeError:
    names = ", ".join(str(d) for d in _supported())
    hint = {
        "b": f"; convert it first, e.g. {name}.astype(np.uint8)",
        "f": f"; convert it first, e.g. {name}.astype(np.float32)",
        "u": f"; convert it first, e.g. {name}.astype(np.int64)",
        "O": f"; convert it to numbers first, e.g. {name}.astype(np.float64)",
        "M": f"; filter its integer values, e.g. {name}.view(np.int64)",
        "m": f"; filter its integer values, e.g. {name}.view(np.int64)",
        "V": f"; filter one field at a time, e.g. {name}[{name}.dtype.names[0]]"
        if dtype.names
        else "",
    }.get(dtype.kind, "")
    if name == "output":  # an output dtype is chosen, not converted
        hint = "; pass a supported one, e.g. output=np.float64"
    return TypeError(
        f"{name} dtype {dtype} is not supported; supported: {names} (and complex64, "
        f"complex128){hint}"
    )


def _as_input(input: Any) -> np.ndarray:
    try:
        array = np.asarray(input)
    except Exception as exc:  # ragged nested lists
        raise TypeError(f"input must be an array of numbers: {exc}") from None
    if array.dtype.kind == "c":
        if array.dtype not in (np.complex64, np.complex128):
            raise _dtype_error("input", array.dtype)
        return array
    if array.dtype.newbyteorder("=") not in _supported():
        raise _dtype_error("input", array.dtype)
    if array.ndim == 0:
        raise ValueError("input must have at least one dimension, got a 0-d array")
    return array


def _as_weights(weights: Any) -> np.ndarray:
    if isinstance(weights, (str, bytes)) or weights is None:
        raise TypeError(f"weights must be an array of numbers, got {type(weights).__name__}")
    try:
        kernel = np.asarray(weights)
    except Exception as exc:
        raise TypeError(f"weights must be an array of numbers: {exc}") from None
    if kernel.dtype == bool:
        kernel = kernel.astype(np.float64)
    if kernel.dtype.kind not in "iufc":
        raise TypeError(
            f"weights must hold numbers, got dtype {kernel.dtype}; convert it first, e.g. "
            "np.asarray(weights, dtype=np.float64)"
        )
    if kernel.size == 0 or kernel.ndim == 0:
        raise ValueError(
            f"weights must be a non-empty array with one dimension per filtered axis, got "
            f"shape {kernel.shape}"
        )
    return kernel


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
        if v.dtype.kind == "c":
            raise TypeError(
                f"factors[{i}] is complex; sepfilter needs real factors (use correlate with "
                "the complex kernel)"
            )
        if v.dtype.kind not in "iuf":
            raise TypeError(
                f"factors[{i}] must hold numbers, got dtype {v.dtype}; convert it first, e.g. "
                f"np.asarray(factors[{i}], dtype=np.float64)"
            )
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"factors[{i}] must be a non-empty 1-D kernel, got shape {v.shape}")
        vectors.append(v.astype(np.float64))
    if not vectors:
        raise ValueError("factors must hold at least one 1-D kernel")
    return vectors


def _get_output(output: Any, array: np.ndarray, complex_output: bool = False) -> np.ndarray:
    """A validated, writable output array (not written yet)."""
    if output is None:
        dtype = array.dtype
        if complex_output and dtype.kind != "c":
            dtype = np.promote_types(dtype, np.complex64)
        return _new_output(array.shape, dtype.newbyteorder("="))
    if isinstance(output, np.ndarray):
        if output.shape != array.shape:
            raise ValueError(
                f"output must have the input's shape {array.shape}, got {output.shape}"
            )
        if not output.flags.writeable:
            raise ValueError("output is read-only; pass a writable array or a dtype")
        _check_output_dtype(output.dtype, complex_output)
        return output
    if isinstance(output, (type, np.dtype, str)):
        try:
            dtype = np.dtype(output)
        except TypeError:
            raise TypeError(f"output must be an array or a dtype, got {output!r}") from None
        _check_output_dtype(dtype, complex_output)
        return _new_output(array.shape, dtype)
    raise TypeError(f"output must be None, a NumPy array or a dtype, got {type(output).__name__}")


def _new_output(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A new output array, or a MemoryError saying what was asked and what to do."""
    try:
        return np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError) as exc:  # ValueError: larger than any array
        from ._memory import format_bytes

        need = math.prod(shape) * np.dtype(dtype).itemsize
        raise MemoryError(
            f"the output of an input of shape {shape} needs {format_bytes(need)} "
            f"({np.dtype(dtype)}), which cannot be allocated; pass output= a (memory-mapped) "
            "array or filter it block by block with sepconv.dask"
        ) from exc


def _check_output_dtype(dtype: np.dtype, complex_output: bool) -> None:
    if dtype.kind == "c":
        if dtype.newbyteorder("=") not in (np.complex64, np.complex128):
            raise _dtype_error("output", dtype)
        return
    if complex_output:
        raise TypeError(
            f"output must have a complex dtype for complex input or weights, got {dtype}"
        )
    if dtype.newbyteorder("=") not in _supported():
        raise _dtype_error("output", dtype)
