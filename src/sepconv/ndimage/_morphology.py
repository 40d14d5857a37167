"""scipy.ndimage's minimum / maximum filters and grey morphology, bit for bit.

Every function has scipy 1.17's name, positional order, defaults and keywords
(plus a keyword-only ``workers``), checks its arguments in scipy's order with
scipy's exception classes and texts (:mod:`sepconv._args`), and returns
scipy's bits for every dtype scipy accepts, NaN and infinity included.

scipy has two algorithms and so two sets of rules, and each is kept:

* ``size``, or a footprint that is all true: 1-D passes along each axis in
  scipy's order (scipy's ``minimum_filter1d``), each stored in the output
  dtype, ``cval`` used as the double it is, equal values resolved to the
  newest.  Here they run on the engine's min/max sweep
  (:func:`sepconv._engine.run_minmax`): a cost flat in the window, the last
  two passes fused, threads.
* any other footprint, or a ``structure``: scipy's N-D filter (``cval`` cast to
  the input's type, a strict comparison in footprint order, the structure
  added in the input's type), one vector operation per footprint element
  (:func:`sepconv._engine.run_minmax_direct`).

scipy's 1-D algorithm gives NaN an order-dependent meaning (see
:mod:`sepconv._engine._minmax`); inputs holding NaN run that algorithm
itself, line by line, so they too get scipy's bits.  The opening, closing,
gradient, Laplace and top-hat filters are scipy's compositions of the two
filters, with NumPy's arithmetic for the differences, as scipy does them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import _args, _engine
from .._docs import fill_doc
from .._replay import call_key, recorded, replay
from ._uniform import _box_origin, _size

__all__ = [
    "black_tophat",
    "grey_closing",
    "grey_dilation",
    "grey_erosion",
    "grey_opening",
    "maximum_filter",
    "maximum_filter1d",
    "minimum_filter",
    "minimum_filter1d",
    "morphological_gradient",
    "morphological_laplace",
    "reflected",
    "white_tophat",
]

_OP = {True: _engine.OP_MIN, False: _engine.OP_MAX}
_IGNORING = "ignoring size because footprint is set"


def _real_input(input: Any, output: Any) -> np.ndarray:
    """``np.asarray(input)`` for a min/max filter: scipy refuses complex data first."""
    array = np.asarray(input)
    if np.iscomplexobj(array):
        raise TypeError(
            "Complex type not supported (minimum and maximum filters take real data; "
            "filter input.real and input.imag separately)"
        )
    return _args.as_input(array, output)


def _nan_key(input: np.ndarray) -> bool:
    # The only value-dependent choice (see the module notes): part of the replay key.
    return _engine.has_nan(input) if type(input) is np.ndarray else False


def _nan_of(given: Any, array: np.ndarray, nan: bool) -> bool:
    """Whether ``array`` (``given`` as an array) holds a NaN: ``nan`` when
    :func:`_nan_key` could look at ``given`` itself, else a scan of ``array``
    (lists, memory maps and other subclasses have no replay key to match)."""
    return nan if type(given) is np.ndarray else _engine.has_nan(array)


# --------------------------------------------------------------------------- 1-D


def _filter1d(
    minimum: bool,
    input: Any,
    size: Any,
    axis: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    workers: Any,
) -> np.ndarray:
    name = "minimum_filter1d" if minimum else "maximum_filter1d"
    nan = _nan_key(input)
    key = call_key(name, input, output, size, axis, mode, cval, origin, workers, nan)
    if (done := replay(key, input, output)) is not None:
        return done
    given = input
    input = _real_input(input, output)
    nan = _nan_of(given, input, nan)
    workers = _args.check_workers(workers)
    axis = _args.check_axis(axis, input.ndim)
    size = _size(size)
    output = _args.get_output(output, input)
    origin = _box_origin(origin, size)
    mode = _args.to_mode(mode)
    _args.real_output(output)
    cval = _args.real_cval(cval)
    with recorded(key, input) as keep:
        if size == 1:
            # scipy copies the line through its double buffer: scipy's C cast of each value
            passes = [_engine.MinMaxPass(axis, 1, mode, 0)]
            _engine.run_minmax(input, output, passes, cval, op=_OP[minimum], nan=True)
        else:
            passes = [_engine.MinMaxPass(axis, size, mode, origin)]
            _engine.run_minmax(
                input, output, passes, cval, op=_OP[minimum], nan=nan, workers=workers
            )
        keep(output)
    return output


@fill_doc
def minimum_filter1d(
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
    """1-D minimum filter along ``axis``, as ``scipy.ndimage.minimum_filter1d``.

    The cost does not grow with ``size`` (van Herk / Gil-Werman blocks across
    lines, or doubling along them); scipy's bits, NaN included (see the
    module notes).

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

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.minimum_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([2, 0, 0, 0, 1, 1, 0, 0])
    """
    return _filter1d(True, input, size, axis, output, mode, cval, origin, workers)


@fill_doc
def maximum_filter1d(
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
    """1-D maximum filter along ``axis``, as ``scipy.ndimage.maximum_filter1d``.

    See :func:`minimum_filter1d`.

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

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.maximum_filter1d([2, 8, 0, 4, 1, 9, 9, 0], size=3)
    array([8, 8, 8, 4, 9, 9, 9, 9])
    """
    return _filter1d(False, input, size, axis, output, mode, cval, origin, workers)


# --------------------------------------------------------------------------- N-D


def _min_or_max_filter(
    input: Any,
    size: Any,
    footprint: Any,
    structure: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    minimum: bool,
    axes: Any,
    workers: Any,
    name: str,
) -> np.ndarray:
    """scipy's ``_min_or_max_filter``, check by check, on the engine."""
    nan = _nan_key(input)
    key = call_key(
        name, input, output, size, footprint, structure, mode, cval, origin, axes, workers, nan
    )
    if key is not None and size is not None and footprint is not None:
        key = None  # the call warns: take the full path, which does
    if (done := replay(key, input, output)) is not None:
        return done
    if (size is not None) and (footprint is not None):
        warnings.warn(_IGNORING, UserWarning, stacklevel=4)
    if structure is None:
        if footprint is None:
            if size is None:
                raise _args.FilterArgumentError(
                    "no footprint provided (pass size=, footprint= or structure=)"
                )
            separable = True
        else:
            footprint = np.asarray(footprint, dtype=bool)
            if not footprint.any():
                raise ValueError(
                    "All-zero footprint is not supported. (footprint must have at least "
                    "one true element)"
                )
            if footprint.all():
                size = footprint.shape
                footprint = None
                separable = True
            else:
                separable = False
    else:
        structure = np.asarray(structure, dtype=np.float64)
        separable = False
        if footprint is None:
            footprint = np.ones(structure.shape, bool)
        else:
            footprint = np.asarray(footprint, dtype=bool)
    given = input
    input = _real_input(input, output)
    nan = _nan_of(given, input, nan)
    workers = _args.check_workers(workers)
    output = _args.get_output(output, input)
    axes = _args.to_axes(axes, input.ndim)
    num_axes = len(axes)
    op = _OP[minimum]
    if separable:
        origins = _args.to_sequence(origin, num_axes, "origin")
        sizes = _args.to_sequence(size, num_axes, "size")
        modes = _args.to_sequence(mode, num_axes, "mode")
        try:
            chosen = [
                (axes[ii], sizes[ii], origins[ii], modes[ii])
                for ii in range(num_axes)
                if sizes[ii] > 1
            ]
        except TypeError as exc:
            raise TypeError(
                f"{exc} (size must be an integer or a sequence of integers, got {size!r})"
            ) from None
        # Every pass is checked before the first writes output (scipy checks each
        # as it comes, in minimum_filter1d).
        passes = []
        for ax, s, o, m in chosen:
            s = int(s)
            ax = _args.check_axis(ax, input.ndim)
            o = _box_origin(o, s)
            passes.append(_engine.MinMaxPass(ax, s, _args.to_mode(m), o))
        _args.real_output(output)
        cval = _args.real_cval(cval)
        if not passes:
            output[...] = input[...]
            return output
        with recorded(key, input) as keep:
            _engine.run_minmax(input, output, passes, cval, op=op, nan=nan, workers=workers)
            keep(output)
        return output
    footprint = _expand_footprint(input.ndim, axes, footprint)
    origins = _expand_origin(input.ndim, axes, origin)
    fshape = [ii for ii in footprint.shape if ii > 0]
    if len(fshape) != input.ndim:
        raise _args.FilterArgumentError(
            f"footprint.ndim ({footprint.ndim}) must match len(axes) ({len(axes)}) "
            f"(footprint must have one dimension per filtered axis, axes={axes})"
        )
    checked = []
    for o, lenf in zip(origins, fshape):
        try:
            bad = (lenf // 2 + o < 0) or (lenf // 2 + o >= lenf)
        except TypeError as exc:
            raise TypeError(f"{exc} (origin must be an integer, got {o!r})") from None
        if bad:
            raise ValueError(
                f"invalid origin (origin must lie in [{-(lenf // 2)}, {(lenf - 1) // 2}] "
                f"for a footprint {lenf} long, got {o})"
            )
        checked.append(_box_origin(o, lenf))
    if structure is not None:
        if len(structure.shape) != num_axes:
            raise _args.FilterArgumentError(
                "structure array has incorrect shape (structure must have one dimension "
                f"per filtered axis: {num_axes}, got shape {structure.shape})"
            )
        if num_axes != structure.ndim:  # pragma: no cover - scipy's dead branch
            structure = np.expand_dims(
                structure, tuple(ax for ax in range(structure.ndim) if ax not in axes)
            )
        if structure.ndim < input.ndim:
            structure = np.expand_dims(
                structure, tuple(ax for ax in range(input.ndim) if ax not in axes)
            )
        if structure.shape != footprint.shape:
            raise _args.FilterArgumentError(
                f"structure and footprint shapes differ ({structure.shape} and "
                f"{footprint.shape}; give them the same shape)"
            )
    if not isinstance(mode, str) and isinstance(mode, Iterable):
        raise _args.FilterArgumentError(
            "A sequence of modes is not supported for non-separable footprints (pass one "
            "mode, or an all-true footprint / size= for one mode per axis)"
        )
    mode = _args.to_mode(mode)
    _args.real_output(output, "array type not supported")  # scipy's N-D filter's text
    cval = _args.real_cval(cval)
    offsets = None
    if structure is not None:
        offsets = -structure if minimum else structure
    with recorded(key, input) as keep:
        _engine.run_minmax_direct(
            input, output, footprint, offsets, mode, cval, checked, op=op, workers=workers
        )
        keep(output)
    return output


def _expand_footprint(ndim: int, axes: tuple[int, ...], footprint: np.ndarray) -> np.ndarray:
    num_axes = len(axes)
    if num_axes < ndim:
        if footprint.ndim != num_axes:
            raise _args.FilterArgumentError(
                f"footprint.ndim ({footprint.ndim}) must match len(axes) ({num_axes}) "
                f"(footprint must have one dimension per filtered axis, axes={axes})"
            )
        footprint = np.expand_dims(footprint, tuple(ax for ax in range(ndim) if ax not in axes))
    return footprint


def _expand_origin(ndim: int, axes: tuple[int, ...], origin: Any) -> list[Any]:
    num_axes = len(axes)
    origins = _args.to_sequence(origin, num_axes, "origin")
    if num_axes < ndim:
        expanded: list[Any] = [0] * ndim
        for o, ax in zip(origins, axes):
            expanded[ax] = o
        origins = expanded
    return origins


@fill_doc
def minimum_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional minimum filter, as ``scipy.ndimage.minimum_filter``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.minimum_filter(np.arange(16).reshape(4, 4), size=3)
    array([[ 0,  0,  1,  2],
           [ 0,  0,  1,  2],
           [ 4,  4,  5,  6],
           [ 8,  8,  9, 10]])
    """
    return _min_or_max_filter(
        input,
        size,
        footprint,
        None,
        output,
        mode,
        cval,
        origin,
        True,
        axes,
        workers,
        "minimum_filter",
    )


@fill_doc
def maximum_filter(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Multidimensional maximum filter, as ``scipy.ndimage.maximum_filter``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> ndi.maximum_filter(np.arange(16).reshape(4, 4), footprint=[[0, 1], [1, 0]])
    array([[ 0,  1,  2,  3],
           [ 4,  4,  5,  6],
           [ 8,  8,  9, 10],
           [12, 12, 13, 14]])
    """
    return _min_or_max_filter(
        input,
        size,
        footprint,
        None,
        output,
        mode,
        cval,
        origin,
        False,
        axes,
        workers,
        "maximum_filter",
    )


# --------------------------------------------------------------------------- grey morphology

_NEEDED = "size, footprint, or structure must be specified"


def _needs_one(size: Any, footprint: Any, structure: Any) -> None:
    if size is None and footprint is None and structure is None:
        raise ValueError(f"{_NEEDED} (pass size=3, a footprint array or a structure array)")


@fill_doc
def grey_erosion(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Greyscale erosion, as ``scipy.ndimage.grey_erosion``.

    The minimum over the footprint; with a ``structure``, of ``input - structure``
    (scipy's N-D filter and its arithmetic, see the module notes).

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.zeros((5, 5), int)
    >>> a[1:4, 1:4] = 3
    >>> ndi.grey_erosion(a, size=(3, 3))[2]
    array([0, 0, 3, 0, 0])
    """
    _needs_one(size, footprint, structure)
    return _min_or_max_filter(
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        True,
        axes,
        workers,
        "grey_erosion",
    )


@fill_doc
def grey_dilation(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Greyscale dilation, as ``scipy.ndimage.grey_dilation``.

    The maximum over the *reflected* footprint (scipy flips the footprint and
    the structure and mirrors the origin); with a ``structure``, of
    ``input + structure``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.zeros((5, 5), int)
    >>> a[2, 2] = 3
    >>> ndi.grey_dilation(a, size=(3, 3))[1]
    array([0, 3, 3, 3, 0])
    """
    _needs_one(size, footprint, structure)
    footprint, structure, origin = reflected(
        np.ndim(input), size, footprint, structure, origin, axes
    )
    return _min_or_max_filter(
        input,
        size,
        footprint,
        structure,
        output,
        mode,
        cval,
        origin,
        False,
        axes,
        workers,
        "grey_dilation",
    )


def reflected(
    ndim: int, size: Any, footprint: Any, structure: Any, origin: Any, axes: Any
) -> tuple[Any, Any, list[Any]]:
    """``(footprint, structure, origin)`` of the maximum filter a dilation is.

    scipy's rule, line by line (so its errors are Python's for the same
    values): the footprint and structure reversed along every axis, each
    origin negated, and one less where the window is even.
    """
    if structure is not None:
        structure = np.asarray(structure)
        structure = structure[tuple([slice(None, None, -1)] * structure.ndim)]
    if footprint is not None:
        footprint = np.asarray(footprint)
        footprint = footprint[tuple([slice(None, None, -1)] * footprint.ndim)]
    axes = _args.to_axes(axes, ndim)
    origin = _args.to_sequence(origin, len(axes), "origin")
    for ii in range(len(origin)):
        origin[ii] = -origin[ii]
        if footprint is not None:
            sz = footprint.shape[ii]
        elif structure is not None:
            sz = structure.shape[ii]
        elif np.isscalar(size):
            sz = size
        else:
            sz = size[ii]
        if not sz & 1:
            origin[ii] -= 1
    return footprint, structure, origin


def _warn_if_both(size: Any, footprint: Any) -> None:
    if (size is not None) and (footprint is not None):
        warnings.warn(_IGNORING, UserWarning, stacklevel=3)


@fill_doc
def grey_opening(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Greyscale opening (erosion then dilation), as ``scipy.ndimage.grey_opening``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.arange(36).reshape(6, 6)
    >>> a[3, 3] = 50
    >>> ndi.grey_opening(a, size=(3, 3))[3]
    array([18, 19, 20, 22, 22, 22])
    """
    _warn_if_both(size, footprint)
    tmp = grey_erosion(
        input, size, footprint, structure, None, mode, cval, origin, axes=axes, workers=workers
    )
    return grey_dilation(
        tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, workers=workers
    )


@fill_doc
def grey_closing(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Greyscale closing (dilation then erosion), as ``scipy.ndimage.grey_closing``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.arange(36).reshape(6, 6)
    >>> a[3, 3] = 0
    >>> ndi.grey_closing(a, size=(3, 3))[3]
    array([19, 19, 20, 20, 22, 23])
    """
    _warn_if_both(size, footprint)
    tmp = grey_dilation(
        input, size, footprint, structure, None, mode, cval, origin, axes=axes, workers=workers
    )
    return grey_erosion(
        tmp, size, footprint, structure, output, mode, cval, origin, axes=axes, workers=workers
    )


@fill_doc
def morphological_gradient(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Dilation minus erosion, as ``scipy.ndimage.morphological_gradient``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.zeros((5, 5), int)
    >>> a[2, 2] = 1
    >>> ndi.morphological_gradient(a, size=(3, 3))[2]
    array([0, 1, 1, 1, 0])
    """
    kw = {"axes": axes, "workers": workers}
    tmp = grey_dilation(input, size, footprint, structure, None, mode, cval, origin, **kw)
    if isinstance(output, np.ndarray):
        grey_erosion(input, size, footprint, structure, output, mode, cval, origin, **kw)
        return np.subtract(tmp, output, output)
    return tmp - grey_erosion(input, size, footprint, structure, None, mode, cval, origin, **kw)


@fill_doc
def morphological_laplace(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """Dilation plus erosion minus twice the input, as ``scipy.ndimage.morphological_laplace``.

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.zeros((5, 5), int)
    >>> a[2, 2] = 1
    >>> ndi.morphological_laplace(a, size=(3, 3))[2]
    array([ 0,  1, -1,  1,  0])
    """
    kw = {"axes": axes, "workers": workers}
    input = np.asarray(input)
    tmp1 = grey_dilation(input, size, footprint, structure, None, mode, cval, origin, **kw)
    if isinstance(output, np.ndarray):
        grey_erosion(input, size, footprint, structure, output, mode, cval, origin, **kw)
        np.add(tmp1, output, output)
        np.subtract(output, input, output)
        return np.subtract(output, input, output)
    tmp2 = grey_erosion(input, size, footprint, structure, None, mode, cval, origin, **kw)
    np.add(tmp1, tmp2, tmp2)
    np.subtract(tmp2, input, tmp2)
    np.subtract(tmp2, input, tmp2)
    return tmp2


@fill_doc
def white_tophat(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """The input minus its opening, as ``scipy.ndimage.white_tophat`` (bool: XOR).

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.zeros((5, 5), int)
    >>> a[2, 2] = 4
    >>> ndi.white_tophat(a, size=(3, 3))[2]
    array([0, 0, 4, 0, 0])
    """
    kw = {"axes": axes, "workers": workers}
    input = np.asarray(input)
    _warn_if_both(size, footprint)
    tmp = grey_erosion(input, size, footprint, structure, None, mode, cval, origin, **kw)
    tmp = grey_dilation(tmp, size, footprint, structure, output, mode, cval, origin, **kw)
    if tmp is None:  # pragma: no cover - scipy's guard; ours always returns the array
        tmp = output
    if input.dtype == np.bool_ and tmp.dtype == np.bool_:
        np.bitwise_xor(input, tmp, out=tmp)
    else:
        np.subtract(input, tmp, out=tmp)
    return tmp


@fill_doc
def black_tophat(
    input: Any,
    size: Any = None,
    footprint: Any = None,
    structure: Any = None,
    output: Any = None,
    mode: Any = "reflect",
    cval: Any = 0.0,
    origin: Any = 0,
    *,
    axes: Any = None,
    workers: int | None = None,
) -> np.ndarray:
    """The closing minus the input, as ``scipy.ndimage.black_tophat`` (bool: XOR).

    Parameters
    ----------
    %(input)s
    %(size_foot)s
    %(structure)s
    %(output)s
    %(mode)s
    %(cval)s
    %(origin)s
    %(axes)s
    %(workers)s

    Returns
    -------
    %(returns)s

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import ndimage as ndi
    >>> a = np.full((5, 5), 4)
    >>> a[2, 2] = 0
    >>> ndi.black_tophat(a, size=(3, 3))[2]
    array([0, 0, 4, 0, 0])
    """
    kw = {"axes": axes, "workers": workers}
    input = np.asarray(input)
    _warn_if_both(size, footprint)
    tmp = grey_dilation(input, size, footprint, structure, None, mode, cval, origin, **kw)
    tmp = grey_erosion(tmp, size, footprint, structure, output, mode, cval, origin, **kw)
    if tmp is None:  # pragma: no cover - scipy's guard; ours always returns the array
        tmp = output
    if input.dtype == np.bool_ and tmp.dtype == np.bool_:
        np.bitwise_xor(tmp, input, out=tmp)
    else:
        np.subtract(tmp, input, out=tmp)
    return tmp
