"""Minimum and maximum filters: scipy.ndimage's bits at a cost flat in the window.

A min (max) over a rectangle is separable like a box filter: a min over rows of
a min over columns.  There is no rounding, so the result is exact whatever the
algorithm -- up to two facts of scipy's C code that an exact drop-in must keep:

* **Ties.**  scipy's 1-D pass (``NI_MinOrMaxFilter1D``, Harter's MINLIST: a
  deque of ``(value, death)`` pairs) keeps the *newest* of equal values, so a
  window's result is its rightmost minimal element; that decides the sign of
  a zero (``-0.0 == 0.0``).  Every reduction here picks the later operand on
  ties (:func:`_pick`), an associative rule, so van Herk's blocks and the
  doubling below give the same element as the deque.  Multi-axis filters run
  their passes in scipy's order for the same reason.
* **NaN.**  Comparisons with NaN are false, so the deque neither pops a NaN
  nor lets one replace its front, and a later value ``<=`` the front discards
  everything behind it: scipy's output near a NaN depends on the order the
  line was read in, even on samples that left the window.  No reordered
  algorithm reproduces that, so lines that may hold NaN run scipy's own
  algorithm (:func:`_harter`), and the fast kernels run only on NaN-free data
  (the caller checks, :func:`nan_blocks`).

The fast sweep (:func:`minmax_sweep`) has the engine's layout
(:mod:`._sweep`): a task is a band of rows x a strip of one plane seen as
``(B, H, W * C)``, reading its padded rows once through a ring.  Vertical
pass first (scipy's order for two adjacent axes): van Herk / Gil-Werman over
the ring -- blocks of ``kv`` rows, a running prefix per block and the
block's suffixes computed in place when it is complete, so each output row
costs three vector operations whatever ``kv`` -- then a horizontal pass by
doubling (windows of 2, 4, 8 ... from pairs of the previous ones, then two
overlapping windows: ``log2 k + 1`` vector passes over a row in L1).  Rows
stay in their own dtype where that is exact (the *work* dtype is the input's
for ``uint8``, ``uint16``, ``float32``, ``float64``; other inputs are read as
double, as scipy reads them), so a ``uint8`` row is 32 samples per AVX2
instruction.

scipy's N-D path (``NI_MinOrMaxFilter``: footprints that are not all true,
and non-flat structures) is a different algorithm with other rules --
``cval`` cast to the input's type, a strict ``<`` in footprint order, the
structure's offsets added in the input's type -- run by
:func:`minmax_direct` and :func:`minmax_structure`, one vector operation per
footprint element and output row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._cast import load, store_row
from ._sweep import G_BW, G_C, G_KV, G_KW, G_R, G_STRIP, _task, load_row

__all__ = [
    "OP_MAX",
    "OP_MIN",
    "minmax_columns",
    "minmax_direct",
    "minmax_lines",
    "minmax_structure",
    "minmax_sweep",
    "store_rows",
    "nan_blocks",
]

OP_MIN, OP_MAX = 0, 1

#: Vertical windows up to this long are reduced directly (``kv - 1`` operations per
#: output row, fewer than van Herk's three plus its bookkeeping).
DIRECT_V = 3
#: Horizontal windows up to this long are reduced directly (one pass, ``k`` loads).
DIRECT_H = 4


# =========================================================================== row operations
#
# Measured rules for these loops (perf: 70% of a 3x3 filter's time was
# reference counting before them):
#
# * Rows are runs of flat arrays addressed by unsigned offsets, never views: a
#   view (or an array argument of a function inlined by Numba) costs atomic
#   reference-count updates, and a signed computed index makes Numba test it
#   for wrapping around, which keeps LLVM from vectorising the loop (14 ns for
#   a 512-sample row unsigned, 170 ns signed).
# * Each loop lives in a *leaf*: a function of its own that calls nothing.
#   Calling a leaf costs no reference counting; a function that passes its
#   arrays on to calls increments and decrements each one (two atomic
#   operations) per call, so those run once per block or per long window only.
# * In-place loops (``acc[i] = f(acc[i], b[i])``) inlined into a larger
#   function got a scalar version from LLVM (3-10x slower): they are leaves.


@njit(cache=True, nogil=True, inline="always")
def _u(x):
    return np.uint64(x)


@njit(cache=True, nogil=True)
def _copy(into, io, part, po, n):
    """``into[io + i] = part[po + i]`` for ``i < n`` (offsets unsigned)."""
    for i in range(n):
        into[io + i] = part[po + i]


@njit(cache=True, nogil=True)
def _fill(into, io, n, value):
    for i in range(n):
        into[io + i] = value


@njit(cache=True, nogil=True)
def pick2(a, ao, b, bo, out, oo, n, op):
    """``out[oo + i]`` = min (max) of ``a[ao + i]`` (earlier) and ``b[bo + i]`` (later);
    the later one on ties."""
    if op == OP_MIN:
        for i in range(n):
            x = a[ao + i]
            y = b[bo + i]
            out[oo + i] = y if y <= x else x
    else:
        for i in range(n):
            x = a[ao + i]
            y = b[bo + i]
            out[oo + i] = y if y >= x else x


@njit(cache=True, nogil=True)
def pick_into(acc, ao, b, bo, n, op):
    """``acc[ao + i]`` = min (max) of itself (earlier) and ``b[bo + i]`` (later), in place."""
    if op == OP_MIN:
        for i in range(n):
            x = acc[ao + i]
            y = b[bo + i]
            acc[ao + i] = y if y <= x else x
    else:
        for i in range(n):
            x = acc[ao + i]
            y = b[bo + i]
            acc[ao + i] = y if y >= x else x


@njit(cache=True, nogil=True)
def pick_runs(a, o1, o2, o3, o4, k, out, oo, n, op):
    """``out[oo + i]`` = min (max) of ``a[o1 + i]``, ... (``k <= 4`` runs, in that order).

    The short windows, horizontal (runs ``C`` apart) and vertical (ring rows),
    in one pass; later runs win ties.
    """
    if k == 1:
        for i in range(n):
            out[oo + i] = a[o1 + i]
    elif k == 2:
        if op == OP_MIN:
            for i in range(n):
                x = a[o1 + i]
                y = a[o2 + i]
                out[oo + i] = y if y <= x else x
        else:
            for i in range(n):
                x = a[o1 + i]
                y = a[o2 + i]
                out[oo + i] = y if y >= x else x
    elif k == 3:
        if op == OP_MIN:
            for i in range(n):
                x = a[o1 + i]
                y = a[o2 + i]
                x = y if y <= x else x
                y = a[o3 + i]
                out[oo + i] = y if y <= x else x
        else:
            for i in range(n):
                x = a[o1 + i]
                y = a[o2 + i]
                x = y if y >= x else x
                y = a[o3 + i]
                out[oo + i] = y if y >= x else x
    elif op == OP_MIN:
        for i in range(n):
            x = a[o1 + i]
            y = a[o2 + i]
            x = y if y <= x else x
            z = a[o3 + i]
            w = a[o4 + i]
            z = w if w <= z else z
            out[oo + i] = z if z <= x else x
    else:
        for i in range(n):
            x = a[o1 + i]
            y = a[o2 + i]
            x = y if y >= x else x
            z = a[o3 + i]
            w = a[o4 + i]
            z = w if w >= z else z
            out[oo + i] = z if z >= x else x


@njit(cache=True, nogil=True)
def hdouble(buf, bo, out, oo, n, C, k, op, ss):
    """``out[oo + i]`` = min (max) of ``buf[bo + i + j * C]``, ``j < k`` (``k > DIRECT_H``).

    Windows of 2, 4, 8 ... from pairs of the previous ones, in the two rows of
    the scratch ``ss`` (each as long as the padded row, ``n + (k - 1) * C``),
    then two overlapping windows: ``log2 k + 1`` passes whatever ``k``,
    rightmost on ties.  A leaf (see the notes above): the passes are written
    out here.  Offsets are unsigned throughout (a signed operand would make a
    sum a float in Numba's typing).
    """
    one = _u(1)
    n, C, k = _u(n), _u(C), _u(k)
    m = n + (k - one) * C - C
    if op == OP_MIN:
        for i in range(m):
            x = buf[bo + i]
            y = buf[bo + C + i]
            ss[0, i] = y if y <= x else x
    else:
        for i in range(m):
            x = buf[bo + i]
            y = buf[bo + C + i]
            ss[0, i] = y if y >= x else x
    p = _u(2)
    a = 0
    while p + p <= k:
        m = m - p * C
        d = p * C
        if op == OP_MIN:
            for i in range(m):
                x = ss[a, i]
                y = ss[a, d + i]
                ss[1 - a, i] = y if y <= x else x
        else:
            for i in range(m):
                x = ss[a, i]
                y = ss[a, d + i]
                ss[1 - a, i] = y if y >= x else x
        a = 1 - a
        p = p + p
    d = (k - p) * C
    if op == OP_MIN:
        for i in range(n):
            x = ss[a, i]
            y = ss[a, d + i]
            out[oo + i] = y if y <= x else x
    else:
        for i in range(n):
            x = ss[a, i]
            y = ss[a, d + i]
            out[oo + i] = y if y >= x else x


@njit(cache=True, nogil=True, inline="always")
def _hruns(bo, C):
    """Start offsets of the runs of a short horizontal window (``C`` apart)."""
    Cu = _u(C)
    return bo, bo + Cu, bo + Cu + Cu, bo + Cu + Cu + Cu


@njit(cache=True, nogil=True)
def _suffixes(ring, kv, L, n, op):
    """Each row of a complete block of ``kv`` rows (``L`` apart in the flat ``ring``)
    replaced by the min (max) of it and the rows below it."""
    for s in range(kv - 2, -1, -1):
        pick_into(ring, _u(s * L), ring, _u((s + 1) * L), n, op)


@njit(cache=True, nogil=True)
def vanherk(ring, jr, kv, L, P, n, op, out, oo):
    """Row ``jr`` of a band arrived in ring slot ``jr % kv``: van Herk / Gil-Werman.

    Blocks of ``kv`` rows from ``jr = 0``: ``P`` is the running prefix of the
    current block.  Returns True when ``out[oo : oo + n]`` holds the min (max)
    of rows ``jr - kv + 1 .. jr``: the whole block at its last row (the caller
    then replaces the block's rows by their suffixes, :func:`_suffixes`), else
    the suffix of the previous block's row ``jr - kv + 1`` with the prefix.
    About three vector passes per row whatever ``kv``; later rows win ties.
    A leaf (see the notes above): its loops are written out here.
    """
    nu = _u(n)
    pos = jr % kv
    row = _u(pos * L)
    last = pos == kv - 1
    if pos == 0:
        for i in range(nu):
            P[i] = ring[row + i]
    elif op == OP_MIN:
        for i in range(nu):
            x = P[i]
            y = ring[row + i]
            P[i] = y if y <= x else x
    else:
        for i in range(nu):
            x = P[i]
            y = ring[row + i]
            P[i] = y if y >= x else x
    if last:
        for i in range(nu):
            out[oo + i] = P[i]
        return True
    if jr < kv:
        return False
    s = _u(((jr + 1) % kv) * L)
    if op == OP_MIN:
        for i in range(nu):
            x = ring[s + i]
            y = P[i]
            out[oo + i] = y if y <= x else x
    else:
        for i in range(nu):
            x = ring[s + i]
            y = P[i]
            out[oo + i] = y if y >= x else x
    return True


@njit(cache=True, nogil=True, inline="always")
def _vruns(jr, kv, L):
    """Ring offsets of the rows of a short vertical window ending at row ``jr``, oldest
    first (the last repeated: :func:`pick_runs` reads ``kv`` of them)."""
    r = _u((jr % kv) * L)
    if kv == 3:
        return _u(((jr + 1) % kv) * L), _u(((jr + 2) % kv) * L), r, r
    if kv == 2:
        return _u(((jr + 1) % kv) * L), r, r, r
    return r, r, r, r


# =========================================================================== the sweep


@njit(cache=True, nogil=True)
def _borders(bsrc, p0, Lpad, C, bw, W, idxW):
    """Source element of each padded position of a strip outside the interior run
    (-1: cval), and the interior run ``[qa, qb)`` (source element ``p0 - bw * C + q``)."""
    lo = bw * C
    qa = min(max(lo - p0, 0), Lpad)
    qb = max(min(lo + W * C - p0, Lpad), qa)
    for q in range(qa):
        x = (p0 + q) // C
        src = idxW[x]
        bsrc[q] = src * C + (p0 + q - x * C) if src >= 0 else -1
    for q in range(qb, Lpad):
        x = (p0 + q) // C
        src = idxW[x]
        bsrc[q] = src * C + (p0 + q - x * C) if src >= 0 else -1
    return qa, qb


@njit(cache=True, nogil=True)
def _load_native(srcw, base, s0, lin, lo, qa, qb, bsrc, Lpad, c):
    """Padded row into ``lin[lo : lo + Lpad]`` from a source already in the work dtype
    (its row starting at flat ``base``): one copy, then the borders."""
    into = _u(lo + qa)
    start = _u(base + s0 + qa)
    for i in range(_u(qb - qa)):
        lin[into + i] = srcw[start + i]
    for q in range(qa):
        s = bsrc[q]
        lin[lo + q] = srcw[base + s] if s >= 0 else c
    for q in range(qb, Lpad):
        s = bsrc[q]
        lin[lo + q] = srcw[base + s] if s >= 0 else c


@njit(cache=True, nogil=True)
def minmax_sweep(t0, t1, src, dst, gi, idxH, idxW, cv, op):
    """Min (max) over ``kv`` rows then ``kw`` columns of each ``(B, H, W * C)`` plane.

    ``src``/``dst`` are raw bytes (:mod:`._cast`) of arrays of the work dtype
    ``cv.dtype`` (other dtypes are converted to double before and after, by
    the caller); ``gi`` has :mod:`._sweep`'s geometry fields (``G_*``);
    ``cv[0]`` is ``cval``; ``op`` is :data:`OP_MIN` or :data:`OP_MAX`.
    ``kv == 1``: a horizontal pass only; ``kw == 1``: vertical only.  Rows
    are read and written in place (see the notes above the row operations).
    """
    H = dst.shape[1]
    C, kv, kw, bw = gi[G_C], gi[G_KV], gi[G_KW], gi[G_BW]
    R = gi[G_R]
    W = R // C
    c = cv[0]
    work = cv.dtype
    srcw = src.view(work).reshape(-1)
    dstw = dst.view(work).reshape(-1)
    zero = _u(0)
    # Buffers for the widest strip, once per call (not per task).
    most = min(gi[G_STRIP], R) + (kw - 1) * C
    bsrc = np.empty(most, np.int64)
    ss = np.empty((2, most), work)
    lin = np.empty(most, work)
    ring = np.empty(kv * most if kv > 1 else 1, work)
    P = np.empty(most, work)
    vrow = np.empty(most, work)
    # Short windows call leaves straight from here; a helper taking these arrays
    # would count references on every row (see the notes above the row operations).
    vshort, hshort = kv <= DIRECT_V, kw <= DIRECT_H
    for t in range(t0, t1):
        b, y0, y1, p0, L = _task(t, gi, H)
        Lpad = L + (kw - 1) * C
        s0 = p0 - bw * C
        Lu = _u(L)
        qa, qb = _borders(bsrc, p0, Lpad, C, bw, W, idxW)
        h1, h2, h3, h4 = _hruns(zero, C)
        if kv == 1:
            for y in range(y0, y1):
                _load_native(srcw, (b * H + idxH[y]) * R, s0, lin, 0, qa, qb, bsrc, Lpad, c)
                o = _u((b * H + y) * R + p0)
                if hshort:
                    pick_runs(lin, h1, h2, h3, h4, kw, dstw, o, Lu, op)
                else:
                    hdouble(lin, zero, dstw, o, L, C, kw, op, ss)
            continue
        n = L if kw == 1 else Lpad
        for yp in range(y0, y1 + kv - 1):
            jr = yp - y0
            slot = (jr % kv) * Lpad
            sr = idxH[yp]
            if sr < 0:
                _fill(ring, _u(slot), _u(Lpad), c)
            else:
                _load_native(srcw, (b * H + sr) * R, s0, ring, slot, qa, qb, bsrc, Lpad, c)
            y = yp - (kv - 1)
            o = _u((b * H + y) * R + p0)
            # the vertical window: into the output (a vertical pass alone) or vrow
            if vshort:
                if jr < kv - 1:
                    continue
                v1, v2, v3, v4 = _vruns(jr, kv, Lpad)
                if kw == 1:
                    pick_runs(ring, v1, v2, v3, v4, kv, dstw, o, Lu, op)
                    continue
                pick_runs(ring, v1, v2, v3, v4, kv, vrow, zero, _u(n), op)
            else:
                if kw == 1:
                    ready = vanherk(ring, jr, kv, Lpad, P, n, op, dstw, o if y >= y0 else zero)
                else:
                    ready = vanherk(ring, jr, kv, Lpad, P, n, op, vrow, zero)
                if jr % kv == kv - 1:
                    _suffixes(ring, kv, Lpad, _u(n), op)
                if kw == 1 or not ready:
                    continue
            if hshort:
                pick_runs(vrow, h1, h2, h3, h4, kw, dstw, o, Lu, op)
            else:
                hdouble(vrow, zero, dstw, o, L, C, kw, op, ss)


@njit(cache=True, nogil=True)
def store_rows(t0, t1, src, dst, codes):
    """Rows ``t0 .. t1`` of a double array into ``dst``'s dtype by scipy's C cast
    (``src``/``dst`` raw bytes seen as ``(rows, n * itemsize)``; ``codes = (rule,
    dcode)``, :mod:`._cast`)."""
    n = src.shape[1] // 8
    for r in range(t0, t1):
        store_row(dst[r], 0, src[r].view(np.float64), n, codes[0], codes[1])


# =========================================================================== scipy's 1-D algorithm


@njit(cache=True, nogil=True, inline="always")
def _minlist_step(vals, deaths, front, last, val, ll, k, op):
    """One sample ``val`` (position ``ll``) into Harter's MINLIST deque (a ring of ``k``
    value / death pairs): scipy's comparisons in scipy's order; the new ``(front, last)``."""
    if deaths[front] == ll:
        front += 1
        if front >= k:
            front = 0
    if (op == OP_MIN and val <= vals[front]) or (op == OP_MAX and val >= vals[front]):
        vals[front] = val
        deaths[front] = ll + k
        return front, front
    while (op == OP_MIN and vals[last] >= val) or (op == OP_MAX and vals[last] <= val):
        last = k - 1 if last == 0 else last - 1
    last += 1
    if last >= k:
        last = 0
    vals[last] = val
    deaths[last] = ll + k
    return front, last


@njit(cache=True, nogil=True)
def _harter(x, m, k, op, out, vals, deaths):
    """scipy's ``NI_MinOrMaxFilter1D`` on one padded line ``x[:m]`` (``m = n + k - 1``).

    Harter's MINLIST, operation for operation (the deque is a ring of ``k``
    pairs): the order of its comparisons is what scipy's output means where
    the line holds NaN.
    """
    if k == 1:
        for i in range(m):
            out[i] = x[i]
        return
    front = 0
    last = 0
    vals[0] = x[0]
    deaths[0] = k
    for ll in range(1, m):
        front, last = _minlist_step(vals, deaths, front, last, x[ll], ll, k, op)
        if ll >= k - 1:
            out[ll - (k - 1)] = vals[front]


@njit(cache=True, nogil=True)
def minmax_lines(t0, t1, src, dst, idx, ints, floats):
    """scipy's 1-D min (max) along contiguous lines (``src``/``dst`` seen as ``(1, lines, n)``).

    Task ``t`` is lines ``8 t .. 8 t + 7``; ``ints = (before, size, rule, op,
    scode, dcode)``, ``floats = (cval,)``; work in double, as scipy's line buffers.
    """
    before, size, rule, op, scode, dcode = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    cval = floats[0]
    lines = src.shape[1]
    m = idx.shape[0]
    n = m - size + 1
    line = np.empty(m, np.float64)
    out = np.empty(n, np.float64)
    vals = np.empty(size, np.float64)
    deaths = np.empty(size, np.int64)
    for task in range(t0, t1):
        for r in range(8 * task, min(lines, 8 * task + 8)):
            load_row(src[0, r], scode, line, 0, m, 1, before, n, idx, cval)
            _harter(line, m, size, op, out, vals, deaths)
            store_row(dst[0, r], 0, out, n, rule, dcode)


@njit(cache=True, nogil=True)
def minmax_columns(t0, t1, src, dst, idx, ints, floats):
    """scipy's 1-D min (max) down the columns of ``(outer, n, inner)`` planes.

    Task ``t`` is a block of ``block`` columns of one plane, whole columns (the
    deque carries along the line); each column's deque advances one row at a
    time.  ``ints = (before, size, rule, op, scode, dcode, block, inner)``.
    """
    size, rule, op, scode, dcode = ints[1], ints[2], ints[3], ints[4], ints[5]
    block, inner = ints[6], ints[7]
    cval = floats[0]
    m = idx.shape[0]
    nblocks = (inner + block - 1) // block
    row = np.empty(block, np.float64)
    out = np.empty(block, np.float64)
    vals = np.empty((block, size), np.float64)
    deaths = np.empty((block, size), np.int64)
    fronts = np.empty(block, np.int64)
    lasts = np.empty(block, np.int64)
    for task in range(t0, t1):
        z = task // nblocks
        c0 = (task % nblocks) * block
        w = min(block, inner - c0)
        for ll in range(m):
            sr = idx[ll]
            if sr >= 0:
                load(src[z, sr], c0, row, w, scode)
            else:
                for i in range(w):
                    row[i] = cval
            if size == 1:
                store_row(dst[z, ll], c0, row, w, rule, dcode)
                continue
            for i in range(w):
                val = row[i]
                v = vals[i]
                d = deaths[i]
                if ll == 0:
                    v[0] = val
                    d[0] = size
                    fronts[i] = 0
                    lasts[i] = 0
                    continue
                front, last = _minlist_step(v, d, fronts[i], lasts[i], val, ll, size, op)
                fronts[i] = front
                lasts[i] = last
                out[i] = v[front]
            if ll >= size - 1:
                store_row(dst[z, ll - (size - 1)], c0, out, w, rule, dcode)


# =========================================================================== scipy's N-D algorithm


@njit(cache=True, nogil=True)
def strict(res, ro, tmp, to, n, op):
    """``NI_MinOrMaxFilter``'s update: ``res[ro + i]`` replaced by ``tmp[to + i]`` only
    where strictly smaller (larger) -- so NaN never replaces and is never
    replaced, and ties keep the earlier value."""
    if op == OP_MIN:
        for i in range(n):
            v = tmp[to + i]
            r = res[ro + i]
            res[ro + i] = v if v < r else r
    else:
        for i in range(n):
            v = tmp[to + i]
            r = res[ro + i]
            res[ro + i] = v if v > r else r


@njit(cache=True, nogil=True)
def _line_index(r, shape, idxs, bases, rows, f):
    """Source line that footprint row ``f`` reads for output line ``r``, or -1 (cval)."""
    nd = shape.shape[0]
    rem = r
    line = 0
    scale = 1
    for ax in range(nd - 2, -1, -1):
        q = rem % shape[ax]
        rem //= shape[ax]
        src = idxs[bases[ax] + q + rows[f, ax]]
        if src < 0:
            return -1
        line += src * scale
        scale *= shape[ax]
    return line


@njit(cache=True, nogil=True)
def minmax_direct(t0, t1, src, dst, shape, idxs, bases, rows, cols, ints, cv):
    """scipy's ``NI_MinOrMaxFilter`` with a flat footprint, output line by output line.

    ``src``/``dst`` are raw bytes seen as ``(lines, n * itemsize)`` (lines along
    the last axis).  Footprint row ``f`` (its offsets along the leading axes:
    ``rows[f]``) reads one padded source line; its elements ``cols[f, 1:1 +
    cols[f, 0]]`` are offsets along it, in C order.  ``idxs`` holds every
    axis's index map (:func:`sepconv._boundary.extend_indices`), axis ``ax``'s
    from ``bases[ax]``; the last axis's is last.  ``ints = (before along the
    last axis, rule, op, scode, dcode, input in the work dtype, output in the
    work dtype)``; ``cv[0]`` is ``(type) cval``, as scipy casts it, in the work
    dtype (:func:`minmax_sweep`'s rules for rows).
    """
    nd = shape.shape[0]
    n = shape[nd - 1]
    before, rule, op, scode, dcode = ints[0], ints[1], ints[2], ints[3], ints[4]
    native_in, native_out = ints[5] != 0, ints[6] != 0
    c = cv[0]
    cval = np.float64(c)
    idxW = idxs[bases[nd - 1] :]
    m = idxW.shape[0]
    work = cv.dtype
    srcw = src.view(work).reshape(-1) if native_in else np.empty(1, work)
    dstw = dst.view(work).reshape(-1) if native_out else np.empty(1, work)
    line = np.empty(m, work)
    res = np.empty(n, work)
    bsrc = np.empty(m, np.int64)
    qa, qb = _borders(bsrc, 0, m, 1, before, n, idxW)
    nu, zero = _u(n), _u(0)
    nrows = rows.shape[0]
    for r in range(t0, t1):
        first = True
        for f in range(nrows):
            sl = _line_index(r, shape, idxs, bases, rows, f)
            if sl < 0:
                _fill(line, zero, _u(m), c)
            elif native_in:
                _load_native(srcw, sl * n, -before, line, 0, qa, qb, bsrc, m, c)
            else:
                load_row(src[sl], scode, line, 0, m, 1, before, n, idxW, cval)
            for e in range(cols[f, 0]):
                o = _u(cols[f, 1 + e])
                if first:
                    _copy(res, zero, line, o, nu)
                    first = False
                else:
                    strict(res, zero, line, o, nu, op)
        if native_out:
            _copy(dstw, _u(r * n), res, zero, nu)
        else:
            store_row(dst[r], 0, res, n, rule, dcode)


@njit(cache=True, nogil=True, inline="always")
def _wrap(v, code):
    # ``(type) v`` for the input's integer type (C converts the promoted sum back:
    # it wraps), as a double.
    if code == 0 or code == 10:
        return np.float64(v & 0xFF)
    if code == 1:
        return np.float64(((v + 0x80) & 0xFF) - 0x80)
    if code == 2:
        return np.float64(v & 0xFFFF)
    if code == 3:
        return np.float64(((v + 0x8000) & 0xFFFF) - 0x8000)
    if code == 4:
        return np.float64(v & 0xFFFFFFFF)
    if code == 5:
        return np.float64(((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000)
    if code == 6:
        return np.float64(np.uint64(v))
    return np.float64(v)


@njit(cache=True, nogil=True)
def _first_int(res, ints, io, s, n, code):
    # The first element: ``(double) x + s`` in double.
    for i in range(n):
        res[i] = _wrap(ints[io + i], code) + s


@njit(cache=True, nogil=True)
def _strict_int(res, ints, io, s, n, code, op):
    # :func:`strict` of ``(type)(x + s)``, the sum in the input's integer type.
    if op == OP_MIN:
        for i in range(n):
            v = _wrap(ints[io + i] + s, code)
            r = res[i]
            res[i] = v if v < r else r
    else:
        for i in range(n):
            v = _wrap(ints[io + i] + s, code)
            r = res[i]
            res[i] = v if v > r else r


@njit(cache=True, nogil=True)
def _first_float(res, line, lo, s, n):
    for i in range(n):
        res[i] = line[lo + i] + s


@njit(cache=True, nogil=True)
def _strict_float(res, line, lo, s, n, single, op):
    # :func:`strict` of ``x + s`` in the input's float type (float32: rounded to it).
    s32 = np.float32(s)
    if single and op == OP_MIN:
        for i in range(n):
            v = np.float64(np.float32(line[lo + i]) + s32)
            r = res[i]
            res[i] = v if v < r else r
    elif single:
        for i in range(n):
            v = np.float64(np.float32(line[lo + i]) + s32)
            r = res[i]
            res[i] = v if v > r else r
    elif op == OP_MIN:
        for i in range(n):
            v = line[lo + i] + s
            r = res[i]
            res[i] = v if v < r else r
    else:
        for i in range(n):
            v = line[lo + i] + s
            r = res[i]
            res[i] = v if v > r else r


@njit(cache=True, nogil=True)
def _int_run(v, into, m, bsrc, qa, qb, s0, c):
    # One padded line from the typed row ``v``: the interior run, then the borders.
    start, at = _u(s0 + qa), _u(qa)
    for i in range(_u(qb - qa)):
        into[at + i] = v[start + i]
    for q in range(qa):
        s = bsrc[q]
        into[q] = v[s] if s >= 0 else c
    for q in range(qb, m):
        s = bsrc[q]
        into[q] = v[s] if s >= 0 else c


@njit(cache=True, nogil=True)
def _int_line(raw, code, into, m, bsrc, qa, qb, s0, c):
    """A padded line of integers, exactly, as int64 (uint64: the same bits); ``c`` beyond
    a 'constant' edge."""
    if code == 0 or code == 10:
        _int_run(raw, into, m, bsrc, qa, qb, s0, c)
    elif code == 1:
        _int_run(raw.view(np.int8), into, m, bsrc, qa, qb, s0, c)
    elif code == 2:
        _int_run(raw.view(np.uint16), into, m, bsrc, qa, qb, s0, c)
    elif code == 3:
        _int_run(raw.view(np.int16), into, m, bsrc, qa, qb, s0, c)
    elif code == 4:
        _int_run(raw.view(np.uint32), into, m, bsrc, qa, qb, s0, c)
    elif code == 5:
        _int_run(raw.view(np.int32), into, m, bsrc, qa, qb, s0, c)
    else:
        _int_run(raw.view(np.int64), into, m, bsrc, qa, qb, s0, c)


@njit(cache=True, nogil=True)
def minmax_structure(t0, t1, src, dst, shape, idxs, bases, rows, cols, ints, floats):
    """scipy's ``NI_MinOrMaxFilter`` with a non-flat structure (layout as :func:`minmax_direct`).

    Each footprint element has an offset ``s`` (``floats[2 + e]``, in footprint
    order, negated for a minimum as scipy negates it).  The first element's
    value is ``(double) x + s`` in double; every other is ``x + (type) s``
    computed in the input's type -- wrapping for integers, rounded to float32
    for float32 (``ints[6 + e]`` holds ``(type) s`` for integers).  ``ints =
    (before, rule, op, scode, dcode, (type) cval as an integer's bits, ...)``,
    ``floats = ((type) cval as a double, unused, offsets...)``; work in double,
    stored by scipy's N-D rule.
    """
    nd = shape.shape[0]
    n = shape[nd - 1]
    before, rule, op, scode, dcode = ints[0], ints[1], ints[2], ints[3], ints[4]
    integer = scode <= 7 or scode == 10
    single = scode == 8
    icval = ints[5]
    cval = floats[0]
    idxW = idxs[bases[nd - 1] :]
    m = idxW.shape[0]
    line = np.empty(m, np.float64)
    iline = np.empty(m, np.int64)
    res = np.empty(n, np.float64)
    bsrc = np.empty(m, np.int64)
    qa, qb = _borders(bsrc, 0, m, 1, before, n, idxW)
    nu, zero = _u(n), _u(0)
    nrows = rows.shape[0]
    for r in range(t0, t1):
        e = 0
        for f in range(nrows):
            sl = _line_index(r, shape, idxs, bases, rows, f)
            if integer:
                if sl >= 0:
                    _int_line(src[sl], scode, iline, m, bsrc, qa, qb, -before, icval)
                else:
                    _fill(iline, zero, _u(m), icval)
            elif sl >= 0:
                load_row(src[sl], scode, line, 0, m, 1, before, n, idxW, cval)
            else:
                _fill(line, zero, _u(m), cval)
            for k in range(cols[f, 0]):
                o = _u(cols[f, 1 + k])
                s = floats[2 + e]
                if integer and e == 0:
                    _first_int(res, iline, o, s, nu, scode)
                elif integer:
                    _strict_int(res, iline, o, ints[6 + e], nu, scode, op)
                elif e == 0:
                    _first_float(res, line, o, s, nu)
                else:
                    _strict_float(res, line, o, s, nu, single, op)
                e += 1
        store_row(dst[r], 0, res, n, rule, dcode)


# =========================================================================== NaN


@njit(cache=True, nogil=True)
def nan_blocks(t0, t1, flat, flags, block):
    """``flags[t]`` = whether block ``t`` of ``flat`` (floats) holds a NaN."""
    n = flat.shape[0]
    for t in range(t0, t1):
        a = t * block
        part = flat[a : min(n, a + block)]
        found = 0
        for i in range(part.shape[0]):
            x = part[i]
            found |= x != x
        flags[t] = found != 0
