"""Fixed-kernel filtering of PyTorch tensors, with the results of :func:`sepconv.correlate`.

:func:`correlate` and :func:`convolve` filter the last axes of a tensor (any
leading batch and channel dimensions) with one fixed kernel, on the CPU or a
GPU, differentiably with respect to the input.  The boundary is built the way
the NumPy engine builds it -- by gathering input positions with
:func:`sepconv._boundary.extend_indices`, the one definition of every mode --
and the kernel runs by the plan :func:`sepconv.correlate` would use
(:func:`sepconv.plan`): one 1-D pass per axis when it separates, a sum of such
separable terms for a low-rank plan, one dense ``conv`` otherwise.  A 1-D pass
is a weighted sum of shifted views of the tensor, which differentiates cheaply.

On the CPU, when no gradient is needed, float32/float64 tensors are handed to
the NumPy engine itself (zero-copy through ``Tensor.numpy()``).

Needs PyTorch: ``pip install "sepconv[torch]"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    import torch.nn.functional as F
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "sepconv.torch needs PyTorch, which is not installed; install it with: "
        'pip install "sepconv[torch]"'
    ) from exc

from . import _args
from ._args import as_kernel, check_tolerance, effective_weights
from ._boundary import extend_indices, kernel_reach
from ._plan import METHODS, make_plan

__all__ = ["convolve", "correlate", "skipping"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def correlate(
    input: torch.Tensor,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    axes: Sequence[int] | None = (-2, -1),
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> torch.Tensor:
    """Correlate the ``axes`` of a tensor with fixed ``weights`` (scipy.ndimage.correlate's rule).

    ``sepconv.correlate``'s arguments, in scipy's order; ``axes`` defaults to
    the last two (images as ``(N, C, H, W)``), ``None`` is every axis.

    Parameters
    ----------
    input : torch.Tensor
        Floating-point tensor of any shape; every index of the axes not in
        ``axes`` is filtered independently.
    weights : array_like or torch.Tensor
        Real kernel, one dimension per axis in ``axes`` (scipy's rule: its
        dimensions follow the filtered axes in increasing order).  It is a
        constant: a kernel that requires grad is refused (use
        ``torch.nn.functional.conv2d`` to learn a kernel).
    output : None
        Must be None: the result is returned (a tensor cannot be written into).
    mode, cval, origin
        As for :func:`sepconv.correlate` (one mode, or one per axis).
    axes : sequence of int or None
        The 1 to 3 axes to filter (default: the last two).
    method : {"auto", "direct", "separable", "lowrank", "fft"}
        As for :func:`sepconv.correlate`, decided by the same plan
        (:func:`sepconv.plan`).  The PyTorch path (a tensor that needs a
        gradient, or is not a float32/float64 CPU tensor) has no FFT: ``auto``
        chooses among the others there and ``fft`` raises ``ValueError``.
    rtol : float, optional
        Relative Frobenius kernel error allowed for low-rank plans (2-D
        kernels); default exact.
    nan_policy : {"propagate", "omit"}
        ``'omit'``: normalized convolution, the weighted mean of the valid
        (not NaN) samples under the kernel (see :func:`sepconv.correlate`);
        differentiable with respect to the valid samples (NaN samples get a
        zero gradient).  Weights must have one sign.
    mask : tensor or array_like of bool, optional
        Samples to ignore (True), the input's shape (see :func:`sepconv.correlate`).

    Returns
    -------
    torch.Tensor
        Same shape, dtype and device as ``input``; differentiable with respect
        to it.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage, torch
    >>> import sepconv.torch
    >>> x = torch.arange(30.0).reshape(5, 6)
    >>> k = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    >>> y = sepconv.torch.correlate(x, k, mode="nearest")
    >>> bool(np.allclose(y, scipy.ndimage.correlate(x.numpy(), k, mode="nearest")))
    True
    """
    return _filter(
        input, weights, output, mode, cval, origin, axes, method, rtol, nan_policy, mask, flip=False
    )


def convolve(
    input: torch.Tensor,
    weights: Any,
    output: Any = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: int | Sequence[int] = 0,
    *,
    axes: Sequence[int] | None = (-2, -1),
    method: str = "auto",
    rtol: float | None = None,
    nan_policy: str = "propagate",
    mask: Any = None,
) -> torch.Tensor:
    """Convolve the ``axes`` of a tensor with fixed ``weights`` (scipy.ndimage.convolve's rule).

    The correlation with the flipped kernel and mirrored origin; parameters as
    for :func:`correlate`.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage, torch
    >>> import sepconv.torch
    >>> x = torch.rand(2, 3, 8, 9, dtype=torch.float64)
    >>> k = np.array([[1.0, 2.0], [0.0, -1.0]])
    >>> y = sepconv.torch.convolve(x, k, mode="wrap")
    >>> ref = scipy.ndimage.convolve(x.numpy(), k[None, None], mode="wrap")
    >>> bool(np.allclose(y, ref))
    True
    """
    return _filter(
        input, weights, output, mode, cval, origin, axes, method, rtol, nan_policy, mask, flip=True
    )


def _filter(
    x: Any,
    kernel: Any,
    output: Any,
    mode: Any,
    cval: Any,
    origin: Any,
    axes: Any,
    method: str,
    rtol: float | None,
    nan_policy: str = "propagate",
    mask: Any = None,
    *,
    flip: bool,
) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"input must be a torch.Tensor, got {type(x).__name__}; "
            "use sepconv.correlate for NumPy arrays"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"input must be a floating-point tensor, got {x.dtype}; convert it first, e.g. "
            "x.float()"
        )
    if output is not None:
        raise TypeError("output must be None for a torch.Tensor input; the result is returned")
    k = _kernel_array(kernel)
    given = _args.to_axes(axes, x.dim())
    if not 1 <= len(given) <= 3:
        raise ValueError(f"axes must name 1 to 3 axes of the input, got {len(given)}")
    full, origins_all, modes_all = _args.nd_kernel(
        x.dim(), k, mode, origin, given, flip, sequence_modes=True
    )
    cval = _args.real_cval(cval)
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    rtol = check_tolerance(rtol, "rtol")
    order = tuple(sorted(given))
    kernel = full.reshape([full.shape[a] for a in order])
    origins = tuple(origins_all[a] for a in order)
    modes = tuple(modes_all[a] for a in order)
    omit = _args.to_nan_policy(nan_policy) == "omit"
    if omit or mask is not None:
        _args.check_one_sign(kernel)
        mask = _mask_tensor(mask, x)
        if _numpy_engine_applies(x) and (mask is None or mask.device.type == "cpu"):
            from . import _filters as filters

            out = filters.correlate(
                x.detach().numpy(),
                kernel,
                mode=list(modes),
                cval=cval,
                origin=list(origins),
                axes=list(order),
                method=method,
                rtol=rtol,
                nan_policy=nan_policy,
                mask=None if mask is None else mask.numpy(),
            )
            return torch.from_numpy(np.ascontiguousarray(out)).to(x.dtype)
        from ._normalized import no_valid_tol

        return skipping(
            x,
            mask,
            omit,
            lambda t, c: _correlate_torch(t, kernel, modes, c, origins, order, method, rtol),
            cval,
            no_valid_tol(kernel),
        )

    if _numpy_engine_applies(x):
        from . import _filters as filters

        # The kernel as flipped and the origins as mirrored: the same correlation.
        out = filters.correlate(
            x.detach().numpy(),
            kernel,
            mode=list(modes),
            cval=cval,
            origin=list(origins),
            axes=list(order),
            method=method,
            rtol=rtol,
        )
        return torch.from_numpy(np.ascontiguousarray(out))
    return _correlate_torch(x, kernel, modes, cval, origins, order, method, rtol)


def _mask_tensor(mask: Any, x: torch.Tensor) -> torch.Tensor | None:
    """``mask`` as a boolean tensor on ``x``'s device (True: ignore that sample)."""
    if mask is None:
        return None
    if isinstance(mask, torch.Tensor):
        m = mask.detach()
        if tuple(m.shape) != tuple(x.shape):
            raise ValueError(
                f"mask must have the input's shape {tuple(x.shape)}, got shape {tuple(m.shape)}; "
                "pass one boolean per input sample (True: ignore it)"
            )
        return (m != 0).to(x.device)
    m = _args.to_mask(mask, tuple(x.shape))
    return torch.from_numpy(np.ascontiguousarray(m)).to(x.device)


def skipping(
    x: torch.Tensor,
    mask: torch.Tensor | None,
    omit: bool,
    filt: Any,
    cval: float,
    tol: float,
) -> torch.Tensor:
    """Normalized convolution of a tensor: ``filt(x, NaN as 0) / filt(valid)`` (differentiable).

    ``filt(tensor, cval)`` is the linear filtering (the same boundary, ``cval``
    beyond a ``'constant'`` edge).  ``omit``: NaN samples are skipped like
    masked ones; else (``nan_policy='propagate'`` with a mask) they spread.
    An output whose denominator is within ``tol`` of zero (no valid sample) is NaN.
    """
    import math

    valid = torch.ones_like(x, dtype=torch.bool) if mask is None else ~mask
    if omit:
        valid = valid & ~torch.isnan(x)
    data = torch.where(valid, x, torch.zeros((), dtype=x.dtype, device=x.device))
    nan_cval = math.isnan(cval)
    num = filt(data, 0.0 if (omit and nan_cval) else cval)
    den = filt(valid.to(x.dtype), 0.0 if (omit and nan_cval) else 1.0)
    ok = den.abs() > tol
    one = torch.ones((), dtype=x.dtype, device=x.device)
    nan = torch.full((), math.nan, dtype=x.dtype, device=x.device)
    return torch.where(ok, num / torch.where(ok, den, one), nan)


def _numpy_engine_applies(x: torch.Tensor) -> bool:
    return (
        x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and not (x.requires_grad and torch.is_grad_enabled())
        and not x.is_conj()
        and x.layout == torch.strided
    )


def _correlate_torch(
    x: torch.Tensor,
    k: np.ndarray,
    modes: tuple[str, ...],
    cval: float,
    origins: tuple[int, ...],
    axes: tuple[int, ...],
    method: str,
    rtol: float | None,
) -> torch.Tensor:
    """The PyTorch path: gather the boundary, then separable 1-D passes or one dense conv."""
    nd = len(axes)
    terms, dense = _plan(tuple(x.shape), k, axes, x.dtype, method, rtol)
    for axis, n, o, mode in zip(axes, k.shape, origins, modes):
        x = _extend(x, axis, *kernel_reach(n, o), mode, cval)
    # Filtered axes last, everything else one batch axis.
    lead = [d for d in range(x.dim()) if d not in axes]
    moved = x.permute(*lead, *axes)
    lead_shape = moved.shape[: len(lead)]
    y = moved.reshape(-1, *moved.shape[len(lead) :])
    if dense is not None:
        y = _conv(y.unsqueeze(1), dense[None, None]).squeeze(1)
    else:
        out = None
        for factors in terms:  # a sum of separable terms (one for a separable kernel)
            term = y
            for dim, taps in enumerate(factors, start=1):
                term = _pass1d(term, taps, dim)
            out = term if out is None else out + term
        y = out
    y = y.reshape(*lead_shape, *y.shape[-nd:])
    inverse = [0] * x.dim()
    for position, d in enumerate([*lead, *axes]):
        inverse[d] = position
    return y.permute(*inverse)


def _extend(
    x: torch.Tensor, axis: int, before: int, after: int, mode: str, cval: float
) -> torch.Tensor:
    n = x.shape[axis]
    index = np.asarray(extend_indices(n, before, after, mode), dtype=np.int64)
    outside = index < 0
    if outside.any():
        # One extra slice holding cval; -1 ("outside") points at it.
        shape = list(x.shape)
        shape[axis] = 1
        x = torch.cat([x, x.new_full(shape, cval)], dim=axis)
        index = np.where(outside, n, index)
    return x.index_select(axis, torch.from_numpy(index).to(x.device))


def _plan(
    shape: tuple[int, ...],
    k: np.ndarray,
    axes: tuple[int, ...],
    dtype: torch.dtype,
    method: str,
    rtol: float | None,
) -> tuple[tuple[tuple[np.ndarray, ...], ...], np.ndarray | None]:
    """``(terms, dense)``: separable terms (1-D factors, one per axis) or a dense kernel.

    The method is chosen by :func:`sepconv._plan.make_plan`, the rule the NumPy
    engine follows (its kernel analysis is cached), with FFT ruled out: this
    path has separable, low-rank and direct filtering only.
    """
    if method == "fft":
        raise ValueError(
            "method='fft' is not available on the PyTorch path (a tensor that needs a "
            "gradient, or not on the CPU); use method='auto', 'direct', 'separable' or 'lowrank'"
        )
    np_dtype = np.dtype(np.float64 if dtype == torch.float64 else np.float32)
    chosen = make_plan(shape, k, axes, np_dtype, method, rtol, exclude=frozenset({"fft"}))
    if chosen.method == "separable":
        return (tuple(chosen.factors),), None
    if chosen.method == "lowrank":
        return tuple((column, row) for column, row in chosen.terms), None
    return (), chosen.weights


def _pass1d(y: torch.Tensor, taps: np.ndarray, dim: int) -> torch.Tensor:
    """Valid 1-D correlation of ``y`` with ``taps`` along ``dim`` (differentiable)."""
    return _Pass1d.apply(y, tuple(taps.tolist()), dim)


class _Pass1d(torch.autograd.Function):
    """A 1-D correlation as a weighted sum of shifted views, with its adjoint as backward.

    PyTorch's convolution of a one-channel tensor is its slowest CPU path (its
    backward runs at a fraction of a GMAC/s).  Here the forward is ``len(taps)``
    fused multiply-adds over views (memory-bound), and the backward -- the
    adjoint of a valid correlation -- is the same operation on the gradient
    zero-padded by ``len(taps) - 1`` with the taps reversed; nothing is saved.
    """

    @staticmethod
    def forward(ctx: Any, y: torch.Tensor, taps: tuple[float, ...], dim: int) -> torch.Tensor:
        ctx.taps, ctx.dim = taps, dim
        return _shifted_sum(y, taps, dim)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        taps, dim = ctx.taps, ctx.dim
        pad = list(grad.shape)
        pad[dim] = len(taps) - 1
        zeros = grad.new_zeros(pad)
        padded = torch.cat([zeros, grad, zeros], dim=dim)
        return _Pass1d.apply(padded, taps[::-1], dim), None, None


def _shifted_sum(y: torch.Tensor, taps: tuple[float, ...], dim: int) -> torch.Tensor:
    n = y.shape[dim] - len(taps) + 1
    out = None
    for i, w in enumerate(taps):
        if w == 0.0:
            continue
        view = y.narrow(dim, i, n)
        out = view * w if out is None else out.add_(view, alpha=w)
    return out if out is not None else y.narrow(dim, 0, n) * 0.0


def _conv(y: torch.Tensor, weight: np.ndarray) -> torch.Tensor:
    w = torch.tensor(weight, dtype=y.dtype, device=y.device)
    return _CONV[weight.ndim - 2](y, w)


def _kernel_array(kernel: Any) -> np.ndarray:
    if isinstance(kernel, torch.Tensor):
        if kernel.requires_grad:
            raise ValueError(
                "kernel must not require grad: sepconv.torch filters with a fixed kernel; "
                "pass kernel.detach(), or use torch.nn.functional.conv2d to learn it"
            )
        kernel = kernel.detach().cpu().numpy()
    if not isinstance(kernel, (str, bytes)) and kernel is not None:
        array = np.asarray(kernel)
        if array.dtype.kind == "f" and np.isnan(array).any():
            # NaN taps are skipped, as by sepconv.correlate and scipy (one rule)
            kernel = effective_weights(array)
    return as_kernel(kernel)
