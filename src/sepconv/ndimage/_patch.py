"""Put sepconv.ndimage's functions in place of scipy.ndimage's, for code you do not own.

What :func:`patch` replaces, exactly:

* the attributes ``scipy.ndimage.<name>`` for every name in :data:`PATCHED`
  (code that calls ``ndi.gaussian_filter(...)`` after ``from scipy import
  ndimage as ndi``, as scikit-image's filters do, then runs on sepconv);
* every attribute of an already imported ``skimage`` module that *is* one of
  those scipy functions (``from scipy.ndimage import convolve`` in
  ``skimage.filters.edges``, used by ``sobel``, ``prewitt``, ``scharr``,
  ``laplace``...).  Modules imported after :func:`patch` keep scipy's
  functions; import them first.
* with ``features=True`` (default), scikit-image's :data:`SKIMAGE_FEATURES`
  (``hessian_matrix``, ``hessian_matrix_eigvals``, ``structure_tensor``,
  ``structure_tensor_eigenvalues``), wherever an imported ``skimage`` module
  holds them (``skimage.feature``, ``skimage.filters.ridges`` -- so
  ``frangi``, ``sato``, ``meijering`` and ``hessian`` --, ``censure``,
  ``multiscale_basic_features``' eigenvalues): they then run on
  :mod:`sepconv.features`' banks, equal to scikit-image's results to float
  rounding (not bit for bit: the banks add in another order).  Calls they
  do not cover (``use_gaussian_derivatives=False``, ``order='xy'`` for a
  Hessian, more than three axes) run scikit-image's own code.

Each scipy replacement calls sepconv's function when it can take the call (a
NumPy array or array-like input, and an ``output`` that is ``None``, a dtype
or a NumPy array) and scipy's own original otherwise (CuPy or other array
types); results are scipy's bits either way.  :func:`unpatch` puts every
original object back (``is``-identical).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["PATCHED", "SKIMAGE_FEATURES", "is_patched", "patch", "patched", "unpatch"]

#: The scipy.ndimage names that :func:`patch` replaces.
PATCHED: tuple[str, ...] = (
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
    "laplace",
    "maximum_filter",
    "maximum_filter1d",
    "minimum_filter",
    "minimum_filter1d",
    "morphological_gradient",
    "morphological_laplace",
    "prewitt",
    "sobel",
    "uniform_filter",
    "uniform_filter1d",
    "white_tophat",
)

#: The scikit-image functions ``patch(features=True)`` replaces (``skimage.feature``'s).
SKIMAGE_FEATURES: tuple[str, ...] = (
    "hessian_matrix",
    "hessian_matrix_eigvals",
    "structure_tensor",
    "structure_tensor_eigenvalues",
)

# (module, attribute, original object) for everything replaced, in order.
_replaced: list[tuple[ModuleType, str, Any]] = []
_lock = threading.Lock()


def _foreign(value: Any) -> bool:
    # An array of another library (CuPy, Dask, torch, a NumPy subclass...).
    if isinstance(value, np.ndarray):
        return type(value) is not np.ndarray
    return hasattr(value, "__array__") or hasattr(value, "__array_function__")


def _takes(args: tuple, kwargs: dict[str, Any]) -> bool:
    """Whether sepconv can take this call (else scipy's original runs)."""
    return not any(_foreign(v) for v in args) and not any(_foreign(v) for v in kwargs.values())


def _wrapper(ours: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        if _takes(args, kwargs):
            return ours(*args, **kwargs)
        return original(*args, **kwargs)

    call.__sepconv_original__ = original  # type: ignore[attr-defined]
    call.__wrapped__ = ours  # type: ignore[attr-defined]
    return call


def is_patched() -> bool:
    """True between :func:`patch` and :func:`unpatch`."""
    return bool(_replaced)


def patch(*, features: bool = True) -> None:
    """Replace scipy.ndimage's filters in :data:`PATCHED` (and scikit-image's imports of them).

    Idempotent: a second call does nothing.  See the module notes for the
    exact list of what is replaced.

    Parameters
    ----------
    features : bool, optional
        Also run scikit-image's Hessian and structure tensor functions (and so
        ``frangi``, ``sato``, ``meijering``) on :mod:`sepconv.features`
        (default True; equal to float rounding, not bit for bit).

    Examples
    --------
    >>> import scipy.ndimage
    >>> from sepconv import ndimage as ndi
    >>> original = scipy.ndimage.sobel
    >>> ndi.patch()
    >>> scipy.ndimage.sobel is original
    False
    >>> ndi.unpatch()
    >>> scipy.ndimage.sobel is original
    True
    """
    import scipy.ndimage

    # The package's public names as they are now (a caller may have replaced one);
    # the package is loaded, this module being part of it.
    ours = sys.modules[__name__.rpartition(".")[0]]

    with _lock:
        if _replaced:
            return
        wrappers: dict[int, Callable[..., Any]] = {}
        for name in PATCHED:
            original = getattr(scipy.ndimage, name)
            wrapper = _wrapper(getattr(ours, name), original)
            wrappers[id(original)] = wrapper
            _replaced.append((scipy.ndimage, name, original))
            setattr(scipy.ndimage, name, wrapper)
        if features and "skimage.feature" in sys.modules:
            from . import _skimage

            corner = sys.modules["skimage.feature.corner"]
            for name in SKIMAGE_FEATURES:
                original = getattr(corner, name)
                wrappers[id(original)] = _skimage.replacement(name, original)
                _replaced.append((corner, name, original))
                setattr(corner, name, wrappers[id(original)])
        originals = {id(obj): obj for _, _, obj in _replaced}
        for modname, module in list(sys.modules.items()):
            if not (modname == "skimage" or modname.startswith("skimage.")) or module is None:
                continue
            for attr, value in list(vars(module).items()):
                if id(value) in originals and value is originals[id(value)]:
                    _replaced.append((module, attr, value))
                    setattr(module, attr, wrappers[id(value)])


def unpatch() -> None:
    """Put back every object :func:`patch` replaced (no-op when not patched)."""
    with _lock:
        while _replaced:
            module, attr, original = _replaced.pop()
            setattr(module, attr, original)


@contextmanager
def patched() -> Iterator[None]:
    """``with patched():`` runs its body with :func:`patch` in effect.

    Nested uses are fine: only the outermost one unpatches.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage
    >>> from sepconv import ndimage as ndi
    >>> with ndi.patched():
    ...     y = scipy.ndimage.gaussian_filter(np.eye(4), 1.0)
    >>> ndi.is_patched()
    False
    """
    owner = not is_patched()
    patch()
    try:
        yield
    finally:
        if owner:
            unpatch()
