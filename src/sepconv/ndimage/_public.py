"""The public functions of :mod:`sepconv.ndimage`: the NumPy filters, each wrapped by the
one backend wrapper (:mod:`sepconv._backends`) with its reach (Dask) and tensor form."""

from __future__ import annotations

from .._backends import backend
from . import _derivatives, _filters, _reach, _tensor, _uniform

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
