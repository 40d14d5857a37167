"""Kernel launches, their recording, and replaying them: the one replay cache.

Every kernel the engine runs goes through :func:`launch`: a compiled entry
point called as ``entry(t0, t1, src, dst, *rest)`` on chunks of its tasks by
the thread pool (:mod:`._pool`).  Planning a filtering (checking arguments,
analysing the kernel, laying out arrays, building tap tables) costs tens to
hundreds of microseconds of Python; none of it depends on the input's values,
only on the call's *signature* (shape, strides, dtype, kernel, modes,
origins, axes, output).  So a public function that can key its call runs the
engine inside :func:`recording`, and :class:`ProgramCache` keeps the launches
under the key; the next call with that key replays them on the new arrays
(:meth:`Program.run`), which costs a dictionary look-up and one pool call per
launch (a 64 x 64 filter takes a few microseconds).

What is replayable is decided in one place: copies between arrays go through
:func:`copy` (an input the kernels cannot read laid out C-contiguous, a
scratch output copied back), which records them like launches; anything else
the engine does outside a launch (FFT, padding in NumPy, copies whose need
depends on addresses) calls :func:`not_replayable`, and such a recording is
never kept.  Scratch arrays are recorded by shape and dtype and allocated
afresh on every replay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _pool

__all__ = [
    "COPY",
    "MAX_PROGRAMS",
    "MAX_PROGRAM_BYTES",
    "Program",
    "ProgramCache",
    "Recording",
    "copy",
    "launch",
    "not_replayable",
    "recording",
]

#: Programs a cache keeps (the oldest is dropped first).
MAX_PROGRAMS = 256
#: Largest program (tables, bytes) a cache keeps.
MAX_PROGRAM_BYTES = 256 * 1024
# Launches with less work than this run on the calling thread (parallel_for's rule).
_SERIAL_WORK = 2 * _pool.WORK_PER_THREAD


class Recording:
    """One engine call's launches: ``(entry, ntasks, src, dst, shapes, rest, work, threads)``."""

    __slots__ = ("steps", "replayable")

    def __init__(self) -> None:
        self.steps: list[tuple] = []
        self.replayable = True


_recorder = threading.local()


class recording:  # noqa: N801 - a context manager used like a function
    """``with recording() as rec:`` collects the launches this thread makes."""

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


#: The "entry" of a recorded copy step.
COPY = "copy"


def copy(src: np.ndarray, dst: np.ndarray) -> None:
    """``dst[...] = src`` (a layout or byte-order change), recorded for replays."""
    rec = getattr(_recorder, "active", None)
    if rec is not None:
        rec.steps.append((COPY, 0, src, dst, None, (), 0, None))
    np.copyto(dst, src)


def launch(
    entry: Callable[..., Any],
    ntasks: int,
    src: np.ndarray,
    dst: np.ndarray,
    shapes: tuple[tuple[int, ...], tuple[int, ...]],
    rest: tuple,
    work: int,
    threads: int | None = None,
) -> None:
    """Run ``entry(t0, t1, src.reshape(shapes[0]), dst.reshape(shapes[1]), *rest)``.

    ``src`` and ``dst`` are C-contiguous; ``work`` (elements x taps) decides
    whether threads pay (:func:`._pool.parallel_for`); ``threads`` overrides
    the thread count for this call.
    """
    rec = getattr(_recorder, "active", None)
    if rec is not None:
        rec.steps.append((entry, ntasks, src, dst, shapes, rest, work, threads))
    if ntasks <= 0:
        return
    args = (src.reshape(shapes[0]), dst.reshape(shapes[1]), *rest)
    _pool.parallel_for(entry, ntasks, args, work, threads)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


class Program:
    """Recorded launches, replayed by :meth:`run` on new arrays of the same layout.

    Slots: 0 the input, 1 the output (each possibly seen through another dtype,
    e.g. an unsigned view), 2 and up scratch arrays allocated per run.
    """

    __slots__ = ("steps", "scratch", "nbytes", "out_dtype", "single")

    def __init__(self, rec: Recording, src: np.ndarray, dst: np.ndarray) -> None:
        known = {_address(src): 0, _address(dst): 1}
        self.scratch: list[tuple[tuple[int, ...], np.dtype]] = []
        self.steps: list[tuple] = []
        nbytes = 0
        for entry, ntasks, s, d, shapes, rest, work, threads in rec.steps:
            slots = []
            for array in (s, d):
                slot = known.get(_address(array))
                if slot is None:
                    slot = known[_address(array)] = 2 + len(self.scratch)
                    self.scratch.append((array.shape, array.dtype))
                slots.append((slot, array.dtype, array.shape))
            self.steps.append((entry, ntasks, *slots, shapes, rest, work, threads))
            nbytes += sum(a.nbytes for a in rest if isinstance(a, np.ndarray))
        self.nbytes = nbytes
        self.out_dtype = dst.dtype
        # One serial kernel launch from the input to the output (most small calls):
        # its arguments, ready for run()'s shortcut.
        self.single = None
        if len(self.steps) == 1 and not self.scratch:
            entry, ntasks, (sslot, sdt, _), (dslot, ddt, _), shapes, rest, work, threads = (
                self.steps[0]
            )
            if entry != COPY and (sslot, dslot) == (0, 1) and threads is None:
                if work < _SERIAL_WORK:
                    self.single = (entry, ntasks, shapes, sdt, ddt, rest)

    def run(self, src: np.ndarray, dst: np.ndarray) -> None:
        if self.single is not None:
            entry, ntasks, shapes, sdt, ddt, rest = self.single
            entry(
                0, ntasks, np.ndarray(shapes[0], sdt, src), np.ndarray(shapes[1], ddt, dst), *rest
            )
            return
        arrays = [src, dst] + [np.empty(shape, dtype) for shape, dtype in self.scratch]
        for step in self.steps:
            entry, ntasks, (sslot, sdt, _), (dslot, ddt, _), shapes, rest, work, threads = step
            s, d = arrays[sslot], arrays[dslot]
            if entry == COPY:
                # the caller's arrays have the recorded layout (it is in the key);
                # scratch arrays are seen as the recorded shape and dtype
                if sslot >= 2:
                    s = s.view(sdt).reshape(step[2][2])
                if dslot >= 2:
                    d = d.view(ddt).reshape(step[3][2])
                np.copyto(d, s)
                continue
            # The kernels' raw views, made from the buffers (half the cost of
            # view + reshape, which a replay of a small call notices): a kernel
            # step's arrays are C-contiguous (others were copied by a COPY step).
            s, d = np.ndarray(shapes[0], sdt, s), np.ndarray(shapes[1], ddt, d)
            if threads is None and work < _SERIAL_WORK:
                entry(0, ntasks, s, d, *rest)  # what parallel_for would do, without its cost
            else:
                _pool.parallel_for(entry, ntasks, (s, d, *rest), work, threads)


class ProgramCache:
    """Key -> :class:`Program`, bounded in count and size."""

    def __init__(self, size: int = MAX_PROGRAMS) -> None:
        self.size = size
        self.programs: dict[Any, Program] = {}
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Program | None:
        program = self.programs.get(key)
        if program is None:
            self.misses += 1
        else:
            self.hits += 1
        return program

    def put(self, key: Any, rec: Recording, src: np.ndarray, dst: np.ndarray) -> None:
        """Keep ``rec`` (made for input ``src`` and output ``dst``) under ``key``, if it can be."""
        if key is None or not rec.replayable or not rec.steps:
            return
        if np.may_share_memory(src, dst):
            return  # its steps cannot tell the input from the output by address
        program = Program(rec, src, dst)
        if program.nbytes > MAX_PROGRAM_BYTES:
            return
        with self.lock:
            while len(self.programs) >= self.size:
                self.programs.pop(next(iter(self.programs)))
            self.programs[key] = program

    def clear(self) -> None:
        with self.lock:
            self.programs.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self.programs)
