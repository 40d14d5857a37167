"""The Numba engine against the NumPy reference path and scipy's conversion rule."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
import sepconv.ndimage
from sepconv._engine import (
    convert_like_scipy,
    fold_taps,
    run_direct,
    run_fft,
    run_separable,
    work_dtype,
)
from sepconv._engine._reference import correlate_reference

RNG = np.random.default_rng(7)
SPECIAL = np.array(
    [
        -1.5,
        -0.5,
        0.5,
        1.7,
        255.9,
        256.2,
        300.0,
        -129.5,
        70000.3,
        -70000.3,
        3e9,
        -3e9,
        1e19,
        -1e19,
        np.nan,
        np.inf,
        -np.inf,
        2.0**31,
        2.0**63,
    ]
)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "uint32", "int32", "int64"])
def test_conversion_to_integers_is_scipys_including_nan_and_overflow(dtype):
    expected = ndi.correlate(SPECIAL, [1.0], output=dtype)
    np.testing.assert_array_equal(convert_like_scipy(SPECIAL, dtype), expected)
    # the compiled row output applies the same rule (identity kernel: conversion only)
    for source in (SPECIAL, SPECIAL.astype(np.float32)):
        got = sepconv.correlate(source, [1.0], output=dtype)
        ok = np.isnan(source) | (
            source.astype(np.float64) == SPECIAL
        )  # float32 rounding moves some
        np.testing.assert_array_equal(got[ok], ndi.correlate(source, [1.0], output=dtype)[ok])


def test_fold_taps_folds_symmetric_and_antisymmetric_kernels_and_skips_zeros():
    assert fold_taps(np.array([1.0, 4.0, 6.0, 4.0, 1.0])) == [
        (0, 4, 1.0, 1.0),
        (1, 3, 4.0, 1.0),
        (2, 2, 6.0, 0.0),
    ]
    assert fold_taps(np.array([-1.0, -2.0, 0.0, 2.0, 1.0])) == [
        (0, 4, -1.0, -1.0),
        (1, 3, -2.0, -1.0),
    ]
    assert fold_taps(np.array([1.0, 0.0, 3.0])) == [(0, 0, 1.0, 0.0), (2, 2, 3.0, 0.0)]
    assert fold_taps(np.array([2.0, 2.0])) == [(0, 1, 2.0, 1.0)]
    assert fold_taps(np.zeros(3)) == []
    w = np.array([1.0, 2.0, 1.0 + 1e-15])  # symmetric to rounding: folded and averaged
    assert fold_taps(w)[0][3] == 1.0


def test_work_dtype_keeps_float32_and_uses_float64_where_float32_is_not_exact():
    assert work_dtype(np.float32, np.float32, 1.0, 49) == np.float32
    assert work_dtype(np.float32, np.float64, 1.0, 49) == np.float64
    assert work_dtype(np.uint8, np.uint8, 1.0, 961) == np.float32
    assert work_dtype(np.uint8, np.uint8, 1000.0, 961) == np.float64
    assert work_dtype(np.int16, np.int16, 1.0, 9) == np.float64


def _layouts():
    base = RNG.standard_normal((6, 30, 26))
    return {
        "C": base,
        "channels-last": np.ascontiguousarray(np.moveaxis(base, 0, -1)),
        "strided": base[::2, ::-3, 1::2],
        "fortran": np.asfortranarray(base),
        "big-endian": base.astype(">f8"),
    }


@pytest.mark.parametrize("name", list(_layouts()))
def test_direct_separable_lowrank_and_fft_equal_the_reference_on_any_layout(name):
    x = _layouts()[name]
    axes = (1, 2) if name != "channels-last" else (0, 1)
    modes = ["wrap", "constant"]
    a, b = RNG.standard_normal(5), RNG.standard_normal(4)
    c, d = RNG.standard_normal(5), RNG.standard_normal(4)
    dense = np.outer(a, b) + np.outer(c, d)
    ref = correlate_reference(x, dense, axes, modes, 0.75, [1, -1])
    for run in ("direct", "lowrank", "fft"):
        out = np.empty(x.shape)
        if run == "direct":
            run_direct(x, out, axes, dense, modes, 0.75, [1, -1])
        elif run == "fft":
            run_fft(x, out, axes, dense, modes, 0.75, [1, -1])
        else:
            run_separable(x, out, axes, [[a, b], [c, d]], modes, 0.75, [1, -1])
        np.testing.assert_allclose(out, ref, atol=1e-12, err_msg=run)
    sep = correlate_reference(x, np.outer(a, b), axes, modes, 0.75, [0, 0])
    out = np.empty(x.shape, order="F")
    run_separable(x, out, axes, [[a, b]], modes, 0.75, [0, 0])
    np.testing.assert_allclose(out, sep, atol=1e-12)


def test_single_axis_passes_run_vertically_over_wide_rows_and_in_strips():
    wide = RNG.standard_normal((9, 5000)).astype(np.float32)  # wider than one strip
    w = np.array([1.0, -3.0, 2.0, 0.5, 4.0])
    for axis in (0, 1):
        out = np.empty_like(wide)
        run_separable(wide, out, [axis], [[w]], ["mirror"], 0.0, [1])
        ref = correlate_reference(wide, w, [axis], ["mirror"], 0.0, [1])
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)
    volume = RNG.standard_normal((7, 6, 5, 4))
    g = sepconv.kernels.gaussian(0.8, ndim=3)
    out = np.empty_like(volume)
    run_separable(
        volume,
        out,
        [0, 1, 3],
        [[g.sum(axis=(1, 2)), g.sum(axis=(0, 2)), g.sum(axis=(0, 1))]],
        ["constant", "nearest", "reflect"],
        2.0,
        [0, 1, -1],
    )
    # cval carries through the passes: the reference pads once, in all axes at once
    ref = correlate_reference(
        volume,
        np.multiply.outer(
            np.multiply.outer(g.sum(axis=(1, 2)), g.sum(axis=(0, 2))), g.sum(axis=(0, 1))
        ),
        [0, 1, 3],
        ["constant", "nearest", "reflect"],
        2.0,
        [0, 1, -1],
    )
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_all_zero_and_single_tap_kernels():
    x = RNG.standard_normal((5, 7))
    x[2, 3] = np.nan
    out = np.full_like(x, 9.0)
    run_direct(x, out, (0, 1), np.zeros((3, 3)), ["reflect"] * 2, 0.0, [0, 0])
    np.testing.assert_array_equal(out, ndi.correlate(x, np.zeros((3, 3))))
    run_separable(x, out, (0, 1), [[np.zeros(3), np.ones(2)]], ["reflect"] * 2, 0.0, [0, 0])
    np.testing.assert_array_equal(out, np.zeros_like(x))
    run_separable(x, out, (0, 1), [[np.array([2.0]), np.array([-1.0])]], ["wrap"] * 2, 0.0, [0, 0])
    np.testing.assert_array_equal(out, -2.0 * x)


def test_thread_count_does_not_change_a_bit_in_many_task_layouts():
    x = RNG.standard_normal((3, 150, 4100)).astype(np.float32)
    dense = RNG.standard_normal((3, 4))
    before = sepconv.get_num_threads()
    results = []
    try:
        for threads in (1, sepconv.get_num_threads(max=True)):
            sepconv.set_num_threads(threads)
            out1, out2 = np.empty_like(x), np.empty_like(x)
            run_separable(
                x, out1, (1, 2), [[np.ones(31) / 31, np.arange(7.0)]], ["reflect"] * 2, 0.0, [0, 0]
            )
            run_direct(x, out2, (1, 2), dense, ["reflect"] * 2, 0.0, [0, 0])
            results.append((out1, out2))
    finally:
        sepconv.set_num_threads(before)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["reflect", "wrap", "constant", "nearest"])
def test_wide_rows_split_into_strips_with_borders_in_the_first_and_last(mode):
    # rows wider than one strip: interior strips read the input rows in place,
    # the first and last gather their border columns
    x = RNG.standard_normal((7, 9000)).astype(np.float32)
    a, b = RNG.standard_normal(5), RNG.standard_normal(7)
    for origin in ([0, 0], [2, -3]):
        out = np.empty_like(x)
        run_separable(x, out, (0, 1), [[a, b]], [mode] * 2, 0.5, origin)
        ref = correlate_reference(x, np.outer(a, b), [0, 1], [mode] * 2, 0.5, origin)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_rows_read_in_place_give_the_converted_rows_bits(mode):
    # A float32 input's rows are filtered in place (no converting copy; only the
    # outputs at a row's ends read padding); an int8 input holding the same values
    # is converted row by row.  Same float32 work and output: the same bits, in
    # strips (9000 wide, 17 rows of ring) and in one, on every thread count.
    ints = RNG.integers(-100, 100, (11, 9000)).astype(np.int8)
    floats = ints.astype(np.float32)
    kernels = (
        np.outer(RNG.standard_normal(5), RNG.standard_normal(7)),
        np.ones((3, 3)) / 9,
        np.outer(RNG.standard_normal(17), RNG.standard_normal(9)),  # a taller ring: strips
    )
    for kernel in kernels:
        for x_in, x_conv in ((floats, ints), (floats[:, :40], ints[:, :40])):
            for threads in (1, 2):
                before = sepconv.get_num_threads()
                sepconv.set_num_threads(threads)
                try:
                    direct = sepconv.correlate(x_in, kernel, mode=mode, cval=0.5)
                    converted = sepconv.correlate(x_conv, kernel, mode=mode, cval=0.5,
                                                  output=np.float32)  # fmt: skip
                finally:
                    sepconv.set_num_threads(before)
                np.testing.assert_array_equal(direct, converted)


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap", "nearest", "mirror"])
def test_exact_rows_read_in_place_keep_scipys_bits(mode):
    # float64 rows along the last axis are filtered in place by the exact policy too
    # (from DIRECT_MIN elements): scipy's bits, in strips and with origins.
    x = RNG.standard_normal((5, 9000))
    w = RNG.standard_normal(9)
    for origin in (0, 3, -4):
        got = sepconv.ndimage.correlate1d(x, w, mode=mode, cval=0.5, origin=origin)
        want = ndi.correlate1d(x, w, mode=mode, cval=0.5, origin=origin)
        np.testing.assert_array_equal(got, want)


def test_fft_length_is_scipys_next_fast_len_for_real_transforms():
    # the planner sizes FFTs without importing scipy.fft (0.44 s on a first call)
    from scipy.fft import next_fast_len

    from sepconv._engine import fft_length

    assert all(fft_length(n) == next_fast_len(n, real=True) for n in range(1, 3000))
