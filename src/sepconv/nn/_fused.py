"""Numba kernels of the inference path: depthwise strips fed to MKL ``sgemm``, and strip GEMMs.

Two ``nogil`` kernels over channels-last (NHWC) float32 arrays, both ending in
MKL's Fortran ``sgemm`` (the one linked into PyTorch's CPU library, called by
address through the engine's :func:`sepconv._engine.call`):

* :func:`fused_strips`: for each strip of output rows of one image, the
  depthwise step (zero padding, any stride and dilation, depth multiplier 1)
  into a buffer of ``rows x W_out x C`` that stays in L2, then one ``sgemm``
  of that buffer with the pointwise weight straight into the output, then
  the bias.  The intermediate never goes to memory.
* :func:`pointwise_strips`: the pointwise step alone over strips of pixels of
  an NHWC intermediate.

Row-major ``out (M, Co) = mid (M, C) @ weight.T`` is column-major
``out.T (Co, M) = weight.T (Co, C) @ mid.T (C, M)``: ``sgemm`` with
``transa = 'T'`` on ``weight`` (column-major ``C x Co``) and ``transb = 'N'``;
Fortran takes every argument by address.

The depthwise loops follow the engine's rules (:mod:`sepconv._engine._arith`):
flat arrays, unsigned indices in the hot loops (signed wraparound checks stop
LLVM from vectorising), only fused multiply-add contraction.  Each tap's
weights are tiled ``T`` pixels wide so that the inner loop runs over
``T x C`` contiguous values instead of ``C``; a kernel row of 3 or 5 taps is
applied in one pass over the strip row.  (A whole 3 x 3 kernel in one pass
and a register-blocked loop over 16 channels measured slower here.)

As for the engine's kernels, Numba's on-disk cache checks only this file:
after changing :func:`sepconv._engine.call` or ``address_of``, delete
this module's ``__pycache__/*.nbi`` / ``*.nbc`` files.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np
import torch
from numba import njit

from .._engine import address_of as _address
from .._engine import call as _call

_FASTMATH = {"contract"}  # as the engine's fast policy: FMA, no reassociation

__all__ = [
    "fused_strips",
    "local_threads_address",
    "pointwise_strips",
    "sgemm_address",
    "tile_pixels",
]


def tile_pixels(channels: int) -> int:
    """Pixels each tap's weights are tiled over: an inner loop of at least 256 values.

    Examples
    --------
    >>> tile_pixels(32), tile_pixels(512)
    (8, 1)
    """
    return max(1, 256 // channels)


@njit(nogil=True, cache=True)
def _gemm(sgemm, dims, scalars, trans, w, a, b, m):
    """``b (m, Co) = a (m, C) @ w.T`` by Fortran ``sgemm``; ``dims``: m, n, k, lda, ldb, ldc."""
    dims[1] = m
    d, s, t = _address(dims), _address(scalars), _address(trans)
    _call(sgemm, (t, t + 1, d, d + 4, d + 8, s, w, d + 12, a, d + 16, s + 4, b, d + 20))


@njit(nogil=True, cache=True)
def _gemm_setup(c, c_out):
    dims = np.empty(6, np.int32)
    dims[0], dims[1], dims[2], dims[3], dims[4], dims[5] = c_out, 0, c, c, c, c_out
    return dims, np.array([1.0, 0.0], np.float32), np.array([ord("T"), ord("N")], np.uint8)


@njit(nogil=True, cache=True)
def _add_bias(out, start, pixels, c_out, bias):
    o0 = np.uint64(start) * np.uint64(c_out)
    for p in range(np.uint64(pixels)):
        row = o0 + p * np.uint64(c_out)
        for o in range(np.uint64(c_out)):
            out[row + o] += bias[o]


@njit(nogil=True, cache=True)
def pointwise_strips(start, stop, sgemm, local_threads, mid, out, weight, bias, strip):
    """``out[p] = weight @ mid[p] + bias`` for the pixels of strips ``start .. stop``.

    Strip ``t`` is pixels ``t * strip ...``; one ``sgemm`` each.  ``mid`` is
    ``(M, C)``, ``out`` ``(M, Co)``, ``weight`` ``(Co, C)``, all C-contiguous
    float32; ``bias`` has ``Co`` values or none.  ``local_threads`` as for
    :func:`fused_strips`.
    """
    total, c = mid.shape
    c_out = out.shape[1]
    dims, scalars, trans = _gemm_setup(c, c_out)
    flat = out.reshape(total * c_out)
    if local_threads:
        _call(local_threads, (np.int64(1),))
    for t in range(start, stop):
        p0 = t * strip
        m = min(strip, total - p0)
        a, b = _address(mid[p0:]), _address(out[p0:])
        _gemm(sgemm, dims, scalars, trans, _address(weight), a, b, m)
        if bias.shape[0]:
            _add_bias(flat, p0, m, c_out, bias)
    if local_threads:
        _call(local_threads, (np.int64(0),))


@njit(fastmath=_FASTMATH, cache=True, inline="always")
def _madd(b, x, w, bo, xo, wo, n):
    bo, xo, wo = np.uint64(bo), np.uint64(xo), np.uint64(wo)
    for e in range(np.uint64(n)):
        b[bo + e] += x[xo + e] * w[wo + e]


@njit(fastmath=_FASTMATH, cache=True, inline="always")
def _madd3(b, x, w, bo, xo, wo, n, sx, sw):
    bo, sx, sw = np.uint64(bo), np.uint64(sx), np.uint64(sw)
    x0, w0 = np.uint64(xo), np.uint64(wo)
    x1, w1 = x0 + sx, w0 + sw
    x2, w2 = x1 + sx, w1 + sw
    for e in range(np.uint64(n)):
        b[bo + e] += x[x0 + e] * w[w0 + e] + x[x1 + e] * w[w1 + e] + x[x2 + e] * w[w2 + e]


@njit(fastmath=_FASTMATH, cache=True, inline="always")
def _madd5(b, x, w, bo, xo, wo, n, sx, sw):
    bo, sx, sw = np.uint64(bo), np.uint64(sx), np.uint64(sw)
    x0, w0 = np.uint64(xo), np.uint64(wo)
    x1, w1 = x0 + sx, w0 + sw
    x2, w2 = x1 + sx, w1 + sw
    x3, w3 = x2 + sx, w2 + sw
    x4, w4 = x3 + sx, w3 + sw
    for e in range(np.uint64(n)):
        b[bo + e] += (
            x[x0 + e] * w[w0 + e]
            + x[x1 + e] * w[w1 + e]
            + x[x2 + e] * w[w2 + e]
            + x[x3 + e] * w[w3 + e]
            + x[x4 + e] * w[w4 + e]
        )


@njit(nogil=True, fastmath=_FASTMATH, cache=True)
def _depthwise_rows_strided(x, wt, tile, b, geom, n, h0, rows):
    h, w, c, kh, kw, ph, pw, dh, dw, sh, sw, _, wo = geom[0:13]
    tc = tile * c
    for r in range(rows):
        ih0 = (h0 + r) * sh - ph
        bo = r * wo * c
        for i in range(kh):
            ih = ih0 + i * dh
            if ih < 0 or ih >= h:
                continue
            xrow = (n * h + ih) * w
            for j in range(kw):
                wj = (i * kw + j) * tc
                for ow in range(wo):
                    iw = ow * sw - pw + j * dw
                    if 0 <= iw < w:
                        _madd(b, x, wt, bo + ow * c, (xrow + iw) * c, wj, c)


@njit(nogil=True, fastmath=_FASTMATH, cache=True)
def _depthwise_rows(x, wt, tile, b, geom, n, h0, rows):
    """Depthwise output rows ``h0 .. h0 + rows`` of image ``n`` into ``b`` (zeroed), NHWC.

    ``geom``: H, W, C, kh, kw, ph, pw, dh, dw, sh, sw, Ho, Wo.  With column
    stride 1, columns whose whole kernel row lies inside the image go through
    the 3- / 5-tap passes over runs of ``tile`` pixels, the border columns
    tap by tap; with a column stride each pixel goes tap by tap.
    """
    h, w, c, kh, kw, ph, pw, dh, dw, sh, sw, _, wo = geom[0:13]
    if sw != 1:
        _depthwise_rows_strided(x, wt, tile, b, geom, n, h0, rows)
        return
    lo_all = min(pw, wo)
    hi_all = max(lo_all, min(wo, w + pw - dw * (kw - 1)))
    tc = tile * c
    for r in range(rows):
        ih0 = (h0 + r) * sh - ph
        bo = r * wo * c
        for i in range(kh):
            ih = ih0 + i * dh
            if ih < 0 or ih >= h:
                continue
            xrow = (n * h + ih) * w
            for j in range(kw):
                s = j * dw - pw
                lo, hi = max(0, -s), min(wo, w - s)
                wj = (i * kw + j) * tc
                for ow in range(lo, min(hi, lo_all)):
                    _madd(b, x, wt, bo + ow * c, (xrow + ow + s) * c, wj, c)
                for ow in range(max(lo, hi_all), hi):
                    _madd(b, x, wt, bo + ow * c, (xrow + ow + s) * c, wj, c)
            wi = i * kw * tc
            ow = lo_all
            while ow < hi_all:
                run = min(tile, hi_all - ow)
                xo = (xrow + ow - pw) * c
                if kw == 3:
                    _madd3(b, x, wt, bo + ow * c, xo, wi, run * c, dw * c, tc)
                elif kw == 5:
                    _madd5(b, x, wt, bo + ow * c, xo, wi, run * c, dw * c, tc)
                else:
                    for j in range(kw):
                        _madd(b, x, wt, bo + ow * c, xo + j * dw * c, wi + j * tc, run * c)
                ow += run


@njit(nogil=True, fastmath=_FASTMATH, cache=True)
def _between(buf, pixels, c, scale, shift, low, high):
    affine = scale.shape[0] != 0
    clamp = low > -np.inf or high < np.inf
    if not affine and not clamp:
        return
    low, high = np.float32(low), np.float32(high)  # float32 arithmetic throughout
    for p in range(np.uint64(pixels)):
        row = p * np.uint64(c)
        for q in range(np.uint64(c)):
            v = buf[row + q]
            if affine:
                v = v * scale[q] + shift[q]
            # comparisons false for NaN: a NaN stays NaN, as in torch.relu
            if v < low:
                v = low
            if v > high:
                v = high
            buf[row + q] = v


@njit(nogil=True, cache=True)
def fused_strips(
    start, stop, sgemm, local_threads, x, wt, tile, weight, bias, out, geom, rows, mid
):
    """Depthwise then pointwise for strips ``start .. stop`` of ``rows`` output rows of an image.

    Strip ``t`` is rows ``(t % S) * rows ...`` of image ``t // S`` (``S`` strips
    per image), so any split of the strips between threads computes the same
    values.  ``x`` (``N*H*W*C``), ``wt`` (tiled depthwise weights,
    ``kh*kw*tile*C``) and ``out`` (``N*Ho*Wo*Co``) are flat float32;
    ``weight`` is ``(Co, C)``; ``geom`` is N, H, W, C, kh, kw, ph, pw, dh, dw,
    sh, sw, Ho, Wo, Co.  ``local_threads`` (MKL's ``MKL_Set_Num_Threads_Local``, or 0)
    keeps each ``sgemm`` on the calling thread: the threads are the pool's.
    ``mid`` is the step between: ``(scale, shift, low, high)`` applied to each
    depthwise value ``v`` as ``clamp(v * scale[c] + shift[c], low, high)``
    (an eval-mode batch norm and a ReLU / ReLU6); empty ``scale`` skips the
    affine part, infinite limits the clamp, and a NaN stays NaN.
    """
    c, ho, wo, c_out = geom[3], geom[12], geom[13], geom[14]
    g = geom[1:14]
    dims, scalars, trans = _gemm_setup(c, c_out)
    buf = np.empty(rows * wo * c, np.float32)  # this call's strip, reused: stays in L2
    strips = (ho + rows - 1) // rows
    if local_threads:
        _call(local_threads, (np.int64(1),))
    for task in range(start, stop):
        n = task // strips
        h0 = (task % strips) * rows
        r = min(rows, ho - h0)
        m = r * wo
        buf[: m * c] = 0
        _depthwise_rows(x, wt, tile, buf, g, n, h0, r)
        _between(buf, m, c, mid[0], mid[1], mid[2], mid[3])
        p0 = (n * ho + h0) * wo
        b = _address(out[p0 * c_out :])
        _gemm(sgemm, dims, scalars, trans, _address(weight), _address(buf), b, m)
        if bias.shape[0]:
            _add_bias(out, p0, m, c_out, bias)
    if local_threads:
        _call(local_threads, (np.int64(0),))  # back to MKL's global setting


@functools.cache
def sgemm_address() -> int:
    """Address of MKL's Fortran ``sgemm_`` inside PyTorch's CPU library, or 0.

    PyTorch's Linux x86 wheels link MKL statically and export its BLAS
    symbols; elsewhere (or if the symbol does not compute a product) this is
    0 and the inference path keeps PyTorch's own layers.  The address is
    trusted only after it computed a small product equal to a float64 one.
    """
    address = _symbol("sgemm_")
    return address if address and _probe(address) else 0


@functools.cache
def local_threads_address() -> int:
    """Address of MKL's ``MKL_Set_Num_Threads_Local`` (C ``int f(int)``), or 0."""
    return _symbol("MKL_Set_Num_Threads_Local")


def _symbol(name: str) -> int:
    lib_dir = Path(torch.__file__).parent / "lib"
    for lib in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        path = lib_dir / lib
        if not path.exists():
            continue
        try:
            return ctypes.cast(getattr(ctypes.CDLL(str(path)), name), ctypes.c_void_p).value or 0
        except (OSError, AttributeError):
            continue
    return 0


def _probe(address: int) -> bool:
    gen = np.random.default_rng(0)
    mid = gen.standard_normal((37, 5)).astype(np.float32)
    weight = gen.standard_normal((3, 5)).astype(np.float32)
    bias = gen.standard_normal(3).astype(np.float32)
    out = np.full((37, 3), np.nan, np.float32)
    pointwise_strips(0, 3, address, 0, mid, out, weight, bias, 16)
    expected = mid.astype(np.float64) @ weight.T.astype(np.float64) + bias
    return bool(np.allclose(out, expected, rtol=1e-5, atol=1e-5))
