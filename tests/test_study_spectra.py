"""sepconv.study._spectra: the separability numbers of a layer's k x k kernels."""

from __future__ import annotations

import numpy as np
import pytest

import sepconv
from sepconv.study._spectra import (
    CDF_GRID,
    ConvWeight,
    analyse_layers,
    random_like,
    slice_singular_values,
    slice_statistics,
    tail_errors,
)


def _layer(rng, out, inp, k, rank, second=None):
    """A layer whose every slice is a sum of ``rank`` outer products (orthogonal factors)."""
    w = np.zeros((out, inp, k, k))
    for o in range(out):
        for c in range(inp):
            u, _ = np.linalg.qr(rng.standard_normal((k, k)))
            v, _ = np.linalg.qr(rng.standard_normal((k, k)))
            s = np.array([3.0, 3.0 * (second if second is not None else 1.0), 1.0][:rank])
            w[o, c] = (u[:, :rank] * s) @ v[:, :rank].T
    return w


def test_a_rank_one_layer_has_one_singular_value_per_slice():
    rng = np.random.default_rng(0)
    w = _layer(rng, 4, 3, 3, rank=1)
    s = slice_singular_values(w)
    assert s.shape == (12, 3)
    np.testing.assert_allclose(s[:, 0], 3.0)
    np.testing.assert_allclose(s[:, 1:], 0.0, atol=1e-12)
    stats = slice_statistics(s)
    assert stats["rank1_share_1"] == stats["rank1_share_5"] == stats["rank1_share_10"] == 1.0
    assert stats["mean_rank_1"] == 1.0 and stats["singular_values_mean"]["3"][0] == pytest.approx(1)


@pytest.mark.parametrize(
    ("second", "shares"),
    [
        # rank-1 error = s2 / sqrt(s1^2 + s2^2): 0.03 -> 3 %, 0.07 -> 7 %, 0.2 -> 19.6 %
        (0.03, (0.0, 1.0, 1.0)),
        (0.07, (0.0, 0.0, 1.0)),
        (0.2, (0.0, 0.0, 0.0)),
    ],
)
def test_a_rank_two_layer_counts_by_its_second_singular_value(second, shares):
    rng = np.random.default_rng(1)
    w = _layer(rng, 3, 2, 3, rank=2, second=second)
    s = slice_singular_values(w)
    np.testing.assert_allclose(s, np.tile([3.0, 3.0 * second, 0.0], (6, 1)), atol=1e-12)
    stats = slice_statistics(s)
    assert (stats["rank1_share_1"], stats["rank1_share_5"], stats["rank1_share_10"]) == shares
    assert stats["mean_rank_1"] == 2.0  # above 1 % error at rank 1, exact at rank 2
    expected = second / np.sqrt(1 + second**2)
    assert stats["median_rank1_error"] == pytest.approx(expected)


def test_errors_and_ranks_agree_with_sepconv_lowrank_slice_by_slice():
    rng = np.random.default_rng(2)
    for k in (3, 5):
        # Mostly smooth kernels (some near rank 1) and a few random ones.
        base = rng.standard_normal((6, 4, k, 1)) * rng.standard_normal((6, 4, 1, k))
        w = base + rng.choice([0.0, 0.02, 0.3], size=(6, 4, 1, 1)) * rng.standard_normal(
            (6, 4, k, k)
        )
        errors = tail_errors(slice_singular_values(w))
        for index, kernel in enumerate(w.reshape(-1, k, k)):
            for r in range(1, k + 1):
                assert errors[index, r] == pytest.approx(
                    sepconv.lowrank(kernel, rank=r).error, abs=1e-9
                )
            assert np.argmax(errors[index] <= 0.01) == sepconv.lowrank(kernel, rtol=0.01).rank


def test_zero_slices_are_counted_apart_and_kernel_sizes_pool():
    w = np.zeros((2, 2, 3, 3))
    w[0, 0] = np.outer([1, 2, 1], [1, 0, -1])
    w[1, 1] = np.eye(3)
    stats = slice_statistics(slice_singular_values(w))
    assert stats["slices"] == 2 and stats["zero_slices"] == 2
    assert stats["rank1_share_10"] == 0.5 and stats["mean_rank_1"] == 2.0  # (1 + 3) / 2
    five = slice_singular_values(np.ones((1, 1, 5, 5)))
    pooled = slice_statistics([slice_singular_values(w), five])
    assert pooled["slices"] == 3 and set(pooled["singular_values_mean"]) == {"3", "5"}
    assert len(pooled["rank1_error_cdf"]) == len(CDF_GRID) and pooled["rank1_error_cdf"][-1] == 1
    empty = slice_statistics(np.zeros((4, 3)))
    assert empty["slices"] == 0 and empty["rank1_share_1"] is None
    with pytest.raises(ValueError, match="4-D"):
        slice_singular_values(np.zeros((3, 3)))


def test_random_control_is_pytorchs_default_init_and_repeats():
    w = np.zeros((8, 4, 3, 3))
    a, b = random_like(w, [0, 1]), random_like(w, [0, 1])
    assert np.array_equal(a, b) and not np.array_equal(a, random_like(w, [0, 2]))
    bound = 1 / np.sqrt(4 * 9)
    assert a.shape == w.shape and np.abs(a).max() <= bound and np.abs(a).max() > 0.9 * bound


def test_analyse_layers_separates_kinds_skips_small_kernels_and_adds_the_control():
    rng = np.random.default_rng(3)
    layers = [
        ConvWeight("stem", _layer(rng, 4, 3, 3, rank=1), 1, 0),
        ConvWeight("dw", _layer(rng, 6, 1, 3, rank=1), 6, 1),
        ConvWeight("pw", rng.standard_normal((5, 6, 1, 1)), 1, 2),
        ConvWeight("up", rng.standard_normal((5, 5, 2, 2)), 1, 3, "ConvTranspose"),
    ]
    result = analyse_layers("toy", layers)
    assert result["convolutions"] == 4
    assert [r["name"] for r in result["layers"]] == ["stem", "dw"]
    assert [r["kind"] for r in result["layers"]] == ["dense", "depthwise"]
    assert result["layers"][1]["depth_fraction"] == pytest.approx(1 / 3)
    for kind in ("dense", "depthwise"):
        summary = result["summary"][kind]
        assert summary["layers"] == 1 and summary["trained"]["rank1_share_1"] == 1.0
        # Independent uniform entries are almost never rank 1 within 10 %.
        assert summary["random"]["rank1_share_10"] < 0.2
    assert result["layers"][0]["random"]["slices"] == 12
    again = analyse_layers("toy", layers)
    assert again == result  # deterministic, random control included
