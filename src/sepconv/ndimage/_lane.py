"""A short path for repeated small calls: correlate1d, the uniform, Gaussian and edge filters.

On a 32x32 image the filtering itself takes about a microsecond; the rest of
a call (checking arguments, building the boundary map, choosing the kernel,
Numba's dispatch) is five more, as much as scipy's whole call.  Small calls
repeat with the same arguments (every row of a tiled image, every term of a
Laplacian), so the first call of a kind records what it launched — kernels
on the input and output as they are, the first reading the input and any
later one the output — and later calls with an equal key launch them
directly.

A key holds everything the launch depends on: the function, the input's
shape and dtype (C-contiguous uint8, float32 or float64 only: no conversion
copy), the weights' values, axis, the output (``None``, a dtype, or an array's
dtype), mode, cval, origin and workers.  Anything else (other array types,
NumPy scalars as arguments, complex data, large arrays that use threads) takes
the full path and is never recorded.  Bounded: the table is cleared when full.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["Launch", "key", "lookup", "record"]

_INPUTS = frozenset(np.dtype(t) for t in (np.uint8, np.float32, np.float64))
_MAX_ENTRIES = 512
_PLAIN = (int, float, str, type(None))
_table: dict[tuple, tuple[Launch, ...]] = {}


class Launch(NamedTuple):
    """One kernel launch over a whole call: ``kernel(0, units, src, dst, *extra)``."""

    kernel: Any
    units: int
    lines: tuple[int, ...]  # the shape src and dst are seen as
    extra: tuple  # (idx, before, cval, weights or size, code)
    dtype: np.dtype  # the output's dtype
    raw: np.dtype  # the dtype the kernel writes (an unsigned view of integers)


def _weights_key(weights: Any) -> Any:
    if type(weights) is np.ndarray:
        if weights.dtype.kind not in "uif" or weights.ndim != 1 or weights.size > 64:
            return None
        return (weights.dtype.str, weights.tobytes())
    if type(weights) in (list, tuple) and len(weights) <= 64:
        # Plain scalars only (a NumPy scalar or a complex number could compare
        # equal to a float and give another result); None and str for the
        # parameters callers pass here (a Gaussian's radius, say).
        if all(type(w) in _PLAIN for w in weights):
            return tuple(weights)
    return None


def key(name: str, input: Any, weights: Any, axis: Any, output: Any, *rest: Any) -> tuple | None:
    """The table key of a call, or None when the call must take the full path.

    ``rest`` is ``(mode, cval, origin, workers)``; ``weights`` is the weight
    sequence of ``correlate1d``, the ``size`` of ``uniform_filter1d``, or a
    tuple of the other parameters of a filter (plain scalars).
    """
    if (
        type(input) is not np.ndarray
        or input.dtype not in _INPUTS
        or not input.flags.c_contiguous
        or type(axis) is not int
    ):
        return None
    if output is None:
        out: Any = None
    elif type(output) is np.ndarray:
        if output.shape != input.shape or not output.flags.c_contiguous:
            return None
        out = ("array", output.dtype)
    elif isinstance(output, (type, np.dtype)):
        try:
            out = np.dtype(output)
        except TypeError:
            return None
    else:
        return None
    mode, cval, origin, workers = rest
    if (
        type(mode) is not str
        or type(cval) not in (int, float)
        or type(origin) is not int
        or (workers is not None and type(workers) is not int)
    ):
        return None
    wkey = weights if type(weights) is int else _weights_key(weights)
    if wkey is None:
        return None
    return (name, input.shape, input.dtype, wkey, axis, out, mode, cval, origin, workers)


def lookup(k: tuple | None, input: Any, output: Any) -> np.ndarray | None:
    """Run the launches recorded for key ``k``; None when there are none or they do not apply
    (``k`` None: the call has no key)."""
    launches = None if k is None else _table.get(k)
    if launches is None:
        return None
    if type(output) is np.ndarray:
        if np.may_share_memory(input, output):
            return None  # the full path decides how to handle overlap
        result = output
    else:
        result = np.empty(input.shape, launches[0].dtype)
    src = input
    for launch in launches:
        dst = result if launch.raw == launch.dtype else result.view(launch.raw)
        launch.kernel(
            0, launch.units, src.reshape(launch.lines), dst.reshape(launch.lines), *launch.extra
        )
        src = result
    return result


def record(k: tuple | None, *launches: Launch | None) -> None:
    """Keep ``launches`` under ``k`` (when the call was recordable: all present)."""
    if k is None or not launches or any(launch is None for launch in launches):
        return
    if len(_table) >= _MAX_ENTRIES:
        _table.clear()
    _table[k] = launches  # type: ignore[assignment]
