"""sepconv.ndimage over Dask arrays (each block's bits) and torch tensors (autograd)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sepconv import ndimage as N

da = pytest.importorskip("dask.array")

MODES = ["reflect", "mirror", "nearest", "wrap", "constant"]

DASK_CALLS = [
    ("correlate1d", lambda m: ([1.0, -2.0, 0.5, 3.0],), {"axis": 0, "origin": 1}),
    ("convolve1d", lambda m: ([1.0, 2.0, 3.0],), {"axis": -1}),
    ("correlate", lambda m: (np.arange(15.0).reshape(3, 5) - 7,), {}),
    ("convolve", lambda m: (np.ones((2, 4)),), {"origin": (0, 1)}),
    ("gaussian_filter1d", lambda m: (1.3,), {"axis": 1, "order": 1}),
    ("gaussian_filter", lambda m: (1.5,), {}),
    ("gaussian_filter", lambda m: ([0.8, 2.0],), {"order": [1, 0], "radius": 3}),
    ("uniform_filter1d", lambda m: (6,), {"axis": 0}),
    ("uniform_filter", lambda m: ([3, 5],), {"origin": [1, -2]}),
    ("uniform_filter", lambda m: (4,), {"axes": (1,)}),
    ("sobel", lambda m: (), {"axis": 0}),
    ("prewitt", lambda m: (), {}),
    ("laplace", lambda m: (), {}),
    ("gaussian_laplace", lambda m: (1.2,), {}),
    ("gaussian_gradient_magnitude", lambda m: (0.9,), {}),
]


@pytest.mark.filterwarnings("ignore:sepconv.dask:UserWarning")
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    call=st.sampled_from(DASK_CALLS),
    mode=st.sampled_from(MODES),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
    chunks=st.tuples(st.integers(2, 9), st.integers(2, 9)),
    seed=st.integers(0, 2**16),
)
def test_dask_blocks_have_the_numpy_bits_on_odd_chunkings(call, mode, dtype, chunks, seed):
    name, args, kwargs = call
    rng = np.random.default_rng(seed)
    x = (rng.random((19, 23)) * 200).astype(dtype)
    f = getattr(N, name)
    lazy = f(da.from_array(x, chunks=chunks), *args(mode), mode=mode, **kwargs)
    assert isinstance(lazy, da.Array)
    ref = f(x, *args(mode), mode=mode, **kwargs)
    out = lazy.compute()
    assert out.dtype == ref.dtype
    assert np.array_equal(out, ref)


def test_dask_errors_are_raised_eagerly_and_outputs_must_be_dtypes():
    x = da.zeros((8, 8), chunks=3)
    with pytest.raises(RuntimeError, match="mode"):
        N.gaussian_filter(x, 1.0, mode="bogus")
    with pytest.raises(TypeError, match="output"):
        N.sobel(x, output=np.zeros((8, 8)))
    assert N.uniform_filter(x, 3, output=np.float32).dtype == np.float32
    with pytest.raises(TypeError, match="Dask"):
        N.generic_laplace(x, N.laplace)


torch = pytest.importorskip("torch")

TORCH_CALLS = [
    ("gaussian_filter", (1.2,), {}),
    ("gaussian_filter", ([0.7, 1.5],), {"order": [0, 1], "mode": "wrap"}),
    ("uniform_filter", (3,), {"mode": "nearest"}),
    ("uniform_filter", ([2, 4],), {"origin": [0, 1]}),
    ("sobel", (), {"axis": 0}),
    ("prewitt", (), {"mode": "mirror"}),
    ("laplace", (), {"mode": "constant", "cval": 1.5}),
    ("correlate1d", ([1.0, -3.0, 2.0, 0.5],), {"axis": 0, "origin": -1}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), TORCH_CALLS)
def test_tensor_forms_equal_numpy_within_rounding_and_have_gradients(name, args, kwargs):
    f = getattr(N, name)
    x = np.random.default_rng(1).random((9, 11))
    t = torch.tensor(x, requires_grad=True)
    y = f(t, *args, **kwargs)
    assert isinstance(y, torch.Tensor) and y.shape == t.shape
    np.testing.assert_allclose(y.detach().numpy(), f(x, *args, **kwargs), rtol=1e-12, atol=1e-12)
    small = torch.tensor(x[:5, :6], requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: f(v, *args, **kwargs), (small,))
    y32 = f(torch.tensor(x, dtype=torch.float32), *args, **kwargs)
    np.testing.assert_allclose(y32.numpy(), f(x, *args, **kwargs), rtol=1e-5, atol=1e-5)


def test_tensor_inputs_without_a_tensor_form_are_refused():
    with pytest.raises(TypeError, match="tensor form"):
        N.gaussian_laplace(torch.zeros(4, 4), 1.0)
    with pytest.raises(TypeError, match="output"):
        N.sobel(torch.zeros(4, 4), output=np.float32)


@pytest.mark.parametrize(
    ("name", "args"),
    [("gaussian_filter", (1.0,)), ("gaussian_laplace", (1.0,)), ("sobel", ()), ("laplace", ())],
)
def test_dask_per_axis_modes_with_wrap_have_the_numpy_bits(name, args):
    x = np.random.default_rng(3).random((13, 17))
    f = getattr(N, name)
    for mode in (["wrap", "reflect"], ["nearest", "wrap"], ["wrap", "wrap"]):
        lazy = f(da.from_array(x, chunks=(4, 5)), *args, mode=mode)
        assert np.array_equal(lazy.compute(), f(x, *args, mode=mode))


@pytest.mark.parametrize("name", ["generic_gradient_magnitude", "generic_laplace"])
@pytest.mark.parametrize("derivative", ["sobel", "prewitt"])
def test_dask_generic_filters_with_sepconvs_own_derivative(name, derivative):
    # issue 18: the derivative's reach is known when it is sepconv.ndimage's sobel / prewitt
    # (both fit generic_laplace's derivative2 signature too)
    x = np.random.default_rng(3).random((17, 21)).astype(np.float32)
    f, d = getattr(N, name), getattr(N, derivative)
    lazy = f(da.from_array(x, chunks=(5, 8)), d, mode="nearest")
    assert isinstance(lazy, da.Array)
    assert np.array_equal(lazy.compute(), f(x, d, mode="nearest"))


@pytest.mark.parametrize("name", ["generic_gradient_magnitude", "generic_laplace"])
def test_dask_generic_filter_with_an_unknown_derivative_is_refused_with_the_fix(name):
    def derivative(input, axis, output, mode, cval):
        return N.sobel(input, axis, output, mode, cval)

    with pytest.raises(TypeError, match="reach of an arbitrary derivative"):
        getattr(N, name)(da.zeros((8, 8), chunks=4), derivative)


def test_dask_gaussian_gradient_magnitude_takes_a_radius_tuple():
    x = np.random.default_rng(4).random((12, 14))
    lazy = N.gaussian_gradient_magnitude(da.from_array(x, chunks=5), 0.0, radius=(1, 2))
    ref = N.gaussian_gradient_magnitude(x, 0.0, radius=(1, 2))
    assert np.array_equal(lazy.compute(), ref)
