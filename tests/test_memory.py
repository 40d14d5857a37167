"""Bounded memory: long kernels fold, plans estimate working memory, auto keeps a budget."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
from sepconv import MemoryBudgetError
from sepconv._boundary import extend_indices, kernel_reach
from sepconv._reduce import fold_long_kernel, folded_length

MODES = ("reflect", "mirror", "nearest", "wrap", "constant")
SRC = str(Path(sepconv.__file__).resolve().parents[1])


@pytest.fixture
def budget():
    """Restore the default budget after a test changes it."""
    yield sepconv.set_memory_budget
    sepconv.set_memory_budget()


def _reference_2d(x, w, mode, cval, origins):
    """scipy 1-D passes summed over the kernel's columns: an exact 2-D reference.

    scipy's N-D correlate misreads 'reflect' for reaches >= 4n; correlate1d is right.
    """
    total = np.zeros(x.shape)
    for c in range(w.shape[1]):
        column = ndi.correlate1d(x, w[:, c], axis=0, mode=mode, cval=cval, origin=origins[0])
        onehot = np.eye(w.shape[1])[c]
        # Beyond axis 1 every sample of the column pass would be cval * sum(column).
        edge = cval * w[:, c].sum()
        total += ndi.correlate1d(column, onehot, axis=1, mode=mode, cval=edge, origin=origins[1])
    return total


# --------------------------------------------------------------------------- folding


@pytest.mark.parametrize("mode", MODES)
def test_folded_kernel_reads_what_the_long_kernel_reads(mode):
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 6):
        for k in (1, 2, 5, 13, 40):
            for origin in range(-(k // 2), (k - 1) // 2 + 1, max(1, k // 5)):
                x, w = rng.standard_normal(n), rng.standard_normal(k)
                folded, (o,) = fold_long_kernel(w, [n], [mode], [origin])
                assert folded.size <= max(k, folded_length(n, mode))
                expected = ndi.correlate1d(x, w, mode=mode, cval=1.5, origin=origin)
                got = ndi.correlate1d(x, folded, mode=mode, cval=1.5, origin=o)
                np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def _brute_force_1d(x, w, mode, cval, origin):
    """Output i = sum of w[j] * padded[i + j] over weights scipy does not skip."""
    before, after = kernel_reach(w.size, origin)
    index = extend_indices(x.size, before, after, mode)
    out = np.zeros(x.size)
    for i in range(x.size):
        for j in np.flatnonzero(np.abs(w) > np.finfo(np.float64).eps):
            out[i] += w[j] * (x[index[i + j]] if index[i + j] >= 0 else cval)
    return out


@pytest.mark.parametrize("mode", MODES)
def test_signs_kept_apart_spread_nan_and_infinity_as_the_full_kernel(mode):
    rng = np.random.default_rng(8)
    for n in (1, 2, 3, 5):
        for k in (7, 12, 25):
            for origin in (-(k // 2), 0, (k - 1) // 2):
                x = rng.standard_normal(n)
                x[rng.integers(n)] = rng.choice([np.nan, np.inf, -np.inf])
                w = rng.integers(-3, 4, k).astype(np.float64)  # sums that cancel, too
                folded, (o,) = fold_long_kernel(w, [n], [mode], [origin], finite_data=False)
                assert folded.size <= 2 * folded_length(n, mode) + 1
                for cval in (1.5, np.inf):
                    with np.errstate(invalid="ignore"):
                        expected = _brute_force_1d(x, w, mode, cval, origin)
                        got = _brute_force_1d(x, folded, mode, cval, o)
                    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


def test_short_and_infinite_kernels_are_not_folded():
    w = np.ones(5)
    assert fold_long_kernel(w, [10], ["reflect"], [0])[0] is w
    inf = np.array([1.0, np.inf, -np.inf, 1.0, 2.0, 3.0, 4.0])
    assert fold_long_kernel(inf, [1], ["wrap"], [0])[0] is inf


@pytest.mark.parametrize("mode", MODES)
def test_long_2d_kernel_matches_scipy(mode):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 50))
    w = rng.standard_normal((5000, 3))
    for origins in [(0, 0), (1200, -1), (-2500, 1)]:
        ours = sepconv.correlate(x, w, mode=mode, cval=0.5, origin=origins)
        expected = _reference_2d(x, w, mode, 0.5, origins)
        scale = np.abs(w).sum() * np.abs(x).max()
        np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12 * scale)


def test_long_kernels_through_convolve_sepfilter_and_plan():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((30, 40)).astype(np.float32)
    v = rng.standard_normal(3001)
    for mode in MODES:
        expected = ndi.convolve1d(x.astype(np.float64), v, axis=1, mode=mode, origin=-3)
        ours = sepconv.convolve(x, v[None, :], mode=mode, origin=(0, -3))
        np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * np.abs(v).sum())
        chain = ndi.correlate1d(x.astype(np.float64), v, axis=0, mode=mode)
        chain = ndi.correlate1d(chain, [1.0, 2.0], axis=1, mode=mode)
        ours = sepconv.sepfilter(x, [v, [1.0, 2.0]], mode=mode)
        np.testing.assert_allclose(ours, chain, rtol=1e-4, atol=1e-4 * 3 * np.abs(v).sum())
    # A plan folds what is exact for any data: mixed signs on separate taps.
    positive = np.abs(v)[None, :]
    p = sepconv.plan((30, 40), positive, dtype=np.float32, mode="wrap", origin=(0, 7))
    assert p.kernel_shape == (1, 40)  # folded to the line's period before planning
    expected = sepconv.correlate(x, positive, mode="wrap", origin=(0, 7))
    np.testing.assert_allclose(p(x), expected, rtol=1e-5, atol=1e-5 * positive.sum())
    mixed = sepconv.plan((30, 40), v[None, :], dtype=np.float32, mode="wrap")
    assert mixed.kernel_shape == (1, 80)
    dirty = x.copy()
    dirty[3, 4] = np.inf
    with np.errstate(invalid="ignore"):
        expected = ndi.correlate1d(dirty.astype(np.float64), v, axis=1, mode="wrap")
    np.testing.assert_array_equal(np.isnan(mixed(dirty)), np.isnan(expected))


def test_folding_does_not_modify_or_copy_the_kernel_whole(monkeypatch):
    monkeypatch.setattr("sepconv._reduce._CHUNK", 4096)
    w = np.arange(200_000, dtype=np.float64)
    before = w.copy()
    tracemalloc.start()
    folded, _ = fold_long_kernel(w, [10], ["reflect"], [0])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert folded.shape == (20,)
    np.testing.assert_array_equal(w, before)
    assert peak < w.nbytes / 4  # chunked: never a kernel-sized temporary


# --------------------------------------------------------------------------- budget


def test_every_plan_estimates_memory_and_explain_shows_it():
    p = sepconv.plan((512, 512), sepconv.kernels.disk(7))
    assert set(p.memory) == set(p.costs)
    assert all(isinstance(v, int) and v > 0 for v in p.memory.values())
    assert p.memory["fft"] > 512 * 512 * 8  # the padded array alone
    text = p.explain()
    assert "memory" in text and "memory budget" in text


def test_fft_estimate_bounds_what_fft_allocates():
    rng = np.random.default_rng(5)
    for shape, dtype in [((256, 300), np.float64), ((200, 256), np.float32)]:
        x = rng.standard_normal(shape).astype(dtype)
        w = rng.standard_normal((21, 21))
        out = np.empty(shape, dtype)
        sepconv.correlate(x, w, output=out, method="fft")  # first-call imports
        tracemalloc.start()
        sepconv.correlate(x, w, output=out, method="fft")
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        estimate = sepconv.plan(shape, w, dtype=dtype).memory["fft"]
        assert peak <= estimate <= 3 * peak


def test_auto_keeps_within_the_budget_and_explicit_methods_refuse(budget):
    shape, w = (1024, 1024), sepconv.kernels.disk(25)
    free = sepconv.plan(shape, w)
    assert free.method == "fft"  # the cheapest without a budget
    x = np.ones(shape)
    for _ in range(2):  # the second call replays a kept program
        sepconv.correlate(x, w, method="fft")
    budget(0.0, (free.memory["direct"] + free.memory["fft"]) // 2)
    tight = sepconv.plan(shape, w)
    assert tight.method == "direct"
    assert "fft would exceed the memory budget" in tight.reason
    with pytest.raises(MemoryBudgetError, match=r"method='fft' needs about .* MB"):
        sepconv.plan(shape, w, method="fft")
    out = np.full_like(x, 7.0)
    with pytest.raises(MemoryError, match="set_memory_budget"):
        sepconv.correlate(x, w, output=out, method="fft")
    assert np.all(out == 7.0)  # refused before anything was written
    with pytest.raises(MemoryBudgetError):
        sepconv.correlate(x, w, method="fft")  # no replay of the program kept before


def test_when_nothing_fits_auto_still_filters(budget):
    budget(0.0, 0)
    x = np.random.default_rng(1).standard_normal((40, 40))
    k = sepconv.kernels.disk(3)
    np.testing.assert_allclose(sepconv.correlate(x, k), ndi.correlate(x, k), atol=1e-12)


def test_budget_arguments_are_checked(budget):
    with pytest.raises(ValueError, match="multiple must be >= 0"):
        budget(-1.0)
    with pytest.raises(ValueError, match="extra must be an integer"):
        budget(1.0, 2.5)
    budget(float("inf"))
    assert sepconv.plan((8, 8), [[1.0]]).memory_budget == float("inf")


# --------------------------------------------------------------------------- peak memory


def _peak(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints a JSON line of measurements."""
    script = textwrap.dedent(
        """
        import json, resource, numpy as np, sepconv
        def rss():  # peak resident memory so far, bytes (Linux reports KiB)
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        """
    ) + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "NUMBA_NUM_THREADS": "2"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ")
def test_8192_squared_float32_peaks_at_input_output_and_a_constant():
    got = _peak(
        """
        k = sepconv.kernels.gaussian(2.0, ndim=2)
        sepconv.correlate(np.ones((64, 64), np.float32), k)   # compile / load first
        x = np.ones((8192, 8192), np.float32)                 # input resident
        base = rss()
        y = sepconv.correlate(x, k)
        ok = bool(abs(y[4000, 4000] - 1.0) < 1e-5)
        print(json.dumps({"extra": rss() - base, "out": y.nbytes, "ok": ok}))
        """
    )
    assert got["ok"]
    assert got["extra"] <= got["out"] + 64 * 2**20, got


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ")
def test_a_kernel_far_longer_than_the_image_costs_no_memory_of_its_size():
    # The case is np.ones((1, 10**8)) (20 GB before folding); 10**7 taps
    # (an 80 MB kernel) show the same effect in CI time.
    got = _peak(
        """
        x = np.zeros((100, 100), np.float32)
        sepconv.correlate(x, np.ones((1, 300)))               # compile / load first
        k = np.ones((1, 10**7))
        base = rss()
        y = sepconv.correlate(x, k)
        print(json.dumps({"extra": rss() - base, "kernel": k.nbytes, "max": float(abs(y).max())}))
        """
    )
    assert got["max"] == 0.0
    assert got["extra"] <= 32 * 2**20, got  # a few chunks, not the kernel's 80 MB


@pytest.mark.parametrize("kernel", ["mixed", "positive"])
def test_long_kernels_spread_nan_and_infinity_as_scipy(kernel):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 7))
    x[2, 3], x[4, 1] = np.nan, np.inf
    v = rng.standard_normal(61) if kernel == "mixed" else rng.random(61) + 0.1
    for mode in MODES:
        ours = sepconv.correlate(x, v[None, :], mode=mode, cval=0.5)
        with np.errstate(invalid="ignore"):
            expected = ndi.correlate1d(x, v, axis=1, mode=mode, cval=0.5)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(expected))
        ok = np.isfinite(expected)
        np.testing.assert_allclose(ours[ok], expected[ok], rtol=1e-10, atol=1e-10)
    # Same-sign taps fold to one period even for such data; mixed signs keep
    # their positive and negative sums apart (two periods), never the full kernel.
    folded, _ = fold_long_kernel(v, [7], ["wrap"], [0], finite_data=False)
    assert folded.size == (7 if kernel == "positive" else 14)
    assert fold_long_kernel(v, [7], ["wrap"], [0], finite_data=True)[0].size == 7


def test_a_fold_that_depended_on_the_data_is_not_replayed_for_other_data():
    rng = np.random.default_rng(11)
    v = rng.standard_normal(61)  # mixed signs: folded only for finite data
    clean = rng.standard_normal((6, 7))
    dirty = clean.copy()
    dirty[2, 3] = np.inf
    with np.errstate(invalid="ignore"):
        expected = ndi.correlate1d(dirty, v, axis=1, mode="wrap")
    for _ in range(2):  # would keep a program for this signature if it could
        sepconv.correlate(clean, v[None, :], mode="wrap")
        sepconv.sepfilter(clean, [[1.0], v], mode="wrap")
    for ours in (
        sepconv.correlate(dirty, v[None, :], mode="wrap"),
        sepconv.sepfilter(dirty, [[1.0], v], mode="wrap"),
    ):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected))
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(expected))
