"""sepconv.study._data: the digits, folder and .npz loaders, their checks, and the split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sepconv.study import load_data, split_dataset


def _write_folder(root, classes=("cat", "dog"), per_class=4, size=(6, 5), mode="L", seed=0):
    rng = np.random.default_rng(seed)
    truth = {}
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(root / name / f"{i}.png")
            truth[f"{name}/{i}.png"] = pixels
    return truth


def test_digits_are_sklearns_digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    loaded = load_data()
    assert loaded.images.shape == (1797, 1, 8, 8) and loaded.images.dtype == np.float32
    np.testing.assert_array_equal(loaded.images[:, 0], data.images)
    np.testing.assert_array_equal(loaded.labels, data.target)
    assert loaded.classes == tuple(str(i) for i in range(10))


def test_folder_loader_reads_every_grey_image_with_its_class(tmp_path):
    truth = _write_folder(tmp_path / "set")
    data = load_data(tmp_path / "set")
    assert data.classes == ("cat", "dog")
    assert data.images.shape == (8, 1, 5, 6)
    for image, label, name in zip(data.images, data.labels, data.files):
        assert name.startswith(data.classes[label])
        np.testing.assert_array_equal(image[0], truth[name.replace("\\", "/")])


def test_folder_loader_reads_colour_as_three_channels(tmp_path):
    truth = _write_folder(tmp_path / "set", mode="RGB", size=(4, 4))
    data = load_data(tmp_path / "set")
    assert data.images.shape == (8, 3, 4, 4)
    np.testing.assert_array_equal(data.images[0].transpose(1, 2, 0), truth[data.files[0]])


def test_npz_loader_accepts_channels_last_and_string_labels(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.random((9, 5, 4, 3)).astype(np.float32)
    y = np.array(["b", "a", "c"] * 3)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = load_data(tmp_path / "d.npz")
    assert data.classes == ("a", "b", "c")
    np.testing.assert_array_equal(data.images, x.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(np.array(data.classes)[data.labels], y)


def test_npz_loader_accepts_grey_arrays(tmp_path):
    x = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    np.savez(tmp_path / "g.npz", x=x, y=[0, 1, 0, 1, 0, 1])
    data = load_data(tmp_path / "g.npz")
    np.testing.assert_array_equal(data.images[:, 0], x)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: p, "no class sub-folders"),
        (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "neither a folder nor"),
    ],
)
def test_bad_paths_are_named_with_a_fix(tmp_path, make, message):
    with pytest.raises(ValueError, match=message) as info:
        load_data(make(tmp_path))
    assert "data:" in str(info.value)


def test_loose_images_get_a_hint_to_make_class_folders(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(ValueError, match="1 image.*directly.*one sub-folder per class"):
        load_data(tmp_path)


def test_one_class_is_rejected(tmp_path):
    _write_folder(tmp_path, classes=("only",))
    with pytest.raises(ValueError, match="only one class \\('only'\\)"):
        load_data(tmp_path)


def test_empty_class_folder_is_named(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty.*contains no images"):
        load_data(tmp_path)


def test_unreadable_image_is_named(tmp_path):
    _write_folder(tmp_path)
    (tmp_path / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read 1 image.*broken.png"):
        load_data(tmp_path)


def test_mixed_sizes_are_rejected_with_both_sizes(tmp_path):
    _write_folder(tmp_path)
    Image.fromarray(np.zeros((7, 9), np.uint8)).save(tmp_path / "cat" / "big.png")
    with pytest.raises(ValueError, match="2 different sizes.*6x5.*9x7.*resize"):
        load_data(tmp_path)


def test_too_few_images_per_class_is_rejected(tmp_path):
    _write_folder(tmp_path, per_class=2)
    with pytest.raises(ValueError, match="at least 3 images"):
        load_data(tmp_path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((4, 3, 3)), "y": np.zeros(4)}, "lacks array.*'x'"),
        ({"x": np.zeros((6, 3, 8, 8)), "y": np.arange(6) % 2}, "channels-first"),
        ({"x": np.zeros((6, 8)), "y": np.arange(6) % 2}, "must have shape"),
        ({"x": np.zeros((6, 4, 4)), "y": np.arange(5) % 2}, "one label per image"),
        ({"x": np.full((6, 4, 4), np.nan), "y": np.arange(6) % 2}, "NaN"),
        ({"x": np.zeros((6, 4, 4)), "y": np.zeros(6)}, "only one class"),
        ({"x": np.zeros((6, 1, 4)), "y": np.arange(6) % 2}, "at least 2x2"),
    ],
)
def test_bad_npz_arrays_are_explained(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        load_data(tmp_path / "bad.npz")


def test_split_is_stratified_disjoint_complete_and_seeded():
    data = load_data()
    split = split_dataset(data, seed=3)
    parts = [split.indices[k] for k in ("train", "val", "test")]
    joined = np.concatenate(parts)
    assert len(np.unique(joined)) == len(joined) == len(data.labels)
    for part in parts[1:]:
        counts = np.bincount(data.labels[part], minlength=10)
        expected = np.round(np.bincount(data.labels) * 0.2)
        np.testing.assert_array_equal(counts, expected)
    again = split_dataset(data, seed=3)
    other = split_dataset(data, seed=4)
    np.testing.assert_array_equal(again.indices["test"], split.indices["test"])
    assert not np.array_equal(other.indices["test"], split.indices["test"])


def test_split_normalises_with_training_statistics_only():
    data = load_data()
    split = split_dataset(data, seed=0)
    train = split.images["train"]
    assert abs(float(train.mean())) < 1e-5 and abs(float(train.std()) - 1) < 1e-4
    raw = data.images[split.indices["test"]]
    np.testing.assert_allclose(
        split.images["test"], (raw - split.mean[0]) / split.std[0], rtol=1e-5, atol=1e-5
    )


def test_split_keeps_one_image_per_part_for_tiny_classes(tmp_path):
    _write_folder(tmp_path, per_class=3)
    split = split_dataset(load_data(tmp_path), seed=0)
    assert {k: len(v) for k, v in split.indices.items()} == {"train": 2, "val": 2, "test": 2}
    record = split.to_dict(load_data(tmp_path))
    assert sorted(sum(record["files"].values(), [])) == sorted(load_data(tmp_path).files)
