"""Constant factors (box / mean filters) as running sums: accuracy against scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
from sepconv import _engine, kernels
from sepconv._engine._arith import refresh_interval

RNG = np.random.default_rng(5)
MODES = ["reflect", "constant", "wrap", "nearest", "mirror"]


def box(k: int) -> np.ndarray:
    return np.full(k, 1.0 / k)


def separable_reference(x, vectors, axes, mode, cval=0.0):
    """scipy's correlate1d over each axis in float64: the exact separable result."""
    out = x.astype(np.float64)
    for v, ax in zip(vectors, axes):
        out = ndi.correlate1d(out, v, axis=ax, mode=mode, cval=cval)
    return out


def test_long_constant_factors_plan_running_sums_at_a_flat_cost():
    costs = []
    for k in (31, 101, 301):
        p = sepconv.plan((512, 512), np.full((k, k), 1.0 / k**2), dtype=np.float32)
        assert p.method == "separable" and "box sums on axes (0, 1)" in p.explain()
        costs.append(p.costs["separable"])
    assert costs[0] == costs[1] == costs[2]
    short = sepconv.plan((512, 512), np.full((3, 3), 1.0 / 9), dtype=np.float32)
    assert "running" not in short.explain()  # below the break-even length: folded taps
    assert _engine.running_constant(box(_engine.RUNNING_MIN - 1)) is None
    assert _engine.running_constant(box(_engine.RUNNING_MIN)) is not None
    assert _engine.running_constant(np.hanning(40)) is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k", [17, 64, 101, 301])
def test_box_filters_match_scipy_in_every_mode(mode, k):
    # both axes longer than the kernel: shorter ones fold the kernel first (_reduce)
    x = RNG.standard_normal((k + 9, 330))
    p = sepconv.plan(x.shape, np.full((k, k), 1.0 / k**2), dtype=np.float32)
    assert "box sums on axes (0, 1)" in p.explain()
    ours = sepconv.correlate(x, np.full((k, k), 1.0 / k**2), mode=mode, cval=1.5)
    expected = separable_reference(x, [box(k), box(k)], (0, 1), mode, 1.5)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-13)
    x32 = x.astype(np.float32)
    ours32 = sepconv.sepfilter(x32, [box(k), box(k)], mode=mode, cval=1.5)
    assert ours32.dtype == np.float32
    np.testing.assert_allclose(ours32, expected, rtol=0, atol=4e-7)
    for axis in (0, 1):
        got = sepconv.sepfilter(x32, [box(k)], axes=[axis], mode=mode, cval=1.5)
        ref = ndi.correlate1d(x, box(k), axis=axis, mode=mode, cval=1.5)
        np.testing.assert_allclose(got, ref, rtol=0, atol=4e-7)


def test_channels_volumes_and_mixed_factors_match_scipy():
    rgb = RNG.random((45, 60, 3)).astype(np.float32)
    got = sepconv.sepfilter(rgb, [box(21), box(33)], axes=(0, 1), mode="wrap")
    expected = separable_reference(rgb, [box(21), box(33)], (0, 1), "wrap")
    np.testing.assert_allclose(got, expected, atol=4e-7)
    # many channels inside the filtered axis (axis 0 of a wide array): the
    # running sums advance a block of channels at a time
    wide = RNG.random((80, 40))
    got = sepconv.sepfilter(wide, [box(17)], axes=[0], mode="nearest")
    np.testing.assert_allclose(got, ndi.correlate1d(wide, box(17), axis=0, mode="nearest"),
                               atol=1e-13)  # fmt: skip
    vol = RNG.random((30, 25, 28))
    got = sepconv.correlate(vol, np.full((17, 19, 21), 1.0 / (17 * 19 * 21)), mode="mirror")
    expected = separable_reference(vol, [box(17), box(19), box(21)], (0, 1, 2), "mirror")
    np.testing.assert_allclose(got, expected, atol=1e-13)
    g = kernels.gaussian(2.0)
    for factors in ([box(25), g], [g, box(25)]):  # one running sum, one tap loop
        got = sepconv.sepfilter(rgb[..., 0], factors, mode="reflect")
        expected = separable_reference(rgb[..., 0], factors, (0, 1), "reflect")
        np.testing.assert_allclose(got, expected, atol=4e-7)


def test_integer_boxes_are_exact_on_integer_images():
    x = RNG.integers(-(2**20), 2**20, (50, 70)).astype(np.int32)
    k = kernels.box(31)  # ones: integer sums, exact in float64
    for mode in MODES:
        np.testing.assert_array_equal(
            sepconv.correlate(x, k, mode=mode), ndi.correlate(x, k, mode=mode)
        )


@pytest.mark.parametrize("dtype", ["uint16", "int32"])
def test_means_of_values_near_the_integer_limits(dtype):
    info = np.iinfo(dtype)
    x = (info.max - RNG.integers(0, 1000, (310, 320))).astype(dtype)  # longer than k
    for k, mode in ((101, "reflect"), (301, "nearest"), (64, "wrap")):
        ours = sepconv.correlate(x, np.full((k, k), 1.0 / k**2), mode=mode)
        exact = separable_reference(x, [box(k), box(k)], (0, 1), mode)
        # scipy truncates its float64 result: equal wherever the exact mean is not
        # within rounding of an integer, and never off by more than one
        assert np.all(np.abs(ours.astype(np.int64) - np.trunc(exact)) <= 1)
        clear = np.abs(exact - np.round(exact)) > 1e-6
        np.testing.assert_array_equal(ours[clear], np.trunc(exact[clear]).astype(dtype))


def test_float32_means_with_large_offsets_stay_within_float32_rounding():
    x = (1e6 + RNG.standard_normal((310, 400)) * 10).astype(np.float32)
    for k in (101, 301):
        ours = sepconv.correlate(x, np.full((k, k), 1.0 / k**2), mode="reflect")
        exact = separable_reference(x, [box(k), box(k)], (0, 1), "reflect")
        # float32 spacing at 1e6 is 0.0625: a couple of roundings, no drift
        assert np.abs(ours - exact).max() <= 0.0625 * 2


def test_drift_is_bounded_after_a_huge_value_leaves_the_window():
    # A running sum that passed a 1e15 keeps an error near 0.1 forever; recomputing
    # every refresh_interval(k) outputs bounds it to rounding of what is in reach.
    k = 31
    x = np.ones((1, 6000))
    x[0, 100] = 1e15
    ours = sepconv.sepfilter(x, [box(k)], axes=[1], mode="nearest")
    exact = ndi.correlate1d(x, box(k), axis=1, mode="nearest")
    far = 100 + 2 * (refresh_interval(k) + k)
    bound = (2 * refresh_interval(k) + k) * 2.0**-53 * k * 1.0 / k  # 1.0: max|x| far out
    assert np.abs(ours[0, far:] - exact[0, far:]).max() <= bound
    near = slice(100 - k, 100 + k)
    np.testing.assert_allclose(ours[0, near], exact[0, near], rtol=1e-12)
    # vertically too
    ours_v = sepconv.sepfilter(x.T.copy(), [box(k)], axes=[0], mode="nearest")
    assert np.abs(ours_v[far:, 0] - exact[0, far:]).max() <= bound


@pytest.mark.parametrize("mode", MODES)
def test_nan_and_inf_give_scipys_nan_and_inf_positions(mode):
    x = RNG.standard_normal((60, 200)).astype(np.float32)
    x[10, 20] = np.nan
    x[40, 150] = np.inf
    x[45, 160] = -np.inf
    x[5, 190] = np.inf
    for k in (17, 41):
        K = np.full((k, k), 1.0 / k**2)
        with np.errstate(invalid="ignore"):
            expected = ndi.correlate(x, K, mode=mode)
        ours = sepconv.correlate(x, K, mode=mode)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
        np.testing.assert_array_equal(ours[np.isinf(expected)], expected[np.isinf(expected)])
        finite = np.isfinite(expected)
        np.testing.assert_allclose(ours[finite], expected[finite], atol=1e-5)
    nan_cval = sepconv.correlate(x[:20, :30], np.full((17, 17), 1 / 289), mode="constant",
                                 cval=np.nan)  # fmt: skip
    with np.errstate(invalid="ignore"):
        ref = ndi.correlate(x[:20, :30], np.full((17, 17), 1 / 289), mode="constant", cval=np.nan)
    np.testing.assert_array_equal(np.isnan(nan_cval), np.isnan(ref))


def test_running_sums_do_not_depend_on_the_thread_count():
    x = RNG.random((300, 700)).astype(np.float32)
    K = np.full((101, 101), 1.0 / 101**2)
    before = sepconv.get_num_threads()
    try:
        sepconv.set_num_threads(1)
        one = sepconv.correlate(x, K)
        sepconv.set_num_threads(sepconv.get_num_threads(max=True))
        many = sepconv.correlate(x, K)
    finally:
        sepconv.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_replayed_calls_and_callable_plans_give_the_same_running_sums():
    x = RNG.random((64, 90)).astype(np.float32)
    K = np.full((33, 33), 1.0 / 33**2)
    expected = separable_reference(x, [box(33), box(33)], (0, 1), "reflect")
    first = sepconv.correlate(x, K)
    again = sepconv.correlate(x, K)  # the recorded launches, replayed
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(again, expected, atol=4e-7)
    p = sepconv.plan(x.shape, K, dtype=x.dtype)
    np.testing.assert_array_equal(p(x), first)
    np.testing.assert_array_equal(p(x), first)
