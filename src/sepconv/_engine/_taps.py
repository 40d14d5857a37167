"""Tap tables of 1-D kernels: folding (anti)symmetric taps, packing them, running sums.

:func:`fold_taps` folds a 1-D kernel into ``(a, b, weight, g)`` taps,
:func:`_pack_taps` packs several into the kernels' tables, and
:func:`running_constant` decides which constant factors run as running sums
(``RUNNING_MIN``, read here: patch it on this module).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._digest import digest_cache as _digest_cache

# --------------------------------------------------------------------------- taps


def fold_taps(vector: np.ndarray) -> list[tuple[int, int, float, float]]:
    """``(a, b, weight, g)`` taps of a 1-D kernel, folded when (anti)symmetric.

    A folded tap computes ``weight * (x[a] + g * x[b])`` with ``g = +1``
    (symmetric) or ``-1`` (antisymmetric); a single tap has ``g = 0`` and
    computes ``weight * x[a]``.  Zero weights are dropped (scipy skips them too,
    so a NaN under a zero weight does not spread).  Weights symmetric to within
    32 units in the last place of the largest weight (SVD factors of symmetric
    kernels are symmetric only that well) are folded and averaged, a change
    far below float32 rounding and at float64 rounding level.

    Examples
    --------
    >>> fold_taps(np.array([1.0, 2.0, 1.0]))
    [(0, 2, 1.0, 1.0), (1, 1, 2.0, 0.0)]
    >>> fold_taps(np.array([-1.0, 0.0, 1.0]))
    [(0, 2, -1.0, -1.0)]
    """
    return list(_fold(np.ascontiguousarray(vector, dtype=np.float64).tobytes()))


@_digest_cache(maxsize=4096)
def _fold(data: bytes) -> tuple[tuple[int, int, float, float], ...]:
    w = np.frombuffer(data, dtype=np.float64)
    k = w.size
    scale = float(np.max(np.abs(w))) if k else 0.0
    tol = 32.0 * float(np.spacing(scale)) if scale > 0 else 0.0
    flipped = w[::-1]
    with np.errstate(invalid="ignore"):  # infinite weights are never folded
        symmetric = k > 1 and bool(np.all(np.abs(w - flipped) <= tol))
        antisymmetric = k > 1 and bool(np.all(np.abs(w + flipped) <= tol))
    if symmetric:
        folded, sign = (w + flipped) / 2, 1.0
    elif antisymmetric:
        folded, sign = (w - flipped) / 2, -1.0
    else:
        return tuple((j, j, float(w[j]), 0.0) for j in range(k) if w[j] != 0)
    taps = [(j, k - 1 - j, float(folded[j]), sign) for j in range(k // 2) if folded[j] != 0]
    if k % 2 and sign > 0 and folded[k // 2] != 0:
        taps.append((k // 2, k // 2, float(folded[k // 2]), 0.0))
    return tuple(taps)


def _pack_taps(vectors: Sequence[np.ndarray], dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """Tap tables of several 1-D kernels for the kernels: ``(a, b, w, g, kind, n)``."""
    from ._kernels import KIND_PAIR, KIND_SINGLE

    folded = [fold_taps(v) for v in vectors]
    width = max(1, max(len(t) for t in folded))
    count = len(folded)
    a = np.zeros((count, width), np.int64)
    b = np.zeros((count, width), np.int64)
    w = np.zeros((count, width), dtype)
    g = np.zeros((count, width), dtype)
    kind = np.zeros((count, width), np.int64)
    n = np.zeros(count, np.int64)
    for i, taps in enumerate(folded):
        n[i] = len(taps)
        for j, (ta, tb, tw, tg) in enumerate(taps):
            a[i, j], b[i, j], w[i, j], g[i, j] = ta, tb, tw, tg
            kind[i, j] = KIND_SINGLE if tg == 0 else KIND_PAIR
    return a, b, w, g, kind, n


# Constant factors at least this long run as running sums (_running.py); shorter
# ones are cheaper as folded taps (measured: benchmarks/bench_running.py).
RUNNING_MIN = 16
# Loads per output element of one running-sum direction, for the cost model.
RUNNING_LOADS = 6.0


def running_constant(vector: np.ndarray) -> float | None:
    """The common tap ``c`` of a 1-D factor that runs as a running sum, else None.

    All taps finite, nonzero and equal to within ``max(32, 4 k)`` units in the
    last place of the largest, and at least ``RUNNING_MIN`` of them.  SVD
    factors of a ``k x k`` box kernel are equal only that well (their spread
    grows with ``k``: 3 units at k = 31, 52 at k = 301): replacing them by their
    mean changes them by no more than the SVD's own rounding.

    Examples
    --------
    >>> running_constant(np.full(32, 0.25))
    0.25
    >>> running_constant(np.full(3, 1 / 3)) is None, running_constant(np.hanning(31)) is None
    (True, True)
    """
    w = np.asarray(vector, dtype=np.float64)
    if w.ndim != 1 or w.size < RUNNING_MIN or not np.all(np.isfinite(w)):
        return None
    peak = float(np.max(np.abs(w)))
    spread = max(32.0, 4.0 * w.size) * float(np.spacing(peak))
    if peak == 0 or float(np.max(w) - np.min(w)) > spread:
        return None
    return float(np.mean(w))


def _is_identity(vectors: Sequence[np.ndarray]) -> bool:
    return len(vectors) == 1 and vectors[0].size == 1 and vectors[0][0] == 1.0
