"""Boundary modes, origins and axes against scipy.ndimage's own rules."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import _ni_support

from sepconv._boundary import (
    MODES,
    check_axes,
    check_origin,
    extend_indices,
    kernel_reach,
    normalize_mode,
    normalize_modes,
    normalize_sequence,
    per_axis_origins,
)


def scipy_padded_sources(n: int, before: int, after: int, mode: str) -> list[int]:
    """Which source sample scipy puts at each padded position (-1: cval).

    Correlating with one-hot kernels reads single padded samples: output ``i``
    with the hot tap at ``j`` is padded sample ``i + j``.
    """
    size = before + after + 1
    origin = before - size // 2
    line = np.arange(n, dtype=np.float64) * 10.0 + 1.0
    found: dict[int, int] = {}
    for j in range(size):
        weights = np.zeros(size)
        weights[j] = 1.0
        out = ndi.correlate1d(line, weights, mode=mode, cval=-7.0, origin=origin)
        for i, value in enumerate(out):
            found[i + j] = -1 if value == -7.0 else int(round((value - 1.0) / 10.0))
    return [found[p] for p in range(n + before + after)]


def test_modes_are_scipys_eight():
    assert set(MODES) == {
        "reflect",
        "mirror",
        "nearest",
        "wrap",
        "constant",
        "grid-mirror",
        "grid-constant",
        "grid-wrap",
    }


@pytest.mark.parametrize("mode", MODES)
def test_normalize_mode_maps_synonyms_as_scipy_filters_do(mode):
    name = normalize_mode(mode)
    assert name in ("reflect", "mirror", "nearest", "wrap", "constant")
    code = _ni_support._extend_mode_to_code
    assert code(name, is_filter=True) == code(mode, is_filter=True)


def test_normalize_mode_errors_name_the_argument_and_list_modes():
    with pytest.raises(ValueError, match=r"mode must be one of 'reflect'.*got 'reflct'"):
        normalize_mode("reflct")
    with pytest.raises(TypeError, match="border must be a string"):
        normalize_mode(3, name="border")


def test_normalize_modes_accepts_one_per_axis():
    assert normalize_modes(["grid-wrap", "mirror"], 2) == ("wrap", "mirror")
    with pytest.raises(ValueError, match="one entry per filtered axis"):
        normalize_modes(["wrap"], 2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_extend_indices_match_scipy_including_pads_longer_than_the_line(mode, n):
    for before, after in [(0, 0), (1, 2), (n + 2, 2 * n + 1), (3 * n, 0)]:
        ours = extend_indices(n, before, after, mode).tolist()
        assert ours == scipy_padded_sources(n, before, after, mode), (before, after)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 7),
    before=st.integers(0, 12),
    after=st.integers(0, 12),
    mode=st.sampled_from(MODES),
)
def test_extend_indices_match_scipy_randomly(n, before, after, mode):
    assert extend_indices(n, before, after, mode).tolist() == scipy_padded_sources(
        n, before, after, mode
    )


def test_extend_indices_shape_dtype_and_interior():
    index = extend_indices(6, 2, 3, "constant")
    assert index.dtype == np.int64 and index.shape == (11,)
    assert index[2:8].tolist() == list(range(6))
    with pytest.raises(ValueError, match="n must be >= 1"):
        extend_indices(0, 1, 1, "reflect")
    with pytest.raises(ValueError, match="before and after"):
        extend_indices(3, -1, 1, "reflect")


def test_kernel_reach_follows_scipy_centre():
    # scipy: size1 = k // 2 (+ origin) samples before, k - size1 - 1 after
    assert kernel_reach(4, 0) == (2, 1)
    assert kernel_reach(4, 1) == (3, 0)
    assert kernel_reach(4, -2) == (0, 3)


def test_check_axes_like_scipy_with_clear_errors():
    assert check_axes(None, 3) == (0, 1, 2)
    assert check_axes(-1, 3) == (2,)
    assert check_axes(np.int64(1), 2) == (1,)
    assert check_axes([2, -3], 3) == (2, 0)
    with pytest.raises(ValueError, match="must not repeat"):
        check_axes((0, -2), 2)
    with pytest.raises(ValueError, match="axes entry 5 is out of range"):
        check_axes((5,), 3)
    with pytest.raises(TypeError, match="axes must be an integer"):
        check_axes(1.5, 3)
    with pytest.raises(TypeError, match="axes entries must be integers"):
        check_axes([0.0], 3)


def test_origins_validated_per_axis_with_scipys_bounds():
    assert per_axis_origins([1, -2], (3, 4)) == [1, -2]
    assert check_origin(1, 4) == 1
    for bad, size in [(2, 3), (-2, 3), (2, 4), (-3, 4)]:
        with pytest.raises(ValueError, match="origin must satisfy"):
            check_origin(bad, size)
        with pytest.raises(ValueError, match="Invalid origin"):
            ndi.correlate1d(np.zeros(5), np.ones(size), origin=bad)
    with pytest.raises(TypeError, match="origin must be an integer"):
        check_origin(0.5, 3)
    with pytest.raises(ValueError, match="one entry per filtered axis"):
        normalize_sequence([0, 0, 0], 2, "origin")
