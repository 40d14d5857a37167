"""Argument checks shared by the public functions: one place for each rule."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_kernel(kernel: Any, name: str = "kernel", *, min_ndim: int = 1) -> np.ndarray:
    """Return ``kernel`` as a finite, non-empty real ndarray, or raise naming ``name``.

    Boolean kernels become ``int64`` (a mask is a 0/1 kernel).  The result may be a
    view of the caller's array: callers never write into it.
    """
    if isinstance(kernel, (str, bytes)) or kernel is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(kernel).__name__}")
    try:
        array = np.asarray(kernel)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if array.dtype == bool:
        array = array.astype(np.int64)
    if np.iscomplexobj(array):
        raise TypeError(
            f"{name} must be real; got complex dtype {array.dtype}. "
            "Filter the real and imaginary parts separately."
        )
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got a {array.ndim}-D array"
        )
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; it contains NaN or infinity")
    return array


def check_tolerance(value: float | None, name: str) -> float | None:
    """``None`` or a finite non-negative float; otherwise a ``ValueError`` naming ``name``."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or None, got {value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum``; otherwise an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
