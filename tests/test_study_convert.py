"""sepconv.study._convert: converting a trained standard network with sepconv.nn.separate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sepconv.nn import DepthwiseSeparableConv2d, SpatialSeparableConv2d
from sepconv.study import StudyConfig, build_model, load_data, split_dataset
from sepconv.study._convert import conversion_settings, convert, run_conversion
from sepconv.study._models import BODY_CONVS
from sepconv.study._train import deterministic, train


@pytest.fixture(scope="module")
def trained():
    split = split_dataset(load_data(), seed=0)
    torch.manual_seed(0)
    model = build_model("standard", 3, 1, 10)
    with deterministic(1):
        train(
            model,
            split.images["train"],
            split.labels["train"],
            steps=30,
            batch_size=64,
            lr=0.01,
            weight_decay=0.0,
            augment=0,
            seed=0,
        )
    return model.eval(), split


@pytest.mark.parametrize(("kind", "setting"), [("depthwise", 9), ("spatial", 3)])
def test_full_rank_svd_conversion_reproduces_the_network(trained, kind, setting):
    # depthwise: min(out, 3*3) = 9 filters per channel; spatial: mid = 3 * in = full rank.
    model, split = trained
    converted, error = convert(model, kind, setting, "svd")
    assert error < 1e-5
    x = torch.from_numpy(split.images["test"][:50])
    with torch.no_grad():
        torch.testing.assert_close(converted.eval()(x), model(x), atol=1e-4, rtol=1e-4)


def test_conversion_replaces_only_the_body_and_leaves_the_base_alone(trained):
    model, _ = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    depthwise, _ = convert(model, "depthwise", 1, "svd")
    spatial, _ = convert(model, "spatial", 1, "random")
    for name in BODY_CONVS:
        assert isinstance(getattr(depthwise, name), DepthwiseSeparableConv2d)
        assert isinstance(getattr(spatial, name), SpatialSeparableConv2d)
        # mid_channels = 1 x in_channels: the spatial family's own architecture.
        assert getattr(spatial, name).vertical.out_channels == getattr(model, name).in_channels
    assert type(depthwise.stem) is torch.nn.Conv2d
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    reference = build_model("spatial", 3, 1, 10)
    assert [p.shape for p in spatial.parameters()] == [p.shape for p in reference.parameters()]


def test_run_conversion_reports_before_after_and_finetuned(trained):
    model, split = trained
    config = StudyConfig(widths=(3,), seeds=(0,), finetune_steps=3, batch_size=32)
    with deterministic(1):
        exact = run_conversion(model, split, config, "depthwise", 9, "svd", seed=0)
        rough = run_conversion(model, split, config, "depthwise", 1, "random", seed=0)
        again = run_conversion(model, split, config, "depthwise", 1, "random", seed=0)
    assert exact["acc_converted"] == pytest.approx(exact["acc_before"], abs=0.3)
    assert exact["error"] < 1e-5 and rough["error"] > 0.5
    assert rough["weights"] < exact["weights"]
    assert {k: v for k, v in rough.items() if k != "wall_s"} == {
        k: v for k, v in again.items() if k != "wall_s"
    }
    assert 0 <= rough["acc_finetuned"] <= 100 and np.isfinite(rough["acc_finetuned"])


def test_settings_pair_svd_with_data_aware_and_random():
    config = StudyConfig(convert_multipliers=(1, 4), convert_ranks=(2,))
    assert conversion_settings(config) == [
        ("depthwise", 1, "svd"),
        ("depthwise", 1, "data"),
        ("depthwise", 1, "random"),
        ("depthwise", 4, "svd"),
        ("depthwise", 4, "data"),
        ("depthwise", 4, "random"),
        ("spatial", 2, "svd"),
        ("spatial", 2, "data"),
        ("spatial", 2, "random"),
    ]


@pytest.mark.parametrize("kind", ["depthwise", "spatial"])
def test_data_aware_conversion_beats_weight_svd_right_after_conversion(trained, kind):
    model, split = trained
    calibration = torch.from_numpy(split.images["train"][:256])
    x = torch.from_numpy(split.images["test"])
    y = torch.from_numpy(split.labels["test"])
    with torch.no_grad():
        base = (model(x).argmax(1) == y).float().mean()
        accuracy = {}
        for init in ("svd", "data"):
            converted, _ = convert(model, kind, 1, init, calibration)
            accuracy[init] = (converted.eval()(x).argmax(1) == y).float().mean()
    # A width-3 network has no spare capacity: both lose accuracy, the fitted factors far less
    # (measured 30 % / 41 % against 13 % / 11 % for depthwise / spatial, 63 % before).
    assert accuracy["data"] > accuracy["svd"] + 0.15
    assert accuracy["data"] < base


def test_fine_tune_distils_the_original_unless_told_to_use_labels(trained, monkeypatch):
    from sepconv.study import _train

    model, split = trained
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    real_train = _train.train

    def spy(*args, **kwargs):
        seen.append((kwargs["teacher"], kwargs["temperature"]))
        return real_train(*args, **kwargs)

    monkeypatch.setattr(_train, "train", spy)
    common = {"widths": (3,), "seeds": (0,), "finetune_steps": 3, "batch_size": 32}
    with deterministic(1):
        run_conversion(model, split, StudyConfig(**common), "depthwise", 1, "svd", seed=0)
        run_conversion(
            model,
            split,
            StudyConfig(**common, finetune_temperature=None),
            "depthwise",
            1,
            "svd",
            seed=0,
        )
    assert seen[0] == (model, 4.0)
    assert seen[1][0] is None
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
