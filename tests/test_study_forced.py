"""MTCNN made separable (sepconv.study._forced) and the cascade's box arithmetic."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from sepconv.nn import SpatialSeparableConv2d
from sepconv.study import _forced, _mtcnn
from sepconv.study._spectra import slice_singular_values, slice_statistics

needs_zoo = pytest.mark.skipif(
    importlib.util.find_spec("facenet_pytorch") is None,
    reason="facenet-pytorch is not installed (pip install 'sepconv[zoo]')",
)


def _nms_reference(boxes, scores, threshold, method):
    """Greedy NMS with MTCNN's inclusive areas, one pair at a time."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    keep = []
    for i in order:
        ok = True
        for j in keep:
            w = max(0.0, min(boxes[i][2], boxes[j][2]) - max(boxes[i][0], boxes[j][0]) + 1)
            h = max(0.0, min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1]) + 1)
            area = [(b[2] - b[0] + 1) * (b[3] - b[1] + 1) for b in (boxes[i], boxes[j])]
            inter = w * h
            overlap = inter / (min(area) if method == "min" else sum(area) - inter)
            if overlap > threshold:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


@pytest.mark.parametrize("method", ["union", "min"])
def test_nms_and_iou_match_plain_loops(method):
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 50, (40, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(5, 30, (40, 2))], axis=1)
    scores = rng.permutation(40) / 40.0
    for threshold in (0.3, 0.5, 0.7):
        got = _mtcnn.nms(boxes, scores, threshold, method).tolist()
        assert got == _nms_reference(boxes.tolist(), scores.tolist(), threshold, method)
    iou = _mtcnn.box_iou(boxes[:5], boxes[5:9])
    for i in range(5):
        for j in range(4):
            a, b = boxes[i], boxes[5 + j]
            w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
            h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
            assert iou[i, j] == pytest.approx(w * h / union)


def test_compare_detections_matches_boxes_one_to_one():
    def det(boxes, scores):
        boxes = np.array(boxes, dtype=float)
        corners = np.repeat(boxes[:, None, :2], 5, axis=1)
        return _mtcnn.Detections(boxes, np.array(scores, dtype=float), corners)

    original = [det([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8]), det(np.zeros((0, 4)), [])]
    converted = [det([[1, 0, 11, 10]], [0.7]), det([[5, 5, 9, 9]], [0.95])]
    result = _forced.compare_detections(original, converted)
    assert (result["original"], result["converted"], result["matched"]) == (2, 2, 1)
    assert result["extra"] == 1 and result["recall"] == 0.5
    assert result["mean_iou"] == pytest.approx(90 / 110)
    assert result["score_difference"] == pytest.approx(0.2)
    assert result["landmark_error"] == pytest.approx(10.0)  # 1 pixel on a 10-pixel box


def test_spatial_mid_is_rank_times_inputs_up_to_full_rank():
    conv = torch.nn.Conv2d(16, 32, 3)
    assert [_forced.spatial_mid(conv, r) for r in (1, 2, 3, 4, "full")] == [16, 32, 48, 48, 48]
    assert _forced.spatial_mid(torch.nn.Conv2d(64, 128, 2), "full") == 128


@needs_zoo
def test_slice_truncation_makes_every_kernel_rank_r():
    pnet = _mtcnn.load_net("pnet")
    exact = _forced.slice_truncated(pnet, 3)
    for name in ("conv1", "conv2", "conv3"):
        torch.testing.assert_close(
            exact.get_submodule(name).weight, pnet.get_submodule(name).weight
        )
    rank1 = _forced.slice_truncated(pnet, 1)
    stats = slice_statistics(slice_singular_values(rank1.conv2.weight.detach().numpy()))
    assert stats["rank1_share_1"] == 1.0
    assert not torch.equal(rank1.conv2.weight, pnet.conv2.weight)


@needs_zoo
def test_full_rank_spatial_conversion_is_exact_and_rank_one_is_smaller():
    onet = _mtcnn.load_net("onet")
    x = torch.randn(4, 3, 48, 48)
    full, error = _forced.spatial_converted(onet, "full", "svd", None)
    assert error < 1e-5
    assert all(
        isinstance(full.get_submodule(n), SpatialSeparableConv2d)
        for n in ("conv1", "conv2", "conv3", "conv4")
    )
    with torch.no_grad():
        for got, expected in zip(full(x), onet(x)):
            torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    small, error = _forced.spatial_converted(onet, 1, "svd", None)
    assert small.conv2.mid_channels == 32 and error > 0.1


@needs_zoo
def test_tiny_experiment_rows_are_consistent():
    config = _forced.ForcedConfig(
        ranks=(1,),
        full_rank=("svd",),
        calibration_images=("coins",),
        face_images=("astronaut",),
        negative_images=("text",),
        mosaic_faces=4,
        max_crops=64,
    )
    result = _forced.run_forced(config)
    rows = {(r["method"], r["rank"]): r for r in result["rows"]}
    assert list(rows) == [("slice", 1), ("svd", 1), ("data", 1), ("svd", "full")]
    assert result["original"]["detections"] == {"astronaut": 1, "text": 0, "lfw mosaic": 4}
    assert result["evaluation"]["lfw_crops"] == 100
    exact = rows["svd", "full"]
    assert exact["weight_error"] < 1e-5
    assert exact["faces"]["recall"] == 1.0 and exact["faces"]["mean_iou"] == pytest.approx(1.0)
    assert all(exact["crops"][n]["agreement"] == 1.0 for n in _mtcnn.NETS)
    for key in (("svd", 1), ("data", 1)):
        row = rows[key]
        assert row["weights"] < result["original"]["weights"]
        for net in _mtcnn.NETS:
            assert 0.0 <= row["crops"][net]["agreement"] <= 1.0
    assert rows["slice", 1]["weights"] == result["original"]["weights"]  # stored dense
    # The data-aware fit keeps more of P-Net's decisions than weight-space SVD at rank 1.
    assert (
        rows["data", 1]["crops"]["pnet"]["probability_difference"]
        < rows["svd", 1]["crops"]["pnet"]["probability_difference"]
    )
