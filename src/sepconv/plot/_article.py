"""The six figures of the article, each recomputed: kernels, passes, counts and maps.

Each figure has a ``*_numbers`` function returning the arrays and counts it draws, so that the
report can put every number shown into ``report.json`` without computing it twice differently.
The figures live in :mod:`._article_spatial` (figures 1-3) and
:mod:`._article_depthwise` (figures 4-6); this module gathers them.
"""

from __future__ import annotations

from ._article_depthwise import (
    POINTWISE_SEED,
    article_rgb,
    depthwise_convolution,
    depthwise_filters,
    depthwise_numbers,
    maps_input,
    pointwise_convolution,
    pointwise_numbers,
    pointwise_upscale,
    pointwise_weights,
    upscale_numbers,
)
from ._article_spatial import (
    ARTICLE_KERNEL,
    article_image_5x5,
    kernel_numbers,
    separable_kernel,
    sobel_filter,
    sobel_numbers,
    spatial_convolution,
    spatial_numbers,
)

__all__ = [
    "ARTICLE_KERNEL",
    "depthwise_convolution",
    "pointwise_convolution",
    "pointwise_upscale",
    "separable_kernel",
    "sobel_filter",
    "spatial_convolution",
]
_HELPERS = (
    POINTWISE_SEED,
    article_image_5x5,
    article_rgb,
    depthwise_filters,
    depthwise_numbers,
    kernel_numbers,
    maps_input,
    pointwise_numbers,
    pointwise_weights,
    sobel_numbers,
    spatial_numbers,
    upscale_numbers,
)  # used by sepconv.report through this module
