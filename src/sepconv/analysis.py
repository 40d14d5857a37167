"""Spatial separability of convolution kernels: rank, exact factors, low-rank sums.

The SVD lives here and only here; the filtering engine, the PyTorch path and the
report all ask this module whether a kernel separates and into what.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._args import as_kernel, check_positive_int, check_tolerance

__all__ = [
    "Analysis",
    "LowRank",
    "NotSeparableError",
    "Separation",
    "analyze",
    "lowrank",
    "rank",
    "rounding_tol",
    "separate",
]

# Integer-valued float kernels are factored in integer arithmetic while every
# value is exactly representable; beyond 2**53 floats skip integers.
_MAX_EXACT_FLOAT_INT = 2**53


class NotSeparableError(ValueError):
    """Raised when a kernel is not an outer product of 1-D vectors.

    Attributes
    ----------
    rank : int
        Numerical rank of the kernel (for N-D kernels, the largest rank of its
        unfoldings; see :func:`rank`).
    error : float
        Relative Frobenius error of the best rank-1 (separable) approximation.
    """

    def __init__(self, rank: int, error: float, tol: float | None) -> None:
        self.rank = rank
        self.error = error
        how = "exact rank" if tol is None else f"rank at tol={tol:.3g}"
        super().__init__(
            f"kernel is not separable: its {how} is {rank} (1 is needed) and the best "
            f"separable (rank-1) approximation has relative error {error:.3g}. "
            "Use sepconv.lowrank(kernel, rtol=...) for a sum of separable terms, "
            "or a larger tol to accept an approximation."
        )


@dataclass(frozen=True)
class Separation:
    """A kernel written as the outer product of one 1-D factor per axis.

    Attributes
    ----------
    factors : tuple of ndarray
        One 1-D vector per axis; ``np.multiply.reduce(np.ix_(*factors))`` rebuilds
        the kernel.  Integer kernels have integer (``int64``) factors.
    exact : bool
        Whether the outer product of ``factors`` was verified to equal the kernel
        exactly: in integer arithmetic for integer(-valued) kernels, bit for bit in
        the kernel's dtype otherwise.
    error : float
        Relative Frobenius error ``||K - outer(factors)|| / ||K||`` (0 when exact).
    """

    factors: tuple[np.ndarray, ...]
    exact: bool
    error: float

    def to_array(self) -> np.ndarray:
        """The dense kernel rebuilt from :attr:`factors`."""
        return _outer(self.factors)


@dataclass(frozen=True)
class LowRank:
    """A 2-D kernel approximated by a sum of ``rank`` separable terms (truncated SVD).

    Attributes
    ----------
    terms : tuple of (ndarray, ndarray)
        ``(column, row)`` pairs; the approximation is ``sum(np.outer(c, r))``.
    rank : int
        Number of terms.
    error : float
        Relative Frobenius error of the approximation, measured on the rebuilt array.
    max_abs_error_bound : float
        The l1 norm of the residual kernel ``sum(|K - approx|)``.  For every input
        ``x`` and every boundary mode, ``|correlate(x, K) - correlate(x, approx)|``
        is at most ``max_abs_error_bound * max|x|`` (before floating-point rounding),
        because each output is a weighted sum of input values.
    singular_values : ndarray
        All singular values of the kernel, largest first.
    """

    terms: tuple[tuple[np.ndarray, np.ndarray], ...]
    rank: int
    error: float
    max_abs_error_bound: float
    singular_values: np.ndarray

    def to_array(self) -> np.ndarray:
        """The dense kernel rebuilt from :attr:`terms`."""
        shape = (self.terms[0][0].size, self.terms[0][1].size)
        out = np.zeros(shape, dtype=np.float64)
        for column, row in self.terms:
            out += np.outer(column, row)
        return out


def rank(kernel: Any, tol: float | None = None) -> int:
    """Separability rank of a kernel: how many separable terms it needs.

    For a 2-D kernel this is its matrix rank.  With ``tol=None`` an integer-valued
    kernel gets its *exact* rank (fraction-free elimination in integer arithmetic)
    and a float kernel its numerical rank: the number of singular values larger
    than ``max(kernel.shape) * eps * s_max``, where ``eps`` is the machine epsilon
    of the kernel's dtype (NumPy's ``matrix_rank`` rule): a float32 kernel is
    judged at float32's rounding, so ``np.outer(g, g)`` of a float32 ``g`` has
    rank 1 although its float64 SVD shows a second singular value near
    ``1e-8 * s_max``.  A given ``tol`` is
    *relative*: singular values ``s > tol * s_max`` count.

    For an N-D kernel (N > 2) the result is the largest rank of its unfoldings
    (axis ``i`` against all the others).  It is 1 exactly when the kernel is an
    outer product of N vectors, i.e. when it separates; a larger value is a lower
    bound of the number of separable terms needed.  A 1-D kernel has rank 1
    (0 if it is all zeros).

    Parameters
    ----------
    kernel : array_like
        Real kernel with at least one dimension.
    tol : float, optional
        Relative singular-value threshold, see above.

    Returns
    -------
    int

    Examples
    --------
    >>> import sepconv
    >>> sepconv.rank([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    1
    >>> sepconv.rank([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    2
    >>> import numpy as np
    >>> g = sepconv.kernels.gaussian(2.0).astype(np.float32)
    >>> sepconv.rank(np.outer(g, g)), sepconv.rank(np.outer(g, g).astype(np.float64))
    (1, 9)
    """
    k = as_kernel(kernel)
    tol = check_tolerance(tol, "tol")
    if k.ndim == 1:
        return int(np.any(k != 0))
    axes = [0] if k.ndim == 2 else range(k.ndim)
    return max(_matrix_rank(_unfold(k, axis), tol) for axis in axes)


def separate(kernel: Any, tol: float | None = None) -> Separation:
    """Factor a kernel into one 1-D vector per axis, or refuse.

    Integer-valued kernels are factored in integer arithmetic: the result has
    integer factors, verified exactly (``exact=True``).  Float kernels are
    factored by successive SVDs of their unfoldings; the factors get equal norms.
    Signs are normalised: a factor whose entries share one sign is positive, and
    an overall minus sign is carried by a factor of mixed signs.

    Parameters
    ----------
    kernel : array_like
        Real kernel, any number of dimensions >= 1 (1-D is trivially separable).
    tol : float, optional
        Relative singular-value threshold deciding rank 1 (see :func:`rank`).
        ``None`` accepts only kernels that are rank 1 to the precision of their
        dtype (float32 kernels: float32's epsilon).

    Returns
    -------
    Separation
        ``.factors``, ``.exact``, ``.error``.

    Raises
    ------
    NotSeparableError
        If the kernel is not rank 1; the message gives its rank and the relative
        error of the best separable approximation.

    Examples
    --------
    >>> import sepconv
    >>> s = sepconv.separate([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    >>> [f.tolist() for f in s.factors], s.exact
    ([[1, 2, 1], [-1, 0, 1]], True)
    >>> g = sepconv.separate(sepconv.kernels.gaussian(1.0, ndim=3))
    >>> len(g.factors), bool(g.error < 1e-14)
    (3, True)
    """
    k = as_kernel(kernel)
    tol = check_tolerance(tol, "tol")
    if k.ndim == 1:
        return Separation((k.copy(),), exact=True, error=0.0)
    integral = _integer_view(k)
    if integral is not None:
        factors = _integer_factors(integral)
        if factors is not None:
            factors = _normalise_signs(factors)
            if k.dtype.kind == "f":
                factors = [f.astype(k.dtype) for f in factors]
            return Separation(tuple(factors), exact=True, error=0.0)
        if tol is None:
            raise NotSeparableError(rank(k), _rank1_error(k), None)
    r = rank(k, tol)
    if r > 1:
        raise NotSeparableError(r, _rank1_error(k), tol)
    factors = _normalise_signs(_float_factors(k))
    dtype = k.dtype if k.dtype.kind == "f" else np.float64
    factors = [f.astype(dtype) for f in factors]
    rebuilt = _outer(factors)
    exact = bool(np.array_equal(rebuilt, k))
    return Separation(tuple(factors), exact=exact, error=_relative_error(k, rebuilt))


def lowrank(kernel: Any, rank: int | None = None, rtol: float | None = None) -> LowRank:
    """Best approximation of a 2-D kernel by a sum of separable terms.

    The truncated SVD is optimal in the Frobenius norm (Eckart–Young).  Give
    ``rank`` to fix the number of terms, or ``rtol`` to get the smallest rank
    whose relative Frobenius error is at most ``rtol``.  With neither, the
    kernel's numerical rank is used (see :func:`rank`), i.e. the exact
    decomposition.

    Parameters
    ----------
    kernel : array_like
        Real 2-D kernel.
    rank : int, optional
        Number of separable terms, ``1 <= rank <= min(kernel.shape)``.
    rtol : float, optional
        Largest acceptable relative Frobenius error.

    Returns
    -------
    LowRank
        ``.terms``, ``.rank``, ``.error``, ``.max_abs_error_bound``,
        ``.singular_values`` and ``.to_array()``.

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> disk = sepconv.kernels.disk(7)
    >>> approx = sepconv.lowrank(disk, rtol=1e-2)
    >>> approx.rank < min(disk.shape), bool(approx.error <= 1e-2)
    (True, True)
    >>> bool(np.abs(disk - approx.to_array()).sum() <= approx.max_abs_error_bound + 1e-12)
    True
    """
    k = as_kernel(kernel)
    if k.ndim != 2:
        raise ValueError(
            f"kernel must be 2-D for lowrank, got {k.ndim}-D; "
            "use sepconv.separate for N-D separable kernels"
        )
    rtol = check_tolerance(rtol, "rtol")
    if rank is not None and rtol is not None:
        raise ValueError("give rank or rtol, not both")
    kd = k.astype(np.float64)
    # Reduced: only the first min(shape) singular vectors are ever used, and the full U of a
    # tall (512, 9) matrix costs 700x more (51 ms against 0.07 ms) for nothing.
    u, s, vt = np.linalg.svd(kd, full_matrices=False)
    if rank is not None:
        r = check_positive_int(rank, "rank")
        if r > s.size:
            raise ValueError(f"rank must be <= min(kernel.shape) = {s.size}, got {r}")
    elif rtol is None:
        r = max(1, _count_above(s, _default_tol(k)))
    else:
        r = _smallest_rank(s, rtol)
    while True:
        result = _truncate(kd, u, s, vt, r)
        # The SVD predicts the error; rounding can push the measured one just
        # past rtol, so add a term rather than break the promise.
        if rtol is None or rank is not None or result.error <= rtol or r == s.size:
            return result
        r += 1


def _truncate(kd: np.ndarray, u: np.ndarray, s: np.ndarray, vt: np.ndarray, r: int) -> LowRank:
    terms = []
    for i in range(r):
        scale = math.sqrt(s[i])
        column, row = u[:, i] * scale, vt[i] * scale
        if column[np.argmax(np.abs(column))] < 0:
            column, row = -column, -row
        terms.append((column, row))
    residual = kd - LowRank(tuple(terms), r, 0.0, 0.0, s).to_array()
    error = _relative_error(kd, kd - residual)
    return LowRank(tuple(terms), r, error, float(np.abs(residual).sum()), s)


def _smallest_rank(s: np.ndarray, rtol: float) -> int:
    energy = s**2
    total = float(energy.sum())
    if total == 0:
        return 1
    # tail[i]: relative error when the first i terms are kept
    tail = np.sqrt(np.concatenate((np.cumsum(energy[::-1])[::-1], [0.0])) / total)
    return max(1, int(np.flatnonzero(tail <= rtol)[0]))


# --- helpers -----------------------------------------------------------------


def rounding_tol(shape: tuple[int, ...], *dtypes: Any) -> float:
    """Relative singular-value threshold of a kernel known to the coarsest of ``dtypes``.

    ``max(shape) * eps`` with ``eps`` the largest machine epsilon of the floating
    ``dtypes`` (integer dtypes are exact and count as float64): NumPy's
    ``matrix_rank`` rule.  Rounding each entry of a rank-1 kernel to a dtype of
    epsilon ``eps`` perturbs it by at most ``eps / 2 * ||K||_F``, so its second
    singular value stays below ``eps / 2 * s_max``, well under the threshold;
    one rule for :func:`rank`, :func:`separate` and the engine's plans.

    Examples
    --------
    >>> float(rounding_tol((3, 3), np.float64) / np.finfo(np.float64).eps)
    3.0
    >>> float(rounding_tol((5, 3), np.float64, np.float32) / np.finfo(np.float32).eps)
    5.0
    """
    eps = [float(np.finfo(d).eps) for d in map(np.dtype, dtypes) if d.kind in "fc"]
    return max(shape) * max(eps, default=float(np.finfo(np.float64).eps))


def _default_tol(k: np.ndarray) -> float:
    return rounding_tol(k.shape, k.dtype)


def _count_above(s: np.ndarray, tol: float) -> int:
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > tol * s[0]))


def _unfold(k: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(k, axis, 0).reshape(k.shape[axis], -1)


def _matrix_rank(m: np.ndarray, tol: float | None) -> int:
    if tol is None:
        integral = _integer_view(m)
        if integral is not None:
            return _exact_rank(integral)
        tol = _default_tol(m)
    return _count_above(np.linalg.svd(m.astype(np.float64), compute_uv=False), tol)


def _exact_rank(m: np.ndarray) -> int:
    # Bareiss fraction-free elimination on Python ints: exact for any size of entry.
    rows = [[int(v) for v in row] for row in m]
    n_rows, n_cols = len(rows), len(rows[0])
    r, prev = 0, 1
    for c in range(n_cols):
        pivot = next((i for i in range(r, n_rows) if rows[i][c] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        for i in range(r + 1, n_rows):
            for j in range(c + 1, n_cols):
                rows[i][j] = (rows[i][j] * rows[r][c] - rows[i][c] * rows[r][j]) // prev
            rows[i][c] = 0
        prev = rows[r][c]
        r += 1
        if r == n_rows:
            break
    return r


def _integer_view(k: np.ndarray) -> np.ndarray | None:
    """``k`` as exact integers (int64 or Python-int objects), or None if not integral."""
    if k.dtype.kind in "iu":
        big = k.size and max(abs(int(k.max())), abs(int(k.min()))) >= 2**31
        return k.astype(object) if big else k.astype(np.int64)
    if np.all(k == np.round(k)) and np.all(np.abs(k) < _MAX_EXACT_FLOAT_INT):
        big = np.abs(k).max() >= 2**31
        return k.astype(np.int64).astype(object) if big else k.astype(np.int64)
    return None


def _integer_factors(k: np.ndarray) -> list[np.ndarray] | None:
    """Exact integer rank-1 factors of an integer array, or None if it is not rank 1.

    The trailing factor is a primitive vector (gcd 1) taken from a non-zero slice;
    since every non-zero slice of a rank-1 integer array is a rational multiple of
    a primitive vector, the leading factor is then integral.
    """
    if k.ndim == 1:
        return [k]
    m = k.reshape(k.shape[0], -1)
    nonzero_rows = np.flatnonzero(np.any(m != 0, axis=1))
    if nonzero_rows.size == 0:
        return [np.zeros(n, dtype=np.int64) for n in k.shape]
    row = m[nonzero_rows[0]]
    content = math.gcd(*(int(v) for v in row))
    v = row // content
    j = int(np.flatnonzero(v != 0)[0])
    column = m[:, j]
    if np.any(column % v[j] != 0):
        return None
    u = column // v[j]
    if not np.array_equal(np.outer(u, v), m):
        return None
    rest = _integer_factors(v.reshape(k.shape[1:]))
    if rest is None:
        return None
    return [np.asarray(f, dtype=np.int64) for f in [u, *rest]]


def _float_factors(k: np.ndarray) -> list[np.ndarray]:
    """Rank-1 factors by successive SVDs, each factor with the same l2 norm."""
    kd = k.astype(np.float64)
    factors = []
    rest = kd
    for _ in range(k.ndim - 1):
        m = rest.reshape(rest.shape[0], -1)
        u, s, vt = np.linalg.svd(m, full_matrices=False)
        factors.append(u[:, 0])
        rest = (s[0] * vt[0]).reshape(rest.shape[1:])
    factors.append(rest.reshape(-1))
    norms = [_norm(f) for f in factors]
    total = math.prod(norms)
    if total == 0:
        return [np.zeros(n) for n in k.shape]
    share = total ** (1.0 / len(factors))
    return [f / n * share for f, n in zip(factors, norms)]


def _normalise_signs(factors: list[np.ndarray]) -> list[np.ndarray]:
    factors = [np.array(f) for f in factors]
    sign = 1
    mixed = []
    for i, f in enumerate(factors):
        nz = f[f != 0]
        if nz.size == 0:
            continue
        if np.all(nz < 0):
            factors[i] = -f
            sign = -sign
        elif np.any(nz < 0):
            mixed.append(i)
    if sign < 0:
        target = mixed[-1] if mixed else len(factors) - 1
        factors[target] = -factors[target]
    if len(mixed) > 1:
        # Put any remaining sign freedom where readers expect it: the first
        # non-zero entry of every mixed factor but the last is positive.
        for i in mixed[:-1]:
            f = factors[i]
            if f[np.flatnonzero(f)[0]] < 0:
                factors[i] = -f
                factors[mixed[-1]] = -factors[mixed[-1]]
    return factors


def _outer(factors: tuple[np.ndarray, ...] | list[np.ndarray]) -> np.ndarray:
    out = factors[0]
    for f in factors[1:]:
        out = np.multiply.outer(out, f)
    return np.asarray(out)


def _norm(a: np.ndarray) -> float:
    # Scale first: the plain 2-norm squares tiny kernels (1e-200) into zero.
    peak = float(np.abs(a).max()) if a.size else 0.0
    return peak * float(np.linalg.norm(a / peak)) if peak > 0 else 0.0


def _relative_error(k: np.ndarray, approx: np.ndarray) -> float:
    kd = k.astype(np.float64)
    norm = _norm(kd)
    return _norm(kd - approx) / norm if norm > 0 else 0.0


def _rank1_error(k: np.ndarray) -> float:
    """Relative error of the (sequential-SVD) rank-1 approximation; optimal for 2-D."""
    return _relative_error(k, _outer(_float_factors(k)))


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyze` found out about one kernel.

    Attributes
    ----------
    shape : tuple of int
    rank : int
        See :func:`rank`.
    singular_values : ndarray
        Singular values of the kernel (2-D) or of its axis-0 unfolding (N-D).
    separation : Separation or None
        The exact factors when the kernel separates.
    rank1_error : float
        Relative error of the best separable approximation (0 when it separates).
    lowrank_table : tuple of dict
        For 2-D kernels, one row per rank ``r``: ``rank``, ``error``,
        ``max_abs_error_bound``, ``mults_per_pixel`` (``r * (kh + kw)``),
        ``direct_mults_per_pixel`` (``kh * kw``) and ``speedup`` (their ratio).
    break_even_rank : int
        The largest rank whose separable passes still need fewer multiplications
        per pixel than direct filtering (0 if none does).
    """

    shape: tuple[int, ...]
    rank: int
    singular_values: np.ndarray
    separation: Separation | None
    rank1_error: float
    lowrank_table: tuple[dict[str, float], ...]
    break_even_rank: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        sep = self.separation
        return {
            "shape": list(self.shape),
            "rank": self.rank,
            "separable": sep is not None,
            "singular_values": self.singular_values.tolist(),
            "factors": None if sep is None else [f.tolist() for f in sep.factors],
            "exact": None if sep is None else sep.exact,
            "rank1_error": self.rank1_error,
            "lowrank": [dict(row) for row in self.lowrank_table],
            "break_even_rank": self.break_even_rank,
        }


def analyze(kernel: Any, tol: float | None = None) -> Analysis:
    """Rank, singular values, factors and the low-rank cost table of a kernel.

    Parameters
    ----------
    kernel : array_like
        Real kernel, at least 1-D.
    tol : float, optional
        Relative singular-value threshold (see :func:`rank`).

    Examples
    --------
    >>> import sepconv
    >>> a = sepconv.analyze(sepconv.kernels.laplacian())
    >>> a.rank, a.separation is None, a.break_even_rank
    (2, True, 1)
    >>> [round(row["error"], 3) for row in a.lowrank_table]
    [0.101, 0.0, 0.0]
    """
    k = as_kernel(kernel)
    r = rank(k, tol)
    try:
        separation: Separation | None = separate(k, tol)
    except NotSeparableError:
        separation = None
    unfolded = k.reshape(1, -1) if k.ndim == 1 else _unfold(k, 0)
    singular_values = np.linalg.svd(unfolded.astype(np.float64), compute_uv=False)
    rank1 = 0.0 if separation is not None else _rank1_error(k)
    table: list[dict[str, float]] = []
    break_even = 0
    if k.ndim == 2:
        direct = k.shape[0] * k.shape[1]
        for r_i in range(1, min(k.shape) + 1):
            approx = lowrank(k, rank=r_i)
            mults = r_i * (k.shape[0] + k.shape[1])
            table.append(
                {
                    "rank": r_i,
                    "error": approx.error,
                    "max_abs_error_bound": approx.max_abs_error_bound,
                    "mults_per_pixel": mults,
                    "direct_mults_per_pixel": direct,
                    "speedup": direct / mults,
                }
            )
            if mults < direct:
                break_even = r_i
    return Analysis(tuple(k.shape), r, singular_values, separation, rank1, tuple(table), break_even)
