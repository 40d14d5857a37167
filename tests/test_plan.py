"""sepconv.plan: which method is chosen, what it costs and why."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sepconv
from sepconv import NotSeparableError, kernels
from sepconv._plan import effective_weights


def test_separable_kernels_get_separable_plans_with_their_factors():
    p = sepconv.plan((512, 512), kernels.gaussian(2.0, ndim=2))
    assert p.method == "separable" and p.requested == "auto" and p.exact
    rebuilt = np.multiply.outer(*p.factors)
    np.testing.assert_allclose(rebuilt, kernels.gaussian(2.0, ndim=2), atol=1e-15)
    sobel = sepconv.plan((64, 64), kernels.sobel())
    assert sobel.method == "separable"
    assert [f.tolist() for f in sobel.factors] == [[1, 2, 1], [-1, 0, 1]]


def test_multiplications_count_folded_nonzero_taps():
    p = sepconv.plan((64, 64), kernels.sobel())
    # [1, 2, 1] folds to 2 multiplications, [-1, 0, 1] to 1; directly, the first and
    # last rows mirror each other and share one pass, plus the middle row: 1 + 1.
    assert p.multiplications["separable"] == 3
    assert p.multiplications["direct"] == 2
    g = sepconv.plan((64, 64), kernels.gaussian(2.0, ndim=2))
    assert g.multiplications["separable"] == 2 * 9  # 17 taps fold to 9
    assert g.multiplications["direct"] == 9 * 9  # 17 rows fold to 9, 17 taps to 9
    uneven = sepconv.plan((64, 64), np.arange(12.0).reshape(4, 3) - 5.5)
    assert uneven.multiplications["direct"] == 12  # no symmetry: every tap
    assert g.costs["separable"] < g.costs["direct"]


def test_non_separable_kernels_go_direct_or_fft_by_size():
    disk = kernels.disk(3)
    assert sepconv.plan((64, 64), disk).method == "direct"
    assert "separable" in sepconv.plan((64, 64), disk).rejected
    big = np.random.default_rng(0).standard_normal((31, 31))
    assert sepconv.plan((256, 256), big).method == "fft"


def test_lowrank_competes_only_with_rtol_and_reports_its_error():
    disk = kernels.disk(7)
    assert sepconv.plan((512, 512), disk).method != "lowrank"
    forced = sepconv.plan((512, 512), disk, method="lowrank", rtol=0.3)
    assert forced.method == "lowrank" and not forced.exact
    approx = sepconv.lowrank(disk, rtol=0.3)
    assert len(forced.terms) == approx.rank
    assert forced.error == pytest.approx(approx.error)
    assert forced.max_abs_error_bound == pytest.approx(approx.max_abs_error_bound)
    auto = sepconv.plan((512, 512), disk, rtol=0.3)
    assert "lowrank" in auto.costs


def test_forced_methods_and_their_errors():
    disk = kernels.disk(2)
    for method in ("direct", "fft", "lowrank"):
        assert sepconv.plan((32, 32), disk, method=method).method == method
    with pytest.raises(NotSeparableError, match="not separable"):
        sepconv.plan((32, 32), disk, method="separable")
    with pytest.raises(ValueError, match="low-rank plans need a 2-D kernel"):
        sepconv.plan((8, 8, 8), np.ones((3, 3, 3)), method="lowrank")
    with pytest.raises(ValueError, match="method must be one of"):
        sepconv.plan((8, 8), disk, method="fast")


def test_infinite_weights_allow_only_direct_and_nan_weights_are_skipped():
    w = np.ones((3, 3))
    w[0, 0] = np.inf
    p = sepconv.plan((16, 16), w)
    assert p.method == "direct"
    assert "infinite" in p.rejected["fft"]
    with pytest.raises(ValueError, match="method='fft' cannot be used"):
        sepconv.plan((16, 16), w, method="fft")
    assert effective_weights(np.array([np.nan, 1e-17, 2.0])).tolist() == [0.0, 0.0, 2.0]
    nan_kernel = sepconv.plan((16, 16), np.array([[np.nan, 0.0], [2.0, 4.0]]))
    assert "separable" in nan_kernel.costs  # rank 1 once the NaN weight is dropped


def test_explain_and_str_say_what_runs_and_why():
    p = sepconv.plan((128, 128), kernels.gaussian(1.5, ndim=2))
    text = p.explain()
    assert text.startswith("separable: 2 passes of 13 taps")
    assert "why: cheapest exact method" in text
    assert "direct" in text and "fft" in text
    assert str(p) == (
        "separable: 2 passes of 13 taps; the cheapest plan, about 28 memory loads per output "
        "(against direct 105, fft 347); 14 multiplications per output"
    )
    assert "direct: fewer multiplications" not in text  # direct has more of both here
    sobel = sepconv.plan((128, 128), kernels.sobel(axis=-1))
    assert "direct: fewer multiplications but more loads" in sobel.explain()
    lr = sepconv.plan((128, 128), kernels.disk(4), method="lowrank", rtol=0.1)
    assert "approximation: relative error" in lr.explain()


def test_plan_is_frozen_and_its_arrays_read_only():
    p = sepconv.plan((16, 16), kernels.sobel())
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.method = "direct"  # type: ignore[misc]
    with pytest.raises(ValueError):
        p.weights[0, 0] = 5.0
    with pytest.raises(ValueError):
        p.factors[0][0] = 5.0


def test_plan_validates_like_correlate():
    with pytest.raises(ValueError, match="weights must have one dimension per filtered axis"):
        sepconv.plan((8, 8, 8), np.ones((3, 3)))
    assert sepconv.plan((8, 8, 8), np.ones((3, 3)), axes=(2, 0)).axes == (0, 2)
    with pytest.raises(ValueError, match="mode must be one of"):
        sepconv.plan((8, 8), np.ones((3, 3)), mode="bad")
    with pytest.raises(ValueError, match="origin must satisfy"):
        sepconv.plan((8, 8), np.ones((3, 3)), origin=2)
    with pytest.raises(TypeError, match="weights must hold numbers"):
        sepconv.plan((8, 8), np.array([["a"]]))
    with pytest.raises(ValueError, match="rtol must be a finite number"):
        sepconv.plan((8, 8), np.ones((3, 3)), rtol=np.inf)


def test_plan_method_is_what_correlate_runs():
    x = np.random.default_rng(1).standard_normal((64, 64))
    big = np.random.default_rng(2).standard_normal((31, 31))
    assert sepconv.plan(x.shape, big).method == "fft"
    np.testing.assert_allclose(
        sepconv.correlate(x, big), sepconv.correlate(x, big, method="fft"), rtol=0, atol=0
    )
