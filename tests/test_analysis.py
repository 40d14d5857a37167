"""sepconv.analysis against independent references: NumPy outer products, SVD, brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sepconv
from sepconv import NotSeparableError, analyze, lowrank, rank, separate

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
LAPLACE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])

small_ints = st.integers(-9, 9)
int_vectors = st.integers(1, 6).flatmap(lambda n: arrays(np.int64, n, elements=small_ints))
float_vectors = st.integers(1, 7).flatmap(
    lambda n: arrays(np.float64, n, elements=st.floats(-10, 10, allow_subnormal=False))
)


def outer(*vectors):
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out


def test_sobel_x_factors_are_the_textbook_integers():
    result = separate(SOBEL_X)
    assert result.exact
    assert [f.tolist() for f in result.factors] == [[1, 2, 1], [-1, 0, 1]]
    assert all(f.dtype == np.int64 for f in result.factors)


def test_sobel_y_puts_the_derivative_on_axis_0():
    result = separate(SOBEL_X.T)
    assert [f.tolist() for f in result.factors] == [[-1, 0, 1], [1, 2, 1]]


@settings(max_examples=80, deadline=None)
@given(int_vectors, int_vectors)
def test_integer_rank1_kernels_get_exact_integer_factors(u, v):
    kernel = np.outer(u, v)
    result = separate(kernel)
    assert result.exact
    assert all(f.dtype.kind == "i" for f in result.factors)
    np.testing.assert_array_equal(outer(*result.factors), kernel)


@settings(max_examples=40, deadline=None)
@given(int_vectors, int_vectors, int_vectors)
def test_integer_3d_kernels_factor_into_three_integer_vectors(a, b, c):
    kernel = outer(a, b, c)
    result = separate(kernel)
    assert result.exact and len(result.factors) == 3
    np.testing.assert_array_equal(outer(*result.factors), kernel)


@settings(max_examples=60, deadline=None)
@given(float_vectors, float_vectors)
def test_float_rank1_kernels_are_recognised_and_rebuilt(u, v):
    kernel = np.outer(u, v) + 0.0
    scale = np.abs(kernel).max()
    result = separate(kernel)
    np.testing.assert_allclose(result.to_array(), kernel, atol=1e-12 * max(scale, 1e-300))


def test_gaussian_3d_factors_are_the_1d_gaussian():
    g = np.exp(-0.5 * (np.arange(-4, 5) / 1.3) ** 2)
    g /= g.sum()
    result = separate(outer(g, g, g))
    assert len(result.factors) == 3
    for factor in result.factors:
        np.testing.assert_allclose(factor, g, rtol=1e-12)
    assert result.error < 1e-14


def test_float32_kernel_keeps_float32_factors():
    g = np.array([0.25, 0.5, 0.25], dtype=np.float32)
    kernel = np.outer(g, g * 3)
    result = separate(kernel)
    assert all(f.dtype == np.float32 for f in result.factors)
    np.testing.assert_allclose(result.to_array(), kernel, rtol=1e-6)


def test_integer_valued_float_kernel_gets_exact_factors():
    result = separate(SOBEL_X.astype(np.float64))
    assert result.exact
    assert [f.tolist() for f in result.factors] == [[1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]]


def test_laplacian_is_refused_with_rank_and_error():
    with pytest.raises(NotSeparableError) as info:
        separate(LAPLACE)
    s = np.linalg.svd(LAPLACE.astype(float), compute_uv=False)
    expected = np.sqrt(np.sum(s[1:] ** 2)) / np.linalg.norm(s)
    assert info.value.rank == 2
    assert info.value.error == pytest.approx(expected, rel=1e-12)
    assert "rank is 2" in str(info.value) and f"{expected:.3g}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_near_separable_float_kernel_is_refused_unless_tol_allows():
    kernel = np.outer([1.0, 2.0, 1.0], [1.0, 0.5, 1.0])
    kernel[1, 1] += 1e-6
    with pytest.raises(NotSeparableError):
        separate(kernel)
    result = separate(kernel, tol=1e-5)
    assert not result.exact and 0 < result.error < 1e-6


def test_3d_non_separable_kernel_is_refused():
    kernel = np.zeros((3, 3, 3))
    kernel[1, 1, :] = kernel[1, :, 1] = kernel[:, 1, 1] = 1
    with pytest.raises(NotSeparableError):
        separate(kernel)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(4, 8), st.integers(0, 10_000))
def test_rank_r_kernels_have_rank_r(r, n, seed):
    rng = np.random.default_rng(seed)
    kernel = rng.standard_normal((n, r)) @ rng.standard_normal((r, n))
    assert rank(kernel) == np.linalg.matrix_rank(kernel) == r


def test_exact_integer_rank_matches_numpy():
    rng = np.random.default_rng(0)
    for _ in range(50):
        kernel = rng.integers(-3, 4, size=(5, 6)) @ rng.integers(-2, 3, size=(6, 6))
        assert rank(kernel) == np.linalg.matrix_rank(kernel)


def test_rank_of_1d_and_zero_kernels():
    assert rank([1, 2, 3]) == 1
    assert rank([0, 0]) == 0
    assert rank(np.zeros((3, 3))) == 0


def test_nd_rank_is_one_exactly_when_separable():
    assert rank(outer(np.arange(1, 4.0), np.arange(2, 5.0), np.ones(2))) == 1
    kernel = np.zeros((3, 3, 3))
    kernel[0, 0, 0] = kernel[2, 2, 2] = 1
    assert rank(kernel) == 2


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 10_000))
def test_lowrank_error_never_increases_with_rank_and_matches_svd(m, n, seed):
    kernel = np.random.default_rng(seed).standard_normal((m, n))
    s = np.linalg.svd(kernel, compute_uv=False)
    errors = []
    for r in range(1, min(m, n) + 1):
        approx = lowrank(kernel, rank=r)
        expected = np.sqrt(np.sum(s[r:] ** 2)) / np.linalg.norm(kernel)
        assert approx.error == pytest.approx(expected, abs=1e-12)
        errors.append(approx.error)
    assert all(b <= a + 1e-15 for a, b in zip(errors, errors[1:]))


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 9), st.floats(1e-4, 0.9), st.integers(0, 10_000))
def test_lowrank_rtol_picks_the_smallest_rank_that_meets_it(n, rtol, seed):
    kernel = np.random.default_rng(seed).standard_normal((n, n))
    approx = lowrank(kernel, rtol=rtol)
    assert approx.error <= rtol
    if approx.rank > 1:
        assert lowrank(kernel, rank=approx.rank - 1).error > rtol


def test_lowrank_terms_rebuild_the_array_and_the_bound_is_the_residual_l1_norm():
    disk = sepconv.kernels.disk(5).astype(float)
    approx = lowrank(disk, rank=2)
    rebuilt = sum(np.outer(c, r) for c, r in approx.terms)
    np.testing.assert_allclose(approx.to_array(), rebuilt)
    assert approx.max_abs_error_bound == pytest.approx(np.abs(disk - rebuilt).sum())


def test_lowrank_bound_holds_for_a_brute_force_correlation():
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal((5, 5))
    image = rng.uniform(-3, 3, size=(12, 12))
    approx = lowrank(kernel, rank=2)
    dense = approx.to_array()

    def correlate_valid(img, k):
        h, w = k.shape
        out = np.empty((img.shape[0] - h + 1, img.shape[1] - w + 1))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = np.sum(img[i : i + h, j : j + w] * k)
        return out

    diff = np.abs(correlate_valid(image, kernel) - correlate_valid(image, dense))
    assert diff.max() <= approx.max_abs_error_bound * np.abs(image).max() + 1e-12
    assert diff.max() > 0


def test_lowrank_default_is_exact():
    approx = lowrank(LAPLACE)
    assert approx.rank == 2
    assert approx.error < 1e-15


def test_analyze_reports_table_and_break_even():
    kernel = np.ones((7, 7)) + np.outer(np.arange(7.0), np.arange(7.0) - 3)
    result = analyze(kernel)
    assert result.rank == 2 and result.separation is None
    assert [row["mults_per_pixel"] for row in result.lowrank_table][:2] == [14, 28]
    assert result.break_even_rank == 3  # 3 * 14 = 42 < 49 < 4 * 14
    assert result.to_dict()["separable"] is False


@pytest.mark.parametrize(
    "bad, exc, words",
    [
        ([], ValueError, "empty"),
        (np.float64(3.0), ValueError, "at least 1 dimension"),
        ([[1.0, np.nan]], ValueError, "finite"),
        ([[1.0, np.inf]], ValueError, "finite"),
        ([[1 + 1j, 0]], TypeError, "real"),
        ("sobel", TypeError, "array of numbers"),
        ([[1, 2], [3]], TypeError, "array of numbers"),
        (np.array([["a"]]), TypeError, "numbers"),
    ],
)
@pytest.mark.parametrize("func", [rank, separate, lowrank])
def test_bad_kernels_are_refused_with_the_argument_named(func, bad, exc, words):
    with pytest.raises(exc, match="kernel") as info:
        func(bad)
    assert words in str(info.value)


def test_bad_tolerances_and_ranks_are_refused():
    with pytest.raises(ValueError, match="tol"):
        separate(SOBEL_X, tol=-1)
    with pytest.raises(ValueError, match="rank must be <="):
        lowrank(LAPLACE, rank=4)
    with pytest.raises(ValueError, match="rank must be >= 1"):
        lowrank(LAPLACE, rank=0)
    with pytest.raises(ValueError, match="not both"):
        lowrank(LAPLACE, rank=1, rtol=0.1)
    with pytest.raises(ValueError, match="2-D"):
        lowrank(np.ones((2, 2, 2)))


def test_inputs_are_never_modified():
    kernel = np.array([[1.0, 2.0], [2.0, 4.0]])
    kernel.setflags(write=False)
    before = kernel.copy()
    separate(kernel)
    lowrank(kernel)
    analyze(kernel)
    np.testing.assert_array_equal(kernel, before)
    factors = separate(kernel).factors
    factors[0][0] = 99  # results do not alias the input
    np.testing.assert_array_equal(kernel, before)
