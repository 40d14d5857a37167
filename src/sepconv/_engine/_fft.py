"""FFT filtering through scipy.fft, with the boundary rule applied by padding.

Not a kernel launch: :func:`run_fft` marks the recording not replayable and
converts its result like scipy (:func:`convert_like_scipy`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._boundary import extend_indices, kernel_reach
from ._cast import convert_like_scipy
from ._launch import not_replayable
from ._passes import kept_axes, work_dtype

# --------------------------------------------------------------------------- FFT


def fft_length(n: int) -> int:
    """The smallest 5-smooth number ``>= n``: ``scipy.fft.next_fast_len(n, real=True)``.

    The planner's cost model and memory estimate need it for every call that
    considers an FFT; importing scipy.fft for it cost 0.44 s on a process's
    first filter (tests check the two agree).

    Examples
    --------
    >>> [fft_length(n) for n in (1, 7, 97, 1025)]
    [1, 8, 100, 1080]
    """
    best = None
    p5 = 1
    while True:
        p35 = p5
        while True:
            # the smallest power of two taking p35 to n or beyond
            m = p35
            while m < n:
                m *= 2
            best = m if best is None else min(best, m)
            p35 *= 3
            if p35 >= 2 * n:
                break
        p5 *= 5
        if p5 >= 2 * n:
            break
    return max(best, 1)


def run_fft(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
) -> None:
    """Correlate via scipy.fft: pad with the boundary rule, convolve, keep the valid part.

    Integer input with integer-valued weights has integer results: they are
    rounded to the nearest integer before conversion, which undoes the FFT's
    rounding error (below 0.5 for any practical size).
    """
    import scipy.fft
    from scipy.signal import fftconvolve

    from ._pool import get_num_threads

    not_replayable()
    axes = list(axes)
    weights = np.asarray(weights, dtype=np.float64)
    kept = kept_axes(weights.shape)
    if len(kept) < len(axes):
        weights = weights.reshape([weights.shape[i] for i in kept])
        axes = [axes[i] for i in kept]
        modes = [modes[i] for i in kept]
        origins = [origins[i] for i in kept]
    work = work_dtype(src.dtype, dst.dtype, float(np.abs(weights).sum()), weights.size)
    padded = np.asarray(src, dtype=work)
    for i, ax in enumerate(axes):
        before, after = kernel_reach(weights.shape[i], origins[i])
        index = extend_indices(src.shape[ax], before, after, modes[i])
        if np.any(index < 0):
            fill_shape = list(padded.shape)
            fill_shape[ax] = 1
            fill = np.full(fill_shape, cval, dtype=work)
            padded = np.concatenate([padded, fill], axis=ax)
            index = np.where(index < 0, src.shape[ax], index)
        padded = np.take(padded, index, axis=ax)
    # fftconvolve convolves: flip the kernel, order its axes like the array's,
    # and give it length-1 axes where the array is not filtered.
    kernel = weights.astype(work)[(slice(None, None, -1),) * weights.ndim]
    kernel = kernel.transpose(np.argsort(axes))
    shape = [1] * src.ndim
    for i, ax in enumerate(axes):
        shape[ax] = weights.shape[i]
    kernel = kernel.reshape(shape)
    with scipy.fft.set_workers(get_num_threads()):  # the engine's thread count
        result = fftconvolve(padded, kernel, mode="valid", axes=axes)
    if src.dtype.kind in "iu" and np.all(weights == np.round(weights)) and np.isfinite(cval):
        if float(cval) == round(float(cval)):
            result = np.rint(result)
    dst[...] = convert_like_scipy(result, dst.dtype, nd=True)
