"""Running a feature bank: slabs of rows, shared passes, one write of each output.

A bank (:class:`Bank`) is what :mod:`sepconv.features` computes, written as
scipy would compose it: *fields*, each a sequence of 1-D correlations
(:class:`Pass`, in scipy's order) of an input; at most two *stages* (the
second filters the first's fields, or pointwise functions of them such as the
products of a structure tensor); and a final pointwise *program* from the
last fields to the outputs (copies, eigenvalues, norms, sums, differences;
:func:`sepconv._engine.pointwise`).

How it runs (``method='fir'``, :func:`run_bank`):

* Outputs are computed in *slabs* of rows along the first filtered axis.  A
  slab's fields are computed by the engine's banks (:func:`sepconv._engine.run_bank`)
  from the rows around it: a field's pass along the slab axis reads source
  rows through the mode's extension of the *whole* axis (``rows=``), so a
  slab's result is exactly that of the whole array.  Passes that several
  fields share run once: the first filtered axis's kernels per distinct
  (source, kernel), then the last two axes as one sweep whose horizontal
  passes are shared.
* A second stage reads the first stage's fields on the rows it needs (the
  slab, its halo, and the rows the mode's extension maps to), so those fields
  exist only for a slab at a time.
* Working memory is the slabs: at most :data:`SCRATCH_FRACTION` of the input
  and output bytes (plus a minimum of a few kernel lengths of rows), beyond
  the outputs.  Outputs that are fields themselves are written by the last
  sweep directly.
* ``mode='constant'`` with ``cval != 0``: scipy pads *each* pass's input with
  ``cval``, which is not the filtered constant a single sweep sees.  The banks
  run with ``cval = 0`` and each field then gets ``cval`` times its exact
  padding term, a sum of outer products of 1-D profiles (one per pass, carried
  through the later passes; :func:`_cval_terms`).

``method='recursive'`` (:func:`run_recursive_bank`) runs every Gaussian pass
as a recursive filter (:func:`sepconv._engine.run_recursive`), field by
field: each field takes one full-size array (the output's, when it is one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import _engine
from ._boundary import extend_indices, kernel_reach

__all__ = [
    "SCRATCH_FRACTION",
    "Bank",
    "Field",
    "Pass",
    "bank_reach",
    "run_bank",
    "run_recursive_bank",
]

#: Working memory a bank may take, as a fraction of its input and output bytes.
SCRATCH_FRACTION = 0.08
_N = _engine.TRANSFORM_NONE


@dataclass(frozen=True)
class Pass:
    """One 1-D correlation along filtered axis ``axis`` (an index into the bank's axes).

    ``sigma``/``order``: the Gaussian (derivative) it samples, when it is one
    (the recursive method then runs it); ``weights``: the correlation weights.
    """

    axis: int
    weights: np.ndarray = field(repr=False)
    sigma: float | None = None
    order: int = 0


@dataclass(frozen=True)
class Field:
    """``passes`` (scipy's order, at most one per axis) applied to input ``source``."""

    source: int
    passes: tuple[Pass, ...]

    def kernel(self, axis: int) -> np.ndarray | None:
        found = [p.weights for p in self.passes if p.axis == axis]
        return found[0] if found else None


@dataclass
class Bank:
    """Fields of up to two stages and the program that makes the outputs.

    ``between``: steps from stage-1 fields to stage-2 inputs (``None``: the
    stage-2 inputs are the stage-1 fields); ``final``: steps from the last
    stage's fields to the outputs (:func:`sepconv._engine.pointwise_step`);
    ``final_inputs``: steps from the stage-2 inputs (at the output rows) to
    outputs, for outputs made from the first stage's fields.
    """

    stage1: list[Field]
    final: list[list[int]]
    outputs: int
    stage2: list[Field] | None = None
    between: list[list[int]] | None = None
    inputs2: int = 0
    final_inputs: list[list[int]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def last(self) -> list[Field]:
        return self.stage2 if self.stage2 is not None else self.stage1


# --------------------------------------------------------------------------- geometry


def _kernel_length(fields: Sequence[Field], axis: int) -> int:
    return max((k.size for f in fields if (k := f.kernel(axis)) is not None), default=1)


def _padded(weights: np.ndarray | None, size: int) -> np.ndarray | None:
    """Weights zero-padded on both sides to ``size`` taps (one ring per axis)."""
    if weights is None:
        return None
    extra = (size - weights.size) // 2
    return np.pad(np.asarray(weights, np.float64), extra) if extra else weights


def bank_reach(bank: Bank, ndim: int) -> list[int]:
    """Samples each filtered axis's outputs reach into the input (both stages)."""
    return [
        sum(
            (_kernel_length(stage, a) - 1) // 2
            for stage in (bank.stage1, bank.stage2)
            if stage is not None
        )
        for a in range(ndim)
    ]


# --------------------------------------------------------------------------- stages


def _group(
    fields: Sequence[Field], index: int, size: int
) -> tuple[list[tuple[int, np.ndarray | None]], list[int]]:
    """Distinct ``(source, kernel along filtered axis index)`` of ``fields``, and each one's."""
    keys: dict[tuple[int, bytes | None], int] = {}
    distinct: list[tuple[int, np.ndarray | None]] = []
    which = []
    for f in fields:
        w = _padded(f.kernel(index), size)
        key = (f.source, None if w is None else w.tobytes())
        if key not in keys:
            keys[key] = len(distinct)
            distinct.append((f.source, w))
        which.append(keys[key])
    return distinct, which


def _filled(w: np.ndarray | None, size: int) -> np.ndarray | None:
    """``w``, or the identity tap where a field has no pass along an axis others filter."""
    if w is None and size > 1:
        w = np.zeros(size)
        w[size // 2] = 1.0
    return w


class _Out:
    """Where a stage's last sweep writes: ``dst`` rows ``start .. stop - 1`` along axis
    ``axis`` (``dst`` is the whole output), combined by ``combine``."""

    def __init__(self, dst: np.ndarray, axis: int, start: int, stop: int, combine: int) -> None:
        self.dst, self.combine = dst, combine
        self.slab = (axis, start, stop)


def _stage(
    fields: Sequence[Field],
    src: np.ndarray,
    rows_map: np.ndarray,
    dst: np.ndarray | _Out,
    axes: Sequence[int],
    modes: Sequence[str],
    work: np.dtype,
    workers: int | None,
) -> None:
    """Fields ``fields`` of the stacked input ``src`` into ``dst`` (``(F, *slab)``, or an
    :class:`_Out`: the final outputs themselves, written by the last sweep).

    ``rows_map[p]``: the row of ``src`` along ``axes[0]`` that padded position
    ``p`` of the slab reads (``-1``: zero).  The other filtered axes are whole.
    ``modes``: one per filtered axis.  Two adjacent axes run as one sweep when
    the slab is tall enough for its ring's warm-up (``kv - 1`` rows of
    horizontal passes per band) to cost little; otherwise the first axis
    runs alone (a vertical pass warms up on loads only) and the second after.
    """
    v = axes[0]
    rows = rows_map.size - _kernel_length(fields, 0) + 1
    tall = rows >= 2 * (_kernel_length(fields, 0) - 1)
    if len(axes) == 2 and axes[1] == v + 1 and tall:
        _sweep2(fields, src, dst, (v, v + 1), (0, 1), modes, work, workers, rows_map)
        return
    kv = _kernel_length(fields, 0)
    distinct, which = _group(fields, 0, kv)
    last = len(axes) == 1
    direct = last and which == list(range(len(fields)))
    slab_shape = _slab_shape(src, v, rows)
    inter = dst if direct else np.empty((len(distinct), *slab_shape), work)
    _bank(
        src,
        inter,
        (v, None),
        [(s, _N, None) for s, _ in distinct],
        [(t, _filled(w, kv)) for t, (_, w) in enumerate(distinct)],
        modes[0],
        modes[0],
        work,
        workers,
        rows_map,
    )
    if last:
        if not direct:
            _spread(inter, which, dst)
        return
    rest = [Field(j, tuple(p for p in f.passes if p.axis != 0)) for f, j in zip(fields, which)]
    _rest(rest, inter, dst, list(axes[1:]), list(range(1, len(axes))), modes, work, workers)


def _slab_shape(src: np.ndarray, v: int, rows: int) -> tuple[int, ...]:
    shape = list(src.shape[1:])
    shape[v] = rows
    return tuple(shape)


def _bank(
    src: np.ndarray,
    dst: np.ndarray | _Out,
    axes: tuple[int | None, int | None],
    hpasses: list,
    terms: list,
    vmode: str,
    hmode: str,
    work: np.dtype,
    workers: int | None,
    rows_map: np.ndarray | None = None,
) -> None:
    """One engine sweep; into an :class:`_Out`'s slab of the outputs, or a scratch array."""
    if isinstance(dst, _Out):
        _engine.run_bank(
            src,
            dst.dst,
            axes,
            hpasses,
            terms,
            (vmode, hmode),
            0.0,
            (0, 0),
            combine=dst.combine,
            work=work,
            workers=workers,
            rows=rows_map,
            out_slab=dst.slab,
        )
        return
    _engine.run_bank(
        src,
        dst,
        axes,
        hpasses,
        terms,
        (vmode, hmode),
        0.0,
        (0, 0),
        work=work,
        workers=workers,
        rows=rows_map,
    )


def _spread(made: np.ndarray, which: Sequence[int], dst: np.ndarray | _Out) -> None:
    """Distinct results ``made`` to one per field (rarely needed: fields are distinct)."""
    assert not isinstance(dst, _Out), "a direct output has one term per field"
    for t, j in enumerate(which):
        dst[t] = made[j]


def _rest(
    fields: Sequence[Field],
    src: np.ndarray,
    dst: np.ndarray | _Out,
    axes: list[int],
    index: list[int],
    modes: Sequence[str],
    work: np.dtype,
    workers: int | None,
) -> None:
    """The passes of ``fields`` along ``axes`` (filtered-axis numbers ``index``), whole."""
    if len(axes) == 2 and axes[1] == axes[0] + 1:
        _sweep2(
            fields, src, dst, (axes[0], axes[1]), (index[0], index[1]), modes, work, workers, None
        )
        return
    a, i = axes[0], index[0]
    last = len(axes) == 1
    k = _kernel_length(fields, i)
    distinct, which = _group(fields, i, k)
    direct = last and which == list(range(len(fields)))
    target = dst if direct else np.empty((len(distinct), *src.shape[1:]), work)
    if a == src.ndim - 2:  # the last array axis (src is stacked): horizontal passes
        _bank(
            src,
            target,
            (None, a),
            [(s, _N, _filled(w, k)) for s, w in distinct],
            [(t, None) for t in range(len(distinct))],
            modes[i],
            modes[i],
            work,
            workers,
        )
    else:
        _bank(
            src,
            target,
            (a, None),
            [(s, _N, None) for s, _ in distinct],
            [(t, _filled(w, k)) for t, (_, w) in enumerate(distinct)],
            modes[i],
            modes[i],
            work,
            workers,
        )
    if last:
        if not direct:
            _spread(target, which, dst)
        return
    rest = [Field(j, tuple(p for p in f.passes if p.axis != i)) for f, j in zip(fields, which)]
    _rest(rest, target, dst, axes[1:], index[1:], modes, work, workers)


def _sweep2(
    fields: Sequence[Field],
    src: np.ndarray,
    dst: np.ndarray | _Out,
    axes: tuple[int, int],
    index: tuple[int, int],
    modes: Sequence[str],
    work: np.dtype,
    workers: int | None,
    rows_map: np.ndarray | None,
) -> None:
    """Two adjacent axes in one sweep: horizontal passes shared by (source, kernel)."""
    iv, ih = index
    kv, kh = _kernel_length(fields, iv), _kernel_length(fields, ih)
    distinct, which = _group(fields, ih, kh)
    hpasses = [(s, _N, _filled(w, kh)) for s, w in distinct]
    terms = [(j, _filled(_padded(f.kernel(iv), kv), kv)) for f, j in zip(fields, which)]
    _bank(src, dst, axes, hpasses, terms, modes[iv], modes[ih], work, workers, rows_map)


# --------------------------------------------------------------------------- cval


def _cval_terms(
    f: Field, shape: Sequence[int], modes: Sequence[str]
) -> list[list[np.ndarray | None]]:
    """``cval`` times the sum of these outer products is ``f``'s padding term (scipy's passes).

    Each term holds one 1-D profile per filtered axis (``None``: ones).
    """
    from scipy.ndimage import correlate1d

    terms: list[list[np.ndarray | None]] = []
    for p in f.passes:
        n = shape[p.axis]
        w = np.asarray(p.weights, np.float64)
        for term in terms:
            v = term[p.axis]
            v = np.ones(n) if v is None else v
            term[p.axis] = correlate1d(v, w, mode="constant", cval=0.0)
        if modes[p.axis] == "constant":
            before, after = kernel_reach(w.size, 0)
            outside = extend_indices(n, before, after, "constant") < 0
            profile = np.array([w[outside[i : i + w.size]].sum() for i in range(n)])
            new: list[np.ndarray | None] = [None] * len(shape)
            new[p.axis] = profile
            terms.append(new)
    return terms


def _add_cval(
    dst: np.ndarray,
    fields: Sequence[Field],
    shape: Sequence[int],
    axes: Sequence[int],
    modes: Sequence[str],
    cval: float,
    rows: np.ndarray,
) -> None:
    """Add each field's padding term on the slab rows ``rows`` (of the first axis)."""
    fshape = [shape[a] for a in axes]
    ndim = dst.ndim - 1
    for t, f in enumerate(fields):
        for term in _cval_terms(f, fshape, modes):
            part = np.asarray(cval, dtype=np.float64)
            for i, a in enumerate(axes):
                v = term[i]
                if v is None:
                    continue
                if i == 0:
                    v = v[rows]
                view = [1] * ndim
                view[a] = v.size
                part = part * v.reshape(view)
            dst[t] += part.astype(dst.dtype, copy=False)


# --------------------------------------------------------------------------- the bank


def _slab_rows(
    bank: Bank,
    shape: Sequence[int],
    v: int,
    budget: float,
    itemsize: int,
    direct: bool,
    wrap: bool = False,
) -> int:
    """Rows per slab: the most whose working memory fits ``budget`` (at least a few)."""
    n = shape[v]
    row = math.prod(shape) // max(n, 1) * itemsize
    k2 = _kernel_length(bank.stage2, 0) if bank.stage2 is not None else 1
    edges = 2 * (k2 - 1) if wrap else 0
    last = len(bank.last)
    if bank.stage2 is None:
        per_row, fixed = (0 if direct else 2 * last), 0
    else:
        inputs = bank.inputs2 if bank.between is not None else len(bank.stage1)
        temp = 0 if bank.between is None else 2 * len(bank.stage1)
        per_row = inputs + temp + (0 if direct else 2 * last)
        fixed = inputs * (k2 - 1 + edges)
    if per_row == 0:
        return n
    rows = int((budget / row - fixed) // per_row)
    floor = max(16, 2 * k2)
    return max(1, min(n, max(rows, floor)))


def run_bank(
    bank: Bank,
    image: np.ndarray,
    out: np.ndarray,
    axes: Sequence[int],
    modes: Sequence[str],
    cval: float,
    *,
    workers: int | None = None,
) -> None:
    """Compute ``bank`` of ``image`` over the filtered ``axes`` (sorted) into ``out``.

    ``out``: ``(bank.outputs, *image.shape)``, C-contiguous, float32 or float64.
    ``modes``: one normalised mode per filtered axis.  See the module
    docstring for the slabs and the ring of stage-2 inputs.
    """
    shape = image.shape
    if image.size == 0 or out.size == 0:
        return
    work = np.dtype(
        np.float32 if out.dtype == np.float32 and image.dtype != np.float64 else np.float64
    )
    v = axes[0]
    n = shape[v]
    B, R = math.prod(shape[:v]), math.prod(shape[v + 1 :])
    corr = cval != 0.0 and any(m == "constant" for m in modes)
    combine = None if corr or B != 1 or bank.final_inputs else _combine_of(bank)
    direct = combine is not None
    budget = SCRATCH_FRACTION * (image.nbytes + out.nbytes)
    rows = _slab_rows(bank, shape, v, budget, work.itemsize, direct, modes[0] == "wrap")
    src1 = image[None]
    out4 = out.reshape(out.shape[0], B, n, R)
    k1 = _kernel_length(bank.stage1, 0)
    b1 = kernel_reach(k1, 0)[0]
    idx1 = extend_indices(n, b1, k1 - 1 - b1, modes[0])

    def slab_of(count: int) -> tuple[int, ...]:
        return (*shape[:v], count, *shape[v + 1 :])

    def finish(
        fields: Sequence[Field], inputs: np.ndarray, rmap: np.ndarray, y0: int, y1: int
    ) -> None:
        if direct:
            _stage(fields, inputs, rmap, _Out(out, v, y0, y1, combine), axes, modes, work, workers)
            return
        made = np.empty((len(fields), *slab_of(y1 - y0)), work)
        _stage(fields, inputs, rmap, made, axes, modes, work, workers)
        if corr:
            _add_cval(made, fields, shape, axes, modes, cval, np.arange(y0, y1))
        _engine.pointwise(
            made.reshape(len(fields), B, y1 - y0, R), out4, bank.final, y0, workers=workers
        )

    if bank.stage2 is None:
        for y0 in range(0, n, rows):
            y1 = min(n, y0 + rows)
            finish(bank.stage1, src1, idx1[y0 : y1 + k1 - 1], y0, y1)
        return

    k2 = _kernel_length(bank.stage2, 0)
    b2 = kernel_reach(k2, 0)[0]
    idx2 = extend_indices(n, b2, k2 - 1 - b2, modes[0])
    count2 = bank.inputs2 if bank.between is not None else len(bank.stage1)
    if rows >= n:  # one slab: the stage-2 inputs of every row, no ring
        first = np.empty((len(bank.stage1), *shape), work)
        _stage(bank.stage1, src1, idx1, first, axes, modes, work, workers)
        if corr:
            _add_cval(first, bank.stage1, shape, axes, modes, cval, np.arange(n))
        inputs = first
        if bank.between is not None:
            inputs = np.empty((count2, *shape), work)
            _engine.pointwise(
                first.reshape(len(bank.stage1), B, n, R),
                inputs.reshape(count2, B, n, R),
                bank.between,
                workers=workers,
            )
        finish(bank.stage2, inputs, idx2, 0, n)
        if bank.final_inputs:
            _engine.pointwise(
                inputs.reshape(count2, B, n, R), out4, bank.final_inputs, workers=workers
            )
        return
    # Two stages: the stage-2 inputs of the rows a slab reads live in a ring of
    # M rows (row q in slot q % M), each computed once.  The rows the mode's
    # extension maps to from outside the array are in the slab's window, except
    # for 'wrap' (the other end): those stay in slots M + (their rank).
    M = min(n, rows + k2 - 1)
    outside = np.concatenate([idx2[:b2], idx2[b2 + n :]])
    edge_rows = np.unique(outside[outside >= 0]) if modes[0] == "wrap" and M < n else outside[:0]
    between = bank.between
    ring = np.empty((count2, *slab_of(M + edge_rows.size)), work)
    ring4 = ring.reshape(count2, B, M + edge_rows.size, R)

    def ring_rows(slot: int, count: int) -> np.ndarray:
        return ring[(slice(None),) * (v + 1) + (slice(slot, slot + count),)]

    def stage1_rows(qa: int, qb: int, slots: Sequence[tuple[int, int, int]]) -> None:
        """Stage-1 fields of rows qa .. qb - 1, their stage-2 inputs into the ring."""
        if between is None and B == 1:  # the fields are the inputs: straight into the ring
            for first, stop, slot in slots:
                rmap = idx1[qa + first : qa + stop + k1 - 1]
                into = _Out(ring, v, slot, slot + stop - first, _engine.COMBINE_SEPARATE)
                _stage(bank.stage1, src1, rmap, into, axes, modes, work, workers)
                if corr:
                    part = ring_rows(slot, stop - first)
                    _add_cval(
                        part,
                        bank.stage1,
                        shape,
                        axes,
                        modes,
                        cval,
                        np.arange(qa + first, qa + stop),
                    )
            return
        temp = np.empty((len(bank.stage1), *slab_of(qb - qa)), work)
        _stage(bank.stage1, src1, idx1[qa : qb + k1 - 1], temp, axes, modes, work, workers)
        if corr:
            _add_cval(temp, bank.stage1, shape, axes, modes, cval, np.arange(qa, qb))
        temp4 = temp.reshape(len(bank.stage1), B, qb - qa, R)
        program = between or [
            _engine.pointwise_step(_engine.POINT_COPY, [t], [t]) for t in range(len(bank.stage1))
        ]
        for first, stop, slot in slots:
            _engine.pointwise(temp4, ring4, program, slot, rows=(first, stop), workers=workers)

    # the rows 'wrap' maps to: runs of consecutive rows, in rank order
    breaks = np.flatnonzero(np.diff(edge_rows) != 1) + 1
    for run in np.split(np.arange(edge_rows.size), breaks) if edge_rows.size else []:
        qa, qb = int(edge_rows[run[0]]), int(edge_rows[run[-1]]) + 1
        stage1_rows(qa, qb, [(0, qb - qa, M + int(run[0]))])
    done = 0
    for y0 in range(0, n, rows):
        y1 = min(n, y0 + rows)
        hi = min(n, y1 + k2 - 1 - b2)
        while done < hi:
            stop = min(hi, done + rows)
            slots = []
            q = done
            while q < stop:  # split where the ring wraps
                upto = min(stop, q + M - q % M)
                slots.append((q - done, upto - done, q % M))
                q = upto
            stage1_rows(done, stop, slots)
            done = stop
        padded = np.arange(y0, y1 + k2 - 1) - b2
        inside = (padded >= 0) & (padded < n)
        mapped = idx2[padded + b2]
        if edge_rows.size:
            far = M + np.searchsorted(edge_rows, np.maximum(mapped, 0))
        else:
            far = np.mod(mapped, M)  # in the window: the ring holds it
        rmap = np.where(inside, np.mod(padded, M), np.where(mapped >= 0, far, -1)).astype(np.int64)
        finish(bank.stage2, ring, rmap, y0, y1)
        if bank.final_inputs:
            q = y0
            while q < y1:  # the stage-2 inputs of the output rows, where the ring wraps
                upto = min(y1, q + M - q % M)
                _engine.pointwise(
                    ring4,
                    out4,
                    bank.final_inputs,
                    q,
                    rows=(q % M, q % M + upto - q),
                    workers=workers,
                )
                q = upto


def _combine_of(bank: Bank) -> int | None:
    """The sweep's combine that makes the outputs from the last fields, if one does."""
    final, count = bank.final, len(bank.last)
    every = list(range(count))
    ins = [list(st[2 : 2 + st[1]]) for st in final]
    outs = [st[8] for st in final]
    if all(st[0] == _engine.POINT_COPY for st in final) and len(final) == count:
        if ins == [[t] for t in every] and outs == every:
            return _engine.COMBINE_SEPARATE
        return None
    if len(final) != 1 or ins[0] != every:
        return None
    op = final[0][0]
    if op in (_engine.POINT_EIGEN2, _engine.POINT_EIGEN3):
        d = 2 if op == _engine.POINT_EIGEN2 else 3
        return _engine.COMBINE_EIGEN if list(final[0][8 : 8 + d]) == list(range(d)) else None
    if outs != [0]:
        return None
    return {_engine.POINT_HYPOT: _engine.COMBINE_HYPOT, _engine.POINT_SUM: _engine.COMBINE_SUM}.get(
        op
    )


# --------------------------------------------------------------------------- recursive


def run_recursive_bank(
    bank: Bank,
    image: np.ndarray,
    out: np.ndarray,
    axes: Sequence[int],
    modes: Sequence[str],
    cval: float,
    *,
    workers: int | None = None,
) -> None:
    """``bank`` with every Gaussian pass recursive (others FIR), field by field.

    Each field is one full-size array of the work dtype; passes run in scipy's
    order, each padding its input by the mode (``cval`` for ``'constant'``).
    """
    if image.size == 0 or out.size == 0:
        return
    work = np.dtype(
        np.float32 if out.dtype == np.float32 and image.dtype != np.float64 else np.float64
    )
    source = np.ascontiguousarray(image, dtype=image.dtype.newbyteorder("="))

    def fields_of(stage: Sequence[Field], inputs: Sequence[np.ndarray], into: np.ndarray) -> None:
        for y, f in zip(into, stage):
            current = inputs[f.source]
            for p in f.passes:
                _one_pass(current, y, axes[p.axis], p, modes[p.axis], cval, work, workers)
                current = y
            if current is not y:
                np.copyto(y, current, casting="unsafe")

    copies = all(s[0] == _engine.POINT_COPY for s in bank.final) and [
        (s[2], s[8]) for s in bank.final
    ] == [(t, t) for t in range(len(bank.last))]
    first = np.empty((len(bank.stage1), *image.shape), work)
    if bank.stage2 is None and copies and out.dtype == work:
        fields_of(bank.stage1, [source], out)
        return
    fields_of(bank.stage1, [source], first)
    last = first
    if bank.stage2 is not None:
        if bank.between is not None:
            inputs = np.empty((bank.inputs2, *image.shape), work)
            _engine.pointwise(
                first.reshape(len(first), 1, 1, -1),
                inputs.reshape(bank.inputs2, 1, 1, -1),
                bank.between,
                workers=workers,
            )
            del first
        else:
            inputs = first
        if copies and out.dtype == work:
            fields_of(bank.stage2, inputs, out)
            return
        last = np.empty((len(bank.stage2), *image.shape), work)
        fields_of(bank.stage2, inputs, last)
    _engine.pointwise(
        last.reshape(len(last), 1, 1, -1),
        out.reshape(out.shape[0], 1, 1, -1),
        bank.final,
        workers=workers,
    )


def _one_pass(
    src: np.ndarray,
    dst: np.ndarray,
    axis: int,
    p: Pass,
    mode: str,
    cval: float,
    work: np.dtype,
    workers: int | None,
) -> None:
    if p.sigma is not None and p.sigma > 1e-15:
        _engine.run_recursive(
            src, dst, axis, p.sigma, p.order, mode, cval, work=work, workers=workers
        )
        return
    w = np.asarray(p.weights, np.float64)
    last = axis == src.ndim - 1
    _engine.run_bank(
        src[None],
        dst[None],
        (None, axis) if last else (axis, None),
        [(0, _N, w if last else None)],
        [(0, None if last else w)],
        (mode, mode),
        cval,
        (0, 0),
        work=work,
        workers=workers,
    )
