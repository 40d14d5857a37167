"""``sepconv features IMAGE --sigmas 1,2,4 --out stack.npy``: ilastik's feature stack."""

from __future__ import annotations

import time

import numpy as np
import typer

from .. import _io, features
from ._app import app, console, print_error, print_json


@app.command(name="features")
def features_command(
    image: str = typer.Argument(
        ..., help="An image (.png .jpg .tif .npy), a .zarr array or a multi-page TIFF volume."
    ),
    sigmas: str = typer.Option(..., "--sigmas", "-s", help="Scales, e.g. 1,2,4."),
    out: str = typer.Option(..., "--out", "-o", help="Output: stack.npy or stack.zarr."),
    names: str = typer.Option(
        None,
        "--features",
        help="Comma-separated names (default all): " + ", ".join(features.FEATURES),
    ),
    mode: str = typer.Option("mirror", help="Boundary mode (default mirror, ilastik's)."),
    method: str = typer.Option("fir", help="fir (scipy's kernels) or recursive (flat in sigma)."),
    dtype: str = typer.Option("float32", help="Output dtype: float32 or float64."),
    chunks: str = typer.Option(
        None, help="Volume: Dask chunk shape, e.g. 64,256,256 (default: the file's)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Compute ilastik's pixel features at several scales into one stacked array.

    The output has the channels along a new first axis: scales outer,
    features inner (``sepconv.features.feature_names``), eigenvalues largest
    first; colour images keep their channel axis (each colour its features).
    Volumes (.zarr, multi-page TIFF) are computed block by block with Dask.

    Examples:

      sepconv features cells.png --sigmas 1,2,4 --out stack.npy

      sepconv features volume.zarr --sigmas 1,2 --out stack.zarr --chunks 64,256,256

      sepconv features scan.tif -s 0.7,1.6,3.5 --features smoothing,hessian_eigenvalues -o f.npy
    """
    try:
        scales = [float(s) for s in sigmas.split(",") if s.strip()]
        chosen = None if names is None else [n.strip() for n in names.split(",") if n.strip()]
        suffix = out.lower().rsplit(".", 1)[-1] if "." in out else ""
        if suffix not in ("npy", "zarr"):
            raise ValueError(f"--out must end in .npy or .zarr, got {out!r}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"--dtype must be float32 or float64, got {dtype!r}")
        chunk_shape = None if chunks is None else tuple(int(c) for c in chunks.split(","))
        start = time.perf_counter()
        if _io.is_volume(image):
            volume, channel_axis = _io.open_volume(image, chunk_shape)
            axes = tuple(a for a in range(volume.ndim) if a != channel_axis)
            stack = features.feature_stack(
                volume, scales, chosen, mode=mode, method=method, axes=axes, output=dtype
            )
            _io.write_volume(stack, out)
            shape, ndim = stack.shape, len(axes)
        else:
            read = _io.read_image(image)
            axes = read.spatial_axes
            stack = features.feature_stack(
                read.data, scales, chosen, mode=mode, method=method, axes=axes, output=dtype
            )
            _save(stack, out, suffix)
            shape, ndim = stack.shape, len(axes)
        seconds = time.perf_counter() - start
    except (ValueError, TypeError, OSError) as exc:
        print_error(exc)
        raise typer.Exit(1) from None
    channels = [
        {"feature": f, "sigma": s, "channel": c}
        for f, s, c in features.feature_names(scales, chosen, ndim)
    ]
    if as_json:
        print_json({"output": out, "shape": list(shape), "seconds": seconds, "channels": channels})
        return
    console.print(f"{out}: {len(channels)} channels of {tuple(shape[1:])} in {seconds:.2f} s")
    for k, ch in enumerate(channels):
        console.print(
            f"  {k:3d}  {ch['feature']} sigma={ch['sigma']:g}"
            + (
                f" #{ch['channel']}"
                if ch["channel"] or ch["feature"].endswith("eigenvalues")
                else ""
            )
        )


def _save(stack: np.ndarray, out: str, suffix: str) -> None:
    if suffix == "npy":
        from .._files import atomic_path

        with atomic_path(out) as tmp:
            np.save(tmp, stack)
        return
    import dask.array as da

    _io.write_volume(da.from_array(stack, chunks=(1, *stack.shape[1:])), out)
