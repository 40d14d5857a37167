"""Replace the ``nn.Conv2d`` layers of a model by separable layers, initialised by SVD.

The factorisations are the least-squares best ones (Eckart–Young), computed by
:func:`sepconv.lowrank` -- the one SVD in sepconv -- on rearrangements of the
weight tensor:

* depthwise: for each input channel ``c`` the ``(out_channels, kh*kw)`` slice
  ``W[:, c]``; its right singular vectors become the depthwise filters of
  channel ``c``, the left ones scaled by the singular values the pointwise
  weights.
* spatial: ``W`` as a ``(in_channels*kh, out_channels*kw)`` matrix; each of its
  singular pairs gives one vertical filter and one horizontal filter.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import cost
from .._args import check_positive_int, check_tolerance
from ..analysis import lowrank
from ._calibrate import as_batches, call_order, capture_inputs, fit_layer, output_error
from ._latency import Budget, measure, plan_budget
from ._layers import (
    DepthwiseConv2d,
    DepthwiseSeparableConv2d,
    PointwiseConv2d,
    SpatialSeparableConv2d,
)
from ._profile import _text_table, profile
from ._recipes import PrePadded, Recipe, recipe_for

__all__ = ["LayerSeparation", "SeparationReport", "convert"]

_Include = Callable[[str, nn.Module], bool] | Collection[str] | None
_KINDS = ("depthwise", "spatial")
_INITS = ("svd", "random", "data")


@dataclass(frozen=True)
class LayerSeparation:
    """One converted layer.

    ``error`` is the relative Frobenius error ``||W - W_hat|| / ||W||`` of the
    original's effective weight ``W`` (standardised, for a weight-standardised
    layer) and the weight ``W_hat`` of the ``nn.Conv2d`` that the new layer
    equals (its ``dense_weight()``), measured in float64 on the converted
    parameters as stored.  ``output_error`` is ``||y - y_hat|| / ||y||`` on the
    calibration data (``None`` without it): ``y`` the original layer's output in
    the original model, ``y_hat`` the new layer's in the converted one.
    ``rank`` is the depth multiplier or the number of mid channels; ``note``
    says what the original did beyond a plain convolution (TF "SAME" padding,
    weight standardisation), which the new layer reproduces.
    """

    name: str
    kind: str
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, int]
    rank: int
    full_rank: int
    error: float
    params_before: int
    params_after: int
    multiplications_before: int
    multiplications_after: int
    output_error: float | None = None
    note: str = ""
    latency_before: float | None = None
    latency_after: float | None = None


@dataclass(frozen=True)
class SeparationReport:
    """What :func:`convert` did; ``str()`` is a table, :meth:`to_dict` is JSON-ready.

    Multiplications are for ``input_size`` (batch 1) when it was given,
    otherwise per output position of each convolution at unit stride.
    ``skipped`` lists every other ``nn.Conv2d`` with the reason it was left as
    it is (grouped, 1 x 1, or a forward sepconv cannot reproduce).
    """

    kind: str
    init: str
    input_size: tuple[int, ...] | None
    layers: tuple[LayerSeparation, ...]
    model_params_before: int
    model_params_after: int
    model_multiplications_before: int | None = None
    model_multiplications_after: int | None = None
    skipped: tuple[tuple[str, str], ...] = ()
    latency_before: float | None = None
    latency_after: float | None = None

    @property
    def params_before(self) -> int:
        return sum(layer.params_before for layer in self.layers)

    @property
    def params_after(self) -> int:
        return sum(layer.params_after for layer in self.layers)

    @property
    def multiplications_before(self) -> int:
        return sum(layer.multiplications_before for layer in self.layers)

    @property
    def multiplications_after(self) -> int:
        return sum(layer.multiplications_after for layer in self.layers)

    @property
    def max_error(self) -> float:
        return max((layer.error for layer in self.layers), default=0.0)

    @property
    def max_output_error(self) -> float | None:
        errors = [layer.output_error for layer in self.layers if layer.output_error is not None]
        return max(errors) if errors else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "init": self.init,
            "input_size": None if self.input_size is None else list(self.input_size),
            "multiplications_unit": self._unit(),
            "layers": [
                {**asdict(layer), "kernel_size": list(layer.kernel_size)} for layer in self.layers
            ],
            "totals": {
                "params_before": self.params_before,
                "params_after": self.params_after,
                "multiplications_before": self.multiplications_before,
                "multiplications_after": self.multiplications_after,
                "max_error": self.max_error,
                "max_output_error": self.max_output_error,
                "latency_before_s": self.latency_before,
                "latency_after_s": self.latency_after,
                "model_params_before": self.model_params_before,
                "model_params_after": self.model_params_after,
                "model_multiplications_before": self.model_multiplications_before,
                "model_multiplications_after": self.model_multiplications_after,
            },
            "skipped": [{"name": name, "reason": reason} for name, reason in self.skipped],
        }

    def _unit(self) -> str:
        if self.input_size is None:
            return "per output position"
        return "for input " + "x".join(map(str, self.input_size))

    def _nothing_converted(self) -> str:
        """What a report without converted layers says instead of an empty table."""
        n = len(self.skipped)
        if n:
            why = (
                f"the {'only convolution' if n == 1 else f'{n} convolutions'} of the model "
                f"{'was' if n == 1 else 'were'} left as {'it is' if n == 1 else 'they are'}, "
                f"for the reason{'' if n == 1 else 's'} below"
            )
        else:
            why = "the model has no nn.Conv2d to convert"
        kept = [f"{self.model_params_before:,} weights"]
        if self.model_multiplications_before is not None:
            kept.append(f"{self.model_multiplications_before:,} MACs {self._unit()}")
        if self.latency_before is not None:
            kept.append(f"{self.latency_before * 1e3:.3g} ms measured")
        lines = [f"nothing converted: {why}; the model is unchanged ({', '.join(kept)})"]
        if self.skipped:
            lines.append(f"left as {'it is' if n == 1 else 'they are'} ({n}):")
            lines += [f"  {name}: {reason}" for name, reason in self.skipped]
        return "\n".join(lines)

    def __str__(self) -> str:
        if not self.layers:
            return self._nothing_converted()
        headers = (
            "layer",
            "kernel",
            "in->out",
            "rank",
            "rel. error",
            "output error",
            "weights before",
            "weights after",
            "MACs before",
            "MACs after",
        )
        rows = [
            (
                layer.name,
                "x".join(map(str, layer.kernel_size)),
                f"{layer.in_channels}->{layer.out_channels}",
                f"{layer.rank}/{layer.full_rank}",
                f"{layer.error:.3g}",
                "-" if layer.output_error is None else f"{layer.output_error:.3g}",
                f"{layer.params_before:,}",
                f"{layer.params_after:,}",
                f"{layer.multiplications_before:,}",
                f"{layer.multiplications_after:,}",
            )
            for layer in self.layers
        ]
        rows.append(
            (
                "total",
                "",
                "",
                "",
                f"{self.max_error:.3g} (max)",
                "-" if self.max_output_error is None else f"{self.max_output_error:.3g} (max)",
                f"{self.params_before:,}",
                f"{self.params_after:,}",
                f"{self.multiplications_before:,}",
                f"{self.multiplications_after:,}",
            )
        )
        lines = _text_table(headers, rows, right=range(3, 10))
        notes = [
            f"{self.kind} separation, init={self.init}; MACs {self._unit()}; "
            f"model weights {self.model_params_before:,} -> {self.model_params_after:,}"
        ]
        if self.model_multiplications_before is not None:
            notes.append(
                f"model MACs {self.model_multiplications_before:,} -> "
                f"{self.model_multiplications_after:,}"
            )
        if self.latency_before is not None and self.latency_after is not None:
            notes.append(
                f"measured latency {self.latency_before * 1e3:.3g} ms -> "
                f"{self.latency_after * 1e3:.3g} ms "
                f"({self.latency_before / self.latency_after:.2f}x)"
            )
        for layer in self.layers:
            if layer.latency_before is not None and layer.latency_after is not None:
                notes.append(
                    f"{layer.name}: {layer.latency_before * 1e3:.3g} ms -> "
                    f"{layer.latency_after * 1e3:.3g} ms measured"
                )
            if layer.note:
                notes.append(f"{layer.name}: reproduces {layer.note}")
        if self.skipped:
            notes.append(f"left as they are ({len(self.skipped)}):")
            notes += [f"  {name}: {reason}" for name, reason in self.skipped]
        return "\n".join([*lines, *notes])


def convert(
    model: nn.Module,
    kind: str = "depthwise",
    depth_multiplier: int = 1,
    mid_channels: int | None = None,
    rank_rtol: float | None = None,
    init: str | None = None,
    include: _Include = None,
    inplace: bool = False,
    *,
    input_size: tuple[int, ...] | None = None,
    calibration: Any = None,
    budget: Budget | str | None = None,
) -> tuple[nn.Module, SeparationReport]:
    """Replace ``nn.Conv2d`` layers by separable ones initialised with their best approximation.

    Every eligible convolution (``groups=1`` and a kernel larger than 1 x 1,
    not already part of a sepconv layer) -- or those ``include`` selects -- is
    replaced by a :class:`DepthwiseSeparableConv2d` (``kind="depthwise"``, no
    mid norm or activation) or a :class:`SpatialSeparableConv2d`
    (``kind="spatial"``).  Stride, padding, dilation, padding mode, bias, dtype,
    device and the training flag are kept; the original bias becomes the bias
    of the second step.

    Subclasses of ``nn.Conv2d`` are converted only where sepconv knows what
    their ``forward`` computes -- those that keep ``nn.Conv2d``'s forward, and
    the TF "SAME" padding and weight-standardised layers of timm,
    efficientnet_pytorch and transformers (checked on random inputs before
    conversion): padding computed in ``forward`` becomes a
    :class:`~sepconv.nn._recipes.TFSamePad2d` in front of the new layer, a
    standardised weight is factorised as it is applied.  Every other
    convolution is left as it is, with the reason in ``report.skipped``.

    With ``init="svd"`` the new weights are the least-squares best
    approximation of the old ones (truncated SVD, see
    :mod:`sepconv.nn._convert`): the new layer equals an ``nn.Conv2d`` whose
    weight ``W_hat`` minimises ``||W - W_hat||`` among all weights the layer can
    express.  At full rank -- ``depth_multiplier >= min(out_channels,
    kh*kw)``, or ``mid_channels >= min(in_channels*kh, out_channels*kw)`` -- it
    reproduces the original outputs to floating-point precision.  Filters
    beyond the weight's rank keep their random initialisation and get zero
    weights in the second step, so the output stays exact and they can still
    learn.  With ``init="data"`` (the default when ``calibration`` is given)
    the factors minimise each layer's *output* error on the calibration data
    instead (see :mod:`sepconv.nn._calibrate`).  ``init="random"`` builds the
    layers with PyTorch's default initialisation (to train from scratch).

    Parameters
    ----------
    model : nn.Module
    kind : {"depthwise", "spatial"}
    depth_multiplier : int
        Depthwise filters per input channel (``kind="depthwise"``); with
        ``rank_rtol`` the smallest multiplier allowed.
    mid_channels : int, optional
        Channels between the two steps of ``kind="spatial"``.  Default (with
        no ``rank_rtol``): the rank at which the two steps need half the
        multiplications per output position,
        ``C*O*kh*kw / (2*(C*kh + O*kw))``, at most full rank.
    rank_rtol : float, optional
        Choose each layer's rank as the smallest whose relative weight error
        ``||W - W_hat|| / ||W||`` (predicted from the singular values) is at
        most ``rank_rtol``.  Not with ``mid_channels``.
    init : {"svd", "data", "random"}, optional
        Default ``"data"`` with ``calibration``, ``"svd"`` without.
    include : callable or collection of str, optional
        ``include(name, module) -> bool`` called for every ``nn.Conv2d`` with
        ``groups=1`` (grouped ones cannot be separated), or the qualified names
        (as in ``model.named_modules()``) to convert, which must be such
        convolutions.  Overrides the default eligibility, e.g. to convert 1 x 1
        convolutions or those inside sepconv layers.
    inplace : bool
        Modify ``model`` itself instead of a deep copy.
    input_size : tuple of int, optional
        Shape of one input sample ``(C, H, W)``.  When given, multiplications
        are those :func:`sepconv.profile` counts for it; otherwise they are per
        output position of each step at unit stride.
    calibration : tensor or iterable of tensors, optional
        A few batches of real inputs ``(N, C, H, W)`` (or ``(inputs, labels)``
        pairs, as a ``DataLoader`` yields).  The report then gives every
        layer's output error on them, and ``init="data"`` fits the factors to
        them.
    budget : Budget or str, optional
        Choose per layer whether to convert and at what rank from latency
        measured on this machine (see :class:`Budget`; ``"speedup=1.5"`` or
        ``"error=0.2"``), for the shape and memory format each layer gets on
        an input of ``input_size`` (needed).  The rank arguments are then
        ignored; layers where no separable version is faster stay as they are
        (with the measured reason), and if the converted model is not faster
        end to end every conversion is undone.  The report gives the measured
        latency of each converted layer and of the model, before and after.
    -------
    model : nn.Module
        The converted model (``model`` itself when ``inplace``).
    report : SeparationReport
        Per layer: rank, weight error, output error, weights and
        multiplications before and after; totals; the layers left as they are.

    Raises
    ------
    ValueError
        For an unknown ``kind`` / ``init``, conflicting rank arguments, an
        ``include`` that names a missing, grouped or unreproducible
        convolution, or calibration data the model cannot run.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from sepconv.nn import convert
    >>> _ = torch.manual_seed(0)
    >>> model = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
    >>> x = torch.randn(1, 8, 10, 10)
    >>> exact, report = convert(model, depth_multiplier=9)  # min(16, 3*3) = 9
    >>> torch.allclose(exact(x), model(x), atol=1e-5), report.layers[0].error < 1e-6
    (True, True)
    >>> small, report = convert(model, depth_multiplier=1)
    >>> report.layers[0].params_before, report.layers[0].params_after
    (1168, 216)
    >>> fitted, report = convert(model, depth_multiplier=1, calibration=torch.randn(4, 8, 10, 10))
    >>> report.init, report.layers[0].output_error < 1
    ('data', True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if init is None:
        init = "svd" if calibration is None else "data"
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}")
    if init == "data" and calibration is None:
        raise ValueError("init='data' fits the factors to calibration data; give calibration")
    depth_multiplier = check_positive_int(depth_multiplier, "depth_multiplier")
    if mid_channels is not None:
        mid_channels = check_positive_int(mid_channels, "mid_channels")
        if rank_rtol is not None:
            raise ValueError("give mid_channels or rank_rtol, not both")
    rank_rtol = check_tolerance(rank_rtol, "rank_rtol")
    if input_size is not None:
        input_size = tuple(check_positive_int(n, "input_size") for n in input_size)
    batches = None if calibration is None else as_batches(calibration, input_size)
    # The original model gives the calibration targets; with inplace it is about to change.
    reference = None
    if batches is not None:
        reference = copy.deepcopy(model) if inplace else model
    if not inplace:
        model = copy.deepcopy(model)

    if isinstance(budget, str):
        budget = Budget.parse(budget)
    if budget is not None and not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget or a string like 'speedup=1.5', got {budget!r}")
    if budget is not None and input_size is None:
        raise ValueError("budget measures latency on an input: give input_size=(C, H, W) too")
    targets, skipped = _select(model, include)
    ranks: dict[int, int] = {}
    timing: dict[int, tuple[float, float]] = {}
    latency_before = latency_after = None
    if budget is not None and targets:
        assert input_size is not None
        if budget.channels_last:
            model = model.to(memory_format=torch.channels_last)

        def build(conv: nn.Conv2d, recipe: Recipe, rank: int) -> Any:
            new, *_, first, second = _convert(conv, recipe, kind, rank, rank, None, "svd")
            if budget.channels_last:
                new = new.to(memory_format=torch.channels_last)

            def fit(x: list[Any] | None) -> float:
                if x is None:
                    return _relative_error(recipe.weight, new.dense_weight())
                if init == "data":  # the layer alone, on the original model's inputs
                    fit_layer(conv, new, first, second, recipe.pad, recipe.weight, x, x, kind)
                return output_error(conv, new, x, x)

            return new, fit

        def inputs_of(name: str) -> list[Any] | None:
            if batches is None or reference is None:
                return None
            return capture_inputs(reference, reference.get_submodule(name), batches)

        plan = plan_budget(model, targets, input_size, budget, kind, build, inputs_of)
        latency_before, ranks, timing, not_faster = plan
        targets = [t for t in targets if id(t[0]) in ranks]
        skipped += not_faster
    if batches is not None and targets:
        order = call_order(model, [conv for conv, _, _ in targets], batches[0])
        targets = [targets[i] for i in order]
    before = profile(model, input_size) if input_size is not None else None
    params_before = _count_params(model)
    rows = []
    for conv, names, recipe in targets:
        chosen = ranks.get(id(conv))
        new, rank, full, first, second = _convert(
            conv,
            recipe,
            kind,
            depth_multiplier if chosen is None else chosen,
            mid_channels if chosen is None else chosen,
            rank_rtol if chosen is None else None,
            init,
        )
        if budget is not None and budget.channels_last:
            new = new.to(memory_format=torch.channels_last)
        new.train(conv.training)
        out_error = None
        if batches is not None and reference is not None:
            x_conv = capture_inputs(model, conv, batches)
            x_orig = capture_inputs(reference, reference.get_submodule(names[0]), batches)
            if init == "data":
                fit_layer(conv, new, first, second, recipe.pad, recipe.weight, x_orig, x_conv, kind)
            out_error = output_error(conv, new, x_orig, x_conv)
        for name in names:
            model = _put(model, name, new)
        rows.append((names[0], conv, new, rank, full, recipe, out_error))
    if budget is not None:
        assert input_size is not None
        x = _budget_input(model, budget, input_size)
        if latency_before is None:  # nothing to choose from: the model as it is
            latency_before = measure(model, x, budget.repeats)
        latency_after = measure(model, x, budget.repeats) if rows else latency_before
        if latency_before is not None and latency_after > latency_before:
            # Measured slower end to end (the per-layer gains did not add up): undo it all.
            aliases = {id(conv): names for conv, names, _ in targets}
            for row in rows:
                for alias in aliases[id(row[1])]:
                    model = _put(model, alias, row[1])
            skipped += [(row[0], "converting it did not make the model faster") for row in rows]
            rows, latency_after = [], latency_before
    after = profile(model, input_size) if input_size is not None else None

    layers = []
    for name, conv, new, rank, full, recipe, out_error in rows:
        if before is not None and after is not None:
            macs_before = _profiled_macs(before, name, prefix=False)
            macs_after = _profiled_macs(after, name, prefix=True)
        else:
            macs_before = _macs_per_position(conv)
            macs_after = sum(
                _macs_per_position(m) for m in new.modules() if isinstance(m, nn.Conv2d)
            )
        layers.append(
            LayerSeparation(
                name=name,
                kind=kind,
                in_channels=conv.in_channels,
                out_channels=conv.out_channels,
                kernel_size=tuple(conv.kernel_size),
                rank=rank,
                full_rank=full,
                error=_relative_error(recipe.weight, new.dense_weight()),
                params_before=sum(p.numel() for p in conv.parameters()),
                params_after=sum(p.numel() for p in new.parameters()),
                multiplications_before=macs_before,
                multiplications_after=macs_after,
                output_error=out_error,
                note=recipe.note,
                latency_before=timing.get(id(conv), (None, None))[0],
                latency_after=timing.get(id(conv), (None, None))[1],
            )
        )
    report = SeparationReport(
        kind,
        init,
        input_size,
        tuple(layers),
        params_before,
        _count_params(model),
        None if before is None else before.multiplications,
        None if after is None else after.multiplications,
        tuple(skipped),
        latency_before,
        latency_after,
    )
    return model, report


_Target = tuple[nn.Conv2d, list[str], Recipe]


def _put(model: nn.Module, name: str, module: nn.Module) -> nn.Module:
    """Set sub-module ``name`` of ``model`` (the root for ``""``); the possibly new root."""
    if name == "":
        return module
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent), child, module)
    return model


def _budget_input(model: nn.Module, budget: Budget, input_size: tuple[int, ...]) -> torch.Tensor:
    param = next(iter(model.parameters()))
    x = torch.zeros(budget.batch_size, *input_size, device=param.device, dtype=param.dtype)
    return x.to(memory_format=torch.channels_last) if budget.channels_last else x


def _select(model: nn.Module, include: _Include) -> tuple[list[_Target], list[tuple[str, str]]]:
    """The convolutions to convert (each with every name it has and its recipe), and the
    others with the reason they stay."""
    named = list(model.named_modules(remove_duplicate=False))
    if include is not None and not callable(include):
        if isinstance(include, str) or not isinstance(include, Collection):
            raise TypeError(
                "include must be a callable (name, module) -> bool or a "
                f"collection of module names, got {include!r}"
            )
        by_name = dict(named)
        for name in include:
            if not isinstance(by_name.get(name), nn.Conv2d):
                raise ValueError(
                    f"include names {name!r}, which is not an nn.Conv2d of the "
                    f"model; convolutions: {_conv_names(named)}"
                )
    ours = (DepthwiseSeparableConv2d, SpatialSeparableConv2d)
    inside_ours = {
        id(child)
        for _, m in named
        if isinstance(m, ours)
        for child in m.modules()
        if child is not m
    }
    chosen: dict[int, _Target] = {}
    skipped: dict[int, tuple[str, str]] = {}
    for name, m in named:
        if not isinstance(m, nn.Conv2d) or id(m) in chosen or id(m) in skipped:
            if id(m) in chosen:
                chosen[id(m)][1].append(name)
            continue
        own = id(m) in inside_ours or isinstance(m, (DepthwiseConv2d, PointwiseConv2d))
        if include is None:
            picked = m.groups == 1 and tuple(m.kernel_size) != (1, 1) and not own
        elif callable(include):
            picked = m.groups == 1 and bool(include(name, m))
        else:
            picked = name in include
        if not picked:
            if not own:
                skipped[id(m)] = (name, _why_not(m, include))
            continue
        if m.groups != 1:
            raise ValueError(
                f"include selects {name!r}, a grouped convolution "
                f"(groups={m.groups}); only groups=1 convolutions can be separated"
            )
        recipe = recipe_for(m)
        if isinstance(recipe, str):
            if include is not None and not callable(include):
                raise ValueError(f"include selects {name!r}, which cannot be converted: {recipe}")
            skipped[id(m)] = (name, recipe)
            continue
        chosen[id(m)] = (m, [name], recipe)
    return list(chosen.values()), list(skipped.values())


def _why_not(conv: nn.Conv2d, include: _Include) -> str:
    if conv.groups != 1:
        return (
            f"grouped (groups={conv.groups}): its channels are already split, there is no "
            "dense channel mixing to separate"
        )
    if include is not None:
        return "not selected by include"
    return "1x1 kernel: already a pointwise convolution"


def _conv_names(named: list[tuple[str, nn.Module]]) -> list[str]:
    return [name for name, m in named if isinstance(m, nn.Conv2d)]


def _convert(
    conv: nn.Conv2d,
    recipe: Recipe,
    kind: str,
    depth_multiplier: int,
    mid_channels: int | None,
    rank_rtol: float | None,
    init: str,
) -> tuple[nn.Module, int, int, nn.Conv2d, nn.Conv2d]:
    """The new layer, its rank and full rank, and its two steps."""
    weight = recipe.weight.to("cpu", torch.float64).numpy()
    o, c, kh, kw = weight.shape
    factory = {"device": conv.weight.device, "dtype": conv.weight.dtype}
    common = {
        "stride": conv.stride,
        "padding": recipe.padding,
        "dilation": conv.dilation,
        "bias": conv.bias is not None,
        "padding_mode": recipe.padding_mode,
        **factory,
    }
    factorise = init in ("svd", "data")  # data-aware fitting starts from the SVD factors
    new: nn.Module
    if kind == "depthwise":
        full = min(o, kh * kw)
        # One (out_channels, kh*kw) matrix per input channel; all its singular pairs.
        parts = [lowrank(weight[:, ci].reshape(o, kh * kw), rank=full) for ci in range(c)]
        rank = depth_multiplier
        if rank_rtol is not None:
            energy = np.stack([p.singular_values[:full] ** 2 for p in parts])
            rank = max(rank, _smallest_rank(energy.sum(axis=0), rank_rtol))
        layer = DepthwiseSeparableConv2d(c, o, (kh, kw), depth_multiplier=rank, **common)
        if factorise:
            depthwise = layer.depthwise.weight.detach().to("cpu", torch.float64).numpy()
            depthwise = depthwise.reshape(c, rank, kh * kw).copy()
            pointwise = np.zeros((o, c, rank))
            for ci, part in enumerate(parts):
                for m, (column, row) in enumerate(part.terms[:rank]):
                    norm = np.linalg.norm(row)
                    if norm > 0:  # zero terms keep their random filter, unused (weight 0)
                        depthwise[ci, m] = row / norm
                        pointwise[:, ci, m] = column * norm
            _assign(layer.depthwise.weight, depthwise)
            _assign(layer.pointwise.weight, pointwise)
            _copy_bias(conv, layer.pointwise)
        first, second = layer.depthwise, layer.pointwise
    else:
        full = min(c * kh, o * kw)
        matrix = weight.transpose(1, 2, 0, 3).reshape(c * kh, o * kw)  # [(c, i), (o, j)]
        if rank_rtol is not None:
            approx = lowrank(matrix, rtol=rank_rtol)
            rank = approx.rank
        else:
            approx = lowrank(matrix, rank=full)
            rank = mid_channels if mid_channels is not None else _half_cost_rank(c, o, kh, kw, full)
        layer = SpatialSeparableConv2d(c, o, (kh, kw), mid_channels=rank, **common)
        if factorise:
            vertical = layer.vertical.weight.detach().to("cpu", torch.float64).numpy().copy()
            horizontal = np.zeros((o, rank, 1, kw))
            for k, (column, row) in enumerate(approx.terms[:rank]):
                if np.any(row):
                    vertical[k, :, :, 0] = column.reshape(c, kh)
                    horizontal[:, k, 0, :] = row.reshape(o, kw)
            _assign(layer.vertical.weight, vertical)
            _assign(layer.horizontal.weight, horizontal)
            _copy_bias(conv, layer.horizontal)
        first, second = layer.vertical, layer.horizontal
    new = layer if recipe.pad is None else PrePadded(copy.deepcopy(recipe.pad), layer)
    return new, rank, full, first, second


def _smallest_rank(energy: np.ndarray, rtol: float) -> int:
    """Smallest ``r`` with ``sqrt(sum(energy[r:]) / sum(energy)) <= rtol``."""
    total = float(energy.sum())
    if total == 0:
        return 1
    tail = np.sqrt(np.concatenate((np.cumsum(energy[::-1])[::-1], [0.0])) / total)
    return max(1, int(np.flatnonzero(tail <= rtol)[0]))


def _half_cost_rank(c: int, o: int, kh: int, kw: int, full: int) -> int:
    # Per output position the steps cost rank*(c*kh + o*kw) against c*o*kh*kw.
    return max(1, min(full, (c * o * kh * kw) // (2 * (c * kh + o * kw))))


def _assign(param: nn.Parameter, values: np.ndarray) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(values)).reshape(param.shape))


def _copy_bias(conv: nn.Conv2d, target: nn.Conv2d) -> None:
    if conv.bias is not None:
        with torch.no_grad():
            target.bias.copy_(conv.bias)


def _relative_error(weight: torch.Tensor, approx: torch.Tensor) -> float:
    w = weight.detach().to("cpu", torch.float64)
    a = approx.detach().to("cpu", torch.float64)
    norm = float(torch.linalg.vector_norm(w))
    return float(torch.linalg.vector_norm(w - a)) / norm if norm > 0 else 0.0


def _count_params(model: nn.Module) -> int:
    return sum({id(p): p.numel() for p in model.parameters()}.values())


def _macs_per_position(conv: nn.Conv2d) -> int:
    # One output position: an input exactly one (dilated) kernel wide, no padding.
    reach = [d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation)]
    return cost.conv2d(
        (conv.in_channels, *reach),
        conv.out_channels,
        conv.kernel_size,
        dilation=conv.dilation,
        groups=conv.groups,
    ).multiplications


_CALL = re.compile(r" \(call \d+\)$")


def _profiled_macs(result: Any, name: str, prefix: bool) -> int:
    total = 0
    for layer in result.layers:
        base = _CALL.sub("", layer.name)
        # The root module (name "") holds every row.
        if name == "" or (base.startswith(name + ".") if prefix else base == name):
            total += layer.multiplications
    return total
