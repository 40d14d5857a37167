"""What each feature is, written as scipy and scikit-image compose it.

Every builder here returns a :class:`sepconv._features_run.Bank`: fields that
are sequences of scipy's 1-D correlations (``gaussian_filter`` passes in axis
order, ``sobel``'s derivative pass then its smoothing passes), the products
between the stages of a structure tensor, and the pointwise program that
makes the outputs.  The conventions, feature by feature:

* :func:`hessian_bank`, ``scheme='skimage'``: scikit-image's
  ``hessian_matrix(use_gaussian_derivatives=True)``: gradients
  ``gaussian_filter(image, sigma / sqrt(2), order=e_i, truncate=t)``, then
  ``H_ij = gaussian_filter(gradient_i, sigma / sqrt(2), order=e_j, truncate=t)``
  with ``t = 8`` when every sigma exceeds 1, else 100 (two stages: each
  gradient is extended by the mode before its second filtering, as there).
  ``scheme='direct'``: ``H_ij = gaussian_filter(image, sigma, order=e_i + e_j)``
  (scipy, vigra and ilastik's Hessian of Gaussian).
* :func:`structure_bank`: ``rho=None``: scikit-image's ``structure_tensor``
  (``sobel`` derivatives, their products smoothed by ``gaussian_filter`` at
  ``sigma``); ``rho`` given: Gaussian derivatives at ``sigma``, products
  smoothed at ``rho`` (vigra and ilastik's inner and outer scales).
* gradient magnitude, Laplacian of Gaussian: scipy's
  ``gaussian_gradient_magnitude`` and ``gaussian_laplace``; difference of
  Gaussians: scikit-image's ``difference_of_gaussians`` (``G(low) -
  G(high)``).
* :func:`feature_bank`: ilastik's standard set at one scale (see
  :data:`FEATURES`).

Kernel tails whose weights sum to less than ``2**-60`` of the kernel's (far
below float64 rounding of any output) are dropped: scikit-image's ``truncate
= 100`` for ``sigma <= 1`` would otherwise cost 143 taps where 13 carry
every bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations_with_replacement

import numpy as np

from . import _engine
from ._features_run import Bank, Field, Pass
from ._gaussian import gaussian_weights

__all__ = [
    "FEATURES",
    "channels",
    "difference_bank",
    "feature_bank",
    "gradient_bank",
    "hessian_bank",
    "laplace_bank",
    "structure_bank",
]

#: ilastik's standard pixel features: name -> (channels per filtered axis count,
#: definition).  Channels are in this order for ``features=None``.
FEATURES: dict[str, str] = {
    "smoothing": "gaussian_filter(image, sigma)",
    "laplacian": "gaussian_laplace(image, sigma)",
    "gradient_magnitude": "gaussian_gradient_magnitude(image, sigma)",
    "difference_of_gaussians": "G(sigma) - G(0.66 sigma) (ilastik's)",
    "structure_tensor_eigenvalues": "eigenvalues of the structure tensor, inner scale sigma, "
    "outer scale sigma / 2 (ilastik's), largest first",
    "hessian_eigenvalues": "eigenvalues of gaussian_filter(image, sigma, order=e_i + e_j), "
    "largest first",
}
_ONE = {"smoothing", "laplacian", "gradient_magnitude", "difference_of_gaussians"}
_TAIL = 2.0**-60


def channels(feature: str, ndim: int) -> int:
    """Channels one feature takes at one scale for ``ndim`` filtered axes."""
    return 1 if feature in _ONE else ndim


# --------------------------------------------------------------------------- passes


def _trimmed(w: np.ndarray) -> np.ndarray:
    """``w`` without symmetric tails summing below ``2**-60`` of ``sum |w|``."""
    a = np.abs(w)
    limit = _TAIL * float(a.sum())
    tail = 0.0
    cut = 0
    for k in range(w.size // 2):
        tail += float(a[k] + a[w.size - 1 - k])
        if tail > limit:
            break
        cut = k + 1
    return w[cut : w.size - cut] if cut else w


def gaussian_pass(axis: int, sigma: float, order: int, truncate: float) -> Pass | None:
    """scipy's ``gaussian_filter1d`` pass (``None`` where scipy skips it: sigma <= 1e-15)."""
    if sigma <= 1e-15:
        return None
    w = np.asarray(gaussian_weights(float(sigma), int(order), float(truncate), None))
    return Pass(axis, _trimmed(w), float(sigma), int(order))


def gaussian_field(
    source: int, sigmas: Sequence[float], orders: Sequence[int], truncate: float
) -> Field:
    """scipy's ``gaussian_filter(input, sigmas, orders)``: one pass per axis, in axis order."""
    passes = [gaussian_pass(a, s, o, truncate) for a, (s, o) in enumerate(zip(sigmas, orders))]
    return Field(source, tuple(p for p in passes if p is not None))


def sobel_field(source: int, axis: int, ndim: int) -> Field:
    """scipy's ``sobel(input, axis)``: ``[-1, 0, 1]`` along ``axis``, ``[1, 2, 1]`` after."""
    passes = [Pass(axis, np.array([-1.0, 0.0, 1.0]))]
    passes += [Pass(a, np.array([1.0, 2.0, 1.0])) for a in range(ndim) if a != axis]
    return Field(source, tuple(passes))


def _unit(i: int, ndim: int, order: int = 1) -> list[int]:
    return [order if a == i else 0 for a in range(ndim)]


def _eigen(inputs: list[int], outputs: list[int]) -> list[list[int]]:
    if len(outputs) == 1:
        return [_engine.pointwise_step(_engine.POINT_COPY, inputs, outputs)]
    op = _engine.POINT_EIGEN2 if len(outputs) == 2 else _engine.POINT_EIGEN3
    return [_engine.pointwise_step(op, inputs, outputs)]


def _copies(count: int) -> list[list[int]]:
    return [_engine.pointwise_step(_engine.POINT_COPY, [t], [t]) for t in range(count)]


# --------------------------------------------------------------------------- banks


def hessian_bank(
    sigmas: Sequence[float], *, scheme: str, truncate: float | None, eigen: bool
) -> Bank:
    """The Hessian (its ``ndim (ndim + 1) / 2`` upper entries in scikit-image's order),
    or its eigenvalues, largest first."""
    d = len(sigmas)
    pairs = list(combinations_with_replacement(range(d), 2))
    if scheme == "skimage":
        t = (8.0 if all(s > 1 for s in sigmas) else 100.0) if truncate is None else truncate
        scaled = [s / math.sqrt(2.0) for s in sigmas]
        gradients = [gaussian_field(0, scaled, _unit(i, d), t) for i in range(d)]
        second = [gaussian_field(i, scaled, _unit(j, d), t) for i, j in pairs]
        final = _eigen(list(range(len(pairs))), list(range(d))) if eigen else _copies(len(pairs))
        return Bank(gradients, final, d if eigen else len(pairs), stage2=second)
    t = 4.0 if truncate is None else truncate
    fields = []
    for i, j in pairs:
        orders = [0] * d
        orders[i] += 1
        orders[j] += 1
        fields.append(gaussian_field(0, sigmas, orders, t))
    final = _eigen(list(range(len(pairs))), list(range(d))) if eigen else _copies(len(pairs))
    return Bank(fields, final, d if eigen else len(pairs))


def _products(d: int, first: int = 0) -> list[list[int]]:
    pairs = combinations_with_replacement(range(d), 2)
    return [
        _engine.pointwise_step(_engine.POINT_PRODUCT, [first + i, first + j], [t])
        for t, (i, j) in enumerate(pairs)
    ]


def structure_bank(
    sigmas: Sequence[float], rho: Sequence[float] | None, *, truncate: float, eigen: bool
) -> Bank:
    """The structure tensor (upper entries, scikit-image's order) or its eigenvalues."""
    d = len(sigmas)
    count = d * (d + 1) // 2
    if rho is None:
        derivatives = [sobel_field(0, i, d) for i in range(d)]
        outer = sigmas
    else:
        derivatives = [gaussian_field(0, sigmas, _unit(i, d), truncate) for i in range(d)]
        outer = rho
    smoothed = [gaussian_field(t, outer, [0] * d, truncate) for t in range(count)]
    final = _eigen(list(range(count)), list(range(d))) if eigen else _copies(count)
    return Bank(
        derivatives,
        final,
        d if eigen else count,
        stage2=smoothed,
        between=_products(d),
        inputs2=count,
    )


def gradient_bank(sigmas: Sequence[float], *, truncate: float) -> Bank:
    """scipy's ``gaussian_gradient_magnitude``."""
    d = len(sigmas)
    fields = [gaussian_field(0, sigmas, _unit(i, d), truncate) for i in range(d)]
    return Bank(fields, [_engine.pointwise_step(_engine.POINT_HYPOT, list(range(d)), [0])], 1)


def laplace_bank(sigmas: Sequence[float], *, truncate: float) -> Bank:
    """scipy's ``gaussian_laplace``."""
    d = len(sigmas)
    fields = [gaussian_field(0, sigmas, _unit(i, d, 2), truncate) for i in range(d)]
    return Bank(fields, [_engine.pointwise_step(_engine.POINT_SUM, list(range(d)), [0])], 1)


def difference_bank(low: Sequence[float], high: Sequence[float], *, truncate: float) -> Bank:
    """scikit-image's ``difference_of_gaussians``: ``G(low) - G(high)``."""
    zero = [0] * len(low)
    fields = [gaussian_field(0, low, zero, truncate), gaussian_field(0, high, zero, truncate)]
    return Bank(fields, [_engine.pointwise_step(_engine.POINT_DIFFERENCE, [0, 1], [0])], 1)


def cascade_sigmas(sigma: Sequence[float], base: Sequence[float] | None) -> list[float] | None:
    """The Gaussian that takes a ``base``-smoothed image to ``sigma``: ``sqrt(sigma^2 - base^2)``
    per axis (``sigma`` itself for ``base=None``; ``None`` where ``sigma <= base``)."""
    if base is None:
        return list(sigma)
    if any(s <= b for s, b in zip(sigma, base)):
        return None
    return [math.sqrt(s * s - b * b) for s, b in zip(sigma, base)]


def feature_bank(
    sigma: Sequence[float],
    features: Sequence[str],
    *,
    truncate: float,
    base: Sequence[float] | None = None,
) -> Bank:
    """ilastik's features at one scale, channels in the order of ``features``.

    ``base``: the bank reads an image already smoothed at ``base`` (a scale
    cascade): every Gaussian of the bank at scale ``s`` becomes one at
    ``sqrt(s^2 - base^2)`` of the same derivative order (the structure
    tensor's outer smoothing of products, at ``sigma / 2``, stays: products do
    not commute with smoothing).  Every such ``s`` must exceed ``base``.
    """
    d = len(sigma)
    inner = cascade_sigmas(sigma, base)
    small_sigma = cascade_sigmas([0.66 * s for s in sigma], base)
    if inner is None or (small_sigma is None and "difference_of_gaussians" in features):
        raise ValueError(f"a cascade needs every scale above base={base!r}, got sigma={sigma!r}")
    pairs = list(combinations_with_replacement(range(d), 2))
    stage1: list[Field] = []
    index: dict[tuple, int] = {}

    def need(key: tuple, make) -> int:  # noqa: ANN001 - a builder of one field
        if key not in index:
            index[key] = len(stage1)
            stage1.append(make())
        return index[key]

    def smooth() -> int:
        return need(("g", 0), lambda: gaussian_field(0, inner, [0] * d, truncate))

    def derivative(i: int) -> int:
        return need(("d", i), lambda: gaussian_field(0, inner, _unit(i, d), truncate))

    def second(i: int, j: int) -> int:
        orders = [0] * d
        orders[i] += 1
        orders[j] += 1
        return need(("h", i, j), lambda: gaussian_field(0, inner, orders, truncate))

    steps: list[tuple[str, list[int], list[int]]] = []  # (op, stage-1 fields, outputs)
    tensor: list[int] = []
    out = 0
    for name in features:
        if name == "smoothing":
            steps.append(("copy", [smooth()], [out]))
        elif name == "gradient_magnitude":
            steps.append(("hypot", [derivative(i) for i in range(d)], [out]))
        elif name == "laplacian":
            steps.append(("sum", [second(i, i) for i in range(d)], [out]))
        elif name == "difference_of_gaussians":
            small = need(("g", 1), lambda: gaussian_field(0, small_sigma, [0] * d, truncate))
            steps.append(("difference", [smooth(), small], [out]))
        elif name == "hessian_eigenvalues":
            steps.append(("eigen", [second(i, j) for i, j in pairs], list(range(out, out + d))))
        elif name == "structure_tensor_eigenvalues":
            for i in range(d):
                derivative(i)
            tensor = list(range(out, out + d))
        else:  # pragma: no cover - names are checked by the caller
            raise ValueError(name)
        out += channels(name, d)
    ops = {
        "copy": _engine.POINT_COPY,
        "hypot": _engine.POINT_HYPOT,
        "sum": _engine.POINT_SUM,
        "difference": _engine.POINT_DIFFERENCE,
    }

    def program(remap: dict[int, int]) -> list[list[int]]:
        made = []
        for op, inputs, outputs in steps:
            ins = [remap[i] for i in inputs]
            if op == "eigen":
                made += _eigen(ins, outputs)
            else:
                made.append(_engine.pointwise_step(ops[op], ins, outputs))
        return made

    if not tensor:
        return Bank(stage1, program({i: i for i in range(len(stage1))}), out)
    # The structure tensor's products, smoothed at sigma / 2, are a second stage;
    # the other outputs are made from stage-1 fields carried into its inputs.
    count = d * (d + 1) // 2
    dpos = [index[("d", i)] for i in range(d)]
    between = [
        _engine.pointwise_step(_engine.POINT_PRODUCT, [dpos[i], dpos[j]], [t])
        for t, (i, j) in enumerate(pairs)
    ]
    carried = sorted({i for _, inputs, _ in steps for i in inputs})
    remap = {i: count + k for k, i in enumerate(carried)}
    between += [_engine.pointwise_step(_engine.POINT_COPY, [i], [remap[i]]) for i in carried]
    rho = [0.5 * s for s in sigma]
    smoothed = [gaussian_field(t, rho, [0] * d, truncate) for t in range(count)]
    return Bank(
        stage1,
        _eigen(list(range(count)), tensor),
        out,
        stage2=smoothed,
        between=between,
        inputs2=count + len(carried),
        final_inputs=program(remap) or None,
    )
