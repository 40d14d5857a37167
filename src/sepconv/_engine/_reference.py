"""The simple reference path: correlation in plain NumPy, beside the fast kernels.

Slow and obviously right: extend the array by the boundary rule
(:func:`sepconv._boundary.extend_indices`), then add up shifted views times
each nonzero weight in float64, and convert with scipy's rule.  Tests compare
the engine with it where scipy has no equivalent (per-axis modes, a single
method forced) and use it to check scipy itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._boundary import extend_indices, kernel_reach
from ._cast import convert_like_scipy

__all__ = ["correlate_reference"]


def correlate_reference(
    array: np.ndarray,
    weights: np.ndarray,
    axes: Sequence[int],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    dtype: np.dtype | None = None,
) -> np.ndarray:
    """``scipy.ndimage.correlate`` semantics in plain NumPy (float64 arithmetic).

    Examples
    --------
    >>> x = np.arange(5.0)
    >>> correlate_reference(x, np.array([1.0, 1.0, 1.0]), [0], ["reflect"], 0.0, [0])
    array([ 1.,  3.,  6.,  9., 11.])
    """
    weights = np.asarray(weights, dtype=np.float64)
    padded = np.asarray(array, dtype=np.float64)
    for i, ax in enumerate(axes):
        before, after = kernel_reach(weights.shape[i], origins[i])
        index = extend_indices(array.shape[ax], before, after, modes[i])
        grown = np.concatenate([padded, np.full_like(np.take(padded, [0], axis=ax), cval)], ax)
        padded = np.take(grown, np.where(index < 0, array.shape[ax], index), axis=ax)
    result = np.zeros(array.shape, dtype=np.float64)
    for offset in zip(*np.nonzero(np.abs(weights) > np.finfo(np.float64).eps)):
        window = [slice(None)] * array.ndim
        for i, ax in enumerate(axes):
            window[ax] = slice(offset[i], offset[i] + array.shape[ax])
        result += weights[offset] * padded[tuple(window)]
    return convert_like_scipy(result, array.dtype if dtype is None else dtype)
