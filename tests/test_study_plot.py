"""sepconv.study._plot: two log-x panels, one line per family, std error bars."""

from __future__ import annotations

import numpy as np

from sepconv.study import plot_results
from sepconv.study._plot import figure_png


def _rows():
    return [
        {
            "family": f,
            "width": w,
            "weights": n * w,
            "macs": 9 * n * w,
            "test_acc_mean": 50.0 + w + n,
            "test_acc_std": 0.1 * w,
        }
        for f, n in (("standard", 100), ("depthwise", 20), ("spatial", 50))
        for w in (8, 2, 4)
    ]


def test_one_line_per_family_sorted_by_cost_on_log_axes():
    fig = plot_results(_rows(), title="t")
    weights_ax, macs_ax = fig.axes
    assert weights_ax.get_xscale() == macs_ax.get_xscale() == "log"
    assert [t.get_text() for t in weights_ax.get_legend().get_texts()] == [
        "standard",
        "depthwise separable",
        "spatially separable",
    ]
    x, y = weights_ax.containers[0].lines[0].get_data()  # the data line of each errorbar
    np.testing.assert_array_equal(x, [200, 400, 800])
    np.testing.assert_array_equal(y, [152.0, 154.0, 158.0])
    np.testing.assert_array_equal(macs_ax.containers[1].lines[0].get_data()[0], [360, 720, 1440])


def test_error_bars_are_the_standard_deviations():
    fig = plot_results(_rows())
    bars = fig.axes[0].containers[0]  # ErrorbarContainer of the first family
    segments = bars.lines[2][0].get_segments()
    lengths = [seg[1][1] - seg[0][1] for seg in segments]
    np.testing.assert_allclose(lengths, [0.4, 0.8, 1.6])


def test_png_bytes_are_a_png():
    assert figure_png(plot_results(_rows())).startswith(b"\x89PNG")
