"""scipy.ndimage's moving averages (``uniform_filter1d``, ``uniform_filter``), bit for bit.

scipy runs a running sum per line (``NI_UniformFilter1D``): each output is the
previous sum plus the sample entering and minus the one leaving, divided by
``size``, so the cost is flat in ``size`` and the rounding carries along the
line; the engine's exact running sums (:mod:`sepconv._engine._box`) keep that
exact sequence.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from .. import _args, _engine
from .._docs import fill_doc
from .._replay import call_key, recorded, replay
from ._filters import filter_skipping, skip_key, skipping

__all__ = ["uniform_filter", "uniform_filter1d"]


def _size(size: Any) -> int:
    """A window length >= 1 (scipy: ``RuntimeError('incorrect filter size')``)."""
    if type(size) is int and size >= 1:
        return size
    try:
        small = size < 1
    except TypeError as exc:
        raise TypeError(f"{exc} (size must be an integer, got {size!r})") from None
    if small:
        raise _args.FilterArgumentError(
            f"incorrect filter size (size must be an integer >= 1, got {size!r})"
        )
    try:
        return operator.index(size)
    except TypeError:
        raise TypeError(
            f"'{type(size).__name__}' object cannot be interpreted as an integer (size must be "
            f"an integer, got {size!r})"
        ) from None


def _box_origin(origin: Any, size: int) -> int:
    try:
        bad = (size // 2 + origin < 0) or (size // 2 + origin >= size)
    except TypeError as exc:
        raise TypeError(f"{exc} (origin must be an integer, got {origin!r})") from None
    if bad:
        raise ValueError(
            f"invalid origin (origin must satisfy -(size // 2) <= origin <= (size - 1) // 2, "
            f"i.e. lie in [{-(size // 2)}, {(size - 1) // 2}] for size {size}; got {origin})"
        )
    try:
        return operator.index(origin)
    except TypeError:  # within scipy's bounds, then refused by its C code
        raise TypeError(
            f"'{type(origin).__name__}' object cannot be interpreted as an integer (origin must "
            f"be an integer, got {origin!r})"
        ) from None


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
    nan_policy: str = "propagate",
    mask: Any = None,
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
    %(mode_one)s
    %(cval)s
    %(origin)s
    %(workers)s
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.uniform_filter1d(np.array([2, 8, 0, 4, 1, 9, 9, 0]), size=3)
    array([4, 3, 4, 1, 4, 6, 6, 3])
    >>> ndi.uniform_filter1d(np.array([2.0, 8, 0, 4]), size=3, mask=[0, 1, 0, 0])
    array([2.        , 1.        , 2.        , 2.66666667])
    """
    key = call_key("uniform_filter1d", input, output, size, axis, mode, cval, origin, workers)
    skip = skipping(nan_policy, mask)
    if skip:
        key = skip_key(key, mask)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output)
    workers = _args.check_workers(workers)
    axis = _args.check_axis(axis, input.ndim)
    size = _size(size)
    if skip:
        passes = [(axis, np.full(size, 1.0 / size), _args.to_mode(mode), _box_origin(origin, size))]
        return filter_skipping(
            input, output, passes, _args.real_cval(cval), nan_policy, mask, workers, key
        )
    complex_output = input.dtype.kind == "c"
    output = _args.get_output(output, input, complex_output=complex_output)
    origin = _box_origin(origin, size)
    mode = _args.to_mode(mode)
    if complex_output:
        re, im = _args.real_cval(np.real(cval)), _args.real_cval(np.imag(cval))
        _engine.run_box_exact(input.real, output.real, size, axis, mode, re, origin, workers)
        _engine.run_box_exact(input.imag, output.imag, size, axis, mode, im, origin, workers)
        return output
    _args.real_output(output)
    cval = _args.real_cval(cval)
    with recorded(key, input) as keep:
        _engine.run_box_exact(input, output, size, axis, mode, cval, origin, workers)
        keep(output)
    return output


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
    nan_policy: str = "propagate",
    mask: Any = None,
) -> np.ndarray:
    """Multidimensional moving average, as ``scipy.ndimage.uniform_filter``.

    One :func:`uniform_filter1d` pass per axis with ``size > 1``, each stored
    in ``output``.

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
    %(nan_policy)s
    %(mask)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.uniform_filter(np.arange(9.0).reshape(3, 3))[1]
    array([3.33333333, 4.        , 4.66666667])
    """
    key = call_key("uniform_filter", input, output, size, mode, cval, origin, axes, workers)
    skip = skipping(nan_policy, mask)
    if skip:
        key = skip_key(key, mask)
    if (done := replay(key, input, output)) is not None:
        return done
    input = _args.as_input(input, output)
    given_output = output
    if not skip:
        output = _args.get_output(output, input, complex_output=input.dtype.kind == "c")
    axes = _args.to_axes(axes, input.ndim)
    num_axes = len(axes)
    sizes = _args.to_sequence(size, num_axes, "size")
    origins = _args.to_sequence(origin, num_axes, "origin")
    modes = _args.to_sequence(mode, num_axes, "mode")
    try:
        passes = [
            (axes[ii], sizes[ii], origins[ii], modes[ii]) for ii in range(num_axes) if sizes[ii] > 1
        ]
    except TypeError as exc:
        raise TypeError(
            f"{exc} (size must be an integer or a sequence of integers, got {size!r})"
        ) from None
    if skip:
        workers = _args.check_workers(workers)
        boxes = []
        for axis, s, o, m in passes:
            s = _size(int(s))
            boxes.append(
                (
                    _args.check_axis(axis, input.ndim),
                    np.full(s, 1.0 / s),
                    _args.to_mode(m),
                    _box_origin(o, s),
                )
            )
        return filter_skipping(
            input, given_output, boxes, _args.real_cval(cval), nan_policy, mask, workers, key
        )
    if not passes:
        output[...] = input[...]
        return output
    if input.dtype.kind == "c":
        for axis, s, o, m in passes:
            uniform_filter1d(input, int(s), axis, output, m, cval, o, workers=workers)
            input = output
        return output
    # Real data: every pass checked before the first one writes output.
    workers = _args.check_workers(workers)
    _args.real_output(output)
    cval = _args.real_cval(cval)
    checked = []
    for axis, s, o, m in passes:
        s = _size(int(s))
        checked.append((_args.check_axis(axis, input.ndim), s, _args.to_mode(m), _box_origin(o, s)))
    with recorded(key, input) as keep:
        for axis, s, m, o in checked:
            _engine.run_box_exact(input, output, s, axis, m, cval, o, workers)
            input = output
        keep(output)
    return output
