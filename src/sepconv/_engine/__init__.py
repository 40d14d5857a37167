"""The filtering engine: lays arrays out for the Numba kernels and runs them.

The engine never validates user input (``sepconv.filters`` did); it receives
arrays, normalised modes, origins and kernels, and writes the result into an
output array that does not overlap the input.

Layout.  The kernels see an N-D array as ``B`` items (``offsets``) of rows:
one *vertical* filtered axis ``H`` (several for dense N-D kernels), one
*horizontal* filtered axis ``W`` and the unfiltered axes ``C`` lying inside
``W`` in memory, merged into one (the channels of an ``(H, W, 3)`` image).  A
row is ``W * C`` elements; horizontal taps step ``C`` elements, so the inner
loops stay contiguous.  Other axes become batch items, or rows of a pass with
no vertical axis.  A single filtered axis with a large block inside it (axis 0
of an ``(H, W)`` image) runs as a vertical-only pass over rows of that block.

Passes.  A separable or low-rank kernel over two axes, and a dense 2-D kernel,
take one pass: rows are gathered (boundary rule, dtype conversion) once into
a ring of ``kv`` rows (long rows) or into one buffer per band of rows (short
rows, several filtered per call), and each output row is computed from them
and written once.  Each further axis of a separable N-D kernel is one more
vertical pass through a work-dtype buffer.

Running sums.  A separable term's constant factor of ``RUNNING_MIN`` taps or
more (box / mean filters) runs as a running sum (:mod:`._running`): a flat
cost per output whatever its length, drift bounded by float64 sums restarted
every few hundred outputs, NaN and infinity as in scipy.  Shorter ones are
cheaper as folded taps (1024^2 float32, one thread, best of 15: both directions
break even between 16 and 21 taps; a 2-D box between 9 and 15).

Size-1 kernel axes are a scale folded into the other factors, not a pass
(:func:`kept_axes`).

Work dtype.  float64 input or output -> float64; float32 input -> float32
(no float64 copy); uint8 / int8 input -> float32 when every output is exact to
well below one unit (``128 * sum|w| * taps <= 2**20``), else float64; other
integer inputs -> float64.

Memory.  Per thread, a ring of ``kv`` padded row strips (strips of ~16 KiB,
the ring capped near 512 KiB, 896 KiB for running sums) or a band buffer of
at most ~256 KiB.  A
separable kernel over three or more axes uses one image-sized work buffer
(two for four or more axes when the output's dtype is not the work dtype).
FFT filtering (scipy.fft) allocates the padded array and its spectrum.

Threads.  Tasks run on the engine's own pool (:mod:`._pool`): the calling
thread and sleeping Python workers take chunks of a call's tasks, each chunk a
``nogil`` Numba loop.  A call uses one thread per ``_pool.WORK_PER_THREAD``
element-taps, so small calls never wake a worker.  The pool is fork-safe,
thread-safe and does not spin (the measured reasons for not using Numba's
threading layers are in the pool's docstring).  Results are the same for
every thread count.

Replays.  Every launch goes through :func:`._launcher._launch`, which a
:func:`recording` collects; :mod:`sepconv._program` replays the launches of a
call signature seen before, so planning and packing happen once.  Work done
outside launches calls :func:`not_replayable`.
"""

from __future__ import annotations

import numpy as np

from . import _pool
from ._direct import mirrored_rows, run_direct
from ._dtypes import FLOAT_TYPES, INT_TYPES, SUPPORTED_DTYPES, convert_like_scipy, work_dtype
from ._fft import run_fft
from ._launcher import Recording, not_replayable, recording
from ._layout import kept_axes
from ._separable import run_separable
from ._taps import RUNNING_LOADS, RUNNING_MIN, fold_taps, running_constant

__all__ = [
    "FLOAT_TYPES",
    "INT_TYPES",
    "RUNNING_LOADS",
    "RUNNING_MIN",
    "Recording",
    "SUPPORTED_DTYPES",
    "convert_like_scipy",
    "fold_taps",
    "get_num_threads",
    "kept_axes",
    "mirrored_rows",
    "not_replayable",
    "recording",
    "run_direct",
    "running_constant",
    "run_fft",
    "run_separable",
    "set_num_threads",
    "work_dtype",
]


# --------------------------------------------------------------------------- threads


def set_num_threads(n: int) -> None:
    """Set the number of threads the filtering kernels use (in the calling thread).

    Results are identical for every thread count.  The default is every core
    this process may run on; each call uses fewer when its work is too small
    to pay for waking a thread (see :mod:`sepconv._engine._pool`).

    Parameters
    ----------
    n : int
        ``1 <= n <= get_num_threads(max=True)``.

    Examples
    --------
    >>> import sepconv
    >>> before = sepconv.get_num_threads()
    >>> sepconv.set_num_threads(1)
    >>> sepconv.get_num_threads()
    1
    >>> sepconv.set_num_threads(before)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer number of threads, got {n!r}")
    limit = _pool.max_threads()
    if not 1 <= n <= limit:
        raise ValueError(f"n must be between 1 and {limit} (the cores available), got {n}")
    _pool.set_num_threads(int(n))


def get_num_threads(max: bool = False) -> int:  # noqa: A002 - mirrors the keyword's meaning
    """Number of threads the filtering kernels use (``max=True``: the most allowed).

    Examples
    --------
    >>> import sepconv
    >>> 1 <= sepconv.get_num_threads() <= sepconv.get_num_threads(max=True)
    True
    """
    return _pool.max_threads() if max else _pool.get_num_threads()
