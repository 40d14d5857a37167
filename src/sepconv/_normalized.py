"""Normalized convolution: filtering that skips NaN (and masked) samples, in one sweep.

Each output is the weighted mean of the *valid* samples under the kernel::

    out = correlate(x with NaN as 0, K) / correlate(valid(x), K)

(Knutsson and Westin's normalized convolution; astropy's
``nan_treatment='interpolate'``; scipy's documented two-call recipe).  Both
filterings read one input through the engine's bank transforms
(``TRANSFORM_ZERO_NAN`` and ``TRANSFORM_NOT_NAN``, :mod:`sepconv._engine._sweep`)
and are divided as each output row is written (``COMBINE_DIVIDE``): one read of
the input, one write of the output, on the engine's strips and threads.  A
sample beyond a ``'constant'`` edge is ``cval``: valid data unless ``cval`` is
NaN.  Infinities are data.

How each kernel runs (:func:`run`):

* separable over one axis, or two adjacent axes: one bank (two horizontal
  passes of one read, two vertical passes, the quotient);
* separable over more axes (volumes), or two that are not adjacent: the last
  axis (or the last two when adjacent) as a bank writing numerator and
  denominator apart into a ``(2, *shape)`` scratch array of the work dtype --
  **two arrays of the input's size in working memory** -- then each leading axis
  as a vertical bank over those two sources, the last one dividing;
* a sum of separable terms over two adjacent axes (a dense 2-D kernel row by
  row, or its mirrored row pairs; a low-rank plan): one bank whose terms sum
  into numerator and denominator before the division;
* a dense kernel over three or more axes: the engine's direct filtering of a
  NaN-zeroed copy and of the validity mask (two arrays of the input's size, two
  sweeps), then the division.

A ``mask`` (True: ignore that sample) is folded into a float copy of the input
with NaN at the masked samples (:func:`marked`: one array of the input's size
and one pass over it), which then runs as above.

A pixel whose kernel covers no valid sample gets ``fill`` (NaN).  "No valid
sample" is decided with a tolerance of half the smallest nonzero weight (a
single valid sample under the smallest tap contributes at least that; running
sums of box factors may leave a rounding residue where none does).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _args, _engine

__all__ = [
    "FILL",
    "correlate",
    "correlate_nd",
    "marked",
    "no_valid_tol",
    "plan_terms",
    "run",
    "run_dense",
]

#: The value of an output whose kernel covers no valid sample.
FILL = math.nan

_Z, _V, _N = _engine.TRANSFORM_ZERO_NAN, _engine.TRANSFORM_NOT_NAN, _engine.TRANSFORM_NONE


def _transformed(value: float, transform: int) -> float:
    if transform == _N:
        return value
    nan = math.isnan(value)
    if transform == _Z:
        return 0.0 if nan else value
    return 0.0 if nan else 1.0


def no_valid_tol(kernel_or_factors: np.ndarray | Sequence[np.ndarray]) -> float:
    """Half the smallest nonzero ``|weight|`` of a kernel (or of the outer product of factors).

    Examples
    --------
    >>> no_valid_tol([np.array([0.25, 0.5, 0.25]), np.array([1.0, 0.0, 2.0])])
    0.125
    """
    if isinstance(kernel_or_factors, np.ndarray):
        parts = [kernel_or_factors]
    else:
        parts = list(kernel_or_factors)
    tol = 0.5
    for w in parts:
        nonzero = np.abs(np.asarray(w, dtype=np.float64))
        nonzero = nonzero[nonzero > 0]
        tol *= float(nonzero.min()) if nonzero.size else 0.0
    return tol


def marked(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A float copy of ``array`` with NaN where ``mask`` is True (float32 data stays float32)."""
    _engine.not_replayable()  # the copy depends on the mask's values
    dtype = np.float32 if array.dtype == np.float32 else np.float64
    copy = np.array(array, dtype=dtype, order="C", copy=True)
    copy[mask] = np.nan
    return copy


# --------------------------------------------------------------------------- planning


def plan_terms(
    kernel: np.ndarray,
    axes: tuple[int, ...],
    shape: tuple[int, ...],
    dtype: np.dtype,
    method: str = "auto",
    rtol: float | None = None,
) -> tuple[str, list[list[np.ndarray]] | np.ndarray]:
    """``('separable' | 'lowrank', terms)`` or ``('direct', kernel)`` for a kernel over ``axes``.

    :func:`sepconv.plan`'s analysis (the kernel's separability at the rounding
    of the work dtype; low-rank only when ``rtol`` is given) with FFT ruled
    out: FFT rounding is relative to the largest value, so near a hole, where
    the denominator is small, it would not be the weighted mean of the valid
    samples to rounding.  Separable factors keep the kernel's exact zeros.
    """
    from ._plan import make_plan

    if method == "fft":
        raise ValueError(
            "method='fft' cannot skip NaN samples (FFT rounding is relative to the largest "
            "value, not to the valid samples near a hole); use method='auto', 'direct', "
            "'separable' or 'lowrank'"
        )
    exclude = frozenset({"fft"})
    chosen = make_plan(shape, kernel, axes, dtype, method, rtol, exclude=exclude)
    weights = np.asarray(chosen.weights, dtype=np.float64)
    if chosen.method == "separable":
        assert chosen.factors is not None
        factors = []
        for i, f in enumerate(chosen.factors):
            f = np.array(f, dtype=np.float64)
            others = tuple(a for a in range(weights.ndim) if a != i)
            f[~np.any(weights != 0, axis=others)] = 0.0  # the kernel's zeros stay zeros
            factors.append(f)
        return "separable", [factors]
    if chosen.method == "lowrank":
        assert chosen.terms is not None
        return "lowrank", [[np.asarray(c), np.asarray(r)] for c, r in chosen.terms]
    return "direct", weights


# --------------------------------------------------------------------------- running


def run(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    terms: Sequence[Sequence[np.ndarray]],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    scale: float = 1.0,
    tol: float = 0.0,
    fill: float = FILL,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """``dst = scale * correlate(src, K, NaN as 0) / correlate(valid(src), K)`` where the
    denominator's magnitude exceeds ``tol``, ``fill`` elsewhere.

    ``K = sum_t outer(*terms[t])`` over ``axes`` (increasing; ``terms[t][i]``
    filters ``axes[i]``, with ``modes[i]`` and ``origins[i]``); several terms
    need two adjacent axes.  Validated arguments; ``dst`` floating, of
    ``src``'s shape (see the module docstring for the sweeps and the memory).
    """
    shape = src.shape
    if src.size == 0:
        return
    terms = [[np.asarray(f, dtype=np.float64) for f in t] for t in terms]
    kept = _engine.kept_axes([f.size for f in terms[0]])
    # size-1 factors are scales: folded into the first kept factor of each term
    terms = [
        [
            t[i]
            * (
                math.prod(float(t[j][0]) for j in range(len(t)) if j not in kept)
                if i == kept[0]
                else 1.0
            )
            for i in kept
        ]
        for t in terms
    ]
    axes = [axes[i] for i in kept]
    modes = [modes[i] for i in kept]
    origins = [origins[i] for i in kept]
    if work is None:
        abs_sum = sum(math.prod(float(np.abs(f).sum()) for f in t) for t in terms)
        work = _engine.work_dtype(
            src.dtype, dst.dtype, abs_sum, math.prod(f.size for f in terms[0])
        )
    work = np.dtype(work)
    divide = dict(combine=_engine.COMBINE_DIVIDE, tol=tol, fill=fill, work=work, workers=workers)
    m = len(axes)
    if len(terms) > 1 and (m != 2 or axes[1] != axes[0] + 1):
        raise ValueError("a sum of separable terms needs two adjacent filtered axes")
    if m == 2 and axes[1] == axes[0] + 1:
        T = len(terms)
        hpasses = [(0, _Z, t[1] * scale) for t in terms] + [(0, _V, t[1]) for t in terms]
        bterms = [(i, t[0]) for i, t in enumerate(terms)] + [
            (T + i, t[0]) for i, t in enumerate(terms)
        ]
        _engine.run_bank(
            src[None], dst[None], tuple(axes), hpasses, bterms, modes, cval, origins, **divide
        )
        return
    (factors,) = terms
    if m == 1:
        _one_axis(
            src[None],
            dst[None],
            axes[0],
            factors[0],
            modes[0],
            cval,
            origins[0],
            scale,
            (_Z, _V),
            None,
            divide,
        )
        return
    # More axes: the last one (or two) with the transforms, written apart, ...
    scratch = np.empty((2, *shape), work)
    separate = dict(combine=_engine.COMBINE_SEPARATE, work=work, workers=workers)
    if axes[-1] == axes[-2] + 1:
        h, v = factors[-1], factors[-2]
        _engine.run_bank(
            src[None],
            scratch,
            (axes[-2], axes[-1]),
            [(0, _Z, h), (0, _V, h)],
            [(0, v), (1, v)],
            modes[-2:],
            cval,
            origins[-2:],
            **separate,
        )
        done = 2
    else:
        _one_axis(
            src[None],
            scratch,
            axes[-1],
            factors[-1],
            modes[-1],
            cval,
            origins[-1],
            1.0,
            (_Z, _V),
            None,
            separate,
        )
        done = 1
    sums = math.prod(float(np.sum(f)) for f in factors[m - done :])
    # ... then each leading axis over the two stacked sources, the last dividing.
    current, spare = scratch, None
    for i in range(m - done - 1, -1, -1):
        borders = (_transformed(cval, _Z) * sums, _transformed(cval, _V) * sums)
        last = i == 0
        if last:
            into, options, s = dst[None], divide, scale
        else:
            if spare is None:
                spare = np.empty_like(scratch)
            into, options, s = spare, separate, 1.0
        _engine.run_bank(
            current,
            into,
            (axes[i], None),
            [(0, _N, None), (1, _N, None)],
            [(0, factors[i] * s), (1, factors[i])],
            (modes[i], modes[i]),
            cval,
            (origins[i], 0),
            borders=borders,
            **options,
        )
        sums *= float(np.sum(factors[i]))
        if not last:
            current, spare = into, current


def _one_axis(
    src: np.ndarray,
    dst: np.ndarray,
    axis: int,
    f: np.ndarray,
    mode: str,
    cval: float,
    origin: int,
    scale: float,
    transforms: tuple[int, int],
    borders: tuple[float, float] | None,
    options: dict,
) -> None:
    """One filtered axis as a bank: horizontal (channels inside the row) unless the
    halo of the channels is too long, as the engine orients its own 1-D passes."""
    shape = src.shape[1:]
    inner = math.prod(shape[axis + 1 :])
    a, b = transforms
    if inner * (f.size - 1) <= _engine.MAX_HALO:
        _engine.run_bank(
            src,
            dst,
            (None, axis),
            [(0, a, f * scale), (0, b, f)],
            [(0, None), (1, None)],
            (mode, mode),
            cval,
            (0, origin),
            **options,
        )
    else:
        _engine.run_bank(
            src,
            dst,
            (axis, None),
            [(0, a, None), (0, b, None)],
            [(0, f * scale), (1, f)],
            (mode, mode),
            cval,
            (origin, 0),
            **options,
        )


def run_dense(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    kernel: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    scale: float = 1.0,
    tol: float = 0.0,
    fill: float = FILL,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """:func:`run` for a dense kernel over ``axes`` (one dimension per axis, increasing).

    Two adjacent axes: one bank whose terms are the kernel's rows (mirrored row
    pairs added first, :func:`sepconv._engine.mirrored_rows`); other layouts:
    the engine's direct filtering of a NaN-zeroed copy and of the validity mask.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    keep = [i for i in range(kernel.ndim) if kernel.shape[i] > 1] or [kernel.ndim - 1]
    squeezed = kernel.reshape([kernel.shape[i] for i in keep])
    axes = [axes[i] for i in keep]
    modes = [modes[i] for i in keep]
    origins = [origins[i] for i in keep]
    options = dict(scale=scale, tol=tol, fill=fill, work=work, workers=workers)
    if len(axes) == 1:
        run(src, dst, axes, [[squeezed]], modes, cval, origins, **options)
        return
    if len(axes) == 2 and axes[1] == axes[0] + 1:
        pairs = _engine.mirrored_rows(squeezed)
        if pairs is None:
            pairs = []
            for r in range(squeezed.shape[0]):
                if np.any(squeezed[r] != 0):
                    column = np.zeros(squeezed.shape[0])
                    column[r] = 1.0
                    pairs.append((column, squeezed[r]))
        if not pairs:  # no tap at all: nothing is valid anywhere
            dst[...] = fill
            return
        run(src, dst, axes, [[c, r] for c, r in pairs], modes, cval, origins, **options)
        return
    if src.size == 0:
        return
    _engine.not_replayable()  # the copies are made here, outside a launch
    if work is None:
        work = _engine.work_dtype(
            src.dtype, dst.dtype, float(np.abs(kernel).sum()), int(np.count_nonzero(kernel))
        )
    work = np.dtype(work)
    valid = ~np.isnan(src) if src.dtype.kind == "f" else np.ones(src.shape, bool)
    zeroed = np.where(valid, src, 0).astype(work, copy=False)
    num = np.empty(src.shape, work)
    den = np.empty(src.shape, work)
    c = float(cval)
    _engine.run_direct(
        zeroed,
        num,
        axes,
        squeezed * scale,
        modes,
        _transformed(c, _Z),
        origins,
        work=work,
        workers=workers,
    )
    _engine.run_direct(
        valid.astype(work),
        den,
        axes,
        squeezed,
        modes,
        _transformed(c, _V),
        origins,
        work=work,
        workers=workers,
    )
    ok = np.abs(den) > tol
    with np.errstate(divide="ignore", invalid="ignore"):
        np.copyto(dst, np.where(ok, num / np.where(ok, den, 1), fill), casting="unsafe")


# --------------------------------------------------------------------------- the front


def correlate(
    array: np.ndarray,
    output: np.ndarray,
    kernel: np.ndarray | None,
    axes: tuple[int, ...],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    mask: np.ndarray | None,
    omit: bool,
    method: str = "auto",
    rtol: float | None = None,
    workers: int | None = None,
    terms: list[list[np.ndarray]] | None = None,
) -> np.ndarray:
    """Normalized correlation of validated arguments: every public filter's ``nan_policy``.

    ``kernel`` has one dimension per filtered axis (``axes`` increasing);
    ``terms``, when given, are its separable factors (``sepfilter``) and skip
    the planning.  ``omit``: NaN samples are skipped like masked ones; else
    (``nan_policy='propagate'`` with a ``mask``) a NaN sample under a nonzero
    weight makes the output NaN, as in scipy.  Weights must have one sign
    (checked here).  Returns ``output``.
    """
    _args.check_one_sign(kernel if terms is None else terms[0])
    if array.size == 0:
        return output
    src = array if mask is None else marked(array, mask)
    tol = no_valid_tol(kernel if terms is None else terms[0])
    if terms is not None:
        how, plan = "separable", terms
    else:
        how, plan = plan_terms(kernel, tuple(axes), array.shape, src.dtype, method, rtol)
    if np.may_share_memory(src, output):
        into = np.empty(output.shape, output.dtype)
    else:
        into = output
    if how == "direct":
        run_dense(src, into, axes, plan, modes, cval, origins, tol=tol, workers=workers)
    else:
        run(src, into, axes, plan, modes, cval, origins, tol=tol, workers=workers)
    if into is not output:
        output[...] = into
    if not omit and mask is not None:
        _propagate(
            array,
            output,
            mask,
            kernel if terms is None else terms,
            axes,
            modes,
            cval,
            origins,
            workers,
        )
    return output


def _propagate(
    array: np.ndarray,
    output: np.ndarray,
    mask: np.ndarray,
    kernel: np.ndarray | list[list[np.ndarray]],
    axes: Sequence[int],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    workers: int | None,
) -> None:
    """``nan_policy='propagate'`` with a mask: NaN samples outside the mask (and a NaN
    ``cval``) make NaN every output that reads them through a nonzero weight."""
    constant_nan = math.isnan(cval) and "constant" in modes
    bad = np.isnan(array) & ~mask if array.dtype.kind == "f" else None
    _engine.not_replayable()
    if not constant_nan and (bad is None or not bad.any()):
        return
    if bad is None:
        bad = np.zeros(array.shape, bool)
    hits = np.empty(array.shape, np.float32)
    one = 1.0 if math.isnan(cval) else 0.0
    if isinstance(kernel, np.ndarray):
        footprint = (kernel != 0).astype(np.float64)
        _engine.run_direct(
            bad.astype(np.float32), hits, axes, footprint, modes, one, origins, workers=workers
        )
    else:
        feet = [(f != 0).astype(np.float64) for f in kernel[0]]
        _engine.run_separable(
            bad.astype(np.float32), hits, axes, [feet], modes, one, origins, workers=workers
        )
    output[hits > 0.5] = np.nan


def correlate_nd(
    input: np.ndarray,
    weights: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    convolution: bool,
    nan_policy: str,
    mask: Any,
    key: tuple | None,
    *,
    sequence_modes: bool = False,
    method: str = "auto",
    rtol: float | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """An N-D correlation (or convolution) that skips NaN or masked samples.

    The arguments of ``sepconv.ndimage.correlate`` / ``sepconv.correlate``,
    normalised by the same rules (:func:`sepconv._args.nd_kernel`); the
    kernel is planned over its axes of more than one tap (separable, low-rank
    with ``rtol``, or dense) and run by :func:`correlate`.
    """
    from ._replay import recorded

    weights = np.asarray(weights)
    if input.dtype.kind == "c" or weights.dtype.kind == "c":
        raise TypeError(
            "nan_policy='omit' and mask= need real input and weights; filter the real and "
            "imaginary parts separately"
        )
    kernel, origins, modes = _args.nd_kernel(
        input.ndim, weights, mode, origin, axes, convolution, sequence_modes=sequence_modes
    )
    out = _args.omit_output(output, input)
    cval = _args.real_cval(cval)
    mask = _args.to_mask(mask, input.shape)
    _args.check_one_sign(kernel)
    if kernel.size == 0:  # no tap: no valid sample anywhere
        out[...] = FILL
        return out
    if input.ndim == 0:  # one sample: the one-tap line it is
        correlate_nd(
            input.reshape(1),
            kernel.reshape(1),
            out.reshape(1),
            "reflect",
            cval,
            0,
            None,
            False,
            nan_policy,
            None if mask is None else mask.reshape(1),
            None,
        )
        return out
    filtered = tuple(a for a in range(input.ndim) if kernel.shape[a] > 1) or (input.ndim - 1,)
    squeezed = kernel.reshape([kernel.shape[a] for a in filtered])
    with recorded(key, input) as keep:
        correlate(
            input,
            out,
            squeezed,
            filtered,
            [modes[a] for a in filtered],
            cval,
            [origins[a] for a in filtered],
            mask=mask,
            omit=_args.to_nan_policy(nan_policy) == "omit",
            method=method,
            rtol=rtol,
            workers=workers,
        )
        keep(out)
    return out
