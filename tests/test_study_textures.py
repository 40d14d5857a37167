"""The texture data set: patches of scikit-image's bundled images, split by image region."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sepconv.study import _bundled, _textures, load_data, split_dataset


@pytest.fixture(scope="module")
def textures():
    return load_data("textures")


def test_parts_come_from_disjoint_image_regions():
    origins = _textures.patch_origins()
    masks = {}
    for part, corners in origins.items():
        mask = np.zeros((_textures.SIDE, _textures.SIDE), dtype=int)
        for r, c in corners:
            mask[r : r + _textures.PATCH, c : c + _textures.PATCH] += 1
        assert mask.max() == 1, part  # patches of one part do not overlap either
        masks[part] = mask > 0
    assert not (masks["train"] & masks["val"]).any()
    assert not (masks["train"] & masks["test"]).any()
    assert not (masks["val"] & masks["test"]).any()
    # Bands: every training row lies above every validation row, above every test row.
    rows = {p: np.flatnonzero(m.any(axis=1)) for p, m in masks.items()}
    assert rows["train"].max() < rows["val"].min() and rows["val"].max() < rows["test"].min()


def test_patches_are_the_image_pixels_standardised(textures):
    assert textures.images.shape == (6 * 992, 1, 16, 16) and textures.name == "textures"
    assert textures.classes == _textures.TEXTURES
    assert np.bincount(textures.labels).tolist() == [992] * 6
    # The first patch of class 1 is the top-left 16x16 of grass, standardised on its own.
    grass = _bundled.bundled_image("grass", "L").astype(np.float64)[:16, :16]
    first = textures.images[textures.labels == 1][0, 0]
    expected = (grass - grass.mean()) / max(grass.std(), _textures.STD_FLOOR)
    np.testing.assert_allclose(first, expected, atol=1e-5)
    means = textures.images.mean(axis=(1, 2, 3))
    assert np.abs(means).max() < 1e-4  # brightness says nothing about the class


def test_split_is_deterministic_and_ignores_the_seed(textures):
    again = load_data("textures")
    assert np.array_equal(textures.images, again.images)
    assert textures.fingerprint == again.fingerprint
    a, b = split_dataset(textures, seed=0), split_dataset(textures, seed=7, test_fraction=0.3)
    for part in ("train", "val", "test"):
        assert np.array_equal(a.indices[part], b.indices[part])
    sizes = {k: len(v) for k, v in a.indices.items()}
    assert sizes == {"train": 6 * 608, "val": 6 * 192, "test": 6 * 192}
    assert np.array_equal(np.flatnonzero(textures.parts == 2), a.indices["test"])
    assert textures.describe()["split"] == "fixed regions"


def test_fixed_parts_change_the_fingerprint(textures):
    from dataclasses import replace

    moved = textures.parts.copy()
    moved[0] = 2
    assert replace(textures, parts=moved).fingerprint != textures.fingerprint
    assert replace(textures, parts=None).fingerprint != textures.fingerprint


def test_builtin_names_and_folders(tmp_path, monkeypatch):
    assert load_data("digits").name == "digits"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="does not exist.*'digits', 'textures'"):
        load_data(Path("textures"))  # a path is never a built-in name


def test_a_missing_bundled_image_is_an_error_not_a_download(tmp_path, monkeypatch):
    monkeypatch.setattr(_bundled, "data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="has no bundled brick.png.*never does"):
        load_data("textures")
