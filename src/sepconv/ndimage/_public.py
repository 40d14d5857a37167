"""The public functions of :mod:`sepconv.ndimage`: the NumPy filters, each wrapped by the
one backend wrapper (:mod:`sepconv._backends`) with its reach (Dask) and tensor form."""

from __future__ import annotations

import numpy as np

from .._backends import backend
from . import _derivatives, _filters, _morphology, _reach, _tensor, _uniform

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

# Minimum / maximum filters and grey morphology (their reach: the window; the
# compositions of one filter with another reach twice as far).
# Where a NaN wins in scipy's running min / max depends on the line before the
# window, so a float block holding only the window's overlap could differ from
# NumPy's result: float 1-D passes (1-D filters, a size or an all-true
# footprint) run over blocks of whole lines of their axis, one axis after the
# other; other footprints and structures are local (plain overlap); the
# compositions (openings, top-hats...) take whole lines of every filtered axis.
_M = _morphology


def _separable_lines(arguments, dtype):
    if dtype.kind not in "fc":
        return None
    if arguments.get("structure") is not None:
        return None
    footprint = arguments.get("footprint")
    if footprint is not None and not np.all(np.asarray(footprint, dtype=bool)):
        return None
    return "lines"


def _whole_if_float(arguments, dtype):
    return "whole" if dtype.kind in "fc" else None


def _minmax(func, reach, minimum, dilation=False):
    tensor = _tensor.minmax_tensor(func, minimum, dilation)
    return backend(reach, tensor, whole_if=_separable_lines)(func)


def _composite(func, reach, kind):
    return backend(reach, _tensor.composite_tensor(func, kind), whole_if=_whole_if_float)(func)


minimum_filter1d = backend(
    _reach.minmax1d_reach,
    _tensor.minmax1d_tensor(_M.minimum_filter1d, True),
    whole_if=_separable_lines,
)(_M.minimum_filter1d)
maximum_filter1d = backend(
    _reach.minmax1d_reach,
    _tensor.minmax1d_tensor(_M.maximum_filter1d, False),
    whole_if=_separable_lines,
)(_M.maximum_filter1d)
minimum_filter = _minmax(_M.minimum_filter, _reach.minmax_reach, True)
maximum_filter = _minmax(_M.maximum_filter, _reach.minmax_reach, False)
grey_erosion = _minmax(_M.grey_erosion, _reach.minmax_reach, True)
grey_dilation = _minmax(_M.grey_dilation, _reach.minmax_reach, False, dilation=True)
grey_opening = _composite(_M.grey_opening, _reach.minmax_twice_reach, "opening")
grey_closing = _composite(_M.grey_closing, _reach.minmax_twice_reach, "closing")
morphological_gradient = _composite(_M.morphological_gradient, _reach.minmax_reach, "gradient")
morphological_laplace = _composite(_M.morphological_laplace, _reach.minmax_reach, "laplace")
white_tophat = _composite(_M.white_tophat, _reach.minmax_twice_reach, "white")
black_tophat = _composite(_M.black_tophat, _reach.minmax_twice_reach, "black")
