"""scipy.ndimage's linear filters with the same bits, on sepconv's exact kernels.

Swap it in with one import line::

    from sepconv import ndimage as ndi   # instead of: from scipy import ndimage as ndi

Every function has scipy 1.17's name, positional order, defaults and keywords
(plus a keyword-only ``workers``) and returns an array ``np.array_equal`` to
scipy's for every dtype scipy accepts, NaN and infinity included: the kernels
run on the engine's ``exact`` policy (scipy's C arithmetic, see
:mod:`sepconv._engine._arith`), which reorders only what changes no bit —
SIMD across pixels, threads, and the passes of a multi-axis filter done strip
by strip in cache (:mod:`sepconv._engine._sweep`).  Errors have
scipy's classes (user mistakes where scipy raises ``RuntimeError`` raise
:class:`FilterArgumentError`, both a ``ValueError`` and a ``RuntimeError``) and
warnings its categories.

:func:`patch` / :func:`unpatch` / :func:`patched` put these functions in place
of scipy.ndimage's for code you do not own (scikit-image's filters).

Examples
--------
>>> import numpy as np
>>> from scipy import ndimage
>>> from sepconv import ndimage as ndi
>>> x = np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8)
>>> np.array_equal(ndi.uniform_filter(x, 3), ndimage.uniform_filter(x, 3))
True
"""

from __future__ import annotations

from .._args import FilterArgumentError
from ._patch import PATCHED, is_patched, patch, patched, unpatch
from ._public import (
    convolve,
    convolve1d,
    correlate,
    correlate1d,
    gaussian_filter,
    gaussian_filter1d,
    gaussian_gradient_magnitude,
    gaussian_laplace,
    generic_gradient_magnitude,
    generic_laplace,
    laplace,
    prewitt,
    sobel,
    uniform_filter,
    uniform_filter1d,
)

__all__ = [
    "PATCHED",
    "FilterArgumentError",
    "convolve",
    "convolve1d",
    "correlate",
    "correlate1d",
    "gaussian_filter",
    "gaussian_filter1d",
    "gaussian_gradient_magnitude",
    "gaussian_laplace",
    "generic_gradient_magnitude",
    "generic_laplace",
    "is_patched",
    "laplace",
    "patch",
    "patched",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
    "unpatch",
]
