"""Rows in and out of the work dtype: reading any input dtype, scipy's C cast on store.

The engine's kernels see every array as raw bytes (``uint8``) and convert
rows through :func:`load`, :func:`store_row` and :func:`reload_row`, which
switch on a dtype code at run time.  So a kernel is compiled once per work
dtype and policy, not once per (input, output) dtype pair: the switch costs a
branch per row, a separate compilation would cost seconds per pair.

scipy assigns its double result with a C cast, which gcc compiles on x86-64 to:

* floats: round to nearest (``STORE_FLOAT``);
* int8 .. int32, uint8, uint16 and bool: a 32-bit ``cvttsd2si`` (truncation
  toward zero; NaN and out-of-range values give ``INT32_MIN``), keeping the
  low bits (``STORE_INT32``);
* uint32 and int64: the 64-bit ``cvttsd2si`` (``STORE_INT64``);
* uint64: gcc's two-range sequence (``STORE_UINT64``); scipy's N-D correlate
  (``NI_Correlate``) stores uint64 through other code: values in
  ``(-2**64, 2**64)`` wrap modulo ``2**64``, others give 0, NaN ``2**63``
  (``STORE_UINT64_ND``).

Both arithmetic policies store with these rules (the fast policy's float32
values convert exactly to double first, so the rule is the same); the fast
policy serves sepconv's N-D front door, so it stores uint64 as ``NI_Correlate``.  Integer
outputs are written through unsigned views of their width (the low bits are
the same bytes), so Numba compiles one store per width; :func:`reload` reads
such a view back with its sign, for the exact policy's intermediate rows.

The explicit range tests are not decoration: LLVM treats an out-of-range
float-to-int conversion as undefined, so without them the vectorised loop
would not give x86's ``INT_MIN`` pattern.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._native import reinterpret

__all__ = [
    "DTYPE_CODES",
    "STORE_FLOAT",
    "STORE_INT32",
    "STORE_INT64",
    "STORE_UINT64",
    "STORE_UINT64_ND",
    "convert_like_scipy",
    "dtype_code",
    "load",
    "reload",
    "reload_row",
    "store",
    "store_code",
    "store_row",
    "unsigned_view",
]

STORE_FLOAT, STORE_INT32, STORE_INT64, STORE_UINT64, STORE_UINT64_ND = 0, 1, 2, 3, 4

_UNSIGNED = {
    np.dtype(t): np.dtype(u)
    for t, u in (
        (np.bool_, np.uint8),
        (np.int8, np.uint8),
        (np.int16, np.uint16),
        (np.int32, np.uint32),
        (np.int64, np.uint64),
    )
}


def store_code(dtype: np.dtype, nd: bool = False) -> int:
    """The cast rule for storing into ``dtype`` (``nd``: scipy's N-D correlate)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return STORE_FLOAT
    if dtype == np.uint64:
        return STORE_UINT64_ND if nd else STORE_UINT64
    if dtype.itemsize == 8 or dtype == np.uint32:
        return STORE_INT64
    return STORE_INT32


def unsigned_view(array: np.ndarray) -> np.ndarray:
    """``array`` seen as the unsigned integer of its width (floats as they are)."""
    raw = _UNSIGNED.get(array.dtype.newbyteorder("="))
    return array if raw is None else array.view(raw.newbyteorder(array.dtype.byteorder))


def signed_shift(dtype: np.dtype) -> int:
    """``2**bits`` for a signed integer dtype stored through its unsigned view, else 0."""
    dtype = np.dtype(dtype)
    return 1 << (8 * dtype.itemsize) if dtype.kind == "i" else 0


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _cvt64(x):
    # cvttsd2si with a 64-bit destination: NaN and out-of-range give INT64_MIN.
    if x >= -9.223372036854775808e18 and x < 9.223372036854775808e18:
        return np.int64(x)
    return np.int64(-9223372036854775808)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _cvt32(x):
    # cvttsd2si with a 32-bit destination: NaN and out-of-range give INT32_MIN.
    if x > -2147483649.0 and x < 2147483648.0:
        return np.int64(x)
    return np.int64(-2147483648)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _cvtu64(x):
    # gcc's double -> uint64 without AVX-512: below 2**63 (NaN included, as
    # ``comisd`` reports unordered as "below") a signed conversion, else the
    # conversion of x - 2**63 with the top bit flipped.
    if not x >= 9.223372036854775808e18:
        return _cvt64(x)
    return _cvt64(x - 9.223372036854775808e18) ^ np.int64(-9223372036854775808)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _cvtu64_nd(x):
    if x >= 9.223372036854775808e18:
        return _cvt64(x - 9.223372036854775808e18) ^ np.int64(-9223372036854775808)
    if x < -9.223372036854775808e18:
        return _cvt64(x + 9.223372036854775808e18) ^ np.int64(-9223372036854775808)
    return _cvt64(x)


@njit(cache=True, nogil=True, _nrt=False)
def store(dst, acc, n, code):
    """``dst[:n] = C cast of acc[:n]`` by rule ``code`` (one vector loop per rule)."""
    if code == 0:
        for i in range(n):
            dst[i] = acc[i]
    elif code == 1:
        for i in range(n):
            dst[i] = _cvt32(np.float64(acc[i]))
    elif code == 2:
        for i in range(n):
            dst[i] = _cvt64(np.float64(acc[i]))
    elif code == 3:
        for i in range(n):
            dst[i] = _cvtu64(np.float64(acc[i]))
    else:
        for i in range(n):
            dst[i] = _cvtu64_nd(np.float64(acc[i]))


@njit(cache=True, nogil=True, _nrt=False)
def reload(out, stored, n, shift):
    """``out[:n] = (double) stored[:n]``; ``shift`` (``2**bits``) reads an unsigned view
    of a signed dtype back with its sign (0: read as is)."""
    if shift == 0:
        for i in range(n):
            out[i] = stored[i]
    else:
        half = shift // 2
        for i in range(n):
            v = np.int64(stored[i])
            out[i] = v - shift if v >= half else v


def convert_like_scipy(values: np.ndarray, dtype: np.dtype, nd: bool = False) -> np.ndarray:
    """Convert floating results to ``dtype`` the way scipy.ndimage's C code does.

    The NumPy form of :func:`store` (``nd``: scipy's N-D correlate's uint64
    rule), for the paths that compute in NumPy (FFT).

    Examples
    --------
    >>> convert_like_scipy(np.array([-1.5, 2.7, 300.0, np.nan]), np.uint8).tolist()
    [255, 2, 44, 0]
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if dtype.kind == "f":
        return values.astype(dtype)
    if dtype.kind == "b":
        dtype_view = np.dtype(np.uint8)
    else:
        dtype_view = dtype
    out = np.empty(values.shape, unsigned_view(np.empty(0, dtype_view)).dtype)
    flat = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    store(out.reshape(-1), flat, flat.size, store_code(dtype_view, nd))
    return out.view(dtype)


# --------------------------------------------------------------------------- raw rows

#: Codes of the dtypes kernels read and write through raw byte rows.
DTYPE_CODES = {
    np.dtype(t): i
    for i, t in enumerate(
        (
            np.uint8,
            np.int8,
            np.uint16,
            np.int16,
            np.uint32,
            np.int32,
            np.uint64,
            np.int64,
            np.float32,
            np.float64,
            np.bool_,
        )
    )
}


def dtype_code(dtype: np.dtype) -> int:
    """The code of a native dtype for :func:`load` / :func:`store_row`."""
    return DTYPE_CODES[np.dtype(dtype)]


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _copy(into, part, n):
    for i in range(n):
        into[i] = part[i]


@njit(cache=True, nogil=True, _nrt=False)
def load(raw, s0, into, n, code):
    """``into[:n] = elements s0 .. s0 + n`` of the raw row ``raw``, converted.

    One vectorised converting loop per dtype (the ``(double)`` read of scipy's
    C code for integers: round to nearest, as C converts).
    """
    if code == 0 or code == 10:
        _copy(into, raw[s0 : s0 + n], n)
    elif code == 1:
        _copy(into, reinterpret(raw, np.int8)[s0 : s0 + n], n)
    elif code == 2:
        _copy(into, reinterpret(raw, np.uint16)[s0 : s0 + n], n)
    elif code == 3:
        _copy(into, reinterpret(raw, np.int16)[s0 : s0 + n], n)
    elif code == 4:
        _copy(into, reinterpret(raw, np.uint32)[s0 : s0 + n], n)
    elif code == 5:
        _copy(into, reinterpret(raw, np.int32)[s0 : s0 + n], n)
    elif code == 6:
        _copy(into, reinterpret(raw, np.uint64)[s0 : s0 + n], n)
    elif code == 7:
        _copy(into, reinterpret(raw, np.int64)[s0 : s0 + n], n)
    elif code == 8:
        _copy(into, reinterpret(raw, np.float32)[s0 : s0 + n], n)
    else:
        _copy(into, reinterpret(raw, np.float64)[s0 : s0 + n], n)


@njit(cache=True, nogil=True, _nrt=False)
def load_at(raw, s, code):
    """Element ``s`` of the raw row ``raw`` as a double."""
    if code == 0 or code == 10:
        return np.float64(raw[s])
    if code == 1:
        return np.float64(reinterpret(raw, np.int8)[s])
    if code == 2:
        return np.float64(reinterpret(raw, np.uint16)[s])
    if code == 3:
        return np.float64(reinterpret(raw, np.int16)[s])
    if code == 4:
        return np.float64(reinterpret(raw, np.uint32)[s])
    if code == 5:
        return np.float64(reinterpret(raw, np.int32)[s])
    if code == 6:
        return np.float64(reinterpret(raw, np.uint64)[s])
    if code == 7:
        return np.float64(reinterpret(raw, np.int64)[s])
    if code == 8:
        return np.float64(reinterpret(raw, np.float32)[s])
    return reinterpret(raw, np.float64)[s]


@njit(cache=True, nogil=True, _nrt=False)
def store_row(raw, s0, acc, n, rule, code):
    """Elements ``s0 .. s0 + n`` of the raw output row ``raw`` = C cast of ``acc[:n]``.

    ``code`` is the output's dtype code; integers are written through the
    unsigned view of their width (the same low bits), ``rule`` is :func:`store`'s.
    """
    if code == 0 or code == 1 or code == 10:
        store(raw[s0 : s0 + n], acc, n, rule)
    elif code == 2 or code == 3:
        store(reinterpret(raw, np.uint16)[s0 : s0 + n], acc, n, rule)
    elif code == 4 or code == 5:
        store(reinterpret(raw, np.uint32)[s0 : s0 + n], acc, n, rule)
    elif code == 6 or code == 7:
        store(reinterpret(raw, np.uint64)[s0 : s0 + n], acc, n, rule)
    elif code == 8:
        store(reinterpret(raw, np.float32)[s0 : s0 + n], acc, n, rule)
    else:
        store(reinterpret(raw, np.float64)[s0 : s0 + n], acc, n, rule)


@njit(cache=True, nogil=True, _nrt=False)
def reload_row(row, raw, n, code):
    """``row[:n] = (double)`` of what :func:`store_row` wrote at the start of ``raw``.

    Signed integers are read with their sign (``raw`` holds the same bytes).
    """
    if code == 0 or code == 10:
        _copy(row, raw[:n], n)
    elif code == 1:
        _copy(row, reinterpret(raw, np.int8)[:n], n)
    elif code == 2:
        _copy(row, reinterpret(raw, np.uint16)[:n], n)
    elif code == 3:
        _copy(row, reinterpret(raw, np.int16)[:n], n)
    elif code == 4:
        _copy(row, reinterpret(raw, np.uint32)[:n], n)
    elif code == 5:
        _copy(row, reinterpret(raw, np.int32)[:n], n)
    elif code == 6:
        _copy(row, reinterpret(raw, np.uint64)[:n], n)
    elif code == 7:
        _copy(row, reinterpret(raw, np.int64)[:n], n)
    elif code == 8:
        _copy(row, reinterpret(raw, np.float32)[:n], n)
    else:
        _copy(row, reinterpret(raw, np.float64)[:n], n)
