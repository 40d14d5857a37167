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
from . import _derivatives, _filters, _reach, _tensor, _uniform
from .._backends import backend
from ._patch import PATCHED, is_patched, patch, patched, unpatch

# The public names: the NumPy functions, each taking Dask arrays (given its
# reach) and, where the filter has a natural tensor form, torch tensors.
correlate1d = backend(_reach.correlate1d_reach, _tensor.correlate1d_tensor)(_filters.correlate1d)
convolve1d = backend(_reach.correlate1d_reach)(_filters.convolve1d)
correlate = backend(_reach.correlate_reach)(_filters.correlate)
convolve = backend(_reach.correlate_reach)(_filters.convolve)
gaussian_filter1d = backend(_reach.gaussian1d_reach)(_filters.gaussian_filter1d)
gaussian_filter = backend(_reach.gaussian_reach, _tensor.gaussian_filter_tensor)(
    _filters.gaussian_filter
)
uniform_filter1d = backend(_reach.uniform1d_reach, whole_lines=True)(_uniform.uniform_filter1d)
uniform_filter = backend(_reach.uniform_reach, _tensor.uniform_filter_tensor, whole_lines=True)(
    _uniform.uniform_filter
)
sobel = backend(_reach.edge_reach, _tensor.sobel_tensor)(_derivatives.sobel)
prewitt = backend(_reach.edge_reach, _tensor.prewitt_tensor)(_derivatives.prewitt)
laplace = backend(_reach.laplace_reach, _tensor.laplace_tensor)(_derivatives.laplace)
gaussian_laplace = backend(_reach.gaussian_derivatives_reach)(_derivatives.gaussian_laplace)
gaussian_gradient_magnitude = backend(_reach.gaussian_derivatives_reach)(
    _derivatives.gaussian_gradient_magnitude
)
_UNKNOWN = (
    "the reach of an arbitrary derivative callable is unknown; pass sepconv.ndimage.sobel or "
    "prewitt, use gaussian_laplace / gaussian_gradient_magnitude / laplace, or map_overlap "
    "yourself"
)
generic_laplace = backend(_reach.generic_reach, unknown=_UNKNOWN)(_derivatives.generic_laplace)
generic_gradient_magnitude = backend(_reach.generic_reach, unknown=_UNKNOWN)(
    _derivatives.generic_gradient_magnitude
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
