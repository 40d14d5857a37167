"""sepconv.astropy against astropy.convolution: results, warnings, errors, inputs, patching.

Rounding bound (``convolve``): both compute in float64, so
``|ours - astropy| <= 64 * taps * eps64 * sum|K| * max|x| / |den| + 2 * eps(out) * |astropy|``
per pixel, ``den`` the sum of the kernel weights of the valid pixels (the
``1 / den`` factor: dividing amplifies the rounding of the sums).  NaN exactly
where astropy's is.  ``convolve_fft`` is compared to astropy's FFT result, whose
own rounding is relative to the image's largest value: ``1e-10 * max|x| / den``.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

astropy_convolution = pytest.importorskip("astropy.convolution")
from astropy import units as u  # noqa: E402
from astropy.convolution import (  # noqa: E402
    Box1DKernel,
    Box2DKernel,
    Gaussian1DKernel,
    Gaussian2DKernel,
    Tophat2DKernel,
)
from astropy.nddata import NDData  # noqa: E402
from astropy.utils.exceptions import AstropyUserWarning  # noqa: E402

import sepconv.astropy as sa  # noqa: E402

ORIGINAL = sa._ORIGINAL


def _call(function, *args, **kwargs):
    """The result (or exception) and the AstropyUserWarning texts of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - compared class and text
            result = exc
    texts = sorted(str(w.message) for w in caught if issubclass(w.category, AstropyUserWarning))
    return result, texts


def _den(x, kernel, boundary, fill_value, mask):
    """astropy's own sum of the valid weights: its convolve of the validity image."""
    valid = ~np.isnan(np.asarray(x, dtype=float))
    if mask is not None:
        valid &= ~np.asarray(mask, bool)
    fill = 0.0 if np.isnan(fill_value) else 1.0
    return ORIGINAL["convolve"](
        valid.astype(float), kernel, boundary=boundary, fill_value=fill, normalize_kernel=False
    )


def assert_like_astropy(ours, theirs, x, kernel, den):
    assert type(ours) is type(theirs)
    if isinstance(theirs, Exception):
        assert str(ours) == str(theirs)
        return
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    k = np.asarray(getattr(kernel, "array", kernel), dtype=float)
    scale = float(np.nanmax(np.abs(np.asarray(x, dtype=float)), initial=1.0))
    eps = np.finfo(np.float64).eps
    with np.errstate(divide="ignore"):
        bound = 64 * k.size * eps * np.abs(k).sum() * scale / np.minimum(np.abs(den), 1.0)
    bound = bound + 2 * np.finfo(theirs.dtype).eps * np.abs(theirs.astype(float))
    ok = ~np.isnan(theirs)
    assert np.all(np.abs(ours[ok].astype(float) - theirs[ok]) <= bound[ok])


@st.composite
def convolve_cases(draw):
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    ndim = draw(st.integers(1, 3))
    shape = tuple(int(n) for n in rng.integers(5, 14 if ndim < 3 else 8, ndim))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int16]))
    x = rng.standard_normal(shape) * 4
    if dtype != np.int16:
        x[rng.random(shape) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = np.nan
    x = x.astype(dtype)
    choice = draw(st.sampled_from(["gaussian", "box", "tophat", "positive", "mixed"]))
    if choice == "gaussian":
        kernel = Gaussian1DKernel(1.0) if ndim == 1 else Gaussian2DKernel(0.8)
    elif choice == "box":
        kernel = Box1DKernel(3) if ndim == 1 else Box2DKernel(3)
    elif choice == "tophat" and ndim == 2:
        kernel = Tophat2DKernel(2)
    else:
        sizes = [int(rng.choice([1, 3, 5])) for _ in range(ndim)]
        kernel = rng.random(sizes) + 0.05
        if choice == "mixed":
            kernel = kernel - 0.3  # mixed signs, a sum far from zero
            kernel.flat[kernel.size // 2] = 2.0
    k = np.asarray(getattr(kernel, "array", kernel))
    if k.ndim != ndim:  # a kernel class of another rank: a custom array instead
        kernel = rng.random([3] * ndim) + 0.1
    kshape = np.shape(getattr(kernel, "array", kernel))
    if any(k > n for k, n in zip(kshape, shape)):
        kernel = np.ones([1] * ndim)
    options = dict(
        boundary=draw(st.sampled_from([None, "fill", "wrap", "extend"])),
        fill_value=draw(st.sampled_from([0.0, 2.5, np.nan])),
        nan_treatment=draw(st.sampled_from(["interpolate", "interpolate", "fill"])),
        normalize_kernel=draw(st.booleans()),
        preserve_nan=draw(st.booleans()),
    )
    mask = rng.random(shape) < 0.2 if draw(st.booleans()) else None
    return x, kernel, options, mask


@settings(max_examples=60, deadline=None)
@given(convolve_cases())
def test_convolve_equals_astropy(case):
    x, kernel, options, mask = case
    theirs, their_warnings = _call(ORIGINAL["convolve"], x, kernel, mask=mask, **options)
    ours, our_warnings = _call(sa.convolve, x, kernel, mask=mask, **options)
    assert our_warnings == their_warnings
    den = None
    if not isinstance(theirs, Exception):
        den = _den(x, kernel, options["boundary"] or "fill", options["fill_value"], mask)
        if options["nan_treatment"] == "fill":
            den = np.ones(np.shape(x))  # no division: the bound's den is 1
    assert_like_astropy(ours, theirs, x, kernel, den)


@pytest.mark.parametrize("boundary", [None, "fill", "wrap", "extend"])
def test_gaussian_and_box_kernels_with_holes_wider_than_the_kernel(boundary):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 37)) + 5
    x[rng.random(x.shape) < 0.05] = np.nan
    x[10:30, 5:27] = np.nan
    for kernel in (Gaussian2DKernel(1.5), Box2DKernel(5)):
        theirs, wt = _call(ORIGINAL["convolve"], x, kernel, boundary=boundary)
        ours, wo = _call(sa.convolve, x, kernel, boundary=boundary)
        assert wo == wt and wt  # the hole leaves NaN: astropy's warning, by both
        den = _den(x, kernel, boundary or "fill", 0.0, None)
        assert_like_astropy(ours, theirs, x, kernel, den)


def test_normalization_zero_tol_and_zero_sum_kernels_raise_as_astropy():
    x = np.arange(10.0)
    x[4] = np.nan
    for kwargs in (
        dict(kernel=[1.0, -2.0, 1.0]),
        dict(kernel=[1.0, -2.0, 1.0], normalize_kernel=False),
        dict(kernel=[1.0, -1.5, 1.0], normalization_zero_tol=1.0, normalize_kernel=False),
        dict(kernel=[1.0, 1.0], boundary="fill"),
        dict(kernel=[1.0, 1.0, 1.0], boundary="nope"),
        dict(kernel=[1.0, 1.0, 1.0], nan_treatment="nope"),
        dict(kernel=np.ma.masked_array([1.0, 1.0, 1.0], [0, 1, 0])),
        dict(kernel=np.ones(11), boundary=None),
    ):
        theirs, _ = _call(ORIGINAL["convolve"], x, **kwargs)
        ours, _ = _call(sa.convolve, x, **kwargs)
        assert type(ours) is type(theirs) and str(ours) == str(theirs), kwargs
    # without NaN a zero-sum kernel is fine unnormalized: the plain sum
    kernel = [1.0, -2.0, 1.0]
    y = np.arange(10.0) ** 2
    np.testing.assert_allclose(
        sa.convolve(y, kernel, normalize_kernel=False),
        ORIGINAL["convolve"](y, kernel, normalize_kernel=False),
    )


def test_inputs_as_astropy_takes_them():
    rng = np.random.default_rng(2)
    data = rng.standard_normal((12, 13))
    mask = rng.random(data.shape) < 0.2
    kernel = Gaussian2DKernel(1)
    pairs = [
        ((np.ma.masked_array(data, mask), kernel), {}),
        ((NDData(data, mask=mask), kernel), {}),
        ((data.tolist(), kernel.array.tolist()), {}),
        ((data * u.Jy, kernel), {}),
        ((data.astype(">f8"), kernel), dict(boundary="wrap")),
        ((data[:, ::2], kernel), dict(boundary="extend")),
        ((Box2DKernel(3), Gaussian2DKernel(1)), {}),
    ]
    for args, kwargs in pairs:
        for name in ("convolve", "convolve_fft"):
            if name == "convolve_fft" and isinstance(args[0], Box2DKernel):
                continue
            theirs, wt = _call(ORIGINAL[name], *args, **kwargs)
            ours, wo = _call(getattr(sa, name), *args, **kwargs)
            assert type(ours) is type(theirs) and wo == wt, (name, type(args[0]))
            if isinstance(theirs, Exception):  # extend: not for convolve_fft
                assert str(ours) == str(theirs)
                continue
            if isinstance(theirs, u.Quantity):
                assert ours.unit == theirs.unit
            a = np.asarray(getattr(ours, "array", getattr(ours, "value", ours)))
            b = np.asarray(getattr(theirs, "array", getattr(theirs, "value", theirs)))
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    boundary=st.sampled_from([None, "fill", "wrap"]),
    fill_value=st.sampled_from([0.0, 1.5, np.nan]),
    normalize=st.sampled_from([True, False, np.max]),
    nan_treatment=st.sampled_from(["interpolate", "fill"]),
    min_wt=st.sampled_from([0.0, 0.3]),
    preserve_nan=st.booleans(),
    even=st.booleans(),
)
def test_convolve_fft_equals_astropy(
    seed, boundary, fill_value, normalize, nan_treatment, min_wt, preserve_nan, even
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 13)) + 2
    x[rng.random(x.shape) < 0.15] = np.nan
    x[2, 3] = np.inf  # convolve_fft treats it as NaN
    x[4:14, 2:12] = np.nan  # wider than the kernel: no valid pixel at its centre
    kernel = Gaussian2DKernel(1.2).array if not even else rng.random((4, 3)) + 0.2
    if nan_treatment == "fill" and np.isnan(fill_value):
        fill_value = 0.5
    kwargs = dict(
        boundary=boundary,
        fill_value=fill_value,
        normalize_kernel=normalize,
        nan_treatment=nan_treatment,
        min_wt=min_wt,
        preserve_nan=preserve_nan,
    )
    theirs, wt = _call(ORIGINAL["convolve_fft"], x, kernel, **kwargs)
    ours, wo = _call(sa.convolve_fft, x, kernel, **kwargs)
    assert wo == wt and type(ours) is type(theirs)
    if isinstance(theirs, Exception):
        assert str(ours) == str(theirs)
        return
    assert ours.dtype == theirs.dtype == np.float64
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    # the normalized weight astropy thresholds, exact here
    bad = ~np.isfinite(x)
    weight = sa._weights_of_valid(
        np.where(bad, np.nan, x),
        kernel[::-1, ::-1] / kernel.sum(),
        ["wrap" if boundary == "wrap" else "constant"] * 2,
        fill_value if np.isfinite(fill_value) else np.nan,
        [-1 if k % 2 == 0 else 0 for k in kernel.shape],
    )
    clear = np.abs(weight - max(min_wt, 1e-15)) > 1e-6  # not on astropy's threshold
    ok = ~np.isnan(theirs) & clear
    scale = np.nanmax(np.abs(np.where(bad, np.nan, x)))
    tol = 1e-10 * scale * (np.abs(kernel).sum() / kernel.sum()) / np.maximum(weight, 1e-3)
    assert np.all(np.abs(ours[ok] - theirs[ok]) <= tol[ok])


def test_convolve_fft_options_that_change_the_computation_run_astropys():
    x = np.random.default_rng(3).standard_normal((9, 8))
    for kwargs in (dict(return_fft=True), dict(crop=False), dict(psf_pad=False)):
        theirs, wt = _call(ORIGINAL["convolve_fft"], x, np.ones((3, 3)), **kwargs)
        ours, wo = _call(sa.convolve_fft, x, np.ones((3, 3)), **kwargs)
        assert wo == wt
        np.testing.assert_allclose(ours, theirs)
    for kwargs in (dict(boundary="extend"), dict(boundary="wrap", psf_pad=True)):
        theirs, _ = _call(ORIGINAL["convolve_fft"], x, np.ones((3, 3)), **kwargs)
        ours, _ = _call(sa.convolve_fft, x, np.ones((3, 3)), **kwargs)
        assert type(ours) is type(theirs) and str(ours) == str(theirs)


def test_volumes_run_separable_and_match_astropy():
    rng = np.random.default_rng(4)
    v = rng.standard_normal((9, 10, 11))
    v[rng.random(v.shape) < 0.2] = np.nan
    g = Gaussian1DKernel(1.0).array
    kernel = np.multiply.outer(np.multiply.outer(g, g[1:-1]), g)
    for boundary in ("fill", "extend", "wrap"):
        theirs = ORIGINAL["convolve"](v, kernel, boundary=boundary, fill_value=1.0)
        ours = sa.convolve(v, kernel, boundary=boundary, fill_value=1.0)
        den = _den(v, kernel, boundary, 1.0, None)
        assert_like_astropy(ours, theirs, v, kernel, den)


@pytest.mark.parametrize("boundary", [None, "fill", "wrap", "extend"])
def test_dask_blocks_equal_the_numpy_result(boundary):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((40, 33))
    x[rng.random(x.shape) < 0.1] = np.nan
    mask = rng.random(x.shape) < 0.1
    kernel = Gaussian2DKernel(1.0)
    lazy = da.from_array(x, chunks=(13, 17))
    got = sa.convolve(lazy, kernel, boundary=boundary, mask=mask)
    assert isinstance(got, da.Array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyUserWarning)
        ref = sa.convolve(x, kernel, boundary=boundary, mask=mask)
        assert np.array_equal(got.compute(), ref, equal_nan=True)


def test_patch_replaces_astropys_functions_and_unpatch_restores_them():
    import astropy.convolution as ac

    module = sys.modules["astropy.convolution.convolve"]
    original = ac.convolve
    holder = type(sys)("holder_of_names")
    holder.convolve = original  # a module that did `from astropy.convolution import convolve`
    sys.modules["holder_of_names"] = holder
    try:
        with sa.patched():
            assert ac.convolve is sa.convolve and ac.convolve_fft is sa.convolve_fft
            assert module.convolve is sa.convolve and holder.convolve is sa.convolve
            x = np.array([1.0, np.nan, 3.0, 4.0])
            assert ac.interpolate_replace_nans(x, [1, 1, 1])[1] == 2.0
            with sa.patched():  # nested: the outer one restores
                pass
            assert sa.is_patched()
        assert ac.convolve is original and holder.convolve is original
        assert not sa.is_patched()
    finally:
        del sys.modules["holder_of_names"]


def test_importing_sepconv_does_not_import_astropy():
    code = "import sepconv, sys; assert 'astropy' not in sys.modules, 'astropy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
