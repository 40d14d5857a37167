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


def test_rows_map_reads_a_slab_from_the_rows_around_it():
    from sepconv._boundary import extend_indices

    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 23))
    g = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    d = np.array([-0.5, -0.25, 0.0, 0.25, 0.5])
    whole = np.empty((2, *x.shape))
    E.run_bank(x[None], whole, (0, 1), [(0, N, g)], [(0, g), (0, d)], ("wrap", "wrap"), 0.0, (0, 0))
    idx = extend_indices(40, 2, 2, "wrap")
    for y0, y1 in ((0, 7), (7, 33), (33, 40)):
        slab = np.empty((2, y1 - y0, 23))
        E.run_bank(
            x[None],
            slab,
            (0, 1),
            [(0, N, g)],
            [(0, g), (0, d)],
            ("wrap", "wrap"),
            0.0,
            (0, 0),
            rows=idx[y0 : y1 + 4],
        )
        np.testing.assert_allclose(slab, whole[:, y0:y1], rtol=0, atol=1e-14)
    # a source of its own rows only (the slab's rows and halo, already extended)
    rows = x[np.maximum(idx[10:34], 0)]
    slab = np.empty((2, 20, 23))
    E.run_bank(
        rows[None],
        slab,
        (0, 1),
        [(0, N, g)],
        [(0, g), (0, d)],
        ("wrap", "wrap"),
        0.0,
        (0, 0),
        rows=np.arange(24),
    )
    np.testing.assert_allclose(slab, whole[:, 10:30], rtol=0, atol=1e-14)


def test_pointwise_products_norms_and_eigenvalues_against_numpy():
    rng = np.random.default_rng(5)
    f = rng.standard_normal((6, 2, 9, 11))
    f[0, 0, 0, 0] = np.nan
    out = np.empty((9, 2, 12, 11), np.float32)
    steps = [
        E.pointwise_step(E.POINT_PRODUCT, [1, 2], [0]),
        E.pointwise_step(E.POINT_HYPOT, [1, 2, 3], [1]),
        E.pointwise_step(E.POINT_SUM, [3, 4], [2]),
        E.pointwise_step(E.POINT_DIFFERENCE, [4, 5], [3]),
        E.pointwise_step(E.POINT_EIGEN2, [0, 1, 2], [4, 5]),
        E.pointwise_step(E.POINT_EIGEN3, [0, 1, 2, 3, 4, 5], [6, 7, 8]),
    ]
    E.pointwise(f, out, steps, 2, rows=(1, 9))  # input rows 1..8 into output rows 2..9
    got = out[:, :, 2:10].astype(np.float64)
    g = f[:, :, 1:9]
    np.testing.assert_allclose(got[0], g[1] * g[2], rtol=1e-6)
    np.testing.assert_allclose(got[1], np.sqrt(g[1] ** 2 + g[2] ** 2 + g[3] ** 2), rtol=1e-6)
    np.testing.assert_allclose(got[2], g[3] + g[4], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[3], g[4] - g[5], rtol=1e-6, atol=1e-6)
    m2 = np.stack([np.stack([g[0], g[1]], -1), np.stack([g[1], g[2]], -1)], -2)
    np.testing.assert_allclose(
        got[4:6], np.moveaxis(np.linalg.eigvalsh(m2)[..., ::-1], -1, 0), rtol=1e-5, atol=1e-6
    )
    m3 = np.zeros((*g.shape[1:], 3, 3))
    for k, (i, j) in enumerate([(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]):
        m3[..., i, j] = m3[..., j, i] = g[k]
    np.testing.assert_allclose(
        got[6:9], np.moveaxis(np.linalg.eigvalsh(m3)[..., ::-1], -1, 0), rtol=1e-5, atol=1e-6
    )
    # NaN propagates; rows outside the given ones are untouched
    f[:, 0, 1, 0] = np.nan
    E.pointwise(f, out, steps[4:], 0, rows=(1, 2))
    assert np.isnan(out[4:, 0, 0, 0]).all()
