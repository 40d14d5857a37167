"""Recursive Gaussians: the Gaussian and its first two derivatives at a cost flat in sigma.

The filter is Deriche's parallel form (R. Deriche, "Recursively implementing
the Gaussian and its derivatives", INRIA RR-1893, 1993): the sampled kernel
``h(m)`` of order ``o`` is written as a causal part for ``m >= 0`` and its
mirror image ``h(-m) = (-1)**o h(m)`` for ``m >= 1``, each a sum of damped
complex exponentials::

    h(m) = Re sum_k A_k z_k**m,     z_k = exp((-b_k + i w_k) / sigma)

so that filtering a line is, per pole ``z_k``, one first-order complex
recursion forward (``s(n) = x(n) + z s(n - 1)``) and one backward
(``t(n) = z (x(n + 1) + t(n + 1))``); ``y(n) = Re sum_k A_k s_k(n) + (-1)**o
A_k t_k(n)``.  Deriche used two pole pairs; this module uses three
(:data:`COEFFICIENTS`), fitted once to the continuous ``g0 = exp(-t**2/2)``,
``g1 = -t g0``, ``g2 = (t**2 - 1) g0`` on ``t >= 0`` by variable projection
(least squares in the poles, the ``A_k`` solved linearly) with minimax
reweighting: the fits' largest errors, relative to each function's peak, are
2.1e-6, 1.5e-5 and 4.5e-5.  At each sigma the poles are ``z_k = exp((-b_k + i
w_k) / sigma)`` and the weights ``A_k`` (and a term at ``m = 0``) are solved
again by least squares against the exactly sampled kernel, under constraints
that make its moments exact: unit sum (order 0), unit response to a ramp and
``h(0) = 0`` (order 1), zero sum (order 2: a flat region has no curvature).
The sampled kernels then err by at most 3e-6, 4e-5 and 7e-5 of their peak for
sigma in [2, 200] (:data:`MAX_ERROR`; ``tests/test_recursive.py``).  The
complex (modal) form keeps float32 exact enough at sigma = 200, where the
poles lie within 1 % of the unit circle and a real sixth-order recursion would
lose every digit.

Boundaries.  The result is that of filtering the infinitely extended line,
extended by the mode as scipy extends it (:mod:`sepconv._boundary`): each
recursion starts from the state the extension leaves at the edge.  For
``'constant'`` and ``'nearest'`` that state is a geometric series (the
initialisation of Triggs & Sdika, IEEE TSP 54(6), 2006, for the parallel
form); for ``'wrap'``, ``'reflect'`` and ``'mirror'`` it depends on the whole
line and on the other recursion's state, a 2 x 2 linear system per pole
solved in closed form from the two zero-state passes (sums over one period of
the extension, ``1 / (1 - z**period)``).  The zero-state passes are then
corrected near each edge by ``z**distance`` times the state, over the samples
where that term is above the work dtype's rounding (about ``10 sigma``).
Lines shorter than that are exact too (the closed forms hold for any length).

Kernels take the engine's launch convention (:func:`._launch.launch`):
``entry(t0, t1, src, dst, coef, init, ints, floats)`` with ``src``/``dst`` raw
bytes seen as ``(outer, n, inner * itemsize)``.  Along the last axis
(``inner == 1``) a task is a block of ``L`` lines, transposed into a buffer
so that the lanes of a vector are lines; along other axes a task is a block of
``L`` contiguous columns of one plane.  Each task reads its whole block before
writing it, so ``src`` and ``dst`` may be the same array.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit

from .._boundary import normalize_mode
from ._cast import dtype_code, load, store_code, store_row
from ._launch import launch, not_replayable
from ._passes import finish, source, target

__all__ = [
    "COEFFICIENTS",
    "MAX_ERROR",
    "MIN_SIGMA",
    "impulse_response",
    "recursive_coefficients",
    "run_recursive",
]

#: Smallest sigma the recursive filter is offered for: below it the poles damp
#: within a sample or two and the sampled exponential sums lose accuracy.
MIN_SIGMA = 2.0

#: ``order -> ((b_k, w_k, a_k, c_k), ...)``: ``g_o(t) ~ sum_k exp(-b_k t) (a_k cos(w_k t) +
#: c_k sin(w_k t))`` for ``t >= 0`` (see the module docstring).
COEFFICIENTS: dict[int, tuple[tuple[float, float, float, float], ...]] = {
    0: (
        (2.1454342810376827, 0.5243647418669956, 3.054411245966216, 6.658040380181303),
        (2.1111800315777844, 1.6102837994832029, -2.194354033912941, -0.6907156448114095),
        (2.033028536754794, 2.849991399573448, 0.13994100781866647, -0.06103265242603273),
    ),
    1: (
        (1.9361599413142212, 0.5456271131086535, -2.3290001310564343, -9.579241428991342),
        (1.9249109658006724, 1.6604858752333316, 2.6451145683632395, 2.6675567610203723),
        (1.8723441285850453, 2.9112744918291553, -0.316105326153, -0.0732223365016067),
    ),
    2: (
        (1.6979077955583337, 0.5794754410501584, -0.44915764250654183, 10.554934861011363),
        (1.7268677193090416, 1.7266976913662047, -0.9372613150980076, -5.472531855843133),
        (1.7062744422935412, 2.9830349541550714, 0.3863751264490629, 0.5413642124682521),
    ),
}

#: Largest error of the recursive kernel against the exactly sampled Gaussian
#: derivative of each order, relative to the kernel's peak, for sigma in [2, 200]
#: (measured in tests/test_recursive.py; float64 work).
MAX_ERROR = {0: 5e-6, 1: 6e-5, 2: 1e-4}

_MODES = {"reflect": 0, "mirror": 1, "nearest": 2, "wrap": 3, "constant": 4}
_K = 3  # complex poles (conjugate pairs)
#: Bytes a task's two line buffers may take.
_BLOCK_BYTES = 1024 * 1024


def recursive_coefficients(sigma: float, order: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(z, A, d0)`` of the recursive filter at ``sigma``: poles, weights, and the ``m = 0`` term.

    ``h(m) = Re sum_k A_k z_k**m`` for ``m >= 1`` (``m >= 0`` with ``d0`` added at 0),
    ``h(-m) = (-1)**order h(m)``.  The poles are the fit's, ``z_k = exp((-b_k + i w_k) /
    sigma)``; the weights are solved at this sigma by least squares against the exactly
    sampled Gaussian derivative, under the moment constraints of the module docstring.

    Examples
    --------
    >>> z, A, d0 = recursive_coefficients(4.0, 0)
    >>> bool(np.all(np.abs(z) < 1))
    True
    """
    if order not in COEFFICIENTS:
        raise ValueError(f"order must be 0, 1 or 2 for a recursive Gaussian, got {order}")
    z, weights = _solve(float(sigma), int(order))
    return z.copy(), weights[:_K] + 1j * weights[_K : 2 * _K], float(weights[2 * _K])


@functools.lru_cache(maxsize=64)
def _solve(sigma: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    b, w = np.array(COEFFICIENTS[order], dtype=np.float64).T[:2]
    z = np.exp((-b + 1j * w) / sigma)
    m = np.arange(int(math.ceil(14.0 * sigma)) + 8, dtype=np.float64)
    powers = z[None, :] ** m[:, None]
    # h(m) = Re(A z^m) = Re(A) Re(z^m) - Im(A) Im(z^m), plus d0 at m = 0
    X = np.concatenate([powers.real, -powers.imag, (m == 0)[:, None].astype(np.float64)], 1)
    g = np.exp(-0.5 * (m / sigma) ** 2) / (math.sqrt(2.0 * math.pi) * sigma)
    target = (g, -m / sigma**2 * g, (m * m / sigma**4 - 1.0 / sigma**2) * g)[order]
    sign = -1.0 if order == 1 else 1.0
    both = np.where(m == 0, 1.0, 1.0 + sign)  # h(m) and h(-m) in a full-line sum
    if order == 0:
        rows, values = [both], [1.0]  # unit sum
    elif order == 1:
        rows, values = [m * (1.0 - sign), (m == 0) * 1.0], [-1.0, 0.0]  # unit slope, h(0) = 0
    else:
        rows, values = [both], [0.0]  # zero sum: a flat region has no curvature
    C = np.array([r @ X for r in rows])
    weight = np.sqrt(np.where(m == 0, 1.0, 2.0))[:, None]  # each m >= 1 stands for two taps
    A = X * weight
    k = len(values)
    kkt = np.block([[2.0 * A.T @ A, C.T], [C, np.zeros((k, k))]])
    rhs = np.concatenate([2.0 * A.T @ (target * weight[:, 0]), values])
    solution = np.linalg.lstsq(kkt, rhs, rcond=None)[0][: X.shape[1]]
    return z, solution


def impulse_response(sigma: float, order: int, radius: int) -> np.ndarray:
    """The recursive filter's convolution kernel ``h(-radius .. radius)`` (for tests, plans).

    Examples
    --------
    >>> h = impulse_response(3.0, 0, 12)
    >>> round(float(h.sum()), 6)
    1.0
    """
    z, A, d0 = recursive_coefficients(sigma, order)
    m = np.arange(radius + 1)
    half = (A[None, :] * z[None, :] ** m[:, None]).real.sum(axis=1)
    half[0] += d0
    sign = -1.0 if order == 1 else 1.0
    return np.concatenate([sign * half[:0:-1], half])


# --------------------------------------------------------------------------- kernels


@njit(cache=True, nogil=True)
def _filter_block(xb, yb, n, L, coef, init, mode, cval, ptail):
    """Filter the ``L`` lines held in the columns of ``xb`` (``n x L``) into ``yb``.

    ``coef[k] = (zr, zi, ar, ai, br, bi)`` in the work dtype: pole, causal and
    anticausal weights; ``coef[_K, 0]`` is the ``m = 0`` term.  ``init[k]``
    holds the pole's powers for the edge states (complex, see
    :func:`_edge_terms`).
    """
    work = xb.dtype
    d0 = coef[_K, 0]
    sr = np.zeros((_K, L), work)
    si = np.zeros((_K, L), work)
    cr = np.zeros((_K, L), work)  # causal zero-state at n - 2 (mirror)
    ci = np.zeros((_K, L), work)
    z0r, z0i, a0r, a0i = coef[0, 0], coef[0, 1], coef[0, 2], coef[0, 3]
    z1r, z1i, a1r, a1i = coef[1, 0], coef[1, 1], coef[1, 2], coef[1, 3]
    z2r, z2i, a2r, a2i = coef[2, 0], coef[2, 1], coef[2, 2], coef[2, 3]
    s0r, s0i, s1r, s1i, s2r, s2i = sr[0], si[0], sr[1], si[1], sr[2], si[2]
    for i in range(n):
        xi = xb[i]
        yi = yb[i]
        for l in range(L):
            x = xi[l]
            r0 = x + z0r * s0r[l] - z0i * s0i[l]
            i0 = z0i * s0r[l] + z0r * s0i[l]
            r1 = x + z1r * s1r[l] - z1i * s1i[l]
            i1 = z1i * s1r[l] + z1r * s1i[l]
            r2 = x + z2r * s2r[l] - z2i * s2i[l]
            i2 = z2i * s2r[l] + z2r * s2i[l]
            s0r[l], s0i[l], s1r[l], s1i[l], s2r[l], s2i[l] = r0, i0, r1, i1, r2, i2
            yi[l] = d0 * x + (a0r * r0 - a0i * i0) + (a1r * r1 - a1i * i1) + (a2r * r2 - a2i * i2)
        if i == n - 2:
            for k in range(_K):
                for l in range(L):
                    cr[k, l] = sr[k, l]
                    ci[k, l] = si[k, l]
    tr = np.zeros((_K, L), work)
    ti = np.zeros((_K, L), work)
    b0r, b0i = coef[0, 4], coef[0, 5]
    b1r, b1i = coef[1, 4], coef[1, 5]
    b2r, b2i = coef[2, 4], coef[2, 5]
    t0r, t0i, t1r, t1i, t2r, t2i = tr[0], ti[0], tr[1], ti[1], tr[2], ti[2]
    for i in range(n - 2, -1, -1):
        xi = xb[i + 1]
        yi = yb[i]
        for l in range(L):
            x = xi[l]
            u0, v0 = x + t0r[l], t0i[l]
            u1, v1 = x + t1r[l], t1i[l]
            u2, v2 = x + t2r[l], t2i[l]
            r0 = z0r * u0 - z0i * v0
            i0 = z0i * u0 + z0r * v0
            r1 = z1r * u1 - z1i * v1
            i1 = z1i * u1 + z1r * v1
            r2 = z2r * u2 - z2i * v2
            i2 = z2i * u2 + z2r * v2
            t0r[l], t0i[l], t1r[l], t1i[l], t2r[l], t2i[l] = r0, i0, r1, i1, r2, i2
            yi[l] += (b0r * r0 - b0i * i0) + (b1r * r1 - b1i * i1) + (b2r * r2 - b2i * i2)
    # The edges: each recursion's true starting state, and its decaying effect.
    for k in range(_K):
        z = complex(coef[k, 0], coef[k, 1])
        alpha = complex(coef[k, 2], coef[k, 3])
        beta = complex(coef[k, 4], coef[k, 5])
        zn, zn1, z2n, z2n2, q = init[k, 0], init[k, 1], init[k, 2], init[k, 3], init[k, 4]
        for l in range(L):
            C = complex(sr[k, l], si[k, l])  # zero-state causal at n - 1
            D = complex(tr[k, l], ti[k, l])  # zero-state anticausal at 0
            x0 = complex(xb[0, l], 0.0)
            xl = complex(xb[n - 1, l], 0.0)
            if mode == 4:
                S0 = cval * q
                T0 = z * cval * q
            elif mode == 2 or n == 1:
                S0 = x0 * q
                T0 = z * xl * q
            elif mode == 3:
                S0 = C / (1.0 - zn)
                T0 = z * (x0 + D) / (1.0 - zn)
            elif mode == 0:
                S0 = (x0 + D + zn * C) / (1.0 - z2n)
                T0 = z * (C + zn * S0)
            else:
                Cm = complex(cr[k, l], ci[k, l])
                S0 = (D / z + zn1 * Cm) / (1.0 - z2n2)
                T0 = z * (Cm + zn1 * S0)
            # causal: y(i) += Re(alpha z^(i+1) S0); anticausal: y(i) += Re(beta z^(n-1-i) T0)
            w = z * S0
            for i in range(min(n, ptail)):
                yb[i, l] += (alpha * w).real
                w *= z
            w = T0
            for i in range(n - 1, max(-1, n - 1 - ptail), -1):
                yb[i, l] += (beta * w).real
                w *= z


@njit(cache=True, nogil=True)
def recursive_lines(t0, t1, src, dst, coef, init, ints, floats):
    """The recursive filter along contiguous lines (``src``/``dst`` seen as ``(1, lines, n)``).

    Task ``t`` is lines ``L t .. L t + L - 1``, transposed into the buffer's columns.
    """
    L, scode, dcode, rule, mode, ptail = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    cval = floats[0]
    lines, n = src.shape[1], ints[6]
    work = coef.dtype
    xb = np.empty((n, L), work)
    yb = np.empty((n, L), work)
    line = np.empty(n, work)
    for task in range(t0, t1):
        first = task * L
        m = min(L, lines - first)
        for l in range(m):
            load(src[0, first + l], 0, line, n, scode)
            for i in range(n):
                xb[i, l] = line[i]
        for l in range(m, L):  # idle lanes: zeros (their results are dropped)
            for i in range(n):
                xb[i, l] = 0
        _filter_block(xb, yb, n, L, coef, init, mode, cval, ptail)
        for l in range(m):
            for i in range(n):
                line[i] = yb[i, l]
            store_row(dst[0, first + l], 0, line, n, rule, dcode)


@njit(cache=True, nogil=True)
def recursive_inner(t0, t1, src, dst, coef, init, ints, floats):
    """The recursive filter down axis 1 of ``(outer, n, inner)``, per block of ``L`` columns.

    Task ``t`` is block ``t % nblocks`` of plane ``t // nblocks``.
    """
    L, scode, dcode, rule, mode, ptail = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    cval = floats[0]
    n, inner = src.shape[1], ints[6]
    nblocks = (inner + L - 1) // L
    work = coef.dtype
    xb = np.zeros((n, L), work)
    yb = np.empty((n, L), work)
    for task in range(t0, t1):
        o = task // nblocks
        j0 = (task % nblocks) * L
        m = min(L, inner - j0)
        for i in range(n):
            load(src[o, i], j0, xb[i], m, scode)
        _filter_block(xb, yb, n, L, coef, init, mode, cval, ptail)
        for i in range(n):
            store_row(dst[o, i], j0, yb[i], m, rule, dcode)


# --------------------------------------------------------------------------- launching


def _tail(z: np.ndarray, n: int, work: np.dtype) -> int:
    """Samples from an edge where ``|z|**distance`` is above the work dtype's rounding."""
    eps = float(np.finfo(work).eps) * 1e-2
    slowest = float(np.max(np.abs(z)))
    if slowest <= 0.0:
        return 1
    return int(min(n, math.ceil(math.log(eps) / math.log(slowest)) + 1))


def run_recursive(
    src: np.ndarray,
    dst: np.ndarray,
    axis: int,
    sigma: float,
    order: int,
    mode: str,
    cval: float,
    *,
    scale: float = 1.0,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """Filter ``src`` along ``axis`` with the recursive Gaussian (derivative) into ``dst``.

    Any layouts and byte orders (laid out as the engine lays them out); ``src``
    may be ``dst`` itself (each task reads its lines whole before writing
    them).  ``work``: float32 or float64 (default: float32 when both are
    float32, else float64).  Convolution as scipy's ``gaussian_filter1d``
    convolves (its sign convention for derivatives), times ``scale``; integer
    outputs are C casts, as the engine stores them.

    Examples
    --------
    >>> x = np.zeros(41); x[20] = 1.0
    >>> y = np.empty_like(x)
    >>> run_recursive(x, y, 0, 4.0, 0, "reflect", 0.0)
    >>> from scipy.ndimage import gaussian_filter1d
    >>> bool(np.abs(y - gaussian_filter1d(x, 4.0, truncate=8)).max() < 1e-6)
    True
    """
    shape = src.shape
    if src.size == 0:
        return
    out, copy_back = target(dst)
    same = src is dst or (
        src.__array_interface__["data"][0] == dst.__array_interface__["data"][0]
        and src.strides == dst.strides
        and src.dtype == dst.dtype
        and out is dst
    )
    src = out if same else source(src)
    if not same and np.may_share_memory(src, out):
        not_replayable()
        src = src.copy()
    dst = out
    mode = normalize_mode(mode)
    n = shape[axis]
    if work is None:
        work = np.float32 if src.dtype == dst.dtype == np.float32 else np.float64
    work = np.dtype(work)
    z, A, d0 = recursive_coefficients(sigma, order)
    A, d0 = A * scale, d0 * scale  # ``scale`` times the kernel
    sign = -1.0 if order == 1 else 1.0
    B = sign * A
    coef = np.zeros((_K + 1, 6), work)
    coef[:_K, 0], coef[:_K, 1] = z.real, z.imag
    coef[:_K, 2], coef[:_K, 3] = A.real, A.imag
    coef[:_K, 4], coef[:_K, 5] = B.real, B.imag
    coef[_K, 0] = d0
    # the powers the edge states need, from the pole as the kernels see it (rounded)
    zw = coef[:_K, 0].astype(np.float64) + 1j * coef[:_K, 1].astype(np.float64)
    init = np.zeros((_K, 5), np.complex128)
    init[:, 0] = zw**n
    init[:, 1] = zw ** (n - 1)
    init[:, 2] = zw ** (2 * n)
    init[:, 3] = zw ** (2 * n - 2) if n > 1 else 0.0
    init[:, 4] = 1.0 / (1.0 - zw)
    ptail = _tail(zw, n, work)
    outer = math.prod(shape[:axis])
    inner = math.prod(shape[axis + 1 :])
    itemsize = work.itemsize
    L = max(8, min(64, _BLOCK_BYTES // max(1, 2 * n * itemsize)) // 8 * 8)
    codes = [dtype_code(src.dtype), dtype_code(dst.dtype), store_code(dst.dtype, True)]
    ints = np.array([L, *codes, _MODES[mode], ptail, n if inner == 1 else inner], np.int64)
    floats = np.array([cval], np.float64)
    cost = src.size * 40
    if inner == 1:
        lines = outer
        shapes = ((1, lines, n * src.itemsize), (1, lines, n * dst.itemsize))
        entry, ntasks = recursive_lines, -(-lines // L)
    else:
        shapes = ((outer, n, inner * src.itemsize), (outer, n, inner * dst.itemsize))
        entry, ntasks = recursive_inner, outer * -(-inner // L)
    raw_src = src.reshape(-1).view(np.uint8)
    raw_dst = dst.reshape(-1).view(np.uint8)
    launch(entry, ntasks, raw_src, raw_dst, shapes, (coef, init, ints, floats), cost, workers)
    finish(dst, copy_back)
