"""Dask arrays: sepconv's filters on arrays larger than memory, on one machine or a cluster.

:func:`correlate`, :func:`convolve` and :func:`sepfilter` take a
:class:`dask.array.Array` and return a lazy Dask array holding exactly what the NumPy
functions of the same names return for the whole array: every boundary mode, ``cval``,
``origin`` and ``axes``.  :func:`sepconv.correlate` and friends call them when given a
Dask array, so code written for NumPy arrays runs on Dask arrays unchanged.
:func:`cluster` starts or joins a :mod:`distributed` cluster for the same code.

How a block is filtered
    Along each filtered axis the kernel reaches ``before = size // 2 + origin``
    elements back and ``after = size - 1 - size // 2 - origin`` forward (for
    :func:`convolve`, those of the equivalent correlation).  Each output block is one
    task that assembles its *extended* input, the block plus that reach, runs the
    NumPy engine on it and keeps the block's own part.  The extension holds the
    true neighbours inside the array and, past the array's edges, what the
    requested mode puts there, by the rule the NumPy engine itself uses
    (:func:`sepconv._boundary.extend_indices`): ``wrap`` sees the far end of the
    array, ``reflect`` the array's own edge, never a chunk's.  The pieces a block
    borrows from a neighbouring chunk are small copied tasks, so a chunk is freed
    once its own block is done, whatever its neighbours still need.  ``constant``
    modes are not extended past the array: the engine puts ``cval`` there in its own
    arithmetic, so a ``cval`` the input dtype cannot hold (``-0.5`` for ``uint8``)
    is still exact.  Chunks shorter than the reach are merged with a neighbour
    first (with a :class:`UserWarning`): correct either way, but a block would
    otherwise gather from many tiny chunks.  The method is chosen once for the whole
    array (:func:`sepconv.plan`) and used for every chunk, except an FFT plan, which
    each chunk re-decides (the NumPy path drops FFT for inputs holding NaN or
    infinity, which only the chunk can see).

Memory
    Blocks are filtered in waves of whole slabs along the first chunked axis: a
    wave's tasks wait for the previous wave to finish, which keeps Dask from loading
    chunks many slabs ahead of their use (for an 8 GiB Zarr volume in 32 MiB chunks:
    1.6 GiB peak instead of 2.9 GiB, in the same time).  A wave is large enough to
    keep every thread busy.  ``wrap`` mode needs the far end of the array for the
    first slabs, so it holds those chunks longer.

Threads: the rule
    A task may run next to others, each running the multi-threaded engine.  So that
    the two levels never ask for more threads than there are cores, each task gives
    the engine ``max(1, cores // concurrent)`` threads, where ``cores`` is the number
    of cores this process may use and ``concurrent`` the number of tasks that may run
    at once on this machine: the size of Dask's thread pool (``dask.config``
    ``num_workers``, else one per core) for the local threaded scheduler, one for the
    synchronous scheduler, and the sum of ``nthreads`` of every worker on the same
    host for a :mod:`distributed` cluster.  With Dask's defaults (a thread per core)
    each chunk is therefore filtered by one engine thread and the parallelism comes
    from the chunks; ``dask.config.set(num_workers=1)`` gives all cores to the
    engine instead.  The setting is per task (Numba's thread count is per thread) and
    is restored after it.

Dask is an optional dependency (``pip install 'sepconv[dask]'``); ``import sepconv``
never imports it.

Examples
--------
>>> import numpy as np, dask.array as da
>>> import sepconv.dask
>>> image = np.arange(48, dtype=np.float64).reshape(6, 8)
>>> lazy = da.from_array(image, chunks=(3, 3))
>>> smoothed = sepconv.dask.correlate(lazy, np.ones((3, 3)) / 9, mode="wrap")
>>> smoothed
dask.array<..., shape=(6, 8), dtype=float64, chunksize=(3, 3), chunktype=numpy.ndarray>
>>> import scipy.ndimage
>>> np.allclose(smoothed.compute(), scipy.ndimage.correlate(image, np.ones((3, 3)) / 9,
...                                                         mode="wrap"))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._lazy import concurrent_tasks, dask_array, engine_threads
from .._lazy import usable_cores as _usable_cores  # noqa: F401 - the thread rule's cores
from ._cluster import cluster

__all__ = ["cluster", "concurrent_tasks", "convolve", "correlate", "engine_threads", "sepfilter"]


# --------------------------------------------------------------------------- public API


def correlate(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    axes: Sequence[int] | None = None,
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> Any:
    """Lazy :func:`sepconv.correlate` of a Dask array.

    Parameters
    ----------
    input : dask.array.Array
        The array to filter; any chunks.
    weights, mode, cval, origin, axes, method, rtol, nan_policy, mask
        As for :func:`sepconv.correlate` (``mask`` a NumPy or Dask array of the
        input's shape, cut into the input's blocks).
    output : dtype, optional
        The dtype of the result (an array cannot receive a lazy result).

    Returns
    -------
    dask.array.Array
        The result, chunked like ``input`` (unless chunks had to grow).

    Raises
    ------
    ValueError, TypeError
        Bad arguments raise at once, exactly as the NumPy function raises them.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(10.0), chunks=3)
    >>> correlate(x, [1.0, 0.0, -1.0], mode="nearest").compute()
    array([-1., -2., -2., -2., -2., -2., -2., -2., -2., -1.])
    """
    from .. import filters

    _require_dask(input)
    return filters.correlate(
        input,
        weights,
        output,
        mode,
        cval,
        origin,
        axes=axes,
        method=method,
        rtol=rtol,
        nan_policy=nan_policy,
        mask=mask,
    )


def convolve(
    input: Any,
    weights: Any,
    output: Any = None,
    mode: str = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    axes: Sequence[int] | None = None,
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> Any:
    """Lazy :func:`sepconv.convolve` of a Dask array; arguments as :func:`correlate`.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(10.0), chunks=4)
    >>> convolve(x, [1.0, 0.0, -1.0], mode="wrap").compute()
    array([-8.,  2.,  2.,  2.,  2.,  2.,  2.,  2.,  2., -8.])
    """
    from .. import filters

    _require_dask(input)
    return filters.convolve(
        input,
        weights,
        output,
        mode,
        cval,
        origin,
        axes=axes,
        method=method,
        rtol=rtol,
        nan_policy=nan_policy,
        mask=mask,
    )


def sepfilter(
    input: Any,
    factors: Sequence[Any],
    axes: Sequence[int] | None = None,
    output: Any = None,
    mode: str | Sequence[str] = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> Any:
    """Lazy :func:`sepconv.sepfilter` of a Dask array: one 1-D kernel per filtered axis.

    Arguments are those of :func:`sepconv.sepfilter` (which has no ``method``:
    the factors are the plan); ``output`` may only be a dtype.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> sepfilter(x, [[1.0, 1.0, 1.0], [0.5, 0.5]], mode="mirror").compute()[0]
    array([ 9.5,  9.5, 12.5, 15.5])
    """
    from .. import filters

    _require_dask(input)
    return filters.sepfilter(
        input, factors, axes, output, mode, cval, origin, nan_policy=nan_policy, mask=mask
    )


# --------------------------------------------------------------------------- machinery


def _require_dask(input: Any) -> None:
    # The one Dask door is sepconv's backend wrapper (sepconv._backends); these
    # names keep the module's promise that they take Dask arrays.
    da = dask_array()
    if not isinstance(input, da.Array):
        raise TypeError(
            f"input must be a dask.array.Array, got {type(input).__name__}; "
            "call sepconv.correlate/convolve/sepfilter for NumPy arrays"
        )
