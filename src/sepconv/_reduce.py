"""Kernels longer than the line they filter, folded to an equivalent short kernel.

Every boundary mode maps each padded position to one input index (or to
``cval``), so taps that read the same input sample for *every* output can be
added into one tap.  Along an axis of ``n`` samples:

* ``wrap`` repeats with period ``n``, ``reflect`` with ``2 n``, ``mirror``
  with ``2 n - 2`` (``1`` for ``n == 1``): taps ``j`` and ``j + period`` read the
  same sample for every output, so the kernel folds to ``period`` taps;
* ``nearest`` and ``constant`` read ``x[0]`` (or ``cval``) at every tap more
  than ``n`` samples before the output, and ``x[n - 1]`` (or ``cval``) more than
  ``n`` after: those taps add into the outermost kept tap, ``2 n + 1`` taps.

The result equals filtering with the full kernel up to the rounding of the
added weights (pairwise float64 sums).  For NaN and infinity a plain sum can
differ: ``inf * 2 + inf * -1`` is NaN while ``inf * (2 - 1)`` is not, and
taps that cancel to an exact zero are skipped (as scipy skips zero weights).
So when the data (input or ``cval``) may not be finite and a folded tap would
add weights of both signs, the positive and negative sums stay on two taps
that read the same sample (at most ``2 * period`` or ``2 n + 3`` taps), which
propagates NaN and infinity exactly as the full kernel does.  Kernels with
infinite weights are never folded (``inf - inf`` would be NaN).

This is the one place that rule lives; :mod:`sepconv.filters` and
:func:`sepconv.plan` call :func:`fold_long_kernel` before planning, so padding,
index tables and tap lists never grow with a kernel longer than the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._args import effective_weights
from ._boundary import kernel_reach

__all__ = ["fold_for_data", "fold_long_kernel", "folded_length"]

# Elements per chunk when folding: bounds the temporary copies (effective
# weights of a chunk) to a few MB whatever the kernel's size.
_CHUNK = 1 << 20


def folded_length(n: int, mode: str) -> int:
    """Taps of a kernel folded along a line of ``n`` samples under a normalised ``mode``.

    Examples
    --------
    >>> folded_length(50, "reflect"), folded_length(50, "mirror"), folded_length(50, "wrap")
    (100, 98, 50)
    >>> folded_length(50, "constant"), folded_length(1, "mirror")
    (101, 1)
    """
    if mode == "wrap":
        return n
    if mode == "reflect":
        return 2 * n
    if mode == "mirror":
        return 2 * n - 2 if n > 1 else 1
    return 2 * n + 1  # nearest, constant


def fold_long_kernel(
    kernel: np.ndarray,
    lengths: Sequence[int],
    modes: Sequence[str],
    origins: Sequence[int],
    finite_data: bool | Callable[[], bool] = True,
) -> tuple[np.ndarray, list[int]]:
    """Fold every kernel axis longer than its line; return ``(kernel, origins)``.

    Parameters
    ----------
    kernel : ndarray
        The correlation kernel, one axis per filtered axis (already flipped
        for a convolution).  Not modified; returned as is when nothing folds.
    lengths : sequence of int
        Length of the input along each kernel axis (``>= 1``).
    modes : sequence of str
        Normalised boundary mode per kernel axis.
    origins : sequence of int
        Validated origin per kernel axis.
    finite_data : bool or callable
        Whether the input and ``cval`` are finite; a callable is asked only
        when a folded tap would add weights of both signs, and if it answers
        False the signs are kept on separate taps (see the module docstring).

    Returns
    -------
    kernel : ndarray
        The folded kernel (float64, weights with ``|w| <= eps`` zeroed first,
        as scipy skips them), or ``kernel`` itself.
    origins : list of int
        Origins placing the folded kernel so that it reads the same samples.

    Examples
    --------
    >>> k, o = fold_long_kernel(np.ones(7), [2], ["wrap"], [0])
    >>> k.tolist(), o
    ([4.0, 3.0], [0])
    """
    origins = [int(o) for o in origins]
    todo = [
        i
        for i, (k, n, m) in enumerate(zip(kernel.shape, lengths, modes))
        if n >= 1 and k > folded_length(n, m)
    ]
    if not todo or not _finite(kernel):
        return kernel, origins
    out, folded_origins, mixed = kernel, list(origins), False
    for axis in todo:
        out, folded_origins[axis], signs = _fold_axis(
            out, axis, lengths[axis], modes[axis], folded_origins[axis]
        )
        mixed = mixed or signs
    # Mixed signs: NaN / inf data would not propagate as with the full kernel,
    # so keep positive and negative sums on separate taps reading the same sample.
    if mixed and not (finite_data() if callable(finite_data) else finite_data):
        out, folded_origins = kernel, list(origins)
        for axis in todo:
            out, folded_origins[axis] = _fold_split(
                out, axis, lengths[axis], modes[axis], folded_origins[axis]
            )
    return out, folded_origins


def fold_for_data(
    kernel: np.ndarray,
    lengths: Sequence[int],
    modes: Sequence[str],
    origins: Sequence[int],
    finite_data: Callable[[], bool],
) -> tuple[np.ndarray, list[int], bool]:
    """:func:`fold_long_kernel`, and whether its result depended on the data's values.

    A call whose fold asked ``finite_data`` must not keep a replay program for
    other data of the same shape.

    Examples
    --------
    >>> k, o, asked = fold_for_data(np.ones(7), [2], ["wrap"], [0], lambda: True)
    >>> k.tolist(), asked
    ([4.0, 3.0], False)
    """
    asked: list[bool] = []

    def finite() -> bool:
        asked.append(True)
        return finite_data()

    kernel, folded = fold_long_kernel(kernel, lengths, modes, origins, finite)
    return kernel, folded, bool(asked)


def _fold_axis(
    kernel: np.ndarray, axis: int, n: int, mode: str, origin: int
) -> tuple[np.ndarray, int, bool]:
    """The kernel folded along ``axis``, its origin, and whether a folded tap mixed signs."""
    folded, new_origin = _fold_sum(kernel, axis, n, mode, origin, np.asarray)
    # Same-sign sums equal the sums of magnitudes bit for bit (same order, same values).
    magnitude, _ = _fold_sum(kernel, axis, n, mode, origin, np.abs)
    return folded, new_origin, bool(np.any(magnitude != np.abs(folded)))


def _fold_split(
    kernel: np.ndarray, axis: int, n: int, mode: str, origin: int
) -> tuple[np.ndarray, int]:
    """Fold keeping the positive and the negative weights of each folded tap apart.

    ``inf * a + inf * -b`` is NaN, as with the full kernel, and no tap cancels to
    zero.  Periodic modes: the negative sums go one period after the positive
    ones (``2 * period`` taps).  ``nearest`` / ``constant``: only the two end
    taps add several weights; their negative parts go one tap further out,
    which reads the same edge sample (or ``cval``): ``2 n + 3`` taps.
    """
    pos, new_origin = _fold_sum(kernel, axis, n, mode, origin, lambda c: np.maximum(c, 0.0))
    neg, _ = _fold_sum(kernel, axis, n, mode, origin, lambda c: np.minimum(c, 0.0))
    length = pos.shape[axis]
    p, q = np.moveaxis(pos, axis, 0), np.moveaxis(neg, axis, 0)
    if mode in ("nearest", "constant"):
        parts = [q[:1], p[:1], p[1:-1] + q[1:-1], p[-1:], q[-1:]]
        before = new_origin + length // 2 + 1  # one more tap in front
    else:
        parts = [p, q]
        before = new_origin + length // 2  # the same anchor, the kernel twice as long
    split = np.moveaxis(np.concatenate(parts, axis=0), 0, axis)
    return split, before - split.shape[axis] // 2


def _fold_sum(
    kernel: np.ndarray, axis: int, n: int, mode: str, origin: int, transform: Callable
) -> tuple[np.ndarray, int]:
    k = kernel.shape[axis]
    before, _ = kernel_reach(k, origin)
    length = folded_length(n, mode)
    shape = list(kernel.shape)
    shape[axis] = length
    folded = np.zeros(shape, np.float64)
    view = np.moveaxis(folded, axis, 0)
    if mode in ("nearest", "constant"):
        # Taps j < before - n always read x[0] (or cval): add them into tap
        # before - n, which does too; likewise after before + n.  Kept taps
        # j in [before - n, before + n] land at j - (before - n).
        lo, hi = before - n, before + n
        for start, chunk in _chunks(kernel, axis, 1, transform):
            a = min(max(lo - start, 0), chunk.shape[0])
            b = min(max(hi + 1 - start, 0), chunk.shape[0])
            view[0] += chunk[:a].sum(axis=0)
            view[start + a - lo : start + b - lo] += chunk[a:b]
            view[-1] += chunk[b:].sum(axis=0)
        new_before = before - lo
    else:
        # Taps j and j + length read the same sample: new tap j mod length,
        # with the anchor moved to before mod length (so it stays in the kernel).
        for _, chunk in _chunks(kernel, axis, length, transform):
            whole = chunk.shape[0] // length * length
            view += chunk[:whole].reshape(-1, *view.shape).sum(axis=0)
            view[: chunk.shape[0] - whole] += chunk[whole:]
        new_before = before % length
    return folded, new_before - length // 2


def _chunks(kernel: np.ndarray, axis: int, multiple: int, transform: Callable):
    """``(start, effective weights)`` of slabs of ``kernel`` along ``axis`` (moved first).

    Slabs start at multiples of ``multiple`` so a period-``multiple`` fold of a
    slab lines up with the folded kernel.
    """
    moved = np.moveaxis(kernel, axis, 0)
    per_row = max(1, int(np.prod(moved.shape[1:], dtype=np.int64)))
    step = max(1, _CHUNK // per_row // multiple) * multiple
    for start in range(0, moved.shape[0], step):
        yield start, transform(effective_weights(moved[start : start + step]))


def _finite(kernel: np.ndarray) -> bool:
    if kernel.dtype.kind != "f":
        return True
    flat = kernel.reshape(-1) if kernel.flags.contiguous else None
    if flat is None:
        return bool(np.isfinite(kernel).all())
    # Checked in chunks: a kernel-sized boolean temporary would cost 1/8 of it.
    return all(bool(np.isfinite(flat[s : s + _CHUNK]).all()) for s in range(0, flat.size, _CHUNK))
