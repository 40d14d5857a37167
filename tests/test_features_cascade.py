"""feature_stack's scale cascade (``rtol=``): a scale from a smaller one's smoothing channel.

The reference is always the direct stack (``rtol=None``, every scale from the
image: scipy's composition, checked in ``test_features.py``); the bound is
checked against scipy's own sampled kernels and against the measured change.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage._filters import _gaussian_kernel1d

from sepconv import _features_plan
from sepconv import features as F

SEVEN = (
    "smoothing",
    "gradient_magnitude",
    "laplacian",
    "hessian_eigenvalues",
    "structure_tensor_eigenvalues",
)


@pytest.fixture
def every_cascade(monkeypatch):
    """Take every cascade the bound allows, however few taps it saves."""
    monkeypatch.setattr(_features_plan, "MAX_TAPS_RATIO", 1.0)


def _changes(got, ref, x, sigmas, features):
    """Per channel: ``(scale, |got - ref| / max|x|^degree)``."""
    top = np.abs(x).max()
    out = []
    for k, (f, s, _) in enumerate(F.feature_names(sigmas, features, x.ndim)):
        degree = 2 if f == "structure_tensor_eigenvalues" else 1
        out.append((s, float(np.abs(got[k] - ref[k]).max()) / top**degree))
    return out


def test_rtol_none_is_bit_identical_to_the_scales_one_by_one():
    x = np.random.default_rng(0).random((37, 29)).astype(np.float32)
    sigmas = [4.0, 1.0, 2.83, 2.0]  # unsorted: scales are computed in ascending order
    one_by_one = np.concatenate([F.feature_stack(x, [s]) for s in sigmas])
    assert np.array_equal(F.feature_stack(x, sigmas), one_by_one)
    assert np.array_equal(F.feature_stack(x, sigmas, rtol=None), one_by_one)
    # a given rtol that cascades nothing changes nothing either
    assert F.feature_plan(2, sigmas, mode="nearest", rtol=1.0).cascaded == []
    ref = np.concatenate([F.feature_stack(x, [s], mode="nearest") for s in sigmas])
    assert np.array_equal(F.feature_stack(x, sigmas, mode="nearest", rtol=1.0), ref)


def test_smoothing_bound_is_scipys_cascaded_kernel_against_its_direct_one():
    # independent of the planner: scipy's sampled kernels, np.convolve, the separable bound
    s1, s2, t = 2.0, 2.83, 4.0
    delta = math.sqrt(s2 * s2 - s1 * s1)

    def kernel(s):
        return _gaussian_kernel1d(s, 0, int(t * s + 0.5))[::-1]

    kc, kd = np.convolve(kernel(s1), kernel(delta)), kernel(s2)
    n = max(kc.size, kd.size)
    kc, kd = np.pad(kc, (n - kc.size) // 2), np.pad(kd, (n - kd.size) // 2)
    one = np.abs(kc - kd).sum()
    for d in (2, 3):
        plan = F.feature_plan(d, [s1, s2], ["smoothing"], rtol=1e-3)
        expected = d * one * max(np.abs(kc).sum(), np.abs(kd).sum()) ** (d - 1)
        assert plan.scales[1].cascaded
        assert plan.scales[1].bound == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap"])
def test_change_is_within_the_stated_bound_within_rtol(mode, every_cascade):
    rng = np.random.default_rng(1)
    cases = (
        ((40, 53), [1.0, 1.6, 2.5, 4.0], None, 0.1),  # every feature, the difference of Gaussians
        ((7, 9), [1.0, 2.0, 4.0, 8.0], SEVEN, 1e-3),  # kernels far longer than the image
        ((11, 13, 10), [1.0, 2.0, 2.83], SEVEN, 1e-3),
    )
    for shape, sigmas, features, rtol in cases:
        x = rng.standard_normal(shape)
        plan = F.feature_plan(len(shape), sigmas, features, mode=mode, rtol=rtol)
        assert len(plan.cascaded) >= 2
        ref = F.feature_stack(x, sigmas, features, mode=mode)
        got = F.feature_stack(x, sigmas, features, mode=mode, rtol=rtol)
        worst = 0.0
        for s, change in _changes(got, ref, x, sigmas, features):
            scale = plan.scales[sigmas.index(s)]
            if not scale.cascaded:
                assert change == 0.0
                continue
            assert scale.bound <= rtol
            assert change <= scale.bound * (1 + 1e-9) + 1e-13
            worst = max(worst, change / scale.bound)
        assert worst > 0.01  # the bound is not vacuous: the change reaches a fair part of it


def test_float32_change_is_within_the_bound_plus_rounding():
    x = np.random.default_rng(2).random((64, 48), dtype=np.float32)
    sigmas = [1.0, 1.41, 2.0, 2.83, 4.0]
    plan = F.feature_plan(2, sigmas, SEVEN, rtol=1e-3)
    assert plan.cascaded == [2.83, 4.0]  # chosen by the measured rule, not forced
    got = F.feature_stack(x, sigmas, SEVEN, rtol=1e-3)
    ref = F.feature_stack(x, sigmas, SEVEN)
    assert got.dtype == np.float32
    for s, change in _changes(got, ref, x, sigmas, SEVEN):
        bound = plan.scales[sigmas.index(s)].bound or 0.0
        assert change <= bound + 1e-5  # float32 rounding of both paths on top


def test_nearest_and_constant_modes_would_break_the_bound(monkeypatch, every_cascade):
    x = np.random.default_rng(3).random((40, 40))
    for mode in ("nearest", "constant"):
        text = F.feature_plan(2, [2.0, 4.0], ["smoothing"], mode=mode, rtol=1.0).explain()
        assert f"mode '{mode}' does not commute with smoothing" in text
    # forced anyway, the edges change by far more than the bound: why they never cascade
    monkeypatch.setattr(_features_plan, "CASCADE_MODES", ("nearest", "constant"))
    for mode in ("nearest", "constant"):
        plan = F.feature_plan(2, [2.0, 4.0], ["smoothing"], mode=mode, rtol=1.0)
        got = F.feature_stack(x, [2.0, 4.0], ["smoothing"], mode=mode, rtol=1.0)
        ref = F.feature_stack(x, [2.0, 4.0], ["smoothing"], mode=mode)
        assert plan.cascaded == [4.0]
        assert np.abs(got[1] - ref[1]).max() > 10 * plan.bound


def test_plan_explains_each_scale():
    plan = F.feature_plan(2, [2.0, 4.0, 2.83], SEVEN, rtol=1e-3)
    text = plan.explain()
    assert plan.cascaded == [4.0, 2.83]
    assert "2 cascaded" in text
    assert "sigma 2: direct" in text
    assert "sigma 2.83: from sigma 2 with delta 2.002, bound" in text
    assert "sigma 4: from sigma 2.83 with delta 2.827" in text
    assert plan.bound == max(plan.scales[1].bound, plan.scales[2].bound) <= 1e-3
    doubling = F.feature_plan((64, 64), [1.0, 2.0, 4.0], SEVEN, rtol=1e-3).explain()
    assert "0 cascaded" in doubling and "not measured faster" in doubling
    assert "bound 0.00" in F.feature_plan(2, [1.0, 1.41], SEVEN, rtol=1e-4).explain()
    reasons = {
        "rtol=None": F.feature_plan(2, [2.0, 2.83]),
        "method='recursive'": F.feature_plan(2, [2.0, 2.83], method="recursive", rtol=1.0),
        "no 'smoothing' channel": F.feature_plan(2, [2.0, 2.83], ["laplacian"], rtol=1.0),
        "0.66 sigma": F.feature_plan(2, [2.0, 2.83], rtol=1.0),
    }
    for reason, p in reasons.items():
        assert p.cascaded == []
        assert reason in p.explain()


@pytest.mark.parametrize("rtol", [-1e-3, float("nan"), float("inf"), "1e-3x", [1e-3]])
def test_bad_rtol_is_named(rtol):
    x = np.zeros((8, 8))
    error = TypeError if isinstance(rtol, (str, list)) else ValueError
    with pytest.raises(error, match="rtol must be"):
        F.feature_stack(x, [1.0, 2.0], rtol=rtol)
    with pytest.raises(error, match="rtol must be"):
        F.feature_plan(2, [1.0, 2.0], rtol=rtol)


@pytest.mark.filterwarnings("ignore:sepconv.dask. chunks")
def test_dask_passes_rtol_and_overlaps_the_cascades_reach():
    da = pytest.importorskip("dask.array")
    x = np.random.default_rng(4).random((83, 71))
    sigmas = [1.0, 1.41, 2.0, 2.83]
    plan = F.feature_plan(2, sigmas, SEVEN, rtol=1e-2)
    assert len(plan.cascaded) >= 2
    ref = F.feature_stack(x, sigmas, SEVEN, rtol=1e-2)
    got = F.feature_stack(da.from_array(x, chunks=(29, 37)), sigmas, SEVEN, rtol=1e-2)
    np.testing.assert_allclose(got.compute(), ref, rtol=0, atol=1e-13 * np.abs(ref).max())
