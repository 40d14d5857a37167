"""sepconv: separable convolutions made real, fast and measurable.

Spatial separability (a kernel that is an outer product of 1-D vectors) is
analysed by :func:`rank`, :func:`separate` and :func:`lowrank`; its cost and
that of depthwise separable layers is counted by :mod:`sepconv.cost`.

Importing sepconv compiles nothing: the Numba kernels compile (or load from
their on-disk cache) on first use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import cost, kernels
from .analysis import (
    Analysis,
    LowRank,
    NotSeparableError,
    Separation,
    analyze,
    lowrank,
    rank,
    separate,
)

try:
    __version__ = version("sepconv")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Analysis",
    "LowRank",
    "NotSeparableError",
    "Separation",
    "__version__",
    "analyze",
    "cost",
    "kernels",
    "lowrank",
    "rank",
    "separate",
]
