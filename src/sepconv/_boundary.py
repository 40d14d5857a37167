"""Boundary modes, origins and axes: the one definition every backend uses.

The NumPy engine, the FFT path, the PyTorch path and the Dask path all extend an
array beyond its edges with :func:`extend_indices`, which maps every position of a
padded 1-D line to the source index it copies (or ``-1`` for ``cval``).  The rules
are scipy.ndimage's filter rules, checked against ``scipy.ndimage.correlate1d``
in ``tests/test_boundary.py``:

================  ===============================  ==============================
mode              extension of ``a b c d``           also accepted as
================  ===============================  ==============================
``reflect``       ``d c b a | a b c d | d c b a``  ``grid-mirror``
``mirror``        ``d c b | a b c d | c b a``
``nearest``       ``a a a a | a b c d | d d d d``
``wrap``          ``a b c d | a b c d | a b c d``  ``grid-wrap``
``constant``      ``k k k k | a b c d | k k k k``  ``grid-constant``
================  ===============================  ==============================

For filters scipy treats the ``grid-*`` names as synonyms (they differ only for
interpolation), so :func:`normalize_mode` maps them to their filter equivalents.
Pads longer than the line repeat the rule (a reflection of a reflection, ...),
exactly as scipy extends lines.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from types import NoneType
from typing import Any

import numpy as np

__all__ = [
    "MODES",
    "check_axes",
    "check_origin",
    "extend_indices",
    "kernel_reach",
    "normalize_mode",
    "normalize_modes",
    "normalize_sequence",
    "per_axis_origins",
]

#: The eight boundary modes of scipy.ndimage filters.
MODES: tuple[str, ...] = (
    "reflect",
    "mirror",
    "nearest",
    "wrap",
    "constant",
    "grid-mirror",
    "grid-constant",
    "grid-wrap",
)

# scipy.ndimage._ni_support._extend_mode_to_code(mode, is_filter=True)
_SYNONYMS = {"grid-mirror": "reflect", "grid-constant": "constant", "grid-wrap": "wrap"}


def normalize_mode(mode: Any, name: str = "mode") -> str:
    """Validate a boundary mode and return its filter-equivalent name.

    Parameters
    ----------
    mode : str
        One of :data:`MODES`.
    name : str
        Argument name used in the error message.

    Returns
    -------
    str
        One of ``'reflect'``, ``'mirror'``, ``'nearest'``, ``'wrap'``, ``'constant'``.

    Raises
    ------
    TypeError
        If ``mode`` is not a string.
    ValueError
        If ``mode`` is not a known mode; the message lists them.

    Examples
    --------
    >>> normalize_mode("grid-wrap")
    'wrap'
    >>> normalize_mode("reflct")
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of 'reflect', 'mirror', 'nearest', 'wrap', 'constant', \
'grid-mirror', 'grid-constant', 'grid-wrap'; got 'reflct'
    """
    if not isinstance(mode, str):
        raise TypeError(f"{name} must be a string such as 'reflect', got {type(mode).__name__}")
    if mode not in MODES:
        listed = ", ".join(repr(m) for m in MODES)
        raise ValueError(f"{name} must be one of {listed}; got {mode!r}")
    return _SYNONYMS.get(mode, mode)


def normalize_modes(mode: Any, count: int, name: str = "mode") -> tuple[str, ...]:
    """One normalised mode per filtered axis from a string or a sequence of strings.

    Examples
    --------
    >>> normalize_modes("grid-mirror", 2)
    ('reflect', 'reflect')
    >>> normalize_modes(["wrap", "nearest"], 2)
    ('wrap', 'nearest')
    """
    modes = normalize_sequence(mode, count, name)
    return tuple(normalize_mode(m, name) for m in modes)


def normalize_sequence(value: Any, length: int, name: str) -> list[Any]:
    """A scalar repeated ``length`` times, or a sequence checked to have ``length`` items.

    scipy's ``_normalize_sequence`` semantics (a string counts as a scalar), but a
    wrong length raises a ``ValueError`` that names the argument.

    Examples
    --------
    >>> normalize_sequence(1, 3, "origin")
    [1, 1, 1]
    >>> normalize_sequence((0, 1), 3, "origin")
    Traceback (most recent call last):
    ...
    ValueError: origin must be a scalar or have one entry per filtered axis (3), got 2 entries
    """
    if type(value) in (int, float, str, NoneType):  # the common case; np.iterable costs 0.5 us
        return [value] * length
    if not isinstance(value, (str, bytes)) and np.iterable(value):
        values = list(value)
        if len(values) != length:
            raise ValueError(
                f"{name} must be a scalar or have one entry per filtered axis ({length}), "
                f"got {len(values)} entries"
            )
        return values
    return [value] * length


def check_axes(axes: Any, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """Normalise ``axes`` like scipy's ``_check_axes``: ``None`` means every axis.

    Negative axes count from the end; duplicates and out-of-range axes raise a
    ``ValueError`` naming the argument.

    Examples
    --------
    >>> check_axes(None, 3)
    (0, 1, 2)
    >>> check_axes((-1, 0), 3)
    (2, 0)
    >>> check_axes(3, 3)
    Traceback (most recent call last):
    ...
    numpy.exceptions.AxisError: axes entry 3 is out of range for an array with 3 dimensions
    """
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        items: Iterable[Any] = (axes,)
    elif isinstance(axes, Iterable) and not isinstance(axes, (str, bytes)):
        items = axes
    else:
        raise TypeError(f"{name} must be an integer, a sequence of integers or None, got {axes!r}")
    result = []
    for ax in items:
        if isinstance(ax, bool):
            raise TypeError(f"{name} entries must be integers, got {ax!r}")
        try:
            ax = operator.index(ax)
        except TypeError:
            raise TypeError(f"{name} entries must be integers, got {ax!r}") from None
        if not -ndim <= ax < ndim:
            # numpy's AxisError is a ValueError and an IndexError (scipy raises either)
            raise np.exceptions.AxisError(
                f"{name} entry {ax} is out of range for an array with {ndim} dimensions"
            )
        result.append(ax % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{name} must not repeat an axis, got {tuple(result)}")
    return tuple(result)


def check_origin(origin: Any, size: int, name: str = "origin") -> int:
    """An integer origin valid for a kernel of ``size`` taps (scipy's rule).

    ``-(size // 2) <= origin <= (size - 1) // 2`` keeps the kernel's anchor inside it.

    Examples
    --------
    >>> check_origin(-1, 3)
    -1
    >>> check_origin(2, 3)
    Traceback (most recent call last):
    ...
    ValueError: origin must satisfy -(size // 2) <= origin <= (size - 1) // 2, i.e. lie in \
[-1, 1] for a kernel of size 3; got 2
    """
    if isinstance(origin, bool):
        raise TypeError(f"{name} must be an integer, got {origin!r}")
    try:
        value = operator.index(origin)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {origin!r}") from None
    low, high = -(size // 2), (size - 1) // 2
    if not low <= value <= high:
        raise ValueError(
            f"{name} must satisfy -(size // 2) <= origin <= (size - 1) // 2, i.e. lie in "
            f"[{low}, {high}] for a kernel of size {size}; got {value}"
        )
    return value


def kernel_reach(size: int, origin: int) -> tuple[int, int]:
    """``(before, after)``: how many padded samples a kernel of ``size`` taps needs.

    Output ``i`` of a correlation reads padded samples ``i .. i + size - 1``, where
    padded sample ``p`` is source position ``p - before``.

    Examples
    --------
    >>> kernel_reach(5, 0), kernel_reach(4, 0), kernel_reach(3, 1)
    ((2, 2), (2, 1), (2, 0))
    """
    before = size // 2 + origin
    return before, size - 1 - before


def extend_indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of every sample of a line of ``n`` samples padded by a boundary mode.

    Parameters
    ----------
    n : int
        Length of the line, ``>= 1``.
    before, after : int
        Number of samples added before and after the line, ``>= 0``; they may be
        longer than ``n`` (the rule then repeats, as in scipy).
    mode : str
        A boundary mode (see :data:`MODES`; synonyms accepted).

    Returns
    -------
    ndarray of int64, shape ``(before + n + after,)``
        ``index[p]`` is the source position copied to padded position ``p``
        (padded position ``before`` is source position 0), or ``-1`` where the
        mode supplies ``cval``.

    Examples
    --------
    >>> extend_indices(4, 3, 3, "reflect").tolist()
    [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
    >>> extend_indices(4, 3, 3, "mirror").tolist()
    [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
    >>> extend_indices(2, 2, 1, "constant").tolist()
    [-1, -1, 0, 1, -1]
    >>> extend_indices(1, 2, 2, "wrap").tolist()
    [0, 0, 0, 0, 0]
    """
    mode = normalize_mode(mode)
    n, before, after = int(n), int(before), int(after)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if before < 0 or after < 0:
        raise ValueError(f"before and after must be >= 0, got {before} and {after}")
    i = np.arange(-before, n + after, dtype=np.int64)
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "reflect":  # half-sample symmetric: period 2n
        i = np.mod(i, 2 * n)
        return np.where(i < n, i, 2 * n - 1 - i)
    # mirror, whole-sample symmetric: period 2n - 2 (a single sample repeats itself)
    if n == 1:
        return np.zeros_like(i)
    i = np.mod(i, 2 * n - 2)
    return np.where(i < n, i, 2 * n - 2 - i)


def per_axis_origins(origin: Any, sizes: Sequence[int], name: str = "origin") -> list[int]:
    """Validate one origin per filtered axis (a scalar applies to all of them).

    Examples
    --------
    >>> per_axis_origins(0, (3, 4))
    [0, 0]
    >>> per_axis_origins([1, -2], (3, 4))
    [1, -2]
    """
    values = normalize_sequence(origin, len(sizes), name)
    return [check_origin(o, s, name) for o, s in zip(values, sizes)]
