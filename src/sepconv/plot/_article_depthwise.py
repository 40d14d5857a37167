"""Figures 4-6 of the article: depthwise and pointwise convolution, and upscaling."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import cost, kernels
from ._draw import (
    CHANNEL_MAPS,
    cells,
    check_odd,
    correlate,
    figure,
    mosaic,
    operator,
    sample,
    stack,
    valid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Seed of the pointwise filters in figures 5 and 6: stand-ins for learned weights.
POINTWISE_SEED = 20230126

# --------------------------------------------------------------------------- figures 4-6


def article_rgb() -> np.ndarray:
    # Chelsea the cat's face, 240x240 pixels averaged in 20x20 blocks: a real 12x12x3 input.
    region = sample("chelsea")[30:270, 120:360].astype(np.float64)
    return np.round(region.reshape(12, 20, 12, 20, 3).mean(axis=(1, 3)))


def depthwise_filters(kernel_size: int, channels: int) -> list[np.ndarray]:
    r = kernel_size // 2
    sigma = max(r / 2, 0.5)
    bank = [
        kernels.gaussian(sigma, ndim=2, radius=r),
        kernels.gaussian(sigma, order=(0, 1), radius=r),
        kernels.log(sigma, ndim=2, truncate=r / sigma),
    ]
    return [bank[i % len(bank)] for i in range(channels)]


def depthwise_numbers(
    image: Any = None, filters: Sequence[Any] | None = None, kernel_size: int = 5
) -> dict[str, Any]:
    if not isinstance(kernel_size, numbers.Integral) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd positive integer, got {kernel_size!r}")
    img = article_rgb() if image is None else np.asarray(image, dtype=np.float64)
    if img.ndim != 3 or not 1 <= img.shape[2] <= 4:
        raise ValueError(
            f"image must be H x W x C with 1 to 4 channels (one row of the figure each), "
            f"got shape {img.shape}"
        )
    channels = img.shape[2]
    if filters is None:
        bank = depthwise_filters(kernel_size, channels)
    else:
        bank = [np.asarray(f, dtype=np.float64) for f in filters]
        if len(bank) != channels or any(f.ndim != 2 for f in bank):
            raise ValueError(
                f"filters must be {channels} 2-D kernels, one per channel of image; got {len(bank)}"
            )
        for f in bank:
            check_odd(f.shape, "filters")
    if any(img.shape[0] < f.shape[0] or img.shape[1] < f.shape[1] for f in bank):
        raise ValueError(f"image {img.shape[:2]} must be at least as large as every filter")
    maps = [valid(correlate(img[..., c], f), f.shape) for c, f in enumerate(bank)]
    if len({m.shape for m in maps}) != 1:
        raise ValueError("filters must all have the same shape")
    return {"image": img, "filters": bank, "maps": np.stack(maps, axis=-1)}


def pointwise_weights(n_filters: int, channels: int) -> np.ndarray:
    rng = np.random.default_rng(POINTWISE_SEED)
    return np.round(rng.standard_normal((n_filters, channels)) / math.sqrt(channels), 2)


def maps_input(maps: Any) -> np.ndarray:
    if maps is None:
        return depthwise_numbers()["maps"]
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim != 3:
        raise ValueError(f"maps must be H x W x C, got shape {m.shape}")
    return m


def depthwise_convolution(
    image: Any = None,
    filters: Sequence[Any] | None = None,
    *,
    kernel_size: int = 5,
    small: bool = False,
) -> Figure:
    """Figure 4: depthwise convolution, one k x k filter per channel, one map per channel.

    Each channel of a real image is correlated with its own filter (``valid`` outputs, so
    12x12 becomes 8x8 with 5x5 filters, as in the article).

    Parameters
    ----------
    image : array_like, optional
        ``H x W x C`` image, 1 to 4 channels. Default: Chelsea the cat
        (``skimage.data.chelsea()``) averaged down to 12x12x3.
    filters : sequence of array_like, optional
        One odd-sized 2-D kernel per channel. Default: a Gaussian, a Gaussian x-derivative and
        a Laplacian of Gaussian of size ``kernel_size`` (from :mod:`sepconv.kernels`).
    kernel_size : int
        Size of the default filters (odd). Default 5.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Per channel ``c``: axes labelled ``"input c"``, ``"filter c"``, ``"output c"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import plot
    >>> rgb = np.random.default_rng(0).random((7, 7, 3))
    >>> fig = plot.depthwise_convolution(rgb, kernel_size=3, small=True)
    >>> out = next(ax for ax in fig.axes if ax.get_label() == "output 0").images[0]
    >>> out.get_array().shape
    (5, 5)
    """
    d = depthwise_numbers(image, filters, kernel_size)
    img, bank, maps = d["image"], d["filters"], d["maps"]
    channels = img.shape[2]
    fs = 5 if small else 7
    fig = figure((5.5, 1.6 * channels + 0.5) if small else (10, 2.9 * channels + 0.6))
    h, w = img.shape[:2]
    kh, kw = bank[0].shape
    axes = fig.subplots(channels, 5, width_ratios=[w, 2, kw * 1.6, 2, maps.shape[1]], squeeze=False)
    for c in range(channels):
        cmap = CHANNEL_MAPS[c] if channels > 1 else "Greys"
        cells(
            axes[c, 0],
            img[..., c],
            label=f"input {c}",
            cmap=cmap,
            fontsize=fs - 1.5,
            numbers_=not small,
            title=f"input channel {c + 1} ({h}×{w})",
        )
        operator(axes[c, 1], "∗", size=14)
        cells(
            axes[c, 2],
            bank[c],
            label=f"filter {c}",
            fontsize=fs,
            title=f"filter {c + 1} ({kh}×{kw}×1)",
        )
        operator(axes[c, 3], "=", size=14)
        cells(
            axes[c, 4],
            maps[..., c],
            label=f"output {c}",
            sequential="Oranges",
            fontsize=fs,
            numbers_=not small,
            title=f"map {c + 1} ({maps.shape[0]}×{maps.shape[1]})",
        )
    counts = cost.depthwise((h, w, channels), channels, (kh, kw))
    fig.suptitle(
        f"Depthwise convolution: {channels} channels, {channels} filters of {kh}×{kw}×1, "
        f"{channels} maps ({counts.depthwise.multiplications:,} multiplications)",
        fontsize=fs + 3,
    )
    return fig


def pointwise_numbers(maps: Any = None, weights: Sequence[float] | None = None) -> dict[str, Any]:
    m = maps_input(maps)
    channels = m.shape[2]
    if weights is None:
        w = pointwise_weights(1, channels)[0]
    else:
        w = np.asarray(weights, dtype=np.float64)
    if w.shape != (channels,):
        raise ValueError(f"weights must hold {channels} numbers (one per channel), got {w.shape}")
    return {"maps": m, "weights": w, "output": np.tensordot(m, w, axes=([2], [0]))}


def pointwise_convolution(
    maps: Any = None, weights: Sequence[float] | None = None, *, small: bool = False
) -> Figure:
    """Figure 5: a pointwise (1x1xC) convolution mixing C maps into one.

    Every output pixel is the weighted sum of the C values at the same pixel.

    Parameters
    ----------
    maps : array_like, optional
        ``H x W x C`` input. Default: the 8x8x3 output of :func:`depthwise_convolution`.
    weights : sequence of float, optional
        The C weights of the filter. Default: filter 1 of :func:`pointwise_upscale` (seeded
        random numbers standing in for learned weights).
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Axes labelled ``"input"`` (one image per channel), ``"weights"``, ``"output"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import plot
    >>> maps = np.ones((4, 4, 3))
    >>> fig = plot.pointwise_convolution(maps, [1.0, 2.0, 3.0], small=True)
    >>> out = next(ax for ax in fig.axes if ax.get_label() == "output").images[0]
    >>> float(out.get_array().max())
    6.0
    """
    d = pointwise_numbers(maps, weights)
    m, w, out = d["maps"], d["weights"], d["output"]
    channels = m.shape[2]
    fs = 6 if small else 9
    fig = figure((5.5, 2.2) if small else (10, 3.8))
    axes = fig.subplots(1, 5, width_ratios=[m.shape[1] * 1.5, 0.6, 1.2, 0.6, m.shape[1]])
    stack(axes[0], m, label="input", title=f"input {m.shape[0]}×{m.shape[1]}×{channels}", fs=fs)
    operator(axes[1], "∗")
    cells(axes[2], w[:, None], label="weights", title=f"1×1×{channels}", fontsize=fs)
    operator(axes[3], "=")
    cells(
        axes[4],
        out,
        label="output",
        sequential="Oranges",
        fontsize=fs - 2,
        numbers_=not small,
        title=f"output {out.shape[0]}×{out.shape[1]}×1",
    )
    fig.suptitle(
        f"Pointwise convolution: each output pixel = Σ weight × the {channels} values at that "
        f"pixel ({out.size * channels:,} multiplications)",
        fontsize=fs + 1,
    )
    return fig


def upscale_numbers(maps: Any, n_filters: int, kernel_size: int) -> dict[str, Any]:
    m = maps_input(maps)
    if not isinstance(n_filters, numbers.Integral) or n_filters < 1:
        raise ValueError(f"n_filters must be a positive integer, got {n_filters!r}")
    h, w, c = m.shape
    weights = pointwise_weights(int(n_filters), c)
    out = np.einsum("hwc,nc->hwn", m, weights)
    counts = cost.depthwise(
        (h + kernel_size - 1, w + kernel_size - 1, c), int(n_filters), kernel_size
    )
    return {"maps": m, "weights": weights, "output": out, "cost": counts}


def pointwise_upscale(
    maps: Any = None, n_filters: int = 256, *, kernel_size: int = 5, small: bool = False
) -> Figure:
    """Figure 6: 256 pointwise filters turn 8x8x3 into 8x8x256, and what that saves.

    The counts are :func:`sepconv.cost.depthwise` for the whole layer the article builds:
    12x12x3 to 8x8x256 with 5x5 filters, 1,228,800 multiplications for the normal convolution
    against 4,800 + 49,152 = 53,952 for depthwise then pointwise.

    Parameters
    ----------
    maps : array_like, optional
        ``H x W x C`` input of the pointwise step. Default: the 8x8x3 output of
        :func:`depthwise_convolution`.
    n_filters : int
        Number of pointwise filters (output channels). Default 256.
    kernel_size : int
        Size of the depthwise filters that made ``maps``, for the counts. Default 5.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Axes labelled ``"input"``, ``"weights"`` (``C x n_filters`` image), ``"output"`` (the
        maps tiled 16 per row, each scaled to its own range [0, 1], NaN between tiles) and
        ``"counts"`` (texts).

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import plot
    >>> fig = plot.pointwise_upscale(np.ones((8, 8, 3)), small=True)
    >>> counts = next(ax for ax in fig.axes if ax.get_label() == "counts")
    >>> [t.get_text() for t in counts.texts][3:6]
    ['normal: 256 filters of 5×5×3', '1,228,800', '19,200']
    """
    d = upscale_numbers(maps, n_filters, kernel_size)
    m, weights, out, c = d["maps"], d["weights"], d["output"], d["cost"]
    n = weights.shape[0]
    fs = 6 if small else 9
    fig = figure((7, 3.2) if small else (12, 5.4))
    top, foot = fig.subfigures(2, 1, height_ratios=[1, 0.55])
    columns = max(1, math.ceil(math.sqrt(n)))
    axes = top.subplots(1, 5, width_ratios=[1.3, 0.25, 1.6, 0.25, 2])
    stack(axes[0], m, label="input", title=f"input {m.shape[0]}×{m.shape[1]}×{m.shape[2]}", fs=fs)
    operator(axes[1], "∗")
    lim = float(np.abs(weights).max()) or 1.0
    ax = axes[2]
    ax.imshow(weights.T, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    ax.set_label("weights")
    ax.set_title(f"{n} filters of 1×1×{m.shape[2]}", fontsize=fs)
    ax.set_yticks(range(m.shape[2]), [f"ch {i + 1}" for i in range(m.shape[2])], fontsize=fs - 1)
    ax.set_xlabel("filter", fontsize=fs - 1)
    ax.tick_params(labelsize=fs - 1)
    operator(axes[3], "=")
    ax = axes[4]
    ax.imshow(mosaic(out, columns), cmap="viridis", interpolation="nearest")
    ax.set_label("output")
    ax.set_title(
        f"output {out.shape[0]}×{out.shape[1]}×{n}\n({columns} maps per row, each "
        "scaled to its own range)",
        fontsize=fs,
    )
    ax.axis("off")

    ax = foot.subplots()
    ax.set_label("counts")
    ax.axis("off")
    hi, wi, ci = c.input_shape
    ho, wo, no = c.output_shape
    k = kernel_size
    rows = [
        (f"{hi}×{wi}×{ci} → {ho}×{wo}×{no}", "multiplications", "weights"),
        (
            f"normal: {no} filters of {k}×{k}×{ci}",
            f"{c.normal.multiplications:,}",
            f"{c.normal.params:,}",
        ),
        (
            f"depthwise: {ci} filters of {k}×{k}×1",
            f"{c.depthwise.multiplications:,}",
            f"{c.depthwise.params:,}",
        ),
        (
            f"pointwise: {no} filters of 1×1×{ci}",
            f"{c.pointwise.multiplications:,}",
            f"{c.pointwise.params:,}",
        ),
        (
            "depthwise separable total",
            f"{c.separable_multiplications:,}",
            f"{c.separable_params:,}",
        ),
        (
            f"{c.ratio:.1f}x fewer multiplications",
            "",
            f"{c.normal.params / c.separable_params:.1f}x fewer weights",
        ),
    ]
    for i, (name, mults, params) in enumerate(rows):
        y = 1 - i / len(rows)
        weight = "bold" if i in (0, 4, 5) else "normal"
        ax.text(0.12, y, name, ha="left", va="top", fontsize=fs + 1, weight=weight)
        ax.text(0.62, y, mults, ha="right", va="top", fontsize=fs + 1, weight=weight)
        ax.text(0.85, y, params, ha="right", va="top", fontsize=fs + 1, weight=weight)
    return fig
