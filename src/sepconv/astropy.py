"""astropy's ``convolve`` and ``convolve_fft`` on sepconv's engine: separable NaN interpolation.

Swap it in with one import line::

    from sepconv.astropy import convolve   # instead of: from astropy.convolution import convolve

:func:`convolve` and :func:`convolve_fft` have astropy's signatures, defaults,
checks, warnings and error texts, and take what astropy takes (NumPy arrays,
lists, masked arrays, ``NDData``, ``Quantity``, astropy ``Kernel`` objects,
1-D to 3-D).  astropy computes ``nan_treatment='interpolate'`` as a direct
``k x k`` sum per pixel (``convolve``) or as FFTs of the padded image and of
its weight image (``convolve_fft``); here both are *normalized convolution*
(:mod:`sepconv._normalized`): the data with NaN as 0 and the validity mask are
filtered in one sweep of the engine and divided as each row is written.
Kernels that separate (Gaussian and box kernels, any rank-1 array: sepconv's
kernel analysis, :func:`sepconv.plan`) run as separable passes; others row by
row (the engine's direct filtering), or as a sum of separable terms when a
relative kernel error ``rtol`` is allowed (low-rank).

Results equal astropy's to floating-point rounding: the arithmetic is float64
whatever the input dtype (astropy's rule), so results differ from astropy's by
a few units of float64 rounding of the weighted sums, i.e. at most
``1e-13 * max|valid data in the footprint| / min(1, |denominator|)`` in this
package's tests (and, for ``convolve_fft``, astropy's FFT rounding, which is
relative to the largest value of the image).  Where a kernel covers no valid
pixel astropy's rules hold exactly: ``convolve`` keeps the pixel's own value
(NaN for a NaN pixel), ``convolve_fft`` writes 0 (or NaN below ``min_wt``).

Always computed the normalized way.  astropy interpolates only when the data
holds NaN; otherwise it divides by the kernel's sum.  Both give the same
weighted mean (the valid weights *are* the kernel's sum without NaN), so this
module always divides by the filtered validity, which makes every block of a
Dask array the NumPy result's bits; astropy's checks and warnings still follow
its own data-dependent rule.

``convolve_fft`` options that change what is computed beyond that linear
convolution -- ``return_fft=True``, ``crop=False``, ``psf_pad=False`` with
``boundary='fill'``, a ``complex_dtype`` other than ``complex``, complex data,
``boundary='wrap'`` with a kernel larger than the array -- run astropy's own
``convolve_fft`` (its exact result); ``fftn`` and ``ifftn`` are not used (they
change rounding only).

:func:`patch` / :func:`unpatch` / :func:`patched` put these functions in place
of astropy's (``astropy.convolution.convolve`` and ``convolve_fft``, the
attributes of ``astropy.convolution.convolve`` the module, the default of
``interpolate_replace_nans``, and every attribute of an imported module that
*is* one of astropy's two functions), as :func:`sepconv.ndimage.patch` does
for scipy.

Needs astropy: ``pip install "sepconv[astropy]"``.

Examples
--------
>>> import numpy as np
>>> from astropy.convolution import Gaussian2DKernel
>>> from sepconv.astropy import convolve
>>> image = np.ones((32, 32))
>>> image[10:14, 10:14] = np.nan
>>> float(convolve(image, Gaussian2DKernel(1))[12, 12])
1.0
"""

from __future__ import annotations

import math
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

try:
    import astropy.convolution  # noqa: F401 - loads the module astropy.convolution.convolve
    from astropy.convolution.core import MAX_NORMALIZATION, Kernel, Kernel1D, Kernel2D
    from astropy.convolution.utils import KernelSizeError, has_even_axis
    from astropy.nddata import support_nddata
    from astropy.utils.exceptions import AstropyUserWarning
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sepconv.astropy needs astropy, which is not installed; install it with: "
        'pip install "sepconv[astropy]"'
    ) from exc

from . import _normalized
from ._backends import backend

__all__ = [
    "BOUNDARY_OPTIONS",
    "PATCHED",
    "convolve",
    "convolve_fft",
    "is_patched",
    "patch",
    "patched",
    "unpatch",
]

#: astropy's boundary options.
BOUNDARY_OPTIONS = [None, "fill", "wrap", "extend"]
#: The names :func:`patch` replaces in astropy.
PATCHED: tuple[str, ...] = ("convolve", "convolve_fft")

# The module astropy.convolution.convolve (the package's attribute of that name is
# the function).
_astropy_convolve_module = sys.modules["astropy.convolution.convolve"]

# astropy's own functions (captured before any patch: the fallback of options
# that change what convolve_fft computes, and what unpatch restores).
_ORIGINAL = {
    "convolve": _astropy_convolve_module.convolve,
    "convolve_fft": _astropy_convolve_module.convolve_fft,
}
_MODES = {"fill": "constant", "extend": "nearest", "wrap": "wrap", None: "constant"}
_WORK = np.dtype(np.float64)  # astropy computes in float64 whatever the input


# --------------------------------------------------------------------------- inputs


def _copy_input_if_needed(
    value: Any, nan_treatment: Any = None, mask: Any = None, keep_float32: bool = True
) -> np.ndarray:
    """astropy's input conversion: float, masked values (and ``mask``) as NaN.

    A float32 or float64 array is used as it is (the engine reads float32 into
    float64 arithmetic), where astropy makes a float64 copy; a copy is made
    only where astropy's result needs one (masked values, ``nan_treatment='fill'``).
    """
    value = value.array if isinstance(value, Kernel) else value
    if hasattr(value, "unit"):
        value = value.value
    try:
        if nan_treatment == "fill" or np.ma.is_masked(value) or mask is not None:
            dtype = _float_dtype(value) if keep_float32 else np.float64
            if np.ma.is_masked(value):
                output = np.asanyarray(value, dtype=dtype, order="C").filled(np.nan)
            else:
                output = np.array(value, dtype=dtype, copy=True, order="C", subok=False)
            if mask is not None:
                output[mask != 0] = np.nan
            return output
        array = np.asanyarray(value)
        if isinstance(array, np.ma.MaskedArray):
            array = array.data
        if array.dtype.kind == "f" and array.dtype.itemsize in (4, 8) and keep_float32:
            return np.asarray(array)
        return np.asarray(array, dtype=float)
    except (TypeError, ValueError) as e:
        raise TypeError(
            "input should be a Numpy array or something convertible into a float array", e
        ) from None


def _float_dtype(value: Any) -> Any:
    dtype = getattr(value, "dtype", None)
    return np.float32 if dtype == np.float32 else np.float64


def _kernel_array(kernel: Any) -> np.ndarray:
    try:
        return np.array(
            kernel.array if isinstance(kernel, Kernel) else getattr(kernel, "value", kernel),
            dtype=float,
            order="C",
        )
    except (TypeError, ValueError) as e:
        raise TypeError(
            "input should be a Numpy array or something convertible into a float array", e
        ) from None


# --------------------------------------------------------------------------- filtering


def _valid_value(value: float) -> float:
    return 0.0 if math.isnan(value) else 1.0


def _normalized_into(
    x: np.ndarray,
    out: np.ndarray,
    kernel: np.ndarray,
    modes: list[str],
    cval: float,
    origins: list[int],
    *,
    scale: float,
    tol: float,
    fill: float,
    method: str,
    rtol: float | None,
) -> None:
    """``out = scale * correlate(x NaN as 0, kernel) / correlate(valid, kernel)`` (float64 work).

    A call with the signature of an earlier one replays its launches (the one
    replay cache, :mod:`sepconv._replay`): no planning the second time.
    """
    from ._replay import call_key, recorded, replay

    key = call_key(
        "sepconv.astropy", x, out, kernel, tuple(modes), cval, tuple(origins), scale, tol, fill,
        method, rtol,
    )  # fmt: skip
    if replay(key, x, out) is not None:
        return
    axes = tuple(range(x.ndim))
    how, plan = _normalized.plan_terms(kernel, axes, x.shape, _WORK, method, rtol)
    options = dict(scale=scale, tol=tol, fill=fill, work=_WORK)
    with recorded(key, x) as keep:
        if how == "direct":
            _normalized.run_dense(x, out, axes, plan, modes, cval, origins, **options)
        else:
            _normalized.run(x, out, axes, plan, modes, cval, origins, **options)
        keep(out)


def _weights_of_valid(
    x: np.ndarray, kernel: np.ndarray, modes: list[str], cval: float, origins: list[int]
) -> np.ndarray:
    """``correlate(valid(x), kernel)``: the denominator, for the rules astropy applies to it."""
    from . import _filters

    valid = (~np.isnan(x)).astype(np.float64)
    return _filters.correlate(valid, kernel, mode=modes, cval=_valid_value(cval), origin=origins)


def _plain(
    x: np.ndarray,
    kernel: np.ndarray,
    modes: list[str],
    cval: float,
    origins: list[int],
    out: np.ndarray,
) -> None:
    """Plain correlation (astropy without interpolation), the engine's plan, float64 work."""
    from . import _filters

    if out.dtype == np.float64:
        _filters.correlate(x, kernel, out, mode=modes, cval=cval, origin=origins)
    else:  # a float64 output makes the work float64 (astropy's arithmetic)
        out[...] = _filters.correlate(x, kernel, np.float64, mode=modes, cval=cval, origin=origins)


def _not_finite(x: Any) -> Any:
    return ~np.isfinite(x)


def _poisoned_zero_taps(
    result: np.ndarray,
    x: np.ndarray,
    is_bad: Callable[[Any], Any],
    kernel: np.ndarray,
    modes: list[str],
    cval: float,
    origins: list[int],
) -> None:
    """NaN where a bad pixel (``is_bad``; or a bad ``cval`` beyond a 'constant' edge) lies
    under a zero weight: astropy's loop multiplies every tap (``inf * 0``, ``NaN * 0``)."""
    zero = kernel == 0
    if not zero.any():
        return
    bad = is_bad(x)
    bad_edge = "constant" in modes and bool(is_bad(np.float64(cval)))
    if not (bad_edge or bad.any()):
        return
    from . import _filters

    hits = _filters.correlate(
        bad.astype(np.float32),
        zero.astype(np.float64),
        mode=modes,
        cval=1.0 if bad_edge else 0.0,
        origin=origins,
    )
    result[hits > 0.5] = np.nan


# --------------------------------------------------------------------------- convolve


def _convolve_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    # boundary=None: one more, so that a block at the array's edge (at least the
    # reach long, plus the reach it borrows) is longer than the kernel, as astropy
    # requires of the array (an overlap larger than needed changes no bit)
    extra = 1 if a.get("boundary") is None else 0
    shape = np.shape(_kernel_array(a["kernel"]))
    return {ax: int(n) // 2 + extra for ax, n in enumerate(shape) if ax < ndim}


def _convolve_probe(a: dict[str, Any], ndim: int) -> tuple[int, ...]:
    shape = np.shape(_kernel_array(a["kernel"]))
    return tuple(max(int(n), 1) for n in shape) if len(shape) == ndim else (1,) * ndim


def _convolve_mode(a: dict[str, Any]) -> str:
    return "wrap" if a.get("boundary") == "wrap" else "constant"


@backend(_convolve_reach, mode=_convolve_mode, probe=_convolve_probe)
def _convolve(
    array: Any,
    kernel: Any,
    boundary: str | None = "fill",
    fill_value: float = 0.0,
    nan_treatment: str = "interpolate",
    normalize_kernel: bool | Callable[..., Any] = True,
    mask: Any = None,
    preserve_nan: bool = False,
    normalization_zero_tol: float = 1e-8,
    *,
    method: str = "auto",
    rtol: float | None = None,
) -> Any:
    if boundary not in BOUNDARY_OPTIONS:
        raise ValueError(f"Invalid boundary option: must be one of {BOUNDARY_OPTIONS}")
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    if np.ma.is_masked(kernel):
        raise ValueError(
            "The kernel is a masked array with masked values. "
            "Use kernel.filled(fill_value) to fill masked values "
            "before passing to convolve."
        )
    passed_kernel, passed_array = kernel, array
    array_internal = _copy_input_if_needed(passed_array, nan_treatment, mask)
    array_dtype = getattr(passed_array, "dtype", array_internal.dtype)
    kernel_internal = _kernel_array(passed_kernel)
    if has_even_axis(kernel_internal):
        raise KernelSizeError("Kernel size must be odd in all axes.")
    if isinstance(passed_array, Kernel) and isinstance(passed_kernel, Kernel):
        warnings.warn(
            "Both array and kernel are Kernel instances, hardwiring "
            "the following parameters: boundary='fill', fill_value=0,"
            " normalize_Kernel=True, nan_treatment='interpolate'",
            AstropyUserWarning,
            stacklevel=2,
        )
        boundary, fill_value, normalize_kernel, nan_treatment = "fill", 0, True, "interpolate"
    if array_internal.ndim == 0:
        raise ValueError("cannot convolve 0-dimensional arrays")
    if array_internal.ndim > 3:
        raise NotImplementedError(
            "convolve only supports 1, 2, and 3-dimensional arrays at this time"
        )
    if array_internal.ndim != kernel_internal.ndim:
        raise ValueError("array and kernel have differing number of dimensions.")
    if array_internal.size == 0:
        raise ValueError("cannot convolve empty array")
    array_shape = np.array(array_internal.shape)
    pad_width = np.array(kernel_internal.shape) // 2
    if boundary is None and not np.all(array_shape > 2 * pad_width):
        raise KernelSizeError(
            "for boundary=None all kernel axes must be smaller than array's - "
            "use boundary in ['fill', 'extend', 'wrap'] instead."
        )
    fill_value = float(fill_value)
    nan_interpolate = (nan_treatment == "interpolate") and (
        (boundary == "fill" and np.isnan(fill_value)) or bool(np.isnan(array_internal.sum()))
    )
    kernel_sum = float(kernel_internal.sum())
    kernel_sums_to_zero = abs(kernel_sum) <= normalization_zero_tol  # np.isclose(sum, 0, atol)
    normalizable = not (kernel_sum < 1.0 / MAX_NORMALIZATION or kernel_sums_to_zero)
    if (normalize_kernel or nan_interpolate) and not normalizable:
        if nan_interpolate:
            raise ValueError(
                "Setting nan_treatment='interpolate' "
                "requires the kernel to be normalized, "
                "but the input kernel has a sum close "
                "to zero. For a zero-sum kernel and "
                "data with NaNs, set nan_treatment='fill'."
            )
        raise ValueError(
            "The kernel can't be normalized, because "
            "its sum is close to zero. The sum of the "
            f"given kernel is < {1.0 / MAX_NORMALIZATION:.2f}. "
            "For a zero-sum kernel, set normalize_kernel=False "
            "or pass a custom normalization function to "
            "normalize_kernel."
        )
    initially_nan = None
    if preserve_nan or nan_treatment == "fill":
        initially_nan = np.isnan(array_internal)
        if nan_treatment == "fill":
            array_internal[initially_nan] = fill_value

    # astropy convolves: correlate with the kernel flipped (odd sizes: origin 0).
    flipped = np.ascontiguousarray(kernel_internal[(slice(None, None, -1),) * kernel_internal.ndim])
    modes = [_MODES[boundary]] * array_internal.ndim
    origins = [0] * array_internal.ndim
    cval = fill_value if boundary == "fill" else 0.0
    out_dtype = np.float32 if array_internal.dtype == np.float32 else np.float64
    result = np.empty(array_internal.shape, out_dtype)
    if nan_treatment == "interpolate" and normalizable:
        scale = 1.0 if normalize_kernel else kernel_sum
        centre = flipped[tuple(pad_width)]
        if bool(np.all(flipped >= 0)) and centre > 0:
            # no valid weight only where the pixel itself is NaN: astropy's own value
            tol = _normalized.no_valid_tol(flipped)
            _normalized_into(
                array_internal, result, flipped, modes, cval, origins,
                scale=scale, tol=tol, fill=np.nan, method=method, rtol=rtol,
            )  # fmt: skip
        else:
            # astropy divides where the valid weights do not sum to exactly zero and
            # keeps the pixel's own value elsewhere
            _normalized_into(
                array_internal, result, flipped, modes, cval, origins,
                scale=scale, tol=0.0, fill=np.nan, method=method, rtol=rtol,
            )  # fmt: skip
            zero = _weights_of_valid(array_internal, flipped, modes, cval, origins) == 0
            result[zero] = array_internal[zero] * scale
        # astropy multiplies every tap: an infinite pixel under a zero weight is NaN
        _poisoned_zero_taps(result, array_internal, np.isinf, flipped, modes, cval, origins)
    else:
        weights = flipped / kernel_sum if normalize_kernel else flipped
        _plain(array_internal, weights, modes, cval, origins, result)
        # ... and a NaN or infinite one there too (the engine skips zero weights, as scipy)
        _poisoned_zero_taps(result, array_internal, _not_finite, flipped, modes, cval, origins)
    if boundary is None:  # zero where the kernel reaches beyond the edge
        for ax, p in enumerate(pad_width):
            if p:
                index = [slice(None)] * result.ndim
                index[ax] = slice(0, p)
                result[tuple(index)] = 0
                index[ax] = slice(result.shape[ax] - p, None)
                result[tuple(index)] = 0
    if nan_interpolate and not preserve_nan and np.isnan(result.sum()):
        warnings.warn(
            "nan_treatment='interpolate', however, NaN values detected "
            "post convolution. A contiguous region of NaN values, larger "
            "than the kernel size, are present in the input array. "
            "Increase the kernel size to avoid this.",
            AstropyUserWarning,
            stacklevel=2,
        )
    if preserve_nan:
        result[initially_nan] = np.nan
    return _as_astropy_result(result, passed_array, passed_kernel, array_dtype)


def _as_astropy_result(
    result: np.ndarray, passed_array: Any, passed_kernel: Any, array_dtype: Any
) -> Any:
    """astropy's return conventions: the unit, a Kernel for Kernel input, the float dtype."""
    array_unit = getattr(passed_array, "unit", None)
    if array_unit is not None:
        result = result.astype(np.float64, copy=False) << array_unit
    if isinstance(passed_array, Kernel):
        if isinstance(passed_array, Kernel1D):
            new_result = Kernel1D(array=np.asarray(result, dtype=float))
        elif isinstance(passed_array, Kernel2D):
            new_result = Kernel2D(array=np.asarray(result, dtype=float))
        else:
            raise TypeError("Only 1D and 2D Kernels are supported.")
        new_result._is_bool = False
        new_result._separable = passed_array._separable
        if isinstance(passed_kernel, Kernel):
            new_result._separable = new_result._separable and passed_kernel._separable
        return new_result
    if np.dtype(array_dtype).kind == "f":
        return result.astype(array_dtype, copy=False)
    return result.astype(np.float64, copy=False)


@support_nddata(data="array")
def convolve(
    array: Any,
    kernel: Any,
    boundary: str | None = "fill",
    fill_value: float = 0.0,
    nan_treatment: str = "interpolate",
    normalize_kernel: bool | Callable[..., Any] = True,
    mask: Any = None,
    preserve_nan: bool = False,
    normalization_zero_tol: float = 1e-8,
    *,
    method: str = "auto",
    rtol: float | None = None,
) -> Any:
    """Convolve an array with a kernel, as ``astropy.convolution.convolve``.

    NaN (and masked) pixels are interpolated with the kernel as the weights
    (``nan_treatment='interpolate'``): normalized convolution in one sweep of
    sepconv's engine, separable when the kernel separates (Gaussian and box
    kernels).  astropy's parameters, defaults, checks, warnings and errors;
    see ``astropy.convolution.convolve`` for each.

    Parameters
    ----------
    array : NDData or array_like
        1, 2 or 3-dimensional (a list, masked array, ``Quantity`` or
        ``Kernel`` too).  With ``NDData`` its ``mask`` is used.
    kernel : ndarray or astropy Kernel
        Odd size along every axis; same number of dimensions as ``array``.
    boundary : {None, 'fill', 'wrap', 'extend'}
        ``None``: 0 where the kernel reaches beyond the edge; ``'fill'``:
        ``fill_value`` beyond the edges (default; NaN is then skipped like
        NaN data); ``'wrap'``: periodic; ``'extend'``: the nearest pixel.
    fill_value : float
        Value beyond the edges for ``boundary='fill'``.
    nan_treatment : {'interpolate', 'fill'}
        Skip NaN pixels (the weighted mean of the valid ones) or replace
        them by ``fill_value`` first.
    normalize_kernel : bool
        Divide by the kernel's sum (with interpolation: by the sum of the
        weights of the valid pixels).
    mask : array_like, optional
        Nonzero: treat that pixel as NaN.
    preserve_nan : bool
        Put NaN back where the input was NaN.
    normalization_zero_tol : float
        A kernel whose sum is within this of zero cannot be normalized.
    method : {'auto', 'direct', 'separable', 'lowrank'}, optional
        sepconv's: how to filter (``'auto'``: separable when the kernel
        separates at float64 rounding, else direct; see :func:`sepconv.plan`).
    rtol : float, optional
        sepconv's: a relative kernel error allowed, which lets ``'auto'``
        use a low-rank sum of separable terms for a kernel that does not
        separate (an approximation: off by default).

    Returns
    -------
    ndarray
        The input's float dtype, else float64 (a ``Quantity`` with the input's
        unit; a ``Kernel1D``/``Kernel2D`` for a ``Kernel`` input).  Dask arrays
        give lazy arrays whose blocks equal the NumPy result.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv.astropy import convolve
    >>> convolve([1, np.nan, 3], [1, 1, 1]).tolist()
    [0.5, 2.0, 1.5]
    >>> convolve([1, np.nan, 3], [1, 1, 1], boundary="extend").tolist()
    [1.0, 2.0, 3.0]
    """
    return _convolve(
        array,
        kernel,
        boundary,
        fill_value,
        nan_treatment,
        normalize_kernel,
        mask,
        preserve_nan,
        normalization_zero_tol,
        method=method,
        rtol=rtol,
    )


# --------------------------------------------------------------------------- convolve_fft


def _next_fast_lengths(shape: Any) -> np.ndarray:
    import scipy.fft

    return np.array([scipy.fft.next_fast_len(int(j)) for j in shape])


def _too_large(nbytes: int) -> ValueError:
    from astropy import units as u
    from astropy.utils.console import human_file_size

    return ValueError(
        f"Size Error: Arrays will be {human_file_size(nbytes * u.byte)}.  "
        "Use allow_huge=True to override this exception."
    )


@support_nddata(data="array")
def convolve_fft(
    array: Any,
    kernel: Any,
    boundary: str | None = "fill",
    fill_value: float = 0.0,
    nan_treatment: str = "interpolate",
    normalize_kernel: bool | Callable[..., Any] = True,
    normalization_zero_tol: float = 1e-8,
    preserve_nan: bool = False,
    mask: Any = None,
    crop: bool = True,
    return_fft: bool = False,
    fft_pad: bool | None = None,
    psf_pad: bool | None = None,
    min_wt: float = 0.0,
    allow_huge: bool = False,
    fftn: Callable[..., Any] = np.fft.fftn,
    ifftn: Callable[..., Any] = np.fft.ifftn,
    complex_dtype: Any = complex,
    dealias: bool = False,
) -> Any:
    """Convolve an array with a kernel, as ``astropy.convolution.convolve_fft``.

    The linear (``boundary='fill'``: the image padded with ``fill_value``) or
    periodic (``'wrap'``) convolution astropy's padded FFTs compute, as
    normalized convolution on sepconv's engine (separable when the kernel
    separates, else row by row) or, for a large kernel that does not
    separate, real FFTs of the data and of its weights.  astropy's
    parameters, defaults, checks, warnings and errors; see
    ``astropy.convolution.convolve_fft`` for each.  Kernels of any size
    (even sizes are centred as astropy centres them); ``inf`` is treated as
    NaN.  Where no valid pixel is under the kernel the result is 0 (NaN
    where the normalized weight is below ``min_wt > 0``).  ``return_fft``,
    ``crop=False``, ``psf_pad=False`` with ``'fill'``, another
    ``complex_dtype`` and complex data run astropy's own function.

    Returns
    -------
    ndarray
        float64, the array's shape.

    Examples
    --------
    >>> from sepconv.astropy import convolve_fft
    >>> convolve_fft([1, 0, 3], [1, 1, 1]).round(8).tolist()
    [0.33333333, 1.33333333, 1.0]
    >>> import numpy as np
    >>> convolve_fft([1, np.nan, 3], [1, 1, 1]).tolist()
    [0.5, 2.0, 1.5]
    """
    call = dict(
        boundary=boundary,
        fill_value=fill_value,
        nan_treatment=nan_treatment,
        normalize_kernel=normalize_kernel,
        normalization_zero_tol=normalization_zero_tol,
        preserve_nan=preserve_nan,
        mask=mask,
        crop=crop,
        return_fft=return_fft,
        fft_pad=fft_pad,
        psf_pad=psf_pad,
        min_wt=min_wt,
        allow_huge=allow_huge,
        fftn=fftn,
        ifftn=ifftn,
        complex_dtype=complex_dtype,
        dealias=dealias,
    )
    if np.ma.is_masked(kernel):
        raise ValueError(
            "The kernel is a masked array with masked values. "
            "Use kernel.filled(fill_value) to fill masked values "
            "before passing to convolve."
        )
    if isinstance(kernel, Kernel):
        kernel = kernel.array
        if isinstance(array, Kernel):
            raise TypeError("Can't convolve two kernels with convolve_fft.  Use convolve instead.")
    if nan_treatment not in ("interpolate", "fill"):
        raise ValueError("nan_treatment must be one of 'interpolate','fill'")
    plain_array = getattr(array, "value", array)
    if (
        return_fft
        or not crop
        or complex_dtype is not complex
        or np.iscomplexobj(plain_array)
        or (boundary == "fill" and psf_pad is False)
    ):
        return _ORIGINAL["convolve_fft"](array, kernel, **call)
    array_unit = getattr(array, "unit", None)
    data = _copy_input_if_needed(array, mask=mask, keep_float32=False)
    kern = _kernel_array(kernel)
    if data.ndim != kern.ndim:
        raise ValueError("Image and kernel must have same number of dimensions")
    itemsize = np.dtype(complex_dtype).itemsize
    if int(np.prod(data.shape, dtype=np.int64)) * itemsize > 1e9 and not allow_huge:
        raise _too_large(int(np.prod(data.shape, dtype=np.int64)) * itemsize)
    if boundary == "wrap" and any(k > n for k, n in zip(kern.shape, data.shape)):
        return _ORIGINAL["convolve_fft"](array, kernel, **call)
    # NaN and inf catching: both are missing pixels.  The engine skips NaN itself: a
    # copy is made only to fill them, or to turn infinities into NaN.
    bad = None
    if not np.isfinite(data.sum()):
        bad = ~np.isfinite(data)
        inf = nan_treatment == "fill" or bool(np.isinf(data).any())
        if inf:
            if data is plain_array or np.shares_memory(data, np.asarray(plain_array)):
                data = np.array(data, dtype=np.float64)
            if nan_treatment == "fill":
                if not np.isfinite(fill_value):
                    return _ORIGINAL["convolve_fft"](array, kernel, **call)  # astropy raises
                data[bad] = fill_value
            else:
                data[bad] = np.nan
    kern[~np.isfinite(kern)] = 0
    kernel_sum = float(kern.sum())
    if normalize_kernel is True:
        if kernel_sum < 1.0 / MAX_NORMALIZATION:
            raise Exception(
                "The kernel can't be normalized, because its sum is close "
                "to zero. The sum of the given kernel is < "
                f"{1.0 / MAX_NORMALIZATION:.2f}. For a zero-sum kernel, set "
                "normalize_kernel=False or pass a custom normalization "
                "function to normalize_kernel."
            )
        divisor, final_scale = kernel_sum, 1.0
    elif normalize_kernel:
        divisor = normalize_kernel(kern.astype(complex))
        if np.iscomplexobj(divisor):
            if np.imag(divisor) != 0:
                return _ORIGINAL["convolve_fft"](array, kernel, **call)
            divisor = np.real(divisor)
        divisor = float(divisor)
        final_scale = divisor
    else:
        if np.abs(kernel_sum) < normalization_zero_tol:
            if nan_treatment == "interpolate":
                raise ValueError("Cannot interpolate NaNs with an unnormalizable kernel")
            divisor, final_scale = 1.0, 1.0
        else:
            divisor, final_scale = kernel_sum, kernel_sum
    if boundary is None:
        warnings.warn(
            "The convolve_fft version of boundary=None is "
            "equivalent to the convolve boundary='fill'.  There is "
            "no FFT equivalent to convolve's "
            "zero-if-kernel-leaves-boundary",
            AstropyUserWarning,
            stacklevel=2,
        )
        psf_pad = True if psf_pad is None else psf_pad
        fft_pad = True if fft_pad is None else fft_pad
    elif boundary == "fill":
        psf_pad = True
        fft_pad = True if fft_pad is None else fft_pad
    elif boundary == "wrap":
        if psf_pad:
            raise ValueError("With boundary='wrap', psf_pad cannot be enabled.")
        psf_pad = False
        if fft_pad:
            raise ValueError("With boundary='wrap', fft_pad cannot be enabled.")
        fft_pad = False
        if dealias:
            raise ValueError("With boundary='wrap', dealias cannot be enabled.")
        fill_value = 0
    elif boundary == "extend":
        raise NotImplementedError(
            "The 'extend' option is not implemented for fft-based convolution"
        )
    if boundary is None and psf_pad is False:
        return _ORIGINAL["convolve_fft"](array, kernel, **call)
    newshape = (
        np.array(data.shape) + np.array(kern.shape)
        if psf_pad
        else np.maximum(data.shape, kern.shape)
    )
    if dealias:
        newshape += np.ceil(newshape / 2).astype(int)
    if fft_pad:
        newshape = _next_fast_lengths(newshape)
    padded_bytes = int(np.prod(newshape, dtype=np.int64)) * itemsize
    if padded_bytes > 1e9 and not allow_huge:
        raise _too_large(padded_bytes)

    normalized = kern / divisor
    # astropy centres kernel element k // 2 on the output: as a correlation with
    # the flipped kernel, origin 0 for odd sizes and -1 for even ones
    flipped = np.ascontiguousarray(normalized[(slice(None, None, -1),) * normalized.ndim])
    origins = [-1 if k % 2 == 0 else 0 for k in flipped.shape]
    mode = "wrap" if boundary == "wrap" else "constant"
    modes = [mode] * data.ndim
    cval = float(fill_value) if np.isfinite(fill_value) else np.nan
    result = np.empty(data.shape, np.float64)
    if nan_treatment == "interpolate":
        positive = bool(np.all(flipped >= 0))
        if positive:
            tol, fill = (min_wt, np.nan) if min_wt > 0 else (10 * np.finfo(float).eps, 0.0)
            _normalized_into(
                data, result, flipped, modes, cval, origins,
                scale=final_scale, tol=tol, fill=fill, method="auto", rtol=None,
            )  # fmt: skip
        else:
            # weights of mixed sign: astropy's thresholds are signed
            _normalized_into(
                data, result, flipped, modes, cval, origins,
                scale=final_scale, tol=0.0, fill=np.nan, method="auto", rtol=None,
            )  # fmt: skip
            weight = _weights_of_valid(data, flipped, modes, cval, origins)
            if min_wt > 0:
                result[weight < min_wt] = np.nan
            else:
                result[weight < 10 * np.finfo(float).eps] = 0.0
    else:
        filled = np.where(np.isnan(data), 0.0, data) if not np.isfinite(cval) else data
        _plain(
            filled, flipped * final_scale, modes, 0.0 if np.isnan(cval) else cval, origins, result
        )
    if preserve_nan and bad is not None:
        result[bad] = np.nan
    if array_unit is not None:
        result = result << array_unit
    return result


# --------------------------------------------------------------------------- patching

# (module or function, attribute, original object) for everything replaced, in order.
_replaced: list[tuple[Any, str, Any]] = []
_lock = threading.Lock()


def is_patched() -> bool:
    """True between :func:`patch` and :func:`unpatch`."""
    return bool(_replaced)


def patch() -> None:
    """Put :func:`convolve` and :func:`convolve_fft` in place of astropy's.

    Replaces ``astropy.convolution.convolve`` / ``convolve_fft``, the same
    names in the module ``astropy.convolution.convolve``, the ``convolve``
    default of ``interpolate_replace_nans``, and every attribute of an
    imported module that *is* one of astropy's two functions (modules that did
    ``from astropy.convolution import convolve``; modules imported later find
    the patched names in astropy).  Idempotent.

    Examples
    --------
    >>> import astropy.convolution
    >>> import sepconv.astropy
    >>> original = astropy.convolution.convolve
    >>> sepconv.astropy.patch()
    >>> astropy.convolution.convolve is sepconv.astropy.convolve
    True
    >>> sepconv.astropy.unpatch()
    >>> astropy.convolution.convolve is original
    True
    """
    ours = {"convolve": convolve, "convolve_fft": convolve_fft}
    originals = {id(obj): name for name, obj in _ORIGINAL.items()}
    with _lock:
        if _replaced:
            return
        for modname, module in list(sys.modules.items()):
            if module is None or not isinstance(module, ModuleType) or modname == __name__:
                continue
            try:
                items = list(vars(module).items())
            except TypeError:
                continue
            for attr, value in items:
                name = originals.get(id(value))
                if name is not None and value is _ORIGINAL[name]:
                    _replaced.append((module, attr, value))
                    setattr(module, attr, ours[name])
        interpolate = _astropy_convolve_module.interpolate_replace_nans
        defaults = interpolate.__defaults__
        if defaults and any(d is _ORIGINAL["convolve"] for d in defaults):
            _replaced.append((interpolate, "__defaults__", defaults))
            interpolate.__defaults__ = tuple(
                convolve if d is _ORIGINAL["convolve"] else d for d in defaults
            )


def unpatch() -> None:
    """Put back every object :func:`patch` replaced (no-op when not patched)."""
    with _lock:
        while _replaced:
            owner, attr, original = _replaced.pop()
            setattr(owner, attr, original)


@contextmanager
def patched() -> Iterator[None]:
    """``with patched():`` runs its body with :func:`patch` in effect (nested uses are fine).

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.convolution import convolve as theirs
    >>> import sepconv.astropy
    >>> with sepconv.astropy.patched():
    ...     import astropy.convolution
    ...     y = astropy.convolution.convolve(np.ones(5), [1, 2, 1])
    >>> sepconv.astropy.is_patched()
    False
    """
    owner = not is_patched()
    patch()
    try:
        yield
    finally:
        if owner:
            unpatch()
