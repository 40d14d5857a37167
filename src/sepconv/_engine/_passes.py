"""Separable work for the sweep: passes and terms laid out, tasks sized, launched.

:func:`run_passes` runs 1-D passes in order -- the last two fused into one
sweep when their axes are adjacent -- and :func:`run_terms` a sum of separable
terms over two adjacent axes.  Both take validated arguments (the engine never
validates) and an arithmetic policy, ``"exact"`` or ``"fast"``
(:mod:`._sweep`).

Layout.  The kernels see C-contiguous arrays of native byte order (other
inputs are copied once: a strided or byte-swapped view, or an input dtype the
policy does not read directly, which is converted to float64 -- for the exact
policy that is scipy's own ``(double)`` read); integer outputs are written
through unsigned views of their width (:func:`._cast.unsigned_view`).  An
output the kernels cannot write (strided, byte-swapped, overlapping the
input) is computed into a scratch array and copied back.

Sizing.  A strip of columns keeps the task's ring within :data:`RING_BYTES`
(the ring is then read from L2 by every output row); a call whose work is too
small for a second thread runs as one band per plane, otherwise bands are cut
so that a call has about :data:`TASKS` tasks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._args import kept_taps
from .._boundary import extend_indices, kernel_reach
from . import _fixed, _pool, _sweep
from ._arith import KIND_BOX
from ._cast import dtype_code, store_code
from ._launch import copy, launch, not_replayable
from ._tables import exact_table, fast_table, identity_table, nd_table, stack

__all__ = [
    "Pass",
    "kept_axes",
    "mirrored_rows",
    "run_bank",
    "run_box_exact",
    "run_dense",
    "run_direct",
    "run_passes",
    "run_separable",
    "run_terms",
    "work_dtype",
]

#: Bytes a task's ring of rows may take (a quarter of this CPU's 1 MiB L2).
RING_BYTES = 256 * 1024
#: Narrowest strip (elements): narrower strips are mostly halo.
MIN_STRIP = 256
#: Tasks a threaded call is cut into (independent of the thread count).
TASKS = 16
#: Horizontal passes whose halo ``C * (k - 1)`` exceeds this run vertically.
MAX_HALO = 4096

EXACT, FAST = "exact", "fast"

_ENTRIES = {
    (EXACT, _sweep.ORDER_HV): _sweep.sweep_exact_hv,
    (EXACT, _sweep.ORDER_VH): _sweep.sweep_exact_vh,
    (FAST, _sweep.ORDER_HV): _sweep.sweep_fast_hv,
    (FAST, _sweep.ORDER_VH): _sweep.sweep_fast_vh,
}


class Pass(NamedTuple):
    """One 1-D pass: correlate along ``axis`` with float64 ``weights``."""

    axis: int
    weights: np.ndarray
    mode: str
    origin: int


def kept_axes(sizes: Sequence[int]) -> list[int]:
    """Kernel axes that need a pass: those longer than one tap (the last one if none is).

    A kernel axis of size 1 (origin 0, validated) reads only the element itself
    under every boundary mode: it is a scale, folded into the other axes.

    Examples
    --------
    >>> kept_axes((1, 1, 7, 7)), kept_axes((1, 1))
    ([2, 3], [1])
    """
    return [i for i, n in enumerate(sizes) if n > 1] or [len(sizes) - 1]


def work_dtype(in_dtype: np.dtype, out_dtype: np.dtype, abs_sum: float, taps: int) -> np.dtype:
    """The fast policy's work dtype: float32 where that is exact enough, else float64.

    float64 input or output -> float64; float32 input -> float32; uint8 / int8
    input -> float32 when every output is exact to well below one unit
    (``128 * sum|w| * taps <= 2**20``) or the output is float32; other
    integers -> float64.
    """
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    if np.float64 in (in_dtype, out_dtype):
        return np.dtype(np.float64)
    if in_dtype == np.float32:
        return np.dtype(np.float32)
    if in_dtype in (np.uint8, np.int8, np.bool_):
        if out_dtype == np.float32 or 128.0 * abs_sum * max(taps, 1) <= 2.0**20:
            return np.dtype(np.float32)
    return np.dtype(np.float64)


# --------------------------------------------------------------------------- arrays


def source(array: np.ndarray) -> np.ndarray:
    """The input as the kernels read it: C-contiguous and native (copied once otherwise)."""
    if array.flags.c_contiguous and array.dtype.isnative:
        return array
    laid = np.empty(array.shape, array.dtype.newbyteorder("="))
    copy(array, laid)
    return laid


def target(output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dst, copy_back)``: a C-contiguous native array to write, and where it goes after
    (:func:`finish` copies it back)."""
    if output.flags.c_contiguous and output.dtype.isnative:
        return output, None
    return np.empty(output.shape, output.dtype.newbyteorder("=")), output


def finish(out: np.ndarray, copy_back: np.ndarray | None) -> None:
    """Copy a scratch output back into the caller's array (see :func:`target`)."""
    if copy_back is not None:
        copy(out, copy_back)


def raw(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array's bytes (the kernels' view of every array, :mod:`._cast`)."""
    return array.reshape(-1).view(np.uint8)


# --------------------------------------------------------------------------- geometry


class _Plane(NamedTuple):
    B: int
    H: int
    W: int
    C: int


def _plane(shape: Sequence[int], v_axis: int | None, h_axis: int | None) -> _Plane:
    """The ``(B, H, W * C)`` view of a C-contiguous array for the given axes."""
    if h_axis is not None:
        axis = h_axis if v_axis is None else v_axis
        B = math.prod(shape[:axis]) if v_axis is not None else 1
        H = shape[v_axis] if v_axis is not None else math.prod(shape[:h_axis])
        return _Plane(B, H, shape[h_axis], math.prod(shape[h_axis + 1 :]))
    assert v_axis is not None
    return _Plane(math.prod(shape[:v_axis]), shape[v_axis], math.prod(shape[v_axis + 1 :]), 1)


def _sizes(
    plane: _Plane, kv: int, kw: int, terms: int, order: int, itemsize: int, work: int
) -> tuple[int, int, int, int]:
    """``(band, strip, nbands, nstrips)`` of a sweep (see the module docstring)."""
    R = plane.W * plane.C
    rows = terms * kv if order == _sweep.ORDER_HV else kv
    target = max(MIN_STRIP, RING_BYTES // (itemsize * max(rows, 1)))
    if kv == 1 and order == _sweep.ORDER_HV:
        target = max(target, 16384 // itemsize)  # no ring: a long row costs nothing extra
    target = max(plane.C, target // plane.C * plane.C)
    strip = R if R <= target + target // 4 else target
    nstrips = -(-R // strip) if R else 1
    H = max(plane.H, 1)
    if work < 2 * _pool.WORK_PER_THREAD:
        band = H  # one thread: no band pays the ring's warm-up twice
    else:
        wanted = -(-TASKS // (plane.B * nstrips))
        band = max(-(-H // wanted), min(H, max(4 * (kv - 1), 4)))
    return band, strip, -(-H // band), nstrips


class _Bank(NamedTuple):
    """What one sweep computes (:mod:`._sweep`'s banks).

    ``hpasses[h] = (source, transform, table)``: a horizontal pass into ring
    ``h``; ``hborders[h]``: its value beyond a ``'constant'`` edge (the fast
    policy's filtered constant); ``terms[t] = (h, table)``: a vertical pass
    over ring ``h``; ``combine``: how the terms make the outputs.
    """

    hpasses: list[tuple[int, int, tuple]]
    hborders: list[float]
    terms: list[tuple[int, tuple]]
    combine: int = _sweep.COMBINE_SUM
    tol: float = 0.0
    fill: float = math.nan


def _per_term(tables: Sequence[tuple], hcvals: Sequence[float], combine: int) -> _Bank:
    """A bank of ``(vertical, horizontal)`` table pairs, one horizontal pass per term."""
    return _Bank(
        [(0, _sweep.TRANSFORM_NONE, h) for _, h in tables],
        list(hcvals),
        [(t, v) for t, (v, _) in enumerate(tables)],
        combine,
    )


def _launch_sweep(
    src: np.ndarray,
    dst: np.ndarray,
    plane: _Plane,
    policy: str,
    order: int,
    kv: int,
    kw: int,
    bw: int,
    idxH: np.ndarray,
    idxW: np.ndarray,
    bank: _Bank,
    cval: float,
    cborder: bool,
    work: np.dtype,
    workers: int | None,
    nd: bool = False,
    stacked: tuple[int, int] = (1, 1),
    src_rows: int | None = None,
    dst_rows: tuple[int, int] | None = None,
    dst_planes: tuple[int, int] | None = None,
) -> None:
    """Launch one sweep of ``src`` into ``dst`` (C-contiguous, native, not overlapping).

    ``stacked``: how many sources ``src`` and outputs ``dst`` stack along a
    first axis of their own (1: the array itself).  ``src_rows``: the source's
    rows per plane when ``idxH`` reads a source taller or shorter than ``dst``.
    ``dst_rows = (y0, rows)``: ``dst`` has ``rows`` rows per plane, of which
    ``plane.H`` are computed, written from row ``y0`` on; ``dst_planes = (b0,
    planes)`` likewise for planes (a slab of a taller output, see :func:`run_bank`).
    """
    R = plane.W * plane.C
    T, NH = len(bank.terms), len(bank.hpasses)
    size = plane.B * plane.H * R * (NH * kw + T * kv)
    band, strip, nbands, nstrips = _sizes(plane, kv, kw, NH, order, work.itemsize, size)
    hti, htw = stack([table for _, _, table in bank.hpasses], work)
    vti, vtw = stack([table for _, table in bank.terms], work)
    gi = np.array(
        [
            plane.C,
            kv,
            kw,
            bw,
            band,
            strip,
            nbands,
            nstrips,
            T,
            store_code(dst.dtype, nd or policy == FAST),
            dtype_code(src.dtype),
            dtype_code(dst.dtype),
            bank.combine,
            int(cborder),
            R,
            stacked[0],
            NH,
            0 if dst_rows is None else dst_rows[0],
            0 if dst_rows is None else plane.H,
            0 if dst_planes is None else dst_planes[0],
        ],
        np.int64,
    )
    fl = np.array([cval, *bank.hborders, bank.tol, bank.fill], np.float64)
    links = np.array(
        [v for source, transform, _ in bank.hpasses for v in (source, transform)]
        + [h for h, _ in bank.terms],
        np.int64,
    )
    shapes = (
        (stacked[0], plane.B, plane.H if src_rows is None else src_rows, R * src.itemsize),
        (
            stacked[1],
            plane.B if dst_planes is None else dst_planes[1],
            plane.H if dst_rows is None else dst_rows[1],
            R * dst.itemsize,
        ),
    )
    rest = (gi, idxH, idxW, hti, htw, vti, vtw, fl, links)
    entry = _ENTRIES[(policy, order)]
    launch(entry, plane.B * nbands * nstrips, raw(src), raw(dst), shapes, rest, size, workers)


# --------------------------------------------------------------------------- passes


def _pass_table(policy: str, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return exact_table(weights) if policy == EXACT else fast_table(weights)


def run_passes(
    src: np.ndarray,
    dst: np.ndarray,
    passes: Sequence[Pass],
    cval: float,
    *,
    policy: str,
    work: np.dtype | None = None,
    fuse: bool = True,
    workers: int | None = None,
) -> None:
    """Correlate ``src`` with 1-D ``passes`` in order into ``dst`` (same shape).

    ``exact``: every pass is stored in ``dst``'s dtype, as scipy's multi-axis
    filters store them in ``output``; ``fast``: intermediates stay in ``work``.
    The last two passes run as one sweep when their axes are adjacent.
    """
    if src.size == 0 or not passes:
        return
    work = np.dtype(np.float64) if policy == EXACT or work is None else np.dtype(work)
    passes = list(passes)
    steps: list[list[Pass]] = [[p] for p in passes]
    if fuse and len(passes) >= 2 and abs(passes[-1].axis - passes[-2].axis) == 1:
        steps = [[p] for p in passes[:-2]] + [passes[-2:]]
    inter = dst.dtype if policy == EXACT else work
    current = src
    buffers: list[np.ndarray] = []
    for number, step in enumerate(steps):
        if number == len(steps) - 1:
            into = dst
        else:
            # No pass reads what it writes: alternate between scratch arrays.
            free = [b for b in buffers if b is not current]
            if free:
                into = free[0]
            else:
                into = np.empty(src.shape, inter)
                buffers.append(into)
        if len(step) == 1:
            _one_pass(current, into, step[0], cval, policy, work, workers)
        else:
            _two_passes(current, into, step[0], step[1], cval, policy, work, workers)
        if policy == FAST:
            # A constant border of a later pass reads the filtered constant.
            cval = cval * float(np.sum(step[0].weights))
        current = into


def _one_pass(
    src: np.ndarray,
    dst: np.ndarray,
    p: Pass,
    cval: float,
    policy: str,
    work: np.dtype,
    workers: int | None,
) -> None:
    shape = src.shape
    k = p.weights.shape[0]
    inner = math.prod(shape[p.axis + 1 :])
    before, after = kernel_reach(k, p.origin)
    idx = extend_indices(shape[p.axis], before, after, p.mode)
    table = _pass_table(policy, p.weights)
    ident = identity_table(0)
    hcval = cval * float(np.sum(p.weights))
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    if table[0][0] == KIND_BOX and inner * (k - 1) > MAX_HALO:
        # A vertical running sum keeps column sums across rows: the ring of rows
        # horizontal-first keeps (one identity pass copies each row into it).
        plane = _plane(shape, p.axis, None)
        idxW = np.arange(plane.W, dtype=np.int64)
        _launch_sweep(
            current,
            out,
            plane,
            policy,
            _sweep.ORDER_HV,
            k,
            1,
            0,
            idx,
            idxW,
            _per_term([(table, ident)], [cval], _sweep.COMBINE_SUM),
            cval,
            False,
            work,
            workers,
        )
    elif inner * (k - 1) <= MAX_HALO:
        plane = _plane(shape, None, p.axis)
        idxH = np.arange(plane.H, dtype=np.int64)
        _launch_sweep(
            current,
            out,
            plane,
            policy,
            _sweep.ORDER_HV,
            1,
            k,
            before,
            idxH,
            idx,
            _per_term([(ident, table)], [hcval], _sweep.COMBINE_SUM),
            cval,
            False,
            work,
            workers,
        )
    else:
        plane = _plane(shape, p.axis, None)
        idxW = np.arange(plane.W, dtype=np.int64)
        _launch_sweep(
            current,
            out,
            plane,
            policy,
            _sweep.ORDER_VH,
            k,
            1,
            0,
            idx,
            idxW,
            _per_term([(table, ident)], [cval], _sweep.COMBINE_SUM),
            cval,
            False,
            work,
            workers,
        )
    finish(out, copy_back)


def _independent(src: np.ndarray, out: np.ndarray) -> np.ndarray:
    # Tasks read rows and halos other tasks write: the input must not overlap.
    if np.may_share_memory(src, out):
        not_replayable()
        return src.copy()
    return src


def _fixed_point(
    src: np.ndarray, dst: np.ndarray, v: Pass, h: Pass, cval: float, workers: int | None
) -> bool:
    """Two passes of uint8 / uint16 smoothing in integers (:mod:`._fixed`), if they qualify.

    The same dtype in and out (uint8; uint16 for means), adjacent axes, factors
    :func:`._fixed.plan` accepts and, beyond a 'constant' edge, a ``cval`` that
    is a value of the dtype; False (nothing done) otherwise.
    """
    if src.dtype != dst.dtype or h.axis != v.axis + 1:
        return False
    fixed = _fixed.plan(v.weights, h.weights, src.dtype, (v.mode, h.mode), cval)
    if fixed is None:
        return False
    kv, kw = v.weights.shape[0], h.weights.shape[0]
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    plane = _plane(current.shape, v.axis, h.axis)
    bv, av = kernel_reach(kv, v.origin)
    bw, aw = kernel_reach(kw, h.origin)
    idxH = extend_indices(plane.H, bv, av, v.mode)
    idxW = extend_indices(plane.W, bw, aw, h.mode)
    # a band recomputes kv - 1 rows of the one above: at least 4 (kv - 1) rows
    # each keeps that a small share, and eighths of a plane give threads work
    band = max(16, 4 * (kv - 1), -(-plane.H // 8))
    nbands = -(-plane.H // band)
    const = int(cval) if "constant" in (v.mode, h.mode) else 0
    shape = (plane.B, plane.H, plane.W * plane.C)
    if fixed.area:  # a normalised box: exact integer sums (running down the columns)
        ints = np.array([band, nbands, const, plane.C, bw, kv, kw], np.int64)
        width = np.zeros(0, np.uint16 if src.dtype == np.uint8 else np.uint32)
        entry, rest = _fixed.box_hv, (idxH, idxW, ints, width)
    else:
        ints = np.array([band, nbands, const, plane.C, bw, fixed.bias], np.int64)
        entry, rest = _fixed.fixed_hv, (idxH, idxW, fixed.qv, fixed.qh, ints)
    launch(
        entry,
        plane.B * nbands,
        current.reshape(-1),
        out.reshape(-1),
        (shape, shape),
        rest,
        current.size * (kv + kw),
        workers,
    )
    finish(out, copy_back)
    return True


def _two_passes(
    src: np.ndarray,
    dst: np.ndarray,
    first: Pass,
    second: Pass,
    cval: float,
    policy: str,
    work: np.dtype,
    workers: int | None,
) -> None:
    v, h = (first, second) if first.axis < second.axis else (second, first)
    if policy == FAST and _fixed_point(src, dst, v, h, cval, workers):
        return
    # exact: scipy's order decides which pass is stored first; fast: horizontal first.
    order = _sweep.ORDER_VH if (policy == EXACT and first is v) else _sweep.ORDER_HV
    run_terms(
        src,
        dst,
        v.axis,
        [(v.weights, h.weights)],
        (v.mode, h.mode),
        cval,
        (v.origin, h.origin),
        policy=policy,
        order=order,
        work=work,
        workers=workers,
    )


def run_terms(
    src: np.ndarray,
    dst: np.ndarray,
    v_axis: int,
    terms: Sequence[tuple[np.ndarray | None, np.ndarray | None]],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    policy: str,
    order: int = _sweep.ORDER_HV,
    combine: int = _sweep.COMBINE_SUM,
    work: np.dtype | None = None,
    workers: int | None = None,
    sizes: tuple[int, int] | None = None,
) -> None:
    """``sum_t correlate(src, outer(v_t, h_t))`` over axes ``(v_axis, v_axis + 1)``.

    A term's vertical or horizontal weights may be ``None`` (no pass along
    that axis); every term's kernels have the lengths ``sizes`` (default: the
    first term's), so they share one ring.  ``src`` and ``dst`` may be any
    arrays (laid out here); with ``policy='exact'`` each term is computed as
    scipy composes its passes (see :mod:`._sweep`).
    """
    if src.size == 0:
        return
    work = np.dtype(np.float64) if policy == EXACT or work is None else np.dtype(work)
    if sizes is None:
        first_v = next((v for v, _ in terms if v is not None), None)
        first_h = next((h for _, h in terms if h is not None), None)
        sizes = (
            1 if first_v is None else first_v.shape[0],
            1 if first_h is None else first_h.shape[0],
        )
    kv, kw = sizes
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    shape = src.shape
    plane = _plane(shape, v_axis, v_axis + 1)
    bv, av = kernel_reach(kv, origins[0])
    bw, aw = kernel_reach(kw, origins[1])
    idxH = extend_indices(shape[v_axis], bv, av, modes[0])
    idxW = extend_indices(shape[v_axis + 1], bw, aw, modes[1])
    tables, hcvals = [], []
    for v, h in terms:
        vt = identity_table(bv) if v is None else _pass_table(policy, v)
        ht = identity_table(bw) if h is None else _pass_table(policy, h)
        tables.append((vt, ht))
        hcvals.append(cval * (1.0 if h is None else float(np.sum(h))))
    cborder = policy == EXACT and modes[1] == "constant"
    _launch_sweep(
        current,
        out,
        plane,
        policy,
        order,
        kv,
        kw,
        bw,
        idxH,
        idxW,
        _per_term(tables, hcvals, combine),
        cval,
        cborder,
        work,
        workers,
    )
    finish(out, copy_back)


def _transformed_value(value: float, transform: int) -> float:
    """What a horizontal pass's input transform makes of ``value`` (cval beyond an edge)."""
    nan = math.isnan(value)
    if transform == _sweep.TRANSFORM_ZERO_NAN:
        return 0.0 if nan else value
    if transform == _sweep.TRANSFORM_NOT_NAN:
        return 0.0 if nan else 1.0
    return value


_TABLES: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def _cached_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fast_table` of ``weights``, kept: a bank's slabs reuse the same kernels."""
    key = np.ascontiguousarray(weights, dtype=np.float64).tobytes()
    table = _TABLES.get(key)
    if table is None:
        if len(_TABLES) >= 256:
            _TABLES.pop(next(iter(_TABLES)))
        table = _TABLES[key] = fast_table(weights)
        for part in table:
            part.flags.writeable = False
    return table


def run_bank(
    src: np.ndarray,
    dst: np.ndarray,
    axes: tuple[int | None, int | None],
    hpasses: Sequence[tuple[int, int, np.ndarray | None]],
    terms: Sequence[tuple[int, np.ndarray | None]],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    combine: int = _sweep.COMBINE_SEPARATE,
    tol: float = 0.0,
    fill: float = math.nan,
    work: np.dtype | None = None,
    workers: int | None = None,
    borders: Sequence[float] | None = None,
    rows: np.ndarray | None = None,
    out_slab: tuple[int, int, int] | None = None,
) -> None:
    """A bank of separable filterings over two adjacent axes in one sweep (fast policy).

    ``src`` stacks the sources along a first axis of its own, ``(S, *shape)``,
    and ``dst`` the outputs, ``(outputs, *shape)`` (one dtype each).
    ``axes = (v_axis, h_axis)`` with ``h_axis == v_axis + 1``; either may be
    None (no pass along it).  ``hpasses[h] = (source, transform, weights)``
    correlates source ``source``, read through ``transform``
    (``_sweep.TRANSFORM_*``), along ``h_axis`` (``weights`` None: no pass);
    ``terms[t] = (h, weights)`` correlates that result along ``v_axis``.
    ``combine`` makes the outputs: ``COMBINE_SEPARATE`` (term ``t`` into
    ``dst[t]``), ``COMBINE_SUM``, ``COMBINE_DIVIDE`` (term 0 over term 1 where
    ``|term 1| > tol``, ``fill`` elsewhere; ``2 n`` terms: the sum of the first
    ``n`` over the sum of the last ``n``) or ``COMBINE_HYPOT`` into ``dst[0]``.
    ``borders[h]``: horizontal pass ``h``'s row beyond a ``'constant'`` edge of
    ``v_axis`` when it has no horizontal weights (default: ``cval`` through its
    transform) -- stacked sources that hold earlier filterings of one array
    (normalized convolution's numerator and denominator) each have their own.
    Every pass along an axis has the same length (one ring); ``modes`` and
    ``origins`` are ``(vertical, horizontal)``.  Each term is computed as
    :func:`run_terms` computes it, so a bank equals its terms run one by one.
    ``rows`` (with a vertical axis): the source row each padded vertical
    position reads (``-1``: ``cval``), ``dst`` rows ``+ kv - 1`` of them, in
    place of the mode's extension of ``src``; the source may then have any
    number of rows (a slab of outputs reads the rows around it, already
    extended).  ``out_slab = (axis, start, stop)``: ``dst`` is taller along
    ``axis`` and only ``start .. stop - 1`` along it are computed (the slab, of
    ``src``'s extent there, or ``rows``'s outputs when ``axis`` is ``v_axis``),
    so the stacked outputs of a slab need not be contiguous; ``axis`` is
    ``v_axis`` or an outer axis with only unit axes before it.

    Examples
    --------
    >>> from sepconv._engine import _sweep
    >>> x = np.arange(20.0).reshape(1, 4, 5)
    >>> x[0, 1, 2] = np.nan
    >>> out = np.empty((1, 4, 5))
    >>> box = np.ones(3)
    >>> Z, V = _sweep.TRANSFORM_ZERO_NAN, _sweep.TRANSFORM_NOT_NAN
    >>> run_bank(x, out, (0, 1), [(0, Z, box), (0, V, box)], [(0, box), (1, box)],
    ...          ("nearest", "nearest"), 0.0, (0, 0), combine=_sweep.COMBINE_DIVIDE)
    >>> float(out[0, 1, 2])  # the mean of its eight valid neighbours
    7.0
    """
    shape = dst.shape[1:] if rows is not None else src.shape[1:]
    if out_slab is not None:
        slab_axis, start, stop = out_slab
        shape = tuple(stop - start if a == slab_axis else n for a, n in enumerate(dst.shape[1:]))
    if src.size == 0 or math.prod(shape) == 0:
        return
    v_axis, h_axis = axes
    first_v = next((v for _, v in terms if v is not None), None)
    first_h = next((h for _, _, h in hpasses if h is not None), None)
    kv = 1 if first_v is None else first_v.shape[0]
    kw = 1 if first_h is None else first_h.shape[0]
    if work is None:
        sums = [float(np.abs(h).sum()) if h is not None else 1.0 for _, _, h in hpasses]
        abs_sum = max(sums) * max(
            (float(np.abs(v).sum()) if v is not None else 1.0) for _, v in terms
        )
        work = work_dtype(src.dtype, dst.dtype, abs_sum, kv * kw)
    work = np.dtype(work)
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    if v_axis is None and h_axis is None:
        raise ValueError("a bank filters at least one axis")
    plane = _plane(shape, v_axis, h_axis)
    dst_rows = dst_planes = None
    if out_slab is not None:  # where the slab's rows (or planes) start in dst
        a, start, _ = out_slab
        if v_axis is not None and a == v_axis:
            dst_rows = (start, dst.shape[1 + v_axis])
        elif v_axis is not None:
            dst_planes = (
                start * math.prod(shape[a + 1 : v_axis]),
                math.prod(dst.shape[1 : 1 + v_axis]),
            )
        else:
            dst_rows = (
                start * math.prod(shape[a + 1 : h_axis]),
                math.prod(dst.shape[1 : 1 + h_axis]),
            )
    bv, av = kernel_reach(kv, origins[0])
    bw, aw = kernel_reach(kw, origins[1])
    if rows is not None and v_axis is not None:
        idxH = np.ascontiguousarray(rows, dtype=np.int64)
    elif v_axis is None:
        idxH = np.arange(plane.H, dtype=np.int64)
    else:
        idxH = extend_indices(shape[v_axis], bv, av, modes[0])
    idxW = (
        np.arange(plane.W, dtype=np.int64)
        if h_axis is None
        else extend_indices(shape[h_axis], bw, aw, modes[1])
    )
    bank = _Bank(
        [(s, tr, identity_table(bw) if h is None else _cached_table(h)) for s, tr, h in hpasses],
        [
            _transformed_value(cval, tr) * (1.0 if h is None else float(np.sum(h)))
            if borders is None or h is not None
            else float(borders[i])
            for i, (_, tr, h) in enumerate(hpasses)
        ],
        [(h, identity_table(bv) if v is None else _cached_table(v)) for h, v in terms],
        combine,
        tol,
        fill,
    )
    _launch_sweep(
        current,
        out,
        plane,
        FAST,
        _sweep.ORDER_HV,
        kv,
        kw,
        bw,
        idxH,
        idxW,
        bank,
        cval,
        False,
        work,
        workers,
        stacked=(src.shape[0], dst.shape[0]),
        src_rows=None if rows is None or v_axis is None else src.shape[1 + v_axis],
        dst_rows=dst_rows,
        dst_planes=dst_planes,
    )
    finish(out, copy_back)


# --------------------------------------------------------------------------- dense


def mirrored_rows(kernel: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Separable terms of a 2-D kernel whose rows mirror (``K[i] = +-K[-1 - i]``), else None.

    Each pair of mirrored rows becomes one term ``(e_i +- e_mirror, row_i)`` and
    the middle row ``(e_mid, row_mid)``: half the horizontal passes of direct
    filtering (the pair is added before the taps).  Zero rows vanish.

    Examples
    --------
    >>> [c.tolist() for c, r in mirrored_rows(np.array([[1.0, 2.0], [0.0, 5.0], [1.0, 2.0]]))]
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    >>> mirrored_rows(np.array([[1.0, 2.0], [3.0, 4.0]])) is None
    True
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    kv = kernel.shape[0]
    if kv < 2:
        return None
    if np.array_equal(kernel, kernel[::-1]):
        sign = 1.0
    elif np.array_equal(kernel, -kernel[::-1]):
        sign = -1.0
    else:
        return None
    terms = []
    for i in range((kv + 1) // 2):
        if not np.any(kernel[i] != 0):
            continue
        column = np.zeros(kv)
        column[i] = 1.0
        if kv - 1 - i != i:
            column[kv - 1 - i] = sign
        terms.append((column, kernel[i]))
    return terms or None


def run_dense(
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    policy: str,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """Correlate ``src`` with a dense kernel of ``src.ndim`` dimensions (one mode per axis).

    ``exact``: scipy's ``NI_Correlate`` (taps with ``|w| > DBL_EPSILON`` in C
    order, ``0.0 + w0*x0 + ...`` in double, uint64 stored by its N-D rule).
    ``fast``: a 2-D kernel's rows as horizontal passes in the work dtype (rows
    that mirror share one, :func:`mirrored_rows`); over more axes, as exact.
    """
    if src.size == 0:
        return
    weights = np.asarray(weights, dtype=np.float64)
    kept = [a for a in range(weights.ndim) if weights.shape[a] > 1] or [weights.ndim - 1]
    if len(kept) > 2 or (len(kept) == 2 and kept[1] != kept[0] + 1):
        _dense_volume(src, dst, weights, modes, cval, origins, workers)
        return
    work = np.dtype(np.float64) if policy == EXACT or work is None else np.dtype(work)
    squeezed = weights.reshape([weights.shape[a] for a in kept])
    h_axis = kept[-1]
    v_axis = kept[0] if len(kept) == 2 else None
    rows = squeezed if v_axis is not None else squeezed[None, :]
    kv, kw = rows.shape
    shape = src.shape
    plane = _plane(shape, v_axis, h_axis)
    bw, aw = kernel_reach(kw, origins[h_axis])
    idxW = extend_indices(shape[h_axis], bw, aw, modes[h_axis])
    if v_axis is None:
        idxH = np.arange(plane.H, dtype=np.int64)
    else:
        bv, av = kernel_reach(kv, origins[v_axis])
        idxH = extend_indices(shape[v_axis], bv, av, modes[v_axis])
    if policy == EXACT:
        tables = [
            (identity_table(r), nd_table(rows[r])) for r in range(kv) if np.any(kept_taps(rows[r]))
        ] or [(identity_table(0), nd_table(rows[0]))]
    else:
        pairs = mirrored_rows(rows) if kv > 1 else None
        if pairs is not None:
            tables = [(_column_table(c), fast_table(r)) for c, r in pairs]
        else:
            tables = [
                (identity_table(r), fast_table(rows[r])) for r in range(kv) if np.any(rows[r] != 0)
            ] or [(identity_table(0), fast_table(rows[0]))]
    out, copy_back = target(dst)
    current = _independent(source(src), out)
    hcvals = [cval * float(np.sum(rows))] * len(tables)
    order = _sweep.ORDER_VH if kv > 1 else _sweep.ORDER_HV
    _launch_sweep(
        current,
        out,
        plane,
        policy,
        order,
        kv,
        kw,
        bw,
        idxH,
        idxW,
        _per_term(tables, hcvals, _sweep.COMBINE_SUM),
        cval,
        False,
        work,
        workers,
        nd=True,
    )
    finish(out, copy_back)


def _column_table(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nonzero = np.flatnonzero(column)
    if nonzero.size == 1 and column[nonzero[0]] == 1.0:
        return identity_table(int(nonzero[0]), column.size)
    return fast_table(column)


def _dense_volume(
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    workers: int | None,
) -> None:
    """Dense kernels over three or more axes, in scipy's order (:mod:`._dense`)."""
    from ._dense import dense3d, dense_nd

    out, copy_back = target(dst)
    rule = store_code(dst.dtype, nd=True)
    shape, kshape = src.shape, weights.shape
    mask = kept_taps(weights)
    size = src.size * max(int(mask.sum()), 1)
    if src.ndim <= 3:
        # A 2-D image is one plane of a volume, with a kernel one plane deep.
        lead = 3 - src.ndim
        shape3 = (1,) * lead + shape
        kshape3 = (1,) * lead + kshape
        origins3 = [0] * lead + list(origins)
        modes3 = [modes[0]] * lead + list(modes)
        current = _independent(source(src), out)
        reach = [kernel_reach(k, o) for k, o in zip(kshape3, origins3)]
        idx = [extend_indices(n, b, a, m) for n, (b, a), m in zip(shape3, reach, modes3)]
        w3 = weights.reshape(kshape3)
        mask3 = mask.reshape(kshape3)
        taps = np.ascontiguousarray(np.argwhere(mask3), dtype=np.int64).reshape(-1, 3)
        wts = np.ascontiguousarray(w3[mask3], dtype=np.float64)
        strip = int(min(64, max(8, (128 * 1024) // max(1, idx[2].shape[0] * kshape3[0] * 8))))
        codes = (dtype_code(current.dtype), dtype_code(out.dtype))
        ints = np.array([reach[2][0], rule, strip, *codes, shape3[2]], np.int64)
        rest = (*idx, taps, wts, ints, np.array([cval], np.float64))
        ntasks = shape3[0] * -(-shape3[1] // strip)
        shapes = (
            (*shape3[:2], shape3[2] * current.itemsize),
            (*shape3[:2], shape3[2] * out.itemsize),
        )
        launch(dense3d, ntasks, raw(current), raw(out), shapes, rest, size, workers)
    else:
        not_replayable()  # the extended input is made here, outside a launch
        padded = np.asarray(src.view(np.uint8) if src.dtype == np.bool_ else src)
        padded = padded.astype(np.float64)
        for ax, (k, o) in enumerate(zip(kshape, origins)):
            if k == 1 and o == 0:
                continue
            before, after = kernel_reach(k, o)
            index = extend_indices(shape[ax], before, after, modes[ax])
            padded = np.take(padded, np.maximum(index, 0), axis=ax)
            if modes[ax] == "constant":
                where = [slice(None)] * src.ndim
                where[ax] = index < 0
                padded[tuple(where)] = cval
        padded = np.ascontiguousarray(padded)
        pstrides = np.array([s // 8 for s in padded.strides], np.int64)
        offsets = (np.argwhere(mask) * pstrides).sum(axis=1).astype(np.int64)
        wts = np.ascontiguousarray(weights[mask], dtype=np.float64)
        n = shape[-1]
        rows = src.size // n
        oshape = np.array(shape, np.int64)
        codes = np.array([rule, dtype_code(out.dtype)], np.int64)
        rest = (pstrides, oshape, offsets, wts, codes)
        shapes = ((padded.size,), (rows, n * out.itemsize))
        launch(dense_nd, rows, padded.reshape(-1), raw(out), shapes, rest, size, workers)
    finish(out, copy_back)


# --------------------------------------------------------------------------- running sums


def run_box_exact(
    src: np.ndarray,
    dst: np.ndarray,
    size: int,
    axis: int,
    mode: str,
    cval: float,
    origin: int,
    workers: int | None = None,
) -> None:
    """scipy's ``uniform_filter1d``: its running sum along ``axis`` (:mod:`._box`)."""
    from ._box import box_exact_inner, box_exact_lines

    shape = src.shape
    n = shape[axis]
    if src.size == 0 or n == 0:
        return
    before, after = kernel_reach(size, origin)
    idx = extend_indices(n, before, after, mode)
    out, copy_back = target(dst)
    current = source(src)
    outer, inner = math.prod(shape[:axis]), math.prod(shape[axis + 1 :])
    work = src.size * 2
    floats = np.array([cval], np.float64)
    codes = (dtype_code(current.dtype), dtype_code(out.dtype))
    if inner == 1:
        # Each line is read whole before it is written: exactly in place is safe.
        if np.may_share_memory(current, out) and not _same_memory(current, out):
            not_replayable()
            current = current.copy()
        lines = outer
        ints = np.array([before, size, store_code(dst.dtype), 0, *codes, n], np.int64)
        shapes = ((1, lines, n * current.itemsize), (1, lines, n * out.itemsize))
        launch(
            box_exact_lines,
            -(-lines // 4),
            raw(current),
            raw(out),
            shapes,
            (idx, ints, floats),
            work,
            workers,
        )
    else:
        current = _independent(current, out)
        # Columns per task: 512 (2 KiB of float32 per row) gives two threads work from
        # 1024 columns up; one task of 1024-2048 columns left a 1024^2-2048^2 pass along
        # axis 0 on one thread (measured 2.9 ms vs 1.7 at 2048^2 float32, compare.py).
        block = max(128, min(512, inner))
        ints = np.array([before, size, store_code(dst.dtype), block, *codes, inner], np.int64)
        shapes = ((outer, n, inner * current.itemsize), (outer, n, inner * out.itemsize))
        ntasks = outer * -(-inner // block)
        launch(
            box_exact_inner,
            ntasks,
            raw(current),
            raw(out),
            shapes,
            (idx, ints, floats),
            work,
            workers,
        )
    finish(out, copy_back)


def _same_memory(a: np.ndarray, b: np.ndarray) -> bool:
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.strides == b.strides
        and a.shape == b.shape
        and a.itemsize == b.itemsize
    )


# --------------------------------------------------------------------------- any axes


def run_separable(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    terms: Sequence[Sequence[np.ndarray]],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """Correlate ``src`` with ``sum_t outer(*terms[t])`` over ``axes`` (fast policy).

    ``terms[t][i]`` is term ``t``'s 1-D kernel along ``axes[i]``; ``modes`` and
    ``origins`` follow ``axes``.  One term runs as 1-D passes (the last two
    fused); several terms (a low-rank kernel) need two axes and run as one
    sweep when the axes are adjacent.  Size-1 factors are scales.
    """
    terms = [[np.asarray(v, dtype=np.float64) for v in term] for term in terms]
    if work is None:
        abs_sum = sum(float(np.prod([np.abs(v).sum() for v in t])) for t in terms)
        work = work_dtype(src.dtype, dst.dtype, abs_sum, int(np.prod([v.size for v in terms[0]])))
    kept = kept_axes([v.size for v in terms[0]])
    if len(terms) == 1:
        term = terms[0]
        scale = math.prod(float(term[i][0]) for i in range(len(term)) if i not in kept)
        passes = [
            Pass(axes[i], term[i] * (scale if i == kept[0] else 1.0), modes[i], origins[i])
            for i in sorted(kept, key=lambda i: axes[i])
        ]
        run_passes(src, dst, passes, cval, policy=FAST, work=work, workers=workers)
        return
    if len(axes) != 2:
        raise ValueError("a sum of separable terms needs exactly two filtered axes")
    if axes[0] > axes[1]:
        axes, modes, origins = axes[::-1], modes[::-1], origins[::-1]
        terms = [t[::-1] for t in terms]
    if axes[1] != axes[0] + 1:  # not adjacent: the kernel they sum to, densely
        dense = sum(np.outer(c, r) for c, r in terms)
        run_direct(src, dst, axes, dense, modes, cval, origins, work=work, workers=workers)
        return
    run_terms(
        src,
        dst,
        axes[0],
        [(c, r) for c, r in terms],
        modes,
        cval,
        origins,
        policy=FAST,
        work=work,
        workers=workers,
    )


def run_direct(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    *,
    work: np.dtype | None = None,
    workers: int | None = None,
) -> None:
    """Correlate ``src`` with a dense kernel over ``axes`` (fast policy; :func:`run_dense`).

    The kernel's dimensions follow ``axes`` (sorted here, as scipy's rule has it).
    """
    weights = np.asarray(weights, dtype=np.float64)
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    weights = np.transpose(weights, order)
    sorted_axes = [axes[i] for i in order]
    full = np.expand_dims(weights, tuple(a for a in range(src.ndim) if a not in sorted_axes))
    mode_of = {axes[i]: modes[i] for i in range(len(axes))}
    origin_of = {axes[i]: origins[i] for i in range(len(axes))}
    if work is None:
        work = work_dtype(
            src.dtype, dst.dtype, float(np.abs(weights).sum()), int(np.count_nonzero(weights))
        )
    run_dense(
        src,
        dst,
        full,
        [mode_of.get(a, "reflect") for a in range(src.ndim)],
        cval,
        [origin_of.get(a, 0) for a in range(src.ndim)],
        policy=FAST,
        work=work,
        workers=workers,
    )
