"""sepconv.nn.convert: exact at full rank, optimal (Eckart–Young) below it, honest report."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from _torch_nets import ARCHITECTURES, INPUT_SIZE  # noqa: E402
from torch import nn  # noqa: E402

from sepconv.nn import (  # noqa: E402
    DepthwiseSeparableConv2d,
    SpatialSeparableConv2d,
    convert,
    profile,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
    ),
]


def conv(c=6, o=10, k=(3, 3), seed=0, dtype=torch.float64, **kwargs):
    torch.manual_seed(seed)
    return nn.Conv2d(c, o, k, dtype=dtype, **kwargs)


def reconstructed_weight(layer):
    """The dense weight a converted layer applies, from its parameters (einsum by hand)."""
    if isinstance(layer, DepthwiseSeparableConv2d):
        m = layer.depth_multiplier
        d = layer.depthwise.weight.reshape(layer.in_channels, m, *layer.kernel_size)
        p = layer.pointwise.weight[:, :, 0, 0].reshape(layer.out_channels, layer.in_channels, m)
        return torch.einsum("ocm,cmij->ocij", p, d)
    return torch.einsum(
        "okj,kci->ocij", layer.horizontal.weight[:, :, 0, :], layer.vertical.weight[:, :, :, 0]
    )


def optimal_error(weight, kind, rank):
    """Eckart–Young: the smallest relative error any layer of that rank can reach."""
    w = weight.detach().double().numpy()
    o, c, kh, kw = w.shape
    if kind == "depthwise":
        s = np.concatenate(
            [np.linalg.svd(w[:, ci].reshape(o, -1), compute_uv=False)[rank:] for ci in range(c)]
        )
    else:
        s = np.linalg.svd(w.transpose(1, 2, 0, 3).reshape(c * kh, o * kw), compute_uv=False)[rank:]
    return float(np.sqrt((s**2).sum()) / np.linalg.norm(w))


def true_error(original, layer):
    w = original.weight.detach().double()
    return float(
        torch.linalg.vector_norm(w - reconstructed_weight(layer).detach().double())
        / torch.linalg.vector_norm(w)
    )


@pytest.mark.parametrize(
    "kind,rank_kwargs",
    [
        ("depthwise", {"depth_multiplier": 9}),  # min(out_channels=10, 3*3)
        ("depthwise", {"depth_multiplier": 12}),  # beyond full rank: still exact
        ("spatial", {"mid_channels": 18}),  # min(6*3, 10*3)
        ("spatial", {"mid_channels": 25}),
    ],
)
@pytest.mark.parametrize(
    "layer_kwargs",
    [
        {},
        {"stride": 2, "padding": 1},
        {"padding": 2, "dilation": 2, "padding_mode": "reflect"},
        {"padding": "same", "padding_mode": "circular", "bias": False},
    ],
)
def test_full_rank_reproduces_the_original_outputs(kind, rank_kwargs, layer_kwargs):
    original = conv(**layer_kwargs)
    x = torch.randn(2, 6, 13, 12, dtype=torch.float64)
    new, report = convert(original, kind=kind, **rank_kwargs)
    expected_type = DepthwiseSeparableConv2d if kind == "depthwise" else SpatialSeparableConv2d
    assert type(new) is expected_type
    torch.testing.assert_close(new(x), original(x), atol=1e-12, rtol=1e-12)
    assert report.layers[0].error < 1e-13
    assert report.layers[0].rank == next(iter(rank_kwargs.values()))
    assert report.layers[0].full_rank == (9 if kind == "depthwise" else 18)


@pytest.mark.parametrize(
    "kind,rank_kwargs",
    [
        ("depthwise", {"depth_multiplier": 1}),
        ("depthwise", {"depth_multiplier": 4}),
        ("spatial", {"mid_channels": 3}),
        ("spatial", {"mid_channels": 10}),
    ],
)
@pytest.mark.parametrize(
    "layer_kwargs",
    [
        {"padding": 1},
        {"stride": (2, 1), "padding": (1, 2), "padding_mode": "replicate"},
        {"dilation": 2, "bias": False},
    ],
)
def test_converted_output_is_the_convolution_with_reconstructed_weights(
    kind, rank_kwargs, layer_kwargs
):
    original = conv(k=(3, 5), **layer_kwargs)
    new, report = convert(original, kind=kind, **rank_kwargs)
    x = torch.randn(2, 6, 14, 15, dtype=torch.float64)
    w_hat = reconstructed_weight(new)
    reference = nn.Conv2d(6, 10, (3, 5), dtype=torch.float64, **layer_kwargs)
    with torch.no_grad():
        reference.weight.copy_(w_hat)
        if original.bias is not None:
            reference.bias.copy_(original.bias)
    torch.testing.assert_close(new(x), reference(x), atol=1e-12, rtol=1e-12)
    # The reported error is the true error, and it is the least any such layer can reach.
    layer = report.layers[0]
    rank = next(iter(rank_kwargs.values()))
    assert layer.error == pytest.approx(true_error(original, new), rel=1e-9)
    assert layer.error == pytest.approx(optimal_error(original.weight, kind, rank), rel=1e-7)
    assert 0 < layer.error < 1


def test_svd_init_uses_unit_depthwise_filters_and_scaled_pointwise_weights():
    original = conv()
    new, _ = convert(original, depth_multiplier=2)
    w = original.weight.detach().numpy()
    d = new.depthwise.weight.detach().numpy().reshape(6, 2, 9)
    p = new.pointwise.weight.detach().numpy()[:, :, 0, 0].reshape(10, 6, 2)
    for ci in range(6):
        u, s, vt = np.linalg.svd(w[:, ci].reshape(10, 9))
        for m in range(2):
            sign = np.sign(d[ci, m] @ vt[m])  # singular vectors are defined up to sign
            np.testing.assert_allclose(d[ci, m], sign * vt[m], atol=1e-12)
            np.testing.assert_allclose(p[:, ci, m], sign * u[:, m] * s[m], atol=1e-12)


@pytest.mark.parametrize("kind", ["depthwise", "spatial"])
@pytest.mark.parametrize("rtol", [0.05, 0.3, 0.7])
def test_rank_rtol_picks_the_smallest_rank_meeting_it(kind, rtol):
    original = conv(c=5, o=8)
    new, report = convert(original, kind=kind, rank_rtol=rtol)
    rank = report.layers[0].rank
    assert report.layers[0].error <= rtol
    assert optimal_error(original.weight, kind, rank) <= rtol
    if rank > 1:
        assert optimal_error(original.weight, kind, rank - 1) > rtol


def test_default_mid_channels_halves_the_multiplications():
    original = conv(c=16, o=16)
    _, report = convert(original, kind="spatial")
    layer = report.layers[0]
    assert layer.rank == 16 * 16 * 9 // (2 * (16 * 3 + 16 * 3))
    assert layer.multiplications_after <= layer.multiplications_before / 2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["depthwise", "spatial"])
def test_keeps_arguments_dtype_device_and_training_flag(device, kind):
    original = nn.Conv2d(
        4,
        6,
        (3, 5),
        stride=(2, 1),
        padding=(1, 2),
        dilation=(1, 2),
        padding_mode="reflect",
        bias=True,
        device=device,
        dtype=torch.float64,
    )
    original.eval()
    new, _ = convert(original, kind=kind, depth_multiplier=2, mid_channels=5)
    assert not new.training
    assert {p.dtype for p in new.parameters()} == {torch.float64}
    assert {p.device.type for p in new.parameters()} == {torch.device(device).type}
    assert (new.kernel_size, new.stride, new.padding, new.dilation, new.padding_mode) == (
        (3, 5),
        (2, 1),
        (1, 2),
        (1, 2),
        "reflect",
    )
    second = new.pointwise if kind == "depthwise" else new.horizontal
    torch.testing.assert_close(second.bias, original.bias)
    x = torch.randn(1, 4, 9, 11, device=device, dtype=torch.float64)
    assert new(x).shape == original(x).shape


def test_selection_rules_and_include():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1),  # 0: eligible
        nn.Conv2d(8, 8, 3, padding=1, groups=8),  # 1: grouped, skipped
        nn.Conv2d(8, 8, 1),  # 2: 1x1, skipped
        DepthwiseSeparableConv2d(8, 8, 3, padding=1),  # 3: already separable
        SpatialSeparableConv2d(8, 8, 3, mid_channels=4, padding=1),  # 4: already separable
        nn.Conv2d(8, 8, 5, padding=2),  # 5: eligible
    )
    new, report = convert(model)
    assert [layer.name for layer in report.layers] == ["0", "5"]
    assert type(new[1]) is nn.Conv2d and type(new[2]) is nn.Conv2d
    assert type(new[4].vertical) is nn.Conv2d  # the inner k x 1 conv is left alone
    _, again = convert(new)
    assert again.layers == ()  # idempotent

    _, by_name = convert(model, include=["2", "5"])
    assert [layer.name for layer in by_name.layers] == ["2", "5"]
    seen = []
    _, by_callable = convert(model, include=lambda name, m: seen.append(name) or name != "0")
    # Called for groups=1 convolutions only, including those inside sepconv layers.
    assert "1" not in seen and "3.depthwise" not in seen and "4.vertical" in seen
    assert [layer.name for layer in by_callable.layers] == [
        "2",
        "3.pointwise",
        "4.vertical",
        "4.horizontal",
        "5",
    ]
    with pytest.raises(ValueError, match="groups=8"):
        convert(model, include=["1"])
    with pytest.raises(ValueError, match="not an nn.Conv2d"):
        convert(model, include=["7"])
    with pytest.raises(TypeError, match="include"):
        convert(model, include="5")


def test_inplace_and_copy():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    weight = model[0].weight.detach().clone()
    new, _ = convert(model)
    assert type(model[0]) is nn.Conv2d and torch.equal(model[0].weight, weight)
    assert new is not model
    same, _ = convert(model, inplace=True)
    assert same is model and isinstance(model[0], DepthwiseSeparableConv2d)


def test_shared_convolution_is_converted_once_everywhere():
    shared = nn.Conv2d(4, 4, 3, padding=1)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    new, report = convert(model)
    assert len(report.layers) == 1
    assert new[0] is new[2] and isinstance(new[0], DepthwiseSeparableConv2d)


def test_random_init_builds_fresh_layers_and_reports_their_true_error():
    original = conv()
    new, report = convert(original, init="random", depth_multiplier=9)
    svd, _ = convert(original, init="svd", depth_multiplier=9)
    assert not torch.allclose(new.pointwise.weight, svd.pointwise.weight)
    assert report.layers[0].error == pytest.approx(true_error(original, new), rel=1e-9)
    assert report.layers[0].error > 0.5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("kind", ["depthwise", "spatial"])
def test_architectures_stay_runnable_with_the_claimed_counts(device, arch, kind):
    torch.manual_seed(0)
    model = ARCHITECTURES[arch]().to(device).eval()
    new, report = convert(model, kind=kind, input_size=INPUT_SIZE)
    assert report.layers, "every test architecture has a convertible convolution"
    x = torch.randn(2, *INPUT_SIZE, device=device)
    assert new(x).shape == model(x).shape
    assert {p.device.type for p in new.parameters()} == {torch.device(device).type}
    after, before = profile(new, INPUT_SIZE), profile(model, INPUT_SIZE)
    assert report.model_multiplications_after == after.multiplications
    assert report.model_multiplications_before == before.multiplications
    assert report.model_params_after == after.params == sum(p.numel() for p in new.parameters())
    saved = report.multiplications_before - report.multiplications_after
    assert before.multiplications - after.multiplications == saved
    for layer in report.layers:
        module = new.get_submodule(layer.name)
        assert layer.params_after == sum(p.numel() for p in module.parameters())
        assert layer.multiplications_after == sum(
            row.multiplications for row in after.layers if row.name.startswith(layer.name + ".")
        )


def test_per_position_multiplications_without_input_size():
    _, report = convert(conv(c=3, o=256, k=5, dtype=torch.float32, bias=False))
    layer = report.layers[0]
    # The article's layer per output pixel: 5*5*3*256 vs 5*5*3 + 3*256.
    assert (layer.multiplications_before, layer.multiplications_after) == (19200, 843)
    assert (layer.params_before, layer.params_after) == (19200, 843)


def test_report_table_and_json():
    _, report = convert(
        nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3)), input_size=(3, 10, 10)
    )
    text = str(report)
    assert "total" in text and "MACs before" in text and "for input 3x10x10" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert len(data["layers"]) == 2
    assert data["totals"]["multiplications_before"] == report.multiplications_before


def test_bad_arguments():
    model = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match="kind"):
        convert(model, kind="channel")
    with pytest.raises(ValueError, match="init"):
        convert(model, init="zeros")
    with pytest.raises(ValueError, match="mid_channels or rank_rtol"):
        convert(model, kind="spatial", mid_channels=2, rank_rtol=0.1)
    with pytest.raises(ValueError, match="rank_rtol"):
        convert(model, rank_rtol=-1)
    with pytest.raises(TypeError, match="model"):
        convert("conv")


def smooth_images(n, c, size, seed):
    """Correlated inputs, like natural images: white noise blurred by a 5 x 5 box."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, size + 4, size + 4, generator=g, dtype=torch.float64)
    return torch.nn.functional.avg_pool2d(x, 5, stride=1)


def brute_output_error(original, new, x):
    with torch.no_grad():
        y = original(x)
        return float(torch.linalg.vector_norm(y - new(x)) / torch.linalg.vector_norm(y))


@pytest.mark.parametrize(
    "kind,rank_kwargs",
    [("depthwise", {"depth_multiplier": 1}), ("spatial", {"mid_channels": 4})],
)
@pytest.mark.parametrize(
    "layer_kwargs", [{}, {"stride": 2, "padding": 1, "padding_mode": "reflect"}]
)
def test_data_aware_factors_lower_the_output_error_on_seen_and_new_data(
    kind, rank_kwargs, layer_kwargs
):
    model = nn.Sequential(conv(6, 10, seed=3, **layer_kwargs))
    calibration = smooth_images(16, 6, 12, seed=0)
    held_out = smooth_images(16, 6, 12, seed=1)
    weight_space, svd_report = convert(
        model, kind, init="svd", calibration=calibration, **rank_kwargs
    )
    fitted, data_report = convert(model, kind, calibration=calibration, **rank_kwargs)
    assert (svd_report.init, data_report.init) == ("svd", "data")
    for report, converted in ((svd_report, weight_space), (data_report, fitted)):
        reported = report.layers[0].output_error
        assert reported == pytest.approx(
            brute_output_error(model, converted, calibration), rel=1e-6
        )
    assert data_report.layers[0].output_error < 0.8 * svd_report.layers[0].output_error
    assert brute_output_error(model, fitted, held_out) < brute_output_error(
        model, weight_space, held_out
    )
    # The weight error is what data-aware factors give up, never the output error.
    assert data_report.layers[0].error >= svd_report.layers[0].error - 1e-9


@pytest.mark.parametrize(
    "kind,rank_kwargs",
    [("depthwise", {"depth_multiplier": 9}), ("spatial", {"mid_channels": 18})],
)
def test_data_aware_factors_stay_exact_at_full_rank(kind, rank_kwargs):
    model = nn.Sequential(conv(6, 10, seed=4, padding=1))
    calibration = smooth_images(4, 6, 8, seed=2)
    fitted, report = convert(model, kind, calibration=calibration, **rank_kwargs)
    assert report.layers[0].output_error < 1e-5
    assert brute_output_error(model, fitted, smooth_images(4, 6, 9, seed=3)) < 1e-5


def test_each_layer_is_fitted_to_the_original_model_on_the_converted_inputs():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(4, 8, 3, padding=1, dtype=torch.float64),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, dtype=torch.float64),
    )
    calibration = smooth_images(8, 4, 10, seed=5)
    fitted, report = convert(model, depth_multiplier=1, calibration=calibration)
    assert [layer.name for layer in report.layers] == ["0", "2"]
    with torch.no_grad():
        target = model[2](model[1](model[0](calibration)))  # the original's output of layer 2
        got = fitted[2](fitted[1](fitted[0](calibration)))  # on what the converted model feeds it
    error = float(torch.linalg.vector_norm(target - got) / torch.linalg.vector_norm(target))
    assert report.layers[1].output_error == pytest.approx(error, rel=1e-6)
    assert "output error" in str(report)
    assert json.loads(json.dumps(report.to_dict()))["totals"]["max_output_error"] > 0


def test_bad_calibration_is_named():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="give calibration"):
        convert(model, init="data")
    with pytest.raises(TypeError, match="calibration must be a tensor"):
        convert(model, calibration=3)
    with pytest.raises(ValueError, match=r"calibration batches must have shape \(N, 3, 8, 8\)"):
        convert(model, calibration=torch.zeros(2, 3, 9, 9), input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="fails on a calibration batch of shape"):
        convert(model, calibration=torch.zeros(2, 5, 9, 9))
    with pytest.raises(ValueError, match="calibration is empty"):
        convert(model, calibration=[])
    with pytest.raises(ValueError, match="floating-point"):
        convert(model, calibration=torch.zeros(2, 3, 9, 9, dtype=torch.int64))
    # (inputs, labels) pairs, as a DataLoader yields them, are accepted
    _, report = convert(model, calibration=[(torch.randn(2, 3, 9, 9), torch.zeros(2))])
    assert report.layers[0].output_error is not None


def test_budget_converts_only_layers_measured_faster_and_never_slows_the_model():
    from sepconv.nn import Budget

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 64, 3, padding=1)
    ).eval()
    converted, report = convert(model, input_size=(3, 24, 24), budget="speedup=4")
    assert report.latency_before is not None and report.latency_after is not None
    assert report.latency_after <= report.latency_before
    convs = {"0", "2"}
    assert {layer.name for layer in report.layers} | {n for n, _ in report.skipped} == convs
    for layer in report.layers:
        assert layer.latency_after < layer.latency_before
    for name, reason in report.skipped:
        assert "faster" in reason or "target" in reason or "error" in reason, reason
        assert type(converted.get_submodule(name)) is nn.Conv2d
    _, strict = convert(model, input_size=(3, 24, 24), budget=Budget(max_error=1e-9))
    assert all(layer.error <= 1e-6 for layer in strict.layers)
    x = torch.randn(1, 3, 24, 24)
    with torch.no_grad():
        assert converted(x).shape == model(x).shape


def test_bad_budget_is_named():
    from sepconv.nn import Budget

    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    with pytest.raises(ValueError, match="give input_size"):
        convert(model, budget="speedup=2")
    with pytest.raises(ValueError, match="budget must look like"):
        convert(model, budget="fast", input_size=(3, 8, 8))
    with pytest.raises(ValueError, match="speedup must be a number > 1"):
        Budget(speedup=0.5)
    with pytest.raises(ValueError, match="exactly one of"):
        Budget()
    with pytest.raises(TypeError, match="budget must be a Budget"):
        convert(model, budget=2, input_size=(3, 8, 8))


def test_budget_undoes_a_conversion_measured_slower_end_to_end(monkeypatch):
    import sepconv.nn._convert as convert_module

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(8, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1)
    )
    import sepconv.nn._latency as latency_module

    # Every layer measured faster, the whole model then measured no faster (fake clocks:
    # real timings on a shared machine would make this test flaky).
    monkeypatch.setattr(
        latency_module, "measure", lambda m, *a, **k: 1.0 if type(m) is nn.Conv2d else 0.1
    )
    monkeypatch.setattr(convert_module, "measure", lambda *args, **kwargs: 1e6)
    converted, report = convert(model.eval(), input_size=(8, 32, 32), budget="speedup=50")
    assert not report.layers
    assert report.latency_after == report.latency_before
    assert all(type(converted.get_submodule(n)) is nn.Conv2d for n in ("0", "2"))
    reasons = dict(report.skipped)
    assert any("did not make the model faster" in r for r in reasons.values()), reasons


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_data_aware_output_error_never_grows_with_the_depth_multiplier(seed):
    # More filters per channel can only help: the study's x2 must not be worse than x1.
    model = nn.Sequential(conv(8, 12, seed=seed, padding=1))
    calibration = smooth_images(16, 8, 10, seed=seed)
    errors = []
    for multiplier in (1, 2, 4, 9):
        fitted, report = convert(model, depth_multiplier=multiplier, calibration=calibration)
        errors.append(brute_output_error(model, fitted, calibration))
        assert report.layers[0].output_error == pytest.approx(errors[-1], rel=1e-6)
    assert all(b <= a * (1 + 1e-9) for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-6 < errors[0]


def test_budget_fits_only_the_candidates_measured_faster(monkeypatch):
    import sepconv.nn._convert as convert_module
    import sepconv.nn._latency as latency_module

    model = nn.Sequential(
        conv(8, 16, seed=5, padding=1), nn.ReLU(), conv(16, 16, seed=6, padding=1)
    )
    calibration = smooth_images(4, 8, 10, seed=4)

    def clock(module, *args, **kwargs):
        # Fake clocks: only multiplier 1 beats the original layer.
        if type(module) is nn.Conv2d:
            return 1.0
        if isinstance(module, DepthwiseSeparableConv2d):
            step = module.depthwise
            return 0.5 if step.out_channels == step.in_channels else 2.0
        return 0.1  # the whole model

    fits = []
    real_fit = convert_module.fit_layer
    monkeypatch.setattr(latency_module, "measure", clock)
    monkeypatch.setattr(convert_module, "measure", lambda *args, **kwargs: 0.05)
    monkeypatch.setattr(
        convert_module, "fit_layer", lambda *a, **k: fits.append(a[2]) or real_fit(*a, **k)
    )
    converted, report = convert(
        model, input_size=(8, 10, 10), calibration=calibration, budget="error=10"
    )
    # One fit per layer while planning (multiplier 1; 2, 4 and 9 were slower), one to convert.
    assert len(fits) == 4
    assert all(f.out_channels == f.in_channels for f in fits)
    assert [layer.rank for layer in report.layers] == [1, 1]
    # The same factors as the plain data-aware conversion at that multiplier.
    plain, _ = convert(model, depth_multiplier=1, calibration=calibration)
    with torch.no_grad():
        torch.testing.assert_close(converted(calibration), plain(calibration))
