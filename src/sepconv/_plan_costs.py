"""The plan's analysis and cost model: factors of a kernel, loads per output, the reason.

:func:`_analyse` separates a kernel once (cached by its bytes) and counts the
loads and multiplications per output of every method (:func:`_counts`,
:func:`_fft_cost`) with the cost model of :mod:`sepconv._plan`;
:func:`_reason` says why a method was chosen.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._digest import digest_cache
from .analysis import NotSeparableError, lowrank, separate

# FFT work per padded element and log2 of the transform size, in the engine's
# load units: scipy.fft took 3-4x the engine's time per unit of this count
# (float32, 512^2 to 2048^2 images, 7^2 to 63^2 kernels, 2 threads).
_FFT_UNIT = 15.0


# --------------------------------------------------------------------------- analysis


class _LowRankTerms:
    """The parts of a :class:`sepconv.LowRank` the engine needs (cached)."""

    def __init__(self, terms: tuple, error: float, bound: float) -> None:
        self.terms, self.error, self.max_abs_error_bound = terms, error, bound


@digest_cache(maxsize=128)
def _analyse(
    data: bytes, kshape: tuple[int, ...], method: str, rtol: float | None, tol: float | None
) -> tuple[
    Any,
    Any,
    tuple[tuple[str, str], ...],
    tuple[tuple[str, tuple[float, float]], ...],
    tuple[float, float],
]:
    """Factors, low-rank terms, rejected methods, counts and factor error of a kernel (cached).

    ``tol``: the relative rank-1 threshold (:func:`_separable_tol`).  The factor
    error is the relative Frobenius error and ``sum|K - outer(factors)|``.
    """
    w = np.frombuffer(data, dtype=np.float64).reshape(kshape)
    rejected: dict[str, str] = {}
    factors = terms = None
    sep_error = (0.0, 0.0)
    finite = bool(np.all(np.isfinite(w)))
    if not finite:
        why = "the kernel has infinite weights; only direct filtering handles them as scipy does"
        for name in ("separable", "lowrank", "fft"):
            rejected[name] = why
        counted = tuple(_counts(w, None, None).items())
        return None, None, tuple(rejected.items()), counted, sep_error
    if method in ("auto", "separable"):
        try:
            sep = separate(w, tol)
        except NotSeparableError as exc:
            rejected["separable"] = f"kernel is not separable (rank {exc.rank})"
        else:
            factors = tuple(
                _readonly(_keep_zeros(w, f, axis))
                for axis, f in enumerate(np.asarray(x, dtype=np.float64) for x in sep.factors)
            )
            if not sep.exact:
                residual = w - functools.reduce(np.multiply.outer, factors)
                norm = float(np.linalg.norm(w))
                error = float(np.linalg.norm(residual)) / norm if norm > 0 else 0.0
                sep_error = (error, float(np.abs(residual).sum()))
    else:
        rejected["separable"] = f"method={method!r} was requested"
    want_lowrank = method == "lowrank" or (method == "auto" and rtol is not None)
    if want_lowrank and w.ndim != 2:
        rejected["lowrank"] = f"low-rank plans need a 2-D kernel, this one is {w.ndim}-D"
    elif want_lowrank:
        lr = lowrank(w, rtol=rtol)
        pairs = tuple(
            (_readonly(_keep_zeros(w, c, 0)), _readonly(_keep_zeros(w, r, 1))) for c, r in lr.terms
        )
        terms = _LowRankTerms(pairs, float(lr.error), float(lr.max_abs_error_bound))
    elif method == "auto":
        rejected["lowrank"] = "approximate; give rtol to allow low-rank plans"
    else:
        rejected["lowrank"] = f"method={method!r} was requested"
    if method not in ("auto", "fft"):
        rejected["fft"] = f"method={method!r} was requested"
    counted = tuple(_counts(w, factors, terms).items())
    return factors, terms, tuple(rejected.items()), counted, sep_error


def _counts(w: np.ndarray, factors: Any, lr: Any) -> dict[str, tuple[float, float]]:
    """(multiplications, cost) per output element of direct, separable and low-rank.

    Kernel axes of size 1 are a scale folded into the other axes, not a pass
    (:func:`sepconv._engine.kept_axes`), and cost nothing.
    """
    from ._engine import kept_axes, mirrored_rows

    kept = kept_axes(w.shape)
    w = w.reshape([w.shape[i] for i in kept])
    if factors is not None:
        factors = [factors[i] for i in kept]
    rows = _kernel_rows(w)
    mirrored = mirrored_rows(w) if w.ndim == 2 else None
    if mirrored is not None:  # mirrored rows share a horizontal pass (see the engine)
        pair = [2.0 if c.sum() != 1 or c.min() < 0 else 1.0 for c, _ in mirrored]
        loads = sum(_folded(r)[1] + p for (_, r), p in zip(mirrored, pair))
        rows = [r for _, r in mirrored]
    else:
        loads = sum(_folded(r)[1] + 1.0 for r in rows)
    counted = {"direct": (float(sum(_folded(r)[0] for r in rows)), float(loads) + 1.0)}
    if factors is not None:
        counted["separable"] = (
            float(sum(_factor_counts(f)[0] for f in factors)),
            float(sum(_factor_counts(f)[1] for f in factors))
            + 2.0
            + 4.0 * max(0, len(factors) - 2),
        )
    if lr is not None:
        counted["lowrank"] = (
            float(sum(_folded(c)[0] + _folded(r)[0] for c, r in lr.terms)),
            float(sum(_folded(c)[1] + _folded(r)[1] for c, r in lr.terms)) + 2.0,
        )
    return counted


def _keep_zeros(w: np.ndarray, factor: np.ndarray, axis: int) -> np.ndarray:
    """Zero a factor's entries where the kernel's whole slice is zero.

    SVD factors can carry 1e-17 where the kernel is exactly zero; scipy skips
    zero weights, so exact zeros keep NaN propagation identical to scipy's.
    """
    others = tuple(i for i in range(w.ndim) if i != axis)
    nonzero = np.any(w != 0, axis=others) if others else w != 0
    return np.where(nonzero, factor, 0.0)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


def _kernel_rows(w: np.ndarray) -> list[np.ndarray]:
    rows = w.reshape(-1, w.shape[-1]) if w.ndim > 1 else w[None, :]
    return [r for r in rows if np.any(r != 0)]


def _folded(vector: np.ndarray) -> tuple[int, int]:
    """(multiplications, loads) of a 1-D kernel as the engine runs it."""
    from ._engine import fold_taps

    taps = fold_taps(vector)
    return len(taps), sum(1 if g == 0 else 2 for _, _, _, g in taps)


def _factor_counts(vector: np.ndarray) -> tuple[float, float]:
    """(multiplications, loads) of a separable factor: a constant one is a running sum."""
    from ._engine import RUNNING_LOADS, running_constant

    if running_constant(vector) is not None:
        return 1.0, RUNNING_LOADS  # one scaling per output, flat in the length
    return _folded(vector)


def _fft_cost(
    shape: tuple[int, ...], kshape: tuple[int, ...], axes: tuple[int, ...]
) -> tuple[float, float]:
    from ._engine import fft_length, kept_axes

    kept = kept_axes(kshape)
    axes, kshape = tuple(axes[i] for i in kept), tuple(kshape[i] for i in kept)
    padded = 1
    transform = 1
    for ax, k in zip(axes, kshape):
        n = fft_length(shape[ax] + 2 * (k - 1))
        padded *= n
        transform *= n
    points = math.prod(shape[ax] for ax in axes)
    ratio = padded / max(points, 1)
    log = math.log2(max(transform, 2))
    mults = ratio * (2.0 * log + 3.0)
    cost = ratio * _FFT_UNIT * log + 4.0
    return float(mults), float(cost)


def _reason(chosen: str, costs: dict[str, float], pool: list[str], rtol: float | None) -> str:
    """Why ``chosen`` won, in the cost model's unit (memory loads per output element)."""
    ranked = sorted(pool, key=lambda m: costs[m])
    others = [m for m in ranked if m != chosen]
    if not others:
        return f"{chosen} is the only exact method for this kernel"
    runner = others[0]
    text = (
        f"cheapest {'allowed' if rtol is not None else 'exact'} method by estimated memory "
        f"loads per output: {costs[chosen]:.1f} against {runner} {costs[runner]:.1f}"
    )
    if "separable" not in pool and chosen != "separable":
        text += "; the kernel does not separate"
    return text
