"""Separable and low-rank kernels: one fused (H, W) pass, one more per further axis.

:func:`run_separable` drops size-1 factors, picks the passes and their work
buffers; :func:`_separable_pass` lays out one pass (ring or band of rows,
running sums for constant factors) and launches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._boundary import extend_indices, kernel_reach
from ._dtypes import work_dtype
from ._launcher import _geometry, _launch
from ._layout import (
    _RING_BYTES,
    _RUNNING_RING_BYTES,
    _TASKS,
    _flat,
    _horizontal_ok,
    _inner_block,
    _kernel_operands,
    _Layout,
    _rows_and_band,
    _squeeze,
    _strip,
    kept_axes,
)
from ._taps import _is_identity, _pack_taps, running_constant

# --------------------------------------------------------------------------- separable


def run_separable(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    terms: Sequence[Sequence[np.ndarray]],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
) -> None:
    """Correlate ``src`` with ``sum_t outer(*terms[t])`` over ``axes`` into ``dst``.

    ``terms[t][i]`` is the 1-D kernel of term ``t`` along ``axes[i]``.  Several
    terms (a low-rank kernel) need exactly two axes and run as one fused pass.
    """
    axes = list(axes)
    terms = [[np.asarray(v, dtype=np.float64) for v in term] for term in terms]
    kept = kept_axes([v.size for v in terms[0]])
    if len(kept) < len(axes):
        # Size-1 factors are scalars: multiply them into the first kept factor
        # (terms left on one axis add up to one 1-D kernel).
        scaled = []
        for term in terms:
            scale = math.prod(float(term[i][0]) for i in range(len(axes)) if i not in kept)
            scaled.append([term[i] * scale if i == kept[0] else term[i] for i in kept])
        if len(kept) == 1 and len(scaled) > 1:
            scaled = [[sum(term[0] for term in scaled)]]
        terms = scaled
        axes, modes, origins = _squeeze(axes, modes, origins, kept)
    sizes = [terms[0][i].size for i in range(len(axes))]
    abs_sum = sum(float(np.prod([np.abs(v).sum() for v in term])) for term in terms)
    taps = int(np.prod(sizes))
    work = work_dtype(src.dtype, dst.dtype, abs_sum, taps)
    target = dst
    src, dst = _kernel_operands(src, dst)

    strides = [abs(s) for s in src.strides]
    order = sorted(range(len(axes)), key=lambda i: (strides[axes[i]], -axes[i]))
    inner = order[0]
    if len(terms) > 1 and len(axes) != 2:
        raise ValueError("a low-rank kernel needs exactly two filtered axes")
    if len(axes) >= 2:
        # Each extra axis alone (vertical, over long rows), then the fused (H, W) pass.
        passes = [(i, None) for i in order[2:][::-1]] + [(order[1], inner)]
    else:
        C = _inner_block(src.shape, src.strides, axes[0], set())
        passes = [(None, 0)] if _horizontal_ok(C, sizes[0]) else [(0, None)]
    # Outputs of the passes, last first: the output array, then work buffers
    # alternating so no pass reads what it writes; the output array serves as
    # one of them when it has the work dtype (one buffer for up to four axes).
    spare = [dst] if dst.dtype == work else []
    outputs = [dst]
    for _ in passes[1:]:
        pool = [b for b in spare if b is not outputs[-1]]
        if not pool:
            spare.append(np.empty_like(src, dtype=work))
            pool = [spare[-1]]
        outputs.append(pool[0])
    outputs.reverse()
    current = src
    carry = float(cval)
    for number, (h, w) in enumerate(passes):
        last = number == len(passes) - 1
        out = outputs[number]
        h_vecs = [term[h] for term in terms] if h is not None else [np.ones(1)]
        w_vecs = [term[w] for term in terms] if w is not None else [np.ones(1)]
        _separable_pass(current, out, axes, h, w, h_vecs, w_vecs, modes, carry, origins, work)
        if not last:  # a single-axis pass: later constant borders hold cval * sum(kernel)
            carry *= float(np.sum(terms[0][h if h is not None else w]))
        current = out
    if dst is not target:
        target[...] = dst


def _separable_pass(
    src: np.ndarray,
    dst: np.ndarray,
    axes: list[int],
    h: int | None,
    w: int | None,
    h_vecs: list[np.ndarray],
    w_vecs: list[np.ndarray],
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
    work: np.dtype,
) -> None:
    from ._kernels import MODE_RUNNING, MODE_SEPARABLE

    saddr, sn, sbase, sstr = _flat(src)
    daddr, dn, dbase, dstr = _flat(dst)
    h_axis = axes[h] if h is not None else None
    w_axis = axes[w] if w is not None else None
    layout = _Layout(
        src.shape,
        sstr,
        dstr,
        sbase,
        dbase,
        w_axis,
        [h_axis] if h is not None else [],
        rows=h is None,
    )
    kv, kw = h_vecs[0].size, w_vecs[0].size
    single = len(h_vecs) == 1
    vrun = running_constant(h_vecs[0]) if single and h is not None else None
    hrun = running_constant(w_vecs[0]) if single and w is not None else None
    if h is not None:
        before, after = kernel_reach(kv, origins[h])
        idxH = extend_indices(src.shape[h_axis], before, after, modes[h])
        H, sH, dH = src.shape[h_axis], sstr[h_axis], dstr[h_axis]
    else:
        H, sH, dH = layout.H, layout.sH, layout.dH
        idxH = np.arange(H, dtype=np.int64)
    if w is not None:
        bw, after = kernel_reach(kw, origins[w])
        idxW = extend_indices(src.shape[w_axis], bw, after, modes[w])
    else:
        bw, idxW = 0, np.zeros(1, np.int64)
    running = vrun is not None or hrun is not None
    # A running sum touches two ring rows per output row, not kv: its ring need
    # not stay in L2, so its strips are narrowed less (narrow strips of a long
    # kernel are mostly halo; the ring still stays within the 1 MiB per thread
    # sepconv._memory counts), and its bands are long enough to amortise the
    # kv - 1 rows gathered and summed afresh where a band starts.
    ring_bytes = _RUNNING_RING_BYTES if running else _RING_BYTES
    strip = _strip(layout, kw, kv, work.itemsize, ring_bytes)
    nstrips = -(-layout.W * layout.C // strip)
    wanted = -(-_TASKS // (layout.items * nstrips))
    lpad = strip + (kw - 1) * layout.C
    rows, band = _rows_and_band(lpad, work.itemsize, H, kv, wanted, ring=running)
    if running:
        band = min(max(band, 4 * (kv - 1)), max(H, 1))
    geom = _geometry(
        MODE_RUNNING if running else MODE_SEPARABLE,
        layout,
        H=H,
        sH=sH,
        dH=dH,
        bw=bw,
        kv=kv,
        kw=kw,
        band=band,
        strip=strip,
        h_ident=_is_identity(w_vecs),
        v_ident=_is_identity(h_vecs),
        nbands=-(-H // band),
        nstrips=nstrips,
        rows=rows,
        direct_out=dst.dtype == work and layout.dC == 1 and layout.dW == layout.C,
        vrun=vrun is not None,
        hrun=hrun is not None,
        srcdirect=(
            not running
            and rows == 1
            and not _is_identity(h_vecs)
            and src.dtype == work
            and layout.sC == 1
            and layout.sW == layout.C
            and bool(np.all(idxH >= 0))
        ),
    )
    ints = {
        "soff": layout.soff,
        "doff": layout.doff,
        "vert": np.zeros((3, 1), np.int64),
        "vidx": idxH,
        "idxW": idxW,
        "roff": np.zeros((1, 1), np.int64),
    }
    # A running-sum factor is handed over as its one common tap.
    h_taps = _pack_taps([np.array([hrun])] if hrun is not None else w_vecs, work)
    v_taps = _pack_taps([np.array([vrun])] if vrun is not None else h_vecs, work)
    size = src.size * (kv + kw) * len(h_vecs)
    _launch(src, dst, (saddr, sn), (daddr, dn), work, geom, ints, h_taps, v_taps, cval, size)
