"""``sepconv filter --op``: grey morphology from the command line, scipy.ndimage's bits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage as ndi
from typer.testing import CliRunner

from sepconv import _io
from sepconv._cli import app

pytest.importorskip("PIL")

runner = CliRunner()
rng = np.random.default_rng(21)

SCIPY = {
    "erode": ndi.grey_erosion,
    "dilate": ndi.grey_dilation,
    "open": ndi.grey_opening,
    "close": ndi.grey_closing,
    "tophat": ndi.white_tophat,
}


def run(*args: object):
    return runner.invoke(app, ["filter", *map(str, args)])


@pytest.mark.parametrize("op", sorted(SCIPY))
def test_each_op_on_a_grey_png_is_scipys_and_keeps_uint8(tmp_path, op):
    grey = rng.integers(0, 256, size=(23, 31), dtype=np.uint8)
    _io.write_image(tmp_path / "in.png", grey)
    result = run(tmp_path / "in.png", tmp_path / "out.png", "--op", op, "--size", "5,3")
    assert result.exit_code == 0, result.output
    assert "plan:" in result.output and "5x3" in result.output
    got = _io.read_image(tmp_path / "out.png").data
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, SCIPY[op](grey, size=(5, 3)))


def test_colour_png_is_filtered_per_channel_with_mode(tmp_path):
    colour = rng.integers(0, 256, size=(17, 20, 3), dtype=np.uint8)
    _io.write_image(tmp_path / "in.png", colour)
    result = run(
        tmp_path / "in.png", tmp_path / "out.png", "--op", "dilate", "--size", "4", "--mode", "wrap"
    )
    assert result.exit_code == 0, result.output
    got = _io.read_image(tmp_path / "out.png").data
    np.testing.assert_array_equal(got, ndi.grey_dilation(colour, size=(4, 4, 1), mode="wrap"))


def test_npy_volume_with_nan_and_json(tmp_path):
    data = rng.standard_normal((9, 12, 10)).astype(np.float32)
    data[4, 5, 6] = np.nan
    np.save(tmp_path / "v.npy", data)
    result = run(tmp_path / "v.npy", tmp_path / "o.npy", "--op", "close", "--size", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "written"
    got = np.load(tmp_path / "o.npy")
    np.testing.assert_array_equal(got, ndi.grey_closing(data, size=3))


def test_zarr_volume_with_odd_chunks(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = rng.integers(0, 60000, size=(13, 11, 9), dtype=np.uint16)
    zarr.create_array(str(tmp_path / "v.zarr"), shape=data.shape, chunks=(5, 4, 7), dtype="u2")[
        :
    ] = data
    result = run(tmp_path / "v.zarr", tmp_path / "o.zarr", "--op", "tophat", "--size", "3,5,2")
    assert result.exit_code == 0, result.output
    got = zarr.open_array(str(tmp_path / "o.zarr"), mode="r")[:]
    np.testing.assert_array_equal(got, ndi.white_tophat(data, size=(3, 5, 2)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--op", "erode"), "needs --size"),
        (("--op", "erode", "--size", "0"), "needs --size"),
        (("--op", "bogus", "--size", "3"), "--op must be one of"),
        (("--op", "erode", "--size", "3", "-k", "box:size=3"), "not both"),
        ((), "give a kernel (--kernel) or a morphology operation (--op)"),
        (("--op", "open", "--size", "3,3,3"), "--size has 3 lengths"),
    ],
)
def test_errors_exit_with_a_reason(tmp_path, args, message):
    _io.write_image(tmp_path / "in.png", np.zeros((8, 8), np.uint8))
    result = run(tmp_path / "in.png", tmp_path / "out.png", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "out.png").exists()
