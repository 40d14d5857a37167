"""Drawing helpers shared by the figures: numbered cells, operators, stacks, sample images.

matplotlib is imported inside the functions: importing this module imports only NumPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

# Relative singular values (and errors) below this are drawn on the floor of the log axis.
FLOOR = 1e-17
OPERATOR_SIZE = 20
DARK_TEXT, LIGHT_TEXT = "#111111", "#ffffff"
COLORS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def figure(size: tuple[float, float]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained")


def sample(name: str) -> np.ndarray:
    try:
        from skimage import data
    except ImportError as exc:
        raise ImportError(
            f"the default image is scikit-image's {name!r}: install it with "
            "pip install 'sepconv[data]', or pass image=... yourself"
        ) from exc
    return getattr(data, name)()


def image_2d(image: Any, name: str = "image") -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 2 or min(array.shape) < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {array.shape}")
    if array.dtype.kind not in "iuf" and array.dtype != bool:
        raise TypeError(f"{name} must be real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def correlate(image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Correlation with sepconv's engine (scipy.ndimage's rules), reflect boundary."""
    from ..filters import correlate

    return correlate(image, np.asarray(weights, dtype=np.float64), mode="reflect")


def sepfilter(image: np.ndarray, factors: Sequence[np.ndarray]) -> np.ndarray:
    """Filtering with one 1-D factor per axis, axis 0 first, reflect boundary."""
    from ..filters import sepfilter

    return sepfilter(image, [np.asarray(v, dtype=np.float64) for v in factors], mode="reflect")


def valid(array: np.ndarray, kernel_shape: Sequence[int]) -> np.ndarray:
    """The outputs whose window lies inside the input (odd kernel sizes)."""
    index = tuple(slice(k // 2, n - k // 2) for n, k in zip(array.shape, kernel_shape))
    return array[index]


def check_odd(shape: Sequence[int], name: str) -> None:
    if any(k % 2 == 0 for k in shape):
        raise ValueError(
            f"{name} must have odd sizes so its centre is a pixel, got shape {tuple(shape)}"
        )


def is_integral(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def fmt(value: float, integral: bool) -> str:
    if integral:
        return str(int(round(value)))
    if value == 0:
        return "0"
    return f"{value:.3g}" if abs(value) >= 1e-3 else f"{value:.1e}"


def cells(
    ax: Axes,
    values: Any,
    *,
    label: str,
    title: str | None = None,
    cmap: str | None = None,
    sequential: str = "Blues",
    numbers_: bool = True,
    fontsize: float = 9,
    vlim: tuple[float, float] | None = None,
) -> None:
    """A matrix drawn as coloured cells, with each value written in its cell.

    Signed values get a diverging colour map centred on 0 unless ``cmap`` is given, others the
    ``sequential`` one.  ``label`` names the axes so that
    tests and readers can find it (``fig.axes`` by ``get_label()``).
    """
    from matplotlib import colormaps

    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[None, :]
    signed = v.min() < 0 < v.max()
    if vlim is None:
        if signed:
            m = float(np.abs(v).max())
            vlim = (-m, m)
        else:
            vlim = (min(0.0, float(v.min())), float(v.max()) or 1.0)
    cmap = cmap or ("RdBu_r" if signed else sequential)
    ax.imshow(v, cmap=cmap, vmin=vlim[0], vmax=vlim[1], interpolation="nearest")
    ax.set_label(label)
    ax.set_xticks(np.arange(-0.5, v.shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, v.shape[0], 1), minor=True)
    ax.grid(which="minor", color="#888888", linewidth=0.6)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize + 1)
    if not numbers_:
        return
    integral = is_integral(v)
    colours = colormaps[cmap]
    span = (vlim[1] - vlim[0]) or 1.0
    for (i, j), value in np.ndenumerate(v):
        r, g, b, _ = colours((value - vlim[0]) / span)
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(
            j,
            i,
            fmt(value, integral),
            ha="center",
            va="center",
            fontsize=fontsize,
            color=LIGHT_TEXT if dark else DARK_TEXT,
        )


def operator(ax: Axes, symbol: str, size: float = OPERATOR_SIZE) -> None:
    ax.set_label(f"operator {symbol}")
    ax.axis("off")
    ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=size, transform=ax.transAxes)


def product_row(
    parent: Figure | SubFigure,
    column: np.ndarray,
    row: np.ndarray,
    kernel: np.ndarray,
    fontsize: float,
) -> None:
    """``column (n x 1) x row (1 x m) = kernel (n x m)`` across one row of axes."""
    n, m = kernel.shape
    axes = parent.subplots(1, 5, width_ratios=[1, 0.5, m, 0.5, m])
    cells(axes[0], column[:, None], label="column", title=f"{n}×1", fontsize=fontsize)
    operator(axes[1], "×")
    cells(axes[2], row[None, :], label="row", title=f"1×{m}", fontsize=fontsize)
    operator(axes[3], "=")
    cells(axes[4], kernel, label="kernel", title=f"{n}×{m} kernel", fontsize=fontsize)


CHANNEL_MAPS = ("Reds", "Greens", "Blues", "Greys")


def stack(ax: Axes, maps: np.ndarray, *, label: str, title: str, fs: float) -> None:
    """``H x W x C`` maps drawn as a slanted stack, first channel in front.

    The images are labelled ``"channel i"``.
    """
    from matplotlib.patches import Rectangle

    h, w, c = maps.shape
    step = 0.22 * w
    for i in reversed(range(c)):
        x0, y0 = i * step, i * step
        cmap = CHANNEL_MAPS[i] if c <= 4 else "Greys"
        ax.imshow(
            maps[..., i],
            cmap=cmap,
            extent=(x0, x0 + w, y0, y0 + h),
            interpolation="nearest",
            zorder=c - i,
            label=f"channel {i}",
        )
        ax.add_patch(
            Rectangle((x0, y0), w, h, fill=False, edgecolor="#333333", linewidth=0.8, zorder=c - i)
        )
    ax.set_xlim(-0.5, w + (c - 1) * step + 0.5)
    ax.set_ylim(-0.5, h + (c - 1) * step + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_label(label)
    ax.set_title(title, fontsize=fs)


def mosaic(maps: np.ndarray, columns: int) -> np.ndarray:
    """``H x W x N`` maps tiled row by row, one blank (NaN) pixel between tiles.

    Each map is scaled to its own range [0, 1] (a constant map to 0.5): the maps differ far more
    in pattern than in level, and one shared colour scale would show only the level.
    """
    h, w, n = maps.shape
    rows = -(-n // columns)
    tiled = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i in range(n):
        r, c = divmod(i, columns)
        tile = maps[..., i]
        lo, hi = float(tile.min()), float(tile.max())
        tile = (tile - lo) / (hi - lo) if hi > lo else np.full_like(tile, 0.5)
        tiled[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = tile
    return tiled
