"""Planning a feature stack's scales: each from the image, or cascaded from a smaller scale.

Gaussians compose: ``g(s2) = g(s1) * g(d)`` with ``s2^2 = s1^2 + d^2``, and a
derivative moves onto the last factor (``dg(s2) * f = dg(d) * (g(s1) * f)``).
So a scale ``s2`` of :func:`sepconv.features.feature_stack` may filter the
``s1``-smoothed image (its ``'smoothing'`` channel, already in the output)
with the bank of :func:`sepconv._features_spec.feature_bank` at ``base=s1``:
shorter kernels, reading the smoothed channel instead of the input.

Sampled, truncated kernels compose only approximately, so a scale is
cascaded only when a computed bound on the difference is within ``rtol``
(:func:`plan_stack`).  Per filtered axis ``a`` the cascade's 1-D kernel is
``kc_a = np.convolve(chain_a, kd_a)`` (``chain_a``: the exact kernel of the
smoothing channel it starts from, itself a chain when that scale was
cascaded; ``kd_a``: the bank's kernel at ``d`` of the same order), against
the direct kernel ``k_a`` of the bank at ``s2``.  For a separable kernel,
telescoping over the axes gives

``||Kc - K||_1 <= sum_a ||kc_a - k_a||_1 prod_{b != a} max(||kc_b||_1, ||k_b||_1)``

and each field differs from the direct one by at most that times
``max |input|``, at every sample, for the modes whose extension commutes with
a symmetric smoothing (:data:`CASCADE_MODES`: the extended image is a
periodic, or periodic and even, signal, and so is its smoothing).  The
channels combine their fields' bounds: sums add them (Laplacian, difference
of Gaussians), the gradient magnitude takes their 2-norm
(``| |a| - |b| | <= |a - b|``), eigenvalues the Frobenius norm of the
entries' bounds (Weyl: ``|l_k(A) - l_k(B)| <= ||A - B||_2 <= ||A - B||_F``).
The structure tensor's eigenvalues are quadratic in the image: its
derivatives cascade, their products do not commute with smoothing, so the
outer smoothing at ``sigma / 2`` stays direct on the products; its bound,
``|a_i a_j - b_i b_j| <= e_i A_j + A_i e_j`` (``A``: the larger kernel
norm) times the outer kernel's norm, is relative to ``max |input|^2``.

The bound is for exact arithmetic; each path's own float rounding (the work
dtype's epsilon times the kernels' norms) comes on top, as for any two
orders of summation.

``mode='nearest'`` and ``'constant'`` never cascade: the smoothing of an
edge-extended image is not the extension of the smoothed one (measured: up
to 0.056 of ``max |input|`` near the edges at sigma 2 -> 4 on uniform noise,
against a bound of 2e-4).

Speed (``benchmarks/bench_features.py --cascade``): the cascaded bank reads
the smoothed channel instead of the input and saves only kernel taps, so
it is taken only when its first-stage taps are at most
:data:`MAX_TAPS_RATIO` of the direct bank's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

from . import _features_spec
from ._features_run import Bank, Field, bank_reach

__all__ = ["CASCADE_MODES", "MAX_TAPS_RATIO", "FeaturePlan", "ScalePlan", "plan_stack"]

#: Modes whose extension commutes with a symmetric smoothing (the normalised names;
#: ``'grid-wrap'`` and ``'grid-mirror'`` normalise to ``'wrap'`` and ``'reflect'``).
CASCADE_MODES = ("reflect", "mirror", "wrap")

#: A scale cascades only when its first-stage kernel taps (summed over fields and
#: axes) are at most this fraction of the direct bank's.  Measured, one scale's bank
#: at 1024^2 (benchmarks/bench_features.py --cascade, float32, 2 shared cores, noise
#: of identical runs 0.96-1.05x): taps ratio 0.88 (doubling scales, d = 0.87 s2):
#: 1.01-1.10x; 0.70-0.76: 1.06-1.26x; 0.51-0.53: 1.14-1.84x.
MAX_TAPS_RATIO = 0.75


@dataclass(frozen=True)
class ScalePlan:
    """How one scale of a feature stack is computed.

    ``base``: the smaller scale whose smoothing channel it starts from
    (``None``: the image); ``delta``: the Gaussian applied to it,
    ``sqrt(sigma^2 - base^2)``; ``bound``: the computed bound on the change of
    any of its channels, relative to ``max |input|`` (``max |input|^2`` for
    the structure tensor's eigenvalues), ``None`` where none was computed;
    ``taps``: first-stage kernel taps ``(cascaded, direct)``; ``reason``: why.
    """

    sigma: float
    base: float | None
    delta: float | None
    bound: float | None
    taps: tuple[int, int] | None
    reason: str

    @property
    def cascaded(self) -> bool:
        return self.base is not None


class FeaturePlan:
    """What :func:`sepconv.features.feature_stack` runs at each scale, and why.

    ``scales[k]`` is the :class:`ScalePlan` of ``sigmas[k]`` (in the order
    given); ``order`` the order the scales are computed in (ascending sigma);
    ``reach`` the samples each filtered axis's outputs reach into the input
    (the Dask overlap).
    """

    def __init__(
        self,
        ndim: int,
        sigmas: Sequence[float],
        features: Sequence[str],
        modes: Sequence[str],
        truncate: float,
        method: str,
        rtol: float | None,
        scales: Sequence[ScalePlan],
        banks: Sequence[Bank],
        sources: Sequence[int | None],
        reach: Sequence[int],
    ) -> None:
        self.ndim = ndim
        self.sigmas = list(sigmas)
        self.features = list(features)
        self.modes = list(modes)
        self.truncate = truncate
        self.method = method
        self.rtol = rtol
        self.scales = list(scales)
        self.banks = list(banks)
        self.sources = list(sources)
        self.reach = list(reach)
        self.order = sorted(range(len(self.sigmas)), key=lambda k: self.sigmas[k])

    @property
    def cascaded(self) -> list[float]:
        """The scales computed from a smaller scale's smoothing channel."""
        return [p.sigma for p in self.scales if p.cascaded]

    @property
    def bound(self) -> float:
        """The largest bound of a cascaded scale (0.0: nothing cascaded, results exact)."""
        return max(
            (p.bound for p in self.scales if p.cascaded and p.bound is not None), default=0.0
        )

    def explain(self) -> str:
        """One line per scale: ``direct``, or ``from sigma1 with delta``, its bound and why."""
        count = len(self.sigmas)
        lines = [
            f"feature stack: {count} scale(s), {len(self.cascaded)} cascaded "
            f"({self.ndim}-D, mode {_modes(self.modes)}, truncate {self.truncate:g}, "
            f"rtol {self.rtol!r})"
        ]
        for k in self.order:
            p = self.scales[k]
            if p.cascaded:
                what = f"from sigma {p.base:g} with delta {p.delta:.4g}"
            else:
                what = "direct"
            bound = "" if p.bound is None else f", bound {p.bound:.3g}"
            taps = "" if p.taps is None else f", taps {p.taps[0]}/{p.taps[1]}"
            lines.append(f"  sigma {p.sigma:g}: {what}{bound}{taps}")
            lines.append(f"    why: {p.reason}")
        lines.append(
            "  bound: max over channels of |cascaded - direct| / max|input| in exact arithmetic "
            "(structure-tensor eigenvalues: / max|input|^2)"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FeaturePlan sigmas={self.sigmas} cascaded={self.cascaded} rtol={self.rtol!r}>"


def _modes(modes: Sequence[str]) -> str:
    return modes[0] if len(set(modes)) == 1 else "/".join(modes)


# --------------------------------------------------------------------------- bounds


def _kernel(f: Field, axis: int) -> np.ndarray:
    k = f.kernel(axis)
    return np.ones(1) if k is None else np.asarray(k, np.float64)


def _centred(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` (odd lengths, centred) zero-padded to one length."""
    n = max(a.size, b.size)
    return np.pad(a, (n - a.size) // 2), np.pad(b, (n - b.size) // 2)


def _field_bound(
    direct: Field, cascade: Field, chain: Sequence[np.ndarray], d: int
) -> tuple[float, float]:
    """``(bound on ||Kc - K||_1, max(||Kc||_1, ||K||_1))`` of one field (separable, N-D)."""
    diffs, norms = [], []
    for a in range(d):
        kc, k = _centred(np.convolve(chain[a], _kernel(cascade, a)), _kernel(direct, a))
        diffs.append(float(np.abs(kc - k).sum()))
        norms.append(max(float(np.abs(kc).sum()), float(np.abs(k).sum())))
    bound = sum(diffs[a] * math.prod(norms[b] for b in range(d) if b != a) for a in range(d))
    return bound, math.prod(norms)


def _frobenius(entries: Sequence[float], d: int) -> float:
    """Frobenius norm of a symmetric matrix from its upper entries (scikit-image's order)."""
    pairs = list(combinations_with_replacement(range(d), 2))
    return math.sqrt(sum(e * e * (1 if i == j else 2) for e, (i, j) in zip(entries, pairs)))


def feature_bound(
    feature: str,
    sigma: Sequence[float],
    base: Sequence[float],
    chain: Sequence[np.ndarray],
    truncate: float,
) -> float:
    """Bound on the change of ``feature``'s channels when cascaded (see the module notes)."""
    d = len(sigma)
    direct = _features_spec.feature_bank(sigma, [feature], truncate=truncate)
    cascade = _features_spec.feature_bank(sigma, [feature], truncate=truncate, base=base)
    fields = [_field_bound(f, c, chain, d) for f, c in zip(direct.stage1, cascade.stage1)]
    e = [b for b, _ in fields]
    if feature == "smoothing":
        return e[0]
    if feature in ("laplacian", "difference_of_gaussians"):
        return sum(e)
    if feature == "gradient_magnitude":
        return math.sqrt(sum(x * x for x in e))
    if feature == "hessian_eigenvalues":
        return _frobenius(e, d)
    # structure tensor: products of the derivatives, smoothed at sigma / 2 (direct)
    norm = [n for _, n in fields]
    outer = math.prod(float(np.abs(_kernel(direct.stage2[0], a)).sum()) for a in range(d))
    pairs = combinations_with_replacement(range(d), 2)
    products = [(e[i] * norm[j] + norm[i] * e[j]) * outer for i, j in pairs]
    return _frobenius(products, d)


def _taps(bank: Bank) -> int:
    return sum(p.weights.size for f in bank.stage1 for p in f.passes)


# --------------------------------------------------------------------------- the plan


def plan_stack(
    ndim: int,
    sigmas: Sequence[float],
    features: Sequence[str],
    modes: Sequence[str],
    truncate: float,
    method: str,
    rtol: float | None,
) -> FeaturePlan:
    """Plan every scale of a feature stack (arguments already normalised; plans are cached:
    the bounds cost milliseconds of Python, a repeated call nothing).

    Scales are visited in ascending order; a scale ``s2`` may start from the
    largest smaller scale ``s1`` when: ``rtol`` is given, ``method='fir'``,
    ``'smoothing'`` is a feature (its channel is the start), every mode is in
    :data:`CASCADE_MODES`, each of its Gaussians exceeds ``s1`` (the
    difference of Gaussians' ``0.66 s2`` too), the computed bound is at most
    ``rtol``, and the taps ratio is at most :data:`MAX_TAPS_RATIO`.
    """
    rules = (tuple(CASCADE_MODES), MAX_TAPS_RATIO)  # in the key: tests and benchmarks vary them
    return _plan(ndim, tuple(sigmas), tuple(features), tuple(modes), truncate, method, rtol, rules)


@functools.lru_cache(maxsize=64)
def _plan(
    d: int,
    sigmas: tuple[float, ...],
    features: tuple[str, ...],
    modes: tuple[str, ...],
    truncate: float,
    method: str,
    rtol: float | None,
    rules: tuple[tuple[str, ...], float],
) -> FeaturePlan:
    cascade_modes, max_ratio = rules
    scales: list[ScalePlan | None] = [None] * len(sigmas)
    banks: list[Bank | None] = [None] * len(sigmas)
    sources: list[int | None] = [None] * len(sigmas)
    reach = [0] * d
    chains: dict[int, list[np.ndarray]] = {}  # exact kernels of each scale's smoothing channel
    done: list[int] = []
    bad_modes = [m for m in modes if m not in cascade_modes]
    may = rtol is not None and method == "fir" and not bad_modes and "smoothing" in features
    for k in sorted(range(len(sigmas)), key=lambda i: sigmas[i]):
        s = sigmas[k]
        direct = _features_spec.feature_bank([s] * d, features, truncate=truncate)
        smaller = [j for j in done if sigmas[j] < s]
        j = max(smaller, key=lambda i: sigmas[i]) if smaller else None
        plan, bank, chain = _direct(s, direct, rtol, method, features, bad_modes, j, sigmas)
        if plan is None:
            assert j is not None
            plan, bank, chain = _try_cascade(
                s, sigmas[j], chains[j], direct, features, truncate, rtol, max_ratio
            )
            if plan.cascaded:
                sources[k] = j
        done.append(k)
        if chain is not None:
            chains[k] = chain
        elif may:
            smooth = _features_spec.feature_bank([s] * d, ["smoothing"], truncate=truncate)
            chains[k] = [_kernel(smooth.stage1[0], a) for a in range(d)]
        scales[k], banks[k] = plan, bank
        own = bank_reach(bank, d)
        start = [0] * d if sources[k] is None else [(c.size - 1) // 2 for c in chains[sources[k]]]
        reach = [max(r, o + b) for r, o, b in zip(reach, own, start)]
    return FeaturePlan(
        d, sigmas, features, modes, truncate, method, rtol, scales, banks, sources, reach
    )


def _direct(
    s: float,
    direct: Bank,
    rtol: float | None,
    method: str,
    features: Sequence[str],
    bad_modes: Sequence[str],
    j: int | None,
    sigmas: Sequence[float],
) -> tuple[ScalePlan | None, Bank, None]:
    """The direct plan and why, or ``(None, direct, None)`` where a cascade may be tried."""
    if rtol is None:
        reason = "rtol=None: every scale from the image (scipy's composition, bit for bit)"
    elif method != "fir":
        reason = f"method={method!r}: no cascade (its cost does not grow with sigma)"
    elif j is None:
        reason = "the smallest scale: nothing to start from"
    elif "smoothing" not in features:
        reason = "no 'smoothing' channel to start from (add 'smoothing' to features)"
    elif bad_modes:
        reason = (
            f"mode {bad_modes[0]!r} does not commute with smoothing (cascading would change "
            f"the samples near the edges); only {', '.join(CASCADE_MODES)} cascade"
        )
    elif "difference_of_gaussians" in features and 0.66 * s <= sigmas[j]:
        reason = (
            f"difference_of_gaussians' 0.66 sigma = {0.66 * s:.4g} is not above sigma {sigmas[j]:g}"
        )
    else:
        return None, direct, None
    return ScalePlan(s, None, None, None, None, reason), direct, None


def _try_cascade(
    s: float,
    s1: float,
    chain: Sequence[np.ndarray],
    direct: Bank,
    features: Sequence[str],
    truncate: float,
    rtol: float,
    max_ratio: float,
) -> tuple[ScalePlan, Bank, list[np.ndarray] | None]:
    """Cascade ``s`` from ``s1`` (whose smoothing channel's kernels are ``chain``) if allowed."""
    d = len(chain)
    sigma, base = [s] * d, [s1] * d
    delta = _features_spec.cascade_sigmas(sigma, base)[0]
    bank = _features_spec.feature_bank(sigma, features, truncate=truncate, base=base)
    bound = max(feature_bound(f, sigma, base, chain, truncate) for f in features)
    taps = (_taps(bank), _taps(direct))
    ratio = taps[0] / taps[1]
    if bound > rtol:
        reason = f"bound {bound:.3g} > rtol {rtol:g}"
    elif ratio > max_ratio:
        reason = (
            f"taps ratio {ratio:.2f} > {max_ratio} (from sigma {s1:g} with delta "
            f"{delta:.4g}): not measured faster"
        )
    else:
        reason = f"bound {bound:.3g} <= rtol {rtol:g}, taps ratio {ratio:.2f} <= {max_ratio}"
        smooth = _features_spec.feature_bank(sigma, ["smoothing"], truncate=truncate, base=base)
        made = [np.convolve(chain[a], _kernel(smooth.stage1[0], a)) for a in range(d)]
        return ScalePlan(s, s1, delta, bound, taps, reason), bank, made
    return ScalePlan(s, None, None, bound, taps, reason), direct, None
