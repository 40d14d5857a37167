"""Min/max filterings laid out, sized and launched (the kernels: :mod:`._minmax`).

:func:`run_minmax` is scipy's separable minimum / maximum (``size`` or an
all-true footprint): 1-D passes in scipy's order, each as scipy stores it.
:func:`run_minmax_direct` is scipy's N-D one (any other footprint, or a
structure).  Both take validated arguments, as the whole engine does.

Which kernels run (every one exact, see :mod:`._minmax` for why each is):

* NaN possible (a float input holding NaN, or a NaN ``cval`` beyond a
  ``'constant'`` edge): scipy's own 1-D algorithm, line by line
  (:func:`._minmax.minmax_lines` / :func:`._minmax.minmax_columns`), every
  pass stored in the output dtype.
* Otherwise the sweep (:func:`._minmax.minmax_sweep`): the last two passes
  run as one sweep when their axes are adjacent and their intermediate
  needs no rounding (:func:`_fusable`), rows in the input's own dtype where
  that is exact (:data:`NATIVE`, :func:`work_dtype`).

Layout, task sizes and launches are the engine's (:mod:`._passes`,
:mod:`._launch`), so these calls replay like every other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._boundary import extend_indices, kernel_reach
from . import _minmax, _pool, _sweep
from ._cast import convert_like_scipy, dtype_code, store_code
from ._launch import copy, launch
from ._passes import _independent, _plane, _sizes, finish, raw, source, target

__all__ = ["MinMaxPass", "NATIVE", "has_nan", "run_minmax", "run_minmax_direct", "work_dtype"]

#: Input dtypes whose rows the kernels keep as they are (others are read as double).
NATIVE = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.float32, np.float64))
#: Floating arrays of at most this many elements are scanned for NaN by NumPy
#: (measured: faster than a kernel launch up to about 64K elements).
NAN_SMALL = 32768
#: A horizontal pass along an axis with this many elements inside it or fewer runs
#: as a horizontal pass (taps ``C`` apart); more, as a vertical pass down its rows.
MAX_INNER = 16
#: Columns per task of scipy's column algorithm.
COLUMN_BLOCK = 64
#: Elements per task of the NaN check.
NAN_BLOCK = 1 << 16


class MinMaxPass(NamedTuple):
    """One 1-D min/max pass: a window of ``size`` samples along ``axis``."""

    axis: int
    size: int
    mode: str
    origin: int


def has_nan(array: np.ndarray) -> bool:
    """Whether a floating array holds a NaN (False for every other dtype).

    A parallel scan of C-contiguous native arrays (a few percent of a filter's
    time); other layouts ask NumPy.

    Examples
    --------
    >>> has_nan(np.array([1.0, np.nan])), has_nan(np.arange(3))
    (True, False)
    """
    if array.dtype.kind != "f" or array.size == 0:
        return False
    if array.size <= NAN_SMALL or not (array.flags.c_contiguous and array.dtype.isnative):
        # small arrays: NumPy's scan costs less than a kernel call (~1 against ~2.5 us)
        return bool(np.isnan(array).any())
    flat = array.reshape(-1)
    blocks = -(-flat.size // NAN_BLOCK)
    flags = np.zeros(blocks, np.bool_)
    _pool.parallel_for(_minmax.nan_blocks, blocks, (flat, flags, NAN_BLOCK), flat.size)
    return bool(flags.any())


def _exact_in(value: float, dtype: np.dtype) -> bool:
    """Whether ``value`` is a value of ``dtype`` (a double equal to its conversion)."""
    if math.isnan(value):
        return dtype.kind == "f"
    if dtype.kind == "f":
        return float(dtype.type(value)) == value and math.copysign(
            1.0, float(dtype.type(value))
        ) == math.copysign(1.0, value)
    if dtype.kind == "b":
        return value in (0.0, 1.0) and math.copysign(1.0, value) > 0
    if not math.isfinite(value) or value != math.floor(value):
        return False
    info = np.iinfo(dtype)
    return info.min <= value <= info.max and not (value == 0 and math.copysign(1.0, value) < 0)


def work_dtype(dtype: np.dtype, cval: float | None) -> np.dtype:
    """The rows' dtype for an input of ``dtype``: its own where every value read is exact.

    ``cval`` is the value beyond a ``'constant'`` edge (None: no such edge);
    bool rows are read as their ``uint8`` bytes.

    Examples
    --------
    >>> work_dtype(np.dtype(np.uint8), None), work_dtype(np.dtype(np.uint8), 0.5)
    (dtype('uint8'), dtype('float64'))
    >>> work_dtype(np.dtype(np.int32), 0.0)
    dtype('float64')
    """
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        dtype = np.dtype(np.uint8)
    if dtype not in NATIVE:
        return np.dtype(np.float64)
    if cval is not None and not _exact_in(cval, dtype):
        return np.dtype(np.float64)
    return dtype


def _fusable(src_dtype: np.dtype, dst_dtype: np.dtype, cval: float | None) -> bool:
    """Whether storing a pass in the output dtype and reading it back changes nothing.

    Then two passes may run as one sweep without scipy's intermediate store:
    every input value and ``cval`` survive the round trip (64-bit integers do
    not: above ``2**53`` they round to double, and ``2**63`` wraps).
    """
    wide = (np.dtype(np.int64), np.dtype(np.uint64))
    if src_dtype in wide or dst_dtype in wide:
        return False
    if src_dtype != dst_dtype and not np.can_cast(src_dtype, dst_dtype, "safe"):
        return False
    return cval is None or _exact_in(cval, dst_dtype)


def _same(dtype: np.dtype, work: np.dtype) -> bool:
    """Whether an array of ``dtype`` holds the work dtype's bytes (bool: uint8's)."""
    return (np.dtype(np.uint8) if dtype == np.bool_ else dtype) == work


def _code(dtype: np.dtype) -> int:
    return dtype_code(np.dtype(dtype).newbyteorder("="))


# --------------------------------------------------------------------------- separable


def run_minmax(
    src: np.ndarray,
    dst: np.ndarray,
    passes: Sequence[MinMaxPass],
    cval: float,
    *,
    op: int,
    nan: bool = False,
    workers: int | None = None,
) -> None:
    """scipy's separable minimum (``op = OP_MIN``) or maximum of ``src`` into ``dst``.

    ``passes`` are scipy's, in scipy's order (``size > 1``); each is stored in
    ``dst``'s dtype before the next reads it, as scipy stores it.  ``nan``:
    ``src`` may hold NaN (see the module notes).
    """
    if src.size == 0 or not passes:
        return
    constant = any(p.mode == "constant" for p in passes)
    edge = cval if constant else None
    if nan or (edge is not None and math.isnan(edge)):
        _scipy_passes(src, dst, passes, cval, op, workers)
        return
    # scipy stores every pass in the output dtype; the last two run as one sweep
    # (vertical first: scipy's order) when that store would change nothing.
    out, copy_back = target(dst)
    current = source(src)
    steps: list[list[MinMaxPass]] = [[p] for p in passes]
    if len(passes) >= 2 and passes[-2].axis == passes[-1].axis - 1:
        pair_input = current.dtype if len(passes) == 2 else out.dtype
        if _fusable(pair_input, out.dtype, edge):
            steps = steps[:-2] + [list(passes[-2:])]
    scratch: list[np.ndarray] = []
    for number, step in enumerate(steps):
        if number == len(steps) - 1:
            into = out
        else:
            free = [b for b in scratch if b is not current]
            into = free[0] if free else np.empty(src.shape, out.dtype)
            if not free:
                scratch.append(into)
        _sweep_step(_independent(current, into), into, step, cval, edge, op, workers)
        current = into
    finish(out, copy_back)


def _sweep_step(
    src: np.ndarray,
    dst: np.ndarray,
    step: Sequence[MinMaxPass],
    cval: float,
    edge: float | None,
    op: int,
    workers: int | None,
) -> None:
    """One sweep: a vertical pass then a horizontal one (adjacent axes), or one pass."""
    shape = src.shape
    work = work_dtype(src.dtype, edge)
    if not (_same(src.dtype, work) and _same(dst.dtype, work)):
        # Other dtypes run in double, as scipy reads them: converted before the
        # sweep, stored by scipy's C cast after it.
        f64 = np.dtype(np.float64)
        wide = src if src.dtype == f64 else np.empty(shape, f64)
        if wide is not src:
            # a bool array's bytes as scipy's C code reads them (an intermediate
            # stored by its cast may hold any byte, not just 0 and 1)
            copy(src.view(np.uint8) if src.dtype == np.bool_ else src, wide)
        out = dst if dst.dtype == f64 else np.empty(shape, f64)
        _sweep_step(wide, out, step, cval, edge, op, workers)
        if out is not dst:
            rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
            n = shape[-1] if shape else 1
            codes = np.array([store_code(dst.dtype), _code(dst.dtype)], np.int64)
            shapes = ((rows, n * 8), (rows, n * dst.itemsize))
            launch(
                _minmax.store_rows, rows, raw(out), raw(dst), shapes, (codes,), out.size, workers
            )
        return
    order = _sweep.ORDER_VH
    if len(step) == 2:
        v, h = step
        plane = _plane(shape, v.axis, h.axis)
    else:
        (p,) = step
        inner = math.prod(shape[p.axis + 1 :])
        if inner <= MAX_INNER:
            v, h = None, p
            plane = _plane(shape, None, p.axis)
            order = _sweep.ORDER_HV  # no ring: long strips
        else:
            v, h = p, None
            plane = _plane(shape, p.axis, None)
    kv = 1 if v is None else v.size
    kw = 1 if h is None else h.size
    if v is None:
        idxH = np.arange(plane.H, dtype=np.int64)
    else:
        bv, av = kernel_reach(kv, v.origin)
        idxH = extend_indices(shape[v.axis], bv, av, v.mode)
    if h is None:
        bw = 0
        idxW = np.arange(plane.W, dtype=np.int64)
    else:
        bw, aw = kernel_reach(kw, h.origin)
        idxW = extend_indices(shape[h.axis], bw, aw, h.mode)
    size = plane.B * plane.H * plane.W * plane.C
    cost = size * ((min(kv - 1, 3) if kv > 1 else 0) + (kw.bit_length() if kw > 1 else 0) + 1)
    band, strip, nbands, nstrips = _sizes(plane, kv, kw, 1, order, work.itemsize, cost)
    gi = np.zeros(len(_sweep.GEOMETRY), np.int64)
    gi[_sweep.G_C] = plane.C
    gi[_sweep.G_KV] = kv
    gi[_sweep.G_KW] = kw
    gi[_sweep.G_BW] = bw
    gi[_sweep.G_BAND] = band
    gi[_sweep.G_STRIP] = strip
    gi[_sweep.G_NBANDS] = nbands
    gi[_sweep.G_NSTRIPS] = nstrips
    gi[_sweep.G_TERMS] = 1
    gi[_sweep.G_R] = plane.W * plane.C
    gi[_sweep.G_SOURCES] = 1
    gi[_sweep.G_HPASSES] = 1
    cv = np.array([cval if edge is not None else 0.0], work)
    R = plane.W * plane.C
    shapes = (
        (plane.B, plane.H, R * src.itemsize),
        (plane.B, plane.H, R * dst.itemsize),
    )
    rest = (gi, idxH, idxW, cv, op)
    ntasks = plane.B * nbands * nstrips
    launch(_minmax.minmax_sweep, ntasks, raw(src), raw(dst), shapes, rest, cost, workers)


def _scipy_passes(
    src: np.ndarray,
    dst: np.ndarray,
    passes: Sequence[MinMaxPass],
    cval: float,
    op: int,
    workers: int | None,
) -> None:
    """scipy's ``NI_MinOrMaxFilter1D`` pass by pass, each stored in ``dst``'s dtype."""
    out, copy_back = target(dst)
    current = source(src)
    scratch: list[np.ndarray] = []
    for number, p in enumerate(passes):
        if number == len(passes) - 1:
            into = out
        else:
            free = [b for b in scratch if b is not current]
            into = free[0] if free else np.empty(src.shape, out.dtype)
            if not free:
                scratch.append(into)
        _scipy_pass(_independent(current, into), into, p, cval, op, workers)
        current = into
    finish(out, copy_back)


def _scipy_pass(
    src: np.ndarray,
    dst: np.ndarray,
    p: MinMaxPass,
    cval: float,
    op: int,
    workers: int | None,
) -> None:
    shape = src.shape
    n = shape[p.axis]
    before, after = kernel_reach(p.size, p.origin)
    idx = extend_indices(n, before, after, p.mode)
    outer, inner = math.prod(shape[: p.axis]), math.prod(shape[p.axis + 1 :])
    codes = (_code(src.dtype), _code(dst.dtype))
    floats = np.array([cval], np.float64)
    work = src.size * 8
    if inner == 1:
        ints = np.array([before, p.size, store_code(dst.dtype), op, *codes], np.int64)
        shapes = ((1, outer, n * src.itemsize), (1, outer, n * dst.itemsize))
        launch(
            _minmax.minmax_lines,
            -(-outer // 8),
            raw(src),
            raw(dst),
            shapes,
            (idx, ints, floats),
            work,
            workers,
        )
        return
    block = min(COLUMN_BLOCK, inner)
    ints = np.array([before, p.size, store_code(dst.dtype), op, *codes, block, inner], np.int64)
    shapes = ((outer, n, inner * src.itemsize), (outer, n, inner * dst.itemsize))
    launch(
        _minmax.minmax_columns,
        outer * -(-inner // block),
        raw(src),
        raw(dst),
        shapes,
        (idx, ints, floats),
        work,
        workers,
    )


# --------------------------------------------------------------------------- direct


def run_minmax_direct(
    src: np.ndarray,
    dst: np.ndarray,
    footprint: np.ndarray,
    structure: np.ndarray | None,
    mode: str,
    cval: float,
    origins: Sequence[int],
    *,
    op: int,
    workers: int | None = None,
) -> None:
    """scipy's ``NI_MinOrMaxFilter``: a footprint (and structure) of ``src.ndim`` dimensions.

    ``footprint`` is boolean with at least one true element; ``structure``
    (float64, the footprint's shape, negated for a minimum by the caller as
    scipy negates it) or None; ``origins`` one per axis.
    """
    if src.size == 0:
        return
    ndim = src.ndim
    shape = src.shape
    positions = np.argwhere(footprint)
    rows_list: list[tuple[int, ...]] = []
    cols_list: list[list[int]] = []
    for pos in positions:
        key = tuple(int(v) for v in pos[:-1])
        if not rows_list or rows_list[-1] != key:
            rows_list.append(key)
            cols_list.append([])
        cols_list[-1].append(int(pos[-1]))
    width = max(len(c) for c in cols_list)
    rows = np.zeros((len(rows_list), max(ndim - 1, 1)), np.int64)
    cols = np.zeros((len(cols_list), 1 + width), np.int64)
    for f, (key, columns) in enumerate(zip(rows_list, cols_list)):
        rows[f, : ndim - 1] = key
        cols[f, 0] = len(columns)
        cols[f, 1 : 1 + len(columns)] = columns
    maps, bases, start = [], [], 0
    for ax in range(ndim):
        before, after = kernel_reach(footprint.shape[ax], origins[ax])
        maps.append(extend_indices(shape[ax], before, after, mode))
        bases.append(start)
        start += maps[-1].shape[0]
    idxs = np.concatenate(maps).astype(np.int64)
    before = kernel_reach(footprint.shape[-1], origins[-1])[0]
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    n = shape[-1]
    lines = math.prod(shape[:-1])
    sdtype = current.dtype
    typed = np.dtype(np.uint8) if sdtype == np.bool_ else sdtype
    # scipy casts cval to the input's type first: (type) cval, then compares as double.
    cast = convert_like_scipy(np.array([cval]), typed)[0]
    codes = (_code(sdtype), _code(out.dtype))
    shapes = ((lines, n * current.itemsize), (lines, n * out.itemsize))
    work = current.size * max(int(positions.shape[0]), 1)
    common = (np.array(shape, np.int64), idxs, np.array(bases, np.int64), rows, cols)
    if structure is None:
        wd = work_dtype(typed, None)
        rule = store_code(out.dtype, nd=True)
        same = (int(_same(sdtype, wd)), int(_same(out.dtype, wd)))
        ints = np.array([before, rule, op, *codes, *same], np.int64)
        cv = np.array([cast], wd)
        rest = (*common, ints, cv)
        launch(_minmax.minmax_direct, lines, raw(current), raw(out), shapes, rest, work, workers)
    else:
        offsets = np.asarray(structure, np.float64)[footprint.astype(bool)]
        ints = [before, store_code(out.dtype, nd=True), op, *codes, 0]
        if typed.kind in "biu":
            ints[5] = (
                int(np.int64(cast)) if typed != np.uint64 else int(np.uint64(cast).view(np.int64))
            )
            # (type) s for every offset but the first, as the integer's bits
            cast_offsets = convert_like_scipy(offsets, typed).astype(typed)
            ints += [int(v) for v in cast_offsets.view(_bits(typed)).astype(np.int64)]
        else:
            ints += [0] * offsets.size
        floats = np.array([float(cast), 0.0, *offsets.tolist()], np.float64)
        rest = (*common, np.array(ints, np.int64), floats)
        launch(_minmax.minmax_structure, lines, raw(current), raw(out), shapes, rest, work, workers)
    finish(out, copy_back)


def _bits(dtype: np.dtype) -> np.dtype:
    """The signed integer of ``dtype``'s width (sign-extended values of the same bits)."""
    return np.dtype(f"i{np.dtype(dtype).itemsize}") if np.dtype(dtype).kind == "u" else dtype
