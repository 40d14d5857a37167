"""The fast policy's fixed point for uint8 smoothing: its stated bound, held on random inputs.

``sepconv._engine._fixed`` filters uint8 into uint8 with symmetric non-negative factors in
16-bit integers; its documented promise is that the output is scipy's truncation of the
exact value, except by one where the exact value lies within ``plan(...).bound`` of an
integer.  Checked here against a float64 reference (scipy.ndimage on float64 input).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

import sepconv
from sepconv import _replay
from sepconv._boundary import extend_indices
from sepconv._engine import _fixed, _passes, _pool

MODES = ("reflect", "mirror", "nearest", "wrap", "constant", "grid-wrap")


def _gaussian(sigma: float) -> np.ndarray:
    r = int(4 * sigma + 0.5)
    t = np.arange(-r, r + 1)
    w = np.exp(-0.5 * (t / sigma) ** 2)
    return w / w.sum()


@pytest.fixture
def taken(monkeypatch):
    """Counts the calls that ran in fixed point (replays cleared so every call plans)."""
    calls = []
    real = _passes._fixed_point

    def spy(*args):
        done = real(*args)
        calls.append(done)
        return done

    monkeypatch.setattr(_passes, "_fixed_point", spy)
    _replay.PROGRAMS.clear()
    yield calls
    _replay.PROGRAMS.clear()


def _check_bound(ours: np.ndarray, exact: np.ndarray, bound: float) -> float:
    """Assert the promise; return the share of outputs one off."""
    truncated = np.trunc(exact)
    diff = ours.astype(np.int64) - truncated.astype(np.int64)
    assert np.abs(diff).max(initial=0) <= 1
    distance = np.abs(exact - np.round(exact))
    assert np.all(distance[diff != 0] <= bound + 1e-9), (distance[diff != 0].max(), bound)
    return float(np.mean(diff != 0)) if diff.size else 0.0


def test_plan_takes_smoothing_factors_and_refuses_the_rest():
    g = _gaussian(1.0)
    p = _fixed.plan(g, g)
    assert p is not None and 0 < p.bound < _fixed.MAX_BOUND
    assert int(p.qv.sum()) <= 1 << 16 and int(p.qh.sum()) <= 1 << 16
    assert np.array_equal(p.qv, p.qv[::-1])
    assert _fixed.plan(-g, -g) is not None  # a factorisation's flipped signs
    assert _fixed.plan(g, 2 * g) is None  # sums to 2
    assert _fixed.plan(g, np.array([0.2, 0.5, 0.3])) is None  # not symmetric
    assert _fixed.plan(g, np.array([-0.1, 1.2, -0.1])) is None  # sharpening
    assert _fixed.plan(g, np.array([0.0, 1.0, 0.0])) is None  # a tap of 1
    assert _fixed.plan(g, np.full(17, 1 / 17)) is None  # a long box: running sums
    assert _fixed.plan(g, np.full(15, 1 / 15)) is not None
    assert _fixed.plan(g, np.array([np.nan, 1.0, np.nan])) is None


@pytest.mark.parametrize("sigma", [0.8, 1.0, 2.5, 4.0])
def test_gaussians_on_an_image_stay_within_the_bound(sigma, taken):
    x = np.random.default_rng(int(sigma * 10)).integers(0, 256, (131, 257), dtype=np.uint8)
    before = x.copy()
    g = _gaussian(sigma)
    ours = sepconv.correlate(x, np.outer(g, g))
    assert taken == [True]
    assert np.array_equal(x, before)
    exact = ndi.correlate(x.astype(np.float64), np.outer(g, g), mode="reflect")
    share = _check_bound(ours, exact, _fixed.plan(g, g).bound)
    assert share < 0.2  # a tenth of a unit of bound: a small share is one off


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 70),
    channels=st.sampled_from([None, 1, 3]),
    kv=st.integers(1, 17),
    kh=st.integers(1, 17),
    mode=st.sampled_from(MODES),
    cval=st.integers(0, 255),
    origin=st.integers(-1, 1),
    seed=st.integers(0, 2**31 - 1),
)
def test_random_smoothing_factors_shapes_and_modes_stay_within_the_bound(
    rows, cols, channels, kv, kh, mode, cval, origin, seed
):
    rng = np.random.default_rng(seed)
    shape = (rows, cols) if channels is None else (rows, cols, channels)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    half_v, half_h = rng.random((kv + 1) // 2), rng.random((kh + 1) // 2)
    v = np.concatenate([half_v, half_v[: kv // 2][::-1]])
    h = np.concatenate([half_h, half_h[: kh // 2][::-1]])
    scale = rng.uniform(0.3, 1.0)
    v, h = v / v.sum(), h / h.sum() * scale
    fixed = _fixed.plan(v, h)
    origins = [origin if k > 2 else 0 for k in (kv, kh)] + ([0] if channels is not None else [])
    kernel = np.outer(v, h)
    _replay.PROGRAMS.clear()
    ours = sepconv.sepfilter(x, [v, h], axes=(0, 1), mode=mode, cval=cval, origin=origins[:2])
    full = kernel if channels is None else kernel[:, :, None]
    ndi_mode = {"grid-wrap": "wrap"}.get(mode, mode)
    exact = ndi.correlate(x.astype(np.float64), full, mode=ndi_mode, cval=cval, origin=origins)
    bound = fixed.bound if fixed is not None else 1e-4 * 256
    _check_bound(ours, exact, bound)


def test_results_do_not_depend_on_threads_or_bands(monkeypatch):
    x = np.random.default_rng(1).integers(0, 256, (700, 300), dtype=np.uint8)
    g = _gaussian(2.0)
    results = []
    for threads in (1, 2):
        # as if the pool had measured faster for every size: two threads do run
        monkeypatch.setattr(_pool, "_rates", {c: [1.0, 0.5, 0, 2] for c in range(80)})
        _pool.set_num_threads(threads)
        try:
            _replay.PROGRAMS.clear()
            results.append(sepconv.correlate(x, np.outer(g, g)))
        finally:
            _pool.set_num_threads(_pool.default_threads())
    assert np.array_equal(results[0], results[1])
    # bands of one output row each: every row's ring warms up from scratch
    fixed = _fixed.plan(g, g)
    r = fixed.qv.shape[0] // 2
    out = np.empty((1, 700, 300), np.uint8)
    ints = np.array([1, 700, 0, 1, r, fixed.bias], np.int64)
    idxH, idxW = (extend_indices(n, r, r, "reflect") for n in (700, 300))
    _fixed.fixed_hv(0, 700, x.reshape(1, 700, 300), out, idxH, idxW, fixed.qv, fixed.qh, ints)
    assert np.array_equal(results[0], out[0])


def test_other_dtypes_and_kernels_keep_the_float_path(taken):
    g = _gaussian(1.0)
    x = np.random.default_rng(2).integers(0, 256, (40, 50), dtype=np.uint8)
    sepconv.correlate(x, np.outer(g, g), output=np.float32)  # uint8 into float32
    sepconv.correlate(x.astype(np.uint16), np.outer(g, g))  # 16-bit data: means only
    sepconv.correlate(x, np.outer(g, [1.0, 0.0, -1.0]))  # a derivative
    sepconv.correlate(x, np.outer(g, g), mode="constant", cval=0.5)  # cval no uint8 value
    assert not any(taken)
    ours = sepconv.correlate(x, np.outer(g, g))
    assert taken[-1]
    assert "16-bit fixed point" in sepconv.plan(x.shape, np.outer(g, g), dtype=np.uint8).explain()
    assert "fixed point" not in sepconv.plan(x.shape, np.outer(g, g), dtype=np.float32).explain()
    assert ours.dtype == np.uint8


@pytest.mark.parametrize(
    "w", [_gaussian(1.0), _gaussian(4.0), np.full(3, 1 / 3), np.full(15, 1 / 15)]
)
def test_flat_regions_keep_their_value(w, taken):
    # the truncations' deficit is added back before the final shift: a constant stays itself
    for c in (0, 1, 37, 128, 254, 255):
        x = np.full((40, 70), c, np.uint8)
        assert np.all(sepconv.correlate(x, np.outer(w, w)) == c)
    assert all(taken)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("k", [3, 9, 31, 101])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_means_are_the_exact_truncated_mean(k, mode, dtype, taken):
    # a normalised box needs no rounding: integer sums, then floor(sum / N) exactly
    rng = np.random.default_rng(k)
    for shape in ((120, 130), (110, 105, 3)):  # axes longer than the box: no taps fold
        x = rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
        ours = sepconv.correlate(x, np.ones((k, k)) / k**2, mode=mode, cval=9, axes=(0, 1))
        ones = np.ones((k, k) + (1,) * (x.ndim - 2))
        sums = ndi.correlate(x.astype(np.float64), ones, mode=mode, cval=9)  # exact integers
        assert np.array_equal(ours, (np.rint(sums).astype(np.int64) // k**2).astype(dtype))
    assert all(taken) and len(taken) == 2
    assert "exact integer sums" in sepconv.plan((120, 130), np.ones((k, k)) / k**2,
                                                dtype=dtype).explain()  # fmt: skip
