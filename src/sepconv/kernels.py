"""The named kernel library: the convolution kernels people actually use.

Every function returns a new NumPy array.  Integer-valued kernels (``sobel``,
``scharr``, ``prewitt``, ``box``, ``binomial``, ``laplacian``, ``disk``) are
``int64`` so that :func:`sepconv.separate` can find and verify exact integer
factors; sampled kernels (``gaussian``, ``log``, ``gabor``) are ``float64``.

Orientation follows scipy.ndimage: ``scipy.ndimage.correlate(image, k)`` with
the kernel returned here gives the same result as the matching scipy filter
(``sobel``, ``prewitt``, ``gaussian_filter``, ``laplace``, ``gaussian_laplace``).

Each docstring says whether the kernel separates and why; the rank claims are
checked by ``tests/test_kernels.py`` with :func:`numpy.linalg.matrix_rank`.

=============  ===================================================================
kernel         separability (2-D)
=============  ===================================================================
sobel          rank 1: outer([1, 2, 1], [-1, 0, 1])
scharr         rank 1: outer([3, 10, 3], [-1, 0, 1])
prewitt        rank 1: outer([1, 1, 1], [-1, 0, 1])
gaussian       rank 1: exp of a sum is a product (any derivative order per axis)
box            rank 1: outer(ones, ones)
binomial       rank 1: outer of two Pascal rows
laplacian      rank 2: [1, -2, 1] along rows plus [1, -2, 1] along columns
log            rank 2: g''(y) g(x) + g(y) g''(x)
gabor          rank 1 at theta = 0 or 90 deg; rank 2 at other angles with an
               isotropic envelope; not low-rank with an oblique anisotropic one
disk           not separable: rank = number of distinct row widths (grows with r)
=============  ===================================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from functools import reduce

import numpy as np
from numpy.typing import DTypeLike

from ._args import check_positive_int

__all__ = [
    "binomial",
    "box",
    "disk",
    "gabor",
    "gaussian",
    "laplacian",
    "log",
    "prewitt",
    "scharr",
    "sobel",
]

# Central difference shared by the three gradient kernels; its sign matches
# scipy.ndimage.sobel / prewitt, which correlate with [-1, 0, 1].
_DERIVATIVE = (-1, 0, 1)


# --------------------------------------------------------------------------- validation


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_real(value: object, name: str, *, positive: bool = False) -> float:
    """A finite real number (strictly positive when ``positive``)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}")
    return value


def _check_ndim(ndim: object) -> int:
    return check_positive_int(ndim, "ndim", 1)


def _check_axis(axis: object, ndim: int) -> int:
    if not _is_int(axis):
        raise TypeError(f"axis must be an integer; got {axis!r} ({type(axis).__name__})")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis {axis} is out of range for ndim={ndim}; use -{ndim} <= axis < {ndim}"
        )
    return int(axis) % ndim


def _items(value: object) -> tuple | None:
    """The items of a 1-D sequence or array, or None for a scalar (0-d arrays included)."""
    if isinstance(value, np.ndarray):
        return tuple(value.tolist()) if value.ndim else None
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value)
    return None


def _per_axis(value: object, ndim: int, name: str) -> tuple:
    """A scalar repeated ``ndim`` times, or a sequence of exactly ``ndim`` scalars."""
    items = _items(value)
    if items is None:
        return (value.item() if isinstance(value, np.ndarray) else value,) * ndim
    if len(items) != ndim or any(_items(item) is not None for item in items):
        raise ValueError(
            f"{name} must be a scalar or a sequence of {ndim} values (one per axis); got {value!r}"
        )
    return items


def _infer_ndim(ndim: object, **per_axis: object) -> int:
    """``ndim`` if given, else the length of the first per-axis sequence, else 1."""
    if ndim is not None:
        return _check_ndim(ndim)
    for name, value in per_axis.items():
        items = _items(value)
        if items == ():
            raise ValueError(f"{name} must be a scalar or a non-empty sequence; got {value!r}")
        if items is not None:
            return _check_ndim(len(items))
    return 1


def _outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The N-D outer product ``v0[:, None, ...] * v1[None, :, ...] * ...``."""
    return reduce(np.multiply.outer, vectors)


# --------------------------------------------------------------------------- gradients


def _gradient(smooth: tuple[int, ...], axis: int, ndim: int) -> np.ndarray:
    ndim = _check_ndim(ndim)
    axis = _check_axis(axis, ndim)
    vectors = [
        np.array(_DERIVATIVE if ax == axis else smooth, dtype=np.int64) for ax in range(ndim)
    ]
    return _outer(vectors)


def sobel(axis: int = -1, ndim: int = 2) -> np.ndarray:
    """Sobel derivative kernel along ``axis`` of an ``ndim``-D array.

    ``[-1, 0, 1]`` along ``axis`` times the smoothing ``[1, 2, 1]`` along every
    other axis, exactly as :func:`scipy.ndimage.sobel` applies it.

    Parameters
    ----------
    axis : int, optional
        Axis of the derivative (negative counts from the end). Default -1, the
        x-derivative of an image.
    ndim : int, optional
        Number of dimensions of the kernel (>= 1). Default 2.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(3,) * ndim``.
        ``scipy.ndimage.correlate(img, sobel(a, img.ndim))`` equals
        ``scipy.ndimage.sobel(img, axis=a)``.

    Raises
    ------
    TypeError
        If ``axis`` or ``ndim`` is not an integer.
    ValueError
        If ``ndim < 1`` or ``axis`` is out of range for ``ndim``.

    Notes
    -----
    **Separable, rank 1**: by construction it is the outer product
    ``outer([1, 2, 1], [-1, 0, 1])`` (in 2-D, for ``axis=-1``), so it factors
    into exact integer vectors, one per axis.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.sobel()
    array([[-1,  0,  1],
           [-2,  0,  2],
           [-1,  0,  1]])
    >>> kernels.sobel(axis=0)
    array([[-1, -2, -1],
           [ 0,  0,  0],
           [ 1,  2,  1]])
    """
    return _gradient((1, 2, 1), axis, ndim)


def scharr(axis: int = -1, ndim: int = 2) -> np.ndarray:
    """Scharr derivative kernel along ``axis`` of an ``ndim``-D array (integer weights).

    ``[-1, 0, 1]`` along ``axis`` times the smoothing ``[3, 10, 3]`` along every
    other axis: the unnormalised kernel of OpenCV's ``cv2.Scharr``.
    ``scipy.ndimage.correlate(img, scharr(a, img.ndim)) / 16 ** (img.ndim - 1)``
    equals ``skimage.filters.scharr(img, axis=a)``.

    Parameters
    ----------
    axis : int, optional
        Axis of the derivative (negative counts from the end). Default -1.
    ndim : int, optional
        Number of dimensions of the kernel (>= 1). Default 2.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(3,) * ndim``.

    Raises
    ------
    TypeError
        If ``axis`` or ``ndim`` is not an integer.
    ValueError
        If ``ndim < 1`` or ``axis`` is out of range for ``ndim``.

    Notes
    -----
    **Separable, rank 1**: ``outer([3, 10, 3], [-1, 0, 1])`` in 2-D.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.scharr()
    array([[ -3,   0,   3],
           [-10,   0,  10],
           [ -3,   0,   3]])
    """
    return _gradient((3, 10, 3), axis, ndim)


def prewitt(axis: int = -1, ndim: int = 2) -> np.ndarray:
    """Prewitt derivative kernel along ``axis`` of an ``ndim``-D array.

    ``[-1, 0, 1]`` along ``axis`` times ``[1, 1, 1]`` along every other axis,
    exactly as :func:`scipy.ndimage.prewitt` applies it.

    Parameters
    ----------
    axis : int, optional
        Axis of the derivative (negative counts from the end). Default -1.
    ndim : int, optional
        Number of dimensions of the kernel (>= 1). Default 2.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(3,) * ndim``.
        ``scipy.ndimage.correlate(img, prewitt(a, img.ndim))`` equals
        ``scipy.ndimage.prewitt(img, axis=a)``.

    Raises
    ------
    TypeError
        If ``axis`` or ``ndim`` is not an integer.
    ValueError
        If ``ndim < 1`` or ``axis`` is out of range for ``ndim``.

    Notes
    -----
    **Separable, rank 1**: ``outer([1, 1, 1], [-1, 0, 1])`` in 2-D.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.prewitt(axis=0)
    array([[-1, -1, -1],
           [ 0,  0,  0],
           [ 1,  1,  1]])
    """
    return _gradient((1, 1, 1), axis, ndim)


# --------------------------------------------------------------------------- Gaussian family


def _gaussian_1d(sigma: float, order: int, radius: int) -> np.ndarray:
    """The 1-D Gaussian (derivative) kernel in correlation orientation.

    Sampled as scipy.ndimage samples it: ``phi(x) = exp(-x**2 / (2 sigma**2))``
    on ``x = -radius..radius``, normalised to sum 1, times the polynomial
    ``q(x)`` with ``(q phi)' = (q' - x q / sigma**2) phi`` applied ``order``
    times.  scipy correlates with the reversed array; we return it reversed so
    that correlating with it is the filter.
    """
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 / (sigma * sigma) * x * x)
    phi /= phi.sum()
    q = np.zeros(order + 1)
    q[0] = 1.0
    for _ in range(order):
        dq = np.zeros_like(q)
        dq[:-1] = q[1:] * np.arange(1, order + 1)
        xq = np.zeros_like(q)
        xq[1:] = q[:-1]
        q = dq - xq / (sigma * sigma)
    return (np.polynomial.polynomial.polyval(x, q) * phi)[::-1].copy()


def _gaussian_params(
    sigma: object, truncate: object, order: object, radius: object, ndim: int
) -> tuple[list[float], list[int], list[int]]:
    sigmas = [_check_real(s, "sigma", positive=True) for s in _per_axis(sigma, ndim, "sigma")]
    orders = [check_positive_int(o, "order", 0) for o in _per_axis(order, ndim, "order")]
    truncate = _check_real(truncate, "truncate")
    if truncate < 0:
        raise ValueError(f"truncate must be >= 0; got {truncate}")
    if radius is None:
        # scipy.ndimage: radius = round(truncate * sigma), rounding half up.
        radii = [int(truncate * s + 0.5) for s in sigmas]
    else:
        radii = [check_positive_int(r, "radius", 0) for r in _per_axis(radius, ndim, "radius")]
    return sigmas, orders, radii


def gaussian(
    sigma: float | Sequence[float],
    truncate: float = 4.0,
    order: int | Sequence[int] = 0,
    *,
    ndim: int | None = None,
    radius: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Sampled Gaussian (or Gaussian derivative) kernel, as scipy.ndimage samples it.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation (> 0, finite), one for all axes or one per axis.
    truncate : float, optional
        Truncate the kernel at this many standard deviations (>= 0). Default 4.0.
    order : int or sequence of int, optional
        Derivative order (>= 0) per axis; 0 is smoothing. Default 0.
    ndim : int, optional
        Number of dimensions. Default: the length of ``sigma``, ``order`` or
        ``radius`` when one of them is a sequence, else 1.
    radius : int or sequence of int, optional
        Kernel radius per axis, overriding ``truncate`` (as in scipy >= 1.10).

    Returns
    -------
    numpy.ndarray
        ``float64`` array with ``2 * radius + 1`` samples along each axis, where
        ``radius = int(truncate * sigma + 0.5)``.
        ``scipy.ndimage.correlate(img, gaussian(s, t, o, ndim=img.ndim))``
        equals ``scipy.ndimage.gaussian_filter(img, s, o, truncate=t)``.

    Raises
    ------
    TypeError
        If a parameter has the wrong type (``order``, ``radius``, ``ndim`` must
        be integers).
    ValueError
        If ``sigma <= 0`` or is not finite, ``truncate < 0``, ``order < 0``,
        ``radius < 0``, or a per-axis sequence has the wrong length.

    Notes
    -----
    **Separable, rank 1**, for every combination of per-axis sigmas and
    derivative orders: the N-D kernel is built as the outer product of the 1-D
    kernels, exactly as ``gaussian_filter`` applies it axis by axis, because
    ``exp(-(x**2 + y**2) / 2s**2) = exp(-x**2 / 2s**2) * exp(-y**2 / 2s**2)``
    (the exponential of a sum is a product) and differentiating along one axis
    only changes that axis's factor.

    The 1-D sample is ``phi(x) = exp(-x**2 / (2 sigma**2))`` normalised to sum
    1, times a polynomial ``q(x)`` from ``(q phi)' = (q' - x q / sigma**2) phi``.
    The smoothing kernel sums to 1 along each axis; derivative kernels sum to
    about 0 (and are not renormalised, like scipy's).

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.gaussian(1.0, truncate=2.0)
    array([0.05448868, 0.24420134, 0.40261995, 0.24420134, 0.05448868])
    >>> kernels.gaussian(1.0, truncate=1.0, order=1)
    array([-0.27406862,  0.        ,  0.27406862])
    >>> kernels.gaussian([1.0, 2.0], truncate=1.0).shape
    (3, 5)
    """
    ndim = _infer_ndim(ndim, sigma=sigma, order=order, radius=radius)
    sigmas, orders, radii = _gaussian_params(sigma, truncate, order, radius, ndim)
    return _outer([_gaussian_1d(s, o, r) for s, o, r in zip(sigmas, orders, radii, strict=True)])


def log(sigma: float | Sequence[float], ndim: int = 2, truncate: float = 4.0) -> np.ndarray:
    """Laplacian of Gaussian kernel, sampled as :func:`scipy.ndimage.gaussian_laplace` does.

    The sum over axes ``a`` of the second-derivative Gaussian along ``a`` times
    the plain Gaussian along every other axis.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation (> 0, finite), one for all axes or one per axis.
    ndim : int, optional
        Number of dimensions (>= 1). Default 2.
    truncate : float, optional
        Truncate at this many standard deviations (>= 0). Default 4.0.

    Returns
    -------
    numpy.ndarray
        ``float64`` array with ``2 * int(truncate * sigma + 0.5) + 1`` samples per
        axis. ``scipy.ndimage.correlate(img, log(s, img.ndim, t))`` equals
        ``scipy.ndimage.gaussian_laplace(img, s, truncate=t)``.

    Raises
    ------
    TypeError
        If ``sigma`` or ``truncate`` is not a real number or ``ndim`` not an integer.
    ValueError
        If ``sigma <= 0`` or not finite, ``truncate < 0``, ``ndim < 1``, or
        ``sigma`` has the wrong length.

    Notes
    -----
    **Not separable, exactly rank 2 in 2-D**: it is the sum of two separable
    terms, ``g''(y) g(x) + g(y) g''(x)``, and the two are linearly independent
    (``g''`` is not a multiple of ``g``), so two 1-D passes per term — four in
    all — compute it exactly. In N-D it is a sum of N separable terms.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import kernels
    >>> k = kernels.log(1.0, truncate=1.0)
    >>> k.shape
    (3, 3)
    >>> int(np.linalg.matrix_rank(kernels.log(2.0)))
    2
    """
    ndim = _check_ndim(ndim)
    sigmas, _, radii = _gaussian_params(sigma, truncate, 0, None, ndim)
    smooth = [_gaussian_1d(s, 0, r) for s, r in zip(sigmas, radii, strict=True)]
    second = [_gaussian_1d(s, 2, r) for s, r in zip(sigmas, radii, strict=True)]
    terms = (
        _outer([second[ax] if ax == axis else smooth[ax] for ax in range(ndim)])
        for axis in range(ndim)
    )
    return reduce(np.add, terms)


# --------------------------------------------------------------------------- integer smoothing


def _normalized(kernel: np.ndarray, normalize: bool) -> np.ndarray:
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False; got {normalize!r}")
    return kernel / kernel.sum() if normalize else kernel


def box(size: int | Sequence[int] = 3, ndim: int = 2, *, normalize: bool = False) -> np.ndarray:
    """Box (moving-sum / mean) kernel.

    Parameters
    ----------
    size : int or sequence of int, optional
        Length along each axis (>= 1), or one length per axis. Default 3.
    ndim : int, optional
        Number of dimensions (>= 1). Default 2; ignored in favour of
        ``len(size)`` when ``size`` is a sequence.
    normalize : bool, optional
        If False (default), integer ones (``int64``), a moving sum. If True,
        ``float64`` weights ``1 / prod(size)``, a moving mean:
        ``scipy.ndimage.correlate(img, box(s, img.ndim, normalize=True))``
        equals ``scipy.ndimage.uniform_filter(img, s)``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``size`` (or ``(size,) * ndim``).

    Raises
    ------
    TypeError
        If ``size`` or ``ndim`` is not an integer or ``normalize`` not a bool.
    ValueError
        If a size is < 1, ``ndim`` < 1, or ``size`` has the wrong length.

    Notes
    -----
    **Separable, rank 1**: the outer product of all-ones vectors.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.box(3)
    array([[1, 1, 1],
           [1, 1, 1],
           [1, 1, 1]])
    >>> kernels.box((1, 4), normalize=True)
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    ndim = len(_items(size) or ()) or ndim
    ndim = _check_ndim(ndim)
    sizes = [check_positive_int(s, "size", 1) for s in _per_axis(size, ndim, "size")]
    return _normalized(np.ones(sizes, dtype=np.int64), normalize)


def _pascal_row(n: int) -> list[int]:
    """The ``n`` binomial coefficients ``C(n - 1, k)`` as Python integers."""
    return [math.comb(n - 1, k) for k in range(n)]


def binomial(n: int | Sequence[int] = 3, ndim: int = 2, *, normalize: bool = False) -> np.ndarray:
    """Binomial (discrete Gaussian) kernel: outer products of Pascal's-triangle rows.

    Parameters
    ----------
    n : int or sequence of int, optional
        Number of taps along each axis (>= 1), or one per axis; the weights are
        row ``n - 1`` of Pascal's triangle, so ``n=3`` gives ``[1, 2, 1]`` and
        ``n=5`` gives ``[1, 4, 6, 4, 1]``. Default 3.
    ndim : int, optional
        Number of dimensions (>= 1). Default 2; ignored in favour of
        ``len(n)`` when ``n`` is a sequence.
    normalize : bool, optional
        If False (default), integer weights (``int64``). If True, ``float64``
        weights that sum to 1.

    Returns
    -------
    numpy.ndarray
        Array of shape ``n`` (or ``(n,) * ndim``).

    Raises
    ------
    TypeError
        If ``n`` or ``ndim`` is not an integer or ``normalize`` not a bool.
    ValueError
        If ``n`` < 1, ``ndim`` < 1, ``n`` has the wrong length, or (integer
        weights only) the largest weight would overflow int64 (``n > 67`` in
        1-D, ``n > 35`` in 2-D); ``normalize=True`` allows far larger ``n``.

    Notes
    -----
    **Separable, rank 1**: built as the outer product of 1-D Pascal rows,
    each itself ``[1, 1]`` convolved with itself ``n - 2`` times.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.binomial(3)
    array([[1, 2, 1],
           [2, 4, 2],
           [1, 2, 1]])
    >>> kernels.binomial(5, ndim=1)
    array([1, 4, 6, 4, 1])
    """
    ndim = len(_items(n) or ()) or ndim
    ndim = _check_ndim(ndim)
    sizes = [check_positive_int(s, "n", 1) for s in _per_axis(n, ndim, "n")]
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False; got {normalize!r}")
    rows = [_pascal_row(s) for s in sizes]
    if normalize:
        return _outer([np.array(row, dtype=np.float64) / 2.0 ** (len(row) - 1) for row in rows])
    if math.prod(max(row) for row in rows) > np.iinfo(np.int64).max:
        raise ValueError(
            f"n={n!r} in {ndim} dimensions gives weights beyond int64; "
            "use smaller n or normalize=True"
        )
    return _outer([np.array(row, dtype=np.int64) for row in rows])


def laplacian(ndim: int = 2) -> np.ndarray:
    """Discrete Laplacian stencil: ``[1, -2, 1]`` along each axis, summed.

    The 5-point stencil in 2-D, the 7-point stencil in 3-D, exactly as
    :func:`scipy.ndimage.laplace` applies it.

    Parameters
    ----------
    ndim : int, optional
        Number of dimensions (>= 1). Default 2.

    Returns
    -------
    numpy.ndarray
        ``int64`` array of shape ``(3,) * ndim`` with ``-2 * ndim`` at the centre
        and 1 at the ``2 * ndim`` face neighbours.
        ``scipy.ndimage.correlate(img, laplacian(img.ndim))`` equals
        ``scipy.ndimage.laplace(img)``.

    Raises
    ------
    TypeError
        If ``ndim`` is not an integer.
    ValueError
        If ``ndim < 1``.

    Notes
    -----
    **Not separable, rank 2 in 2-D**: it is the sum of two separable terms,
    ``outer([0, 1, 0], [1, -2, 1]) + outer([1, -2, 1], [0, 1, 0])``, and no
    single outer product can make the cross shape. In N-D it is a sum of N
    separable terms, each a 1-D second difference.

    Examples
    --------
    >>> from sepconv import kernels
    >>> kernels.laplacian()
    array([[ 0,  1,  0],
           [ 1, -4,  1],
           [ 0,  1,  0]])
    """
    ndim = _check_ndim(ndim)
    kernel = np.zeros((3,) * ndim, dtype=np.int64)
    centre = (1,) * ndim
    kernel[centre] = -2 * ndim
    for axis in range(ndim):
        for side in (0, 2):
            index = list(centre)
            index[axis] = side
            kernel[tuple(index)] = 1
    return kernel


# --------------------------------------------------------------------------- 2-D only


def _gabor_sigma(bandwidth: float, frequency: float) -> float:
    # skimage.filters._gabor._sigma_prefactor: the sigma giving `bandwidth` octaves.
    b = 2.0**bandwidth
    return math.sqrt(math.log(2) / 2) / math.pi * (b + 1) / (b - 1) / frequency


def gabor(
    frequency: float,
    theta: float = 0.0,
    bandwidth: float = 1.0,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
    n_stds: float = 3,
    offset: float = 0.0,
) -> np.ndarray:
    """Real part of a 2-D Gabor kernel, the same array as :func:`skimage.filters.gabor_kernel`.

    ``exp(-(x'**2 / sx**2 + y'**2 / sy**2) / 2) * cos(2 pi f x' + offset) / (2 pi sx sy)``
    with ``x' = x cos(theta) + y sin(theta)``, ``y' = -x sin(theta) + y cos(theta)``.
    Rows are ``y``, columns ``x``.

    Parameters
    ----------
    frequency : float
        Spatial frequency of the cosine in cycles per pixel (> 0).
    theta : float, optional
        Orientation in radians; 0 puts the cosine along ``x`` (columns).
    bandwidth : float, optional
        Bandwidth in octaves (> 0), used to set ``sigma_x`` / ``sigma_y`` when
        they are not given, as skimage does. Default 1.
    sigma_x, sigma_y : float, optional
        Standard deviations (> 0) along ``x'`` and ``y'`` (before rotation).
    n_stds : float, optional
        Half-size of the kernel in standard deviations (> 0). Default 3.
    offset : float, optional
        Phase offset of the cosine in radians. Default 0.

    Returns
    -------
    numpy.ndarray
        ``float64`` array, equal to ``skimage.filters.gabor_kernel(...).real``.
        With ``offset=0`` it is point-symmetric, so correlating and convolving
        with it (skimage's ``gabor`` convolves) give the same result.

    Raises
    ------
    TypeError
        If a parameter is not a real number.
    ValueError
        If ``frequency``, ``bandwidth``, a given sigma or ``n_stds`` is <= 0, or
        any parameter is not finite.

    Notes
    -----
    Whether it separates depends on the angle and the envelope (the claims
    below are checked with ``numpy.linalg.matrix_rank`` in the tests):

    * ``theta`` = 0 or 90 degrees: **separable, rank 1**, for any sigmas and
      offset: ``g(y') * [g(x') cos(2 pi f x' + offset)]`` with ``x'``, ``y'``
      along the grid axes (at 90 degrees ``cos(theta)`` is 6e-17, not 0, so
      the rank is 1 to rounding).
    * other angles with ``sigma_x == sigma_y``: **rank 2**. The isotropic
      envelope is separable and ``cos(a x + b y + c) = cos(a x) cos(b y + c)
      - sin(a x) sin(b y + c)`` adds one separable term.
    * other angles with ``sigma_x != sigma_y``: **not separable, not exactly
      low-rank**. The rotated anisotropic envelope has an ``x * y`` cross term
      in its exponent, ``exp(c x y)``, which is no finite sum of products; at
      the default ``n_stds=3`` the sampled kernel has full numerical rank. Its
      singular values decay, so :func:`sepconv.lowrank` can approximate it.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import kernels
    >>> k = kernels.gabor(0.2, sigma_x=2.0, sigma_y=2.0)
    >>> k.shape
    (13, 13)
    >>> int(np.linalg.matrix_rank(k)), int(np.linalg.matrix_rank(kernels.gabor(0.2, np.pi / 6)))
    (1, 2)
    """
    frequency = _check_real(frequency, "frequency", positive=True)
    theta = _check_real(theta, "theta")
    bandwidth = _check_real(bandwidth, "bandwidth", positive=True)
    n_stds = _check_real(n_stds, "n_stds", positive=True)
    offset = _check_real(offset, "offset")
    if sigma_x is None:
        sigma_x = _gabor_sigma(bandwidth, frequency)
    if sigma_y is None:
        sigma_y = _gabor_sigma(bandwidth, frequency)
    sigma_x = _check_real(sigma_x, "sigma_x", positive=True)
    sigma_y = _check_real(sigma_y, "sigma_y", positive=True)

    ct, st = math.cos(theta), math.sin(theta)
    x0 = math.ceil(max(abs(n_stds * sigma_x * ct), abs(n_stds * sigma_y * st), 1))
    y0 = math.ceil(max(abs(n_stds * sigma_y * ct), abs(n_stds * sigma_x * st), 1))
    y = np.arange(-y0, y0 + 1, dtype=np.float64)[:, None]
    x = np.arange(-x0, x0 + 1, dtype=np.float64)[None, :]
    rotx = x * ct + y * st
    roty = -x * st + y * ct
    envelope = np.exp(-0.5 * (rotx**2 / sigma_x**2 + roty**2 / sigma_y**2))
    return (
        envelope * np.cos(2 * np.pi * frequency * rotx + offset) / (2 * np.pi * sigma_x * sigma_y)
    )


def disk(radius: float, *, dtype: DTypeLike = np.int64) -> np.ndarray:
    """Flat disk: 1 where ``x**2 + y**2 <= radius**2``, else 0.

    Parameters
    ----------
    radius : float
        Radius in pixels (>= 0, finite). For an integer radius the result
        equals :func:`skimage.morphology.disk` (``strict_radius=True``).
    dtype : data-type, optional
        Output type, integer, float or bool. Default ``int64``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(2 * floor(radius) + 1,) * 2``.

    Raises
    ------
    TypeError
        If ``radius`` is not a real number or ``dtype`` is not a real numeric type.
    ValueError
        If ``radius`` is negative or not finite.

    Notes
    -----
    **Not separable** (except ``radius < 1``, a single pixel): its rows are
    centred runs of ones, and runs of different widths are linearly
    independent, so the rank is the number of distinct half-widths
    ``floor(sqrt(radius**2 - y**2))`` for ``y = 0 .. floor(radius)``.
    It grows with the radius (2 at r=1, 4 at r=4, 7 at r=10, 60 at r=100),
    tending to ``(2 - sqrt(2)) * r``, about ``0.59 * r``; a low-rank
    approximation needs many terms.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import kernels
    >>> kernels.disk(2)
    array([[0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [1, 1, 1, 1, 1],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0]])
    >>> int(np.linalg.matrix_rank(kernels.disk(10)))
    7
    """
    radius = _check_real(radius, "radius")
    if radius < 0:
        raise ValueError(f"radius must be >= 0; got {radius}")
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a NumPy data type; got {dtype!r}") from exc
    if dtype.kind not in "biuf":
        raise TypeError(f"dtype must be a bool, integer or float type; got {dtype}")
    half = math.floor(radius)
    grid = np.arange(-half, half + 1)
    inside = grid[:, None] ** 2 + grid[None, :] ** 2 <= radius * radius
    return inside.astype(dtype)
