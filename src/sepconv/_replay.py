"""Replays of ``correlate`` / ``convolve`` / ``sepfilter`` calls: their keys and programs.

A call on plain real arrays has a signature (:func:`_signature`,
:func:`_sepfilter_signature`) holding everything its launches depend on but
the input's values; the launches recorded under it are kept in
``_PROGRAMS`` (:class:`sepconv._program.ProgramCache`) and replayed by
:func:`_replay` when the same signature comes again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._digest import kernel_key
from ._program import Program, ProgramCache

# Programs of the signatures seen last (see sepconv._program).
_PROGRAMS = ProgramCache()


def _signature(
    convolution: bool,
    input: Any,
    weights: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    method: Any,
    rtol: Any,
) -> tuple | None:
    """The key under which a ``correlate``/``convolve`` call's program is kept, or None.

    Only plain real arrays have one; the key holds everything the program
    depends on, never the input's values.
    """
    return _call_key(convolution, input, (weights,), output, mode, cval, origin, axes, method, rtol)


def _sepfilter_signature(
    input: Any, factors: Any, axes: Any, output: Any, mode: Any, cval: Any, origin: Any
) -> tuple | None:
    """The key of a ``sepfilter`` call (see :func:`_signature`)."""
    return _call_key("sepfilter", input, factors, output, mode, cval, origin, axes)


def _call_key(
    kind: Any,
    input: Any,
    kernels: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    *options: Any,
) -> tuple | None:
    """``kind``, the input's layout, the keys of ``kernels`` and the call's options, hashable."""
    if type(input) is not np.ndarray or input.dtype.kind not in "iuf":
        return None
    try:
        vectors = tuple(kernel_key(k if type(k) is np.ndarray else np.asarray(k)) for k in kernels)
        if any(v[0][1] not in "iufb" for v in vectors):
            return None
        key = (
            kind,
            input.shape,
            input.strides,
            input.dtype,
            vectors,
            _output_key(output),
            mode if type(mode) is str else tuple(mode),
            cval,
            origin if type(origin) is int else tuple(origin),
            axes if axes is None or type(axes) is int else tuple(axes),
            *options,
        )
        hash(key)
    except Exception:  # unhashable or odd arguments: the full path reports them
        return None
    return key


def _replay(key: tuple, array: np.ndarray, output: Any) -> np.ndarray | None:
    """Run the kept program of ``key`` (None when there is none or it cannot serve)."""
    program = _PROGRAMS.get(key)
    return None if program is None else _run_program(program, array, output)


def _run_program(program: Program, array: np.ndarray, output: Any) -> np.ndarray | None:
    if type(output) is np.ndarray:
        if not output.flags.writeable or np.may_share_memory(array, output):
            return None  # the full path reports or handles these
        out = output
    else:
        out = np.empty(array.shape, program.out_dtype)
    program.run(array, out)
    return out


def _output_key(output: Any) -> Any:
    if type(output) is np.ndarray:
        return output.shape, output.strides, output.dtype
    if output is None or isinstance(output, (type, np.dtype, str)):
        return output
    raise TypeError  # no key: the full path validates it
