"""Numba kernels: plain loops over typed arrays, specialised by the dispatcher in ``__init__``.

Every kernel reads and writes through flat views of the arrays' memory plus
element strides, so one compiled specialisation serves C-, F-, strided,
negative-stride and read-only arrays alike.

Work happens on *rows*: runs of ``W * C`` elements (the filtered axis ``W`` with
the unfiltered axes ``C`` inside it, flattened).  A row is first *gathered*:
the boundary rule is applied through the index table ``idxW`` (made by
:func:`sepconv._boundary.extend_indices`) and values are converted to the work
dtype.  Taps are then applied with the tap loop outside and a contiguous loop
over the row inside, so LLVM vectorises the inner loop; symmetric and
antisymmetric kernels come folded (``w * (a + g * b)`` with ``g = +1 / -1``)
and up to four taps are applied per pass over the row, the first pass writing
it, so small kernels cost one store per element.

Hot loops index with unsigned integers: NumPy-style negative-index wraparound
checks (which signed indices need) would stop LLVM from vectorising them.

Results do not depend on the number of threads: the work is split into tasks
(bands of rows x strips of a row) whose layout depends only on the shapes, and
each output element is computed by the same operations whichever task
computes it.  Only fused multiply-add contraction is enabled
(``fastmath={"contract"}``): no reassociation, so NaN and infinity propagate as
in plain IEEE arithmetic.

Compilation.  Numba links every jitted callee into its caller and
re-optimises and re-emits it there; a ``prange`` loop adds two such levels (its
gufunc and the wrapper).  Compiling one parallel task per (input, output)
dtype pair that way took 5-18 s per pair.  So the code is split at four seams
and the pieces call each other through C function addresses (:func:`_call`),
which Numba does not link:

* :func:`run_task_range`, a ``nogil`` loop over a range of tasks, compiled
  once for everything; the engine's own thread pool (:mod:`._pool`) runs
  chunks of it on several threads (Numba's threading layers are not used);
* the task (``cfunc`` per work dtype: float32, float64): the loop structure;
* the taps (``cfunc`` per work dtype): every vectorised multiply-add loop;
* row input (``cfunc`` per input dtype) and row output (``cfunc`` per output
  dtype), which convert between the array's dtype and the work dtype.

Each ``cfunc`` is made on first use with ``cache=True``; the pointer types in
its signature carry the dtypes, so each has its own entry in Numba's on-disk
cache.  Every piece receives plain integers (addresses, sizes, strides); the
descriptor layouts are defined by the ``G_*``, ``D_*`` and ``IO_*`` constants.

Modules.  This one holds those constants, the call-by-address intrinsics,
the cfunc address functions and :func:`run_task_range`; the pieces live in
:mod:`._k_taps` (tap loops), :mod:`._k_rows` (row input and output),
:mod:`._k_calls` (cfunc bodies and the helpers calling them) and
:mod:`._k_tasks` (the tasks), and import from here, never the reverse (the
address functions import the cfunc bodies when first called).  Numba's
on-disk cache checks only the file that defines a cached function, not the
files of what it inlines: after editing one of these modules, delete the
``__pycache__/*.nbi`` / ``*.nbc`` files of ``sepconv/_engine`` (the same
holds for :mod:`._running`, which inlines pieces of these modules).
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import cfunc, from_dtype, njit, types
from numba.extending import intrinsic

_FASTMATH = {"contract"}

KIND_SINGLE = 0  # w * row[a]
KIND_PAIR = 1  # w * (row[a] + g * row[b]), g = +1 (symmetric) or -1 (antisymmetric)

MODE_SEPARABLE = 0  # separable or low-rank terms over (H, W), through a ring of rows
MODE_DIRECT = 1  # a dense kernel over (H, W), through the same ring
MODE_DIRECT_ND = 2  # a dense kernel over more axes, each kernel row gathered afresh
MODE_RUNNING = 3  # one separable term with constant factors as running sums (_running.py)

# Fields of the integer geometry vector ``geom``.
G_MODE, G_H, G_SH, G_DH, G_W, G_SW, G_DW, G_C, G_SC, G_DC = range(10)
G_BW, G_KV, G_KW, G_BAND, G_STRIP, G_HIDENT, G_VIDENT, G_NBANDS, G_NSTRIPS = range(10, 19)
G_DIRECT_OUT = 19  # the output has the work dtype and contiguous rows: write it in place
G_ROWS = 20  # > 1: short rows, this many per call from a gathered band (_band_task)
G_SRCDIRECT = 21  # vertical taps read the input rows in place (only the borders are gathered)
G_VRUN, G_HRUN = 22, 23  # MODE_RUNNING: the vertical / horizontal factor is a running sum
G_SIZE = 24

# The descriptor handed to a task: one int64 buffer whose header gives the
# addresses and lengths of the flat input and output, the row input / output
# functions, and (offset, rows, cols) of every table; the work-dtype tables
# live in a second buffer, ``aux``.
INT_TABLES = (
    "geom",
    "soff",
    "doff",
    "vert",
    "vidx",
    "idxW",
    "roff",
    "ha",
    "hb",
    "hk",
    "hn",
    "va",
    "vb",
    "vk",
    "vn",
    "vdual",
)
AUX_TABLES = ("cval", "hw", "hg", "vw", "vg")
D_SRC, D_SRC_N, D_DST, D_DST_N, D_GATHER, D_STORE, D_TAPS, D_DUAL, D_DESC_N, D_AUX_N = range(10)
D_TABLES = 10
HEADER = D_TABLES + 3 * (len(INT_TABLES) + len(AUX_TABLES))
# Fields of the int64 block passed to the row input / output functions.
IO_N, IO_FLAT_N, IO_ROWBASE, IO_VALID, IO_Q0, IO_C, IO_BW, IO_W, IO_SW, IO_SC = range(10)
IO_IDX, IO_IDX_N = 10, 11
IO_ROWS, IO_ROWSTRIDE, IO_SPACING = 12, 13, 14  # several rows per call (short rows)
IO_SIZE = 15


# --------------------------------------------------------------------------- calls by address


@intrinsic
def _pointer(typingctx, address):
    """The ``void*`` at an integer address."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.int64), codegen


@intrinsic
def _call(typingctx, address, args):
    """Call the C function at ``address`` with the int64 values of the tuple ``args``.

    Addresses and integers share the 64-bit integer calling convention, so the
    callee may declare typed pointers where the caller passes integers.
    """
    if not (isinstance(args, types.UniTuple) and args.dtype == types.int64):
        return None
    count = args.count

    def codegen(context, builder, signature, llargs):
        i64 = ir.IntType(64)
        fnty = ir.FunctionType(ir.VoidType(), [i64] * count)
        values = [builder.extract_value(llargs[1], i) for i in range(count)]
        builder.call(builder.inttoptr(llargs[0], fnty.as_pointer()), values)
        return context.get_dummy_value()

    return types.void(types.int64, args), codegen


@njit(cache=True)
def _address(a):
    return np.int64(a.ctypes.data)


# --------------------------------------------------------------------------- compile


def _compile(entry, *arg_types):
    compiled = cfunc(types.void(*arg_types), cache=True)(entry)
    _COMPILED.append(compiled)  # keep the machine code alive
    return int(compiled.address)


_COMPILED: list = []


def _ptr_type(dtype: np.dtype) -> types.Type:
    return types.CPointer(from_dtype(np.dtype(dtype)))


@functools.cache
def task_address(work_dtype: np.dtype, nd: bool = False) -> int:
    """Address of the compiled task for a work dtype (compiled on first use).

    ``nd``: the task for dense kernels over three or more axes, kept apart so
    that 2-D work never compiles it.
    """
    from ._k_tasks import _task_entry, _task_nd_entry

    entry = _task_nd_entry if nd else _task_entry
    return _compile(entry, types.int64, types.int64, _ptr_type(work_dtype))


@functools.cache
def taps_address(work_dtype: np.dtype) -> int:
    """Address of the tap function (all vectorised arithmetic) for a work dtype."""
    from ._k_calls import _taps_entry

    work = _ptr_type(work_dtype)
    return _compile(_taps_entry, work, work, work, work, *([types.int64] * 7))


@functools.cache
def dual_address(work_dtype: np.dtype) -> int:
    """Address of the two-term tap function for a work dtype."""
    from ._k_calls import _dual_entry

    work = _ptr_type(work_dtype)
    return _compile(_dual_entry, *([work] * 7), *([types.int64] * 6))


@functools.cache
def gather_address(src_dtype: np.dtype, work_dtype: np.dtype) -> int:
    """Address of the row-input function for an input dtype and a work dtype."""
    from ._k_calls import _gather_entry

    work = _ptr_type(work_dtype)
    return _compile(_gather_entry, work, _ptr_type(src_dtype), work, types.int64)


@functools.cache
def store_address(dst_dtype: np.dtype, work_dtype: np.dtype) -> int:
    """Address of the row-output function for an output dtype and a work dtype."""
    from ._k_calls import _store_entry

    return _compile(_store_entry, _ptr_type(dst_dtype), _ptr_type(work_dtype), types.int64)


@njit(cache=True, nogil=True)
def run_task_range(t0, t1, address, desc, aux):
    """Run tasks ``t0 .. t1`` of the task function at ``address``, without the GIL.

    The engine's thread pool (:mod:`sepconv._engine._pool`) calls it on chunks
    of a call's tasks from several threads at once.
    """
    for t in range(t0, t1):
        _call(address, (np.int64(t), desc, aux))


@njit(cache=True)
def address_of(a):
    """Address of ``a``'s first element: 7x cheaper than ``a.ctypes.data`` from Python."""
    return a.ctypes.data
