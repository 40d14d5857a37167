"""How a pass sees the arrays: size-1 kernel axes, flat memory views, the row layout.

The sizing constants (strips, rings, bands, tasks per call) live here with
the functions that read them; :class:`_Layout` splits an N-D array into batch
items of ``H`` rows of ``W * C`` elements (see the engine's docstring), and
:func:`_flat` gives the flat address the kernels use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._launcher import not_replayable

# Target size of one row strip: a ring of a few such rows stays in L1/L2.
_STRIP_BYTES = 16384
_RING_BYTES = 512 * 1024
_RUNNING_RING_BYTES = 896 * 1024  # with the other row buffers, within 1 MiB
# A horizontal axis whose inner unfiltered block is this large runs vertically.
_MAX_HALO = 4096
# Padded rows shorter than this (bytes) are filtered several per call from a
# gathered band (per-call costs would dominate short rows); longer ones through
# a ring of rows.
_SHORT_ROW = 4096
_BAND_BYTES = 256 * 1024
# Tasks aimed for per call: enough to balance any thread count of a desktop CPU;
# the task layout never depends on the thread count (deterministic results).
_TASKS = 16


# --------------------------------------------------------------------------- size-1 axes


def kept_axes(sizes: Sequence[int]) -> list[int]:
    """Kernel axes that need a pass: those longer than one tap (the last one if none is).

    A kernel axis of size 1 (origin 0, validated) reads only the element itself
    under every boundary mode: it is a scale, folded into the other axes.  A
    kernel of size 1 everywhere keeps one axis, a one-tap pass that still
    converts like scipy.

    Examples
    --------
    >>> kept_axes((1, 1, 7, 7)), kept_axes((1, 1))
    ([2, 3], [1])
    """
    return [i for i, n in enumerate(sizes) if n > 1] or [len(sizes) - 1]


def _squeeze(axes, modes, origins, kept):  # type: ignore[no-untyped-def]
    return [axes[i] for i in kept], [modes[i] for i in kept], [origins[i] for i in kept]


# --------------------------------------------------------------------------- memory views


def _flat(a: np.ndarray) -> tuple[int, int, int, tuple[int, ...]]:
    """Lowest address and element count of ``a``'s memory, offset of ``a[0, ..., 0]``, strides.

    The kernels address every array as a flat run of elements from its lowest
    address with element strides, so C-, F-, strided, negative-stride and
    read-only arrays share one compiled specialisation.  Inputs are only read.
    """
    size = a.itemsize
    low = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s > 0)
    address = a.__array_interface__["data"][0] + low
    return address, (high - low) // size + 1, -low // size, tuple(s // size for s in a.strides)


def _kernel_operands(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``src`` and ``dst`` in a form the kernels can address.

    An input the kernels cannot read in place is copied once; an output they
    cannot write becomes a scratch array, which the caller copies back.
    """
    if not _kernel_ready(src):
        not_replayable()
        src = np.ascontiguousarray(src, dtype=src.dtype.newbyteorder("="))
    if not _kernel_ready(dst):
        not_replayable()
        dst = np.empty(dst.shape, dtype=dst.dtype.newbyteorder("="))
    return src, dst


def _kernel_ready(a: np.ndarray) -> bool:
    return a.dtype.isnative and all(s % a.itemsize == 0 for s in a.strides)


# --------------------------------------------------------------------------- layout


class _Layout:
    """How one pass sees the arrays: batch offsets, the W row with C inside it."""

    def __init__(
        self,
        shape: tuple[int, ...],
        sstr: tuple[int, ...],
        dstr: tuple[int, ...],
        sbase: int,
        dbase: int,
        w_axis: int | None,
        v_axes: Sequence[int],
        rows: bool = False,
    ) -> None:
        v_axes = list(v_axes)
        used = set(v_axes) | ({w_axis} if w_axis is not None else set())
        free = [ax for ax in range(len(shape)) if ax not in used and shape[ax] > 1]
        free.sort(key=lambda ax: abs(sstr[ax]))
        bound = abs(sstr[w_axis]) if w_axis is not None else math.inf
        C, sC, dC = 1, 1, 1
        chain: list[int] = []
        for ax in free:
            if abs(sstr[ax]) >= bound:
                break
            if chain and not (sstr[ax] == C * sC and dstr[ax] == C * dC):
                break
            if not chain:
                sC, dC = sstr[ax], dstr[ax]
            chain.append(ax)
            C *= shape[ax]
        self.C, self.sC, self.dC = C, sC, dC
        if w_axis is None:
            self.W, self.sW, self.dW = 1, C * sC, C * dC
        else:
            self.W, self.sW, self.dW = shape[w_axis], sstr[w_axis], dstr[w_axis]
        batch = [ax for ax in free if ax not in chain]
        # A pass without a vertical axis walks the batch axes as rows (merged
        # when their strides allow) rather than one task per row.
        self.H, self.sH, self.dH = 1, 0, 0
        if rows and batch:
            first = min(batch, key=lambda ax: abs(sstr[ax]))
            self.H, self.sH, self.dH = shape[first], sstr[first], dstr[first]
            batch.remove(first)
            for ax in sorted(batch, key=lambda ax: abs(sstr[ax])):
                if sstr[ax] != self.H * self.sH or dstr[ax] != self.H * self.dH:
                    break
                self.H *= shape[ax]
                batch.remove(ax)
        soff = np.full(1, sbase, np.int64)
        doff = np.full(1, dbase, np.int64)
        for ax in batch:
            steps = np.arange(shape[ax], dtype=np.int64)
            soff = (soff[:, None] + steps[None, :] * sstr[ax]).ravel()
            doff = (doff[:, None] + steps[None, :] * dstr[ax]).ravel()
        self.soff, self.doff = soff, doff
        self.v_axes = v_axes
        self.vsize = [shape[ax] for ax in v_axes]
        self.vs_s = [sstr[ax] for ax in v_axes]
        self.vs_d = [dstr[ax] for ax in v_axes]

    @property
    def items(self) -> int:
        return int(self.soff.size)


def _strip(
    layout: _Layout, kw: int, ring_rows: int, itemsize: int, ring_bytes: int = _RING_BYTES
) -> int:
    total = layout.W * layout.C
    target = _STRIP_BYTES // itemsize
    if ring_rows > 1:
        target = min(target, max(256, ring_bytes // (ring_rows * itemsize)))
    if kw > 1:
        target = max(layout.C, target // layout.C * layout.C)
    if total <= target + target // 4:
        return max(total, 1)
    return target


def _rows_and_band(
    lpad: int, itemsize: int, H: int, kv: int, wanted: int, ring: bool = False
) -> tuple[int, int]:
    """Rows per call and rows per task of a pass over rows of ``lpad`` padded elements.

    ``ring``: always one row per call through a ring (running sums).
    """
    if lpad * itemsize < _SHORT_ROW and not ring:
        rows = max(2, _STRIP_BYTES // itemsize // lpad)
        most = max(rows, _BAND_BYTES // itemsize // lpad - (kv - 1))
        return rows, rows * max(1, min(-(-H // wanted), most) // rows)
    # Long rows: a ring; a band pays kv - 1 extra gathered rows, keep it several times longer.
    return 1, max(min(max(32, 8 * (kv - 1)), -(-H // wanted)), 2 * (kv - 1), 4)


def _horizontal_ok(C: int, k: int) -> bool:
    return C * (k - 1) <= _MAX_HALO


def _inner_block(
    shape: tuple[int, ...], strides: tuple[int, ...], axis: int, skip: set[int]
) -> int:
    """Product of the sizes of the axes (not in ``skip``) lying inside ``axis`` in memory."""
    size = 1
    for ax, n in enumerate(shape):
        if ax != axis and ax not in skip and n > 1 and abs(strides[ax]) < abs(strides[axis]):
            size *= n
    return size
