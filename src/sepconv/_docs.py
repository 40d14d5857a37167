"""The one table of parameter descriptions, filled into every filter's docstring.

scipy's ``docfiller`` idea: a parameter shared by many functions (``input``,
``output``, ``mode``, ...) is described once here, and a docstring writes
``%(mode)s`` where the description goes.  ``sepconv.correlate`` and
``sepconv.ndimage.correlate`` take the same arguments (one normaliser,
:mod:`sepconv._args`), so they describe them with the same words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["PARAMETERS", "fill_doc"]

F = TypeVar("F", bound=Callable[..., Any])

PARAMETERS = {
    "input": """input : array_like
        The array to filter: bool, (u)int8 .. (u)int64, float32, float64,
        complex64 or complex128 (complex data is filtered as its real and
        imaginary parts, as scipy composes it; float16 is refused, as by
        scipy).  Any strides and byte order; never modified.""",
    "output": """output : ndarray or dtype, optional
        Array to store the result in (the input's shape; it may overlap the
        input), or its dtype.  Default: ``input.dtype``.  Integer outputs are
        C casts of the floating result (truncated toward zero; out-of-range
        values wrap as on x86-64), as scipy stores them.""",
    "mode": """mode : str or sequence of str, optional
        How the array extends beyond its edges (one mode, or one per filtered
        axis): ``'reflect'`` (``d c b a | a b c d | d c b a``, default),
        ``'mirror'`` (``d c b | a b c d | c b a``), ``'nearest'``
        (``a a a | a b c d | d d d``), ``'wrap'`` (``a b c d | a b c d``),
        ``'constant'`` (``k k k | a b c d | k k k`` with ``k = cval``), and
        scipy's synonyms ``'grid-mirror'`` (= reflect), ``'grid-constant'``
        (= constant), ``'grid-wrap'`` (= wrap).""",
    "mode_one": """mode : str, optional
        Boundary mode (see :func:`sepconv.correlate`); one mode for every axis,
        as scipy's ``correlate`` takes.  Default ``'reflect'``.""",
    "cval": """cval : scalar, optional
        Value beyond the edges for ``mode='constant'``.  Default 0.0.""",
    "origin": """origin : int or sequence of int, optional
        Shift of the kernel's anchor, one per filtered axis or one for all;
        ``-(k // 2) <= origin <= (k - 1) // 2`` for a kernel of ``k`` taps.
        Default 0 (the centre, ``k // 2``).""",
    "axis": """axis : int, optional
        The axis to filter.  Default -1.""",
    "axes": """axes : int or sequence of int, optional
        Axes to filter; the others are filtered independently (batches,
        channels).  Default: all axes.  As in scipy.ndimage, the kernel's
        dimensions follow the filtered axes in increasing order, while
        ``origin`` and ``mode`` entries follow ``axes`` as given.""",
    "weights_nd": """weights : array_like
        The kernel: one dimension per filtered axis.""",
    "weights_1d": """weights : array_like
        1-D sequence of weights.""",
    "workers": """workers : int, optional
        Threads to use: ``None`` (default) is sepconv's setting
        (:func:`sepconv.set_num_threads`), ``-1`` all cores.  Results do not
        depend on it.""",
    "method": """method : {'auto', 'direct', 'separable', 'lowrank', 'fft'}, optional
        How to compute.  ``'auto'`` (default) takes the cheapest exact method
        for this kernel and shape (see :func:`sepconv.plan`); ``'separable'``
        raises :class:`sepconv.NotSeparableError` for a kernel that does not
        separate; ``'lowrank'`` sums separable passes approximating the kernel
        to ``rtol`` (2-D kernels); ``'fft'`` pads with the boundary mode and
        convolves with scipy.fft (NaN or infinity then spreads to the whole
        output, and float32 results carry FFT rounding relative to the
        largest value).""",
    "rtol": """rtol : float, optional
        Relative (Frobenius) error allowed in the kernel.  With ``'auto'`` it
        lets low-rank plans compete; with ``'lowrank'`` it sets the rank
        (default: the kernel's numerical rank, which is exact).""",
    "nan_policy": """nan_policy : {'propagate', 'omit'}, optional
        ``'propagate'`` (default): a NaN sample spreads to every output whose
        kernel reads it through a nonzero weight, as in scipy (the result is
        unchanged: scipy's bits for :mod:`sepconv.ndimage`).  ``'omit'``:
        normalized convolution -- each output is the weighted mean of the
        valid (not NaN) samples under the kernel, ``correlate(x with NaN as 0)
        / correlate(valid)`` computed in one sweep; samples beyond a
        ``'constant'`` edge are ``cval`` (valid unless ``cval`` is NaN); an
        output whose kernel covers no valid sample is NaN; infinities are
        data; the output is floating (float32 for float32 input, else float64)
        and computed by the engine's fast policy (rounding-level).  Weights
        must have one sign (normalization is undefined for derivatives).""",
    "mask": """mask : array_like of bool, optional
        Samples to ignore (True), the input's shape: they are skipped as
        NaN samples are with ``nan_policy='omit'`` (normalized convolution,
        floating output), for data whose no-data samples are not NaN.  Costs
        a float copy of the input with NaN at the masked samples.  With
        ``nan_policy='propagate'`` NaN samples outside the mask still
        spread.""",
    "method_gaussian": """method : {'fir', 'recursive'}, optional
        ``'fir'`` (default): scipy's sampled kernel, scipy's bits.
        ``'recursive'``: a recursive Gaussian (orders 0, 1, 2; Deriche's
        parallel form with three pole pairs, boundaries as the mode extends
        them) whose cost per sample does not grow with sigma; its kernel
        differs from the exactly sampled one by at most 5e-6, 6e-5 and 1e-4
        of its peak (orders 0, 1, 2; sigma >= 1), and from scipy's
        ``truncate=4`` kernel also by scipy's truncation (3.4e-4 of the peak
        for order 0).  ``truncate`` does not apply.""",
    "size_foot": """size : scalar or tuple, optional
        Shape of the window: one length per filtered axis, or one for all
        (``footprint = np.ones(size)``).  ``size`` or ``footprint`` is needed.
    footprint : array_like, optional
        Boolean array of the window's shape: the neighbours whose minimum
        (maximum) is taken.  An all-true footprint runs as ``size =
        footprint.shape`` (1-D passes; one mode per axis allowed); any other
        runs scipy's N-D filter (one mode).  Given with ``size``, ``size`` is
        ignored with scipy's warning.""",
    "structure": """structure : array_like, optional
        Non-flat structuring element: offsets subtracted (erosion) or added
        (dilation) to the neighbours, computed in the input's type as scipy
        computes them; its shape is the footprint's.""",
    "features_common": """mode : str or sequence of str, optional
        Boundary mode per filtered axis (scipy's: ``'reflect'``, ``'mirror'``,
        ``'nearest'``, ``'wrap'``, ``'constant'`` and the ``grid-`` synonyms).
    cval : float, optional
        Value beyond the edges for ``'constant'``; as in scipy, every pass pads
        its input with it.
    axes : sequence of int, optional
        The one to three filtered axes (default: all); per-axis ``sigma`` and
        ``mode`` entries follow ``axes`` as given.
    output : dtype or ndarray, optional
        float32 or float64, or an array of the result's shape.  Default:
        float32 for float32 input, else float64.
    method : {'fir', 'recursive'}, optional
        ``'fir'`` (default): scipy's sampled kernels; ``'recursive'``: the
        recursive Gaussian (cost flat in sigma; see the module notes).
    workers : int, optional
        Threads (``-1``: all cores); results do not depend on it.""",
    "returns": """ndarray
        The result (``output`` itself when an array is given).""",
}


def fill_doc(func: F) -> F:
    """Fill ``%(name)s`` in ``func``'s docstring from :data:`PARAMETERS`."""
    func.__doc__ = (func.__doc__ or "") % PARAMETERS
    return func
