"""Numba kernels of the depthwise convolution: forward, gradient of the input, of the weight.

One set of kernels serves every dimensionality.  A channels-last tensor is
seen as ``(N, D, H, W, L)``: ``N`` images of ``D x H x W`` pixels with ``L``
lanes (channels) each, flat and C-contiguous; 1-D and 2-D are ``D = 1``
(and ``H = 1``), where the loops over a kernel extent of 1 cost nothing.
(Contiguous ``NCHW`` tensors are transposed to this order by the caller:
per-plane rows of 7-28 pixels are too short to vectorise well, while the
channels give every layer an inner loop of ``W x C`` values.)

The innermost loops run over contiguous runs of ``T`` pixels x ``L`` lanes,
each tap's weights tiled ``T`` pixels wide (``T * L >= 256``), so that a short
channel vector still makes a long loop.  Unsigned indices in the hot loops
(signed wraparound checks stop LLVM from vectorising) and only fused
multiply-add contraction (``fastmath={"contract"}``: no reassociation, so
every sum is taken in the order written here whatever the vector width).

``geom`` holds the geometry as int64: ``N, D, H, W, L, Do, Ho, Wo, kd, kh, kw,
sd, sh, sw, dd, dh, dw, pd, ph, pw, T`` (``p*``: zero padding before the first
pixel of each axis, maybe negative; the output size says where the padding
after ends).  Weights ``wt`` are flat ``(kd * kh * kw, T, L)``.

Two loop structures, chosen by the caller from the row length (measured):

* ``correlate_rows`` / ``weight_tasks`` go output row by output row, reading
  the input in place; each tap's valid columns come from ``_spans`` (computed
  once per call), and the columns where a whole kernel row lies inside take
  its taps three (or two) per pass;
* ``correlate_blocks`` / ``weight_blocks`` first copy a block of input rows,
  zero-padded, into a buffer; with stride 1 each tap is then one flat pass
  over the whole block on the buffer's row pitch -- the few columns between
  rows are computed and dropped -- so that images of 4^2-14^2 pixels cost a
  handful of long loops instead of a few short ones per row.

``scatter_rows`` (the gradient of the input for strides above 1) goes row by
row.  Why the loops stop at three taps per pass and do not keep several
outputs' partial sums in registers as oneDNN does: Numba gives LLVM no
``noalias`` on arrays, so every loop carries runtime overlap checks, and
LLVM's vectoriser gives up beyond eight of them (about seven memory streams);
a four-output register block left the loop scalar.

Each kernel is ``nogil`` and takes a task range first, ``(start, stop, ...)``,
for :func:`sepconv._engine.parallel_for`.  A task computes the same
values whichever thread runs it, so results never depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "correlate_blocks",
    "correlate_rows",
    "scatter_rows",
    "weight_blocks",
    "weight_tasks",
]

# Contraction to fused multiply-adds only (the engine's rule): no reassociation.
_FM = {"contract"}


@njit(cache=True, inline="always")
def _span(size, out, s, stride):
    """Outputs ``o`` in ``[lo, hi)`` whose input ``o * stride + s`` lies in ``[0, size)``."""
    lo = max(0, -((s) // stride))
    hi = min(out, (size - 1 - s) // stride + 1)
    return lo, max(lo, hi)


@njit(cache=True)
def _spans(w, wo, kw, sw, dw, pw):
    """Per tap ``j``, ``[lo, hi)`` of the outputs reading inside the row; then the columns
    where all ``kw`` taps do.  Computed once per call: the divisions stay out of the rows."""
    spans = np.empty(2 * kw + 2, np.int64)
    for j in range(kw):
        spans[2 * j], spans[2 * j + 1] = _span(w, wo, j * dw - pw, sw)
    spans[2 * kw], spans[2 * kw + 1] = _span(w - (kw - 1) * dw, wo, -pw, sw)
    return spans


@njit(fastmath=_FM, cache=True, inline="always")
def _axpy(b, bo, x, xo, w, wo, n):
    """``b[bo + e] += x[xo + e] * w[wo + e]`` for ``e < n``."""
    bo, xo, wo = np.uint64(bo), np.uint64(xo), np.uint64(wo)
    for e in range(np.uint64(n)):
        b[bo + e] += x[xo + e] * w[wo + e]


@njit(fastmath=_FM, cache=True, inline="always")
def _axpy2(b, bo, x, xo, xs, w, wo, ws, n):
    """Two taps at once (``x`` and ``w`` steps ``xs``, ``ws``)."""
    bo, xs, ws = np.uint64(bo), np.uint64(xs), np.uint64(ws)
    x0, w0 = np.uint64(xo), np.uint64(wo)
    x1, w1 = x0 + xs, w0 + ws
    for e in range(np.uint64(n)):
        b[bo + e] = b[bo + e] + x[x0 + e] * w[w0 + e] + x[x1 + e] * w[w1 + e]


@njit(fastmath=_FM, cache=True, inline="always")
def _axpy3(b, bo, x, xo, xs, w, wo, ws, n):
    """Three taps at once (``x`` and ``w`` steps ``xs``, ``ws``).

    Seven streams: the most for which LLVM still versions the loop on its
    runtime overlap checks (eight comparisons); a fourth tap, or several
    outputs sharing their input loads, leaves the loop scalar.
    """
    bo, xs, ws = np.uint64(bo), np.uint64(xs), np.uint64(ws)
    x0, w0 = np.uint64(xo), np.uint64(wo)
    x1, w1 = x0 + xs, w0 + ws
    x2, w2 = x1 + xs, w1 + ws
    for e in range(np.uint64(n)):
        b[bo + e] = (
            b[bo + e] + x[x0 + e] * w[w0 + e] + x[x1 + e] * w[w1 + e] + x[x2 + e] * w[w2 + e]
        )


@njit(fastmath=_FM, cache=True)
def _pass(y, yo, x, xo, xs, wt, wo, ws, n, taps):
    """``taps`` (1-3) consecutive taps of a kernel row over ``n`` contiguous values."""
    if taps == 3:
        _axpy3(y, yo, x, xo, xs, wt, wo, ws, n)
    elif taps == 2:
        _axpy2(y, yo, x, xo, xs, wt, wo, ws, n)
    else:
        _axpy(y, yo, x, xo, wt, wo, n)


@njit(cache=True, inline="always")
def _group(rest):
    """Taps of the next fused pass when ``rest`` remain: threes, and four as two pairs."""
    if rest == 4 or rest == 2:
        return 2
    return 3 if rest >= 3 else 1


@njit(fastmath=_FM, cache=True, inline="always")
def _weight_pair(acc, ao, aw, x, xo, xs, g, go, n):
    """Two taps' accumulators: ``acc[ao + k * aw + e] += g[go + e] * x[xo + k * xs + e]``."""
    a0, g0 = np.uint64(ao), np.uint64(go)
    a1 = a0 + np.uint64(aw)
    x0 = np.uint64(xo)
    x1 = x0 + np.uint64(xs)
    for e in range(np.uint64(n)):
        v = g[g0 + e]
        acc[a0 + e] = acc[a0 + e] + v * x[x0 + e]
        acc[a1 + e] = acc[a1 + e] + v * x[x1 + e]


@njit(nogil=True, fastmath=_FM, cache=True)
def scatter_rows(start, stop, gy, wt, gx, geom):
    """Input rows ``start .. stop`` of the gradient of the input, for any stride.

    ``gx[n, id, ih, iw] = sum gy[n, od, oh, ow] * w[a, i, j]`` over the taps
    and outputs with ``id = od * sd + a * dd - pd`` (and so on per axis): the
    transposed correlation, each input row gathering from the output rows
    that read it, so rows are independent.  ``geom`` is the forward geometry.
    """
    _, d_, h_, w_, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    spans = _spans(w_, wo_, kw, sw, dw, pw)
    row = w_ * lanes
    tl = tile * lanes
    n, id_, ih = start // (d_ * h_), (start // h_) % d_, start % h_
    for r in range(start, stop):
        xo = r * row
        gx[xo : xo + row] = 0
        for a in range(kd):
            t = id_ + pd - a * dd
            if t < 0 or t % sd != 0 or t // sd >= do_:
                continue
            for i in range(kh):
                u = ih + ph - i * dh
                if u < 0 or u % sh != 0 or u // sh >= ho_:
                    continue
                yo = ((n * do_ + t // sd) * ho_ + u // sh) * wo_ * lanes
                wo = (a * kh + i) * kw * tl
                for j in range(kw):
                    s = j * dw - pw
                    lo, hi = spans[2 * j], spans[2 * j + 1]
                    if sw == 1:
                        for ow in range(lo, hi, tile):
                            run = min(tile, hi - ow)
                            xb = xo + (ow + s) * lanes
                            _axpy(gx, xb, gy, yo + ow * lanes, wt, wo + j * tl, run * lanes)
                    else:
                        for ow in range(lo, hi):
                            xb = xo + (ow * sw + s) * lanes
                            _axpy(gx, xb, gy, yo + ow * lanes, wt, wo + j * tl, lanes)
        ih += 1
        if ih == h_:
            ih = 0
            id_ += 1
            if id_ == d_:
                id_ = 0
                n += 1


@njit(nogil=True, cache=True)
def _fill(buf, x, geom, n, od, r0, rin, used, wp):
    """The zero-padded input rows that output rows ``r0 ...`` of plane ``(n, od)`` read.

    ``buf`` is ``(kd, rin, wp, L)``: plane ``a`` holds input plane
    ``od * sd + a * dd - pd``, row ``t`` input row ``r0 * sh - ph + t``, column
    ``c`` input column ``c - pw``, zero outside the input.  Only the first
    ``used`` rows of each plane are filled (a last, shorter block).
    """
    _, d_, h_, w_, lanes = geom[0:5]
    kd, sd, sh, dd, pd, ph, pw = geom[8], geom[11], geom[12], geom[14], geom[17], geom[18], geom[19]
    row = wp * lanes
    c0 = min(wp, max(0, pw))  # buffer columns c0 .. c1 hold input columns
    c1 = max(c0, min(wp, w_ + pw))
    for a in range(kd):
        id_ = od * sd + a * dd - pd
        for t in range(used):
            ih = r0 * sh - ph + t
            bo = (a * rin + t) * row
            if id_ < 0 or id_ >= d_ or ih < 0 or ih >= h_ or c1 == c0:
                buf[bo : bo + row] = 0
                continue
            buf[bo : bo + c0 * lanes] = 0
            xo = ((n * d_ + id_) * h_ + ih) * w_ * lanes + (c0 - pw) * lanes
            buf[bo + c0 * lanes : bo + c1 * lanes] = x[xo : xo + (c1 - c0) * lanes]
            buf[bo + c1 * lanes : bo + row] = 0


@njit(nogil=True, cache=True)
def _geometry(geom, rows):
    """Padded width, input rows per block, blocks per plane and the stride-1 (flat) flag."""
    wo_, kh, kw, sh, sw, dh, dw = geom[7], geom[9], geom[10], geom[12], geom[13], geom[15], geom[16]
    wp = (wo_ - 1) * sw + (kw - 1) * dw + 1
    rin = (rows - 1) * sh + (kh - 1) * dh + 1
    return wp, rin, (geom[6] + rows - 1) // rows, sh == 1 and sw == 1


@njit(nogil=True, fastmath=_FM, cache=True)
def correlate_blocks(start, stop, x, wt, bias, y, geom, rows, planes):
    """Tasks ``start .. stop`` of the depthwise correlation ``y = x * w (+ bias)``.

    Task ``t`` is the block of ``rows`` output rows ``(t % B) * rows ...`` of
    output plane ``t // B`` (``(n, od)``, ``B`` blocks per plane), or, for
    ``planes > 1``, the whole planes ``t * planes ...`` (:func:`_task`).  A block's input
    rows are first copied, zero-padded, into a buffer (:func:`_fill`), so no
    tap needs a bounds check.  With stride 1 the block's outputs are then
    computed on the buffer's row pitch ``wp``: each tap (three at a time) is
    one flat pass over the whole block -- the ``wp - Wo`` columns between rows
    are computed and dropped -- and the valid columns are copied out.  With
    a stride, row by row.  Each task writes its outputs whole, so tasks may be
    split between threads in any way.  With flipped weights and padding
    ``d * (k - 1) - p`` this is also the gradient of the input of a stride-1
    correlation.
    """
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    wp, rin, blocks, flat = _geometry(geom, rows)
    buf = np.empty(kd * rin * wp * lanes, x.dtype)
    out = np.empty(rows * wp * lanes if flat else 0, x.dtype)
    has_bias = bias.shape[0] != 0
    for t in range(start, stop):
        first, count, r0, r = _task(t, blocks, rows, ho_, planes, geom[0] * do_)
        for plane in range(first, first + count):
            _correlate_block(buf, out, x, wt, bias, has_bias, y, geom, plane, r0, r, rin, wp, flat)


@njit(nogil=True, fastmath=_FM, cache=True)
def _correlate_block(buf, out, x, wt, bias, has_bias, y, geom, plane, r0, r, rin, wp, flat):
    """Output rows ``r0 .. r0 + r`` of one plane (see :func:`correlate_blocks`)."""
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    tl = tile * lanes
    _fill(buf, x, geom, plane // do_, plane % do_, r0, rin, (r - 1) * sh + (kh - 1) * dh + 1, wp)
    y0 = (plane * ho_ + r0) * wo_ * lanes
    if flat:
        m = (r - 1) * wp + wo_  # outputs on the buffer's pitch
        _start(out, 0, m, lanes, bias, has_bias)
        for a in range(kd):
            for i in range(kh):
                base = (a * rin + i * dh) * wp * lanes
                _taps(out, 0, buf, base, wt, (a * kh + i) * kw * tl, m, lanes, kw, 1, dw, tile)
        for q in range(r):
            yo, oo = y0 + q * wo_ * lanes, q * wp * lanes
            y[yo : yo + wo_ * lanes] = out[oo : oo + wo_ * lanes]
        return
    for q in range(r):
        yo = y0 + q * wo_ * lanes
        _start(y, yo, wo_, lanes, bias, has_bias)
        for a in range(kd):
            for i in range(kh):
                base = (a * rin + q * sh + i * dh) * wp * lanes
                _taps(y, yo, buf, base, wt, (a * kh + i) * kw * tl, wo_, lanes, kw, sw, dw, tile)


@njit(nogil=True, cache=True)
def _start(b, bo, pixels, lanes, bias, has_bias):
    """``pixels`` outputs from ``bo`` set to the bias (one value per lane) or zero."""
    if not has_bias:
        b[bo : bo + pixels * lanes] = 0
        return
    for p in range(pixels):
        b[bo + p * lanes : bo + (p + 1) * lanes] = bias


@njit(fastmath=_FM, cache=True)
def _taps(b, bo, buf, base, wt, wo, pixels, lanes, kw, sw, dw, tile):
    """Add one kernel row's ``kw`` taps to ``pixels`` outputs from ``bo``, reading ``buf``.

    Output ``p`` reads ``buf[base + (p * sw + j * dw) * L]`` for tap ``j``.
    Stride 1: passes over runs of ``tile`` pixels (the weights' tiling);
    otherwise pixel by pixel.  Taps go three (or two) per pass.
    """
    tl = tile * lanes
    xs = dw * lanes
    j = 0
    while j < kw:
        taps = _group(kw - j)
        if sw == 1:
            for p in range(0, pixels, tile):
                run = min(tile, pixels - p)
                xo = base + (p + j * dw) * lanes
                _pass(b, bo + p * lanes, buf, xo, xs, wt, wo + j * tl, tl, run * lanes, taps)
        else:
            for p in range(pixels):
                xo = base + (p * sw + j * dw) * lanes
                _pass(b, bo + p * lanes, buf, xo, xs, wt, wo + j * tl, tl, lanes, taps)
        j += taps


@njit(nogil=True, cache=True)
def _finite(buf, kd, rin, used, row):
    """Whether the filled rows (``used`` of each of ``kd`` planes) of ``buf`` are finite."""
    bad = 0
    for a in range(kd):
        start = np.uint64(a * rin * row)
        for e in range(np.uint64(used * row)):
            v = buf[start + e]
            bad |= v - v != 0  # NaN for inf and NaN
    return bad == 0


@njit(nogil=True, fastmath=_FM, cache=True)
def weight_blocks(start, stop, x, gy, part, geom, rows, planes):
    """Partial gradients of the weight for tasks ``start .. stop``, into ``part`` (float64).

    Tasks are :func:`correlate_blocks`' blocks of output rows; task ``t``
    writes ``part[t, tap, l] = sum gy[o, l] * x[o * stride + tap * dilation - pad, l]``
    over its outputs ``o``.  The sums run in an accumulator of one tile per
    tap (``T * L`` values, in L1) that the block's rows stream past, two taps
    per pass sharing the gradient's loads; each tile is then summed into
    ``part`` in float64.  The caller adds the tasks up in task order, so the
    result does not depend on the threads.  With stride 1 and a finite input
    the block is one flat pass per tap pair over the buffer's row pitch (the
    gradient copied with zeros between rows); otherwise row by row.
    """
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    wp, rin, blocks, flat = _geometry(geom, rows)
    taps = kd * kh * kw
    tl = tile * lanes
    buf = np.empty(kd * rin * wp * lanes, x.dtype)
    gbuf = np.zeros(rows * wp * lanes if flat else 0, x.dtype)
    acc = np.empty(taps * tl, x.dtype)
    for t in range(start, stop):
        first, count, r0, r = _task(t, blocks, rows, ho_, planes, geom[0] * do_)
        acc[:] = 0
        for plane in range(first, first + count):
            _weight_block(buf, gbuf, acc, x, gy, geom, plane, r0, r, rin, wp, flat)
        po = t * taps * lanes
        for tap in range(taps):
            for lane in range(lanes):
                total = 0.0
                for k in range(tile):
                    total += acc[tap * tl + k * lanes + lane]
                part[po + tap * lanes + lane] = total


@njit(nogil=True, cache=True)
def _task(t, blocks, rows, ho, planes, total):
    """Task ``t``'s first plane, its number of planes, and its output rows ``r0 .. r0 + r``."""
    if planes > 1:
        first = t * planes
        return first, min(planes, total - first), 0, ho
    r0 = (t % blocks) * rows
    return t // blocks, 1, r0, min(rows, ho - r0)


@njit(nogil=True, fastmath=_FM, cache=True)
def _weight_block(buf, gbuf, acc, x, gy, geom, plane, r0, r, rin, wp, flat):
    """One block's terms of the weight gradient, added to ``acc`` (see :func:`weight_blocks`)."""
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    tl = tile * lanes
    used = (r - 1) * sh + (kh - 1) * dh + 1
    _fill(buf, x, geom, plane // do_, plane % do_, r0, rin, used, wp)
    g0 = (plane * ho_ + r0) * wo_ * lanes
    # Flat passes also multiply the zeros between rows by input values: exact
    # (0 * v = 0) for a finite input only.
    if flat and _finite(buf, kd, rin, used, wp * lanes):
        for q in range(r):
            gb, go = q * wp * lanes, g0 + q * wo_ * lanes
            gbuf[gb : gb + wo_ * lanes] = gy[go : go + wo_ * lanes]
        m = (r - 1) * wp + wo_
        for a in range(kd):
            for i in range(kh):
                base = (a * rin + i * dh) * wp * lanes
                ao = (a * kh + i) * kw * tl
                _weight_taps(acc, ao, buf, base, gbuf, 0, m, lanes, kw, 1, dw, tile)
    else:
        for q in range(r):
            go = g0 + q * wo_ * lanes
            for a in range(kd):
                for i in range(kh):
                    base = (a * rin + q * sh + i * dh) * wp * lanes
                    ao = (a * kh + i) * kw * tl
                    _weight_taps(acc, ao, buf, base, gy, go, wo_, lanes, kw, sw, dw, tile)


@njit(fastmath=_FM, cache=True)
def _weight_taps(acc, ao, buf, base, g, go, pixels, lanes, kw, sw, dw, tile):
    """One kernel row's taps: ``acc[tap] += g[p] * buf[base + (p * sw + j * dw) * L]``."""
    tl = tile * lanes
    xs = dw * lanes
    for j in range(0, kw, 2):
        a = ao + j * tl
        pair = j + 1 < kw
        if sw == 1:
            for p in range(0, pixels, tile):
                run = min(tile, pixels - p)
                xo = base + (p + j * dw) * lanes
                if pair:
                    _weight_pair(acc, a, tl, buf, xo, xs, g, go + p * lanes, run * lanes)
                else:
                    _axpy(acc, a, buf, xo, g, go + p * lanes, run * lanes)
        else:
            for p in range(pixels):
                xo = base + (p * sw + j * dw) * lanes
                if pair:
                    _weight_pair(acc, a, tl, buf, xo, xs, g, go + p * lanes, lanes)
                else:
                    _axpy(acc, a, buf, xo, g, go + p * lanes, lanes)


@njit(fastmath=_FM, cache=True)
def _tap(y, yo, x, xo, wt, wo, lanes, sw, s, tile, a, b):
    """Add one tap (weights at ``wt[wo]``, input column ``ow * sw + s``) to outputs ``a .. b``."""
    if sw == 1:
        for ow in range(a, b, tile):
            run = min(tile, b - ow)
            _axpy(y, yo + ow * lanes, x, xo + (ow + s) * lanes, wt, wo, run * lanes)
    else:
        for ow in range(a, b):
            _axpy(y, yo + ow * lanes, x, xo + (ow * sw + s) * lanes, wt, wo, lanes)


@njit(fastmath=_FM, cache=True)
def _kernel_row(y, yo, x, xo, wt, wo, spans, lanes, kw, sw, dw, pw, tile):
    """Add one kernel row's ``kw`` taps, input row at ``xo``, to the output row at ``yo``.

    The border columns of each tap go tap by tap; the columns where every
    tap lies inside the input take the taps three (then two) at a time in one
    pass, over runs of ``tile`` pixels (stride 1) or pixel by pixel.
    """
    tl = tile * lanes
    lo_all, hi_all = spans[2 * kw], spans[2 * kw + 1]
    for j in range(kw):
        s = j * dw - pw
        lo, hi = spans[2 * j], spans[2 * j + 1]
        _tap(y, yo, x, xo, wt, wo + j * tl, lanes, sw, s, tile, lo, min(hi, lo_all))
        _tap(y, yo, x, xo, wt, wo + j * tl, lanes, sw, s, tile, max(lo, hi_all), hi)
    xs = dw * lanes
    j = 0
    while j < kw:
        taps = _group(kw - j)
        w0 = wo + j * tl
        if sw == 1:
            for ow in range(lo_all, hi_all, tile):
                run = min(tile, hi_all - ow)
                xb = xo + (ow + j * dw - pw) * lanes
                _pass(y, yo + ow * lanes, x, xb, xs, wt, w0, tl, run * lanes, taps)
        else:
            for ow in range(lo_all, hi_all):
                xb = xo + (ow * sw + j * dw - pw) * lanes
                _pass(y, yo + ow * lanes, x, xb, xs, wt, w0, tl, lanes, taps)
        j += taps


@njit(fastmath=_FM, cache=True)
def _weight_row(acc, ao, x, xo, gy, go, spans, lanes, kw, sw, dw, pw, tile):
    """One kernel row's taps of the weight gradient over one output row.

    Border columns tap by tap, the columns where every tap lies inside in
    passes of two taps sharing the gradient's loads (seven streams, as for
    :func:`_axpy3`).
    """
    tl = tile * lanes
    lo_all, hi_all = spans[2 * kw], spans[2 * kw + 1]
    for j in range(kw):
        s = j * dw - pw
        lo, hi = spans[2 * j], spans[2 * j + 1]
        a = ao + j * tl
        _weight_tap(acc, a, x, xo, gy, go, lanes, sw, s, tile, lo, min(hi, lo_all))
        _weight_tap(acc, a, x, xo, gy, go, lanes, sw, s, tile, max(lo, hi_all), hi)
    xs = dw * lanes
    for j in range(0, kw, 2):
        a = ao + j * tl
        if j + 1 == kw:
            _weight_tap(acc, a, x, xo, gy, go, lanes, sw, j * dw - pw, tile, lo_all, hi_all)
        elif sw == 1:
            for ow in range(lo_all, hi_all, tile):
                run = min(tile, hi_all - ow)
                xb = xo + (ow + j * dw - pw) * lanes
                _weight_pair(acc, a, tl, x, xb, xs, gy, go + ow * lanes, run * lanes)
        else:
            for ow in range(lo_all, hi_all):
                xb = xo + (ow * sw + j * dw - pw) * lanes
                _weight_pair(acc, a, tl, x, xb, xs, gy, go + ow * lanes, lanes)


@njit(fastmath=_FM, cache=True)
def _weight_tap(acc, ao, x, xo, gy, go, lanes, sw, s, tile, a, b):
    """``acc[ao ...] += gy[ow] * x[ow * sw + s]`` over outputs ``a .. b`` (one tap's tile)."""
    if sw == 1:
        for ow in range(a, b, tile):
            run = min(tile, b - ow)
            _axpy(acc, ao, x, xo + (ow + s) * lanes, gy, go + ow * lanes, run * lanes)
    else:
        for ow in range(a, b):
            _axpy(acc, ao, x, xo + (ow * sw + s) * lanes, gy, go + ow * lanes, lanes)


@njit(nogil=True, fastmath=_FM, cache=True)
def correlate_rows(start, stop, x, wt, bias, y, geom):
    """Output rows ``start .. stop`` of the depthwise correlation ``y = x * w (+ bias)``.

    Row ``r`` is output pixel row ``(n, od, oh)`` in C order; it is written
    whole (bias or zeros first), so rows may be split between threads in any
    way.  ``bias`` holds one value per lane, or none.  With flipped weights
    and padding ``d * (k - 1) - p`` this is also the gradient of the input of
    a stride-1 correlation.
    """
    _, d_, h_, w_, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    spans = _spans(w_, wo_, kw, sw, dw, pw)
    row = wo_ * lanes
    tl = tile * lanes
    n, od, oh = start // (do_ * ho_), (start // ho_) % do_, start % ho_
    for r in range(start, stop):
        yo = r * row
        if bias.shape[0] == 0:
            y[yo : yo + row] = 0
        else:
            for ow in range(wo_):
                y[yo + ow * lanes : yo + (ow + 1) * lanes] = bias
        for a in range(kd):
            id_ = od * sd + a * dd - pd
            if id_ < 0 or id_ >= d_:
                continue
            for i in range(kh):
                ih = oh * sh + i * dh - ph
                if ih < 0 or ih >= h_:
                    continue
                xo = ((n * d_ + id_) * h_ + ih) * w_ * lanes
                wo = (a * kh + i) * kw * tl
                _kernel_row(y, yo, x, xo, wt, wo, spans, lanes, kw, sw, dw, pw, tile)
        oh += 1
        if oh == ho_:
            oh = 0
            od += 1
            if od == do_:
                od = 0
                n += 1


@njit(nogil=True, fastmath=_FM, cache=True)
def weight_tasks(start, stop, x, gy, part, geom, rows):
    """Partial gradients of the weight for tasks ``start .. stop``, into ``part`` (float64).

    Task ``t`` covers output rows ``s * rows ...`` (``S`` tasks per image,
    ``s = t % S``) of image ``n = t // S`` and writes
    ``part[t, tap, l] = sum gy[n, o, l] * x[n, o * stride + tap * dilation - pad, l]``
    over its outputs ``o``.  The sums run in an accumulator of one tile
    (``T * L`` values) per tap that stays in L1 while the task's rows stream
    past; each tile is then summed into ``part`` in float64.  The caller adds
    the tasks up in task order.
    """
    _, d_, h_, w_, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, tile = geom[8:21]
    spans = _spans(w_, wo_, kw, sw, dw, pw)
    taps = kd * kh * kw
    out_rows = do_ * ho_
    per_image = (out_rows + rows - 1) // rows
    tl = tile * lanes
    acc = np.empty(taps * tl, x.dtype)
    for t in range(start, stop):
        n = t // per_image
        first = (t % per_image) * rows
        acc[:] = 0
        od, oh = first // ho_, first % ho_
        for _ in range(first, min(first + rows, out_rows)):
            go = ((n * do_ + od) * ho_ + oh) * wo_ * lanes
            for a in range(kd):
                id_ = od * sd + a * dd - pd
                if id_ < 0 or id_ >= d_:
                    continue
                for i in range(kh):
                    ih = oh * sh + i * dh - ph
                    if ih < 0 or ih >= h_:
                        continue
                    xo = ((n * d_ + id_) * h_ + ih) * w_ * lanes
                    ao = (a * kh + i) * kw * tl
                    _weight_row(acc, ao, x, xo, gy, go, spans, lanes, kw, sw, dw, pw, tile)
            oh += 1
            if oh == ho_:
                oh = 0
                od += 1
        po = t * taps * lanes
        for tap in range(taps):
            for lane in range(lanes):
                total = 0.0
                for k in range(tile):
                    total += acc[tap * tl + k * lanes + lane]
                part[po + tap * lanes + lane] = total
