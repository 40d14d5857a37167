"""Repeated calls replay their recorded launches (the one replay cache,
``sepconv._replay``) and still give scipy's bits; anything the key does not
capture takes the full path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as S

from sepconv import _replay
from sepconv import ndimage as N

_table = _replay.PROGRAMS


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.fixture(autouse=True)
def _empty_table():
    _table.clear()
    yield
    _table.clear()


def _image(dtype, shape=(24, 31), seed=0):
    return (np.random.default_rng(seed).random(shape) * 200).astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_second_call_is_a_hit_with_the_same_bits(dtype):
    x = _image(dtype)
    calls = [
        (N.correlate1d, S.correlate1d, (x, [1.0, -2, 0.5]), dict(axis=0, mode="wrap")),
        (N.correlate1d, S.correlate1d, (x, np.array([0.25, 0.5, 0.25])), dict(cval=2)),
        (N.uniform_filter1d, S.uniform_filter1d, (x, 4), dict(axis=1, origin=1)),
        (N.uniform_filter, S.uniform_filter, (x, 5), dict(mode="constant", cval=9.5)),
        (N.uniform_filter, S.uniform_filter, (x, 3), dict(output=np.float32)),
        (N.gaussian_filter, S.gaussian_filter, (x, 1.5), dict(order=1, truncate=3.0)),
        (N.gaussian_filter, S.gaussian_filter, (x, 2), dict(radius=3, mode="nearest")),
        (N.sobel, S.sobel, (x, 0), dict(output=np.float32)),
        (N.prewitt, S.prewitt, (x,), dict(mode="mirror")),
        (N.laplace, S.laplace, (x,), dict(cval=1.0, mode="constant")),
    ]
    for ours, theirs, args, kw in calls:
        first = ours(*args, **kw)
        size = len(_table)
        second = ours(*args, **kw)
        assert len(_table) == size  # no new entry: the second call hit
        expected = theirs(*args, **kw)
        assert _same(first, expected) and _same(second, expected)
        assert second is not first
    assert len(_table) == len(calls)


def test_weights_mutated_in_place_are_not_replayed_stale():
    x = _image(np.float64)
    w = np.array([0.2, 0.5, 0.3])
    N.correlate1d(x, w)
    w[0] = 7.0  # the recorded launch must not have kept the caller's array
    assert _same(N.correlate1d(x, w), S.correlate1d(x, w))
    w[0] = 0.2
    assert _same(N.correlate1d(x, w), S.correlate1d(x, w))


def test_output_arrays_dtypes_and_overlap():
    x = _image(np.uint8)
    for out in (np.int16, np.float32, "f8"):
        N.correlate1d(x, [1, 3], output=out)
        assert _same(N.correlate1d(x, [1, 3], output=out), S.correlate1d(x, [1, 3], output=out))
    given = np.empty(x.shape, np.int16)
    N.correlate1d(x, [1, 3], output=given)
    again = np.empty(x.shape, np.int16)
    assert N.correlate1d(x, [1, 3], output=again) is again
    assert _same(again, S.correlate1d(x, [1, 3], output=np.int16))
    # In place on a recorded key: the full path handles the overlap.
    y = _image(np.float32)
    N.uniform_filter1d(y.copy(), 3, axis=0, output=np.empty_like(y))
    expected = S.uniform_filter1d(y, 3, axis=0)
    assert N.uniform_filter1d(y, 3, axis=0, output=y) is y
    assert _same(y, expected)


def test_arguments_the_key_cannot_hold_take_the_full_path():
    x = _image(np.float32)
    # Complex weights: the complex call has no key (its real filterings do).
    assert _same(N.correlate1d(x, [1, 2j]), S.correlate1d(x, [1, 2j]))
    assert _replay.call_key("correlate1d", x, None, [1, 2j], -1, "reflect", 0.0, 0, None) is None
    _table.clear()
    # NumPy scalars as weights (they change scipy's arithmetic): no key.
    for _ in range(2):
        args = (x, [np.float32(0.1), 1.0])
        assert _same(N.correlate1d(*args), S.correlate1d(*args))
    assert not len(_table)
    # Other dtypes, strided and bool inputs have keys (the engine reads every dtype;
    # the copy into a contiguous layout is part of the program): replayed, same bits.
    for args in ((x.astype(np.int16), [1.0, 2.0]), (x[:, ::2], [1.0, 2.0]), (x > 50, [1.0, 2.0])):
        assert _same(N.correlate1d(*args), S.correlate1d(*args))
        assert _same(N.correlate1d(*args), S.correlate1d(*args))
    assert len(_table) == 3 and _table.hits == 3
    _table.clear()
    assert _same(
        N.correlate1d(x, [1.0, 2.0], cval=np.float64(3), mode="constant"),
        S.correlate1d(x, [1.0, 2.0], cval=np.float64(3), mode="constant"),
    )
    assert not len(_table)


def test_large_arrays_replay_on_threads_with_the_same_bits():
    # (The replay runs the recorded launches on the pool, as the first call did.)
    x = _image(np.float32, (1024, 1024))
    first = N.correlate1d(x, [1.0, 2.0, 1.0])
    second = N.correlate1d(x, [1.0, 2.0, 1.0])
    assert _table.hits == 1 and _same(first, second)
    assert _same(second, S.correlate1d(x, [1.0, 2.0, 1.0]))


def test_errors_are_raised_on_every_call():
    x = _image(np.float32)
    with pytest.raises(ValueError):
        N.uniform_filter1d(x, 3, origin=5)
    N.uniform_filter1d(x, 3)
    with pytest.raises(ValueError):
        N.uniform_filter1d(x, 3, origin=5)


def test_the_table_is_bounded():
    x = _image(np.float64)
    for i in range(_table.size + 10):
        N.correlate1d(x, [1.0, float(i)])
    assert len(_table) <= _table.size


def test_different_filters_and_parameters_do_not_share_entries():
    x = _image(np.float32)
    assert _same(N.sobel(x), S.sobel(x))
    assert _same(N.prewitt(x), S.prewitt(x))  # same key fields as sobel but the name
    for sigma, order in ((1.0, 0), (1.0, 1), (1.5, 0), (1.5, (0, 2))):
        for _ in range(2):
            assert _same(N.gaussian_filter(x, sigma, order), S.gaussian_filter(x, sigma, order))
    assert len(_table) == 6  # every call its own key (an order tuple is a plain key)
