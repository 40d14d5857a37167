"""What forcing separation costs a network someone else trained: MTCNN made separable.

Every ``k x k`` convolution of MTCNN's P-, R- and O-Net (``k`` = 3, and the two 2 x 2 ones)
is replaced, before any fine-tuning, in three ways:

* ``slice``: each ``(out, in)`` slice by its own best rank-``r`` approximation
  (:func:`sepconv.lowrank`), the layer still an ``nn.Conv2d``: *does each trained kernel
  separate?*
* ``svd``: a :class:`sepconv.nn.SpatialSeparableConv2d` with ``mid_channels = r * in_channels``
  (at most full rank, ``min(in * kh, out * kw)``), factors from the weight-space SVD
  (:func:`sepconv.nn.convert`, ``init="svd"``);
* ``data``: the same layer with factors fitted to its outputs on calibration images
  (``init="data"``).

The converted nets are compared with the original ones on crops (face probability per net)
and through the whole cascade on images (boxes, landmarks).  Calibration and evaluation use
different images: LFW crops of even index and ``camera``, ``coffee``, ``chelsea``, ``rocket``
calibrate; crops of odd index, ``astronaut`` and images without faces evaluate.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._bundled import bundled_image, lfw_subset
from ._mtcnn import (
    INPUT_SIZE,
    NETS,
    THRESHOLDS,
    Detections,
    box_iou,
    detect_faces,
    face_probability,
    load_nets,
    normalise,
)

#: The ways a layer is made separable, in table order.
METHODS: tuple[str, ...] = ("slice", "svd", "data")
METHOD_NAMES = {
    "slice": "per-slice SVD (each k x k kernel its own rank r, dense layer)",
    "svd": "SpatialSeparableConv2d, weight-space SVD",
    "data": "SpatialSeparableConv2d, data-aware fit",
}
#: A detection of the converted cascade matches an original one from this box IoU on.
MATCH_IOU = 0.5


@dataclass(frozen=True)
class ForcedConfig:
    """The images and ranks of the MTCNN experiment.

    Attributes
    ----------
    ranks : tuple of int
        Ranks tried by every method.
    full_rank : tuple of str
        Methods also tried at full rank (``"full"``), where the conversion is exact.
    calibration_images, face_images, negative_images : tuple of str
        Bundled scikit-image images (see :mod:`sepconv.study._bundled`).
    mosaic_faces : int
        LFW faces (odd indices) pasted into the evaluation mosaic; the calibration mosaic
        gets the same number of even ones.
    max_crops : int
        Most R- and O-Net calibration crops kept (a fixed, seeded subset).
    """

    ranks: tuple[int, ...] = (1, 2)
    full_rank: tuple[str, ...] = ("svd", "data")
    calibration_images: tuple[str, ...] = ("camera", "coffee", "chelsea", "rocket")
    face_images: tuple[str, ...] = ("astronaut",)
    negative_images: tuple[str, ...] = (
        "brick",
        "grass",
        "gravel",
        "coins",
        "moon",
        "page",
        "text",
        "ihc",
        "motorcycle_left",
    )
    mosaic_faces: int = 50
    max_crops: int = 1024

    @classmethod
    def quick(cls) -> ForcedConfig:
        """Fewer images, and one exact row (the report's version)."""
        return cls(
            full_rank=("svd",),
            calibration_images=("camera", "coffee"),
            negative_images=("brick", "coins"),
            mosaic_faces=20,
            max_crops=128,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def lfw_crops(images: np.ndarray, size: int) -> torch.Tensor:
    """Grey 25 x 25 crops as the nets' normalised RGB input of ``size`` x ``size`` (bilinear)."""
    x = torch.from_numpy(images.astype(np.float32))[:, None].repeat(1, 3, 1, 1)
    return normalise(F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False))


def lfw_mosaic(images: np.ndarray, tile: int = 80, face: int = 56, columns: int = 10) -> np.ndarray:
    """The grey crops enlarged to ``face`` pixels on a grey ``tile`` grid: one RGB image."""
    from PIL import Image

    rows = -(-len(images) // columns)
    canvas = np.full((rows * tile, columns * tile), 128, dtype=np.uint8)
    offset = (tile - face) // 2
    for j, crop in enumerate(images):
        r, c = divmod(j, columns)
        y, x = r * tile + offset, c * tile + offset
        canvas[y : y + face, x : x + face] = Image.fromarray(crop).resize(
            (face, face), Image.BILINEAR
        )
    return np.repeat(canvas[:, :, None], 3, axis=2)


def spatial_mid(conv: nn.Conv2d, rank: int | str) -> int:
    """``mid_channels`` of rank ``rank`` (``r * in_channels``, at most full rank) or ``"full"``."""
    kh, kw = conv.kernel_size
    full = min(conv.in_channels * kh, conv.out_channels * kw)
    return full if rank == "full" else min(int(rank) * conv.in_channels, full)


def _forced_layers(net: nn.Module) -> list[str]:
    # Every convolution larger than 1 x 1, in the order the net runs them (its definition order).
    return [
        name
        for name, m in net.named_modules()
        if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1
    ]


def slice_truncated(net: nn.Module, rank: int) -> nn.Module:
    """A copy of ``net`` whose every k x k kernel slice is its best rank-``rank`` approximation."""
    from ..analysis import lowrank

    out = copy.deepcopy(net)
    for name in _forced_layers(out):
        conv = out.get_submodule(name)
        w = conv.weight.detach().double().numpy()
        approx = np.empty_like(w)
        r = min(rank, *w.shape[2:])
        for o in range(w.shape[0]):
            for c in range(w.shape[1]):
                approx[o, c] = lowrank(w[o, c], rank=r).to_array()
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(approx).to(conv.weight.dtype))
    return out


def spatial_converted(
    net: nn.Module, rank: int | str, init: str, calibration: list[torch.Tensor] | None
) -> tuple[nn.Module, float]:
    """``net`` with every k x k convolution a ``SpatialSeparableConv2d`` of rank ``rank``.

    One :func:`sepconv.nn.convert` call per layer, in the order the net runs them (each layer
    has its own ``mid_channels``); returns the copy and the largest relative weight error.
    """
    from ..nn import convert

    model, errors = net, []
    for index, name in enumerate(_forced_layers(net)):
        model, report = convert(
            model,
            kind="spatial",
            mid_channels=spatial_mid(net.get_submodule(name), rank),
            init=init,
            include=[name],
            inplace=index > 0,
            calibration=calibration if init == "data" else None,
        )
        errors.append(report.max_error)
    return model.eval(), max(errors)


def _weights(net: nn.Module, names: list[str]) -> int:
    """Weights and biases of the modules ``names`` (the forced layers, converted or not)."""
    return sum(p.numel() for name in names for p in net.get_submodule(name).parameters())


def _match(original: Detections, converted: Detections) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by IoU: ``(original index, converted index, IoU)``."""
    if not len(original) or not len(converted):
        return []
    iou = box_iou(original.boxes, converted.boxes)
    pairs = []
    while True:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] < MATCH_IOU:
            return pairs
        pairs.append((int(i), int(j), float(iou[i, j])))
        iou[i, :] = -1.0
        iou[:, j] = -1.0


def compare_detections(original: list[Detections], converted: list[Detections]) -> dict[str, Any]:
    """How the converted cascade's detections agree with the original's, over images.

    Returns the counts (``original``, ``converted``, ``matched``, ``extra``), ``recall``
    (matched share of the original detections), ``mean_iou`` and ``score_difference`` (mean
    absolute difference of O-Net's face probability) of the matched ones, and
    ``landmark_error``: the mean distance of the five matched landmarks, in percent of the
    original box's width.
    """
    n_orig = sum(len(d) for d in original)
    n_conv = sum(len(d) for d in converted)
    ious, scores, landmarks = [], [], []
    for a, b in zip(original, converted):
        for i, j, iou in _match(a, b):
            ious.append(iou)
            scores.append(abs(a.scores[i] - b.scores[j]))
            width = a.boxes[i, 2] - a.boxes[i, 0]
            distance = np.linalg.norm(a.landmarks[i] - b.landmarks[j], axis=1).mean()
            landmarks.append(100.0 * distance / width)
    matched = len(ious)
    return {
        "original": n_orig,
        "converted": n_conv,
        "matched": matched,
        "extra": n_conv - matched,
        "recall": matched / n_orig if n_orig else None,
        "mean_iou": float(np.mean(ious)) if ious else None,
        "score_difference": float(np.mean(scores)) if scores else None,
        "landmark_error": float(np.mean(landmarks)) if landmarks else None,
    }


@dataclass
class _Data:
    crops: dict[str, torch.Tensor]  # evaluation crops per net
    is_face: np.ndarray
    calibration: dict[str, list[torch.Tensor]]
    images: dict[str, np.ndarray]  # evaluation images
    faces: tuple[str, ...]  # which of them contain faces


def _prepare(config: ForcedConfig, nets: dict[str, nn.Module]) -> _Data:
    crops_all, is_face_all = lfw_subset()
    even, odd = np.arange(0, 200, 2), np.arange(1, 200, 2)
    faces_even = even[is_face_all[even]][: config.mosaic_faces]
    faces_odd = odd[is_face_all[odd]][: config.mosaic_faces]
    # Calibration: what the original cascade feeds each net on the calibration images and
    # the even LFW mosaic, plus the even LFW crops at each net's input size.
    record: dict[str, list[torch.Tensor]] = {}
    for name in config.calibration_images:
        detect_faces(bundled_image(name), nets, record=record)
    detect_faces(lfw_mosaic(crops_all[faces_even]), nets, record=record)
    rng = np.random.default_rng(0)
    calibration: dict[str, list[torch.Tensor]] = {}
    for name in NETS:
        own = lfw_crops(crops_all[even], INPUT_SIZE[name])
        if name == "pnet":
            calibration[name] = [*record.get(name, []), own]
            continue
        crops = torch.cat([*record.get(name, []), own])
        if len(crops) > config.max_crops:
            crops = crops[np.sort(rng.choice(len(crops), config.max_crops, replace=False))]
        calibration[name] = list(torch.split(crops, 256))
    images = {name: bundled_image(name) for name in config.face_images + config.negative_images}
    images["lfw mosaic"] = lfw_mosaic(crops_all[faces_odd])
    return _Data(
        crops={name: lfw_crops(crops_all[odd], INPUT_SIZE[name]) for name in NETS},
        is_face=is_face_all[odd],
        calibration=calibration,
        images=images,
        faces=(*config.face_images, "lfw mosaic"),
    )


def _crop_metrics(
    original: dict[str, nn.Module], converted: dict[str, nn.Module], data: _Data
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, threshold in zip(NETS, THRESHOLDS):
        p0 = face_probability(name, original[name], data.crops[name])
        p1 = face_probability(name, converted[name], data.crops[name])
        out[name] = {
            "agreement": float(np.mean((p0 >= threshold) == (p1 >= threshold))),
            "probability_difference": float(np.mean(np.abs(p0 - p1))),
            "accuracy": float(np.mean((p1 >= threshold) == data.is_face)),
        }
    with torch.no_grad():
        faces = data.crops["onet"][data.is_face]
        _, points0, _ = original["onet"](faces)
        _, points1, _ = converted["onet"](faces)
    # Landmarks are fractions of the crop: the mean point distance in percent of its width.
    delta = (points1 - points0).numpy()
    distance = np.hypot(delta[:, :5], delta[:, 5:]).mean()
    out["onet"]["landmark_error"] = float(100.0 * distance)
    return out


def run_forced(
    config: ForcedConfig | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The MTCNN experiment: one row per (method, rank), measured against the original nets.

    Returns
    -------
    dict
        ``config``, ``original`` (weights of the k x k layers, those layers, crop accuracy
        per net, detections per image), ``rows`` (per method and rank: weights of the
        converted layers, largest relative weight error, the crop metrics per
        net and the cascade's agreement on the images with faces and on those without) and
        ``seconds``.
    """
    from ._train import deterministic

    config = ForcedConfig() if config is None else config
    # One thread for PyTorch and for NumPy's BLAS: the nets and matrices are small, and two
    # threads waiting on each other on a busy 2-core machine ran this up to ten times slower
    # (measured: 103 s instead of 8 s; a 192 x 192 SVD 47 ms instead of 15 ms).
    with deterministic(1), _one_blas_thread():
        return _run_forced(config, progress or (lambda message: None))


def _one_blas_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn's dependency; without it, BLAS keeps its threads
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _run_forced(config: ForcedConfig, say: Callable[[str], None]) -> dict[str, Any]:
    start = time.perf_counter()
    torch.manual_seed(0)  # the filters beyond a weight's rank keep a random start
    original = load_nets()
    data = _prepare(config, original)
    baseline = {name: detect_faces(image, original) for name, image in data.images.items()}
    accuracy = {}
    for name, threshold in zip(NETS, THRESHOLDS):
        p = face_probability(name, original[name], data.crops[name])
        accuracy[name] = float(np.mean((p >= threshold) == data.is_face))
    rows = []
    settings = [(m, r) for m in METHODS for r in config.ranks]
    settings += [(m, "full") for m in config.full_rank]
    for method, rank in settings:
        say(f"  MTCNN {method} rank {rank}")
        t0 = time.perf_counter()
        converted, errors = {}, []
        for name in NETS:
            if method == "slice":
                net = slice_truncated(original[name], int(rank))
                error = _relative_error(original[name], net)
            else:
                net, error = spatial_converted(original[name], rank, method, data.calibration[name])
            converted[name] = net
            errors.append(error)
        detections = {name: detect_faces(image, converted) for name, image in data.images.items()}
        faces = [n for n in data.images if n in data.faces]
        negatives = [n for n in data.images if n not in data.faces]
        rows.append(
            {
                "method": method,
                "rank": rank,
                "weights": sum(_weights(converted[n], _forced_layers(original[n])) for n in NETS),
                "weight_error": float(max(errors)),
                "crops": _crop_metrics(original, converted, data),
                "faces": compare_detections(
                    [baseline[n] for n in faces], [detections[n] for n in faces]
                ),
                "negatives": compare_detections(
                    [baseline[n] for n in negatives], [detections[n] for n in negatives]
                ),
                "detections": {n: len(d) for n, d in detections.items()},
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    return {
        "config": config.to_dict(),
        "calibration": {
            "images": [*config.calibration_images, "lfw mosaic (even faces)"],
            "crops": {name: int(sum(len(b) for b in data.calibration[name])) for name in NETS},
            "pnet_levels": len(data.calibration["pnet"]),
        },
        "evaluation": {
            "images_with_faces": list(data.faces),
            "images_without_faces": [n for n in data.images if n not in data.faces],
            "lfw_crops": int(len(data.is_face)),
            "lfw_faces": int(data.is_face.sum()),
        },
        "original": {
            "weights": sum(_weights(original[n], _forced_layers(original[n])) for n in NETS),
            "layers": {n: _forced_layers(original[n]) for n in NETS},
            "accuracy": accuracy,
            "detections": {name: len(d) for name, d in baseline.items()},
        },
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 2),
    }


def _relative_error(a: nn.Module, b: nn.Module) -> float:
    errors = []
    for name in _forced_layers(a):
        w0 = a.get_submodule(name).weight.detach().double()
        w1 = b.get_submodule(name).weight.detach().double()
        errors.append(float(torch.linalg.vector_norm(w0 - w1) / torch.linalg.vector_norm(w0)))
    return max(errors)


__all__ = [
    "MATCH_IOU",
    "METHODS",
    "METHOD_NAMES",
    "ForcedConfig",
    "compare_detections",
    "lfw_crops",
    "lfw_mosaic",
    "run_forced",
    "slice_truncated",
    "spatial_converted",
    "spatial_mid",
]
