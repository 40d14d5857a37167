"""Plans that know the kernel's precision, and size-1 kernel axes run as a scale."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
from sepconv import NotSeparableError, kernels

RNG = np.random.default_rng(11)
SIZES = (3, 7, 15, 31, 63)


def gauss(k: int, order: int = 0) -> np.ndarray:
    return kernels.gaussian(k / 6.0, order=order, radius=k // 2)


def factor_pairs(k: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """1-D factor pairs whose outer products are separable kernels of size k."""
    box = np.full(k, 1.0 / k)
    return [
        ("gaussian", gauss(k), gauss(k)),
        ("gaussian-order-1", gauss(k), gauss(k, order=1)),
        ("box", box, box),
    ]


def within_float32(ours: np.ndarray, expected: np.ndarray, x: np.ndarray, w: np.ndarray) -> None:
    # float32 rounding of a sum of |w| * |x| terms, a few units in the last place
    scale = float(np.abs(w).sum() * np.abs(x).max())
    np.testing.assert_allclose(ours, expected, rtol=0, atol=8 * 2.0**-23 * scale)


@pytest.mark.parametrize("k", SIZES)
@pytest.mark.parametrize("kernel_dtype", ["float32", "float64"])
def test_outer_products_plan_separable_in_their_own_precision(k, kernel_dtype):
    x = RNG.standard_normal((40, 45)).astype(np.float32)
    for name, a, b in factor_pairs(k):
        K = np.outer(a.astype(kernel_dtype), b.astype(kernel_dtype))
        assert K.dtype == kernel_dtype
        for dtype in ("float32", "float64"):
            p = sepconv.plan(x.shape, K, dtype=dtype)
            assert p.method == "separable", (name, dtype, p.explain())
            assert p.exact
        ours = sepconv.correlate(x, K)
        within_float32(ours, ndi.correlate(x, K), x, K)
        assert sepconv.rank(K) == 1


@pytest.mark.parametrize("kernel", ["sobel", "scharr"])
@pytest.mark.parametrize("kernel_dtype", ["float32", "float64"])
def test_derivative_kernels_separate_exactly_in_both_precisions(kernel, kernel_dtype):
    K = getattr(kernels, kernel)().astype(kernel_dtype)
    x = RNG.standard_normal((30, 33)).astype(np.float32)
    p = sepconv.plan(x.shape, K, dtype=np.float32)
    assert p.method == "separable" and p.error == 0.0  # integer-valued: exact factors
    np.testing.assert_allclose(
        sepconv.correlate(x, K), ndi.correlate(x, K), atol=1e-5 * np.abs(x).max()
    )


def test_plan_states_the_error_of_its_factors():
    g = gauss(31).astype(np.float32)
    K = np.outer(g, g)
    p = sepconv.plan((64, 64), K, dtype=np.float32)
    assert p.method == "separable" and p.precision == "float32"
    rebuilt = np.outer(*p.factors)
    K64 = K.astype(np.float64)
    actual = np.linalg.norm(K64 - rebuilt) / np.linalg.norm(K64)
    assert 0 < actual <= 2.0**-23  # the factors approximate the float32 kernel at its rounding
    assert p.error == pytest.approx(actual, rel=1e-6)
    assert np.abs(K64 - rebuilt).sum() == pytest.approx(p.max_abs_error_bound, rel=1e-6)
    assert "float32 rounding" in p.explain()


def test_a_genuinely_rank_2_float32_kernel_is_not_separable():
    g, h = gauss(15), gauss(15, order=1)
    K = (np.outer(g, g) + 1e-3 * np.outer(h, h)).astype(np.float32)
    assert sepconv.rank(K) == 2
    p = sepconv.plan((64, 64), K, dtype=np.float32)
    assert p.method != "separable" and "separable" in p.rejected
    with pytest.raises(NotSeparableError, match="rank"):
        sepconv.plan((64, 64), K, dtype=np.float32, method="separable")
    x = RNG.standard_normal((40, 41)).astype(np.float32)
    within_float32(sepconv.correlate(x, K), ndi.correlate(x, K), x, K)


def test_work_precision_decides_for_float64_kernels():
    # rank 1 to float32's rounding but not to float64's: separable only where the
    # engine computes in float32
    g = gauss(15)
    K = np.outer(g, g) * (1 + 1e-9 * RNG.standard_normal((15, 15)))
    assert sepconv.plan((64, 64), K, dtype=np.float32).method == "separable"
    assert sepconv.plan((64, 64), K, dtype=np.float64).method != "separable"
    x = RNG.standard_normal((40, 41))
    out64 = sepconv.correlate(x, K)
    np.testing.assert_allclose(out64, ndi.correlate(x, K), rtol=0, atol=1e-13 * np.abs(x).max())
    x32 = x.astype(np.float32)
    within_float32(sepconv.correlate(x32, K), ndi.correlate(x32, K), x32, K)
    # a float64 output makes the work float64 again: exact plans only
    wide = sepconv.correlate(x32, K, output=np.float64)
    expected = ndi.correlate(x32, K, output=np.float64)
    np.testing.assert_allclose(wide, expected, rtol=0, atol=1e-13 * np.abs(x32).max())


def test_rank_and_separate_use_the_kernels_dtype():
    g = gauss(31).astype(np.float32)
    K = np.outer(g, g)
    assert sepconv.rank(K) == 1
    assert sepconv.rank(K.astype(np.float64)) > 1
    s = sepconv.separate(K)
    assert s.factors[0].dtype == np.float32 and s.error < 1e-6
    with pytest.raises(NotSeparableError):
        sepconv.separate(K.astype(np.float64))


# --------------------------------------------------------------------------- size-1 axes


def test_size_1_kernel_axes_are_a_scale_not_a_pass():
    g = gauss(7)
    K = np.outer(g, g).reshape(1, 1, 7, 7) * 3.0
    x = RNG.standard_normal((2, 3, 20, 21)).astype(np.float32)
    p = sepconv.plan(x.shape, K, dtype=x.dtype)
    assert str(p).startswith("separable: 2 passes of 7 taps")
    assert "axes (0, 1): kernel size 1" in p.explain()
    assert p.costs["separable"] == sepconv.plan((20, 21), K[0, 0], dtype=x.dtype).costs["separable"]
    ours = sepconv.correlate(x, K, mode="constant", cval=2.0)
    within_float32(ours, ndi.correlate(x, K, mode="constant", cval=2.0), x, K)
    same = sepconv.correlate(x, K[0, 0], axes=(2, 3), mode="constant", cval=2.0)
    np.testing.assert_allclose(ours, same, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap", "nearest", "mirror"])
def test_dense_kernels_with_size_1_axes_match_scipy(mode):
    disk = kernels.disk(2).astype(np.float64)
    x = RNG.standard_normal((4, 13, 1, 12))
    for K in (disk[:, None, :], disk[None, :, None, :], disk.reshape(1, 5, 1, 5)):
        K = K.reshape(K.shape + (1,) * (x.ndim - K.ndim))
        got = sepconv.correlate(x, K, mode=mode, cval=1.5, method="direct")
        np.testing.assert_allclose(got, ndi.correlate(x, K, mode=mode, cval=1.5), atol=1e-12)
        fft = sepconv.correlate(x, K, mode=mode, cval=1.5, method="fft")
        np.testing.assert_allclose(fft, ndi.correlate(x, K, mode=mode, cval=1.5), atol=1e-9)


@pytest.mark.parametrize("scale", [0.0, 1e-20, -3.5, 1.0, np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("out", ["float32", "float64", "uint8", "int16", "int32"])
def test_all_size_1_kernels_are_a_pure_scale_with_scipys_conversion(scale, out):
    x = np.array([[0.0, 1.25, -7.5, np.nan], [np.inf, -np.inf, 300.7, -2.0]])
    for dtype in ("float32", "float64"):
        src = x.astype(dtype)
        for K in (np.full((1, 1), scale), np.full((1,), scale)):
            axes = None if K.ndim == 2 else [1]
            with np.errstate(invalid="ignore", over="ignore"):
                expected = ndi.correlate(src, K, output=out, axes=axes)
            got = sepconv.correlate(src, K, output=out, axes=axes)
            np.testing.assert_array_equal(got, expected)
    ints = np.arange(-4, 8, dtype=np.int16).reshape(3, 4)
    got = sepconv.correlate(ints, np.full((1, 1), scale))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, ndi.correlate(ints, np.full((1, 1), scale)))


def test_sepfilter_with_single_tap_factors_matches_scipy():
    g = gauss(5)
    x = RNG.standard_normal((3, 11, 12))
    got = sepconv.sepfilter(x, [[2.0], g, g], mode="wrap")
    expected = ndi.correlate(x, np.multiply.outer(np.outer([2.0], g), g), mode="wrap")
    np.testing.assert_allclose(got, expected, atol=1e-12)
    zero = sepconv.sepfilter(x, [[0.0], g, g])
    np.testing.assert_array_equal(zero, np.zeros_like(x))


def test_an_origin_on_a_size_1_axis_is_refused_naming_origin():
    with pytest.raises(ValueError, match="origin"):
        sepconv.correlate(np.ones((4, 4)), np.ones((1, 3)), origin=(1, 0))
