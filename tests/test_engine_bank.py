"""The engine's banks (``run_bank``): shared horizontal passes, input transforms, outputs.

Each bank is checked against its filterings computed one by one with
scipy.ndimage in float64 (an independent reference), to the fast policy's
rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

from sepconv import _engine as E

MODES = ["reflect", "constant", "nearest", "mirror", "wrap", "grid-wrap"]
N, Z, V = E.TRANSFORM_NONE, E.TRANSFORM_ZERO_NAN, E.TRANSFORM_NOT_NAN


def _transform(x: np.ndarray, transform: int) -> np.ndarray:
    valid = ~np.isnan(x)
    if transform == Z:
        return np.where(valid, x, 0.0)
    if transform == V:
        return valid.astype(np.float64)
    return x.astype(np.float64)


def _cval(cval: float, transform: int) -> float:
    return float(_transform(np.array([cval]), transform)[0])


def _term(src, hpass, v, axes, mode, cval, origins):
    """One term by scipy: the transformed source, along h_axis then v_axis."""
    s, tr, h = hpass
    x = _transform(src[s], tr)
    c = _cval(cval, tr)
    if h is not None:
        x = ndi.correlate1d(x, h, axes[1], mode=mode, cval=c, origin=origins[1])
        c = c * float(np.sum(h))
    if v is not None:
        x = ndi.correlate1d(x, v, axes[0], mode=mode, cval=c, origin=origins[0])
    return x


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    mode=st.sampled_from(MODES),
    ndim=st.sampled_from([2, 3]),
    k=st.sampled_from([1, 2, 3, 5, 20]),
    dtype=st.sampled_from([np.float32, np.float64]),
    cval=st.sampled_from([0.0, 1.5, np.nan]),
)
def test_normalized_convolution_bank_equals_its_two_filterings(seed, mode, ndim, k, dtype, cval):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 12, ndim))
    x = rng.standard_normal(shape).astype(dtype)
    x[rng.random(shape) < 0.2] = np.nan
    x[rng.random(shape) < 0.05] = np.inf  # data: it propagates as in scipy
    v_axis = int(rng.integers(0, ndim - 1))
    axes = (v_axis, v_axis + 1)
    g = rng.random(k) + 0.1
    # a flat factor long enough runs as running sums
    h = np.full(k, 0.25) if k == 20 else rng.random(k) + 0.1
    origins = (int(rng.integers(-(k // 2), (k - 1) // 2 + 1)), 0)
    out = np.empty((1, *shape), dtype)
    E.run_bank(
        x[None],
        out,
        axes,
        [(0, Z, h), (0, V, h)],
        [(0, g), (1, g)],
        (mode, mode),
        cval,
        origins,
        combine=E.COMBINE_DIVIDE,
        tol=1e-3,
    )
    num = _term(x[None], (0, Z, h), g, axes, mode, cval, origins)
    den = _term(x[None], (0, V, h), g, axes, mode, cval, origins)
    ok = np.abs(den) > 1e-3
    ref = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
    eps = np.finfo(dtype).eps
    scale = np.abs(np.nan_to_num(x, nan=0.0, posinf=0.0)).max(initial=1.0)
    # where |den| lies within rounding of tol either side may be taken
    edge = np.abs(np.abs(den) - 1e-3) <= 64 * eps * k * k
    got = out[0].astype(np.float64)
    both = ~edge & ok
    assert np.array_equal(np.isnan(got[~edge]), np.isnan(ref[~edge]))
    tol = 64 * eps * k * k * scale / np.min(np.abs(den[both]), initial=1.0)
    np.testing.assert_allclose(got[both], ref[both], rtol=0, atol=max(tol, 1e-12))


@pytest.mark.parametrize("mode", ["reflect", "constant", "wrap"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hessian_bank_shares_horizontal_passes_and_writes_each_output(mode, dtype):
    rng = np.random.default_rng(1)
    y = rng.standard_normal((23, 31)).astype(dtype)
    s = np.array([0.25, 0.5, 0.25])
    d1 = np.array([-0.5, 0.0, 0.5])
    d2 = np.array([1.0, -2.0, 1.0])
    out = np.empty((3, *y.shape), dtype)
    hpasses = [(0, N, s), (0, N, d1), (0, N, d2)]
    terms = [(0, d2), (1, d1), (2, s)]  # Hrr, Hrc, Hcc: three horizontal passes, not six
    E.run_bank(y[None], out, (0, 1), hpasses, terms, (mode, mode), 0.5, (0, 0))
    eps = np.finfo(dtype).eps
    for o, (h, v) in zip(out, terms):
        ref = _term(y[None], hpasses[h], v, (0, 1), mode, 0.5, (0, 0))
        np.testing.assert_allclose(o, ref, rtol=0, atol=32 * eps * np.abs(y).max())


def test_bank_over_two_sources_one_axis_and_hypot():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((9, 6, 7))
    g = np.array([0.2, 0.6, 0.2])
    d = np.array([-1.0, 0.0, 1.0])
    # vertical passes only (axis 0 of a volume), one per stacked source
    out = np.empty((2, *z.shape))
    sources = np.stack([z, 2 * z])
    E.run_bank(
        sources,
        out,
        (0, None),
        [(0, N, None), (1, N, None)],
        [(0, g), (1, d)],
        ("wrap", "wrap"),
        0.0,
        (0, 0),
    )
    np.testing.assert_allclose(out[0], ndi.correlate1d(z, g, 0, mode="wrap"), atol=1e-12)
    np.testing.assert_allclose(out[1], ndi.correlate1d(2 * z, d, 0, mode="wrap"), atol=1e-12)
    # the gradient magnitude of a plane in one sweep
    y = z[0]
    hyp = np.empty((1, *y.shape))
    E.run_bank(
        y[None],
        hyp,
        (0, 1),
        [(0, N, g), (0, N, d)],
        [(0, d), (1, g)],
        ("reflect", "reflect"),
        0.0,
        (0, 0),
        combine=E.COMBINE_HYPOT,
    )
    ref = np.hypot(ndi.correlate(y, np.outer(d, g)), ndi.correlate(y, np.outer(g, d)))
    np.testing.assert_allclose(hyp[0], ref, atol=1e-12)


def test_bank_results_do_not_depend_on_threads_or_strips():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 700)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    g = np.hanning(9)[1:-1]
    outs = []
    for workers in (1, 2):
        out = np.empty((1, *x.shape), np.float32)
        E.run_bank(
            x[None],
            out,
            (0, 1),
            [(0, Z, g), (0, V, g)],
            [(0, g), (1, g)],
            ("reflect", "reflect"),
            0.0,
            (0, 0),
            combine=E.COMBINE_DIVIDE,
            workers=workers,
        )
        outs.append(out)
    assert np.array_equal(outs[0], outs[1], equal_nan=True)


@pytest.mark.parametrize("mode", ["reflect", "constant"])
def test_divide_of_several_terms_sums_each_half_before_dividing(mode):
    # a dense kernel row by row: terms 0..n-1 the numerator's rows, n..2n-1 the denominator's
    rng = np.random.default_rng(4)
    x = rng.standard_normal((17, 19))
    x[rng.random(x.shape) < 0.2] = np.nan
    kernel = rng.random((3, 4)) + 0.1
    rows = [(np.eye(3)[r], kernel[r]) for r in range(3)]
    hpasses = [(0, Z, r) for _, r in rows] + [(0, V, r) for _, r in rows]
    terms = [(i, c) for i, (c, _) in enumerate(rows)] + [
        (3 + i, c) for i, (c, _) in enumerate(rows)
    ]
    out = np.empty((1, *x.shape))
    E.run_bank(
        x[None], out, (0, 1), hpasses, terms, (mode, mode), 2.0, (0, 0), combine=E.COMBINE_DIVIDE
    )
    valid = ~np.isnan(x)
    num = ndi.correlate(np.where(valid, x, 0.0), kernel, mode=mode, cval=2.0)
    den = ndi.correlate(valid.astype(np.float64), kernel, mode=mode, cval=1.0)
    np.testing.assert_allclose(out[0], num / den, rtol=1e-12, atol=1e-12)


def test_vertical_bank_over_stacked_sources_takes_each_sources_border():
    # numerator and denominator of a first pass, stacked; beyond a 'constant' edge each
    # source has its own value (borders=), which one cval could not give both
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 9, 7))
    g = np.array([0.25, 0.5, 0.25])
    out = np.empty((2, 9, 7))
    E.run_bank(
        a,
        out,
        (0, None),
        [(0, N, None), (1, N, None)],
        [(0, g), (1, g)],
        ("constant", "constant"),
        0.0,
        (0, 0),
        borders=(3.0, -1.5),
    )
    for s, border in enumerate((3.0, -1.5)):
        ref = ndi.correlate1d(a[s], g, 0, mode="constant", cval=border)
        np.testing.assert_allclose(out[s], ref, atol=1e-14)
