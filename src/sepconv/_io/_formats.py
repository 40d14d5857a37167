"""Image and array file formats: what a path holds, reading it and writing it atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_path

#: Suffixes read as one image or array (lower case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy")
#: Suffixes of volumes filtered lazily through Dask (plus multi-page TIFF files).
VOLUME_SUFFIXES = (".zarr",)

_PNG_SUFFIXES = (".png",)
_JPEG_SUFFIXES = (".jpg", ".jpeg")
_TIFF_SUFFIXES = (".tif", ".tiff")


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
    memory-mapped read-only, not copied, so the input is never modified.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    FileFormatError
        (a ``ValueError``) If the file is empty, truncated, corrupt, compressed with a
        codec that is not installed, or a TIFF holding several separate images; the
        message names the file and the fix.

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
    kinds = {".npy": "NumPy .npy", **dict.fromkeys(_TIFF_SUFFIXES, "TIFF")}
    kinds.update(dict.fromkeys(_PNG_SUFFIXES, "PNG"), **dict.fromkeys(_JPEG_SUFFIXES, "JPEG"))
    if suffix not in kinds:
        raise ValueError(
            f"input {str(path)!r}: unsupported file type {suffix or '(none)'!r}; "
            f"use one of {', '.join(IMAGE_SUFFIXES)} or a .zarr volume"
        )
    if path.stat().st_size == 0:
        raise FileFormatError(
            f"input {str(path)!r} is empty (0 bytes), perhaps an interrupted copy; "
            "copy or write it again"
        )
    try:
        if suffix == ".npy":
            return _read_npy(path)
        if suffix in _TIFF_SUFFIXES:
            return _read_tiff(path)
        return _read_pil(path)
    except (FileFormatError, MemoryError):
        raise
    except Exception as exc:  # whatever the decoder says, say which file and what to do
        raise FileFormatError(
            f"input {str(path)!r} is not a readable {kinds[suffix]} file "
            f"({type(exc).__name__}: {exc}); {_fix_for(exc)}"
        ) from exc


class FileFormatError(ValueError):
    """An input file is empty, truncated, corrupt or laid out in a way we cannot read."""


def _fix_for(exc: BaseException) -> str:
    text = str(exc)
    if "imagecodecs" in text:
        return "install imagecodecs (pip install imagecodecs) or save the file uncompressed"
    if "pickled" in text or "Python objects" in text:
        return "save a numeric array (np.save with a numeric dtype), not Python objects"
    return "it may be truncated or corrupt: copy or write it again"


def _read_npy(path: Path) -> Image:
    return Image(np.load(path, mmap_mode="r", allow_pickle=False), None)


def _read_tiff(path: Path) -> Image:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if len(tif.series) > 1:
            # series[0] alone would silently drop every other image in the file.
            shapes = ", ".join(str(tuple(s.shape)) for s in tif.series[:4])
            raise FileFormatError(
                f"input {str(path)!r} holds {len(tif.series)} separate images (shapes "
                f"{shapes}{', ...' if len(tif.series) > 4 else ''}); sepconv reads one image "
                "or one stack of equal pages per TIFF: split it into one file per image"
            )
        series = tif.series[0]
        data = series.asarray()
        axes = series.axes
    if "S" in axes and data.ndim >= 3:
        # Colour samples, stored planar (S first) or contiguous: always return them last.
        data = np.moveaxis(data, axes.index("S"), -1)
        return Image(np.ascontiguousarray(data), data.ndim - 1)
    return Image(np.ascontiguousarray(data), None)


def _read_pil(path: Path) -> Image:
    from PIL import Image as PILImage

    with PILImage.open(path) as img:
        img.load()
        img = _normalise_pil_mode(img)
        data = np.asarray(img)
    if data.dtype.byteorder not in "=|":
        data = data.astype(data.dtype.newbyteorder("="))
    return Image(np.array(data), data.ndim - 1 if data.ndim == 3 else None)


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
