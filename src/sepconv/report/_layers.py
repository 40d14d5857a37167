"""Report section: depthwise separable layers -- the article's example and a model converted."""

from __future__ import annotations

from typing import Any

from .. import cost
from . import Context, Section
from ._html import escape, table

#: Input of the small model profiled below (one sample).
INPUT_SIZE = (3, 64, 64)


def small_mobilenet_like() -> Any:
    """A MobileNet-v1-shaped CNN built from *standard* 3 x 3 convolutions (random weights)."""
    import torch
    from torch import nn

    def block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
        return [
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        ]

    torch.manual_seed(0)
    return nn.Sequential(
        *block(3, 16, 2),
        *block(16, 32, 1),
        *block(32, 64, 2),
        *block(64, 64, 1),
        *block(64, 128, 2),
        *block(128, 128, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(128, 10),
    )


def build(ctx: Context) -> Section:
    from ..nn import convert, profile

    article = cost.depthwise((12, 12, 3), 256, 5)
    article_rows = [
        [
            "normal: 256 filters of 5x5x3",
            f"{article.normal.multiplications:,}",
            f"{article.normal.params:,}",
        ],
        [
            "depthwise: 3 filters of 5x5x1",
            f"{article.depthwise.multiplications:,}",
            f"{article.depthwise.params:,}",
        ],
        [
            "pointwise: 256 filters of 1x1x3",
            f"{article.pointwise.multiplications:,}",
            f"{article.pointwise.params:,}",
        ],
        [
            "depthwise separable (total)",
            f"{article.separable_multiplications:,}",
            f"{article.separable_params:,}",
        ],
    ]
    ctx.progress("  profiling the small MobileNet-like model")
    model = small_mobilenet_like()
    before = profile(model, INPUT_SIZE)
    converted, report = convert(model, kind="depthwise", depth_multiplier=1, input_size=INPUT_SIZE)
    after = profile(converted, INPUT_SIZE)
    _, exact_report = convert(model, kind="depthwise", depth_multiplier=9, input_size=INPUT_SIZE)

    def profile_table(p: Any) -> str:
        rows = [
            [
                layer.name,
                layer.type,
                "x".join(map(str, layer.output_shape[1:])),
                f"{layer.params:,}",
                f"{layer.multiplications:,}",
            ]
            for layer in p.layers
            if layer.params or layer.multiplications
        ]
        rows.append(["total", "", "", f"{p.params:,}", f"{p.multiplications:,}"])
        return table(["layer", "type", "output (C x H x W)", "weights", "MACs"], rows)

    conversion_rows = [
        [
            layer.name,
            f"{layer.in_channels}->{layer.out_channels}",
            f"{layer.error:.3f}",
            f"{exact_layer.error:.1e}",
            f"{layer.params_before:,}",
            f"{layer.params_after:,}",
            f"{layer.multiplications_before:,}",
            f"{layer.multiplications_after:,}",
            f"{layer.multiplications_before / layer.multiplications_after:.1f}x",
        ]
        for layer, exact_layer in zip(report.layers, exact_report.layers)
    ]
    shape = "x".join(map(str, INPUT_SIZE))
    html = (
        "<p>The article's example: a 12x12x3 input, 256 filters of 5x5, no padding, counted by "
        "<code>sepconv.cost.depthwise</code>. <code>sepconv.nn.DepthwiseSeparableConv2d(3, 256, "
        "5, bias=False)</code> has exactly these 75 + 768 weights.</p>"
        + table(["convolution", "multiplications", "weights"], article_rows)
        + f"<p>Separating needs {article.ratio:.1f}x fewer multiplications and "
        f"{article.normal.params / article.separable_params:.1f}x fewer weights. Reproduce: "
        "<code>sepconv cost depthwise --input 12x12x3 --out-channels 256 --kernel 5</code></p>"
        f"<h3>A small MobileNet-like model, input {escape(shape)}</h3>"
        "<p>Six 3x3 convolutions with BatchNorm and ReLU (random weights), profiled by "
        "<code>sepconv.profile</code> (layers without weights or MACs omitted):</p>"
        + profile_table(before)
        + "<p>After <code>sepconv.nn.convert(model, kind='depthwise', depth_multiplier=1)"
        "</code>: every 3x3 convolution is a depthwise + pointwise pair initialised with the "
        "least-squares best (SVD) weights:</p>"
        + profile_table(after)
        + "<p>Per converted layer: the relative weight error "
        "<code>||W - W_hat|| / ||W||</code> at depth multiplier 1 and at full rank "
        "(multiplier 9 = 3x3, which reproduces the layer exactly), weights and MACs.</p>"
        + table(
            [
                "layer",
                "channels",
                "error (M=1)",
                "error (M=9)",
                "weights before",
                "weights after",
                "MACs before",
                "MACs after",
                "saving",
            ],
            conversion_rows,
        )
        + "<p>The weights here are random, whose spectra are flat: rank 1 keeps little of "
        "them, so the M=1 errors are near their worst case. The conversion is a starting "
        "point for fine-tuning; the full-rank column shows the factorisation itself is exact."
        "</p>"
    )
    return Section(
        title="Depthwise separable layers in PyTorch",
        html=html,
        data={
            "article": article.to_dict(),
            "input_size": list(INPUT_SIZE),
            "profile_before": before.to_dict(),
            "profile_after": after.to_dict(),
            "separation": report.to_dict(),
            "separation_full_rank": exact_report.to_dict(),
        },
        summary=[
            (
                "depthwise separable layer: multiplications",
                f"{article.ratio:.1f}× fewer",
                "the article's 12×12×3 → 8×8×256 example, 5×5 filters",
            ),
            (
                "a small CNN after sepconv.nn.convert: MACs",
                f"{before.multiplications / after.multiplications:.1f}× fewer",
                f"{before.params / after.params:.1f}× fewer weights "
                f"({before.params:,} → {after.params:,})",
            ),
        ],
    )


__all__ = ["INPUT_SIZE", "build", "small_mobilenet_like"]
