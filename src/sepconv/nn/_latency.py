"""Latency measured on this machine: the budget of :func:`sepconv.nn.convert`.

Fewer multiplications do not make a layer faster by themselves: a depthwise step is
memory-bound, and small layers are dominated by call overhead.  So the choice of which layers
to convert, and at what rank, is made from the time each candidate takes *here*, for the
shape and memory format the layer really gets, in eval mode without gradients.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import _inference

__all__ = ["Budget", "layer_inputs", "measure", "model_latency", "plan_budget"]


@dataclass(frozen=True)
class Budget:
    """What :func:`sepconv.nn.convert` may trade for speed.

    Parameters
    ----------
    speedup : float, optional
        Target end-to-end speed-up (``1.5``: the converted model takes 2/3 of the time).
        Layers are converted in order of time saved per unit of error until the measured
        per-layer savings reach it (or nothing faster is left).
    max_error : float, optional
        Largest per-layer error allowed: the output error on the calibration data when
        ``calibration`` is given, otherwise the relative weight error.  Each layer gets the
        fastest rank within it, or stays as it is.
    batch_size : int
        Batch of the timed inputs.
    channels_last : bool
        Time the model in ``torch.channels_last`` memory format (the input and the weights).
    repeats : int
        Timed calls per measurement (the median is used).

    Examples
    --------
    >>> from sepconv.nn import Budget
    >>> Budget(speedup=1.5).speedup
    1.5
    """

    speedup: float | None = None
    max_error: float | None = None
    batch_size: int = 1
    channels_last: bool = False
    repeats: int = 7

    def __post_init__(self) -> None:
        if (self.speedup is None) == (self.max_error is None):
            raise ValueError("budget needs exactly one of speedup=... or max_error=...")
        if self.speedup is not None and not (
            isinstance(self.speedup, (int, float))
            and math.isfinite(self.speedup)
            and self.speedup > 1
        ):
            raise ValueError(f"budget speedup must be a number > 1, got {self.speedup!r}")
        if self.max_error is not None and not (
            isinstance(self.max_error, (int, float)) and 0 < self.max_error < math.inf
        ):
            raise ValueError(f"budget max_error must be a number > 0, got {self.max_error!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"budget batch_size must be a positive int, got {self.batch_size!r}")
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise ValueError(f"budget repeats must be a positive int, got {self.repeats!r}")

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``"speedup=1.5"`` or ``"error=0.2"`` (the CLI's ``--budget``).

        Examples
        --------
        >>> Budget.parse("error=0.2").max_error
        0.2
        """
        key, sep, value = str(text).partition("=")
        names = {"speedup": "speedup", "error": "max_error", "max_error": "max_error"}
        if not sep or key.strip() not in names:
            raise ValueError(f"budget must look like 'speedup=1.5' or 'error=0.2', got {text!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"budget {key.strip()} must be a number, got {value!r}") from None
        return cls(**{names[key.strip()]: number})


# Calls at most spent waiting for the inference choices (3 arms x 6 trial calls each, per shape).
_WARMUP_CAP = 4 * len(_inference.ARMS) * (_inference.ROUNDS + 1)


def measure(module: nn.Module, x: torch.Tensor, repeats: int = 7) -> float:
    """Median seconds of ``module(x)`` (eval, no grad), after warm-up calls.

    Warm-up lasts until the separable layers inside have chosen their inference
    path (their first calls time each candidate, :mod:`sepconv.nn._inference`),
    so the samples time the model as it then runs.  Each timed sample runs the
    module enough times to last about a millisecond, so that the clock's
    resolution does not decide small layers.
    """
    was_training = module.training
    module.eval()
    # CUDA calls return before the work is done: wait for it inside every timed sample.
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    try:
        with torch.no_grad():
            module(x)
            for _ in range(_WARMUP_CAP):
                if not _inference.pending():
                    break
                module(x)
            sync()
            start = time.perf_counter()
            module(x)
            sync()
            once = max(time.perf_counter() - start, 1e-7)
            inner = max(1, min(1000, int(1e-3 / once)))
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(inner):
                    module(x)
                sync()
                samples.append((time.perf_counter() - start) / inner)
    finally:
        module.train(was_training)
    return statistics.median(samples)


def model_latency(model: nn.Module, x: torch.Tensor, repeats: int = 7) -> float:
    """:func:`measure` of a whole model."""
    return measure(model, x, repeats)


def layer_inputs(model: nn.Module, modules: list[nn.Module], x: torch.Tensor) -> list[Any]:
    """The input each of ``modules`` gets (first call) when ``model`` runs ``x``."""
    seen: dict[int, torch.Tensor] = {}

    def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
        seen.setdefault(id(module), args[0].detach())

    handles = [m.register_forward_pre_hook(hook) for m in modules]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return [seen.get(id(m)) for m in modules]


def _candidates(conv: nn.Conv2d, kind: str) -> list[int]:
    o, c, kh, kw = conv.weight.shape
    if kind == "depthwise":
        full = min(o, kh * kw)
        return sorted({r for r in (1, 2, 4, full) if 1 <= r <= full})
    full = min(c * kh, o * kw)
    return sorted({max(1, full // d) for d in (8, 4, 2)})


#: A candidate must beat the original layer by this factor: timing noise is a few percent.
_FASTER = 0.95


def plan_budget(
    model: nn.Module,
    targets: list[Any],
    input_size: tuple[int, ...],
    budget: Budget,
    kind: str,
    build: Any,
    inputs_of: Any,
) -> tuple[float, dict[int, int], dict[int, tuple[float, float]], list[tuple[str, str]]]:
    """Measure every candidate rank of every layer and choose within ``budget``.

    Returns the model's latency, the chosen rank of each chosen layer (by ``id``), the
    latency before / after of each chosen layer, and the reasons for the others.
    ``build(conv, recipe, rank)`` gives the candidate layer and a function of the
    calibration inputs (from ``inputs_of(name)``) that fits it and returns its error; it is
    called only for candidates measured faster.
    """
    param = next(iter(model.parameters()))
    x = torch.zeros(budget.batch_size, *input_size, device=param.device, dtype=param.dtype)
    if budget.channels_last:
        x = x.to(memory_format=torch.channels_last)
    total = model_latency(model, x, budget.repeats)
    inputs = layer_inputs(model, [conv for conv, _, _ in targets], x)
    options: dict[int, list[tuple[int, float, float]]] = {}
    original: dict[int, float] = {}
    reasons: dict[int, str] = {}
    names: dict[int, str] = {}
    for (conv, aliases, recipe), xi in zip(targets, inputs):
        key = id(conv)
        names[key] = aliases[0]
        if xi is None:
            reasons[key] = "not called on the budget's input, so its latency is unknown"
            continue
        original[key] = measure(conv, xi, budget.repeats)
        found = []
        best = math.inf
        calibration: list[Any] | None = None
        for rank in _candidates(conv, kind):
            # Timing needs only the shapes: fit (the costly part) only what is faster.
            new, fit = build(conv, recipe, rank)
            seconds = measure(new, xi, budget.repeats)
            best = min(best, seconds)
            if seconds < _FASTER * original[key]:
                if calibration is None:
                    calibration = inputs_of(aliases[0])
                found.append((rank, seconds, float(fit(calibration))))
        options[key] = found
        if not found:
            reasons[key] = (
                f"separable is not faster here ({best * 1e3:.3g} ms at best against "
                f"{original[key] * 1e3:.3g} ms)"
            )
    chosen: dict[int, tuple[int, float]] = {}
    if budget.max_error is not None:
        for key, found in options.items():
            within = [f for f in found if f[2] <= budget.max_error]
            if within:
                rank, seconds, _ = min(within, key=lambda f: f[1])
                chosen[key] = (rank, seconds)
            elif found:
                reasons[key] = (
                    f"no faster rank has an error within {budget.max_error:g} "
                    f"(smallest {min(f[2] for f in found):.3g})"
                )
    else:
        assert budget.speedup is not None
        need = total * (1 - 1 / budget.speedup)
        # Multiple-choice greedy: repeatedly take the move (a layer to one of its faster
        # ranks) that buys the most time per unit of added error, until the savings
        # measured per layer reach the target.
        state: dict[int, tuple[float, float]] = {k: (original[k], 0.0) for k in options}
        saved = 0.0
        while saved < need:
            best_move = None
            for key, found in options.items():
                seconds_now, error_now = state[key]
                for rank, seconds, error in found:
                    gain = seconds_now - seconds
                    if gain <= 0:
                        continue
                    score = gain / (max(error - error_now, 0.0) + 1e-3)
                    if best_move is None or score > best_move[0]:
                        best_move = (score, key, rank, seconds, error)
            if best_move is None:
                break
            _, key, rank, seconds, error = best_move
            saved += state[key][0] - seconds
            state[key] = (seconds, error)
            chosen[key] = (rank, seconds)
        # The last moves may overshoot: give each layer back the most accurate of its
        # options that still keeps the total savings at the target.
        for key in list(chosen):
            for rank, seconds, error in sorted(options[key], key=lambda f: f[2]):
                extra = seconds - state[key][0]
                if error < state[key][1] and saved - extra >= need:
                    saved -= extra
                    state[key] = (seconds, error)
                    chosen[key] = (rank, seconds)
                    break
        for key, found in options.items():
            if found and key not in chosen:
                reasons[key] = f"not needed to reach the {budget.speedup:g}x target"
    ranks = {key: rank for key, (rank, _) in chosen.items()}
    timing = {key: (original[key], seconds) for key, (_, seconds) in chosen.items()}
    skipped = [(names[key], reason) for key, reason in reasons.items()]
    return total, ranks, timing, skipped
