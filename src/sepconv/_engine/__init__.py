"""The one filtering engine: sweeps through a ring of rows, by arithmetic policy.

The engine never validates user input (the public functions did, through
:mod:`sepconv._args`); it receives arrays and normalised axes, weights,
modes, origins and ``cval``, and writes the result into an output array.

What runs (one kernel layer for every path):

* :func:`run_passes` -- 1-D passes in order, the last two fused into one sweep
  when their axes are adjacent (:mod:`._sweep`: a ring of rows, bands x
  strips of a plane, OpenCV's FilterEngine); :func:`run_terms` -- a sum of
  separable terms over two adjacent axes in one sweep (low-rank kernels, the
  terms of a Laplacian); :func:`run_bank` -- several filterings of one read
  of the data in one sweep (shared horizontal passes, input transforms,
  several outputs or their quotient: derivative banks, normalized
  convolution); :func:`run_dense` -- a dense kernel (2-D through the
  sweep, row by row; more axes through :mod:`._dense`); :func:`run_box_exact`
  -- scipy's running sums (:mod:`._box`); :func:`run_fft` -- scipy.fft;
  :func:`run_recursive` -- recursive Gaussians and derivatives, flat in sigma
  (:mod:`._recursive`); :func:`pointwise` -- products, sums, norms and
  eigenvalues of the fields a bank computes (:mod:`._pointwise`).
  :func:`run_minmax` / :func:`run_minmax_direct` -- minimum and maximum
  filters, scipy's separable and N-D ones (:mod:`._morphology`,
  :mod:`._minmax`: the same layout, tasks and launches, a min/max reduction
  in place of the multiply-add).
* The arithmetic policy is the only variation (:mod:`._arith`): ``"exact"``
  (scipy.ndimage's bits: double arithmetic in scipy's order without FMA,
  every pass stored in the output dtype) and ``"fast"`` (rounding-level:
  float32 work where exact enough, FMA, the intermediate kept in the work
  dtype; uint8 smoothing in 16-bit fixed point, :mod:`._fixed`, within a
  stated bound).  Boundary extension (:mod:`sepconv._boundary`), dtype conversion
  and scipy's C cast (:mod:`._cast`), layout, strips, threads (:mod:`._pool`)
  and replay (:mod:`._launch`) exist once and serve both.

Every kernel launch goes through :func:`._launch.launch`; a :func:`recording`
collects them and a :class:`ProgramCache` replays them for calls with the same
signature (:mod:`sepconv._replay` builds the keys).
"""

from __future__ import annotations

import numpy as np

from . import _pool
from ._cast import convert_like_scipy, store_code
from ._fft import fft_length, run_fft
from ._fixed import plan as fixed_point_plan
from ._launch import Program, ProgramCache, Recording, not_replayable, recording
from ._minmax import OP_MAX, OP_MIN
from ._morphology import MinMaxPass, has_nan, run_minmax, run_minmax_direct
from ._native import address_of, call, pointer
from ._passes import (
    EXACT,
    FAST,
    MAX_HALO,
    Pass,
    kept_axes,
    mirrored_rows,
    run_bank,
    run_box_exact,
    run_dense,
    run_direct,
    run_passes,
    run_separable,
    run_terms,
    work_dtype,
)
from ._pointwise import COPY as POINT_COPY
from ._pointwise import DIFFERENCE as POINT_DIFFERENCE
from ._pointwise import EIGEN2 as POINT_EIGEN2
from ._pointwise import EIGEN3 as POINT_EIGEN3
from ._pointwise import HYPOT as POINT_HYPOT
from ._pointwise import PRODUCT as POINT_PRODUCT
from ._pointwise import SUM as POINT_SUM
from ._pointwise import pointwise
from ._pointwise import step as pointwise_step
from ._recursive import MAX_ERROR as RECURSIVE_MAX_ERROR
from ._recursive import MIN_SIGMA as RECURSIVE_MIN_SIGMA
from ._recursive import impulse_response as recursive_impulse_response
from ._recursive import run_recursive
from ._sweep import (
    COMBINE_ADD_DST,
    COMBINE_DIVIDE,
    COMBINE_EIGEN,
    COMBINE_HYPOT,
    COMBINE_HYPOT_DST,
    COMBINE_SEPARATE,
    COMBINE_SUM,
    ORDER_HV,
    ORDER_VH,
    TRANSFORM_NONE,
    TRANSFORM_NOT_NAN,
    TRANSFORM_ZERO_NAN,
)
from ._tables import RUNNING_LOADS, RUNNING_MIN, fold_taps, running_constant

__all__ = [
    "COMBINE_ADD_DST",
    "COMBINE_DIVIDE",
    "COMBINE_EIGEN",
    "COMBINE_HYPOT",
    "COMBINE_HYPOT_DST",
    "COMBINE_SEPARATE",
    "COMBINE_SUM",
    "EXACT",
    "FAST",
    "MAX_HALO",
    "MinMaxPass",
    "OP_MAX",
    "OP_MIN",
    "ORDER_HV",
    "ORDER_VH",
    "POINT_COPY",
    "POINT_DIFFERENCE",
    "POINT_EIGEN2",
    "POINT_EIGEN3",
    "POINT_HYPOT",
    "POINT_PRODUCT",
    "POINT_SUM",
    "Pass",
    "Program",
    "RECURSIVE_MAX_ERROR",
    "RECURSIVE_MIN_SIGMA",
    "RUNNING_LOADS",
    "RUNNING_MIN",
    "ProgramCache",
    "TRANSFORM_NONE",
    "TRANSFORM_NOT_NAN",
    "TRANSFORM_ZERO_NAN",
    "Recording",
    "address_of",
    "call",
    "convert_like_scipy",
    "fft_length",
    "fixed_point_plan",
    "fold_taps",
    "get_num_threads",
    "has_nan",
    "kept_axes",
    "mirrored_rows",
    "not_replayable",
    "parallel_for",
    "pointer",
    "pointwise",
    "pointwise_step",
    "recursive_impulse_response",
    "recording",
    "run_bank",
    "run_box_exact",
    "run_dense",
    "run_direct",
    "run_fft",
    "run_minmax",
    "run_minmax_direct",
    "run_passes",
    "run_recursive",
    "run_separable",
    "run_terms",
    "running_constant",
    "set_num_threads",
    "store_code",
    "work_dtype",
]

parallel_for = _pool.parallel_for


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
