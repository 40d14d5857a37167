"""Depthwise convolution on the CPU whose backward costs about what its forward does.

PyTorch's CPU depthwise backward is slow (pytorch#13716, #18631, #37406): a
5 x 5 depthwise step over 64 channels at 56^2 took 0.4 ms forward and 9.3 ms
forward + backward in channels-last, most of a separable layer's training
step.  :class:`DepthwiseFunction` computes all three parts with the Numba
kernels of :mod:`sepconv.nn._depthwise_kernels` on the engine's thread pool,
in channels-last order (contiguous inputs and gradients are transposed to it
and the results back, to PyTorch's memory format):

* forward: the depthwise correlation, by tasks of blocks of output rows whose
  input rows are first copied, zero-padded, into a buffer; eight output
  pixels at a time take every tap in a stack accumulator (see the kernels'
  module for why the stack);
* gradient of the input: for stride 1 the same correlation with the kernel
  flipped and padding ``d * (k - 1) - p``; for larger strides the transposed
  correlation, each input row gathering from the output rows that read it;
* gradient of the weight: per-channel correlations of the input with the
  output gradient over the same blocks, each kernel row's taps summed in a
  stack accumulator as the block's pixels stream past, the tasks' partial
  sums then added in float64 in task order (so the result does not depend
  on the thread count);
* gradient of the bias: ``grad.sum`` over the batch and the pixels.

Which kernels run is measured, like the inference paths of
``DepthwiseSeparableConv2d`` (:func:`sepconv.nn._inference.measure`, whose
bookkeeping this shares): per (shape, layout, dtype, geometry, thread count)
the forward and the backward each time PyTorch's kernels (arm ``"plain"``)
and these (``"sepconv"``) on their first calls and keep the faster --
these only if more than :data:`~sepconv.nn._inference.MARGIN` faster.  Each
trial call computes the real result, so measuring costs no extra work, and
once both passes of a call keep PyTorch's kernels, the call is
``F.conv2d`` itself again (PyTorch's autograd, none of this module's
overhead).
Under ``torch.use_deterministic_algorithms(True)`` nothing is measured (a
choice by timing could differ between two runs): these kernels run, whose
results depend neither on timing nor on the thread count.

Everything they do not cover goes to PyTorch unchanged: tensors not on the
CPU, dtypes other than float32 and float64, scripting, tracing and
compiling, functorch transforms, autocast, tensor subclasses, and every call PyTorch
would refuse (it then raises its own error).  A second derivative
(``create_graph=True``) runs PyTorch's differentiable backward.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from . import _depthwise_kernels as kernels
from . import _inference

__all__ = ["ARMS", "KERNELS_VERSION", "DepthwiseFunction", "chosen", "depthwise", "forced"]

ARMS = ("plain", "sepconv")
# Bumped whenever these kernels' arithmetic (the order of their sums) changes: the
# study keys cached runs by it (sepconv/study/_run.py).
KERNELS_VERSION = 2
# Bytes of one block's zero-padded input rows: about a quarter of the L2 cache
# of one core on the project's machine (1 MiB).
BLOCK_BYTES = 1 << 18
# Tasks a call keeps at least, where there are that many planes (threads need tasks).
MIN_TASKS = 8
# Lanes x pixels of one weight tile for scatter_rows (stride > 1 input gradients):
# the shortest inner loop.
TILE_VALUES = 256

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_local = threading.local()


@contextlib.contextmanager
def forced(arm: str | None) -> Iterator[None]:
    """Run this thread's depthwise calls on one arm (``None``: the measured choice).

    For benchmarks and tests: ``"plain"`` is PyTorch's kernels, ``"sepconv"``
    these.  Calls these kernels do not cover go to PyTorch either way.

    Examples
    --------
    >>> with forced("plain"):
    ...     pass
    """
    if arm is not None and arm not in ARMS:
        raise ValueError(f"arm must be None or one of {ARMS}; got {arm!r}")
    old = getattr(_local, "arm", None)
    _local.arm = arm
    try:
        yield
    finally:
        _local.arm = old


@dataclass(frozen=True)
class Geometry:
    """One depthwise call's shape: what the kernels and the choice's key need."""

    dims: int
    batch: int
    channels: int
    multiplier: int
    spatial: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_lo: tuple[int, ...]
    pad_hi: tuple[int, ...]
    out: tuple[int, ...]
    padding: object  # as given, for PyTorch's own calls

    @property
    def taps(self) -> int:
        return math.prod(self.kernel)


def depthwise(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride,
    padding,
    dilation,
    groups: int | None,
    dims: int,
) -> torch.Tensor:
    """``F.conv{dims}d(x, weight, bias, stride, padding, dilation, groups)`` for a depthwise call.

    ``groups`` must be ``None`` or the input's channel count.  See the module
    docstring for when these kernels run.
    """
    channels = x.shape[-dims - 1] if x.dim() >= dims + 1 else None
    if groups is None:
        groups = channels if channels is not None else 1
    elif isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"groups must be an int or None, got {type(groups).__name__}")
    elif channels is not None and groups != channels:
        raise ValueError(
            f"groups must equal the input's channels ({channels}) for a depthwise "
            f"convolution, got {groups}; use torch.nn.functional.conv{dims}d for other groups"
        )
    conv = _CONV[dims]
    call = _call(x, weight, bias, stride, padding, dilation, dims)
    keys = _pytorch_calls.get(call) if call is not None else None
    if keys is not None and all(_inference._decided.get(k) == "plain" for k in keys):
        return conv(x, weight, bias, stride, padding, dilation, groups)
    geom = _geometry(x, weight, bias, stride, padding, dilation, groups, dims)
    if geom is None:
        return conv(x, weight, bias, stride, padding, dilation, groups)
    if call is not None:
        grads = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (x, weight, bias)
        )
        keys = _keys(x, weight, bias, geom)[: 2 if grads else 1]
        if all(_inference._decided.get(k) == "plain" for k in keys):
            if len(_pytorch_calls) >= _inference.MAX_CHOICES:
                _pytorch_calls.clear()
            _pytorch_calls[call] = keys
            return conv(x, weight, bias, stride, padding, dilation, groups)
    if x.dim() == dims + 1:  # unbatched, as PyTorch accepts
        return DepthwiseFunction.apply(x[None], weight, bias, geom)[0]
    return DepthwiseFunction.apply(x, weight, bias, geom)


# Calls whose forward (and backward, where gradients are wanted) kept PyTorch's
# kernels go straight to F.conv*d and PyTorch's own autograd, without this
# module's Function and checks: the call's signature -> the choice keys that
# must still say "plain" (a reset of the choices measures them again).
_pytorch_calls: dict[tuple, tuple[tuple, ...]] = {}


def _call(x, weight, bias, stride, padding, dilation, dims) -> tuple | None:
    """A hashable signature of everything a call's choice depends on, or None (no shortcut)."""
    if getattr(_local, "arm", None) is not None or torch.are_deterministic_algorithms_enabled():
        return None
    if torch.is_autocast_enabled("cpu"):
        return None
    grad = torch.is_grad_enabled()
    call = (
        type(x),
        x.shape,
        x.stride(),
        x.dtype,
        x.device,
        weight.shape,
        weight.dtype,
        None if bias is None else (bias.shape, bias.dtype),
        stride,
        padding,
        dilation,
        dims,
        torch.get_num_threads(),
        grad and x.requires_grad,
        grad and weight.requires_grad,
        grad and bias is not None and bias.requires_grad,
    )
    try:
        hash(call)
    except TypeError:  # a list argument
        return None
    return call


def _geometry(x, weight, bias, stride, padding, dilation, groups, dims) -> Geometry | None:
    """The call's :class:`Geometry`, or None for a call that goes to PyTorch as it is."""
    if torch.jit.is_scripting() or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return None
    for t in (x, weight) if bias is None else (x, weight, bias):
        if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.layout is not torch.strided:
            return None
        if t.device.type != "cpu" or t.dtype is not x.dtype or t.is_conj() or t.is_neg():
            return None
    if x.dtype not in (torch.float32, torch.float64) or x.dim() not in (dims + 1, dims + 2):
        return None
    if torch._C._are_functorch_transforms_active() or torch.is_autocast_enabled("cpu"):
        return None  # vmap / grad transforms; autocast's casts are PyTorch's to make
    shape = x.shape if x.dim() == dims + 2 else (1, *x.shape)
    n, c, spatial = shape[0], shape[1], tuple(shape[2:])
    if weight.dim() != dims + 2 or weight.shape[1] != 1 or groups != c:
        return None
    c_out, kernel = weight.shape[0], tuple(weight.shape[2:])
    if c == 0 or n == 0 or c_out % c or (bias is not None and bias.shape != (c_out,)):
        return None
    try:
        stride_t = _ints(stride, dims, 1)
        dilation_t = _ints(dilation, dims, 1)
        if isinstance(padding, str):
            if padding == "valid":
                lo = hi = (0,) * dims
            elif padding == "same" and all(s == 1 for s in stride_t):
                total = [d * (k - 1) for d, k in zip(dilation_t, kernel)]
                lo = tuple(t // 2 for t in total)  # PyTorch pads the odd one after
                hi = tuple(t - t // 2 for t in total)
            else:
                return None
        else:
            lo = hi = _ints(padding, dims, 0)
    except (TypeError, ValueError):
        return None
    if min(kernel) < 1:
        return None
    out = tuple(
        (size + a + b - d * (k - 1) - 1) // s + 1
        for size, a, b, d, k, s in zip(spatial, lo, hi, dilation_t, kernel, stride_t)
    )
    if min(out) < 1 or any(
        size + a + b < d * (k - 1) + 1
        for size, a, b, d, k in zip(spatial, lo, hi, dilation_t, kernel)
    ):
        return None
    return Geometry(
        dims, n, c, c_out // c, spatial, kernel, stride_t, dilation_t, lo, hi, out, padding
    )


def _ints(value, dims: int, minimum: int) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(values) != dims or any(
        isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values
    ):
        raise ValueError(value)
    return values


def _channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` is dense with the channels innermost (NHWC and its 1-D / 3-D kin).

    A tensor that is both (one channel, or one pixel) counts as contiguous, as
    for PyTorch's convolutions.
    """
    return x.permute(0, *range(2, x.dim()), 1).is_contiguous() and not x.is_contiguous()


class DepthwiseFunction(torch.autograd.Function):
    """The depthwise convolution with the measured choice of kernels in both passes."""

    @staticmethod
    def forward(ctx, x, weight, bias, geom):  # noqa: D102
        # The layout decides the transposes (the kernels work channels-last) and
        # the results' memory format: PyTorch's, channels-last for 2-D and 3-D
        # channels-last inputs and contiguous otherwise.
        layout = "cl" if _channels_last(x) else "contiguous"
        if layout == "contiguous" and not x.is_contiguous():
            x = x.contiguous()
        ctx.save_for_backward(x, weight)
        ctx.geom, ctx.layout, ctx.has_bias = geom, layout, bias is not None
        key = _key("forward", x.dtype, layout, geom, bias is not None)
        return _measured(key, lambda arm: _forward(arm, x, weight, bias, geom, layout))

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        x, weight = ctx.saved_tensors
        geom, layout = ctx.geom, ctx.layout
        mask = (*ctx.needs_input_grad[:2], ctx.has_bias and ctx.needs_input_grad[2])
        if torch.is_grad_enabled():  # create_graph: PyTorch's backward is differentiable
            return (*_plain_backward(grad, x, weight, geom, mask), None)
        key = _key("backward", x.dtype, layout, geom, mask)
        grads = _measured(key, lambda arm: _backward(arm, grad, x, weight, geom, layout, mask))
        return (*grads, None)


def chosen(x, weight, bias, stride, padding, dilation, dims: int) -> dict[str, str | None]:
    """The arms kept so far for this call's forward and backward (``None``: undecided).

    For benchmarks and tests.  The backward's key assumes the gradients that
    ``requires_grad`` asks for.

    Examples
    --------
    >>> import torch
    >>> chosen(torch.zeros(1, 2, 5, 5), torch.zeros(2, 1, 3, 3), None, 1, 1, 1, 2)
    {'forward': None, 'backward': None}
    """
    geom = _geometry(x, weight, bias, stride, padding, dilation, x.shape[1], dims)
    if geom is None:
        return {"forward": "plain", "backward": "plain"}
    forward, backward = _keys(x, weight, bias, geom)
    decided = _inference.chosen()
    return {"forward": decided.get(forward), "backward": decided.get(backward)}


def _keys(x, weight, bias, geom: Geometry) -> tuple[tuple, tuple]:
    """The choice keys of a call's forward and of its backward (the gradients required)."""
    layout = "cl" if _channels_last(x) else "contiguous"
    mask = (x.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
    forward = _key("forward", x.dtype, layout, geom, bias is not None)
    return forward, _key("backward", x.dtype, layout, geom, mask)


def _key(part: str, dtype, layout: str, geom: Geometry, extra) -> tuple:
    """The choice key of one pass: everything its speed depends on, thread count included."""
    return (f"depthwise {part}", dtype, layout, _shape(geom), extra)


def _shape(geom: Geometry) -> tuple:
    return (
        geom.batch,
        geom.channels,
        geom.multiplier,
        geom.spatial,
        geom.kernel,
        geom.stride,
        geom.dilation,
        geom.pad_lo,
        geom.pad_hi,
        torch.get_num_threads(),
    )


def _measured(key: tuple, run):
    arm = getattr(_local, "arm", None)
    if arm is not None:
        return run(arm)
    if torch.are_deterministic_algorithms_enabled():
        return run("sepconv")  # a timed choice could differ between two runs
    return _inference.measure(key, ARMS, run)


# --------------------------------------------------------------------------- PyTorch's arm


def _forward_plain(x, weight, bias, geom: Geometry) -> torch.Tensor:
    conv = _CONV[geom.dims]
    return conv(x, weight, bias, geom.stride, geom.padding, geom.dilation, geom.channels)


def _plain_backward(grad, x, weight, geom: Geometry, mask):
    """PyTorch's gradients (differentiable when grad mode is on)."""
    lo, hi = geom.pad_lo, geom.pad_hi
    extra = [a for p, q in zip(reversed(lo), reversed(hi)) for a in (0, q - p)]
    padded = F.pad(x, extra) if any(extra) else x  # "same" with an odd total: PyTorch's way
    gx, gw, gb = torch.ops.aten.convolution_backward(
        grad,
        padded,
        weight,
        [weight.shape[0]] if mask[2] else None,
        list(geom.stride),
        list(lo),
        list(geom.dilation),
        False,
        [0] * geom.dims,
        geom.channels,
        list(mask),
    )
    if gx is not None and padded is not x:
        gx = gx[(..., *(slice(0, s) for s in geom.spatial))]
    return gx, gw, gb


# --------------------------------------------------------------------------- sepconv's arm


def _forward(arm, x, weight, bias, geom: Geometry, layout: str) -> torch.Tensor:
    if arm == "plain":
        return _forward_plain(x, weight, bias, geom)
    xv = _lanes(x.detach(), geom.multiplier)
    out = _empty(geom, geom.out, x.dtype, geom.channels * geom.multiplier)
    wt, tile = _weights(weight.detach(), geom, flip=False, tiled=False)
    b = np.zeros(0, xv.dtype) if bias is None else bias.detach().contiguous().numpy()
    g = _geom_array(geom, geom.spatial, geom.out, geom.stride, geom.pad_lo, tile)
    _correlate(xv, wt, b, _flat(out), g)
    return out if layout == "cl" and geom.dims > 1 else out.contiguous()


def _correlate(xv, wt, bias, out, g: np.ndarray) -> None:
    """The depthwise correlation of the flat channels-last ``xv`` into ``out``, on the pool."""
    work = int(g[0] * g[5] * g[6] * g[7] * g[4] * g[8] * g[9] * g[10])
    rows, planes, tasks = _blocks(g, xv.itemsize)
    args = (xv, wt, bias, out, g, rows, planes)
    _inference._on_threads(kernels.correlate_blocks, tasks, args, work)


def _blocks(g: np.ndarray, itemsize: int) -> tuple[int, int, int]:
    """Rows per block of the ``*_blocks`` kernels, whole planes per task, and tasks.

    A block's zero-padded input rows take about :data:`BLOCK_BYTES` (in L2
    while its taps stream past).  Planes that fit
    whole go several to a task (each task has its own accumulator to sum up
    at the end, so a task of one 8 x 8 image would cost more in sums than in
    products), keeping at least :data:`MIN_TASKS` tasks where there are that
    many planes.  Depends on the shape alone, never on the threads.
    """
    lanes, do_, ho_, wo_ = (int(v) for v in g[4:8])
    kd, kh, kw, sh, sw, dh, dw = (int(g[i]) for i in (8, 9, 10, 12, 13, 15, 16))
    row = ((wo_ - 1) * sw + (kw - 1) * dw + 1) * lanes * itemsize
    halo = kd * ((kh - 1) * dh + 1 - sh)
    fit = (BLOCK_BYTES // row - halo) // (kd * sh)
    rows = max(1, min(ho_, fit))
    total = int(g[0]) * do_
    planes = 1
    if fit >= ho_:
        planes = max(1, min(fit // ho_, total // MIN_TASKS))
        return rows, planes, -(-total // planes)
    return rows, planes, total * -(-ho_ // rows)


def _backward(arm, grad, x, weight, geom: Geometry, layout: str, mask):
    if arm == "plain":
        return _plain_backward(grad, x, weight, geom, mask)
    grad = grad.detach()
    gv = _lanes(grad, 1)
    gx = gw = gb = None
    if mask[0]:
        gx = _grad_input(gv, weight.detach(), geom, x.dtype)
        gx = gx if layout == "cl" and geom.dims > 1 else gx.contiguous()
    if mask[1]:
        gw = _grad_weight(_lanes(x.detach(), geom.multiplier), gv, geom)
        gw = gw.to(weight.dtype).reshape(weight.shape)
    if mask[2]:
        gb = grad.sum([0, *range(2, grad.dim())])
    return gx, gw, gb


def _grad_input(gv: np.ndarray, weight, geom: Geometry, dtype) -> torch.Tensor:
    """The gradient of the input, channels-last."""
    m, c = geom.multiplier, geom.channels
    gx = _empty(geom, geom.spatial, dtype, c * m)
    if all(s == 1 for s in geom.stride):
        # The transposed stride-1 correlation is a correlation with the flipped kernel.
        wt, tile = _weights(weight, geom, flip=True, tiled=False)
        pads = tuple(d * (k - 1) - p for d, k, p in zip(geom.dilation, geom.kernel, geom.pad_lo))
        g = _geom_array(geom, geom.out, geom.spatial, (1,) * geom.dims, pads, tile)
        _correlate(gv, wt, np.zeros(0, gv.dtype), _flat(gx), g)
    else:
        wt, tile = _weights(weight, geom, flip=False, tiled=True)
        g = _geom_array(geom, geom.spatial, geom.out, geom.stride, geom.pad_lo, tile)
        rows = int(g[0] * g[1] * g[2])
        args = (gv, wt, _flat(gx), g)
        _inference._on_threads(kernels.scatter_rows, rows, args, gx.numel() * geom.taps)
    if m == 1:
        return gx
    # Each input channel fed m outputs: add their gradients.
    dims = gx.dim()
    summed = gx.permute(0, *range(2, dims), 1).unflatten(-1, (c, m)).sum(-1)
    return summed.permute(0, dims - 1, *range(1, dims - 1))


def _grad_weight(xv: np.ndarray, gv: np.ndarray, geom: Geometry) -> torch.Tensor:
    """The gradient of the weight as ``(C_out, taps)`` float64."""
    g = _geom_array(geom, geom.spatial, geom.out, geom.stride, geom.pad_lo, 1)
    lanes, taps = int(g[4]), geom.taps
    work = int(g[0] * g[5] * g[6] * g[7] * lanes * taps)
    rows, planes, tasks = _blocks(g, xv.itemsize)
    part = np.empty(tasks * taps * lanes, np.float64)
    _inference._on_threads(kernels.weight_blocks, tasks, (xv, gv, part, g, rows, planes), work)
    # Task by task in a fixed order (NumPy's sum over the first axis of a C array).
    sums = part.reshape(tasks, taps, lanes).sum(axis=0)
    return torch.from_numpy(np.ascontiguousarray(sums.T))


# --------------------------------------------------------------------------- layout


def _lanes(t: torch.Tensor, multiplier: int) -> np.ndarray:
    """The flat channels-last ``(N, D, H, W, L)`` array of ``t`` (channels repeated ``m``x)."""
    v = t.permute(0, *range(2, t.dim()), 1)
    if multiplier > 1:
        v = v.repeat_interleave(multiplier, dim=-1)
    return v.contiguous().numpy().reshape(-1)


def _empty(geom: Geometry, spatial, dtype, channels: int) -> torch.Tensor:
    """An ``(N, C, *spatial)`` tensor stored channels-last."""
    dims = len(spatial) + 2
    t = torch.empty((geom.batch, *spatial, channels), dtype=dtype)
    return t.permute(0, dims - 1, *range(1, dims - 1))


def _flat(t: torch.Tensor) -> np.ndarray:
    return t.permute(0, *range(2, t.dim()), 1).numpy().reshape(-1)


def _tile(geom: Geometry) -> int:
    return max(1, TILE_VALUES // (geom.channels * geom.multiplier))


def _weights(weight: torch.Tensor, geom: Geometry, flip: bool, tiled: bool):
    """Flat ``(taps, T, L)`` weights for the kernels, and the tile ``T``.

    ``tiled``: each tap's weights repeated over :func:`_tile` pixels, for
    ``scatter_rows``' runs; otherwise ``T = 1`` (the block kernels).
    """
    w = weight.flip(list(range(2, weight.dim()))) if flip else weight
    w = w.reshape(w.shape[0], -1).t()  # (taps, C_out)
    tile = _tile(geom) if tiled else 1
    return w[:, None, :].expand(w.shape[0], tile, w.shape[1]).contiguous().numpy().reshape(-1), tile


def _geom_array(geom: Geometry, spatial, out, stride, pad_lo, tile) -> np.ndarray:
    """The kernels' ``geom`` vector for an input of size ``spatial`` and output ``out``."""
    lead = 3 - geom.dims

    def three(values, fill):
        return (fill,) * lead + tuple(values)

    return np.array(
        [
            geom.batch,
            *three(spatial, 1),
            geom.channels * geom.multiplier,
            *three(out, 1),
            *three(geom.kernel, 1),
            *three(stride, 1),
            *three(geom.dilation, 1),
            *three(pad_lo, 0),
            tile,
        ],
        np.int64,
    )
