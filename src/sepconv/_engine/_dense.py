"""Dense kernels over three or more axes (scipy's ``NI_Correlate`` order).

A dense 2-D kernel runs in the sweep (:mod:`._sweep`), one term per kernel
row.  Over more axes, each output sample is ``0.0 + w0*x0 + w1*x1 + ...``
over the kernel's taps with ``|w| > DBL_EPSILON`` in C order, in double
(scipy's ``NI_Correlate``); the fast policy runs these too, since volumes
with dense 3-D kernels are rare and the cost is in the taps, not the rounding.

* :func:`dense3d`: a volume (or a batch of images with a kernel one plane
  deep), strip by strip: the boundary-extended rows a strip reads (``k0``
  planes of ``strip + k1 - 1`` rows) are converted to double into a buffer
  that stays in cache instead of extending the whole array first.
* :func:`dense_nd`: more axes, from the boundary-extended input in double.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._cast import store_row
from ._sweep import load_row

__all__ = ["dense3d", "dense_nd"]


@njit(cache=True, nogil=True)
def dense3d(t0, t1, src, dst, idx0, idx1, idx2, taps, weights, ints, floats):
    """Task ``t``: strip ``t % nstrips`` of ``strip`` rows of plane ``t // nstrips``.

    Tap ``j`` (offsets ``taps[j]`` = plane, row, column) reads
    ``pad[taps[j, 0], i + taps[j, 1], x + taps[j, 2]]``; four taps per sweep,
    added left to right.  ``src``/``dst`` are raw bytes seen as ``(n0, n1, n2 *
    itemsize)``; ``ints = (before along axis 2, rule, strip, scode, dcode, n2)``.
    """
    n0, n1 = src.shape[0], src.shape[1]
    b2, rule, strip, scode, dcode, n2 = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    cval = floats[0]
    k0 = idx0.shape[0] - n0 + 1
    k1 = idx1.shape[0] - n1 + 1
    m2 = idx2.shape[0]
    nstrips = (n1 + strip - 1) // strip
    pad = np.empty((k0, strip + k1 - 1, m2), np.float64)
    acc = np.empty(n2, np.float64)
    count = weights.shape[0]
    for u in range(t0, t1):
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
                    load_row(src[plane, r], scode, row, 0, m2, 1, b2, n2, idx2, cval)
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
            store_row(dst[z, i], 0, acc, n2, rule, dcode)


@njit(cache=True, nogil=True)
def dense_nd(t0, t1, padded, dst, pstrides, oshape, offsets, weights, codes):
    """Output rows ``t0 .. t1`` (``dst`` raw bytes seen as ``(rows, n * itemsize)``).

    ``padded`` is the extended input, flat, in double, with element strides
    ``pstrides``; ``offsets[t]`` is the flat offset of kept tap ``t`` (C order);
    ``codes = (rule, dcode)``.
    """
    nd = oshape.shape[0]
    n = oshape[nd - 1]
    acc = np.empty(n, np.float64)
    taps = offsets.shape[0]
    for r in range(t0, t1):
        base = 0
        rem = r
        for ax in range(nd - 2, -1, -1):
            q = rem % oshape[ax]
            rem //= oshape[ax]
            base += q * pstrides[ax]
        for i in range(n):
            acc[i] = 0.0
        for t in range(taps):
            w = weights[t]
            b = base + offsets[t]
            seg = padded[b : b + n]
            for i in range(n):
                acc[i] += w * seg[i]
        store_row(dst[r], 0, acc, n, codes[0], codes[1])
