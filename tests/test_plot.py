"""sepconv.plot and ``sepconv figure``: every figure drawn small and checked for its content.

The numbers a figure shows are read back from the drawing (cell texts, image arrays, line data)
and compared with independent references: brute-force loops, scipy.ndimage, numpy's SVD and
hand-derived counts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

pytest.importorskip("matplotlib")

import sepconv  # noqa: E402
from sepconv import plot  # noqa: E402
from sepconv._cli import app  # noqa: E402

skimage_data = pytest.importorskip("skimage.data")


# --------------------------------------------------------------------------- reading figures


def axes(fig, label):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, (label, [ax.get_label() for ax in fig.axes])
    return found[0]


def texts(ax):
    return [t.get_text() for t in ax.texts]


def cell_values(ax):
    """The numbers written in a cell grid, in the grid's shape."""
    shape = ax.images[0].get_array().shape
    return np.array([float(t) for t in texts(ax)]).reshape(shape)


def all_texts(fig):
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text)]


def image(ax):
    return np.asarray(ax.images[0].get_array())


def valid_correlation(img, kernel):
    """Brute-force correlation over the windows that fit (the article's convolution)."""
    kh, kw = kernel.shape
    out = np.empty((img.shape[0] - kh + 1, img.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(img[i : i + kh, j : j + kw] * kernel)
    return out


# --------------------------------------------------------------------------- import


def test_import_sepconv_does_not_import_matplotlib():
    code = (
        "import sys, sepconv, sepconv.plot, sepconv.report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- figure 1


def test_figure1_cells_are_the_true_factors_of_the_article_kernel():
    fig = plot.separable_kernel(small=True)
    column = cell_values(axes(fig, "column")).ravel()
    row = cell_values(axes(fig, "row")).ravel()
    assert column.tolist() == [3, 4, 5] and row.tolist() == [1, 2, 3]
    assert np.array_equal(cell_values(axes(fig, "kernel")), np.array(plot.ARTICLE_KERNEL))
    assert texts(axes(fig, "operator ×")) == ["×"] and texts(axes(fig, "operator =")) == ["="]


def test_figure1_sobel_factors_are_integers():
    fig = plot.separable_kernel(sepconv.kernels.sobel(), small=True)
    assert texts(axes(fig, "column")) == ["1", "2", "1"]
    assert texts(axes(fig, "row")) == ["-1", "0", "1"]


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.integers(-9, 9), min_size=2, max_size=4).filter(any),
    st.lists(st.integers(-9, 9), min_size=2, max_size=4).filter(any),
)
def test_figure1_shown_factors_rebuild_any_integer_outer_product(u, v):
    kernel = np.outer(u, v)
    fig = plot.separable_kernel(kernel, small=True)
    column = cell_values(axes(fig, "column")).ravel()
    row = cell_values(axes(fig, "row")).ravel()
    assert np.array_equal(np.outer(column, row), kernel)
    assert np.array_equal(cell_values(axes(fig, "kernel")), kernel)


def test_figure1_refuses_a_kernel_that_does_not_separate():
    with pytest.raises(sepconv.NotSeparableError):
        plot.separable_kernel(sepconv.kernels.disk(2), small=True)
    with pytest.raises(ValueError, match="kernel must be 2-D"):
        plot.separable_kernel([1, 2, 1], small=True)


# --------------------------------------------------------------------------- figure 2


def test_figure2_passes_and_counts_of_the_article():
    fig = plot.spatial_convolution(small=True)
    img = cell_values(axes(fig, "image"))
    # the cameraman's head, averaged in 20x20 blocks and quantised to 0..9, read independently
    head = skimage_data.camera()[60:160, 200:300].astype(float)
    blocks = np.array(
        [
            [head[20 * i : 20 * i + 20, 20 * j : 20 * j + 20].mean() for j in range(5)]
            for i in range(5)
        ]
    )
    assert np.array_equal(img, np.round(blocks / 255 * 9))
    kernel = np.array(plot.ARTICLE_KERNEL, dtype=float)
    direct = valid_correlation(img, kernel)
    assert np.array_equal(cell_values(axes(fig, "direct")), direct)
    column = cell_values(axes(fig, "column"))
    row = cell_values(axes(fig, "row"))
    intermediate = valid_correlation(img, column)
    assert intermediate.shape == (3, 5)
    assert np.array_equal(cell_values(axes(fig, "intermediate")), intermediate)
    assert np.array_equal(cell_values(axes(fig, "separable")), valid_correlation(intermediate, row))
    assert np.array_equal(cell_values(axes(fig, "separable")), direct)
    assert texts(axes(fig, "normal count")) == ["3×3 outputs × 9 weights = 81 multiplications"]
    assert texts(axes(fig, "counts")) == [
        "pass 1: 3×5 outputs × 3 weights = 45;   pass 2: 3×3 outputs × 3 weights = 27",
        "separable: 45 + 27 = 72 multiplications against 81 (1.12x fewer; sepconv.cost.spatial)",
    ]


def test_figure2_counts_follow_the_shapes_drawn():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 10, (7, 6))
    kernel = np.outer([1, 2, 3, 2, 1], [1, 0, -1])
    fig = plot.spatial_convolution(img, kernel, small=True)
    out = cell_values(axes(fig, "direct"))
    inter = cell_values(axes(fig, "intermediate"))
    assert np.array_equal(out, valid_correlation(img.astype(float), kernel))
    normal, first, second = out.size * kernel.size, inter.size * 5, out.size * 3
    assert (normal, first, second) == (3 * 4 * 15, 3 * 6 * 5, 3 * 4 * 3)
    assert f"= {normal} multiplications" in texts(axes(fig, "normal count"))[0]
    assert f"{first} + {second} = {first + second}" in texts(axes(fig, "counts"))[1]


def test_figure2_rejects_even_kernels_and_small_images():
    with pytest.raises(ValueError, match="odd"):
        plot.spatial_convolution(np.ones((5, 5)), np.ones((2, 2)), small=True)
    with pytest.raises(ValueError, match="at least as large"):
        plot.spatial_convolution(np.ones((2, 2)), small=True)


# --------------------------------------------------------------------------- figure 3


def test_figure3_panels_equal_scipy_sobel_of_the_camera_image():
    fig = plot.sobel_filter(small=True)
    img = skimage_data.camera().astype(float)[::4, ::4]
    assert np.array_equal(image(axes(fig, "image")), img)
    x, y = ndi.sobel(img, axis=1), ndi.sobel(img, axis=0)
    # integer-valued input and weights: every sum is exact in float64
    assert np.array_equal(image(axes(fig, "x")), x)
    assert np.array_equal(image(axes(fig, "y")), y)
    assert np.allclose(image(axes(fig, "magnitude")), np.hypot(x, y))
    assert texts(axes(fig, "column")) == ["1", "2", "1"]
    assert texts(axes(fig, "row")) == ["-1", "0", "1"]
    assert any("6 instead of 9 multiplications per pixel" in t for t in all_texts(fig))


def test_figure3_on_a_float_image():
    img = np.random.default_rng(1).random((20, 31))
    fig = plot.sobel_filter(img, small=True)
    assert np.allclose(image(axes(fig, "x")), ndi.sobel(img, axis=1), atol=1e-12)
    assert np.allclose(image(axes(fig, "y")), ndi.sobel(img, axis=0), atol=1e-12)


# --------------------------------------------------------------------------- figures 4-6


def test_figure4_each_channel_filtered_by_its_own_filter():
    fig = plot.depthwise_convolution(small=True)
    cat = skimage_data.chelsea()[30:270, 120:360].astype(float)
    expected_input = np.round(cat.reshape(12, 20, 12, 20, 3).mean(axis=(1, 3)))
    for c in range(3):
        channel = image(axes(fig, f"input {c}"))
        assert np.array_equal(channel, expected_input[..., c])
        weights = image(axes(fig, f"filter {c}"))
        assert weights.shape == (5, 5)
        # the numbers written on the filter are its weights to 3 significant digits
        assert np.allclose(cell_values(axes(fig, f"filter {c}")), weights, rtol=5e-3, atol=1e-4)
        out = image(axes(fig, f"output {c}"))
        assert out.shape == (8, 8)
        assert np.allclose(out, valid_correlation(channel, weights), atol=1e-9)
    assert any("(4,800 multiplications)" in t for t in all_texts(fig))
    blur = image(axes(fig, "filter 0"))
    assert np.isclose(blur.sum(), 1.0) and np.allclose(blur, blur.T)


def test_figure4_given_filters_and_errors():
    rgb = np.random.default_rng(2).random((6, 7, 2))
    bank = [np.eye(3), np.ones((3, 3))]
    fig = plot.depthwise_convolution(rgb, bank, small=True)
    assert np.allclose(image(axes(fig, "output 1")), valid_correlation(rgb[..., 1], bank[1]))
    with pytest.raises(ValueError, match="one per channel"):
        plot.depthwise_convolution(rgb, [np.eye(3)], small=True)
    with pytest.raises(ValueError, match="1 to 4 channels"):
        plot.depthwise_convolution(np.ones((6, 6, 5)), small=True)
    with pytest.raises(ValueError, match="kernel_size"):
        plot.depthwise_convolution(rgb, kernel_size=4, small=True)


def test_figure5_output_is_the_weighted_sum_of_the_channels():
    maps = np.random.default_rng(4).standard_normal((8, 8, 3))
    fig = plot.pointwise_convolution(maps, [0.5, -1.0, 2.0], small=True)
    ax = axes(fig, "input")
    drawn = {im.get_label(): np.asarray(im.get_array()) for im in ax.images}
    for c in range(3):
        assert np.array_equal(drawn[f"channel {c}"], maps[..., c])
    assert texts(axes(fig, "weights")) == ["0.5", "-1", "2"]
    expected = 0.5 * maps[..., 0] - maps[..., 1] + 2 * maps[..., 2]
    assert np.allclose(image(axes(fig, "output")), expected)
    with pytest.raises(ValueError, match="weights must hold 3"):
        plot.pointwise_convolution(maps, [1.0, 2.0], small=True)


def test_figure5_default_input_is_figure4_output():
    fig4 = plot.depthwise_convolution(small=True)
    fig5 = plot.pointwise_convolution(small=True)
    maps = np.stack([image(axes(fig4, f"output {c}")) for c in range(3)], axis=-1)
    weights = cell_values(axes(fig5, "weights")).ravel()
    assert np.allclose(image(axes(fig5, "output")), maps @ weights)


def test_figure6_counts_and_the_256_maps():
    maps = np.random.default_rng(5).standard_normal((8, 8, 3))
    fig = plot.pointwise_upscale(maps, small=True)
    shown = texts(axes(fig, "counts"))
    for number in ("1,228,800", "53,952", "4,800", "49,152", "19,200", "843"):
        assert number in shown, number
    assert "12×12×3 → 8×8×256" in shown and "22.8x fewer multiplications" in shown
    # brute-force counts of the article's layer: 12x12x3 -> 8x8x256 with 5x5 filters
    assert 8 * 8 * 256 * 5 * 5 * 3 == 1_228_800 and 8 * 8 * 3 * 25 + 8 * 8 * 3 * 256 == 53_952
    weights = image(axes(fig, "weights")).T
    assert weights.shape == (256, 3)
    out = np.einsum("hwc,nc->hwn", maps, weights)
    tiles = image(axes(fig, "output"))
    assert tiles.shape == (16 * 9 - 1, 16 * 9 - 1)
    for n in (0, 17, 255):
        r, c = divmod(n, 16)
        tile = tiles[9 * r : 9 * r + 8, 9 * c : 9 * c + 8]
        m = out[..., n]
        assert np.allclose(tile, (m - m.min()) / (m.max() - m.min()))
    assert np.isnan(tiles[8, :]).all()


def test_figure6_other_filter_counts():
    fig = plot.pointwise_upscale(np.ones((4, 4, 3)), n_filters=10, kernel_size=3, small=True)
    shown = texts(axes(fig, "counts"))
    assert f"{4 * 4 * 10 * 27:,}" in shown and f"{4 * 4 * 3 * 9 + 4 * 4 * 3 * 10:,}" in shown
    with pytest.raises(ValueError, match="n_filters"):
        plot.pointwise_upscale(np.ones((4, 4, 3)), n_filters=0, small=True)


# --------------------------------------------------------------------------- analysis figures


def test_spectra_are_the_normalised_singular_values():
    specs = ["sobel", "box:size=5", "laplacian", "disk:radius=3"]
    fig = plot.singular_value_spectra(specs, small=True)
    lines = {
        line.get_label(): line.get_ydata()
        for ax in fig.axes
        for line in ax.get_lines()
        if "rank" in line.get_label()
    }
    expected_rank = {"sobel": 1, "box:size=5": 1, "laplacian": 2, "disk:radius=3": 3}
    for spec, r in expected_rank.items():
        kernel = sepconv._kernelspec.parse_kernel_spec(spec)
        s = np.linalg.svd(kernel.astype(float), compute_uv=False)
        assert np.allclose(lines[f"{spec} (rank {r})"], np.maximum(s / s[0], 1e-17))
        assert np.linalg.matrix_rank(kernel) == r
    separable = {line.get_label() for line in axes(fig, "separable").get_lines()}
    assert {"sobel (rank 1)", "box:size=5 (rank 1)"} <= separable
    assert "laplacian (rank 2)" not in separable


def test_lowrank_errors_follow_the_truncated_svd():
    fig = plot.lowrank_error({"disk": sepconv.kernels.disk(4)}, small=True)
    kernel = sepconv.kernels.disk(4).astype(float)
    s = np.linalg.svd(kernel, compute_uv=False)
    tail = np.sqrt([np.sum(s[r:] ** 2) for r in range(1, s.size + 1)]) / np.linalg.norm(s)
    line = axes(fig, "error vs rank").get_lines()[0]
    assert line.get_label() == "disk"
    assert np.allclose(line.get_xdata(), np.arange(1, s.size + 1))
    assert np.allclose(line.get_ydata(), np.maximum(tail, 1e-17), rtol=1e-6, atol=1e-14)
    cost_line = axes(fig, "error vs cost").get_lines()[0]
    assert np.array_equal(cost_line.get_xdata(), np.arange(1, s.size + 1) * 18)


def test_analysis_figures_reject_bad_kernels():
    with pytest.raises(TypeError, match="sequence of kernel specs"):
        plot.singular_value_spectra("sobel", small=True)
    with pytest.raises(ValueError, match="2-D"):
        plot.lowrank_error({"cube": np.ones((2, 2, 2))}, small=True)


# --------------------------------------------------------------------------- results files


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


FILTERS = {  # the shape benchmarks/bench_filters.py writes
    "meta": {"quick": True},
    "cases": [
        {
            "group": "2d",
            "dtype": "float32",
            "shape": [512, 512],
            "ksize": 7,
            "kernel": "gaussian sigma=1.2 radius=3",
            "mode": "reflect",
            "contenders": {
                "sepconv.sepfilter": {"median_s": 0.002},
                "cv2.sepFilter2D": {"median_s": 0.003},
                "scipy.correlate1d x2": {"median_s": 0.04},
                "kornia.filter2d_separable": {"skipped": "not installed"},
            },
            "primary": "sepconv.sepfilter",
            "ratios": {"sepconv.sepfilter": {"cv2.sepFilter2D": 0.67}},
        },
        {
            "group": "disk",
            "dtype": "float32",
            "shape": [512, 512],
            "ksize": 15,
            "contenders": {
                "sepconv lowrank": {"median_s": 0.01},
                "cv2.filter2D": {"median_s": 0.025},
            },
            "primary": "sepconv lowrank",
        },
    ],
}


def test_filter_speed_reads_the_benchmark_schema(tmp_path):
    fig = plot.filter_speed(write(tmp_path, "filters.json", FILTERS), small=True)
    ax = axes(fig, "speed")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2d float32 512×512 k=7", "disk float32 512×512 k=15"]
    lines = {line.get_label(): line for line in ax.get_lines() if line.get_label()[0] != "_"}
    assert set(lines) == {"cv2.sepFilter2D", "scipy.correlate1d x2", "cv2.filter2D"}
    assert np.allclose(lines["cv2.sepFilter2D"].get_xdata(), [1.5])
    assert np.allclose(lines["scipy.correlate1d x2"].get_xdata(), [20.0])
    assert np.allclose(lines["cv2.filter2D"].get_xdata(), [2.5])
    assert list(lines["cv2.filter2D"].get_ydata()) == [1]


def test_filter_speed_charts_the_headline_rows_of_a_full_run_against_peers_only(tmp_path):
    def row(shape, k, family="gaussian"):
        timing = {"median_s": 0.002}
        return {"group": family, "family": family, "dtype": "float32", "shape": shape,
                "ksize": k, "primary": "sepconv.correlate",
                "contenders": {"sepconv.correlate": timing, "sepconv.correlate 1 thread": timing,
                               "sepconv.correlate after torch op": timing,
                               "cv2.sepFilter2D": {"median_s": 0.003}}}  # fmt: skip

    data = {"cases": [row([1024, 1024], 3), row([64, 64], 3), row([2048, 2048], 101, "box")]}
    fig = plot.filter_speed(write(tmp_path, "filters.json", data), small=True)
    ax = axes(fig, "speed")
    assert len(ax.get_yticklabels()) == 2  # 64^2 is not a headline row
    labels = {ln.get_label() for ln in ax.get_lines() if ln.get_label()[0] != "_"}
    assert labels == {"cv2.sepFilter2D"}


def test_filter_heatmap_divides_by_each_peers_fastest_and_frames_slower_cells(tmp_path):
    def row(family, dtype, shape, k, mine, **peers):
        names = {
            "sep": "cv2.sepFilter2D",
            "blur": "cv2.GaussianBlur",
            "scipy": "scipy.x",
            "torch": "cv2.sepFilter2D after torch op",
        }
        times = {"sepconv.correlate": mine, **{names[n]: t for n, t in peers.items()}}
        return {"family": family, "dtype": dtype, "shape": shape, "ksize": k,
                "primary": "sepconv.correlate",
                "contenders": {n: {"median_s": t} for n, t in times.items()}}  # fmt: skip

    cases = [
        row("gaussian", "float32", [64, 64], 3, 2.0, sep=4.0, blur=1.0, scipy=20.0, torch=0.1),
        row("gaussian", "float32", [64, 64], 7, 1.0, sep=4.0, scipy=2.0),
        row("gaussian", "float32", [1080, 1920], 3, 1.0, sep=0.5, scipy=2.0),
        row("box", "uint8", [64, 64], 31, 3.0, sep=1.0),
    ]
    fig = plot.filter_heatmap(write(tmp_path, "filters.json", {"cases": cases}), small=True)
    cv = axes(fig, "OpenCV: gaussian float32")
    values = cv.images[0].get_array()
    # rows: 64², then 1920x1080 (more pixels); columns: k = 3, 7
    assert [t.get_text() for t in cv.get_yticklabels()] == ["64²", "1920×1080"]
    assert values[0, 0] == 2.0  # against cv2.GaussianBlur, the faster OpenCV function
    assert values[0, 1] == 0.25 and values[1, 0] == 2.0 and np.ma.is_masked(values[1, 1])
    framed = [p for p in cv.patches if not p.get_fill()]
    assert len(framed) == 2  # the two cells where sepconv is slower
    norm = cv.images[0].norm
    assert norm.vmin * norm.vmax == pytest.approx(1.0)  # 1x is the middle colour
    scipy = axes(fig, "scipy.ndimage: gaussian float32").images[0].get_array()
    assert scipy[0, 0] == pytest.approx(0.1) and scipy[0, 1] == 0.5
    assert axes(fig, "OpenCV: box uint8").images[0].get_array()[0, 0] == 3.0
    assert np.ma.is_masked(axes(fig, "scipy.ndimage: box uint8").images[0].get_array()[0, 0])
    with pytest.raises(ValueError, match="no case with sepconv and a peer timed"):
        plot.filter_heatmap(
            write(tmp_path, "none.json", {"cases": [row("box", "uint8", [8, 8], 3, 1.0)]})
        )


def test_filter_speed_reads_long_records_in_ms(tmp_path):
    data = {
        "results": [
            {"case": "a", "method": "sepconv", "median_ms": 2.0},
            {"case": "a", "method": "opencv", "median_ms": 5.0},
        ]
    }
    fig = plot.filter_speed(write(tmp_path, "long.json", data), small=True)
    (line,) = [ln for ln in axes(fig, "speed").get_lines() if ln.get_label() == "opencv"]
    assert np.allclose(line.get_xdata(), [2.5])


def test_results_figures_explain_missing_or_empty_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist; write it with"):
        plot.filter_speed(tmp_path / "none.json")
    with pytest.raises(ValueError, match="not valid JSON"):
        plot.layer_speedup((tmp_path / "bad.json").open("w").close() or tmp_path / "bad.json")
    with pytest.raises(ValueError, match="no benchmark records"):
        plot.filter_speed(write(tmp_path, "empty.json", {"results": [{"x": 1}]}))
    with pytest.raises(ValueError, match="no layer records"):
        plot.layer_speedup(write(tmp_path, "empty2.json", {"rows": [{"layer": "a"}]}))
    with pytest.raises(ValueError, match="summary"):
        plot.capacity_study(write(tmp_path, "empty3.json", {"config": {}}))


LAYERS = {  # the shape benchmarks/bench_layers.py writes
    "meta": {},
    "rows": [
        {
            "layer": "32->64 @ 112^2",
            "kernel": k,
            "layout": layout,
            "pass": p,
            "conv_s": 0.02 * k,
            "separable_s": 0.01,
            "measured_speedup": 2.0 * k,
            "mac_ratio": 7.0 + k,
        }
        for k in (3, 5)
        for layout in ("NCHW", "channels_last")
        for p in ("forward", "forward+backward")
    ],
}


def test_layer_speedup_bars_and_mac_ratio(tmp_path):
    fig = plot.layer_speedup(write(tmp_path, "layers.json", LAYERS), small=True)
    ax = axes(fig, "speedup")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "32->64 @ 112^2 k=3",
        "32->64 @ 112^2 k=5",
    ]
    bars = {c.get_label(): [p.get_width() for p in c.patches] for c in ax.containers}
    assert set(bars) == {
        "NCHW forward",
        "NCHW forward+backward",
        "channels_last forward",
        "channels_last forward+backward",
    }
    assert all(widths == [6.0, 10.0] for widths in bars.values())
    (mac,) = [ln for ln in ax.get_lines() if ln.get_label() == "MAC ratio"]
    assert list(mac.get_xdata()) == [10.0, 12.0]


def test_layer_speedup_from_times_only(tmp_path):
    data = [
        {
            "in_channels": 8,
            "out_channels": 16,
            "size": 28,
            "kernel_size": 3,
            "standard_ms": 6.0,
            "separable_ms": 2.0,
        }
    ]
    fig = plot.layer_speedup(write(tmp_path, "times.json", data), small=True)
    ax = axes(fig, "speedup")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["8→16 @28 k3"]
    assert [p.get_width() for p in ax.containers[0].patches] == [3.0]


def study_rows():
    return [
        {
            "family": f,
            "width": w,
            "weights": n * w,
            "macs": 10 * n * w,
            "test_acc_mean": a + w,
            "test_acc_std": 0.5,
            "train_loss_mean": 0.1,
        }
        for f, n, a in (("standard", 100, 90.0), ("depthwise", 30, 80.0))
        for w in (2, 4)
    ]


def test_capacity_study_draws_each_family(tmp_path):
    path = write(tmp_path, "results.json", {"summary": study_rows(), "dataset": {"name": "digits"}})
    fig = plot.capacity_study(path, small=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lines = {c.get_label(): c.lines[0] for c in ax.containers}
    assert set(lines) == {"standard", "depthwise separable"}
    assert list(lines["depthwise separable"].get_xdata()) == [60, 120]
    assert list(lines["depthwise separable"].get_ydata()) == [82.0, 84.0]
    assert any("digits" in t for t in all_texts(fig))


def test_capacity_study_summarises_runs(tmp_path):
    runs = [
        {
            "family": "standard",
            "width": 2,
            "seed": s,
            "weights": 100,
            "macs": 900,
            "params": 100,
            "test_acc": a,
            "val_acc": a,
            "train_acc": a,
            "train_loss": 0.5,
            "wall_s": 1.0,
        }
        for s, a in enumerate([80.0, 84.0])
    ]
    fig = plot.capacity_study(write(tmp_path, "runs.json", {"runs": runs}), small=True)
    (line,) = [c.lines[0] for c in fig.axes[0].containers if c.get_label() == "standard"]
    assert list(line.get_ydata()) == [82.0]


# --------------------------------------------------------------------------- registry and CLI

runner = CliRunner()


def test_draw_by_name_and_errors():
    assert set(plot.RESULTS_DEFAULTS) <= set(plot.FIGURES)
    fig = plot.draw("lowrank", small=True)
    assert axes(fig, "error vs rank").get_lines()
    with pytest.raises(ValueError, match="unknown figure 'nope'"):
        plot.draw("nope")
    with pytest.raises(ValueError, match="reads no results file"):
        plot.draw("sobel", results="x.json")


def test_cli_lists_every_figure():
    result = runner.invoke(app, ["figure", "--list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [row["name"] for row in listed] == list(plot.FIGURES)
    assert {row["name"]: row["reads"] for row in listed}["filter-speed"].endswith("filters.json")
    help_text = runner.invoke(app, ["figure", "--help"]).output
    assert "Examples" in help_text and "sepconv figure" in help_text


def test_cli_writes_a_png_that_decodes(tmp_path):
    from PIL import Image

    out = tmp_path / "fig" / "separable-kernel.png"
    result = runner.invoke(
        app, ["figure", "separable-kernel", "--out", str(out), "--small", "--dpi", "50"]
    )
    assert result.exit_code == 0, result.output
    with Image.open(out) as png:
        png.load()
        assert png.width > 100 and png.height > 50
        assert len(np.unique(np.asarray(png.convert("L")))) > 10  # not a blank image


def test_cli_reads_results_and_reports_errors(tmp_path):
    path = write(tmp_path, "layers.json", LAYERS)
    out = tmp_path / "speed.svg"
    result = runner.invoke(
        app, ["figure", "layer-speedup", "--results", str(path), "--out", str(out), "--small"]
    )
    assert result.exit_code == 0, result.output
    assert out.read_text().lstrip().startswith("<?xml")
    missing = runner.invoke(
        app, ["figure", "capacity", "--results", str(tmp_path / "no.json"), "--out", str(out)]
    )
    assert missing.exit_code == 2 and "does not exist" in " ".join(missing.output.split())
    unknown = runner.invoke(app, ["figure", "nope", "--out", str(out)])
    assert unknown.exit_code == 2 and "unknown figure" in " ".join(unknown.output.split())
    no_out = runner.invoke(app, ["figure", "sobel"])
    assert no_out.exit_code != 0 and "--out" in no_out.output


def test_ndimage_speed_has_a_panel_per_dtype_and_a_series_per_shape(tmp_path):
    rows = [
        {"function": f, "shape": s, "dtype": d, "speedup_vs_scipy": x}
        for f, s, d, x in (
            ("sobel", [32, 32], "uint8", 1.5),
            ("sobel", [1024, 1024], "uint8", 12.0),
            ("laplace", [1024, 1024], "uint8", 8.0),
            ("sobel", [1024, 1024], "float32", 9.0),
        )
    ]
    fig = plot.ndimage_speed(write(tmp_path, "ndimage.json", {"numpy": rows}), small=True)
    assert [ax.get_label() for ax in fig.axes] == ["uint8", "float32"]
    u8 = {ln.get_label(): ln for ln in axes(fig, "uint8").get_lines() if ln.get_label()[0] != "_"}
    assert set(u8) == {"32x32", "1024x1024"}
    assert list(u8["1024x1024"].get_xdata()) == [12.0, 8.0]
    assert list(u8["1024x1024"].get_ydata()) == [0, 1]  # sobel, laplace
    with pytest.raises(ValueError, match="no sepconv.ndimage records"):
        plot.ndimage_speed(write(tmp_path, "bad.json", {"numpy": [{"function": "x"}]}))
