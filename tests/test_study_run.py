"""sepconv.study._run: a tiny study end to end, determinism, the cache, Ctrl-C, other data."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from sepconv.study import OUTPUT_FILES, StudyConfig, _train, run_study

TINY = StudyConfig(
    widths=(2, 3),
    seeds=(0, 1),
    steps=4,
    batch_size=32,
    convert_width=2,
    convert_multipliers=(1,),
    convert_ranks=(1,),
    convert_seeds=1,
    finetune_steps=2,
)
N_RUNS = 3 * 2 * 2
N_CONVERSIONS = 6  # (depthwise, spatial) x (svd, data, random)


def _numbers(result):
    """Everything a study measured except wall-clock times."""
    strip = lambda rows: [{k: v for k, v in r.items() if not k.startswith("wall")} for r in rows]  # noqa: E731
    return strip(result.runs), strip(result.summary), strip(result.conversion_runs)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    return out, run_study(TINY, out)


def test_tiny_study_writes_every_output(tiny):
    out, result = tiny
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    data = json.loads((out / "results.json").read_text())
    assert data["complete"] is True
    assert len(data["runs"]) == N_RUNS and len(data["summary"]) == 6
    assert len(data["conversion"]["runs"]) == N_CONVERSIONS
    assert data["config"]["widths"] == [2, 3] and data["dataset"]["name"] == "digits"
    assert data["finding"]["text"] and data["finding"]["claim"] in (
        "supported",
        "partly supported",
        "not supported",
    )
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [(r["family"], r["width"]) for r in rows] == [
        (f, w) for f in ("standard", "depthwise", "spatial") for w in ("2", "3")
    ]
    assert len(list(csv.DictReader((out / "runs.csv").open()))) == N_RUNS
    assert len(list(csv.DictReader((out / "conversion.csv").open()))) == N_CONVERSIONS
    split = json.loads((out / "split.json").read_text())
    assert split["seed"] == 0 and sum(split["sizes"].values()) == 1797
    assert (out / "study.png").read_bytes().startswith(b"\x89PNG")
    assert result.trained == N_RUNS + N_CONVERSIONS and result.cached == 0


def test_results_are_sane(tiny):
    _, result = tiny
    for run in result.runs:
        assert 0 <= run["test_acc"] <= 100 and np.isfinite(run["train_loss"])
    by = {(r["family"], r["width"]): r for r in result.summary}
    assert (
        by["depthwise", 3]["weights"] < by["spatial", 3]["weights"] < by["standard", 3]["weights"]
    )
    assert by["standard", 2]["macs"] < by["standard", 3]["macs"]


def test_same_numbers_twice(tiny, tmp_path):
    _, first = tiny
    second = run_study(TINY, tmp_path)
    assert second.trained == N_RUNS + N_CONVERSIONS
    assert _numbers(first) == _numbers(second)


def test_cache_skips_finished_runs_and_force_redoes_them(tiny, monkeypatch):
    out, first = tiny
    calls = []
    real = _train.train
    monkeypatch.setattr(_train, "train", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = run_study(TINY, out)
    assert (again.trained, again.cached, len(calls)) == (0, N_RUNS + N_CONVERSIONS, 0)
    assert _numbers(again) == _numbers(first)
    forced = run_study(TINY, out, force=True)
    assert forced.trained == N_RUNS + N_CONVERSIONS == len(calls)
    assert _numbers(forced) == _numbers(first)


def test_every_family_keeps_its_weights_at_the_conversion_width(tiny, tmp_path):
    import torch

    from sepconv.study import build_model

    out, result = tiny
    kept = {(r["family"], r["width"]) for r in result.runs if result.weights_path(r)}
    assert kept == {(f, 2) for f in ("standard", "depthwise", "spatial")}
    run = next(r for r in result.runs if r["family"] == "depthwise" and r["width"] == 2)
    model = build_model("depthwise", 2, 1, 10)
    model.load_state_dict(torch.load(result.weights_path(run), weights_only=True))
    # A second study elsewhere that shares the cache trains nothing.
    shared = run_study(TINY, tmp_path / "other", cache=out / "runs")
    assert shared.trained == 0 and shared.cache_dir == out / "runs"
    assert not (tmp_path / "other" / "runs").exists()


def test_a_changed_setting_is_a_new_configuration(tiny):
    out, _ = tiny
    more = StudyConfig(
        families=("standard",),
        widths=(2,),
        seeds=(0,),
        steps=5,
        batch_size=32,
        convert_multipliers=(),
        convert_ranks=(),
    )
    result = run_study(more, out)
    assert result.trained == 1
    assert len(list((out / "runs").glob("standard-w2-s0-*.json"))) == 2


def test_interrupt_keeps_finished_runs(tmp_path, monkeypatch):
    real = _train.train
    calls = []

    def interrupt_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_train, "train", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        run_study(TINY, tmp_path)
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2
    partial = json.loads((tmp_path / "results.json").read_text())
    assert partial["complete"] is False and len(partial["runs"]) == 2
    monkeypatch.setattr(_train, "train", real)
    resumed = run_study(TINY, tmp_path)
    assert resumed.cached == 2 and resumed.trained == N_RUNS + N_CONVERSIONS - 2


def _tiny_other():
    return StudyConfig(
        families=("standard", "depthwise"),
        widths=(2,),
        seeds=(0,),
        steps=3,
        batch_size=8,
        convert_multipliers=(1,),
        convert_ranks=(),
        finetune_steps=1,
    )


def test_study_on_a_folder_of_images(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("circle", "cross", "empty"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels, "RGB").save(tmp_path / "data" / name / f"{i}.png")
    result = run_study(_tiny_other(), tmp_path / "out", tmp_path / "data")
    assert result.dataset["classes"] == ["circle", "cross", "empty"]
    assert result.dataset["image_shape"] == [3, 6, 6]
    split = json.loads((tmp_path / "out" / "split.json").read_text())
    assert sorted(sum(split["files"].values(), [])) == sorted(
        f"{c}/{i}.png" for c in ("circle", "cross", "empty") for i in range(5)
    )
    assert len(result.runs) == 2 and len(result.conversion_runs) == 3


def test_study_on_npz_arrays(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x=rng.random((12, 5, 5)), y=np.arange(12) % 2)
    result = run_study(_tiny_other(), tmp_path / "out", tmp_path / "d.npz")
    assert result.dataset["name"] == "d" and result.dataset["per_class"] == [6, 6]
    assert (tmp_path / "out" / "results.json").is_file()


def test_bad_data_fails_before_any_training(tmp_path, monkeypatch):
    monkeypatch.setattr(_train, "train", lambda *a, **k: pytest.fail("trained on bad data"))
    (tmp_path / "data" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="only one class|contains no images"):
        run_study(_tiny_other(), tmp_path / "out", tmp_path / "data")
    assert not (tmp_path / "out").exists()
