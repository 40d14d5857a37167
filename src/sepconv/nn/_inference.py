"""The inference path of ``DepthwiseSeparableConv2d``: measured, never slower beyond noise.

In eval mode with gradients disabled, ``DepthwiseSeparableConv2d.forward``
comes here.  For a float32 channels-last input on the CPU, three ways to
compute the layer are candidates ("arms"):

* ``"plain"``: the training code, PyTorch's depthwise and 1 x 1 convolutions
  (oneDNN), the intermediate written to memory and read back;
* ``"strips"``: the same depthwise step (and ``mid_norm`` /
  ``mid_activation`` modules), then the pointwise step as MKL ``sgemm`` over
  strips of pixels (:func:`sepconv.nn._fused.pointwise_strips`);
* ``"fused"``: depthwise and pointwise together, one strip of output rows at
  a time, the strip's intermediate kept in L2 between the two
  (:func:`sepconv.nn._fused.fused_strips`) -- for zero padding and depth
  multiplier 1, with no ``mid_norm`` or an eval-mode ``BatchNorm2d``, and no
  ``mid_activation`` or ``ReLU`` / ``ReLU6``.

Which is fastest depends on the shape and the thread count (measured in
``benchmarks/bench_layers.py --inference``, ``benchmarks/results/layers_inference*.md``),
so the choice is measured, like the engine's one-thread-or-pool choice: the
first calls of each (input shape, layer geometry, thread count) cycle through
the arms that apply, timing each call, and after :data:`ROUNDS` timed calls
per arm (each arm's first call is a warm-up and is dropped) :func:`choose`
keeps the arm with the lowest median -- another arm than ``"plain"`` only if
its median is more than :data:`MARGIN` below plain's, so that a difference
inside the noise keeps today's path.  Each trial call computes the layer's
output with its arm, so measuring costs no extra work.

What was measured (``benchmarks/results/layers_inference*.md``, the issue-13
shapes, batch 8, on the project's 2-core AMD EPYC VM with a load of ~4):

* 1 thread: the shipped layer reached 50-62 % of the MAC ratio (plain 50-56 %,
  fused up to 66 % at 256 -> 256 @ 14^2, k = 3), none of the 8 rows the
  issue's 70 %.  For 4 rows PyTorch's pointwise step alone caps the
  efficiency below 70 % even with a free depthwise step: a 1 x 1 convolution
  with 32-128 input channels runs at 32-37 GMAC/s where the dense
  convolution runs at 52-59 (so does MKL ``sgemm`` over whole tensors; over
  cache-resident strips it reached 36-50).  For the others the depthwise
  step (8-28 GMAC/s in oneDNN; this Numba kernel 9-15 GMAC/s, it keeps the
  intermediate in cache but computes it more slowly) takes the rest.
* 2 threads on that busy machine: PyTorch's OpenMP barriers stall (the
  plain layer took 22-32 ms against 3-9 ms on one thread), while the fused
  arm runs on the engine's pool and was chosen for every row, 2.5-9x faster
  than the plain layer.

Numerics.  The arms compute the same sums in different orders, so they
agree to float32 rounding: without ``mid_norm`` / ``mid_activation`` each
output differs from the exact value by at most ``gamma_K * (|P| @ (|D| * |x|))``
(the sums of absolute terms, ``P`` the pointwise and ``D`` the depthwise
weights, bias included) with
``gamma_K = K u / (1 - K u)``, ``u = 2**-24`` and ``K = kh*kw + C_mid + 1``,
so two arms differ by at most twice that (tested against float64 brute
force).  With a batch norm folded into the fused kernel (PyTorch's own
``scale`` and ``shift``), the fused arm agrees with the plain one to a few
float32 roundings of the intermediate.  Training, and anything with
gradients enabled, never comes here.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from .._engine import parallel_for
from . import _fused

__all__ = [
    "ARMS",
    "MARGIN",
    "ROUNDS",
    "applicable",
    "choose",
    "chosen",
    "chosen_arm",
    "forced",
    "forward",
    "measure",
    "pending",
    "reset",
]

ARMS = ("plain", "strips", "fused")
# Timed calls per arm before choosing, after one warm-up call each.
ROUNDS = 5
# Another arm than plain is kept only when its median is this much below plain's.
MARGIN = 0.05
# Bytes of one strip's input + output (or intermediate + output) rows: about
# the L2 cache of one core on the project's machine (1 MiB).
STRIP_BYTES = 1 << 20

# Choices kept at most: a model fed ever new input sizes must not grow them without bound.
MAX_CHOICES = 1024

T = TypeVar("T")

_choices: dict[tuple, dict[str, list[float]]] = {}
_decided: dict[tuple, str] = {}
_local = threading.local()


def choose(samples: dict[str, list[float]], rounds: int = ROUNDS) -> str | None:
    """The arm to keep from each arm's call times (seconds), or ``None`` while some lack samples.

    Each list starts with the warm-up call, which is dropped.  The arm with the
    lowest median wins; an arm other than ``"plain"`` must also beat plain's
    median by more than :data:`MARGIN`.

    Examples
    --------
    >>> choose({"plain": [9, 1.0, 1.0, 1.0], "fused": [9, 0.6, 0.5, 0.6]}, rounds=3)
    'fused'
    >>> choose({"plain": [9, 1.0, 1.0, 1.0], "fused": [9, 0.97, 0.98, 0.97]}, rounds=3)
    'plain'
    >>> choose({"plain": [9, 1.0, 1.0, 1.0], "fused": [9, 0.6]}, rounds=3) is None
    True
    """
    if any(len(times) < rounds + 1 for times in samples.values()):
        return None
    medians = {arm: statistics.median(times[1:]) for arm, times in samples.items()}
    best = min(medians, key=medians.__getitem__)
    if best != "plain" and "plain" in medians:
        if not medians[best] < (1.0 - MARGIN) * medians["plain"]:
            return "plain"
    return best


def chosen() -> dict[tuple, str]:
    """The arms chosen so far, by key (a copy; for benchmarks and tests)."""
    return dict(_decided)


def chosen_arm(layer: nn.Module, x: torch.Tensor) -> str | None:
    """The arm kept for ``layer(x)`` at the current thread count, ``None`` while undecided."""
    return _decided.get(_key(layer, x))


def pending() -> bool:
    """Whether some layer shape is still trying its arms (its next calls mix arms)."""
    return bool(_choices)


def reset() -> None:
    """Forget every measured choice (tests; a changed machine)."""
    _choices.clear()
    _decided.clear()


@contextlib.contextmanager
def forced(arm: str | None) -> Iterator[None]:
    """Force this thread's inference calls onto one arm (``None``: the measured choice).

    For benchmarks and tests.  An arm that does not apply to a call falls back
    to ``"plain"``.

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


def forward(layer: nn.Module, x: torch.Tensor, plain: Callable[[torch.Tensor], torch.Tensor]):
    """``layer(x)`` in inference, by the arm measured fastest; ``plain(x)`` is today's code.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import DepthwiseSeparableConv2d
    >>> layer = DepthwiseSeparableConv2d(4, 6, 3, padding=1).eval()
    >>> x = torch.randn(2, 4, 9, 9).contiguous(memory_format=torch.channels_last)
    >>> with torch.no_grad():
    ...     y = forward(layer, x, layer._forward_plain)
    ...     torch.allclose(y, layer._forward_plain(x), atol=1e-5)
    True
    """
    arms = applicable(layer, x)
    if len(arms) == 1:
        return plain(x)
    arm = getattr(_local, "arm", None)
    if arm is not None:
        return _run(arm if arm in arms else "plain", layer, x, plain)
    return measure(_key(layer, x), arms, lambda arm: _run(arm, layer, x, plain))


def measure(key: tuple, arms: tuple[str, ...], run: Callable[[str], T]) -> T:
    """``run(arm)`` with the arm kept for ``key``; while undecided, a timed trial call.

    Until :func:`choose` decides, each call runs the arm with the fewest
    samples (in the order of ``arms``) and records its time; the decision is
    kept per ``key`` (which must include everything the speed depends on,
    the thread count among it).  Shared by every measured path of
    ``sepconv.nn`` (this module's arms, the depthwise kernels of
    :mod:`sepconv.nn._depthwise`): :func:`pending`, :func:`chosen` and
    :func:`reset` cover them all.

    Examples
    --------
    >>> reset()
    >>> [measure(("doc",), ("plain", "other"), lambda arm: arm) for _ in range(4)]
    ['plain', 'other', 'plain', 'other']
    >>> reset()
    """
    arm = _decided.get(key)
    if arm is not None:
        return run(arm)
    if len(_decided) + len(_choices) >= MAX_CHOICES:
        reset()  # measured afresh from here: a few trial calls per shape
    samples = _choices.setdefault(key, {a: [] for a in arms})
    arm = min(samples, key=lambda a: len(samples[a]))  # the arm with fewest samples, in order
    start = time.perf_counter()
    out = run(arm)
    samples[arm].append(time.perf_counter() - start)
    decision = choose(samples)
    if decision is not None:
        _decided[key] = decision
        _choices.pop(key, None)
    return out


def _run(arm: str, layer: nn.Module, x: torch.Tensor, plain: Callable) -> torch.Tensor:
    if arm == "fused":
        return _fuse(layer, x)
    if arm == "strips":
        return _strips(layer, x)
    return plain(x)


def _key(layer: nn.Module, x: torch.Tensor) -> tuple:
    # Plain attributes and the module dict: this runs on every inference call.
    modules = layer._modules
    dw, pw = modules["depthwise"], modules["pointwise"]
    return (
        x.shape,
        dw.kernel_size,
        dw.stride,
        dw.padding,
        dw.dilation,
        dw.out_channels,
        pw.out_channels,
        pw._parameters.get("bias") is not None,
        type(modules.get("norm")).__name__,
        type(modules.get("activation")).__name__,
        torch.get_num_threads(),
    )


def applicable(layer: nn.Module, x: torch.Tensor) -> tuple[str, ...]:
    """The arms that can compute ``layer(x)``: always ``"plain"``, then what applies.

    ``"strips"``: a plain float32 CPU input in channels-last order, an exact
    ``nn.Conv2d`` 1 x 1 pointwise step without forward hooks, MKL's ``sgemm``
    found; ``"fused"`` further: a depthwise step with zero padding
    (symmetric) and depth multiplier 1, without forward hooks, and between
    the steps nothing, an eval-mode ``BatchNorm2d`` and / or ``ReLU`` /
    ``ReLU6`` (see :func:`_between`).  Nothing but ``"plain"`` while
    scripting, tracing or compiling.  Every check is a plain attribute or
    dictionary lookup: this runs on every inference call.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn import DepthwiseSeparableConv2d
    >>> layer = DepthwiseSeparableConv2d(4, 6, 3).eval()
    >>> applicable(layer, torch.zeros(1, 4, 8, 8))  # NCHW input
    ('plain',)
    """
    if type(x) is not torch.Tensor or x.dtype is not torch.float32 or not x.is_cpu:
        return ("plain",)
    if x.layout is not torch.strided or x.dim() != 4 or x.numel() == 0:
        return ("plain",)
    if not x.is_contiguous(memory_format=torch.channels_last) or x.is_contiguous():
        return ("plain",)  # NCHW, or a shape where both orders agree: the plain path
    if torch.jit.is_scripting() or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return ("plain",)
    modules = layer._modules
    pw = modules.get("pointwise")
    if not _plain_conv(pw) or not _float32_cpu(pw) or _global_hooks():
        return ("plain",)
    if (
        pw.kernel_size != (1, 1)
        or pw.stride != (1, 1)
        or pw.dilation != (1, 1)
        or pw.groups != 1
        or pw.padding not in ((0, 0), "valid")
        or _fused.sgemm_address() == 0
    ):
        return ("plain",)
    dw = modules.get("depthwise")
    if (
        _between(modules.get("norm"), modules.get("activation")) is None
        or not _plain_conv(dw)
        or not _float32_cpu(dw)
        or dw._parameters.get("bias") is not None
        or dw.padding_mode != "zeros"
        or dw.groups != dw.in_channels
        or dw.out_channels != dw.in_channels
        or _padding(dw) is None
    ):
        return ("plain", "strips")
    return ("plain", "strips", "fused")


def _plain_conv(conv: nn.Module | None) -> bool:
    """A module whose call is exactly ``nn.Conv2d.forward``: no override, no hooks.

    (sepconv's depthwise layers qualify: their ``_conv_forward``, marked
    ``computes_conv``, computes the same convolution with other kernels.)
    """
    cls = type(conv)
    return (
        issubclass(cls, nn.Conv2d)
        and cls.forward is _CONV_FORWARD
        and (
            cls._conv_forward is _CONV_CONV_FORWARD
            or getattr(cls._conv_forward, "computes_conv", False)
        )
        and not conv._forward_hooks
        and not conv._forward_pre_hooks
    )


_CONV_FORWARD, _CONV_CONV_FORWARD = nn.Conv2d.forward, nn.Conv2d._conv_forward


def _float32_cpu(conv: nn.Conv2d) -> bool:
    """Float32 CPU parameters held as parameters (a parametrised weight is not)."""
    params = conv._parameters
    weight, bias = params.get("weight"), params.get("bias")
    for p in (weight,) if bias is None else (weight, bias):
        if type(p) is not nn.Parameter or p.dtype is not torch.float32 or not p.is_cpu:
            return False
        if p.layout is not torch.strided:
            return False
    return True


_HOOKS = torch.nn.modules.module


def _global_hooks() -> bool:
    return bool(_HOOKS._global_forward_hooks or _HOOKS._global_forward_pre_hooks)


def _between(norm: nn.Module | None, activation: nn.Module | None) -> tuple | None:
    """What the fused kernel applies between its steps, or None if it cannot.

    An eval-mode ``BatchNorm2d`` with running statistics becomes
    ``v * scale + shift`` with PyTorch's own ``scale = weight / sqrt(var + eps)``,
    ``shift = bias - mean * scale``; ``ReLU`` / ``ReLU6`` become a clamp.  Anything
    else (other modules, subclasses, hooks, a norm in training mode) is not fused.
    """
    none = np.zeros(0, np.float32)
    scale, shift = none, none
    if norm is not None:
        if type(norm) is not nn.BatchNorm2d or norm.training or _hooked(norm):
            return None
        mean, var = norm._buffers.get("running_mean"), norm._buffers.get("running_var")
        if mean is None or var is None or mean.dtype is not torch.float32:
            return None
        params = norm._parameters
        weight, bias = params.get("weight"), params.get("bias")
        if weight is not None and (type(weight) is not nn.Parameter or bias is None):
            return None
        with torch.no_grad():
            inv = torch.rsqrt(var + norm.eps)
            s = inv if weight is None else weight * inv
            t = -mean * s if bias is None else bias - mean * s
        scale, shift = s.contiguous().numpy(), t.contiguous().numpy()
    if activation is None:
        return (scale, shift, -np.inf, np.inf)
    if type(activation) is nn.ReLU and not _hooked(activation):
        return (scale, shift, 0.0, np.inf)
    if type(activation) is nn.ReLU6 and not _hooked(activation):
        return (scale, shift, 0.0, 6.0)
    return None


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks)


def _padding(dw: nn.Conv2d) -> tuple[int, int] | None:
    """Symmetric zero padding of the depthwise step, or None ("same" with an odd total)."""
    if isinstance(dw.padding, str):
        if dw.padding == "valid":
            return (0, 0)
        totals = [d * (k - 1) for d, k in zip(dw.dilation, dw.kernel_size)]
        if any(t % 2 for t in totals):
            return None  # PyTorch pads one more on the far side; not fused
        return (totals[0] // 2, totals[1] // 2)
    return (int(dw.padding[0]), int(dw.padding[1]))


def _mid(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = layer.depthwise(x)
    if layer.norm is not None:
        x = layer.norm(x)
    if layer.activation is not None:
        x = layer.activation(x)
    return x


def _strips(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    mid = _mid(layer, x)
    if not mid.is_contiguous(memory_format=torch.channels_last) or type(mid) is not torch.Tensor:
        return layer.pointwise(mid)  # a norm or activation changed the layout: plain
    n, c, h, w = mid.shape
    pw = layer.pointwise
    c_out = pw.out_channels
    out = torch.empty((n, h, w, c_out), dtype=mid.dtype)
    strip = max(256, STRIP_BYTES // (4 * (c + c_out)))
    pixels = n * h * w
    args = (
        _fused.sgemm_address(),
        _fused.local_threads_address(),
        mid.detach().permute(0, 2, 3, 1).reshape(pixels, c).numpy(),
        out.view(pixels, c_out).numpy(),
        _matrix(pw),
        _bias(pw),
        strip,
    )
    _on_threads(_fused.pointwise_strips, -(-pixels // strip), args, pixels * c * c_out)
    return out.permute(0, 3, 1, 2)


def _on_threads(kernel: Callable[..., None], tasks: int, args: tuple, work: int) -> None:
    """``kernel(start, stop, *args)`` over the tasks, on up to PyTorch's thread count.

    Several threads run on the engine's pool (which measures whether its
    threads pay, as for every engine call): strips are independent and
    each is computed the same way whichever thread takes it.
    """
    threads = torch.get_num_threads()
    if threads == 1 or tasks == 1:
        kernel(0, tasks, *args)
        return
    parallel_for(kernel, tasks, args, work, threads=threads)


def _fuse(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    dw, pw = layer.depthwise, layer.pointwise
    n, c, h, w = x.shape
    (kh, kw), (dh, dwd), (sh, sw) = dw.kernel_size, dw.dilation, dw.stride
    ph, pwd = _padding(dw)
    ho, wo = h + 2 * ph - dh * (kh - 1), w + 2 * pwd - dwd * (kw - 1)
    if ho > 0 and wo > 0:
        ho, wo = (ho - 1) // sh + 1, (wo - 1) // sw + 1
    c_out = pw.out_channels
    if ho <= 0 or wo <= 0:
        return layer._forward_plain(x)  # PyTorch's own error for a too small input
    tile = _fused.tile_pixels(c)
    taps = dw.weight.detach().reshape(c, kh * kw).t()  # (kh*kw, C)
    tiled = taps[:, None, :].expand(kh * kw, tile, c).contiguous().numpy().reshape(-1)
    rows = max(1, min(ho, STRIP_BYTES // (4 * wo * (c + c_out))))
    out = torch.empty((n, ho, wo, c_out), dtype=x.dtype)
    tasks = n * -(-ho // rows)
    args = (
        _fused.sgemm_address(),
        _fused.local_threads_address(),
        x.detach().permute(0, 2, 3, 1).numpy().reshape(-1),
        tiled,
        tile,
        _matrix(pw),
        _bias(pw),
        out.numpy().reshape(-1),
        (n, h, w, c, kh, kw, ph, pwd, dh, dwd, sh, sw, ho, wo, c_out),
        rows,
        _between(layer.norm, layer.activation),
    )
    _on_threads(_fused.fused_strips, tasks, args, n * ho * wo * c * (kh * kw + c_out))
    return out.permute(0, 3, 1, 2)


def _matrix(pw: nn.Conv2d) -> np.ndarray:
    return pw.weight.detach().reshape(pw.out_channels, pw.in_channels).contiguous().numpy()


def _bias(pw: nn.Conv2d) -> np.ndarray:
    if pw.bias is None:
        return np.zeros(0, np.float32)
    return pw.bias.detach().contiguous().numpy()
