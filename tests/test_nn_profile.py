"""sepconv.profile: per-layer counts against fvcore, thop and hand-derived formulas.

Deliberate differences from the independent counters, checked below:

* fvcore traces ATen operators, so it sees everything; we see module calls only
  (a residual ``x + y`` is not counted by either: fvcore ignores ``aten::add``).
  Convolution and linear counts agree exactly, per layer and in total.
* thop looks modules up by *exact* type, so it skips subclasses of ``nn.Conv2d``
  such as our ``DepthwiseConv2d`` / ``PointwiseConv2d`` unless given
  ``custom_ops``; with them, its convolution and linear counts agree with ours.
* thop counts BatchNorm as 4 operations per element with an affine scale
  (2 "norm" ops, doubled); we and fvcore count 2 multiplications.
"""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from _torch_nets import ARCHITECTURES, INPUT_SIZE, BasicBlock  # noqa: E402
from torch import nn  # noqa: E402

import sepconv  # noqa: E402
from sepconv import cost  # noqa: E402
from sepconv.nn import (  # noqa: E402
    DepthwiseConv2d,
    DepthwiseSeparableConv2d,
    PointwiseConv2d,
    Profile,
    profile,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
    ),
]


def fvcore_by_module(model, x):
    fvcore = pytest.importorskip("fvcore.nn")
    analysis = fvcore.FlopCountAnalysis(model, (x,))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    return analysis.by_module(), analysis.by_operator()


def thop_by_module(model, x):
    thop = pytest.importorskip("thop")
    from thop.vision.basic_hooks import count_convNd

    custom = {DepthwiseConv2d: count_convNd, PointwiseConv2d: count_convNd}
    _, _, tree = thop.profile(model, (x,), custom_ops=custom, verbose=False, ret_layer_info=True)
    flat = {}

    def walk(prefix, node):
        for name, (ops, _, children) in node.items():
            full = f"{prefix}.{name}" if prefix else name
            flat[full] = ops
            walk(full, children)

    walk("", tree)
    return flat


def test_article_example():
    layer = DepthwiseSeparableConv2d(3, 256, 5, bias=False)
    p = profile(nn.Sequential(layer), (3, 12, 12))
    assert [(r.name, r.multiplications, r.params) for r in p.layers] == [
        ("0.depthwise", 4800, 75),
        ("0.pointwise", 49152, 768),
    ]
    normal = profile(nn.Conv2d(3, 256, 5, bias=False), (3, 12, 12))
    assert normal.multiplications == 1_228_800 == cost.conv2d((3, 12, 12), 256, 5).multiplications
    assert normal.params == 19_200
    assert p.layers[1].output_shape == (1, 256, 8, 8)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_conv_and_linear_counts_match_fvcore_and_thop(arch):
    torch.manual_seed(0)
    model = ARCHITECTURES[arch]().eval()
    x = torch.zeros(2, *INPUT_SIZE)
    ours = profile(model, INPUT_SIZE, batch_size=2)
    fv_modules, fv_ops = fvcore_by_module(model, x)
    th_modules = thop_by_module(model, x)
    counted = [row for row in ours.layers if row.rule in ("conv", "linear")]
    assert len(counted) >= 4
    for row in counted:
        assert row.multiplications == fv_modules[row.name], row.name
        assert row.multiplications == th_modules[row.name], row.name
    assert sum(r.multiplications for r in counted) == fv_ops["conv"] + fv_ops["linear"]
    # fvcore's BatchNorm rule (eval mode) is ours: 2 per element with an affine scale.
    norms = [row for row in ours.layers if row.rule == "norm"]
    assert sum(r.multiplications for r in norms) == fv_ops.get("batch_norm", 0)
    for row in norms:  # the stated difference: thop counts twice as many
        assert th_modules[row.name] == 2 * row.multiplications, row.name
    assert ours.params == sum(p.numel() for p in model.parameters())


def test_grouped_and_depthwise_convs_follow_the_formula():
    for groups in (1, 2, 4, 8):
        layer = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=groups)
        p = profile(layer, (8, 15, 17))
        h, w = (15 + 2 - 3) // 2 + 1, (17 + 2 - 3) // 2 + 1
        assert p.multiplications == h * w * 16 * (8 // groups) * 9
        assert p.params == 16 * (8 // groups) * 9 + 16


@pytest.mark.parametrize("kernel,dilation", [(3, 1), (4, 1), ((2, 5), (3, 1))])
def test_same_and_valid_padding(kernel, dilation):
    layer = nn.Conv2d(3, 5, kernel, padding="same", dilation=dilation)
    p = profile(layer, (3, 10, 11))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    assert p.layers[0].output_shape == (1, 5, 10, 11)
    assert p.multiplications == 10 * 11 * 5 * 3 * kh * kw
    valid = profile(nn.Conv2d(3, 5, kernel, padding="valid", dilation=dilation), (3, 10, 11))
    out = valid.layers[0].output_shape
    assert valid.multiplications == math.prod(out) * 3 * kh * kw


def test_conv1d_and_linear_on_sequences():
    model = nn.Sequential(
        nn.Conv1d(4, 6, 5, stride=2, padding=1), nn.Flatten(1, 1), nn.Linear(11, 7)
    )
    p = profile(model, (4, 23))
    length = (23 + 2 - 5) // 2 + 1
    assert length == 11
    assert p["0"].multiplications == length * 6 * 4 * 5
    assert p["2"].multiplications == 6 * 11 * 7  # one row of 11 features per channel


def test_norm_pool_and_activation_rules():
    model = nn.Sequential(
        nn.BatchNorm2d(4),
        nn.BatchNorm2d(4, affine=False),
        nn.GroupNorm(2, 4),
        nn.ReLU(),
        nn.AvgPool2d(3, stride=2),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d((3, 2)),
        nn.Flatten(),
        nn.LayerNorm(24),
    )
    p = profile(model, (4, 21, 22))
    numel = 4 * 21 * 22
    assert [p[n].multiplications for n in "0123"] == [2 * numel, numel, 2 * numel, 0]
    pooled = p["4"].output_shape
    assert p["4"].multiplications == math.prod(pooled) * 9
    assert p["5"].multiplications == 0
    assert p["8"].multiplications == 2 * 24
    assert p["6"].rule == "avgpool"


@pytest.mark.parametrize("n,o", [(10, 5), (7, 3), (5, 7), (13, 4)])
def test_adaptive_average_pooling_counts_its_exact_windows(n, o):
    # Pool one-hot inputs: output i is non-zero exactly when input j is in window i.
    membership = F.adaptive_avg_pool1d(torch.eye(n)[:, None, :], o)
    expected_1d = int((membership != 0).sum())
    p = profile(nn.AdaptiveAvgPool2d((o, o)), (2, n, n))
    assert p.multiplications == 2 * expected_1d * expected_1d


def test_activation_memory_and_aliasing_outputs():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.ReLU(inplace=True),
        nn.ReLU(),
        nn.Identity(),
        nn.Flatten(),
        nn.Dropout(),
    ).double()
    p = profile(model, (3, 10, 10), batch_size=3)
    conv_bytes = 3 * 4 * 8 * 8 * 8
    assert [p[n].activation_bytes for n in "012345"] == [conv_bytes, 0, conv_bytes, 0, 0, 0]
    assert p.activation_bytes == 2 * conv_bytes


def test_uncounted_modules_are_listed():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ConvTranspose2d(4, 2, 3))
    p = profile(model, (3, 8, 8))
    assert p.uncounted == ("1",)
    assert p["1"].multiplications == 0 and p["1"].rule == "uncounted"
    assert "no counting rule" in str(p)


def test_shared_module_calls_and_batch_size():
    shared = nn.Conv2d(4, 4, 3, padding=1)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    p = profile(model, (4, 6, 6))
    assert [r.name for r in p.layers] == ["0", "1", "0 (call 2)"]
    assert p.params == sum(r.params for r in p.layers) == 4 * 4 * 9 + 4
    assert p.multiplications == 2 * 36 * 4 * 4 * 9
    assert profile(model, (4, 6, 6), batch_size=5).multiplications == 5 * p.multiplications


def test_training_flag_is_restored_and_model_unchanged():
    block = BasicBlock(8, 8).train()
    state = {k: v.clone() for k, v in block.state_dict().items()}
    profile(block, (8, 5, 5))
    assert block.training and all(m.training for m in block.modules())
    for key, value in block.state_dict().items():
        assert torch.equal(value, state[key]), key  # eval mode: running stats untouched
    assert not block._forward_hooks and not block.conv1._forward_hooks


@pytest.mark.parametrize("device", DEVICES)
def test_runs_on_the_model_device_and_dtype(device):
    model = ARCHITECTURES["mobilenet"]().to(device=device, dtype=torch.float64)
    p = profile(model, INPUT_SIZE)
    conv = p["0"]
    assert conv.activation_bytes == math.prod(conv.output_shape) * 8


def test_table_and_json():
    p = profile(ARCHITECTURES["vgg"](), INPUT_SIZE)
    text = str(p)
    assert text.splitlines()[0].split() == [
        "layer",
        "type",
        "output",
        "weights",
        "MACs",
        "activations",
    ]
    assert f"{p.multiplications:,}" in text.splitlines()[-2]
    data = json.loads(p.to_json())
    assert data["totals"] == {
        "params": p.params,
        "multiplications": p.multiplications,
        "activation_bytes": p.activation_bytes,
    }
    assert "conv" in data["rules"] and len(data["layers"]) == len(p.layers)
    assert isinstance(p, Profile)


def test_sepconv_profile_and_bad_arguments():
    model = nn.Conv2d(3, 4, 3)
    assert sepconv.profile(model, (3, 8, 8)).multiplications == 36 * 4 * 27
    with pytest.raises(TypeError, match="input_size"):
        profile(model, 224)
    with pytest.raises(ValueError, match="input_size"):
        profile(model, (3, 0, 8))
    with pytest.raises(TypeError, match="model"):
        profile("resnet", (3, 8, 8))
    with pytest.raises(KeyError, match="no layer named"):
        profile(model, (3, 8, 8))["nope"]
