"""Importing Dask lazily: ``import sepconv`` never imports it."""

from __future__ import annotations

from typing import Any

import numpy as np  # noqa: F401  (used by the doctest)

_INSTALL_HINT = "install it with: pip install 'sepconv[dask]'"


def _dask_array() -> Any:
    try:
        import dask.array as da
    except ImportError:
        raise ImportError(f"sepconv.dask needs Dask; {_INSTALL_HINT}") from None
    return da


def _is_dask_array(value: Any) -> bool:
    """Whether ``value`` is a :class:`dask.array.Array`, without importing Dask.

    Examples
    --------
    >>> _is_dask_array(np.zeros(3))
    False
    """
    module = type(value).__module__
    if not module.startswith("dask"):
        return False
    try:
        import dask.array as da
    except ImportError:
        return False
    return isinstance(value, da.Array)
