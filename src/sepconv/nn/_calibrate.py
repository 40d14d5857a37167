"""Data-aware factors: minimise each converted layer's *output* error on calibration data.

For a layer ``y = W x`` (``x`` the input patches), the weight-space SVD minimises
``||W - W_hat||``, which treats every input direction alike.  Real inputs are not alike:
natural-image patches are dominated by a few smooth directions.  On calibration data the
error that matters is ``E ||W x - W_hat x||^2 = ||(W - W_hat) S||^2`` with ``S = Sigma^(1/2)``
the square root of the patch covariance, whose minimiser is the truncated SVD of ``W S``
mapped back by ``S^-1`` (the closed form of weighted low-rank approximation; Zhang et al.,
"Accelerating Very Deep Convolutional Networks", 2015).

The layers are fitted one after another, in the order the model runs them, each on the
inputs it gets in the *partly converted* model while its target is the original layer's
output on the original model's inputs, so that errors do not compound.  In two steps:

1. the first step's filters: for ``kind="depthwise"`` the per-channel weighted SVD (each
   input channel's ``kh*kw`` patch covariance -- the channels' joint covariance is
   ``(C*kh*kw)^2``, too large for real layers); for ``kind="spatial"`` the weight-space SVD;
2. the second step (pointwise / horizontal) by exact least squares on the first step's
   outputs, ``P = E[y z^T] E[z z^T]^-1``: this uses every cross-channel correlation and
   costs only the (small) second step's input covariance.

Memory is bounded: one layer's inputs for the calibration batches are held at a time, the
joint refinement runs only up to ``_JOINT_LIMIT`` depthwise weights and the second step's
least squares up to ``_GRAM_LIMIT`` inputs; beyond them the layer keeps the step before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["as_batches", "call_order", "capture_inputs", "fit_layer", "output_error"]

#: Ridge added to covariances, relative to their mean diagonal: keeps directions that the
#: calibration data never excites at their weight-space value instead of dividing by ~0.
_RIDGE = 1e-4


def as_batches(calibration: Any, input_size: Sequence[int] | None = None) -> list[torch.Tensor]:
    """``calibration`` (a tensor, an array or an iterable of them) as a list of batches."""
    if isinstance(calibration, (torch.Tensor, np.ndarray)):
        items: Iterable[Any] = [calibration]
    elif isinstance(calibration, Iterable) and not isinstance(calibration, (str, bytes)):
        items = calibration
    else:
        raise TypeError(
            "calibration must be a tensor of input batches (N, C, H, W) or an iterable of "
            f"such tensors, got {type(calibration).__name__}"
        )
    batches = []
    for item in items:
        if isinstance(item, (tuple, list)) and item:  # (inputs, labels) from a DataLoader
            item = item[0]
        tensor = torch.as_tensor(item)
        if not tensor.is_floating_point() or tensor.dim() < 2:
            raise ValueError(
                "calibration batches must be floating-point tensors of shape (N, C, H, W); "
                f"got dtype {tensor.dtype} and shape {tuple(tensor.shape)}"
            )
        if input_size is not None and tuple(tensor.shape[1:]) != tuple(input_size):
            raise ValueError(
                f"calibration batches must have shape (N, {', '.join(map(str, input_size))}) "
                f"to match input_size; got {tuple(tensor.shape)}"
            )
        batches.append(tensor)
    if not batches:
        raise ValueError("calibration is empty; give at least one batch of inputs")
    return batches


class _Stop(Exception):
    """Raised by a hook once the wanted input is captured: the rest of the forward is waste."""


def capture_inputs(
    model: nn.Module, module: nn.Module, batches: list[torch.Tensor]
) -> list[torch.Tensor | None]:
    """The input ``module`` gets (first call) when ``model`` runs each batch, in eval mode."""
    captured: list[torch.Tensor | None] = []

    def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
        captured.append(args[0].detach())
        raise _Stop

    handle = module.register_forward_pre_hook(hook)
    was_training = model.training
    param = next(iter(model.parameters()), None)
    try:
        model.eval()
        with torch.no_grad():
            for batch in batches:
                if param is not None:
                    batch = batch.to(device=param.device, dtype=param.dtype)
                before = len(captured)
                try:
                    model(batch)
                except _Stop:
                    pass
                except Exception as exc:
                    raise ValueError(
                        f"the model fails on a calibration batch of shape {tuple(batch.shape)}: "
                        f"{exc}"
                    ) from exc
                if len(captured) == before:
                    captured.append(None)
    finally:
        handle.remove()
        model.train(was_training)
    return captured


def call_order(model: nn.Module, modules: list[nn.Module], batch: torch.Tensor) -> list[int]:
    """Indices of ``modules`` in the order ``model`` first calls them (uncalled ones last)."""
    order: list[int] = []
    index = {id(m): i for i, m in enumerate(modules)}

    def hook(module: nn.Module, _args: tuple[Any, ...]) -> None:
        i = index[id(module)]
        if i not in order:
            order.append(i)

    handles = [m.register_forward_pre_hook(hook) for m in modules]
    was_training = model.training
    param = next(iter(model.parameters()), None)
    try:
        model.eval()
        with torch.no_grad():
            if param is not None:
                batch = batch.to(device=param.device, dtype=param.dtype)
            try:
                model(batch[:1])
            except Exception as exc:
                raise ValueError(
                    f"the model fails on a calibration batch of shape {tuple(batch.shape)}: {exc}"
                ) from exc
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return order + [i for i in range(len(modules)) if i not in order]


def _patches(step: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Per-channel input patches of a depthwise / (1 x k) step, with its padding rules.

    A grouped convolution with one-hot filters: output channel ``c * K + t`` is tap ``t`` of
    channel ``c``, padded exactly as ``step`` pads (zeros, reflect, "same", ...).
    """
    c = step.in_channels
    kh, kw = step.kernel_size
    taps = kh * kw
    extract = nn.Conv2d(
        c,
        c * taps,
        (kh, kw),
        step.stride,
        step.padding,
        step.dilation,
        groups=c,
        bias=False,
        padding_mode=step.padding_mode,
        device=x.device,
        dtype=x.dtype,
    )
    with torch.no_grad():
        eye = torch.eye(taps, device=x.device, dtype=x.dtype).reshape(taps, 1, kh, kw)
        extract.weight.copy_(eye.repeat(c, 1, 1, 1))
        return extract(x)


def _target(original: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        y = original(x)
        bias = getattr(original, "bias", None)
        return y if bias is None else y - bias.reshape(1, -1, 1, 1)


def _solve(cross: torch.Tensor, gram: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """``argmin_P ||Y - P Z||^2 + ridge ||P - prior||^2`` from ``cross = Y Z^T``, ``gram = Z Z^T``.

    The ridge pulls towards ``prior`` (the current factors), not towards 0: directions the
    calibration data hardly excites keep their weight-space values.
    """
    ridge = _RIDGE * float(torch.diagonal(gram).mean()) + 1e-30
    eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
    return torch.linalg.solve(gram + ridge * eye, (cross + ridge * prior).T).T


def fit_layer(
    original: nn.Module,
    new: nn.Module,
    first: nn.Conv2d,
    second: nn.Conv2d,
    pad: nn.Module | None,
    weight: torch.Tensor,
    x_original: list[torch.Tensor | None],
    x_converted: list[torch.Tensor | None],
    kind: str,
) -> None:
    """Set ``new``'s factors to minimise its output error against ``original`` (in place)."""
    pairs = [(a, b) for a, b in zip(x_original, x_converted) if a is not None and b is not None]
    if not pairs:
        return
    prepad = (lambda t: t) if pad is None else pad
    if kind == "depthwise":
        _fit_depthwise_filters(first, weight, [prepad(b) for _, b in pairs])
        _weight_space_pointwise(first, second, weight)  # the prior of the least squares
        c, m = first.in_channels, first.out_channels // first.in_channels
        if c * m * first.kernel_size[0] * first.kernel_size[1] <= _JOINT_LIMIT:
            _refine_depthwise(original, first, second, pad, pairs)
            return
    o = second.out_channels
    if second.in_channels * second.kernel_size[1] > _GRAM_LIMIT:
        return  # memory bound: keep the weight-space second step for these filters
    gram: torch.Tensor | None = None
    cross: torch.Tensor | None = None
    for xo, xc in pairs:
        y = _target(original, xo).double()
        with torch.no_grad():
            z = first(prepad(xc))
            if kind == "spatial":
                z = _patches(second, z)  # (N, mid * kw, H, W): the horizontal step's inputs
        z = z.double()
        z = z.transpose(0, 1).reshape(z.shape[1], -1)
        y = y.transpose(0, 1).reshape(o, -1)
        gram = z @ z.T if gram is None else gram + z @ z.T
        cross = y @ z.T if cross is None else cross + y @ z.T
    assert gram is not None and cross is not None
    prior = second.weight.detach().double().reshape(o, -1)
    solution = _solve(cross, gram, prior)
    with torch.no_grad():
        second.weight.copy_(solution.reshape(second.weight.shape).to(second.weight))


#: Largest number of depthwise weights (C * M * kh * kw) refined jointly with the pointwise
#: ones; the normal equations of that step are this size squared (4096^2 doubles = 128 MiB).
_JOINT_LIMIT = 4096
#: Largest input (channels x taps) of a second step refitted by least squares: its Gram
#: matrix is this size squared (6144^2 doubles = 288 MiB).
_GRAM_LIMIT = 6144
#: Alternations between the depthwise and the pointwise least-squares steps.
_ALTERNATIONS = 4


def _refine_depthwise(
    original: nn.Module,
    depthwise: nn.Conv2d,
    pointwise: nn.Conv2d,
    pad: nn.Module | None,
    pairs: list[tuple[torch.Tensor, torch.Tensor]],
) -> None:
    """Alternating least squares on the joint patch covariance of all channels.

    With ``x`` the input patches (``C*K`` values), ``y`` the target and ``B`` the
    block-diagonal depthwise matrix, the output error is a quadratic in ``P`` for fixed
    ``B`` and in ``B`` for fixed ``P``; both need only ``Cx = E[x x^T]`` and
    ``Cyx = E[y x^T]``, accumulated once.  Each step is exact, so the error never grows.
    """
    c = depthwise.in_channels
    kh, kw = depthwise.kernel_size
    k = kh * kw
    m = depthwise.out_channels // c
    o = pointwise.out_channels
    cx = torch.zeros(c * k, c * k, dtype=torch.float64, device=depthwise.weight.device)
    cyx = torch.zeros(o, c * k, dtype=torch.float64, device=depthwise.weight.device)
    for xo, xc in pairs:
        y = _target(original, xo).double()
        x = _patches(depthwise, xc if pad is None else pad(xc)).double()
        x = x.transpose(0, 1).reshape(c * k, -1)
        y = y.transpose(0, 1).reshape(o, -1)
        cx += x @ x.T
        cyx += y @ x.T
    d = depthwise.weight.detach().double().reshape(c, m, k)
    p = pointwise.weight.detach().double().reshape(o, c * m)
    eye_c = torch.eye(c, dtype=torch.float64, device=d.device)
    cx4 = cx.reshape(c, k, c, k)
    cyx3 = cyx.reshape(o, c, k)
    for step in range(_ALTERNATIONS):
        # B[(c, m), (c', t)] = d[c, m, t] if c == c' else 0.
        b = torch.einsum("cmt,cd->cmdt", d, eye_c).reshape(c * m, c * k)
        p = _solve(cyx @ b.T, b @ cx @ b.T, p)  # (o, c*m)
        if step == _ALTERNATIONS - 1:
            break
        p3 = p.reshape(o, c, m)
        g = torch.einsum("ocm,odn->cmdn", p3, p3)
        normal = torch.einsum("cmdn,ctdu->cmtdnu", g, cx4).reshape(c * m * k, c * m * k)
        rhs = torch.einsum("ocm,oct->cmt", p3, cyx3).reshape(1, -1)
        d = _solve(rhs, normal, d.reshape(1, -1)).reshape(c, m, k)
        # Unit filters, the scale moved into P by the next solve (the study's convention).
        d = d / torch.linalg.vector_norm(d, dim=2, keepdim=True).clamp_min(1e-30)
    with torch.no_grad():
        depthwise.weight.copy_(d.reshape(depthwise.weight.shape).to(depthwise.weight))
        pointwise.weight.copy_(p.reshape(pointwise.weight.shape).to(pointwise.weight))


def _weight_space_pointwise(
    depthwise: nn.Conv2d, pointwise: nn.Conv2d, weight: torch.Tensor
) -> None:
    """Pointwise weights closest to ``weight`` for the current filters: ``W_c D_c^+``."""
    c = depthwise.in_channels
    k = depthwise.kernel_size[0] * depthwise.kernel_size[1]
    m = depthwise.out_channels // c
    d = depthwise.weight.detach().double().reshape(c, m, k)
    w = weight.detach().double().reshape(weight.shape[0], c, k)
    p = torch.einsum("oct,cmt->ocm", w, torch.linalg.pinv(d).transpose(1, 2))
    with torch.no_grad():
        pointwise.weight.copy_(p.reshape(pointwise.weight.shape).to(pointwise.weight))


def _fit_depthwise_filters(
    depthwise: nn.Conv2d, weight: torch.Tensor, inputs: list[torch.Tensor]
) -> None:
    c = depthwise.in_channels
    kh, kw = depthwise.kernel_size
    taps = kh * kw
    m = depthwise.out_channels // c
    cov = torch.zeros(c, taps, taps, dtype=torch.float64, device=weight.device)
    for x in inputs:
        p = _patches(depthwise, x).double()  # (N, c*taps, H, W)
        p = p.reshape(p.shape[0], c, taps, -1).permute(1, 2, 0, 3).reshape(c, taps, -1)
        cov += p @ p.transpose(1, 2)
    w = weight.detach().double().reshape(weight.shape[0], c, taps)
    filters = depthwise.weight.detach().double().reshape(c, m, taps).clone()
    for ci in range(c):
        sigma = cov[ci]
        sigma = sigma + (_RIDGE * float(torch.diagonal(sigma).mean()) + 1e-30) * torch.eye(
            taps, dtype=sigma.dtype, device=sigma.device
        )
        values, vectors = torch.linalg.eigh(sigma)
        root = vectors @ torch.diag(values.sqrt()) @ vectors.T
        inv_root = vectors @ torch.diag(values.rsqrt()) @ vectors.T
        _, s, vt = torch.linalg.svd(w[:, ci] @ root, full_matrices=False)
        for k in range(min(m, len(s))):
            if s[k] <= s[0] * 1e-12:
                break  # beyond the rank: the filter keeps its value (its weight is refitted)
            row = vt[k] @ inv_root
            filters[ci, k] = row / torch.linalg.vector_norm(row)
    with torch.no_grad():
        depthwise.weight.copy_(filters.reshape(depthwise.weight.shape).to(depthwise.weight))


def output_error(
    original: nn.Module,
    new: nn.Module,
    x_original: list[torch.Tensor | None],
    x_converted: list[torch.Tensor | None],
) -> float | None:
    """``||y - y_hat|| / ||y||`` over the calibration data, as the converted model runs it."""
    num = den = 0.0
    seen = False
    for xo, xc in zip(x_original, x_converted):
        if xo is None or xc is None:
            continue
        seen = True
        with torch.no_grad():
            y = original(xo).double()
            num += float(torch.sum((y - new(xc).double()) ** 2))
            den += float(torch.sum(y**2))
    if not seen:
        return None
    return (num / den) ** 0.5 if den > 0 else 0.0
