"""Numba kernels that compute scipy.ndimage's linear filters bit for bit.

Each kernel follows the arithmetic of scipy's C core (``ni_filters.c``) for one
output sample exactly: lines are read into double precision, taps accumulate in
double in scipy's order (odd symmetric / antisymmetric kernels folded, the last
tap first otherwise), ``uniform_filter1d`` keeps scipy's running sum, the N-D
correlation sums ``w * x`` over the nonzero taps in C order, and the result is
stored with the C cast scipy's compiled code performs on x86-64.  What the
kernels change is only *when* samples are computed: taps run in the outer loop
and pixels in the inner one (SIMD across pixels), which leaves every sample's
sequence of IEEE operations, and so its bits, unchanged.  Numba does not
contract ``a * b + c`` into a fused multiply-add without ``fastmath``.

Every kernel has the signature ``fn(start, stop, ...)`` and processes work
units ``start .. stop - 1`` (lines, or blocks of columns), so a thread pool can
split a call into chunks; units never write to the same samples.

Nothing here is compiled at import: Numba compiles each kernel on first use for
the dtypes it meets and caches it on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "STORE_FLOAT",
    "STORE_INT32",
    "STORE_INT64",
    "STORE_UINT64",
    "STORE_UINT64_ND",
    "BLOCK_MAX",
    "BLOCK_MIN",
    "block_width",
    "correlate1d_inner",
    "correlate1d_last",
    "correlate_nd",
    "fir_block",
    "fir_line",
    "load_line",
    "load_row",
    "store",
    "store_code",
    "symmetry",
    "uniform1d_inner",
    "uniform1d_last",
]

# How a double is stored into the output (scipy's ``(type)value`` C cast as gcc
# compiles it for x86-64): floats round to nearest; int8 .. int32, uint8,
# uint16 and bool convert through a 32-bit ``cvttsd2si`` (out of range or NaN:
# INT32_MIN) and keep the low bits; uint32 and int64 through the 64-bit one;
# uint64 through gcc's two-range sequence.
STORE_FLOAT, STORE_INT32, STORE_INT64, STORE_UINT64 = 0, 1, 2, 3
# scipy's N-D correlate (``NI_Correlate``) stores uint64 through different
# code: values in (-2**64, 2**64) wrap modulo 2**64, others give 0, NaN 2**63.
STORE_UINT64_ND = 4

#: Bounds of the columns per work unit when filtering along an axis that is not
#: the last one (:func:`block_width`).
BLOCK_MIN, BLOCK_MAX = 128, 2048


def block_width(rows: int) -> int:
    """Columns per block for a pass that keeps ``rows`` double rows (a ring of
    the kernel's taps): about 24 KiB, so they stay in L1; wide blocks for short
    kernels walk the array in longer runs (fewer pages per block)."""
    width = (24 * 1024 // 8) // max(rows, 1)
    return int(min(BLOCK_MAX, max(BLOCK_MIN, width - width % 64)))


def store_code(dtype: np.dtype, nd: bool = False) -> int:
    """The cast rule for storing doubles into ``dtype`` (see the module notes)."""
    if dtype.kind == "f":
        return STORE_FLOAT
    if dtype == np.uint64:
        return STORE_UINT64_ND if nd else STORE_UINT64
    if dtype.itemsize == 8 or dtype == np.uint32:
        return STORE_INT64
    return STORE_INT32


@njit(cache=True, nogil=True, inline="always")
def _cvt64(x):
    # cvttsd2si with a 64-bit destination: NaN and out-of-range give INT64_MIN.
    if x >= -9.223372036854775808e18 and x < 9.223372036854775808e18:
        return np.int64(x)
    return np.int64(-9223372036854775808)


@njit(cache=True, nogil=True, inline="always")
def _cvt32(x):
    # cvttsd2si with a 32-bit destination: NaN and out-of-range give INT32_MIN.
    if x > -2147483649.0 and x < 2147483648.0:
        return np.int64(x)
    return np.int64(-2147483648)


@njit(cache=True, nogil=True, inline="always")
def _cvtu64(x):
    # gcc's double -> uint64 without AVX-512: below 2**63 (NaN included, as
    # ``comisd`` reports unordered as "below") a signed conversion, else the
    # conversion of x - 2**63 with the top bit flipped.
    if not x >= 9.223372036854775808e18:
        return _cvt64(x)
    return _cvt64(x - 9.223372036854775808e18) ^ np.int64(-9223372036854775808)


@njit(cache=True, nogil=True, inline="always")
def _cvtu64_nd(x):
    if x >= 9.223372036854775808e18:
        return _cvt64(x - 9.223372036854775808e18) ^ np.int64(-9223372036854775808)
    if x < -9.223372036854775808e18:
        return _cvt64(x + 9.223372036854775808e18) ^ np.int64(-9223372036854775808)
    return _cvt64(x)


@njit(cache=True, nogil=True)
def store(dst, acc, n, code):
    # The branch is outside the loops: one vector loop per cast rule.
    if code == 0:
        for i in range(n):
            dst[i] = acc[i]
    elif code == 1:
        for i in range(n):
            dst[i] = _cvt32(acc[i])
    elif code == 2:
        for i in range(n):
            dst[i] = _cvt64(acc[i])
    elif code == 3:
        for i in range(n):
            dst[i] = _cvtu64(acc[i])
    else:
        for i in range(n):
            dst[i] = _cvtu64_nd(acc[i])


# --------------------------------------------------------------------------- correlate1d


@njit(cache=True, nogil=True)
def symmetry(fw):
    """scipy's test for odd kernels: 1 symmetric, -1 antisymmetric, 0 neither.

    ``fabs(a - b) > DBL_EPSILON`` as in C, so a NaN weight passes both tests.
    """
    size = fw.shape[0]
    if not size & 1:
        return 0
    half = size // 2
    eps = 2.220446049250313e-16
    sym = 1
    for ii in range(1, half + 1):
        if abs(fw[ii + half] - fw[half - ii]) > eps:
            sym = 0
            break
    if sym == 0:
        sym = -1
        for ii in range(1, half + 1):
            if abs(fw[half + ii] + fw[half - ii]) > eps:
                return 0
    return sym


@njit(cache=True, nogil=True, inline="always")
def _sym4(acc, a1, b1, a2, b2, a3, b3, a4, b4, f1, f2, f3, f4, n, sym):
    # Four taps per sweep over ``acc``, added left to right: each sample sees
    # exactly the one-tap-at-a-time sequence of operations, with a quarter of
    # the loads and stores of ``acc``.
    if sym > 0:
        for i in range(n):
            acc[i] = (
                ((acc[i] + (a1[i] + b1[i]) * f1) + (a2[i] + b2[i]) * f2) + (a3[i] + b3[i]) * f3
            ) + (a4[i] + b4[i]) * f4
    else:
        for i in range(n):
            acc[i] = (
                ((acc[i] + (a1[i] - b1[i]) * f1) + (a2[i] - b2[i]) * f2) + (a3[i] - b3[i]) * f3
            ) + (a4[i] - b4[i]) * f4


@njit(cache=True, nogil=True, inline="always")
def _sym1(acc, a, b, f, n, sym):
    if sym > 0:
        for i in range(n):
            acc[i] += (a[i] + b[i]) * f
    else:
        for i in range(n):
            acc[i] += (a[i] - b[i]) * f


@njit(cache=True, nogil=True, inline="always")
def _taps4(acc, a1, a2, a3, a4, f1, f2, f3, f4, n):
    for i in range(n):
        acc[i] = (((acc[i] + a1[i] * f1) + a2[i] * f2) + a3[i] * f3) + a4[i] * f4


@njit(cache=True, nogil=True)
def fir_line(buf, acc, n, fw, size1, sym):
    # scipy's NI_Correlate1D for one line; buf holds the padded line (double),
    # output i is centred on buf[i + size1].  Slices keep every index
    # non-negative, so the loops vectorise (no wraparound checks).
    size = fw.shape[0]
    if sym != 0:
        c = fw[size1]
        mid = buf[size1 : size1 + n]
        for i in range(n):
            acc[i] = mid[i] * c
        d = size1  # jj = -size1 .. -1: d = -jj
        while d >= 4:
            k = size1 - d
            _sym4(
                acc,
                buf[k : k + n],
                buf[size1 + d : size1 + d + n],
                buf[k + 1 : k + 1 + n],
                buf[size1 + d - 1 : size1 + d - 1 + n],
                buf[k + 2 : k + 2 + n],
                buf[size1 + d - 2 : size1 + d - 2 + n],
                buf[k + 3 : k + 3 + n],
                buf[size1 + d - 3 : size1 + d - 3 + n],
                fw[k],
                fw[k + 1],
                fw[k + 2],
                fw[k + 3],
                n,
                sym,
            )
            d -= 4
        while d >= 1:
            k = size1 - d
            _sym1(acc, buf[k : k + n], buf[size1 + d : size1 + d + n], fw[k], n, sym)
            d -= 1
    else:
        last = fw[size - 1]
        a = buf[size - 1 : size - 1 + n]
        for i in range(n):
            acc[i] = a[i] * last
        k = 0
        while k + 4 <= size - 1:
            _taps4(
                acc,
                buf[k : k + n],
                buf[k + 1 : k + 1 + n],
                buf[k + 2 : k + 2 + n],
                buf[k + 3 : k + 3 + n],
                fw[k],
                fw[k + 1],
                fw[k + 2],
                fw[k + 3],
                n,
            )
            k += 4
        while k < size - 1:
            a = buf[k : k + n]
            f = fw[k]
            for i in range(n):
                acc[i] += a[i] * f
            k += 1


@njit(cache=True, nogil=True)
def fir_block(rows, base, mod, j0, w, fw, size1, sym, acc):
    """The same arithmetic as ``fir_line`` down columns ``j0 .. j0 + w - 1``:
    tap ``k``'s samples are row ``(base + k) % mod`` of ``rows`` (a ring, or a
    strip when ``mod`` exceeds every index)."""
    size = fw.shape[0]
    j1 = j0 + w
    if sym != 0:
        c = rows[(base + size1) % mod, j0:j1]
        f = fw[size1]
        for j in range(w):
            acc[j] = c[j] * f
        d = size1
        while d >= 4:
            k = size1 - d
            _sym4(
                acc,
                rows[(base + k) % mod, j0:j1],
                rows[(base + size1 + d) % mod, j0:j1],
                rows[(base + k + 1) % mod, j0:j1],
                rows[(base + size1 + d - 1) % mod, j0:j1],
                rows[(base + k + 2) % mod, j0:j1],
                rows[(base + size1 + d - 2) % mod, j0:j1],
                rows[(base + k + 3) % mod, j0:j1],
                rows[(base + size1 + d - 3) % mod, j0:j1],
                fw[k],
                fw[k + 1],
                fw[k + 2],
                fw[k + 3],
                w,
                sym,
            )
            d -= 4
        while d >= 1:
            k = size1 - d
            _sym1(
                acc,
                rows[(base + k) % mod, j0:j1],
                rows[(base + size1 + d) % mod, j0:j1],
                fw[k],
                w,
                sym,
            )
            d -= 1
    else:
        a = rows[(base + size - 1) % mod, j0:j1]
        f = fw[size - 1]
        for j in range(w):
            acc[j] = a[j] * f
        k = 0
        while k + 4 <= size - 1:
            _taps4(
                acc,
                rows[(base + k) % mod, j0:j1],
                rows[(base + k + 1) % mod, j0:j1],
                rows[(base + k + 2) % mod, j0:j1],
                rows[(base + k + 3) % mod, j0:j1],
                fw[k],
                fw[k + 1],
                fw[k + 2],
                fw[k + 3],
                w,
            )
            k += 4
        while k < size - 1:
            a = rows[(base + k) % mod, j0:j1]
            f = fw[k]
            for j in range(w):
                acc[j] += a[j] * f
            k += 1


@njit(cache=True, nogil=True)
def load_line(row, idx, before, n, cval, buf):
    # The padded line in double: the interior as one straight (vectorised)
    # conversion, the few boundary samples through the index map.
    mid = buf[before : before + n]
    for k in range(n):
        mid[k] = np.float64(row[k])
    for p in range(before):
        j = idx[p]
        buf[p] = np.float64(row[j]) if j >= 0 else cval
    for p in range(before + n, idx.shape[0]):
        j = idx[p]
        buf[p] = np.float64(row[j]) if j >= 0 else cval


@njit(cache=True, nogil=True)
def load_row(plane, r, j0, w, cval, out):
    # One padded row of a column block in double (cval rows for r < 0).
    if r >= 0:
        row = plane[r, j0 : j0 + w]
        for j in range(w):
            out[j] = np.float64(row[j])
    else:
        for j in range(w):
            out[j] = cval


@njit(cache=True, nogil=True)
def correlate1d_last(start, stop, src, dst, idx, before, cval, fw, code):
    """Lines ``start .. stop - 1`` of ``src`` (lines, n) into ``dst`` (lines, n)."""
    n = src.shape[1]
    size1, sym = fw.shape[0] // 2, symmetry(fw)
    buf = np.empty(idx.shape[0], np.float64)
    acc = np.empty(n, np.float64)
    for line in range(start, stop):
        load_line(src[line], idx, before, n, cval, buf)
        fir_line(buf, acc, n, fw, size1, sym)
        store(dst[line], acc, n, code)


@njit(cache=True, nogil=True)
def correlate1d_inner(start, stop, src, dst, idx, before, cval, fw, code, block):
    """Column blocks of ``src`` (outer, n, inner) filtered along axis 1.

    Unit ``u`` is block ``u % nblocks`` of ``block`` columns of outer item
    ``u // nblocks``.  Padded rows are converted to double once into a ring of
    ``size`` rows; output row ``i`` reads ring rows ``i .. i + size - 1``
    (``src`` must not share memory with ``dst``).
    """
    n, inner = src.shape[1], src.shape[2]
    size = fw.shape[0]
    size1, sym = size // 2, symmetry(fw)
    nblocks = (inner + block - 1) // block
    ring = np.empty((size, block), np.float64)
    acc = np.empty(block, np.float64)
    for u in range(start, stop):
        o = u // nblocks
        j0 = (u % nblocks) * block
        w = min(block, inner - j0)
        plane = src[o]
        for p in range(size - 1):
            load_row(plane, idx[p], j0, w, cval, ring[p])
        for i in range(n):
            p = i + size - 1
            load_row(plane, idx[p], j0, w, cval, ring[p % size])
            fir_block(ring, i, size, 0, w, fw, size1, sym, acc)
            store(dst[o, i, j0:], acc, w, code)


# --------------------------------------------------------------------------- uniform_filter1d


@njit(cache=True, nogil=True, inline="always")
def _box_start(b, size):
    t = 0.0
    for k in range(size):
        t += b[k]
    return t


@njit(cache=True, nogil=True)
def uniform1d_last(start, stop, src, dst, idx, before, cval, size, code):
    """scipy's NI_UniformFilter1D running sum on lines ``start .. stop - 1``.

    A running sum is a chain of dependent additions, so one line advances at
    the latency of an addition per sample.  Four lines advance together (four
    independent chains in registers), and the divisions by ``size`` run
    afterwards as one vector loop; each line still sees scipy's exact
    sequence of operations.
    """
    n = src.shape[1]
    m = idx.shape[0]
    bufs = np.empty((4, m), np.float64)
    sums = np.empty((4, n), np.float64)
    fs = np.float64(size)
    line = start
    while line < stop:
        lanes = min(4, stop - line)
        for k in range(lanes):
            load_line(src[line + k], idx, before, n, cval, bufs[k])
        b0, b1, b2, b3 = bufs[0], bufs[1], bufs[2], bufs[3]
        s0, s1, s2, s3 = sums[0], sums[1], sums[2], sums[3]
        t0 = _box_start(b0, size)
        if lanes == 4:
            t1, t2, t3 = _box_start(b1, size), _box_start(b2, size), _box_start(b3, size)
            s0[0], s1[0], s2[0], s3[0] = t0, t1, t2, t3
            for i in range(1, n):
                t0 += b0[i + size - 1] - b0[i - 1]
                t1 += b1[i + size - 1] - b1[i - 1]
                t2 += b2[i + size - 1] - b2[i - 1]
                t3 += b3[i + size - 1] - b3[i - 1]
                s0[i] = t0
                s1[i] = t1
                s2[i] = t2
                s3[i] = t3
        else:  # the last lines of the range, one at a time
            for k in range(lanes):
                b, sk = bufs[k], sums[k]
                t0 = _box_start(b, size)
                sk[0] = t0
                for i in range(1, n):
                    t0 += b[i + size - 1] - b[i - 1]
                    sk[i] = t0
        for k in range(lanes):
            sk = sums[k]
            for i in range(n):
                sk[i] = sk[i] / fs
            store(dst[line + k], sk, n, code)
        line += lanes


@njit(cache=True, nogil=True)
def uniform1d_inner(start, stop, src, dst, idx, before, cval, size, code, block):
    """The running sum along axis 1 of ``src`` (outer, n, inner), per column block."""
    n, inner = src.shape[1], src.shape[2]
    nblocks = (inner + block - 1) // block
    tmp = np.empty(block, np.float64)
    acc = np.empty(block, np.float64)
    a = np.empty(block, np.float64)
    b = np.empty(block, np.float64)
    fs = np.float64(size)
    for u in range(start, stop):
        o = u // nblocks
        j0 = (u % nblocks) * block
        w = min(block, inner - j0)
        plane = src[o]
        for j in range(w):
            tmp[j] = 0.0
        for k in range(size):
            load_row(plane, idx[k], j0, w, cval, a)
            for j in range(w):
                tmp[j] += a[j]
        for j in range(w):
            acc[j] = tmp[j] / fs
        store(dst[o, 0, j0:], acc, w, code)
        for i in range(1, n):
            load_row(plane, idx[i + size - 1], j0, w, cval, a)
            load_row(plane, idx[i - 1], j0, w, cval, b)
            for j in range(w):
                tmp[j] += a[j] - b[j]
                acc[j] = tmp[j] / fs
            store(dst[o, i, j0:], acc, w, code)


# --------------------------------------------------------------------------- N-D correlate


@njit(cache=True, nogil=True)
def correlate_nd(start, stop, padded, pstrides, oshape, dst, offsets, weights, code):
    """scipy's NI_Correlate on output rows ``start .. stop - 1``.

    ``padded`` is the boundary-extended input (flat, double), ``pstrides`` its
    element strides, ``oshape`` the output shape; ``dst`` is the output as
    (rows, n).  ``offsets[t]`` is the flat offset of nonzero tap ``t`` (C order)
    and ``weights[t]`` its weight.  Each sample is ``0.0 + w0*x0 + w1*x1 ...``.
    """
    nd = oshape.shape[0]
    n = oshape[nd - 1]
    acc = np.empty(n, np.float64)
    taps = offsets.shape[0]
    for r in range(start, stop):
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
        store(dst[r], acc, n, code)
