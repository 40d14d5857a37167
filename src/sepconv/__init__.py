"""sepconv: separable convolutions made real, fast and measurable.

Spatial separability (a kernel that is an outer product of 1-D vectors) is
analysed by :func:`rank`, :func:`separate` and :func:`lowrank`; its cost and
that of depthwise separable layers is counted by :mod:`sepconv.cost`.

Importing sepconv compiles nothing: the Numba kernels compile (or load from
their on-disk cache) on first use.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import _backends, cost, filters, kernels, plot
from ._args import FilterArgumentError, UnsupportedDtypeError
from ._engine import get_num_threads, set_num_threads
from ._memory import MemoryBudgetError, get_memory_budget, set_memory_budget
from ._plan import Plan, plan
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

# The public filters: the NumPy functions of sepconv.filters, each taking Dask
# arrays (lazily, by its reach) and torch tensors through the one backend wrapper.
correlate = _backends.backend(
    _backends.correlate_reach, _backends.correlate_tensor, prepare=_backends.plan_once
)(filters.correlate)
convolve = _backends.backend(
    _backends.correlate_reach, _backends.convolve_tensor, prepare=_backends.plan_once
)(filters.convolve)
sepfilter = _backends.backend(_backends.sepfilter_reach)(filters.sepfilter)

try:
    __version__ = version("sepconv")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Analysis",
    "FilterArgumentError",
    "LowRank",
    "MemoryBudgetError",
    "NotSeparableError",
    "Plan",
    "Separation",
    "UnsupportedDtypeError",
    "__version__",
    "analyze",
    "convolve",
    "correlate",
    "cost",
    "get_memory_budget",
    "get_num_threads",
    "kernels",
    "lowrank",
    "plan",
    "plot",
    "rank",
    "separate",
    "sepfilter",
    "set_memory_budget",
    "set_num_threads",
]


def __getattr__(name: str):
    # sepconv.profile needs PyTorch; import it on first use so that
    # ``import sepconv`` never imports torch.
    if name == "profile":
        from .nn import profile

        return profile
    raise AttributeError(f"module 'sepconv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "profile"])
