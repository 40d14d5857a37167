"""Numba kernels of the depthwise convolution: forward, gradient of the input, of the weight.

One set of kernels serves every dimensionality.  A channels-last tensor is
seen as ``(N, D, H, W, L)``: ``N`` images of ``D x H x W`` pixels with ``L``
lanes (channels) each, flat and C-contiguous; 1-D and 2-D are ``D = 1``
(and ``H = 1``), where the loops over a kernel extent of 1 cost nothing.
(Contiguous ``NCHW`` tensors are transposed to this order by the caller:
per-plane rows of 7-28 pixels are too short to vectorise well, while the
channels give every layer an inner loop of ``C`` values.)

``geom`` holds the geometry as int64: ``N, D, H, W, L, Do, Ho, Wo, kd, kh, kw,
sd, sh, sw, dd, dh, dw, pd, ph, pw, T`` (``p*``: zero padding before the first
pixel of each axis, maybe negative; the output size says where the padding
after ends).  Weights ``wt`` are flat ``(kd * kh * kw, T, L)``; the block
kernels take them untiled (``T = 1``).

``correlate_blocks`` (forward, and the gradient of the input for stride 1)
and ``weight_blocks`` (gradient of the weight) work on blocks of output
rows: the block's input rows are first copied, zero-padded, into a buffer
(:func:`_fill`), so that no tap needs a bounds check, and with stride 1 the
block is one flat run of outputs on the buffer's row pitch (the few columns
between rows are computed and dropped).  The run goes :data:`PIXELS` output
pixels at a time; for each group and lane chunk (up to :data:`LANES`
channels) a pass takes a whole kernel row (up to :data:`TAPS` taps), and
the partial sums stay in a small accumulator on the stack (:func:`_stack`)
until every kernel row is in.  In a pass, each tap's weights are loaded
once for the group's pixels and, at stride and dilation 1, each input
value once for every (pixel, tap) pair that reads it.

Why the stack: Numba gives LLVM no ``noalias`` on arrays, so a loop that
writes one array and reads others carries runtime overlap checks, and
LLVM's vectoriser gives up beyond eight of them (about seven memory
streams) -- the earlier kernels, writing the output array in place, took
three taps per pass and reloaded the weights for every pixel.  A stack
array cannot overlap an argument, so a pass reads its dozens of streams
with no checks.  (Numba turns LLVM's SLP vectoriser off, so a loop over a
fixed block of lanes would stay scalar: the vectorised loop is the one over
the lane chunk, with the pixels and taps unrolled inside it.)  On the
project's machine (AMD EPYC, Zen 5, AVX-512) a five-tap pass compiles to a
loop of 40 ``zmm`` fused multiply-adds (``vfmadd231ps``) per 16 lanes, with
12 input, 5 weight and 8 accumulator loads and 8 stores: 55-70 GMAC/s on
one core with its data in L1 (float32); the whole kernels, with the buffer
copies and the stores, 20-40 GMAC/s where the earlier ones reached 10-22.

Only fused multiply-add contraction (``fastmath={"contract"}``: no
reassociation), so every sum is taken in the order written here whatever
the vector width: a pixel's taps in order (kernel rows, then columns), the
gradient of the weight's terms pixel by pixel within a block.

``scatter_rows`` (the gradient of the input for strides above 1) goes row by
row, tap by tap, on the output gradient in place.

Each kernel is ``nogil`` and takes a task range first, ``(start, stop, ...)``,
for :func:`sepconv._engine.parallel_for`.  A task computes the same
values whichever thread runs it, so results never depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "LANES",
    "PIXELS",
    "SUM_TAPS",
    "TAPS",
    "VECTOR",
    "correlate_blocks",
    "scatter_rows",
    "weight_blocks",
]

# Contraction to fused multiply-adds only (the engine's rule): no reassociation.
_FM = {"contract"}
# Output pixels of one pass: each tap's weights are loaded once for all of them.
PIXELS = 8
# Lanes (channels) of one pass: its stack accumulator holds PIXELS x LANES values.
LANES = 256
# Taps of one kernel row taken in one pass (wider rows go in several).
TAPS = 5
# Lanes of the widest vector (AVX-512, float32): the passes' loops run over whole ones.
VECTOR = 16
# Taps whose sums the weight gradient's stack accumulator holds at once (5 x 5).
SUM_TAPS = 25
# Sizes of the stack accumulators (literals for _stack): outputs, and the taps' sums.
_ACC = PIXELS * LANES
_SUMS = SUM_TAPS * LANES


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


@intrinsic
def _stack(typingctx, like, size):
    """A 1-D C array of ``size`` (a literal) values of ``like``'s dtype, on the stack.

    Its memory is an ``alloca`` in the entry block of the function that calls
    this (so it lives until that function returns -- never return it), which
    LLVM knows cannot overlap any argument: loops writing it and reading
    arrays need no runtime overlap checks.  Only for functions that keep it
    local (callees ``inline="always"``).  Its values start undefined.
    """
    if not isinstance(size, types.IntegerLiteral) or not isinstance(like, types.Array):
        return None
    count = size.literal_value
    array = types.Array(like.dtype, 1, "C")

    def codegen(context, builder, signature, args):
        value = context.get_value_type(like.dtype)
        data = cgutils.alloca_once(builder, value, size=count)
        data.align = 64
        intp = context.get_value_type(types.intp)
        itemsize = context.get_abi_sizeof(value)
        out = context.make_array(array)(context, builder)
        context.populate_array(
            out,
            data=data,
            shape=[ir.Constant(intp, count)],
            strides=[ir.Constant(intp, itemsize)],
            itemsize=ir.Constant(intp, itemsize),
            meminfo=None,
        )
        return out._getvalue()

    return array(like, size), codegen


@njit(cache=True, inline="always")
def _whole(n):
    """``n`` rounded down to whole vectors (:data:`VECTOR`), known so to LLVM.

    A loop over a multiple of the vector width compiles with no scalar
    remainder loop: the unrolled passes' remainders had doubled the
    compilation time.  The lanes beyond go through :func:`_taps`.
    """
    return (np.uint64(n) // np.uint64(VECTOR)) * np.uint64(VECTOR)


@njit(fastmath=_FM, cache=True, inline="always")
def _pass(acc, ao, x, xo, ps, js, wt, wo, ws, n, pixels, taps):
    """``taps`` consecutive taps of a kernel row added to ``pixels`` outputs' accumulators.

    ``acc[ao + q * LANES + e] += sum_j x[xo + q * ps + j * js + e] * wt[wo + j * ws + e]``
    (taps ``j`` in order) for pixels ``q < pixels`` and lanes ``e < n``.  The
    loop over ``e`` is the vectorised one; ``pixels`` and ``taps`` are
    constants where this is inlined, so their loops unroll inside it: each
    tap's weights are loaded once for all pixels, and where ``js`` is ``ps``
    itself (stride and dilation 1) each input value once for every
    (pixel, tap) pair that reads it.
    """
    ao, xo, wo = np.uint64(ao), np.uint64(xo), np.uint64(wo)
    ps, js, ws = np.uint64(ps), np.uint64(js), np.uint64(ws)
    lanes = np.uint64(LANES)
    for e in range(_whole(n)):
        for q in range(np.uint64(pixels)):
            a, b = ao + q * lanes + e, xo + q * ps + e
            t = acc[a]
            for j in range(np.uint64(taps)):
                t += x[b + j * js] * wt[wo + j * ws + e]
            acc[a] = t


@njit(cache=True, inline="always")
def _taps_of(rest, shared):
    """Taps of the next pass when ``rest`` of a kernel row remain: 5, 3 or 1, or 1 unshared.

    Few sizes, each compiled as its own unrolled loop (compilation time); a
    pass of several taps pays where they share their input loads.
    """
    if not shared:
        return 1
    if rest >= 5:
        return 5
    return 3 if rest >= 3 else 1


@njit(fastmath=_FM, cache=True, inline="always")
def _row(acc, ao, x, xo, ps, wt, wo, ws, n, pixels, taps):
    """:func:`_pass` with ``taps`` (:func:`_taps_of`) a constant, the taps ``ps`` apart."""
    if taps == 5:
        _pass(acc, ao, x, xo, ps, ps, wt, wo, ws, n, pixels, 5)
    elif taps == 3:
        _pass(acc, ao, x, xo, ps, ps, wt, wo, ws, n, pixels, 3)
    else:
        _pass(acc, ao, x, xo, ps, ps, wt, wo, ws, n, pixels, 1)


@njit(fastmath=_FM, cache=True, inline="always")
def _weight_pass(s, so, g, go, gs, x, xo, ps, js, n, pixels, taps):
    """``taps`` consecutive taps' sums over ``pixels`` outputs.

    ``s[so + j * LANES + e] += g[go + q * gs + e] * x[xo + q * ps + j * js + e]``
    for pixels ``q`` in order, taps ``j``, lanes ``e < n`` (the vectorised
    loop).  As for
    :func:`_pass`, the loops over ``q`` and ``j`` unroll: each gradient value
    is loaded once for all taps and, where ``js`` is ``ps``, each input
    value once.
    """
    so, go, xo = np.uint64(so), np.uint64(go), np.uint64(xo)
    gs, ps, js = np.uint64(gs), np.uint64(ps), np.uint64(js)
    lanes = np.uint64(LANES)
    for e in range(_whole(n)):
        for j in range(np.uint64(taps)):
            a, b = so + j * lanes + e, xo + j * js + e
            t = s[a]
            for q in range(np.uint64(pixels)):
                t += g[go + q * gs + e] * x[b + q * ps]
            s[a] = t


@njit(fastmath=_FM, cache=True, inline="always")
def _weight_taps(s, so, g, go, x, xo, js, n, taps):
    """One output's terms, tap by tap (the outputs and lanes the passes leave)."""
    so, go, xo, lanes = np.uint64(so), np.uint64(go), np.uint64(xo), np.uint64(LANES)
    for j in range(np.uint64(taps)):
        xj, sj = xo + j * np.uint64(js), so + j * lanes
        for e in range(np.uint64(n)):
            s[sj + e] += g[go + e] * x[xj + e]


@njit(fastmath=_FM, cache=True, inline="always")
def _weight_row(s, so, g, go, gs, x, xo, ps, n, pixels, taps):
    """:func:`_weight_pass` with ``taps`` (:func:`_taps_of`) a constant, the taps ``ps`` apart."""
    if taps == 5:
        _weight_pass(s, so, g, go, gs, x, xo, ps, ps, n, pixels, 5)
    elif taps == 3:
        _weight_pass(s, so, g, go, gs, x, xo, ps, ps, n, pixels, 3)
    else:
        _weight_pass(s, so, g, go, gs, x, xo, ps, ps, n, pixels, 1)


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
        _zero(gx, xo, row)
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
    ``used`` rows of each plane are filled (a last, shorter block).  Returns
    whether the input values copied are all finite.
    """
    _, d_, h_, w_, lanes = geom[0:5]
    kd, sd, sh, dd, pd, ph, pw = geom[8], geom[11], geom[12], geom[14], geom[17], geom[18], geom[19]
    row = wp * lanes
    c0 = min(wp, max(0, pw))  # buffer columns c0 .. c1 hold input columns
    c1 = max(c0, min(wp, w_ + pw))
    bad = 0
    for a in range(kd):
        id_ = od * sd + a * dd - pd
        for t in range(used):
            ih = r0 * sh - ph + t
            bo = (a * rin + t) * row
            if id_ < 0 or id_ >= d_ or ih < 0 or ih >= h_ or c1 == c0:
                _zero(buf, bo, row)
                continue
            # Plain loops: a slice assignment here copied value by value.
            _zero(buf, bo, c0 * lanes)
            xo = ((n * d_ + id_) * h_ + ih) * w_ * lanes + (c0 - pw) * lanes
            bad |= _copy_check(buf, bo + c0 * lanes, x, xo, (c1 - c0) * lanes)
            _zero(buf, bo + c1 * lanes, row - c1 * lanes)
    return bad == 0


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
    ``planes > 1``, the whole planes ``t * planes ...`` (:func:`_task`).  A
    block's input rows are first copied, zero-padded, into a buffer
    (:func:`_fill`); with stride 1 its outputs are one run on the buffer's
    row pitch ``wp`` (the ``wp - Wo`` columns between rows computed and
    dropped), with a stride one run per row.  Each task writes its outputs
    whole, so tasks may be split between threads in any way.  Weights are
    untiled (``T = 1``).  With flipped weights and padding ``d * (k - 1) - p``
    this is also the gradient of the input of a stride-1 correlation.
    """
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd = geom[8]
    wp, rin, blocks, flat = _geometry(geom, rows)
    # Slack after the rows, zeros: a last group of outputs reads up to PIXELS pixels beyond.
    buf = np.zeros(kd * rin * wp * lanes + PIXELS * geom[13] * lanes, x.dtype)
    has_bias = bias.shape[0] != 0
    for t in range(start, stop):
        first, count, r0, r = _task(t, blocks, rows, ho_, planes, geom[0] * do_)
        for plane in range(first, first + count):
            _correlate_block(buf, x, wt, bias, has_bias, y, geom, plane, r0, r, rin, wp, flat)


@njit(nogil=True, fastmath=_FM, cache=True)
def _correlate_block(buf, x, wt, bias, has_bias, y, geom, plane, r0, r, rin, wp, flat):
    """Output rows ``r0 .. r0 + r`` of one plane (see :func:`correlate_blocks`)."""
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kh, sh, dh = geom[9], geom[12], geom[15]
    _fill(buf, x, geom, plane // do_, plane % do_, r0, rin, (r - 1) * sh + (kh - 1) * dh + 1, wp)
    y0 = (plane * ho_ + r0) * wo_ * lanes
    if flat:  # one run over the block on the buffer's pitch
        _run(buf, 0, wt, bias, has_bias, y, y0, geom, (r - 1) * wp + wo_, wp, rin, wp)
        return
    for q in range(r):
        base, yo = q * sh * wp * lanes, y0 + q * wo_ * lanes
        _run(buf, base, wt, bias, has_bias, y, yo, geom, wo_, wo_, rin, wp)


@njit(nogil=True, fastmath=_FM, cache=True)
def _run(buf, base, wt, bias, has_bias, y, yo, geom, m, pitch, rin, wp):
    """``m`` outputs, the first reading ``buf[base]``, written to ``y`` from ``yo``.

    Output ``p`` reads ``buf[base + (p * sw + tap offset) * L]``; it is
    pixel ``p % pitch`` of row ``p // pitch``, stored only if that is below
    ``Wo`` (the row starting ``Wo`` pixels after the last in ``y``).  The
    outputs go :data:`PIXELS` at a time (then the rest one by one), lanes in
    chunks of :data:`LANES`; each group's accumulator, on the stack, takes
    every tap, a kernel row (up to :data:`TAPS` taps) per pass, before it is
    stored.
    """
    lanes, wo_ = geom[4], geom[7]
    kd, kh, kw, sw, dh, dw = geom[8], geom[9], geom[10], geom[13], geom[15], geom[16]
    row, ps, js = wp * lanes, sw * lanes, dw * lanes
    shared = sw == 1 and dw == 1
    acc = _stack(buf, _ACC)
    for p0 in range(0, m, PIXELS):
        count = min(PIXELS, m - p0)
        for c0 in range(0, lanes, LANES):
            n = min(LANES, lanes - c0)
            for q in range(PIXELS):  # the bias, or zeros
                if has_bias:
                    _copy(acc, q * LANES, bias, c0, n)
                else:
                    _zero(acc, q * LANES, n)
            for a in range(kd):
                for i in range(kh):
                    xo = base + (a * rin + i * dh) * row + p0 * ps + c0
                    wo = (a * kh + i) * kw * lanes + c0
                    j = 0
                    while j < kw:
                        taps = _taps_of(kw - j, shared)
                        xj, wj = xo + j * js, wo + j * lanes
                        # A last group short of PIXELS outputs computes some
                        # beyond the run (reading the buffer's slack), not stored.
                        whole = n - n % VECTOR
                        if whole:
                            _row(acc, 0, buf, xj, ps, wt, wj, lanes, n, PIXELS, taps)
                        if whole < n:
                            for q in range(count):
                                xq = xj + q * ps + whole
                                ao = q * LANES + whole
                                _taps(acc, ao, buf, xq, js, wt, wj + whole, lanes, n - whole, taps)
                        j += taps
            line = p0 // pitch
            col = p0 - line * pitch
            for q in range(count):  # (each pixel its own loop: one writing them all
                if col < wo_:  # would write streams of y that might overlap)
                    _copy(y, yo + (line * wo_ + col) * lanes + c0, acc, q * LANES, n)
                col += 1
                if col == pitch:
                    col = 0
                    line += 1


@njit(fastmath=_FM, cache=True, inline="always")
def _taps(acc, ao, x, xo, js, wt, wo, ws, n, taps):
    """One output's ``taps`` taps, tap by tap (the few outputs after the last full group)."""
    ao, xo, wo = np.uint64(ao), np.uint64(xo), np.uint64(wo)
    for j in range(np.uint64(taps)):
        xj, wj = xo + j * np.uint64(js), wo + j * np.uint64(ws)
        for e in range(np.uint64(n)):
            acc[ao + e] += x[xj + e] * wt[wj + e]


@njit(nogil=True, cache=True, inline="always")
def _copy_check(dst, do, src, so, n):
    """:func:`_copy`, returning nonzero if a value copied is not finite."""
    do, so = np.uint64(do), np.uint64(so)
    bad = np.uint8(0)
    for e in range(np.uint64(n)):
        v = src[so + e]
        dst[do + e] = v
        bad |= np.uint8(v - v != 0)  # NaN for inf and NaN
    return bad


@njit(nogil=True, cache=True, inline="always")
def _zero(dst, do, n):
    """``dst[do + e] = 0`` for ``e < n``."""
    do = np.uint64(do)
    for e in range(np.uint64(n)):
        dst[do + e] = 0


@njit(nogil=True, cache=True, inline="always")
def _copy(dst, do, src, so, n):
    """``dst[do + e] = src[so + e]`` for ``e < n`` (a slice costs more, per pixel)."""
    do, so = np.uint64(do), np.uint64(so)
    for e in range(np.uint64(n)):
        dst[do + e] = src[so + e]


@njit(nogil=True, fastmath=_FM, cache=True)
def weight_blocks(start, stop, x, gy, part, geom, rows, planes):
    """Partial gradients of the weight for tasks ``start .. stop``, into ``part`` (float64).

    Tasks are :func:`correlate_blocks`' blocks of output rows; task ``t``
    writes ``part[t, tap, l] = sum gy[o, l] * x[o * stride + tap * dilation - pad, l]``
    over its outputs ``o``.  The block's outputs go eight at a time past a
    stack accumulator of every tap's sums (:func:`_weight_run`, pixel by
    pixel in order); the block's sums are added up per task in the input's
    dtype, then stored in float64.  The
    caller adds the tasks up in task order, so the result does not depend
    on the threads.  With stride 1 and a finite input the block is one run
    over the buffer's row pitch (the gradient copied with zeros between
    rows); otherwise row by row.
    """
    _, _, _, _, lanes, do_, ho_, wo_ = geom[0:8]
    kd, kh, kw = geom[8:11]
    wp, rin, blocks, flat = _geometry(geom, rows)
    taps = kd * kh * kw
    buf = np.empty(kd * rin * wp * lanes, x.dtype)
    gbuf = np.zeros(rows * wp * lanes if flat else 0, x.dtype)
    acc = np.empty(taps * lanes, x.dtype)
    for t in range(start, stop):
        first, count, r0, r = _task(t, blocks, rows, ho_, planes, geom[0] * do_)
        _zero(acc, 0, acc.size)
        for plane in range(first, first + count):
            _weight_block(buf, gbuf, acc, x, gy, geom, plane, r0, r, rin, wp, flat)
        po = t * taps * lanes
        for e in range(taps * lanes):
            part[po + e] = acc[e]


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
    kh, sh, dh = geom[9], geom[12], geom[15]
    used = (r - 1) * sh + (kh - 1) * dh + 1
    finite = _fill(buf, x, geom, plane // do_, plane % do_, r0, rin, used, wp)
    g0 = (plane * ho_ + r0) * wo_ * lanes
    # A run over the pitch also multiplies the zeros between rows by input
    # values: exact (0 * v = 0) for a finite input only.
    if flat and finite:
        for q in range(r):
            gb, go = q * wp * lanes, g0 + q * wo_ * lanes
            _copy(gbuf, gb, gy, go, wo_ * lanes)
        _weight_run(acc, gbuf, 0, buf, 0, geom, (r - 1) * wp + wo_, rin, wp)
    else:
        for q in range(r):
            xb, go = q * sh * wp * lanes, g0 + q * wo_ * lanes
            _weight_run(acc, gy, go, buf, xb, geom, wo_, rin, wp)


@njit(nogil=True, fastmath=_FM, cache=True)
def _weight_run(acc, g, go, buf, xb, geom, m, rin, wp):
    """Every tap's terms over ``m`` outputs from ``g[go]``, added to ``acc``.

    Output ``p`` is ``g[go + p * L]`` and reads, for tap ``(a, i, j)``,
    ``buf[xb + (a * rin + i * dh) * wp * L + (p * sw + j * dw) * L]``.  For
    each lane chunk (:data:`LANES`) and each run of up to :data:`SUM_TAPS`
    taps, the outputs go :data:`PIXELS` at a time, in order, each group
    taking every tap of the run (a kernel row's taps up to :data:`TAPS` per
    pass) while its inputs are in L1; the sums run in the stack accumulator
    ``s``; the outputs and lanes the passes leave go one by one.
    """
    lanes = geom[4]
    kd, kh, kw, sw, dh, dw = geom[8], geom[9], geom[10], geom[13], geom[15], geom[16]
    ps, js, row = sw * lanes, dw * lanes, wp * lanes
    shared = sw == 1 and dw == 1
    total = kd * kh * kw
    s = _stack(buf, _SUMS)
    for c0 in range(0, lanes, LANES):
        n = min(LANES, lanes - c0)
        whole = n - n % VECTOR
        for t0 in range(0, total, SUM_TAPS):
            t1 = min(total, t0 + SUM_TAPS)
            _zero(s, 0, (t1 - t0) * LANES)
            for p0 in range(0, m, PIXELS):
                count = min(PIXELS, m - p0)
                t = t0
                while t < t1:
                    k, j = t // kw, t % kw  # kernel row k = a * kh + i
                    taps = _taps_of(min(kw - j, t1 - t), shared)
                    xo = xb + ((k // kh) * rin + (k % kh) * dh) * row + j * js + c0 + p0 * ps
                    so, gp = (t - t0) * LANES, go + p0 * lanes + c0
                    e0 = 0
                    if count == PIXELS and whole:
                        _weight_row(s, so, g, gp, lanes, buf, xo, ps, n, PIXELS, taps)
                        e0 = whole
                    for q in range(count):  # the lanes and outputs the passes leave
                        if e0 < n:
                            xq, gq = xo + q * ps + e0, gp + q * lanes + e0
                            _weight_taps(s, so + e0, g, gq, buf, xq, js, n - e0, taps)
                    t += taps
            for t in range(t0, t1):
                o, so = t * lanes + c0, (t - t0) * LANES
                for e in range(n):
                    acc[o + e] += s[so + e]
