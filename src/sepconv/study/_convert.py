"""Conversion instead of retraining: a trained standard network made separable."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _train
from ._config import StudyConfig
from ._data import Split
from ._models import BODY_CONVS, model_cost
from ._train import evaluate


def conversion_settings(config: StudyConfig) -> list[tuple[str, int, str]]:
    """``(kind, setting, init)`` triples the conversion experiment tries.

    Each setting is tried with weight-space SVD factors (``"svd"``), with factors fitted to
    the layers' outputs on calibration images (``"data"``, see :func:`sepconv.nn.convert`)
    and with a random initialisation (``"random"``).

    ``setting`` is the depth multiplier for ``"depthwise"`` and, for ``"spatial"``, the
    multiple of each layer's input channels used as ``mid_channels``.
    """
    triples = []
    for multiplier in config.convert_multipliers:
        triples += [("depthwise", multiplier, init) for init in ("svd", "data", "random")]
    for rank in config.convert_ranks:
        triples += [("spatial", rank, init) for init in ("svd", "data", "random")]
    return triples


#: Training images the data-aware conversion calibrates on (the first ones of the split).
CALIBRATION_IMAGES = 512


def convert(
    model: nn.Module,
    kind: str,
    setting: int,
    init: str,
    calibration: torch.Tensor | None = None,
) -> tuple[nn.Module, float]:
    """``sepconv.nn.convert`` applied to the body convolutions of a study network.

    Returns the converted copy and the largest relative weight error of a converted layer.
    ``calibration`` (images) is needed for ``init="data"``.
    ``mid_channels`` of ``kind="spatial"`` is one number per call, so each layer gets its own
    call with ``setting`` times its input channels: with ``setting=1`` the converted network
    has exactly the architecture of the study's ``spatial`` family, as ``depth_multiplier=1``
    has that of its ``depthwise`` family.
    """
    from ..nn import convert

    if kind == "depthwise":
        converted, report = convert(
            model,
            kind="depthwise",
            depth_multiplier=setting,
            init=init,
            include=BODY_CONVS,
            calibration=calibration if init == "data" else None,
        )
        return converted, float(report.max_error)
    errors = []
    converted = model
    for index, name in enumerate(BODY_CONVS):
        mid = setting * getattr(model, name).in_channels
        converted, report = convert(
            converted,
            kind="spatial",
            mid_channels=mid,
            init=init,
            include=[name],
            inplace=index > 0,
            calibration=calibration if init == "data" else None,
        )
        errors.append(float(report.max_error))
    return converted, max(errors)


def run_conversion(
    base: nn.Module,
    split: Split,
    config: StudyConfig,
    kind: str,
    setting: int,
    init: str,
    seed: int,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Convert ``base``, measure test accuracy, fine-tune briefly, measure again.

    The fine-tune distils ``base`` at ``config.finetune_temperature`` (cross-entropy on the
    labels when it is ``None``).  Call inside :func:`sepconv.study._train.deterministic`.
    ``base`` is not modified.
    """
    acc_before, _ = evaluate(base, split.images["test"], split.labels["test"])
    # A random initialisation draws from torch's generator: seed it so the run repeats.
    torch.manual_seed(int(np.random.SeedSequence([seed, setting, 7]).generate_state(1)[0]))
    calibration = torch.from_numpy(split.images["train"][:CALIBRATION_IMAGES])
    model, error = convert(base, kind, setting, init, calibration)
    cost = model_cost(model, split.images["test"].shape[1:])
    acc_converted, _ = evaluate(model, split.images["test"], split.labels["test"])
    start = time.perf_counter()
    _train.train(
        model,
        split.images["train"],
        split.labels["train"],
        steps=config.finetune_steps,
        batch_size=config.batch_size,
        lr=config.finetune_lr,
        weight_decay=config.weight_decay,
        augment=config.augment,
        seed=seed + 1000,
        on_step=on_step,
        teacher=None if config.finetune_temperature is None else base,
        temperature=config.finetune_temperature or 1.0,
    )
    acc_finetuned, _ = evaluate(model, split.images["test"], split.labels["test"])
    return {
        "kind": kind,
        "setting": setting,
        "init": init,
        "seed": seed,
        "width": config.conversion_width,
        **cost,
        "error": error,
        "acc_before": acc_before,
        "acc_converted": acc_converted,
        "acc_finetuned": acc_finetuned,
        "wall_s": time.perf_counter() - start,
    }
