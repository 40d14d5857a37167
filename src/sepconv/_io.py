"""Files in and out: images, ``.npy`` arrays, Zarr arrays and multi-page TIFF volumes.

Everything the ``sepconv filter`` command does with files lives here, so the command
itself only parses options and prints.  Three rules hold for every writer:

* **Never half an output.**  Data is written to a temporary file (or directory) beside
  the target and renamed over it only once complete (:func:`atomic_path`).  A crash
  leaves at most a hidden ``.NAME.*.tmp*`` entry, never a truncated ``NAME``.
* **Finished means present and newer.**  In a batch, an output counts as finished when
  it exists and its modification time is not older than its input's
  (:func:`is_finished`); because of the rename, an existing output is always complete.
  Changing the kernel or options is not detected: pass ``overwrite=True``
  (``--overwrite``) to filter again.
* **Colour is not a spatial axis.**  A trailing channel axis (RGB, RGBA, grey+alpha,
  a TIFF ``S`` axis) is never filtered across; each channel is filtered on its own.

Pillow reads PNG and JPEG, tifffile reads TIFF, NumPy reads ``.npy``; Zarr and Dask
are needed only for volumes and are imported only then.
"""

from __future__ import annotations

import glob as _glob
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import atomic_path

#: Suffixes read as one image or array (lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy")
#: Suffixes of volumes filtered lazily through Dask (plus multi-page TIFF files).
VOLUME_SUFFIXES = (".zarr",)

_PNG_SUFFIXES = (".png",)
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_TIFF_SUFFIXES = (".tif", ".tiff")


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class Image:
    """An array read from a file and which of its axes hold colour channels.

    Attributes
    ----------
    data : ndarray
        The pixels, ``(H, W)``, ``(H, W, C)`` or any shape for ``.npy``.
    channel_axis : int or None
        The axis of colour channels (always the last one), or ``None``.
    """

    data: np.ndarray
    channel_axis: int | None = None

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        """The axes to filter: all but the channel axis."""
        ndim = self.data.ndim
        channel = None if self.channel_axis is None else self.channel_axis % ndim
        return tuple(ax for ax in range(ndim) if ax != channel)


def read_image(path: str | os.PathLike[str]) -> Image:
    """Read a PNG, JPEG, TIFF or ``.npy`` file.

    Palette and bilevel images become RGB(A) and ``uint8`` grey; CMYK and YCbCr JPEGs
    become RGB.  A ``.npy`` file has no channel axis (filter all its axes); it is
    memory-mapped, not copied.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grey.png"
    >>> write_image(path, np.arange(12, dtype=np.uint8).reshape(3, 4))
    >>> image = read_image(path)
    >>> image.data.shape, image.data.dtype, image.spatial_axes
    ((3, 4), dtype('uint8'), (0, 1))
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileNotFoundError(f"input {str(path)!r} does not exist or is not a file")
    if suffix == ".npy":
        return Image(np.load(path, mmap_mode="r", allow_pickle=False), None)
    if suffix in _TIFF_SUFFIXES:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data = series.asarray()
            axes = series.axes
        if "S" in axes and data.ndim >= 3:
            # Colour samples, stored planar (S first) or contiguous: always return them last.
            data = np.moveaxis(data, axes.index("S"), -1)
            return Image(np.ascontiguousarray(data), data.ndim - 1)
        return Image(np.ascontiguousarray(data), None)
    if suffix in _PNG_SUFFIXES + _JPEG_SUFFIXES:
        from PIL import Image as PILImage

        with PILImage.open(path) as img:
            img.load()
            img = _normalise_pil_mode(img)
            data = np.asarray(img)
        if data.dtype.byteorder not in "=|":
            data = data.astype(data.dtype.newbyteorder("="))
        return Image(np.array(data), data.ndim - 1 if data.ndim == 3 else None)
    raise ValueError(
        f"input {str(path)!r}: unsupported file type {suffix or '(none)'!r}; "
        f"use one of {', '.join(IMAGE_SUFFIXES)} or a .zarr volume"
    )


def _normalise_pil_mode(img: Any) -> Any:
    if img.mode == "P":
        return img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode == "1":
        return img.convert("L")
    if img.mode == "PA":
        return img.convert("RGBA")
    if img.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return img.convert("RGB")
    return img


def write_image(
    path: str | os.PathLike[str], data: np.ndarray, *, channel_axis: int | None = None
) -> None:
    """Write ``data`` to a PNG, JPEG, TIFF or ``.npy`` file, atomically.

    ``channel_axis`` (the last axis) marks colour channels; for PNG and JPEG a 3-D
    array is always read as ``(H, W, C)``.  PNG stores ``uint8`` (grey, grey+alpha, RGB,
    RGBA) and ``uint16`` grey; JPEG stores ``uint8`` grey or RGB (lossy: quality 95, no
    chroma subsampling); TIFF and ``.npy`` store any real dtype.

    Raises
    ------
    ValueError
        If the format cannot store this dtype or shape; the message names the
        format that can.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ramp.tif"
    >>> write_image(path, np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3))
    >>> read_image(path).data.dtype
    dtype('float32')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    data = np.asarray(data)
    if suffix == ".npy":
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, data, allow_pickle=False)
        return
    if suffix in _TIFF_SUFFIXES:
        import tifffile

        _check_real(data, path)
        rgb = channel_axis is not None and data.ndim == 3 and data.shape[-1] in (3, 4)
        options: dict[str, Any] = {"photometric": "rgb" if rgb else "minisblack"}
        if channel_axis is not None and not rgb:
            options["planarconfig"] = "contig"
        with atomic_path(path) as tmp:
            tifffile.imwrite(tmp, data, bigtiff=data.nbytes > 2**31, **options)
        return
    if suffix in _PNG_SUFFIXES + _JPEG_SUFFIXES:
        from PIL import Image as PILImage

        mode = _pil_mode(data, path, jpeg=suffix in _JPEG_SUFFIXES)
        img = PILImage.fromarray(np.ascontiguousarray(data))
        if img.mode != mode:  # never expected: Pillow infers the mode from the array
            raise ValueError(f"output {str(path)!r}: Pillow chose mode {img.mode}, not {mode}")
        options = {"quality": 95, "subsampling": 0} if suffix in _JPEG_SUFFIXES else {}
        fmt = "JPEG" if suffix in _JPEG_SUFFIXES else "PNG"
        with atomic_path(path) as tmp:
            img.save(tmp, format=fmt, **options)
        return
    raise ValueError(
        f"output {str(path)!r}: unsupported file type {suffix or '(none)'!r}; "
        f"use one of {', '.join(IMAGE_SUFFIXES)} or .zarr"
    )


def _check_real(data: np.ndarray, path: Path) -> None:
    if data.dtype.kind not in "biuf":
        raise ValueError(f"output {str(path)!r}: cannot store dtype {data.dtype}")


def _pil_mode(data: np.ndarray, path: Path, *, jpeg: bool) -> str:
    fmt = "JPEG" if jpeg else "PNG"
    channels = data.shape[-1] if data.ndim == 3 else 1
    if data.ndim not in (2, 3) or (data.ndim == 3 and channels not in (1, 2, 3, 4)):
        raise ValueError(
            f"output {str(path)!r}: {fmt} stores (H, W) or (H, W, C) images with C <= 4, "
            f"got shape {data.shape}; write .tif or .npy instead"
        )
    if data.dtype == np.uint8:
        modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
        if jpeg and channels in (2, 4):
            raise ValueError(
                f"output {str(path)!r}: JPEG has no alpha channel, got {channels} channels; "
                "write .png or .tif instead"
            )
        if data.ndim == 3 and channels == 1:
            raise ValueError(f"output {str(path)!r}: give a grey image as (H, W), not (H, W, 1)")
        return modes[channels]
    if data.dtype == np.uint16 and not jpeg and data.ndim == 2:
        return "I;16"
    stores = "uint8 images" if jpeg else "uint8 images and uint16 grey images"
    raise ValueError(
        f"output {str(path)!r}: {fmt} stores {stores}, got {data.dtype} with shape "
        f"{data.shape}; pass --dtype uint8 (output=np.uint8) or write .tif or .npy"
    )


# --------------------------------------------------------------------------- batches


def is_batch(input: str | os.PathLike[str]) -> bool:
    """Whether ``input`` names many images: a directory (not a Zarr array) or a glob."""
    text = os.fspath(input)
    if _glob.has_magic(text):
        return True
    path = Path(text)
    return path.is_dir() and not is_volume(path)


def batch_pairs(
    input: str | os.PathLike[str], output: str | os.PathLike[str]
) -> list[tuple[Path, Path]]:
    """The ``(source, destination)`` pairs of a batch, sorted by source.

    A directory contributes the image files directly inside it; a glob (``**``
    recurses) contributes its matches with a known suffix.  Each destination is
    ``output`` joined with the source's path relative to the directory (or to the
    glob's leading directory without wildcards), so names are kept and subfolders
    do not collide.  Hidden files (temporaries among them) are skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b.png", "a.npy", "notes.txt"):
    ...     _ = (root / name).write_bytes(b"")
    >>> [(s.name, d.as_posix()) for s, d in batch_pairs(root, "out")]
    [('a.npy', 'out/a.npy'), ('b.png', 'out/b.png')]
    """
    text = os.fspath(input)
    out = Path(output)
    if _glob.has_magic(text):
        parts = Path(text).parts
        fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if _glob.has_magic(p))]]
        base = Path(*fixed) if fixed else Path(".")
        sources = [Path(p) for p in _glob.glob(text, recursive=True)]
    else:
        base = Path(text)
        if not base.is_dir():
            raise ValueError(f"input {text!r} is neither a directory nor a glob pattern")
        sources = list(base.iterdir())
    pairs = []
    for src in sources:
        if not src.is_file() or src.name.startswith("."):
            continue
        if out.resolve() in src.resolve().parents:
            continue  # an earlier output inside the input tree is not an input
        if src.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        pairs.append((src, out / src.relative_to(base)))
    pairs.sort()
    return pairs


def is_finished(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> bool:
    """Whether ``dst`` exists and is not older than ``src``: its filtering is done.

    Outputs are only ever created by renaming a complete temporary file, so an
    existing output is complete; comparing times re-filters an input edited since.

    Examples
    --------
    >>> import tempfile, pathlib, os
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> src, dst = root / "in.npy", root / "out.npy"
    >>> _ = src.write_bytes(b"x")
    >>> is_finished(src, dst)
    False
    >>> _ = dst.write_bytes(b"y")
    >>> os.utime(src, ns=(1, 1))
    >>> is_finished(src, dst)
    True
    """
    try:
        return Path(dst).stat().st_mtime_ns >= Path(src).stat().st_mtime_ns
    except FileNotFoundError:
        return False


@dataclass
class FileResult:
    """What happened to one input file.

    ``status`` is ``"written"``, ``"skipped"`` (already finished) or ``"failed"``
    (``error`` says why); ``plan`` describes the filtering plan used.
    """

    input: str
    output: str
    status: str
    seconds: float = 0.0
    plan: str | None = None
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary of the fields."""
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "seconds": round(self.seconds, 6),
            "plan": self.plan,
            "shape": None if self.shape is None else list(self.shape),
            "dtype": self.dtype,
            "error": self.error,
        }


@dataclass(frozen=True)
class FilterOptions:
    """The filtering options of one ``sepconv filter`` run, picklable for workers.

    ``kernel`` is a kernel spec (see :func:`sepconv._kernelspec.parse_kernel_spec`),
    parsed for the number of spatial axes of each input; ``axes`` overrides the
    spatial axes; ``dtype`` is the output dtype (``None`` keeps the input's).
    """

    kernel: str
    mode: str = "reflect"
    cval: float = 0.0
    method: str = "auto"
    rtol: float | None = None
    dtype: str | None = None
    axes: tuple[int, ...] | None = None
    convolve: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ``ValueError`` now if the kernel spec cannot be parsed at all."""
        from ._kernelspec import parse_kernel_spec

        parse_kernel_spec(self.kernel)

    def weights(self, ndim: int) -> np.ndarray:
        """The kernel for ``ndim`` filtered axes."""
        return _parse_kernel(self.kernel, ndim)

    def filter_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sepconv.correlate` / :func:`sepconv.convolve`."""
        return {
            "mode": self.mode,
            "cval": self.cval,
            "method": self.method,
            "rtol": self.rtol,
            **self.extra,
        }


_KERNEL_CACHE: dict[tuple[str, int], np.ndarray] = {}


def _parse_kernel(spec: str, ndim: int) -> np.ndarray:
    from ._kernelspec import parse_kernel_spec

    key = (spec, ndim)
    if key not in _KERNEL_CACHE:
        weights = np.asarray(parse_kernel_spec(spec, ndim))
        if weights.ndim != ndim:
            raise ValueError(
                f"kernel {spec!r} has {weights.ndim} dimension(s) but the input has {ndim} "
                "axes to filter; give a kernel with as many dimensions or pass --axes"
            )
        _KERNEL_CACHE[key] = weights
    return _KERNEL_CACHE[key]


def _filter_array(data: np.ndarray, axes: tuple[int, ...], options: FilterOptions) -> tuple:
    from . import filters

    weights = options.weights(len(axes))
    output = None if options.dtype is None else np.dtype(options.dtype)
    func = filters.convolve if options.convolve else filters.correlate
    from .dask import engine_threads

    plan = _describe_plan(data.shape, data.dtype, weights, axes, options)
    # On a cluster several files are filtered at once: share the cores between them.
    with engine_threads():
        result = func(data, weights, output=output, axes=axes, **options.filter_kwargs())
    return result, plan


def _describe_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    weights: np.ndarray,
    axes: tuple[int, ...],
    options: FilterOptions,
) -> str:
    from .filters import plan

    chosen = plan(
        shape,
        weights,
        dtype=dtype,
        axes=axes,
        method=options.method,
        rtol=options.rtol,
        mode=options.mode,
        cval=options.cval,
    )
    return str(chosen)


def filter_image_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    options: FilterOptions,
) -> FileResult:
    """Read ``src``, filter its spatial axes and write ``dst`` atomically.

    Errors never escape: a failure is returned as a ``FileResult`` with status
    ``"failed"`` and the error's message, so one bad file cannot stop a batch.
    """
    start = time.perf_counter()
    src, dst = Path(src), Path(dst)
    try:
        image = read_image(src)
        axes = image.spatial_axes if options.axes is None else options.axes
        result, plan = _filter_array(image.data, axes, options)
        write_image(dst, result, channel_axis=image.channel_axis)
    except Exception as exc:
        return FileResult(
            str(src),
            str(dst),
            "failed",
            time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}",
        )
    return FileResult(
        str(src),
        str(dst),
        "written",
        time.perf_counter() - start,
        plan,
        tuple(result.shape),
        str(result.dtype),
    )


def filter_batch(
    pairs: Sequence[tuple[Path, Path]],
    options: FilterOptions,
    *,
    overwrite: bool = False,
    client: Any = None,
    progress: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Filter many files, skipping finished ones and reporting each failure.

    Without ``client`` the files are filtered one after another in this process
    (each by the multi-threaded engine on every core).  With a
    :class:`distributed.Client`, each file is one task on the cluster; the workers
    must see the same paths (a shared file system).  ``progress`` is called with
    each :class:`FileResult` as it is decided, in completion order; the returned
    list is in the order of ``pairs``.
    """
    say = progress or (lambda result: None)
    results: dict[int, FileResult] = {}
    todo = []
    for index, (src, dst) in enumerate(pairs):
        if not overwrite and is_finished(src, dst):
            results[index] = FileResult(str(src), str(dst), "skipped")
            say(results[index])
        else:
            todo.append(index)
    if client is None:
        for index in todo:
            results[index] = filter_image_file(*pairs[index], options)
            say(results[index])
    else:
        from distributed import as_completed

        futures = {
            client.submit(filter_image_file, *pairs[index], options, pure=False): index
            for index in todo
        }
        for future in as_completed(futures):
            index = futures[future]
            try:
                results[index] = future.result()
            except Exception as exc:  # a worker died or could not unpickle the task
                src, dst = pairs[index]
                results[index] = FileResult(
                    str(src), str(dst), "failed", error=f"{type(exc).__name__}: {exc}"
                )
            say(results[index])
    return [results[index] for index in range(len(pairs))]


# --------------------------------------------------------------------------- volumes


def is_volume(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is filtered as a lazy volume: a Zarr array or a multi-page TIFF.

    Examples
    --------
    >>> is_volume("scan.zarr"), is_volume("photo.png")
    (True, False)
    """
    path = Path(path)
    if path.suffix.lower() in VOLUME_SUFFIXES:
        return True
    if path.is_dir():
        return (path / "zarr.json").is_file() or (path / ".zarray").is_file()
    if path.suffix.lower() in _TIFF_SUFFIXES and path.is_file():
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                return len(tif.series[0].pages) > 1
        except Exception:  # not a readable TIFF: let the image reader explain
            return False
    return False


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
    from . import dask as sdask

    start = time.perf_counter()
    array, channel_axis = open_volume(src, chunks)
    spatial = Image(np.empty((0,) * array.ndim), channel_axis).spatial_axes
    axes = spatial if options.axes is None else options.axes
    weights = options.weights(len(axes))
    output = None if options.dtype is None else np.dtype(options.dtype)
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


def _write_region(target: Any, region: tuple[slice, ...], block: np.ndarray) -> int:
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
            dask.delayed(_write_region, pure=False)(target, region, block)
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
        from distributed import as_completed

        futures = client.compute(writes)
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()
            say(done, total)
        return
    import dask
    from dask.callbacks import Callback

    keys = {w.key for w in writes}
    state = {"done": 0}

    def posttask(key: Any, result: Any, dsk: Any, state_: Any, worker_id: Any) -> None:
        if key in keys:
            state["done"] += 1
            say(state["done"], total)

    with Callback(posttask=posttask):
        dask.compute(*writes, scheduler="threads")


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
