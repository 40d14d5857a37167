"""sepconv: separable convolutions made real, fast and measurable.

Spatial separability (a kernel that is an outer product of 1-D vectors) is
analysed by :func:`rank`, :func:`separate` and :func:`lowrank`; its cost and
that of depthwise separable layers is counted by :mod:`sepconv.cost`.

Importing sepconv compiles nothing: the Numba kernels compile (or load from
their on-disk cache) on first use.  ``sepconv.profile`` (per-layer counts of a
PyTorch model, :func:`sepconv.nn.profile`) loads on first use and is not in
``__all__``, so that ``from sepconv import *`` never needs PyTorch.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import cost, filters, kernels, plot
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
from .filters import convolve, correlate, sepfilter

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
    "filters",
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
