"""What an ``nn.Conv2d`` (or a subclass) really computes, or why sepconv cannot say.

A convolution layer is converted only when sepconv knows its forward pass exactly: the
plain ``nn.Conv2d`` one (any subclass that does not override ``forward`` /
``_conv_forward``), or one of the known subclasses below, which pad the input in
``forward`` (TF "SAME") and/or standardise the weight first.  Each known forward is
described by a :class:`Recipe` -- an optional padding step, the effective weight and the
arguments of the convolution that follows -- and the recipe is *checked* against the layer
on two random inputs (odd and even sizes) before it is used, so a package that changed its
layer's behaviour is left untouched rather than converted wrongly.  Anything else (a
subclass with an unknown ``forward``, forward hooks) is left as it is, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PrePadded", "Recipe", "TFSamePad2d", "recipe_for"]


class TFSamePad2d(nn.Module):
    """TensorFlow "SAME" padding, computed from each input's size (the odd pixel at the end).

    Pads each spatial axis of size ``n`` by
    ``max((ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)`` in total, half before and the
    rest after, so a following unpadded convolution with kernel ``k``, stride ``s`` and
    dilation ``d`` outputs ``ceil(n / s)`` positions -- what timm's ``Conv2dSame``,
    efficientnet_pytorch's ``Conv2dDynamicSamePadding`` and transformers' ``DynamicPad2d``
    do.

    Examples
    --------
    >>> import torch
    >>> from sepconv.nn._recipes import TFSamePad2d
    >>> TFSamePad2d((3, 3), (2, 2), (1, 1))(torch.zeros(1, 1, 96, 95)).shape
    torch.Size([1, 1, 97, 97])
    """

    def __init__(
        self,
        kernel_size: tuple[int, int],
        stride: tuple[int, int],
        dilation: tuple[int, int],
        value: float = 0.0,
    ) -> None:
        super().__init__()
        self.kernel_size = tuple(int(k) for k in kernel_size)
        self.stride = tuple(int(s) for s in stride)
        self.dilation = tuple(int(d) for d in dilation)
        self.value = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = [
            max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
            for n, k, s, d in zip(x.shape[-2:], self.kernel_size, self.stride, self.dilation)
        ]
        if not any(total):
            return x
        ph, pw = total
        return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=self.value)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, dilation={self.dilation}"


@dataclass
class Recipe:
    """A convolution's forward as ``conv2d(pad(x), weight, ...)`` with ``nn.Conv2d`` arguments.

    ``pad`` is applied first (``None``: nothing); ``padding`` / ``padding_mode`` are those
    of the convolution that follows, as ``nn.Conv2d`` interprets them; ``weight`` is the
    effective weight (standardised where the layer standardises it).  ``note`` says what
    the layer does beyond a plain convolution (empty for a plain one).
    """

    pad: nn.Module | None
    weight: torch.Tensor
    padding: tuple[int, int] | str
    padding_mode: str
    note: str = ""

    def reference(self, conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
        """The layer's output as this recipe computes it (to check the recipe)."""
        if self.pad is not None:
            x = self.pad(x)
        probe = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            self.padding,
            conv.dilation,
            conv.groups,
            conv.bias is not None,
            self.padding_mode,
            device=x.device,
            dtype=x.dtype,
        )
        with torch.no_grad():
            probe.weight.copy_(self.weight)
            if conv.bias is not None:
                probe.bias.copy_(conv.bias)
        return probe(x)


def _standardised(conv: nn.Conv2d, eps: float) -> torch.Tensor:
    # The standardisation of timm's StdConv2d and transformers' WeightStandardizedConv2d:
    # per output channel, biased variance, eps inside the square root.
    w = conv.weight.detach()
    return F.batch_norm(
        w.reshape(1, conv.out_channels, -1), None, None, training=True, momentum=0.0, eps=eps
    ).reshape_as(w)


def _tf_same(conv: nn.Conv2d, value: float = 0.0) -> TFSamePad2d:
    return TFSamePad2d(tuple(conv.kernel_size), tuple(conv.stride), tuple(conv.dilation), value)


def _zero_padding(conv: nn.Conv2d) -> tuple[int, int] | str:
    return conv.padding if isinstance(conv.padding, str) else tuple(conv.padding)


def _efficientnet_static(conv: nn.Conv2d) -> Recipe:
    pad = getattr(conv, "static_padding", None)
    if not isinstance(pad, (nn.ZeroPad2d, nn.Identity)):
        raise _Unknown(f"static_padding is a {type(pad).__name__}, not ZeroPad2d / Identity")
    return Recipe(
        None if isinstance(pad, nn.Identity) else nn.ZeroPad2d(tuple(pad.padding)),
        conv.weight.detach(),
        _zero_padding(conv),
        "zeros",
        "TF 'SAME' padding fixed at construction",
    )


def _efficientnet_dynamic(conv: nn.Conv2d) -> Recipe:
    return Recipe(
        _tf_same(conv), conv.weight.detach(), _zero_padding(conv), "zeros", "TF 'SAME' padding"
    )


def _timm_std(conv: nn.Conv2d) -> Recipe:
    same = bool(getattr(conv, "same_pad", False))
    return Recipe(
        _tf_same(conv) if same else None,
        _standardised(conv, float(conv.eps)),
        _zero_padding(conv),
        "zeros",
        "weight standardisation" + (" and TF 'SAME' padding" if same else ""),
    )


def _timm_same(conv: nn.Conv2d) -> Recipe:
    # timm's conv2d_same pads and then convolves with padding (0, 0), whatever self.padding.
    return Recipe(_tf_same(conv), conv.weight.detach(), (0, 0), "zeros", "TF 'SAME' padding")


def _transformers_ws(conv: nn.Conv2d) -> Recipe:
    pad = getattr(conv, "pad", None)
    if pad is not None and type(pad).__name__ != "DynamicPad2d":
        raise _Unknown(f"pad is a {type(pad).__name__}, not DynamicPad2d")
    return Recipe(
        None if pad is None else _tf_same(conv, getattr(pad, "value", 0.0)),
        _standardised(conv, float(conv.eps)),
        _zero_padding(conv),
        "zeros",
        "weight standardisation" + ("" if pad is None else " and TF 'SAME' padding"),
    )


#: Known subclasses by ``module.qualname`` -> the recipe of their forward (read from each
#: package's source; every recipe is still checked on the layer before it is used).
_KNOWN = {
    "efficientnet_pytorch.utils.Conv2dStaticSamePadding": _efficientnet_static,
    "efficientnet_pytorch.utils.Conv2dDynamicSamePadding": _efficientnet_dynamic,
    "timm.layers.std_conv.StdConv2d": _timm_std,
    "timm.layers.std_conv.StdConv2dSame": _timm_std,
    "timm.models.layers.std_conv.StdConv2d": _timm_std,
    "timm.models.layers.std_conv.StdConv2dSame": _timm_std,
    "timm.layers.conv2d_same.Conv2dSame": _timm_same,
    "timm.models.layers.conv2d_same.Conv2dSame": _timm_same,
    "transformers.models.bit.modeling_bit.WeightStandardizedConv2d": _transformers_ws,
}


class _Unknown(Exception):
    """The layer's forward is not one sepconv can reproduce (the message says why)."""


def recipe_for(conv: nn.Conv2d) -> Recipe | str:
    """The checked recipe of ``conv``'s forward, or the reason it has none (a string)."""
    cls = type(conv)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if conv._forward_hooks or conv._forward_pre_hooks:
        return "has forward hooks, which a converted layer would not run"
    plain = cls.forward is nn.Conv2d.forward and cls._conv_forward is nn.Conv2d._conv_forward
    try:
        if plain:
            # nn.Conv2d's own forward, whatever the subclass; the weight attribute is what
            # forward uses (parametrisations included).  Exact by construction: no check.
            return Recipe(None, conv.weight.detach(), _zero_padding(conv), conv.padding_mode)
        if name not in _KNOWN:
            return (
                f"{name} overrides forward / _conv_forward in a way sepconv does not know; "
                "left as it is rather than guessed"
            )
        recipe = _KNOWN[name](conv)
    except (_Unknown, AttributeError, TypeError, ValueError) as exc:
        return f"{name}: {exc}"
    mismatch = _check(conv, recipe)
    if mismatch:
        return f"{name}: the known recipe ({recipe.note}) does not reproduce it: {mismatch}"
    return recipe


def _check(conv: nn.Conv2d, recipe: Recipe) -> str:
    """Compare the layer with its recipe on random inputs of odd and even sizes."""
    weight = conv.weight
    reach = [d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation)]
    generator = torch.Generator().manual_seed(0)
    for extra in ((2, 3), (3, 2)):
        shape = (1, conv.in_channels, *(r + s * e for r, s, e in zip(reach, conv.stride, extra)))
        x = torch.randn(shape, generator=generator, dtype=torch.float64)
        x = x.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            got, want = recipe.reference(conv, x), conv(x)
        if got.shape != want.shape:
            return f"output shape {tuple(got.shape)} instead of {tuple(want.shape)}"
        scale = float(want.abs().max()) or 1.0
        tol = 1e-4 if weight.dtype in (torch.float32, torch.float64) else 1e-2
        diff = float((got - want).abs().max())
        if diff > tol * scale:
            return f"max difference {diff:.3g} on an input of shape {shape}"
    return ""


class PrePadded(nn.Module):
    """A separable layer behind the padding its original computed in ``forward``.

    Attributes
    ----------
    pad : nn.Module
        E.g. :class:`~sepconv.nn._recipes.TFSamePad2d` or ``nn.ZeroPad2d``.
    conv : DepthwiseSeparableConv2d or SpatialSeparableConv2d
    """

    def __init__(self, pad: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.pad = pad
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))

    def dense_weight(self) -> torch.Tensor:
        """The dense weight of ``conv`` (applied after ``pad``)."""
        return self.conv.dense_weight()
