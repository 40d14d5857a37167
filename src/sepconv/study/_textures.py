"""A second data set for the study: texture patches cut from scikit-image's bundled images.

Six grey images whose whole frame is one texture or material -- ``brick``, ``grass``,
``gravel``, ``ihc`` (stained tissue), ``moon`` (surface) and ``hubble_deep_field`` (stars) --
are the six classes.  Each image (its central 512 x 512 square) is cut into horizontal bands:
the top 60 % of rows for training, the next 20 % for validation, the last 20 % for testing,
and every band into non-overlapping 16 x 16 patches on a fixed grid.  A patch never crosses a
band, so the three parts share no pixel, and nothing is random: the same files give the same
patches.  Each patch is standardised on its own (mean 0, standard deviation 1, with a floor of
one grey level), so that the class is told by texture, not by the image's brightness.
"""

from __future__ import annotations

import numpy as np

from ._bundled import bundled_image

#: The classes, in label order (names of scikit-image's bundled images).
TEXTURES: tuple[str, ...] = ("brick", "grass", "gravel", "ihc", "moon", "hubble_deep_field")
#: Side of a patch in pixels, and of the square cut from the centre of every image.
PATCH = 16
SIDE = 512
#: Row bands of each image: (part, first fraction, last fraction).
BANDS: tuple[tuple[str, float, float], ...] = (
    ("train", 0.0, 0.6),
    ("val", 0.6, 0.8),
    ("test", 0.8, 1.0),
)
#: Smallest standard deviation (grey levels) a patch is divided by: flat sky stays flat.
STD_FLOOR = 1.0

_PART_CODE = {name: code for code, (name, _, _) in enumerate(BANDS)}


def patch_origins(side: int = SIDE, patch: int = PATCH) -> dict[str, list[tuple[int, int]]]:
    """The ``(row, column)`` of every patch's top-left pixel, per part.

    Examples
    --------
    >>> origins = patch_origins()
    >>> {part: len(v) for part, v in origins.items()}
    {'train': 608, 'val': 192, 'test': 192}
    """
    out: dict[str, list[tuple[int, int]]] = {}
    for part, start, stop in BANDS:
        first, last = int(round(start * side)), int(round(stop * side))
        out[part] = [
            (r, c)
            for r in range(first, last - patch + 1, patch)
            for c in range(0, side - patch + 1, patch)
        ]
    return out


def texture_patches() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The texture data set: 16 x 16 grey patches of six bundled images, split by region.

    ``load_data("textures")`` makes the :class:`~sepconv.study.Dataset` of them.

    Returns
    -------
    images, labels, parts : ndarray
        ``images (N, 1, 16, 16)`` float32, each patch standardised; ``labels`` (int64)
        index :data:`TEXTURES`; ``parts`` (int8: 0 train, 1 validation, 2 test), which
        :func:`sepconv.study.split_dataset` uses instead of a random split.

    Raises
    ------
    ValueError
        When the installed scikit-image lacks one of the images (it is never downloaded).

    Examples
    --------
    >>> from sepconv.study import load_data
    >>> data = load_data("textures")
    >>> data.images.shape, data.classes[:3]
    ((5952, 1, 16, 16), ('brick', 'grass', 'gravel'))
    """
    origins = patch_origins()
    images: list[np.ndarray] = []
    labels: list[int] = []
    parts: list[int] = []
    for label, name in enumerate(TEXTURES):
        grey = bundled_image(name, "L").astype(np.float32)
        h, w = grey.shape
        top, left = (h - SIDE) // 2, (w - SIDE) // 2
        square = grey[top : top + SIDE, left : left + SIDE]
        for part, corners in origins.items():
            for r, c in corners:
                images.append(square[r : r + PATCH, c : c + PATCH])
                labels.append(label)
                parts.append(_PART_CODE[part])
    stack = np.stack(images)
    mean = stack.mean(axis=(1, 2), keepdims=True)
    std = np.maximum(stack.std(axis=(1, 2), keepdims=True), STD_FLOOR)
    stack = ((stack - mean) / std).astype(np.float32)[:, None]
    return (
        np.ascontiguousarray(stack),
        np.array(labels, dtype=np.int64),
        np.array(parts, dtype=np.int8),
    )


__all__ = ["BANDS", "PATCH", "SIDE", "STD_FLOOR", "TEXTURES", "patch_origins", "texture_patches"]
