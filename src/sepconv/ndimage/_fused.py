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

__all__ = [
    "COLS",
    "col_plus_row",
    "col_then_row",
    "correlate3d",
    "row_then_col",
    "strip_rows",
    "two_pairs",
]

#: Columns per block of a column pass (a ring of 17 double rows is 17 KiB).
COLS = 128


def strip_rows(n1: int, itemsize: int) -> int:
    """Rows per strip: the strip buffer (rows x n1 samples) about 128 KiB."""
    return int(min(64, max(8, (128 * 1024) // max(1, n1 * max(itemsize, 4)))))


@njit(cache=True, nogil=True)
def _column_pass(plane, tmp, r0, r1, idx0, cval, fw0, h0, sym0, code, ring, acc):
    # ``fw0`` down the columns of rows r0 .. r1 - 1 of ``plane`` into ``tmp``
    # (stored in its dtype), block by block so that the ring of padded rows
    # (double) stays in L1.
    n1 = plane.shape[1]
    size0 = fw0.shape[0]
    for j0 in range(0, n1, COLS):
        w = min(COLS, n1 - j0)
        for p in range(r0, r0 + size0 - 1):
            load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
        for i in range(r0, r1):
            p = i + size0 - 1
            load_row(plane, idx0[p], j0, w, cval, ring[p % size0])
            fir_block(ring, i, size0, 0, w, fw0, h0, sym0, acc)
            store(tmp[i - r0, j0:], acc, w, code)


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
        _column_pass(plane, tmp, r0, r1, idx0, cval, fw0, h0, sym0, code, ring, acc)
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
        _column_pass(plane, tmp, r0, r1, idx0, cval, fw0, h0, sym0, code, ring, acc)
        for i in range(r0, r1):
            load_line(plane[i], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fw1, h1, sym1)
            store(term, acc, n1, code)
            first, out = tmp[i - r0], dst[o, i]
            for j in range(n1):
                out[j] = first[j] + term[j]


@njit(cache=True, nogil=True)
def correlate3d(start, stop, src, dst, idx0, idx1, idx2, b2, cval, taps, weights, code, strip):
    """scipy's NI_Correlate on a volume (a 2-D image is one plane), strip by strip.

    Unit ``u`` is strip ``u % nstrips`` of ``strip`` rows of plane ``u //
    nstrips``.  The boundary-extended rows that strip reads (``k0`` planes of
    ``strip + k1 - 1`` rows) are converted to double into a buffer that stays
    in cache, instead of extending the whole array first.  Tap ``t`` (the
    kernel's nonzero taps in C order, offsets ``taps[t]`` = plane, row,
    column) reads ``pad[taps[t, 0], i + taps[t, 1], j + taps[t, 2]]``; each
    sample is ``0.0 + w0*x0 + w1*x1 ...`` in that order (four taps per sweep,
    added left to right).
    """
    n0, n1, n2 = src.shape
    k0 = idx0.shape[0] - n0 + 1
    k1 = idx1.shape[0] - n1 + 1
    m2 = idx2.shape[0]
    nstrips = (n1 + strip - 1) // strip
    pad = np.empty((k0, strip + k1 - 1, m2), np.float64)
    acc = np.empty(n2, np.float64)
    count = weights.shape[0]
    for u in range(start, stop):
        z = u // nstrips
        r0 = (u % nstrips) * strip
        r1 = min(n1, r0 + strip)
        for q in range(k0):
            plane = idx0[z + q]
            for p in range(r0, r1 + k1 - 1):
                row = pad[q, p - r0]
                r = idx1[p]
                if plane < 0 or r < 0:
                    for j in range(m2):
                        row[j] = cval
                else:
                    load_line(src[plane, r], idx2, b2, n2, cval, row)
        for i in range(r0, r1):
            li = i - r0
            for j in range(n2):
                acc[j] = 0.0
            t = 0
            while t + 4 <= count:
                a1 = pad[taps[t, 0], li + taps[t, 1], taps[t, 2] : taps[t, 2] + n2]
                a2 = pad[taps[t + 1, 0], li + taps[t + 1, 1], taps[t + 1, 2] : taps[t + 1, 2] + n2]
                a3 = pad[taps[t + 2, 0], li + taps[t + 2, 1], taps[t + 2, 2] : taps[t + 2, 2] + n2]
                a4 = pad[taps[t + 3, 0], li + taps[t + 3, 1], taps[t + 3, 2] : taps[t + 3, 2] + n2]
                w1, w2, w3, w4 = weights[t], weights[t + 1], weights[t + 2], weights[t + 3]
                for j in range(n2):
                    acc[j] = (((acc[j] + w1 * a1[j]) + w2 * a2[j]) + w3 * a3[j]) + w4 * a4[j]
                t += 4
            while t < count:
                a1 = pad[taps[t, 0], li + taps[t, 1], taps[t, 2] : taps[t, 2] + n2]
                w1 = weights[t]
                for j in range(n2):
                    acc[j] += w1 * a1[j]
                t += 1
            store(dst[z, i], acc, n2, code)


@njit(cache=True, nogil=True)
def two_pairs(start, stop, src, dst, idx0, idx1, b1, cval, fa0, fa1, fb0, fb1, code, strip, root):
    """Two separable terms of the input and their sum, in one sweep.

    Term ``a`` is ``fa0`` along axis -2 then ``fa1`` along axis -1 (each pass
    stored in ``dst``'s float dtype, as :func:`col_then_row`), term ``b`` the
    same with ``fb0``, ``fb1``; the kernels along one axis have one length.
    ``root`` false: ``a + b`` (``gaussian_laplace``); true: ``sqrt(a*a + b*b)``
    with every operation in the output dtype (``gaussian_gradient_magnitude``).
    """
    n0, n1 = src.shape[1], src.shape[2]
    nstrips = (n0 + strip - 1) // strip
    size0 = fa0.shape[0]
    h0, syma0, symb0 = size0 // 2, symmetry(fa0), symmetry(fb0)
    h1, syma1, symb1 = fa1.shape[0] // 2, symmetry(fa1), symmetry(fb1)
    ring = np.empty((size0, COLS), np.float64)
    acc = np.empty(max(COLS, n1), np.float64)
    ta = np.empty((strip, n1), dst.dtype)
    tb = np.empty((strip, n1), dst.dtype)
    ra = np.empty(n1, dst.dtype)
    rb = np.empty(n1, dst.dtype)
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
                fir_block(ring, i, size0, 0, w, fa0, h0, syma0, acc)
                store(ta[i - r0, j0:], acc, w, code)
                fir_block(ring, i, size0, 0, w, fb0, h0, symb0, acc)
                store(tb[i - r0, j0:], acc, w, code)
        for i in range(r0, r1):
            load_line(ta[i - r0], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fa1, h1, syma1)
            store(ra, acc, n1, code)
            load_line(tb[i - r0], idx1, b1, n1, cval, buf)
            fir_line(buf, acc, n1, fb1, h1, symb1)
            store(rb, acc, n1, code)
            out = dst[o, i]
            if root:
                for j in range(n1):
                    out[j] = np.sqrt(ra[j] * ra[j] + rb[j] * rb[j])
            else:
                for j in range(n1):
                    out[j] = ra[j] + rb[j]
