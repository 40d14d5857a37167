"""sepconv's depthwise convolution: PyTorch's results and gradients, the measured choice.

References: PyTorch's own ``F.conv1d/2d/3d`` (float64 for the exact values,
float32 for PyTorch's rounding), ``torch.autograd.gradcheck`` (finite
differences) and a bound on float32 rounding computed from the sums of
absolute terms.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from sepconv.nn import (  # noqa: E402
    DepthwiseConv1d,
    DepthwiseConv2d,
    DepthwiseConv3d,
    _depthwise,
    functional,
)
from sepconv.nn import _inference as inference  # noqa: E402

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
OURS = {
    1: functional.depthwise_conv1d,
    2: functional.depthwise_conv2d,
    3: functional.depthwise_conv3d,
}
U = 2.0**-24


@pytest.fixture(autouse=True)
def _fresh_choices():
    inference.reset()
    yield
    inference.reset()


def _channels_last(t):
    dims = t.dim()
    return t.permute(0, *range(2, dims), 1).contiguous().permute(0, dims - 1, *range(1, dims - 1))


def _case(dims, n, c, m, size, k, layout, bias, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, *size, generator=gen, dtype=dtype)
    if layout == "cl":
        x = _channels_last(x)
    w = torch.randn(c * m, 1, *k, generator=gen, dtype=dtype)
    b = torch.randn(c * m, generator=gen, dtype=dtype) if bias else None
    return x, w, b


def _grads(fn, x, w, b, grad):
    leaves = [t.detach().clone().requires_grad_(True) if t is not None else None for t in (x, w, b)]
    y = fn(*leaves)
    y.backward(grad)
    return y.detach(), [t.grad if t is not None else None for t in leaves]


def _gamma(terms):
    return terms * U / (1 - terms * U)


def _check_float32(dims, x, w, b, stride, padding, dilation):
    """Ours in float32 within float32 rounding of the float64 result, as PyTorch's float32 is."""
    c = x.shape[1]

    def conv(x_, w_, b_):
        return CONV[dims](x_, w_, b_, stride, padding, dilation, c)

    def ours(x_, w_, b_):
        return OURS[dims](x_, w_, b_, stride, padding, dilation, c)

    grad = torch.randn(conv(x, w, b).shape, generator=torch.Generator().manual_seed(9))
    with _depthwise.forced("sepconv"):
        y, (gx, gw, gb) = _grads(ours, x, w, b, grad)
    ty, (tgx, tgw, tgb) = _grads(conv, x, w, b, grad)
    x64, w64, g64 = x.double(), w.double(), grad.double()
    b64 = None if b is None else b.double()
    ey, (egx, egw, egb) = _grads(conv, x64, w64, b64, g64)
    # Sums of absolute terms: each result is a sum of that many products.
    ay = conv(x64.abs(), w64.abs(), None if b is None else b64.abs())
    _, (agx, agw, _) = _grads(conv, x64.abs(), w64.abs(), None, g64.abs())
    taps = w[0].numel()
    spatial = np.prod(y.shape[2:])
    for ours_v, torch_v, exact, absolute, terms in [
        (y, ty, ey, ay, taps + 1),
        (gx, tgx, egx, agx, taps * w.shape[0] // c),
        (gw, tgw, egw, agw, x.shape[0] * spatial),
    ]:
        bound = _gamma(terms) * absolute + 1e-30
        assert ours_v.shape == torch_v.shape
        assert torch.all((ours_v.double() - exact).abs() <= bound)
        assert torch.all((torch_v.double() - exact).abs() <= bound)  # the bound is fair
    if b is not None:
        assert torch.allclose(gb.double(), egb, rtol=1e-5, atol=1e-4)
    # PyTorch's memory format (strides of size-1 dimensions do not matter).
    assert _strides(y) == _strides(ty)
    assert _strides(gx) == _strides(tgx)


def _strides(t):
    return [s for s, n in zip(t.stride(), t.shape) if n > 1]


@st.composite
def geometries(draw):
    dims = draw(st.sampled_from([1, 2, 2, 3]))
    k = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if padding == "same" and any(s != 1 for s in stride):
        padding = "valid"
    if padding == "int":
        padding = draw(st.integers(0, 3))
    elif padding == "tuple":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(dims))
    p = [padding] * dims if isinstance(padding, int) else padding
    size = []
    for i in range(dims):
        extent = dilation[i] * (k[i] - 1) + 1
        pad = 0 if isinstance(p, str) else 2 * p[i]
        size.append(draw(st.integers(max(1, extent - pad), extent + 6)))
    return {
        "dims": dims,
        "n": draw(st.integers(1, 3)),
        "c": draw(st.sampled_from([1, 3, 16, 40])),
        "m": draw(st.sampled_from([1, 1, 2])),
        "size": tuple(size),
        "k": k,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "layout": draw(st.sampled_from(["contiguous", "cl"])),
        "bias": draw(st.booleans()),
    }


@settings(max_examples=25, deadline=None)
@given(geometries())
def test_results_and_gradients_match_pytorch_to_float32_rounding(g):
    x, w, b = _case(g["dims"], g["n"], g["c"], g["m"], g["size"], g["k"], g["layout"], g["bias"])
    _check_float32(g["dims"], x, w, b, g["stride"], g["padding"], g["dilation"])


@pytest.mark.parametrize(
    "dims, size, k, stride, padding, dilation, m, layout",
    [
        (2, (7, 6), (3, 3), 1, 1, 1, 1, "contiguous"),
        (2, (7, 8), (3, 2), (2, 1), "valid", (1, 2), 2, "cl"),
        (2, (6, 6), (2, 2), 1, "same", 1, 1, "cl"),  # PyTorch pads the odd one after
        (1, (9,), (3,), 2, 2, 2, 2, "contiguous"),
        (3, (4, 5, 4), (3, 1, 2), (1, 2, 1), (1, 0, 1), 1, 1, "cl"),
    ],
)
def test_gradcheck_in_float64(dims, size, k, stride, padding, dilation, m, layout):
    x, w, b = _case(dims, 2, 3, m, size, k, layout, True, torch.float64, seed=4)
    x, w, b = (t.requires_grad_(True) for t in (x, w, b))

    def fn(x_, w_, b_):
        return OURS[dims](x_, w_, b_, stride, padding, dilation, 3)

    with _depthwise.forced("sepconv"):
        assert torch.autograd.gradcheck(fn, (x, w, b))
        assert fn(x, w, b).grad_fn.name() == "DepthwiseFunctionBackward"


@pytest.mark.parametrize(
    "dims, c, size, k, stride, dilation, layout",
    [
        (2, 150, (9, 8), (7, 6), 1, 1, "cl"),  # 300 lanes: two lane chunks; rows of 7 and 6 taps
        (1, 300, (23,), (7,), 2, 1, "contiguous"),  # strided rows, lane chunks
        (2, 5, (12, 11), (7, 2), 1, (1, 2), "cl"),  # a dilated row of 7: no shared loads
    ],
)
def test_wide_kernels_and_many_channels_match_pytorch(dims, c, size, k, stride, dilation, layout):
    m = 2 if c == 150 else 1
    x, w, b = _case(dims, 2, c, m, size, k, layout, True, seed=7)
    _check_float32(dims, x, w, b, stride, 2, dilation)


def test_non_finite_inputs_give_pytorchs_infs_and_nans():
    # The weight gradient multiplies the zeros between a block's rows by input
    # values only where the input is finite (0 * inf is NaN).
    x, w, b = _case(2, 2, 16, 1, (9, 10), (3, 3), "cl", True, torch.float64, seed=8)
    x[0, 3, 4, 5] = float("inf")
    x[1, 7, 0, 2] = float("nan")
    grad = torch.randn(
        2, 16, 9, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )

    def conv(fn):
        return lambda x_, w_, b_: fn(x_, w_, b_, 1, 1, 1, 16)

    with _depthwise.forced("sepconv"):
        y, grads = _grads(conv(functional.depthwise_conv2d), x, w, b, grad)
    ty, tgrads = _grads(conv(F.conv2d), x, w, b, grad)
    for ours_v, torch_v in [(y, ty), *zip(grads, tgrads)]:
        torch.testing.assert_close(ours_v, torch_v, equal_nan=True)


def test_second_derivatives_use_pytorchs_differentiable_backward():
    x, w, b = _case(2, 1, 2, 1, (5, 5), (3, 3), "contiguous", True, torch.float64, seed=5)
    x, w, b = (t.requires_grad_(True) for t in (x, w, b))
    with _depthwise.forced("sepconv"):
        assert torch.autograd.gradgradcheck(
            lambda *a: functional.depthwise_conv2d(*a, padding=1), (x, w, b)
        )


def test_results_do_not_depend_on_the_thread_count():
    x, w, b = _case(2, 4, 24, 1, (30, 30), (3, 3), "cl", True)
    grad = torch.randn(4, 24, 30, 30)
    outs = []
    old = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with _depthwise.forced("sepconv"):
                outs.append(
                    _grads(lambda *a: functional.depthwise_conv2d(*a, padding=1), x, w, b, grad)
                )
    finally:
        torch.set_num_threads(old)
    (y1, g1), (y2, g2) = outs
    assert torch.equal(y1, y2)
    for a, c in zip(g1, g2):
        assert torch.equal(a, c)


def test_inputs_are_left_alone_and_views_accepted():
    big = torch.randn(3, 8, 12, 12)
    x = big[1:, ::2, :, 1:]  # neither contiguous nor channels-last
    w = torch.randn(4, 1, 3, 3)
    before = big.clone()
    with _depthwise.forced("sepconv"):
        y = functional.depthwise_conv2d(x, w, None, 1, 1)
    assert torch.equal(big, before)
    assert torch.allclose(y, F.conv2d(x, w, None, 1, 1, 1, 4), atol=1e-5)
    unbatched = functional.depthwise_conv2d(x[0], w, padding=1)
    assert torch.allclose(unbatched, F.conv2d(x[0], w, None, 1, 1, 1, 4), atol=1e-5)


def test_what_the_kernels_do_not_cover_is_pytorchs_call():
    w = torch.randn(4, 1, 3, 3)
    for x in (
        torch.randn(1, 4, 6, 6, dtype=torch.bfloat16),
        torch.randn(1, 4, 6, 6, device="meta"),  # stands for a GPU tensor: not on the CPU
    ):
        with _depthwise.forced("sepconv"):
            y = functional.depthwise_conv2d(x, w.to(x.dtype).to(x.device), padding=1)
        assert y.shape == (1, 4, 6, 6)
        assert inference.chosen() == {}  # nothing timed, nothing kept
    x = torch.randn(1, 4, 6, 6, requires_grad=True)
    with _depthwise.forced("sepconv"), torch.autocast("cpu"):
        assert functional.depthwise_conv2d(x, w, padding=1).dtype == torch.bfloat16
    with _depthwise.forced("sepconv"):
        traced = torch.jit.trace(lambda t: functional.depthwise_conv2d(t, w, padding=1), x)
    assert "DepthwiseFunction" not in str(traced.graph)


def test_pytorchs_errors_and_ours_for_groups():
    x, w = torch.randn(1, 4, 6, 6), torch.randn(4, 1, 3, 3)
    with pytest.raises(ValueError, match="groups must equal the input's channels \\(4\\)"):
        functional.depthwise_conv2d(x, w, groups=2)
    with pytest.raises(RuntimeError):  # PyTorch's own: the kernel is larger than the input
        functional.depthwise_conv2d(torch.randn(1, 4, 2, 2), w)
    with pytest.raises(RuntimeError):  # PyTorch's own: weight of the wrong shape
        functional.depthwise_conv2d(x, torch.randn(3, 1, 3, 3))


@pytest.mark.parametrize(
    "cls, dims", [(DepthwiseConv1d, 1), (DepthwiseConv2d, 2), (DepthwiseConv3d, 3)]
)
def test_layers_run_the_kernels_and_equal_nn_conv(cls, dims):
    torch.manual_seed(0)
    layer = cls(4, 3, 2, padding=1, depth_multiplier=2, padding_mode="reflect")
    conv = getattr(nn, f"Conv{dims}d")(4, 8, 3, 2, 1, groups=4, padding_mode="reflect")
    conv.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, *(7,) * dims, requires_grad=True)
    with _depthwise.forced("sepconv"):
        y = layer(x)
    assert y.grad_fn.name() == "DepthwiseFunctionBackward"
    assert torch.allclose(y, conv(x), atol=1e-5)


def test_scripted_layer_is_pytorchs_convolution():
    layer = DepthwiseConv2d(3, 3, padding=1, depth_multiplier=2)
    x = torch.randn(1, 3, 6, 6)
    scripted = torch.jit.script(layer)
    assert torch.allclose(scripted(x), layer(x), atol=1e-5)


def test_deterministic_algorithms_run_the_kernels_without_timing(monkeypatch):
    def refuse(*args):
        raise AssertionError("timed under deterministic algorithms")

    monkeypatch.setattr(inference, "measure", refuse)
    x, w, b = _case(2, 2, 8, 1, (9, 9), (3, 3), "cl", True)
    old = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        a = _grads(
            lambda *t: functional.depthwise_conv2d(*t, padding=1), x, w, b, torch.ones(2, 8, 9, 9)
        )
        c = _grads(
            lambda *t: functional.depthwise_conv2d(*t, padding=1), x, w, b, torch.ones(2, 8, 9, 9)
        )
    finally:
        torch.use_deterministic_algorithms(old)
    assert torch.equal(a[0], c[0]) and all(torch.equal(p, q) for p, q in zip(a[1], c[1]))


# --------------------------------------------------------------------------- the choice


class _Clock:
    """A fake ``time.perf_counter`` that each arm's call advances by its injected cost."""

    def __init__(self, costs):
        self.now, self.costs, self.calls = 0.0, costs, []

    def __call__(self):
        return self.now

    def wrap(self, real):
        def run(arm, *args):
            self.calls.append(arm)
            self.now += self.costs[arm]
            return real(arm, *args)

        return run


def _timed(monkeypatch, costs):
    clock = _Clock(costs)
    monkeypatch.setattr(inference.time, "perf_counter", clock)
    monkeypatch.setattr(_depthwise, "_forward", clock.wrap(_depthwise._forward))
    return clock


def _forward_calls(x, w, count):
    outs = []
    with torch.no_grad():
        for _ in range(count):
            outs.append(functional.depthwise_conv2d(x, w, padding=1))
    return outs


def test_trial_calls_alternate_then_keep_the_faster_arm(monkeypatch):
    clock = _timed(monkeypatch, {"plain": 2.0, "sepconv": 1.0})
    x, w = torch.randn(2, 4, 8, 8), torch.randn(4, 1, 3, 3)
    trial = 2 * (inference.ROUNDS + 1)
    outs = _forward_calls(x, w, trial + 3)
    assert clock.calls[:trial] == ["plain", "sepconv"] * (inference.ROUNDS + 1)
    assert clock.calls[trial:] == ["sepconv"] * 3
    for out in outs:  # every trial call computed the real result
        assert torch.allclose(out, F.conv2d(x, w, None, 1, 1, 1, 4), atol=1e-5)
    ((key, arm),) = inference.chosen().items()
    assert key[0] == "depthwise forward" and arm == "sepconv"


@pytest.mark.parametrize("ratio, kept", [(0.97, "plain"), (1.5, "plain"), (0.5, "sepconv")])
def test_pytorch_is_kept_unless_clearly_slower(monkeypatch, ratio, kept):
    clock = _timed(monkeypatch, {"plain": 1.0, "sepconv": ratio})
    trial = 2 * (inference.ROUNDS + 1)
    x, w = torch.randn(1, 4, 8, 8), torch.randn(4, 1, 3, 3)
    _forward_calls(x, w, trial + 2)
    assert list(inference.chosen().values()) == [kept]
    # Kept PyTorch: later calls are F.conv2d itself, not this module's forward.
    assert clock.calls[trial:] == ([] if kept == "plain" else ["sepconv"] * 2)


def test_calls_that_keep_pytorch_get_pytorchs_own_autograd(monkeypatch):
    _timed(monkeypatch, {"plain": 1.0, "sepconv": 2.0})
    monkeypatch.setattr(
        _depthwise, "_backward", _Clock({"plain": 1.0, "sepconv": 2.0}).wrap(_depthwise._backward)
    )
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    w = torch.randn(4, 1, 3, 3, requires_grad=True)
    for _ in range(2 * (inference.ROUNDS + 1)):
        y = functional.depthwise_conv2d(x, w, padding=1)
        y.sum().backward()
    assert y.grad_fn.name() == "DepthwiseFunctionBackward"  # still measuring the backward
    y = functional.depthwise_conv2d(x, w, padding=1)
    assert y.grad_fn.name() == "ConvolutionBackward0"  # both passes keep PyTorch's kernels
    inference.reset()  # measured afresh: this module's function again
    assert functional.depthwise_conv2d(x, w, padding=1).grad_fn.name() == (
        "DepthwiseFunctionBackward"
    )


def test_the_choice_is_per_shape_and_thread_count(monkeypatch):
    clock = _timed(monkeypatch, {"plain": 1.0, "sepconv": 0.5})
    w = torch.randn(4, 1, 3, 3)
    trial = 2 * (inference.ROUNDS + 1)
    _forward_calls(torch.randn(1, 4, 8, 8), w, trial)
    clock.costs = {"plain": 0.5, "sepconv": 1.0}  # another shape: another measurement
    _forward_calls(torch.randn(1, 4, 9, 8), w, trial)
    old = torch.get_num_threads()
    torch.set_num_threads(1 if old != 1 else 2)
    try:  # the first shape on another thread count: measured again
        _forward_calls(torch.randn(1, 4, 8, 8), w, trial)
    finally:
        torch.set_num_threads(old)
    kept = {(key[3][3], key[3][-1]): arm for key, arm in inference.chosen().items()}
    other = 1 if old != 1 else 2
    assert kept == {((8, 8), old): "sepconv", ((9, 8), old): "plain", ((8, 8), other): "plain"}


def test_backward_is_measured_apart_from_the_forward(monkeypatch):
    clock = _Clock({"plain": 1.0, "sepconv": 0.1})
    monkeypatch.setattr(inference.time, "perf_counter", clock)
    monkeypatch.setattr(_depthwise, "_backward", clock.wrap(_depthwise._backward))
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    w = torch.randn(4, 1, 3, 3, requires_grad=True)
    for _ in range(2 * (inference.ROUNDS + 1)):
        functional.depthwise_conv2d(x, w, padding=1).sum().backward()
    kinds = {key[0]: arm for key, arm in inference.chosen().items()}
    assert kinds["depthwise backward"] == "sepconv"
    assert kinds["depthwise forward"] in ("plain", "sepconv")  # timed for real


def test_two_threads_calling_at_once_get_pytorchs_results():
    x, w = torch.randn(2, 16, 12, 12), torch.randn(16, 1, 3, 3)
    expected = F.conv2d(x, w, None, 1, 1, 1, 16)
    errors = []

    def work():
        try:
            for _ in range(20):
                y = functional.depthwise_conv2d(x, w, padding=1)
                assert torch.allclose(y, expected, atol=1e-5)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_study_training_repeats_exactly_and_matches_pytorchs_kernels_to_rounding():
    from sepconv.study import build_model
    from sepconv.study._train import deterministic, train

    gen = np.random.default_rng(0)
    images = gen.standard_normal((96, 1, 8, 8)).astype(np.float32)
    labels = (images[:, 0, 2:6, 2:6].mean((1, 2)) > 0).astype(np.int64)

    def trained(arm):
        torch.manual_seed(0)
        model = build_model("depthwise", 4, 1, 2)
        with deterministic(1), _depthwise.forced(arm):
            loss = train(
                model,
                images,
                labels,
                steps=12,
                batch_size=32,
                lr=0.01,
                weight_decay=0.0,
                augment=1,
                seed=1,
            )
        return loss, torch.cat([p.detach().flatten() for p in model.parameters()])

    ours, again, theirs = trained(None), trained(None), trained("plain")
    assert ours[0] == again[0] and torch.equal(ours[1], again[1])  # deterministic: sepconv's
    assert ours[0] != theirs[0] or not torch.equal(ours[1], theirs[1])  # other kernels ran
    assert abs(ours[0] - theirs[0]) < 1e-4
    assert torch.allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-5)
