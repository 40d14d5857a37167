"""Recursive Gaussians: the stated error bound against the sampled FIR kernel, every mode.

The reference is the exactly sampled Gaussian (derivative) -- scipy's kernel
with a truncation far beyond any float64 digit (12 sigma) -- so what is
measured is the recursive filter's own error; against scipy's default
``truncate=4`` the difference adds scipy's truncation (also checked, for the
target of 1e-3 of the peak).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from scipy.ndimage._filters import _gaussian_kernel1d

import sepconv
from sepconv import _engine
from sepconv import ndimage as sndi

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]
SIGMAS = np.geomspace(2.0, 200.0, 9)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_kernel_error_is_within_the_stated_bound_for_sigma_2_to_200(order):
    worst = 0.0
    for sigma in SIGMAS:
        radius = int(14 * sigma) + 2
        ours = _engine.recursive_impulse_response(float(sigma), order, radius)
        exact = _gaussian_kernel1d(float(sigma), order, radius)  # convolution orientation
        worst = max(worst, np.abs(ours - exact).max() / np.abs(exact).max())
    assert worst <= _engine.RECURSIVE_MAX_ERROR[order]
    assert worst > _engine.RECURSIVE_MAX_ERROR[order] / 100  # the bound is not loose


def _l1_bound(sigma, order):
    radius = int(14 * sigma) + 2
    ours = _engine.recursive_impulse_response(sigma, order, radius)
    return np.abs(ours - _gaussian_kernel1d(sigma, order, radius)).sum()


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_and_line_length_within_the_l1_bound(mode):
    rng = np.random.default_rng(MODES.index(mode))
    for n in (1, 2, 7, 60, 333):
        for sigma in (2.0, 23.0, 200.0):
            for order in (0, 1, 2):
                x = rng.standard_normal((3, n))
                ref = ndi.gaussian_filter1d(
                    x, sigma, axis=1, order=order, mode=mode, cval=0.6, truncate=12
                )
                bound = _l1_bound(sigma, order) * max(np.abs(x).max(), 0.6) + 1e-12
                for axis, data in ((1, x), (0, np.ascontiguousarray(x.T))):
                    y = np.empty_like(data)
                    _engine.run_recursive(data, y, axis, sigma, order, mode, 0.6)
                    got = y if axis == 1 else y.T
                    assert np.abs(got - ref).max() <= bound, (n, sigma, order, axis)


def test_float32_keeps_the_bound_at_sigma_200():
    x = np.random.default_rng(1).random((4, 3000)).astype(np.float32)
    y = np.empty_like(x)
    _engine.run_recursive(x, y, 1, 200.0, 0, "reflect", 0.0)
    ref = ndi.gaussian_filter1d(x.astype(np.float64), 200.0, axis=1, truncate=12)
    assert np.abs(y - ref).max() <= 5e-6


def test_gaussian_at_sigma_32_is_within_1e_3_of_the_peak_of_scipys_fir():
    x = np.zeros((257, 257), np.float32)
    x[128, 128] = 1.0
    ours = sndi.gaussian_filter(x, 32.0, method="recursive")
    fir = ndi.gaussian_filter(x, 32.0)
    assert np.abs(ours - fir).max() <= 1e-3 * fir.max()


def test_ndimage_method_recursive_dtypes_axes_and_errors():
    rng = np.random.default_rng(2)
    x = (rng.random((40, 30, 5)) * 200).astype(np.uint8)
    got = sndi.gaussian_filter(x, (3.0, 5.0, 0.0), method="recursive")
    assert got.dtype == np.uint8  # each pass stored in the output dtype, as scipy stores it
    ref = ndi.gaussian_filter(x, (3.0, 5.0, 0.0))
    assert np.abs(got.astype(np.int64) - ref).max() <= 1
    y = rng.random((50, 60))
    got = sndi.gaussian_filter1d(y[:, ::2], 4.0, axis=0, order=2, mode="wrap", method="recursive")
    ref = ndi.gaussian_filter1d(y[:, ::2], 4.0, axis=0, order=2, mode="wrap", truncate=12)
    assert np.abs(got - ref).max() <= _l1_bound(4.0, 2) * np.abs(y).max()
    # the default keeps scipy's bits
    assert np.array_equal(sndi.gaussian_filter(y, 4.0), ndi.gaussian_filter(y, 4.0))
    with pytest.raises(ValueError, match="order must be 0, 1 or 2"):
        sndi.gaussian_filter(y, 2.0, order=3, method="recursive")
    with pytest.raises(ValueError, match="radius does not apply"):
        sndi.gaussian_filter(y, 2.0, radius=5, method="recursive")
    with pytest.raises(ValueError, match="method must be 'fir'"):
        sndi.gaussian_filter(y, 2.0, method="deriche")


def test_planner_takes_recursive_only_under_rtol_and_says_why():
    k = sepconv.kernels.gaussian(32.0, ndim=2)
    assert sepconv.plan((2048, 2048), k, dtype=np.float32).method != "recursive"
    p = sepconv.plan((2048, 2048), k, dtype=np.float32, rtol=1e-3)
    assert p.method == "recursive" and not p.exact and 0 < p.error <= 1e-3
    text = p.explain()
    assert "recursive: Gaussian filters flat in sigma" in text and "relative error" in text
    tight = sepconv.plan((2048, 2048), k, dtype=np.float32, rtol=1e-6)
    assert tight.method != "recursive" and "above rtol" in tight.explain()
    x = np.random.default_rng(3).random((300, 280))
    kd = sepconv.kernels.gaussian(9.0, order=(1, 0), ndim=2)
    got = sepconv.correlate(x, kd, mode="nearest", rtol=1e-3)
    ref = sepconv.correlate(x, kd, mode="nearest")
    chosen = sepconv.plan(x.shape, kd, rtol=1e-3)
    assert chosen.method == "recursive"
    assert np.abs(got - ref).max() <= chosen.max_abs_error_bound * np.abs(x).max() + 1e-12


@pytest.mark.parametrize("f", [sndi.gaussian_filter, sndi.gaussian_filter1d])
def test_recursive_refuses_to_skip_samples_rather_than_ignore_the_request(f):
    x = np.ones((8, 9))
    x[3, 4] = np.nan
    with pytest.raises(ValueError, match="method='recursive' does not skip samples"):
        f(x, 2.0, method="recursive", nan_policy="omit")
    with pytest.raises(ValueError, match="method='recursive' does not skip samples"):
        f(np.ones((8, 9)), 2.0, method="recursive", mask=np.zeros((8, 9), bool))
