"""The inference path of DepthwiseSeparableConv2d: rounding-level agreement, fallbacks, the choice.

References: the layer's own training code (bit for bit where only it applies)
and a float64 brute-force sum over the taps and channels written out here.
"""

from __future__ import annotations

import math
import platform
import sys
import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

from sepconv.nn import DepthwiseSeparableConv2d, _depthwise  # noqa: E402
from sepconv.nn import _inference as inference  # noqa: E402
from sepconv.nn._fused import sgemm_address  # noqa: E402

# PyTorch's Linux x86-64 wheels carry MKL: there the strip and fused arms must exist
# (a kernel failing its probe would otherwise only disable them quietly).
MKL_EXPECTED = sys.platform == "linux" and platform.machine() == "x86_64"
needs_sgemm = pytest.mark.skipif(
    not MKL_EXPECTED and sgemm_address() == 0, reason="MKL sgemm not found in PyTorch"
)
CL = torch.channels_last
U = 2.0**-24


@pytest.fixture(autouse=True)
def _fresh_choices():
    # The depthwise step on PyTorch's kernels throughout: its own measured choice
    # (tests/test_nn_depthwise.py) would make two plain calls differ in the last bits.
    inference.reset()
    with _depthwise.forced("plain"):
        yield
    inference.reset()


def _layer(c_in, c_out, k, seed=0, **kw):
    torch.manual_seed(seed)
    layer = DepthwiseSeparableConv2d(c_in, c_out, k, **kw).eval()
    with torch.no_grad():  # biases large enough to matter
        if layer.pointwise.bias is not None:
            layer.pointwise.bias.uniform_(-1, 1)
    return layer


def _input(n, c, h, w, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, h, w, generator=gen).contiguous(memory_format=CL)


def _brute_force(layer, x):
    """float64 output and the sum of absolute terms, by explicit loops over the taps."""
    dw, pw = layer.depthwise, layer.pointwise
    (kh, kw), (dh, dwd), (sh, sw) = dw.kernel_size, dw.dilation, dw.stride
    ph, pwd = inference._padding(dw)
    xs = x.detach().double().numpy()
    n, c, h, w = xs.shape
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pwd - dwd * (kw - 1) - 1) // sw + 1
    pad = np.zeros((n, c, h + 2 * ph, w + 2 * pwd))
    pad[:, :, ph : ph + h, pwd : pwd + w] = xs
    d = dw.weight.detach().double().numpy()[:, 0]
    mid = np.zeros((n, c, ho, wo))
    mid_abs = np.zeros_like(mid)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            patch = pad[:, :, rows, j * dwd : j * dwd + sw * (wo - 1) + 1 : sw]
            mid += patch * d[None, :, i, j, None, None]
            mid_abs += np.abs(patch * d[None, :, i, j, None, None])
    p = pw.weight.detach().double().numpy()[:, :, 0, 0]
    out = np.einsum("oc,nchw->nohw", p, mid)
    size = np.einsum("oc,nchw->nohw", np.abs(p), mid_abs)
    if pw.bias is not None:
        b = pw.bias.detach().double().numpy()[None, :, None, None]
        out, size = out + b, size + np.abs(b)
    k_terms = kh * kw + c + 1
    return out, k_terms * U / (1 - k_terms * U) * size


def _run(layer, x, arm):
    with torch.no_grad(), inference.forced(arm):
        return layer(x)


def _check_within_rounding(layer, x, arms):
    exact, bound = _brute_force(layer, x)
    outs = {arm: _run(layer, x, arm) for arm in arms}
    for arm, out in outs.items():
        err = np.abs(out.double().numpy() - exact)
        # each arm is within gamma_K of the exact sums (plus a denormal-level floor)
        assert np.all(err <= bound + 1e-30), (arm, float((err - bound).max()))
        assert out.shape == outs["plain"].shape, arm
        assert out.is_contiguous(memory_format=CL) == outs["plain"].is_contiguous(memory_format=CL)
    return outs


def test_mkl_sgemm_is_found_and_passes_its_probe_on_linux_x86():
    if not MKL_EXPECTED:
        pytest.skip("PyTorch wheels link MKL only on x86-64 Linux")
    assert sgemm_address() != 0


# ----------------------------------------------------------------- training is today's code


def _by_hand(layer, x):
    y = layer.depthwise(x)
    if layer.norm is not None:
        y = layer.norm(y)
    if layer.activation is not None:
        y = layer.activation(y)
    return layer.pointwise(y)


@pytest.mark.parametrize("mid", [False, True])
def test_training_and_grad_run_the_plain_code_bit_for_bit(mid, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the inference path ran with gradients or in training")

    monkeypatch.setattr(inference, "forward", refuse)
    kw = {"mid_norm": nn.BatchNorm2d, "mid_activation": nn.ReLU} if mid else {}
    x = _input(2, 8, 9, 11)
    for training in (True, False):
        a, b = _layer(8, 12, 3, padding=1, **kw), _layer(8, 12, 3, padding=1, **kw)
        a.train(training), b.train(training)
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        with inference.forced("fused"):  # forcing an arm never reaches training
            ya = a(xa)
        yb = _by_hand(b, xb)
        assert torch.equal(ya, yb)
        g = torch.randn_like(ya)
        ya.backward(g), yb.backward(g)
        assert torch.equal(xa.grad, xb.grad)
        for pa, pb in zip(a.parameters(), b.parameters()):
            assert torch.equal(pa.grad, pb.grad)


def test_eval_with_grad_enabled_runs_the_plain_code(monkeypatch):
    calls = []
    monkeypatch.setattr(inference, "forward", lambda *a: calls.append(a))
    layer, x = _layer(8, 12, 3, padding=1), _input(1, 8, 6, 6)
    assert torch.equal(layer(x), _by_hand(layer, x))
    assert not calls
    with torch.inference_mode():
        layer(x)
    assert len(calls) == 1


# ----------------------------------------------------------------- agreement to rounding


@needs_sgemm
@pytest.mark.parametrize(
    "c_in,c_out,k,h,w,kw",
    [
        (8, 16, 3, 9, 11, {"padding": 1}),
        (5, 7, 5, 13, 7, {"padding": 2, "bias": False}),
        (3, 4, (3, 5), 6, 17, {"padding": (1, 2)}),
        (17, 9, 7, 11, 12, {"padding": 3}),  # the generic tap loop (kw not 3 or 5)
        (6, 10, 3, 8, 9, {"padding": 0}),  # no padding: output smaller
        (6, 10, 3, 9, 8, {"padding": 2}),  # more padding than the kernel needs
        (4, 6, 3, 10, 10, {"padding": 2, "dilation": 2}),
        (4, 6, 3, 10, 9, {"padding": "same", "dilation": (1, 2)}),
        (4, 6, 1, 5, 5, {"padding": "valid"}),
        (40, 24, 3, 2, 2, {"padding": 1}),  # an image smaller than the kernel's reach
        (8, 12, 3, 11, 9, {"padding": 1, "stride": 2}),
        (8, 12, 5, 12, 13, {"padding": 2, "stride": (2, 1)}),  # row stride only: tiled runs
        (5, 6, 3, 10, 11, {"padding": 1, "stride": (1, 3), "dilation": 2}),
    ],
)
def test_every_arm_is_within_float32_rounding_of_float64_sums(c_in, c_out, k, h, w, kw):
    layer, x = _layer(c_in, c_out, k, **kw), _input(2, c_in, h, w)
    assert inference.applicable(layer, x) == inference.ARMS
    outs = _check_within_rounding(layer, x, inference.ARMS)
    tol = dict(rtol=1e-5, atol=1e-5)
    assert torch.allclose(outs["fused"], outs["plain"], **tol)
    assert torch.allclose(outs["strips"], outs["plain"], **tol)


@needs_sgemm
@settings(max_examples=20, deadline=None)
@given(
    c_in=st.integers(2, 20),
    c_out=st.integers(1, 20),
    kh=st.integers(1, 5),
    kw=st.integers(1, 6),
    h=st.integers(1, 12),
    w=st.integers(2, 12),
    dil=st.integers(1, 2),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.integers(0, 3),
    bias=st.booleans(),
    seed=st.integers(0, 99),
)
def test_random_geometries_agree_with_float64_sums(
    c_in, c_out, kh, kw, h, w, dil, stride, pad, bias, seed
):
    layer = _layer(c_in, c_out, (kh, kw), seed, padding=pad, dilation=dil, stride=stride, bias=bias)
    x = _input(1 + seed % 2, c_in, h, w, seed)
    if h + 2 * pad - dil * (kh - 1) <= 0 or w + 2 * pad - dil * (kw - 1) <= 0:
        with pytest.raises(RuntimeError):  # PyTorch's own error on every arm
            _run(layer, x, "fused")
        return
    _check_within_rounding(layer, x, inference.applicable(layer, x))


@needs_sgemm
def test_measured_calls_agree_and_leave_the_input_alone():
    layer, x = _layer(16, 24, 3, padding=1), _input(2, 16, 12, 12)
    before = x.clone()
    plain = _run(layer, x, "plain")
    with torch.inference_mode():
        outs = [layer(x) for _ in range(3 * (inference.ROUNDS + 1) + 2)]
    assert len(inference.chosen()) == 1
    for out in outs:
        assert torch.allclose(out, plain, rtol=1e-5, atol=1e-5)
        assert out.is_contiguous(memory_format=CL)
    assert torch.equal(x, before)


@needs_sgemm
@pytest.mark.parametrize("arm", ["strips", "fused"])
def test_strips_on_the_pool_equal_one_thread_bit_for_bit(arm, monkeypatch):
    from sepconv._engine import _pool

    pooled = []
    run_on_pool = _pool._run_on_pool

    def counted(*args):
        pooled.append(1)
        return run_on_pool(*args)

    monkeypatch.setattr(_pool, "_run_on_pool", counted)
    # as if the pool had measured faster for every size (calls this short stay on one thread)
    monkeypatch.setattr(_pool, "_rates", {c: [1.0, 0.5, 0, 2] for c in range(80)})
    layer, x = _layer(16, 32, 3, padding=1), _input(2, 16, 24, 24)
    if arm == "strips":  # several strips of pixels
        x = _input(2, 16, 96, 96)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _run(layer, x, arm)
        torch.set_num_threads(2)
        for _ in range(4):
            assert torch.equal(_run(layer, x, arm), one)
    finally:
        torch.set_num_threads(threads)
    assert pooled  # the strips did run on the pool
    _check_within_rounding(layer, x, ("plain", arm))


def _with_stats(layer, seed=3):
    """Running statistics and affine parameters far from their defaults."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        norm = layer.norm
        c = norm.num_features
        norm.running_mean.copy_(torch.randn(c, generator=gen))
        norm.running_var.copy_(torch.rand(c, generator=gen) * 3 + 0.1)
        if norm.affine:
            norm.weight.copy_(torch.randn(c, generator=gen))
            norm.bias.copy_(torch.randn(c, generator=gen))
    return layer


@needs_sgemm
@pytest.mark.parametrize(
    "norm,act",
    [
        (nn.BatchNorm2d, None),
        (nn.BatchNorm2d, nn.ReLU),
        (lambda c: nn.BatchNorm2d(c, affine=False), nn.ReLU6),
        (None, nn.ReLU),
        (None, nn.ReLU6),
    ],
)
def test_batch_norm_and_relu_are_fused_and_agree(norm, act):
    layer = _layer(12, 20, 3, padding=1, mid_norm=norm, mid_activation=act)
    if norm is not None:
        _with_stats(layer)
    x = _input(2, 12, 11, 9) * 4  # ReLU6's upper limit is reached too
    assert inference.applicable(layer, x) == inference.ARMS
    with torch.no_grad():
        expected = _by_hand(layer, x)
    for arm in ("strips", "fused"):
        assert torch.allclose(_run(layer, x, arm), expected, rtol=1e-5, atol=1e-4), arm
    x[0, 3, 2, 2] = float("nan")  # NaN spreads through the clamp as in PyTorch
    with torch.no_grad():
        nan_expected = _by_hand(layer, x)
    assert torch.equal(torch.isnan(_run(layer, x, "fused")), torch.isnan(nan_expected))


@needs_sgemm
def test_a_view_into_a_larger_batch_and_concurrent_callers():
    from concurrent.futures import ThreadPoolExecutor

    layer, big = _layer(10, 14, 3, padding=1), _input(5, 10, 13, 12)
    x = big[2:4]  # a view with a storage offset, still channels-last
    assert x.storage_offset() > 0 and x.is_contiguous(memory_format=CL)
    outs = _check_within_rounding(layer, x, inference.ARMS)
    with ThreadPoolExecutor(2) as pool:
        for arm in ("strips", "fused"):
            results = list(pool.map(lambda _, arm=arm: _run(layer, x, arm), range(6)))
            assert all(torch.equal(r, outs[arm]) for r in results), arm


@needs_sgemm
@pytest.mark.parametrize("arm", inference.ARMS)
def test_an_input_that_requires_grad_under_no_grad(arm):
    layer, x = _layer(6, 10, 3, padding=1), _input(2, 6, 9, 10).requires_grad_(True)
    with torch.no_grad():
        expected = _by_hand(layer, x)
    out = _run(layer, x, arm)
    assert not out.requires_grad
    assert torch.allclose(out, expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------- fallbacks


@needs_sgemm
@pytest.mark.parametrize(
    "kw,arms",
    [
        ({"padding": 1, "padding_mode": "reflect"}, ("plain", "strips")),
        ({"padding": 1, "depth_multiplier": 2}, ("plain", "strips")),
        ({"padding": 1, "mid_activation": nn.GELU}, ("plain", "strips")),
        (
            {"padding": 1, "mid_norm": lambda c: nn.BatchNorm2d(c, track_running_stats=False)},
            ("plain", "strips"),
        ),
        ({"padding": 1, "mid_norm": lambda c: nn.GroupNorm(2, c)}, ("plain", "strips")),
        ({"padding": 1, "mid_norm": "left in training mode"}, ("plain", "strips")),
        ({"kernel_size": 4, "padding": "same"}, ("plain", "strips")),  # PyTorch pads unevenly
    ],
)
def test_what_cannot_be_fused_falls_back(kw, arms):
    kw = {"kernel_size": 3, **kw}
    train_norm = kw.get("mid_norm") == "left in training mode"
    if train_norm:  # a batch norm in training mode inside an eval layer: batch statistics
        kw["mid_norm"] = nn.BatchNorm2d
    layer = _layer(6, 10, kw.pop("kernel_size"), **kw)
    if train_norm:
        layer.norm.train()
    x = _input(2, 6, 9, 10)
    assert inference.applicable(layer, x) == arms
    plain, strips = _run(layer, x, "plain"), _run(layer, x, "strips")
    assert torch.equal(plain, _by_hand(layer, x))
    assert torch.allclose(strips, plain, rtol=1e-5, atol=1e-5)
    assert strips.is_contiguous(memory_format=CL)
    assert torch.equal(_run(layer, x, "fused"), plain)  # not applicable: the plain code


@pytest.mark.parametrize(
    "case,arms",
    [
        ("nchw", ("plain",)),
        ("float64", ("plain",)),
        ("both_orders", ("plain",)),
        ("pointwise_hook", ("plain",)),
        ("pointwise_subclass", ("plain",)),
        ("depthwise_hook", ("plain", "strips")),  # strips call the depthwise module: hooks run
        ("pointwise_parametrized", ("plain",)),
        ("depthwise_parametrized", ("plain", "strips")),
    ],
)
def test_only_what_applies_runs(case, arms):
    layer, x = _layer(6, 10, 3, padding=1), _input(2, 6, 9, 10)
    seen = []
    if case == "nchw":
        x = x.contiguous()
    elif case == "float64":
        layer, x = layer.double(), x.double()
    elif case == "both_orders":
        x = _input(2, 6, 1, 1)
    elif case == "pointwise_hook":
        layer.pointwise.register_forward_pre_hook(lambda m, i: seen.append(m))
    elif case == "depthwise_hook":
        layer.depthwise.register_forward_hook(lambda m, i, o: seen.append(m))
    elif case.endswith("parametrized"):

        class Doubled(nn.Module):
            def forward(self, weight):
                return 2 * weight

        step = layer.pointwise if case.startswith("pointwise") else layer.depthwise
        torch.nn.utils.parametrize.register_parametrization(step, "weight", Doubled())
    else:

        class Scaled(nn.Conv2d):
            def forward(self, t):
                return 2 * super().forward(t)

        old = layer.pointwise
        layer.pointwise = Scaled(6, 10, 1)
        layer.pointwise.load_state_dict(old.state_dict())
    if sgemm_address() == 0:
        arms = ("plain",)
    assert inference.applicable(layer, x) == arms
    with torch.no_grad():
        expected = _by_hand(layer, x)
    for arm in inference.ARMS:
        seen.clear()
        out = _run(layer, x, arm)
        if arm in arms and arm != "plain":
            assert torch.allclose(out, expected, rtol=1e-5, atol=1e-5)
        else:
            assert torch.equal(out, expected)
        assert len(seen) == (1 if "hook" in case else 0)  # hooks run on every arm


def test_forced_rejects_unknown_arms():
    with pytest.raises(ValueError, match="arm must be None or one of"):
        with inference.forced("fastest"):
            pass


# ----------------------------------------------------------------- the measured choice


def test_choice_keeps_plain_inside_the_margin_and_waits_for_samples():
    plain = [5.0, 1.0, 1.0, 1.0]
    assert inference.choose({"plain": plain, "fused": [5.0, 0.5, 0.5, 0.5]}, rounds=3) == "fused"
    assert inference.choose({"plain": plain, "fused": [5.0, 0.96, 0.96, 0.96]}, rounds=3) == "plain"
    assert inference.choose({"plain": plain, "fused": [5.0, 2.0, 2.0, 2.0]}, rounds=3) == "plain"
    three = {"plain": plain, "strips": [0.1, 0.8, 0.8, 0.8], "fused": [9.0, 0.7, 0.9, 0.7]}
    assert inference.choose(three, rounds=3) == "fused"
    assert inference.choose({"plain": plain, "fused": [5.0, 0.5]}, rounds=3) is None
    # the warm-up call is dropped: a slow first call does not count against an arm
    slow_first = {"plain": [0.1, 1.0, 1.0, 1.0], "strips": [50, 0.5, 0.5, 0.5]}
    assert inference.choose(slow_first, rounds=3) == "strips"


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["strips", "fused"]),
        st.lists(st.floats(1e-6, 1.0), min_size=inference.ROUNDS + 1, max_size=9),
        max_size=2,
    ),
    st.lists(st.floats(1e-6, 1.0), min_size=inference.ROUNDS + 1, max_size=9),
)
def test_choice_never_picks_an_arm_measured_slower_than_plain(others, plain):
    samples = {"plain": plain, **others}
    arm = inference.choose(samples)
    med = {a: float(np.median(t[1:])) for a, t in samples.items()}
    assert arm in samples
    assert med[arm] <= med["plain"]
    if arm != "plain":
        assert med[arm] < (1 - inference.MARGIN) * med["plain"]
        assert med[arm] == min(med.values())


def test_trial_calls_cycle_the_arms_then_keep_the_fastest(monkeypatch):
    """Injected costs on a fake clock: fused is slow here, strips fast, so strips are kept."""
    clock = [0.0]
    cost = {"plain": 1.0, "strips": 0.5, "fused": 3.0}
    ran = []

    def arm(name):
        def run(*args):
            ran.append(name)
            clock[0] += cost[name]
            return torch.zeros(1)

        return run

    monkeypatch.setattr(inference.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(inference, "applicable", lambda layer, x: inference.ARMS)
    monkeypatch.setattr(inference, "_strips", arm("strips"))
    monkeypatch.setattr(inference, "_fuse", arm("fused"))
    layer, x = _layer(4, 4, 3, padding=1), _input(1, 4, 5, 5)
    trials = len(inference.ARMS) * (inference.ROUNDS + 1)
    for _ in range(trials):
        inference.forward(layer, x, arm("plain"))
    assert sorted(ran) == sorted(inference.ARMS * (inference.ROUNDS + 1))
    assert ran[:3] == ["plain", "strips", "fused"]  # one of each before any repeats
    assert list(inference.chosen().values()) == ["strips"]
    ran.clear()
    for _ in range(5):
        inference.forward(layer, x, arm("plain"))
    assert ran == ["strips"] * 5
    # a different thread count is a different key: measured afresh
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        ran.clear()
        inference.forward(layer, x, arm("plain"))
        assert ran == ["plain"] and len(inference.chosen()) == 1
    finally:
        torch.set_num_threads(threads)


def test_the_choices_stay_bounded(monkeypatch):
    monkeypatch.setattr(inference, "MAX_CHOICES", 4)
    monkeypatch.setattr(inference, "applicable", lambda layer, x: inference.ARMS)
    monkeypatch.setattr(inference, "_strips", lambda layer, x: x)
    monkeypatch.setattr(inference, "_fuse", lambda layer, x: x)
    layer = _layer(4, 4, 3, padding=1)
    for size in range(3, 13):
        inference.forward(layer, _input(1, 4, size, size), lambda x: x)
        assert len(inference._choices) + len(inference._decided) <= 4


def test_a_slower_fused_arm_is_never_kept(monkeypatch):
    clock = [0.0]

    def timed(seconds):
        def run(*args):
            clock[0] += seconds
            return torch.zeros(1)

        return run

    monkeypatch.setattr(inference.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(inference, "applicable", lambda layer, x: inference.ARMS)
    monkeypatch.setattr(inference, "_strips", timed(1.02))
    monkeypatch.setattr(inference, "_fuse", timed(math.pi))
    layer, x = _layer(4, 4, 3, padding=1), _input(1, 4, 5, 5)
    for _ in range(len(inference.ARMS) * (inference.ROUNDS + 1)):
        inference.forward(layer, x, timed(1.0))
    assert list(inference.chosen().values()) == ["plain"]


def test_latency_measurement_waits_until_the_choice_is_made(monkeypatch):
    """sepconv.nn._latency.measure starts its clock only after the trial calls."""
    from sepconv.nn import _latency

    def arm(name):
        return lambda *args: torch.zeros(1)

    monkeypatch.setattr(inference, "applicable", lambda layer, x: inference.ARMS)
    monkeypatch.setattr(inference, "_strips", arm("strips"))
    monkeypatch.setattr(inference, "_fuse", arm("fused"))
    layer, x = _layer(4, 4, 3, padding=1), _input(1, 4, 5, 5)
    monkeypatch.setattr(layer, "_forward_plain", arm("plain"))
    inference.reset()
    pending_when_timed = []
    clock = _latency.time.perf_counter

    def timed():
        pending_when_timed.append(inference.pending())
        return clock()

    # _latency's own clock only (the trial calls time themselves with the real one).
    monkeypatch.setattr(_latency, "time", types.SimpleNamespace(perf_counter=timed))
    _latency.measure(layer, x, repeats=3)
    assert pending_when_timed and not any(pending_when_timed)
    assert len(inference.chosen()) == 1
