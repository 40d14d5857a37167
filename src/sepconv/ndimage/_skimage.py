"""scikit-image's Hessian and structure tensor functions, on sepconv.features' banks.

What :func:`sepconv.ndimage.patch` puts in place of ``skimage.feature``'s
``hessian_matrix``, ``hessian_matrix_eigvals``, ``structure_tensor`` and
``structure_tensor_eigenvalues``: the same arguments, defaults, input
conversion (``img_as_float``, scikit-image's float dtype) and list results,
computed by :mod:`sepconv.features`; calls the banks do not cover go to
scikit-image's original.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["replacement"]


def replacement(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """The stand-in for scikit-image's ``name`` (``original`` runs what it does not cover)."""
    body = {
        "hessian_matrix": _hessian_matrix,
        "hessian_matrix_eigvals": _eigenvalues,
        "structure_tensor": _structure_tensor,
        "structure_tensor_eigenvalues": _eigenvalues,
    }[name]

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = body(original, *args, **kwargs)
        return original(*args, **kwargs) if result is NotImplemented else result

    call.__sepconv_original__ = original  # type: ignore[attr-defined]
    return call


def _float_image(image: Any) -> np.ndarray | None:
    from skimage._shared.utils import _supported_float_type
    from skimage.util import img_as_float

    if not isinstance(image, np.ndarray) or type(image) is not np.ndarray:
        return None
    image = img_as_float(image)
    return image.astype(_supported_float_type(image.dtype), copy=False)


def _hessian_matrix(
    original: Callable[..., Any],
    image: Any,
    sigma: Any = 1,
    mode: str = "constant",
    cval: float = 0,
    order: str = "rc",
    use_gaussian_derivatives: Any = None,
) -> Any:
    from .. import features

    if use_gaussian_derivatives is not True or order != "rc":
        return NotImplemented
    array = _float_image(image)
    if array is None or not 1 <= array.ndim <= 3 or array.size == 0:
        return NotImplemented
    return list(features.hessian(array, sigma, mode=mode, cval=cval, output=array.dtype))


def _structure_tensor(
    original: Callable[..., Any],
    image: Any,
    sigma: Any = 1,
    mode: str = "constant",
    cval: float = 0,
    order: str = "rc",
) -> Any:
    from skimage.feature.util import _prepare_grayscale_input_nD

    from .. import features

    if order not in ("rc", "xy") or not isinstance(image, np.ndarray):
        return NotImplemented
    array = _prepare_grayscale_input_nD(image)
    if array.ndim > 3 or (order == "xy" and array.ndim > 2) or array.size == 0:
        return NotImplemented
    if not np.isscalar(sigma) and len(tuple(sigma)) != array.ndim:
        return NotImplemented  # scikit-image's own error
    result = list(features.structure_tensor(array, sigma, mode=mode, cval=cval, output=array.dtype))
    # 'xy' takes the derivatives last axis first: the same products, in reverse
    return result[::-1] if order == "xy" else result


def _eigenvalues(original: Callable[..., Any], elements: Any) -> Any:
    from .. import _engine

    elements = list(elements)
    if len(elements) not in (3, 6) or not all(isinstance(e, np.ndarray) for e in elements):
        return NotImplemented
    first = elements[0]
    if first.dtype not in (np.float32, np.float64) or any(
        e.shape != first.shape or e.dtype != first.dtype for e in elements
    ):
        return NotImplemented
    d = 2 if len(elements) == 3 else 3
    if first.ndim != d:
        return NotImplemented
    base = first.base
    stacked = (
        base
        if isinstance(base, np.ndarray)
        and base.shape == (len(elements), *first.shape)
        and base.flags.c_contiguous
        and all(e.base is base and _address(e) == _address(base[i]) for i, e in enumerate(elements))
        else np.stack(elements)
    )
    out = np.empty((d, *first.shape), first.dtype)
    op = _engine.POINT_EIGEN2 if d == 2 else _engine.POINT_EIGEN3
    _engine.pointwise(
        stacked.reshape(len(elements), 1, 1, -1),
        out.reshape(d, 1, 1, -1),
        [_engine.pointwise_step(op, list(range(len(elements))), list(range(d)))],
    )
    return out


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]
