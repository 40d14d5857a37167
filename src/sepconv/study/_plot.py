"""The study's figure: test accuracy against weights and against multiply-accumulates."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from ._results import FAMILY_NAMES

_STYLE = {
    "standard": {"color": "#1f77b4", "marker": "o"},
    "depthwise": {"color": "#d62728", "marker": "s"},
    "spatial": {"color": "#2ca02c", "marker": "^"},
}


def plot_results(summary: Sequence[Mapping[str, Any]], title: str | None = None) -> Any:
    """Two panels, log x: accuracy vs weights and vs MACs; one line per family, std error bars.

    Parameters
    ----------
    summary : sequence of mapping
        Rows of :func:`sepconv.study.summarise`.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Drawn with the Agg backend (no display needed).

    Examples
    --------
    >>> from sepconv.study import plot_results
    >>> rows = [dict(family="standard", width=w, weights=100 * w, macs=900 * w,
    ...              test_acc_mean=90.0 + w, test_acc_std=0.5) for w in (1, 2)]
    >>> fig = plot_results(rows)
    >>> [ax.get_xscale() for ax in fig.axes]
    ['log', 'log']
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    families: dict[str, list[Mapping[str, Any]]] = {}
    for row in summary:
        families.setdefault(row["family"], []).append(row)
    for ax, key, label in (
        (axes[0], "weights", "weights"),
        (axes[1], "macs", "multiply-accumulates per image"),
    ):
        for family, rows in families.items():
            rows = sorted(rows, key=lambda r: r[key])
            style = _STYLE.get(family, {})
            ax.errorbar(
                [r[key] for r in rows],
                [r["test_acc_mean"] for r in rows],
                yerr=[r.get("test_acc_std", 0.0) for r in rows],
                label=FAMILY_NAMES.get(family, family),
                capsize=3,
                linewidth=1.5,
                markersize=5,
                **style,
            )
            for r in rows:
                ax.annotate(
                    f"w{r['width']}",
                    (r[key], r["test_acc_mean"]),
                    fontsize=7,
                    xytext=(3, -9),
                    textcoords="offset points",
                    color=style.get("color", "black"),
                )
        ax.set_xscale("log")
        ax.set_xlabel(label + " (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test accuracy (%), mean ± std over seeds")
    axes[0].legend(loc="lower right")
    if title:
        fig.suptitle(title)
    return fig


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
