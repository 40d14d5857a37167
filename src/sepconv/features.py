"""Scale-space features: Gaussian derivative banks that share their passes, in 2-D and 3-D.

The Hessian and structure tensor behind ridge, vessel and blob detectors
(scikit-image's ``frangi``, ``sato``, ``meijering``), their eigenvalues, the
gradient magnitude, Laplacian and difference of Gaussians, and ilastik's
stack of pixel features at several scales -- each computed as one *bank* on
sepconv's engine (:mod:`sepconv._features_run`):

* derivative outputs that share a pass share it (a 2-D Hessian's three
  second derivatives need three horizontal passes, not six; a 3-D one three
  passes along its first axis, not six);
* outputs are written once, in slabs of rows, and the working memory beyond
  the input and the outputs is the slabs': sized to 8 % of the input and
  output bytes, but never fewer than ``max(16, 2 k)`` rows (``k`` the second
  stage's kernel length) plus that stage's halo.  Measured
  (``benchmarks/bench_features.py``, float32): 7-22 % at 1024^2 (sigma 1-4),
  25-190 % for a 128 x 256 x 256 volume, whose "rows" are whole planes.  No
  full-size temporary is made, not even for a structure tensor's products or
  a Hessian's entries when only its eigenvalues are asked for;
* every function computes what scipy and scikit-image compose, to float
  rounding, with their sigma, mode and cval conventions (each function says
  which); a structure tensor's second smoothing and scikit-image's second
  Hessian filtering see their input extended by the mode, as there.

Results are stacked along a new first axis (``result[k]`` is the ``k``-th
entry, eigenvalue or channel); arrays are float32 for float32 input and
float64 otherwise, or the ``output`` dtype (float32 or float64).  ``axes``
picks the filtered axes (one to three; the others are batches).

``method='recursive'`` runs every Gaussian pass as a recursive filter
(:func:`sepconv.ndimage.gaussian_filter`'s ``method='recursive'``): its
cost does not grow with sigma, and it differs from the sampled kernels by at
most ``sepconv._engine.RECURSIVE_MAX_ERROR`` of each kernel's peak (orders 0,
1, 2: 5e-6, 6e-5, 1e-4, sigma >= 1).  It keeps one full-size array per field.

Dask arrays are filtered block by block with an overlap of the bank's reach
(``12 sigma`` per stage for ``method='recursive'``).

Examples
--------
>>> import numpy as np
>>> from sepconv import features
>>> image = np.zeros((32, 32), np.float32)
>>> image[:, 16] = 1  # a vertical line: a ridge along rows
>>> ev = features.hessian_eigenvalues(image, 2.0)
>>> ev.shape, ev.dtype
((2, 32, 32), dtype('float32'))
>>> bool(ev[1, 16, 16] < 0 < ev[0, 16, 10])  # across the line: negative curvature on it
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _args, _features_plan, _features_run, _features_spec
from ._backends import backend
from ._docs import fill_doc
from ._features_plan import FeaturePlan

__all__ = [
    "FEATURES",
    "FeaturePlan",
    "difference_of_gaussians",
    "feature_names",
    "feature_plan",
    "feature_stack",
    "gradient_magnitude",
    "hessian",
    "hessian_eigenvalues",
    "laplacian_of_gaussian",
    "structure_tensor",
    "structure_tensor_eigenvalues",
]

FEATURES = dict(_features_spec.FEATURES)
_METHODS = ("fir", "recursive")
_SCHEMES = ("skimage", "direct")

# --------------------------------------------------------------------------- arguments


class _Call:
    """The normalised arguments of a feature call."""

    def __init__(
        self,
        image: Any,
        sigma: Any,
        axes: Any,
        mode: Any,
        cval: Any,
        method: Any,
        workers: Any,
        name: str = "sigma",
    ) -> None:
        array = _args.as_input(image)
        if array.dtype.kind == "c":
            raise TypeError(
                f"image must be real, got dtype {array.dtype}; compute the features of "
                "image.real and image.imag separately"
            )
        self.image = array
        axes = _args.to_axes(axes, array.ndim)
        if not 1 <= len(axes) <= 3:
            raise ValueError(
                f"features filter one to three axes, got {len(axes)} (axes={axes!r} of a "
                f"{array.ndim}-D image); pass axes=(...) naming the 2 or 3 spatial axes"
            )
        self.axes = tuple(sorted(axes))
        # per-axis entries follow ``axes`` as given, then are put in sorted order
        order = sorted(range(len(axes)), key=lambda i: axes[i])
        sigmas = self.sigmas_of(sigma, name, len(axes))
        modes = _args.to_modes(mode, len(axes))
        self.sigmas = [sigmas[i] for i in order]
        self.modes = [modes[i] for i in order]
        self.order = order
        self.cval = _args.real_cval(cval)
        self.method = _check_method(method)
        self.workers = _args.check_workers(workers)

    def sigmas_of(self, sigma: Any, name: str, count: int) -> list[float]:
        values = _args.to_sequence(sigma, count, name)
        try:
            values = [float(s) for s in values]
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must be a number or one number per axis, got {sigma!r}"
            ) from None
        if any(not math.isfinite(s) or s < 0 for s in values):
            raise ValueError(f"{name} must be finite and >= 0, got {sigma!r}")
        return values

    def sorted_sigmas(self, sigma: Any, name: str) -> list[float]:
        values = self.sigmas_of(sigma, name, len(self.axes))
        return [values[i] for i in self.order]

    def output(self, output: Any, count: int | None) -> tuple[np.ndarray, np.ndarray]:
        """``(result, target)``: what is returned, and the ``(K, *shape)`` array written."""
        shape = self.image.shape if count is None else (count, *self.image.shape)
        if output is None or isinstance(output, (type, np.dtype, str)):
            dtype = (
                np.dtype(np.float32 if self.image.dtype == np.float32 else np.float64)
                if output is None
                else _float_dtype(output)
            )
            result = _args.new_array(shape, dtype)
        else:
            if not isinstance(output, np.ndarray):
                raise TypeError(f"output must be None, a float dtype or an ndarray, got {output!r}")
            if output.shape != shape:
                raise ValueError(
                    f"output must have shape {shape} (the features stacked along a new first "
                    f"axis), got {output.shape}"
                )
            _float_dtype(output.dtype)
            if not output.flags.writeable:
                raise ValueError("output is read-only; pass a writable array or a dtype")
            result = output
        target = result
        if not (result.flags.c_contiguous and result.dtype.isnative) or np.may_share_memory(
            result, self.image
        ):
            target = np.empty(shape, result.dtype.newbyteorder("="))
        return result, (target if count is not None else target[None])

    def run(
        self,
        bank: _features_run.Bank,
        result: np.ndarray,
        target: np.ndarray,
        image: np.ndarray | None = None,
    ) -> np.ndarray:
        """Run ``bank`` of the image (or of ``image``: a cascade's smoothed channel)."""
        if image is not None:
            _features_run.run_bank(
                bank, image, target, self.axes, self.modes, self.cval, workers=self.workers
            )
        elif self.method == "recursive":
            _features_run.run_recursive_bank(
                bank, self.image, target, self.axes, self.modes, self.cval, workers=self.workers
            )
        else:
            _features_run.run_bank(
                bank, self.image, target, self.axes, self.modes, self.cval, workers=self.workers
            )
        if target.base is not result and target is not result:
            np.copyto(result, target.reshape(result.shape))
        return result


def _float_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"output must be float32 or float64, got {dtype!r}") from None
    if dt.newbyteorder("=") not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"output must be float32 or float64, got {dt}")
    return dt


def _check_truncate(truncate: Any) -> float:
    try:
        value = float(truncate)
    except (TypeError, ValueError):
        raise TypeError(f"truncate must be a number, got {truncate!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"truncate must be finite and > 0, got {truncate!r}")
    return value


def _check_method(method: Any) -> str:
    if method not in _METHODS:
        raise ValueError(f"method must be 'fir' or 'recursive', got {method!r}")
    return method


def _check_scheme(scheme: Any) -> str:
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'skimage' or 'direct', got {scheme!r}")
    return scheme


# --------------------------------------------------------------------------- reach (Dask)


def _depths(a: dict[str, Any], ndim: int, radii: Sequence[Sequence[float]]) -> dict[int, int]:
    axes = sorted(_args.to_axes(a.get("axes"), ndim))
    return {ax: int(math.ceil(sum(r[i] for r in radii))) for i, ax in enumerate(axes)}


def _bank_reach(build: Any) -> Any:
    """The Dask overlap of a feature function: its bank's reach (12 sigma per recursive stage)."""

    def reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
        call = _Call(
            np.zeros((1,) * ndim, np.float32),
            a.get("sigma", 1.0),
            a.get("axes"),
            a.get("mode", "reflect"),
            a.get("cval", 0.0),
            a.get("method", "fir"),
            None,
        )
        bank = build(call, a)
        if a.get("method", "fir") == "recursive":
            stages = [bank.stage1] + ([bank.stage2] if bank.stage2 is not None else [])
            radii = [
                [
                    max(
                        (
                            8 * (p.sigma or 0) + p.weights.size // 2
                            for f in st
                            for p in f.passes
                            if p.axis == i
                        ),
                        default=0,
                    )
                    for i in range(len(call.axes))
                ]
                for st in stages
            ]
        else:
            radii = [_features_run.bank_reach(bank, len(call.axes))]
        return _depths(a, ndim, radii)

    return reach


def _hessian_bank(call: _Call, a: dict[str, Any], eigen: bool = False) -> _features_run.Bank:
    truncate = a.get("truncate")
    return _features_spec.hessian_bank(
        call.sigmas,
        scheme=_check_scheme(a.get("scheme", "skimage")),
        truncate=None if truncate is None else _check_truncate(truncate),
        eigen=eigen,
    )


def _structure_bank(call: _Call, a: dict[str, Any], eigen: bool = False) -> _features_run.Bank:
    rho = a.get("rho")
    return _features_spec.structure_bank(
        call.sigmas,
        None if rho is None else call.sorted_sigmas(rho, "rho"),
        truncate=_check_truncate(a.get("truncate", 4.0)),
        eigen=eigen,
    )


def _gradient_bank(call: _Call, a: dict[str, Any]) -> _features_run.Bank:
    return _features_spec.gradient_bank(
        call.sigmas, truncate=_check_truncate(a.get("truncate", 4.0))
    )


def _laplace_bank(call: _Call, a: dict[str, Any]) -> _features_run.Bank:
    return _features_spec.laplace_bank(
        call.sigmas, truncate=_check_truncate(a.get("truncate", 4.0))
    )


def _difference_bank(call: _Call, a: dict[str, Any]) -> _features_run.Bank:
    high = a.get("high_sigma")
    highs = (
        [1.6 * s for s in call.sigmas] if high is None else call.sorted_sigmas(high, "high_sigma")
    )
    return _features_spec.difference_bank(
        call.sigmas, highs, truncate=_check_truncate(a.get("truncate", 4.0))
    )


def _stack_bank(call: _Call, a: dict[str, Any]) -> _features_run.Bank:
    """The reach of a feature stack: its largest scale's bank."""
    sigmas = _scales(a.get("sigmas", a.get("sigma", 1.0)))
    features = _feature_list(a.get("features"))
    largest = max(sigmas)
    return _features_spec.feature_bank(
        [largest] * len(call.axes), features, truncate=_check_truncate(a.get("truncate", 4.0))
    )


def _stack_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    """The largest scale's reach; a cascaded scale reaches through its chain of smoothings."""
    depths = _bank_reach(_stack_bank)({**a, "sigma": max(_scales(a["sigmas"]))}, ndim)
    if a.get("rtol") is None:
        return depths
    axes = sorted(_args.to_axes(a.get("axes"), ndim))
    plan = _plan_stack(len(axes), a)
    return {ax: max(depths[ax], plan.reach[i]) for i, ax in enumerate(axes)}


def _plan_stack(ndim: int, a: dict[str, Any]) -> FeaturePlan:
    """The plan of a feature stack's scales from its (unchecked) arguments."""
    return _features_plan.plan_stack(
        ndim,
        _scales(a["sigmas"]),
        _feature_list(a.get("features")),
        _args.to_modes(a.get("mode", "mirror"), ndim),
        _check_truncate(a.get("truncate", 4.0)),
        _check_method(a.get("method", "fir")),
        _args.check_tolerance(a.get("rtol"), "rtol"),
    )


# --------------------------------------------------------------------------- Hessian


@backend(_bank_reach(_hessian_bank))
@fill_doc
def hessian(
    image: Any,
    sigma: Any = 1.0,
    *,
    mode: Any = "constant",
    cval: float = 0.0,
    scheme: str = "skimage",
    truncate: float | None = None,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """The Hessian of Gaussian: its ``d (d + 1) / 2`` upper entries stacked, scikit-image's order.

    ``Hrr, Hrc, Hcc`` in 2-D; ``H00, H01, H02, H11, H12, H22`` in 3-D.

    Parameters
    ----------
    image : array_like
        Real image, any dtype scipy.ndimage filters.
    sigma : float or sequence of float
        Scale per filtered axis.
    scheme : {'skimage', 'direct'}, optional
        ``'skimage'`` (default): scikit-image's ``hessian_matrix(image, sigma,
        use_gaussian_derivatives=True)``, equal to float rounding: first
        derivatives at ``sigma / sqrt(2)``, filtered again by first derivatives
        at ``sigma / sqrt(2)`` (``truncate`` 8, or 100 when a sigma is <= 1).
        ``'direct'``: ``gaussian_filter(image, sigma, order=e_i + e_j)``
        (vigra's and ilastik's Hessian of Gaussian; ``truncate`` 4).
    truncate : float, optional
        Kernel radius in sigmas (default: the scheme's).
    %(features_common)s

    Returns
    -------
    ndarray, shape ``(d (d + 1) / 2, *image.shape)``

    Notes
    -----
    Memory: the output, and slabs of the gradients (``'skimage'``: two
    stages) sized to 8 %% of the input and output bytes (see the module
    notes).  Defaults are scikit-image's (``mode='constant'``, ``sigma=1``).

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.feature import hessian_matrix
    >>> from sepconv.features import hessian
    >>> x = np.random.default_rng(0).random((40, 50))
    >>> ours = hessian(x, 2.0)
    >>> theirs = hessian_matrix(x, 2.0, use_gaussian_derivatives=True)
    >>> bool(np.allclose(ours, theirs, rtol=0, atol=1e-12))
    True
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _hessian_bank(call, {"scheme": scheme, "truncate": truncate})
    result, target = call.output(output, bank.outputs)
    return call.run(bank, result, target)


@backend(_bank_reach(lambda c, a: _hessian_bank(c, a, True)))
@fill_doc
def hessian_eigenvalues(
    image: Any,
    sigma: Any = 1.0,
    *,
    mode: Any = "constant",
    cval: float = 0.0,
    scheme: str = "skimage",
    truncate: float | None = None,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """Eigenvalues of :func:`hessian`, largest first, stacked (scikit-image's order).

    Equal, to float rounding, to ``hessian_matrix_eigvals(hessian_matrix(image,
    sigma, use_gaussian_derivatives=True))``.

    Parameters
    ----------
    image, sigma, scheme, truncate
        As for :func:`hessian`.
    %(features_common)s

    Returns
    -------
    ndarray, shape ``(d, *image.shape)``

    Notes
    -----
    Memory: the output and slabs; the Hessian's entries exist only for a slab
    of rows at a time.  3-D eigenvalues use the trigonometric solution of the
    characteristic cubic in double precision (within about ``1e-7 |H|`` of
    LAPACK's).

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv.features import hessian_eigenvalues
    >>> hessian_eigenvalues(np.eye(16), 1.5).shape
    (2, 16, 16)
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _hessian_bank(call, {"scheme": scheme, "truncate": truncate}, eigen=True)
    result, target = call.output(output, bank.outputs)
    return call.run(bank, result, target)


# --------------------------------------------------------------------------- structure tensor


@backend(_bank_reach(_structure_bank))
@fill_doc
def structure_tensor(
    image: Any,
    sigma: Any = 1.0,
    *,
    rho: Any = None,
    mode: Any = "constant",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """The structure tensor: its upper entries stacked, scikit-image's order (``Arr, Arc, Acc``).

    Parameters
    ----------
    image : array_like
        Real image.
    sigma : float or sequence of float
        ``rho=None``: scikit-image's ``structure_tensor(image, sigma)``, equal to
        float rounding: Sobel derivatives (``scipy.ndimage.sobel``), their
        products smoothed by a Gaussian of ``sigma``.  ``rho`` given: the inner
        scale, Gaussian derivatives at ``sigma`` (vigra's and ilastik's).
    rho : float or sequence of float, optional
        The outer scale: the products are smoothed at ``rho``.
    truncate : float, optional
        Gaussian radius in sigmas (4).
    %(features_common)s

    Returns
    -------
    ndarray, shape ``(d (d + 1) / 2, *image.shape)``

    Notes
    -----
    Memory: the output, and slabs of the derivatives and their products
    (sized to 8 %% of the input and output bytes): the products are never
    full-size arrays.  The products of the derivatives are extended by the
    mode before smoothing, as scikit-image extends them.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.feature import structure_tensor as skimage_tensor
    >>> from sepconv.features import structure_tensor
    >>> x = np.random.default_rng(0).random((40, 50))
    >>> bool(np.allclose(structure_tensor(x, 1.5), skimage_tensor(x, 1.5), atol=1e-12))
    True
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _structure_bank(call, {"rho": rho, "truncate": truncate})
    result, target = call.output(output, bank.outputs)
    return call.run(bank, result, target)


@backend(_bank_reach(lambda c, a: _structure_bank(c, a, True)))
@fill_doc
def structure_tensor_eigenvalues(
    image: Any,
    sigma: Any = 1.0,
    *,
    rho: Any = None,
    mode: Any = "constant",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """Eigenvalues of :func:`structure_tensor`, largest first, stacked.

    Equal, to float rounding, to scikit-image's
    ``structure_tensor_eigenvalues(structure_tensor(image, sigma))`` for
    ``rho=None``, and to vigra's ``structureTensorEigenvalues(image, sigma,
    rho)`` in its definition otherwise.

    Parameters
    ----------
    image, sigma, rho, truncate
        As for :func:`structure_tensor`.
    %(features_common)s

    Returns
    -------
    ndarray, shape ``(d, *image.shape)``

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv.features import structure_tensor_eigenvalues
    >>> ev = structure_tensor_eigenvalues(np.eye(16), 1.0, rho=2.0)
    >>> bool((ev[0] >= ev[1]).all())
    True
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _structure_bank(call, {"rho": rho, "truncate": truncate}, eigen=True)
    result, target = call.output(output, bank.outputs)
    return call.run(bank, result, target)


# --------------------------------------------------------------------------- single outputs


@backend(_bank_reach(_gradient_bank))
@fill_doc
def gradient_magnitude(
    image: Any,
    sigma: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """Gradient magnitude of Gaussian: scipy's ``gaussian_gradient_magnitude``, one sweep.

    Parameters
    ----------
    image : array_like
        Real image.
    sigma : float or sequence of float
        Scale per filtered axis.
    truncate : float, optional
        Kernel radius in sigmas (4).
    %(features_common)s

    Returns
    -------
    ndarray, the image's shape

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv.features import gradient_magnitude
    >>> x = np.random.default_rng(1).random((30, 40))
    >>> bool(np.allclose(gradient_magnitude(x, 2), ndimage.gaussian_gradient_magnitude(x, 2)))
    True
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _gradient_bank(call, {"truncate": truncate})
    result, target = call.output(output, None)
    return call.run(bank, result, target)


@backend(_bank_reach(_laplace_bank))
@fill_doc
def laplacian_of_gaussian(
    image: Any,
    sigma: Any,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """Laplacian of Gaussian: scipy's ``gaussian_laplace``, its second derivatives in one bank.

    Parameters
    ----------
    image : array_like
        Real image.
    sigma : float or sequence of float
        Scale per filtered axis.
    truncate : float, optional
        Kernel radius in sigmas (4).
    %(features_common)s

    Returns
    -------
    ndarray, the image's shape

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from sepconv.features import laplacian_of_gaussian
    >>> x = np.random.default_rng(2).random((30, 40))
    >>> bool(np.allclose(laplacian_of_gaussian(x, 1.5), ndimage.gaussian_laplace(x, 1.5)))
    True
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _laplace_bank(call, {"truncate": truncate})
    result, target = call.output(output, None)
    return call.run(bank, result, target)


@backend(_bank_reach(_difference_bank))
@fill_doc
def difference_of_gaussians(
    image: Any,
    sigma: Any,
    high_sigma: Any = None,
    *,
    mode: Any = "reflect",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
) -> np.ndarray:
    """``G(sigma) - G(high_sigma)``: scikit-image's ``difference_of_gaussians`` (one sweep).

    Parameters
    ----------
    image : array_like
        Real image.
    sigma : float or sequence of float
        The first Gaussian's scale (scikit-image's ``low_sigma``).
    high_sigma : float or sequence of float, optional
        The second's (default ``1.6 * sigma``).  ilastik's feature is
        ``difference_of_gaussians(image, s, 0.66 * s)``.
    truncate : float, optional
        Kernel radius in sigmas (4).
    %(features_common)s

    Returns
    -------
    ndarray, the image's shape

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv.features import difference_of_gaussians
    >>> float(difference_of_gaussians(np.ones((9, 9)), 1.0).max())
    0.0
    """
    call = _Call(image, sigma, axes, mode, cval, method, workers)
    bank = _difference_bank(call, {"high_sigma": high_sigma, "truncate": truncate})
    result, target = call.output(output, None)
    return call.run(bank, result, target)


# --------------------------------------------------------------------------- feature stack


def _scales(sigmas: Any) -> list[float]:
    values = [sigmas] if np.isscalar(sigmas) else list(sigmas)
    try:
        values = [float(s) for s in values]
    except (TypeError, ValueError):
        raise TypeError(f"sigmas must be a sequence of numbers, got {sigmas!r}") from None
    if not values or any(not math.isfinite(s) or s <= 0 for s in values):
        raise ValueError(f"sigmas must be one or more finite numbers > 0, got {sigmas!r}")
    return values


def _feature_list(features: Any) -> list[str]:
    if features is None:
        return list(FEATURES)
    names = [features] if isinstance(features, str) else list(features)
    unknown = [f for f in names if f not in FEATURES]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"features must be distinct names among {', '.join(FEATURES)}; got {features!r}"
        )
    return names


def feature_names(sigmas: Any, features: Any = None, ndim: int = 2) -> list[tuple[str, float, int]]:
    """The channels of :func:`feature_stack`, in order: ``(feature, sigma, channel)``.

    Scales are the outer loop, features (in the order given) the inner;
    eigenvalues take ``ndim`` channels, largest first.

    Examples
    --------
    >>> from sepconv.features import feature_names
    >>> feature_names([1, 2], ["smoothing", "hessian_eigenvalues"])[:3]
    [('smoothing', 1.0, 0), ('hessian_eigenvalues', 1.0, 0), ('hessian_eigenvalues', 1.0, 1)]
    """
    names = []
    for s in _scales(sigmas):
        for f in _feature_list(features):
            names += [(f, s, c) for c in range(_features_spec.channels(f, ndim))]
    return names


def _channel_of(feature: str, names: Sequence[str], d: int) -> int:
    """The first channel of ``feature`` within one scale (0 when absent: then unused)."""
    if feature not in names:
        return 0
    return sum(_features_spec.channels(f, d) for f in names[: list(names).index(feature)])


def feature_plan(
    ndim: Any,
    sigmas: Any,
    features: Any = None,
    *,
    mode: Any = "mirror",
    truncate: float = 4.0,
    method: str = "fir",
    rtol: float | None = None,
) -> FeaturePlan:
    """How :func:`feature_stack` computes each scale: from the image, or cascaded.

    Parameters
    ----------
    ndim : int or tuple of int
        The number of filtered axes (or the filtered shape: its length).
    sigmas, features, mode, truncate, method, rtol
        As for :func:`feature_stack` (``mode``: one per filtered axis, or one).

    Returns
    -------
    FeaturePlan
        ``.scales[k]`` says how ``sigmas[k]`` is computed (``.base``,
        ``.delta``, ``.bound``, ``.reason``), ``.cascaded`` lists the cascaded
        scales, ``.bound`` the largest bound used, and ``.explain()`` prints
        it all; :func:`feature_stack` runs this plan.

    Examples
    --------
    >>> from sepconv.features import feature_plan
    >>> plan = feature_plan(2, [2.0, 2.83, 4.0], ["smoothing", "hessian_eigenvalues"], rtol=1e-3)
    >>> plan.cascaded
    [2.83, 4.0]
    >>> print(plan.explain())  # doctest: +ELLIPSIS
    feature stack: 3 scale(s), 2 cascaded (2-D, mode mirror, truncate 4, rtol 0.001)
      sigma 2: direct
        why: the smallest scale: nothing to start from
      sigma 2.83: from sigma 2 with delta 2.002, bound ..., taps .../...
    ...
    """
    d = len(ndim) if isinstance(ndim, (tuple, list)) else _args.check_positive_int(ndim, "ndim")
    if not 1 <= d <= 3:
        raise ValueError(f"ndim must be 1, 2 or 3 filtered axes, got {ndim!r}")
    arguments = {"sigmas": sigmas, "features": features, "mode": mode, "truncate": truncate}
    return _plan_stack(d, {**arguments, "method": method, "rtol": rtol})


@backend(_stack_reach)
def feature_stack(
    image: Any,
    sigmas: Any,
    features: Any = None,
    *,
    mode: Any = "mirror",
    cval: float = 0.0,
    truncate: float = 4.0,
    axes: Any = None,
    output: Any = None,
    method: str = "fir",
    workers: int | None = None,
    rtol: float | None = None,
) -> np.ndarray:
    """ilastik's pixel features at every scale, stacked along a new first axis.

    Parameters
    ----------
    image : array_like
        Real image.
    sigmas : float or sequence of float
        The scales.
    features : sequence of str, optional
        Names from :data:`FEATURES` (default: all, in its order: smoothing,
        laplacian, gradient_magnitude, difference_of_gaussians,
        structure_tensor_eigenvalues, hessian_eigenvalues).  Each is ilastik's
        definition (:data:`FEATURES`) as scipy computes it: scipy's sampled
        Gaussians with ``truncate`` and ``mode``.
    mode : str, optional
        Default ``'mirror'``: vigra's, ilastik's and fastfilters2's border.
    cval, truncate, axes, output, method, workers
        As for :func:`hessian`; ``axes``' scale is the same on every axis.
    rtol : float, optional
        ``None`` (default): every scale filters the image (scipy's
        composition, bit for bit).  A number: a scale ``s2`` may instead
        filter the smoothing channel of the next smaller scale ``s1`` with
        Gaussians of ``sqrt(s2^2 - s1^2)`` (a scale cascade), where a computed
        bound on the change of every channel is at most ``rtol`` (relative to
        ``max |input|``; to ``max |input|^2`` for the structure tensor's
        eigenvalues) and it measured faster; :func:`feature_plan` with the
        same arguments says which scales cascade, from where, and the bound.

    Returns
    -------
    ndarray, shape ``(channels, *image.shape)``
        Channel ``k`` is ``feature_names(sigmas, features, len(axes))[k]``:
        scales outer, features inner, eigenvalues largest first.  With
        ``features=('smoothing', 'gradient_magnitude', 'laplacian',
        'hessian_eigenvalues', 'structure_tensor_eigenvalues')`` the channels
        of one scale are fastfilters2's ``compute_filters``' seven, in its
        order.

    Notes
    -----
    Each scale is one bank: the smoothing, first and second derivatives
    share their passes; the structure tensor's products are smoothed at half
    the scale in a second stage whose inputs are slabs.  fastfilters2 and
    vigra sample their kernels their own way (radius ``ceil((3 + order / 2)
    sigma)``, derivative kernels normalised by their moments, the second
    derivative's mean removed); sepconv samples scipy's, so the results
    agree with theirs to the kernels' difference (about 1e-3 of the range at
    sigma = 1), and exactly when the kernels are the same (see
    ``tests/test_features.py``).

    The scale cascade (``rtol``; :mod:`sepconv._features_plan` has the
    bound's derivation) needs ``'smoothing'`` among the features, a mode of
    ``'reflect'``, ``'mirror'`` or ``'wrap'`` on every axis (their extension
    commutes with smoothing; ``'nearest'`` and ``'constant'`` change the
    samples near the edges) and ``method='fir'``.  Every channel can start
    from the smaller scale: smoothing, the derivatives behind the Laplacian,
    gradient magnitude and Hessian, both Gaussians of the difference of
    Gaussians (when ``0.66 s2 > s1``) and the structure tensor's
    derivatives; the structure tensor's smoothing of their products stays at
    ``s2 / 2``.  It saves kernel taps only (the bank reads the smoothed
    channel instead of the input), so a scale cascades only where its
    first-stage taps are at most 0.75 of the direct bank's.  Measured
    (``benchmarks/bench_features.py --cascade``, float32, 2 shared cores):
    one scale's bank at 1024^2 ran 1.06-1.26x faster at a taps ratio of
    0.70-0.76 and 1.01-1.10x at 0.88, the ratio of doubling scales (noise of
    identical runs: up to 1.05x); so sigma = (1, 2, 4) and (1, 2, 4, 8, 16)
    stay direct (whole stacks forced to cascade: 0.79-1.07x), and of scales sqrt(2)
    apart, (1, 1.41, 2, 2.83, 4), 2.83 and 4 cascade: the whole stack of
    fastfilters2's seven features 1.07x faster at 1024^2, 1.13x at 2048^2
    and 1.01x for a 128 x 256 x 256 volume, within a noise of up to 1.07x
    (1.14x in 3-D): a gain at the noise level, changing it by 7e-5 of
    ``max |input|`` against a bound of 3.5e-4.  With the difference of
    Gaussians (its ``0.66 s2`` must exceed ``s1``: ``s2 > 1.52 s1``) the full
    set cascades only near ``s2 = 1.5-1.7 s1``, and where the bound allows.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv.features import feature_stack
    >>> stack = feature_stack(np.random.default_rng(0).random((24, 24)), [1.0, 2.0])
    >>> stack.shape
    (16, 24, 24)
    """
    scales = _scales(sigmas)
    names = _feature_list(features)
    call = _Call(image, scales[0], axes, mode, cval, method, workers)
    trunc = _check_truncate(truncate)
    rtol = _args.check_tolerance(rtol, "rtol")
    d = len(call.axes)
    plan = _features_plan.plan_stack(d, scales, names, call.modes, trunc, call.method, rtol)
    per = sum(_features_spec.channels(f, d) for f in names)
    result, target = call.output(output, per * len(scales))
    # a cascade starts from the smoothing channel of a scale computed before it
    smooth = _channel_of("smoothing", names, d)
    for i in plan.order:
        part = target[i * per : (i + 1) * per]
        j = plan.sources[i]
        call.run(plan.banks[i], part, part, None if j is None else target[j * per + smooth])
    if target is not result:
        np.copyto(result, target)
    return result
