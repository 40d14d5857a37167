"""scipy.ndimage's moving averages (``uniform_filter1d``, ``uniform_filter``), bit for bit.

scipy runs a running sum per line (``NI_UniformFilter1D``): each output is the
previous sum plus the sample entering and minus the one leaving, divided by
``size``, so the cost is flat in ``size`` and the rounding carries along the
line; the kernels in :mod:`._exact` keep that exact sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _args
from .._args import FilterArgumentError
from . import _lane, _run
from ._filters import _int_origin, check_workers, fill_doc

__all__ = ["uniform_filter", "uniform_filter1d"]


@fill_doc
def uniform_filter1d(
    input: Any,
    size: int,
    axis: int = -1,
    output: Any = None,
    mode: str = "reflect",
    cval: Any = 0.0,
    origin: int = 0,
    *,
    workers: int | None = None,
) -> np.ndarray:
    """1-D moving average, as ``scipy.ndimage.uniform_filter1d``.

    scipy's running sum (add the entering sample, subtract the leaving one,
    divide), so the cost does not grow with ``size`` and the bits are scipy's.

    Parameters
    ----------
    %(input)s
    size : int
        Length of the window, ``>= 1``.
    %(axis)s
    %(output)s
    mode : str, optional
        Boundary mode.  Default ``'reflect'``.
    %(cval)s
    %(origin)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.uniform_filter1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    """
    lane = _lane.key("uniform_filter1d", input, size, axis, output, mode, cval, origin, workers)
    if (done := _lane.lookup(lane, input, output)) is not None:
        return done
    input = _args.as_input(input)
    workers = check_workers(workers)
    axis = _args.check_axis(axis, input.ndim)
    size = _int_size(size)
    complex_output = input.dtype.kind == "c"
    output = _args.get_output(output, input, complex_output=complex_output)
    origin = _box_origin(origin, size)
    mode = _args.to_mode(mode)
    if not complex_output:
        _args.real_output(output)
        cval = _args.real_cval(cval)
        _lane.record(
            lane, _run.run_uniform1d(input, size, axis, output, mode, cval, origin, workers)
        )
    else:
        re, im = float(np.real(cval)), float(np.imag(cval))
        _run.run_uniform1d(input.real, size, axis, output.real, mode, re, origin, workers)
        _run.run_uniform1d(input.imag, size, axis, output.imag, mode, im, origin, workers)
    return output


def _box_origin(origin: Any, size: int) -> int:
    origin = _int_origin(origin)
    if size // 2 + origin < 0 or size // 2 + origin >= size:
        raise ValueError(
            f"origin must satisfy -(size // 2) <= origin <= (size - 1) // 2, i.e. lie in "
            f"[{-(size // 2)}, {(size - 1) // 2}] for size {size}; got {origin}"
        )
    return origin


def _int_size(size: Any) -> int:
    if type(size) is int and size >= 1:
        return size
    if isinstance(size, (bool, np.bool_)):
        raise TypeError(f"size must be an integer, got {size!r}")
    try:
        value = int(size)
    except (TypeError, ValueError):
        raise TypeError(f"size must be an integer, got {size!r}") from None
    if value < 1:
        raise FilterArgumentError(f"size must be >= 1, got {size!r}")
    return value


@fill_doc
def uniform_filter(
    input: Any,
    size: Any = 3,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional moving average, as ``scipy.ndimage.uniform_filter``.

    Parameters
    ----------
    %(input)s
    size : int or sequence of ints, optional
        Window length per filtered axis.  Default 3.
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.uniform_filter(np.arange(9.0).reshape(3, 3))[1]
    array([3.33333333, 4.        , 4.66666667])
    """
    lane = None
    if axes is None and type(size) is int and type(origin) is int:
        lane = _lane.key("uniform_filter", input, size, -1, output, mode, cval, origin, workers)
        if (done := _lane.lookup(lane, input, output)) is not None:
            return done
    input = _args.as_input(input)
    output = _args.get_output(output, input, complex_output=input.dtype.kind == "c")
    axes = _args.to_axes(axes, input.ndim)
    num_axes = len(axes)
    sizes = _args.to_sequence(size, num_axes, "size")
    origins = _args.to_sequence(origin, num_axes, "origin")
    modes = _args.to_sequence(mode, num_axes, "mode")
    passes = [
        (axes[ii], sizes[ii], origins[ii], modes[ii]) for ii in range(num_axes) if sizes[ii] > 1
    ]
    if not passes:
        output[...] = input[...]
        return output
    if input.dtype.kind == "c":
        for axis, s, o, m in passes:
            uniform_filter1d(input, int(s), axis, output, m, cval, o, workers=workers)
            input = output
        return output
    # Real data: every pass checked before the first one writes output.
    workers = check_workers(workers)
    _args.real_output(output)
    cval = _args.real_cval(cval)
    checked = []
    for axis, s, o, m in passes:
        s = _int_size(s)
        checked.append((_args.check_axis(axis, input.ndim), s, _args.to_mode(m), _box_origin(o, s)))
    launches = []
    for axis, s, m, o in checked:
        launches.append(_run.run_uniform1d(input, s, axis, output, m, cval, o, workers))
        input = output
    _lane.record(lane, *launches)
    return output
