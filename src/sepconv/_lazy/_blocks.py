"""The block graph: each output block filters its extended input and keeps its part.

See "How a block is filtered" and "Memory" in :mod:`sepconv.dask`.
"""

from __future__ import annotations

import itertools
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._support import _dask_array
from ._threads import engine_threads


def _map_with_reach(
    x: Any,
    func: Callable[..., np.ndarray],
    kernel: Any,
    kwargs: dict[str, Any],
    axes: tuple[int, ...],
    reach: list[tuple[int, int]],
    modes: list[Any],
    out_dtype: np.dtype,
    lead: int = 0,
) -> Any:
    """``lead``: the filter stacks its results along a new first axis of this size (0: none)."""
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
    run = _BlockRunner(func, kernel, kwargs, lead > 0)
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
        key = (name, 0, *index) if lead else (name, *index)
        graph[key] = (run, keys, regions, shape, trim, gate)
        if wave_of.count > 1:
            marker = (done_name, *index)
            graph[marker] = (_done, key)
            waves.setdefault(wave, []).append(marker)
    for wave, markers in waves.items():
        graph[(gate_name, wave)] = (_done, markers)
    layer = HighLevelGraph.from_collections(name, graph, dependencies=[x])
    if lead:
        meta = np.empty((0,) * (x.ndim + 1), dtype=out_dtype)
        return da.Array(layer, name, ((lead,), *x.chunks), meta=meta)
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
    from .._boundary import extend_indices

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

    def __init__(
        self,
        func: Callable[..., np.ndarray],
        kernel: Any,
        kwargs: dict[str, Any],
        lead: bool = False,
    ):
        self.func, self.kernel, self.kwargs, self.lead = func, kernel, kwargs, lead

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
        return result[(slice(None), *trim)] if self.lead else result[trim]
