"""Reading and writing images, arrays and volumes (sepconv._io)."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import scipy.ndimage as ndi

from sepconv import _io

PIL = pytest.importorskip("PIL.Image")
tifffile = pytest.importorskip("tifffile")

rng = np.random.default_rng(20)


def _zarr(path, data, chunks):
    import zarr

    zarr.create_array(str(path), shape=data.shape, chunks=chunks, dtype=data.dtype)[:] = data


def _u8(*shape: int) -> np.ndarray:
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("shape", "dtype", "channel_axis"),
    [
        ((9, 13), np.uint8, None),
        ((9, 13, 2), np.uint8, 2),
        ((9, 13, 3), np.uint8, 2),
        ((9, 13, 4), np.uint8, 2),
        ((9, 13), np.uint16, None),
    ],
)
def test_png_round_trip_is_exact_and_finds_channels(tmp_path, shape, dtype, channel_axis):
    data = rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype)
    path = tmp_path / "x.png"
    _io.write_image(path, data, channel_axis=channel_axis)
    image = _io.read_image(path)
    np.testing.assert_array_equal(image.data, data)
    assert image.data.dtype == dtype
    assert image.channel_axis == channel_axis
    assert image.spatial_axes == (0, 1)


def test_palette_and_bilevel_pngs_become_rgb_and_grey(tmp_path):
    rgb = PIL.fromarray(_u8(8, 8, 3)).convert("P")
    rgb.save(tmp_path / "p.png")
    image = _io.read_image(tmp_path / "p.png")
    assert image.data.shape == (8, 8, 3) and image.channel_axis == 2
    np.testing.assert_array_equal(image.data, np.asarray(rgb.convert("RGB")))
    PIL.fromarray(_u8(8, 8) > 127).save(tmp_path / "b.png")
    grey = _io.read_image(tmp_path / "b.png").data
    assert grey.dtype == np.uint8 and set(np.unique(grey)) <= {0, 255}


def test_jpeg_round_trip_is_close_and_rejects_alpha(tmp_path):
    data = ndi.uniform_filter(_u8(32, 32, 3).astype(float), (5, 5, 1)).astype(np.uint8)
    _io.write_image(tmp_path / "x.jpg", data, channel_axis=2)
    back = _io.read_image(tmp_path / "x.jpg").data
    assert back.shape == data.shape
    assert np.abs(back.astype(int) - data).mean() < 3
    with pytest.raises(ValueError, match="JPEG has no alpha"):
        _io.write_image(tmp_path / "y.jpg", _u8(4, 4, 4), channel_axis=2)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_png_and_jpeg_refuse_float_and_name_the_fix(tmp_path, suffix):
    with pytest.raises(ValueError, match=r"--dtype uint8.*\.tif or \.npy"):
        _io.write_image(tmp_path / f"x{suffix}", np.zeros((4, 4), np.float32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.float32, np.float64])
def test_tiff_round_trip_keeps_any_dtype(tmp_path, dtype):
    data = (rng.standard_normal((7, 11)) * 100).astype(dtype)
    _io.write_image(tmp_path / "x.tif", data)
    image = _io.read_image(tmp_path / "x.tif")
    np.testing.assert_array_equal(image.data, data)
    assert image.data.dtype == dtype and image.channel_axis is None


def test_tiff_rgb_has_a_channel_axis_and_a_stack_does_not(tmp_path):
    rgb = _u8(6, 5, 3)
    _io.write_image(tmp_path / "rgb.tiff", rgb, channel_axis=2)
    image = _io.read_image(tmp_path / "rgb.tiff")
    np.testing.assert_array_equal(image.data, rgb)
    assert image.spatial_axes == (0, 1)
    stack = rng.random((4, 6, 5)).astype(np.float32)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    image = _io.read_image(tmp_path / "stack.tif")
    np.testing.assert_array_equal(image.data, stack)
    assert image.spatial_axes == (0, 1, 2)


def test_npy_is_memory_mapped_and_round_trips(tmp_path):
    data = rng.standard_normal((3, 4, 5))
    _io.write_image(tmp_path / "x.npy", data)
    image = _io.read_image(tmp_path / "x.npy")
    assert isinstance(image.data, np.memmap)
    np.testing.assert_array_equal(image.data, data)
    assert image.spatial_axes == (0, 1, 2)


def test_unknown_suffix_and_missing_file_are_clear_errors(tmp_path):
    (tmp_path / "x.bmp").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported file type '.bmp'"):
        _io.read_image(tmp_path / "x.bmp")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        _io.read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="unsupported file type '.gif'"):
        _io.write_image(tmp_path / "x.gif", _u8(3, 3))


# --------------------------------------------------------------------------- atomicity


def test_atomic_path_leaves_old_output_and_no_temporary_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(KeyError):
        with _io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyError("crash")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_path_gives_ordinary_permissions(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    _io.write_image(tmp_path / "x.npy", np.zeros(3))
    mode = stat.S_IMODE((tmp_path / "x.npy").stat().st_mode)
    assert mode == 0o666 & ~mask


def test_atomic_directory_replaces_an_existing_one(tmp_path):
    target = tmp_path / "v.zarr"
    target.mkdir()
    (target / "old").write_text("x")
    with _io.atomic_path(target, directory=True) as tmp:
        (tmp / "new").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.zarr"]


def test_write_image_failure_keeps_previous_output(tmp_path):
    path = tmp_path / "x.png"
    _io.write_image(path, np.full((3, 3), 7, np.uint8))
    with pytest.raises(ValueError):
        _io.write_image(path, np.zeros((3, 3), np.float64))
    np.testing.assert_array_equal(_io.read_image(path).data, 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


# --------------------------------------------------------------------------- batches


def _tree(root):
    (root / "sub").mkdir(parents=True)
    for name in ("b.png", "a.npy", "sub/c.tif", "notes.txt", ".hidden.png"):
        (root / name).write_bytes(b"")
    return root


def test_batch_pairs_of_a_directory_keep_names_and_skip_others(tmp_path):
    root = _tree(tmp_path / "in")
    pairs = _io.batch_pairs(root, tmp_path / "out")
    assert [(s.name, d.relative_to(tmp_path).as_posix()) for s, d in pairs] == [
        ("a.npy", "out/a.npy"),
        ("b.png", "out/b.png"),
    ]


def test_batch_pairs_of_a_recursive_glob_keep_subfolders(tmp_path):
    root = _tree(tmp_path / "in")
    pairs = _io.batch_pairs(f"{root}/**/*.*", tmp_path / "out")
    assert sorted(d.relative_to(tmp_path).as_posix() for _, d in pairs) == [
        "out/a.npy",
        "out/b.png",
        "out/sub/c.tif",
    ]
    (root / "out").mkdir()
    (root / "out" / "b.png").write_bytes(b"")  # an earlier output inside the input tree
    inside = _io.batch_pairs(f"{root}/**/*.png", root / "out")
    assert [s.relative_to(root).as_posix() for s, _ in inside] == ["b.png"]
    assert _io.is_batch(f"{root}/*.png") and _io.is_batch(root)
    assert not _io.is_batch(root / "b.png")


def test_is_finished_compares_modification_times(tmp_path):
    src, dst = tmp_path / "a.npy", tmp_path / "b.npy"
    src.write_bytes(b"x")
    assert not _io.is_finished(src, dst)
    dst.write_bytes(b"y")
    os.utime(src, ns=(10**18, 10**18))
    os.utime(dst, ns=(10**18 + 1, 10**18 + 1))
    assert _io.is_finished(src, dst)
    os.utime(src, ns=(10**18 + 2, 10**18 + 2))  # the input was edited afterwards
    assert not _io.is_finished(src, dst)


# --------------------------------------------------------------------------- volumes


def test_is_volume_recognises_zarr_and_multipage_tiff(tmp_path):
    zarr = pytest.importorskip("zarr")
    zarr.create_array(store=str(tmp_path / "v.zarr"), shape=(2, 2), dtype="f4")
    tifffile.imwrite(
        tmp_path / "stack.tif", np.zeros((3, 4, 4), np.uint8), photometric="minisblack"
    )
    planar = _u8(3, 5, 6)
    tifffile.imwrite(tmp_path / "planar.tif", planar, photometric="rgb", planarconfig="separate")
    tifffile.imwrite(tmp_path / "page.tif", np.zeros((4, 4), np.uint8))
    assert _io.is_volume(tmp_path / "v.zarr")
    assert _io.is_volume(tmp_path / "stack.tif")
    assert not _io.is_volume(tmp_path / "page.tif")
    assert not _io.is_volume(tmp_path / "planar.tif")
    np.testing.assert_array_equal(
        _io.read_image(tmp_path / "planar.tif").data, np.moveaxis(planar, 0, -1)
    )
    assert not _io.is_batch(tmp_path / "v.zarr")


def test_open_volume_reads_zarr_lazily_and_a_group_with_one_array(tmp_path):
    zarr = pytest.importorskip("zarr")
    data = rng.standard_normal((6, 7, 8)).astype(np.float32)
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("raw", shape=data.shape, chunks=(3, 7, 4), dtype="f4")[:] = data
    volume, channel = _io.open_volume(tmp_path / "g.zarr")
    assert volume.chunks == ((3, 3), (7,), (4, 4)) and channel is None
    np.testing.assert_array_equal(volume.compute(), data)
    volume, _ = _io.open_volume(tmp_path / "g.zarr", chunks=(2, 7, 8))
    assert volume.chunks[0] == (2, 2, 2)


def test_open_volume_reads_tiff_in_slabs_of_pages(tmp_path):
    stack = rng.integers(0, 1000, (7, 5, 6, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "rgb.tif", stack, photometric="rgb")
    volume, channel = _io.open_volume(tmp_path / "rgb.tif", chunks=(3,))
    assert volume.chunks[0] == (3, 3, 1) and channel == 3
    np.testing.assert_array_equal(volume.compute(), stack)


@pytest.mark.parametrize("suffix", [".zarr", ".tif", ".npy"])
def test_write_volume_round_trips_irregular_chunks(tmp_path, suffix):
    da = pytest.importorskip("dask.array")
    data = rng.standard_normal((9, 10, 11)).astype(np.float32)
    lazy = da.from_array(data, chunks=((4, 2, 3), (10,), (5, 6)))
    seen = []
    _io.write_volume(lazy, tmp_path / f"out{suffix}", progress=lambda d, t: seen.append((d, t)))
    if suffix == ".zarr":
        back = _io.open_volume(tmp_path / "out.zarr")[0].compute()
    elif suffix == ".tif":
        back = tifffile.imread(tmp_path / "out.tif")
    else:
        back = np.load(tmp_path / "out.npy")
    np.testing.assert_array_equal(back, data)
    assert seen[-1][0] == seen[-1][1] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"out{suffix}"]


@pytest.mark.parametrize("suffix", [".zarr", ".tif", ".npy"])
def test_write_volume_failing_block_leaves_nothing_behind(tmp_path, suffix):
    da = pytest.importorskip("dask.array")

    def explode(block, block_id=None):
        if block_id == (1, 0):
            raise ZeroDivisionError("bad block")
        return block

    lazy = da.zeros((6, 4), chunks=(3, 4), dtype=np.float32).map_blocks(explode)
    with pytest.raises(ZeroDivisionError):
        _io.write_volume(lazy, tmp_path / f"out{suffix}")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- filtering files


def _options(**kw):
    # a binomial blur whose taps sum to 1, so a uint8 image keeps its dtype
    return _io.FilterOptions(
        kernel="[[0.0625, 0.125, 0.0625], [0.125, 0.25, 0.125], [0.0625, 0.125, 0.0625]]", **kw
    )


def test_filter_image_file_filters_each_colour_channel(tmp_path):
    from sepconv import filters

    rgb = _u8(12, 15, 3)
    _io.write_image(tmp_path / "in.png", rgb, channel_axis=2)
    weights = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    options = _io.FilterOptions(kernel=str(weights.tolist()), dtype="float32")
    result = _io.filter_image_file(tmp_path / "in.png", tmp_path / "out.tif", options)
    assert result.status == "written", result.error
    assert result.plan and result.shape == (12, 15, 3) and result.dtype == "float32"
    got = _io.read_image(tmp_path / "out.tif").data
    expected = filters.correlate(rgb, weights, output=np.float32, axes=(0, 1))
    np.testing.assert_array_equal(got, expected)
    reference = ndi.correlate(rgb.astype(np.float64), weights[:, :, None])
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-4)


def test_filter_image_file_reports_failure_instead_of_raising(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    result = _io.filter_image_file(tmp_path / "bad.png", tmp_path / "out.png", _options())
    assert result.status == "failed" and "bad.png" in result.error
    float_out = _io.filter_image_file(
        tmp_path / "bad.png", tmp_path / "o.png", _options(dtype="float32")
    )
    assert float_out.status == "failed"
    assert not (tmp_path / "out.png").exists()


def test_filter_batch_writes_the_good_files_reports_the_bad_and_skips_on_rerun(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    images = {f"{name}.png": _u8(10, 12) for name in ("a", "b", "d")}
    for name, data in images.items():
        _io.write_image(src / name, data)
    (src / "c.png").write_bytes(b"broken")
    pairs = _io.batch_pairs(src, tmp_path / "out")
    seen = []
    results = _io.filter_batch(pairs, _options(), progress=seen.append)
    assert [r.status for r in results] == ["written", "written", "failed", "written"]
    assert len(seen) == 4
    assert "c.png" in results[2].error
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "d.png"]
    weights = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    np.testing.assert_array_equal(
        _io.read_image(tmp_path / "out" / "b.png").data,
        ndi.correlate(images["b.png"], weights),
    )
    again = _io.filter_batch(pairs, _options())
    assert [r.status for r in again] == ["skipped", "skipped", "failed", "skipped"]
    forced = _io.filter_batch(pairs, _options(), overwrite=True)
    assert [r.status for r in forced].count("written") == 3


def test_filter_volume_matches_the_numpy_path(tmp_path):
    zarr = pytest.importorskip("zarr")
    from sepconv import filters

    data = rng.standard_normal((10, 9, 12)).astype(np.float32)
    _zarr(tmp_path / "v.zarr", data, (5, 5, 6))
    options = _io.FilterOptions(kernel="gaussian:sigma=1", mode="nearest")
    result = _io.filter_volume(tmp_path / "v.zarr", tmp_path / "o.zarr", options)
    assert result.status == "written" and result.shape == data.shape
    got = zarr.open_array(str(tmp_path / "o.zarr"), mode="r")
    assert got.chunks == (5, 5, 6)
    expected = filters.correlate(data, options.weights(3), mode="nearest")
    np.testing.assert_allclose(got[:], expected, rtol=1e-6, atol=1e-6)
