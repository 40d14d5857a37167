"""Calling native functions by address from Numba code, and array addresses.

:func:`call` emits a direct call of the C function at an integer address
(Numba does not link it into the caller, so nothing is recompiled), with
int64 arguments: addresses and integers share the 64-bit calling
convention, so the callee may declare typed pointers.  ``sepconv.nn``'s
inference kernels call MKL's ``sgemm`` this way.  :func:`address_of` is an
array's data address, seven times cheaper than ``a.ctypes.data`` from Python.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["address_of", "call", "pointer"]


@intrinsic
def pointer(typingctx, address):
    """The ``void*`` at an integer address."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], ir.IntType(8).as_pointer())

    return types.voidptr(types.int64), codegen


@intrinsic
def call(typingctx, address, args):
    """Call the C function at ``address`` with the int64 values of the tuple ``args``."""
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
def address_of(a):
    """Address of ``a``'s first element."""
    return np.int64(a.ctypes.data)
