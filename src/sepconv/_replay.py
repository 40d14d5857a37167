"""Replaying repeated calls: the one key builder and the one program cache.

A filtering's kernel launches depend on its *signature* -- the input's shape,
strides and dtype, the kernel, the options, the output's layout -- never on
the input's values.  Every public filter (``sepconv.correlate`` / ``convolve``
/ ``sepfilter`` and ``sepconv.ndimage``'s) builds its signature with
:func:`call_key` before validating anything; an equal signature seen before
replays its recorded launches (:func:`replay`), a new one runs the full path
inside :func:`recorded`, which keeps the launches if the engine could record
them all (:mod:`sepconv._engine._launch` decides what is replayable).

Only plain calls get a key: an ``np.ndarray`` input of a real dtype, and
arguments that are plain Python scalars and strings, sequences of them, NumPy
arrays of numbers (keyed by their bytes, or a digest when large), or ``None``.
Anything else (lists that are not flat, NumPy scalars whose type changes
scipy's arithmetic, Dask arrays, tensors, complex data) takes the full path
every time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._digest import kernel_key
from ._engine import ProgramCache, recording

__all__ = ["PROGRAMS", "call_key", "recorded", "replay"]

#: The programs of the signatures seen last (bounded: see ProgramCache).
PROGRAMS = ProgramCache()

_PLAIN = (int, float, str, bool, type(None))
_PLAIN_SET = frozenset(_PLAIN)


def _param(value: Any) -> Any:
    """A hashable stand-in for one argument, or raise TypeError (no key)."""
    kind = type(value)
    if kind in _PLAIN_SET:
        return kind, value  # 1 and 1.0 hash alike: the type keeps them apart
    if kind is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise TypeError
        return kernel_key(value)
    if kind in (tuple, list):
        if len(value) <= 64 and all(type(v) in _PLAIN for v in value):
            return kind, tuple((type(v), v) for v in value)
        if len(value) <= 64:  # e.g. one factor per axis: each keyed on its own
            return kind, tuple(_param(v) for v in value)
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError
        return kind, kernel_key(array)
    if isinstance(value, (type, np.dtype)):
        return "dtype", np.dtype(value)
    raise TypeError


def _output(output: Any) -> Any:
    if type(output) is np.ndarray:
        return output.shape, output.strides, output.dtype
    return _param(output)


def call_key(name: str, input: Any, output: Any, *params: Any) -> tuple | None:
    """The signature of a call, or None when it has none (see the module docstring)."""
    if type(input) is not np.ndarray or input.dtype.kind not in "biuf":
        return None
    try:
        key = (
            name,
            input.shape,
            input.strides,
            input.dtype,
            _output(output),
            # (plain scalars inline: a call per parameter was a third of the key's cost)
            *[(type(p), p) if type(p) in _PLAIN_SET else _param(p) for p in params],
        )
        hash(key)
    except (TypeError, ValueError):
        return None
    return key


def replay(key: tuple | None, input: np.ndarray, output: Any) -> np.ndarray | None:
    """The result of replaying ``key``'s program, or None (no program, or it cannot serve)."""
    if key is None:
        return None
    program = PROGRAMS.get(key)
    if program is None:
        return None
    if type(output) is np.ndarray:
        if not output.flags.writeable or np.may_share_memory(input, output):
            return None  # the full path reports or handles these
        out = output
    else:
        out = np.empty(input.shape, program.out_dtype)
    program.run(input, out)
    return out


class recorded:  # noqa: N801 - a context manager used like a function
    """``with recorded(key, input) as keep: ...; keep(output)`` records the engine's launches.

    Calling ``keep(output)`` (the validated output array the call wrote)
    stores them under ``key`` when they can be replayed.
    """

    def __init__(self, key: tuple | None, input: Any) -> None:
        self.key, self.input = key, input
        self.output: np.ndarray | None = None

    def __enter__(self) -> Any:
        self.context = recording()
        self.rec = self.context.__enter__()
        return self._keep

    def _keep(self, output: np.ndarray) -> None:
        self.output = output

    def __exit__(self, kind: Any, *exc: object) -> None:
        self.context.__exit__(kind, *exc)
        if kind is None and self.key is not None and self.output is not None:
            PROGRAMS.put(self.key, self.rec, self.input, self.output)
