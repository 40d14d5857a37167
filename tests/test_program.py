"""Plans made once: the program cache of sepconv.correlate and callable sepconv.plan objects."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
from sepconv import _digest, _replay

RNG = np.random.default_rng(7)
GAUSS = sepconv.kernels.gaussian(1.0, ndim=1)
KERNEL = np.outer(GAUSS, GAUSS)


@pytest.fixture
def cache():
    _replay.PROGRAMS.clear()
    yield _replay.PROGRAMS
    _replay.PROGRAMS.clear()


def _check(ours: np.ndarray, x: np.ndarray, w: np.ndarray, **kw) -> None:
    ref = ndi.correlate(x.astype(np.float64), w, **kw)
    if x.dtype.kind == "f":
        np.testing.assert_allclose(ours, ref.astype(x.dtype), rtol=1e-5, atol=1e-5)
    else:
        assert np.abs(ours.astype(np.int64) - ndi.correlate(x, w, **kw)).max() <= 1


def test_a_repeated_call_replays_its_program_and_stays_equal_to_scipy(cache):
    for i in range(3):
        x = RNG.random((40, 50), dtype=np.float32)
        _check(sepconv.correlate(x, KERNEL), x, KERNEL)
        assert (cache.misses, cache.hits) == (1, i)


@pytest.mark.parametrize(
    "change",
    ["stride", "dtype", "mode", "kernel", "origin", "axes", "output", "cval", "mutated"],
)
def test_whatever_the_program_depends_on_makes_a_new_one(cache, change):
    x = RNG.random((30, 40)) * 100
    w = KERNEL.copy()
    kw: dict = {}
    sepconv.correlate(x, w)
    if change == "stride":
        x = np.asfortranarray(x)
    elif change == "dtype":
        x = x.astype(np.uint8)
    elif change == "mode":
        kw["mode"] = "wrap"
    elif change == "kernel":
        w = np.outer(GAUSS, [1.0, 0.0, -1.0])
    elif change == "origin":
        kw["origin"] = (1, -1)
    elif change == "axes":
        x = RNG.random((3, 30, 40)) * 100
        kw["axes"] = (1, 2)
    elif change == "cval":
        kw.update(mode="constant", cval=7.5)
    elif change == "mutated":
        w[0, 0] += 1.0  # the same array object, new values: a new kernel
    if change == "output":
        out = np.empty(x.shape, np.float32)
        ours = sepconv.correlate(x, w, out)
        assert ours is out
    else:
        ours = sepconv.correlate(x, w, **kw)
    assert cache.misses == 2 and cache.hits == 0
    if "axes" in kw:
        ref = ndi.correlate(x, w[None], **{k: v for k, v in kw.items() if k != "axes"})
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-9)
    else:
        _check(ours, x, w, **kw)
    sepconv.correlate(x, w, **kw)
    assert cache.hits == 1


def test_replays_write_a_given_output_and_leave_the_input_alone(cache):
    x = RNG.integers(0, 256, (64, 64), dtype=np.uint8)
    x.flags.writeable = False
    keep = x.copy()
    for _ in range(3):
        out = np.zeros((64, 64), np.uint8)
        assert sepconv.correlate(x, KERNEL, out) is out
        _check(out, x, KERNEL)
    assert np.array_equal(x, keep) and cache.hits == 2


def test_an_output_overlapping_the_input_is_never_replayed_into(cache):
    x = RNG.random((32, 32))
    ref = ndi.correlate(x, KERNEL)
    sepconv.correlate(x.copy(), KERNEL, np.empty_like(x))  # keep a program for this layout
    y = x.copy()
    sepconv.correlate(y, KERNEL, y)
    np.testing.assert_allclose(y, ref, rtol=1e-12)


def test_three_dimensional_programs_replay_their_scratch_buffers(cache):
    k3 = GAUSS[:, None, None] * GAUSS[None, :, None] * GAUSS[None, None, :]
    for _ in range(2):
        x = RNG.random((12, 14, 16), dtype=np.float32)
        ours = sepconv.correlate(x, k3, mode="mirror")
        np.testing.assert_allclose(ours, ndi.correlate(x, k3, mode="mirror"), atol=2e-6)
    assert cache.hits == 1


def test_values_dependent_and_fft_plans_are_not_kept(cache):
    big = sepconv.kernels.disk(20)  # not separable, large: FFT
    x = RNG.random((128, 128))
    assert sepconv.plan(x.shape, big).method == "fft"
    for _ in range(2):
        np.testing.assert_allclose(sepconv.correlate(x, big), ndi.correlate(x, big), atol=1e-10)
    assert len(cache) == 0


def test_large_kernels_are_keyed_by_a_digest():
    w = np.ones((1, 4000))
    key = _digest.kernel_key(w)
    assert len(key[2]) == 16 and key == _digest.kernel_key(w.copy())
    w2 = w.copy()
    w2[0, -1] = 2.0
    assert _digest.kernel_key(w2) != key


def test_the_cache_is_bounded(cache, monkeypatch):
    monkeypatch.setattr(cache, "size", 4)
    x = RNG.random((16, 16))
    for k in range(1, 10):
        sepconv.correlate(x, np.ones((1, k)))
    assert len(cache) == 4


def test_concurrent_replays_give_identical_results(cache):
    x = RNG.random((300, 300), dtype=np.float32)
    expected = sepconv.correlate(x, KERNEL)
    bad = []

    def loop() -> None:
        for _ in range(20):
            if not np.array_equal(sepconv.correlate(x, KERNEL), expected):
                bad.append(1)

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad and cache.hits == 160


# --------------------------------------------------------------------------- callable plans


def test_a_plan_filters_like_correlate_in_a_loop():
    p = sepconv.plan((48, 40), KERNEL, dtype=np.uint8, mode="nearest", origin=(0, 1))
    for _ in range(3):
        x = RNG.integers(0, 256, (48, 40), dtype=np.uint8)
        ours = p(x)
        assert np.array_equal(ours, sepconv.correlate(x, KERNEL, mode="nearest", origin=(0, 1)))
        _check(ours, x, KERNEL, mode="nearest", origin=(0, 1))
    assert len(p._programs) == 1


def test_a_plan_writes_into_outputs_and_handles_batches():
    x = RNG.random((5, 20, 30, 3), dtype=np.float32)
    p = sepconv.plan(x.shape, KERNEL, dtype=np.float32, axes=(1, 2), mode="wrap")
    out = np.empty(x.shape, np.float64)
    assert p(x, output=out) is out
    ref = ndi.correlate(x.astype(np.float64), KERNEL[None, :, :, None], mode="wrap")
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert p(x, np.float64).dtype == np.float64


def test_a_plan_maps_origins_per_axis_like_correlate():
    w = RNG.random((3, 5))
    x = RNG.random((20, 24))
    p = sepconv.plan(x.shape, w, axes=(1, 0), origin=(1, 0))
    ref = sepconv.correlate(x, w, axes=(1, 0), origin=(1, 0))
    np.testing.assert_allclose(p(x), ref, rtol=1e-12)
    np.testing.assert_allclose(ref, ndi.correlate(x, w, axes=(1, 0), origin=(1, 0)), rtol=1e-12)


def test_a_plan_refuses_another_shape_or_dtype_with_the_fix():
    p = sepconv.plan((32, 32), KERNEL, dtype=np.float32)
    with pytest.raises(ValueError, match=r"shape \(32, 33\).*sepconv.plan\(\(32, 33\)"):
        p(np.zeros((32, 33), np.float32))
    with pytest.raises(TypeError, match="dtype float64.*dtype=np.float64"):
        p(np.zeros((32, 32)))
    with pytest.raises(ValueError, match="output"):
        p(np.zeros((32, 32), np.float32), output=np.zeros((3, 3)))
    with pytest.raises(TypeError, match="dtype"):
        sepconv.plan((32, 32), KERNEL, dtype=np.complex64)


def test_sepfilter_replays_and_stays_equal_to_chained_correlate1d(cache):
    for i in range(2):
        x = RNG.random((3, 20, 24), dtype=np.float32)
        ours = sepconv.sepfilter(x, [GAUSS, [1.0, 0.0, -1.0]], axes=(1, 2), mode="reflect")
        ref = ndi.correlate1d(ndi.correlate1d(x.astype(np.float64), GAUSS, 1), [1, 0, -1], 2)
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
        assert cache.hits == i


def test_kernel_analyses_keep_digests_of_large_kernels_not_their_bytes():
    from sepconv import _plan

    w = RNG.random((3, 4000))
    sepconv.plan((8, 8), w)
    keys = _plan._analyse.cache_keys()
    assert keys and all(len(k[0]) <= 1024 for k in keys)
    assert any(len(k[0]) == 16 for k in keys)


@pytest.mark.parametrize("name", ["gaussian_gradient_magnitude", "gaussian_laplace"])
def test_gaussian_terms_replay_with_scipys_bits_and_key_on_every_argument(cache, name):
    import sepconv.ndimage as sn

    ours, theirs = getattr(sn, name), getattr(ndi, name)
    calls = [
        ((1.5,), {}),
        ((1.5,), {"mode": "wrap"}),
        ((2.0,), {}),
        ((1.5,), {"truncate": 3.0}),
        ((1.5,), {"mode": "constant", "cval": 2.0}),
    ]
    for i in range(2):
        x = RNG.random((20, 30), dtype=np.float32) * (i + 1)  # new values, same signature
        for args, kw in calls:
            np.testing.assert_array_equal(ours(x, *args, **kw), theirs(x, *args, **kw))
        assert (cache.misses, cache.hits) == (len(calls), i * len(calls))
