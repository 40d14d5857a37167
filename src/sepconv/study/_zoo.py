"""Trained convolution weights that ship inside installable packages (no download).

* MTCNN's P-, R- and O-Net (Zhang et al., 2016) as PyTorch state dicts in
  ``facenet_pytorch/data/`` (``facenet-pytorch``);
* YOLOv8n (Ultralytics) as ``nudenet/320n.onnx`` (``nudenet``; batch norm folded into the
  convolutions, which scales each output channel and changes no slice's rank or relative
  error);
* PP-OCRv4's text detector as ``rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx``
  (``rapidocr-onnxruntime``; its weights are ``Constant`` nodes, not initializers).

The files are found without importing the packages: ``facenet_pytorch`` imports
``torchvision`` and ``rapidocr_onnxruntime`` OpenCV at import time, and neither is needed to
read a weight.  ONNX tensors are read with ``onnx.numpy_helper``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._spectra import ConvWeight

#: How to install every package this module reads (no torchvision, no opencv-python).
INSTALL_HINT = (
    "install the zoo extra: pip install 'sepconv[zoo]' (facenet-pytorch and "
    "rapidocr-onnxruntime with --no-deps, see the README)"
)


class ZooMissingError(ImportError):
    """A package that ships the weights (or ``onnx`` to read them) is not installed."""


@dataclass(frozen=True)
class ZooSource:
    """Where one network's weights live.

    Attributes
    ----------
    key : str
        Short name used in ``kernels.json``.
    title : str
        What a reader calls the network.
    distribution, module, path : str
        The pip distribution, its import name and the file inside the module's folder.
    format : str
        ``"state_dict"`` (``torch.save`` of a state dict) or ``"onnx"``.
    task : str
        What the network was trained for, in a few words.
    """

    key: str
    title: str
    distribution: str
    module: str
    path: str
    format: str
    task: str


#: The networks the zoo reads, in report order.
ZOO: tuple[ZooSource, ...] = (
    ZooSource(
        "mtcnn-pnet",
        "MTCNN P-Net",
        "facenet-pytorch",
        "facenet_pytorch",
        "data/pnet.pt",
        "state_dict",
        "face proposals, 12x12 windows",
    ),
    ZooSource(
        "mtcnn-rnet",
        "MTCNN R-Net",
        "facenet-pytorch",
        "facenet_pytorch",
        "data/rnet.pt",
        "state_dict",
        "face / not face, 24x24 crops",
    ),
    ZooSource(
        "mtcnn-onet",
        "MTCNN O-Net",
        "facenet-pytorch",
        "facenet_pytorch",
        "data/onet.pt",
        "state_dict",
        "face / not face, box and 5 landmarks, 48x48 crops",
    ),
    ZooSource(
        "yolov8n",
        "YOLOv8n",
        "nudenet",
        "nudenet",
        "320n.onnx",
        "onnx",
        "object detection (NudeNet's classes), 320x320",
    ),
    ZooSource(
        "ppocr-det",
        "PP-OCRv4 text detector",
        "rapidocr-onnxruntime",
        "rapidocr_onnxruntime",
        "models/ch_PP-OCRv4_det_infer.onnx",
        "onnx",
        "text segmentation (DB head), MobileNetV3-style backbone",
    ),
)

ZOO_KEYS: tuple[str, ...] = tuple(source.key for source in ZOO)


@dataclass(frozen=True, eq=False)
class ZooNetwork:
    """One network's convolutions as read from its package."""

    source: ZooSource
    version: str
    file: Path
    layers: tuple[ConvWeight, ...] = field(default=())

    def describe(self) -> dict[str, Any]:
        """Where the weights came from, for ``kernels.json``."""
        s = self.source
        return {
            "key": s.key,
            "title": s.title,
            "task": s.task,
            "package": f"{s.distribution} {self.version}",
            "file": f"{s.module}/{s.path}",
            "format": s.format,
        }


def source(key: str) -> ZooSource:
    """The :class:`ZooSource` named ``key``; a ``ValueError`` listing the names otherwise."""
    for item in ZOO:
        if item.key == key:
            return item
    raise ValueError(f"network must be one of {ZOO_KEYS}, got {key!r}")


def package_file(module: str, path: str, distribution: str | None = None) -> Path:
    """The file ``path`` inside the installed package ``module``, without importing it.

    Raises
    ------
    ZooMissingError
        When the package is not installed or lacks the file.

    Examples
    --------
    >>> package_file("sepconv", "__init__.py").name
    '__init__.py'
    """
    spec = importlib.util.find_spec(module)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if not folders:
        name = distribution or module
        raise ZooMissingError(f"{name} is not installed; {INSTALL_HINT}")
    for folder in folders:
        candidate = Path(folder) / path
        if candidate.is_file():
            return candidate
    raise ZooMissingError(
        f"{module} is installed but has no {path} (looked in {', '.join(folders)}); "
        f"reinstall it: {INSTALL_HINT}"
    )


def load_network(key: str) -> ZooNetwork:
    """Read every convolution of the zoo network ``key`` (see :data:`ZOO_KEYS`).

    Examples
    --------
    >>> net = load_network("mtcnn-pnet")  # doctest: +SKIP
    >>> [(layer.name, layer.weight.shape) for layer in net.layers][:1]  # doctest: +SKIP
    [('conv1', (10, 3, 3, 3))]
    """
    item = source(key)
    path = package_file(item.module, item.path, item.distribution)
    try:
        version = importlib.metadata.version(item.distribution)
    except importlib.metadata.PackageNotFoundError:  # a copy on the path, not installed
        version = "unknown"
    reader: Callable[[Path], list[ConvWeight]] = (
        read_state_dict_convs if item.format == "state_dict" else read_onnx_convs
    )
    return ZooNetwork(item, version, path, tuple(reader(path)))


def read_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A ``torch.save``-d state dict as float arrays (read with ``weights_only=True``)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.detach().numpy() for k, v in state.items() if isinstance(v, torch.Tensor)}


def read_state_dict_convs(path: Path) -> list[ConvWeight]:
    """The 4-D weights of a state dict, in the order stored (the order the modules run).

    All are ordinary convolutions (``groups=1``): a state dict does not record groups, and
    the MTCNN nets have none.
    """
    weights = [
        (key[: -len(".weight")], value)
        for key, value in read_state_dict(path).items()
        if key.endswith(".weight") and value.ndim == 4
    ]
    return [ConvWeight(name, w, 1, depth) for depth, (name, w) in enumerate(weights)]


def read_onnx_tensors(model: Any) -> dict[str, np.ndarray]:
    """Every constant tensor of an ONNX graph: its initializers and ``Constant`` nodes."""
    from onnx import numpy_helper

    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    tensors[node.output[0]] = numpy_helper.to_array(attribute.t)
    return tensors


def read_onnx_convs(path: Path) -> list[ConvWeight]:
    """The ``Conv`` and ``ConvTranspose`` weights of an ONNX file, in graph order.

    ONNX lists nodes in topological order, which is an order the convolutions can run in.
    """
    try:
        import onnx
    except ImportError:
        raise ZooMissingError(f"reading ONNX weights needs onnx; {INSTALL_HINT}") from None
    model = onnx.load(str(path))
    tensors = read_onnx_tensors(model)
    layers: list[ConvWeight] = []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        weight = tensors.get(node.input[1])
        if weight is None or weight.ndim != 4:
            continue  # a weight computed at run time, or not 2-D: nothing to read
        groups = next(
            (onnx.helper.get_attribute_value(a) for a in node.attribute if a.name == "group"), 1
        )
        name = node.name or node.output[0]
        layers.append(ConvWeight(name, weight, int(groups), len(layers), node.op_type))
    return layers


__all__ = [
    "INSTALL_HINT",
    "ZOO",
    "ZOO_KEYS",
    "ZooMissingError",
    "ZooNetwork",
    "ZooSource",
    "load_network",
    "package_file",
    "read_onnx_convs",
    "read_onnx_tensors",
    "read_state_dict",
    "read_state_dict_convs",
    "source",
]
