"""The capacity study: when do separable networks fail to learn?

The article sepconv grew from warns that a depthwise separable convolution has so few
parameters that an already small network may fail to learn.  This package measures it: it trains
matched small CNNs that differ only in their convolution (standard, depthwise separable,
spatially separable) over a range of widths and seeds, converts trained standard networks with
:func:`sepconv.nn.convert`, and writes the numbers, a plot and a finding computed from them --
on scikit-learn's digits, on texture patches of scikit-image's bundled images
(``load_data("textures")``) or on your own images.

:func:`run_kernels` (``sepconv study kernels``) measures the article's two claims on networks
other people trained, whose weights ship inside pip packages (``pip install "sepconv[zoo]"``).

Needs PyTorch, scikit-learn and matplotlib (``pip install "sepconv[torch,data,plot]"``); Pillow
for folders of images.  ``sepconv study`` is the command-line front end.

Examples
--------
>>> from sepconv.study import StudyConfig
>>> StudyConfig.quick().families
('standard', 'depthwise', 'spatial')
"""

from __future__ import annotations

from ._config import FAMILIES, StudyConfig, parse_ints
from ._data import BUILTIN_DATA, Dataset, Split, load_data, split_dataset
from ._plot import plot_results
from ._results import compute_finding, conversion_label, summarise, summarise_conversion
from ._run import OUTPUT_FILES, StudyResult, run_study

_LAZY = {
    "build_model": "._models",
    "KernelsConfig": "._kernels",
    "run_kernels": "._kernels",
}


def __getattr__(name: str) -> object:
    # These import PyTorch; keep ``import sepconv.study`` light until one is needed.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'sepconv.study' has no attribute {name!r}")


__all__ = [
    "BUILTIN_DATA",
    "FAMILIES",
    "KernelsConfig",
    "OUTPUT_FILES",
    "Dataset",
    "Split",
    "StudyConfig",
    "StudyResult",
    "build_model",
    "compute_finding",
    "conversion_label",
    "load_data",
    "parse_ints",
    "plot_results",
    "run_kernels",
    "run_study",
    "split_dataset",
    "summarise",
    "summarise_conversion",
]
