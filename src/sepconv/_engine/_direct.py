"""Dense kernels: mirrored rows as separable terms, else one ring or N-D pass.

:func:`run_direct` runs a dense kernel whose rows mirror through
:func:`run_separable` (:func:`mirrored_rows`), a 2-D one through the ring of
rows, and one over more axes gathering each kernel row afresh.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._boundary import extend_indices, kernel_reach
from ._dtypes import work_dtype
from ._launcher import _geometry, _launch, not_replayable
from ._layout import (
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
from ._separable import run_separable
from ._taps import _pack_taps

# --------------------------------------------------------------------------- direct


def mirrored_rows(kernel: np.ndarray) -> list[list[np.ndarray]] | None:
    """Separable terms of a 2-D kernel whose rows mirror (``K[i] = +-K[-1 - i]``), else None.

    Each pair of mirrored rows becomes one term ``(e_i +- e_mirror, row_i)`` and
    the middle row ``(e_mid, row_mid)``: half the horizontal passes of direct
    filtering, exactly (the pair is added before the taps).  Zero rows vanish.

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
        terms.append([column, kernel[i]])
    return terms or None


def run_direct(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
) -> None:
    """Correlate ``src`` with the dense ``weights`` (one axis per entry of ``axes``)."""
    from ._kernels import MODE_DIRECT, MODE_DIRECT_ND

    axes = list(axes)
    weights = np.asarray(weights, dtype=np.float64)
    kept = kept_axes(weights.shape)
    if len(kept) < len(axes):
        weights = weights.reshape([weights.shape[i] for i in kept])
        axes, modes, origins = _squeeze(axes, modes, origins, kept)
    work = work_dtype(src.dtype, dst.dtype, float(np.abs(weights).sum()), weights.size)
    target = dst
    src, dst = _kernel_operands(src, dst)

    strides = [abs(s) for s in src.strides]
    inner = min(range(len(axes)), key=lambda i: (strides[axes[i]], -axes[i]))
    k_inner = weights.shape[inner]
    C = _inner_block(src.shape, src.strides, axes[inner], set())
    w = inner if len(axes) > 1 or _horizontal_ok(C, k_inner) else None
    v_idx = [i for i in range(len(axes)) if i != w]

    if len(axes) == 2 and w is not None:
        v = v_idx[0]
        terms = mirrored_rows(np.moveaxis(weights, w, -1))
        if terms is not None:
            # Rows mirrored across the kernel's middle share one horizontal pass:
            # K = sum_i (e_i +- e_mirror) (x) row_i, run as separable terms.
            order = [v, w]
            run_separable(src, dst, [axes[i] for i in order], terms,
                          [modes[i] for i in order], cval, [origins[i] for i in order])  # fmt: skip
            if dst is not target:
                target[...] = dst
            return

    saddr, sn, sbase, sstr = _flat(src)
    daddr, dn, dbase, dstr = _flat(dst)
    w_axis = axes[w] if w is not None else None
    ring = len(v_idx) <= 1  # two axes or fewer: the ring of rows, each gathered once
    layout = _Layout(src.shape, sstr, dstr, sbase, dbase, w_axis, [axes[i] for i in v_idx],
                     rows=not v_idx)  # fmt: skip
    # Kernel rows along W, at offsets along the vertical axes; zero rows dropped.
    moved = np.moveaxis(weights, w, -1) if w is not None else weights[..., None]
    kw = moved.shape[-1]
    rows = moved.reshape(-1, kw)
    offsets = np.array(list(np.ndindex(*moved.shape[:-1])), dtype=np.int64).reshape(
        len(rows), len(v_idx)
    )
    keep = np.flatnonzero(np.any(rows != 0, axis=1))
    if keep.size == 0:
        not_replayable()
        dst[...] = 0
        if dst is not target:
            target[...] = dst
        return
    rows, offsets = rows[keep], offsets[keep]
    h_taps = _pack_taps(list(rows), work)

    tables = []
    for i in v_idx:
        before, after = kernel_reach(weights.shape[i], origins[i])
        tables.append(extend_indices(src.shape[axes[i]], before, after, modes[i]))
    if w is not None:
        bw, after = kernel_reach(kw, origins[w])
        idxW = extend_indices(src.shape[w_axis], bw, after, modes[w])
    else:
        bw, idxW = 0, np.zeros(1, np.int64)
    in_place = dst.dtype == work and layout.dC == 1 and layout.dW == layout.C

    if ring:
        if v_idx:
            kv = weights.shape[v_idx[0]]
            H, sH, dH = layout.vsize[0], layout.vs_s[0], layout.vs_d[0]
            idxH = tables[0]
        else:
            kv, H, sH, dH = 1, layout.H, layout.sH, layout.dH
            idxH = np.arange(H, dtype=np.int64)
            offsets = np.zeros((len(rows), 1), np.int64)
        strip = _strip(layout, kw, kv, work.itemsize)
        nstrips = -(-layout.W * layout.C // strip)
        wanted = -(-_TASKS // (layout.items * nstrips))
        rows, band = _rows_and_band(strip + (kw - 1) * layout.C, work.itemsize, H, kv, wanted)
        geom = _geometry(
            MODE_DIRECT, layout, H=H, sH=sH, dH=dH, bw=bw, kv=kv, kw=kw, band=band,
            strip=strip, nbands=-(-H // band), nstrips=nstrips, direct_out=in_place, rows=rows,
        )  # fmt: skip
        ints = {"soff": layout.soff, "doff": layout.doff, "vert": np.zeros((3, 1), np.int64),
                "vidx": idxH, "idxW": idxW, "roff": offsets}  # fmt: skip
    else:
        maxlen = max(t.size for t in tables)
        vidx = np.full((len(tables), maxlen), -1, np.int64)
        for j, table in enumerate(tables):
            vidx[j, : table.size] = table
        strip = _strip(layout, kw, 1, work.itemsize)
        nstrips = -(-layout.W * layout.C // strip)
        nrows = int(np.prod(layout.vsize))
        wanted = -(-_TASKS // (layout.items * nstrips))
        rows_per_task = max(1, -(-nrows // wanted))
        geom = _geometry(
            MODE_DIRECT_ND, layout, H=nrows, bw=bw, kv=1, kw=kw, band=rows_per_task,
            strip=strip, nbands=-(-nrows // rows_per_task), nstrips=nstrips, rows=1,
        )  # fmt: skip
        vert = np.array([layout.vsize, layout.vs_s, layout.vs_d], np.int64).reshape(3, -1)
        ints = {"soff": layout.soff, "doff": layout.doff, "vert": vert, "vidx": vidx,
                "idxW": idxW, "roff": offsets}  # fmt: skip
    size = src.size * int(np.count_nonzero(weights))
    _launch(src, dst, (saddr, sn), (daddr, dn), work, geom, ints, h_taps, h_taps, cval, size)
    if dst is not target:
        target[...] = dst
