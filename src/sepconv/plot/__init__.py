"""Figures of separable convolutions, each drawn from sepconv's own computations.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no display and
no global state; saving it to PNG uses matplotlib's Agg renderer).  matplotlib is imported inside
the functions, so ``import sepconv`` stays free of it; install it with
``pip install "sepconv[plot]"``.  The sample images come from scikit-image
(``pip install "sepconv[data]"``) unless you pass your own.

The six figures of the article sepconv grew from, recomputed:

=========================  ==================================================================
``separable_kernel``       a 3x3 kernel as the product of a 3x1 and a 1x3 kernel
``spatial_convolution``    normal vs spatially separable filtering of a 5x5 image, with counts
``sobel_filter``           the Sobel kernel, its integer factors, applied to an image
``depthwise_convolution``  3 channels, 3 k x k filters, 3 output maps
``pointwise_convolution``  a 1x1x3 filter making one map
``pointwise_upscale``      256 pointwise filters: 8x8x3 to 8x8x256, and what it saves
=========================  ==================================================================

and the ones only sepconv can draw: :func:`singular_value_spectra` and :func:`lowrank_error`;
from the JSON other parts of the project write: :func:`filter_speed`, :func:`filter_heatmap`,
:func:`layer_speedup`, :func:`capacity_study`, and from ``sepconv study kernels``'s
``kernels.json``: :func:`trained_rank1`, :func:`trained_spectra` and :func:`forced_agreement`.
:data:`FIGURES` maps the names ``sepconv figure`` takes to the functions and :func:`draw` draws
one by name.

Every function takes ``small=True`` for a smaller, faster drawing (tests, thumbnails); numbers in
cells are exact values (integers) or rounded to three significant digits.  Axes carry labels
(``ax.get_label()``, e.g. ``"column"``, ``"kernel"``) that name what they show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._analysis import LOWRANK_KERNELS, SPECTRA_KERNELS, lowrank_error, singular_value_spectra
from ._article import (
    ARTICLE_KERNEL,
    depthwise_convolution,
    pointwise_convolution,
    pointwise_upscale,
    separable_kernel,
    sobel_filter,
    spatial_convolution,
)
from ._filter_map import filter_heatmap
from ._ndimage import ndimage_speed
from ._results import capacity_study, filter_speed, layer_speedup
from ._zoo import KERNEL_FIGURES, forced_agreement, trained_rank1, trained_spectra

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "KERNEL_FIGURES",
    "ARTICLE_KERNEL",
    "FIGURES",
    "LOWRANK_KERNELS",
    "RESULTS_DEFAULTS",
    "SPECTRA_KERNELS",
    "capacity_study",
    "depthwise_convolution",
    "draw",
    "filter_heatmap",
    "filter_speed",
    "forced_agreement",
    "layer_speedup",
    "lowrank_error",
    "ndimage_speed",
    "pointwise_convolution",
    "pointwise_upscale",
    "separable_kernel",
    "singular_value_spectra",
    "sobel_filter",
    "spatial_convolution",
    "trained_rank1",
    "trained_spectra",
]

#: Names ``sepconv figure`` takes, in the article's order, then the analysis figures.
FIGURES: dict[str, Callable[..., Figure]] = {
    "separable-kernel": separable_kernel,
    "spatial-convolution": spatial_convolution,
    "sobel": sobel_filter,
    "depthwise": depthwise_convolution,
    "pointwise": pointwise_convolution,
    "pointwise-upscale": pointwise_upscale,
    "spectra": singular_value_spectra,
    "lowrank": lowrank_error,
    "filter-speed": filter_speed,
    "filter-heatmap": filter_heatmap,
    "ndimage-speed": ndimage_speed,
    "layer-speedup": layer_speedup,
    "capacity": capacity_study,
    "trained-rank1": trained_rank1,
    "trained-spectra": trained_spectra,
    "forced-agreement": forced_agreement,
}

#: Where the figures drawn from results files look by default (relative to the working directory).
RESULTS_DEFAULTS: dict[str, str] = {
    "filter-speed": "benchmarks/results/filters.json",
    "filter-heatmap": "benchmarks/results/filters.json",
    "ndimage-speed": "benchmarks/results/ndimage.json",
    "layer-speedup": "benchmarks/results/layers_1thread.json",
    "capacity": "study/results.json",
    "trained-rank1": "kernels/kernels.json",
    "trained-spectra": "kernels/kernels.json",
    "forced-agreement": "kernels/kernels.json",
}


def draw(name: str, *, results: str | Path | None = None, small: bool = False) -> Figure:
    """Draw the figure ``name`` (a key of :data:`FIGURES`).

    Parameters
    ----------
    name : str
        Figure name, e.g. ``"sobel"``; see :data:`FIGURES`.
    results : str or Path, optional
        The JSON file of the figures drawn from results (``filter-speed``, ``layer-speedup``,
        ``capacity``); default :data:`RESULTS_DEFAULTS`.
    small : bool
        Draw a smaller figure.

    Examples
    --------
    >>> from sepconv import plot
    >>> fig = plot.draw("separable-kernel", small=True)
    >>> sorted({ax.get_label() for ax in fig.axes} - {"operator ×", "operator ="})
    ['column', 'kernel', 'row']
    """
    if name not in FIGURES:
        raise ValueError(f"name: unknown figure {name!r}; choose from {', '.join(FIGURES)}")
    function = FIGURES[name]
    if name in RESULTS_DEFAULTS:
        return function(RESULTS_DEFAULTS[name] if results is None else results, small=small)
    if results is not None:
        raise ValueError(f"results: figure {name!r} is computed, it reads no results file")
    return function(small=small)
