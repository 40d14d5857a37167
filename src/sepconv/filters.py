"""sepconv's filters for NumPy arrays, Dask arrays and PyTorch tensors.

:func:`correlate`, :func:`convolve` and :func:`sepfilter` are the NumPy
functions of :mod:`sepconv._filters` (scipy.ndimage's arguments and checks,
the engine's fast policy, a plan per call) wrapped by the one backend wrapper
(:mod:`sepconv._backends`): a ``dask.array.Array`` becomes a lazy array whose
blocks hold the NumPy result's bits, a ``torch.Tensor`` goes to
:mod:`sepconv.torch` (differentiable).  They are also ``sepconv.correlate``,
``sepconv.convolve`` and ``sepconv.sepfilter``.
"""

from __future__ import annotations

from . import _backends, _filters
from ._plan import plan

__all__ = ["convolve", "correlate", "plan", "sepfilter"]

correlate = _backends.backend(
    _backends.correlate_reach, _backends.correlate_tensor, prepare=_backends.plan_once
)(_filters.correlate)
convolve = _backends.backend(
    _backends.convolve_reach, _backends.convolve_tensor, prepare=_backends.plan_once
)(_filters.convolve)
sepfilter = _backends.backend(_backends.sepfilter_reach)(_filters.sepfilter)
