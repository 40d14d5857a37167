"""Figures only sepconv can draw: singular-value spectra and the low-rank trade-off."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._kernelspec import parse_kernel_spec
from ..analysis import analyze
from ._draw import COLORS, FLOOR, figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["LOWRANK_KERNELS", "SPECTRA_KERNELS", "lowrank_error", "singular_value_spectra"]

#: Kernels :func:`singular_value_spectra` draws by default (specs as ``sepconv analyze`` takes);
#: the report's kernel table analyses the same set, so its counts agree with this figure.
SPECTRA_KERNELS = (
    "sobel",
    "scharr",
    "prewitt",
    "gaussian:sigma=2,ndim=2",
    "gaussian:sigma=2,order=(0,1)",
    "box:size=5",
    "binomial:n=5",
    "laplacian",
    "log:sigma=1.4",
    "gabor:frequency=0.2",
    "gabor:frequency=0.2,theta=0.785",
    "disk:radius=3",
    "disk:radius=7",
)

#: Kernels of :func:`lowrank_error` by default: two that do not separate.
LOWRANK_KERNELS = ("disk:radius=7", "log:sigma=2")


def _named_kernels(kernels_: Any, default: Sequence[str]) -> dict[str, np.ndarray]:
    if kernels_ is None:
        kernels_ = default
    if isinstance(kernels_, Mapping):
        items = [(str(k), np.asarray(v)) for k, v in kernels_.items()]
    elif isinstance(kernels_, (str, np.ndarray)):
        raise TypeError(
            "kernels must be a mapping name -> array or a sequence of kernel specs "
            "(e.g. ['sobel', 'disk:radius=7']), not a single one"
        )
    else:
        items = [(spec, parse_kernel_spec(spec)) for spec in kernels_]
    out = {}
    for name, k in items:
        if k.ndim != 2:
            raise ValueError(f"kernels: {name!r} must be 2-D, got shape {k.shape}")
        out[name] = k
    if not out:
        raise ValueError("kernels must name at least one kernel")
    return out


def singular_value_spectra(kernels: Any = None, *, small: bool = False) -> Figure:
    """Singular values of kernels, relative to the largest: what separates and what does not.

    A kernel is a sum of ``r`` separable terms exactly when it has ``r`` non-zero singular
    values (:func:`sepconv.analyze`).  Separable kernels (rank 1) drop to rounding level after
    the first value; the disk's values decay slowly.  Values below 1e-17 are drawn on the floor.

    Parameters
    ----------
    kernels : mapping or sequence of str, optional
        ``{name: 2-D array}`` or kernel specs as ``sepconv analyze`` takes them.
        Default :data:`SPECTRA_KERNELS`.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes, ``"separable"`` and ``"not separable"``; one line per kernel labelled
        ``"name (rank r)"`` with ``s_i / s_1`` as its y data.

    Examples
    --------
    >>> from sepconv import plot
    >>> fig = plot.singular_value_spectra(["sobel", "laplacian"], small=True)
    >>> [line.get_label() for ax in fig.axes for line in ax.get_lines() if "rank" in str(line)]
    ['sobel (rank 1)', 'laplacian (rank 2)']
    """
    from matplotlib.ticker import MaxNLocator

    named = _named_kernels(kernels, SPECTRA_KERNELS)
    fs = 7 if small else 10
    fig = figure((6.5, 2.8) if small else (11, 4.6))
    axes = fig.subplots(1, 2, sharey=True)
    axes[0].set_label("separable")
    axes[1].set_label("not separable")
    counts = [0, 0]
    for name, k in named.items():
        a = analyze(k)
        s = a.singular_values
        rel = s / s[0] if s[0] > 0 else np.zeros_like(s)
        side = 0 if a.rank == 1 else 1
        ax = axes[side]
        # Colours are counted per panel: lines side by side never share one.
        ax.plot(
            np.arange(1, rel.size + 1),
            np.maximum(rel, FLOOR),
            marker="o",
            markersize=3,
            linewidth=1.2,
            color=COLORS[counts[side] % len(COLORS)],
            label=f"{name} (rank {a.rank})",
        )
        counts[side] += 1
    for ax, title, n in zip(axes, ("separable: rank 1", "not separable: rank > 1"), counts):
        ax.set_yscale("log")
        ax.set_ylim(FLOOR / 3, 3)
        ax.axhline(np.finfo(np.float64).eps, color="#999999", linestyle=":", linewidth=1)
        ax.text(1, np.finfo(np.float64).eps * 2, "machine ε", fontsize=fs - 1, color="#777777")
        ax.set_xlabel("index i of the singular value", fontsize=fs)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(title, fontsize=fs + 1)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=fs - 1)
        if n:
            ax.legend(fontsize=fs - 1.5, loc="upper right")
        else:
            ax.text(
                0.5,
                0.5,
                "none of the kernels given",
                ha="center",
                transform=ax.transAxes,
                fontsize=fs,
            )
    axes[0].set_ylabel("s_i / s_1 (log)", fontsize=fs)
    return fig


def lowrank_error(kernels: Any = None, *, small: bool = False) -> Figure:
    """Low-rank approximation of non-separable kernels: error against rank and against cost.

    Each kernel is approximated by its best sum of ``r`` separable terms
    (:func:`sepconv.lowrank`, truncated SVD).  Right: the same errors against the
    multiplications per pixel, ``r * (kh + kw)``; the dashed line is the dense kernel's
    ``kh * kw``: to its left the separable passes are cheaper.

    Parameters
    ----------
    kernels : mapping or sequence of str, optional
        ``{name: 2-D array}`` or kernel specs. Default :data:`LOWRANK_KERNELS` (a disk of radius
        7 and a Laplacian of Gaussian, sigma 2).
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``"error vs rank"`` and ``"error vs cost"``; one line per kernel (labelled by name)
        whose y data are the relative Frobenius errors (floored at 1e-17).

    Examples
    --------
    >>> from sepconv import plot
    >>> fig = plot.lowrank_error(["laplacian"], small=True)
    >>> line = fig.axes[0].get_lines()[0]
    >>> line.get_label(), [round(float(v), 3) for v in line.get_ydata()][:1]
    ('laplacian', [0.101])
    """
    from matplotlib.ticker import MaxNLocator

    named = _named_kernels(kernels, LOWRANK_KERNELS)
    fs = 7 if small else 10
    fig = figure((6.5, 2.8) if small else (11, 4.6))
    axes = fig.subplots(1, 2, sharey=True)
    axes[0].set_label("error vs rank")
    axes[1].set_label("error vs cost")
    for i, (name, k) in enumerate(named.items()):
        table = analyze(k).lowrank_table
        colour = COLORS[i % len(COLORS)]
        ranks = [row["rank"] for row in table]
        errors = np.maximum([row["error"] for row in table], FLOOR)
        mults = [row["mults_per_pixel"] for row in table]
        direct = table[0]["direct_mults_per_pixel"]
        axes[0].plot(ranks, errors, marker="o", markersize=3, color=colour, label=name)
        axes[1].plot(
            mults,
            errors,
            marker="o",
            markersize=3,
            color=colour,
            label=f"{name}: {k.shape[0]}×{k.shape[1]}",
        )
        axes[1].axvline(direct, color=colour, linestyle="--", linewidth=1)
        axes[1].text(
            direct,
            0.5,
            f" dense {direct}",
            color=colour,
            fontsize=fs - 1,
            rotation=90,
            va="top",
            ha="right",
        )
    axes[0].set_xlabel("rank r (separable terms)", fontsize=fs)
    axes[0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_xlabel("multiplications per pixel, r × (kh + kw)", fontsize=fs)
    axes[0].set_ylabel("relative error ‖K − K_r‖ / ‖K‖", fontsize=fs)
    for ax, title in zip(axes, ("error vs rank", "error vs cost (dashed: dense kernel)")):
        ax.set_yscale("log")
        ax.set_ylim(FLOOR / 3, 3)
        ax.grid(True, alpha=0.3)
        ax.set_title(title, fontsize=fs + 1)
        ax.tick_params(labelsize=fs - 1)
        ax.legend(fontsize=fs - 1, loc="center right")
    return fig
