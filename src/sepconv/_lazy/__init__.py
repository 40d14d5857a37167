"""Lazy Dask arrays: the block graph every lazy filter uses, and the thread rule.

:func:`map_with_reach` builds the graph of a filter whose output samples
depend on input samples within a reach (see "How a block is filtered" and
"Memory" in :mod:`sepconv.dask`); :func:`engine_threads` is the rule that
keeps Dask's threads and the engine's from oversubscribing the cores.  The
one backend wrapper (:mod:`sepconv._backends`) and the public
:mod:`sepconv.dask` both use them; nothing here knows which filter runs.
"""

from __future__ import annotations

from ._blocks import _map_with_reach as map_with_reach
from ._support import _INSTALL_HINT as INSTALL_HINT
from ._support import _dask_array as dask_array
from ._support import _is_dask_array as is_dask_array
from ._threads import _usable_cores as usable_cores
from ._threads import concurrent_tasks, engine_threads

__all__ = [
    "INSTALL_HINT",
    "concurrent_tasks",
    "dask_array",
    "engine_threads",
    "is_dask_array",
    "map_with_reach",
    "usable_cores",
]
