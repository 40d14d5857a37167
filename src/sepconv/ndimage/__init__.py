"""scipy.ndimage's linear filters and grey morphology with the same bits, on sepconv's engine.

Swap it in with one import line::

    from sepconv import ndimage as ndi   # instead of: from scipy import ndimage as ndi

Every function has scipy 1.17's name, positional order, defaults and keywords
(plus a keyword-only ``workers``) and returns an array ``np.array_equal`` to
scipy's for every dtype scipy accepts, NaN and infinity included: the kernels
run on the engine's ``exact`` policy (scipy's C arithmetic, see
:mod:`sepconv._engine._arith`), which reorders only what changes no bit —
SIMD across pixels, threads, and the passes of a multi-axis filter done strip
by strip in cache (:mod:`sepconv._engine._sweep`).  The minimum / maximum
filters and grey morphology (``minimum_filter`` ... ``black_tophat``) keep
scipy's bits too, at a cost flat in the window (:mod:`sepconv._engine._minmax`).  Errors have
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
    black_tophat,
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
    grey_closing,
    grey_dilation,
    grey_erosion,
    grey_opening,
    laplace,
    maximum_filter,
    maximum_filter1d,
    minimum_filter,
    minimum_filter1d,
    morphological_gradient,
    morphological_laplace,
    prewitt,
    sobel,
    uniform_filter,
    uniform_filter1d,
    white_tophat,
)

__all__ = [
    "PATCHED",
    "FilterArgumentError",
    "black_tophat",
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
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "is_patched",
    "laplace",
    "maximum_filter",
    "maximum_filter1d",
    "minimum_filter",
    "minimum_filter1d",
    "morphological_gradient",
    "morphological_laplace",
    "patch",
    "patched",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
    "unpatch",
    "white_tophat",
]
