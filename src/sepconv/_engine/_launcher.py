"""Kernel launches and their recording: packing a pass's tables and running its tasks.

Every pass ends in :func:`_launch`, which packs the geometry (:func:`_geometry`)
and tap tables into one task descriptor and runs the tasks on the engine's
pool; a :func:`recording` collects the launches for :mod:`sepconv._program`
to replay, and :func:`not_replayable` marks work done outside them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from . import _pool

if TYPE_CHECKING:  # _layout imports not_replayable from here
    from ._layout import _Layout


# --------------------------------------------------------------------------- recording


class Recording:
    """The kernel launches of one engine call, for :mod:`sepconv._program` to replay.

    ``steps`` holds ``(address, ntasks, desc, aux, work, src, dst)`` per launch.
    Anything the engine does outside a launch (copying an input the kernels
    cannot read, copying back from a scratch output, FFT, zero-filling) calls
    :func:`not_replayable`: replaying only the launches would skip it.
    """

    __slots__ = ("steps", "replayable")

    def __init__(self) -> None:
        self.steps: list[tuple] = []
        self.replayable = True


_recorder = threading.local()


class recording:  # noqa: N801 - used as a context manager, like a function
    """``with recording() as rec:`` collects the launches made in this thread."""

    def __enter__(self) -> Recording:
        self.previous = getattr(_recorder, "active", None)
        _recorder.active = self.rec = Recording()
        return self.rec

    def __exit__(self, *exc: object) -> None:
        _recorder.active = self.previous


def not_replayable() -> None:
    """Mark the recording in progress (if any) as not replayable from its launches."""
    rec = getattr(_recorder, "active", None)
    if rec is not None:
        rec.replayable = False


def _launch(
    src: np.ndarray,
    dst: np.ndarray,
    sflat: tuple[int, int],
    dflat: tuple[int, int],
    work: np.dtype,
    geom: np.ndarray,
    ints: dict[str, np.ndarray],
    h: tuple[np.ndarray, ...],
    v: tuple[np.ndarray, ...],
    cval: float,
    work_size: int,
) -> None:
    """Pack the tables into the task descriptor and run every task in parallel.

    ``work_size`` (output elements times taps) decides whether threads pay off.
    """
    from . import _kernels as k

    tables = dict(ints, geom=geom)
    tables.update(ha=h[0], hb=h[1], hk=h[4], hn=h[5], va=v[0], vb=v[1], vk=v[4], vn=v[5])
    separable = geom[k.G_MODE] == k.MODE_SEPARABLE and len(v[5]) > 1
    tables["vdual"] = _dual_terms(v) if separable else np.zeros(len(v[5]), np.int64)
    aux_tables = {"cval": np.array([cval]), "hw": h[2], "hg": h[3], "vw": v[2], "vg": v[3]}
    layout: list[int] = []
    int_parts = [np.empty(k.HEADER, np.int64)]
    offset = k.HEADER
    for name in k.INT_TABLES:
        table = tables[name]
        rows, cols = (1, table.size) if table.ndim < 2 else table.shape
        layout += (offset, rows, cols)
        int_parts.append(table.reshape(-1))
        offset += table.size
    aux_parts: list[np.ndarray] = []
    aux_offset = 0
    for name in k.AUX_TABLES:
        table = aux_tables[name]
        rows, cols = (1, table.size) if table.ndim < 2 else table.shape
        layout += (aux_offset, rows, cols)
        aux_parts.append(table.reshape(-1))
        aux_offset += table.size
    head = [
        sflat[0],
        sflat[1],
        dflat[0],
        dflat[1],
        k.gather_address(src.dtype, work),
        k.store_address(dst.dtype, work),
        k.taps_address(work),
        k.dual_address(work) if tables["vdual"].any() else 0,
        offset,
        aux_offset,
    ]
    int_parts[0][:] = head + layout
    desc = np.concatenate(int_parts, dtype=np.int64, casting="unsafe")
    aux = np.concatenate(aux_parts, dtype=work, casting="same_kind")
    ntasks = int(len(ints["soff"]) * geom[k.G_NBANDS] * geom[k.G_NSTRIPS])
    # src, dst, desc and aux stay referenced here while the tasks run.
    if geom[k.G_MODE] == k.MODE_RUNNING:
        from . import _running

        address = _running.task_address(work)
    else:
        address = k.task_address(work, nd=bool(geom[k.G_MODE] == k.MODE_DIRECT_ND))
    rec = getattr(_recorder, "active", None)
    if rec is not None:
        rec.steps.append((address, ntasks, desc, aux, work_size, src, dst))
    _pool.parallel_for(
        k.run_task_range, ntasks, (address, desc.ctypes.data, aux.ctypes.data), work_size
    )


def _dual_terms(v: tuple[np.ndarray, ...]) -> np.ndarray:
    """1 where vertical terms t and t + 1 read the same rows (pairs, then at most a centre)."""
    a, b, _, _, kind, n = v
    dual = np.zeros(len(n), np.int64)
    t = 0
    while t + 1 < len(n):
        m = n[t]
        pairs = int(np.sum(kind[t, :m] == 1))
        same = m == n[t + 1] and m - pairs <= 1 and np.all(kind[t, :pairs] == 1)
        same = same and np.array_equal(a[t, :m], a[t + 1, :m])
        same = same and np.array_equal(b[t, :m], b[t + 1, :m])
        same = same and np.array_equal(kind[t, :m], kind[t + 1, :m])
        if same:
            dual[t] = 1
            t += 2
        else:
            t += 1
    return dual


def _geometry(mode: int, layout: _Layout, **fields: int) -> np.ndarray:
    from . import _kernels as k

    geom = np.zeros(k.G_SIZE, np.int64)
    geom[k.G_MODE] = mode
    geom[[k.G_W, k.G_SW, k.G_DW, k.G_C, k.G_SC, k.G_DC]] = (
        layout.W,
        layout.sW,
        layout.dW,
        layout.C,
        layout.sC,
        layout.dC,
    )
    names = {
        "H": k.G_H,
        "sH": k.G_SH,
        "dH": k.G_DH,
        "bw": k.G_BW,
        "kv": k.G_KV,
        "kw": k.G_KW,
        "band": k.G_BAND,
        "strip": k.G_STRIP,
        "h_ident": k.G_HIDENT,
        "v_ident": k.G_VIDENT,
        "nbands": k.G_NBANDS,
        "nstrips": k.G_NSTRIPS,
        "direct_out": k.G_DIRECT_OUT,
        "rows": k.G_ROWS,
        "srcdirect": k.G_SRCDIRECT,
        "vrun": k.G_VRUN,
        "hrun": k.G_HRUN,
    }
    for name, value in fields.items():
        geom[names[name]] = int(value)
    return geom
