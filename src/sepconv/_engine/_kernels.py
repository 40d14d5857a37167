"""Numba kernels: plain loops over typed arrays, specialised by the dispatcher in ``__init__``.

Every kernel reads and writes through flat views of the arrays' memory plus
element strides, so one compiled specialisation serves C-, F-, strided,
negative-stride and read-only arrays alike.

Work happens on *rows*: runs of ``W * C`` elements (the filtered axis ``W`` with
the unfiltered axes ``C`` inside it, flattened).  A row is first *gathered*:
the boundary rule is applied through the index table ``idxW`` (made by
:func:`sepconv._boundary.extend_indices`) and values are converted to the work
dtype.  Taps are then applied with the tap loop outside and a contiguous loop
over the row inside, so LLVM vectorises the inner loop; symmetric and
antisymmetric kernels come folded (``w * (a + g * b)`` with ``g = +1 / -1``)
and up to four taps are applied per pass over the row, the first pass writing
it, so small kernels cost one store per element.

Hot loops index with unsigned integers: NumPy-style negative-index wraparound
checks (which signed indices need) would stop LLVM from vectorising them.

Results do not depend on the number of threads: the work is split into tasks
(bands of rows x strips of a row) whose layout depends only on the shapes, and
each output element is computed by the same operations whichever task
computes it.  Only fused multiply-add contraction is enabled
(``fastmath={"contract"}``): no reassociation, so NaN and infinity propagate as
in plain IEEE arithmetic.

Compilation.  Numba links every jitted callee into its caller and
re-optimises and re-emits it there; a ``prange`` loop adds two such levels (its
gufunc and the wrapper).  Compiling one parallel task per (input, output)
dtype pair that way took 5-18 s per pair.  So the code is split at four seams
and the pieces call each other through C function addresses (:func:`_call`),
which Numba does not link:

* :func:`run_task_range`, a ``nogil`` loop over a range of tasks, compiled
  once for everything; the engine's own thread pool (:mod:`._pool`) runs
  chunks of it on several threads (Numba's threading layers are not used);
* the task (``cfunc`` per work dtype: float32, float64): the loop structure;
* the taps (``cfunc`` per work dtype): every vectorised multiply-add loop;
* row input (``cfunc`` per input dtype) and row output (``cfunc`` per output
  dtype), which convert between the array's dtype and the work dtype.

Each ``cfunc`` is made on first use with ``cache=True``; the pointer types in
its signature carry the dtypes, so each has its own entry in Numba's on-disk
cache.  Every piece receives plain integers (addresses, sizes, strides); the
descriptor layouts are defined by the ``G_*``, ``D_*`` and ``IO_*`` constants.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, from_dtype, njit, types
from numba.extending import intrinsic, overload

_FASTMATH = {"contract"}

KIND_SINGLE = 0  # w * row[a]
KIND_PAIR = 1  # w * (row[a] + g * row[b]), g = +1 (symmetric) or -1 (antisymmetric)

MODE_SEPARABLE = 0  # separable or low-rank terms over (H, W), through a ring of rows
MODE_DIRECT = 1  # a dense kernel over (H, W), through the same ring
MODE_DIRECT_ND = 2  # a dense kernel over more axes, each kernel row gathered afresh
MODE_RUNNING = 3  # one separable term with constant factors as running sums (_running.py)

# Fields of the integer geometry vector ``geom``.
G_MODE, G_H, G_SH, G_DH, G_W, G_SW, G_DW, G_C, G_SC, G_DC = range(10)
G_BW, G_KV, G_KW, G_BAND, G_STRIP, G_HIDENT, G_VIDENT, G_NBANDS, G_NSTRIPS = range(10, 19)
G_DIRECT_OUT = 19  # the output has the work dtype and contiguous rows: write it in place
G_ROWS = 20  # > 1: short rows, this many per call from a gathered band (_band_task)
G_SRCDIRECT = 21  # vertical taps read the input rows in place (only the borders are gathered)
G_VRUN, G_HRUN = 22, 23  # MODE_RUNNING: the vertical / horizontal factor is a running sum
G_SIZE = 24

# The descriptor handed to a task: one int64 buffer whose header gives the
# addresses and lengths of the flat input and output, the row input / output
# functions, and (offset, rows, cols) of every table; the work-dtype tables
# live in a second buffer, ``aux``.
INT_TABLES = (
    "geom",
    "soff",
    "doff",
    "vert",
    "vidx",
    "idxW",
    "roff",
    "ha",
    "hb",
    "hk",
    "hn",
    "va",
    "vb",
    "vk",
    "vn",
    "vdual",
)
AUX_TABLES = ("cval", "hw", "hg", "vw", "vg")
D_SRC, D_SRC_N, D_DST, D_DST_N, D_GATHER, D_STORE, D_TAPS, D_DUAL, D_DESC_N, D_AUX_N = range(10)
D_TABLES = 10
HEADER = D_TABLES + 3 * (len(INT_TABLES) + len(AUX_TABLES))
# Fields of the int64 block passed to the row input / output functions.
IO_N, IO_FLAT_N, IO_ROWBASE, IO_VALID, IO_Q0, IO_C, IO_BW, IO_W, IO_SW, IO_SC = range(10)
IO_IDX, IO_IDX_N = 10, 11
IO_ROWS, IO_ROWSTRIDE, IO_SPACING = 12, 13, 14  # several rows per call (short rows)
IO_SIZE = 15


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


# --------------------------------------------------------------------------- rows in, rows out


@njit(cache=True)
def _gather_any(rowbuf, i0, count, src, rowbase, q, C, sW, sC, idxW, cval):
    """``count`` padded positions from flattened position ``q`` into ``rowbuf[i0:]``."""
    x = q // C
    c = q - x * C
    for i in range(i0, i0 + count):
        s = idxW[x]
        rowbuf[i] = src[rowbase + s * sW + c * sC] if s >= 0 else cval
        c += 1
        if c == C:
            c = 0
            x += 1


@njit(cache=True, inline="always")
def _gather(rowbuf, src, rowbase, valid, q0, n, C, bw, W, sW, sC, idxW, cval):
    """Padded row positions ``q0 .. q0 + n`` (flattened ``x * C + c``) into ``rowbuf``.

    Padded column ``x`` is source column ``idxW[x]`` (``-1``: ``cval``); ``valid``
    is False for a row that lies wholly in a constant-mode border.
    """
    if not valid:
        for i in range(np.uint64(n)):
            rowbuf[i] = cval
        return
    if sC == 1 and sW == C:
        # Contiguous source row: the interior is one converting copy; only the
        # border columns need the index table.
        lo = bw * C
        qa = max(q0, lo)
        qb = min(q0 + n, lo + W * C)
        if qb > qa:
            base = np.uint64(rowbase + qa - lo)
            start = np.uint64(qa - q0)
            for i in range(np.uint64(qb - qa)):
                rowbuf[start + i] = src[base + i]
            _gather_any(rowbuf, np.int64(0), qa - q0, src, rowbase, q0, C, sW, sC, idxW, cval)
            _gather_any(rowbuf, qb - q0, q0 + n - qb, src, rowbase, qb, C, sW, sC, idxW, cval)
            return
    _gather_any(rowbuf, np.int64(0), n, src, rowbase, q0, C, sW, sC, idxW, cval)


def _convert_row(out, base, acc, n):  # pragma: no cover - replaced by the overload
    """Write ``acc[:n]`` to ``out[base:base + n]`` with scipy's conversion rule."""


@overload(_convert_row, jit_options={"cache": True})
def _convert_row_impl(out, base, acc, n):
    # The rule is chosen from the output dtype at compile time: scipy assigns its
    # double result with a C cast, which on x86-64 truncates toward zero through
    # a 32-bit conversion (64-bit for int64 and uint32); NaN and out-of-range
    # values give the most negative integer of that width, narrower types keep
    # the low bits.
    if isinstance(out.dtype, types.Float):

        def impl(out, base, acc, n):
            base = np.uint64(base)
            for i in range(np.uint64(n)):
                out[base + i] = acc[i]

        return impl
    wide = out.dtype in (types.int64, types.uint32)
    limit = 9223372036854775808.0 if wide else 2147483648.0
    low = np.int64(-9223372036854775808) if wide else np.int32(-2147483648)
    to_int = np.int64 if wide else np.int32

    def impl(out, base, acc, n):  # noqa: F811 - one of two implementations is returned
        base = np.uint64(base)
        lim = np.empty(3, acc.dtype)  # limits typed like acc, so the loop vectorises
        lim[0] = -limit
        lim[1] = limit
        lim[2] = 0.0
        lo, hi, zero = lim[0], lim[1], lim[2]
        for i in range(np.uint64(n)):
            v = acc[i]
            ok = v >= lo and v < hi
            r = to_int(v if ok else zero)
            out[base + i] = r if ok else low

    return impl


@njit(cache=True, inline="always")
def _store(dst, rowbase, p0, L, C, dW, dC, acc):
    """Row positions ``p0 .. p0 + L`` of ``acc`` into the output row at ``rowbase``."""
    if dC == 1 and dW == C:
        _convert_row(dst, rowbase + p0, acc, L)
        return
    # Strided output: convert into a contiguous scratch row, then scatter.
    tmp = np.empty(L, dst.dtype)
    _convert_row(tmp, np.int64(0), acc, L)
    x = p0 // C
    c = p0 - x * C
    for i in range(L):
        dst[rowbase + x * dW + c * dC] = tmp[i]
        c += 1
        if c == C:
            c = 0
            x += 1


# --------------------------------------------------------------------------- calls by address


@intrinsic
def _pointer(typingctx, address):
    """The ``void*`` at an integer address."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.int64), codegen


@intrinsic
def _call(typingctx, address, args):
    """Call the C function at ``address`` with the int64 values of the tuple ``args``.

    Addresses and integers share the 64-bit integer calling convention, so the
    callee may declare typed pointers where the caller passes integers.
    """
    if not (isinstance(args, types.UniTuple) and args.dtype == types.int64):
        return None
    count = args.count

    def codegen(context, builder, signature, llargs):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i64] * count)
        values = [builder.extract_value(llargs[1], i) for i in range(count)]
        builder.call(builder.inttoptr(llargs[0], fnty.as_pointer()), values)
        return context.get_dummy_value()

    return types.void(types.int64, args), codegen


@njit(cache=True)
def _address(a):
    return np.int64(a.ctypes.data)


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


def _compile(entry, *arg_types):
    compiled = cfunc(types.void(*arg_types), cache=True)(entry)
    _COMPILED.append(compiled)  # keep the machine code alive
    return int(compiled.address)


_COMPILED: list = []


def _ptr_type(dtype: np.dtype) -> types.Type:
    return types.CPointer(from_dtype(np.dtype(dtype)))


@functools.cache
def task_address(work_dtype: np.dtype, nd: bool = False) -> int:
    """Address of the compiled task for a work dtype (compiled on first use).

    ``nd``: the task for dense kernels over three or more axes, kept apart so
    that 2-D work never compiles it.
    """
    entry = _task_nd_entry if nd else _task_entry
    return _compile(entry, types.int64, types.int64, _ptr_type(work_dtype))


@functools.cache
def taps_address(work_dtype: np.dtype) -> int:
    """Address of the tap function (all vectorised arithmetic) for a work dtype."""
    work = _ptr_type(work_dtype)
    return _compile(_taps_entry, work, work, work, work, *([types.int64] * 7))


@functools.cache
def dual_address(work_dtype: np.dtype) -> int:
    """Address of the two-term tap function for a work dtype."""
    work = _ptr_type(work_dtype)
    return _compile(_dual_entry, *([work] * 7), *([types.int64] * 6))


@functools.cache
def gather_address(src_dtype: np.dtype, work_dtype: np.dtype) -> int:
    """Address of the row-input function for an input dtype and a work dtype."""
    work = _ptr_type(work_dtype)
    return _compile(_gather_entry, work, _ptr_type(src_dtype), work, types.int64)


@functools.cache
def store_address(dst_dtype: np.dtype, work_dtype: np.dtype) -> int:
    """Address of the row-output function for an output dtype and a work dtype."""
    return _compile(_store_entry, _ptr_type(dst_dtype), _ptr_type(work_dtype), types.int64)


@njit(cache=True, nogil=True)
def run_task_range(t0, t1, address, desc, aux):
    """Run tasks ``t0 .. t1`` of the task function at ``address``, without the GIL.

    The engine's thread pool (:mod:`sepconv._engine._pool`) calls it on chunks
    of a call's tasks from several threads at once.
    """
    for t in range(t0, t1):
        _call(address, (np.int64(t), desc, aux))


@njit(cache=True)
def address_of(a):
    """Address of ``a``'s first element: 7x cheaper than ``a.ctypes.data`` from Python."""
    return a.ctypes.data
