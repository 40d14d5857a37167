"""``sepconv features``: the feature stack of an image or a volume, from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sepconv import features
from sepconv._cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["features", *map(str, args)])


def test_image_to_npy_equals_the_library_call(tmp_path):
    image = np.random.default_rng(0).random((40, 37)).astype(np.float32)
    np.save(tmp_path / "in.npy", image)
    result = run(tmp_path / "in.npy", "--sigmas", "1,2", "--out", tmp_path / "f.npy", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    got = np.load(tmp_path / "f.npy")
    assert report["shape"] == list(got.shape) and len(report["channels"]) == got.shape[0]
    np.testing.assert_array_equal(got, features.feature_stack(image, [1, 2], output=np.float32))


def test_volume_to_zarr_block_by_block(tmp_path):
    zarr = pytest.importorskip("zarr")
    volume = np.random.default_rng(1).random((20, 18, 16)).astype(np.float32)
    zarr.create_array(
        str(tmp_path / "v.zarr"), shape=volume.shape, chunks=(9, 18, 16), dtype=volume.dtype
    )[:] = volume
    result = run(
        tmp_path / "v.zarr",
        "-s",
        "1",
        "--features",
        "smoothing,hessian_eigenvalues",
        "--out",
        tmp_path / "f.zarr",
    )
    assert result.exit_code == 0, result.output
    got = zarr.open(str(tmp_path / "f.zarr"), mode="r")[:]
    ref = features.feature_stack(volume, [1], ["smoothing", "hessian_eigenvalues"])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_bad_options_are_one_line_errors(tmp_path):
    np.save(tmp_path / "in.npy", np.zeros((8, 8)))
    result = run(tmp_path / "in.npy", "-s", "1", "--out", tmp_path / "f.png")
    assert result.exit_code == 1 and "--out must end in .npy or .zarr" in result.output
    result = run(tmp_path / "in.npy", "-s", "1", "--features", "edges", "-o", tmp_path / "f.npy")
    assert result.exit_code == 1 and "features must be distinct names" in result.output
