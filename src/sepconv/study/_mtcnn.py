"""MTCNN (Zhang et al., 2016) in plain PyTorch, from the weights ``facenet-pytorch`` ships.

The three networks have the layer names of ``facenet_pytorch.models.mtcnn`` so that its
state dicts load as they are; the cascade (image pyramid, P-Net proposals, R-Net and O-Net
refinement, non-maximum suppression) follows ``facenet_pytorch``'s ``detect_face`` for one
image, with NumPy's boxes instead of ``torchvision.ops``.  Nothing here imports
``facenet_pytorch`` (whose import needs ``torchvision``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ._zoo import package_file, read_state_dict

#: The networks, smallest first, and the square input each was trained on.
NETS: tuple[str, ...] = ("pnet", "rnet", "onet")
INPUT_SIZE = {"pnet": 12, "rnet": 24, "onet": 48}
#: ``facenet_pytorch.MTCNN``'s defaults: face-probability thresholds of the three stages,
#: smallest face searched for (pixels) and the pyramid's scale factor.
THRESHOLDS: tuple[float, float, float] = (0.6, 0.7, 0.7)
MIN_FACE = 20
FACTOR = 0.709


def normalise(images: torch.Tensor) -> torch.Tensor:
    """Pixel values 0..255 to the nets' input range, as MTCNN does: ``(x - 127.5) / 128``."""
    return (images - 127.5) * 0.0078125


class PNet(nn.Module):
    """Proposal net: fully convolutional, one 12x12 window every 2 pixels.

    ``forward`` returns ``(box regression (N, 4, h, w), probabilities (N, 2, h, w))``; channel 1
    of the probabilities is "face".
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, 3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, 3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), F.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    """Refinement net on 24x24 crops: ``(box regression (N, 4), probabilities (N, 2))``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, 3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, 3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, 2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        # The weights came from a framework that flattens (W, H, C): keep its order.
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return self.dense5_2(x), F.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    """Output net on 48x48 crops: ``(box regression (N, 4), landmarks (N, 10), probs (N, 2))``.

    The landmarks are five x then five y coordinates, as fractions of the crop's size.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, 2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)))
        return self.dense6_2(x), self.dense6_3(x), F.softmax(self.dense6_1(x), dim=1)


_CLASSES: dict[str, type[nn.Module]] = {"pnet": PNet, "rnet": RNet, "onet": ONet}


def load_net(name: str) -> nn.Module:
    """One of MTCNN's nets with the weights of ``facenet_pytorch/data/NAME.pt``, in eval mode.

    Examples
    --------
    >>> import torch
    >>> pnet = load_net("pnet")  # doctest: +SKIP
    >>> [t.shape for t in pnet(torch.zeros(1, 3, 12, 12))]  # doctest: +SKIP
    [torch.Size([1, 4, 1, 1]), torch.Size([1, 2, 1, 1])]
    """
    if name not in _CLASSES:
        raise ValueError(f"name must be one of {NETS}, got {name!r}")
    net = _CLASSES[name]()
    path = package_file("facenet_pytorch", f"data/{name}.pt", "facenet-pytorch")
    state = {k: torch.from_numpy(v) for k, v in read_state_dict(path).items()}
    net.load_state_dict(state)
    return net.eval()


def load_nets() -> dict[str, nn.Module]:
    """P-, R- and O-Net with their trained weights."""
    return {name: load_net(name) for name in NETS}


def face_probability(name: str, net: nn.Module, crops: torch.Tensor) -> np.ndarray:
    """Each crop's face probability (for P-Net: its largest over the output map)."""
    with torch.no_grad():
        prob = net(crops)[-1][:, 1]
    return prob.reshape(len(crops), -1).amax(dim=1).numpy().astype(np.float64)


@dataclass(frozen=True)
class Detections:
    """Faces found in one image.

    Attributes
    ----------
    boxes : ndarray, shape (N, 4)
        ``x1, y1, x2, y2`` in pixels.
    scores : ndarray, shape (N,)
        O-Net's face probability.
    landmarks : ndarray, shape (N, 5, 2)
        Eyes, nose and mouth corners, ``(x, y)`` in pixels.
    """

    boxes: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def nms(
    boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union"
) -> np.ndarray:
    """Greedy non-maximum suppression; the indices kept, best first.

    A box is dropped when its overlap with a kept, better box exceeds ``threshold``: the
    intersection over the union (``"union"``) or over the smaller box (``"min"``), with MTCNN's
    inclusive pixel areas ``(x2 - x1 + 1) * (y2 - y1 + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> boxes = np.array([[0, 0, 9, 9], [1, 1, 10, 10], [20, 20, 29, 29]], dtype=float)
    >>> nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
    [0, 2]
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    keep: list[int] = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        if method == "min":
            overlap = inter / np.minimum(area[i], area[rest])
        else:
            overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=np.int64)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box of ``a`` with every box of ``b`` (``x1, y1, x2, y2``).

    Examples
    --------
    >>> import numpy as np
    >>> box_iou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2], [5.0, 5, 6, 6]]))
    array([[0.33333333, 0.        ]])
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _square(boxes: np.ndarray) -> np.ndarray:
    # MTCNN's "rerec": the smallest square around each box, same centre.
    out = boxes.copy()
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    side = np.maximum(w, h)
    out[:, 0] += w * 0.5 - side * 0.5
    out[:, 1] += h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    # MTCNN's "bbreg": offsets as fractions of the inclusive box size.
    out = boxes.copy()
    w = out[:, 2] - out[:, 0] + 1
    h = out[:, 3] - out[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _crops(image: torch.Tensor, boxes: np.ndarray, size: int) -> tuple[torch.Tensor, np.ndarray]:
    """The boxes cut from ``image`` (1, 3, H, W), clipped to it, resized to ``size``.

    Returns the normalised crops and the mask of boxes that kept any pixel.
    """
    h, w = image.shape[2:]
    ints = np.trunc(boxes[:, :4]).astype(np.int64)
    x, y = np.maximum(ints[:, 0], 1), np.maximum(ints[:, 1], 1)
    ex, ey = np.minimum(ints[:, 2], w), np.minimum(ints[:, 3], h)
    valid = (ey > y - 1) & (ex > x - 1)
    crops = [
        F.interpolate(
            image[:, :, y[k] - 1 : ey[k], x[k] - 1 : ex[k]], size=(size, size), mode="area"
        )
        for k in np.flatnonzero(valid)
    ]
    if not crops:
        return torch.zeros(0, 3, size, size), valid
    return normalise(torch.cat(crops)), valid


@torch.no_grad()
def detect_faces(
    image: np.ndarray,
    nets: dict[str, nn.Module],
    *,
    min_face: int = MIN_FACE,
    thresholds: tuple[float, float, float] = THRESHOLDS,
    factor: float = FACTOR,
    record: dict[str, list[torch.Tensor]] | None = None,
) -> Detections:
    """Run the three-stage cascade on one RGB image ``(H, W, 3)`` of values 0..255.

    Parameters
    ----------
    image : ndarray
        ``uint8`` (or float 0..255) RGB pixels.
    nets : dict
        ``{"pnet": ..., "rnet": ..., "onet": ...}``, e.g. :func:`load_nets` or converted
        copies of them.
    min_face, thresholds, factor
        As ``facenet_pytorch.MTCNN``'s ``min_face_size``, ``thresholds`` and ``factor``.
    record : dict, optional
        Filled with what each net is given: ``record[name]`` gets one batch per call
        (P-Net: each pyramid level; R- and O-Net: their crops), e.g. as calibration data.

    Returns
    -------
    Detections
    """
    pnet, rnet, onet = (nets[name] for name in NETS)
    img = torch.from_numpy(np.array(image, dtype=np.float32))
    img = img.permute(2, 0, 1)[None]
    h, w = img.shape[2:]
    empty = Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))

    def run(name: str, net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if record is not None:
            record.setdefault(name, []).append(x)
        return net(x)

    scale = 12.0 / min_face
    side = min(h, w) * scale
    proposals = []
    while side >= 12:
        size = (int(h * scale + 1), int(w * scale + 1))
        reg, probs = run("pnet", pnet, normalise(F.interpolate(img, size=size, mode="area")))
        prob = probs[0, 1].numpy()
        ys, xs = np.nonzero(prob >= thresholds[0])
        if len(ys):
            # Window (x, y) of the 2-pixel-stride, 12-pixel output grid, back in the image.
            q1 = np.floor((2 * np.stack([xs, ys], 1) + 1) / scale)
            q2 = np.floor((2 * np.stack([xs, ys], 1) + 12) / scale)
            offsets = reg[0].numpy()[:, ys, xs].T
            boxes = np.concatenate([q1, q2, prob[ys, xs, None], offsets], axis=1)
            proposals.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
        scale *= factor
        side *= factor
    if not proposals:
        return empty
    boxes = np.concatenate(proposals)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    wh = boxes[:, 2:4] - boxes[:, 0:2]
    boxes = np.concatenate([boxes[:, :4] + boxes[:, 5:9] * np.tile(wh, 2), boxes[:, 4:5]], 1)
    boxes = _square(boxes)

    crops, valid = _crops(img, boxes, 24)
    boxes = boxes[valid]
    if not len(boxes):
        return empty
    reg, probs = run("rnet", rnet, crops)
    score = probs[:, 1].numpy()
    keep = score > thresholds[1]
    boxes = np.concatenate([boxes[keep, :4], score[keep, None]], 1)
    reg = reg.numpy()[keep]
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = _square(_regress(boxes[pick], reg[pick]))

    crops, valid = _crops(img, boxes, 48)
    boxes = boxes[valid]
    if not len(boxes):
        return empty
    reg, points, probs = run("onet", onet, crops)
    score = probs[:, 1].numpy()
    keep = score > thresholds[2]
    boxes = np.concatenate([boxes[keep, :4], score[keep, None]], 1)
    reg, points = reg.numpy()[keep], points.numpy()[keep]
    bw = boxes[:, 2] - boxes[:, 0] + 1
    bh = boxes[:, 3] - boxes[:, 1] + 1
    px = bw[:, None] * points[:, :5] + boxes[:, 0:1] - 1
    py = bh[:, None] * points[:, 5:] + boxes[:, 1:2] - 1
    landmarks = np.stack([px, py], axis=2)
    boxes = _regress(boxes, reg)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7, "min")
    return Detections(boxes[pick, :4], boxes[pick, 4], landmarks[pick])


__all__ = [
    "FACTOR",
    "INPUT_SIZE",
    "MIN_FACE",
    "NETS",
    "THRESHOLDS",
    "Detections",
    "ONet",
    "PNet",
    "RNet",
    "box_iou",
    "detect_faces",
    "face_probability",
    "load_net",
    "load_nets",
    "nms",
    "normalise",
]
