"""correlate / convolve / sepfilter against scipy.ndimage, OpenCV and brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sepconv
import sepconv.ndimage
from sepconv import NotSeparableError, kernels
from sepconv._engine._reference import correlate_reference

MODES = (
    "reflect",
    "mirror",
    "nearest",
    "wrap",
    "constant",
    "grid-mirror",
    "grid-constant",
    "grid-wrap",
)
INT_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "int64")
RNG = np.random.default_rng(20240601)

GAUSS = kernels.gaussian(1.0, ndim=2)  # 9 x 9, separable
DISK = kernels.disk(2).astype(np.float64)  # 5 x 5, not separable
SOBEL = kernels.sobel()  # integer, separable, zero middle column
UNEVEN = RNG.standard_normal((4, 3))  # even size, no symmetry, not separable


def close(ours, expected, x, w, rtol):
    """Relative agreement scaled by the largest possible output magnitude."""
    scale = float(np.nanmax(np.abs(x), initial=0.0)) * float(np.abs(w).sum()) + 1.0
    np.testing.assert_allclose(ours, expected, rtol=rtol, atol=rtol * scale)


def scipy_correlate(x, w, mode="reflect", cval=0.0, origin=0, convolve=False):
    """scipy.ndimage.correlate (or convolve), except where it is known to be wrong.

    scipy's N-D correlate reads outside a short axis in 'reflect' mode when the
    kernel reaches 4n or more samples past it (its correlate1d, and the
    documented rule, are right); there the NumPy reference path answers.
    """
    func = ndi.convolve if convolve else ndi.correlate
    got = func(x, w, mode=mode, cval=cval, origin=origin)
    origins = [origin] * w.ndim if np.isscalar(origin) else list(origin)
    if convolve:
        w = w[(slice(None, None, -1),) * w.ndim]
        origins = [-o - (1 - k % 2) for o, k in zip(origins, w.shape)]
    reach = [max(k // 2 + o, k - 1 - k // 2 - o) for k, o in zip(w.shape, origins)]
    if mode in ("reflect", "grid-mirror") and any(r >= 4 * n for r, n in zip(reach, x.shape)):
        return correlate_reference(x, w, range(x.ndim), [mode] * x.ndim, cval, origins)
    return got


def same_integers(ours, expected, exact, tol=2e-3):
    """Integer outputs equal scipy's, or differ by one where the exact value is on an integer."""
    ours, expected = np.asarray(ours, np.int64), np.asarray(expected, np.int64)
    bad = ours != expected
    if bad.any():
        assert np.all(np.abs(ours - expected)[bad] == 1), "difference larger than one"
        near = np.abs(exact[bad] - np.round(exact[bad])) <= tol * (1 + np.abs(exact[bad]))
        assert near.all(), f"{(~near).sum()} differences away from rounding boundaries"


# --------------------------------------------------------------------------- scipy, float64


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_every_mode_origin_and_shape_matches_scipy(mode, method):
    shapes = [(7, 9), (1, 1), (1, 6), (3, 2), (2, 13)]  # tiny and kernel-larger-than-input
    for shape in shapes:
        x = RNG.standard_normal(shape)
        for w, origins in [
            (GAUSS, [(0, 0), (4, -4)]),
            (DISK, [(0, 0), (-2, 1)]),
            (UNEVEN, [(0, 0), (1, -1), (-2, 1)]),
        ]:
            for origin in origins:
                expected = scipy_correlate(x, w, mode=mode, cval=0.5, origin=origin)
                ours = sepconv.correlate(x, w, mode=mode, cval=0.5, origin=origin, method=method)
                close(ours, expected, x, w, 1e-12)


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
def test_convolve_matches_scipy_with_even_kernels_and_origins(mode):
    x = RNG.standard_normal((6, 11))
    for origin in [(0, 0), (1, -1), (-2, 1)]:
        expected = ndi.convolve(x, UNEVEN, mode=mode, cval=-1.0, origin=origin)
        for method in ("auto", "direct", "fft"):
            ours = sepconv.convolve(x, UNEVEN, mode=mode, cval=-1.0, origin=origin, method=method)
            close(ours, expected, x, UNEVEN, 1e-12)
    g = kernels.gaussian(1.0, ndim=2)
    close(sepconv.convolve(x, g, mode=mode), ndi.convolve(x, g, mode=mode), x, g, 1e-12)


def test_separable_and_lowrank_methods_match_scipy():
    x = RNG.standard_normal((20, 17))
    for w in (GAUSS, SOBEL, np.outer([1.0, 3.0, -2.0, 0.5], [2.0, -1.0])):
        for method in ("separable", "lowrank"):
            ours = sepconv.correlate(x, w, mode="mirror", method=method)
            close(ours, ndi.correlate(x, w, mode="mirror"), x, w, 1e-12)
    # an exact low-rank decomposition of a rank-2 kernel
    lap = kernels.laplacian().astype(float)
    ours = sepconv.correlate(x, lap, method="lowrank")
    close(ours, ndi.correlate(x, lap), x, lap, 1e-12)


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [*INT_DTYPES, "float32", "float64"])
def test_every_dtype_matches_scipy(dtype):
    info = np.iinfo(dtype) if dtype in INT_DTYPES else None
    if info is not None:
        x = RNG.integers(max(info.min, -1000), min(info.max, 1000), (13, 10), endpoint=True)
        x = x.astype(dtype)
    else:
        x = (RNG.standard_normal((13, 10)) * 50).astype(dtype)
    for mode in ("reflect", "constant", "wrap", "nearest", "mirror"):
        for w in (SOBEL, GAUSS, DISK / DISK.sum()):
            expected = ndi.correlate(x, w, mode=mode, cval=3)
            ours = sepconv.correlate(x, w, mode=mode, cval=3)
            assert ours.dtype == x.dtype
            if info is None:
                close(ours, expected, x, w, 1e-5 if dtype == "float32" else 1e-12)
            else:
                exact = ndi.correlate(x.astype(np.float64), w, mode=mode, cval=3)
                same_integers(ours, expected, exact)
                if w is SOBEL:  # integer kernel: exact, wrap-around included
                    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("out_dtype", ["uint8", "int16", "float32", "float64", "int64"])
def test_output_dtype_follows_scipys_conversion(out_dtype):
    x = (RNG.standard_normal((9, 8)) * 300).astype(np.float32)  # values beyond uint8 wrap
    w = SOBEL
    expected = ndi.correlate(x, w, output=out_dtype)
    ours = sepconv.correlate(x, w, output=out_dtype)
    assert ours.dtype == np.dtype(out_dtype)
    if out_dtype.startswith("float"):
        close(ours, expected, x, w, 1e-5)
    else:
        exact = ndi.correlate(x.astype(np.float64), w)
        good = np.abs(exact - np.round(exact)) > 1e-3 * (1 + np.abs(exact))
        np.testing.assert_array_equal(ours[good], expected[good])


def test_uint8_gaussian_is_exact_up_to_rounding_boundaries():
    x = RNG.integers(0, 256, (64, 80)).astype(np.uint8)
    for k in (3, 7, 15):
        g = kernels.gaussian(k / 6, ndim=2, radius=k // 2)
        exact = ndi.correlate(x.astype(np.float64), g)
        same_integers(sepconv.correlate(x, g), ndi.correlate(x, g), exact)


def test_float16_gets_a_clear_type_error_and_bool_and_uint64_are_filtered_as_by_ndimage():
    # Issue 18: sepconv.correlate accepts exactly what sepconv.ndimage.correlate accepts
    # (bool and uint64 used to be refused here); float16 is refused by both, as by scipy.
    with pytest.raises(TypeError, match="input dtype .* is not supported.*convert"):
        sepconv.correlate(np.zeros((3, 3), dtype=np.float16), np.ones((3, 3)))
    with pytest.raises(TypeError, match="output dtype float16 is not supported"):
        sepconv.correlate(np.zeros((3, 3)), np.ones((3, 3)), output=np.float16)
    for dtype in (bool, np.uint64):
        x = RNG.integers(0, 2, (6, 7)).astype(dtype)
        ours = sepconv.correlate(x, np.ones((3, 3)))
        assert ours.dtype == dtype
        assert np.array_equal(ours, sepconv.ndimage.correlate(x, np.ones((3, 3))))


def test_complex_input_and_weights_match_scipy():
    x = RNG.standard_normal((7, 8)) + 1j * RNG.standard_normal((7, 8))
    w = RNG.standard_normal((3, 3)) + 1j * RNG.standard_normal((3, 3))
    for func, ref in ((sepconv.correlate, ndi.correlate), (sepconv.convolve, ndi.convolve)):
        close(func(x, w, mode="wrap"), ref(x, w, mode="wrap"), x, w, 1e-12)
        close(func(x.real, w), ref(x.real, w), x, w, 1e-12)
        close(
            func(x, w.real, cval=1 + 2j, mode="constant"),
            ref(x, w.real, cval=1 + 2j, mode="constant"),
            x,
            w,
            1e-12,
        )
    with pytest.raises(ValueError, match="cval must be real"):
        sepconv.correlate(x.real, w, cval=1j)


# --------------------------------------------------------------------------- N-D, axes


def test_3d_volume_with_separable_and_dense_kernels():
    x = RNG.standard_normal((9, 10, 11)).astype(np.float32)
    g3 = kernels.gaussian(1.0, ndim=3)
    for mode in ("reflect", "constant", "wrap"):
        close(
            sepconv.correlate(x, g3, mode=mode, cval=1.0),
            ndi.correlate(x, g3, mode=mode, cval=1.0),
            x,
            g3,
            1e-5,
        )
    dense = RNG.standard_normal((3, 4, 2))
    for method in ("direct", "fft", "auto"):
        close(
            sepconv.correlate(x, dense, mode="mirror", origin=(1, -1, 0), method=method),
            ndi.correlate(x, dense, mode="mirror", origin=(1, -1, 0)),
            x,
            dense,
            1e-5,
        )
    # four filtered axes: passes ping-pong between two work buffers
    y = RNG.standard_normal((4, 5, 3, 6))
    g4 = kernels.gaussian(0.7, ndim=4)
    close(
        sepconv.correlate(y, g4, mode="nearest"), ndi.correlate(y, g4, mode="nearest"), y, g4, 1e-12
    )


def test_axes_filter_only_the_named_axes():
    batch = RNG.standard_normal((3, 12, 10))
    for w in (GAUSS, DISK, UNEVEN):
        close(
            sepconv.correlate(batch, w, axes=(1, 2), origin=(0, -1)),
            ndi.correlate(batch, w, axes=(1, 2), origin=(0, -1)),
            batch,
            w,
            1e-12,
        )
    rgb = RNG.integers(0, 256, (12, 10, 3)).astype(np.uint8)
    exact = ndi.correlate(rgb.astype(float), GAUSS, axes=(0, 1))
    same_integers(
        sepconv.correlate(rgb, GAUSS, axes=(0, 1)), ndi.correlate(rgb, GAUSS, axes=(0, 1)), exact
    )
    # unsorted axes: the kernel's first axis runs along array axis 2
    close(
        sepconv.correlate(batch, UNEVEN, axes=(2, 0), mode="wrap"),
        ndi.correlate(batch, UNEVEN, axes=(2, 0), mode="wrap"),
        batch,
        UNEVEN,
        1e-12,
    )
    # one axis of a 2-D image, with the unfiltered axis inside or outside it
    line = np.array([1.0, -2.0, 0.5, 3.0])
    for ax in (0, 1):
        close(
            sepconv.correlate(batch[0], line, axes=ax, mode="mirror"),
            ndi.correlate1d(batch[0], line, axis=ax, mode="mirror"),
            batch,
            line,
            1e-12,
        )


def test_mismatched_kernel_dimensions_name_weights():
    with pytest.raises(ValueError, match="weights must have one dimension per filtered axis"):
        sepconv.correlate(np.zeros((4, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="pass axes="):
        sepconv.correlate(np.zeros((4, 4, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="weights must be a non-empty array"):
        sepconv.correlate(np.zeros((4, 4)), np.ones((0, 3)))


# --------------------------------------------------------------------------- edge cases


def test_zero_size_arrays_return_empty_results():
    for shape in [(0, 5), (3, 0), (0, 0, 2)]:
        x = np.zeros(shape, dtype=np.float32)
        w = np.ones((3,) * len(shape))
        out = sepconv.correlate(x, w)
        assert out.shape == shape and out.dtype == np.float32
        assert ndi.correlate(x, w).shape == shape


def test_nan_and_inf_spread_as_in_scipy():
    x = RNG.standard_normal((8, 9))
    x[3, 4], x[6, 1], x[0, 0] = np.nan, np.inf, -np.inf
    for w in (SOBEL.astype(float), GAUSS, DISK):
        for method in ("auto", "direct"):
            expected = ndi.correlate(x, w, mode="reflect")
            ours = sepconv.correlate(x, w, method=method)
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
            finite = np.isfinite(expected)
            np.testing.assert_array_equal(ours[~finite], expected[~finite])
            close(ours[finite], expected[finite], x[np.isfinite(x)], w, 1e-12)


def test_nan_and_inf_weights_behave_as_in_scipy():
    x = RNG.standard_normal((6, 7))
    for bad in (np.nan, np.inf):
        w = DISK.copy()
        w[1, 2] = bad
        expected = ndi.correlate(x, w)
        ours = sepconv.correlate(x, w)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
        finite = np.isfinite(expected)
        close(ours[finite], expected[finite], x, DISK, 1e-12)
    tiny = np.full((3, 3), 1e-17)  # scipy skips |w| <= eps
    np.testing.assert_array_equal(sepconv.correlate(x, tiny), ndi.correlate(x, tiny))


def test_auto_avoids_fft_for_non_finite_input():
    x = RNG.standard_normal((64, 64))
    w = RNG.standard_normal((31, 31))
    assert sepconv.plan(x.shape, w).method == "fft"
    x[5, 5] = np.nan
    expected = ndi.correlate(x, w)
    ours = sepconv.correlate(x, w)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    finite = np.isfinite(expected)
    close(ours[finite], expected[finite], x[np.isfinite(x)], w, 1e-11)


# --------------------------------------------------------------------------- memory


def test_strided_negative_fortran_and_readonly_inputs_are_read_not_written():
    base = RNG.standard_normal((30, 40)).astype(np.float32)
    views = {
        "strided": base[::2, 1::3],
        "negative": base[::-1, ::-2],
        "fortran": np.asfortranarray(base[:17, :23]),
        "transposed": base.T[5:, 3:],
    }
    ro = base.copy()
    ro.flags.writeable = False
    views["readonly"] = ro
    for name, x in views.items():
        before = x.copy()
        for w in (GAUSS, DISK):
            close(
                sepconv.correlate(x, w, mode="mirror"),
                ndi.correlate(x, w, mode="mirror"),
                x,
                w,
                1e-5,
            )
        np.testing.assert_array_equal(x, before, err_msg=name)


def test_output_array_strided_or_overlapping_the_input():
    x = RNG.standard_normal((10, 12))
    expected = ndi.correlate(x, DISK)
    holder = np.zeros((10, 24))
    result = sepconv.correlate(x, DISK, output=holder[:, ::2])
    close(holder[:, ::2], expected, x, DISK, 1e-12)
    assert np.all(holder[:, 1::2] == 0) and result.base is holder
    inplace = x.copy()
    assert sepconv.correlate(inplace, GAUSS, output=inplace) is inplace
    close(inplace, ndi.correlate(x, GAUSS), x, GAUSS, 1e-12)
    fortran = np.zeros((10, 12), order="F", dtype=np.float32)
    sepconv.correlate(x, DISK, output=fortran)
    close(fortran, expected, x, DISK, 1e-5)


def test_bad_arguments_raise_before_output_is_written():
    x = RNG.standard_normal((5, 6))
    out = np.full((5, 6), 7.0)
    bad_calls = [
        (ValueError, "mode must be one of", {"mode": "reflct"}),
        (ValueError, "origin must satisfy", {"origin": (0, 9)}),
        (ValueError, "method must be one of", {"method": "magic"}),
        (ValueError, "rtol must be a finite number", {"rtol": -1.0}),
        (ValueError, "axes must not repeat", {"axes": (1, 1)}),
        (TypeError, "cval must be a real number", {"cval": "zero"}),
        (NotSeparableError, "not separable", {"method": "separable"}),
    ]
    for error, message, kwargs in bad_calls:
        with pytest.raises(error, match=message):
            sepconv.correlate(x, DISK, output=out, **kwargs)
        assert np.all(out == 7.0), kwargs
    with pytest.raises(ValueError, match="output must have the input's shape"):
        sepconv.correlate(x, DISK, output=np.zeros((6, 5)))
    frozen = np.zeros((5, 6))
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="output is read-only"):
        sepconv.correlate(x, DISK, output=frozen)
    with pytest.raises(ValueError, match="low-rank plans need a 2-D kernel"):
        sepconv.correlate(np.zeros((4, 4, 4)), np.ones((2, 2, 2)), method="lowrank")


# --------------------------------------------------------------------------- threads


def test_results_are_identical_for_any_thread_count():
    x = RNG.standard_normal((301, 257)).astype(np.float32)
    before = sepconv.get_num_threads()
    try:
        runs = []
        for threads in (1, sepconv.get_num_threads(max=True)):
            sepconv.set_num_threads(threads)
            runs.append(
                [
                    sepconv.correlate(x, w, method=m)
                    for w, m in ((GAUSS, "auto"), (DISK, "direct"), (DISK, "lowrank"))
                ]
            )
    finally:
        sepconv.set_num_threads(before)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="n must be between 1 and"):
        sepconv.set_num_threads(0)


# --------------------------------------------------------------------------- sepfilter


def test_sepfilter_equals_correlate_with_the_outer_product():
    x = RNG.standard_normal((11, 9, 3))
    a, b = np.array([1.0, -2.0, 4.0, 0.5]), np.array([0.25, 0.5, 0.25])
    for mode in ("reflect", "wrap", "constant"):
        expected = ndi.correlate(x, np.outer(a, b), axes=(0, 1), mode=mode, cval=2.0, origin=(1, 0))
        ours = sepconv.sepfilter(x, [a, b], axes=(0, 1), mode=mode, cval=2.0, origin=(1, 0))
        close(ours, expected, x, np.outer(a, b), 1e-12)
    chained = ndi.correlate1d(ndi.correlate1d(x, a, axis=0), b, axis=2)
    close(sepconv.sepfilter(x, [a, b], axes=(0, 2)), chained, x, np.outer(a, b), 1e-12)


def test_sepfilter_per_axis_modes_match_the_reference_path():
    x = RNG.standard_normal((7, 8))
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0])
    ours = sepconv.sepfilter(x, [a, b], mode=["wrap", "constant"], cval=1.5)
    ref = correlate_reference(x, np.outer(a, b), [0, 1], ["wrap", "constant"], 1.5, [0, 0])
    close(ours, ref, x, np.outer(a, b), 1e-12)


def test_sepfilter_errors_name_factors():
    x = np.zeros((4, 4))
    with pytest.raises(ValueError, match="one 1-D kernel per filtered axis"):
        sepconv.sepfilter(x, [[1, 2, 1]])
    with pytest.raises(ValueError, match=r"factors\[1\] must be a non-empty 1-D kernel"):
        sepconv.sepfilter(x, [[1, 2, 1], [[1, 2]]])
    # complex factors are filtered as correlate filters their outer product
    z = np.random.default_rng(0).random((4, 5))
    f = [np.array([1j, 2.0]), np.array([0.5, -1.0, 1 + 1j])]
    ours = sepconv.sepfilter(z, f)
    ref = ndi.correlate(z.astype(complex), np.outer(*f))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- OpenCV


def test_2d_reflect_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    x = RNG.random((37, 53)).astype(np.float32)
    for k in (3, 7, 15):
        g = cv2.getGaussianKernel(k, 0).ravel()
        expected = cv2.sepFilter2D(x, -1, g, g, borderType=cv2.BORDER_REFLECT)
        np.testing.assert_allclose(sepconv.sepfilter(x, [g, g]), expected, atol=2e-6)
        np.testing.assert_allclose(sepconv.correlate(x, np.outer(g, g)), expected, atol=2e-6)
    k = DISK.astype(np.float32) / DISK.sum()
    expected = cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(sepconv.correlate(x, k, method="direct"), expected, atol=2e-6)


# --------------------------------------------------------------------------- low rank


def test_lowrank_error_bound_holds_by_brute_force():
    x = RNG.standard_normal((16, 18))
    disk = kernels.disk(4).astype(np.float64)
    for rtol in (0.3, 0.1, 1e-2):
        approx = sepconv.lowrank(disk, rtol=rtol)
        ours = sepconv.correlate(x, disk, method="lowrank", rtol=rtol, mode="wrap")
        # brute force: every output is a weighted sum over the wrapped window
        exact = np.zeros_like(x)
        h, w = disk.shape
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                rows = (i + np.arange(h) - h // 2) % x.shape[0]
                cols = (j + np.arange(w) - w // 2) % x.shape[1]
                exact[i, j] = np.sum(disk * x[np.ix_(rows, cols)])
        bound = approx.max_abs_error_bound * np.abs(x).max() + 1e-12
        assert np.abs(ours - exact).max() <= bound
        if rtol < 0.3:
            assert np.abs(ours - exact).max() > 0  # an approximation, not the kernel


# --------------------------------------------------------------------------- hypothesis


@settings(max_examples=40, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
        elements=st.floats(-100, 100),
    ),
    kshape=st.tuples(st.integers(1, 5), st.integers(1, 5)),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["auto", "direct", "fft"]),
)
def test_random_arrays_and_kernels_match_scipy(x, kshape, mode, seed, method):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(kshape)
    if seed % 3 == 0:  # a separable kernel
        w = np.outer(rng.standard_normal(kshape[0]), rng.standard_normal(kshape[1]))
    origin = tuple(int(rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in kshape)
    expected = scipy_correlate(x, w, mode=mode, cval=1.25, origin=origin)
    ours = sepconv.correlate(x, w, mode=mode, cval=1.25, origin=origin, method=method)
    close(ours, expected, x, w, 1e-10)


def test_float32_work_stays_float32_without_image_sized_copies():
    import tracemalloc

    x = RNG.random((600, 700), dtype=np.float32)
    image = x.nbytes
    for w, method in ((GAUSS, "auto"), (DISK, "direct"), (DISK, "lowrank")):
        sepconv.correlate(x, w, method=method)  # compile and cache outside the measurement
        tracemalloc.start()
        out = sepconv.correlate(x, w, method=method)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert out.dtype == np.float32
        # the output itself plus small tables: no float64 (2x image) or work copy
        assert peak < image + image // 4, (method, peak / image)


@pytest.mark.parametrize("func", ["correlate", "convolve"])
@pytest.mark.parametrize(
    "shape, wshape, axes, origin",
    [
        ((6, 7), (3, 4), (1, 0), (0, 1)),
        ((5, 6, 7), (3, 2, 4), (2, 0, 1), (1, 0, -1)),
        ((5, 6, 7), (3, 4), (2, 0), (1, -1)),
    ],
)
def test_unsorted_axes_map_origins_like_scipy(func, shape, wshape, axes, origin):
    # scipy: entry i of origin belongs to axes[i], except when every axis is
    # filtered, where it belongs to array axis i whatever the order of axes.
    rng = np.random.default_rng(7)
    x, w = rng.random(shape), rng.random(wshape)
    expected = getattr(ndi, func)(x, w, axes=axes, origin=origin, mode="wrap")
    got = getattr(sepconv, func)(x, w, axes=axes, origin=origin, mode="wrap")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
