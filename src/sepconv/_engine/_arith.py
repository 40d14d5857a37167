"""The arithmetic policies: how taps are applied to a row, and nothing else.

The engine's sweep (:mod:`._sweep`) moves rows through a ring; this module
holds the only code that differs between the two policies, the tap loops.
Each policy has a horizontal form (taps along a padded row, ``C`` elements
apart, for the unfiltered axes interleaved inside the filtered one) and a
vertical form (taps across rows of the ring).

``exact`` (scipy.ndimage's bits).  Double arithmetic in scipy's order, operation
for operation (``ni_filters.c``): an odd (anti)symmetric kernel starts from the
centre tap and adds the folded pairs from the outermost in; any other kernel
starts from its last tap and adds the others first to last; scipy's N-D
correlate (``NI_Correlate``) starts from ``0.0`` and adds ``w * x`` for its
nonzero taps in C order.  Up to four taps are added per sweep over the row,
left to right, so each sample sees exactly scipy's sequence of IEEE
operations.  Numba contracts nothing here (no ``fastmath``): no fused
multiply-add, whose single rounding would change bits.

``fast`` (rounding-level).  The work dtype (float32 for float32 and 8-bit data
where that is exact enough, float64 otherwise), symmetric pairs folded
(``w * (a + b)``), up to four folded taps per sweep, and multiply-add
contraction (``fastmath={"contract"}``: FMA, no reassociation, so NaN and
infinity propagate as in plain IEEE arithmetic).

Tap tables.  The Python side (:mod:`._taps`) describes a 1-D filter for its
policy with an int64 table and a weight vector of the work dtype (see
:func:`._taps.table`); the kernels here read those.  ``KIND_IDENTITY`` (no
arithmetic: the row itself, ``offset`` taps along) lets a term skip a pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "KIND_ANTI",
    "KIND_IDENTITY",
    "KIND_ND",
    "KIND_PLAIN",
    "KIND_SYM",
    "T_CENTER",
    "T_COUNT",
    "T_KIND",
    "T_OFFSETS",
    "T_SIZE",
]

# Table layout: ints[T_KIND], ints[T_SIZE] (taps of the unfolded kernel),
# ints[T_COUNT] (entries), ints[T_CENTER] (tap index of the centre / identity
# offset), then per entry: ints[T_OFFSETS + 2 j], ints[T_OFFSETS + 2 j + 1]
# (tap indices a, b); weights[0] is the centre weight, weights[1 + j] entry j's.
T_KIND, T_SIZE, T_COUNT, T_CENTER, T_OFFSETS = 0, 1, 2, 3, 4

KIND_PLAIN = 0  # no symmetry: single taps (exact: last tap first, then the others in order)
KIND_SYM = 1  # odd symmetric: centre + pairs w * (a + b)
KIND_ANTI = 2  # odd antisymmetric: (centre +) pairs w * (a - b)
KIND_ND = 3  # exact only: scipy's N-D order, acc += w * x for each entry (acc from 0.0)
KIND_IDENTITY = 4  # no pass: the row itself, T_CENTER taps along

_FASTMATH = {"contract"}


# =========================================================================== exact


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _wrap(r, kv):
    # (y + tap) % kv for y % kv and 0 <= tap < kv: a 64-bit division per tap per
    # row cost more than the taps of a narrow row.
    return r - kv if r >= kv else r


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _xpair4(acc, a1, b1, a2, b2, a3, b3, a4, b4, f1, f2, f3, f4, n, anti):
    # Four taps per sweep over acc, added left to right: each sample sees exactly
    # the one-tap-at-a-time sequence, with a quarter of the loads/stores of acc.
    if anti:
        for i in range(n):
            acc[i] = (
                ((acc[i] + (a1[i] - b1[i]) * f1) + (a2[i] - b2[i]) * f2) + (a3[i] - b3[i]) * f3
            ) + (a4[i] - b4[i]) * f4
    else:
        for i in range(n):
            acc[i] = (
                ((acc[i] + (a1[i] + b1[i]) * f1) + (a2[i] + b2[i]) * f2) + (a3[i] + b3[i]) * f3
            ) + (a4[i] + b4[i]) * f4


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _xpair1(acc, a, b, f, n, anti):
    if anti:
        for i in range(n):
            acc[i] += (a[i] - b[i]) * f
    else:
        for i in range(n):
            acc[i] += (a[i] + b[i]) * f


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _xtaps4(acc, a1, a2, a3, a4, f1, f2, f3, f4, n):
    for i in range(n):
        acc[i] = (((acc[i] + a1[i] * f1) + a2[i] * f2) + a3[i] * f3) + a4[i] * f4


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _xnd4(acc, a1, a2, a3, a4, f1, f2, f3, f4, n):
    # NI_Correlate: acc += w * x (weight first; multiplication commutes exactly).
    for i in range(n):
        acc[i] = (((acc[i] + f1 * a1[i]) + f2 * a2[i]) + f3 * a3[i]) + f4 * a4[i]


@njit(cache=True, nogil=True, _nrt=False)
def hpass_exact(buf, acc, n, C, ti, tw, accumulate):
    """``acc[:n]`` = (or +=, for KIND_ND) the exact filtering of the padded row ``buf``.

    Output ``q`` reads ``buf[q + j * C]`` for tap ``j``.
    """
    kind = ti[T_KIND]
    count = ti[T_COUNT]
    if kind == KIND_IDENTITY:
        s = ti[T_CENTER] * C
        for i in range(n):
            acc[i] = buf[s + i]
        return
    if kind == KIND_ND:
        if not accumulate:
            for i in range(n):
                acc[i] = 0.0
        j = 0
        while j + 4 <= count:
            o1 = ti[T_OFFSETS + 2 * j] * C
            o2 = ti[T_OFFSETS + 2 * j + 2] * C
            o3 = ti[T_OFFSETS + 2 * j + 4] * C
            o4 = ti[T_OFFSETS + 2 * j + 6] * C
            _xnd4(
                acc,
                buf[o1 : o1 + n],
                buf[o2 : o2 + n],
                buf[o3 : o3 + n],
                buf[o4 : o4 + n],
                tw[1 + j],
                tw[2 + j],
                tw[3 + j],
                tw[4 + j],
                n,
            )
            j += 4
        while j < count:
            o = ti[T_OFFSETS + 2 * j] * C
            a = buf[o : o + n]
            f = tw[1 + j]
            for i in range(n):
                acc[i] += f * a[i]
            j += 1
        return
    c = ti[T_CENTER] * C
    mid = buf[c : c + n]
    f0 = tw[0]
    for i in range(n):
        acc[i] = mid[i] * f0
    if kind == KIND_PLAIN:
        j = 0
        while j + 4 <= count:
            o1 = ti[T_OFFSETS + 2 * j] * C
            o2 = ti[T_OFFSETS + 2 * j + 2] * C
            o3 = ti[T_OFFSETS + 2 * j + 4] * C
            o4 = ti[T_OFFSETS + 2 * j + 6] * C
            _xtaps4(
                acc,
                buf[o1 : o1 + n],
                buf[o2 : o2 + n],
                buf[o3 : o3 + n],
                buf[o4 : o4 + n],
                tw[1 + j],
                tw[2 + j],
                tw[3 + j],
                tw[4 + j],
                n,
            )
            j += 4
        while j < count:
            o = ti[T_OFFSETS + 2 * j] * C
            a = buf[o : o + n]
            f = tw[1 + j]
            for i in range(n):
                acc[i] += a[i] * f
            j += 1
        return
    anti = kind == KIND_ANTI
    j = 0
    while j + 4 <= count:
        a1, b1 = ti[T_OFFSETS + 2 * j] * C, ti[T_OFFSETS + 2 * j + 1] * C
        a2, b2 = ti[T_OFFSETS + 2 * j + 2] * C, ti[T_OFFSETS + 2 * j + 3] * C
        a3, b3 = ti[T_OFFSETS + 2 * j + 4] * C, ti[T_OFFSETS + 2 * j + 5] * C
        a4, b4 = ti[T_OFFSETS + 2 * j + 6] * C, ti[T_OFFSETS + 2 * j + 7] * C
        _xpair4(
            acc,
            buf[a1 : a1 + n],
            buf[b1 : b1 + n],
            buf[a2 : a2 + n],
            buf[b2 : b2 + n],
            buf[a3 : a3 + n],
            buf[b3 : b3 + n],
            buf[a4 : a4 + n],
            buf[b4 : b4 + n],
            tw[1 + j],
            tw[2 + j],
            tw[3 + j],
            tw[4 + j],
            n,
            anti,
        )
        j += 4
    while j < count:
        a, b = ti[T_OFFSETS + 2 * j] * C, ti[T_OFFSETS + 2 * j + 1] * C
        _xpair1(acc, buf[a : a + n], buf[b : b + n], tw[1 + j], n, anti)
        j += 1


@njit(cache=True, nogil=True, _nrt=False)
def vpass_exact(ring, y, kv, j0, n, ti, tw, acc):
    """``acc[:n]`` = the exact filtering down columns ``j0 .. j0 + n`` of the ring.

    Tap ``j`` of output row ``y`` reads ring row ``_wrap(ym + j, kv)``.
    """
    kind = ti[T_KIND]
    count = ti[T_COUNT]
    j1 = j0 + n
    ym = y % kv  # one division per row; each tap's row is then a compare
    if kind == KIND_IDENTITY:
        r = ring[_wrap(ym + ti[T_CENTER], kv), j0:j1]
        for i in range(n):
            acc[i] = r[i]
        return
    mid = ring[_wrap(ym + ti[T_CENTER], kv), j0:j1]
    f0 = tw[0]
    for i in range(n):
        acc[i] = mid[i] * f0
    if kind == KIND_PLAIN:
        j = 0
        while j + 4 <= count:
            _xtaps4(
                acc,
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 2], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 4], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 6], kv), j0:j1],
                tw[1 + j],
                tw[2 + j],
                tw[3 + j],
                tw[4 + j],
                n,
            )
            j += 4
        while j < count:
            a = ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1]
            f = tw[1 + j]
            for i in range(n):
                acc[i] += a[i] * f
            j += 1
        return
    anti = kind == KIND_ANTI
    j = 0
    while j + 4 <= count:
        _xpair4(
            acc,
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 1], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 2], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 3], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 4], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 5], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 6], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 7], kv), j0:j1],
            tw[1 + j],
            tw[2 + j],
            tw[3 + j],
            tw[4 + j],
            n,
            anti,
        )
        j += 4
    while j < count:
        _xpair1(
            acc,
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 1], kv), j0:j1],
            tw[1 + j],
            n,
            anti,
        )
        j += 1


# =========================================================================== fast


# How a group of taps meets the output row: the first group writes it (with the
# centre tap when there is one), later groups add -- one store per element per
# group of four taps.  Zero weights are not in the tables (the fast policy drops
# them, so a NaN under a zero tap does not spread), hence "no centre" is a mode.
ADD, INIT_CENTER, INIT, ADD_CENTER = 0, 1, 2, 3


@njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always", _nrt=False)
def _fpair4(acc, mode, c, fc, a1, b1, a2, b2, a3, b3, a4, b4, f1, f2, f3, f4, n, anti):
    if anti:
        if mode == INIT_CENTER:
            for i in range(n):
                acc[i] = (
                    fc * c[i]
                    + f1 * (a1[i] - b1[i])
                    + f2 * (a2[i] - b2[i])
                    + f3 * (a3[i] - b3[i])
                    + f4 * (a4[i] - b4[i])
                )
        elif mode == INIT:
            for i in range(n):
                acc[i] = (
                    f1 * (a1[i] - b1[i])
                    + f2 * (a2[i] - b2[i])
                    + f3 * (a3[i] - b3[i])
                    + f4 * (a4[i] - b4[i])
                )
        elif mode == ADD_CENTER:
            for i in range(n):
                acc[i] += (
                    fc * c[i]
                    + f1 * (a1[i] - b1[i])
                    + f2 * (a2[i] - b2[i])
                    + f3 * (a3[i] - b3[i])
                    + f4 * (a4[i] - b4[i])
                )
        else:
            for i in range(n):
                acc[i] += (
                    f1 * (a1[i] - b1[i])
                    + f2 * (a2[i] - b2[i])
                    + f3 * (a3[i] - b3[i])
                    + f4 * (a4[i] - b4[i])
                )
    else:
        if mode == INIT_CENTER:
            for i in range(n):
                acc[i] = (
                    fc * c[i]
                    + f1 * (a1[i] + b1[i])
                    + f2 * (a2[i] + b2[i])
                    + f3 * (a3[i] + b3[i])
                    + f4 * (a4[i] + b4[i])
                )
        elif mode == INIT:
            for i in range(n):
                acc[i] = (
                    f1 * (a1[i] + b1[i])
                    + f2 * (a2[i] + b2[i])
                    + f3 * (a3[i] + b3[i])
                    + f4 * (a4[i] + b4[i])
                )
        elif mode == ADD_CENTER:
            for i in range(n):
                acc[i] += (
                    fc * c[i]
                    + f1 * (a1[i] + b1[i])
                    + f2 * (a2[i] + b2[i])
                    + f3 * (a3[i] + b3[i])
                    + f4 * (a4[i] + b4[i])
                )
        else:
            for i in range(n):
                acc[i] += (
                    f1 * (a1[i] + b1[i])
                    + f2 * (a2[i] + b2[i])
                    + f3 * (a3[i] + b3[i])
                    + f4 * (a4[i] + b4[i])
                )


@njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always", _nrt=False)
def _fpair1(acc, mode, c, fc, a, b, f, n, anti):
    if anti:
        if mode == INIT_CENTER:
            for i in range(n):
                acc[i] = fc * c[i] + f * (a[i] - b[i])
        elif mode == INIT:
            for i in range(n):
                acc[i] = f * (a[i] - b[i])
        elif mode == ADD_CENTER:
            for i in range(n):
                acc[i] += fc * c[i] + f * (a[i] - b[i])
        else:
            for i in range(n):
                acc[i] += f * (a[i] - b[i])
    else:
        if mode == INIT_CENTER:
            for i in range(n):
                acc[i] = fc * c[i] + f * (a[i] + b[i])
        elif mode == INIT:
            for i in range(n):
                acc[i] = f * (a[i] + b[i])
        elif mode == ADD_CENTER:
            for i in range(n):
                acc[i] += fc * c[i] + f * (a[i] + b[i])
        else:
            for i in range(n):
                acc[i] += f * (a[i] + b[i])


@njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always", _nrt=False)
def _fsingle4(acc, init, a1, a2, a3, a4, f1, f2, f3, f4, n):
    if init:
        for i in range(n):
            acc[i] = f1 * a1[i] + f2 * a2[i] + f3 * a3[i] + f4 * a4[i]
    else:
        for i in range(n):
            acc[i] += f1 * a1[i] + f2 * a2[i] + f3 * a3[i] + f4 * a4[i]


@njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always", _nrt=False)
def _fsingle1(acc, init, a, f, n):
    if init:
        for i in range(n):
            acc[i] = f * a[i]
    else:
        for i in range(n):
            acc[i] += f * a[i]


@njit(cache=True, nogil=True, fastmath=_FASTMATH, _nrt=False)
def hpass_fast(buf, acc, n, C, ti, tw, accumulate):
    """``acc[:n]`` = (or += with ``accumulate``) the fast filtering of the padded row ``buf``."""
    kind = ti[T_KIND]
    count = ti[T_COUNT]
    init = not accumulate
    if kind == KIND_IDENTITY:
        s = ti[T_CENTER] * C
        if init:
            for i in range(n):
                acc[i] = buf[s + i]
        else:
            for i in range(n):
                acc[i] += buf[s + i]
        return
    if kind == KIND_PLAIN:
        j = 0
        while j + 4 <= count:
            o1 = ti[T_OFFSETS + 2 * j] * C
            o2 = ti[T_OFFSETS + 2 * j + 2] * C
            o3 = ti[T_OFFSETS + 2 * j + 4] * C
            o4 = ti[T_OFFSETS + 2 * j + 6] * C
            _fsingle4(
                acc,
                init,
                buf[o1 : o1 + n],
                buf[o2 : o2 + n],
                buf[o3 : o3 + n],
                buf[o4 : o4 + n],
                tw[1 + j],
                tw[2 + j],
                tw[3 + j],
                tw[4 + j],
                n,
            )
            init = False
            j += 4
        while j < count:
            o = ti[T_OFFSETS + 2 * j] * C
            _fsingle1(acc, init, buf[o : o + n], tw[1 + j], n)
            init = False
            j += 1
        if init:  # no taps: zeros (an all-zero kernel)
            for i in range(n):
                acc[i] = 0
        return
    anti = kind == KIND_ANTI
    has_c = ti[T_CENTER] >= 0
    c = max(ti[T_CENTER], 0) * C
    mid = buf[c : c + n]
    fc = tw[0]
    if accumulate:
        mode = ADD_CENTER if has_c else ADD
    else:
        mode = INIT_CENTER if has_c else INIT
    j = 0
    while j + 4 <= count:
        a1, b1 = ti[T_OFFSETS + 2 * j] * C, ti[T_OFFSETS + 2 * j + 1] * C
        a2, b2 = ti[T_OFFSETS + 2 * j + 2] * C, ti[T_OFFSETS + 2 * j + 3] * C
        a3, b3 = ti[T_OFFSETS + 2 * j + 4] * C, ti[T_OFFSETS + 2 * j + 5] * C
        a4, b4 = ti[T_OFFSETS + 2 * j + 6] * C, ti[T_OFFSETS + 2 * j + 7] * C
        _fpair4(
            acc,
            mode,
            mid,
            fc,
            buf[a1 : a1 + n],
            buf[b1 : b1 + n],
            buf[a2 : a2 + n],
            buf[b2 : b2 + n],
            buf[a3 : a3 + n],
            buf[b3 : b3 + n],
            buf[a4 : a4 + n],
            buf[b4 : b4 + n],
            tw[1 + j],
            tw[2 + j],
            tw[3 + j],
            tw[4 + j],
            n,
            anti,
        )
        mode = ADD
        j += 4
    while j < count:
        a, b = ti[T_OFFSETS + 2 * j] * C, ti[T_OFFSETS + 2 * j + 1] * C
        _fpair1(acc, mode, mid, fc, buf[a : a + n], buf[b : b + n], tw[1 + j], n, anti)
        mode = ADD
        j += 1
    if count == 0 and has_c:  # only the centre tap
        _fsingle1(acc, not accumulate, mid, fc, n)
    elif count == 0 and not accumulate:
        for i in range(n):
            acc[i] = 0


@njit(cache=True, nogil=True, fastmath=_FASTMATH, _nrt=False)
def vpass_fast(ring, y, kv, j0, n, ti, tw, acc, accumulate):
    """``acc[:n]`` = (or +=) the fast filtering down columns ``j0 .. j0 + n`` of the ring."""
    kind = ti[T_KIND]
    count = ti[T_COUNT]
    init = not accumulate
    j1 = j0 + n
    ym = y % kv  # one division per row; each tap's row is then a compare
    if kind == KIND_IDENTITY:
        r = ring[_wrap(ym + ti[T_CENTER], kv), j0:j1]
        if init:
            for i in range(n):
                acc[i] = r[i]
        else:
            for i in range(n):
                acc[i] += r[i]
        return
    if kind == KIND_PLAIN:
        j = 0
        while j + 4 <= count:
            _fsingle4(
                acc,
                init,
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 2], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 4], kv), j0:j1],
                ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 6], kv), j0:j1],
                tw[1 + j],
                tw[2 + j],
                tw[3 + j],
                tw[4 + j],
                n,
            )
            init = False
            j += 4
        while j < count:
            _fsingle1(acc, init, ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1], tw[1 + j], n)
            init = False
            j += 1
        if init:
            for i in range(n):
                acc[i] = 0
        return
    anti = kind == KIND_ANTI
    has_c = ti[T_CENTER] >= 0
    mid = ring[_wrap(ym + max(ti[T_CENTER], 0), kv), j0:j1]
    fc = tw[0]
    if accumulate:
        mode = ADD_CENTER if has_c else ADD
    else:
        mode = INIT_CENTER if has_c else INIT
    j = 0
    while j + 4 <= count:
        _fpair4(
            acc,
            mode,
            mid,
            fc,
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 1], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 2], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 3], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 4], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 5], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 6], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 7], kv), j0:j1],
            tw[1 + j],
            tw[2 + j],
            tw[3 + j],
            tw[4 + j],
            n,
            anti,
        )
        mode = ADD
        j += 4
    while j < count:
        _fpair1(
            acc,
            mode,
            mid,
            fc,
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j], kv), j0:j1],
            ring[_wrap(ym + ti[T_OFFSETS + 2 * j + 1], kv), j0:j1],
            tw[1 + j],
            n,
            anti,
        )
        mode = ADD
        j += 1
    if count == 0 and has_c:
        _fsingle1(acc, not accumulate, mid, fc, n)
    elif count == 0 and not accumulate:
        for i in range(n):
            acc[i] = 0


# =========================================================================== box factors (fast)

#: A constant factor (all taps ``w``): doubling sums along a row, running sums
#: down columns (the fast policy only).
KIND_BOX = 5

_DBL_MAX = 1.7976931348623157e308

# Outputs between recomputations of a running sum from scratch: at least this
# many, and at least twice the window (the recomputation then costs at most
# half a load per output).
REFRESH_MIN = 128


@njit(cache=True, nogil=True, _nrt=False)
def refresh_interval(k):
    """Rows between recomputations of a vertical running sum of ``k`` taps.

    Sums are kept in float64 and restarted from a direct sum every
    ``N = max(128, 2 k)`` outputs (at fixed positions along the line), as scipy
    and OpenCV bound their drift: each move rounds twice, so a window sum
    differs from the exact one by at most ``(2 N + k) (k + 2) * 2**-53 *
    max|x|``, far below float32's rounding of the result.
    """
    return max(REFRESH_MIN, 2 * k)


@njit(cache=True, nogil=True, fastmath=_FASTMATH, inline="always", _nrt=False)
def doubling_sums(buf, total, n, C, k, lev_a, lev_b):
    """``total[q] = sum_{j<k} buf[q + j C]`` for ``q < n``, by doubling sums.

    A sum of ``k`` consecutive samples is a sum of blocks of ``2**b``
    consecutive samples, one per set bit ``b`` of ``k``; block sums of ``2 m``
    samples are two of ``m`` added (``s_2m[q] = s_m[q] + s_m[q + m C]``).  So
    a row costs ``log2(k)`` vector additions per output for the blocks and
    ``popcount(k)`` to add them up -- 8 for ``k = 31``, 9 for ``k = 101`` --
    every one a contiguous loop that vectorises (a running sum is one chain
    of dependent additions per line, 4-8 times slower here).  Each output is
    a sum of ``k`` terms in a tree of depth at most ``log2(k) + popcount(k)``
    (the rounding bound), the same for every output wherever its strip
    starts; NaN and infinities propagate as in a direct sum (no subtraction).
    ``lev_a`` and ``lev_b`` hold two block levels (``len(buf)`` each).  Any
    dtype: the fast policy's float rows, and the integer means of
    :mod:`._fixed` (exact sums, stored at the rows' width).
    """
    valid = n + (k - 1) * C  # samples of buf the outputs read
    level = buf
    into = lev_a
    flip = False
    m = 1  # block length of ``level``
    offset = 0  # samples already covered by the blocks added to ``total``
    started = False
    while True:
        # (slices, not level[i + step]: a shifted index may be negative to
        # Numba, whose wraparound test would keep the loop from vectorising)
        if k & m:
            block = level[offset * C : offset * C + n]
            if started:
                for i in range(n):
                    total[i] += block[i]
            else:
                for i in range(n):
                    total[i] = block[i]
                started = True
            offset += m
        if 2 * m > k:
            break
        step = m * C
        valid -= step
        ahead = level[step : step + valid]
        for i in range(valid):
            into[i] = level[i] + ahead[i]
        level = into
        flip = not flip
        into = lev_b if flip else lev_a
        m *= 2


@njit(cache=True, nogil=True, fastmath=_FASTMATH, _nrt=False)
def hbox_fast(buf, out, n, C, k, w, scratch, accumulate):
    """``out[q] (=, +=) w * sum_{j<k} buf[q + j C]`` for ``q < n``, by doubling sums
    (:func:`doubling_sums`).  ``scratch`` holds three rows of ``len(buf)``: two
    block levels and the sum.
    """
    total = scratch[2]
    doubling_sums(buf, total, n, C, k, scratch[0], scratch[1])
    wf = w
    if accumulate:
        for i in range(n):
            out[i] += wf * total[i]
    else:
        for i in range(n):
            out[i] = wf * total[i]


@njit(cache=True, nogil=True, _nrt=False)
def vbox_fast(ring, y, nring, k, n, w, vsum, fresh, acc, accumulate):
    """``acc[:n] (=, +=) w * (sum of the k ring rows of output row y)`` by a running sum.

    ``vsum`` (float64) carries the column sums from row ``y - 1``; ``fresh``
    recomputes them from the ``k`` rows.  The ring holds ``k + 1`` rows, so the
    row leaving the window is still there.  Returns whether the sums are finite
    (a NaN or infinity that entered keeps them otherwise: the caller then asks
    for fresh sums until they are finite again).
    """
    wf = np.float64(w)
    if fresh:
        for i in range(n):
            vsum[i] = 0.0
        for j in range(k):
            r = ring[(y + j) % nring]
            for i in range(n):
                vsum[i] += r[i]
    else:
        enter = ring[(y + k - 1) % nring]
        leave = ring[(y - 1) % nring]
        for i in range(n):
            vsum[i] += np.float64(enter[i]) - np.float64(leave[i])
    # Non-finite sums counted as integers: a float sum of ``t - t`` would not
    # vectorise (its additions may not be reordered).
    bad = 0
    if accumulate:
        for i in range(n):
            t = vsum[i]
            bad += not abs(t) <= _DBL_MAX
            acc[i] += wf * t
    else:
        for i in range(n):
            t = vsum[i]
            bad += not abs(t) <= _DBL_MAX
            acc[i] = wf * t
    return bad == 0
