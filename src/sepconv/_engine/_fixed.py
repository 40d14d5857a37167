"""Fixed-point smoothing of uint8 images: the fast policy's integer arithmetic.

A separable filter of uint8 data into uint8 whose two factors are symmetric,
non-negative and sum to at most 1 (Gaussians, binomials, short boxes: the
smoothing filters) runs in 16-bit integers instead of float32 rows, through
one sweep of a ring of rows as :mod:`._sweep` does; a mean (a normalised box
of any size, :func:`box_area`) of uint8 or uint16 data runs in exact integer
sums, horizontal by doubling and vertical by running sums per column, and
gives the truncated mean itself.  16-bit rows fill twice the SIMD lanes of
float32 rows and halve the ring: measured side by side
(``benchmarks/bench_fixed_point.py``), from 512² up the fixed-point
Gaussians take 0.66-1.01x and the uint8 means 0.31-0.78x the float path's
time; uint16 means (32-bit sums: twice the lanes of the float path's float64
rows) 0.29-0.91x.

The arithmetic (``mulhi(a, q) = (a * q) >> 16``, the high half of a 16 x 16-bit
product):

* each factor's weights are scaled by ``2**16`` and rounded to nearest; the
  rounding residue goes to the centre tap so the scaled weights sum to the
  rounded scaled sum, at most ``2**16``;
* a padded input row holds ``x`` (uint8); the horizontal pass adds each
  mirrored pair of samples, scales it by ``2**7`` (``(a + b) << 7 <= 65280``)
  and sums ``mulhi(pair, q)`` over the pairs (and the centre): the ring row
  is the horizontal result with 7 fractional bits, at most ``32640``;
* the vertical pass adds mirrored ring rows (at most ``65280``), sums
  ``mulhi(pair, q)``, adds ``bias`` (the products per output: every
  ``mulhi`` truncates by less than one unit of ``2**-7``, so the sum is then
  no longer below the exact one) and stores the integer part (``>> 7``), as
  scipy's cast truncates a non-negative value.

Error bound.  With ``r`` the float64 filtering by the unrounded factors, the
scaled weights off by ``d_i = q_i / 2**16 - w_i`` and ``n`` the products per
output of both passes, the fixed-point value ``f`` (before the final
truncation) satisfies::

    r - 255 * D  <=  f  <=  r + 255 * D + n / 128
    D = sum|d_h| * S_v + sum|d_v| * sum(w_h),   S_v = sum q_v / 2**16

So the output is ``trunc(r)`` except where ``r`` lies within the bound
``255 D + n / 128`` below an integer, where it may be that integer: never
more than one unit off, and a flat region keeps its value (the weights sum
exactly as the unrounded ones do).
:func:`plan` computes the bound for the factors given (0.10 for a 9-tap
Gaussian, 0.33 for 33 taps, 0.04 for a 3-tap box) and returns None -- the
float path then runs -- for factors that do not qualify or whose bound
reaches :data:`MAX_BOUND`.
``tests/test_engine_fixed.py`` checks the bound on random images, factors,
modes and shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numba import njit

from ._arith import doubling_sums
from ._tables import constant_tap

__all__ = ["FixedPlan", "MAX_BOUND", "box_area", "box_hv", "fixed_hv", "plan"]

#: Largest error (in units of the output) the fixed-point path may have.
MAX_BOUND = 0.5
#: Longest constant factor of a kernel that is not a mean (e.g. ``ones / (2 N)``) the
#: fixed-point taps take; longer ones run on the float path's running sums, flat in
#: the length (measured: 0.73-1.00x the float time up to 15 taps).  Means take the
#: exact integer path (:func:`box_area`) at any length.
MAX_BOX = 15
SCALE = 1 << 16
FRACTION = 7  # fractional bits of the ring rows


class FixedPlan(NamedTuple):
    qv: np.ndarray  # vertical weights, uint16, scaled by 2**16 (empty for a box)
    qh: np.ndarray  # horizontal weights
    bias: int  # added before the final shift: the truncations' largest deficit, 2**-7 units
    bound: float  # largest |fixed - exact| before the final truncation (0: exact)
    area: int = 0  # a normalised box's kv * kw (exact integer sums), else 0
    dtype: str = "uint8"  # the data's (input and output) dtype

    def describe(self) -> str:
        if self.area:
            return (
                f"{self.dtype} in and out, a mean by exact integer sums: the truncated mean itself"
            )
        return (
            f"uint8 in and out, 16-bit fixed point: at most {self.bound:.2g} from the exact "
            "value before the cast truncates it (never one unit more)"
        )


def _symmetric(w: np.ndarray) -> np.ndarray | None:
    scale = float(np.max(np.abs(w))) if w.size else 0.0
    if scale == 0.0 or not np.allclose(w, w[::-1], rtol=0.0, atol=1e-12 * scale):
        return None
    return 0.5 * (w + w[::-1])  # exactly symmetric: mirrored taps get one weight


def _quantized(w: np.ndarray) -> np.ndarray | None:
    q = np.floor(w * SCALE + 0.5).astype(np.int64)
    centre = w.shape[0] // 2
    # the residue goes to the centre tap (twice if the factor has no centre
    # sample: its two middle taps stay equal)
    residue = int(np.floor(float(np.sum(w)) * SCALE + 0.5)) - int(q.sum())
    if w.shape[0] % 2:
        q[centre] += residue
    else:  # an even share for each middle tap, rounded down: the sum stays <= 2**16
        residue -= residue % 2
        q[centre] += residue // 2
        q[centre - 1] += residue // 2
    if np.any(q < 0) or np.any(q >= SCALE) or q.sum() > SCALE:
        return None
    return q.astype(np.uint16)


def plan(
    v: np.ndarray,
    h: np.ndarray,
    dtype: np.dtype = np.dtype(np.uint8),
    modes: Sequence[str] = (),
    cval: float = 0.0,
) -> FixedPlan | None:
    """The integer plan for factors ``v`` (vertical) and ``h`` of ``dtype`` data filtered
    into ``dtype`` in ``modes``, or None (the float path runs).

    The one rule for both the engine and ``Plan.explain()``.  A normalised box
    (:func:`box_area`) of uint8 or uint16 data gets the exact integer path;
    fixed point takes uint8 data only (16-bit data would need 32-bit products:
    a 9-tap vertical pass of int32 sums of int16 rows measured 0.94-1.05x
    float32 FMA's time).  None for other dtypes, for a 'constant' edge whose
    ``cval`` is not a value of the dtype, where a factor is not symmetric, has
    a negative or non-finite tap or a tap of 1, where the factors cannot be
    scaled to sums of at most 1, where a factor is constant and longer than
    :data:`MAX_BOX`, or where the bound reaches :data:`MAX_BOUND`.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        return None
    if "constant" in modes and not (float(cval).is_integer() and 0 <= cval <= np.iinfo(dtype).max):
        return None
    v = np.asarray(v, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    area = box_area(v, h, dtype)
    if area:
        empty = np.zeros(0, np.uint16)
        return FixedPlan(empty, empty, 0, 0.0, area, dtype.name)
    if dtype != np.uint8:
        return None
    for w in (v, h):
        if w.shape[0] > MAX_BOX and constant_tap(w) is not None:
            return None
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(h))):
        return None
    if np.all(v <= 0) and np.all(h <= 0):  # a factorisation may give both signs flipped
        v, h = -v, -h
    if np.any(v < 0) or np.any(h < 0):
        return None
    sv, sh = float(v.sum()), float(h.sum())
    if sv <= 0.0 or sh <= 0.0 or sv * sh > 1.0 + 1e-12:
        return None
    # the product is what counts: one factor sums to 1, the other to the product
    v, h = v / sv, h * sv
    v, h = _symmetric(v), _symmetric(h)
    if v is None or h is None:
        return None
    qv, qh = _quantized(v), _quantized(h)
    if qv is None or qh is None:
        return None
    dv = np.abs(qv / SCALE - v).sum()
    dh = np.abs(qh / SCALE - h).sum()
    s_v = float(qv.sum()) / SCALE
    # each product truncates by less than one unit of 2**-7: mirrored pairs and the centre
    bias = (h.shape[0] + 1) // 2 + (v.shape[0] + 1) // 2
    bound = 255.0 * (dh * s_v + dv * float(h.sum())) + bias / (1 << FRACTION)
    if bound >= MAX_BOUND:
        return None
    return FixedPlan(qv, qh, bias, bound)


# --------------------------------------------------------------------------- kernels
# Each loop is its own function over at most five arrays: LLVM vectorises
# those (more would need runtime overlap checks it gives up on).  On this CPU
# they compile to 32-lane zmm loops of 16-bit adds and shifts with vpmulld for
# the products (Numba widens the 16-bit operands; LLVM narrows them back to
# 32 bits, not to vpmulhuw).


@njit(cache=True, nogil=True, inline="always", _nrt=False)
def _mulhi(a, q):
    return np.uint16((np.uint32(a) * np.uint32(q)) >> 16)


@njit(cache=True, nogil=True, _nrt=False)
def _centre(acc, a, q, n):
    for i in range(n):
        acc[i] = _mulhi(a[i], q)


@njit(cache=True, nogil=True, _nrt=False)
def _pairs(acc, a0, b0, a1, b1, q0, q1, n):
    for i in range(n):
        acc[i] = np.uint16(
            acc[i] + _mulhi(np.uint16(a0[i] + b0[i]), q0) + _mulhi(np.uint16(a1[i] + b1[i]), q1)
        )


@njit(cache=True, nogil=True, _nrt=False)
def _pair(acc, a0, b0, q0, n):
    for i in range(n):
        acc[i] = np.uint16(acc[i] + _mulhi(np.uint16(a0[i] + b0[i]), q0))


@njit(cache=True, nogil=True, _nrt=False)
def _zero(acc, n):
    for i in range(n):
        acc[i] = 0


@njit(cache=True, nogil=True, _nrt=False)
def _to_output(out, acc, bias, n):
    for i in range(n):
        out[i] = np.uint8(np.uint16(acc[i] + bias) >> np.uint16(FRACTION))


@njit(cache=True, nogil=True, _nrt=False)
def _widen(row16, row, shift, n):
    for i in range(n):
        row16[i] = np.uint16(row[i]) << shift


@njit(cache=True, nogil=True, _nrt=False)
def _load(row, src, b, sr, idxW, bw, C, shift, const):
    """Padded row ``sr`` of plane ``b`` as 16-bit ``x << shift`` (``sr < 0``: ``const``)."""
    R = src.shape[2]
    W, lo = R // C, bw * C
    s = np.uint16(shift)
    cb = np.uint16(np.uint16(const) << s)
    if sr < 0:
        for i in range(row.shape[0]):
            row[i] = cb
        return
    line = src[b, sr]
    _widen(row[lo : lo + R], line, s, R)  # padded column bw + i is column i
    for p in range(idxW.shape[0] - W):  # the borders, as the mode extends them
        if p >= bw:
            p += W  # the columns after the interior
        j = idxW[p]
        for c in range(C):
            row[p * C + c] = np.uint16(line[j * C + c]) << s if j >= 0 else cb


@njit(cache=True, nogil=True, _nrt=False)
def _horizontal(acc, row, q, k, C, n):
    """``acc[:n]`` = the horizontal pass of padded row ``row`` (``x << 7``; taps ``C`` apart)."""
    half = k // 2
    if k % 2:
        _centre(acc, row[half * C : half * C + n], q[half], n)
    else:
        _zero(acc, n)
    j = 0
    while j + 2 <= half:
        _pairs(
            acc,
            row[j * C : j * C + n],
            row[(k - 1 - j) * C : (k - 1 - j) * C + n],
            row[(j + 1) * C : (j + 1) * C + n],
            row[(k - 2 - j) * C : (k - 2 - j) * C + n],
            q[j],
            q[j + 1],
            n,
        )
        j += 2
    if j < half:
        _pair(acc, row[j * C : j * C + n], row[(k - 1 - j) * C : (k - 1 - j) * C + n], q[j], n)


@njit(cache=True, nogil=True, _nrt=False)
def _vertical(acc, ring, y, q, n):
    """``acc[:n]`` = the vertical pass over ring rows ``y .. y + k - 1`` (modulo its length)."""
    k = q.shape[0]
    nr = ring.shape[0]
    half = k // 2
    if k % 2:
        _centre(acc, ring[(y + half) % nr], q[half], n)
    else:
        _zero(acc, n)
    j = 0
    while j + 2 <= half:
        _pairs(
            acc,
            ring[(y + j) % nr],
            ring[(y + k - 1 - j) % nr],
            ring[(y + j + 1) % nr],
            ring[(y + k - 2 - j) % nr],
            q[j],
            q[j + 1],
            n,
        )
        j += 2
    if j < half:
        _pair(acc, ring[(y + j) % nr], ring[(y + k - 1 - j) % nr], q[j], n)


@njit(cache=True, nogil=True)
def fixed_hv(t0, t1, src, dst, idxH, idxW, qv, qh, ints):
    """Tasks ``t0 .. t1 - 1``: bands of ``ints[0]`` output rows of the planes of ``src``.

    ``src`` and ``dst`` are ``(B, H, W * C)`` uint8; ``idxH`` / ``idxW`` map
    padded rows / columns to source ones (``-1``: the constant ``ints[2]``);
    ``ints = (band, bands per plane, constant, C, columns padded before, bias)``.
    Every output sample is computed by the same operations in whichever band
    it falls, so results do not depend on the task layout.
    """
    B, H, R = dst.shape
    kv, kw = qv.shape[0], qh.shape[0]
    row = np.empty(R + (kw - 1) * ints[3], np.uint16)  # a padded input row, x << 7
    ring = np.empty((kv, R), np.uint16)
    acc = np.empty(R, np.uint16)
    for t in range(t0, t1):
        _task(t, src, dst, idxH, idxW, qv, qh, ints, row, ring, acc)


@njit(cache=True, nogil=True, _nrt=False)
def _task(t, src, dst, idxH, idxW, qv, qh, ints, row, ring, acc):
    """One band of :func:`fixed_hv` (no reference counting: buffers come from the caller)."""
    band, nbands, const, C, bw = ints[0], ints[1], ints[2], ints[3], ints[4]
    bias = np.uint16(ints[5])
    H = dst.shape[1]
    R = dst.shape[2]
    kv, kw = qv.shape[0], qh.shape[0]
    b = t // nbands
    y0 = (t % nbands) * band
    y1 = min(H, y0 + band)
    for yp in range(y0, y1 + kv - 1):
        _load(row, src, b, idxH[yp], idxW, bw, C, FRACTION, const)
        _horizontal(ring[yp % kv], row, qh, kw, C, R)
        if yp >= y0 + kv - 1:
            y = yp - (kv - 1)
            _vertical(acc, ring, y, qv, R)
            _to_output(dst[b, y], acc, bias, R)


# --------------------------------------------------------------------------- boxes
# A normalised box (all taps of both factors equal, the kernel summing to 1) on uint8 or
# uint16 needs no rounding at all: integer sums are exact, so the output is the truncated
# mean itself.  Horizontal sums by doubling (uint8: 16-bit, kw * 255 <= 65535; uint16:
# 32-bit), vertical running sums per column (32-bit), then floor(sum / N) as
# trunc((sum + 0.5) * (1 / N)): in float32 for uint8, exact while 255 * N * 2**-23 stays
# below 0.5 / N (N <= MAX_BOX_AREA), in float64 for uint16 (65535 * N < 2**32).

#: Largest uint8 box area whose float32 division is exact (see above).
MAX_BOX_AREA = 16000


def box_area(v: np.ndarray, h: np.ndarray, dtype: np.dtype = np.dtype(np.uint8)) -> int:
    """``kv * kw`` when ``outer(v, h)`` is a normalised box the exact path takes for
    ``dtype`` (uint8 or uint16) data, else 0."""
    cv, ch = constant_tap(v), constant_tap(h)
    kv, kw = np.shape(v)[0], np.shape(h)[0]
    if cv is None or ch is None:
        return 0
    if dtype == np.uint8 and (kw * 255 > 65535 or kv * kw > MAX_BOX_AREA):
        return 0
    if dtype == np.uint16 and 65535 * kv * kw >= 1 << 32:
        return 0
    # a mean: taps that are SVD factors of ones((kv, kw)) / N multiply back to 1 / N
    return kv * kw if abs(cv * ch * kv * kw - 1.0) <= 1e-9 else 0


@njit(cache=True, nogil=True, _nrt=False)
def _column_start(sums, ring, first, k, n):
    nr = ring.shape[0]
    for i in range(n):
        sums[i] = 0
    for j in range(k):
        r = ring[(first + j) % nr]
        for i in range(n):
            sums[i] = np.uint32(sums[i] + r[i])


@njit(cache=True, nogil=True, _nrt=False)
def _column_step(sums, enter, leave, n):
    for i in range(n):
        sums[i] = np.uint32(sums[i] + enter[i] - leave[i])


@njit(cache=True, nogil=True, _nrt=False)
def _mean_out32(out, sums, inv, n):
    for i in range(n):
        out[i] = np.int32((np.float32(sums[i]) + np.float32(0.5)) * inv)


@njit(cache=True, nogil=True, _nrt=False)
def _mean_out64(out, sums, inv, n):
    for i in range(n):
        out[i] = np.int64((np.float64(sums[i]) + 0.5) * inv)


@njit(cache=True, nogil=True)
def box_hv(t0, t1, src, dst, idxH, idxW, ints, width):
    """Tasks ``t0 .. t1 - 1`` of a normalised uint8 or uint16 box: bands of the planes.

    As :func:`fixed_hv` (``src``, ``dst`` of the data's dtype), with ``ints = (band,
    bands per plane, constant, C, columns padded before, kv, kw)``; ``width`` is an
    empty array of the rows' dtype (uint16 for uint8 data, uint32 for uint16).  The
    result is the truncated mean, exactly.
    """
    kv, kw, C = ints[5], ints[6], ints[3]
    B, H, R = dst.shape
    Rpad = R + (kw - 1) * C
    row = np.empty(Rpad, width.dtype)
    lev_a = np.empty(Rpad, width.dtype)
    lev_b = np.empty(Rpad, width.dtype)
    ring = np.empty((kv + 1, R), width.dtype)
    sums = np.empty(R, np.uint32)
    for t in range(t0, t1):
        _box_task(t, src, dst, idxH, idxW, ints, row, lev_a, lev_b, ring, sums)


@njit(cache=True, nogil=True, _nrt=False)
def _box_task(t, src, dst, idxH, idxW, ints, row, lev_a, lev_b, ring, sums):
    band, nbands, const, C, bw, kv, kw = (
        ints[0], ints[1], ints[2], ints[3], ints[4], ints[5], ints[6]
    )  # fmt: skip
    H = dst.shape[1]
    R = dst.shape[2]
    nr = kv + 1
    narrow = row.itemsize == 2  # uint8 data: float32 divides exactly (see above)
    b = t // nbands
    y0 = (t % nbands) * band
    y1 = min(H, y0 + band)
    for yp in range(y0, y1 + kv - 1):
        _load(row, src, b, idxH[yp], idxW, bw, C, 0, const)
        doubling_sums(row, ring[yp % nr], R, C, kw, lev_a, lev_b)  # exact in the rows' width
        if yp < y0 + kv - 1:
            continue
        y = yp - (kv - 1)
        if y == y0:
            _column_start(sums, ring, y0, kv, R)
        else:
            _column_step(sums, ring[yp % nr], ring[(yp - kv) % nr], R)
        if narrow:
            _mean_out32(dst[b, y], sums, np.float32(1.0 / (kv * kw)), R)
        else:
            _mean_out64(dst[b, y], sums, 1.0 / (kv * kw), R)
