"""sepconv.features against scikit-image, plain scipy compositions and fastfilters2.

Every feature is checked against an independent reference computed the slow
way -- scikit-image's functions, or scipy.ndimage calls composed as the
feature's definition says -- in 2-D and 3-D, every boundary mode, anisotropic
sigma, ``cval != 0``, tiny and empty axes; the slabbed paths (a working memory
too small for one slab) against the same references; Dask blocks of odd
chunkings against the NumPy result; fastfilters2's ``compute_filters`` with
its own kernels fed to the same bank.
"""

from __future__ import annotations

import math
from itertools import combinations_with_replacement

import numpy as np
import pytest
import scipy.ndimage as ndi

from sepconv import _engine, _features_run, _features_spec
from sepconv import features as F

skf = pytest.importorskip("skimage.feature")

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


def _rel(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-300))


def _eig(tensor, d):
    m = np.zeros((*tensor.shape[1:], d, d))
    for k, (i, j) in enumerate(combinations_with_replacement(range(d), 2)):
        m[..., i, j] = m[..., j, i] = tensor[k]
    return np.moveaxis(np.linalg.eigvalsh(m)[..., ::-1], -1, 0)


@pytest.fixture
def tiny_slabs(monkeypatch):
    """A working memory so small that every array is cut into the fewest-row slabs."""
    monkeypatch.setattr(_features_run, "SCRATCH_FRACTION", 1e-9)


# --------------------------------------------------------------------------- scikit-image


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(37, 29), (11, 9, 8)])
def test_hessian_and_structure_tensor_equal_scikit_image(mode, shape):
    rng = np.random.default_rng(len(shape) * 7 + MODES.index(mode))
    x = rng.random(shape)
    for sigma in (0.8, 2.0):  # scikit-image's truncate 100 and 8
        ref = np.array(skf.hessian_matrix(x, sigma, mode=mode, use_gaussian_derivatives=True))
        assert _rel(F.hessian(x, sigma, mode=mode), ref) < 1e-13
        ev = skf.hessian_matrix_eigvals(list(ref))
        assert _rel(F.hessian_eigenvalues(x, sigma, mode=mode), ev) < 1e-10
        st = np.array(skf.structure_tensor(x, sigma, mode=mode))
        assert _rel(F.structure_tensor(x, sigma, mode=mode), st) < 1e-13
        sev = skf.structure_tensor_eigenvalues(list(st))
        assert _rel(F.structure_tensor_eigenvalues(x, sigma, mode=mode), sev) < 1e-10


def test_slabs_rings_and_wrapped_edges_change_nothing(tiny_slabs):
    rng = np.random.default_rng(3)
    for shape, sigma in (((150, 23), 3.0), ((41, 12, 10), 2.5)):
        x = rng.random(shape)
        for mode in ("wrap", "reflect", "nearest"):
            ref = np.array(skf.hessian_matrix(x, sigma, mode=mode, use_gaussian_derivatives=True))
            assert _rel(F.hessian(x, sigma, mode=mode), ref) < 1e-13
            st = np.array(skf.structure_tensor(x, sigma, mode=mode))
            got = F.structure_tensor_eigenvalues(x, sigma, mode=mode)
            assert _rel(got, skf.structure_tensor_eigenvalues(list(st))) < 1e-10


@pytest.mark.parametrize("cval", [0.0, 0.7])
def test_constant_mode_pads_every_pass_with_cval_as_scipy(cval, tiny_slabs):
    rng = np.random.default_rng(4)
    x = rng.random((40, 33))
    ref = np.array(
        skf.hessian_matrix(x, 1.5, mode="constant", cval=cval, use_gaussian_derivatives=True)
    )
    assert _rel(F.hessian(x, 1.5, cval=cval), ref) < 1e-13
    st = np.array(skf.structure_tensor(x, 1.5, mode="constant", cval=cval))
    assert _rel(F.structure_tensor(x, 1.5, cval=cval), st) < 1e-13


def test_anisotropic_sigma_float32_and_axes():
    rng = np.random.default_rng(5)
    x = rng.random((30, 44))
    ref = np.array(skf.hessian_matrix(x, (1.5, 3.0), mode="reflect", use_gaussian_derivatives=True))
    assert _rel(F.hessian(x, (1.5, 3.0), mode="reflect"), ref) < 1e-13
    x32 = x.astype(np.float32)
    got = F.hessian_eigenvalues(x32, 2.0)
    assert got.dtype == np.float32
    ref32 = skf.hessian_matrix_eigvals(skf.hessian_matrix(x32, 2.0, use_gaussian_derivatives=True))
    assert _rel(got, ref32) < 2e-6
    # 3-D, a different sigma per axis: scikit-image's Hessian and structure tensor
    v = rng.random((12, 10, 9))
    for mode in ("nearest", "wrap"):
        ref = np.array(
            skf.hessian_matrix(v, (0.9, 1.6, 2.2), mode=mode, use_gaussian_derivatives=True)
        )
        assert _rel(F.hessian(v, (0.9, 1.6, 2.2), mode=mode), ref) < 1e-13
        st = np.array(skf.structure_tensor(v, (1.4, 0.7, 2.0), mode=mode))
        assert _rel(F.structure_tensor(v, (1.4, 0.7, 2.0), mode=mode), st) < 1e-13
    # a batch of 2-D images along axes 0 and 2: each one's Hessian
    batch = rng.random((9, 3, 14))
    got = F.hessian(batch, 1.2, axes=(0, 2), mode="mirror")
    for i in range(3):
        one = np.array(
            skf.hessian_matrix(batch[:, i], 1.2, mode="mirror", use_gaussian_derivatives=True)
        )
        assert _rel(got[:, :, i], one) < 1e-13


# --------------------------------------------------------------------------- scipy compositions


def _derivative(x, sigma, axis, order, mode, cval=0.0):
    orders = [order if a == axis else 0 for a in range(x.ndim)]
    return ndi.gaussian_filter(x, sigma, order=orders, mode=mode, cval=cval)


def _stack_reference(x, sigmas, mode):
    d = x.ndim
    pairs = list(combinations_with_replacement(range(d), 2))
    out = []
    for s in sigmas:
        out.append(ndi.gaussian_filter(x, s, mode=mode))
        out.append(ndi.gaussian_laplace(x, s, mode=mode))
        out.append(ndi.gaussian_gradient_magnitude(x, s, mode=mode))
        out.append(
            ndi.gaussian_filter(x, s, mode=mode) - ndi.gaussian_filter(x, 0.66 * s, mode=mode)
        )
        g = [_derivative(x, s, i, 1, mode) for i in range(d)]
        st = np.array([ndi.gaussian_filter(g[i] * g[j], 0.5 * s, mode=mode) for i, j in pairs])
        out += list(_eig(st, d))
        h = np.array(
            [
                ndi.gaussian_filter(x, s, order=[(a == i) + (a == j) for a in range(d)], mode=mode)
                for i, j in pairs
            ]
        )
        out += list(_eig(h, d))
    return np.array(out)


@pytest.mark.parametrize("shape", [(45, 38), (15, 13, 12)])
def test_feature_stack_is_ilastiks_set_composed_from_scipy(shape, tiny_slabs):
    x = np.random.default_rng(6).random(shape)
    modes = MODES if len(shape) == 2 else ("mirror", "wrap")
    for mode in modes:
        got = F.feature_stack(x, [1.0, 2.0], mode=mode)
        assert got.shape[0] == len(F.feature_names([1.0, 2.0], None, len(shape)))
        assert _rel(got, _stack_reference(x, [1.0, 2.0], mode)) < 1e-12


def test_single_output_features_and_structure_tensor_with_rho():
    rng = np.random.default_rng(7)
    x = rng.random((34, 27))
    for mode in MODES:
        assert (
            _rel(
                F.gradient_magnitude(x, 1.7, mode=mode),
                ndi.gaussian_gradient_magnitude(x, 1.7, mode=mode),
            )
            < 1e-13
        )
        assert (
            _rel(
                F.laplacian_of_gaussian(x, 1.7, mode=mode), ndi.gaussian_laplace(x, 1.7, mode=mode)
            )
            < 1e-13
        )
        dog = ndi.gaussian_filter(x, 1.0, mode=mode) - ndi.gaussian_filter(x, 2.2, mode=mode)
        assert _rel(F.difference_of_gaussians(x, 1.0, 2.2, mode=mode), dog) < 1e-13
    v = rng.random((13, 12, 11))
    g = [_derivative(v, 1.2, i, 1, "nearest", 0.5) for i in range(3)]
    ref = [
        ndi.gaussian_filter(g[i] * g[j], 2.0, mode="nearest")
        for i, j in combinations_with_replacement(range(3), 2)
    ]
    got = F.structure_tensor(v, 1.2, rho=2.0, mode="nearest", cval=0.5)
    assert _rel(got, np.array(ref)) < 1e-13


def test_tiny_and_empty_axes():
    for shape in [(1, 1), (1, 7), (2, 3, 1), (0, 5), (4, 0, 3)]:
        x = np.random.default_rng(8).random(shape)
        got = F.hessian(x, 1.5, mode="reflect")
        assert got.shape == (len(shape) * (len(shape) + 1) // 2, *shape)
        if x.size:
            ref = np.array(
                skf.hessian_matrix(x, 1.5, mode="reflect", use_gaussian_derivatives=True)
            )
            assert _rel(got, ref) < 1e-12
            # scikit-image squeezes unit axes away: its definition, composed from scipy
            d = [ndi.sobel(x, axis=i, mode="reflect") for i in range(x.ndim)]
            pairs = combinations_with_replacement(range(x.ndim), 2)
            st = [ndi.gaussian_filter(d[i] * d[j], 1.0, mode="reflect") for i, j in pairs]
            assert _rel(F.structure_tensor(x, 1.0, mode="reflect"), np.array(st)) < 1e-12
            ref = _stack_reference(x, [1.2], "reflect")
            assert _rel(F.feature_stack(x, [1.2], mode="reflect"), ref) < 1e-12
        # every function keeps the shape, empty axes included
        count = len(shape) * (len(shape) + 1) // 2
        for func, args, k in (
            (F.hessian_eigenvalues, (1.5,), len(shape)),
            (F.structure_tensor_eigenvalues, (1.5,), len(shape)),
            (F.structure_tensor, (1.5,), count),
            (F.gradient_magnitude, (1.5,), None),
            (F.laplacian_of_gaussian, (1.5,), None),
            (F.difference_of_gaussians, (1.0, 2.0), None),
            (F.feature_stack, ([1.0],), len(F.feature_names([1.0], None, len(shape)))),
        ):
            got = func(x, *args)
            assert got.shape == (shape if k is None else (k, *shape)), func.__name__
            assert np.all(np.isfinite(got))


# --------------------------------------------------------------------------- fastfilters2


def _ff2_weights(scale, order):
    """fastfilters2's kernel (its ``gaussian_kernel`` in cpp/fastfilters2.cpp), as weights.

    Radius ``ceil((3 + order / 2) scale)``; the sampled derivative, its mean
    removed (order 2), normalised by its moment; float32.  (The installed
    build's Python ``gaussian_kernel`` returns a constant array: not used.)
    """
    radius = math.ceil((3 + 0.5 * order) * scale)
    x = np.arange(radius + 1, dtype=np.float64)
    norm = 1.0 / (math.sqrt(2 * math.pi) * scale)
    if order:
        norm = -norm / scale**2
    g = norm * np.exp(-0.5 * x * x / scale**2)
    k = [g, g * x, g * (1 - x * x / scale**2)][order]
    if order == 2:
        k = k - (k[0] + 2 * k[1:].sum()) / (2 * radius + 1)
    moment = [k[1:].sum(), (k[1:] * x[1:]).sum(), (k[1:] * x[1:] ** 2).sum()][order]
    total = moment if order == 2 else k[0] + 2 * moment
    half = (k / total).astype(np.float32).astype(np.float64)
    sign = -1.0 if order % 2 else 1.0
    return np.concatenate([sign * half[:0:-1], half])


def test_fastfilters2_compute_filters_is_the_bank_with_its_kernels():
    ff2 = pytest.importorskip("fastfilters2")
    x = np.random.default_rng(9).random((130, 160)).astype(np.float32)
    sigma = 1.6
    w = {o: _ff2_weights(sigma, o) for o in (0, 1, 2)}
    st = _ff2_weights(0.5 * sigma, 0)

    def field(kr, kc):  # passes along rows then columns, as fastfilters2's x then y
        return _features_run.Field(0, (_features_run.Pass(0, w[kr]), _features_run.Pass(1, w[kc])))

    E = _engine
    fields = [field(0, 0), field(1, 0), field(0, 1), field(2, 0), field(1, 1), field(0, 2)]
    stage2 = [
        _features_run.Field(t, (_features_run.Pass(0, st), _features_run.Pass(1, st)))
        for t in range(3)
    ]
    between = [
        E.pointwise_step(E.POINT_PRODUCT, [2, 2], [0]),  # x is fastfilters2's axis 1
        E.pointwise_step(E.POINT_PRODUCT, [2, 1], [1]),
        E.pointwise_step(E.POINT_PRODUCT, [1, 1], [2]),
    ]
    between += [E.pointwise_step(E.POINT_COPY, [t], [3 + t]) for t in range(6)]
    carried = [
        E.pointwise_step(E.POINT_COPY, [3], [0]),
        E.pointwise_step(E.POINT_HYPOT, [5, 4], [1]),
        E.pointwise_step(E.POINT_SUM, [8, 6], [2]),
        E.pointwise_step(E.POINT_EIGEN2, [8, 7, 6], [3, 4]),
    ]
    bank = _features_run.Bank(
        fields,
        [E.pointwise_step(E.POINT_EIGEN2, [0, 1, 2], [5, 6])],
        7,
        stage2=stage2,
        between=between,
        inputs2=9,
        final_inputs=carried,
    )
    ours = np.empty((7, *x.shape), np.float32)
    _features_run.run_bank(bank, x, ours, (0, 1), ("mirror", "mirror"), 0.0)
    theirs = ff2.compute_filters(x, sigma)
    scale = np.abs(theirs).max(axis=(1, 2))
    assert np.all(np.abs(ours - theirs).max(axis=(1, 2)) <= 2e-5 * scale)
    # the public function samples scipy's kernels instead: close, not equal
    public = F.feature_stack(
        x,
        [sigma],
        [
            "smoothing",
            "gradient_magnitude",
            "laplacian",
            "hessian_eigenvalues",
            "structure_tensor_eigenvalues",
        ],
    )
    assert np.all(np.abs(public - theirs).max(axis=(1, 2)) <= 2e-2 * scale)


# --------------------------------------------------------------------------- recursive, Dask


def test_recursive_method_is_within_its_stated_kernel_error():
    x = np.random.default_rng(10).random((70, 80))
    got = F.hessian(x, 4.0, scheme="direct", mode="reflect", method="recursive")
    ref = F.hessian(x, 4.0, scheme="direct", mode="reflect", truncate=12.0)
    # per pass: |h_rec - h|_1 <= |h|_1 * bound relative to the peak times the kernel's width
    assert _rel(got, ref) < 2e-3
    gm = F.gradient_magnitude(x, 5.0, method="recursive")
    assert _rel(gm, ndi.gaussian_gradient_magnitude(x, 5.0, truncate=12)) < 1e-3


DASK_CASES = {
    "hessian": ((1.5,), {"mode": "reflect"}),
    "hessian_eigenvalues": ((1.5,), {}),
    "structure_tensor": ((1.5,), {"rho": 2.5, "mode": "wrap"}),
    "structure_tensor_eigenvalues": ((1.2,), {"mode": "nearest"}),
    "gradient_magnitude": (None, {"mode": "mirror"}),  # anisotropic: a reach per axis
    "laplacian_of_gaussian": ((2.0,), {"mode": "constant", "cval": 0.3}),
    "difference_of_gaussians": ((1.0, 3.0), {}),
    "feature_stack": (([1.0, 2.0],), {}),
}


@pytest.mark.filterwarnings("ignore:sepconv.dask. chunks")  # 3-D: thinner than the reach
@pytest.mark.parametrize("func", sorted(DASK_CASES))
def test_dask_blocks_of_odd_chunks_equal_the_numpy_result(func):
    da = pytest.importorskip("dask.array")
    given, kwargs = DASK_CASES[func]
    rng = np.random.default_rng(11)
    # 2-D with odd chunks; 3-D with chunks thinner than the reach (rechunked along those axes)
    for x, chunks in ((rng.random((83, 71)), (29, 37)), (rng.random((19, 17, 15)), (7, 5, 9))):
        args = given or (tuple(1.0 + 0.7 * i for i in range(x.ndim)),)
        ref = getattr(F, func)(x, *args, **kwargs)
        got = getattr(F, func)(da.from_array(x, chunks=chunks), *args, **kwargs)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got.compute(), ref, rtol=0, atol=1e-13 * np.abs(ref).max())


@pytest.mark.filterwarnings("ignore:sepconv.dask. chunks")  # the last chunks are thin
def test_dask_recursive_method_equals_the_numpy_result():
    da = pytest.importorskip("dask.array")
    from sepconv import ndimage as sndi

    x = np.random.default_rng(13).random((150, 131))
    ref = F.hessian_eigenvalues(x, 1.5, method="recursive", mode="nearest")
    dx = da.from_array(x, chunks=(71, 61))  # thicker than the reach (12 sigma per stage)
    got = F.hessian_eigenvalues(dx, 1.5, method="recursive", mode="nearest")
    # each block's lines start their recursions at the overlap's edge, 12 sigma out
    assert _rel(got.compute(), ref) < 1e-10
    ref = sndi.gaussian_filter(x, 2.0, method="recursive", mode="reflect")
    got = sndi.gaussian_filter(da.from_array(x, chunks=(47, 53)), 2.0, method="recursive")
    assert _rel(got.compute(), ref) < 1e-10


# --------------------------------------------------------------------------- arguments, patch


def test_bad_arguments_name_the_argument_and_the_fix():
    x = np.zeros((8, 8))
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        F.hessian(x, -1.0)
    with pytest.raises(ValueError, match="method must be 'fir' or 'recursive'"):
        F.hessian(x, 1.0, method="iir")
    with pytest.raises(ValueError, match="one to three axes"):
        F.hessian(np.zeros((3,) * 4), 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        F.hessian(x, 1.0, output=np.int32)
    with pytest.raises(ValueError, match="output must have shape"):
        F.hessian(x, 1.0, output=np.empty((2, 8, 8)))
    with pytest.raises(ValueError, match="features must be distinct names"):
        F.feature_stack(x, [1.0], ["smoothing", "edges"])
    with pytest.raises(TypeError, match="must be real"):
        F.hessian(np.zeros((4, 4), complex), 1.0)
    before = x.copy()
    F.structure_tensor(x, 1.0, output=np.empty((3, 8, 8), np.float32))
    assert np.array_equal(x, before)


def test_patch_runs_scikit_image_ridges_on_the_bank():
    from skimage.filters import frangi, sato

    from sepconv import ndimage as sndi

    x = np.random.default_rng(12).random((60, 64))
    ref = frangi(x), sato(x), skf.hessian_matrix(x, 2.0, use_gaussian_derivatives=True)
    with sndi.patched():
        assert skf.hessian_matrix is not getattr(skf.hessian_matrix, "__sepconv_original__", None)
        got = frangi(x), sato(x), skf.hessian_matrix(x, 2.0, use_gaussian_derivatives=True)
    for r, g in zip(ref, got):
        assert _rel(g, r) < 1e-12
    assert not hasattr(skf.hessian_matrix, "__sepconv_original__")


def test_feature_names_follow_the_stack():
    names = F.feature_names([1, 2], ["laplacian", "structure_tensor_eigenvalues"], ndim=3)
    assert names[:4] == [
        ("laplacian", 1.0, 0),
        ("structure_tensor_eigenvalues", 1.0, 0),
        ("structure_tensor_eigenvalues", 1.0, 1),
        ("structure_tensor_eigenvalues", 1.0, 2),
    ]
    assert len(names) == 8
    assert math.isclose(names[-1][1], 2.0)
    assert set(_features_spec.FEATURES) == set(F.FEATURES)
