"""sepconv.torch: the same results as scipy.ndimage on every mode, autograd, plans, devices."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
import sepconv  # noqa: E402
import sepconv.torch as storch  # noqa: E402
from sepconv import NotSeparableError  # noqa: E402
from sepconv._boundary import MODES  # noqa: E402

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
    ),
]
RNG = np.random.default_rng(5)
KERNELS = {
    "separable": np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]),
    "rank2": np.outer([1, 2, 3, 2, 1], [1, 0, -1, 0, 1])
    + np.outer([0, 1, 0, 1, 0], [2, 1, 0, 1, 2.0]),
    "dense_even": RNG.standard_normal((4, 3)),
    "larger_than_image": RNG.standard_normal((9, 2)),
    "single_tap": np.array([[2.5]]),
}
X = RNG.standard_normal((2, 3, 7, 8))


def run(fn, x, kernel, path, **kwargs):
    """Call through the NumPy engine (no grad) or force the PyTorch path (grad needed)."""
    t = torch.tensor(x, requires_grad=(path == "torch"))
    return fn(t, kernel, **kwargs).detach().numpy()


@pytest.mark.parametrize("path", ["numpy", "torch"])
@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_matches_scipy(path, name, mode):
    k = KERNELS[name]
    for fn, ref in ((storch.correlate, ndi.correlate), (storch.convolve, ndi.convolve)):
        got = run(fn, X, k, path, mode=mode, cval=-1.25)
        expected = ref(X, k[None, None], mode=mode, cval=-1.25)
        np.testing.assert_allclose(got, expected, atol=1e-12, err_msg=fn.__name__)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 6),
    kw=st.integers(1, 6),
    mode=st.sampled_from(MODES),
    cval=st.floats(-3, 3),
    data=st.data(),
    convolve=st.booleans(),
)
def test_torch_path_matches_scipy_with_origins(h, w, kh, kw, mode, cval, data, convolve):
    origin = [data.draw(st.integers(-(n // 2), (n - 1) // 2)) for n in (kh, kw)]
    seed = data.draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    if data.draw(st.booleans()):
        k = np.outer(k[:, 0], k[0])  # separable
    fn, ref = (storch.convolve, ndi.convolve) if convolve else (storch.correlate, ndi.correlate)
    got = run(fn, x, k, "torch", mode=mode, cval=cval, origin=origin)
    np.testing.assert_allclose(got, ref(x, k, mode=mode, cval=cval, origin=origin), atol=1e-10)


@pytest.mark.parametrize("path", ["numpy", "torch"])
@pytest.mark.parametrize(
    "shape,axes,kernel_shape,origin",
    [
        ((6, 5, 7), (0, 2), (3, 4), (1, -2)),
        ((6, 5, 7), (-1,), (5,), 2),
        ((6, 5, 7), (1,), (4,), 0),
        ((6, 5, 7), (0, 1, 2), (3, 3, 2), (0, -1, 0)),
        ((6, 5, 7), (2, 0), (2, 5), (1, -1)),  # scipy: kernel axes follow sorted axes
        ((6, 7), (1, 0), (2, 5), (-1, 2)),  # all axes: origin[i] goes with array axis i
    ],
)
def test_axes_origins_and_leading_dimensions_follow_scipy(path, shape, axes, kernel_shape, origin):
    x = RNG.standard_normal(shape)
    k = RNG.standard_normal(kernel_shape)
    for fn, ref in ((storch.correlate, ndi.correlate), (storch.convolve, ndi.convolve)):
        got = run(fn, x, k, path, mode="mirror", axes=axes, origin=origin)
        expected = ref(x, k, mode="mirror", axes=axes, origin=origin)
        np.testing.assert_allclose(got, expected, atol=1e-12, err_msg=fn.__name__)


def test_separable_3d_kernel_runs_as_three_passes(monkeypatch):
    calls = _record_passes(monkeypatch)
    k = np.multiply.outer(np.multiply.outer([1.0, 2.0, 1.0], [1.0, -1.0]), [1.0, 3.0, 3.0, 1.0])
    x = RNG.standard_normal((5, 6, 7))
    got = run(storch.correlate, x, k, "torch", mode="wrap", axes=(0, 1, 2))
    np.testing.assert_allclose(got, ndi.correlate(x, k, mode="wrap"), atol=1e-12)
    assert calls == [("pass", 1, 3), ("pass", 2, 2), ("pass", 3, 4)]


def _record_passes(monkeypatch):
    """Record ("pass", dim, taps) for every 1-D pass and ("conv", shape) for dense convs."""
    calls = []
    pass1d, conv = storch._pass1d, storch._conv

    def recording_pass(y, taps, dim):
        calls.append(("pass", dim, taps.size))
        return pass1d(y, taps, dim)

    def recording_conv(y, weight):
        calls.append(("conv", tuple(weight.shape)))
        return conv(y, weight)

    monkeypatch.setattr(storch, "_pass1d", recording_pass)
    monkeypatch.setattr(storch, "_conv", recording_conv)
    return calls


@pytest.mark.parametrize(
    "kernel,method,rtol,plan_method,expected",
    [
        (KERNELS["separable"], "auto", None, "separable", [("pass", 1, 3), ("pass", 2, 3)]),
        (KERNELS["rank2"], "auto", None, "direct", [("conv", (1, 1, 5, 5))]),  # needs rtol
        (KERNELS["rank2"], "lowrank", None, "lowrank", [("pass", 1, 5), ("pass", 2, 5)] * 2),
        (KERNELS["rank2"], "auto", 0.5, "lowrank", [("pass", 1, 5), ("pass", 2, 5)]),
        (KERNELS["separable"], "direct", None, "direct", [("conv", (1, 1, 3, 3))]),
        (np.arange(9.0).reshape(3, 3) ** 2, "auto", None, "direct", [("conv", (1, 1, 3, 3))]),
        (
            np.arange(9.0).reshape(3, 3) ** 2,
            "lowrank",
            None,
            "lowrank",
            [("pass", 1, 3), ("pass", 2, 3)] * 3,
        ),
    ],
)
def test_plans_run_the_passes_sepconv_plan_chooses(
    monkeypatch, kernel, method, rtol, plan_method, expected
):
    calls = _record_passes(monkeypatch)
    x = RNG.standard_normal((9, 10))
    got = run(storch.correlate, x, kernel, "torch", method=method, rtol=rtol)
    # The NumPy engine's plan for the same call: one rule for both paths.
    assert sepconv.plan(x.shape, kernel, method=method, rtol=rtol).method == plan_method
    assert calls == expected
    if rtol is None:
        np.testing.assert_allclose(got, ndi.correlate(x, kernel), atol=1e-10)


def test_fft_is_refused_on_the_torch_path_only():
    x = torch.tensor(RNG.standard_normal((20, 20)))
    k = RNG.standard_normal((9, 9))
    with pytest.raises(ValueError, match="fft"):
        storch.correlate(x.clone().requires_grad_(True), k, method="fft")
    np.testing.assert_allclose(
        storch.correlate(x, k, method="fft").numpy(), ndi.correlate(x.numpy(), k), atol=1e-9
    )


def test_separable_method_refuses_a_dense_kernel():
    with pytest.raises(NotSeparableError):
        run(storch.correlate, X, KERNELS["dense_even"], "torch", method="separable")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["separable", "rank2", "dense_even"])
@pytest.mark.parametrize("mode", ["reflect", "mirror", "nearest", "wrap", "constant"])
def test_gradcheck(device, name, mode):
    x = torch.randn(1, 2, 6, 7, dtype=torch.float64, device=device, requires_grad=True)
    k = KERNELS[name]
    # The full Jacobian once per plan; random projections (fast mode) for the rest.
    fast = mode != "reflect"
    assert torch.autograd.gradcheck(
        lambda t: storch.correlate(t, k, mode=mode, cval=0.5, origin=(0, -1)),
        (x,),
        fast_mode=fast,
    )
    assert torch.autograd.gradcheck(
        lambda t: storch.convolve(t, k, mode=mode), (x,), fast_mode=fast
    )


@pytest.mark.parametrize("device", DEVICES)
def test_device_and_dtype_are_kept(device):
    x = torch.tensor(X, dtype=torch.float32, device=device)
    k = torch.tensor(KERNELS["rank2"])
    y = storch.correlate(x, k, mode="nearest")
    assert y.device == x.device and y.dtype == torch.float32 and y.shape == x.shape
    expected = ndi.correlate(X, KERNELS["rank2"][None, None], mode="nearest")
    np.testing.assert_allclose(y.cpu().numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_types_on_the_torch_path(dtype):
    x = torch.tensor(X, dtype=torch.float32)
    y = storch.correlate(x.to(dtype), KERNELS["separable"], mode="reflect")
    assert y.dtype == dtype
    expected = ndi.correlate(X, KERNELS["separable"][None, None], mode="reflect")
    np.testing.assert_allclose(y.float().numpy(), expected, atol=0.1, rtol=0.05)


def test_numpy_path_is_used_without_grad_and_agrees_with_torch_path(monkeypatch):
    x = torch.tensor(X, dtype=torch.float32)
    before = x.clone()
    fast = storch.correlate(x, KERNELS["rank2"], mode="wrap")
    assert fast.dtype == torch.float32
    assert torch.equal(x, before)  # input untouched
    assert fast.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    slow = storch.correlate(x.clone().requires_grad_(True), KERNELS["rank2"], mode="wrap")
    torch.testing.assert_close(fast, slow.detach(), atol=1e-4, rtol=1e-5)
    # Under no_grad a tensor that requires grad takes the NumPy engine too.
    calls = _record_passes(monkeypatch)
    with torch.no_grad():
        storch.correlate(x.clone().requires_grad_(True), KERNELS["rank2"])
    assert calls == []


def test_bad_arguments_name_the_argument():
    x = torch.zeros(5, 5)
    with pytest.raises(TypeError, match="floating-point"):
        storch.correlate(torch.zeros(5, 5, dtype=torch.int64), np.ones((3, 3)))
    with pytest.raises(TypeError, match="torch.Tensor"):
        storch.correlate(np.zeros((5, 5)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="mode must be one of"):
        storch.correlate(x, np.ones((3, 3)), mode="reflct")
    with pytest.raises(ValueError, match="one dimension per axis"):
        storch.correlate(x, np.ones(3))
    with pytest.raises(ValueError, match="origin"):
        storch.correlate(x, np.ones((3, 3)), origin=2)
    with pytest.raises(ValueError, match="require grad"):
        storch.correlate(x, torch.ones(3, 3, requires_grad=True))
    with pytest.raises(ValueError, match="method"):
        storch.correlate(x, np.ones((3, 3)), method="fast")
    with pytest.raises(ValueError, match="axes"):
        storch.correlate(torch.zeros(2, 2, 2, 2), np.ones((1, 1, 1, 1)), axes=(0, 1, 2, 3))
