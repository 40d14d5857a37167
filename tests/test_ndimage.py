"""sepconv.ndimage gives scipy.ndimage's bits: every function x dtype x mode x origin x axes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage as S

from sepconv import ndimage as N

DTYPES = [
    np.bool_,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.float32,
    np.float64,
    np.complex64,
    np.complex128,
]
REAL = DTYPES[:-2]
MODES = [
    "reflect",
    "mirror",
    "nearest",
    "wrap",
    "constant",
    "grid-mirror",
    "grid-constant",
    "grid-wrap",
]

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_array(seed: int, shape: tuple[int, ...], dtype: type, special: bool = True) -> np.ndarray:
    """Random values over a wide range (integer outputs then wrap), NaN/inf sometimes."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        low, high = max(info.min, -(2**40)), min(info.max, 2**40)
        return rng.integers(low, high, size=shape, endpoint=True).astype(dtype)
    values = rng.normal(0, 100, size=shape) * 10.0 ** rng.integers(-3, 4, size=shape)
    if dtype.kind == "c":
        values = values + 1j * rng.normal(0, 100, size=shape)
    if special and values.size and rng.random() < 0.3:
        flat = values.reshape(-1)
        flat[rng.integers(0, flat.size)] = rng.choice([np.nan, np.inf, -np.inf])
    return values.astype(dtype)


def assert_same(ours: np.ndarray, ref: np.ndarray) -> None:
    """Same dtype, shape and bytes (NaN included; bool arrays compared as stored bytes)."""
    if ours is None and ref is None:  # both raised the same class (see both())
        return
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    a = np.ascontiguousarray(ours).view(np.uint8)
    b = np.ascontiguousarray(ref).view(np.uint8)
    if not np.array_equal(a, b):
        same_nan = np.array_equal(ours, ref, equal_nan=True) if ours.dtype.kind in "fc" else False
        assert same_nan, f"{np.count_nonzero(ours != ref)} of {ours.size} samples differ"


@st.composite
def arrays(draw, dtypes=DTYPES, max_dims=3, max_side=7):
    ndim = draw(st.integers(1, max_dims))
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=ndim, max_size=ndim)))
    dtype = draw(st.sampled_from(dtypes))
    return make_array(draw(st.integers(0, 2**32 - 1)), shape, dtype)


@st.composite
def weights1d(draw):
    size = draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["random", "symmetric", "antisymmetric", "integer"]))
    w = np.array(draw(st.lists(st.floats(-3, 3, width=32), min_size=size, max_size=size)))
    if kind == "symmetric":
        w = w + w[::-1]
    elif kind == "antisymmetric":
        w = w - w[::-1]
    elif kind == "integer":
        w = np.round(w)
    return w


def both(name: str, *args, **kwargs):
    """Call scipy's and sepconv's function; the same exception class if scipy raises."""
    try:
        ref = getattr(S, name)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the class is what we compare
        with pytest.raises(type(exc)):
            getattr(N, name)(*args, **kwargs)
        return None, None
    return getattr(N, name)(*args, **kwargs), ref


@SETTINGS
@given(
    x=arrays(),
    w=weights1d(),
    data=st.data(),
    mode=st.sampled_from(MODES),
    name=st.sampled_from(["correlate1d", "convolve1d"]),
)
def test_correlate1d_and_convolve1d_match_scipy_bits(x, w, data, mode, name):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    origin = data.draw(st.integers(-(w.size // 2), (w.size - 1) // 2))
    cval = data.draw(st.sampled_from([0.0, 1.5, -7.0, np.nan]))
    ours, ref = both(name, x, w, axis, mode=mode, cval=cval, origin=origin)
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data(), mode=st.sampled_from(MODES))
def test_uniform_filter1d_matches_scipy_bits(x, data, mode):
    size = data.draw(st.integers(1, 9))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    origin = data.draw(st.integers(-(size // 2), (size - 1) // 2))
    ours, ref = both("uniform_filter1d", x, size, axis, mode=mode, cval=2.25, origin=origin)
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data())
def test_uniform_filter_matches_scipy_bits(x, data):
    axes = data.draw(st.none() | st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True))
    n = x.ndim if axes is None else len(axes)
    size = data.draw(st.integers(1, 6) | st.lists(st.integers(1, 6), min_size=n, max_size=n))
    sizes = [size] * n if isinstance(size, int) else size
    origin = [data.draw(st.integers(-(s // 2), (s - 1) // 2)) for s in sizes]
    mode = data.draw(
        st.sampled_from(MODES) | st.lists(st.sampled_from(MODES), min_size=n, max_size=n)
    )
    ours, ref = both("uniform_filter", x, size, None, mode, 0.5, origin, axes=axes)
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data(), name=st.sampled_from(["correlate", "convolve"]))
def test_correlate_and_convolve_match_scipy_bits(x, data, name):
    axes = data.draw(
        st.none() | st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, unique=True)
    )
    if axes is not None and len({a % x.ndim for a in axes}) != len(axes):
        axes = None
    n = x.ndim if axes is None else len(axes)
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    w = np.round(rng.normal(size=shape), data.draw(st.integers(0, 3)))
    if data.draw(st.booleans()):
        w[rng.random(shape) < 0.3] = 0.0  # zero taps are skipped as scipy skips them
    if data.draw(st.booleans()) and x.dtype.kind != "c":
        w = w + 1j * rng.normal(size=shape)
    origin = [data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in shape]
    mode = data.draw(st.sampled_from(MODES))
    cval = data.draw(st.sampled_from([0.0, 3.5]))
    ours, ref = both(name, x, w, None, mode, cval, origin, axes=axes)
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data(), mode=st.sampled_from(MODES))
def test_gaussian_filter1d_matches_scipy_bits(x, data, mode):
    sigma = data.draw(st.floats(0.2, 3.0))
    order = data.draw(st.integers(0, 3))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    truncate = data.draw(st.sampled_from([4.0, 2.0, 0.5]))
    radius = data.draw(st.none() | st.integers(0, 5))
    ours, ref = both(
        "gaussian_filter1d", x, sigma, axis, order, None, mode, 1.0, truncate, radius=radius
    )
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data())
def test_gaussian_filter_matches_scipy_bits(x, data):
    axes = data.draw(st.none() | st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True))
    n = x.ndim if axes is None else len(axes)
    sigma = data.draw(st.floats(0.0, 2.5) | st.lists(st.floats(0.0, 2.5), min_size=n, max_size=n))
    order = data.draw(st.integers(0, 2) | st.lists(st.integers(0, 2), min_size=n, max_size=n))
    mode = data.draw(
        st.sampled_from(MODES) | st.lists(st.sampled_from(MODES), min_size=n, max_size=n)
    )
    radius = data.draw(st.none() | st.integers(0, 4))
    ours, ref = both(
        "gaussian_filter", x, sigma, order, None, mode, 0.0, 4.0, radius=radius, axes=axes
    )
    assert_same(ours, ref)


@SETTINGS
@given(
    x=arrays(),
    data=st.data(),
    name=st.sampled_from(["sobel", "prewitt"]),
)
def test_sobel_and_prewitt_match_scipy_bits(x, data, name):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    mode = data.draw(
        st.sampled_from(MODES) | st.lists(st.sampled_from(MODES), min_size=x.ndim, max_size=x.ndim)
    )
    ours, ref = both(name, x, axis, None, mode, 1.0)
    assert_same(ours, ref)


@SETTINGS
@given(x=arrays(), data=st.data())
def test_laplace_family_matches_scipy_bits(x, data):
    axes = data.draw(st.none() | st.lists(st.integers(0, x.ndim - 1), min_size=1, unique=True))
    n = x.ndim if axes is None else len(axes)
    mode = data.draw(
        st.sampled_from(MODES) | st.lists(st.sampled_from(MODES), min_size=n, max_size=n)
    )
    ours, ref = both("laplace", x, None, mode, 0.5, axes=axes)
    assert_same(ours, ref)
    sigma = data.draw(st.floats(0.3, 2.0))
    ours, ref = both("gaussian_laplace", x, sigma, None, mode, 0.5, axes=axes, truncate=3.0)
    assert_same(ours, ref)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@SETTINGS
@given(x=arrays(), data=st.data())
def test_gradient_magnitudes_match_scipy_bits(x, data):
    mode = data.draw(st.sampled_from(MODES))
    sigma = data.draw(st.floats(0.3, 2.0))
    ours, ref = both("gaussian_gradient_magnitude", x, sigma, None, mode, 0.0)
    assert_same(ours, ref)
    # the generic forms with our own derivative and with scipy's
    for derivative in (N.sobel, S.prewitt):
        ours = N.generic_gradient_magnitude(x, derivative, None, mode)
        ref = S.generic_gradient_magnitude(x, derivative, None, mode)
        assert_same(ours, ref)


@SETTINGS
@given(x=arrays(dtypes=REAL), data=st.data())
def test_output_dtype_and_array_match_scipy_bits(x, data):
    out_dtype = data.draw(st.sampled_from(REAL))
    w = data.draw(weights1d())
    ours, ref = both("correlate1d", x, w, -1, out_dtype)
    assert_same(ours, ref)
    ours, ref = both("gaussian_filter", x, 1.0, 0, out_dtype)
    assert_same(ours, ref)
    # a strided (non-contiguous) output array, written through
    big = np.zeros(x.shape + (2,), out_dtype)
    out_ours, out_ref = big[..., 0], big.copy()[..., 0]
    N.sobel(x, 0, out_ours)
    S.sobel(x, 0, out_ref)
    assert_same(out_ours, out_ref)
    out_ours, out_ref = np.zeros_like(big)[..., 1], np.zeros_like(big)[..., 1]
    N.correlate(x, np.ones((2,) * x.ndim), out_ours)
    S.correlate(x, np.ones((2,) * x.ndim), out_ref)
    assert_same(out_ours, out_ref)


@pytest.mark.parametrize("dtype", REAL)
def test_non_contiguous_and_in_place_inputs_match_scipy(dtype):
    base = make_array(7, (9, 8, 3), dtype, special=False)
    for x in (base[::2, ::-1, 1], base.transpose(2, 0, 1), np.asfortranarray(base)):
        assert_same(N.uniform_filter(x, 3), S.uniform_filter(x, 3))
        assert_same(
            N.correlate(x, np.arange(x.ndim * 2.0).reshape((1,) * (x.ndim - 1) + (-1,))),
            S.correlate(x, np.arange(x.ndim * 2.0).reshape((1,) * (x.ndim - 1) + (-1,))),
        )
    for axis in (0, 1, 2):
        ours, ref = base.copy(), base.copy()
        N.correlate1d(ours, [1, 3, -1], axis, ours)
        S.correlate1d(ref, [1, 3, -1], axis, ref)
        assert_same(ours, ref)
    ours, ref = base.copy(), base.copy()
    N.correlate(ours, np.ones((3, 1, 2)), ours)
    S.correlate(ref, np.ones((3, 1, 2)), ref)
    assert_same(ours, ref)


def test_input_is_never_modified():
    x = make_array(3, (6, 7), np.float32)
    before = x.copy()
    for name in N.PATCHED:
        if name in ("generic_laplace", "generic_gradient_magnitude"):
            continue
        f = getattr(N, name)
        args = {
            "correlate1d": ([1, 2],),
            "convolve1d": ([1, 2],),
            "correlate": (np.ones((2, 2)),),
            "convolve": (np.ones((2, 2)),),
            "gaussian_filter1d": (1,),
            "gaussian_filter": (1,),
            "uniform_filter1d": (3,),
            "gaussian_laplace": (1,),
            "gaussian_gradient_magnitude": (1,),
        }
        # the min/max filters and grey morphology: a window of 3 (their second argument)
        morphology = any(part in name for part in ("imum", "grey", "morpholog", "tophat"))
        f(x, *args.get(name, (3,) if morphology else ()))
        assert_same(x, before)


def test_extreme_integer_casts_match_scipy():
    # Out-of-range, infinite and NaN doubles stored into every integer type as
    # scipy's compiled casts store them (the 1-D and N-D cores differ for uint64).
    x = np.array(
        [
            np.nan,
            np.inf,
            -np.inf,
            1e300,
            -1e300,
            3e9,
            -3e9,
            -1.5,
            1.5,
            255.9,
            -0.7,
            -9.3e18,
            -1.8e19,
            -1.9e19,
            1.8e19,
            9.3e18,
            2.0**63,
        ]
    )
    for dtype in REAL:
        assert_same(N.correlate1d(x, [1.0], output=dtype), S.correlate1d(x, [1.0], output=dtype))
        assert_same(N.correlate(x, [1.0], output=dtype), S.correlate(x, [1.0], output=dtype))


def test_uniform_filter_large_size_and_empty_arrays():
    x = make_array(1, (5, 40), np.float64, special=False)
    assert_same(N.uniform_filter1d(x, 37), S.uniform_filter1d(x, 37))
    assert_same(
        N.uniform_filter(x, (1, 101), mode="wrap"), S.uniform_filter(x, (1, 101), mode="wrap")
    )
    for name, args in (
        ("correlate1d", ([1, 2],)),
        ("uniform_filter", (3,)),
        ("correlate", (np.ones((2, 2)),)),
        ("sobel", ()),
    ):
        empty = np.zeros((0, 4), np.uint8)
        ours, ref = both(name, empty, *args)
        assert_same(ours, ref)


def test_correlate_reflects_correctly_where_scipys_nd_reflect_reads_unwritten_memory():
    # found by sepconv._fuzz: once a kernel reaches 4n or more samples past an axis of n,
    # scipy's N-D correlate reads memory it never wrote (repeated calls differ, e.g. 1.6e-322
    # for a sample); sepconv reflects as scipy's correlate1d and np.pad('symmetric') do and
    # matches scipy's arithmetic on the input reflected beforehand, bit for bit.
    rng = np.random.default_rng(0)
    for shape, ks in (((3,), (25,)), ((2,), (17,)), ((2, 3), (17, 3)), ((3, 4), (31, 31))):
        x = rng.random(shape) * 10
        w = rng.standard_normal(ks)
        pad = [(k, k) for k in ks]
        inner = tuple(slice(k, k + n) for k, n in zip(ks, shape))
        padded = np.pad(x, pad, mode="symmetric")
        for func in ("correlate", "convolve"):
            ours = getattr(N, func)(x, w, mode="reflect")
            assert_same(ours, getattr(S, func)(padded, w, mode="constant")[inner])
    x = rng.random(3)
    w = rng.standard_normal(25)
    # correlate1d sums in another order: equal to rounding
    np.testing.assert_allclose(
        N.correlate(x, w, mode="reflect"), S.correlate1d(x, w, mode="reflect"), rtol=1e-12
    )
