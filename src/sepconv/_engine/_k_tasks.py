"""The tasks: one band of rows by one strip of a pass, over a ring, a band or N-D rows.

:func:`_unpack` reads the task descriptor (``D_*``, ``G_*``) and picks the
task's rows and strip; :func:`_ring_task`, :func:`_band_task` and
:func:`_direct_task` do the work; ``_task_entry`` / ``_task_nd_entry`` are
the bodies of the task cfuncs made by :mod:`._kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit

from ._k_calls import _gather_row, _gather_rows, _store_row, _store_rows, _taps, _taps_at, _vertical
from ._kernels import (
    D_AUX_N,
    D_DESC_N,
    D_DST,
    D_DST_N,
    D_DUAL,
    D_GATHER,
    D_SRC,
    D_SRC_N,
    D_STORE,
    D_TABLES,
    D_TAPS,
    G_BAND,
    G_BW,
    G_C,
    G_DC,
    G_DH,
    G_DIRECT_OUT,
    G_DW,
    G_H,
    G_HIDENT,
    G_KV,
    G_KW,
    G_MODE,
    G_NBANDS,
    G_NSTRIPS,
    G_ROWS,
    G_SC,
    G_SH,
    G_SRCDIRECT,
    G_STRIP,
    G_SW,
    G_VIDENT,
    G_W,
    HEADER,
    INT_TABLES,
    IO_BW,
    IO_C,
    IO_FLAT_N,
    IO_IDX,
    IO_IDX_N,
    IO_SC,
    IO_SIZE,
    IO_SW,
    IO_W,
    MODE_DIRECT,
    _address,
    _pointer,
)

# --------------------------------------------------------------------------- tasks


@njit(cache=True)
def _aligned(n, like):
    """``n`` elements of ``like``'s dtype starting on a 64-byte boundary."""
    raw = np.empty(n + 64 // like.itemsize, like.dtype)
    shift = (64 - _address(raw) % 64) % 64 // like.itemsize
    return raw[shift : shift + n]


@njit(cache=True, inline="always")
def _ring_task(
    header, geom, gio, sio, soff, doff, idxH, roff, vdual, h, v, y0, y1, p0, p1, cval_at
):
    """Rows ``y0 .. y1``, positions ``p0 .. p1`` of a pass over one vertical axis and W.

    The last ``kv`` padded input rows are kept in a ring, each gathered (and
    converted) once.  Every output row sums, over the terms, a horizontal pass
    of one row: a separable or low-rank term first combines its ``kv`` ring rows
    vertically into ``vrow``; a direct kernel row reads the ring row it sits on
    (``roff``).  Nothing image-sized is written but the output, which a float
    output of the work dtype receives in place.
    """
    ha, hb, hw, hg, hk, hn = h
    va, vb, vw, vg, vk, vn = v
    src, dst = header[D_SRC], header[D_DST]
    gather, store, taps = header[D_GATHER], header[D_STORE], header[D_TAPS]
    sH, dH, C = geom[G_SH], geom[G_DH], geom[G_C]
    kv, kw = geom[G_KV], geom[G_KW]
    direct = geom[G_MODE] == MODE_DIRECT
    v_ident, h_ident = geom[G_VIDENT] != 0, geom[G_HIDENT] != 0
    T = hn.shape[0]
    L = p1 - p0
    Lpad = L + (kw - 1) * C
    if geom[G_ROWS] > 1:
        _band_task(header, geom, gio, sio, soff, doff, idxH, roff, h, v, y0, y1, p0, L, Lpad,
                   cval_at)  # fmt: skip
        return
    # Ring rows start on 64-byte boundaries (the row pitch P is a multiple of 64
    # bytes): vertical taps then load whole cache lines, never split ones.
    itemsize = hw.itemsize
    lanes = 64 // itemsize
    # Input of the work dtype with contiguous rows: the vertical taps read the
    # rows where they are and only the border columns go through the ring.
    srcdirect = geom[G_SRCDIRECT] != 0
    lo = geom[G_BW] * C
    qa = max(p0, lo) if srcdirect else p0
    qb = min(p0 + Lpad, lo + geom[G_W] * C) if srcdirect else p0 + Lpad
    nl, ni, nr = qa - p0, qb - qa, p0 + Lpad - qb
    span = nl + nr if srcdirect else Lpad
    P = (span + lanes - 1) // lanes * lanes
    ring = _aligned(max(kv * P, 1), hw)
    vrow = _aligned(Lpad, hw)
    vrow2 = _aligned(Lpad, hw)
    acc = _aligned(L, hw)
    in_place = geom[G_DIRECT_OUT] != 0
    dual = header[D_DUAL]
    ring_at, nring = _address(ring), np.int64(ring.shape[0])
    width = max(ha.shape[1], va.shape[1])
    offa = np.empty(width, np.int64)
    offb = np.empty(width, np.int64)
    for yp in range(y0, y1 + kv - 1):
        sr = idxH[yp]
        slot = yp % kv
        if srcdirect:
            if nl > 0:
                _gather_row(gather, gio, ring[slot * P : slot * P + nl], src, soff + sr * sH,
                            sr >= 0, p0, nl, cval_at)  # fmt: skip
            if nr > 0:
                _gather_row(gather, gio, ring[slot * P + nl : slot * P + span], src,
                            soff + sr * sH, sr >= 0, qb, nr, cval_at)  # fmt: skip
        else:
            _gather_row(gather, gio, ring[slot * P : slot * P + Lpad], src, soff + sr * sH,
                        sr >= 0, p0, Lpad, cval_at)  # fmt: skip
        if yp < y0 + kv - 1:
            continue
        y = yp - (kv - 1)
        out_at = dst + (doff + y * dH + p0) * itemsize if in_place else _address(acc)
        t = 0
        while t < T:
            buf = ring
            base = (y % kv) * P
            if direct:
                base = (y + roff[t, 0]) % kv * P
            elif not v_ident:
                n = vn[t]
                two = vdual[t] != 0
                # Vertical: into the output row itself (vertical-only), else into vrow(s).
                v0 = out_at if h_ident else _address(vrow)
                v1 = _address(vrow2)
                if srcdirect:
                    for j in range(n):
                        offa[j] = soff + idxH[y + va[t, j]] * sH + qa - lo
                        offb[j] = soff + idxH[y + vb[t, j]] * sH + qa - lo
                    _vertical(taps, dual, two, v0 + nl * itemsize, v1 + nl * itemsize, src,
                              header[D_SRC_N], offa, offb, v, t, n, ni)  # fmt: skip
                    for side in range(2):
                        count = nl if side == 0 else nr
                        if count == 0:
                            continue
                        shift = 0 if side == 0 else nl
                        into = 0 if side == 0 else nl + ni
                        for j in range(n):
                            offa[j] = (y + va[t, j]) % kv * P + shift
                            offb[j] = (y + vb[t, j]) % kv * P + shift
                        _vertical(taps, dual, two, v0 + into * itemsize, v1 + into * itemsize,
                                  ring_at, nring, offa, offb, v, t, n, count)  # fmt: skip
                else:
                    for j in range(n):
                        offa[j] = (y + va[t, j]) % kv * P
                        offb[j] = (y + vb[t, j]) % kv * P
                    _vertical(taps, dual, two, v0, v1, ring_at, nring, offa, offb, v, t, n,
                              L if h_ident else Lpad)  # fmt: skip
                if h_ident:  # vertical-only: done, the output row was written
                    t += 1
                    continue
                for u in range(2 if two else 1):
                    n = hn[t + u]
                    for j in range(n):
                        offa[j] = ha[t + u, j] * C
                        offb[j] = hb[t + u, j] * C
                    _taps_at(taps, out_at, vrow if u == 0 else vrow2, offa, offb, hw[t + u],
                             hg[t + u], hk[t + u], n, L, t + u > 0)  # fmt: skip
                t += 2 if two else 1
                continue
            n = hn[t]
            for j in range(n):
                offa[j] = base + ha[t, j] * C
                offb[j] = base + hb[t, j] * C
            _taps_at(taps, out_at, buf, offa, offb, hw[t], hg[t], hk[t], n, L, t > 0)
            t += 1
        if not in_place:
            _store_row(store, sio, dst, doff + y * dH, p0, acc)


@njit(cache=True, inline="always")
def _band_task(header, geom, gio, sio, soff, doff, idxH, roff, h, v, y0, y1, p0, L, Lpad,
               cval_at):  # fmt: skip
    """Rows ``y0 .. y1`` of short rows: the whole band gathered, ``G_ROWS`` rows per call.

    All padded rows the band needs are gathered, in order, into one buffer, so
    the rows a vertical tap reads for ``R`` consecutive output rows are
    consecutive too: one loop covers them.  The horizontal taps then run over
    ``R`` padded rows side by side (outputs straddling two rows are computed
    and dropped).  Per-call costs are paid once per ``R`` rows, not per row.
    """
    ha, hb, hw, hg, hk, hn = h
    va, vb, vw, vg, vk, vn = v
    src, dst = header[D_SRC], header[D_DST]
    gather, store, taps = header[D_GATHER], header[D_STORE], header[D_TAPS]
    sH, dH, C = geom[G_SH], geom[G_DH], geom[G_C]
    kv = geom[G_KV]
    R = geom[G_ROWS]
    direct = geom[G_MODE] == MODE_DIRECT
    v_ident = geom[G_VIDENT] != 0
    T = hn.shape[0]
    band = _aligned((y1 - y0 + kv - 1) * Lpad, hw)
    vblock = _aligned(R * Lpad, hw)
    acc = _aligned(R * Lpad, hw)
    width = max(ha.shape[1], va.shape[1])
    offa = np.empty(width, np.int64)
    offb = np.empty(width, np.int64)
    # Gather runs of consecutive source rows with one call each.
    yp = y0
    while yp < y1 + kv - 1:
        sr = idxH[yp]
        run = 1
        if sr >= 0:
            while yp + run < y1 + kv - 1 and idxH[yp + run] == sr + run:
                run += 1
        at = (yp - y0) * Lpad
        _gather_rows(gather, gio, band[at : at + run * Lpad], src, soff + sr * sH, sr >= 0,
                     p0, Lpad, cval_at, run, sH, Lpad)  # fmt: skip
        yp += run
    for g0 in range(y0, y1, R):
        count = min(R, y1 - g0)
        first = (g0 - y0) * Lpad
        n_out = count * Lpad - (Lpad - L)
        for t in range(T):
            buf = band
            base = first
            if direct:
                base = first + roff[t, 0] * Lpad
            elif not v_ident:
                n = vn[t]
                for j in range(n):
                    offa[j] = first + va[t, j] * Lpad
                    offb[j] = first + vb[t, j] * Lpad
                _taps(taps, vblock[: count * Lpad], band, offa, offb, vw[t], vg[t], vk[t], n,
                      count * Lpad, False)  # fmt: skip
                buf = vblock
                base = 0
            n = hn[t]
            for j in range(n):
                offa[j] = base + ha[t, j] * C
                offb[j] = base + hb[t, j] * C
            _taps(taps, acc[:n_out], buf, offa, offb, hw[t], hg[t], hk[t], n, n_out, t > 0)
        _store_rows(store, sio, dst, doff + g0 * dH, p0, acc, L, count, dH, Lpad)


@njit(cache=True, inline="always")
def _direct_task(header, geom, gio, sio, soff, doff, vert, vidx, roff, h, r0, r1, p0, p1, cval_at):
    """Output rows ``r0 .. r1`` (flattened over the vertical axes), positions ``p0 .. p1``.

    Each output row sums, over the kernel rows, the horizontal pass of the input
    row that kernel row sits on (``roff``: its offsets along the vertical axes).
    """
    ta, tb, tw, tg, tk, tn = h
    src, dst = header[D_SRC], header[D_DST]
    gather, store, taps = header[D_GATHER], header[D_STORE], header[D_TAPS]
    C, kw = geom[G_C], geom[G_KW]
    d = vert.shape[1]
    R = tn.shape[0]
    L = p1 - p0
    Lpad = L + (kw - 1) * C
    rowbuf = np.empty(Lpad, tw.dtype)
    acc = np.empty(L, tw.dtype)
    offa = np.empty(ta.shape[1], np.int64)
    offb = np.empty(ta.shape[1], np.int64)
    pos = np.empty(d, np.int64)
    for r in range(r0, r1):
        rem = r
        obase = doff
        for k in range(d - 1, -1, -1):
            pos[k] = rem % vert[0, k]
            rem //= vert[0, k]
            obase += pos[k] * vert[2, k]
        for k in range(R):
            valid = np.bool_(True)
            rowbase = soff
            for j in range(d):
                s = vidx[j, pos[j] + roff[k, j]]
                if s < 0:
                    valid = False
                rowbase += s * vert[1, j]
            _gather_row(gather, gio, rowbuf, src, rowbase, valid, p0, Lpad, cval_at)
            n = tn[k]
            for j in range(n):
                offa[j] = ta[k, j] * C
                offb[j] = tb[k, j] * C
            _taps(taps, acc, rowbuf, offa, offb, tw[k], tg[k], tk[k], n, L, k > 0)
        _store_row(store, sio, dst, obase, p0, acc)


@njit(cache=True)
def _table(buf, desc, k):
    at = D_TABLES + 3 * k
    off, rows, cols = desc[at], desc[at + 1], desc[at + 2]
    return buf[off : off + rows * cols].reshape((rows, cols))


@njit(cache=True, inline="always")
def _unpack(t, desc_address, aux_ptr):
    """The tables of the descriptor, the row-function parameter blocks, and task ``t``'s area."""
    header = carray(_pointer(desc_address), (HEADER,), np.int64)
    desc = carray(_pointer(desc_address), (header[D_DESC_N],), np.int64)
    aux = carray(aux_ptr, (header[D_AUX_N],))
    geom = _table(desc, desc, np.int64(0))[0]
    soff = _table(desc, desc, np.int64(1))[0]
    doff = _table(desc, desc, np.int64(2))[0]
    vert = _table(desc, desc, np.int64(3))
    vidx = _table(desc, desc, np.int64(4))
    idxW = _table(desc, desc, np.int64(5))[0]
    roff = _table(desc, desc, np.int64(6))
    n0 = len(INT_TABLES)
    h = (
        _table(desc, desc, np.int64(7)),
        _table(desc, desc, np.int64(8)),
        _table(aux, desc, np.int64(n0 + 1)),
        _table(aux, desc, np.int64(n0 + 2)),
        _table(desc, desc, np.int64(9)),
        _table(desc, desc, np.int64(10))[0],
    )
    v = (
        _table(desc, desc, np.int64(11)),
        _table(desc, desc, np.int64(12)),
        _table(aux, desc, np.int64(n0 + 3)),
        _table(aux, desc, np.int64(n0 + 4)),
        _table(desc, desc, np.int64(13)),
        _table(desc, desc, np.int64(14))[0],
    )
    vdual = _table(desc, desc, np.int64(15))[0]
    cval_at = _address(_table(aux, desc, np.int64(n0)))
    # Parameter blocks of the row input and output functions.
    gio = np.empty(IO_SIZE, np.int64)
    gio[IO_FLAT_N] = header[D_SRC_N]
    gio[IO_C] = geom[G_C]
    gio[IO_BW] = geom[G_BW]
    gio[IO_W] = geom[G_W]
    gio[IO_SW] = geom[G_SW]
    gio[IO_SC] = geom[G_SC]
    gio[IO_IDX] = _address(idxW)
    gio[IO_IDX_N] = idxW.shape[0]
    sio = np.empty(IO_SIZE, np.int64)
    sio[IO_FLAT_N] = header[D_DST_N]
    sio[IO_C] = geom[G_C]
    sio[IO_W] = geom[G_DW]
    sio[IO_SW] = geom[G_DC]
    # Task t: batch item b, band bi of rows, strip si of the row.
    per_item = geom[G_NBANDS] * geom[G_NSTRIPS]
    b = t // per_item
    r = t - b * per_item
    bi = r // geom[G_NSTRIPS]
    si = r - bi * geom[G_NSTRIPS]
    y0 = bi * geom[G_BAND]
    y1 = min(geom[G_H], y0 + geom[G_BAND])
    p0 = si * geom[G_STRIP]
    p1 = min(geom[G_W] * geom[G_C], p0 + geom[G_STRIP])
    return (header, geom, gio, sio, soff[b], doff[b], vert, vidx, idxW, roff, vdual, h, v,
            y0, y1, p0, p1, cval_at)  # fmt: skip


def _task_entry(t, desc_address, aux_ptr):  # body of the task cfuncs (2-D passes)
    (header, geom, gio, sio, soff, doff, vert, vidx, idxW, roff, vdual, h, v,
     y0, y1, p0, p1, cval_at) = _unpack(t, desc_address, aux_ptr)  # fmt: skip
    _ring_task(header, geom, gio, sio, soff, doff, vidx[0], roff, vdual, h, v,
               y0, y1, p0, p1, cval_at)  # fmt: skip


def _task_nd_entry(t, desc_address, aux_ptr):  # body of the task cfuncs (dense N-D kernels)
    (header, geom, gio, sio, soff, doff, vert, vidx, idxW, roff, vdual, h, v,
     y0, y1, p0, p1, cval_at) = _unpack(t, desc_address, aux_ptr)  # fmt: skip
    _direct_task(header, geom, gio, sio, soff, doff, vert, vidx, roff, h, y0, y1, p0, p1, cval_at)
