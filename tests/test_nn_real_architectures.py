"""Real architectures (transformers, efficientnet_pytorch, timm-style layers) built from configs.

Two promises are checked on them, at even and odd input sizes:

* ``separate`` is exact or leaves a layer untouched: every ``nn.Conv2d`` of the model is either
  converted -- and at full rank the new layer's output equals the original's on the input the
  layer really gets in the model -- or listed in ``report.skipped`` with its reason.
* ``profile`` counts each convolution from the output it produced: its conv MACs equal
  fvcore's and torchinfo's.  Stated differences: torchinfo adds one MAC per output element
  for a bias, and fvcore has no rule for ``aten::_convolution_mode`` (``padding="same"``
  written as a string), which transformers' EfficientNet uses; there only torchinfo is
  compared.
"""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("efficientnet_pytorch")
import _real_nets  # noqa: E402
from _real_nets import REAL_ARCHITECTURES  # noqa: E402
from torch import nn  # noqa: E402

from sepconv.nn import convert, profile  # noqa: E402

SIZES = (32, 33)


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def layer_inputs(model, x):
    """The input of every nn.Conv2d (first call) when ``model`` runs ``x``."""
    seen = {}
    handles = [
        m.register_forward_pre_hook(lambda mod, args, name=name: seen.setdefault(name, args[0]))
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize("kind", ["depthwise", "spatial"])
@pytest.mark.parametrize("arch", sorted(REAL_ARCHITECTURES))
def test_every_convolution_is_converted_exactly_or_left_with_a_reason(arch, kind):
    model = REAL_ARCHITECTURES[arch]()
    full = {"depth_multiplier": 49} if kind == "depthwise" else {"rank_rtol": 1e-9}
    converted, report = convert(model, kind=kind, **full)
    convs = {name for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    done = {layer.name for layer in report.layers}
    left = {name for name, _ in report.skipped}
    assert done | left == convs and not done & left
    assert done, "every test architecture has a convolution to convert"
    for name, reason in report.skipped:
        original = model.get_submodule(name)
        assert reason
        assert converted.get_submodule(name) is not original  # a copy...
        assert type(converted.get_submodule(name)) is type(original)  # ...of the same layer
    for size in SIZES:
        x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))
        inputs = layer_inputs(model, x)
        for layer in report.layers:
            if layer.name not in inputs:
                continue
            with torch.no_grad():
                want = model.get_submodule(layer.name)(inputs[layer.name])
                got = converted.get_submodule(layer.name)(inputs[layer.name])
            assert got.shape == want.shape, (layer.name, size)
            scale = float(want.abs().max())
            assert float((got - want).abs().max()) <= 2e-4 * scale, (layer.name, size)
        with torch.no_grad():
            want, got = model(x), converted(x)
        want = want[0] if isinstance(want, tuple) else getattr(want, "last_hidden_state", want)
        got = got[0] if isinstance(got, tuple) else getattr(got, "last_hidden_state", got)
        assert torch.allclose(got, want, rtol=1e-3, atol=1e-3 * float(want.abs().max()))


def test_timm_style_layers_are_recognised_and_unknown_forwards_left_alone():
    model = _real_nets.timm_like()
    _, report = convert(model)
    notes = {layer.name: layer.note for layer in report.layers}
    assert notes == {
        "0": "weight standardisation",
        "2": "TF 'SAME' padding",
        "4": "weight standardisation",
    }
    reasons = dict(report.skipped)
    assert "does not know" in reasons["5"] and "ScaledOutputConv2d" in reasons["5"]
    assert "grouped" in reasons["6"]
    assert "left as they are (2)" in str(report)
    with pytest.raises(ValueError, match="'5'.*cannot be converted.*does not know"):
        convert(model, include=["5"])


def test_a_known_name_with_other_behaviour_is_detected_not_guessed():
    class Conv2dSame(nn.Conv2d):  # timm's name, but it does not pad as timm's does
        def forward(self, x):
            return super().forward(x)[..., 1:, 1:]

    Conv2dSame.__module__ = "timm.layers.conv2d_same"
    Conv2dSame.__qualname__ = "Conv2dSame"
    model = nn.Sequential(Conv2dSame(3, 4, 3, stride=2))
    _, report = convert(model)
    assert not report.layers
    assert "does not reproduce it" in report.skipped[0][1]


def test_a_convolution_with_forward_hooks_is_left_alone():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    model[0].register_forward_hook(lambda m, a, o: o * 2)
    _, report = convert(model)
    assert not report.layers and "hooks" in report.skipped[0][1]


def fvcore_conv(model, x):
    fvcore = pytest.importorskip("fvcore.nn")
    analysis = fvcore.FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.by_operator().get("conv", 0), analysis.unsupported_ops()


@pytest.mark.parametrize("arch", sorted(REAL_ARCHITECTURES))
def test_conv_macs_equal_fvcore_and_torchinfo(arch):
    torchinfo = pytest.importorskip("torchinfo")
    model = REAL_ARCHITECTURES[arch]()
    for size in SIZES:
        x = torch.zeros(1, 3, size, size)
        ours = profile(model, (3, size, size))
        conv_rows = [row for row in ours.layers if row.rule == "conv"]
        macs = sum(row.multiplications for row in conv_rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = torchinfo.summary(model, input_data=[x], verbose=0)
            fv, unsupported = fvcore_conv(model, x)
        rows = [r for r in summary.summary_list if isinstance(r.module, nn.Conv2d)]
        # torchinfo's stated extra: one MAC per output element of a biased convolution.
        bias = sum(
            r.module.out_channels * int(torch.tensor(r.output_size[2:]).prod()) * r.output_size[0]
            for r in rows
            if r.module.bias is not None
        )
        assert macs == sum(r.macs for r in rows) - bias, size
        if "aten::_convolution_mode" in unsupported:
            assert fv < macs  # fvcore misses the string-padded convolutions, as stated
        else:
            assert macs == fv, size


@pytest.mark.parametrize("arch", ["hf_bit", "effnet_dynamic", "timm_like"])
def test_data_aware_conversion_of_padded_and_standardised_layers_stays_exact_at_full_rank(arch):
    model = REAL_ARCHITECTURES[arch]()
    calibration = torch.randn(2, 3, 33, 33, generator=torch.Generator().manual_seed(0))
    _, report = convert(model, depth_multiplier=49, calibration=calibration)
    assert report.init == "data" and report.layers
    for layer in report.layers:
        assert layer.output_error is not None and layer.output_error < 1e-3, layer.name


@pytest.mark.parametrize("arch", ["hf_bit", "effnet_dynamic", "effnet_static"])
def test_each_convolution_counts_what_torchprofile_traces_on_its_real_input(arch):
    torchprofile = pytest.importorskip("torchprofile")
    model = REAL_ARCHITECTURES[arch]()
    x = torch.zeros(1, 3, 33, 33)
    inputs = layer_inputs(model, x)
    rows = {row.name: row for row in profile(model, (3, 33, 33)).layers if row.rule == "conv"}
    assert set(rows) == set(inputs)
    for name, row in rows.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = torchprofile.profile_macs(model.get_submodule(name), inputs[name])
        # torchprofile also counts the scalar multiplications of a padding computed in
        # forward (two for a TF "SAME" layer: one per axis); nothing else differs.
        assert 0 <= theirs - row.multiplications <= 2, name
