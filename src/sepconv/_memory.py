"""Working memory of each filtering method, and the budget ``auto`` keeps to.

Working memory is what a call allocates beyond its input and output arrays.
The estimates follow the engine's layout (see :mod:`sepconv._engine`):

* ``direct`` and 2-axis ``separable`` / ``lowrank``: per-thread row buffers
  (a ring of at most ~512 KiB or a band of ~256 KiB, counted as 1 MiB a
  thread), the boundary index tables (8 bytes per padded sample of each
  filtered axis), the tap tables (40 bytes per tap) and the batch offsets (16
  bytes per unfiltered item);
* ``separable`` over three or more axes: one input-sized buffer in the work
  dtype (counted twice for four or more axes, where a second one may be
  needed);
* ``fft``: the padded input (twice: a boundary copy per axis), five arrays of
  the transform's size (the zero-padded input, two spectra, their product and
  the inverse transform) and two output-sized float64 temporaries for the
  final conversion.

Not counted, because the plan cannot know them: a contiguous copy of an input
the kernels cannot address (non-native byte order, strides that are not a
multiple of the item size) and an output-sized temporary when ``output``
overlaps ``input``.

The budget is ``multiple * (input + output) + extra`` bytes, input and output
counted at the input's dtype; by default ``2 * (input + output) + 256 MiB``.
``auto`` never picks a method above it when another exact method fits; an
explicit method above it raises :class:`MemoryBudgetError` before anything is
allocated.  :func:`set_memory_budget` changes it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from ._args import format_bytes

__all__ = [
    "MemoryBudgetError",
    "estimate",
    "format_bytes",
    "get_memory_budget",
    "memory_budget",
    "set_memory_budget",
]

_MIB = 1 << 20
_PER_THREAD = _MIB
_budget = {"multiple": 2.0, "extra": 256 * _MIB}


class MemoryBudgetError(MemoryError):
    """A requested method needs more working memory than the budget allows.

    Raised before anything is allocated; catch it as ``MemoryError``.
    """


def set_memory_budget(multiple: float = 2.0, extra: int = 256 * _MIB) -> None:
    """Set the working-memory budget: ``multiple * (input + output bytes) + extra``.

    ``method='auto'`` skips methods estimated above the budget when another
    exact method fits; an explicit ``method`` above it raises
    :class:`sepconv.MemoryBudgetError`.  ``set_memory_budget(math.inf)``
    turns the check off; ``set_memory_budget()`` restores the default.

    Parameters
    ----------
    multiple : float
        Bytes allowed per byte of input plus output, ``>= 0``.  Default 2.
    extra : int
        Bytes allowed on top, ``>= 0``.  Default 256 MiB.

    Examples
    --------
    >>> import sepconv
    >>> sepconv.set_memory_budget(1.0, 0)
    >>> sepconv.get_memory_budget()
    (1.0, 0)
    >>> sepconv.set_memory_budget()
    """
    try:
        multiple = float(multiple)
    except (TypeError, ValueError):
        raise TypeError(f"multiple must be a number, got {multiple!r}") from None
    if math.isnan(multiple) or multiple < 0:
        raise ValueError(f"multiple must be >= 0 (math.inf: no limit), got {multiple}")
    if isinstance(extra, bool) or not isinstance(extra, (int, np.integer)) or extra < 0:
        raise ValueError(f"extra must be an integer number of bytes >= 0, got {extra!r}")
    _budget.update(multiple=multiple, extra=int(extra))
    # Kept programs replay a choice made under the old budget: drop them.
    from ._replay import PROGRAMS

    PROGRAMS.clear()


def get_memory_budget() -> tuple[float, int]:
    """``(multiple, extra)`` of the working-memory budget (see :func:`set_memory_budget`).

    Examples
    --------
    >>> import sepconv
    >>> sepconv.get_memory_budget()
    (2.0, 268435456)
    """
    return float(_budget["multiple"]), int(_budget["extra"])


def memory_budget(shape: Sequence[int], dtype: np.dtype) -> float:
    """The budget in bytes for an input of ``shape`` and ``dtype`` (output alike)."""
    nbytes = 2.0 * math.prod(int(n) for n in shape) * np.dtype(dtype).itemsize
    if math.isinf(_budget["multiple"]):
        return math.inf
    return _budget["multiple"] * nbytes + _budget["extra"]


def estimate(
    method: str,
    shape: Sequence[int],
    axes: Sequence[int],
    kernel_shape: Sequence[int],
    itemsize: int,
    taps: int,
) -> int:
    """Estimated working memory in bytes of one method (see the module docstring).

    ``itemsize`` is the work dtype's; ``taps`` the number of tap-table entries
    (nonzero taps for ``direct``, factor or term lengths otherwise).

    Examples
    --------
    >>> estimate("fft", (1000, 1000), (0, 1), (31, 31), 8, 961) > 5 * 1000 * 1000 * 8
    True
    """
    shape = [int(n) for n in shape]
    elements = math.prod(shape)
    unfiltered = math.prod(n for ax, n in enumerate(shape) if ax not in axes)
    padded = [shape[ax] + k - 1 for ax, k in zip(axes, kernel_shape)]
    tables = 16 * sum(padded) + 40 * taps + 16 * unfiltered
    threads = os.cpu_count() or 1
    if method == "fft":
        from ._engine import fft_length

        pad = unfiltered * math.prod(padded)
        transform = unfiltered * math.prod(
            fft_length(shape[ax] + 2 * (k - 1)) for ax, k in zip(axes, kernel_shape)
        )
        return int(2 * pad * itemsize + 5 * transform * itemsize + 2 * elements * 8)
    memory = tables + threads * _PER_THREAD
    if method == "separable" and len(axes) >= 3:
        memory += elements * itemsize * (2 if len(axes) >= 4 else 1)
    return int(memory)
