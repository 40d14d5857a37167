"""facenet_pytorch imported behind a stand-in for the torchvision names it imports.

``facenet_pytorch`` imports ``torchvision.transforms.functional`` and
``torchvision.ops.boxes.batched_nms`` at module level; torchvision is not installed (its
wheel breaks other imports here) and MTCNN's nets do not use either.  The stand-in gives
``batched_nms`` a brute-force implementation of torchvision's documented rule (drop a box
whose IoU with a kept, higher-scoring box of the same index exceeds the threshold; areas
``(x2 - x1) * (y2 - y1)``), so that ``MTCNN.detect`` runs too.  Everything is removed from
``sys.modules`` afterwards.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import torch


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """torchvision's rule: visit boxes by falling score; keep one unless a kept box overlaps it."""
    b = boxes.detach().double().numpy()
    s = scores.detach().double().numpy()
    groups = idxs.detach().numpy()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep: list[int] = []
    for i in np.argsort(-s, kind="stable"):
        k = np.array(keep, dtype=np.int64)
        k = k[groups[k] == groups[i]]
        w = np.clip(np.minimum(b[i, 2], b[k, 2]) - np.maximum(b[i, 0], b[k, 0]), 0, None)
        h = np.clip(np.minimum(b[i, 3], b[k, 3]) - np.maximum(b[i, 1], b[k, 1]), 0, None)
        inter = w * h
        if not np.any(inter / (area[i] + area[k] - inter) > iou_threshold):
            keep.append(int(i))
    return torch.as_tensor(np.array(keep, dtype=np.int64))


def _module(name: str, **attributes: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attributes)
    return module


@contextmanager
def facenet_pytorch() -> Iterator[types.ModuleType]:
    """``import facenet_pytorch`` with the stand-in; skips when facenet-pytorch is missing."""
    if importlib.util.find_spec("facenet_pytorch") is None:
        pytest.skip("facenet-pytorch is not installed (pip install 'sepconv[zoo]')")
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed: the stand-in would shadow it")
    stubs = {
        "torchvision": _module("torchvision"),
        "torchvision.transforms": _module("torchvision.transforms"),
        "torchvision.transforms.functional": _module("torchvision.transforms.functional"),
        "torchvision.ops": _module("torchvision.ops"),
        "torchvision.ops.boxes": _module("torchvision.ops.boxes", batched_nms=batched_nms),
    }
    before = set(sys.modules)
    sys.modules.update(stubs)
    try:
        import facenet_pytorch as module

        yield module
    finally:
        for name in set(sys.modules) - before:
            if name.startswith(("facenet_pytorch", "torchvision")):
                del sys.modules[name]
