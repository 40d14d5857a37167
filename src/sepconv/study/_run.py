"""Run a study: train every (family, width, seed), convert, and write the results.

Each finished run is written to ``<out>/runs/`` at once, atomically, under a name that holds
the hash of everything that decides its numbers; a later study with the same configuration
reads it instead of training again, and an interrupted study loses only the run in progress.
"""

from __future__ import annotations

import copy
import io
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import atomic_write, atomic_write_bytes
from ._config import STUDY_VERSION, StudyConfig, config_key
from ._data import Dataset, Split, load_data, split_dataset
from ._progress import Bars, Silent
from ._results import (
    CONVERSION_COLUMNS,
    RUN_COLUMNS,
    SUMMARY_COLUMNS,
    compute_finding,
    summarise,
    summarise_conversion,
    to_csv,
    to_json,
)

#: Files a study writes in its output folder (besides the ``runs/`` cache).
OUTPUT_FILES = (
    "results.json",
    "results.csv",
    "runs.csv",
    "conversion.csv",
    "split.json",
    "study.png",
)


@dataclass
class StudyResult:
    """What :func:`run_study` measured and where it wrote it.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    config : StudyConfig
    dataset : dict
        Name, size, classes and fingerprint of the data.
    runs : list of dict
        One record per trained network (see ``RUN_COLUMNS``).
    summary : list of dict
        One row per family and width, over seeds (``results.csv``).
    conversion : list of dict
        One row per conversion setting, over seeds (``conversion.csv``).
    conversion_runs : list of dict
        One record per converted network.
    finding : dict or None
        :func:`compute_finding` of ``summary`` (``None`` without a standard family).
    files : dict of str to Path
    trained, cached : int
        Runs (and conversions) computed now, and read from the cache.
    complete : bool
        ``False`` when the study was interrupted.
    seconds : float
    cache_dir : Path or None
        Where the finished runs (and the weights at the conversion width) are cached.
    """

    out_dir: Path
    config: StudyConfig
    dataset: dict[str, Any]
    runs: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    conversion: list[dict[str, Any]]
    conversion_runs: list[dict[str, Any]]
    finding: dict[str, Any] | None
    files: dict[str, Path] = field(default_factory=dict)
    trained: int = 0
    cached: int = 0
    complete: bool = True
    seconds: float = 0.0
    cache_dir: Path | None = None

    def weights_path(self, run: dict[str, Any]) -> Path | None:
        """The cached state dict of one of :attr:`runs`, if the study kept it.

        Every family's networks at the conversion width keep their weights.
        """
        if self.cache_dir is None or "key" not in run:
            return None
        stem = f"{run['family']}-w{run['width']}-s{run['seed']}-{run['key']}"
        path = self.cache_dir / f"{stem}.pt"
        return path if path.is_file() else None

    def to_dict(self) -> dict[str, Any]:
        """The content of ``results.json``."""
        return {
            "study_version": STUDY_VERSION,
            "complete": self.complete,
            "config": self.config.to_dict(),
            "dataset": self.dataset,
            "environment": _environment(self.config.threads),
            "summary": self.summary,
            "finding": self.finding,
            "conversion": {
                "width": self.config.conversion_width,
                "rows": self.conversion,
                "runs": self.conversion_runs,
            },
            "runs": self.runs,
            # Training time of every network and conversion, whenever it was trained; the
            # next three describe this invocation only (cached runs cost no time).
            "compute_s": round(sum(r["wall_s"] for r in self.runs + self.conversion_runs), 1),
            "trained": self.trained,
            "cached": self.cached,
            "seconds": round(self.seconds, 2),
            "files": sorted(p.name for p in self.files.values()),
        }


def run_study(
    config: StudyConfig | None = None,
    out: str | os.PathLike[str] = "study",
    data: str | os.PathLike[str] | Dataset | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    cache: str | os.PathLike[str] | None = None,
) -> StudyResult:
    """Train the study's networks and write ``results.json``, CSVs, ``split.json`` and the plot.

    Parameters
    ----------
    config : StudyConfig, optional
        What to train; default :meth:`StudyConfig.full`.
    out : path
        Output folder, created if missing; its ``runs/`` sub-folder caches finished runs.
    data : path, Dataset or None
        See :func:`sepconv.study.load_data`; ``None`` is scikit-learn's digits.
    force : bool
        Train again even where a cached result exists (and overwrite it).
    progress : bool
        Show progress bars on stderr.
    cache : path, optional
        Folder of finished runs; default ``out/runs``.  Studies of the same data may share
        one: a run is found by the hash of everything that decides it.

    Returns
    -------
    StudyResult

    Raises
    ------
    ValueError
        For bad data, before anything is trained.
    KeyboardInterrupt
        Passed on after the finished runs have been written to ``out``.

    Examples
    --------
    >>> import tempfile
    >>> from sepconv.study import StudyConfig, run_study
    >>> config = StudyConfig(families=("standard", "depthwise"), widths=(2,), seeds=(0,),
    ...                      steps=3, convert_multipliers=(1,), convert_ranks=(),
    ...                      convert_seeds=1, finetune_steps=2)
    >>> result = run_study(config, tempfile.mkdtemp())
    >>> [(row["family"], row["width"]) for row in result.summary]
    [('standard', 2), ('depthwise', 2)]
    """
    import torch

    from ._convert import CALIBRATION_IMAGES, conversion_settings, run_conversion
    from ._models import build_model
    from ._train import deterministic

    config = StudyConfig.full() if config is None else config
    start = time.perf_counter()
    dataset = data if isinstance(data, Dataset) else load_data(data)
    split = split_dataset(dataset, config.split_seed, config.val_fraction, config.test_fraction)
    out_dir = Path(out)
    cache = out_dir / "runs" if cache is None else Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "split.json", to_json(split.to_dict(dataset)))

    # Everything besides family, width and seed that decides a run's numbers.
    common = {
        "version": STUDY_VERSION,
        "torch": torch.__version__,
        "data": dataset.fingerprint,
        "split": [config.split_seed, config.val_fraction, config.test_fraction],
        "steps": config.steps,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "weight_decay": config.weight_decay,
        "augment": config.augment,
        "threads": config.threads,
    }
    # Seed by seed, so that an interrupted study has complete comparisons for the first seeds.
    plan = [(f, w, s) for s in config.seeds for w in config.widths for f in config.families]
    conversions = []
    if "standard" in config.families:
        seeds = config.seeds[: config.convert_seeds]
        conversions = [(s, *t) for s in seeds for t in conversion_settings(config)]

    runs: list[dict[str, Any]] = []
    conversion_runs: list[dict[str, Any]] = []
    counts = {"trained": 0, "cached": 0}
    bars = Bars(len(plan) + len(conversions)) if progress else Silent()
    try:
        with bars, deterministic(config.threads):
            base_models: dict[int, Any] = {}
            for family, width, seed in plan:
                label = f"{family} w{width} seed {seed}"
                parts = {**common, "family": family, "width": width, "seed": seed}
                key = config_key({**parts, **_kernels(family)})
                stem = cache / f"{family}-w{width}-s{seed}-{key}"
                # Weights are kept at the conversion width: the standard network's to convert,
                # every family's for the kernel study (sepconv study kernels).
                keep = width == config.conversion_width
                record = None if force else _read_json(stem.with_suffix(".json"))
                if record is not None and (not keep or stem.with_suffix(".pt").exists()):
                    counts["cached"] += 1
                    if keep and family == "standard":
                        model = build_model(family, width, dataset.shape[0], len(dataset.classes))
                        model.load_state_dict(torch.load(stem.with_suffix(".pt")))
                        base_models[seed] = model
                else:
                    bars.start(label, config.steps)
                    record, model = _train_one(family, width, seed, config, dataset, split, bars)
                    record["key"] = key
                    if keep:
                        buffer = io.BytesIO()
                        torch.save(model.state_dict(), buffer)
                        # The weights first: a record on disk always has its weights beside it.
                        atomic_write_bytes(stem.with_suffix(".pt"), buffer.getvalue())
                        if family == "standard":
                            base_models[seed] = model
                    atomic_write(stem.with_suffix(".json"), to_json(record))
                    counts["trained"] += 1
                runs.append(record)
                bars.finish(label)

            for seed, kind, setting, init in conversions:
                label = f"convert {kind} x{setting} {init} seed {seed}"
                base = {**common, "family": "standard", "width": config.conversion_width}
                parts = {
                    "base": config_key({**base, "seed": seed}),
                    "kind": kind,
                    "setting": setting,
                    "init": init,
                    "steps": config.finetune_steps,
                    "lr": config.finetune_lr,
                }
                if init == "data":  # only there, so that older svd / random runs stay cached
                    parts["calibration"] = CALIBRATION_IMAGES
                if config.finetune_temperature is not None:  # likewise for label fine-tunes
                    parts["distill"] = config.finetune_temperature
                key = config_key({**parts, **_kernels(kind)})
                path = cache / f"convert-{kind}-x{setting}-{init}-s{seed}-{key}.json"
                record = None if force else _read_json(path)
                if record is None:
                    bars.start(label, max(config.finetune_steps, 1))
                    record = run_conversion(
                        base_models[seed], split, config, kind, setting, init, seed, bars.step
                    )
                    record["key"] = key
                    atomic_write(path, to_json(record))
                    counts["trained"] += 1
                else:
                    counts["cached"] += 1
                conversion_runs.append(record)
                bars.finish(label)
    except KeyboardInterrupt:
        # Finished runs are on disk already; also write the tables of what finished.
        if runs:
            _write_outputs(
                out_dir,
                config,
                dataset,
                runs,
                conversion_runs,
                counts,
                False,
                time.perf_counter() - start,
                cache,
            )
        raise
    return _write_outputs(
        out_dir,
        config,
        dataset,
        runs,
        conversion_runs,
        counts,
        True,
        time.perf_counter() - start,
        cache,
    )


def _train_one(
    family: str,
    width: int,
    seed: int,
    config: StudyConfig,
    dataset: Dataset,
    split: Split,
    bars: Silent,
) -> tuple[dict[str, Any], Any]:
    """Build, train and measure one network; its record and the trained model."""
    import torch

    from . import _train
    from ._models import build_model, model_cost

    torch.manual_seed(seed)
    model = build_model(family, width, dataset.shape[0], len(dataset.classes))
    # On a copy: profiling runs a forward pass, which must not touch the batch-norm statistics.
    cost = model_cost(copy.deepcopy(model), dataset.shape)
    t0 = time.perf_counter()
    last = _train.train(
        model,
        split.images["train"],
        split.labels["train"],
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        augment=config.augment,
        seed=seed,
        on_step=bars.step,
    )
    test_acc, test_loss = _train.evaluate(model, split.images["test"], split.labels["test"])
    val_acc, _ = _train.evaluate(model, split.images["val"], split.labels["val"])
    train_acc, train_loss = _train.evaluate(model, split.images["train"], split.labels["train"])
    record = {
        "family": family,
        "width": width,
        "seed": seed,
        **cost,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "val_acc": val_acc,
        "train_acc": train_acc,
        "train_loss": train_loss,
        "last_batch_loss": last,
        "wall_s": time.perf_counter() - t0,
    }
    return record, model


def _write_outputs(
    out_dir: Path,
    config: StudyConfig,
    dataset: Dataset,
    runs: list[dict[str, Any]],
    conversion_runs: list[dict[str, Any]],
    counts: dict[str, int],
    complete: bool,
    seconds: float,
    cache: Path,
) -> StudyResult:
    from ._plot import figure_png, plot_results

    summary = summarise(runs)
    conversion = summarise_conversion(conversion_runs)
    try:
        finding = compute_finding(summary, chance=100.0 / len(dataset.classes))
    except ValueError:  # no standard family, or no shared width: nothing to compare
        finding = None
    result = StudyResult(
        out_dir=out_dir,
        config=config,
        dataset=dataset.describe(),
        runs=runs,
        summary=summary,
        conversion=conversion,
        conversion_runs=conversion_runs,
        finding=finding,
        trained=counts["trained"],
        cached=counts["cached"],
        complete=complete,
        seconds=seconds,
        cache_dir=cache,
    )
    files = {name: out_dir / name for name in OUTPUT_FILES}
    result.files = files
    fig = plot_results(summary, title=f"Test accuracy on {dataset.name}: standard vs separable")
    atomic_write_bytes(files["study.png"], figure_png(fig))
    atomic_write(files["results.csv"], to_csv(summary, SUMMARY_COLUMNS))
    atomic_write(files["runs.csv"], to_csv(runs, RUN_COLUMNS))
    atomic_write(files["conversion.csv"], to_csv(conversion, CONVERSION_COLUMNS))
    atomic_write(files["results.json"], to_json(result.to_dict()))
    return result


def _kernels(family: str) -> dict[str, Any]:
    """Cache-key part of the networks whose training runs sepconv's depthwise kernels.

    Their results round differently from PyTorch's kernels (and from an older
    version of sepconv's), so a cached run of either is trained again; the
    other families keep their keys.
    """
    if family != "depthwise":
        return {}
    from ..nn._depthwise import KERNELS_VERSION

    return {"depthwise_kernels": KERNELS_VERSION}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, or unreadable: train it again
        return None


def _environment(threads: int) -> dict[str, Any]:
    import torch

    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "threads": threads,
    }


__all__ = ["OUTPUT_FILES", "StudyResult", "run_study"]
