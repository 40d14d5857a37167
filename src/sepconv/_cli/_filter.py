"""``sepconv filter INPUT OUTPUT --kernel SPEC``: images, batches and volumes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .. import _io
from .._kernelspec import SPEC_HELP
from ._app import app, console, print_error, print_json

_MODES = "reflect, mirror, nearest, wrap, constant, grid-mirror, grid-constant, grid-wrap"


@app.command(name="filter")
def filter_command(
    input: str = typer.Argument(
        ...,
        help="An image (.png .jpg .tif .npy), a directory or quoted glob of them, "
        "a .zarr array or a multi-page TIFF volume.",
    ),
    output: str = typer.Argument(
        ..., help="Output file; a directory for a batch; .zarr, .tif or .npy for a volume."
    ),
    kernel: str = typer.Option(None, "--kernel", "-k", help=f"The kernel: {SPEC_HELP}."),
    op: str = typer.Option(
        None,
        "--op",
        help="Grey morphology instead of a kernel: erode, dilate, open, close or tophat "
        "(white top-hat), over a rectangle of --size; scipy.ndimage's results, any dtype "
        "kept.",
    ),
    size: str = typer.Option(
        None, help="--op's window: one length (e.g. 15) or one per filtered axis (e.g. 15,9)."
    ),
    mode: str = typer.Option("reflect", help=f"Boundary mode: {_MODES}."),
    cval: float = typer.Option(0.0, help="Value outside the edges in the constant modes."),
    method: str = typer.Option(
        "auto", help="auto (cheapest exact plan), direct, separable, lowrank or fft."
    ),
    rtol: float = typer.Option(
        None, help="Relative kernel error allowed; lets auto pick a low-rank plan."
    ),
    dtype: str = typer.Option(
        None,
        help="Output dtype, e.g. float32. Default: the input's if it holds every value the "
        "kernel can make from it, else float32 (float64 from 32- and 64-bit integers), so "
        "that no value can ever wrap around: negative taps (sobel) or taps summing above 1 "
        "(box without normalize=True) on a uint8 image give float32. --op keeps the input's dtype.",
    ),
    axes: str = typer.Option(
        None, help="Axes to filter, e.g. 0,1 (default: all but a colour channel axis)."
    ),
    convolve: bool = typer.Option(False, "--convolve", help="Convolve (flip the kernel)."),
    nan: str = typer.Option(
        "propagate",
        "--nan",
        help="propagate (NaN spreads through the kernel, as scipy) or omit (the weighted "
        "mean of the valid pixels under the kernel: normalized convolution; float output).",
    ),
    mask: str = typer.Option(
        None,
        "--mask",
        help="An image or .npy of the input's shape (or without its colour axis): nonzero "
        "pixels are ignored, as NaN with --nan omit (float output).",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Batch: filter again outputs that look finished."
    ),
    chunks: str = typer.Option(
        None, help="Volume: Dask chunk shape, e.g. 64,256,256 (default: the file's)."
    ),
    scheduler: str = typer.Option(
        "threads", help="threads (local, default), sync, or a scheduler address tcp://HOST:PORT."
    ),
    workers: int = typer.Option(
        None, help="Start a local Dask cluster of N worker processes (one thread each)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Filter images, batches of images and out-of-core volumes with a kernel (or --op).

    Colour images are filtered channel by channel.  The output keeps the
    input's dtype where that holds every value the kernel can make from it;
    otherwise it is float32 (see --dtype), which PNG and JPEG cannot store:
    write .tif or .npy, or normalise the kernel.  It is written to a temporary
    file then renamed, so it is never half written.  A batch (directory or
    glob) writes OUTPUT/<same name>, skips outputs that exist and are newer
    than their input (--overwrite to redo), and reports each failing file
    without stopping; after an interruption (Ctrl-C, SIGTERM, kill -9) run
    the same command again to filter only what is missing.  Volumes (.zarr,
    multi-page TIFF) are filtered chunk by chunk through Dask: on local
    threads, a new local cluster (--workers N) or an existing one
    (--scheduler tcp://HOST:PORT).

    Examples:

      sepconv filter photo.png edges.tif --kernel sobel:axis=0

      sepconv filter scan.tif smooth.tif --kernel gaussian:sigma=2

      sepconv filter raw/ smoothed/ --kernel binomial:n=5,normalize=True

      sepconv filter scan.npy blurred.npy --kernel "[[1,2,1],[2,4,2],[1,2,1]]"

      sepconv filter dem.tif filled.tif --kernel gaussian:sigma=3 --nan omit

      sepconv filter frame.tif clean.tif --kernel gaussian:sigma=2 --mask badpixels.png

      sepconv filter "raw/**/*.png" out/ --kernel box:size=5,normalize=True --workers 4

      sepconv filter volume.zarr smooth.zarr --kernel gaussian:sigma=2 --chunks 64,256,256

      sepconv filter volume.zarr smooth.zarr -k disk:radius=7 --scheduler tcp://10.0.0.5:8786

      sepconv filter scan.png background.png --op open --size 31

      sepconv filter cells.tif spots.tif --op tophat --size 15,15
    """
    try:
        options = _io.FilterOptions(
            kernel=kernel or "",
            op=op,
            size=_int_tuple(size, "--size"),
            mode=mode,
            cval=cval,
            method=method,
            rtol=rtol,
            dtype=dtype,
            axes=_int_tuple(axes, "--axes"),
            convolve=convolve,
            extra=_nan_options(nan, mask),
        )
        options.check()
        if kernel:
            _warn_if_it_wraps(kernel, dtype)
        chunk_shape = _int_tuple(chunks, "--chunks")
        batch = _io.is_batch(input)
        pairs = _io.batch_pairs(input, output) if batch else []
        if batch and not pairs:
            raise ValueError(
                f"input {input!r} holds no {', '.join(_io.IMAGE_SUFFIXES)} files (hidden "
                "files are skipped); give a directory or a quoted glob of such images"
            )
        volume = not batch and _io.is_volume(input)
        if not batch and not volume and (workers is not None or scheduler != "threads"):
            raise ValueError(
                "--workers and --scheduler apply to batches and volumes; "
                "a single image is filtered in this process"
            )
    except (ValueError, TypeError) as exc:
        _error(exc)

    if not batch and not volume:
        with _interruptible():
            result = _io.filter_image_file(input, output, options)
        _finish([result], as_json, single=True)
        return
    err = Console(stderr=True)
    try:
        with _interruptible(), _cluster(scheduler, workers) as client:
            if client is not None and not as_json:
                link = getattr(client, "dashboard_link", None)
                err.print(
                    f"dask cluster: {client.scheduler.address}"
                    + (f", dashboard {link}" if link else ""),
                    soft_wrap=True,
                )
            with _progress(err, as_json) as bar:
                if batch:
                    task = bar.add_task("filtering files", total=len(pairs))
                    results = _io.filter_batch(
                        pairs,
                        options,
                        overwrite=overwrite,
                        client=client,
                        progress=lambda result: bar.advance(task),
                    )
                else:
                    task = bar.add_task("filtering volume", total=None)

                    def advance(done: int, total: int) -> None:
                        bar.update(task, completed=done, total=total)

                    results = [
                        _io.filter_volume(
                            input,
                            output,
                            options,
                            chunks=chunk_shape,
                            client=client,
                            progress=advance,
                        )
                    ]
    except (ValueError, TypeError, ImportError, OSError) as exc:
        _error(exc)
    _finish(results, as_json, single=not batch)


def _nan_options(nan: str, mask: str | None) -> dict[str, Any]:
    """``--nan`` and ``--mask`` as the filters' ``nan_policy`` and ``mask`` keywords."""
    from .._args import to_nan_policy

    try:
        policy = to_nan_policy(nan)
    except ValueError:
        raise ValueError(
            f"--nan must be propagate or omit, got {nan!r} (omit: the weighted mean of the "
            "valid pixels under the kernel)"
        ) from None
    extra: dict[str, Any] = {} if policy == "propagate" else {"nan_policy": policy}
    if mask is not None:
        try:
            extra["mask"] = _io.read_image(mask).data != 0
        except (OSError, ValueError) as exc:
            raise ValueError(f"--mask {mask!r} cannot be read: {exc}") from None
    return extra


def _warn_if_it_wraps(kernel: str, dtype: str | None) -> None:
    """Warn, on stderr, when an unsigned ``--dtype`` meets a kernel with negative taps.

    Asked for explicitly, the dtype is used (as scipy.ndimage's ``output`` is), but the
    negative values such a kernel makes wrap around silently (-1 becomes 255 in uint8).
    """
    import numpy as np

    from .._kernelspec import parse_kernel_spec

    try:
        target = None if dtype is None else np.dtype(dtype)
    except TypeError:
        return  # reported with the fix when the output is made
    if target is None or target.kind != "u" or not (parse_kernel_spec(kernel) < 0).any():
        return
    Console(stderr=True).print(
        f"warning: --dtype {target} cannot hold the negative values kernel {kernel!r} makes; "
        f"they wrap around (-1 is stored as {np.array(-1).astype(target)!s}). Choose a signed "
        "or float --dtype (int16, float32) to keep them.",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def _int_tuple(text: str | None, name: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"{name} must be integers separated by commas, got {text!r}") from None


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop cleanly, keep finished outputs, say how to resume.

    SIGTERM (what batch systems send before a kill) becomes ``KeyboardInterrupt`` so
    that temporaries are removed as for Ctrl-C; outputs already renamed into place are
    complete and a rerun of the same command skips them.
    """

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, on_term) if main_thread else None
    try:
        yield
    except KeyboardInterrupt:
        print_error(
            "finished outputs are complete; run the same command again to filter the rest",
            label="interrupted:",
        )
        raise typer.Exit(130) from None
    finally:
        if main_thread:  # None: the previous handler was not set from Python
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


@contextmanager
def _cluster(scheduler: str, workers: int | None) -> Any:
    from .. import dask as sdask

    with sdask.cluster(scheduler, workers) as client:
        yield client


def _progress(err: Console, disable: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=disable,
        transient=False,
    )


def _error(exc: BaseException) -> None:
    print_error(exc)
    raise typer.Exit(2)


def _say(line: str) -> None:
    # Paths and plans are printed whole: never wrapped at the terminal width, never markup.
    console.print(line, soft_wrap=True, markup=False, highlight=False)


def _finish(results: list[_io.FileResult], as_json: bool, *, single: bool) -> None:
    failed = [r for r in results if r.status == "failed"]
    if as_json:
        if single:
            print_json(results[0].to_dict())
        else:
            counts = {
                s: sum(r.status == s for r in results) for s in ("written", "skipped", "failed")
            }
            print_json({**counts, "files": [r.to_dict() for r in results]})
    elif single:
        result = results[0]
        if result.status == "failed":
            print_error(f"{result.input}: {result.error}")
        else:
            _say(f"{result.input} -> {result.output}  {result.shape} {result.dtype}")
            _say(f"plan: {result.plan}")
            _say(f"time: {result.seconds:.3f} s")
    else:
        table = Table(title="sepconv filter")
        for column in ("input", "output", "status", "seconds", "plan / error"):
            table.add_column(
                column, justify="right" if column == "seconds" else "left", overflow="fold"
            )
        for r in results:
            style = {"failed": "red", "skipped": "dim"}.get(r.status, "")
            table.add_row(
                r.input,
                r.output,
                f"[{style}]{r.status}[/{style}]" if style else r.status,
                f"{r.seconds:.3f}",
                r.error if r.error else (r.plan or ""),
            )
        console.print(table)
        for r in failed:  # in full, whatever the terminal width did to the table
            print_error(f"{r.input}: {r.error}", label="failed:")
        counts = ", ".join(
            f"{sum(r.status == s for r in results)} {s}" for s in ("written", "skipped", "failed")
        )
        _say(counts)
    if failed:
        raise typer.Exit(1)
