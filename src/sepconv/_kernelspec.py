"""Turn a ``--kernel``/``KERNEL`` argument into an array: a name, a matrix or a file."""

from __future__ import annotations

import ast
import inspect
import warnings
from pathlib import Path

import numpy as np

from . import kernels

SPEC_HELP = (
    "a kernel name with parameters (sobel, sobel:axis=0, gaussian:sigma=2, disk:radius=7), "
    'an inline matrix ("[[1,2,1],[2,4,2],[1,2,1]]") or a .npy/.txt/.csv file'
)


def kernel_names() -> list[str]:
    """Names accepted in a spec: the public functions of :mod:`sepconv.kernels`."""
    return sorted(
        name for name in getattr(kernels, "__all__", []) if callable(getattr(kernels, name))
    )


def parse_kernel_spec(spec: str, ndim: int | None = None) -> np.ndarray:
    """Parse a kernel spec into an ndarray.

    ``name[:key=value[,key=value...]]`` calls ``sepconv.kernels.name(**params)``
    (values are Python literals: ``2``, ``0.5``, ``(1, 2)``); ``ndim``, when given
    and the function takes it, is passed unless the spec sets it.  A spec that
    starts with ``[`` is an inline matrix; an existing path is read as ``.npy``,
    or as whitespace/comma separated text (``.txt``, ``.csv``).

    Examples
    --------
    >>> parse_kernel_spec("[[1, 2, 1], [2, 4, 2], [1, 2, 1]]").shape
    (3, 3)
    >>> parse_kernel_spec("sobel:axis=0").tolist()
    [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    """
    text = spec.strip()
    if not text:
        raise ValueError(f"kernel spec is empty; give {SPEC_HELP}")
    if text.startswith("["):
        try:
            weights = np.asarray(ast.literal_eval(text))
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"kernel matrix {text!r} is not a valid nested list: {exc}") from None
        return _check_weights(weights, f"kernel matrix {text!r}", _MATRIX_LAYOUT)
    path = Path(text)
    if path.suffix.lower() in {".npy", ".txt", ".csv"}:
        return _read_kernel_file(path, text)
    name, _, rest = text.partition(":")
    if name not in kernel_names():
        raise ValueError(
            f"unknown kernel {name!r}; give {SPEC_HELP}. Known names: {', '.join(kernel_names())}"
        )
    func = getattr(kernels, name)
    params = _parse_params(rest, text)
    if ndim is not None and "ndim" in inspect.signature(func).parameters:
        params.setdefault("ndim", ndim)
    try:
        return np.asarray(func(**params))
    except TypeError as exc:
        raise ValueError(f"kernel spec {text!r}: {exc}") from None


def _read_kernel_file(path: Path, text: str) -> np.ndarray:
    """A kernel from a file: real, finite numbers only, or an error naming the file."""
    if not path.is_file():
        raise ValueError(f"kernel file {text!r} does not exist")
    suffix = path.suffix.lower()
    layout = (
        "an array saved with np.save"
        if suffix == ".npy"
        else "numbers separated by "
        + ("commas, one row per line" if suffix == ".csv" else "spaces, one row per line")
    )
    try:
        if suffix == ".npy":
            weights = np.load(path, allow_pickle=False)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty file: reported below
                delimiter = "," if suffix == ".csv" else None
                weights = np.loadtxt(path, delimiter=delimiter, ndmin=1)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(
            f"kernel file {text!r} cannot be read as a kernel ({exc}); it must hold {layout}"
        ) from None
    return _check_weights(weights, f"kernel file {text!r}", layout)


#: What an inline kernel matrix must look like, for error messages.
_MATRIX_LAYOUT = 'a nested list of numbers, such as "[[1,2,1],[2,4,2],[1,2,1]]"'


def _check_weights(weights: np.ndarray, what: str, layout: str) -> np.ndarray:
    """``weights`` if it holds at least one real, finite number; else an error naming ``what``.

    Examples
    --------
    >>> _check_weights(np.array([]), "kernel matrix '[]'", _MATRIX_LAYOUT)
    Traceback (most recent call last):
    ...
    ValueError: kernel matrix '[]' holds no numbers: the kernel is empty; it must hold a nested ...
    """
    if weights.size == 0:
        raise ValueError(f"{what} holds no numbers: the kernel is empty; it must hold {layout}")
    if weights.dtype.kind not in "biuf":
        raise ValueError(
            f"{what} holds dtype {weights.dtype}, not real numbers; it must hold {layout}"
        )
    bad = ~np.isfinite(weights)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what} holds {int(bad.sum())} NaN or infinite value(s), the first at index "
            f"{where}; every tap must be a finite number"
        )
    return weights


def _parse_params(text: str, spec: str) -> dict[str, object]:
    params: dict[str, object] = {}
    if not text:
        return params
    for item in _split_top_level(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ValueError(f"kernel spec {spec!r}: expected key=value, got {item!r}")
        try:
            params[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ValueError(
                f"kernel spec {spec!r}: value of {key.strip()!r} must be a number or tuple, "
                f"got {value.strip()!r}"
            ) from None
    return params


def _split_top_level(text: str) -> list[str]:
    # Split on commas that are not inside brackets, so sigma=(1,2) stays whole.
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "(["
        depth -= char in ")]"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in (p.strip() for p in parts) if p]
