"""The one argument normaliser: every public function's arguments become values here.

Every public filter -- ``sepconv.correlate`` / ``convolve`` / ``sepfilter`` /
``plan``, ``sepconv.ndimage``'s fifteen, the Dask and torch paths -- turns its
arguments into validated values through these functions, so they accept the
same things and fail the same way.  The boundary rules themselves (modes,
reach, extension) live in :mod:`sepconv._boundary`.

Errors.  A mistake scipy.ndimage checks raises scipy's exception class with
scipy's message text first; ours adds, in parentheses, which argument and the
fix.  Where scipy raises ``RuntimeError`` for a user mistake (a sequence of the
wrong length, an unknown mode) we raise :class:`FilterArgumentError`, both a
``ValueError`` (the right class for a bad argument) and a ``RuntimeError`` (so
code written against scipy still catches it); an unsupported dtype raises
:class:`UnsupportedDtypeError`, which is also a ``TypeError``.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _boundary

__all__ = [
    "COMPLEX_DTYPES",
    "FilterArgumentError",
    "REAL_DTYPES",
    "UnsupportedDtypeError",
    "as_input",
    "as_kernel",
    "as_weights",
    "NAN_POLICIES",
    "check_axis",
    "check_one_sign",
    "check_positive_int",
    "check_tolerance",
    "check_workers",
    "complex_via_real",
    "convolve_origin",
    "effective_weights",
    "degenerate_nd",
    "entries_by_axis",
    "format_bytes",
    "get_output",
    "kept_taps",
    "nd_kernel",
    "new_array",
    "normalize_nd",
    "omit_output",
    "real_cval",
    "real_output",
    "to_axes",
    "to_mask",
    "to_mode",
    "to_modes",
    "to_nan_policy",
    "to_origin",
    "to_sequence",
    "weights1d",
]


class FilterArgumentError(ValueError, RuntimeError):
    """A bad argument to a filter: where scipy.ndimage raises ``RuntimeError``.

    Subclasses both ``ValueError`` and ``RuntimeError`` so that ``except``
    clauses written for either keep working.
    """


class UnsupportedDtypeError(FilterArgumentError, TypeError):
    """An array dtype no filter accepts (scipy: ``RuntimeError``; also a ``TypeError``)."""


#: The real dtypes scipy.ndimage's filters accept (float16 is refused, as by scipy).
REAL_DTYPES = tuple(
    np.dtype(t)
    for t in (
        np.bool_,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.float32,
        np.float64,
    )
)
COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))
_SUPPORTED = frozenset(REAL_DTYPES + COMPLEX_DTYPES)


def _supported(dtype: np.dtype) -> bool:
    return dtype in _SUPPORTED or dtype.newbyteorder("=") in _SUPPORTED


def _error(cls: type[Exception], scipy: str, ours: str) -> Exception:
    """scipy's message first, then ours (which argument, and the fix)."""
    return cls(f"{scipy} ({ours})")


def _dtype_fix(name: str, dtype: np.dtype) -> str:
    if name == "output":
        fix = "pass a supported one, e.g. output=np.float64"
    elif dtype.kind == "V":
        fix = (
            f"filter one field at a time, e.g. {name}[{name}.dtype.names[0]]"
            if dtype.names
            else f"view it as numbers, e.g. {name}.view(np.uint8)"
        )
    elif dtype.kind in "Mm":
        fix = f"filter its integer values, e.g. {name}.view(np.int64)"
    else:
        fix = "convert it first, e.g. " + (
            f"{name}.astype(np.float32)" if dtype.kind in "fc" else f"{name}.astype(np.float64)"
        )
    return (
        f"{name} dtype {dtype} is not supported; supported: bool, uint8 .. uint64, "
        f"int8 .. int64, float32, float64, complex64, complex128; {fix}"
    )


def dtype_error(name: str, dtype: np.dtype, scipy: str | None = None) -> UnsupportedDtypeError:
    """scipy's "array type ... not supported" (or ``scipy``), naming ``name`` and the fix."""
    return _error(
        UnsupportedDtypeError,
        scipy or f"array type {dtype!r} not supported",
        _dtype_fix(name, dtype),
    )


def as_weights(weights: Any, name: str = "weights") -> np.ndarray:
    """``np.asarray(weights, dtype=np.float64)`` as scipy converts them (an object array of
    numbers is fine); what does not convert raises numpy's message, then ours."""
    try:
        return np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        dtype = getattr(np.asarray(weights, dtype=object), "dtype", None)
        raise UnsupportedDtypeError(
            f"{exc} ({name} must hold numbers, got dtype "
            f"{getattr(weights, 'dtype', dtype)}; convert it first, e.g. "
            f"np.asarray({name}, dtype=np.float64))"
        ) from None


def new_array(shape: tuple[int, ...], dtype: Any, zeros: bool = False) -> np.ndarray:
    """A new output array, or a MemoryError saying what was asked and what to do."""
    try:
        return np.zeros(shape, dtype=dtype) if zeros else np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError) as exc:  # ValueError: larger than any array
        need = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
        raise MemoryError(
            f"{exc} (the output of an input of shape {shape} needs {format_bytes(need)} "
            f"({np.dtype(dtype)}), which cannot be allocated; pass output= a (memory-mapped) "
            "array or filter it block by block with sepconv.dask)"
        ) from exc


# --------------------------------------------------------------------------- arrays


def as_input(input: Any, output: Any = None, *, nd: bool = False) -> np.ndarray:
    """``np.asarray(input)`` with a dtype scipy.ndimage's filters accept.

    The error is scipy's for the same call: a string dtype without ``output``
    fails where scipy makes its output (``data type 'str32' not understood``),
    any other unsupported dtype in scipy's C code (``array type ... not
    supported``; ``nd``: its N-D correlate's wording).

    Examples
    --------
    >>> as_input([1, 2]).dtype
    dtype('int64')
    >>> as_input(np.ones(2, np.float16))
    Traceback (most recent call last):
    ...
    sepconv._args.UnsupportedDtypeError: array type dtype('float16') not supported (input ...
    """
    array = np.asarray(input)
    if not _supported(array.dtype):
        if output is None and array.dtype.kind in "USV":
            try:
                np.dtype(array.dtype.name)
            except TypeError as exc:
                raise _error(
                    UnsupportedDtypeError, str(exc), _dtype_fix("input", array.dtype)
                ) from None
        raise dtype_error("input", array.dtype, "array type not supported" if nd else None)
    return array


def get_output(
    output: Any,
    input: np.ndarray,
    complex_output: bool = False,
    *,
    stacklevel: int = 4,
    nd: bool = False,
) -> np.ndarray:
    """scipy's ``_get_output``: a new array, or the validated ``output`` array.

    A dtype *class or object* that is real where a complex result is needed is
    promoted with scipy's ``UserWarning``; a dtype *string* then raises.

    Examples
    --------
    >>> get_output(None, np.ones(3, np.uint8)).dtype
    dtype('uint8')
    >>> get_output("f4", np.ones(3)).dtype
    dtype('float32')
    """
    shape = input.shape
    unsupported = "array type not supported" if nd else None
    if output is None:
        # np.empty, not scipy's np.zeros: every filter writes every sample.
        dtype = input.dtype if input.dtype.isnative else input.dtype.newbyteorder("=")
        if complex_output:
            dtype = np.promote_types(dtype, np.complex64)
        return new_array(shape, dtype)
    if isinstance(output, (type, np.dtype)):
        try:
            # (np.zeros makes '<U1' of np.str_: the dtype scipy's array would have)
            dtype = np.zeros(0, dtype=output).dtype
        except TypeError:
            raise TypeError(f"output must be an array or a dtype, got {output!r}") from None
        if complex_output and dtype.kind != "c":
            warnings.warn("promoting specified output dtype to complex", stacklevel=stacklevel)
            dtype = np.promote_types(dtype, np.complex64)
        if not _supported(dtype):
            raise dtype_error("output", dtype, unsupported)
        return new_array(shape, dtype, zeros=True)
    if isinstance(output, str):
        try:
            dtype = np.dtype(output)
        except TypeError:
            raise TypeError(f"data type {output!r} not understood") from None
        if complex_output and dtype.kind != "c":
            raise _error(
                FilterArgumentError,
                "output must have complex dtype",
                f"output={output!r} is real; complex input or weights need a complex output",
            )
        if not issubclass(dtype.type, np.number):
            raise _error(
                UnsupportedDtypeError,
                "output must have numeric dtype",
                f"output dtype {dtype} is not supported; pass a numeric dtype, e.g. 'float64'",
            )
        if not _supported(dtype):
            raise dtype_error("output", dtype, unsupported)
        return new_array(shape, dtype, zeros=True)
    if not isinstance(output, np.ndarray):
        # scipy takes np.asarray(output): a list of the right shape is a new array
        given = output
        output = np.asarray(output)
        if output.shape != shape:
            raise _error(
                FilterArgumentError,
                "output shape not correct",
                f"output must have the input's shape {shape}, got "
                f"{type(given).__name__} of shape {output.shape}",
            )
        if not _supported(output.dtype):
            raise dtype_error("output", output.dtype, unsupported)
        return np.array(output, copy=True)
    if output.shape != shape:
        raise _error(
            FilterArgumentError,
            "output shape not correct",
            f"output must have the input's shape {shape}, got shape {output.shape}",
        )
    if complex_output and output.dtype.kind != "c":
        raise _error(
            FilterArgumentError,
            "output must have complex dtype",
            f"output has dtype {output.dtype}; complex input or weights need a complex output",
        )
    if not _supported(output.dtype):
        raise dtype_error("output", output.dtype, unsupported)
    if not output.flags.writeable:
        raise _error(
            ValueError,
            "output array is read-only.",
            "output is read-only; pass a writable array or a dtype",
        )
    return output


def real_output(output: np.ndarray, scipy: str | None = None) -> np.ndarray:
    """``output`` for a real filtering: a complex array is refused, as by scipy."""
    if output.dtype.kind == "c":
        raise dtype_error("output", output.dtype, scipy)
    return output


def real_cval(cval: Any) -> float:
    """``cval`` for a real filtering: a real number (scipy's ``TypeError`` otherwise)."""
    if type(cval) is float:
        return cval
    if isinstance(cval, (complex, np.complexfloating)) or isinstance(cval, (str, bytes)):
        kind = type(cval).__name__
        raise _error(
            TypeError,
            f"must be real number, not {kind}",
            f"cval must be a real number, got {cval!r}",
        )
    try:
        return float(cval)
    except (TypeError, ValueError):
        raise _error(
            TypeError,
            f"must be real number, not {type(cval).__name__}",
            f"cval must be a real number, got {cval!r}",
        ) from None


# --------------------------------------------------------------------------- sequences


def to_sequence(value: Any, length: int, name: str) -> list[Any]:
    """scipy's ``_normalize_sequence``: a scalar repeated, or ``length`` entries.

    Examples
    --------
    >>> to_sequence(2, 3, "sigma")
    [2, 2, 2]
    >>> to_sequence((1, 2), 3, "sigma")
    Traceback (most recent call last):
    ...
    sepconv._args.FilterArgumentError: sequence argument must have length equal to input rank ...
    """
    try:
        return _boundary.normalize_sequence(value, length, name)
    except ValueError as exc:
        raise _error(
            FilterArgumentError, "sequence argument must have length equal to input rank", str(exc)
        ) from None


def to_mode(mode: Any, name: str = "mode") -> str:
    """A filter boundary mode (``grid-*`` synonyms mapped); scipy's error otherwise.

    Examples
    --------
    >>> to_mode("grid-wrap")
    'wrap'
    """
    if type(mode) is str and mode in _boundary.MODES:
        return _boundary.normalize_mode(mode, name)
    try:
        return _boundary.normalize_mode(mode, name)
    except (TypeError, ValueError) as exc:
        raise _error(FilterArgumentError, "boundary mode not supported", str(exc)) from None


def to_modes(mode: Any, count: int, name: str = "mode") -> list[str]:
    """One filter mode per filtered axis from a mode or a sequence of modes."""
    return [to_mode(m, name) for m in to_sequence(mode, count, name)]


def _index(value: Any, name: str) -> int:
    """``operator.index(value)`` with scipy's TypeError text, naming ``name``."""
    try:
        return operator.index(value)
    except TypeError:
        raise _error(
            TypeError,
            f"'{type(value).__name__}' object cannot be interpreted as an integer",
            f"{name} must be an integer, got {value!r}",
        ) from None


def check_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """A single axis, normalised; scipy's (numpy's) ``AxisError`` out of range.

    Examples
    --------
    >>> check_axis(-1, 3)
    2
    """
    if type(axis) is int and -ndim <= axis < ndim:
        return axis % ndim
    value = _index(axis, name)
    if not -ndim <= value < ndim:
        raise np.exceptions.AxisError(
            f"axis {value} is out of bounds for array of dimension {ndim} ({name} must be in "
            f"[{-ndim}, {ndim - 1}] for a {ndim}-D input)"
        )
    return value % ndim


def to_axes(axes: Any, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """scipy's ``_check_axes``: ``None`` is every axis, negative axes count from the end.

    Out-of-range axes raise numpy's ``AxisError`` (a ``ValueError``, as scipy's)
    with scipy's text.

    Examples
    --------
    >>> to_axes(None, 3), to_axes((-1, 0), 3)
    ((0, 1, 2), (2, 0))
    """
    if axes is None:
        return tuple(range(ndim))
    if np.isscalar(axes):
        # scipy checks no range for a single axis here: the pass that uses it
        # raises numpy's AxisError (check_axis); a negative one counts from the end
        value = _index(axes, name)
        return (value % ndim if -ndim <= value < ndim else value,)
    if isinstance(axes, Iterable):
        items = list(axes)
    else:
        raise _error(
            ValueError,
            "axes must be an integer, iterable of integers, or None",
            f"{name} must be an integer, a sequence of integers or None, got {axes!r}",
        )
    result = []
    for ax in items:
        if isinstance(ax, (bool, np.bool_)):
            raise _error(
                TypeError,
                f"'{type(ax).__name__}' object cannot be interpreted as an integer",
                f"{name} entries must be integers, got {ax!r}",
            )
        value = _index(ax, f"{name} entries")
        if not -ndim <= value < ndim:
            raise np.exceptions.AxisError(
                f"specified axis: {value} is out of range ({name} entry {value} is out of range "
                f"for an array with {ndim} dimensions)"
            )
        result.append(value % ndim)
    if len(set(result)) != len(result):
        raise _error(
            ValueError,
            "axes must be unique",
            f"{name} must not repeat an axis, got {tuple(result)}",
        )
    return tuple(result)


def entries_by_axis(value: Any, axes: Sequence[int], ndim: int, name: str) -> dict[int, Any]:
    """Map per-axis ``origin`` / ``mode`` entries to array axes as scipy does.

    Entry ``i`` belongs to ``axes[i]``, except when every axis is filtered: then
    scipy ignores the order of ``axes`` and entry ``i`` belongs to array axis ``i``.

    Examples
    --------
    >>> entries_by_axis((1, 2), (2, 0), 3, "origin")
    {2: 1, 0: 2}
    >>> entries_by_axis((1, 2), (1, 0), 2, "origin")
    {0: 1, 1: 2}
    """
    values = to_sequence(value, len(axes), name)
    keys = range(ndim) if len(axes) == ndim else axes
    return dict(zip(keys, values))


# --------------------------------------------------------------------------- origins


_ORIGIN_1D = (
    "Invalid origin; origin must satisfy -(len(weights) // 2) <= origin <= (len(weights)-1) // 2"
)
_ORIGIN_ND = (
    "Invalid origin; origin must satisfy -(weights.shape[k] // 2) <= origin[k] <= "
    "(weights.shape[k]-1) // 2"
)


def to_origin(origin: Any, size: int, name: str = "origin", *, scipy: str = _ORIGIN_ND) -> int:
    """An origin valid for ``size`` taps: ``-(size // 2) <= origin <= (size - 1) // 2``.

    ``scipy`` is the message scipy gives for this function (``'nd'``: N-D
    correlate's, ``'1d'``: correlate1d's, or the text itself).

    Examples
    --------
    >>> to_origin(-1, 3)
    -1
    """
    scipy = {"nd": _ORIGIN_ND, "1d": _ORIGIN_1D}.get(scipy, scipy)
    low, high = -(size // 2), (size - 1) // 2
    if type(origin) is int and low <= origin <= high:
        return origin
    if isinstance(origin, (bool, np.bool_)):
        raise _error(
            TypeError,
            f"'{type(origin).__name__}' object cannot be interpreted as an integer",
            f"{name} must be an integer, got {origin!r}",
        )
    try:
        value = operator.index(origin)
    except TypeError:
        # scipy compares the value with the bounds first (a float in range passes
        # its test and fails later in C); a float out of range is its ValueError.
        try:
            number = float(origin)
        except (TypeError, ValueError):
            raise _error(
                TypeError,
                f"'{type(origin).__name__}' object cannot be interpreted as an integer",
                f"{name} must be an integer, got {origin!r}",
            ) from None
        if not low <= number <= high:
            raise _error(ValueError, scipy, _origin_fix(name, low, high, size, origin)) from None
        raise _error(
            TypeError,
            f"'{type(origin).__name__}' object cannot be interpreted as an integer",
            f"{name} must be an integer, got {origin!r}",
        ) from None
    if not low <= value <= high:
        raise _error(ValueError, scipy, _origin_fix(name, low, high, size, value))
    return value


def _origin_fix(name: str, low: int, high: int, size: int, value: Any) -> str:
    return (
        f"{name} must satisfy -(size // 2) <= origin <= (size - 1) // 2, i.e. lie in "
        f"[{low}, {high}] for a kernel of size {size}; got {value}"
    )


def convolve_origin(origin: int, size: int) -> int:
    """The correlation origin of a convolution: mirrored, one more for even sizes.

    Convolving with ``w`` is correlating with ``w[::-1]`` at this origin
    (scipy's ``convolve1d`` / ``convolve`` rule).

    Examples
    --------
    >>> convolve_origin(0, 3), convolve_origin(0, 4), convolve_origin(1, 4)
    (0, -1, -2)
    """
    return -origin - (0 if size & 1 else 1)


# --------------------------------------------------------------------------- weights


_DBL_EPSILON = float(np.finfo(np.float64).eps)


def kept_taps(weights: np.ndarray) -> np.ndarray:
    """The taps scipy.ndimage's N-D correlate keeps: ``fabs(w) > DBL_EPSILON`` (NaN skipped).

    Examples
    --------
    >>> kept_taps(np.array([1.0, 1e-17, np.nan, -2.0])).tolist()
    [True, False, False, True]
    """
    with np.errstate(invalid="ignore"):
        return np.abs(np.asarray(weights, dtype=np.float64)) > _DBL_EPSILON


def effective_weights(weights: np.ndarray) -> np.ndarray:
    """Weights as scipy.ndimage.correlate uses them: float64, skipped taps set to zero.

    Examples
    --------
    >>> effective_weights(np.array([1.0, 1e-17, np.nan, -2.0])).tolist()
    [1.0, 0.0, 0.0, -2.0]
    """
    w = np.asarray(weights, dtype=np.float64)
    return np.where(kept_taps(w), w, 0.0)


def weights1d(weights: Any) -> np.ndarray:
    """correlate1d's weights: float64, 1-D, non-empty (scipy's error otherwise)."""
    fw = as_weights(weights)
    if fw.ndim != 1 or fw.shape[0] < 1:
        raise _error(
            FilterArgumentError,
            "no filter weights given",
            f"weights must be a non-empty 1-D sequence, got shape {fw.shape}",
        )
    return np.ascontiguousarray(fw)


class NDCall(NamedTuple):
    """A normalised N-D correlation (``normalize_nd``): every entry per array axis."""

    input: np.ndarray
    weights: np.ndarray  # float64, one dimension per array axis (size 1 where not filtered)
    output: np.ndarray
    modes: tuple[str, ...]
    cval: float
    origins: tuple[int, ...]


def degenerate_nd(call: NDCall, line: Any) -> np.ndarray | None:
    """The output of scipy's degenerate N-D cases, or None for a real filtering.

    No tap at all (a zero-size kernel): every output is 0, as scipy's empty sums.
    A 0-d input: the one-tap line it is, filtered by ``line(input, weights,
    output)`` (1-D views; every boundary mode reads the sample itself).
    """
    if call.weights.size == 0:
        call.output[...] = 0
        return call.output
    if call.input.ndim == 0:
        line(call.input.reshape(1), call.weights.reshape(1), call.output.reshape(1))
        return call.output
    return None


def nd_kernel(
    ndim: int,
    weights: np.ndarray,
    mode: Any,
    origin: Any,
    axes: Any,
    convolution: bool,
    *,
    sequence_modes: bool = False,
) -> tuple[np.ndarray, tuple[int, ...], tuple[str, ...]]:
    """``(weights, origins, modes)`` of an N-D correlation of an ``ndim``-D array, per array axis.

    scipy's ``_correlate_or_convolve`` rules, check by check: the kernel's
    dimensions follow the filtered axes in increasing order, its other
    dimensions are size 1; ``origin`` and ``mode`` entries follow ``axes`` as
    given (:func:`entries_by_axis`).  ``sequence_modes`` accepts a sequence of
    modes, one per filtered axis (sepconv.correlate's extension; scipy's
    correlate refuses it).  Convolution flips the kernel and mirrors the origins.
    """
    axes = to_axes(axes, ndim)
    weights = as_weights(weights)
    if len(axes) < ndim:
        if weights.ndim != len(axes):
            raise _error(
                FilterArgumentError,
                f"weights.ndim ({weights.ndim}) must match len(axes) ({len(axes)})",
                "weights must have one dimension per filtered axis, i.e. one "
                f"dimension per axis in axes={axes}",
            )
        for a in axes:
            if not 0 <= a < ndim:  # a single axis scipy did not range-check: its origin's slot
                raise _error(
                    IndexError,
                    "list assignment index out of range",
                    f"axes={a} is out of range for a {ndim}-D input; pass an axis in "
                    f"[{-ndim}, {ndim - 1}]",
                )
        weights = np.expand_dims(weights, tuple(a for a in range(ndim) if a not in axes))
    origin_of = entries_by_axis(origin, axes, ndim, "origin")
    wshape = [k for k in weights.shape if k > 0]
    if len(wshape) != ndim:
        hint = "; pass axes=(...) to filter only some axes" if weights.ndim < ndim else ""
        raise _error(
            FilterArgumentError,
            f"weights.ndim ({len(wshape)}) must match len(axes) ({len(axes)})",
            f"weights must have one dimension per filtered axis, i.e. one dimension "
            f"per axis in axes={axes}: {len(axes)} axes are filtered but weights is "
            f"{weights.ndim}-D (shape {weights.shape}){hint}"
            if weights.size
            else "weights must be a non-empty array with one "
            f"dimension per filtered axis, got shape {weights.shape}",
        )
    origins = [origin_of.get(a, 0) for a in range(ndim)]
    if weights.size == 0:
        # scipy counts only the non-empty axes of the kernel, then filters with
        # no tap at all: every output is 0 (the caller writes it)
        origins = [to_origin(o, k) for o, k in zip(origins, wshape)]
        return weights, tuple(origins), _modes_nd(mode, axes, ndim, sequence_modes)
    if convolution:
        weights = weights[(slice(None, None, -1),) * ndim]
        origins = [
            convolve_origin(operator.index(o), k) if _is_integer(o) else o
            for o, k in zip(origins, weights.shape)
        ]
    origins = [to_origin(o, k) for o, k in zip(origins, weights.shape)]
    return (
        np.ascontiguousarray(weights),
        tuple(origins),
        _modes_nd(mode, axes, ndim, sequence_modes),
    )


def _modes_nd(mode: Any, axes: tuple[int, ...], ndim: int, sequence_modes: bool) -> Any:
    if isinstance(mode, Iterable) and not isinstance(mode, str):
        if not sequence_modes:
            raise _error(
                FilterArgumentError,
                "A sequence of modes is not supported",
                "scipy.ndimage.correlate takes one mode; sepconv.correlate takes "
                "one per filtered axis",
            )
        mode_of = entries_by_axis(mode, axes, ndim, "mode")
        return tuple(to_mode(mode_of.get(a, "reflect")) for a in range(ndim))
    return (to_mode(mode),) * ndim


def normalize_nd(
    input: np.ndarray,
    weights: np.ndarray,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    convolution: bool,
    *,
    sequence_modes: bool = False,
    complex_output: bool = False,
) -> NDCall:
    """scipy's ``_correlate_or_convolve`` for real input and weights (:func:`nd_kernel`,
    then the output, the mode and ``cval``, in scipy's order).

    ``complex_output`` accepts a complex output for a real result
    (sepconv.correlate's extension).
    """
    ndim = input.ndim
    as_weights(weights)
    # The kernel's checks come before the output's (scipy's order); the mode's after.
    kernel, origins, _ = nd_kernel(ndim, weights, "reflect", origin, axes, convolution)
    output = get_output(output, input, stacklevel=5, nd=True)
    modes = _modes_nd(mode, to_axes(axes, ndim), ndim, sequence_modes)
    # scipy's C loop refuses a complex output only when it runs: an empty input returns it.
    if not complex_output and input.size:
        real_output(output, "array type not supported")
    return NDCall(input, kernel, output, modes, real_cval(cval), origins)


def _is_integer(value: Any) -> bool:
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def complex_via_real(
    func: Callable[..., np.ndarray],
    input: np.ndarray,
    weights: np.ndarray,
    output: np.ndarray,
    cval: Any,
    **kwargs: Any,
) -> np.ndarray:
    """A complex filtering as scipy composes it from real ones (same operation order)."""
    complex_input = input.dtype.kind == "c"
    complex_weights = weights.dtype.kind == "c"
    if complex_input and complex_weights:
        func(input.real, weights.real, output=output.real, cval=np.real(cval), **kwargs)
        output.real -= func(input.imag, weights.imag, output=None, cval=np.imag(cval), **kwargs)
        func(input.real, weights.imag, output=output.imag, cval=np.real(cval), **kwargs)
        output.imag += func(input.imag, weights.real, output=None, cval=np.imag(cval), **kwargs)
    elif complex_input:
        func(input.real, weights, output=output.real, cval=np.real(cval), **kwargs)
        func(input.imag, weights, output=output.imag, cval=np.imag(cval), **kwargs)
    else:
        if np.iscomplexobj(cval):
            raise _error(
                ValueError,
                "Cannot provide a complex-valued cval when the input is real.",
                "cval must be real for a real input",
            )
        func(input, weights.real, output=output.real, cval=cval, **kwargs)
        func(input, weights.imag, output=output.imag, cval=cval, **kwargs)
    return output


def is_iterable_mode(mode: Any) -> bool:
    """True for a sequence of modes (one per axis) rather than one mode."""
    return not isinstance(mode, str) and isinstance(mode, Iterable)


def format_bytes(n: float) -> str:
    """Bytes for people: ``'1.5 GB'``.

    Examples
    --------
    >>> format_bytes(1536), format_bytes(3.2e9)
    ('1.5 kB', '3.2 GB')
    """
    if math.isinf(n):
        return "unlimited"
    for unit, scale in (
        ("EB", 1e18),
        ("PB", 1e15),
        ("TB", 1e12),
        ("GB", 1e9),
        ("MB", 1e6),
        ("kB", 1e3),
    ):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


# --------------------------------------------------------------------------- other arguments


def as_kernel(kernel: Any, name: str = "kernel", *, min_ndim: int = 1) -> np.ndarray:
    """``kernel`` as a finite, non-empty real ndarray, or an error naming ``name``.

    Boolean kernels become ``int64`` (a mask is a 0/1 kernel).  The result may be a
    view of the caller's array: callers never write into it.
    """
    if isinstance(kernel, (str, bytes)) or kernel is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(kernel).__name__}")
    try:
        array = np.asarray(kernel)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if array.dtype == bool:
        array = array.astype(np.int64)
    if np.iscomplexobj(array):
        raise TypeError(
            f"{name} must be real; got complex dtype {array.dtype}. "
            "Filter the real and imaginary parts separately."
        )
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got a {array.ndim}-D array"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; it contains NaN or infinity")
    return array


def check_tolerance(value: float | None, name: str) -> float | None:
    """``None`` or a finite non-negative float; otherwise an error naming ``name``."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or None, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum``; otherwise an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


# --------------------------------------------------------------------------- NaN handling

#: ``nan_policy`` values: NaN spreads through the kernel as in scipy, or is skipped.
NAN_POLICIES = ("propagate", "omit")


def to_nan_policy(nan_policy: Any) -> str:
    """``'propagate'`` (scipy's result) or ``'omit'`` (normalized convolution).

    Examples
    --------
    >>> to_nan_policy("omit")
    'omit'
    >>> to_nan_policy("raise")
    Traceback (most recent call last):
    ...
    ValueError: nan_policy must be one of 'propagate', 'omit'; got 'raise' ...
    """
    if isinstance(nan_policy, str) and nan_policy in NAN_POLICIES:
        return nan_policy
    raise ValueError(
        f"nan_policy must be one of 'propagate', 'omit'; got {nan_policy!r} ('propagate' "
        "spreads NaN through the kernel as scipy does, 'omit' averages the valid samples "
        "under the kernel)"
    )


def to_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """``mask`` as a boolean array of ``shape`` (True: ignore that sample), or None.

    Nonzero numbers count as True, as in astropy's ``mask``.

    Examples
    --------
    >>> to_mask([0, 2, 0], (3,)).tolist()
    [False, True, False]
    >>> to_mask(np.ones((2, 2)), (3,))
    Traceback (most recent call last):
    ...
    ValueError: mask must have the input's shape (3,), got shape (2, 2); ...
    """
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype.kind not in "biuf":
        raise TypeError(
            f"mask must be an array of booleans (True: ignore that sample), got dtype "
            f"{m.dtype}; convert it first, e.g. np.asarray(mask, dtype=bool)"
        )
    if m.shape != tuple(shape):
        raise ValueError(
            f"mask must have the input's shape {tuple(shape)}, got shape {m.shape}; pass one "
            "boolean per input sample (True: ignore it)"
        )
    return m if m.dtype == np.bool_ else m != 0


def omit_output(output: Any, input: np.ndarray) -> np.ndarray:
    """The output of a filtering that skips NaN or masked samples: floating.

    Default float32 for float32 input, float64 otherwise (a sample with no
    valid neighbour is NaN, which no integer can hold).
    """
    if output is None:
        return new_array(input.shape, np.float32 if input.dtype == np.float32 else np.float64)
    out = get_output(output, input)
    if out.dtype.kind != "f":
        raise ValueError(
            f"output must be floating with nan_policy='omit' or a mask, got {out.dtype}; a "
            "sample with no valid neighbour is NaN, which an integer cannot hold: pass "
            "output=np.float32 or np.float64"
        )
    return out


def check_one_sign(weights: Any, name: str = "weights") -> None:
    """Refuse weights of mixed sign for normalized convolution (a kernel, or its factors).

    Examples
    --------
    >>> check_one_sign(np.array([1.0, 2.0, 1.0]))
    >>> check_one_sign([np.ones(3), np.array([-1.0, 0.0, 1.0])])
    Traceback (most recent call last):
    ...
    ValueError: nan_policy='omit' and mask= need weights of one sign, ...
    """
    parts = [weights] if isinstance(weights, np.ndarray) else list(weights)
    mixed = False
    for w in parts:
        w = effective_weights(np.asarray(w))
        mixed = mixed or bool((w > 0).any() and (w < 0).any())
    if mixed:
        raise ValueError(
            f"nan_policy='omit' and mask= need {name} of one sign, but these have positive "
            "and negative weights: skipping a sample divides by the sum of the weights of "
            "the valid samples, which for weights of mixed sign (a derivative, a Laplacian, "
            "a difference of Gaussians) can be zero or change sign while valid samples "
            "remain, so the weighted mean is undefined; smooth with nan_policy='omit' first "
            "and differentiate the result, or fill the NaNs (e.g. np.nan_to_num) and use "
            "nan_policy='propagate'"
        )


def check_workers(workers: Any) -> int | None:
    """``None``, ``-1`` (all cores) or a positive thread count."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be None, -1 or a positive integer, got {workers!r}")
    if workers == -1 or workers >= 1:
        return int(workers)
    raise ValueError(f"workers must be None, -1 or a positive integer, got {workers}")
