"""Figures 1-3 of the article: a separable kernel, spatial convolution in two passes, Sobel."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import cost, kernels
from ..analysis import separate
from ._draw import (
    cells,
    check_odd,
    correlate,
    figure,
    image_2d,
    operator,
    product_row,
    sample,
    sepfilter,
    valid,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The kernel of the article's first figure: ``outer([3, 4, 5], [1, 2, 3])``.
ARTICLE_KERNEL = ((3, 6, 9), (4, 8, 12), (5, 10, 15))


# --------------------------------------------------------------------------- figure 1


def kernel_numbers(kernel: Any = None) -> dict[str, Any]:
    k = np.asarray(ARTICLE_KERNEL if kernel is None else kernel)
    if k.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {k.shape}")
    sep = separate(k)
    column, row = (np.asarray(f) for f in sep.factors)
    return {"kernel": k, "column": column, "row": row, "exact": sep.exact, "error": sep.error}


def separable_kernel(kernel: Any = None, *, small: bool = False) -> Figure:
    """Figure 1: a 2-D kernel shown as the outer product of a column and a row.

    The factors are those :func:`sepconv.separate` returns (exact integers for an integer
    kernel); the kernel drawn on the right is the input.

    Parameters
    ----------
    kernel : array_like, optional
        A separable 2-D kernel. Default :data:`ARTICLE_KERNEL`, ``outer([3, 4, 5], [1, 2, 3])``.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Axes labelled ``"column"``, ``"row"`` and ``"kernel"`` hold the numbers as texts.

    Raises
    ------
    NotSeparableError
        If the kernel is not rank 1.

    Examples
    --------
    >>> from sepconv import plot
    >>> fig = plot.separable_kernel(small=True)
    >>> column = next(ax for ax in fig.axes if ax.get_label() == "column")
    >>> [t.get_text() for t in column.texts]
    ['3', '4', '5']
    """
    d = kernel_numbers(kernel)
    k, column, row = d["kernel"], d["column"], d["row"]
    fig = figure((4.2, 1.9) if small else (6.4, 2.7))
    product_row(fig, column, row, k, fontsize=8 if small else 11)
    how = (
        "exact integer factors"
        if d["exact"] and column.dtype.kind in "iu"
        else ("exact factors" if d["exact"] else f"factors, relative error {d['error']:.1e}")
    )
    fig.suptitle(
        f"A rank-1 {k.shape[0]}×{k.shape[1]} kernel is a column times a row\n"
        f"(sepconv.separate: {how})",
        fontsize=8 if small else 11,
    )
    return fig


# --------------------------------------------------------------------------- figure 2


def article_image_5x5() -> np.ndarray:
    # The cameraman's head: 100x100 pixels averaged in 20x20 blocks and quantised to 0..9 so
    # that every number on the figure is a small integer.
    region = sample("camera")[60:160, 200:300].astype(np.float64)
    blocks = region.reshape(5, 20, 5, 20).mean(axis=(1, 3))
    return np.round(blocks / 255 * 9)


def spatial_numbers(image: Any = None, kernel: Any = None) -> dict[str, Any]:
    img = article_image_5x5() if image is None else image_2d(image)
    k = np.asarray(ARTICLE_KERNEL if kernel is None else kernel)
    if k.ndim != 2:
        raise ValueError(f"kernel must be 2-D, got shape {k.shape}")
    check_odd(k.shape, "kernel")
    if img.shape[0] < k.shape[0] or img.shape[1] < k.shape[1]:
        raise ValueError(f"image {img.shape} must be at least as large as the kernel {k.shape}")
    sep = separate(k)
    column, row = (np.asarray(f, dtype=np.float64) for f in sep.factors)
    direct = valid(correlate(img, k), k.shape)
    intermediate = valid(correlate(img, column[:, None]), (k.shape[0], 1))
    separable = valid(correlate(intermediate, row[None, :]), (1, k.shape[1]))
    counts = cost.spatial(img.shape, k.shape)
    return {
        "image": img,
        "kernel": k,
        "column": column,
        "row": row,
        "direct": direct,
        "intermediate": intermediate,
        "separable": separable,
        "cost": counts,
    }


def spatial_convolution(image: Any = None, kernel: Any = None, *, small: bool = False) -> Figure:
    """Figure 2: normal vs spatially separable convolution of a small image, with counts.

    Top: the image correlated with the whole kernel (``valid`` outputs only, as in the article).
    Bottom: the column pass gives the intermediate result, the row pass the same output.  The
    multiplication counts are :func:`sepconv.cost.spatial`'s.

    Parameters
    ----------
    image : array_like, optional
        A small 2-D image. Default: the cameraman's head from ``skimage.data.camera()``
        averaged down to 5x5 and quantised to 0..9.
    kernel : array_like, optional
        Separable kernel with odd sizes. Default :data:`ARTICLE_KERNEL`.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Top row: axes labelled ``"image"``, ``"kernel"``, ``"direct"`` and ``"normal count"``
        (text); bottom row: ``"image again"``, ``"column"``, ``"intermediate"``, ``"row"``,
        ``"separable"``; the pass counts are the texts of the axes labelled ``"counts"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sepconv import plot
    >>> fig = plot.spatial_convolution(np.arange(25).reshape(5, 5), small=True)
    >>> counts = next(ax for ax in fig.axes if ax.get_label() == "counts")
    >>> [t.get_text() for t in counts.texts][-1]
    'separable: 45 + 27 = 72 multiplications against 81 (1.12x fewer; sepconv.cost.spatial)'
    """
    d = spatial_numbers(image, kernel)
    c: cost.SpatialCost = d["cost"]
    fs = 7 if small else 10
    fig = figure((6.5, 5.2) if small else (11, 7.5))
    top, bottom, foot = fig.subfigures(3, 1, height_ratios=[1, 1, 0.32])
    img, k = d["image"], d["kernel"]
    kh, kw = k.shape
    vlim = (min(0.0, float(img.min())), float(img.max()) or 1.0)

    axes = top.subplots(
        1, 9, width_ratios=[img.shape[1], 1, kw, 1, 2, 1, 2, 1, d["direct"].shape[1]]
    )
    cells(
        axes[0],
        img,
        label="image",
        title=f"image {img.shape[0]}×{img.shape[1]}",
        fontsize=fs,
        cmap="gray",
        vlim=vlim,
    )
    operator(axes[1], "∗")
    cells(axes[2], k, label="kernel", title=f"kernel {kh}×{kw}", fontsize=fs)
    out = d["direct"]
    for ax in axes[3:7]:
        ax.axis("off")
    axes[3].set_label("normal count")
    axes[3].text(
        0.5,
        0.5,
        f"{out.shape[0]}×{out.shape[1]} outputs × {kh * kw} weights = {c.normal:,} multiplications",
        transform=axes[3].transAxes,
        ha="left",
        va="center",
        fontsize=fs + 1,
    )
    operator(axes[7], "=")
    cells(
        axes[8],
        out,
        label="direct",
        fontsize=fs,
        sequential="Oranges",
        title=f"output {out.shape[0]}×{out.shape[1]}",
    )
    top.suptitle(f"Normal convolution: every output multiplies {kh * kw} weights", fontsize=fs + 1)

    inter = d["intermediate"]
    axes = bottom.subplots(
        1,
        9,
        width_ratios=[img.shape[1], 1, 1, 1, inter.shape[1], 1, kw, 1, d["separable"].shape[1]],
    )
    cells(axes[0], img, label="image again", title="image", fontsize=fs, cmap="gray", vlim=vlim)
    operator(axes[1], "∗")
    cells(axes[2], d["column"][:, None], label="column", title=f"{kh}×1", fontsize=fs)
    operator(axes[3], "=")
    cells(
        axes[4],
        inter,
        label="intermediate",
        fontsize=fs,
        sequential="Purples",
        title=f"intermediate {inter.shape[0]}×{inter.shape[1]}",
    )
    operator(axes[5], "∗")
    cells(axes[6], d["row"][None, :], label="row", title=f"1×{kw}", fontsize=fs)
    operator(axes[7], "=")
    cells(
        axes[8],
        d["separable"],
        label="separable",
        fontsize=fs,
        sequential="Oranges",
        title="same output",
    )
    bottom.suptitle(
        f"Spatially separable: a {kh}×1 pass down the columns, then a 1×{kw} pass along the rows",
        fontsize=fs + 1,
    )

    ax = foot.subplots()
    ax.set_label("counts")
    ax.axis("off")
    (_, first), (_, second) = c.passes
    lines = [
        f"pass 1: {inter.shape[0]}×{inter.shape[1]} outputs × {kh} weights = {first:,};   "
        f"pass 2: {out.shape[0]}×{out.shape[1]} outputs × {kw} weights = {second:,}",
        f"separable: {first:,} + {second:,} = {c.separable:,} multiplications against "
        f"{c.normal:,} ({c.ratio:.2f}x fewer; sepconv.cost.spatial)",
    ]
    for i, line in enumerate(lines):
        ax.text(
            0.5,
            1 - i / 2,
            line,
            ha="center",
            va="top",
            fontsize=fs + 1,
            transform=ax.transAxes,
            weight="bold" if i == 1 else "normal",
        )
    return fig


# --------------------------------------------------------------------------- figure 3


def sobel_numbers(image: Any = None, small: bool = False) -> dict[str, Any]:
    if image is None:
        img = sample("camera").astype(np.float64)
        if small:
            img = img[::4, ::4]
    else:
        img = image_2d(image)
    sx, sy = separate(kernels.sobel(axis=-1)), separate(kernels.sobel(axis=0))
    gx = sepfilter(img, sx.factors)
    gy = sepfilter(img, sy.factors)
    return {
        "image": img,
        "kernel_x": kernels.sobel(axis=-1),
        "factors_x": sx.factors,
        "factors_y": sy.factors,
        "x": gx,
        "y": gy,
        "magnitude": np.hypot(gx, gy),
        "cost": cost.spatial(img.shape, (3, 3), padding=1),
    }


def sobel_filter(image: Any = None, *, small: bool = False) -> Figure:
    """Figure 3: the Sobel kernel, its exact integer factors, and what it finds in an image.

    Each derivative is computed as two 1-D passes with the factors from
    :func:`sepconv.separate` (``[1, 2, 1]`` across, ``[-1, 0, 1]`` along the derivative),
    ``reflect`` boundary; the result equals :func:`scipy.ndimage.sobel`.

    Parameters
    ----------
    image : array_like, optional
        2-D image. Default ``skimage.data.camera()`` (every 4th pixel with ``small``).
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Image axes labelled ``"image"``, ``"x"``, ``"y"``, ``"magnitude"``; factor axes
        ``"column"``, ``"row"``, ``"kernel"``.

    Examples
    --------
    >>> import numpy as np, scipy.ndimage as ndi
    >>> from sepconv import plot
    >>> img = np.random.default_rng(0).random((16, 16))
    >>> fig = plot.sobel_filter(img, small=True)
    >>> x = next(ax for ax in fig.axes if ax.get_label() == "x").images[0].get_array()
    >>> bool(np.allclose(x, ndi.sobel(img, axis=1)))
    True
    """
    d = sobel_numbers(image, small)
    c: cost.SpatialCost = d["cost"]
    fs = 7 if small else 10
    fig = figure((6.5, 3.4) if small else (11, 5.8))
    top, bottom = fig.subfigures(2, 1, height_ratios=[0.75, 1])
    column, row = (np.asarray(f) for f in d["factors_x"])
    product_row(top, column, row, d["kernel_x"], fontsize=fs + 1)
    top.suptitle(
        f"Sobel x = [{', '.join(map(str, column.tolist()))}]ᵀ × "
        f"[{', '.join(map(str, row.tolist()))}] (sepconv.separate, exact integers)\n"
        f"{c.separable // math.prod(c.output_shape)} "
        f"instead of {c.normal // math.prod(c.output_shape)} multiplications per pixel "
        f"({c.separable:,} vs {c.normal:,} on this {d['image'].shape[0]}×{d['image'].shape[1]} "
        "image, sepconv.cost.spatial)",
        fontsize=fs,
    )
    axes = bottom.subplots(1, 4)
    panels = (
        ("image", d["image"], "image", "gray", None),
        ("x", d["x"], "x derivative (column then row pass)", "gray", "signed"),
        ("y", d["y"], "y derivative ([-1,0,1]ᵀ × [1,2,1])", "gray", "signed"),
        ("magnitude", d["magnitude"], "magnitude √(x² + y²)", "magma", None),
    )
    for ax, (label, values, title, cmap, signed) in zip(axes, panels):
        m = float(np.abs(values).max()) or 1.0
        ax.imshow(
            values,
            cmap=cmap,
            vmin=-m if signed else None,
            vmax=m if signed else None,
            interpolation="nearest",
        )
        ax.set_label(label)
        ax.set_title(title, fontsize=fs)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
