"""What a study trains: one frozen, hashable description, checked once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .._args import check_positive_int

#: The convolution families compared, in plot and table order.
FAMILIES: tuple[str, ...] = ("standard", "depthwise", "spatial")

#: Bumped whenever the network, the training loop or the metrics change meaning, so that
#: results cached by an older version are never mistaken for current ones.
STUDY_VERSION = 1


@dataclass(frozen=True)
class StudyConfig:
    """Everything that decides a study's numbers.

    Every family is trained with the same optimiser (AdamW), cosine learning-rate schedule,
    augmentation (random shifts of up to ``augment`` pixels) and number of steps; only the
    convolution differs (see :func:`sepconv.study.build_model`).

    Parameters
    ----------
    families : tuple of str
        Subset of ``("standard", "depthwise", "spatial")``.
    widths : tuple of int
        Base channel counts; a network of width ``w`` has ``w``, ``2w`` and ``4w`` channels.
    seeds : tuple of int
        One training run per seed (weight initialisation, batch order, augmentation).
    steps : int
        Optimiser steps per run.
    batch_size, lr, weight_decay : int, float, float
        Mini-batch size, peak learning rate and AdamW weight decay.
    augment : int
        Largest random shift, in pixels, applied to training images (0 disables it).
    split_seed : int
        Seed of the stratified train / validation / test split.
    val_fraction, test_fraction : float
        Share of every class held out for validation and for testing.
    convert_width : int or None
        Width of the trained standard network that the conversion experiment converts with
        :func:`sepconv.nn.convert`; ``None`` picks the middle of ``widths``.
    convert_multipliers : tuple of int
        Depth multipliers tried for ``kind="depthwise"`` (9 is exact for 3x3 kernels).
    convert_ranks : tuple of int
        ``mid_channels`` tried for ``kind="spatial"``, as multiples of each layer's input
        channels (1 is the ``spatial`` family's architecture; 3 is full rank, exact, here).
    convert_seeds : int
        How many of ``seeds`` (the first ones) have their standard network converted.
    finetune_steps, finetune_lr : int, float
        The short fine-tune after conversion: steps and peak learning rate.
    finetune_temperature : float or None
        The fine-tune distils the network before conversion (its teacher): the loss is the
        KL divergence between the two networks' outputs softened by this temperature (see
        :func:`sepconv.study._train.distillation_loss`).  ``None`` fine-tunes on the labels
        with cross-entropy instead.  Why distillation: the trained network fits its
        training labels to a loss of about 0.001, so the labels say little more than "be
        confident", while the teacher's softened outputs also say which digits it finds
        alike.  Measured on the width-16 conversions (depthwise x1, x2 with weight-SVD and
        data-aware factors, and the exact x9; 3 seeds; chosen on the *validation* split):
        distillation at 4 lowered the mean validation loss after fine-tuning of every
        lossy conversion against the cross-entropy fine-tune at the same learning rate
        (0.002), and doubling the learning rate to 0.004 lowered it again in every row,
        the exact x9 included; a lower rate (0.001) raised it for every lossy conversion,
        so a converted network is not hurt by a too-high rate but by the labels' lack of
        signal.
    threads : int
        ``torch.set_num_threads`` during training; part of the configuration because the
        order of floating-point sums, hence the last digits, can depend on it.

    Examples
    --------
    >>> from sepconv.study import StudyConfig
    >>> config = StudyConfig.quick()
    >>> config.widths
    (2, 8, 32)
    >>> config.with_options(widths="4,8", seeds=[0]).widths
    (4, 8)
    """

    families: tuple[str, ...] = FAMILIES
    widths: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    seeds: tuple[int, ...] = (0, 1, 2)
    steps: int = 600
    batch_size: int = 64
    lr: float = 0.01
    weight_decay: float = 1e-4
    augment: int = 1
    split_seed: int = 0
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    convert_width: int | None = None
    convert_multipliers: tuple[int, ...] = (1, 2, 4, 9)
    convert_ranks: tuple[int, ...] = (1, 2, 3)
    convert_seeds: int = 3
    finetune_steps: int = 100
    finetune_lr: float = 0.004
    finetune_temperature: float | None = 4.0
    threads: int = 1

    def __post_init__(self) -> None:
        families = tuple(self.families)
        unknown = [f for f in families if f not in FAMILIES]
        if unknown or not families:
            raise ValueError(f"families must be a non-empty subset of {FAMILIES}; got {families}")
        if len(set(families)) != len(families):
            raise ValueError(f"families must not repeat a family; got {families}")
        object.__setattr__(self, "families", families)
        for name in ("widths", "seeds", "convert_multipliers", "convert_ranks"):
            values = tuple(getattr(self, name))
            minimum = 0 if name == "seeds" else 1
            checked = tuple(check_positive_int(v, name, minimum) for v in values)
            if not checked and name in ("widths", "seeds"):
                raise ValueError(f"{name} must not be empty")
            if len(set(checked)) != len(checked):
                raise ValueError(f"{name} must not repeat a value; got {checked}")
            object.__setattr__(self, name, checked)
        for name in ("steps", "batch_size", "threads"):
            check_positive_int(getattr(self, name), name)
        for name in ("augment", "split_seed", "finetune_steps", "convert_seeds"):
            check_positive_int(getattr(self, name), name, 0)
        for name in ("lr", "finetune_lr"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        temperature = self.finetune_temperature
        if temperature is not None and not (
            isinstance(temperature, (int, float)) and 0 < float(temperature) < float("inf")
        ):
            raise ValueError(
                "finetune_temperature must be a number > 0, or None to fine-tune on the "
                f"labels; got {temperature!r}"
            )
        if float(self.weight_decay) < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        for name in ("val_fraction", "test_fraction"):
            if not 0 < float(getattr(self, name)) < 0.5:
                raise ValueError(f"{name} must be between 0 and 0.5, got {getattr(self, name)}")
        if self.convert_width is not None and self.convert_width not in self.widths:
            raise ValueError(
                f"convert_width must be one of widths {self.widths}, got {self.convert_width}"
            )

    @classmethod
    def quick(cls) -> StudyConfig:
        """The ``--quick`` study: three widths, two seeds, short runs (about a minute)."""
        return cls(
            widths=(2, 8, 32),
            seeds=(0, 1),
            steps=150,
            convert_width=8,
            convert_multipliers=(1, 9),
            convert_ranks=(1,),
            convert_seeds=1,
            finetune_steps=50,
        )

    @classmethod
    def full(cls) -> StudyConfig:
        """The full study (the documented longer command)."""
        return cls(convert_width=16)

    def with_options(
        self,
        *,
        widths: str | Iterable[int] | None = None,
        seeds: str | Iterable[int] | None = None,
        steps: int | None = None,
    ) -> StudyConfig:
        """A copy with the command-line overrides applied (``"2,4,8"`` or a list)."""
        changes: dict[str, Any] = {}
        if widths is not None:
            changes["widths"] = parse_ints(widths, "widths")
            if self.convert_width not in changes["widths"]:
                changes["convert_width"] = None
        if seeds is not None:
            changes["seeds"] = parse_ints(seeds, "seeds")
        if steps is not None:
            changes["steps"] = steps
        return replace(self, **changes)

    @property
    def conversion_width(self) -> int:
        """The width whose standard network the conversion experiment converts."""
        if self.convert_width is not None:
            return self.convert_width
        return sorted(self.widths)[(len(self.widths) - 1) // 2]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def parse_ints(value: str | Iterable[int], name: str) -> tuple[int, ...]:
    """``"2,4, 8"`` or ``[2, 4, 8]`` as a tuple of ints; a ``ValueError`` naming ``name``.

    Examples
    --------
    >>> parse_ints("2, 4,8", "widths")
    (2, 4, 8)
    """
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(" ", ",").split(",") if p.strip()]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"{name} must be whole numbers separated by commas, like '2,4,8'; got {value!r}"
            ) from None
    return tuple(value)


def config_key(parts: dict[str, Any]) -> str:
    """A short stable hash of JSON-serialisable ``parts`` (the cache key of one run)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
