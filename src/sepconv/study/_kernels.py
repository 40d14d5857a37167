"""``sepconv study kernels``: the article's two claims measured on networks others trained.

The article says spatially separable convolutions are rarely used because *not all kernels
can be separated*, and warns that small depthwise separable networks *might fail to learn*.
:func:`run_kernels` measures both:

1. **Do trained kernels separate?**  The singular values of every k x k slice of every
   convolution (``k >= 3``) of five networks whose weights ship inside pip packages (MTCNN's
   P-, R- and O-Net, YOLOv8n, PP-OCRv4's text detector; :mod:`sepconv.study._zoo`) and of the
   study's own trained networks on two data sets, each beside random (untrained) weights of
   the same shapes (:mod:`sepconv.study._spectra`).
2. **What does forcing separation cost?**  MTCNN with every k x k convolution made separable,
   before any fine-tuning, against the original (:mod:`sepconv.study._forced`).
3. **Do small separable networks fail to learn?**  The capacity study (width sweep and
   conversion instead of retraining) on scikit-learn's digits and on texture patches of
   scikit-image's bundled images, its conclusion restated for both with the seed spread,
   and flagged where the two disagree.
"""

from __future__ import annotations

import io
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write, atomic_write_bytes
from ._config import StudyConfig
from ._data import BUILTIN_DATA
from ._forced import ForcedConfig
from ._results import FAMILY_NAMES, to_json
from ._spectra import ConvWeight, analyse_layers
from ._zoo import ZOO_KEYS

#: Bumped when a number in ``kernels.json`` changes meaning.
KERNELS_VERSION = 1
#: Study families whose kernels are k x k (the spatial family's are k x 1 and 1 x k).
KERNEL_FAMILIES: tuple[str, ...] = ("standard", "depthwise")

#: The article's two claims, as the report quotes them.
CLAIMS = {
    "separable": (
        "Spatial separable convolutions have significant limitations and are not heavily "
        "used in deep learning, because not all kernels can be separated."
    ),
    "small": (
        "Depthwise separable convolutions have fewer parameters; if the network is already "
        "small, it might fail to properly learn."
    ),
}


@dataclass(frozen=True)
class KernelsConfig:
    """What :func:`run_kernels` measures.

    Attributes
    ----------
    networks : tuple of str
        Zoo networks (see :data:`sepconv.study._zoo.ZOO_KEYS`).
    datasets : tuple of str
        Built-in data sets the capacity study runs on (``"digits"``, ``"textures"``).
    study : StudyConfig
        The capacity study on each data set; its networks at the conversion width give the
        study's own trained kernels.
    forced : ForcedConfig
        The MTCNN experiment.
    seed : int
        Seed of the random-weights control.
    """

    networks: tuple[str, ...] = ZOO_KEYS
    datasets: tuple[str, ...] = BUILTIN_DATA
    study: StudyConfig = field(default_factory=StudyConfig.full)
    forced: ForcedConfig = field(default_factory=ForcedConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [n for n in self.networks if n not in ZOO_KEYS]
        if unknown:
            raise ValueError(f"networks must be among {ZOO_KEYS}; got {unknown}")
        bad = [d for d in self.datasets if d not in BUILTIN_DATA]
        if bad:
            raise ValueError(f"datasets must be among {BUILTIN_DATA}; got {bad}")

    @classmethod
    def quick(cls) -> KernelsConfig:
        """The report's version: quick capacity studies at widths 2 and 8, fewer images.

        The studies are :meth:`StudyConfig.quick` at two of its widths and with only the
        depthwise multiplier-1 conversion, so that the report's digits runs are reused.
        """
        study = replace(
            StudyConfig.quick(), widths=(2, 8), convert_multipliers=(1,), convert_ranks=()
        )
        return cls(study=study, forced=ForcedConfig.quick())

    @classmethod
    def full(cls) -> KernelsConfig:
        """The documented full run: the full capacity study on both data sets."""
        return cls()

    def to_dict(self) -> dict[str, Any]:
        return {
            "networks": list(self.networks),
            "datasets": list(self.datasets),
            "study": self.study.to_dict(),
            "forced": self.forced.to_dict(),
            "seed": self.seed,
        }


@dataclass
class KernelsResult:
    """What :func:`run_kernels` measured (``data`` is ``kernels.json``) and where it wrote it."""

    out_dir: Path
    data: dict[str, Any]
    files: dict[str, Path]
    studies: dict[str, Any]


def run_kernels(
    config: KernelsConfig | None = None,
    out: str | os.PathLike[str] = "kernels",
    *,
    caches: Mapping[str, str | os.PathLike[str]] | None = None,
    force: bool = False,
    progress: bool | Callable[[str], None] = False,
    figures: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None,
) -> KernelsResult:
    """Measure the article's two claims and write ``kernels.json`` and its figures to ``out``.

    Parameters
    ----------
    config : KernelsConfig, optional
        Default :meth:`KernelsConfig.full`.
    out : path
        Output folder; the capacity studies go to ``out/study-<data set>``.
    caches : mapping, optional
        Data set name -> folder of cached study runs to use instead of
        ``out/study-<data set>/runs`` (the report shares its study section's runs).
    force : bool
        Train the capacity studies again even where cached.
    progress : bool or callable
        ``True`` shows the studies' progress bars and prints one line per step on stderr; a
        callable gets the lines instead (no bars).
    figures : mapping, optional
        File name -> function drawing a matplotlib figure from ``kernels.json``'s data,
        written beside it (the CLI and the report pass ``sepconv.plot.KERNEL_FIGURES``:
        drawing belongs to the layers above the study).

    Returns
    -------
    KernelsResult

    Raises
    ------
    sepconv.study._zoo.ZooMissingError
        When a package that ships the weights is not installed (``pip install
        'sepconv[zoo]'``).
    """
    from ._forced import run_forced
    from ._run import run_study
    from ._zoo import load_network

    config = KernelsConfig.full() if config is None else config
    bars = progress is True
    if callable(progress):
        say: Callable[[str], None] = progress
    elif bars:  # one line per step on stderr, beside the studies' progress bars
        say = lambda message: print(message.strip(), file=sys.stderr)  # noqa: E731
    else:
        say = lambda message: None  # noqa: E731
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    timings: dict[str, float] = {}

    networks = []
    spectra: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    for key in config.networks:
        say(f"  reading {key}")
        net = load_network(key)
        analysis = analyse_layers(key, net.layers, seed=config.seed, keep=spectra)
        networks.append({**net.describe(), "origin": "package", **analysis})
    timings["zoo_spectra"] = time.perf_counter() - t0

    studies = {}
    t0 = time.perf_counter()
    for name in config.datasets:
        say(f"  capacity study on {name}")
        cache = None if caches is None or name not in caches else caches[name]
        studies[name] = run_study(
            config.study, out_dir / f"study-{name}", name, force=force, progress=bars, cache=cache
        )
    timings["capacity_studies"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    for result in studies.values():
        for family in KERNEL_FAMILIES:
            entry = own_network(result, family, seed=config.seed, keep=spectra)
            if entry is not None:
                networks.append(entry)
    timings["own_spectra"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    say("  MTCNN made separable")
    forced = run_forced(config.forced, progress=say)
    timings["forced"] = time.perf_counter() - t0

    capacity = restate_capacity(studies)
    data = {
        "kernels_version": KERNELS_VERSION,
        "config": config.to_dict(),
        "claims": CLAIMS,
        "networks": networks,
        "answers": answers(networks, forced, capacity),
        "forced": forced,
        "capacity": capacity,
        "environment": _environment(),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "seconds": round(time.perf_counter() - start, 2),
    }
    files = write_outputs(out_dir, data, spectra, figures or {})
    return KernelsResult(out_dir, data, files, studies)


def write_outputs(
    out_dir: Path,
    data: dict[str, Any],
    spectra: Mapping[str, np.ndarray],
    figures: Mapping[str, Callable[[dict[str, Any]], Any]],
) -> dict[str, Path]:
    """``kernels.json``, the ``figures`` (file name -> drawing function) and
    ``singular_values.npz``.

    The archive holds every analysed layer's singular values (float32, one row per k x k
    slice, largest first) under ``"<network key>:<layer name>"``.
    """
    from ._plot import figure_png

    files = {"kernels.json": out_dir / "kernels.json"}
    files["singular_values.npz"] = out_dir / "singular_values.npz"
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{k: v.astype(np.float32) for k, v in spectra.items()})
    atomic_write_bytes(files["singular_values.npz"], buffer.getvalue())
    for name, function in figures.items():
        fig = function(data)
        files[name] = out_dir / name
        atomic_write_bytes(files[name], figure_png(fig))
    data["files"] = sorted(files)
    atomic_write(files["kernels.json"], to_json(data))
    return files


def study_convolutions(model: Any) -> list[ConvWeight]:
    """The convolutions of a study network, in the order they run, with their groups."""
    from torch import nn

    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    names = {id(m): n for n, m in model.named_modules()}
    return [
        ConvWeight(names[id(m)], m.weight.detach().numpy().copy(), m.groups, depth)
        for depth, m in enumerate(convs)
    ]


def own_network(
    result: Any, family: str, *, seed: int = 0, keep: dict[str, np.ndarray] | None = None
) -> dict[str, Any] | None:
    """The kernels of the study's ``family`` networks at the conversion width, all seeds pooled.

    ``None`` when the study kept no weights for them (another width, or an older cache).
    """
    import torch

    from ._models import build_model

    width = result.config.conversion_width
    runs = [r for r in result.runs if r["family"] == family and r["width"] == width]
    layers: list[ConvWeight] = []
    seeds = []
    shape = result.dataset["image_shape"]
    for run in runs:
        path = result.weights_path(run)
        if path is None:
            continue
        model = build_model(family, width, shape[0], len(result.dataset["classes"]))
        model.load_state_dict(torch.load(path, weights_only=True))
        for conv in study_convolutions(model):
            layers.append(replace(conv, name=f"seed {run['seed']}: {conv.name}"))
        seeds.append(run["seed"])
    if not layers:
        return None
    per_seed = len(layers) // len(seeds)
    layers = [replace(c, depth=i % per_seed) for i, c in enumerate(layers)]
    dataset = result.dataset["name"]
    key = f"study-{family}-{dataset}"
    analysis = analyse_layers(key, layers, seed=seed, keep=keep)
    analysis["convolutions"] = per_seed
    for summary in analysis["summary"].values():
        summary["layers"] //= len(seeds)  # layers of one network; their kernels pool all seeds
    for row in analysis["layers"]:
        row["depth_fraction"] = row["depth"] / max(per_seed - 1, 1)
    accuracy = [r["test_acc"] for r in runs if r["seed"] in seeds]
    return {
        "key": key,
        "title": f"study {FAMILY_NAMES[family]}, {dataset}",
        "task": f"{dataset} ({len(result.dataset['classes'])} classes), width {width}, "
        f"{result.config.steps} steps, test accuracy {np.mean(accuracy):.1f} %",
        "package": "sepconv (trained here)",
        "file": f"runs/{family}-w{width}-s*.pt",
        "format": "state_dict",
        "origin": "study",
        "seeds": seeds,
        **analysis,
    }


def restate_capacity(studies: Mapping[str, Any]) -> dict[str, Any]:
    """The capacity study's conclusion on each data set, with the seed spread, compared.

    Per data set and separable family: the accuracy gap to the standard network at the
    smallest width (mean over seeds and the range of the per-seed gaps), whether it under-fits
    there, the width from which it stays within the tolerance, and the conversion experiment's
    depthwise multiplier-1 rows against the family trained from scratch.  ``disagreements``
    lists what differs between data sets; ``agree`` is ``True`` when nothing does.
    """
    per: dict[str, Any] = {}
    for name, result in studies.items():
        finding = result.finding
        if finding is None:
            continue
        families = {}
        by_run = {(r["family"], r["width"], r["seed"]): r["test_acc"] for r in result.runs}
        widths = sorted({r["width"] for r in result.runs})
        summary = {(r["family"], r["width"]): r for r in result.summary}
        for family, info in finding["families"].items():
            small = widths[0]
            gaps = [
                by_run[("standard", small, s)] - by_run[(family, small, s)]
                for s in result.config.seeds
                if ("standard", small, s) in by_run and (family, small, s) in by_run
            ]
            families[family] = {
                "smallest_width": small,
                "gap_mean": float(np.mean(gaps)) if gaps else None,
                "gap_min": float(np.min(gaps)) if gaps else None,
                "gap_max": float(np.max(gaps)) if gaps else None,
                "acc": _acc(summary.get((family, small))),
                "acc_standard": _acc(summary.get(("standard", small))),
                "underfits_at_smallest": small in info["underfits_at"],
                "underfits_at": info["underfits_at"],
                "catches_up_at": info["catches_up_at"],
                "equal_weights_gain": info["equal_weights_gain"],
            }
        per[name] = {
            "claim": finding["claim"],
            "text": finding["text"],
            "seeds": list(result.config.seeds),
            "widths": widths,
            "families": families,
            "conversion": _conversion_summary(result),
            "dataset": result.dataset,
        }
    disagreements = []
    names = list(per)
    for a, b in zip(names, names[1:]):
        pa, pb = per[a], per[b]
        if pa["claim"] != pb["claim"]:
            disagreements.append(f"the warning is {pa['claim']} on {a} but {pb['claim']} on {b}")
        for family in set(pa["families"]) & set(pb["families"]):
            fa, fb = pa["families"][family], pb["families"][family]
            label = FAMILY_NAMES[family]
            if fa["underfits_at_smallest"] != fb["underfits_at_smallest"]:
                where = a if fa["underfits_at_smallest"] else b
                disagreements.append(
                    f"the {label} network under-fits at the smallest width on {where} only"
                )
            if fa["catches_up_at"] != fb["catches_up_at"]:
                disagreements.append(
                    f"the {label} network comes within 1 point from width "
                    f"{fa['catches_up_at'] or 'never'} on {a} but "
                    f"{fb['catches_up_at'] or 'never'} on {b}"
                )
    return {"datasets": per, "disagreements": disagreements, "agree": not disagreements}


def _acc(row: Mapping[str, Any] | None) -> dict[str, float] | None:
    if row is None:
        return None
    return {"mean": row["test_acc_mean"], "std": row["test_acc_std"]}


def _conversion_summary(result: Any) -> dict[str, Any] | None:
    # The conversion experiment's headline: depthwise multiplier 1 (the depthwise family's
    # architecture) converted and fine-tuned, against the same family trained from scratch.
    width = result.config.conversion_width
    scratch = next(
        (r for r in result.summary if r["family"] == "depthwise" and r["width"] == width), None
    )
    rows = {
        r["init"]: r for r in result.conversion if r["kind"] == "depthwise" and r["setting"] == 1
    }
    if scratch is None or not rows:
        return None
    return {
        "width": width,
        "seeds": rows[next(iter(rows))]["seeds"],
        "scratch": _acc(scratch),
        "before": rows[next(iter(rows))]["acc_before_mean"],
        "rows": {
            init: {
                "converted": {"mean": r["acc_converted_mean"], "std": r["acc_converted_std"]},
                "finetuned": {"mean": r["acc_finetuned_mean"], "std": r["acc_finetuned_std"]},
            }
            for init, r in rows.items()
        },
        "finetune_steps": result.config.finetune_steps,
    }


def answers(
    networks: list[dict[str, Any]], forced: Mapping[str, Any], capacity: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Per network, the measured answer to each of the article's claims.

    ``separable`` answers claim 1 from the kernels' singular values (beside the random
    control), ``forced`` says what making the network separable cost where that was measured
    (MTCNN), and ``small`` answers claim 2 where it was measured (the study's networks) or
    says why not.
    """
    rows = {(r["method"], r["rank"]): r for r in forced.get("rows", [])}
    out = []
    said: set[str] = set()  # data sets whose capacity study an earlier network answered
    for net in networks:
        separable = []
        for kind, summary in net["summary"].items():
            t, r = summary["trained"], summary["random"]
            closer = t["median_rank1_error"] < r["median_rank1_error"]
            separable.append(
                f"{_pct(1 - t['rank1_share_10'])} of its {t['slices']:,} {kind} kernels are "
                f"not rank 1 even within 10 % error (random weights: "
                f"{_pct(1 - r['rank1_share_10'])}); within 1 % only {_pct(t['rank1_share_1'])}"
                f" are. Median rank-1 error {t['median_rank1_error']:.2f} against "
                f"{r['median_rank1_error']:.2f} for random weights: "
                + ("closer to rank 1 than chance" if closer else "no closer to rank 1 than chance")
            )
        verdict = "Holds. " if separable else ""
        out.append(
            {
                "key": net["key"],
                "title": net["title"],
                "separable": verdict + ". ".join(separable) + "."
                if separable
                else "No k x k layer.",
                "forced": _forced_answer(net, rows),
                "small": _small_answer(net, capacity, said),
            }
        )
    return out


def _forced_answer(net: Mapping[str, Any], rows: Mapping[tuple[str, Any], Any]) -> str | None:
    if not net["key"].startswith("mtcnn-") or not rows:
        return None
    short = net["key"].split("-")[1]
    parts = [
        f"{_method_short(method)} rank {rank} keeps "
        f"{_pct(rows[method, rank]['crops'][short]['agreement'])} of its face decisions"
        for method, rank in (("slice", 1), ("svd", 1), ("data", 1), ("svd", 2), ("data", 2))
        if (method, rank) in rows
    ]
    return "Made separable without fine-tuning: " + "; ".join(parts) + "."


def _small_answer(net: Mapping[str, Any], capacity: Mapping[str, Any], said: set[str]) -> str:
    if net.get("origin") == "study":
        dataset = net["key"].rsplit("-", 1)[1]
        info = capacity.get("datasets", {}).get(dataset)
        if info is None:
            return "Not measured (no capacity study on this data set)."
        if dataset in said:
            return f"The capacity study on {dataset}, as above."
        said.add(dataset)
        lines = [
            f"the {FAMILY_NAMES[family]} network at width {f['smallest_width']} is "
            f"{f['gap_mean']:.1f} points below the standard one (per seed {f['gap_min']:.1f} "
            f"to {f['gap_max']:.1f})" + (" and under-fits" if f["underfits_at_smallest"] else "")
            for family, f in info["families"].items()
            if f["gap_mean"] is not None
        ]
        return f"{info['claim'].capitalize()} on {dataset}: " + "; ".join(lines) + "."
    depthwise = net["summary"].get("depthwise")
    if depthwise is not None:
        return (
            f"Not trained here. It is itself a depthwise separable network ({depthwise['layers']}"
            " depthwise k x k layers) that learned its task and ships as a working model."
        )
    return "Not measured: the network is not trained or run here."


def _method_short(method: str) -> str:
    return {"slice": "per-slice SVD", "svd": "weight-space SVD", "data": "data-aware fit"}[method]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _environment() -> dict[str, Any]:
    import torch

    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


__all__ = [
    "CLAIMS",
    "KERNELS_VERSION",
    "KernelsConfig",
    "KernelsResult",
    "answers",
    "own_network",
    "restate_capacity",
    "run_kernels",
    "study_convolutions",
]
