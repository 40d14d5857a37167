"""``nan_policy='omit'`` and ``mask=``: normalized convolution on the engine's banks.

References: a brute-force normalized correlation written plainly in NumPy (the
data padded with ``np.pad``, one weighted sum per tap), scipy's two-call recipe
(``filter(x with NaN as 0) / filter(valid)``) and scipy itself for the default
policy.  Rounding bound: ``|got - ref| <= 2 * taps * eps * sum|w| * max|x| / den +
eps * max|x|`` per output, ``eps`` of the work dtype (float32 for float32 data),
``den`` the sum of the weights of the valid samples; NaN exactly where no
valid sample is under a nonzero weight.
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as sn
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import sepconv
import sepconv.torch as storch
from sepconv import ndimage as ndi

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]
_PAD = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}


def _pad(a: np.ndarray, axis: int, before: int, after: int, mode: str, value: float):
    widths = [(0, 0)] * a.ndim
    widths[axis] = (before, after)
    if mode == "constant":
        return np.pad(a, widths, mode="constant", constant_values=value)
    return np.pad(a, widths, mode=_PAD[mode])


def brute(x, kernel, modes, cval, origins, mask=None):
    """``(num, den)`` of normalized correlation, one weighted sum per tap (NumPy only)."""
    x = np.asarray(x, dtype=np.float64)
    valid = ~np.isnan(x)
    if mask is not None:
        valid &= ~mask
    data, weight = np.where(valid, x, 0.0), valid.astype(np.float64)
    nan = math.isnan(cval)
    for ax, (k, o, m) in enumerate(zip(kernel.shape, origins, modes)):
        before, after = k // 2 + o, k - 1 - k // 2 - o
        data = _pad(data, ax, before, after, m, 0.0 if nan else cval)
        weight = _pad(weight, ax, before, after, m, 0.0 if nan else 1.0)
    num = np.zeros(x.shape)
    den = np.zeros(x.shape)
    for tap in np.ndindex(*kernel.shape):
        w = kernel[tap]
        if w == 0:
            continue
        window = tuple(slice(t, t + n) for t, n in zip(tap, x.shape))
        num += w * data[window]
        den += w * weight[window]
    return num, den


def assert_normalized(got, x, kernel, num, den, work=np.float64):
    """``got`` is ``num / den`` to the rounding bound, NaN exactly where ``den == 0``."""
    empty = den == 0
    assert np.array_equal(np.isnan(got), empty), "NaN where no valid sample, and only there"
    eps = float(np.finfo(work).eps)
    scale = float(np.nanmax(np.abs(x), initial=1.0))
    taps = np.count_nonzero(kernel)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = num / den
        bound = 2 * taps * eps * np.abs(kernel).sum() * scale / np.abs(den) + eps * scale
    ok = ~empty
    assert np.all(np.abs(got[ok] - ref[ok]) <= bound[ok])


@st.composite
def cases(draw):
    ndim = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(2, 10 if ndim < 3 else 7, ndim))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    x[rng.random(shape) < draw(st.sampled_from([0.0, 0.2, 0.6]))] = np.nan
    separable = draw(st.booleans())
    ksize = [int(rng.integers(1, 5)) for _ in range(ndim)]
    if separable:
        kernel = np.array(1.0)
        for k in ksize:
            f = rng.random(k) + 0.05
            f[rng.random(k) < 0.2] = 0.0  # zero taps: a sample under one is not counted
            kernel = np.multiply.outer(kernel, f)
    else:
        kernel = rng.random(ksize) + 0.05
    if not np.any(kernel):
        kernel.flat[0] = 1.0
    modes = [draw(st.sampled_from(MODES)) for _ in range(ndim)]
    origins = [int(rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in ksize]
    cval = draw(st.sampled_from([0.0, 1.5, np.nan]))
    return x, kernel, modes, cval, origins


@settings(max_examples=40, deadline=None)
@given(cases())
def test_omit_is_the_brute_force_normalized_correlation(case):
    x, kernel, modes, cval, origins = case
    got = sepconv.correlate(x, kernel, mode=modes, cval=cval, origin=origins, nan_policy="omit")
    assert got.dtype == x.dtype
    num, den = brute(x, kernel, modes, cval, origins)
    assert_normalized(got, x, kernel, num, den, x.dtype)
    # scipy's drop-in takes one mode; its correlate and convolve skip NaN the same way
    one = ndi.correlate(x, kernel, mode=modes[0], cval=cval, origin=origins, nan_policy="omit")
    num, den = brute(x, kernel, [modes[0]] * x.ndim, cval, origins)
    assert_normalized(one, x, kernel, num, den, x.dtype)


@settings(max_examples=15, deadline=None)
@given(cases(), st.integers(0, 2**16))
def test_mask_skips_its_samples_as_omit_skips_nan(case, seed):
    x, kernel, modes, cval, origins = case
    mask = np.random.default_rng(seed).random(x.shape) < 0.3
    filled = np.nan_to_num(x)
    # a convolution: the flipped kernel, each origin mirrored (one more for even sizes);
    # 'omit' (the data has no NaN) so that a NaN cval is skipped, not spread
    got = sepconv.convolve(
        filled, kernel, mode=modes, cval=cval, origin=origins, mask=mask, nan_policy="omit"
    )
    flipped = kernel[(slice(None, None, -1),) * kernel.ndim]
    mirrored = [-o - (1 - k % 2) for o, k in zip(origins, kernel.shape)]
    num, den = brute(filled, flipped, modes, cval, mirrored, mask=mask)
    assert_normalized(got, filled, kernel, num, den, x.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_smoothing_filters_equal_scipys_two_call_recipe(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((31, 40)).astype(dtype)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[8:20, 10:25] = np.nan  # a hole wider than the kernels
    valid = ~np.isnan(x)
    zero = np.where(valid, x, 0).astype(np.float64)
    for ours, theirs, kw in [
        (ndi.gaussian_filter, sn.gaussian_filter, dict(sigma=1.5, mode="nearest")),
        (ndi.gaussian_filter1d, sn.gaussian_filter1d, dict(sigma=2.0, axis=0)),
        (ndi.uniform_filter, sn.uniform_filter, dict(size=(3, 5), mode="wrap")),
        (ndi.uniform_filter1d, sn.uniform_filter1d, dict(size=4, origin=1)),
        (ndi.correlate1d, sn.correlate1d, dict(weights=[1.0, 2.0, 0.5], axis=1)),
        (ndi.convolve1d, sn.convolve1d, dict(weights=[1.0, 2.0, 0.5, 3.0], axis=0)),
        (ndi.convolve, sn.convolve, dict(weights=np.outer([1, 2, 1], [1, 3]))),
    ]:
        got = ours(x, nan_policy="omit", **kw)
        num, den = theirs(zero, **kw), theirs(valid.astype(np.float64), **kw)
        assert got.dtype == dtype
        assert np.array_equal(np.isnan(got), den < 1e-10), ours.__name__
        eps = np.finfo(dtype).eps
        ok = den >= 1e-10
        np.testing.assert_allclose(got[ok], num[ok] / den[ok], rtol=0, atol=64 * eps * 4 / 0.05)


def test_default_policy_keeps_scipys_bits():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 30))
    x[rng.random(x.shape) < 0.1] = np.nan
    for ours, theirs, args in [
        (ndi.gaussian_filter, sn.gaussian_filter, (1.5,)),
        (ndi.uniform_filter, sn.uniform_filter, (4,)),
        (ndi.correlate, sn.correlate, (np.ones((3, 3)),)),
    ]:
        got = ours(x, *args, nan_policy="propagate")
        assert np.array_equal(got, theirs(x, *args), equal_nan=True)


def test_propagate_with_a_mask_skips_the_mask_and_spreads_nan():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((15, 16))
    mask = rng.random(x.shape) < 0.2
    x[3, 4] = np.nan  # a NaN the mask does not cover
    x[mask & (rng.random(x.shape) < 0.5)] = np.nan  # NaN under the mask: skipped
    k = np.ones((3, 3))
    got = ndi.correlate(x, k, mask=mask)
    num, den = brute(x, k, ["reflect"] * 2, 0.0, [0, 0], mask=mask | np.isnan(x))
    spread = sn.correlate((np.isnan(x) & ~mask).astype(float), k) > 0
    ref = np.where(spread, np.nan, num / np.where(den > 0, den, 1))
    ref[(den == 0) & ~spread] = np.nan
    assert np.array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, atol=1e-12)
    # NaN beyond a 'constant' edge spreads too
    edge = ndi.uniform_filter(np.ones((6, 6)), 3, mode="constant", cval=np.nan, mask=np.eye(6))
    assert np.isnan(edge[0]).all() and not np.isnan(edge[2:4, 2:4]).any()


def test_integer_data_with_a_mask_gives_float64_and_empty_kernels_nan():
    image = np.arange(36, dtype=np.uint8).reshape(6, 6)
    mask = np.zeros((6, 6), bool)
    mask[:3] = True
    got = ndi.uniform_filter(image, 3, mask=mask)
    assert got.dtype == np.float64
    assert np.isnan(got[:2]).all() and not np.isnan(got[2:]).any()
    assert got[4, 3] == image[3:6, 2:5].mean()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x: ndi.gaussian_filter(x, 1, order=1, nan_policy="omit"), "one sign"),
        (lambda x: sepconv.correlate(x, [[1, -1]], nan_policy="omit"), "mixed sign"),
        (lambda x: ndi.uniform_filter(x, 3, nan_policy="raise"), "nan_policy must be"),
        (lambda x: ndi.uniform_filter(x, 3, mask=np.ones(3)), "mask must have"),
        (lambda x: ndi.uniform_filter(x, 3, output=np.int32, nan_policy="omit"), "floating"),
        (lambda x: sepconv.correlate(x, np.ones((3, 3)), nan_policy="omit", method="fft"), "fft"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.ones((5, 5)))
    with pytest.raises(TypeError, match="real"):
        ndi.gaussian_filter(np.ones(4, complex), 1, nan_policy="omit")


def test_sepfilter_and_three_dimensional_volumes():
    rng = np.random.default_rng(3)
    v = rng.standard_normal((6, 7, 8)).astype(np.float32)
    v[rng.random(v.shape) < 0.3] = np.nan
    f = [np.array([1.0, 2.0, 1.0]), np.array([1.0, 1.0]), np.array([0.5, 1.0, 3.0, 1.0])]
    got = sepconv.sepfilter(v, f, axes=(2, 0, 1), mode="constant", cval=2.0, nan_policy="omit")
    kernel = np.multiply.outer(np.multiply.outer(f[1], f[2]), f[0])
    num, den = brute(v, kernel, ["constant"] * 3, 2.0, [0, 0, 0])
    assert_normalized(got, v, kernel, num, den, np.float32)
    # two axes that are not adjacent
    got = ndi.gaussian_filter(v, 1.0, axes=(0, 2), nan_policy="omit")
    g = ndi._filters.gaussian_weights(1.0, 0, 4.0, None)
    kernel = np.multiply.outer(np.multiply.outer(g, [1.0]), g)
    num, den = brute(v, kernel, ["reflect"] * 3, 0.0, [0, 0, 0])
    assert_normalized(got, v, kernel, num, den, np.float32)


def test_repeated_calls_replay_the_same_result():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 50))
    x[rng.random(x.shape) < 0.1] = np.nan
    first = ndi.gaussian_filter(x, 2, nan_policy="omit")
    again = ndi.gaussian_filter(x.copy(), 2, nan_policy="omit")
    assert np.array_equal(first, again, equal_nan=True)
    y = x + 1.0
    assert np.allclose(ndi.gaussian_filter(y, 2, nan_policy="omit"), first + 1, equal_nan=True)


@pytest.mark.parametrize("chunks", [(11, 13), (17, 50), (50, 14)])
def test_dask_blocks_equal_the_numpy_result_on_odd_chunkings(chunks):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 50)).astype(np.float32)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[10:25, 20:30] = np.nan
    mask = rng.random(x.shape) < 0.05
    lazy = da.from_array(x, chunks=chunks)
    for f, kw in [
        (ndi.gaussian_filter, dict(sigma=1.5, nan_policy="omit")),
        (ndi.uniform_filter, dict(size=(3, 6), mask=mask, mode="wrap")),
        (sepconv.correlate, dict(weights=np.outer([1, 2, 1], [1, 1]), nan_policy="omit")),
        (ndi.convolve1d, dict(weights=[1.0, 3.0], mask=da.from_array(mask, chunks=(20, 20)))),
    ]:
        numpy_kw = {k: (np.asarray(v) if k == "mask" else v) for k, v in kw.items()}
        got = f(lazy, **kw)
        assert isinstance(got, da.Array)
        assert np.array_equal(got.compute(), f(x, **numpy_kw), equal_nan=True), f.__name__


def test_torch_normalized_convolution_is_differentiable():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 7, 6))
    mask = rng.random(x.shape) < 0.25
    k = np.outer([1.0, 2.0, 1.0], [1.0, 3.0, 1.0])
    t = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a: storch.correlate(a, k, mask=torch.tensor(mask), mode="wrap"), (t,)
    )
    # NaN samples get no gradient; every output keeps a valid neighbour here
    y = x.copy()
    y[:, ::3, ::2] = np.nan
    ty = torch.tensor(y, requires_grad=True)
    out = ndi.gaussian_filter(ty, 1.0, axes=(1, 2), nan_policy="omit")
    ref = ndi.gaussian_filter(y, 1.0, axes=(1, 2), nan_policy="omit")
    np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-12)
    out.sum().backward()
    assert np.all(ty.grad.numpy()[np.isnan(y)] == 0) and np.isfinite(ty.grad.numpy()).all()
    assert torch.autograd.gradcheck(
        lambda a: ndi.uniform_filter(a, 3, axes=(1, 2), mask=mask), (t,)
    )
