"""Images that ship inside the scikit-image package (never the ones it downloads on demand).

scikit-image 0.26 keeps a few images in ``skimage/data/`` and fetches the others with pooch
the first time they are asked for.  The study reads only files present in the installed
package, by path, so that nothing is downloaded and a missing file is an error that says so.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

#: File of each bundled image the study uses (``skimage/data/<file>``).
FILES = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "ihc": "ihc.png",
    "lfw_subset": "lfw_subset.npy",
    "moon": "moon.png",
    "motorcycle_left": "motorcycle_left.png",
    "page": "page.png",
    "rocket": "rocket.jpg",
    "text": "text.png",
}


def data_dir() -> Path:
    """``skimage/data`` of the installed scikit-image, found without importing it."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the study's bundled images come with scikit-image: pip install 'sepconv[data]'"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def bundled_path(name: str) -> Path:
    """The file of bundled image ``name``; a ``ValueError`` if this scikit-image lacks it.

    Examples
    --------
    >>> bundled_path("brick").name
    'brick.png'
    """
    if name not in FILES:
        raise ValueError(f"name must be one of {sorted(FILES)}, got {name!r}")
    path = data_dir() / FILES[name]
    if not path.is_file():
        raise ValueError(
            f"scikit-image has no bundled {FILES[name]} in {path.parent} (some versions "
            "download it on first use, which the study never does); install a scikit-image "
            "that ships it, such as 0.22-0.26"
        )
    return path


def bundled_image(name: str, mode: str = "RGB") -> np.ndarray:
    """Bundled image ``name`` as ``uint8``: ``(H, W, 3)`` for ``"RGB"``, ``(H, W)`` for ``"L"``.

    Grey values are Pillow's ITU-R 601 luma of the RGB image.

    Examples
    --------
    >>> bundled_image("astronaut").shape, bundled_image("brick", "L").shape
    ((512, 512, 3), (512, 512))
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
    from PIL import Image

    with Image.open(bundled_path(name)) as image:
        return np.asarray(image.convert(mode), dtype=np.uint8).copy()


def lfw_subset() -> tuple[np.ndarray, np.ndarray]:
    """scikit-image's 200 grey 25x25 crops of LFW: the first 100 faces, then 100 non-faces.

    Returns ``(images uint8 (200, 25, 25), is_face bool (200,))``.
    """
    images = np.load(bundled_path("lfw_subset"))
    pixels = np.clip(np.round(images * 255.0), 0, 255).astype(np.uint8)
    return pixels, np.arange(len(pixels)) < 100


__all__ = ["FILES", "bundled_image", "bundled_path", "data_dir", "lfw_subset"]
