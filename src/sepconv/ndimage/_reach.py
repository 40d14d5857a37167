"""How far each filter reaches along each axis: the overlap its Dask blocks need.

Each rule takes the filter's bound arguments (defaults applied) and the number
of dimensions and returns ``{axis: samples}``.  The rules may over-estimate
(a whole kernel length rather than its exact half-widths): a larger overlap
changes no bit, a smaller one would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args

__all__ = [
    "correlate1d_reach",
    "correlate_reach",
    "edge_reach",
    "gaussian1d_reach",
    "gaussian_derivatives_reach",
    "gaussian_reach",
    "generic_reach",
    "laplace_reach",
    "minmax1d_reach",
    "minmax_reach",
    "minmax_twice_reach",
    "uniform1d_reach",
    "uniform_reach",
]


def _radius(sigma: Any, truncate: Any, radius: Any) -> int:
    return int(radius) if radius is not None else int(float(truncate) * float(sigma) + 0.5)


def correlate1d_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    return {_args.check_axis(a["axis"], ndim): int(np.size(a["weights"]))}


def _recursive_radius(sigma: Any) -> int:
    # The recursive kernel is not truncated; beyond 12 sigma it is below 1e-31 of its peak.
    return int(np.ceil(12.0 * float(sigma))) + 2


def gaussian1d_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    axis = _args.check_axis(a["axis"], ndim)
    if a.get("method") == "recursive":
        return {axis: _recursive_radius(a["sigma"])}
    return {axis: _radius(a["sigma"], a["truncate"], a["radius"])}


def gaussian_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    axes = _args.to_axes(a["axes"], ndim)
    sigmas = _args.to_sequence(a["sigma"], len(axes), "sigma")
    if a.get("method") == "recursive":
        return {ax: _recursive_radius(s) for ax, s in zip(axes, sigmas)}
    radii = _args.to_sequence(a["radius"], len(axes), "radius")
    return {ax: _radius(s, a["truncate"], r) for ax, s, r in zip(axes, sigmas, radii)}


def uniform1d_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    return {_args.check_axis(a["axis"], ndim): int(a["size"])}


def uniform_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    axes = _args.to_axes(a["axes"], ndim)
    sizes = _args.to_sequence(a["size"], len(axes), "size")
    return {ax: int(s) for ax, s in zip(axes, sizes)}


def correlate_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    # The kernel's dimensions follow the filtered axes in increasing order.
    axes = sorted(_args.to_axes(a["axes"], ndim))
    return dict(zip(axes, np.shape(a["weights"])[-len(axes) :]))


def edge_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    return dict.fromkeys(range(ndim), 1)


def laplace_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    return dict.fromkeys(_args.to_axes(a["axes"], ndim), 1)


def gaussian_derivatives_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    # gaussian_laplace / gaussian_gradient_magnitude smooth every axis they
    # filter; the largest radius bounds them all.
    sigmas = np.atleast_1d(np.asarray(a["sigma"], dtype=float)).tolist()
    radii = np.atleast_1d(np.asarray(a.get("radius"), dtype=object)).tolist()
    truncate = a.get("truncate", 4.0)
    radius = max(_radius(s, truncate, r) for s in sigmas for r in radii)
    return dict.fromkeys(range(ndim), radius)


def generic_reach(a: dict[str, Any], ndim: int) -> dict[int, int] | None:
    """generic_laplace / generic_gradient_magnitude: known when the derivative is
    sepconv.ndimage's (or scipy's) sobel or prewitt, which reach one sample along
    every axis; unknown (None) for any other callable."""
    from ._derivatives import prewitt, sobel

    derivative = a.get("derivative2", a.get("derivative"))
    derivative = getattr(derivative, "__wrapped__", derivative)  # the public, wrapped ones
    known = {sobel, prewitt}
    try:
        import scipy.ndimage as scipy_ndimage

        known |= {scipy_ndimage.sobel, scipy_ndimage.prewitt}
    except ImportError:  # pragma: no cover - scipy is a dependency
        pass
    if derivative not in known:
        return None
    return dict.fromkeys(range(ndim), 1)


def minmax1d_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    return {_args.check_axis(a["axis"], ndim): max(int(a["size"]) - 1, 0)}


def minmax_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    """Minimum / maximum filters and grey morphology: the window's length less one per axis
    (a window of ``k`` reaches at most ``k - 1`` samples either way, whatever its origin).

    ``size`` entries follow ``axes``; a footprint's or structure's longest side
    bounds every filtered axis.  Arguments the filter refuses give no overlap:
    the NumPy function then raises its own error on the first block.
    """
    try:
        axes = _args.to_axes(a.get("axes"), ndim)
        window = a.get("footprint")
        if window is None:
            window = a.get("structure")
        if window is not None:
            longest = max(np.shape(window), default=1)
            return dict.fromkeys(axes, max(int(longest) - 1, 0))
        sizes = _args.to_sequence(a["size"], len(axes), "size")
        return {ax: max(int(s) - 1, 0) for ax, s in zip(axes, sizes)}
    except (TypeError, ValueError, RuntimeError):
        return {}


def minmax_twice_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    """Openings, closings and top-hats: one filter of another, twice the reach."""
    return {ax: 2 * d for ax, d in minmax_reach(a, ndim).items()}
