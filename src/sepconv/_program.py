"""Programs: the kernel launches of one filtering, made once and replayed.

Planning a filter (validating arguments, analysing the kernel, laying out the
arrays, packing taps and task tables) costs a few hundred microseconds of
Python, more than the kernels take on images below ~256².  None of it depends
on the values of the input, only on its *signature*: shape, strides, dtype,
kernel, modes, origins, axes, output dtype and layout.  So the first call
with a signature runs the engine while recording its launches
(:func:`sepconv._engine.recording`); the launches become a :class:`Program`
whose replay only patches the input, output and scratch addresses into the
task descriptors and runs the tasks.  A replay spends ~10 µs in Python.

Calls the engine cannot express as launches alone (FFT plans, inputs the
kernels cannot address, outputs overlapping the input, complex arrays) are
never recorded: they take the full path every time.

The cache.  :class:`ProgramCache` maps a signature to a program.  Kernels
enter the key as their bytes when small (``<= 1 KiB``) and as a 128-bit
BLAKE2 digest otherwise, so the cache never keeps copies of large kernels;
programs whose tables exceed :data:`MAX_PROGRAM_BYTES` are not kept.  At most
:data:`MAX_PROGRAMS` programs are kept (the oldest is dropped first), so the
cache holds at most ``MAX_PROGRAMS * MAX_PROGRAM_BYTES`` (64 MiB) and
typically a few KiB per entry.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ._digest import kernel_key
from ._engine import Recording, _pool
from ._engine import _kernels as _k

__all__ = ["MAX_PROGRAMS", "MAX_PROGRAM_BYTES", "Program", "ProgramCache", "kernel_key"]

#: Programs kept by a cache.
MAX_PROGRAMS = 256
#: Largest program (task tables, bytes) a cache keeps.
MAX_PROGRAM_BYTES = 256 * 1024


_address = _k.address_of


class Program:
    """Recorded launches; ``run(src, dst)`` replays them for new arrays of the same layout.

    Slots: 0 is the input, 1 the output, 2 and up scratch buffers (allocated per
    run, as the engine allocated them).
    """

    __slots__ = ("steps", "buffers", "nbytes", "out_dtype", "_keep")

    def __init__(self, rec: Recording, src: np.ndarray, dst: np.ndarray) -> None:
        slots = {id(src): 0, id(dst): 1}
        lows: dict[int, int] = {}
        self.buffers: list[tuple[int, np.dtype]] = []
        self.steps: list[tuple] = []
        self._keep: list[np.ndarray] = []
        nbytes = 0
        for address, ntasks, desc, aux, work, s, d in rec.steps:
            ids = []
            for array, flat_at in ((s, _k.D_SRC), (d, _k.D_DST)):
                slot = slots.get(id(array))
                if slot is None:  # a scratch buffer the engine allocated: flat on replay
                    slot = slots[id(array)] = 2 + len(self.buffers)
                    self.buffers.append((int(desc[flat_at + 1]), array.dtype))
                    lows[slot] = 0
                elif slot < 2:
                    # the kernels address memory from its lowest element (see _engine._layout._flat)
                    lows[slot] = int(desc[flat_at]) - _address(array)
                ids.append((slot, lows[slot]))
            (sslot, slow), (dslot, dlow) = ids
            # desc was made for this launch alone: it becomes the template (copied per run);
            # aux is only read, by address, so the program keeps it alive.
            self._keep.append(aux)
            self.steps.append(
                (address, ntasks, desc, _address(aux), int(work), sslot, slow, dslot, dlow)
            )
            nbytes += desc.nbytes + aux.nbytes
        self.nbytes = nbytes
        self.out_dtype = dst.dtype

    def run(self, src: np.ndarray, dst: np.ndarray) -> None:
        arrays = [src, dst]
        for n, dtype in self.buffers:
            arrays.append(np.empty(n, dtype))
        run = _k.run_task_range
        for address, ntasks, template, aux_at, work, sslot, slow, dslot, dlow in self.steps:
            desc = template.copy()
            desc[_k.D_SRC] = _address(arrays[sslot]) + slow
            desc[_k.D_DST] = _address(arrays[dslot]) + dlow
            _pool.parallel_for(run, ntasks, (address, _address(desc), aux_at), work)


class ProgramCache:
    """Signature -> :class:`Program`, bounded in count and size (see the module docstring)."""

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
        if not rec.replayable or not rec.steps:
            return
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
