"""Per-layer weights, multiply–accumulates and activation memory of a PyTorch model.

Counts come from forward hooks on one real forward pass, so every layer sees
the shapes it really gets; the formulas are those of :mod:`sepconv.cost`.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import cost
from .._args import check_positive_int

__all__ = ["LayerProfile", "Profile", "profile"]

#: The counting rules, as stated in :func:`profile`'s docstring and exported in JSON.
RULES: dict[str, str] = {
    "conv": "nn.Conv1d/Conv2d (and subclasses: DepthwiseConv2d, PointwiseConv2d, padding "
    "computed in forward): sepconv.cost.conv2d, H_out*W_out*C_out*(C_in/groups)*kh*kw per "
    "sample with the output size the layer produced; bias not counted",
    "linear": "nn.Linear: sepconv.cost.linear, in_features*out_features per input row",
    "norm": "BatchNorm/InstanceNorm/GroupNorm/LayerNorm: 2 per output element with an affine "
    "scale (normalise, then scale), 1 without; counted unfused, as in inference without folding",
    "avgpool": "AvgPool: kh*kw per output element; AdaptiveAvgPool: the exact size of every "
    "window (the division is folded into the accumulation)",
    "zero": "max pooling, element-wise activations, softmax, dropout, identity, reshapes and "
    "padding layers: 0 (comparisons and element-wise maps are not multiply-accumulates)",
    "uncounted": "any other module: 0, and listed in Profile.uncounted",
    "memory": "activation bytes = bytes of the module's output tensors; an output that shares "
    "storage with the input (in-place ReLU, Identity, Flatten, Dropout in eval) counts 0",
    "scope": "only nn.Module calls are seen: functional calls in forward() (x + y in a residual, "
    "F.relu) are not counted",
}

_ZERO_TYPES: tuple[type[nn.Module], ...] = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.ZeroPad2d,
    nn.ConstantPad1d,
    nn.ConstantPad2d,
    nn.ReflectionPad1d,
    nn.ReflectionPad2d,
    nn.ReplicationPad1d,
    nn.ReplicationPad2d,
    nn.CircularPad1d,
    nn.CircularPad2d,
    nn.ChannelShuffle,
    nn.PixelShuffle,
    nn.PixelUnshuffle,
    nn.Softmax,
    nn.LogSoftmax,
    nn.Softmax2d,
)
_NORM_TYPES = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm,
    nn.LayerNorm,
)


@dataclass(frozen=True)
class LayerProfile:
    """One module call: shapes (batch included), own weights, MACs and output bytes."""

    name: str
    type: str
    rule: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    multiplications: int
    activation_bytes: int


@dataclass(frozen=True)
class Profile:
    """What :func:`profile` measured; ``str()`` is a table, :meth:`to_dict` is JSON-ready.

    Attributes
    ----------
    input_size : tuple of int
        Shape of one sample.
    batch_size : int
    layers : tuple of LayerProfile
        One row per module call, in call order.
    params : int
        Parameters of the model (each shared tensor once), whether or not used.
    uncounted : tuple of str
        Modules that ran without a counting rule (their MACs are 0).
    """

    input_size: tuple[int, ...]
    batch_size: int
    layers: tuple[LayerProfile, ...]
    params: int
    uncounted: tuple[str, ...]

    @property
    def multiplications(self) -> int:
        """Total multiply–accumulates of one forward pass over the batch."""
        return sum(layer.multiplications for layer in self.layers)

    @property
    def activation_bytes(self) -> int:
        """Sum of every layer's output bytes (what training keeps for backward, roughly)."""
        return sum(layer.activation_bytes for layer in self.layers)

    def __getitem__(self, name: str) -> LayerProfile:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; names: {[lay.name for lay in self.layers]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: layers, totals, uncounted modules and the rules used."""
        return {
            "input_size": list(self.input_size),
            "batch_size": self.batch_size,
            "layers": [
                {
                    **asdict(layer),
                    "input_shape": list(layer.input_shape),
                    "output_shape": list(layer.output_shape),
                }
                for layer in self.layers
            ],
            "totals": {
                "params": self.params,
                "multiplications": self.multiplications,
                "activation_bytes": self.activation_bytes,
            },
            "uncounted": list(self.uncounted),
            "rules": dict(RULES),
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as a JSON string (``kwargs`` go to :func:`json.dumps`)."""
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        headers = ("layer", "type", "output", "weights", "MACs", "activations")
        rows = [
            (
                layer.name,
                layer.type,
                "x".join(map(str, layer.output_shape)),
                f"{layer.params:,}",
                f"{layer.multiplications:,}",
                _bytes(layer.activation_bytes),
            )
            for layer in self.layers
        ]
        rows.append(
            (
                "total",
                "",
                "",
                f"{self.params:,}",
                f"{self.multiplications:,}",
                _bytes(self.activation_bytes),
            )
        )
        shape = "x".join(map(str, (self.batch_size, *self.input_size)))
        lines = _text_table(headers, rows, right=(3, 4, 5))
        notes = [f"input {shape}; MACs = multiply-accumulates (see sepconv.nn.profile)"]
        if self.uncounted:
            notes.append(f"no counting rule (0 MACs): {', '.join(self.uncounted)}")
        return "\n".join([*lines, *notes])


def profile(
    model: nn.Module,
    input_size: Sequence[int],
    *,
    batch_size: int = 1,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Profile:
    """Weights, multiply–accumulates (MACs) and activation memory of every layer.

    Runs one forward pass of ``model`` on zeros of shape
    ``(batch_size, *input_size)`` under ``torch.no_grad()`` in eval mode (the
    training flag is restored afterwards) and records every module call with
    forward hooks.

    Counting rules (also in ``Profile.to_dict()["rules"]``):

    * ``nn.Conv1d`` / ``nn.Conv2d`` and subclasses (grouped and depthwise
      included): :func:`sepconv.cost.conv2d`,
      ``H_out * W_out * C_out * (C_in / groups) * kh * kw`` per sample, with
      the output size the layer really produced (so padding computed in
      ``forward``, as TF "SAME" subclasses do, is counted as run).  Bias
      additions are not multiplications and are not counted.
    * ``nn.Linear``: :func:`sepconv.cost.linear` per input row.
    * Normalisation (batch, instance, group, layer): 2 per output element with
      an affine scale, 1 without -- unfused, as run; folding a BatchNorm into
      the preceding convolution makes it 0.
    * Average pooling: one MAC per element of each window (the division folds
      into the accumulation); adaptive pooling uses its exact windows.
    * Max pooling, activations, softmax, dropout, identity, reshapes and
      padding layers: 0.  Any other module counts 0 and is listed in
      ``Profile.uncounted``.
    * Activation memory: bytes of each module's output; outputs that share
      storage with their input (in-place ReLU, ``Identity``, ``Flatten``) count
      0.
    * Only module calls are seen: functional operations in ``forward`` (the
      ``x + y`` of a residual block, ``F.relu``) are not counted.

    Parameters
    ----------
    model : nn.Module
    input_size : sequence of int
        Shape of one sample, without the batch dimension: ``(C, H, W)``.
    batch_size : int
        Samples in the forward pass; MACs and activations scale with it.
    device, dtype : optional
        Of the input; default: those of the model's first parameter (CPU
        float32 for a model without parameters).

    Returns
    -------
    Profile
        ``.layers`` (one :class:`LayerProfile` per module call), totals
        ``.params``, ``.multiplications``, ``.activation_bytes``; ``str()`` is a
        table, ``.to_dict()`` / ``.to_json()`` export it.

    Examples
    --------
    >>> import torch.nn as nn
    >>> import sepconv
    >>> from sepconv.nn import DepthwiseSeparableConv2d
    >>> model = nn.Sequential(DepthwiseSeparableConv2d(3, 256, 5, bias=False))
    >>> p = sepconv.profile(model, (3, 12, 12))
    >>> [(layer.name, layer.multiplications) for layer in p.layers]
    [('0.depthwise', 4800), ('0.pointwise', 49152)]
    >>> p.params, p.multiplications
    (843, 53952)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(input_size, Sequence) or isinstance(input_size, str):
        raise TypeError(
            f"input_size must be a sequence of ints such as (3, 224, 224), got {input_size!r}"
        )
    size = tuple(check_positive_int(n, "input_size") for n in input_size)
    if not size:
        raise ValueError(
            "input_size must not be empty; give the shape of one sample, e.g. (3, 224, 224)"
        )
    batch_size = check_positive_int(batch_size, "batch_size")
    first = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    device = device if device is not None else (first.device if first is not None else "cpu")
    if dtype is None:
        dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    x = torch.zeros((batch_size, *size), device=device, dtype=dtype)

    names = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(module, name or type(module).__name__)
    rows: list[LayerProfile] = []
    calls: dict[nn.Module, int] = {}
    uncounted: list[str] = []

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        calls[module] = calls.get(module, 0) + 1
        name = names[module] + ("" if calls[module] == 1 else f" (call {calls[module]})")
        inp = next((a for a in args if isinstance(a, torch.Tensor)), None)
        out = _first_tensor(output)
        rule, macs = _count(module, inp, out)
        if rule == "uncounted" and name not in uncounted:
            uncounted.append(name)
        params = (
            sum(p.numel() for p in module.parameters(recurse=False)) if calls[module] == 1 else 0
        )
        rows.append(
            LayerProfile(
                name,
                type(module).__name__,
                rule,
                tuple(inp.shape) if inp is not None else (),
                tuple(out.shape) if out is not None else (),
                params,
                macs,
                _output_bytes(output, args),
            )
        )

    handles = [
        module.register_forward_hook(hook)
        for module in names
        if not any(True for _ in module.children())
        or any(True for _ in module.parameters(recurse=False))
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    unique = {id(p): p.numel() for p in model.parameters()}
    return Profile(size, batch_size, tuple(rows), sum(unique.values()), tuple(uncounted))


def _count(
    module: nn.Module, inp: torch.Tensor | None, out: torch.Tensor | None
) -> tuple[str, int]:
    if inp is None or out is None:
        return ("uncounted", 0)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return ("conv", _conv_macs(module, out))
    if isinstance(module, nn.Linear):
        rows = out.numel() // module.out_features
        return (
            "linear",
            rows * cost.linear(module.in_features, module.out_features).multiplications,
        )
    if isinstance(module, _NORM_TYPES):
        # An affine scale is a second multiplication per element; a shift is an addition.
        scaled = getattr(module, "weight", None) is not None
        return ("norm", out.numel() * (2 if scaled else 1))
    if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        window = module.kernel_size
        window = (window,) * (inp.dim() - 2) if isinstance(window, int) else tuple(window)
        return ("avgpool", out.numel() * math.prod(window))
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        spatial = out.dim() - 2
        per_axis = [
            _adaptive_window_total(n, o) for n, o in zip(inp.shape[-spatial:], out.shape[-spatial:])
        ]
        return ("avgpool", math.prod(out.shape[:-spatial]) * math.prod(per_axis))
    if isinstance(module, _ZERO_TYPES) or type(module).__module__ == nn.modules.activation.__name__:
        if not isinstance(module, (nn.MultiheadAttention, nn.PReLU)):
            return ("zero", 0)
    return ("uncounted", 0)


def _conv_macs(conv: nn.Conv1d | nn.Conv2d, out: torch.Tensor) -> int:
    # From the output the layer really produced, not from its constructor arguments:
    # subclasses pad in forward() (TF "SAME", efficientnet_pytorch, timm), so the
    # arguments can describe another output size.  Every output element costs one
    # kernel window, which is sepconv.cost.conv2d on an input exactly one (dilated)
    # kernel wide; Conv1d is a Conv2d on a height-1 image.
    two_d = isinstance(conv, nn.Conv2d)
    kernel = tuple(conv.kernel_size) if two_d else (1, conv.kernel_size[0])
    dilation = tuple(conv.dilation) if two_d else (1, conv.dilation[0])
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    window = cost.conv2d(
        (conv.in_channels, *reach), conv.out_channels, kernel, dilation=dilation, groups=conv.groups
    ).multiplications
    # One window per output element; window counts all out_channels at one position.
    return out.numel() // conv.out_channels * window


def _adaptive_window_total(n: int, o: int) -> int:
    # PyTorch's adaptive windows: [floor(i*n/o), ceil((i+1)*n/o)).
    return sum(-((-(i + 1) * n) // o) - (i * n) // o for i in range(o))


def _first_tensor(output: Any) -> torch.Tensor | None:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        return next((t for t in output if isinstance(t, torch.Tensor)), None)
    return None


def _output_bytes(output: Any, args: tuple[Any, ...]) -> int:
    outs = (
        [output]
        if isinstance(output, torch.Tensor)
        else [
            t
            for t in (output if isinstance(output, (tuple, list)) else ())
            if isinstance(t, torch.Tensor)
        ]
    )
    inputs = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
    return sum(
        t.numel() * t.element_size() for t in outs if t.untyped_storage().data_ptr() not in inputs
    )


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _text_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
) -> list[str]:
    widths = [max(len(str(r[i])) for r in (headers, *rows)) for i in range(len(headers))]

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [fmt(headers), rule, *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])]


def _load_model(spec: str) -> nn.Module:
    """Build the model named by ``"module:factory"`` (``factory`` called without arguments).

    ``module`` is imported with the current directory on ``sys.path``, so a
    local ``models.py`` works; ``factory`` may be dotted (``Class.build``) and may
    also be an ``nn.Module`` instance.
    """
    if (
        not isinstance(spec, str)
        or spec.count(":") != 1
        or spec.startswith(":")
        or spec.endswith(":")
    ):
        raise ValueError(f"model must look like 'package.module:factory', got {spec!r}")
    module_name, attr = spec.split(":")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} from model {spec!r}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{module_name!r} has no attribute {attr!r} (model {spec!r})")
        obj = getattr(obj, part)
    model = obj if isinstance(obj, nn.Module) else obj() if callable(obj) else obj
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{spec!r} must be an nn.Module or a callable returning one, got {type(model).__name__}"
        )
    return model
