"""The tap loops: every vectorised multiply-add over a row of the work dtype.

Folded (anti)symmetric taps, single taps and the two-term (low-rank) loops,
applied up to four per pass over the row, the first group writing it
(``INIT`` ... ``ACCUMULATE_CENTER``).  They are compiled into the tap
cfuncs of :mod:`._k_calls`, one per work dtype.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import _FASTMATH, KIND_PAIR

# --------------------------------------------------------------------------- taps


# How a group of taps meets the output row: the first group of a row writes it,
# later groups add to it, and a folded kernel's centre tap rides along with its
# first group.  Writing instead of zero-filling and adding saves a store per
# element, and a store per element is what small kernels are bound by.
INIT, INIT_CENTER, ACCUMULATE, ACCUMULATE_CENTER = 0, 1, 2, 3


@njit(cache=True)
def _zero(out, L):
    for i in range(np.uint64(L)):
        out[i] = 0


# Symmetric pairs add (w * (a + b)) and antisymmetric pairs subtract: plain
# additions run on the FPU's adder pipes, beside the multiply-adds.
@njit(cache=True, fastmath=_FASTMATH)
def _sym1(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    c = np.uint64(c)
    if mode == INIT_CENTER:
        for i in range(np.uint64(L)):
            out[i] = wc * buf[c + i] + w0 * (buf[a0 + i] + buf[b0 + i])
    elif mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = w0 * (buf[a0 + i] + buf[b0 + i])
    elif mode == ACCUMULATE_CENTER:
        for i in range(np.uint64(L)):
            out[i] += wc * buf[c + i] + w0 * (buf[a0 + i] + buf[b0 + i])
    else:
        for i in range(np.uint64(L)):
            out[i] += w0 * (buf[a0 + i] + buf[b0 + i])


@njit(cache=True, fastmath=_FASTMATH)
def _sym2(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    c = np.uint64(c)
    if mode == INIT_CENTER:
        for i in range(np.uint64(L)):
            out[i] = (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
            )
    elif mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = w0 * (buf[a0 + i] + buf[b0 + i]) + w1 * (buf[a1 + i] + buf[b1 + i])
    elif mode == ACCUMULATE_CENTER:
        for i in range(np.uint64(L)):
            out[i] += (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
            )
    else:
        for i in range(np.uint64(L)):
            out[i] += w0 * (buf[a0 + i] + buf[b0 + i]) + w1 * (buf[a1 + i] + buf[b1 + i])


@njit(cache=True, fastmath=_FASTMATH)
def _sym3(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    a2, b2, w2 = np.uint64(a[j + 2]), np.uint64(b[j + 2]), w[j + 2]
    c = np.uint64(c)
    if mode == INIT_CENTER:
        for i in range(np.uint64(L)):
            out[i] = (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
            )
    elif mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = (
                w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
            )
    elif mode == ACCUMULATE_CENTER:
        for i in range(np.uint64(L)):
            out[i] += (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
            )
    else:
        for i in range(np.uint64(L)):
            out[i] += (
                w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
            )


@njit(cache=True, fastmath=_FASTMATH)
def _sym4(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    a2, b2, w2 = np.uint64(a[j + 2]), np.uint64(b[j + 2]), w[j + 2]
    a3, b3, w3 = np.uint64(a[j + 3]), np.uint64(b[j + 3]), w[j + 3]
    c = np.uint64(c)
    if mode == INIT_CENTER:
        for i in range(np.uint64(L)):
            out[i] = (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
                + w3 * (buf[a3 + i] + buf[b3 + i])
            )
    elif mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = (
                w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
                + w3 * (buf[a3 + i] + buf[b3 + i])
            )
    elif mode == ACCUMULATE_CENTER:
        for i in range(np.uint64(L)):
            out[i] += (
                wc * buf[c + i]
                + w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
                + w3 * (buf[a3 + i] + buf[b3 + i])
            )
    else:
        for i in range(np.uint64(L)):
            out[i] += (
                w0 * (buf[a0 + i] + buf[b0 + i])
                + w1 * (buf[a1 + i] + buf[b1 + i])
                + w2 * (buf[a2 + i] + buf[b2 + i])
                + w3 * (buf[a3 + i] + buf[b3 + i])
            )


@njit(cache=True, fastmath=_FASTMATH)
def _anti1(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    if mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = w0 * (buf[a0 + i] - buf[b0 + i])
    else:
        for i in range(np.uint64(L)):
            out[i] += w0 * (buf[a0 + i] - buf[b0 + i])


@njit(cache=True, fastmath=_FASTMATH)
def _anti2(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    if mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = w0 * (buf[a0 + i] - buf[b0 + i]) + w1 * (buf[a1 + i] - buf[b1 + i])
    else:
        for i in range(np.uint64(L)):
            out[i] += w0 * (buf[a0 + i] - buf[b0 + i]) + w1 * (buf[a1 + i] - buf[b1 + i])


@njit(cache=True, fastmath=_FASTMATH)
def _anti3(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    a2, b2, w2 = np.uint64(a[j + 2]), np.uint64(b[j + 2]), w[j + 2]
    if mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = (
                w0 * (buf[a0 + i] - buf[b0 + i])
                + w1 * (buf[a1 + i] - buf[b1 + i])
                + w2 * (buf[a2 + i] - buf[b2 + i])
            )
    else:
        for i in range(np.uint64(L)):
            out[i] += (
                w0 * (buf[a0 + i] - buf[b0 + i])
                + w1 * (buf[a1 + i] - buf[b1 + i])
                + w2 * (buf[a2 + i] - buf[b2 + i])
            )


@njit(cache=True, fastmath=_FASTMATH)
def _anti4(out, buf, a, b, w, j, c, wc, mode, L):
    a0, b0, w0 = np.uint64(a[j]), np.uint64(b[j]), w[j]
    a1, b1, w1 = np.uint64(a[j + 1]), np.uint64(b[j + 1]), w[j + 1]
    a2, b2, w2 = np.uint64(a[j + 2]), np.uint64(b[j + 2]), w[j + 2]
    a3, b3, w3 = np.uint64(a[j + 3]), np.uint64(b[j + 3]), w[j + 3]
    if mode == INIT:
        for i in range(np.uint64(L)):
            out[i] = (
                w0 * (buf[a0 + i] - buf[b0 + i])
                + w1 * (buf[a1 + i] - buf[b1 + i])
                + w2 * (buf[a2 + i] - buf[b2 + i])
                + w3 * (buf[a3 + i] - buf[b3 + i])
            )
    else:
        for i in range(np.uint64(L)):
            out[i] += (
                w0 * (buf[a0 + i] - buf[b0 + i])
                + w1 * (buf[a1 + i] - buf[b1 + i])
                + w2 * (buf[a2 + i] - buf[b2 + i])
                + w3 * (buf[a3 + i] - buf[b3 + i])
            )


@njit(cache=True, fastmath=_FASTMATH)
def _singles1(out, buf, a, w, j, mode, L):
    a0, w0 = np.uint64(a[j]), w[j]
    if mode == ACCUMULATE:
        for i in range(np.uint64(L)):
            out[i] += w0 * buf[a0 + i]
    else:
        for i in range(np.uint64(L)):
            out[i] = w0 * buf[a0 + i]


@njit(cache=True, fastmath=_FASTMATH)
def _singles4(out, buf, a, w, j, mode, L):
    a0, a1, a2, a3 = np.uint64(a[j]), np.uint64(a[j + 1]), np.uint64(a[j + 2]), np.uint64(a[j + 3])
    w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
    if mode == ACCUMULATE:
        for i in range(np.uint64(L)):
            out[i] += w0 * buf[a0 + i] + w1 * buf[a1 + i] + w2 * buf[a2 + i] + w3 * buf[a3 + i]
    else:
        for i in range(np.uint64(L)):
            out[i] = w0 * buf[a0 + i] + w1 * buf[a1 + i] + w2 * buf[a2 + i] + w3 * buf[a3 + i]


@njit(cache=True, fastmath=_FASTMATH)
def _dual_center(out0, out1, buf, c, w0, w1, L):
    c = np.uint64(c)
    for i in range(np.uint64(L)):
        x = buf[c + i]
        out0[i] = w0 * x
        out1[i] = w1 * x


@njit(cache=True, fastmath=_FASTMATH)
def _dual1(out0, out1, buf, a, b, u, p, w, g, j, L):
    a0, b0 = np.uint64(a[j]), np.uint64(b[j])
    u0, p0, w0, g0 = u[j], p[j], w[j], g[j]
    for i in range(np.uint64(L)):
        s0, t0 = buf[a0 + i], buf[b0 + i]
        out0[i] += u0 * (s0 + p0 * t0)
        out1[i] += w0 * (s0 + g0 * t0)


@njit(cache=True, fastmath=_FASTMATH)
def _dual4(out0, out1, buf, a, b, u, p, w, g, j, L):
    a0, a1, a2, a3 = np.uint64(a[j]), np.uint64(a[j + 1]), np.uint64(a[j + 2]), np.uint64(a[j + 3])
    b0, b1, b2, b3 = np.uint64(b[j]), np.uint64(b[j + 1]), np.uint64(b[j + 2]), np.uint64(b[j + 3])
    u0, u1, u2, u3 = u[j], u[j + 1], u[j + 2], u[j + 3]
    p0, p1, p2, p3 = p[j], p[j + 1], p[j + 2], p[j + 3]
    w0, w1, w2, w3 = w[j], w[j + 1], w[j + 2], w[j + 3]
    g0, g1, g2, g3 = g[j], g[j + 1], g[j + 2], g[j + 3]
    for i in range(np.uint64(L)):
        s0, t0 = buf[a0 + i], buf[b0 + i]
        s1, t1 = buf[a1 + i], buf[b1 + i]
        s2, t2 = buf[a2 + i], buf[b2 + i]
        s3, t3 = buf[a3 + i], buf[b3 + i]
        out0[i] += (
            u0 * (s0 + p0 * t0) + u1 * (s1 + p1 * t1) + u2 * (s2 + p2 * t2) + u3 * (s3 + p3 * t3)
        )
        out1[i] += (
            w0 * (s0 + g0 * t0) + w1 * (s1 + g1 * t1) + w2 * (s2 + g2 * t2) + w3 * (s3 + g3 * t3)
        )


@njit(cache=True)
def _apply_dual(out0, out1, buf, a, b, kind, n, u, p, w, g, L):
    """Two terms whose taps read the same rows, loading each row once.

    The tap lists (``a``, ``b``, ``kind``) are shared; ``u, p`` and ``w, g`` are
    the weights and signs of the two terms.  At most one single tap, the
    centre, after the pairs (the caller checks).
    """
    pairs = np.int64(0)
    while pairs < n and kind[pairs] == KIND_PAIR:
        pairs += 1
    if pairs < n:
        _dual_center(out0, out1, buf, a[pairs], u[pairs], w[pairs], L)
    else:
        _zero(out0, L)
        _zero(out1, L)
    j = np.int64(0)
    while j < pairs:
        if pairs - j >= 4:
            _dual4(out0, out1, buf, a, b, u, p, w, g, j, L)
            j += 4
        else:
            _dual1(out0, out1, buf, a, b, u, p, w, g, j, L)
            j += 1


@njit(cache=True)
def _apply_taps(out, buf, a, b, w, g, kind, n, L, accumulate):
    """``out[:L] (=, +=) sum_j w[j] * (buf[a[j] + i] + g[j] * buf[b[j] + i])``.

    The tap list holds the folded pairs first, then the single taps (``g = 0``,
    no ``b``); the first single of a folded kernel is its centre and joins the
    first group of pairs.  Up to four taps are applied per pass over the row.
    No taps (an all-zero kernel) gives zeros, as in scipy, which skips zero
    weights.
    """
    if n == 0:
        if not accumulate:
            _zero(out, L)
        return
    pairs = np.int64(0)  # not a literal: one specialisation of the callees
    while pairs < n and kind[pairs] == KIND_PAIR:
        pairs += 1
    center = pairs > 0 and pairs < n
    c = a[pairs] if center else a[0]
    wc = w[pairs] if center else w[0]
    if accumulate:
        mode = ACCUMULATE_CENTER if center else ACCUMULATE
    else:
        mode = INIT_CENTER if center else INIT
    sym = pairs > 0 and g[0] > 0
    j = np.int64(0)
    while j < pairs:
        count = min(4, pairs - j)
        if sym:
            if count == 4:
                _sym4(out, buf, a, b, w, j, c, wc, mode, L)
            elif count == 3:
                _sym3(out, buf, a, b, w, j, c, wc, mode, L)
            elif count == 2:
                _sym2(out, buf, a, b, w, j, c, wc, mode, L)
            else:
                _sym1(out, buf, a, b, w, j, c, wc, mode, L)
        else:
            if count == 4:
                _anti4(out, buf, a, b, w, j, c, wc, mode, L)
            elif count == 3:
                _anti3(out, buf, a, b, w, j, c, wc, mode, L)
            elif count == 2:
                _anti2(out, buf, a, b, w, j, c, wc, mode, L)
            else:
                _anti1(out, buf, a, b, w, j, c, wc, mode, L)
        mode = ACCUMULATE
        j += count
    j = pairs + 1 if center else pairs
    while j < n:
        if n - j >= 4:
            _singles4(out, buf, a, w, j, mode, L)
            j += 4
        else:
            _singles1(out, buf, a, w, j, mode, L)
            j += 1
        mode = ACCUMULATE
