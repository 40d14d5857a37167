"""Two 1-D passes over the last two axes in one sweep, with scipy's bits.

scipy filters a 2-D image along one axis into ``output`` and then along the
other, reading ``output`` back: the whole intermediate goes out to memory and
in again.  These kernels compute the same two passes strip by strip: the first
pass of a strip of rows is stored in the output dtype into a small buffer that
stays in cache (that store is the rounding scipy's intermediate gets, so the
bits are unchanged), and the second pass reads it from there.

Work unit ``u`` is strip ``u % nstrips`` of ``strip`` rows of outer item
``u // nstrips`` of ``src``/``dst`` (outer, n0, n1).  Column passes run over
blocks of :data:`COLS` columns so that the rows they slide over stay in L1.
``src`` must not share memory with ``dst``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._exact import fir_block, fir_line, load_line, load_row, store, symmetry

__all__ = ["COLS", "col_plus_row", "col_then_row", "row_then_col", "strip_rows"]

#: Columns per block of a column pass (a ring of 17 double rows is 17 KiB).
COLS = 128


def strip_rows(n1: int, itemsize: int) -> int:
    """Rows per strip: the strip buffer (rows x n1 samples) about 128 KiB."""
    return int(min(64, max(8, (128 * 1024) // max(1, n1 * max(itemsize, 4)))))


@njit(cache=True, nogil=True)
def col_then_row(start, stop, src, dst, idx0, idx1, b1, cval, fw0, fw1, code, strip):
    """``fw0`` along axis -2, stored in ``dst``'s dtype, then ``fw1`` along axis -1."""
    n0, n1 = src.shape[1], src.shape[2]
    nstrips = (n0 + strip - 1) // strip
    size0 = fw0.shape[0]
    h0, sym0 = size0 // 2, symmetry(fw0)
    h1, sym1 = fw1.shape[0] // 2, symmetry(fw1)
    ring = np.empty((size0, COLS), np.float64)
    acc = np.empty(max(COLS, n1), np.float64)
    tmp = np.empty((strip, n1), dst.dtype)
    buf = np.empty(idx1.shape[0], np.float64)
    for u in range(start, stop):
        o = u // nstrips
        r0 = (u % nstrips) * strip
        r1 = min(n0, r0 + strip)
        plane = src[o]
        for j0 in range(0, n1, COLS):
            w = min(COLS, n1 - j0)
            for p in range(r0, r0 + size0 - 1):
                load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
            for i in range(r0, r1):
                p = i + size0 - 1
                load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
                fir_block(ring, i, size0, 0, w, fw0, h0, sym0, acc)
                store(tmp[i - r0, j0:], acc, w, code)
        for i in range(r0, r1):
            load_line(tmp[i - r0], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fw1, h1, sym1)
            store(dst[o, i], acc, n1, code)


@njit(cache=True, nogil=True)
def row_then_col(start, stop, src, dst, idx0, idx1, b1, cval, fw0, fw1, code, strip):
    """``fw1`` along axis -1, stored in ``dst``'s dtype, then ``fw0`` along axis -2.

    The column pass reads rows of the first pass's result; rows beyond the
    edges are those results at the mapped row, or ``cval`` (never filtered) in
    'constant' mode, as scipy's second pass pads its input.
    """
    n0, n1 = src.shape[1], src.shape[2]
    nstrips = (n0 + strip - 1) // strip
    size0 = fw0.shape[0]
    h0, sym0 = size0 // 2, symmetry(fw0)
    h1, sym1 = fw1.shape[0] // 2, symmetry(fw1)
    acc = np.empty(max(COLS, n1), np.float64)
    stored = np.empty(n1, dst.dtype)
    rows = np.empty((strip + size0 - 1, n1), np.float64)
    buf = np.empty(idx1.shape[0], np.float64)
    for u in range(start, stop):
        o = u // nstrips
        r0 = (u % nstrips) * strip
        r1 = min(n0, r0 + strip)
        plane = src[o]
        for p in range(r0, r1 + size0 - 1):
            r = idx0[p]
            row = rows[p - r0]
            if r < 0:
                for j in range(n1):
                    row[j] = cval
                continue
            load_line(plane[r], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fw1, h1, sym1)
            store(stored, acc, n1, code)
            for j in range(n1):
                row[j] = np.float64(stored[j])
        for j0 in range(0, n1, COLS):
            w = min(COLS, n1 - j0)
            for i in range(r0, r1):
                fir_block(rows, i - r0, rows.shape[0], j0, w, fw0, h0, sym0, acc)
                store(dst[o, i, j0:], acc, w, code)


@njit(cache=True, nogil=True)
def col_plus_row(start, stop, src, dst, idx0, idx1, b1, cval, fw0, fw1, code, strip):
    """``fw0`` along axis -2 plus ``fw1`` along axis -1, both of the input.

    scipy's ``generic_laplace`` stores each term in the output dtype and adds
    them in that dtype (``output += tmp``): integers wrap (the unsigned views
    ``dst`` may be add the same bits), floats round once more.
    """
    n0, n1 = src.shape[1], src.shape[2]
    nstrips = (n0 + strip - 1) // strip
    size0 = fw0.shape[0]
    h0, sym0 = size0 // 2, symmetry(fw0)
    h1, sym1 = fw1.shape[0] // 2, symmetry(fw1)
    ring = np.empty((size0, COLS), np.float64)
    acc = np.empty(max(COLS, n1), np.float64)
    tmp = np.empty((strip, n1), dst.dtype)
    term = np.empty(n1, dst.dtype)
    buf = np.empty(idx1.shape[0], np.float64)
    for u in range(start, stop):
        o = u // nstrips
        r0 = (u % nstrips) * strip
        r1 = min(n0, r0 + strip)
        plane = src[o]
        for j0 in range(0, n1, COLS):
            w = min(COLS, n1 - j0)
            for p in range(r0, r0 + size0 - 1):
                load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
            for i in range(r0, r1):
                p = i + size0 - 1
                load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
                fir_block(ring, i, size0, 0, w, fw0, h0, sym0, acc)
                store(tmp[i - r0, j0:], acc, w, code)
        for i in range(r0, r1):
            load_line(plane[i], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fw1, h1, sym1)
            store(term, acc, n1, code)
            first, out = tmp[i - r0], dst[o, i]
            for j in range(n1):
                out[j] = first[j] + term[j]
