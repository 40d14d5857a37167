"""The one-sweep pair of passes (the engine's exact sweep, ``sepconv._engine._sweep``) gives
scipy's bits.

The fused kernels cut images into strips of rows and column blocks; these
shapes put edges, strip boundaries and block boundaries everywhere, for both
pass orders, every boundary mode, the output dtypes that take the fused path
and those that do not.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as S
from hypothesis import given, settings
from hypothesis import strategies as st

from sepconv import _engine
from sepconv import ndimage as N
from sepconv._engine import _passes

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _image(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(100, 80, shape)
    if np.dtype(dtype).kind == "f":
        x[rng.random(shape) < 0.01] = np.nan  # NaN positions must match too
    return x.astype(dtype) if np.dtype(dtype).kind == "f" else np.abs(x).astype(dtype)


@pytest.mark.parametrize("shape", [(1, 1), (2, 300), (300, 2), (129, 257), (3, 70, 131)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_gaussian_and_sobel_across_strips_and_blocks(shape, dtype):
    x = _image(shape, dtype, sum(shape))
    for mode in MODES:
        for out in (None, np.float32, np.uint8, np.int8):
            a = N.gaussian_filter(x, 1.7, mode=mode, cval=7.25, output=out)
            assert _same(a, S.gaussian_filter(x, 1.7, mode=mode, cval=7.25, output=out))
            for axis in (0, -1):
                a = N.sobel(x, axis, mode=mode, cval=7.25, output=out)
                assert _same(a, S.sobel(x, axis, mode=mode, cval=7.25, output=out))


@given(
    n0=st.integers(1, 90),
    n1=st.integers(1, 300),
    s0=st.floats(0.3, 6.0),
    s1=st.floats(0.3, 6.0),
    order=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    modes=st.tuples(st.sampled_from(MODES), st.sampled_from(MODES)),
    axes=st.sampled_from([(0, 1), (1, 0)]),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=60, deadline=None)
def test_pairs_of_any_kernels_orders_and_modes(n0, n1, s0, s1, order, modes, axes, dtype, seed):
    x = _image((n0, n1), dtype, seed)
    kw = dict(order=order, mode=modes, cval=-3.0, axes=axes)
    assert _same(N.gaussian_filter(x, (s0, s1), **kw), S.gaussian_filter(x, (s0, s1), **kw))


@pytest.mark.parametrize("first_axis", [0, 1])
def test_nonsymmetric_kernels_and_origins_run_fused(first_axis):
    # Kernels without symmetry take the unfolded tap order; origins shift the
    # index maps of either pass.
    x = _image((77, 140), np.float32, 3)
    w0 = np.array([0.3, -1.1, 0.25, 2.0])
    w1 = np.array([0.5, 1.5, -0.7])
    for mode in MODES:
        passes = [(0, w0, mode, 1), (1, w1, mode, -1)]
        if first_axis == 1:
            passes.reverse()
        ours = np.empty_like(x)
        _engine.run_passes(x, ours, [_engine.Pass(*p) for p in passes], 2.0, policy="exact")
        ref = x
        for axis, w, m, o in passes:
            ref = S.correlate1d(ref, w, axis, np.empty_like(x), m, 2.0, o)
        assert _same(ours, ref)


def test_in_place_and_overlapping_outputs():
    x = _image((65, 300), np.float32, 5)
    expected = S.gaussian_filter(x, 2.0)
    y = x.copy()
    assert N.gaussian_filter(y, 2.0, output=y) is y
    assert _same(y, expected)
    y = x.copy()
    N.sobel(y, 0, output=y)
    assert _same(y, S.sobel(x, 0))


def test_non_contiguous_output_and_input():
    x = _image((200, 180), np.float64, 6)
    out = np.empty((180, 200)).T
    N.prewitt(x[:, ::-1], 1, output=out)
    assert _same(np.ascontiguousarray(out), S.prewitt(x[:, ::-1], 1))


def test_strips_keep_the_ring_small_and_bounded():
    # A task's ring of rows stays within RING_BYTES (wide rows are cut into strips),
    # and one strip is the whole row where the row is short.
    for W, kv in ((10**6, 17), (1024, 3), (1, 1), (5000, 63)):
        plane = _passes._Plane(1, 64, W, 1)
        band, strip, nbands, nstrips = _passes._sizes(plane, kv, 1, 1, 0, 8, 10**9)
        assert strip * kv * 8 <= max(_passes.RING_BYTES * 5 // 4, _passes.MIN_STRIP * kv * 8)
        assert nstrips * strip >= W and (nstrips - 1) * strip < W
    assert _passes._sizes(_passes._Plane(1, 64, 100, 1), 3, 3, 1, 0, 8, 10)[1] == 100


@pytest.mark.parametrize("shape", [(1, 1), (2, 300), (300, 2), (129, 257)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.uint64, np.float32, np.float64])
def test_laplace_sums_both_terms_in_the_output_dtype(shape, dtype):
    # Integer terms wrap when added (int8 and uint8 outputs of a uint8 image),
    # float terms round once more: as scipy's ``output += tmp``.
    x = _image(shape, dtype, 11)
    for mode in [*MODES, ["wrap", "constant"]]:
        for out in (None, np.uint8, np.int8, np.float32):
            for axes in (None, (1, 0)):
                a = N.laplace(x, mode=mode, cval=-5.5, output=out, axes=axes)
                assert _same(a, S.laplace(x, mode=mode, cval=-5.5, output=out, axes=axes))


def test_laplace_of_volumes_and_bool_take_the_term_by_term_path():
    for x in (_image((4, 30, 40), np.float32, 12), _image((30, 40), np.uint8, 13) > 100):
        assert _same(N.laplace(x), S.laplace(x))
    # (only 2-D images sum both terms in one sweep: run_terms is not asked for these)
    called = []
    real = _engine.run_terms
    try:
        _engine.run_terms = lambda *a, **k: called.append(a) or real(*a, **k)
        N.laplace(_image((4, 30, 40), np.float32, 12))
    finally:
        _engine.run_terms = real
    assert not called


_SECOND = np.array([1.0, -2.0, 1.0])


@pytest.mark.parametrize("shape", [(1, 1), (3, 300), (200, 3), (150, 131)])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint64, np.float32, np.float64])
def test_correlate_2d_strips(shape, dtype):
    # Kernels larger than the image, even sizes, skipped zero and NaN taps,
    # origins: the strip buffer must reproduce scipy's extended image.
    rng = np.random.default_rng(sum(shape))
    x = _image(shape, dtype, 21)
    kernels = [rng.normal(size=(3, 3)), rng.normal(size=(4, 9)), np.zeros((2, 2)), np.ones((7, 1))]
    kernels[1][1, ::2] = 0
    kernels[0][0, 1] = np.nan
    for w in kernels:
        for mode in MODES:
            for func in ("correlate", "convolve"):
                for origin in (0, ((w.shape[0] - 1) // 2, -(w.shape[1] // 2))):
                    kw = dict(mode=mode, cval=1.5, origin=origin)
                    a = getattr(N, func)(x, w, **kw)
                    assert _same(a, getattr(S, func)(x, w, **kw)), (func, w.shape, mode, origin)


@pytest.mark.parametrize("func", ["gaussian_laplace", "gaussian_gradient_magnitude"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_gaussian_laplace_and_gradient_magnitude_in_one_sweep(func, dtype):
    # Float outputs take the fused path; per-term mode lists (scipy filters term
    # ii with modes[ii] on every axis), zero sigmas and integer outputs do not.
    x = _image((70, 131), dtype, 31)
    cases = [
        (1.5, "reflect", None, {}),
        ((0.8, 2.5), "wrap", np.float32, {"truncate": 2.5}),
        (2.0, "constant", np.float64, {"radius": (3, 1)}),
        (1.0, ["mirror", "nearest"], np.float32, {}),
        ((0.0, 1.2), "reflect", np.float64, {}),
        (1.0, "reflect", np.int16, {}),
    ]
    for sigma, mode, out, kw in cases:
        a = getattr(N, func)(x, sigma, output=out, mode=mode, cval=2.5, **kw)
        b = getattr(S, func)(x, sigma, output=out, mode=mode, cval=2.5, **kw)
        assert _same(a, b), (sigma, mode, out, kw)


@pytest.mark.parametrize("shape", [(1, 1, 1), (5, 70, 9), (9, 3, 131)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_correlate_volumes_strip_by_strip(shape, dtype):
    rng = np.random.default_rng(len(shape) + shape[1])
    x = _image(shape, dtype, 41)
    for kshape in ((3, 3, 3), (2, 5, 1), (4, 1, 2)):
        w = rng.normal(size=kshape)
        w[rng.random(kshape) < 0.3] = 0
        for mode in MODES:
            for func in ("correlate", "convolve"):
                a = getattr(N, func)(x, w, mode=mode, cval=-2.0)
                assert _same(a, getattr(S, func)(x, w, mode=mode, cval=-2.0)), (kshape, mode)
    w4 = rng.normal(size=(2, 2, 2, 2))  # four dimensions: the whole-array path
    x4 = _image((3, 4, 5, 6), dtype, 42)
    assert _same(N.correlate(x4, w4), S.correlate(x4, w4))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_column_passes_across_wide_blocks(dtype):
    # Short kernels take wide column blocks (the engine's strips):
    # rows wider than several blocks, with a ragged last one.
    x = _image((6, 2500), dtype, 51)
    v = _image((3, 4, 2100), dtype, 52)
    for w in ([1.0, 2.0, 1.0], [0.5, -1.0], np.linspace(-1, 1, 9)):
        for mode in MODES:
            assert _same(N.correlate1d(x, w, 0, mode=mode), S.correlate1d(x, w, 0, mode=mode))
            assert _same(N.correlate1d(v, w, 1, mode=mode), S.correlate1d(v, w, 1, mode=mode))
    for size in (2, 3, 7):
        for mode in MODES:
            kw = dict(mode=mode, cval=4.0)
            assert _same(N.uniform_filter1d(x, size, 0, **kw), S.uniform_filter1d(x, size, 0, **kw))
            assert _same(N.uniform_filter1d(v, size, 1, **kw), S.uniform_filter1d(v, size, 1, **kw))
