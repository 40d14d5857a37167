"""Lay validated arrays out for the exact kernels and run them.

Nothing here validates user input (``sepconv._args`` did).  The kernels see
C-contiguous arrays of a few dtypes (uint8, float32, float64: other inputs are
converted to float64 first, which is exactly scipy's ``(double)`` read), so
Numba compiles few specialisations; outputs of any supported dtype are written
in place when they are C-contiguous and through one temporary otherwise.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .. import _args
from .._args import kept_taps
from .._boundary import extend_indices, kernel_reach
from .._engine import _pool
from . import _exact, _fused, _lane

__all__ = [
    "run_correlate1d",
    "run_correlate_nd",
    "run_passes",
    "run_sum_of_passes",
    "run_two_terms",
    "run_uniform1d",
]

_NATIVE = (np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64))
_NATIVE_SET = frozenset(_NATIVE)


def _one_thread(work: int) -> bool:
    """Whether the pool runs ``work`` on one thread whatever the setting (its own rule)."""
    return work < 2 * _pool.WORK_PER_THREAD


def _parallel_for(fn: Any, n: int, args: tuple, work: int, workers: int | None) -> None:
    """Run ``fn(start, stop, *args)`` over ``0 .. n``, threaded by the engine's pool."""
    if n <= 0:
        return
    if workers == 1 or _one_thread(work):
        # One thread either way: skip the pool's bookkeeping.
        fn(0, n, *args)
        return
    if workers is None:
        _pool.parallel_for(fn, n, args, work)
        return
    # workers overrides the calling thread's setting for this call only.
    before = _pool.get_num_threads()
    _pool.set_num_threads(_pool.max_threads() if workers == -1 else workers)
    try:
        _pool.parallel_for(fn, n, args, work)
    finally:
        _pool.set_num_threads(before)


def _source(array: np.ndarray) -> np.ndarray:
    """The input as the kernels read it: C-contiguous uint8, float32 or float64."""
    if array.dtype in _NATIVE_SET and array.flags.c_contiguous:
        return array  # the common case, checked first: small calls are all overhead
    if array.dtype == np.bool_:
        array = array.view(np.uint8)
    if array.dtype in _NATIVE and array.dtype.isnative:
        return np.ascontiguousarray(array)
    # (double) of every integer type: numpy's conversion rounds as C does.
    return np.ascontiguousarray(array, dtype=np.float64)


_RAW = {
    np.dtype(t): np.dtype(u)
    for t, u in (
        (np.bool_, np.uint8),
        (np.int8, np.uint8),
        (np.int16, np.uint16),
        (np.int32, np.uint32),
        (np.int64, np.uint64),
    )
}


def _target(output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dst, copy_back)``: a C-contiguous array to write, and where to copy it after."""
    # Integers are stored through unsigned views of their width: the C cast's
    # low bits are the same bytes either way, and Numba compiles fewer kernels.
    raw = _RAW.get(output.dtype)
    out = output.view(raw) if raw is not None else output
    if out.flags.c_contiguous and out.dtype.isnative:
        return out, None
    return np.empty(out.shape, out.dtype.newbyteorder("=")), out


def _finish(dst: np.ndarray, copy_back: np.ndarray | None) -> None:
    if copy_back is not None:
        copy_back[...] = dst


def _same_layout(a: np.ndarray, b: np.ndarray) -> bool:
    # (Only asked when the bounds overlap: __array_interface__ costs a microsecond.)
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.strides == b.strides
        and a.shape == b.shape
    )


def _independent(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    # The kernels that read other lines than the one they write need a source
    # that the output does not overlap.
    if np.may_share_memory(src, dst):
        return src.copy()
    return src


@functools.lru_cache(maxsize=512)
def _indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    # The index map of a line depends only on these four values: computing it
    # once per shape keeps small calls thin.
    idx = extend_indices(n, before, after, mode)
    idx.flags.writeable = False
    return idx


def _lines(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    if len(shape) == 2:
        return (1, shape[0], shape[1]) if axis == 0 else (shape[0], shape[1], 1)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


def _run_1d(
    kernel_last: Any,
    kernel_inner: Any,
    array: np.ndarray,
    axis: int,
    output: np.ndarray,
    idx: np.ndarray,
    extra: tuple,
    taps: int,
    ring: int,
    workers: int | None,
) -> _lane.Launch | None:
    """Run the pass; return it as a :class:`._lane.Launch` when it was one
    single-threaded kernel call on the arrays as given (a small call that
    can be replayed), None otherwise."""
    if array.size == 0:
        return None
    src = _source(array)
    dst, copy_back = _target(output)
    outer, n, inner = _lines(array.shape, axis)
    code = _exact.store_code(output.dtype)
    work = array.size * taps
    if inner == 1:
        # Each line is read whole into a buffer before it is written: exactly in
        # place is safe (sobel's passes write over their input, as in scipy).
        if np.may_share_memory(src, dst) and not _same_layout(src, dst):
            src = src.copy()
        kernel, units, lines, tail = kernel_last, outer, (outer, n), (code,)
    else:
        src = _independent(src, dst)
        block = _exact.block_width(ring)
        kernel, units = kernel_inner, outer * -(-inner // block)
        lines, tail = (outer, n, inner), (code, block)
    args = (src.reshape(lines), dst.reshape(lines), idx, *extra, *tail)
    _parallel_for(kernel, units, args, work, workers)
    _finish(dst, copy_back)
    replayable = copy_back is None and src is array and _one_thread(work)
    return _launch(kernel, units, lines, (idx, *extra, *tail), output, dst) if replayable else None


def _launch(
    kernel: Any, units: int, lines: tuple, extra: tuple, output: np.ndarray, dst: np.ndarray
) -> _lane.Launch:
    """The call just made, for :mod:`._lane`: the kernel ran once, single-threaded, on the
    caller's input and output as they are (the callers check that)."""
    # The arrays among the arguments may be the caller's weights (even a read-only
    # view of them can change): keep copies.  Recording happens once per key.
    kept = []
    for value in extra:
        if isinstance(value, np.ndarray):
            value = value.copy()
            value.flags.writeable = False
        kept.append(value)
    return _lane.Launch(kernel, units, lines, tuple(kept), output.dtype, dst.dtype)


def run_correlate1d(
    array: np.ndarray,
    fw: np.ndarray,
    axis: int,
    output: np.ndarray,
    mode: str,
    cval: float,
    origin: int,
    workers: int | None = None,
) -> _lane.Launch | None:
    """scipy's ``correlate1d`` core: float64 weights ``fw``, validated arguments."""
    size = fw.shape[0]
    n = array.shape[axis]
    if n == 0 or array.size == 0:
        return None
    before, after = kernel_reach(size, origin)
    idx = _indices(n, before, after, mode)
    extra = (before, float(cval), fw)
    return _run_1d(
        _exact.correlate1d_last,
        _exact.correlate1d_inner,
        array,
        axis,
        output,
        idx,
        extra,
        size,
        size,  # the inner kernel keeps a ring of `size` rows
        workers,
    )


# Output dtypes a fused intermediate can be read back from as scipy reads it
# (signed and bool outputs are written through unsigned views: not these).
_FUSABLE = frozenset(
    np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64, np.float32, np.float64)
)


Pass = tuple[int, np.ndarray, str, int]  # (axis, float64 weights, mode, origin), validated


def run_passes(
    array: np.ndarray,
    passes: list[Pass],
    output: np.ndarray,
    cval: float,
    workers: int | None = None,
) -> list[_lane.Launch | None]:
    """``correlate1d`` passes in order, each stored in ``output``'s dtype as
    scipy's multi-axis filters store them; returns what ran, for :mod:`._lane`.

    When the last two passes are over the last two axes and ``output``'s dtype
    can carry the intermediate (see :mod:`._fused`), they run as one sweep;
    earlier passes (a volume's first axis) go through a temporary of
    ``output``'s dtype, which holds exactly what scipy's ``output`` would.
    """
    nd = array.ndim
    fuse = (
        len(passes) >= 2
        and array.size > 0
        and {passes[-2][0], passes[-1][0]} == {nd - 2, nd - 1}
        and output.dtype in _FUSABLE
        and output.dtype.isnative
    )
    head = passes[:-2] if fuse else passes
    launches = []
    for i, (axis, fw, mode, origin) in enumerate(head):
        if fuse and i == 0:
            staged = np.empty(output.shape, output.dtype)
        target = staged if fuse else output
        launches.append(run_correlate1d(array, fw, axis, target, mode, cval, origin, workers))
        array = target
    if not fuse:
        return launches
    if head:  # the launches went to a temporary: not replayable
        launches.append(None)
    if passes[-2][0] == nd - 2:
        sweep = _sweep(_fused.col_then_row, array, passes[-2], passes[-1], output, cval, workers)
    else:
        sweep = _sweep(_fused.row_then_col, array, passes[-1], passes[-2], output, cval, workers)
    return [*launches, sweep]


# Output dtypes whose += numpy performs as the kernels add (wrapping integers,
# IEEE floats): every real dtype but bool, whose += is a logical or.
_ADDABLE = frozenset(d for d in _args.REAL_DTYPES if d != np.bool_)


def run_sum_of_passes(
    array: np.ndarray,
    passes: list[Pass],
    output: np.ndarray,
    cval: float,
    workers: int | None = None,
) -> list[_lane.Launch | None] | None:
    """``output = pass_0(array) + pass_1(array)``, each term stored in ``output``'s
    dtype and added in it (scipy's ``generic_laplace``), in one sweep.

    Only for two passes over the last two axes of a 2-D array (more terms
    would be added in another order); returns False, having done nothing,
    otherwise.  Returns what ran (for :mod:`._lane`).
    """
    if (
        array.ndim != 2
        or len(passes) != 2
        or array.size == 0
        or {passes[0][0], passes[1][0]} != {0, 1}
        or output.dtype not in _ADDABLE
        or not output.dtype.isnative
    ):
        return None
    rows, cols = passes if passes[0][0] == 0 else passes[::-1]
    return [_sweep(_fused.col_plus_row, array, rows, cols, output, cval, workers)]


def run_two_terms(
    array: np.ndarray,
    rows: tuple[str, np.ndarray, np.ndarray],
    cols: tuple[str, np.ndarray, np.ndarray],
    output: np.ndarray,
    cval: float,
    *,
    root: bool,
    workers: int | None = None,
) -> None:
    """Two separable terms of a 2-D image combined (:func:`._fused.two_pairs`).

    ``rows`` is ``(mode, weights of term a, weights of term b)`` along axis 0,
    ``cols`` the same along axis 1; ``output`` is float32 or float64.
    """
    if array.size == 0:
        return
    (m0, fa0, fb0), (m1, fa1, fb1) = rows, cols
    n0, n1 = array.shape
    b0, a0 = kernel_reach(fa0.shape[0], 0)
    b1, a1 = kernel_reach(fa1.shape[0], 0)
    src = _independent(_source(array), output)
    dst, copy_back = _target(output)
    strip = _fused.strip_rows(n1, 16)
    args = (
        src.reshape(1, n0, n1),
        dst.reshape(1, n0, n1),
        _indices(n0, b0, a0, m0),
        _indices(n1, b1, a1, m1),
        b1,
        float(cval),
        fa0,
        fa1,
        fb0,
        fb1,
        _exact.store_code(output.dtype),
        strip,
        root,
    )
    work = 2 * array.size * (fa0.shape[0] + fa1.shape[0])
    _parallel_for(_fused.two_pairs, -(-n0 // strip), args, work, workers)
    _finish(dst, copy_back)


def _sweep(
    kernel: Any,
    array: np.ndarray,
    rows: Pass,
    cols: Pass,
    output: np.ndarray,
    cval: float,
    workers: int | None,
) -> _lane.Launch | None:
    # One of the _fused kernels: ``rows`` filters along axis -2, ``cols`` along -1.
    n0, n1 = array.shape[-2:]
    fw0, fw1 = rows[1], cols[1]
    b0, a0 = kernel_reach(fw0.shape[0], rows[3])
    b1, a1 = kernel_reach(fw1.shape[0], cols[3])
    src = _independent(_source(array), output)
    dst, copy_back = _target(output)
    strip = _fused.strip_rows(n1, 8)
    lines = (-1, n0, n1)
    extra = (
        _indices(n0, b0, a0, rows[2]),
        _indices(n1, b1, a1, cols[2]),
        b1,
        float(cval),
        fw0,
        fw1,
        _exact.store_code(output.dtype),
        strip,
    )
    units = (array.size // (n0 * n1)) * -(-n0 // strip)
    work = array.size * (fw0.shape[0] + fw1.shape[0])
    _parallel_for(kernel, units, (src.reshape(lines), dst.reshape(lines), *extra), work, workers)
    _finish(dst, copy_back)
    replayable = copy_back is None and src is array and _one_thread(work)
    return _launch(kernel, units, lines, extra, output, dst) if replayable else None


def run_uniform1d(
    array: np.ndarray,
    size: int,
    axis: int,
    output: np.ndarray,
    mode: str,
    cval: float,
    origin: int,
    workers: int | None = None,
) -> _lane.Launch | None:
    """scipy's ``uniform_filter1d`` core (a running sum: cost flat in ``size``)."""
    n = array.shape[axis]
    if n == 0 or array.size == 0:
        return None
    before, after = kernel_reach(size, origin)
    idx = _indices(n, before, after, mode)
    return _run_1d(
        _exact.uniform1d_last,
        _exact.uniform1d_inner,
        array,
        axis,
        output,
        idx,
        (before, float(cval), int(size)),
        2,
        4,  # the inner running sum keeps four rows
        workers,
    )


def run_correlate_nd(
    array: np.ndarray,
    weights: np.ndarray,
    output: np.ndarray,
    mode: str,
    cval: float,
    origins: list[int],
    workers: int | None = None,
) -> None:
    """scipy's N-D ``correlate`` core: ``weights`` has ``array.ndim`` dimensions.

    Images and volumes run strip by strip (:func:`._fused.correlate3d`); more
    dimensions extend the whole array first (:func:`_exact.correlate_nd`).
    """
    if array.size == 0:
        return
    if array.ndim in (2, 3):
        _correlate3d(array, weights, output, mode, cval, origins, workers)
        return
    padded = _pad_nd(array, weights.shape, origins, mode, cval)
    strides = tuple(s // 8 for s in padded.strides)
    pstrides, offsets, wts = _taps(weights.tobytes(), weights.shape, strides)
    dst, copy_back = _target(output)
    n = array.shape[-1]
    rows = array.size // n
    oshape = np.array(array.shape, dtype=np.int64)
    code = _exact.store_code(output.dtype, nd=True)
    args = (padded.reshape(-1), pstrides, oshape, dst.reshape(rows, n), offsets, wts, code)
    _parallel_for(_exact.correlate_nd, rows, args, array.size * max(len(wts), 1), workers)
    _finish(dst, copy_back)


def _correlate3d(
    array: np.ndarray,
    weights: np.ndarray,
    output: np.ndarray,
    mode: str,
    cval: float,
    origins: list[int],
    workers: int | None,
) -> None:
    # A 2-D image is one plane of a volume, with a kernel one plane deep.
    shape, kshape = array.shape, weights.shape
    if array.ndim == 2:
        shape, kshape, origins = (1, *shape), (1, *kshape), [0, *origins]
    src = _independent(_source(array), output)
    reach = [kernel_reach(k, o) for k, o in zip(kshape, origins)]
    idx = [_indices(n, b, a, mode) for n, (b, a) in zip(shape, reach)]
    taps, wts = _taps3d(weights.tobytes(), kshape)
    dst, copy_back = _target(output)
    strip = _fused.strip_rows(idx[2].shape[0] * kshape[0], 8)
    code = _exact.store_code(output.dtype, nd=True)
    args = (
        src.reshape(shape),
        dst.reshape(shape),
        *idx,
        reach[2][0],
        float(cval),
        taps,
        wts,
        code,
        strip,
    )
    units = shape[0] * -(-shape[1] // strip)
    _parallel_for(_fused.correlate3d, units, args, array.size * max(len(wts), 1), workers)
    _finish(dst, copy_back)


@functools.lru_cache(maxsize=256)
def _taps3d(data: bytes, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, weights)`` of a 3-D kernel's kept taps in C order (plane, row, column)."""
    weights = np.frombuffer(data, dtype=np.float64).reshape(shape)
    mask = kept_taps(weights)  # NaN weights are skipped, as in C
    taps = np.ascontiguousarray(np.argwhere(mask), dtype=np.int64).reshape(-1, 3)
    wts = np.ascontiguousarray(weights[mask], dtype=np.float64)
    for a in (taps, wts):
        a.flags.writeable = False
    return taps, wts


@functools.lru_cache(maxsize=256)
def _taps(
    data: bytes, shape: tuple[int, ...], strides: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(strides, offsets, weights)`` of the kept taps in C order, per kernel and layout."""
    weights = np.frombuffer(data, dtype=np.float64).reshape(shape)
    mask = kept_taps(weights)  # NaN weights are skipped, as in C
    pstrides = np.array(strides, dtype=np.int64)
    offsets = (np.argwhere(mask) * pstrides).sum(axis=1).astype(np.int64)
    wts = np.ascontiguousarray(weights[mask], dtype=np.float64)
    for a in (pstrides, offsets, wts):
        a.flags.writeable = False
    return pstrides, offsets, wts


def _pad_nd(
    array: np.ndarray, kshape: tuple[int, ...], origins: list[int], mode: str, cval: float
) -> np.ndarray:
    """The boundary-extended input in double, one axis at a time."""
    padded = np.asarray(array.view(np.uint8) if array.dtype == np.bool_ else array)
    padded = padded.astype(np.float64)
    for ax, (k, o) in enumerate(zip(kshape, origins)):
        if k == 1 and o == 0:
            continue
        before, after = kernel_reach(k, o)
        idx = extend_indices(array.shape[ax], before, after, mode)
        padded = np.take(padded, np.maximum(idx, 0), axis=ax)
        if mode == "constant":
            where = [slice(None)] * array.ndim
            where[ax] = idx < 0
            padded[tuple(where)] = cval
    return np.ascontiguousarray(padded)
