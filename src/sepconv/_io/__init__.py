"""Files in and out: images, ``.npy`` arrays, Zarr arrays and multi-page TIFF volumes.

Everything the ``sepconv filter`` command does with files lives here, so the command
itself only parses options and prints.  Four rules hold for every reader and writer:

* **Never half an output.**  Data is written to a temporary file (or directory) beside
  the target and renamed over it only once complete (:func:`atomic_path`).  A crash
  leaves at most a hidden ``.NAME.*.tmp*`` entry, never a truncated ``NAME``; the next
  write of ``NAME`` removes such entries once the process that made them is gone.
* **Finished means present and newer.**  In a batch, an output counts as finished when
  it exists and its modification time is not older than its input's
  (:func:`is_finished`); because of the rename, an existing output is always complete.
  Changing the kernel or options is not detected: pass ``overwrite=True``
  (``--overwrite``) to filter again.
* **Inputs are read only.**  An unreadable input (empty, truncated, corrupt, an
  unsupported layout) raises :class:`FileFormatError` naming the file and the fix; in a
  batch it is reported and the other files go on.
* **Colour is not a spatial axis.**  A trailing channel axis (RGB, RGBA, grey+alpha,
  a TIFF ``S`` axis) is never filtered across; each channel is filtered on its own.

Pillow reads PNG and JPEG, tifffile reads TIFF, NumPy reads ``.npy``; Zarr and Dask
are needed only for volumes and are imported only then.  The modules: ``_formats``
(one file, read and written), ``_batch`` (many files), ``_volumes`` (Dask volumes).
"""

from __future__ import annotations

from .._files import atomic_path
from ._batch import (
    FileResult,
    FilterOptions,
    batch_pairs,
    filter_batch,
    filter_image_file,
    is_batch,
    is_finished,
)
from ._formats import (
    IMAGE_SUFFIXES,
    VOLUME_SUFFIXES,
    FileFormatError,
    Image,
    is_volume,
    read_image,
    write_image,
)
from ._volumes import filter_volume, open_volume, write_volume

__all__ = [
    "IMAGE_SUFFIXES",
    "VOLUME_SUFFIXES",
    "FileFormatError",
    "FileResult",
    "FilterOptions",
    "Image",
    "atomic_path",
    "batch_pairs",
    "filter_batch",
    "filter_image_file",
    "filter_volume",
    "is_batch",
    "is_finished",
    "is_volume",
    "open_volume",
    "read_image",
    "write_image",
    "write_volume",
]
