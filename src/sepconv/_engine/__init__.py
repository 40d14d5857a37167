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

Replays.  Every launch goes through :func:`_launch`, which a
:func:`recording` collects; :mod:`sepconv._program` replays the launches of a
call signature seen before, so planning and packing happen once.  Work done
outside launches calls :func:`not_replayable`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._boundary import extend_indices, kernel_reach
from .._digest import digest_cache as _digest_cache
from . import _pool

__all__ = [
    "FLOAT_TYPES",
    "INT_TYPES",
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

FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
INT_TYPES = tuple(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.int64)
)
SUPPORTED_DTYPES = INT_TYPES + FLOAT_TYPES

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


# --------------------------------------------------------------------------- dtypes


def work_dtype(in_dtype: np.dtype, out_dtype: np.dtype, abs_sum: float, taps: int) -> np.dtype:
    """Floating type the kernels compute in (see the module docstring)."""
    in_dtype, out_dtype = np.dtype(in_dtype), np.dtype(out_dtype)
    if np.float64 in (in_dtype, out_dtype):
        return np.dtype(np.float64)
    if in_dtype == np.float32:
        return np.dtype(np.float32)
    if in_dtype in (np.uint8, np.int8):
        if out_dtype == np.float32 or 128.0 * abs_sum * max(taps, 1) <= 2.0**20:
            return np.dtype(np.float32)
    return np.dtype(np.float64)


def convert_like_scipy(values: np.ndarray, dtype: Any) -> np.ndarray:
    """Convert floating results to ``dtype`` the way scipy.ndimage's C code does.

    scipy assigns its double result with a C cast, which on x86-64 truncates
    toward zero through a 32-bit (narrow types) or 64-bit (``int64``,
    ``uint32``) conversion: NaN and out-of-range values become the most
    negative integer of that width, and narrow types keep the low bits.

    Examples
    --------
    >>> convert_like_scipy(np.array([-1.5, 2.7, 300.0, np.nan]), np.uint8).tolist()
    [255, 2, 44, 0]
    """
    dtype = np.dtype(dtype)
    values = np.asarray(values)
    if dtype.kind == "f":
        return values.astype(dtype)
    wide = np.int64 if dtype in (np.uint32, np.int64) else np.int32
    limit = float(np.iinfo(wide).max) + 1.0
    with np.errstate(invalid="ignore"):
        ok = (values >= -limit) & (values < limit)
        wrapped = np.where(ok, values, 0).astype(wide)
    wrapped[~ok] = np.iinfo(wide).min
    return wrapped.astype(dtype)


# --------------------------------------------------------------------------- taps


def fold_taps(vector: np.ndarray) -> list[tuple[int, int, float, float]]:
    """``(a, b, weight, g)`` taps of a 1-D kernel, folded when (anti)symmetric.

    A folded tap computes ``weight * (x[a] + g * x[b])`` with ``g = +1``
    (symmetric) or ``-1`` (antisymmetric); a single tap has ``g = 0`` and
    computes ``weight * x[a]``.  Zero weights are dropped (scipy skips them too,
    so a NaN under a zero weight does not spread).  Weights symmetric to within
    32 units in the last place of the largest weight (SVD factors of symmetric
    kernels are symmetric only that well) are folded and averaged, a change
    far below float32 rounding and at float64 rounding level.

    Examples
    --------
    >>> fold_taps(np.array([1.0, 2.0, 1.0]))
    [(0, 2, 1.0, 1.0), (1, 1, 2.0, 0.0)]
    >>> fold_taps(np.array([-1.0, 0.0, 1.0]))
    [(0, 2, -1.0, -1.0)]
    """
    return list(_fold(np.ascontiguousarray(vector, dtype=np.float64).tobytes()))


@_digest_cache(maxsize=4096)
def _fold(data: bytes) -> tuple[tuple[int, int, float, float], ...]:
    w = np.frombuffer(data, dtype=np.float64)
    k = w.size
    scale = float(np.max(np.abs(w))) if k else 0.0
    tol = 32.0 * float(np.spacing(scale)) if scale > 0 else 0.0
    flipped = w[::-1]
    with np.errstate(invalid="ignore"):  # infinite weights are never folded
        symmetric = k > 1 and bool(np.all(np.abs(w - flipped) <= tol))
        antisymmetric = k > 1 and bool(np.all(np.abs(w + flipped) <= tol))
    if symmetric:
        folded, sign = (w + flipped) / 2, 1.0
    elif antisymmetric:
        folded, sign = (w - flipped) / 2, -1.0
    else:
        return tuple((j, j, float(w[j]), 0.0) for j in range(k) if w[j] != 0)
    taps = [(j, k - 1 - j, float(folded[j]), sign) for j in range(k // 2) if folded[j] != 0]
    if k % 2 and sign > 0 and folded[k // 2] != 0:
        taps.append((k // 2, k // 2, float(folded[k // 2]), 0.0))
    return tuple(taps)


def _pack_taps(vectors: Sequence[np.ndarray], dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """Tap tables of several 1-D kernels for the kernels: ``(a, b, w, g, kind, n)``."""
    from ._kernels import KIND_PAIR, KIND_SINGLE

    folded = [fold_taps(v) for v in vectors]
    width = max(1, max(len(t) for t in folded))
    count = len(folded)
    a = np.zeros((count, width), np.int64)
    b = np.zeros((count, width), np.int64)
    w = np.zeros((count, width), dtype)
    g = np.zeros((count, width), dtype)
    kind = np.zeros((count, width), np.int64)
    n = np.zeros(count, np.int64)
    for i, taps in enumerate(folded):
        n[i] = len(taps)
        for j, (ta, tb, tw, tg) in enumerate(taps):
            a[i, j], b[i, j], w[i, j], g[i, j] = ta, tb, tw, tg
            kind[i, j] = KIND_SINGLE if tg == 0 else KIND_PAIR
    return a, b, w, g, kind, n


# Constant factors at least this long run as running sums (_running.py); shorter
# ones are cheaper as folded taps (measured: benchmarks/bench_running.py).
RUNNING_MIN = 16
# Loads per output element of one running-sum direction, for the cost model.
RUNNING_LOADS = 6.0


def running_constant(vector: np.ndarray) -> float | None:
    """The common tap ``c`` of a 1-D factor that runs as a running sum, else None.

    All taps finite, nonzero and equal to within ``max(32, 4 k)`` units in the
    last place of the largest, and at least ``RUNNING_MIN`` of them.  SVD
    factors of a ``k x k`` box kernel are equal only that well (their spread
    grows with ``k``: 3 units at k = 31, 52 at k = 301): replacing them by their
    mean changes them by no more than the SVD's own rounding.

    Examples
    --------
    >>> running_constant(np.full(32, 0.25))
    0.25
    >>> running_constant(np.full(3, 1 / 3)) is None, running_constant(np.hanning(31)) is None
    (True, True)
    """
    w = np.asarray(vector, dtype=np.float64)
    if w.ndim != 1 or w.size < RUNNING_MIN or not np.all(np.isfinite(w)):
        return None
    peak = float(np.max(np.abs(w)))
    spread = max(32.0, 4.0 * w.size) * float(np.spacing(peak))
    if peak == 0 or float(np.max(w) - np.min(w)) > spread:
        return None
    return float(np.mean(w))


def _is_identity(vectors: Sequence[np.ndarray]) -> bool:
    return len(vectors) == 1 and vectors[0].size == 1 and vectors[0][0] == 1.0


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


# --------------------------------------------------------------------------- FFT


def run_fft(
    src: np.ndarray,
    dst: np.ndarray,
    axes: Sequence[int],
    weights: np.ndarray,
    modes: Sequence[str],
    cval: float,
    origins: Sequence[int],
) -> None:
    """Correlate via scipy.fft: pad with the boundary rule, convolve, keep the valid part.

    Integer input with integer-valued weights has integer results: they are
    rounded to the nearest integer before conversion, which undoes the FFT's
    rounding error (below 0.5 for any practical size).
    """
    import scipy.fft
    from scipy.signal import fftconvolve

    not_replayable()
    axes = list(axes)
    weights = np.asarray(weights, dtype=np.float64)
    kept = kept_axes(weights.shape)
    if len(kept) < len(axes):
        weights = weights.reshape([weights.shape[i] for i in kept])
        axes, modes, origins = _squeeze(axes, modes, origins, kept)
    work = work_dtype(src.dtype, dst.dtype, float(np.abs(weights).sum()), weights.size)
    padded = np.asarray(src, dtype=work)
    for i, ax in enumerate(axes):
        before, after = kernel_reach(weights.shape[i], origins[i])
        index = extend_indices(src.shape[ax], before, after, modes[i])
        if np.any(index < 0):
            fill_shape = list(padded.shape)
            fill_shape[ax] = 1
            fill = np.full(fill_shape, cval, dtype=work)
            padded = np.concatenate([padded, fill], axis=ax)
            index = np.where(index < 0, src.shape[ax], index)
        padded = np.take(padded, index, axis=ax)
    # fftconvolve convolves: flip the kernel, order its axes like the array's,
    # and give it length-1 axes where the array is not filtered.
    kernel = weights.astype(work)[(slice(None, None, -1),) * weights.ndim]
    kernel = kernel.transpose(np.argsort(axes))
    shape = [1] * src.ndim
    for i, ax in enumerate(axes):
        shape[ax] = weights.shape[i]
    kernel = kernel.reshape(shape)
    with scipy.fft.set_workers(get_num_threads()):  # the engine's thread count
        result = fftconvolve(padded, kernel, mode="valid", axes=axes)
    if src.dtype.kind in "iu" and np.all(weights == np.round(weights)) and np.isfinite(cval):
        if float(cval) == round(float(cval)):
            result = np.rint(result)
    dst[...] = convert_like_scipy(result, dst.dtype)
