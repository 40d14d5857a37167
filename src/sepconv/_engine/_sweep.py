"""The sweep: 1-D and separable passes through a ring of rows, for both policies.

Every separable filtering the engine runs -- a 1-D pass along any axis, two
passes over two adjacent axes fused, a sum of separable terms (a low-rank
kernel, a dense 2-D kernel row by row, the two terms of a Laplacian) -- is
one *sweep* over an array seen as ``(B, H, R)``: ``B`` planes of ``H`` rows of
``R = W * C`` elements, where ``W`` is the horizontal filtered axis and the
``C`` unfiltered elements inside it (channels) lie between its samples, so a
horizontal tap steps ``C`` elements and every inner loop is contiguous.

A task is one band of rows of one strip of columns of one plane.  It walks
the padded rows of its band once, top to bottom, keeping the last ``kv`` of
them in a ring (OpenCV's FilterEngine; Halide's blur schedule), and writes
each output row once:

* ``ORDER_HV`` (horizontal first, :func:`_hv`): each input row is read once,
  converted and padded (:func:`load_row`), filtered horizontally by every
  term into that term's ring; each output row combines ``kv`` ring rows
  vertically.  Rows already in the work dtype are filtered in place
  (:func:`_hrow_direct`: only the outputs at a row's ends read padding), and
  a sum stored into an output of the work dtype is computed in it.
* ``ORDER_VH`` (vertical first, :func:`_vh`): the ring holds the padded input
  rows; each output row is, per term, a vertical pass over the ring into a
  padded row and a horizontal pass of that row.

The arithmetic policy (:mod:`._arith`) is a literal argument, so each policy
compiles its own specialisation; what differs between them is the tap loops
and two rules scipy's composition of 1-D passes needs:

* ``exact``: every pass is stored in the output dtype before the next reads it
  (scipy's multi-axis filters write each pass to ``output``), which the sweep
  does on the row in cache (:func:`._cast.store_row` then
  :func:`._cast.reload_row`); and the second pass pads its input (the first
  pass's result) with ``cval`` in ``'constant'`` mode, where filtering the
  padded input would give ``cval * sum(weights)``.
* ``fast``: the intermediate stays in the work dtype; a row beyond a
  ``'constant'`` edge is the filtered constant row.

Terms combine by ``COMBINE_SUM`` (added in the work dtype, stored once),
``COMBINE_ADD_DST`` (each stored in the output dtype and added in it, as
scipy's ``generic_laplace`` does ``output += term``) or ``COMBINE_HYPOT_DST``
(``sqrt(sum(term**2))`` in the output dtype, ``generic_gradient_magnitude``).

Banks (``ORDER_HV``, the fast policy).  A sweep may read several stacked
sources (``src`` is ``(S, B, H, R)``) and write several outputs (``dst`` is
``(outputs, B, H, R)``).  Its horizontal passes are listed apart from its
terms: each horizontal pass reads one source through an input transform
(``TRANSFORM_NONE``; ``TRANSFORM_ZERO_NAN``, NaN samples as 0;
``TRANSFORM_NOT_NAN``, 0 where NaN and 1 elsewhere; infinities are data) into its own ring, and
each term is a vertical pass over one of those rings -- so terms that share a
horizontal kernel share its pass (a Hessian's three derivatives need three
horizontal passes, not six; normalized convolution's numerator and
denominator are two transforms of one read of the input).  Terms are then
summed (``COMBINE_SUM``), written one per output (``COMBINE_SEPARATE``),
divided (``COMBINE_DIVIDE``: term 0 over term 1 where ``|term 1| > tol``,
``fill`` elsewhere; with ``2 n`` terms, the sum of the first ``n`` over the sum
of the last ``n``), combined as ``sqrt(sum(term**2))`` in the work dtype
(``COMBINE_HYPOT``) or as the eigenvalues of the symmetric matrix whose upper
entries they are (``COMBINE_EIGEN``, in double).  A bank may compute a slab of
a taller output: its rows from row ``yoff``, its planes from plane ``boff``.
The exact policy keeps one horizontal pass per term.

Arrays arrive as raw bytes (``uint8``, rows of ``R * itemsize``); rows are
converted by :mod:`._cast` with dtype codes, so each entry point is compiled
once per work dtype whatever the input and output dtypes.

Results never depend on the task layout: every output sample is computed by
the same operations in whichever band and strip it falls.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit

from ._arith import (
    KIND_BOX,
    KIND_IDENTITY,
    hbox_fast,
    hpass_exact,
    hpass_fast,
    refresh_interval,
    vbox_fast,
    vpass_exact,
    vpass_fast,
)
from ._cast import load, load_at, reload_row, store_row
from ._native import reinterpret
from ._pointwise import eigen3

__all__ = [
    "COMBINE_ADD_DST",
    "COMBINE_DIVIDE",
    "COMBINE_EIGEN",
    "COMBINE_HYPOT",
    "COMBINE_HYPOT_DST",
    "COMBINE_SEPARATE",
    "COMBINE_SUM",
    "GEOMETRY",
    "ORDER_HV",
    "ORDER_VH",
    "TRANSFORM_NONE",
    "TRANSFORM_NOT_NAN",
    "TRANSFORM_ZERO_NAN",
    "load_row",
    "sweep_exact_hv",
    "sweep_exact_vh",
    "sweep_fast_hv",
    "sweep_fast_vh",
]

ORDER_HV, ORDER_VH = 0, 1
COMBINE_SUM, COMBINE_ADD_DST, COMBINE_HYPOT_DST = 0, 1, 2
COMBINE_SEPARATE, COMBINE_DIVIDE, COMBINE_HYPOT = 3, 4, 5
#: The eigenvalues of the symmetric matrix whose upper entries the terms are (3
#: terms: 2 x 2, 6 terms: 3 x 3; scikit-image's order), largest first, one per output.
COMBINE_EIGEN = 6
TRANSFORM_NONE, TRANSFORM_ZERO_NAN, TRANSFORM_NOT_NAN = 0, 1, 2

#: Fields of the int64 geometry vector, in order.
GEOMETRY = (
    "C",  # elements per horizontal step (unfiltered axes inside W)
    "kv",  # vertical taps (ring rows)
    "kw",  # horizontal taps
    "bw",  # padded samples before the first along W
    "band",  # output rows per task
    "strip",  # elements per strip (a multiple of C)
    "nbands",
    "nstrips",
    "terms",
    "rule",  # store rule (_cast.store_code)
    "scode",  # input dtype code (_cast.dtype_code)
    "dcode",  # output dtype code
    "combine",
    "cborder",  # exact VH: the intermediate's 'constant' border along W is cval
    "R",  # elements per row
    "sources",  # stacked sources (S)
    "hpasses",  # horizontal passes (rings) of a bank
    "yoff",  # output rows are written at this row of dst (a slab of a taller output)
    "hout",  # output rows to compute (0: all of dst's)
    "boff",  # output planes are written at this plane of dst (a slab along an outer axis)
)
G_C, G_KV, G_KW, G_BW, G_BAND, G_STRIP, G_NBANDS, G_NSTRIPS = range(8)
G_TERMS, G_RULE, G_SCODE, G_DCODE, G_COMBINE, G_CBORDER, G_R = range(8, 15)
G_SOURCES, G_HPASSES, G_YOFF, G_HOUT, G_BOFF = 15, 16, 17, 18, 19

#: Rows (strips) at least this many elements wide are read in place by the
#: horizontal passes (:func:`_hrow_direct`).  Narrower, the two extra calls for
#: the row's ends cost more than the copy they save (measured per row on this
#: Zen 4: 69 against 41 ns at 256 elements, 107 against 99 at 1024, 152
#: against 171 at 2048).
DIRECT_MIN = 2048


@njit(cache=True, nogil=True, _nrt=False)
def load_row(raw, code, lin, p0, n, C, bw, W, idxW, cval):
    """Padded positions ``p0 .. p0 + n`` of a raw row into ``lin``, converted.

    Padded position ``P = x * C + c`` is source element ``idxW[x] * C + c``
    (``cval`` where ``idxW[x] < 0``); the interior is one converting copy, and
    a border position whose source the copy brought in is copied from ``lin``
    (no dtype switch per sample), others are read from ``raw``.
    """
    lo = bw * C
    qa = max(p0, lo)
    qb = min(p0 + n, lo + W * C)
    if qb > qa:
        load(raw, qa - lo, lin[qa - p0 : qb - p0], qb - qa, code)
    else:
        qa = qb = p0
    _border(raw, code, lin, p0, p0, qa, C, lo, qa, qb, idxW, cval)
    _border(raw, code, lin, p0, max(qb, p0), p0 + n, C, lo, qa, qb, idxW, cval)


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _border(raw, code, lin, p0, q0, q1, C, lo, qa, qb, idxW, cval):
    # Padded positions q0 .. q1, sample by sample (one division, not one per element).
    if q1 <= q0:
        return
    if C == 1:
        # One element per sample (most images): a plain loop, where the general
        # loop below runs an inner loop of one element per sample -- vectorised,
        # with its overlap checks, at several times the cost of the copy.
        for q in range(q0, q1):
            src = idxW[q]
            at = lo + src
            if src < 0:
                lin[q - p0] = cval
            elif qa <= at and at < qb:
                lin[q - p0] = lin[at - p0]
            else:
                lin[q - p0] = load_at(raw, src, code)
        return
    x = q0 // C
    c = q0 - x * C
    q = q0
    while q < q1:
        m = min(C - c, q1 - q)  # elements of sample x in range
        src = idxW[x]
        if src < 0:
            for i in range(m):
                lin[q - p0 + i] = cval
        else:
            at = lo + src * C + c  # the padded position of the source sample
            if qa <= at and at + m <= qb:
                for i in range(m):
                    lin[q - p0 + i] = lin[at - p0 + i]
            else:
                for i in range(m):
                    lin[q - p0 + i] = load_at(raw, at - lo + i, code)
        q += m
        x += 1
        c = 0


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _pad_from_inner(row, lo, R, n, C, idxW, cval):
    # Positions 0 .. lo and lo + R .. n of a whole padded row from its own interior
    # (cval where the index map says so): what load_row's borders do, without
    # their per-sample search of where the source lies.
    if C == 1:
        for q in range(lo):
            s = idxW[q]
            row[q] = cval if s < 0 else row[lo + s]
        for q in range(lo + R, n):
            s = idxW[q]
            row[q] = cval if s < 0 else row[lo + s]
        return
    for x in range(lo // C):
        s = idxW[x]
        for c in range(C):
            row[x * C + c] = cval if s < 0 else row[lo + s * C + c]
    for x in range((lo + R) // C, n // C):
        s = idxW[x]
        for c in range(C):
            row[x * C + c] = cval if s < 0 else row[lo + s * C + c]


@njit(cache=True, nogil=True, inline="always")
def _fill(row, n, value):
    for i in range(n):
        row[i] = value


@njit(cache=True, nogil=True, inline="always")
def _round_trip(row, tmp, n, rule, dcode):
    # The exact policy's intermediate: stored in the output dtype, read back.
    store_row(tmp, 0, row, n, rule, dcode)
    reload_row(row, tmp, n, dcode)


@njit(cache=True, nogil=True, inline="always")
def _cval_border(row, p0, n, C, idxW, cval):
    # Padded positions of the strip beyond a 'constant' edge hold cval.
    for q in range(n):
        x = (p0 + q) // C
        if idxW[x] < 0:
            row[q] = cval


@njit(cache=True, nogil=True, inline="always")
def _task(t, gi, H):
    """Plane, first and last row, first element and length of task ``t``."""
    nbands, nstrips = gi[G_NBANDS], gi[G_NSTRIPS]
    b = t // (nbands * nstrips)
    r = t - b * (nbands * nstrips)
    bi = r // nstrips
    si = r - bi * nstrips
    y0 = bi * gi[G_BAND]
    p0 = si * gi[G_STRIP]
    return b, y0, min(H, y0 + gi[G_BAND]), p0, min(gi[G_R], p0 + gi[G_STRIP]) - p0


@njit(cache=True, nogil=True, inline="always")
def _hrow(lin, row, L, C, ti, tw, accumulate, scratch, policy):
    # One horizontal pass of a padded row (doubling sums for a fast box factor).
    if policy == 0:
        hpass_exact(lin, row, L, C, ti, tw, accumulate)
    elif ti[0] == KIND_BOX:
        hbox_fast(lin, row, L, C, ti[1], tw[0], scratch, accumulate)
    else:
        hpass_fast(lin, row, L, C, ti, tw, accumulate)


@njit(cache=True, nogil=True, _nrt=False)
def _hrow_direct(
    raw, code, lin, p0, L, C, bw, W, kw, idxW, cval, ti, tw, out, more, scratch, policy
):
    """:func:`_hrow` of the padded row :func:`load_row` would make, for a source of the
    work dtype: the outputs whose taps all lie inside the source row read it in place
    (no converting copy); only the few at its ends are padded in ``lin`` first.  Each
    output is the same operations on the same values wherever the row is cut."""
    lo, span = bw * C, (kw - 1) * C
    qa = min(max(lo - p0, 0), L)  # outputs before qa reach the left padding
    qb = min(max(W * C + lo - p0 - span, qa), L)  # outputs from qb reach the right
    if qa > 0:
        load_row(raw, code, lin, p0, qa + span, C, bw, W, idxW, cval)
        _hrow(lin, out[:qa], qa, C, ti, tw, more, scratch, policy)
    if qb > qa:
        s0 = p0 + qa - lo
        row = reinterpret(raw, tw.dtype)[s0 : s0 + qb - qa + span]
        _hrow(row, out[qa:qb], qb - qa, C, ti, tw, more, scratch, policy)
    if L > qb:
        load_row(raw, code, lin, p0 + qb, L - qb + span, C, bw, W, idxW, cval)
        _hrow(lin, out[qb:L], L - qb, C, ti, tw, more, scratch, policy)


@njit(cache=True, nogil=True, inline="always")
def _hpass(src, b, sr, h, out, more, direct_in, scode, lin, tl, links, p0, L, Lpad,
           C, bw, W, kw, idxW, cval, hti, htw, scratch, policy):  # fmt: skip
    # Horizontal pass h of source row sr into out: read in place (direct_in), or from
    # the row load_row brought into lin, through the pass's input transform.
    if direct_in:
        _hrow_direct(src[0, b, sr], scode, lin[0], p0, L, C, bw, W, kw, idxW, cval,
                     hti[h], htw[h], out, more, scratch, policy)  # fmt: skip
    else:
        hin = _transformed(lin[links[2 * h]], tl, links[2 * h + 1], Lpad)
        _hrow(hin, out, L, C, hti[h], htw[h], more, scratch, policy)


@njit(cache=True, nogil=True, inline="always")
def _transformed(lin, tl, transform, n):
    # A horizontal pass's input: the loaded row itself, or its transform in ``tl``.
    if transform == TRANSFORM_NONE:
        return lin
    if transform == TRANSFORM_ZERO_NAN:
        for i in range(n):
            x = lin[i]
            tl[i] = x if x == x else 0
    else:
        for i in range(n):
            x = lin[i]
            tl[i] = 1 if x == x else 0
    return tl


@njit(cache=True, nogil=True, _nrt=False, error_model="numpy")
def _divide(row, den, n, tol, fill):
    """``row / den`` where ``|den| > tol``, ``fill`` elsewhere.  NumPy's error model: a
    division by zero gives inf or NaN (then replaced) instead of a check per element, so
    the loop vectorises (3x faster on float32 rows)."""
    for i in range(n):
        d = den[i]
        q = row[i] / d
        row[i] = q if abs(d) > tol else fill


@njit(cache=True, nogil=True, _nrt=False)
def _emit(dst, b, y, p0, acc, L, T, rule, dcode, combine, tol, fill):
    """Output row ``y`` of every output from the terms' rows ``acc``."""
    if combine == COMBINE_SEPARATE:
        for term in range(T):
            store_row(dst[term, b, y], p0, acc[term], L, rule, dcode)
        return
    row = acc[0]
    if combine == COMBINE_EIGEN:
        _eigen_rows(acc, L, T)
        for k in range(2 if T == 3 else 3):
            store_row(dst[k, b, y], p0, acc[k], L, rule, dcode)
        return
    if combine == COMBINE_DIVIDE:
        # the first half of the terms over the second half (one term each: 0 over 1;
        # several: a dense kernel's rows or a low-rank kernel's terms, summed)
        half = T // 2
        den = acc[half]
        for term in range(1, half):
            r, d = acc[term], acc[half + term]
            for i in range(L):
                row[i] += r[i]
                den[i] += d[i]
        _divide(row, den, L, tol, fill)
    elif combine == COMBINE_HYPOT:
        for i in range(L):
            row[i] = row[i] * row[i]
        for term in range(1, T):
            r = acc[term]
            for i in range(L):
                row[i] += r[i] * r[i]
        for i in range(L):
            row[i] = np.sqrt(row[i])
    store_row(dst[0, b, y], p0, row, L, rule, dcode)


@njit(cache=True, nogil=True, _nrt=False)
def _eigen_rows(acc, L, T):
    """``acc[0 .. d-1]`` = the eigenvalues of the matrices whose entries are ``acc[0 .. T-1]``."""
    if T == 3:
        a, c, e = acc[0], acc[1], acc[2]
        for i in range(L):
            m00, m01, m11 = np.float64(a[i]), np.float64(c[i]), np.float64(e[i])
            half = (m00 + m11) / 2.0
            d = (m00 - m11) / 2.0
            root = np.sqrt(m01 * m01 + d * d)
            a[i] = half + root
            c[i] = half - root
        return
    for i in range(L):
        x, y, z = eigen3(
            np.float64(acc[0, i]),
            np.float64(acc[1, i]),
            np.float64(acc[2, i]),
            np.float64(acc[3, i]),
            np.float64(acc[4, i]),
            np.float64(acc[5, i]),
        )
        acc[0, i], acc[1, i], acc[2, i] = x, y, z


@njit(cache=True, nogil=True)
def _hv(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links, policy):
    """Horizontal first (see the module docstring); ``kv == 1``: horizontal passes only.

    ``links`` holds each horizontal pass's source and transform, then each
    term's horizontal pass; ``fl`` is ``cval``, each horizontal pass's value
    beyond a ``'constant'`` edge (the fast policy's filtered constant), ``tol``
    and ``fill``.  A fast vertical box factor keeps running column sums across
    the band (restarted every :func:`._arith.refresh_interval` rows), for
    which the ring holds one more row: the one leaving the window.

    The rows are computed by :func:`_hv_task`, which makes no reference
    counts: the buffers are allocated here, once for the chunk of tasks.
    """
    literally(policy)
    C, kv, kw = gi[G_C], gi[G_KV], gi[G_KW]
    T, S, NH = gi[G_TERMS], gi[G_SOURCES], gi[G_HPASSES]
    work = htw.dtype
    boxes = False
    for term in range(T):
        boxes = boxes or (policy != 0 and vti[term, 0] == KIND_BOX)
    nring = kv + 1 if boxes else kv
    L = min(gi[G_STRIP], gi[G_R])  # the widest strip
    Lpad = L + (kw - 1) * C
    acc = np.empty((1 if gi[G_COMBINE] == COMBINE_SUM else T, L), work)
    lin = np.empty((S, Lpad), work)
    tl = np.empty(Lpad, work)
    scratch = np.empty((3, Lpad), work)  # hbox_fast's rows
    tmp = np.empty(8 * L, np.uint8)
    ring = np.empty((NH, nring if kv > 1 else 1, L), work)
    vsum = np.empty((T, L if boxes else 1), np.float64)
    stale = np.ones(T, np.bool_)
    bufs = (acc, lin, tl, scratch, tmp, ring, vsum, stale)
    for t in range(t0, t1):
        _hv_task(t, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links, bufs, nring, policy)


@njit(cache=True, nogil=True, _nrt=False)
def _hv_task(t, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links, bufs, nring, policy):
    """One task of :func:`_hv`: a band of rows of one strip of one plane."""
    literally(policy)
    acc, lin, tl, scratch, tmp, ring, vsum, stale = bufs
    H = gi[G_HOUT] if gi[G_HOUT] > 0 else dst.shape[2]
    yoff, boff = gi[G_YOFF], gi[G_BOFF]
    C, kv, kw, bw = gi[G_C], gi[G_KV], gi[G_KW], gi[G_BW]
    T, rule, scode, dcode = gi[G_TERMS], gi[G_RULE], gi[G_SCODE], gi[G_DCODE]
    combine, S, NH = gi[G_COMBINE], gi[G_SOURCES], gi[G_HPASSES]
    W = gi[G_R] // C
    cval, tol, fill = fl[0], fl[1 + NH], fl[2 + NH]
    flat = kv == 1  # no vertical pass at all: no ring, no intermediate
    for term in range(T):
        flat = flat and vti[term, 0] == KIND_IDENTITY
    refresh = refresh_interval(kv)
    summed = combine == COMBINE_SUM
    b, y0, y1, p0, L = _task(t, gi, H)
    Lpad = L + (kw - 1) * C
    # Rows of the work dtype are read and written in place: the horizontal passes
    # read a source of that dtype without the converting copy (direct_in), and a
    # sum stored into an output of that dtype is computed in it (direct_out: the
    # store would be a plain copy).
    wcode = 8 if htw.itemsize == 4 else 9
    direct_in = S == 1 and scode == wcode and L >= DIRECT_MIN
    for h in range(NH):
        direct_in = direct_in and links[2 * h + 1] == TRANSFORM_NONE
    direct_out = summed and dcode == wcode and rule == 0
    if flat:  # each term is its horizontal pass
        for y in range(y0, y1):
            sr = idxH[y]
            if not direct_in:
                for s in range(S):
                    load_row(src[s, b, sr], scode, lin[s], p0, Lpad, C, bw, W, idxW, cval)
            if direct_out:
                out = reinterpret(dst[0, b + boff, y + yoff], htw.dtype)[p0 : p0 + L]
            for term in range(T):
                h = links[2 * NH + term]
                if not direct_out:
                    out = acc[0] if summed else acc[term]
                more = summed and term > 0
                _hpass(src, b, sr, h, out, more, direct_in, scode, lin, tl, links, p0, L, Lpad,
                       C, bw, W, kw, idxW, cval, hti, htw, scratch, policy)  # fmt: skip
            if not direct_out:
                _emit(dst, b + boff, y + yoff, p0, acc, L, T, rule, dcode, combine, tol, fill)
        return
    for term in range(T):
        stale[term] = True
    for yp in range(y0, y1 + kv - 1):
        sr = idxH[yp]
        slot = yp % nring
        if sr >= 0 and not direct_in:
            for s in range(S):
                load_row(src[s, b, sr], scode, lin[s], p0, Lpad, C, bw, W, idxW, cval)
        for h in range(NH):
            row = ring[h, slot]
            if sr < 0:
                # exact: scipy's second pass pads the intermediate with cval;
                # fast: the filtered constant row (cval * sum of the taps).
                _fill(row, L, cval if policy == 0 else fl[1 + h])
                continue
            _hpass(src, b, sr, h, row, False, direct_in, scode, lin, tl, links, p0, L, Lpad,
                   C, bw, W, kw, idxW, cval, hti, htw, scratch, policy)  # fmt: skip
            if policy == 0 and hti[h, 0] != KIND_IDENTITY and vti[h, 0] != KIND_IDENTITY:
                # a second pass follows: the first is stored in the output dtype
                # (the exact policy has one horizontal pass per term)
                _round_trip(row, tmp, L, rule, dcode)
        if yp < y0 + kv - 1:
            continue
        y = yp - (kv - 1)
        if direct_out:
            out = reinterpret(dst[0, b + boff, y + yoff], htw.dtype)[p0 : p0 + L]
        for term in range(T):
            rows = ring[links[2 * NH + term]]
            if not direct_out:
                out = acc[0] if summed else acc[term]
            more = summed and term > 0
            if policy == 0:
                vpass_exact(rows, y, nring, 0, L, vti[term], vtw[term], out)
            elif vti[term, 0] == KIND_BOX:
                fresh = stale[term] or (y - y0) % refresh == 0
                ok = vbox_fast(rows, y, nring, kv, L, vtw[term, 0], vsum[term], fresh, out, more)
                stale[term] = not ok
            else:
                vpass_fast(rows, y, nring, 0, L, vti[term], vtw[term], out, more)
        if not direct_out:
            _emit(dst, b + boff, y + yoff, p0, acc, L, T, rule, dcode, combine, tol, fill)


@njit(cache=True, nogil=True)
def _vh(t0, t1, sources, outputs, gi, idxH, idxW, hti, htw, vti, vtw, fl, policy):
    """Vertical first (see the module docstring); ``kw == 1`` and one term: one vertical pass.

    One source and one output (the first of the stacks); the rows are computed
    by :func:`_vh_task` in buffers allocated here, once for the chunk of tasks.
    """
    literally(policy)
    C, kv, kw = gi[G_C], gi[G_KV], gi[G_KW]
    work = htw.dtype
    L = min(gi[G_STRIP], gi[G_R])  # the widest strip
    Lpad = L + (kw - 1) * C
    acc = np.empty(L, work)
    ring = np.empty((kv, Lpad), work)
    vrow = np.empty(Lpad, work)
    scratch = np.empty((3, Lpad), work)  # hbox_fast's rows
    tmp = np.empty(8 * Lpad, np.uint8)
    sums = np.empty(8 * L, np.uint8)
    bufs = (acc, ring, vrow, scratch, tmp, sums)
    for t in range(t0, t1):
        _vh_task(t, sources[0], outputs[0], gi, idxH, idxW, hti, htw, vti, vtw, fl, bufs, policy)


@njit(cache=True, nogil=True, _nrt=False)
def _vh_task(t, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, bufs, policy):
    """One task of :func:`_vh`: a band of rows of one strip of one plane."""
    literally(policy)
    acc, ring, vrow, scratch, tmp, sums = bufs
    H = dst.shape[1]
    C, kv, kw, bw = gi[G_C], gi[G_KV], gi[G_KW], gi[G_BW]
    T, rule, scode, dcode = gi[G_TERMS], gi[G_RULE], gi[G_SCODE], gi[G_DCODE]
    combine, cborder = gi[G_COMBINE], gi[G_CBORDER] != 0
    W = gi[G_R] // C
    cval = fl[0]
    pure = kw == 1 and T == 1 and hti[0, 0] == KIND_IDENTITY  # one vertical pass
    b, y0, y1, p0, L = _task(t, gi, H)
    Lpad = L + (kw - 1) * C
    R, lo = gi[G_R], bw * C
    whole = gi[G_NSTRIPS] == 1
    # Exact, whole rows, every term a vertical then a horizontal pass: each term
    # pads its own intermediate (below), so the ring needs the rows' interiors only.
    inner_only = policy == 0 and whole and not pure
    for term in range(T):
        inner_only = inner_only and vti[term, 0] != KIND_IDENTITY
        inner_only = inner_only and hti[term, 0] != KIND_IDENTITY
    r0, rn = (lo, R) if inner_only else (0, Lpad)
    for yp in range(y0, y1 + kv - 1):
        sr = idxH[yp]
        slot = ring[yp % kv, r0 : r0 + rn]
        if sr >= 0:
            load_row(src[b, sr], scode, slot, p0 + r0, rn, C, bw, W, idxW, cval)
        else:
            _fill(slot, rn, cval)
        if yp < y0 + kv - 1:
            continue
        y = yp - (kv - 1)
        if pure:
            if policy == 0:
                vpass_exact(ring, y, kv, 0, L, vti[0], vtw[0], acc)
            else:
                vpass_fast(ring, y, kv, 0, L, vti[0], vtw[0], acc, False)
            store_row(dst[b, y], p0, acc, L, rule, dcode)
            continue
        for term in range(T):
            vt = vti[term]
            if vt[0] == KIND_IDENTITY:  # no vertical pass: the ring row itself
                hin = ring[(y + vt[3]) % kv]
            elif policy == 0 and whole and hti[term, 0] != KIND_IDENTITY:
                # The whole row in one strip: the vertical pass of the row's own
                # samples, stored in the output dtype, then padded from itself as
                # scipy pads its intermediate (cval beyond a 'constant' edge) --
                # not kw - 1 more columns filtered vertically.
                inner = vrow[lo : lo + R]
                vpass_exact(ring, y, kv, lo, R, vt, vtw[term], inner)
                _round_trip(inner, tmp, R, rule, dcode)
                _pad_from_inner(vrow, lo, R, Lpad, C, idxW, cval)
                hin = vrow
            elif policy == 0:
                vpass_exact(ring, y, kv, 0, Lpad, vt, vtw[term], vrow)
                if hti[term, 0] != KIND_IDENTITY:
                    # a second pass follows: the first is stored in the output
                    # dtype, and padded as scipy pads it
                    _round_trip(vrow, tmp, Lpad, rule, dcode)
                    if cborder:
                        _cval_border(vrow, p0, Lpad, C, idxW, cval)
                hin = vrow
            else:
                vpass_fast(ring, y, kv, 0, Lpad, vt, vtw[term], vrow, False)
                hin = vrow
            if policy != 0:
                _hrow(hin, acc, L, C, hti[term], htw[term], term > 0, scratch, policy)
            elif combine == COMBINE_SUM:
                hpass_exact(hin, acc, L, C, hti[term], htw[term], term > 0)
            else:
                hpass_exact(hin, acc, L, C, hti[term], htw[term], False)
                _combine_term(sums, tmp, acc, L, rule, dcode, combine, term == 0)
        if combine == COMBINE_SUM or policy != 0:
            store_row(dst[b, y], p0, acc, L, rule, dcode)
        else:
            _finish_terms(dst[b, y], p0, sums, L, dcode, combine)


@njit(cache=True, nogil=True, _nrt=False)
def _combine_term(sums, tmp, acc, n, rule, dcode, combine, first):
    """Store a term in the output dtype and add it (or its square) to ``sums`` in it.

    Integers wrap (unsigned views add the same bits); floats round after every
    operation, as NumPy's in-place ufuncs do.
    """
    store_row(tmp, 0, acc, n, rule, dcode)
    if dcode == 8:
        _combine(reinterpret(sums, np.float32), reinterpret(tmp, np.float32), n, combine, first)
    elif dcode == 9:
        _combine(reinterpret(sums, np.float64), reinterpret(tmp, np.float64), n, combine, first)
    elif dcode == 0 or dcode == 1 or dcode == 10:
        _combine(sums, tmp, n, combine, first)
    elif dcode == 2 or dcode == 3:
        _combine(reinterpret(sums, np.uint16), reinterpret(tmp, np.uint16), n, combine, first)
    elif dcode == 4 or dcode == 5:
        _combine(reinterpret(sums, np.uint32), reinterpret(tmp, np.uint32), n, combine, first)
    else:
        _combine(reinterpret(sums, np.uint64), reinterpret(tmp, np.uint64), n, combine, first)


@njit(cache=True, nogil=True, inline="always")
def _combine(sums, term, n, combine, first):
    if combine == COMBINE_ADD_DST:
        if first:
            for i in range(n):
                sums[i] = term[i]
        else:
            for i in range(n):
                sums[i] = sums[i] + term[i]
    elif first:
        for i in range(n):
            sums[i] = term[i] * term[i]
    else:
        for i in range(n):
            sums[i] = sums[i] + term[i] * term[i]


@njit(cache=True, nogil=True, _nrt=False)
def _finish_terms(raw, p0, sums, n, dcode, combine):
    """The combined terms into the output row (``sqrt`` for ``COMBINE_HYPOT_DST``)."""
    if dcode == 8:
        _finish_floats(
            reinterpret(raw, np.float32)[p0 : p0 + n], reinterpret(sums, np.float32), n, combine
        )
    elif dcode == 9:
        _finish_floats(
            reinterpret(raw, np.float64)[p0 : p0 + n], reinterpret(sums, np.float64), n, combine
        )
    else:
        _finish_ints(raw, p0, sums, n, dcode)


@njit(cache=True, nogil=True, inline="always")
def _finish_floats(out, s, n, combine):
    if combine == COMBINE_ADD_DST:
        for i in range(n):
            out[i] = s[i]
    else:
        for i in range(n):
            out[i] = np.sqrt(s[i])


@njit(cache=True, nogil=True, _nrt=False)
def _finish_ints(raw, p0, sums, n, dcode):
    # Only sums reach here: the square root is fused for float outputs only.
    if dcode == 0 or dcode == 1 or dcode == 10:
        _copy_ints(raw[p0 : p0 + n], sums, n)
    elif dcode == 2 or dcode == 3:
        _copy_ints(reinterpret(raw, np.uint16)[p0 : p0 + n], reinterpret(sums, np.uint16), n)
    elif dcode == 4 or dcode == 5:
        _copy_ints(reinterpret(raw, np.uint32)[p0 : p0 + n], reinterpret(sums, np.uint32), n)
    else:
        _copy_ints(reinterpret(raw, np.uint64)[p0 : p0 + n], reinterpret(sums, np.uint64), n)


@njit(cache=True, nogil=True, inline="always")
def _copy_ints(out, s, n):
    for i in range(n):
        out[i] = s[i]


# The entry points: one compiled (and cached) specialisation per policy, order
# and work dtype.


@njit(cache=True, nogil=True)
def sweep_exact_hv(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links):
    _hv(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links, 0)


@njit(cache=True, nogil=True)
def sweep_exact_vh(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links):
    _vh(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, 0)


@njit(cache=True, nogil=True)
def sweep_fast_hv(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links):
    _hv(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links, 1)


@njit(cache=True, nogil=True)
def sweep_fast_vh(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, links):
    _vh(t0, t1, src, dst, gi, idxH, idxW, hti, htw, vti, vtw, fl, 1)
