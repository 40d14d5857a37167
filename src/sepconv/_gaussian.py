"""scipy.ndimage's Gaussian (derivative) weights, operation for operation.

The weights are part of scipy's bits: :func:`gaussian_weights` computes them
as ``scipy.ndimage.gaussian_filter1d`` does (``_gaussian_kernel1d``), in the
correlation orientation the engine applies.  :mod:`sepconv.ndimage` and
:mod:`sepconv.features` take them from here.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any

import numpy as np

__all__ = ["gaussian_weights"]


def _gaussian_kernel1d(sigma: float, order: int, radius: int) -> np.ndarray:
    # scipy's own arithmetic, operation for operation: the weights are part of the bits.
    if order < 0:
        raise ValueError("order must be non-negative")
    exponent_range = np.arange(order + 1)
    sigma2 = sigma * sigma
    x = np.arange(-radius, radius + 1)
    phi_x = np.exp(-0.5 / sigma2 * x**2)
    phi_x = phi_x / phi_x.sum()
    if order == 0:
        return phi_x
    q = np.zeros(order + 1)
    q[0] = 1
    D = np.diag(exponent_range[1:], 1)
    P = np.diag(np.ones(order) / -sigma2, -1)
    Q_deriv = D + P
    for _ in range(order):
        q = Q_deriv.dot(q)
    q = (x[:, None] ** exponent_range).dot(q)
    return q * phi_x


def gaussian_weights(sigma: Any, order: int, truncate: float, radius: Any) -> np.ndarray:
    """The correlation weights ``gaussian_filter1d`` applies (scipy's, reversed)."""
    # Cache only plain Python scalars: a NumPy float32 sigma or truncate changes
    # scipy's arithmetic (NEP 50), so those take the uncached path.
    if (
        type(sigma) in (float, int)
        and type(truncate) in (float, int)
        and type(order) is int
        and (radius is None or type(radius) is int)
    ):
        return _cached_gaussian(sigma, order, truncate, radius)
    return _gaussian_weights(sigma, order, truncate, radius)


@functools.lru_cache(maxsize=256)
def _cached_gaussian(sigma: float, order: int, truncate: float, radius: Any) -> np.ndarray:
    # Keys 2 and 2.0 are one entry: int and float sigmas give the same weights.
    weights = _gaussian_weights(sigma, order, truncate, radius)
    weights.flags.writeable = False
    return weights


def _gaussian_weights(sigma: Any, order: int, truncate: float, radius: Any) -> np.ndarray:
    try:
        sd = float(sigma)
        lw = int(truncate * sd + 0.5)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{exc} (sigma and truncate must be numbers, got {sigma!r} and {truncate!r})"
        ) from None
    if radius is not None:
        lw = radius
    if not isinstance(lw, numbers.Integral) or lw < 0:
        raise ValueError(
            f"Radius must be a nonnegative integer. (radius must be an integer >= 0, got {lw!r})"
        )
    if isinstance(order, numbers.Integral) and order < 0:
        raise ValueError(f"order must be non-negative (order must be 0, 1, 2, ..., got {order})")
    try:
        return np.ascontiguousarray(_gaussian_kernel1d(sigma, order, lw)[::-1])
    except TypeError as exc:
        raise TypeError(
            f"{exc} (sigma must be a number and order an integer, got sigma="
            f"{sigma!r}, order={order!r})"
        ) from None
