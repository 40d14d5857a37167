"""Calling native functions by address from Numba code, and array addresses.

:func:`call` emits a direct call of the C function at an integer address
(Numba does not link it into the caller, so nothing is recompiled), with
int64 arguments: addresses and integers share the 64-bit calling
convention, so the callee may declare typed pointers.  ``sepconv.nn``'s
inference kernels call MKL's ``sgemm`` this way.  :func:`address_of` is an
array's data address, seven times cheaper than ``a.ctypes.data`` from Python.
:func:`reinterpret` sees a row of raw bytes as a row of another dtype at no
cost (``ndarray.view`` costs about 16 ns per call in compiled code: the
engine's row loops called it several times per row).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array

__all__ = ["address_of", "call", "pointer", "reinterpret"]


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


@intrinsic
def reinterpret(typingctx, raw, dtype):
    """The C-contiguous 1-D ``uint8`` array ``raw`` as a 1-D array of ``dtype``.

    ``raw.view(dtype)`` without its checks: the caller guarantees the length
    is a multiple of the item size (the engine's raw rows are whole rows of
    their dtype).  The result shares ``raw``'s memory.
    """
    if isinstance(dtype, types.NumberClass):
        item = dtype.instance_type
    elif isinstance(dtype, types.DType):
        item = dtype.dtype
    else:
        return None
    if not (isinstance(raw, types.Array) and raw.ndim == 1 and raw.layout == "C"):
        return None
    result = types.Array(item, 1, "C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(result)(context, builder)
        lltype = context.get_data_type(item)
        intp = context.get_value_type(types.intp)
        size = ir.Constant(intp, context.get_abi_sizeof(lltype))
        count = builder.sdiv(builder.extract_value(src.shape, 0), size)
        populate_array(
            out,
            data=builder.bitcast(src.data, lltype.as_pointer()),
            shape=[count],
            strides=[size],
            itemsize=size,
            meminfo=src.meminfo,
            parent=src.parent,
        )
        return impl_ret_borrowed(context, builder, result, out._getvalue())

    return result(raw, dtype), codegen
