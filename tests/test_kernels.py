"""sepconv.kernels against scipy.ndimage / skimage / OpenCV, plus the separability claims."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import comb

from sepconv import kernels

RNG = np.random.default_rng(20240611)
IMAGES = {
    1: RNG.standard_normal(41),
    2: RNG.standard_normal((23, 29)),
    3: RNG.standard_normal((11, 13, 12)),
}
MATRIX_RANK = np.linalg.matrix_rank


def outer_of(*vectors):
    """Outer product built with einsum, independent of the module's own helper."""
    letters = "abcdefgh"[: len(vectors)]
    return np.einsum(",".join(letters) + "->" + letters, *vectors)


# --------------------------------------------------------------------------- gradients

SCIPY_GRADIENTS = [(kernels.sobel, ndi.sobel), (kernels.prewitt, ndi.prewitt)]


@pytest.mark.parametrize(("make", "reference"), SCIPY_GRADIENTS, ids=["sobel", "prewitt"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest"])
def test_gradient_correlation_matches_scipy_on_every_axis(make, reference, ndim, mode):
    image = IMAGES[ndim]
    for axis in range(-ndim, ndim):
        got = ndi.correlate(image, make(axis=axis, ndim=ndim).astype(float), mode=mode)
        np.testing.assert_allclose(got, reference(image, axis=axis, mode=mode), atol=1e-12)


def test_sobel_x_is_the_textbook_kernel():
    expected = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(kernels.sobel(), expected)
    np.testing.assert_array_equal(kernels.sobel(axis=1), expected)
    np.testing.assert_array_equal(kernels.sobel(axis=0), expected.T)


@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (0, 1)])
def test_sobel_and_scharr_match_opencv(dx, dy):
    cv2 = pytest.importorskip("cv2")
    image = IMAGES[2]
    axis = -1 if dx else 0
    for make, cv_call in [
        (kernels.sobel, lambda: cv2.Sobel(image, cv2.CV_64F, dx, dy, ksize=3, borderType=4)),
        (kernels.scharr, lambda: cv2.Scharr(image, cv2.CV_64F, dx, dy, borderType=4)),
    ]:
        # BORDER_REFLECT_101 (4) is scipy's 'mirror'.
        got = ndi.correlate(image, make(axis=axis).astype(float), mode="mirror")
        np.testing.assert_allclose(got, cv_call(), atol=1e-10)


@pytest.mark.parametrize("ndim", [2, 3])
def test_scharr_matches_skimage_up_to_its_scale(ndim):
    filters = pytest.importorskip("skimage.filters")
    image = IMAGES[ndim]
    for axis in range(ndim):
        got = ndi.correlate(image, kernels.scharr(axis, ndim).astype(float)) / 16 ** (ndim - 1)
        np.testing.assert_allclose(got, filters.scharr(image, axis=axis), atol=1e-12)


@pytest.mark.parametrize(
    ("make", "smooth"),
    [(kernels.sobel, [1, 2, 1]), (kernels.scharr, [3, 10, 3]), (kernels.prewitt, [1, 1, 1])],
    ids=["sobel", "scharr", "prewitt"],
)
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_gradient_is_exact_integer_outer_product(make, smooth, ndim):
    for axis in range(ndim):
        k = make(axis=axis, ndim=ndim)
        assert k.dtype == np.int64
        vectors = [np.array([-1, 0, 1]) if ax == axis else np.array(smooth) for ax in range(ndim)]
        np.testing.assert_array_equal(k, outer_of(*vectors))
        if ndim == 2:
            assert MATRIX_RANK(k) == 1


# --------------------------------------------------------------------------- Gaussian


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("sigma", [0.4, 1.0, 2.3, 4.0])
@pytest.mark.parametrize("truncate", [4.0, 2.5])
def test_gaussian_1d_correlation_matches_gaussian_filter1d(order, sigma, truncate):
    signal = IMAGES[1]
    k = kernels.gaussian(sigma, truncate, order)
    assert k.dtype == np.float64
    assert k.shape == (2 * int(truncate * sigma + 0.5) + 1,)
    expected = ndi.gaussian_filter1d(signal, sigma, order=order, truncate=truncate)
    np.testing.assert_allclose(ndi.correlate1d(signal, k), expected, rtol=1e-12, atol=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    sigma=st.floats(0.2, 6.0),
    truncate=st.floats(0.5, 5.0),
    order=st.integers(0, 3),
    mode=st.sampled_from(["reflect", "mirror", "nearest", "wrap", "constant"]),
)
def test_gaussian_1d_matches_scipy_for_random_parameters(sigma, truncate, order, mode):
    signal = IMAGES[1]
    got = ndi.correlate1d(signal, kernels.gaussian(sigma, truncate, order), mode=mode)
    expected = ndi.gaussian_filter1d(signal, sigma, order=order, truncate=truncate, mode=mode)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    ("sigma", "order"),
    [
        (1.5, 0),
        (1.5, 1),
        ((1.0, 2.0), (0, 2)),
        ((2.0, 0.7), (3, 1)),
        ((1.0, 1.5, 0.8), (0, 1, 2)),
        (1.2, (2, 0, 3)),
    ],
)
def test_gaussian_nd_correlation_matches_gaussian_filter(sigma, order):
    ndim = len(sigma) if isinstance(sigma, tuple) else len(order) if isinstance(order, tuple) else 2
    image = IMAGES[ndim]
    k = kernels.gaussian(sigma, order=order, ndim=ndim)
    assert k.ndim == ndim
    expected = ndi.gaussian_filter(image, sigma, order=order)
    np.testing.assert_allclose(ndi.correlate(image, k), expected, rtol=1e-11, atol=1e-13)


def test_gaussian_infers_ndim_from_sequences_and_defaults_to_1d():
    assert kernels.gaussian(1.0).ndim == 1
    assert kernels.gaussian([1.0, 2.0, 0.5]).ndim == 3
    assert kernels.gaussian(1.0, order=(0, 1)).ndim == 2
    assert kernels.gaussian(np.array([1.0, 2.0])).shape == (9, 17)
    assert kernels.gaussian(1.0, ndim=2).shape == (9, 9)


def test_gaussian_radius_overrides_truncate_like_scipy():
    image = IMAGES[2]
    k = kernels.gaussian((1.0, 2.0), radius=(2, 5), order=(1, 0))
    assert k.shape == (5, 11)
    expected = ndi.gaussian_filter(image, (1.0, 2.0), order=(1, 0), radius=(2, 5))
    np.testing.assert_allclose(ndi.correlate(image, k), expected, rtol=1e-11, atol=1e-13)


def test_gaussian_smoothing_kernel_sums_to_one():
    for sigma in (0.3, 1.0, 3.7):
        assert kernels.gaussian(sigma, ndim=2).sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("order", [(0, 0), (0, 1), (2, 3), (1, 1)])
@pytest.mark.parametrize("sigma", [0.6, (1.0, 3.0)])
def test_gaussian_2d_is_rank_one(sigma, order):
    k = kernels.gaussian(sigma, order=order, ndim=2)
    assert MATRIX_RANK(k) == 1


# --------------------------------------------------------------------------- LoG and Laplacian


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 1.7])
@pytest.mark.parametrize("truncate", [4.0, 2.0])
def test_log_correlation_matches_gaussian_laplace(ndim, sigma, truncate):
    image = IMAGES[ndim]
    k = kernels.log(sigma, ndim=ndim, truncate=truncate)
    expected = ndi.gaussian_laplace(image, sigma, truncate=truncate)
    np.testing.assert_allclose(ndi.correlate(image, k), expected, rtol=1e-10, atol=1e-13)


def test_log_with_per_axis_sigma_matches_gaussian_laplace():
    image = IMAGES[2]
    k = kernels.log((0.8, 2.0))
    expected = ndi.gaussian_laplace(image, (0.8, 2.0))
    np.testing.assert_allclose(ndi.correlate(image, k), expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 5.0, (1.0, 3.0)])
def test_log_2d_is_exactly_rank_two(sigma):
    assert MATRIX_RANK(kernels.log(sigma)) == 2


def test_log_3d_is_the_sum_of_three_separable_terms():
    g0 = kernels.gaussian(1.3)
    g2 = kernels.gaussian(1.3, order=2)
    expected = outer_of(g2, g0, g0) + outer_of(g0, g2, g0) + outer_of(g0, g0, g2)
    np.testing.assert_allclose(kernels.log(1.3, ndim=3), expected, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("mode", ["reflect", "wrap"])
def test_laplacian_correlation_matches_scipy_laplace(ndim, mode):
    image = IMAGES.get(ndim, RNG.standard_normal((5, 6, 4, 7)))
    k = kernels.laplacian(ndim)
    assert k.dtype == np.int64 and k.shape == (3,) * ndim and k.sum() == 0
    got = ndi.correlate(image, k.astype(float), mode=mode)
    np.testing.assert_allclose(got, ndi.laplace(image, mode=mode), atol=1e-12)


def test_laplacian_2d_is_the_five_point_stencil_of_rank_two():
    k = kernels.laplacian()
    np.testing.assert_array_equal(k, [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    assert MATRIX_RANK(k) == 2


# --------------------------------------------------------------------------- box, binomial


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, (3, 4), (1, 5)])
def test_normalized_box_matches_uniform_filter(size):
    image = IMAGES[2]
    k = kernels.box(size, normalize=True)
    assert k.dtype == np.float64
    np.testing.assert_allclose(ndi.correlate(image, k), ndi.uniform_filter(image, size), atol=1e-12)


def test_box_is_integer_ones_of_rank_one():
    k = kernels.box(4)
    assert k.dtype == np.int64 and k.shape == (4, 4) and (k == 1).all()
    assert MATRIX_RANK(k) == 1
    assert kernels.box(3, ndim=3).shape == (3, 3, 3)
    assert kernels.box((2, 3, 5)).shape == (2, 3, 5)
    assert kernels.box(5, ndim=1, normalize=True).sum() == pytest.approx(1.0)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 20, 67])
def test_binomial_rows_are_pascal_rows(n):
    row = kernels.binomial(n, ndim=1)
    assert row.dtype == np.int64
    assert row.tolist() == [comb(n - 1, k, exact=True) for k in range(n)]
    repeated = np.array([1])
    for _ in range(n - 1):
        repeated = np.convolve(repeated, [1, 1])
    np.testing.assert_array_equal(row, repeated)


def test_binomial_nd_is_an_integer_outer_product_of_rank_one():
    k = kernels.binomial(5)
    np.testing.assert_array_equal(k, outer_of([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]))
    assert MATRIX_RANK(k) == 1
    np.testing.assert_array_equal(kernels.binomial((3, 2, 1)), outer_of([1, 2, 1], [1, 1], [1]))
    normalized = kernels.binomial(7, ndim=3, normalize=True)
    assert normalized.dtype == np.float64 and normalized.sum() == pytest.approx(1.0)


def test_binomial_refuses_int64_overflow_but_normalized_goes_further():
    assert kernels.binomial(35).max() == comb(34, 17, exact=True) ** 2
    with pytest.raises(ValueError, match="beyond int64"):
        kernels.binomial(36)
    with pytest.raises(ValueError, match="beyond int64"):
        kernels.binomial(68, ndim=1)
    wide = kernels.binomial(101, normalize=True)
    expected = comb(100, np.arange(101)) / 2.0**100
    np.testing.assert_allclose(wide, np.outer(expected, expected), rtol=1e-12)


# --------------------------------------------------------------------------- Gabor


GABOR_CASES = [
    dict(frequency=0.2),
    dict(frequency=0.1, theta=np.pi / 5, bandwidth=0.7),
    dict(frequency=0.3, theta=2.0, sigma_x=2.0, sigma_y=4.5, offset=0.4),
    dict(frequency=0.05, theta=-np.pi / 3, sigma_x=5.0, n_stds=2.0),
    dict(frequency=0.25, theta=np.pi / 2, sigma_y=1.5, n_stds=4, offset=np.pi / 2),
]


@pytest.mark.parametrize("params", GABOR_CASES)
def test_gabor_equals_skimage_real_part(params):
    gabor_kernel = pytest.importorskip("skimage.filters").gabor_kernel
    got = kernels.gabor(**params)
    assert got.dtype == np.float64
    expected = gabor_kernel(**params).real
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("theta", [0.0, np.pi / 2, np.pi, -np.pi / 2])
@pytest.mark.parametrize(("sigma_x", "sigma_y"), [(None, None), (2.0, 5.0), (4.0, 1.5)])
@pytest.mark.parametrize("offset", [0.0, 0.7])
def test_gabor_along_an_axis_is_rank_one(theta, sigma_x, sigma_y, offset):
    k = kernels.gabor(0.15, theta, sigma_x=sigma_x, sigma_y=sigma_y, offset=offset)
    assert MATRIX_RANK(k) == 1


@pytest.mark.parametrize("theta", [np.pi / 6, np.pi / 4, 1.0, 2.5])
@pytest.mark.parametrize("sigma", [None, 3.0])
@pytest.mark.parametrize("offset", [0.0, 0.7])
def test_oblique_gabor_with_isotropic_envelope_is_rank_two(theta, sigma, offset):
    k = kernels.gabor(0.15, theta, sigma_x=sigma, sigma_y=sigma, offset=offset)
    assert MATRIX_RANK(k) == 2


@pytest.mark.parametrize("theta", [np.pi / 6, np.pi / 4, 1.0])
@pytest.mark.parametrize(("sigma_x", "sigma_y"), [(2.0, 5.0), (4.0, 1.5)])
def test_oblique_gabor_with_anisotropic_envelope_is_full_rank(theta, sigma_x, sigma_y):
    k = kernels.gabor(0.15, theta, sigma_x=sigma_x, sigma_y=sigma_y)
    assert MATRIX_RANK(k) == min(k.shape) > 2


def test_gabor_with_zero_offset_is_point_symmetric_so_correlation_equals_convolution():
    k = kernels.gabor(0.2, theta=0.8, sigma_x=2.0, sigma_y=3.0)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-16)


# --------------------------------------------------------------------------- disk


@pytest.mark.parametrize("radius", range(0, 13))
def test_disk_matches_skimage(radius):
    morphology = pytest.importorskip("skimage.morphology")
    k = kernels.disk(radius)
    assert k.dtype == np.int64
    np.testing.assert_array_equal(k, morphology.disk(radius))


def test_disk_with_real_radius_and_other_dtypes():
    k = kernels.disk(2.5, dtype=np.float64)
    y, x = np.mgrid[-2:3, -2:3]
    np.testing.assert_array_equal(k, (x**2 + y**2 <= 6.25).astype(float))
    assert k.dtype == np.float64
    assert kernels.disk(3, dtype=bool).dtype == bool
    np.testing.assert_array_equal(kernels.disk(0.5), [[1]])


@pytest.mark.parametrize("radius", [*range(0, 41), 100])
def test_disk_rank_is_the_number_of_distinct_row_widths(radius):
    expected = len({math.isqrt(radius * radius - y * y) for y in range(radius + 1)})
    assert MATRIX_RANK(kernels.disk(radius)) == expected


def test_disk_rank_values_quoted_in_the_docstring():
    ranks = {r: MATRIX_RANK(kernels.disk(r)) for r in (0, 1, 4, 10, 100)}
    assert ranks == {0: 1, 1: 2, 4: 4, 10: 7, 100: 60}


# --------------------------------------------------------------------------- bad input


BAD_INPUT = [
    (lambda: kernels.sobel(axis=2), ValueError, "axis 2 is out of range"),
    (lambda: kernels.prewitt(axis=-3), ValueError, "axis -3 is out of range"),
    (lambda: kernels.scharr(axis=1.0), TypeError, "axis must be an integer"),
    (lambda: kernels.sobel(ndim=0), ValueError, "ndim must be >= 1"),
    (lambda: kernels.sobel(ndim=2.0), TypeError, "ndim must be an integer"),
    (lambda: kernels.sobel(ndim=True), TypeError, "ndim must be an integer"),
    (lambda: kernels.gaussian(0.0), ValueError, "sigma must be > 0"),
    (lambda: kernels.gaussian(-1.0), ValueError, "sigma must be > 0"),
    (lambda: kernels.gaussian(np.nan), ValueError, "sigma must be finite"),
    (lambda: kernels.gaussian(np.inf), ValueError, "sigma must be finite"),
    (lambda: kernels.gaussian("1"), TypeError, "sigma must be a real number"),
    (lambda: kernels.gaussian((1.0, 0.0)), ValueError, "sigma must be > 0"),
    (lambda: kernels.gaussian((1.0, 2.0), ndim=3), ValueError, "sigma must be a scalar or"),
    (lambda: kernels.gaussian([[1.0]]), ValueError, "sigma must be a scalar or"),
    (lambda: kernels.gaussian([]), ValueError, "sigma must be a scalar or a non-empty"),
    (lambda: kernels.gaussian(1.0, order=-1), ValueError, "order must be >= 0"),
    (lambda: kernels.gaussian(1.0, order=1.5), TypeError, "order must be an integer"),
    (lambda: kernels.gaussian(1.0, truncate=-1.0), ValueError, "truncate must be >= 0"),
    (lambda: kernels.gaussian(1.0, radius=-2), ValueError, "radius must be >= 0"),
    (lambda: kernels.log(0.0), ValueError, "sigma must be > 0"),
    (lambda: kernels.log(1.0, ndim=0), ValueError, "ndim must be >= 1"),
    (lambda: kernels.box(0), ValueError, "size must be >= 1"),
    (lambda: kernels.box(-3), ValueError, "size must be >= 1"),
    (lambda: kernels.box(2.5), TypeError, "size must be an integer"),
    (lambda: kernels.box(3, normalize="yes"), TypeError, "normalize must be True or False"),
    (lambda: kernels.binomial(0), ValueError, "n must be >= 1"),
    (lambda: kernels.binomial((3, -1)), ValueError, "n must be >= 1"),
    (lambda: kernels.binomial(3, normalize=1), TypeError, "normalize must be True or False"),
    (lambda: kernels.laplacian(-1), ValueError, "ndim must be >= 1"),
    (lambda: kernels.gabor(0.0), ValueError, "frequency must be > 0"),
    (lambda: kernels.gabor(0.1, theta=np.nan), ValueError, "theta must be finite"),
    (lambda: kernels.gabor(0.1, sigma_x=-1.0), ValueError, "sigma_x must be > 0"),
    (lambda: kernels.gabor(0.1, n_stds=0), ValueError, "n_stds must be > 0"),
    (lambda: kernels.gabor(0.1, bandwidth=0), ValueError, "bandwidth must be > 0"),
    (lambda: kernels.disk(-1), ValueError, "radius must be >= 0"),
    (lambda: kernels.disk(None), TypeError, "radius must be a real number"),
    (lambda: kernels.disk(2, dtype=complex), TypeError, "dtype must be a bool, integer or float"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUT, ids=[m for *_, m in BAD_INPUT])
def test_bad_input_raises_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_each_call_returns_a_fresh_array():
    first = kernels.sobel()
    first[:] = 0
    assert kernels.sobel().any()
    sigma = np.array([1.0, 2.0])
    kernels.gaussian(sigma)
    np.testing.assert_array_equal(sigma, [1.0, 2.0])
