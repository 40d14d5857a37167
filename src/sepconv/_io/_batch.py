"""Batches of image files: pairing inputs with outputs, skipping finished ones, filtering.

The resume rule: an output counts as finished when it exists and its modification time
is not older than its input's (:func:`is_finished`).  Outputs only ever appear by the
rename of a complete temporary file, so an existing output is complete, and a batch
interrupted at any point (Ctrl-C, ``kill -9``, a lost node) is resumed by running the
same command again: finished files are reported ``skipped`` and left untouched, the
rest are filtered.  Hidden temporaries an interrupted run left behind are never taken
for inputs or outputs; the next write into the same directory removes those whose
writer is gone (:func:`sepconv._files.remove_stale_temporaries`).
"""

from __future__ import annotations

import glob as _glob
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._formats import IMAGE_SUFFIXES, is_volume, read_image, write_image


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
    spatial axes; ``dtype`` is the output dtype (``None``: see :meth:`output_dtype`).
    ``op`` (instead of a kernel) is a grey morphology operation of :data:`OPS`
    over a window of ``size`` (one length, or one per filtered axis).
    """

    kernel: str = ""
    mode: str = "reflect"
    cval: float = 0.0
    method: str = "auto"
    rtol: float | None = None
    dtype: str | None = None
    axes: tuple[int, ...] | None = None
    convolve: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    op: str | None = None
    size: tuple[int, ...] | None = None

    def check(self) -> None:
        """Raise ``ValueError`` now if the kernel spec cannot be parsed at all (or the
        operation and window are not valid)."""
        if self.op is not None:
            if self.kernel:
                raise ValueError("give either --kernel or --op, not both")
            if self.op not in OPS:
                raise ValueError(f"--op must be one of {', '.join(OPS)}; got {self.op!r}")
            if not self.size or any(k < 1 for k in self.size):
                raise ValueError(
                    f"--op {self.op} needs --size: a window length >= 1, or one per filtered "
                    f"axis (e.g. --size 15 or --size 15,9); got {self.size!r}"
                )
            return
        if not self.kernel:
            raise ValueError("give a kernel (--kernel) or a morphology operation (--op)")
        from .._kernelspec import parse_kernel_spec

        parse_kernel_spec(self.kernel)

    def window(self, ndim: int) -> tuple[int, ...]:
        """The morphology window for ``ndim`` filtered axes.

        Examples
        --------
        >>> FilterOptions(op="erode", size=(5,)).window(2)
        (5, 5)
        >>> FilterOptions(op="open", size=(5, 3)).window(2)
        (5, 3)
        """
        size = tuple(self.size or ())
        if len(size) == 1:
            return size * ndim
        if len(size) != ndim:
            raise ValueError(
                f"--size has {len(size)} lengths but the input has {ndim} axes to filter; give "
                "one length, or one per axis (or pass --axes)"
            )
        return size

    def weights(self, ndim: int) -> np.ndarray:
        """The kernel for ``ndim`` filtered axes."""
        return _parse_kernel(self.kernel, ndim)

    def output_dtype(self, dtype: Any, weights: np.ndarray) -> np.dtype:
        """The output dtype for an input of ``dtype``: ``self.dtype`` when given, else the
        input's if it holds every value ``weights`` can make from it, else floating point.

        An integer output wraps what it cannot hold (-1 becomes 255 in uint8), silently:
        Sobel on a uint8 image, or taps summing above 1, would write garbage.  So without
        an explicit dtype such inputs get float32 (float64 from 32- and 64-bit integers).
        Values in ``(min - 1, max + 1)`` are kept: the cast truncates toward zero.

        Examples
        --------
        >>> sobel = FilterOptions("sobel:axis=0").weights(2)
        >>> FilterOptions("sobel:axis=0").output_dtype(np.uint8, sobel)
        dtype('float32')
        >>> FilterOptions("sobel:axis=0").output_dtype(np.float64, sobel)  # floats hold it all
        dtype('float64')
        >>> FilterOptions("sobel:axis=0", dtype="uint8").output_dtype(np.uint8, sobel)
        dtype('uint8')
        >>> mean = FilterOptions("box:size=3,normalize=True")  # taps sum to 1: uint8 holds it
        >>> mean.output_dtype(np.uint8, mean.weights(2))
        dtype('uint8')
        >>> box = FilterOptions("box:size=3")  # a sum of 9 pixels: up to 9 * 255
        >>> box.output_dtype(np.uint8, box.weights(2)), box.output_dtype(np.uint32, box.weights(2))
        (dtype('float32'), dtype('float64'))
        """
        if self.dtype is not None:
            return np.dtype(self.dtype)
        dtype = np.dtype(dtype)
        if self.extra.get("nan_policy") == "omit" or self.extra.get("mask") is not None:
            # normalized convolution: floating (NaN where no valid pixel is near)
            return np.dtype(np.float32 if dtype.itemsize <= 4 or dtype.kind == "b" else np.float64)
        if dtype.kind not in "biu" or result_range(dtype, weights) is None:
            return dtype
        return np.promote_types(dtype, np.float32)

    def filter_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sepconv.correlate` / :func:`sepconv.convolve`."""
        return {
            "mode": self.mode,
            "cval": self.cval,
            "method": self.method,
            "rtol": self.rtol,
            **self.extra,
        }


def result_range(dtype: Any, weights: Any) -> tuple[float, float] | None:
    """``(smallest, largest)`` value ``weights`` can make from data of integer ``dtype``,
    or None when ``dtype`` holds all of them (values in ``(min - 1, max + 1)`` truncate
    into it) or is not an integer type.

    Examples
    --------
    >>> result_range(np.uint8, [[-1, 0, 1]]), result_range(np.uint8, [[0.25, 0.5, 0.25]])
    ((-255.0, 255.0), None)
    """
    dtype = np.dtype(dtype)
    if dtype.kind not in "biu":
        return None
    low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    w = np.asarray(weights, dtype=np.float64)
    plus, minus = float(w[w > 0].sum()), float(w[w < 0].sum())
    smallest, largest = plus * low + minus * high, plus * high + minus * low
    if low - 1 < smallest and largest < high + 1:
        return None
    return smallest, largest


_KERNEL_CACHE: dict[tuple[str, int], np.ndarray] = {}


def _parse_kernel(spec: str, ndim: int) -> np.ndarray:
    from .._kernelspec import parse_kernel_spec

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


#: ``sepconv filter --op``: the grey morphology of :mod:`sepconv.ndimage` each name runs.
OPS = {
    "erode": "grey_erosion",
    "dilate": "grey_dilation",
    "open": "grey_opening",
    "close": "grey_closing",
    "tophat": "white_tophat",
}


def morphology(data: Any, axes: tuple[int, ...], options: FilterOptions) -> tuple[Any, str]:
    """``(result, plan)`` of ``options.op`` on ``data`` (a NumPy or Dask array) over ``axes``.

    The output keeps the input's dtype (a minimum or maximum of its values)
    unless ``options.dtype`` asks for another.
    """
    from .. import ndimage

    size = options.window(len(axes))
    name = OPS[options.op]  # type: ignore[index]
    output = None if options.dtype is None else np.dtype(options.dtype)
    result = getattr(ndimage, name)(
        data, size=size, output=output, mode=options.mode, cval=options.cval, axes=axes
    )
    window = "x".join(str(k) for k in size)
    plan = f"{name} {window}: separable min/max passes, scipy.ndimage's bits"
    return result, plan


def _filter_array(data: np.ndarray, axes: tuple[int, ...], options: FilterOptions) -> tuple:
    from .. import filters

    if options.op is not None:
        from .._lazy import engine_threads

        with engine_threads():
            return morphology(data, axes, options)

    weights = options.weights(len(axes))
    output = options.output_dtype(data.dtype, weights)
    func = filters.convolve if options.convolve else filters.correlate
    from .._lazy import engine_threads

    plan = _describe_plan(data.shape, data.dtype, weights, axes, options)
    # On a cluster several files are filtered at once: share the cores between them.
    kwargs = options.filter_kwargs()
    if kwargs.get("mask") is not None and np.shape(kwargs["mask"]) != data.shape:
        # one mask for every channel of a colour image (the mask has no channel axis)
        mask = np.asarray(kwargs["mask"])
        channel = [ax for ax in range(data.ndim) if ax not in axes]
        if mask.ndim == len(axes) and channel:
            kwargs["mask"] = np.broadcast_to(np.expand_dims(mask, tuple(channel)), data.shape)
    with engine_threads():
        result = func(data, weights, output=output, axes=axes, **kwargs)
    return result, plan


def _describe_plan(
    shape: tuple[int, ...],
    dtype: np.dtype,
    weights: np.ndarray,
    axes: tuple[int, ...],
    options: FilterOptions,
) -> str:
    from ..filters import plan

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
