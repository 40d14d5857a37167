"""Report section: the six figures of the article, recomputed by sepconv."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.ndimage as ndi

from .. import plot
from ..plot import _article as article
from . import Context, Section
from ._html import png_figure

#: Resolution of the report's PNGs: sharp on a laptop, light enough for one page.
DPI = 110


def _command(name: str) -> str:
    return f"sepconv figure {name} --out {name}.png"


def _list(values: Any) -> str:
    return "[" + ", ".join(str(v) for v in np.asarray(values).tolist()) + "]"


def build(ctx: Context) -> Section:
    one = article.kernel_numbers()
    two = article.spatial_numbers()
    three = article.sobel_numbers()
    four = article.depthwise_numbers()
    five = article.pointwise_numbers()
    six = article.upscale_numbers(None, 256, 5)
    ctx.progress("  computed the article's numbers")

    c2, c3, c6 = two["cost"], three["cost"], six["cost"]
    (_, pass1), (_, pass2) = c2.passes
    sobel_x = ndi.sobel(three["image"], axis=1)
    sobel_y = ndi.sobel(three["image"], axis=0)
    sobel_diff = float(max(np.abs(three["x"] - sobel_x).max(), np.abs(three["y"] - sobel_y).max()))
    pixels = int(np.prod(c3.output_shape))
    h, w = three["image"].shape
    weights5 = ", ".join(f"{v:g}" for v in five["weights"])

    figures = [
        (
            "separable-kernel",
            "Figure 1. A 3×3 kernel as a 3×1 column times a 1×3 row",
            plot.separable_kernel(),
            f"The article's kernel {_list(one['kernel'])} has rank 1: sepconv.separate returns "
            f"the integer column {_list(one['column'])} and row {_list(one['row'])}, and their "
            "outer product rebuilds every cell exactly (verified in integer arithmetic). "
            "Filtering with the column and then with the row gives the same result as "
            f"filtering with the whole kernel, with {one['column'].size} + {one['row'].size} "
            f"weights instead of {one['kernel'].size}.",
        ),
        (
            "spatial-convolution",
            "Figure 2. Normal vs spatially separable convolution of a 5×5 image",
            plot.spatial_convolution(),
            "The cameraman's head from skimage.data.camera(), averaged to 5×5 and quantised "
            "to 0-9, filtered without padding (only the outputs whose window fits, as in the "
            f"article). Normal: 3×3 outputs × 9 weights = {c2.normal} multiplications. "
            f"Separable: the 3×1 pass down the columns makes the 3×5 intermediate ({pass1}), "
            f"the 1×3 pass along the rows the 3×3 output ({pass2}): {c2.separable} in all, "
            f"{c2.ratio:.2f}× fewer, and the outputs are identical. On a 5×5 image the saving "
            "is small because the first pass still covers full rows; per output pixel it is "
            "k² against 2k weights, so it grows with the kernel "
            "(`sepconv cost spatial --image 5x5 --kernel 3x3` counts any shape).",
        ),
        (
            "sobel",
            "Figure 3. The Sobel kernel, its integer factors, applied to an image",
            plot.sobel_filter(),
            f"Sobel x is the smoothing column {_list(three['factors_x'][0])} times the central "
            f"difference row {_list(three['factors_x'][1])}: exact integer factors from "
            f"sepconv.separate. Run as two 1-D passes over the {h}×{w} camera image "
            "(reflect boundary) it responds to vertical edges; Sobel y, its transpose, to "
            "horizontal ones; √(x² + y²) is the edge strength. The passes need "
            f"{c3.separable // pixels} instead of {c3.normal // pixels} multiplications per "
            f"pixel ({c3.separable:,} vs {c3.normal:,} for this image), and the result equals "
            f"scipy.ndimage.sobel (largest difference {sobel_diff:g}).",
        ),
        (
            "depthwise",
            "Figure 4. Depthwise convolution: one filter per channel",
            plot.depthwise_convolution(),
            "A depthwise convolution does not mix channels: each of the 3 colour channels of a "
            "12×12 picture of Chelsea the cat (skimage.data.chelsea(), averaged in 20×20 "
            "blocks; the numbers are its real pixel values) is filtered by its own 5×5×1 "
            "filter (a Gaussian blur, a Gaussian x-derivative and a Laplacian of Gaussian from "
            "sepconv.kernels), giving three 8×8 maps. That costs 8×8 × 3 × 25 = "
            f"{c6.depthwise.multiplications:,} multiplications.",
        ),
        (
            "pointwise",
            "Figure 5. Pointwise convolution: a 1×1×3 filter makes one map",
            plot.pointwise_convolution(),
            "A pointwise convolution is a 1×1 filter through all the channels: each output "
            "pixel is the weighted sum of the 3 values at the same pixel of the depthwise maps "
            f"(weights {weights5}, a seeded stand-in for learned weights). It mixes channels "
            f"without looking at neighbours: 8×8 × 3 = {five['output'].size * 3} "
            "multiplications.",
        ),
        (
            "pointwise-upscale",
            "Figure 6. 256 pointwise filters: 8×8×3 becomes 8×8×256",
            plot.pointwise_upscale(),
            "Running 256 pointwise filters turns the 8×8×3 maps into 8×8×256 "
            f"({c6.pointwise.multiplications:,} multiplications). With the depthwise step "
            f"({c6.depthwise.multiplications:,}) the depthwise separable layer needs "
            f"{c6.separable_multiplications:,} multiplications where a normal convolution with "
            f"256 filters of 5×5×3 needs {c6.normal.multiplications:,}: {c6.ratio:.1f}× fewer, "
            f"and {c6.separable_params:,} weights instead of {c6.normal.params:,}. The normal "
            "convolution transforms the image 256 times; the separable one transforms it once "
            "and then stretches it to 256 channels. The counts are sepconv.cost.depthwise's "
            "(`sepconv cost depthwise --input 12x12x3 --out-channels 256 --kernel 5`).",
        ),
    ]
    html = [
        "<p>The six ideas of the article sepconv grew from, each drawn from a computation "
        "run now: factors from <code>sepconv.separate</code>, multiplication counts from "
        "<code>sepconv.cost</code>, filtering with the same rules as scipy.ndimage, on real "
        "images shipped with scikit-image.</p>"
    ]
    for name, title, fig, caption in figures:
        html.append(
            png_figure(fig, caption, _command(name), DPI, title=title, figure_id=f"fig-{name}")
        )
        ctx.progress(f"  drew {name}")

    data = {
        "separable_kernel": {k: one[k] for k in ("kernel", "column", "row", "exact")},
        "spatial_convolution": {
            **{k: two[k] for k in ("image", "kernel", "column", "row", "intermediate")},
            "direct": two["direct"],
            "separable": two["separable"],
            "cost": c2.to_dict(),
        },
        "sobel": {
            "image_shape": [h, w],
            "factors_x": [f.tolist() for f in three["factors_x"]],
            "factors_y": [f.tolist() for f in three["factors_y"]],
            "cost": c3.to_dict(),
            "max_abs_difference_vs_scipy_sobel": sobel_diff,
        },
        "depthwise": {
            "image": four["image"],
            "filters": [f.tolist() for f in four["filters"]],
            "maps": four["maps"],
        },
        "pointwise": {"weights": five["weights"], "output": five["output"]},
        "pointwise_upscale": {
            "n_filters": int(six["weights"].shape[0]),
            "weights": six["weights"],
            "cost": c6.to_dict(),
        },
        "commands": {name: _command(name) for name, *_ in figures},
    }
    return Section(
        title="The article, recomputed",
        html="".join(html),
        data=data,
        summary=[
            (
                "Sobel: multiplications per pixel",
                f"{c3.separable // pixels} instead of {c3.normal // pixels}",
                "two exact integer passes, the same result as scipy.ndimage.sobel",
            ),
        ],
    )


__all__ = ["build"]
