"""Running sums: moving averages at a cost flat in the window, for both policies.

``exact``: scipy's ``NI_UniformFilter1D``, operation for operation: a line's
first window is summed left to right, each next one is the previous sum plus
the entering sample minus the leaving one (``t += x[i + size - 1] - x[i - 1]``),
and each output is that sum divided by ``size``.  The rounding carries along
the whole line, so a task always owns whole lines.  A running sum is a chain
of dependent additions: along a line, four lines advance together (four
independent chains in registers) and the divisions run afterwards as one
vector loop; down columns, a block of columns advances as one vector.

The kernels take the engine's launch convention (:func:`._launch.launch`):
``entry(t0, t1, src, dst, idx, ints, floats)`` with ``src``/``dst`` raw bytes
seen as ``(outer, n, inner * itemsize)``; ``ints = (before, size, rule, block,
scode, dcode, inner)`` (:mod:`._cast`) and ``floats = (cval,)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._cast import load, store_row
from ._sweep import load_row

__all__ = ["box_exact_inner", "box_exact_lines"]


@njit(cache=True, nogil=True, inline="always")
def _first_sum(b, size):
    t = 0.0
    for k in range(size):
        t += b[k]
    return t


@njit(cache=True, nogil=True)
def box_exact_lines(t0, t1, src, dst, idx, ints, floats):
    """scipy's running sum along each line (``src``/``dst`` seen as ``(1, lines, n)``).

    Task ``t`` is lines ``4 t .. 4 t + 3``.
    """
    size = ints[1]
    m = idx.shape[0]
    bufs = np.empty((4, m), np.float64)
    sums = np.empty((4, m - size + 1), np.float64)
    for task in range(t0, t1):
        _lines_task(task, src, dst, idx, ints, floats, bufs, sums)


@njit(cache=True, nogil=True, _nrt=False)
def _lines_task(task, src, dst, idx, ints, floats, bufs, sums):
    # no reference counting (the buffers come from the caller): a row view costs
    # an atomic increment otherwise, a third of a small image's time
    before, size, rule, scode, dcode = ints[0], ints[1], ints[2], ints[4], ints[5]
    cval = floats[0]
    lines, n = src.shape[1], idx.shape[0] - size + 1
    m = idx.shape[0]
    fs = np.float64(size)
    line = 4 * task
    lanes = min(4, lines - line)
    for k in range(lanes):
        load_row(src[0, line + k], scode, bufs[k], 0, m, 1, before, n, idx, cval)
    b0, b1, b2, b3 = bufs[0], bufs[1], bufs[2], bufs[3]
    s0, s1, s2, s3 = sums[0], sums[1], sums[2], sums[3]
    if lanes == 4:
        a0, a1, a2, a3 = (
            _first_sum(b0, size),
            _first_sum(b1, size),
            _first_sum(b2, size),
            _first_sum(b3, size),
        )
        s0[0], s1[0], s2[0], s3[0] = a0, a1, a2, a3
        for i in range(1, n):
            a0 += b0[i + size - 1] - b0[i - 1]
            a1 += b1[i + size - 1] - b1[i - 1]
            a2 += b2[i + size - 1] - b2[i - 1]
            a3 += b3[i + size - 1] - b3[i - 1]
            s0[i] = a0
            s1[i] = a1
            s2[i] = a2
            s3[i] = a3
    else:  # the last lines, one at a time
        for k in range(lanes):
            b, sk = bufs[k], sums[k]
            a = _first_sum(b, size)
            sk[0] = a
            for i in range(1, n):
                a += b[i + size - 1] - b[i - 1]
                sk[i] = a
    for k in range(lanes):
        sk = sums[k]
        for i in range(n):
            sk[i] = sk[i] / fs
        store_row(dst[0, line + k], 0, sk, n, rule, dcode)


@njit(cache=True, nogil=True, inline="always")
def _load_rows(plane, r, j0, w, cval, out, scode):
    # One row of a column block in double (cval rows for r < 0).
    if r >= 0:
        load(plane[r], j0, out, w, scode)
    else:
        for j in range(w):
            out[j] = cval


@njit(cache=True, nogil=True)
def box_exact_inner(t0, t1, src, dst, idx, ints, floats):
    """The running sum down axis 1 of ``(outer, n, inner)``, per block of columns.

    Task ``t`` is block ``t % nblocks`` of ``block`` columns of plane ``t // nblocks``.
    """
    block = ints[3]
    bufs = np.empty((4, block), np.float64)
    for task in range(t0, t1):
        _inner_task(task, src, dst, idx, ints, floats, bufs)


@njit(cache=True, nogil=True, _nrt=False)
def _inner_task(task, src, dst, idx, ints, floats, bufs):
    # no reference counting, as _lines_task
    size, rule, block, scode, dcode = ints[1], ints[2], ints[3], ints[4], ints[5]
    cval = floats[0]
    n, inner = src.shape[1], ints[6]
    nblocks = (inner + block - 1) // block
    tmp, acc, a, b = bufs[0], bufs[1], bufs[2], bufs[3]
    fs = np.float64(size)
    o = task // nblocks
    j0 = (task % nblocks) * block
    w = min(block, inner - j0)
    plane = src[o]
    for j in range(w):
        tmp[j] = 0.0
    for k in range(size):
        _load_rows(plane, idx[k], j0, w, cval, a, scode)
        for j in range(w):
            tmp[j] += a[j]
    for j in range(w):
        acc[j] = tmp[j] / fs
    store_row(dst[o, 0], j0, acc, w, rule, dcode)
    for i in range(1, n):
        _load_rows(plane, idx[i + size - 1], j0, w, cval, a, scode)
        _load_rows(plane, idx[i - 1], j0, w, cval, b, scode)
        for j in range(w):
            tmp[j] += a[j] - b[j]
            acc[j] = tmp[j] / fs
        store_row(dst[o, i], j0, acc, w, rule, dcode)
