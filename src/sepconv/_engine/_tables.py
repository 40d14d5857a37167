"""Tap tables: a 1-D filter described for one arithmetic policy (see :mod:`._arith`).

:func:`exact_table` lists scipy's taps in scipy's order (its own symmetry test,
zero weights kept, as ``NI_Correlate1D`` keeps them); :func:`nd_table` lists
the nonzero taps of one row of an N-D kernel (``NI_Correlate``'s rule);
:func:`fast_table` folds (anti)symmetric taps and drops zero weights
(:func:`fold_taps`); :func:`identity_table` is no pass at all.
:func:`stack` packs several terms' tables into the 2-D arrays the sweep takes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._args import kept_taps
from .._digest import digest_cache
from ._arith import (
    KIND_ANTI,
    KIND_BOX,
    KIND_IDENTITY,
    KIND_ND,
    KIND_PLAIN,
    KIND_SYM,
    T_OFFSETS,
)

__all__ = [
    "RUNNING_LOADS",
    "RUNNING_MIN",
    "exact_table",
    "fast_table",
    "fold_taps",
    "identity_table",
    "nd_table",
    "running_constant",
    "scipy_symmetry",
    "stack",
]

Table = tuple[np.ndarray, np.ndarray]  # (int64 layout, float64 weights)

_DBL_EPSILON = float(np.finfo(np.float64).eps)


def scipy_symmetry(fw: np.ndarray) -> int:
    """scipy's test for odd kernels: 1 symmetric, -1 antisymmetric, 0 neither.

    ``fabs(a - b) > DBL_EPSILON`` as in C, so a NaN weight passes both tests.

    Examples
    --------
    >>> scipy_symmetry(np.array([1.0, 2.0, 1.0])), scipy_symmetry(np.array([-1.0, 0.0, 1.0]))
    (1, -1)
    >>> scipy_symmetry(np.array([1.0, 2.0])), scipy_symmetry(np.array([1.0, 2.0, 3.0]))
    (0, 0)
    """
    size = fw.shape[0]
    if not size & 1:
        return 0
    half = size // 2
    with np.errstate(invalid="ignore"):
        if not np.any(np.abs(fw[half + 1 :] - fw[half - 1 :: -1]) > _DBL_EPSILON):
            return 1
        if not np.any(np.abs(fw[half + 1 :] + fw[half - 1 :: -1]) > _DBL_EPSILON):
            return -1
    return 0


def _table(
    kind: int, size: int, center: int, pairs: Sequence[tuple[int, int, float]], center_weight: float
) -> Table:
    ints = np.zeros(T_OFFSETS + 2 * max(len(pairs), 1), np.int64)
    ints[:T_OFFSETS] = (kind, size, len(pairs), center)
    weights = np.zeros(1 + max(len(pairs), 1), np.float64)
    weights[0] = center_weight
    for j, (a, b, w) in enumerate(pairs):
        ints[T_OFFSETS + 2 * j : T_OFFSETS + 2 * j + 2] = (a, b)
        weights[1 + j] = w
    return ints, weights


def exact_table(fw: np.ndarray) -> Table:
    """scipy's ``NI_Correlate1D`` taps of float64 weights ``fw``, in its order.

    Examples
    --------
    >>> ints, weights = exact_table(np.array([1.0, 2.0, 1.0]))
    >>> ints[:4].tolist(), ints[4:6].tolist(), weights.tolist()
    ([1, 3, 1, 1], [0, 2], [2.0, 1.0])
    """
    fw = np.asarray(fw, dtype=np.float64)
    return _exact_table(fw.tobytes())


@digest_cache(maxsize=1024)
def _exact_table(data: bytes) -> Table:
    fw = np.frombuffer(data, dtype=np.float64)
    size = fw.shape[0]
    size1 = size // 2
    sym = scipy_symmetry(fw)
    if sym:
        # centre first, then pairs (jj = -size1 .. -1) from the outermost in
        pairs = [(k, size - 1 - k, float(fw[k])) for k in range(size1)]
        kind = KIND_SYM if sym > 0 else KIND_ANTI
        return _frozen(_table(kind, size, size1, pairs, float(fw[size1])))
    # the last tap first, then the others first to last
    pairs = [(k, k, float(fw[k])) for k in range(size - 1)]
    return _frozen(_table(KIND_PLAIN, size, size - 1, pairs, float(fw[size - 1])))


def nd_table(row: np.ndarray) -> Table:
    """One row of an N-D kernel as ``NI_Correlate`` applies it: its taps with
    ``|w| > DBL_EPSILON`` in order, each added as ``acc += w * x``."""
    row = np.asarray(row, dtype=np.float64)
    keep = np.flatnonzero(kept_taps(row))
    pairs = [(int(j), int(j), float(row[j])) for j in keep]
    return _table(KIND_ND, row.shape[0], 0, pairs, 0.0)


def identity_table(offset: int, size: int = 1) -> Table:
    """No pass: the row ``offset`` taps along (a term that filters one axis only)."""
    return _table(KIND_IDENTITY, size, offset, [], 0.0)


def fast_table(vector: np.ndarray) -> Table:
    """The fast policy's taps: folded (anti)symmetric pairs, zero weights dropped;
    a constant factor of ``RUNNING_MIN`` taps or more is a box factor (``KIND_BOX``).

    Examples
    --------
    >>> ints, weights = fast_table(np.array([-1.0, 0.0, 1.0]))
    >>> int(ints[0]) == KIND_ANTI, int(ints[3]), weights.tolist()
    (True, -1, [0.0, -1.0])
    """
    constant = running_constant(vector)
    size = int(np.size(vector))
    if constant is not None:
        return _table(KIND_BOX, size, -1, [], constant)
    taps = fold_taps(np.asarray(vector, dtype=np.float64))
    pairs = [(a, b, w) for a, b, w, g in taps if g != 0]
    singles = [(a, w) for a, b, w, g in taps if g == 0]
    if pairs:
        anti = any(g < 0 for _, _, _, g in taps)
        if singles:  # the centre of a symmetric kernel
            (c, wc), *rest = singles
            assert not rest
            return _table(KIND_SYM, size, c, pairs, wc)
        return _table(KIND_ANTI if anti else KIND_SYM, size, -1, pairs, 0.0)
    return _table(KIND_PLAIN, size, -1, [(a, a, w) for a, w in singles], 0.0)


def fold_taps(vector: np.ndarray) -> list[tuple[int, int, float, float]]:
    """``(a, b, weight, g)`` taps of a 1-D kernel, folded when (anti)symmetric.

    A folded tap computes ``weight * (x[a] + g * x[b])`` with ``g = +1``
    (symmetric) or ``-1`` (antisymmetric); a single tap has ``g = 0`` and
    computes ``weight * x[a]``.  Zero weights are dropped (so a NaN under a
    zero weight does not spread).  Weights symmetric to within 32 units in the
    last place of the largest weight (SVD factors of symmetric kernels are
    symmetric only that well) are folded and averaged, a change far below
    float32 rounding and at float64 rounding level.

    Examples
    --------
    >>> fold_taps(np.array([1.0, 2.0, 1.0]))
    [(0, 2, 1.0, 1.0), (1, 1, 2.0, 0.0)]
    >>> fold_taps(np.array([-1.0, 0.0, 1.0]))
    [(0, 2, -1.0, -1.0)]
    """
    return list(_fold(np.ascontiguousarray(vector, dtype=np.float64).tobytes()))


@digest_cache(maxsize=4096)
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


def _frozen(table: Table) -> Table:
    for array in table:
        array.flags.writeable = False
    return table


def stack(tables: Sequence[Table], work: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Several terms' tables as ``(ints (T, n), weights (T, m))``, weights in ``work``."""
    width = max(t[0].size for t in tables)
    wwidth = max(t[1].size for t in tables)
    ints = np.zeros((len(tables), width), np.int64)
    weights = np.zeros((len(tables), wwidth), work)
    for i, (ti, tw) in enumerate(tables):
        ints[i, : ti.size] = ti
        weights[i, : tw.size] = tw
    return ints, weights


# --------------------------------------------------------------------------- running sums

# Constant factors at least this long run as running sums (flat cost in their
# length); shorter ones are cheaper as folded taps (measured:
# benchmarks/bench_running.py).
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
    if w.ndim != 1 or w.size < RUNNING_MIN:
        return None
    return constant_tap(w)


def constant_tap(vector: np.ndarray) -> float | None:
    """The common tap of a 1-D factor whose taps are all equal (to the rule of
    :func:`running_constant`, of any length), else None."""
    w = np.asarray(vector, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)):
        return None
    peak = float(np.max(np.abs(w)))
    spread = max(32.0, 4.0 * w.size) * float(np.spacing(peak))
    if peak == 0 or float(np.max(w) - np.min(w)) > spread:
        return None
    return float(np.mean(w))
