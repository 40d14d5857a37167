"""Bodies of the row and tap cfuncs, and the jitted helpers that call them by address.

``_gather_entry`` / ``_store_entry`` / ``_taps_entry`` / ``_dual_entry`` are
compiled into cfuncs by :mod:`._kernels`; :func:`_taps`, :func:`_vertical`,
:func:`_gather_row` and the like fill the ``IO_*`` block and call them
through :func:`._kernels._call`, which Numba does not link into the caller.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit

from ._k_rows import _gather, _store
from ._k_taps import _apply_dual, _apply_taps
from ._kernels import (
    IO_BW,
    IO_C,
    IO_FLAT_N,
    IO_IDX,
    IO_IDX_N,
    IO_N,
    IO_Q0,
    IO_ROWBASE,
    IO_ROWS,
    IO_ROWSTRIDE,
    IO_SC,
    IO_SIZE,
    IO_SPACING,
    IO_SW,
    IO_VALID,
    IO_W,
    _address,
    _call,
    _pointer,
)


def _gather_entry(rowbuf_ptr, src_ptr, cval_ptr, io_address):  # body of the row-input cfuncs
    io = carray(_pointer(io_address), (IO_SIZE,), np.int64)
    rows, spacing, n = io[IO_ROWS], io[IO_SPACING], io[IO_N]
    rowbuf = carray(rowbuf_ptr, ((rows - 1) * spacing + n,))
    src = carray(src_ptr, (io[IO_FLAT_N],))
    idxW = carray(_pointer(io[IO_IDX]), (io[IO_IDX_N],), np.int64)
    cval = carray(cval_ptr, (1,))[0]
    for r in range(rows):
        _gather(rowbuf[r * spacing : r * spacing + n], src,
                io[IO_ROWBASE] + r * io[IO_ROWSTRIDE], io[IO_VALID] != 0, io[IO_Q0], n,
                io[IO_C], io[IO_BW], io[IO_W], io[IO_SW], io[IO_SC], idxW, cval)  # fmt: skip


def _store_entry(dst_ptr, acc_ptr, io_address):  # body of the row-output cfuncs
    io = carray(_pointer(io_address), (IO_SIZE,), np.int64)
    rows, spacing, n = io[IO_ROWS], io[IO_SPACING], io[IO_N]
    acc = carray(acc_ptr, ((rows - 1) * spacing + n,))
    dst = carray(dst_ptr, (io[IO_FLAT_N],))
    # IO_W and IO_SW carry the output's W and C strides for a store.
    for r in range(rows):
        _store(dst, io[IO_ROWBASE] + r * io[IO_ROWSTRIDE], io[IO_Q0], n, io[IO_C], io[IO_W],
               io[IO_SW], acc[r * spacing : r * spacing + n])  # fmt: skip


def _taps_entry(
    out_ptr, buf_ptr, w_ptr, g_ptr, a_address, b_address, kind_address, n, L, nbuf, accumulate
):
    # body of the tap cfuncs: every vectorised multiply-add loop lives here
    count = max(n, 1)
    out = carray(out_ptr, (L,))
    buf = carray(buf_ptr, (nbuf,))
    w = carray(w_ptr, (count,))
    g = carray(g_ptr, (count,))
    a = carray(_pointer(a_address), (count,), np.int64)
    b = carray(_pointer(b_address), (count,), np.int64)
    kind = carray(_pointer(kind_address), (count,), np.int64)
    _apply_taps(out, buf, a, b, w, g, kind, n, L, accumulate != 0)


def _dual_entry(out0_ptr, out1_ptr, buf_ptr, u_ptr, p_ptr, w_ptr, g_ptr, a_address, b_address,
                kind_address, n, L, nbuf):  # fmt: skip
    # body of the two-term tap cfuncs (low-rank vertical passes)
    count = max(n, 1)
    out0 = carray(out0_ptr, (L,))
    out1 = carray(out1_ptr, (L,))
    buf = carray(buf_ptr, (nbuf,))
    u = carray(u_ptr, (count,))
    p = carray(p_ptr, (count,))
    w = carray(w_ptr, (count,))
    g = carray(g_ptr, (count,))
    a = carray(_pointer(a_address), (count,), np.int64)
    b = carray(_pointer(b_address), (count,), np.int64)
    kind = carray(_pointer(kind_address), (count,), np.int64)
    _apply_dual(out0, out1, buf, a, b, kind, n, u, p, w, g, L)


@njit(cache=True)
def _taps(fn, out, buf, a, b, w, g, kind, n, L, accumulate):
    _taps_at(fn, _address(out), buf, a, b, w, g, kind, n, L, accumulate)


@njit(cache=True)
def _taps_at(fn, out_address, buf, a, b, w, g, kind, n, L, accumulate):
    _call(
        fn,
        (
            out_address,
            _address(buf),
            _address(w),
            _address(g),
            _address(a),
            _address(b),
            _address(kind),
            n,
            L,
            np.int64(buf.shape[0]),
            np.int64(accumulate),
        ),
    )


@njit(cache=True)
def _vertical(taps, dual, two, out0_at, out1_at, buf_at, nbuf, offa, offb, v, t, n, L):
    """Vertical taps of term ``t`` (and ``t + 1`` when ``two``) from the rows at ``offa/offb``."""
    va, vb, vw, vg, vk, vn = v
    if two:
        _call(dual, (out0_at, out1_at, buf_at, _address(vw[t]), _address(vg[t]),
                     _address(vw[t + 1]), _address(vg[t + 1]), _address(offa), _address(offb),
                     _address(vk[t]), n, L, nbuf))  # fmt: skip
    else:
        _call(taps, (out0_at, buf_at, _address(vw[t]), _address(vg[t]), _address(offa),
                     _address(offb), _address(vk[t]), n, L, nbuf, np.int64(0)))  # fmt: skip


@njit(cache=True)
def _gather_row(fn, io, rowbuf, src, rowbase, valid, q0, n, cval_address):
    _gather_rows(fn, io, rowbuf, src, rowbase, valid, q0, n, cval_address, 1, 0, 0)


@njit(cache=True)
def _gather_rows(fn, io, rowbuf, src, rowbase, valid, q0, n, cval_address, rows, stride, spacing):
    """Gather ``rows`` rows ``stride`` apart into ``rowbuf``, ``spacing`` apart."""
    io[IO_N] = n
    io[IO_ROWBASE] = rowbase
    io[IO_VALID] = valid
    io[IO_Q0] = q0
    io[IO_ROWS] = rows
    io[IO_ROWSTRIDE] = stride
    io[IO_SPACING] = spacing
    _call(fn, (_address(rowbuf), src, cval_address, _address(io)))


@njit(cache=True)
def _store_row(fn, io, dst, rowbase, p0, acc):
    _store_rows(fn, io, dst, rowbase, p0, acc, acc.shape[0], 1, 0, 0)


@njit(cache=True)
def _store_rows(fn, io, dst, rowbase, p0, acc, n, rows, stride, spacing):
    """Store ``rows`` rows of ``n`` from ``acc`` (``spacing`` apart), ``stride`` apart."""
    io[IO_N] = n
    io[IO_ROWBASE] = rowbase
    io[IO_Q0] = p0
    io[IO_ROWS] = rows
    io[IO_ROWSTRIDE] = stride
    io[IO_SPACING] = spacing
    _call(fn, (dst, _address(acc), _address(io)))
