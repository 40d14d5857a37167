"""Hostile arrays and arguments: scipy's result or an error naming the argument and the fix.

Every case also checks that no input (array, kernel, memory-mapped file) is
modified and that a given ``output`` is not written when the call fails.
docs/reliability.md lists these cases in one table.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy.ndimage as ndi
from numpy.lib.stride_tricks import as_strided

import sepconv

RNG = np.random.default_rng(1414)
K3 = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 1.0, 1.0]])
MODES = ("reflect", "mirror", "nearest", "wrap", "constant")


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str((a.dtype, a.shape)).encode())
    return h.hexdigest()


def same(ours, expected, rtol=1e-12):
    """Equal to scipy to rounding, NaN where scipy has NaN, infinities alike."""
    ours, expected = np.asarray(ours), np.asarray(expected)
    assert ours.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(
        ours[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)]
    )
    scale = np.abs(expected[finite]).max(initial=1.0)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=rtol, atol=rtol * scale)


def calls(x, w, **kw):
    """Every public filtering function on (x, w), with its scipy reference."""
    yield sepconv.correlate(x, w, **kw), ndi.correlate(x, w, **kw)
    yield sepconv.convolve(x, w, **kw), ndi.convolve(x, w, **kw)


# --------------------------------------------------------------------------- NaN, infinity


@pytest.mark.parametrize("mode", MODES)
def test_nan_and_infinity_in_the_image_give_scipys_result(mode):
    x = RNG.standard_normal((9, 11))
    x[2, 3], x[6, 0], x[0, 10] = np.nan, np.inf, -np.inf
    before = digest(x)
    for ours, expected in calls(x, K3, mode=mode, cval=0.5):
        same(ours, expected)
    factors = [np.array([1.0, 0.0, 2.0]), np.array([0.5, -1.0])]
    same(
        sepconv.sepfilter(x, factors, mode=mode, cval=0.5),
        ndi.correlate(x, np.multiply.outer(*factors), mode=mode, cval=0.5),
    )
    assert digest(x) == before


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_in_the_kernel_give_scipys_result(bad):
    x = RNG.standard_normal((8, 10))
    w = K3.copy()
    w[1, 2] = bad
    before = digest(x, w)
    for mode in MODES:
        for ours, expected in calls(x, w, mode=mode):
            same(ours, expected)
    a, b = np.array([1.0, bad, 2.0]), np.array([1.0, 0.0, -1.0])
    with np.errstate(invalid="ignore"):
        dense = np.multiply.outer(a, b)
    same(sepconv.sepfilter(x, [a, b]), ndi.correlate(x, dense))
    assert digest(x, w) == before
    assert sepconv.plan(x.shape, w).method == "direct"


def test_fft_is_not_chosen_for_data_holding_nan():
    x = np.ones((300, 300))
    x[5, 5] = np.nan
    k = sepconv.kernels.disk(20).astype(np.float64)
    assert sepconv.plan(x.shape, k).method == "fft"  # what auto takes for finite data
    same(sepconv.correlate(x, k), ndi.correlate(x, k), rtol=1e-10)


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    ("array", "fix"),
    [
        (np.array([[1, 2], [3, 4]], dtype=object), r"input.astype\(np.float64\)"),
        (np.zeros((4, 4), dtype=[("a", "f4"), ("b", "f4")]), r"one field at a time"),
        (np.zeros((4, 4), dtype="M8[s]"), r"input.view\(np.int64\)"),
        (np.zeros((4, 4), dtype=np.float16), r"input.astype\(np.float32\)"),
        (np.zeros((4, 4), dtype="U3"), r"input dtype <U3 is not supported"),
    ],
)
def test_unsupported_input_dtypes_name_the_argument_and_the_fix(array, fix):
    before = digest(array) if array.dtype != object else None
    for call in (
        lambda: sepconv.correlate(array, K3),
        lambda: sepconv.convolve(array, K3),
        lambda: sepconv.sepfilter(array, [[1.0, 1.0], [1.0]]),
    ):
        with pytest.raises(TypeError, match=fix):
            call()
    if before is not None:
        assert digest(array) == before


@pytest.mark.parametrize(
    "kernel",
    [
        np.array([[1, "b"], [None, 2]], dtype=object),
        np.array([["a", "b"], ["c", "d"]]),
    ],
)
def test_unsupported_kernel_dtypes_name_weights_and_the_fix(kernel):
    # (An object array of numbers, or a one-field structured array, converts to
    # float64 as scipy converts weights: sepconv.correlate accepts what
    # sepconv.ndimage.correlate accepts, issue 18.)
    x = np.ones((5, 5))
    out = np.full_like(x, 7.0)
    for call in (
        lambda: sepconv.correlate(x, kernel, output=out),
        lambda: sepconv.convolve(x, kernel, output=out),
        lambda: sepconv.plan(x.shape, kernel),
    ):
        with pytest.raises(TypeError, match=r"weights must .*(numbers|np.float64)"):
            call()
    with pytest.raises(TypeError, match=r"factors\[0\] must hold numbers"):
        sepconv.sepfilter(x, [kernel[0], [1.0]], output=out)
    assert np.all(out == 7.0)


def test_unsupported_output_dtypes_are_refused_before_writing():
    x = np.ones((5, 5))
    for dtype in (object, np.float16, "U2"):
        with pytest.raises(TypeError, match="output dtype"):
            sepconv.correlate(x, K3, output=dtype)
    with pytest.raises(TypeError, match="output dtype object"):
        sepconv.correlate(x, K3, output=np.empty((5, 5), object))


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0, 0), (3, 0, 2)])
def test_zero_size_axes_give_empty_results_like_scipy(shape):
    x = np.ones(shape, np.float32)
    w = np.ones((3,) * len(shape))
    for ours, expected in calls(x, w):
        assert ours.shape == expected.shape == shape and ours.dtype == expected.dtype
    assert sepconv.sepfilter(x, [np.ones(2)] * len(shape)).shape == shape
    assert sepconv.plan(shape, w).shape == shape
    with pytest.raises(ValueError, match="weights must be a non-empty array"):
        sepconv.correlate(np.ones((3, 3)), np.ones((0, 3)))


def test_shapes_beyond_any_array_are_refused_by_plan():
    with pytest.raises(ValueError, match=r"more than any NumPy array can hold"):
        sepconv.plan((2**40, 2**40), K3)
    with pytest.raises(TypeError, match="shape must be a tuple of integers"):
        sepconv.plan((5.5, 5), K3)
    with pytest.raises(ValueError, match="negative"):
        sepconv.plan((5, -1), K3)


def test_huge_strided_views_fail_before_allocating_with_a_way_out():
    # 2**62 elements: a valid zero-stride view whose output cannot exist.
    huge = as_strided(np.zeros(1, np.uint8), shape=(2**31, 2**31), strides=(0, 0))
    for call in (
        lambda: sepconv.correlate(huge, K3),
        lambda: sepconv.convolve(huge, K3),
        lambda: sepconv.sepfilter(huge, [[1.0], [1.0, 1.0]]),
    ):
        with pytest.raises(MemoryError, match=r"shape \(2147483648, 2147483648\).*sepconv.dask"):
            call()


def test_broadcast_and_zero_stride_views_are_read_in_place():
    x = np.broadcast_to(RNG.standard_normal((1, 40)), (30, 40))
    assert not x.flags.writeable
    for ours, expected in calls(x, K3, mode="wrap"):
        same(ours, expected)
    long = as_strided(np.ones(1), shape=(2**20, 3), strides=(0, 0))  # 3M taps in 8 bytes
    image = np.arange(25.0).reshape(5, 5)
    # scipy's 1-D passes are right for reaches far beyond the line (its N-D one is not).
    expected = ndi.correlate1d(ndi.correlate1d(image, np.ones(2**20), axis=0), np.ones(3), axis=1)
    same(sepconv.correlate(image, long), expected, rtol=1e-12)


# --------------------------------------------------------------------------- layouts


def test_read_only_memory_map_is_filtered_and_left_unchanged(tmp_path):
    path = tmp_path / "input.dat"
    data = RNG.standard_normal((20, 30)).astype(np.float32)
    data.tofile(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    mapped = np.memmap(path, dtype=np.float32, mode="r", shape=(20, 30))
    for ours, expected in calls(mapped, K3, mode="mirror"):
        same(ours, expected, rtol=1e-5)
        assert type(ours) is np.ndarray or not np.shares_memory(ours, mapped)
    same(
        sepconv.sepfilter(mapped, [[1.0, 2.0, 1.0], [1.0, -1.0]]),
        ndi.correlate(mapped, np.multiply.outer([1.0, 2.0, 1.0], [1.0, -1.0])),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="output is read-only; pass a writable array"):
        sepconv.correlate(mapped, K3, output=mapped)
    del mapped
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i2", ">u4", "<f8"])
def test_non_native_byte_order_gives_scipys_values(dtype):
    x = (RNG.standard_normal((7, 9)) * 50).astype(dtype)
    w = K3.astype(">f4")
    before = digest(x, w)
    expected_dtype = np.dtype(dtype)
    for ours, expected in calls(x, w, mode="nearest"):
        assert ours.dtype.newbyteorder("=") == expected_dtype.newbyteorder("=")
        if expected_dtype.kind == "f":
            same(ours, expected, rtol=1e-5)
        else:
            assert np.abs(ours.astype(np.int64) - expected.astype(np.int64)).max() <= 1
    out = np.empty((7, 9), ">f8")
    sepconv.correlate(x, w, output=out)
    same(out, ndi.correlate(x, w, output=np.float64), rtol=1e-5)
    assert digest(x, w) == before


def test_negative_strides_in_input_output_and_kernel():
    base = RNG.standard_normal((12, 14))
    x = base[::-1, ::-2]
    w = K3[::-1, ::2].copy()[::-1]
    before = digest(base, K3)
    for ours, expected in calls(x, w, mode="reflect"):
        same(ours, expected)
    target = np.zeros((12, 14))
    view = target[::-1, ::-2]
    sepconv.correlate(x, w, output=view)
    same(view, ndi.correlate(x, w))
    assert np.all(target[:, 0::2] == 0)  # only the view's elements were written
    assert digest(base, K3) == before


def test_output_overlapping_the_input_reads_the_input_first():
    x = RNG.standard_normal((10, 10))
    expected = ndi.correlate(x, K3)
    sepconv.correlate(x, K3, output=x)
    same(x, expected)
