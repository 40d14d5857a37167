"""Separable convolution layers for PyTorch, model conversion and cost profiling.

* Layers that take :class:`torch.nn.Conv2d`'s arguments in its order:
  :class:`DepthwiseConv2d` (and :class:`DepthwiseConv1d`, :class:`DepthwiseConv3d`),
  :class:`PointwiseConv2d`,
  :class:`DepthwiseSeparableConv2d` (MobileNet / Xception) and
  :class:`SpatialSeparableConv2d` (k x 1 then 1 x k, Jaderberg et al. 2014).
* :mod:`sepconv.nn.functional`: ``depthwise_conv1d/2d/3d`` with ``F.conv2d``'s
  arguments; on the CPU their backward costs about what their forward does
  (PyTorch's depthwise backward is many times its forward), and the
  depthwise layers above use them.
* :func:`convert` replaces the ``nn.Conv2d`` layers of a trained model by
  separable ones initialised with the least-squares best (truncated SVD)
  weights, and reports the error and the savings per layer.
* :func:`profile` counts weights, multiply–accumulates and activation memory
  per layer with stated rules, using :mod:`sepconv.cost` for every formula.

Needs PyTorch: ``pip install "sepconv[torch]"``.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sepconv.nn needs PyTorch, which is not installed; install it with: "
        'pip install "sepconv[torch]"'
    ) from exc

from . import functional
from ._convert import LayerSeparation, SeparationReport, convert
from ._latency import Budget
from ._layers import (
    DepthwiseConv1d,
    DepthwiseConv2d,
    DepthwiseConv3d,
    DepthwiseSeparableConv2d,
    PointwiseConv2d,
    SpatialSeparableConv2d,
)
from ._profile import LayerProfile, Profile, profile

__all__ = [
    "Budget",
    "DepthwiseConv1d",
    "DepthwiseConv2d",
    "DepthwiseConv3d",
    "DepthwiseSeparableConv2d",
    "LayerProfile",
    "LayerSeparation",
    "PointwiseConv2d",
    "Profile",
    "SeparationReport",
    "SpatialSeparableConv2d",
    "profile",
    "convert",
    "functional",
]
