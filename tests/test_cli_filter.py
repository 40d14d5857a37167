"""``sepconv filter``: images, batches, volumes and schedulers from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.ndimage as ndi
from typer.testing import CliRunner

from sepconv import _io, filters, kernels
from sepconv._cli import app

pytest.importorskip("PIL")
tifffile = pytest.importorskip("tifffile")

runner = CliRunner()
rng = np.random.default_rng(4)
# A binomial blur whose taps sum to 1 (powers of two: exact sums), so uint8 holds its output.
BLUR = "[[0.0625,0.125,0.0625],[0.125,0.25,0.125],[0.0625,0.125,0.0625]]"
BLUR_ARRAY = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16


def run(*args: str):
    return runner.invoke(app, ["filter", *map(str, args)])


def _zarr(path, data, chunks):
    import zarr

    zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype)[:] = data


def _u8(*shape: int) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def test_help_has_examples():
    out = run("--help").output
    assert "Examples" in out and "sepconv filter" in out and "--workers" in out


def test_grey_png_keeps_dtype_and_prints_plan_and_time(tmp_path):
    grey = _u8(20, 24)
    _io.write_image(tmp_path / "in.png", grey)
    result = run(tmp_path / "in.png", tmp_path / "out.png", "--kernel", "box:size=3,normalize=True")
    assert result.exit_code == 0, result.output
    assert "plan:" in result.output and "time:" in result.output
    got = _io.read_image(tmp_path / "out.png").data
    weights = kernels.box(3, normalize=True)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, filters.correlate(grey, weights))
    assert np.abs(got.astype(int) - ndi.correlate(grey, weights)).max() <= 1


def test_negative_taps_on_uint8_give_float32_unless_dtype_says_otherwise(tmp_path):
    grey = _u8(20, 24)
    _io.write_image(tmp_path / "in.png", grey)
    sobel = kernels.sobel(axis=0)
    exact = ndi.correlate(grey.astype(np.float64), sobel)
    assert exact.min() < 0 and exact.max() > 255  # nothing uint8 could hold
    result = run(tmp_path / "in.png", tmp_path / "edges.tif", "-k", "sobel:axis=0")
    assert result.exit_code == 0, result.output
    assert "(20, 24) float32" in result.output and "warning" not in result.output
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "edges.tif"), exact)
    # A PNG cannot hold float32: refused with the fix, nothing written.
    png = run(tmp_path / "in.png", tmp_path / "edges.png", "-k", "sobel:axis=0")
    assert png.exit_code == 1 and "write .tif or .npy" in png.output
    assert not (tmp_path / "edges.png").exists()
    # Asked for, uint8 is used as scipy's output= is, with a warning that values wrap.
    forced = run(
        tmp_path / "in.png", tmp_path / "wrapped.png", "-k", "sobel:axis=0", "--dtype", "uint8"
    )
    assert forced.exit_code == 0, forced.output
    assert "warning: --dtype uint8 cannot hold the negative values" in forced.output
    assert "-1 is stored as 255" in forced.output
    np.testing.assert_array_equal(
        _io.read_image(tmp_path / "wrapped.png").data, ndi.correlate(grey, sobel)
    )
    # Taps summing above 1 would overflow uint8 the same way; int16 input holds Sobel of uint8.
    box = run(tmp_path / "in.png", tmp_path / "box.npy", "-k", "box:size=3", "--json")
    assert json.loads(box.output)["dtype"] == "float32"
    signed = run(tmp_path / "in.png", tmp_path / "s.npy", "-k", "sobel", "--dtype", "int16")
    assert signed.exit_code == 0 and "warning" not in signed.output
    assert "negative taps (sobel)" in " ".join(run("--help").output.split())


def test_empty_inline_kernel_is_reported_as_empty(tmp_path):
    _io.write_image(tmp_path / "in.png", _u8(8, 8))
    result = run(tmp_path / "in.png", tmp_path / "o.png", "-k", "[]")
    assert result.exit_code == 2 and "kernel matrix '[]' holds no numbers" in result.output
    assert "the kernel is empty" in result.output and "dimension" not in result.output
    assert not (tmp_path / "o.png").exists()


def test_colour_png_is_filtered_per_channel_into_float_tiff(tmp_path):
    rgb = _u8(16, 18, 3)
    _io.write_image(tmp_path / "in.png", rgb, channel_axis=2)
    result = run(
        tmp_path / "in.png",
        tmp_path / "out.tif",
        "-k",
        "sobel:axis=0",
        "--dtype",
        "float32",
        "--mode",
        "nearest",
    )
    assert result.exit_code == 0, result.output
    got = _io.read_image(tmp_path / "out.tif")
    assert got.data.dtype == np.float32 and got.channel_axis == 2
    sobel = kernels.sobel(axis=0)
    for channel in range(3):
        expected = ndi.correlate(rgb[..., channel].astype(np.float64), sobel, mode="nearest")
        np.testing.assert_allclose(got.data[..., channel], expected, rtol=1e-6, atol=1e-4)


def test_npy_with_kernel_file_and_json(tmp_path):
    data = rng.standard_normal((9, 10, 11))
    np.save(tmp_path / "in.npy", data)
    np.save(tmp_path / "k.npy", rng.standard_normal((3, 2, 3)))
    result = run(
        tmp_path / "in.npy",
        tmp_path / "out.npy",
        "-k",
        tmp_path / "k.npy",
        "--mode",
        "wrap",
        "--json",
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["status"] == "written" and record["shape"] == [9, 10, 11]
    assert record["plan"] and record["seconds"] > 0
    expected = ndi.correlate(data, np.load(tmp_path / "k.npy"), mode="wrap")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-12, atol=1e-12)


def test_axes_option_and_convolve(tmp_path):
    data = rng.standard_normal((6, 7, 8))
    np.save(tmp_path / "in.npy", data)
    result = run(
        tmp_path / "in.npy",
        tmp_path / "out.npy",
        "-k",
        "[1, 2, 3, 4]",
        "--axes",
        "1",
        "--convolve",
        "--mode",
        "mirror",
    )
    assert result.exit_code == 0, result.output
    expected = ndi.convolve1d(data, [1, 2, 3, 4], axis=1, mode="mirror")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-12)


def test_errors_exit_with_a_reason(tmp_path):
    _io.write_image(tmp_path / "in.png", _u8(8, 8))
    bad_kernel = run(tmp_path / "in.png", tmp_path / "o.png", "-k", "nosuchkernel")
    assert bad_kernel.exit_code == 2 and "unknown kernel" in bad_kernel.output
    float_png = run(tmp_path / "in.png", tmp_path / "o.png", "-k", BLUR, "--dtype", "float32")
    assert float_png.exit_code == 1 and "--dtype uint8" in float_png.output
    assert not (tmp_path / "o.png").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(empty, tmp_path / "out", "-k", BLUR).exit_code == 2
    bad_axes = run(tmp_path / "in.png", tmp_path / "o.png", "-k", BLUR, "--axes", "x")
    assert bad_axes.exit_code == 2 and "--axes" in bad_axes.output
    single_workers = run(tmp_path / "in.png", tmp_path / "o.png", "-k", BLUR, "--workers", "2")
    assert single_workers.exit_code == 2 and "batches and volumes" in single_workers.output


def _batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    images = {"a.png": _u8(12, 13), "b.tif": _u8(10, 9, 3), "d.npy": _u8(7, 8)}
    _io.write_image(src / "a.png", images["a.png"])
    _io.write_image(src / "b.tif", images["b.tif"], channel_axis=2)
    np.save(src / "d.npy", images["d.npy"])
    (src / "c.png").write_bytes(b"this is not an image")
    return src, images


def _check_batch_outputs(out, images):
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.tif", "d.npy"]
    np.testing.assert_array_equal(
        _io.read_image(out / "a.png").data, ndi.correlate(images["a.png"], BLUR_ARRAY)
    )
    np.testing.assert_array_equal(
        _io.read_image(out / "b.tif").data,
        ndi.correlate(images["b.tif"], BLUR_ARRAY[:, :, None]),
    )


def test_batch_reports_the_failing_file_writes_the_others_and_skips_on_rerun(tmp_path):
    src, images = _batch(tmp_path)
    out = tmp_path / "out"
    result = run(src, out, "-k", BLUR)
    assert result.exit_code == 1
    assert "c.png" in result.output and "failed" in result.output
    assert "3 written, 0 skipped, 1 failed" in result.output
    _check_batch_outputs(out, images)
    again = run(src, out, "-k", BLUR, "--json")
    record = json.loads(again.output)
    assert (record["written"], record["skipped"], record["failed"]) == (0, 3, 1)
    (src / "c.png").unlink()
    forced = json.loads(run(src, out, "-k", BLUR, "--json", "--overwrite").output)
    assert (forced["written"], forced["failed"]) == (3, 0)


def test_glob_input(tmp_path):
    src, images = _batch(tmp_path)
    result = run(f"{src}/*.png", tmp_path / "out", "-k", BLUR, "--json")
    record = json.loads(result.output)
    assert [f["status"] for f in record["files"]] == ["written", "failed"]


def test_zarr_volume_in_and_out(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = rng.standard_normal((20, 18, 22)).astype(np.float32)
    _zarr(tmp_path / "v.zarr", data, (7, 9, 11))
    result = run(
        tmp_path / "v.zarr", tmp_path / "o.zarr", "-k", "gaussian:sigma=1.5", "--mode", "wrap"
    )
    assert result.exit_code == 0, result.output
    assert "plan:" in result.output
    got = zarr.open_array(str(tmp_path / "o.zarr"), mode="r")[:]
    expected = ndi.gaussian_filter(data.astype(np.float64), 1.5, mode="wrap")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_multipage_tiff_volume_to_tiff_with_chunks(tmp_path):
    stack = _u8(9, 14, 15)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    result = run(
        tmp_path / "stack.tif",
        tmp_path / "out.tif",
        "-k",
        "box:size=3",
        "--chunks",
        "4",
        "--dtype",
        "uint16",
    )
    assert result.exit_code == 0, result.output
    got = tifffile.imread(tmp_path / "out.tif")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, ndi.correlate(stack.astype(np.uint16), np.ones((3, 3, 3))))


def test_existing_cluster_runs_batches_and_volumes(tmp_path):
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("zarr")
    src, images = _batch(tmp_path)
    data = rng.standard_normal((16, 12, 10)).astype(np.float32)
    _zarr(tmp_path / "v.zarr", data, (8, 6, 5))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        batch = run(src, tmp_path / "out", "-k", BLUR, "--scheduler", cluster.scheduler_address)
        volume = run(
            tmp_path / "v.zarr",
            tmp_path / "o.npy",
            "-k",
            "box:size=3",
            "--scheduler",
            cluster.scheduler_address,
        )
    assert batch.exit_code == 1 and "dask cluster" in batch.output, batch.output
    _check_batch_outputs(tmp_path / "out", images)
    assert volume.exit_code == 0, volume.output
    np.testing.assert_allclose(
        np.load(tmp_path / "o.npy"),
        ndi.correlate(data, np.ones((3, 3, 3), np.float32)),
        rtol=1e-5,
        atol=1e-5,
    )


def test_nan_omit_and_mask_give_the_normalized_convolution(tmp_path):
    data = rng.standard_normal((30, 40)).astype(np.float32)
    data[5:15, 5:15] = np.nan
    np.save(tmp_path / "holes.npy", data)
    mask = np.zeros((30, 40), np.uint8)
    mask[20:25, 20:30] = 255
    np.save(tmp_path / "mask.npy", mask)
    result = run(
        tmp_path / "holes.npy", tmp_path / "out.npy", "-k", "gaussian:sigma=1", "--nan", "omit"
    )
    assert result.exit_code == 0, result.output
    got = np.load(tmp_path / "out.npy")
    weights = kernels.gaussian(1.0, ndim=2)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, filters.correlate(data, weights, nan_policy="omit"))
    result = run(
        tmp_path / "holes.npy",
        tmp_path / "m.npy",
        "-k",
        "gaussian:sigma=1",
        "--mask",
        tmp_path / "mask.npy",
    )
    assert result.exit_code == 0, result.output
    ref = filters.correlate(data, weights, mask=mask != 0)
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), ref)
    bad = run(tmp_path / "holes.npy", tmp_path / "x.npy", "-k", "sobel:axis=0", "--nan", "omit")
    assert bad.exit_code != 0 and "one sign" in bad.output
    bad = run(tmp_path / "holes.npy", tmp_path / "x.npy", "-k", "box:size=3", "--nan", "skip")
    assert bad.exit_code != 0 and "--nan must be propagate or omit" in bad.output
