"""Volumes: Zarr arrays and multi-page TIFF files filtered lazily through Dask.

A volume is read chunk by chunk (Zarr) or in slabs of whole pages (TIFF) and written
block by block into a temporary sibling that is renamed into place only when complete,
so a crash or interruption leaves the previous output (if any) and never half a volume.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_path
from ._batch import FileResult, FilterOptions, _describe_plan, morphology
from ._formats import _TIFF_SUFFIXES, VOLUME_SUFFIXES, Image


def open_volume(
    path: str | os.PathLike[str], chunks: Sequence[int] | str | None = None
) -> tuple[Any, int | None]:
    """Open a Zarr array or a multi-page TIFF as a lazy Dask array.

    Returns ``(array, channel_axis)``.  Zarr keeps its own chunks unless ``chunks`` is
    given.  A TIFF is read in slabs of whole pages (about 64 MiB, or ``chunks[0]``
    pages), each task opening the file by path, so worker processes can read it.

    Examples
    --------
    >>> import tempfile, pathlib, tifffile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stack.tif"
    >>> tifffile.imwrite(path, np.zeros((5, 4, 3), dtype=np.uint16), photometric="minisblack")
    >>> volume, channel_axis = open_volume(path)
    >>> volume.shape, volume.dtype, channel_axis
    ((5, 4, 3), dtype('uint16'), None)
    """
    import dask.array as da

    path = Path(path)
    if path.suffix.lower() in _TIFF_SUFFIXES:
        return _open_tiff_volume(path, chunks)
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:
        raise ValueError(f"input {str(path)!r} is not a readable Zarr array: {exc}") from None
    if not hasattr(node, "shape"):  # a group: accept one with a single array
        names = [name for name, _ in node.arrays()]
        if len(names) != 1:
            raise ValueError(
                f"input {str(path)!r} is a Zarr group with arrays {names}; "
                "give the path of one array, e.g. group.zarr/name"
            )
        node = node[names[0]]
    array = da.from_zarr(node)
    if chunks is not None:
        array = array.rechunk(tuple(chunks) if not isinstance(chunks, str) else chunks)
    return array, None


def _open_tiff_volume(path: Path, chunks: Sequence[int] | str | None) -> tuple[Any, int | None]:
    import dask
    import dask.array as da
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape, dtype, axes = tuple(series.shape), series.dtype, series.axes
        page_shape = tuple(series.pages[0].shape)
        npages = len(series.pages)
    if shape != (npages, *page_shape):
        raise ValueError(
            f"input {str(path)!r}: TIFF series of shape {shape} ({axes}) is not a stack of "
            f"{npages} pages of shape {page_shape}; convert it to Zarr"
        )
    if isinstance(chunks, Sequence) and not isinstance(chunks, str) and len(chunks):
        per_slab = max(1, int(chunks[0]))
    else:
        per_slab = max(1, (64 << 20) // max(1, int(np.prod(page_shape)) * dtype.itemsize))
    slabs = []
    for start in range(0, npages, per_slab):
        stop = min(npages, start + per_slab)
        block = dask.delayed(_read_tiff_pages, pure=True)(str(path), start, stop)
        slabs.append(da.from_delayed(block, (stop - start, *page_shape), dtype=dtype))
    array = da.concatenate(slabs, axis=0)
    if isinstance(chunks, Sequence) and not isinstance(chunks, str) and len(chunks) > 1:
        array = array.rechunk(tuple(chunks))
    channel = array.ndim - 1 if axes.endswith("S") and len(page_shape) == 3 else None
    return array, channel


def _read_tiff_pages(path: str, start: int, stop: int) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        data = tif.asarray(key=range(start, stop))
        page_shape = tuple(tif.pages[0].shape)
    # One page comes back without its leading axis.
    return data.reshape((stop - start, *page_shape))


def filter_volume(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    options: FilterOptions,
    *,
    chunks: Sequence[int] | str | None = None,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileResult:
    """Filter a Zarr array or multi-page TIFF into ``dst`` (``.zarr``, ``.tif``, ``.npy``).

    The volume is filtered lazily by :mod:`sepconv.dask` and written block by block
    (see :func:`write_volume`), so memory holds a few chunks, not the volume.  Unlike
    :func:`filter_image_file`, errors are raised: there is only one file.
    """
    from .. import dask as sdask

    start = time.perf_counter()
    array, channel_axis = open_volume(src, chunks)
    spatial = Image(np.empty((0,) * array.ndim), channel_axis).spatial_axes
    axes = spatial if options.axes is None else options.axes
    if options.op is not None:  # grey morphology: sepconv.ndimage takes Dask arrays lazily
        result, plan = morphology(array, axes, options)
    else:
        weights = options.weights(len(axes))
        output = options.output_dtype(array.dtype, weights)
        func = sdask.convolve if options.convolve else sdask.correlate
        plan = _describe_plan(array.shape, array.dtype, weights, axes, options)
        result = func(array, weights, output=output, axes=axes, **options.filter_kwargs())
    like = src if Path(src).suffix.lower() in VOLUME_SUFFIXES else None
    write_volume(result, dst, client=client, progress=progress, like=like)
    return FileResult(
        str(src),
        str(dst),
        "written",
        time.perf_counter() - start,
        plan,
        tuple(result.shape),
        str(result.dtype),
    )


class _NpyTarget:
    """A ``.npy`` file written region by region; opened by path in each task."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __setitem__(self, region: tuple[slice, ...], block: np.ndarray) -> None:
        mapped = np.load(self.path, mmap_mode="r+")
        mapped[region] = block
        mapped.flush()
        del mapped


def _write_region(target: Any, root: str, region: tuple[slice, ...], block: np.ndarray) -> int:
    if not os.path.exists(root):
        # The job was abandoned (an error or Ctrl-C elsewhere) and its temporary target
        # removed: writing now would recreate it as litter.
        raise FileNotFoundError(f"temporary output {root!r} was removed: the job stopped")
    target[region] = block
    return int(block.size)


def write_volume(
    array: Any,
    path: str | os.PathLike[str],
    *,
    client: Any = None,
    progress: Callable[[int, int], None] | None = None,
    like: str | os.PathLike[str] | None = None,
) -> None:
    """Compute the Dask ``array`` into a Zarr array, a multi-page TIFF or a ``.npy`` file.

    The target is written in a temporary sibling and renamed into place when
    complete.  Zarr and ``.npy`` targets are written block by block by the tasks
    themselves (in parallel; with a ``client`` the workers must see ``path``); a TIFF
    is assembled here, page slab by page slab in order, so memory stays at about
    two slabs.  ``progress(done, total)`` is called as blocks (or slabs) finish.
    ``like`` copies the chunking and compression of an input Zarr array.
    """
    import dask

    path = Path(path)
    suffix = path.suffix.lower()
    say = progress or (lambda done, total: None)
    if suffix in _TIFF_SUFFIXES:
        _write_tiff_volume(array, path, client, say)
        return
    if suffix not in VOLUME_SUFFIXES + (".npy",):
        raise ValueError(
            f"output {str(path)!r}: a volume is written as .zarr, .tif/.tiff or .npy, "
            f"not {suffix or '(no suffix)'!r}"
        )
    array = _regular_chunks(array)
    with atomic_path(path, directory=suffix == ".zarr") as tmp:
        if suffix == ".zarr":
            target = _create_zarr(tmp, array, like)
        else:
            mapped = np.lib.format.open_memmap(tmp, mode="w+", dtype=array.dtype, shape=array.shape)
            del mapped
            target = _NpyTarget(str(tmp))
        blocks = array.to_delayed().ravel()
        regions = list(_block_regions(array.chunks))
        writes = [
            dask.delayed(_write_region, pure=False)(target, str(tmp), region, block)
            for region, block in zip(regions, blocks)
        ]
        _run(writes, client, say)


def _regular_chunks(array: Any) -> Any:
    # Zarr needs one chunk shape; blocks must match chunks so that no two tasks write
    # the same Zarr chunk at once.
    regular = all(len(set(c[:-1])) <= 1 and (len(c) < 2 or c[-1] <= c[0]) for c in array.chunks)
    if regular:
        return array
    return array.rechunk(tuple(max(c) if c else 1 for c in array.chunks))


def _create_zarr(path: Path, array: Any, like: str | os.PathLike[str] | None) -> Any:
    import zarr

    chunks = tuple(c[0] if c else 1 for c in array.chunks)
    options: dict[str, Any] = {}
    if like is not None:
        try:
            source = zarr.open_array(str(like), mode="r")
            if tuple(source.chunks) == chunks and source.metadata.zarr_format == 3:
                options["compressors"] = source.compressors
                options["filters"] = source.filters
        except Exception:  # the input was not a plain Zarr array: use the defaults
            options = {}
    shutil.rmtree(path)
    return zarr.create_array(
        store=str(path), shape=array.shape, chunks=chunks, dtype=array.dtype, **options
    )


def _block_regions(chunks: tuple[tuple[int, ...], ...]) -> Iterator[tuple[slice, ...]]:
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(int) for c in chunks]
    for index in np.ndindex(*[len(c) for c in chunks]):
        yield tuple(
            slice(int(starts[ax][i]), int(starts[ax][i] + chunks[ax][i]))
            for ax, i in enumerate(index)
        )


def _run(writes: list[Any], client: Any, say: Callable[[int, int], None]) -> None:
    total = len(writes)
    say(0, total)
    if client is not None:
        from distributed import as_completed, wait

        futures = client.compute(writes)
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                future.result()
                say(done, total)
        except BaseException:
            # Stop the remaining writes before the caller removes the temporary target;
            # a write already running finishes into a directory that is about to go.
            client.cancel(futures)
            wait(futures, timeout=10)
            raise
        return
    import dask
    from dask.callbacks import Callback

    keys = {w.key for w in writes}
    state = {"done": 0}

    def posttask(key: Any, result: Any, dsk: Any, state_: Any, worker_id: Any) -> None:
        if key in keys:
            state["done"] += 1
            say(state["done"], total)

    # Our own pool, drained on the way out: Dask's threaded scheduler returns on the first
    # error or Ctrl-C while tasks still run, and a chunk written after the caller removed
    # the temporary target would recreate it (Zarr makes missing parent directories).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        try:
            with Callback(posttask=posttask):
                dask.compute(*writes, scheduler="threads", pool=pool)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _write_tiff_volume(
    array: Any, path: Path, client: Any, say: Callable[[int, int], None]
) -> None:
    import tifffile

    slabs = [array.blocks[i] for i in range(array.numblocks[0])] if array.ndim else [array]
    total = len(slabs)
    say(0, total)

    def computed() -> Iterator[np.ndarray]:
        if client is None:
            for done, slab in enumerate(slabs, start=1):
                yield slab.compute(scheduler="threads")
                say(done, total)
            return
        # Keep one slab in flight ahead of the one being written: bounded memory.
        pending = client.compute(slabs[0]) if slabs else None
        for done in range(1, total + 1):
            ahead = client.compute(slabs[done]) if done < total else None
            yield pending.result()
            say(done, total)
            pending = ahead

    def pages() -> Iterator[np.ndarray]:
        for slab in computed():
            yield from slab

    rgb = array.ndim == 4 and array.shape[-1] in (3, 4)
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            pages(),
            shape=array.shape,
            dtype=array.dtype,
            photometric="rgb" if rgb else "minisblack",
            bigtiff=array.nbytes > 2**31,
        )
