"""Weights read from the packages that ship them, checked against the packages' own code.

MTCNN: facenet_pytorch's PNet / RNet / ONet modules (imported behind a stand-in for the
torchvision names they never use).  ONNX: onnxruntime runs each network, and the
convolutions rebuilt from the weights sepconv read must give the outputs onnxruntime computes.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from _facenet import facenet_pytorch
from torch.nn import functional as F

from sepconv.study import _mtcnn, _zoo
from sepconv.study._bundled import bundled_image, lfw_subset
from sepconv.study._forced import lfw_crops

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("facenet_pytorch") is None or importlib.util.find_spec("onnx") is None,
    reason="the zoo extra is not installed (pip install 'sepconv[zoo]')",
)


@pytest.fixture(scope="module")
def astronaut():
    # The face and a margin: the cascade's proposals (and the reference NMS) stay few.
    return np.ascontiguousarray(bundled_image("astronaut")[:300, 60:380])


@pytest.fixture(scope="module")
def facenet(astronaut):
    """facenet_pytorch's P-, R- and O-Net, and its MTCNN.detect on the astronaut."""
    with facenet_pytorch() as module:
        nets = {"pnet": module.PNet(), "rnet": module.RNet(), "onet": module.ONet()}
        detected = module.MTCNN().detect(astronaut, landmarks=True)
    return nets, detected


def test_state_dicts_equal_facenet_pytorch_own_loaders(facenet):
    theirs = facenet[0]
    for name, net in theirs.items():
        ours = _mtcnn.load_net(name).state_dict()
        reference = net.state_dict()
        assert list(ours) == list(reference), name
        for key, value in reference.items():
            assert torch.equal(ours[key], value), (name, key)
        convs = _zoo.load_network(f"mtcnn-{name}").layers
        weights = {k[: -len(".weight")]: v for k, v in reference.items() if v.dim() == 4}
        assert [c.name for c in convs] == list(weights)
        for conv in convs:
            assert np.array_equal(conv.weight, weights[conv.name].numpy())


def test_rebuilt_mtcnn_reproduces_facenet_pytorch_outputs_on_images(facenet, astronaut):
    theirs = facenet[0]
    ours = _mtcnn.load_nets()
    image = torch.from_numpy(astronaut.astype(np.float32)).permute(2, 0, 1)[None]
    faces = lfw_subset()[0][:8]
    inputs = {
        # P-Net on two pyramid levels of the whole image, R- and O-Net on crops of it and on
        # LFW faces (odd sizes included, as the cascade resizes to 24 and 48).
        "pnet": [_mtcnn.normalise(F.interpolate(image, size=s, mode="area")) for s in (97, 160)],
        "rnet": [
            _mtcnn.normalise(F.interpolate(image[..., 50:180, 110:220], size=24, mode="area")),
            lfw_crops(faces, 24),
        ],
        "onet": [
            _mtcnn.normalise(F.interpolate(image[..., 50:180, 110:220], size=48, mode="area")),
            lfw_crops(faces, 48),
        ],
    }
    with torch.no_grad():
        for name, batches in inputs.items():
            for x in batches:
                expected, got = theirs[name](x), ours[name](x)
                assert len(expected) == len(got)
                for e, g in zip(expected, got):
                    torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


def test_cascade_matches_facenet_pytorch_mtcnn_detect(facenet, astronaut):
    boxes, probs, points = facenet[1]
    boxes, probs = np.asarray(boxes, dtype=float), np.asarray(probs, dtype=float)
    points = np.asarray(points, dtype=float)
    found = _mtcnn.detect_faces(astronaut, _mtcnn.load_nets())
    assert len(found) == len(boxes) == 1
    np.testing.assert_allclose(found.boxes, boxes, atol=1e-3)
    np.testing.assert_allclose(found.scores, probs, atol=1e-6)
    np.testing.assert_allclose(found.landmarks, points, atol=1e-3)


def _onnx_conv_outputs(path, names, x):
    """Each named Conv node's input and output, as onnxruntime computes them."""
    import onnx
    import onnxruntime

    model = onnx.load(str(path))
    nodes = {n.name: n for n in model.graph.node}
    wanted = [t for name in names for t in (nodes[name].input[0], nodes[name].output[0])]
    for tensor in wanted:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(tensor))
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    feed = {session.get_inputs()[0].name: x}
    values = session.run(wanted, feed)
    return nodes, dict(zip(wanted, values))


@pytest.mark.parametrize(
    ("key", "size", "picks"),
    [
        # YOLOv8n: the stem (stride 2), a C2f bottleneck, a detection-head convolution.
        ("yolov8n", 64, (0, 3, 38)),
        # PP-OCR: the stem, a 3x3 depthwise, a 5x5 depthwise with stride 2, a head 3x3.
        ("ppocr-det", 64, (0, 1, 11, 16)),
    ],
)
def test_onnx_weights_rebuild_the_convolutions_onnxruntime_runs(key, size, picks):
    network = _zoo.load_network(key)
    analysed = [c for c in network.layers if c.analysed]
    chosen = [analysed[i] for i in picks]
    x = np.random.default_rng(0).uniform(0, 1, (1, 3, size, size)).astype(np.float32)
    nodes, values = _onnx_conv_outputs(network.file, [c.name for c in chosen], x)
    import onnx

    tensors = _zoo.read_onnx_tensors(onnx.load(str(network.file)))
    kinds = set()
    for conv in chosen:
        node = nodes[conv.name]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        inp = torch.from_numpy(values[node.input[0]])
        inp = F.pad(inp, (pads[1], pads[3], pads[0], pads[2]))
        bias = torch.tensor(tensors[node.input[2]]) if len(node.input) > 2 else None
        out = F.conv2d(
            inp,
            torch.tensor(conv.weight),
            bias,
            stride=tuple(attrs.get("strides", [1, 1])),
            dilation=tuple(attrs.get("dilations", [1, 1])),
            groups=conv.groups,
        )
        expected = torch.from_numpy(values[node.output[0]])
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
        kinds.add(conv.kind)
    assert "dense" in kinds and (key != "ppocr-det" or "depthwise" in kinds)


def test_zoo_layers_and_kinds():
    ppocr = _zoo.load_network("ppocr-det")
    assert ppocr.describe()["package"].startswith("rapidocr-onnxruntime ")
    kinds = {c.kind for c in ppocr.layers if c.analysed}
    assert kinds == {"dense", "depthwise"}
    assert {c.kernel_size for c in ppocr.layers if c.kind == "depthwise"} == {(3, 3), (5, 5)}
    assert [c.depth for c in ppocr.layers] == list(range(len(ppocr.layers)))
    # The two 2x2 transposed convolutions of the head are read but not analysed.
    transposed = [c for c in ppocr.layers if c.op == "ConvTranspose"]
    assert len(transposed) == 2 and not any(c.analysed for c in transposed)
    yolo = _zoo.load_network("yolov8n")
    assert {c.kind for c in yolo.layers} == {"dense"}


def test_missing_package_says_how_to_install():
    with pytest.raises(_zoo.ZooMissingError, match=r"sepconv\[zoo\]"):
        _zoo.package_file("no_such_package_sepconv", "x.onnx")
    with pytest.raises(_zoo.ZooMissingError, match="has no nothing.pt"):
        _zoo.package_file("sepconv", "nothing.pt")
    with pytest.raises(ValueError, match="network must be one of"):
        _zoo.load_network("resnet")
