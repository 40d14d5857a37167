"""Running sums: constant 1-D factors (box / mean filters) at a cost flat in their length.

A factor whose ``k`` taps all equal ``c`` computes ``c * sum(window)``; moving
the window by one adds the entering value and subtracts the leaving one, so an
output costs a few operations whatever ``k`` is.  The task here is the ring
task of :mod:`._kernels` (same descriptor, gather and store functions, same
task layout, reached by ``MODE_RUNNING``) for one separable term whose vertical
and/or horizontal factor is constant; a factor that is not constant runs with
the ordinary tap function.

* Vertical: a float64 sum per padded column over the ``kv`` ring rows, moved
  one row per output row in one vectorised pass.
* Horizontal: the moves ``x[p + kw C] - x[p]`` in one vectorised pass, then
  float64 sums along the row, four independent segments side by side (one
  chain per channel and segment; many channels advance a block at a time).

Accuracy.  Sums are kept in float64 (also for float32 work) and restarted
from a direct sum every ``N = refresh_interval(k) = max(128, 2 k)`` outputs
along each direction, as scipy and OpenCV bound their drift.  Each move
rounds twice, so a window sum differs from the exact one by at most
``(2 N + k) (k + 2) * 2**-53 * max|x|`` (``max`` over the inputs read since
the restart), about ``2 N / k + 1`` times the bound of a direct float64 sum and
far below float32's rounding of the result.  The result is then scaled by
``c`` and rounded to the work dtype (float32 work: once more after the vertical
pass).  The restarts cost at most half a load per output.

Non-finite values.  A running sum would keep a NaN (or ``inf - inf``) forever:
NaN and ``inf - inf`` stick, so a sum that saw a non-finite value stays
non-finite: a row whose running sums are not all finite is summed directly
along it, and while the vertical sums are not all finite each window is
summed directly (then the sums restart), which gives scipy's NaN and
infinity wherever scipy has them.

Compiled on first use (``cache=True``), one ``cfunc`` per work dtype.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, types

from ._k_calls import _gather_row, _store_row, _taps_at, _vertical
from ._k_tasks import _aligned, _unpack
from ._kernels import (
    D_DST,
    D_GATHER,
    D_SRC,
    D_STORE,
    D_TAPS,
    G_C,
    G_DH,
    G_HIDENT,
    G_HRUN,
    G_KV,
    G_KW,
    G_SH,
    G_VIDENT,
    G_VRUN,
    _address,
    _compile,
    _ptr_type,
)

# Outputs between recomputations of a running sum from scratch: at least this
# many, and at least twice the window (the recomputation then costs at most
# half a load per output).
REFRESH_MIN = 128


def refresh_interval(k: int) -> int:
    """Outputs between recomputations of a running sum of ``k`` taps (see the module)."""
    return max(REFRESH_MIN, 2 * k)


@njit(cache=True)
def slack(L, C, refresh):
    """Length of the horizontal sums buffer: ``L`` plus what the last segments overrun."""
    return L + 4 * C * (L // (4 * refresh) + 2)


@njit(cache=True)
def _nonfinite(row, n):
    """How many of ``row[:n]`` are NaN or infinite (``x - x`` is 0 only for finite x)."""
    count = 0
    for i in range(np.uint64(n)):
        x = np.float64(row[i])
        count += (x - x) != 0.0
    return count


@njit(cache=True)
def _vertical_fresh(vsum, vrow, ring, P, kv, y, c, L):
    """Column sums of the ``kv`` ring rows in window order, from scratch; ``c *`` them to vrow."""
    for i in range(np.uint64(L)):
        vsum[i] = 0.0
    for j in range(kv):
        at = np.uint64((y + j) % kv * P)
        for i in range(np.uint64(L)):
            vsum[i] += ring[at + i]
    for i in range(np.uint64(L)):
        vrow[i] = c * vsum[i]


@njit(cache=True)
def _vertical_step(vsum, vrow, fresh, slot, c, L):
    """Move the window one row: ``fresh`` enters, ``slot`` (the leaving row) takes it.

    Returns how many sums are not finite: a NaN or infinity that entered since
    the sums were made from scratch keeps them so (NaN and ``inf - inf`` stick).
    """
    bad = 0
    for i in range(np.uint64(L)):
        a = fresh[i]
        t = vsum[i] + (np.float64(a) - np.float64(slot[i]))
        vsum[i] = t
        vrow[i] = c * t
        slot[i] = a
        bad += (t - t) != 0.0
    return bad


@njit(cache=True, inline="always")
def _window(buf, at, C, kw):
    total = 0.0
    at, C = np.uint64(at), np.uint64(C)
    for j in range(np.uint64(kw)):
        total += buf[at + j * C]
    return total


# Channels (C) from which a row's running sums advance one block of C at a time,
# vectorised across channels, instead of four chains per channel.
_WIDE = 16


@njit(cache=True)
def _horizontal_wide(acc, buf, base, C, kw, c, refresh, hs):
    """Running sums of a row with many channels, ``hs`` holding the moves; returns how
    many are not finite."""
    L = acc.shape[0]
    nblocks = (L + C - 1) // C
    uC = np.uint64(C)
    for b0 in range(0, nblocks, refresh):
        for q in range(b0 * C, min(b0 * C + C, L)):  # from scratch every refresh blocks
            hs[q] = _window(buf, base + q, C, kw)
        for b in range(b0 + 1, min(b0 + refresh, nblocks)):
            lo = np.uint64(b * C)
            for q in range(lo, min(lo + uC, np.uint64(L))):
                hs[q] += hs[q - uC]
    return _scaled(acc, hs, c, L)


@njit(cache=True)
def _horizontal(acc, buf, base, C, kw, c, refresh, hs):
    """``acc[p] = c * sum_j buf[base + p + j C]`` for ``p < L``: running sums, or direct sums
    when the row holds NaN or infinity (a running sum would keep them).

    Many channels (``C >= 16``) advance a block of ``C`` outputs at a time,
    vectorised across channels.
    The differences ``x[p + kw C] - x[p]`` are formed in one vectorised pass;
    then each channel's outputs are cut into groups of four equal segments of
    at most ``refresh``, each starting from a direct sum, the four run side by
    side in registers: one running sum is bound by the latency of its
    additions, four overlap.  ``hs`` has room for the last group's overrun
    (:func:`slack`).
    """
    L = acc.shape[0]
    reach = (kw - 1) * C
    # hs[q]: what moving the window from q - C to q adds.  Unsigned indices: the
    # wraparound checks of signed ones keep LLVM from vectorising (10x slower).
    enter, leave = np.uint64(base + reach), np.uint64(base - C)
    for q in range(np.uint64(C), np.uint64(L)):
        hs[q] = np.float64(buf[enter + q]) - np.float64(buf[leave + q])
    if C >= _WIDE:
        bad = _horizontal_wide(acc, buf, base, C, kw, c, refresh, hs)
    else:
        bad = _horizontal_chains(acc, buf, base, C, kw, c, refresh, hs)
    # A NaN or infinity in the row makes every running sum that saw it non-finite
    # (NaN and inf - inf stick): such rows are summed directly, as scipy does.
    if bad != 0:
        for q in range(L):
            acc[q] = c * _window(buf, base + q, C, kw)


@njit(cache=True)
def _horizontal_chains(acc, buf, base, C, kw, c, refresh, hs):
    """Running sums of a row with few channels, ``hs`` holding the moves; returns how
    many are not finite."""
    L = acc.shape[0]
    for q in range(L, hs.shape[0]):  # the last segments may run past the row: zeros
        hs[q] = 0.0
    uC = np.uint64(C)
    for ch in range(min(C, L)):
        n = (L - ch + C - 1) // C  # outputs of this channel, at ch + i * C
        groups = (n + 4 * refresh - 1) // (4 * refresh)
        seg = (n + 4 * groups - 1) // (4 * groups)
        for g in range(groups):
            i0 = 4 * g * seg
            t0 = _window(buf, base + ch + i0 * C, C, kw)
            t1 = _window(buf, base + ch + (i0 + seg) * C, C, kw) if i0 + seg < n else 0.0
            t2 = _window(buf, base + ch + (i0 + 2 * seg) * C, C, kw) if i0 + 2 * seg < n else 0.0
            t3 = _window(buf, base + ch + (i0 + 3 * seg) * C, C, kw) if i0 + 3 * seg < n else 0.0
            q0 = np.uint64(ch + i0 * C)
            q1, q2, q3 = (
                q0 + np.uint64(seg) * uC,
                q0 + np.uint64(2 * seg) * uC,
                q0 + np.uint64(3 * seg) * uC,
            )
            hs[q0], hs[q1], hs[q2], hs[q3] = t0, t1, t2, t3
            for m in range(np.uint64(1), np.uint64(seg)):
                d = m * uC
                t0 += hs[q0 + d]
                t1 += hs[q1 + d]
                t2 += hs[q2 + d]
                t3 += hs[q3 + d]
                hs[q0 + d] = t0
                hs[q1 + d] = t1
                hs[q2 + d] = t2
                hs[q3 + d] = t3
    return _scaled(acc, hs, c, L)


@njit(cache=True)
def _scaled(acc, hs, c, L):
    """``acc = c * hs``; returns how many of ``hs[:L]`` are not finite."""
    bad = 0
    for q in range(np.uint64(L)):
        t = hs[q]
        acc[q] = c * t
        bad += (t - t) != 0.0
    return bad


@njit(cache=True, inline="always")
def _running_task(header, geom, gio, sio, soff, doff, idxH, h, v, y0, y1, p0, p1, cval_at):
    """Rows ``y0 .. y1``, positions ``p0 .. p1`` of one term with running-sum factors.

    The ring of ``kv`` gathered rows as in ``_ring_task``; the vertical factor
    (running sum, taps or identity) makes ``vrow``, the horizontal one (running
    sum, taps or identity) the output row.
    """
    ha, hb, hw, hg, hk, hn = h
    va, vb, vw, vg, vk, vn = v
    src, dst = header[D_SRC], header[D_DST]
    gather, store, taps = header[D_GATHER], header[D_STORE], header[D_TAPS]
    sH, dH, C = geom[G_SH], geom[G_DH], geom[G_C]
    kv, kw = geom[G_KV], geom[G_KW]
    vrun, hrun = geom[G_VRUN] != 0, geom[G_HRUN] != 0
    v_ident, h_ident = geom[G_VIDENT] != 0, geom[G_HIDENT] != 0
    L = p1 - p0
    Lpad = L + (kw - 1) * C
    lanes = 64 // hw.itemsize
    P = (Lpad + lanes - 1) // lanes * lanes
    ring = _aligned(max(kv * P, 1), hw)
    vrow = _aligned(Lpad, hw)
    acc = _aligned(L, hw)
    vsum = np.zeros(Lpad, np.float64)
    hs = np.empty(slack(L, C, max(REFRESH_MIN, 2 * kw)), np.float64)
    width = max(ha.shape[1], va.shape[1])
    offa = np.empty(width, np.int64)
    offb = np.empty(width, np.int64)
    vrefresh = max(REFRESH_MIN, 2 * kv)  # refresh_interval, in the compiled code
    hrefresh = max(REFRESH_MIN, 2 * kw)
    fresh = _aligned(Lpad, hw)
    since = vrefresh  # rows since the sums were made from scratch
    for yp in range(y0, y1 + kv - 1):
        sr = idxH[yp]
        slot = yp % kv
        row = ring[slot * P : slot * P + Lpad]
        step = vrun and yp >= y0 + kv and since < vrefresh
        into = fresh if step else row
        _gather_row(gather, gio, into, src, soff + sr * sH, sr >= 0, p0, Lpad, cval_at)
        if yp < y0 + kv - 1:
            continue
        y = yp - (kv - 1)
        if vrun:
            c = vw[0, 0]
            if step and _vertical_step(vsum, vrow, fresh, row, c, Lpad) != 0:
                # A NaN or infinity entered since the last restart: sum this window
                # directly (scipy's NaN and inf) and restart at the next row.
                _vertical_fresh(vsum, vrow, ring, P, kv, y, c, Lpad)
                since = vrefresh
            elif not step:
                _vertical_fresh(vsum, vrow, ring, P, kv, y, c, Lpad)
                since = 0 if _nonfinite(vsum, Lpad) == 0 else vrefresh
            since += 1
            buf, base = vrow, 0
        elif v_ident:
            buf, base = ring, (y % kv) * P
        else:
            n = vn[0]
            for j in range(n):
                offa[j] = (y + va[0, j]) % kv * P
                offb[j] = (y + vb[0, j]) % kv * P
            _vertical(taps, np.int64(0), False, _address(vrow), _address(vrow), _address(ring),
                      np.int64(ring.shape[0]), offa, offb, v, 0, n, Lpad)  # fmt: skip
            buf, base = vrow, 0
        if hrun:
            _horizontal(acc, buf, base, C, kw, hw[0, 0], hrefresh, hs)
        elif h_ident:
            for i in range(L):
                acc[i] = buf[base + i]
        else:
            n = hn[0]
            for j in range(n):
                offa[j] = base + ha[0, j] * C
                offb[j] = base + hb[0, j] * C
            _taps_at(taps, _address(acc), buf, offa, offb, hw[0], hg[0], hk[0], n, L, False)
        _store_row(store, sio, dst, doff + y * dH, p0, acc)


def _running_entry(t, desc_address, aux_ptr):  # body of the running-sum task cfuncs
    (header, geom, gio, sio, soff, doff, vert, vidx, idxW, roff, vdual, h, v,
     y0, y1, p0, p1, cval_at) = _unpack(t, desc_address, aux_ptr)  # fmt: skip
    _running_task(header, geom, gio, sio, soff, doff, vidx[0], h, v, y0, y1, p0, p1, cval_at)


@functools.cache
def task_address(work_dtype: np.dtype) -> int:
    """Address of the running-sum task for a work dtype (compiled on first use)."""
    return _compile(_running_entry, types.int64, types.int64, _ptr_type(work_dtype))
