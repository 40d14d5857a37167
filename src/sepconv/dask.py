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

import itertools
import multiprocessing
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["cluster", "concurrent_tasks", "convolve", "correlate", "engine_threads", "sepfilter"]

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
) -> Any:
    """Lazy :func:`sepconv.correlate` of a Dask array.

    Parameters
    ----------
    input : dask.array.Array
        The array to filter; any chunks.
    weights, mode, cval, origin, axes, method, rtol
        As for :func:`sepconv.correlate`.
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
    return _lazy(
        "correlate",
        input,
        weights,
        output,
        mode,
        cval,
        origin,
        axes,
        {"method": method, "rtol": rtol},
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
) -> Any:
    """Lazy :func:`sepconv.convolve` of a Dask array; arguments as :func:`correlate`.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(10.0), chunks=4)
    >>> convolve(x, [1.0, 0.0, -1.0], mode="wrap").compute()
    array([-8.,  2.,  2.,  2.,  2.,  2.,  2.,  2.,  2., -8.])
    """
    return _lazy(
        "convolve",
        input,
        weights,
        output,
        mode,
        cval,
        origin,
        axes,
        {"method": method, "rtol": rtol},
    )


def sepfilter(
    input: Any,
    factors: Sequence[Any],
    axes: Sequence[int] | None = None,
    output: Any = None,
    mode: str | Sequence[str] = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    **options: Any,
) -> Any:
    """Lazy :func:`sepconv.sepfilter` of a Dask array: one 1-D kernel per filtered axis.

    Arguments are those of :func:`sepconv.sepfilter` (keyword-only options such as
    ``method`` are passed on); ``output`` may only be a dtype.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> x = da.from_array(np.arange(16.0).reshape(4, 4), chunks=2)
    >>> sepfilter(x, [[1.0, 1.0, 1.0], [0.5, 0.5]], mode="mirror").compute()[0]
    array([ 9.5,  9.5, 12.5, 15.5])
    """
    return _lazy("sepfilter", input, factors, output, mode, cval, origin, axes, options)


# --------------------------------------------------------------------------- machinery


def _numpy_function(name: str) -> Callable[..., np.ndarray]:
    from . import filters

    return getattr(filters, name)


def _lazy(
    name: str,
    input: Any,
    kernel: Any,
    output: Any,
    mode: Any,
    cval: float,
    origin: Any,
    axes: Any,
    options: dict[str, Any],
) -> Any:
    da = _dask_array()
    if not isinstance(input, da.Array):
        raise TypeError(
            f"input must be a dask.array.Array, got {type(input).__name__}; "
            "call sepconv.correlate/convolve/sepfilter for NumPy arrays"
        )
    if output is not None and (isinstance(output, np.ndarray) or _is_dask_array(output)):
        raise TypeError(
            "output must be None or a dtype for a Dask input, not an array; "
            "store the lazy result with dask.array.store or .to_zarr instead"
        )
    from ._boundary import check_axes, entries_by_axis, normalize_sequence

    func = _numpy_function(name)
    if name == "sepfilter":
        kernel = [np.asarray(f) for f in kernel]
    else:
        kernel = np.asarray(kernel)
    kwargs = {"mode": mode, "cval": cval, "origin": origin, "axes": axes, **options}
    if output is not None:
        kwargs["output"] = output
    # Run the NumPy function on a tiny array: it raises the same errors, at once, and
    # tells the output dtype.
    probe = func(np.zeros((1,) * input.ndim, dtype=input.dtype), kernel, **kwargs)
    out_dtype = probe.dtype
    kwargs["output"] = out_dtype
    filtered = check_axes(axes, input.ndim)
    reach = _reach(name, kernel, filtered, origin, input.ndim)
    if name == "sepfilter":
        modes = normalize_sequence(mode, len(filtered), "mode")
    else:
        mode_of = entries_by_axis(mode, filtered, input.ndim, "mode")
        modes = [mode_of[axis] for axis in filtered]
    kwargs.update(_fixed_method(name, input.shape, input.dtype, kernel, kwargs))
    if input.size == 0:
        return da.zeros(input.shape, dtype=out_dtype, chunks=input.chunks)
    return _map_with_reach(input, func, kernel, kwargs, filtered, reach, modes, out_dtype)


def _reach(
    name: str, kernel: Any, axes: tuple[int, ...], origin: Any, ndim: int
) -> list[tuple[int, int]]:
    """``(before, after)``: how far the kernel reaches back and forward on each axis."""
    from ._boundary import entries_by_axis, kernel_reach, normalize_sequence

    if name == "sepfilter":
        sizes = [np.asarray(f).size for f in kernel]
        origins = [int(o) for o in normalize_sequence(origin, len(axes), "origin")]
    else:
        # A dense kernel's dimensions go with the filtered axes in increasing
        # order (scipy's rule); origins are mapped as the NumPy path maps them.
        size_of = dict(zip(sorted(axes), np.shape(kernel)[-len(axes) :]))
        sizes = [size_of[axis] for axis in axes]
        origin_of = entries_by_axis(origin, axes, ndim, "origin")
        origins = [int(origin_of[axis]) for axis in axes]
    reach = []
    for size, o in zip(sizes, origins):
        if name == "convolve":
            # convolve is correlate with the kernel flipped and the origin mirrored
            # (shifted by one for even sizes), as scipy.ndimage defines it.
            o = -o - (1 - size % 2)
        reach.append(kernel_reach(size, o))
    return reach


def _fixed_method(
    name: str, shape: tuple[int, ...], dtype: np.dtype, kernel: Any, kwargs: dict[str, Any]
) -> dict[str, Any]:
    # Choose once for the whole array, so every chunk runs the plan the NumPy path
    # runs on the whole array, not one chosen for the chunk's smaller shape.  An FFT
    # plan is left to each chunk ("auto"): the NumPy path drops FFT for inputs with
    # NaN or infinity, which only the chunk can see.
    if name == "sepfilter" or kwargs.get("method", "auto") != "auto":
        return {}
    from .filters import plan

    keys = ("axes", "method", "rtol", "mode", "cval", "origin")
    chosen = plan(shape, kernel, dtype=dtype, **{k: kwargs[k] for k in keys if k in kwargs})
    return {} if chosen.method == "fft" else {"method": chosen.method}


def _map_with_reach(
    x: Any,
    func: Callable[..., np.ndarray],
    kernel: Any,
    kwargs: dict[str, Any],
    axes: tuple[int, ...],
    reach: list[tuple[int, int]],
    modes: list[Any],
    out_dtype: np.dtype,
) -> Any:
    da = _dask_array()
    from dask.array.overlap import ensure_minimum_chunksize
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    chunks = list(x.chunks)
    for ax, (before, after) in zip(axes, reach):
        need = max(before, after)
        if len(chunks[ax]) > 1 and min(chunks[ax]) < need:
            try:
                grown = ensure_minimum_chunksize(need, chunks[ax])
            except ValueError:  # the whole axis is shorter than the reach
                grown = (sum(chunks[ax]),)
            warnings.warn(
                f"sepconv.dask: chunks {chunks[ax]} along axis {ax} are shorter than the "
                f"kernel's reach ({need}); rechunking that axis to {grown}. Give larger "
                "chunks to avoid this copy.",
                UserWarning,
                stacklevel=4,
            )
            chunks[ax] = grown
    x = x.rechunk(tuple(chunks))

    per_axis = {ax: (before, after, mode) for ax, (before, after), mode in zip(axes, reach, modes)}
    layouts = [_axis_layout(x.chunks[ax], *per_axis.get(ax, (0, 0, None))) for ax in range(x.ndim)]
    token = tokenize(x.name, func.__name__, kernel, kwargs, reach, modes)
    name = f"sepconv-{func.__name__}-{token}"
    piece_name = f"sepconv-edge-{token}"
    run = _BlockRunner(func, kernel, kwargs)
    graph: dict[Any, Any] = {}
    pieces: dict[tuple[Any, ...], tuple[str, int]] = {}
    wave_of = _Waves(x.numblocks)
    gate_name, done_name = f"sepconv-gate-{token}", f"sepconv-done-{token}"
    waves: dict[int, list[Any]] = {}
    for index in np.ndindex(*x.numblocks):
        blocks = [layouts[ax][i] for ax, i in enumerate(index)]
        keys, regions = [], []
        for combo in itertools.product(*[block.segments for block in blocks]):
            source = (x.name, *(seg.chunk for seg in combo))
            selection = tuple(seg.selection for seg in combo)
            if all(seg.full for seg in combo):
                key = source
            else:
                # A copy of the piece a neighbour needs, so that the chunk it comes
                # from can be freed as soon as its own block is done.
                lookup = (source, selection)
                if lookup not in pieces:
                    pieces[lookup] = (piece_name, len(pieces))
                    graph[pieces[lookup]] = (_copy_piece, source, selection)
                key = pieces[lookup]
            keys.append(key)
            regions.append(tuple(slice(seg.start, seg.stop) for seg in combo))
        shape = tuple(block.length for block in blocks)
        trim = tuple(slice(block.left, block.length - block.right) for block in blocks)
        wave = wave_of(index)
        gate = (gate_name, wave - 1) if wave > 0 else None
        graph[(name, *index)] = (run, keys, regions, shape, trim, gate)
        if wave_of.count > 1:
            marker = (done_name, *index)
            graph[marker] = (_done, (name, *index))
            waves.setdefault(wave, []).append(marker)
    for wave, markers in waves.items():
        graph[(gate_name, wave)] = (_done, markers)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[x])
    return da.Array(layer, name, x.chunks, meta=np.empty((0,) * x.ndim, dtype=out_dtype))


class _Waves:
    """Groups of whole slabs of blocks along the first chunked axis, in order.

    Block tasks of wave ``w`` wait for every block of wave ``w - 1``.  Without it,
    Dask's static task order loads chunks several slabs ahead of the blocks that
    need them: 2.9 GiB peak for an 8 GiB volume, against 1.6 GiB with waves (same
    time).  A wave holds enough blocks to keep every thread busy: at least twice
    the threads that run tasks (a distributed client's, else Dask's local pool).
    """

    def __init__(self, numblocks: tuple[int, ...]) -> None:
        self.lead = next((ax for ax, n in enumerate(numblocks) if n > 1), None)
        if self.lead is None:
            self.slabs, self.count = 1, 1
            return
        per_slab = int(np.prod(numblocks)) // numblocks[self.lead]
        self.slabs = max(1, -(-2 * _graph_threads() // per_slab))  # slabs per wave
        self.count = -(-numblocks[self.lead] // self.slabs)

    def __call__(self, index: tuple[int, ...]) -> int:
        return 0 if self.lead is None else index[self.lead] // self.slabs


def _graph_threads() -> int:
    """Threads that will run the graph: a default distributed client's, else local."""
    if "distributed" in sys.modules:
        try:
            from distributed import default_client

            workers = default_client().scheduler_info(n_workers=-1)["workers"]
            return max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        except (ValueError, KeyError, OSError):
            pass
    import dask
    from dask.system import CPU_COUNT

    return int(dask.config.get("num_workers", None) or CPU_COUNT)


def _done(*args: Any) -> None:
    return None


class _Segment:
    """A run of one source chunk along one axis, placed at ``start:stop`` of a block."""

    __slots__ = ("chunk", "full", "selection", "start", "stop")

    def __init__(self, chunk: int, selection: tuple, start: int, stop: int, full: bool) -> None:
        self.chunk, self.selection = chunk, selection
        self.start, self.stop, self.full = start, stop, full


class _AxisBlock:
    """How one block's extended input is gathered along one axis, and its trim."""

    __slots__ = ("left", "length", "right", "segments")

    def __init__(self, segments: list[_Segment], length: int, left: int, right: int) -> None:
        self.segments, self.length, self.left, self.right = segments, length, left, right


def _axis_layout(chunks: tuple[int, ...], before: int, after: int, mode: Any) -> list[_AxisBlock]:
    """For every block along an axis: the source runs of its extended input.

    The extended input of block ``[s, e)`` holds the positions
    ``extend_indices(n, before, after, mode)[s : e + before + after]``: true
    neighbours inside the array, the mode's rule outside it.  A constant mode is
    not extended past the array's edges (the engine supplies ``cval`` there in its
    own arithmetic, exact even for a ``cval`` the input dtype cannot hold).
    """
    from ._boundary import extend_indices

    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(np.int64)
    n = int(starts[-1])
    layout = []
    index = None
    if before or after:
        index = np.asarray(extend_indices(n, before, after, mode), dtype=np.int64)
    for s, e in zip(starts[:-1], starts[1:]):
        if index is None:
            source, left, right = np.arange(s, e), 0, 0
        elif np.any(index < 0):
            lo, hi = max(s - before, 0), min(e + after, n)
            source, left, right = np.arange(lo, hi), s - lo, hi - e
        else:
            source, left, right = index[s : e + before + after], before, after
        layout.append(_AxisBlock(_runs(source, starts), len(source), left, right))
    return layout


def _runs(source: np.ndarray, starts: np.ndarray) -> list[_Segment]:
    """Split source positions into runs inside one chunk with a step of +1 or -1."""
    chunk_of = np.searchsorted(starts, source, side="right") - 1
    segments = []
    begin = 0
    for k in range(1, len(source) + 1):
        if k < len(source) and chunk_of[k] == chunk_of[begin]:
            step = source[k] - source[k - 1]
            first_step = source[begin + 1] - source[begin] if k - begin > 1 else step
            if step in (1, -1) and step == first_step:
                continue
        chunk = int(chunk_of[begin])
        local = source[begin:k] - starts[chunk]
        size = int(starts[chunk + 1] - starts[chunk])
        if len(local) > 1 and local[1] - local[0] == -1:
            stop = int(local[-1]) - 1
            selection: tuple = ("slice", int(local[0]), None if stop < 0 else stop, -1)
        else:
            selection = ("slice", int(local[0]), int(local[-1]) + 1, 1)
        full = selection == ("slice", 0, size, 1)
        segments.append(_Segment(chunk, selection, begin, k, full))
        begin = k
    return segments


def _copy_piece(chunk: np.ndarray, selection: tuple[tuple, ...]) -> np.ndarray:
    index = tuple(slice(start, stop, step) for _, start, stop, step in selection)
    return np.array(chunk[index], copy=True)


_SCRATCH = threading.local()


def _scratch(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A buffer of this thread, reused from block to block.

    The extended input lives only while the engine reads it (the engine writes a
    new output array).  Reusing it spares the kernel from handing out, zeroing and,
    when memory is full of page cache, first reclaiming fresh pages for every block:
    assembling a 42 MiB block took 33 ms fresh and 10 ms reused in the 8 GiB
    benchmark.  Each thread keeps one buffer, as large as its largest block.
    """
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = _SCRATCH.buffer = np.empty(nbytes, dtype=np.uint8)
    return buffer[:nbytes].view(dtype).reshape(shape)


class _BlockRunner:
    """The task of one output block: assemble the extended input, filter, trim."""

    def __init__(self, func: Callable[..., np.ndarray], kernel: Any, kwargs: dict[str, Any]):
        self.func, self.kernel, self.kwargs = func, kernel, kwargs

    def __call__(
        self,
        pieces: list[np.ndarray],
        regions: list[tuple[slice, ...]],
        shape: tuple[int, ...],
        trim: tuple[slice, ...],
        gate: Any = None,
    ) -> np.ndarray:
        if len(pieces) == 1:
            extended = pieces[0]
        else:
            extended = _scratch(shape, pieces[0].dtype)
            for piece, region in zip(pieces, regions):
                extended[region] = piece
        with engine_threads():
            result = self.func(extended, self.kernel, **self.kwargs)
        return result[trim]


# --------------------------------------------------------------------------- threads


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _local_concurrency() -> int:
    import dask
    from dask.system import CPU_COUNT

    thread = threading.current_thread()
    if multiprocessing.parent_process() is not None:
        # A task of Dask's multiprocessing scheduler: one process per pool slot.
        return int(dask.config.get("num_workers", None) or CPU_COUNT)
    if thread is threading.main_thread():
        return 1  # the synchronous scheduler runs tasks in the calling thread
    try:
        import dask.threaded as threaded

        pools = [threaded.default_pool]
        pools += [pool for per_thread in threaded.pools.values() for pool in per_thread.values()]
        for pool in pools:
            if pool is not None and thread in getattr(pool, "_threads", ()):
                return int(pool._max_workers)
    except Exception:  # Dask's internals moved: fall back on its configuration
        pass
    return int(dask.config.get("num_workers", None) or CPU_COUNT)


_HOST_THREADS: dict[str, tuple[float, int]] = {}
_HOST_THREADS_TTL = 30.0


def _worker_concurrency(worker: Any) -> int:
    own = int(worker.state.nthreads)
    cached = _HOST_THREADS.get(worker.address)
    if cached is not None and time.monotonic() - cached[0] < _HOST_THREADS_TTL:
        return cached[1]
    total = own
    try:
        from distributed import get_client

        info = get_client().scheduler_info(n_workers=-1)
        host = worker.ip
        total = sum(
            int(w.get("nthreads", 0)) for w in info["workers"].values() if w.get("host") == host
        )
    except Exception:  # no answer from the scheduler: count this worker alone
        total = own
    total = max(total, own)
    _HOST_THREADS[worker.address] = (time.monotonic(), total)
    return total


def _current_worker() -> Any:
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:
        return None


def concurrent_tasks() -> int:
    """How many Dask tasks may run at once on this machine, seen from the caller.

    Inside a :mod:`distributed` worker: the sum of ``nthreads`` over the workers on
    this host.  Elsewhere: Dask's local thread-pool size for a pool thread, the
    process-pool size in a multiprocessing task, and 1 in the main thread.

    Examples
    --------
    >>> concurrent_tasks()
    1
    """
    # Without Dask imported no Dask scheduler can be running this code: one task.
    if "distributed" in sys.modules:
        worker = _current_worker()
        if worker is not None:
            return _worker_concurrency(worker)
    if "dask" not in sys.modules:
        return 1
    return _local_concurrency()


@contextmanager
def engine_threads(threads: int | None = None) -> Iterator[int]:
    """Limit the engine's threads in this thread to ``cores // concurrent tasks``.

    Every task of :func:`correlate`, :func:`convolve` and :func:`sepfilter` runs
    inside it (see "Threads: the rule" above); use it around your own engine calls
    in custom Dask tasks.  ``threads`` overrides the rule.  Yields the count used.

    Examples
    --------
    >>> with engine_threads() as n:
    ...     n >= 1
    True
    """
    from ._engine import get_num_threads, set_num_threads

    count = threads if threads is not None else max(1, _usable_cores() // concurrent_tasks())
    count = max(1, min(int(count), get_num_threads(max=True)))
    previous = get_num_threads()
    set_num_threads(count)
    try:
        yield count
    finally:
        set_num_threads(previous)


# --------------------------------------------------------------------------- clusters


@contextmanager
def cluster(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    **cluster_options: Any,
) -> Iterator[Any]:
    """Where Dask work runs: local threads, a new local cluster, or an existing one.

    Parameters
    ----------
    scheduler : str, optional
        ``None``, ``"threads"`` or ``"local"``: Dask's local threaded scheduler (yields
        ``None``); ``"sync"``: one thread, for debugging (yields ``None``);
        ``"tcp://HOST:PORT"`` (any address): connect to a running scheduler.
    workers : int, optional
        Start a :class:`distributed.LocalCluster` of this many worker processes, each
        with ``threads_per_worker`` threads, closed on exit.  Cannot be combined with an
        address.
    cluster_options
        Passed to :class:`distributed.LocalCluster`.

    Yields
    ------
    distributed.Client or None
        The client (its ``dashboard_link`` shows the dashboard), set as the default
        for Dask computations inside the block; ``None`` for the local schedulers.

    Examples
    --------
    >>> with cluster() as client:
    ...     print(client)
    None
    """
    if workers is not None and scheduler not in (None, "threads", "local", "distributed"):
        raise ValueError(
            f"workers={workers} starts a new local cluster; do not also give "
            f"scheduler={scheduler!r} (use one or the other)"
        )
    if workers is None and scheduler in (None, "threads", "local"):
        import dask

        with dask.config.set(scheduler="threads"):
            yield None
        return
    if workers is None and scheduler in ("sync", "synchronous", "single-threaded"):
        import dask

        with dask.config.set(scheduler="sync"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(f"a Dask cluster needs distributed; {_INSTALL_HINT}") from None
    if workers is not None:
        if isinstance(workers, bool) or int(workers) < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        options = {"dashboard_address": ":0", **cluster_options}
        with (
            LocalCluster(
                n_workers=int(workers),
                threads_per_worker=threads_per_worker,
                processes=True,
                **options,
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    if not isinstance(scheduler, str) or "://" not in scheduler and ":" not in scheduler:
        raise ValueError(
            f"scheduler must be 'threads', 'sync' or a scheduler address such as "
            f"'tcp://127.0.0.1:8786', got {scheduler!r}"
        )
    with Client(scheduler) as client:
        yield client
