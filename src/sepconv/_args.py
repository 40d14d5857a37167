"""The one argument normaliser of sepconv's scipy.ndimage-compatible filters.

Every public filter (``sepconv.ndimage`` over NumPy, Dask and torch) turns its
arguments into validated values here: the input and output arrays (dtype or
array, complex promotion), axes, per-axis modes and origins, ``cval`` and the
convolve <-> correlate origin rule.  The boundary rules themselves live in
:mod:`sepconv._boundary`; this module adds scipy.ndimage's calling conventions
and error classes on top of them.

Errors.  Where scipy.ndimage raises ``RuntimeError`` for a user mistake (a
sequence of the wrong length, an unknown mode, an unsupported dtype), we raise
:class:`FilterArgumentError`, which is both a ``ValueError`` (the right class
for a bad argument) and a ``RuntimeError`` (so code written against scipy still
catches it); the message names the argument and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from . import _boundary

__all__ = [
    "FilterArgumentError",
    "REAL_DTYPES",
    "as_input",
    "check_axis",
    "complex_via_real",
    "convolve_origin",
    "effective_weights",
    "kept_taps",
    "get_output",
    "real_cval",
    "real_output",
    "to_axes",
    "to_mode",
    "to_modes",
    "to_origin",
    "to_sequence",
]


class FilterArgumentError(ValueError, RuntimeError):
    """A bad argument to a filter: where scipy.ndimage raises ``RuntimeError``.

    Subclasses both ``ValueError`` and ``RuntimeError`` so that ``except``
    clauses written for either keep working.
    """


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
_COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))


def _dtype_error(name: str, dtype: np.dtype) -> FilterArgumentError:
    hint = "e.g. .astype(np.float32)" if dtype.kind in "fc" else "e.g. .astype(np.float64)"
    return FilterArgumentError(
        f"{name} dtype {dtype} is not supported (scipy.ndimage refuses it too); supported: "
        "bool, uint8 .. uint64, int8 .. int64, float32, float64, complex64, complex128; "
        f"convert it first, {hint}"
    )


_SUPPORTED = frozenset(REAL_DTYPES + _COMPLEX)


def _supported(dtype: np.dtype) -> bool:
    return dtype in _SUPPORTED or dtype.newbyteorder("=") in _SUPPORTED


def as_input(input: Any) -> np.ndarray:
    """``np.asarray(input)`` with a supported dtype (float16 refused, as by scipy).

    Examples
    --------
    >>> as_input([1, 2]).dtype
    dtype('int64')
    >>> as_input(np.ones(2, np.float16))
    Traceback (most recent call last):
    ...
    sepconv._args.FilterArgumentError: input dtype float16 is not supported ...
    """
    array = np.asarray(input)
    if not _supported(array.dtype):
        raise _dtype_error("input", array.dtype)
    return array


def get_output(
    output: Any, input: np.ndarray, complex_output: bool = False, *, stacklevel: int = 4
) -> np.ndarray:
    """scipy's ``_get_output``: a new zeroed array or the validated ``output`` array.

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
    if output is None:
        # np.empty, not scipy's np.zeros: every filter writes every sample.
        dtype = input.dtype if input.dtype.isnative else input.dtype.newbyteorder("=")
        if complex_output:
            dtype = np.promote_types(dtype, np.complex64)
        return np.empty(shape, dtype=dtype)
    if isinstance(output, (type, np.dtype)):
        try:
            dtype = np.dtype(output)
        except TypeError:
            raise TypeError(f"output must be an array or a dtype, got {output!r}") from None
        if complex_output and dtype.kind != "c":
            warnings.warn("promoting specified output dtype to complex", stacklevel=stacklevel)
            dtype = np.promote_types(dtype, np.complex64)
        if not _supported(dtype):
            raise _dtype_error("output", dtype)
        return np.zeros(shape, dtype=dtype)
    if isinstance(output, str):
        try:
            dtype = np.dtype(output)
        except TypeError:
            raise TypeError(f"output must be an array or a dtype, got {output!r}") from None
        if complex_output and dtype.kind != "c":
            raise FilterArgumentError(
                f"output must have a complex dtype for complex input or weights, got {output!r}"
            )
        if not _supported(dtype):
            raise _dtype_error("output", dtype)
        return np.zeros(shape, dtype=dtype)
    if not isinstance(output, np.ndarray):
        raise TypeError(
            f"output must be None, a dtype or a NumPy array, got {type(output).__name__}"
        )
    if output.shape != shape:
        raise FilterArgumentError(
            f"output must have the input's shape {shape}, got shape {output.shape}"
        )
    if complex_output and output.dtype.kind != "c":
        raise FilterArgumentError(
            f"output must have a complex dtype for complex input or weights, got {output.dtype}"
        )
    if not _supported(output.dtype):
        raise _dtype_error("output", output.dtype)
    if not output.flags.writeable:
        raise ValueError("output array is read-only; pass a writable array or a dtype")
    return output


_DBL_EPSILON = float(np.finfo(np.float64).eps)


def kept_taps(weights: np.ndarray) -> np.ndarray:
    """The taps scipy.ndimage keeps: ``fabs(w) > DBL_EPSILON`` (so NaN taps are skipped).

    The one definition of the rule for every backend.

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


def real_output(output: np.ndarray) -> np.ndarray:
    """``output`` for a real filtering: complex arrays are refused, as by scipy."""
    if output.dtype.kind == "c":
        raise FilterArgumentError(
            f"output dtype {output.dtype} is not supported for real input and weights; "
            "pass a real output (or complex input or weights)"
        )
    return output


def to_sequence(value: Any, length: int, name: str) -> list[Any]:
    """A scalar repeated, or a sequence of ``length`` entries (scipy's rule).

    Examples
    --------
    >>> to_sequence(2, 3, "sigma")
    [2, 2, 2]
    """
    try:
        return _boundary.normalize_sequence(value, length, name)
    except ValueError as exc:
        raise FilterArgumentError(str(exc)) from None


def to_mode(mode: Any, name: str = "mode") -> str:
    """A filter boundary mode (``grid-*`` synonyms mapped), or :class:`FilterArgumentError`."""
    try:
        return _boundary.normalize_mode(mode, name)
    except (TypeError, ValueError) as exc:
        raise FilterArgumentError(str(exc)) from None


def to_modes(mode: Any, count: int, name: str = "mode") -> list[str]:
    """One filter mode per filtered axis from a mode or a sequence of modes."""
    return [to_mode(m, name) for m in to_sequence(mode, count, name)]


def check_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    """A single axis, normalised; out of range raises numpy's ``AxisError`` as scipy does."""
    return int(normalize_axis_index(axis, ndim, msg_prefix=name))


def to_axes(axes: Any, ndim: int) -> tuple[int, ...]:
    """scipy's ``_check_axes``: ``None`` is every axis; errors name ``axes``."""
    return _boundary.check_axes(axes, ndim)


def to_origin(origin: Any, size: int, name: str = "origin") -> int:
    """An origin valid for ``size`` taps: ``-(size // 2) <= origin <= (size - 1) // 2``."""
    return _boundary.check_origin(origin, size, name)


def convolve_origin(origin: int, size: int) -> int:
    """The correlation origin of a convolution: mirrored, one more for even sizes.

    Convolving with ``w`` is correlating with ``w[::-1]`` at this origin
    (scipy's ``convolve1d``/``convolve`` rule).

    Examples
    --------
    >>> convolve_origin(0, 3), convolve_origin(0, 4), convolve_origin(1, 4)
    (0, -1, -2)
    """
    return -origin - (0 if size & 1 else 1)


def real_cval(cval: Any) -> float:
    """``cval`` for a real filtering: a real number (``TypeError`` otherwise, as scipy)."""
    if isinstance(cval, (complex, np.complexfloating)):
        raise TypeError(f"cval must be a real number for a real input, got {cval!r}")
    try:
        return float(cval)
    except (TypeError, ValueError):
        raise TypeError(f"cval must be a real number, got {cval!r}") from None


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
            raise ValueError("cval must be real for a real input, got a complex value")
        func(input, weights.real, output=output.real, cval=cval, **kwargs)
        func(input, weights.imag, output=output.imag, cval=cval, **kwargs)
    return output


def is_iterable_mode(mode: Any) -> bool:
    """True for a sequence of modes (one per axis) rather than one mode."""
    return not isinstance(mode, str) and isinstance(mode, Iterable)
