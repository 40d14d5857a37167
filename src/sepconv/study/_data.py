"""Images and labels for the study: scikit-learn's digits, a folder of images, or ``.npz`` arrays.

Every source is checked completely before any training starts, so a bad file is reported in
seconds, not after an hour of training the first network.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: File name endings read as images in a class folder; other files are ignored.
IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".ppm",
    ".pbm",
)

# Pillow modes holding one grey channel; any other mode is read as RGB.
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}

#: The smallest image side the study's network accepts (it pools once by 2).
MIN_SIDE = 2
#: A class needs one image in each of train, validation and test.
MIN_PER_CLASS = 3


@dataclass(frozen=True, eq=False)
class Dataset:
    """Images and integer labels, ready for the study's networks.

    Attributes
    ----------
    images : ndarray, shape (N, C, H, W), float32
        Pixel values as read (not yet normalised; see :func:`split_dataset`).
    labels : ndarray, shape (N,), int64
        Class indices into ``classes``.
    classes : tuple of str
        Class names (sub-folder names, or the distinct ``y`` values).
    name : str
        ``"digits"``, or the folder / file name.
    files : tuple of str or None
        For a folder, each image's path relative to it (in the order of ``images``).
    parts : ndarray of int8 or None
        A fixed split: 0 training, 1 validation, 2 test for each image (the texture patches,
        whose parts come from disjoint image regions).  ``None``: :func:`split_dataset`
        draws a stratified random split.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    name: str
    files: tuple[str, ...] | None = None
    parts: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the pixels and labels: the cache key of everything trained on them."""
        digest = hashlib.sha256()
        digest.update(str(self.images.shape).encode())
        digest.update(np.ascontiguousarray(self.images).tobytes())
        digest.update(np.ascontiguousarray(self.labels).tobytes())
        digest.update("\0".join(self.classes).encode())
        if self.parts is not None:  # only then, so that older caches keep their keys
            digest.update(np.ascontiguousarray(self.parts).tobytes())
        return digest.hexdigest()

    def describe(self) -> dict[str, object]:
        """Name, size, image shape and per-class counts, for the results file."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {
            "name": self.name,
            "images": int(len(self.labels)),
            "image_shape": list(self.shape),
            "classes": list(self.classes),
            "per_class": [int(c) for c in counts],
            "split": "stratified random" if self.parts is None else "fixed regions",
            "fingerprint": self.fingerprint,
        }


#: Data sets that ship inside installed packages, by the name ``load_data`` accepts.
BUILTIN_DATA: tuple[str, ...] = ("digits", "textures")


def load_data(source: str | os.PathLike[str] | None = None) -> Dataset:
    """Load the study's data and check it.

    Parameters
    ----------
    source : path, str or None
        ``None`` or ``"digits"``: the 1,797 8x8 handwritten digits shipped with scikit-learn
        (``sklearn.datasets.load_digits``; no download).  ``"textures"``: 16x16 texture
        patches of six images bundled with scikit-image, split by image region (see
        :func:`sepconv.study._textures.texture_patches`); write ``./textures`` for a folder of
        that name.  A folder: one sub-folder per class,
        each holding images (PNG, JPEG, BMP, GIF, TIFF, WebP, PNM) of one common size; all grey
        images are read as one channel, otherwise as RGB.  A ``.npz`` file: array ``x`` of shape
        ``(N, H, W)`` or channels-last ``(N, H, W, C)`` with ``C <= 4``, and array ``y`` of
        ``N`` labels (integers or strings).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        With the offending path and the fix, for a missing path, an empty folder, a single
        class, a class with fewer than 3 images, an unreadable image, images of different sizes,
        or ``.npz`` arrays with missing keys, wrong shapes or non-finite values.

    Examples
    --------
    >>> from sepconv.study import load_data
    >>> data = load_data()
    >>> data.images.shape, len(data.classes)
    ((1797, 1, 8, 8), 10)
    """
    if source is None or (isinstance(source, str) and source == "digits"):
        return _load_digits()
    if isinstance(source, str) and source == "textures":
        from ._textures import TEXTURES, texture_patches

        images, labels, parts = texture_patches()
        return Dataset(images, labels, TEXTURES, "textures", parts=parts)
    path = Path(source)
    if not path.exists():
        raise ValueError(
            f"data: {str(path)!r} does not exist; give a folder with one sub-folder of images "
            f"per class, a .npz file with arrays 'x' and 'y', or one of {BUILTIN_DATA}"
        )
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() == ".npz":
        return _load_npz(path)
    raise ValueError(
        f"data: {str(path)!r} is neither a folder nor a .npz file; give a folder with one "
        "sub-folder of images per class, or a .npz file with arrays 'x' and 'y'"
    )


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)[:, None]
    return Dataset(
        images, bunch.target.astype(np.int64), tuple(str(c) for c in bunch.target_names), "digits"
    )


def _load_folder(root: Path) -> Dataset:
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        loose = [p.name for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        hint = (
            f" (it holds {len(loose)} image(s) directly; move them into one sub-folder per class)"
            if loose
            else ""
        )
        raise ValueError(
            f"data: folder {str(root)!r} has no class sub-folders{hint}; arrange the images as "
            f"{root}/<class name>/<image>.png"
        )
    files: list[tuple[Path, int]] = []
    for index, folder in enumerate(class_dirs):
        images = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not images:
            raise ValueError(
                f"data: class folder {str(folder)!r} contains no images "
                f"({', '.join(IMAGE_SUFFIXES)}); add images or remove the folder"
            )
        files.extend((p, index) for p in images)
    if len(class_dirs) < 2:
        raise ValueError(
            f"data: only one class ({class_dirs[0].name!r}) in {str(root)!r}; a classifier "
            "needs at least two class sub-folders"
        )
    _check_per_class(
        [p.name for p in class_dirs], np.array([i for _, i in files]), f"folder {str(root)!r}"
    )
    arrays, unreadable = _read_images([p for p, _ in files])
    if unreadable:
        shown = "; ".join(f"{str(p)!r} ({why})" for p, why in unreadable[:3])
        more = f" and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
        raise ValueError(
            f"data: cannot read {len(unreadable)} image(s): {shown}{more}; remove or replace them"
        )
    sizes: dict[tuple[int, int], Path] = {}
    for (path, _), array in zip(files, arrays):
        sizes.setdefault(array.shape[:2], path)
    if len(sizes) > 1:
        (s1, p1), (s2, p2) = list(sizes.items())[:2]
        raise ValueError(
            f"data: images have {len(sizes)} different sizes, e.g. {str(p1)!r} is "
            f"{s1[1]}x{s1[0]} but {str(p2)!r} is {s2[1]}x{s2[0]} (width x height); resize them "
            "all to one size first"
        )
    stack = np.stack(arrays).astype(np.float32)
    stack = stack[:, None] if stack.ndim == 3 else stack.transpose(0, 3, 1, 2)
    _check_side(stack.shape[2:], f"images in {str(root)!r}")
    return Dataset(
        np.ascontiguousarray(stack),
        np.array([i for _, i in files], dtype=np.int64),
        tuple(p.name for p in class_dirs),
        root.name,
        tuple(str(p.relative_to(root)) for p, _ in files),
    )


def _read_images(paths: list[Path]) -> tuple[list[np.ndarray], list[tuple[Path, str]]]:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is in the io extra
        raise ImportError(
            "reading a folder of images needs Pillow: pip install 'sepconv[io]'"
        ) from None
    modes = []
    for path in paths:
        try:
            with Image.open(path) as image:
                modes.append(image.mode)
        except Exception:
            modes.append("?")
    grey = all(mode in _GREY_MODES for mode in modes)
    arrays: list[np.ndarray] = []
    unreadable: list[tuple[Path, str]] = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image.load()
                if grey:
                    array = np.asarray(
                        image
                        if image.mode in ("I", "F") or "I;16" in image.mode
                        else image.convert("L"),
                        dtype=np.float32,
                    )
                else:
                    array = np.asarray(image.convert("RGB"), dtype=np.float32)
        except Exception as exc:
            unreadable.append((path, str(exc).split("\n")[0] or type(exc).__name__))
            continue
        arrays.append(array)
    return arrays, unreadable


def _load_npz(path: Path) -> Dataset:
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ValueError(f"data: cannot read {str(path)!r} as a .npz file ({exc})") from None
    with archive:
        missing = [k for k in ("x", "y") if k not in archive.files]
        if missing:
            raise ValueError(
                f"data: {str(path)!r} lacks array(s) {missing} (it holds {archive.files}); save "
                "it with np.savez(path, x=images, y=labels)"
            )
        try:
            x, y = archive["x"], archive["y"]
        except Exception as exc:
            raise ValueError(f"data: cannot read the arrays of {str(path)!r} ({exc})") from None
    if x.dtype.kind not in "iuf" or x.dtype == bool:
        raise ValueError(f"data: 'x' in {str(path)!r} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 4 and x.shape[-1] > 4 and x.shape[1] <= 4:
        raise ValueError(
            f"data: 'x' in {str(path)!r} has shape {x.shape}, which looks channels-first; "
            "store channels last: x.transpose(0, 2, 3, 1)"
        )
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] > 4):
        raise ValueError(
            f"data: 'x' in {str(path)!r} must have shape (N, H, W) or (N, H, W, C) with "
            f"C <= 4; got {x.shape}"
        )
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"data: 'y' in {str(path)!r} must be one label per image, shape ({len(x)},); "
            f"got {y.shape}"
        )
    images = x.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"data: 'x' in {str(path)!r} contains NaN or infinity")
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    _check_side(images.shape[2:], f"'x' in {str(path)!r}")
    values, labels = np.unique(y, return_inverse=True)
    classes = tuple(str(v) for v in values)
    if len(classes) < 2:
        raise ValueError(
            f"data: 'y' in {str(path)!r} has only one class ({classes[0] if classes else None!r});"
            " a classifier needs at least two"
        )
    _check_per_class(list(classes), labels, f"'y' in {str(path)!r}")
    return Dataset(np.ascontiguousarray(images), labels.astype(np.int64), classes, path.stem)


def _check_per_class(classes: list[str], labels: np.ndarray, where: str) -> None:
    counts = np.bincount(labels, minlength=len(classes))
    few = [(c, int(n)) for c, n in zip(classes, counts) if n < MIN_PER_CLASS]
    if few:
        shown = ", ".join(f"{c!r}: {n}" for c, n in few[:5])
        raise ValueError(
            f"data: every class needs at least {MIN_PER_CLASS} images (one each for training, "
            f"validation and test); {where} has {shown}"
        )


def _check_side(hw: tuple[int, ...], where: str) -> None:
    if min(hw) < MIN_SIDE:
        raise ValueError(
            f"data: {where} are {hw[1]}x{hw[0]} pixels; the study's networks need at least "
            f"{MIN_SIDE}x{MIN_SIDE}"
        )


@dataclass(frozen=True, eq=False)
class Split:
    """A fixed, stratified train / validation / test split with normalised images."""

    indices: dict[str, np.ndarray]
    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    mean: np.ndarray
    std: np.ndarray
    seed: int

    def to_dict(self, dataset: Dataset) -> dict[str, object]:
        """The split as written to ``split.json``: indices (and file names for a folder)."""
        data: dict[str, object] = {
            "seed": self.seed,
            "dataset": dataset.name,
            "fingerprint": dataset.fingerprint,
            "normalisation": {"mean": self.mean.tolist(), "std": self.std.tolist()},
            "sizes": {k: int(len(v)) for k, v in self.indices.items()},
            "indices": {k: v.tolist() for k, v in self.indices.items()},
        }
        if dataset.files is not None:
            data["files"] = {k: [dataset.files[i] for i in v] for k, v in self.indices.items()}
        return data


def split_dataset(
    dataset: Dataset, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> Split:
    """Split every class in the same proportions, seeded, then normalise with training statistics.

    Each class keeps at least one image in each part.  A data set with fixed ``parts`` (the
    texture patches) keeps them instead, whatever the seed and fractions.  Images are
    standardised per channel with the mean and standard deviation of the training part only,
    so no test pixel leaks in.

    Examples
    --------
    >>> from sepconv.study import load_data, split_dataset
    >>> split = split_dataset(load_data(), seed=0)
    >>> {k: len(v) for k, v in split.indices.items()}
    {'train': 1079, 'val': 359, 'test': 359}
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    if dataset.parts is not None:
        for code, name in enumerate(parts):
            parts[name].append(np.flatnonzero(dataset.parts == code))
    else:
        for label in range(len(dataset.classes)):
            members = np.flatnonzero(dataset.labels == label)
            members = members[rng.permutation(len(members))]
            n = len(members)
            n_test = min(max(1, round(n * test_fraction)), n - 2)
            n_val = min(max(1, round(n * val_fraction)), n - n_test - 1)
            parts["test"].append(members[:n_test])
            parts["val"].append(members[n_test : n_test + n_val])
            parts["train"].append(members[n_test + n_val :])
    indices = {k: np.sort(np.concatenate(v)) for k, v in parts.items()}
    train = dataset.images[indices["train"]]
    mean = train.mean(axis=(0, 2, 3), dtype=np.float64)
    std = train.std(axis=(0, 2, 3), dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    scale = (1.0 / std).astype(np.float32)[:, None, None]
    shift = mean.astype(np.float32)[:, None, None]
    images = {
        k: ((dataset.images[v] - shift) * scale).astype(np.float32) for k, v in indices.items()
    }
    labels = {k: dataset.labels[v] for k, v in indices.items()}
    return Split(indices, images, labels, mean, std, seed)
