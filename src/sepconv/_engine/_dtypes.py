"""The dtypes the engine accepts, the work dtype it computes in, and scipy's conversion.

``SUPPORTED_DTYPES`` are the array dtypes the kernels read and write;
:func:`work_dtype` is the rule of the engine's docstring (float32 where it is
exact enough, else float64); :func:`convert_like_scipy` is scipy.ndimage's C
cast of a floating result, for the paths that convert in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT_TYPES = tuple(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64)
)
SUPPORTED_DTYPES = INT_TYPES + FLOAT_TYPES


# --------------------------------------------------------------------------- dtypes


def work_dtype(in_dtype: np.dtype, out_dtype: np.dtype, abs_sum: float, taps: int) -> np.dtype:
    """Floating type the kernels compute in (see the module docstring)."""
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    if np.float64 in (in_dtype, out_dtype):
        return np.dtype(np.float64)
    if in_dtype == np.float32:
        return np.dtype(np.float32)
    if in_dtype in (np.uint8, np.int8):
        if out_dtype == np.float32 or 128.0 * abs_sum * max(taps, 1) <= 2.0**20:
            return np.dtype(np.float32)
    return np.dtype(np.float64)


def convert_like_scipy(values: np.ndarray, dtype: Any) -> np.ndarray:
    """Convert floating results to ``dtype`` the way scipy.ndimage's C code does.

    scipy assigns its double result with a C cast, which on x86-64 truncates
    toward zero through a 32-bit (narrow types) or 64-bit (``int64``,
    ``uint32``) conversion: NaN and out-of-range values become the most
    negative integer of that width, and narrow types keep the low bits.

    Examples
    --------
    >>> convert_like_scipy(np.array([-1.5, 2.7, 300.0, np.nan]), np.uint8).tolist()
    [255, 2, 44, 0]
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if dtype.kind == "f":
        return values.astype(dtype)
    wide = np.int64 if dtype in (np.uint32, np.int64) else np.int32
    limit = float(np.iinfo(wide).max) + 1.0
    with np.errstate(invalid="ignore"):
        ok = (values >= -limit) & (values < limit)
        wrapped = np.where(ok, values, 0).astype(wide)
    wrapped[~ok] = np.iinfo(wide).min
    return wrapped.astype(dtype)
