"""Rows in, rows out: gathering a padded row in the work dtype, storing it converted.

:func:`_gather` applies the boundary rule through ``idxW`` and converts to
the work dtype; :func:`_store` writes a row back with scipy's conversion rule
(:func:`_convert_row`, chosen per output dtype at compile time).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

# --------------------------------------------------------------------------- rows in, rows out


@njit(cache=True)
def _gather_any(rowbuf, i0, count, src, rowbase, q, C, sW, sC, idxW, cval):
    """``count`` padded positions from flattened position ``q`` into ``rowbuf[i0:]``."""
    x = q // C
    c = q - x * C
    for i in range(i0, i0 + count):
        s = idxW[x]
        rowbuf[i] = src[rowbase + s * sW + c * sC] if s >= 0 else cval
        c += 1
        if c == C:
            c = 0
            x += 1


@njit(cache=True, inline="always")
def _gather(rowbuf, src, rowbase, valid, q0, n, C, bw, W, sW, sC, idxW, cval):
    """Padded row positions ``q0 .. q0 + n`` (flattened ``x * C + c``) into ``rowbuf``.

    Padded column ``x`` is source column ``idxW[x]`` (``-1``: ``cval``); ``valid``
    is False for a row that lies wholly in a constant-mode border.
    """
    if not valid:
        for i in range(np.uint64(n)):
            rowbuf[i] = cval
        return
    if sC == 1 and sW == C:
        # Contiguous source row: the interior is one converting copy; only the
        # border columns need the index table.
        lo = bw * C
        qa = max(q0, lo)
        qb = min(q0 + n, lo + W * C)
        if qb > qa:
            base = np.uint64(rowbase + qa - lo)
            start = np.uint64(qa - q0)
            for i in range(np.uint64(qb - qa)):
                rowbuf[start + i] = src[base + i]
            _gather_any(rowbuf, np.int64(0), qa - q0, src, rowbase, q0, C, sW, sC, idxW, cval)
            _gather_any(rowbuf, qb - q0, q0 + n - qb, src, rowbase, qb, C, sW, sC, idxW, cval)
            return
    _gather_any(rowbuf, np.int64(0), n, src, rowbase, q0, C, sW, sC, idxW, cval)


def _convert_row(out, base, acc, n):  # pragma: no cover - replaced by the overload
    """Write ``acc[:n]`` to ``out[base:base + n]`` with scipy's conversion rule."""


@overload(_convert_row, jit_options={"cache": True})
def _convert_row_impl(out, base, acc, n):
    # The rule is chosen from the output dtype at compile time: scipy assigns its
    # double result with a C cast, which on x86-64 truncates toward zero through
    # a 32-bit conversion (64-bit for int64 and uint32); NaN and out-of-range
    # values give the most negative integer of that width, narrower types keep
    # the low bits.
    if isinstance(out.dtype, types.Float):

        def impl(out, base, acc, n):
            base = np.uint64(base)
            for i in range(np.uint64(n)):
                out[base + i] = acc[i]

        return impl
    wide = out.dtype in (types.int64, types.uint32)
    limit = 9223372036854775808.0 if wide else 2147483648.0
    low = np.int64(-9223372036854775808) if wide else np.int32(-2147483648)
    to_int = np.int64 if wide else np.int32

    def impl(out, base, acc, n):  # noqa: F811 - one of two implementations is returned
        base = np.uint64(base)
        lim = np.empty(3, acc.dtype)  # limits typed like acc, so the loop vectorises
        lim[0] = -limit
        lim[1] = limit
        lim[2] = 0.0
        lo, hi, zero = lim[0], lim[1], lim[2]
        for i in range(np.uint64(n)):
            v = acc[i]
            ok = v >= lo and v < hi
            r = to_int(v if ok else zero)
            out[base + i] = r if ok else low

    return impl


@njit(cache=True, inline="always")
def _store(dst, rowbase, p0, L, C, dW, dC, acc):
    """Row positions ``p0 .. p0 + L`` of ``acc`` into the output row at ``rowbase``."""
    if dC == 1 and dW == C:
        _convert_row(dst, rowbase + p0, acc, L)
        return
    # Strided output: convert into a contiguous scratch row, then scatter.
    tmp = np.empty(L, dst.dtype)
    _convert_row(tmp, np.int64(0), acc, L)
    x = p0 // C
    c = p0 - x * C
    for i in range(L):
        dst[rowbase + x * dW + c * dC] = tmp[i]
        c += 1
        if c == C:
            c = 0
            x += 1
