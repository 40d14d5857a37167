"""The filtering benchmark as one picture: sepconv's time against each peer's, every case."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._draw import figure
from ._results import _load_json

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["filter_heatmap", "peer_ratios"]

#: The peers of the heat map: a row of panels each, the contenders' names start with the key.
PEERS = {"OpenCV": "cv2.", "scipy.ndimage": "scipy."}


def _size_label(shape: list[int]) -> str:
    h, w = shape
    return f"{h}²" if h == w else f"{w}×{h}"


def _panel(case: Mapping[str, Any]) -> tuple[str, str]:
    return str(case.get("family") or case.get("group")), str(case["dtype"])


def peer_ratios(case: Mapping[str, Any], prefix: str) -> tuple[float, str] | None:
    """``(sepconv time / peer time, peer name)`` of a ``bench_filters.py`` case, or None.

    The peer is the fastest contender whose name starts with ``prefix`` (for OpenCV the
    faster of ``cv2.sepFilter2D`` and its dedicated ``cv2.GaussianBlur`` / ``cv2.blur``),
    timed alone: the contenders measured after a PyTorch operation are not peers.

    Examples
    --------
    >>> case = {"primary": "sepconv.correlate", "contenders": {
    ...     "sepconv.correlate": {"median_s": 2.0}, "cv2.sepFilter2D": {"median_s": 4.0},
    ...     "cv2.GaussianBlur": {"median_s": 1.0}, "cv2.sepFilter2D after torch op": {}}}
    >>> peer_ratios(case, "cv2.")
    (2.0, 'cv2.GaussianBlur')
    """
    contenders = case.get("contenders", {})
    mine = contenders.get(case.get("primary") or "", {}).get("median_s")
    timed = [
        (entry["median_s"], name)
        for name, entry in contenders.items()
        if name.startswith(prefix) and "after" not in name and entry.get("median_s")
    ]
    if not mine or not timed:
        return None
    seconds, name = min(timed)
    return mine / seconds, name


def filter_heatmap(path: str | Path, *, small: bool = False) -> Figure:
    """Every case of the filtering benchmark as a heat map of sepconv's time ÷ a peer's.

    Reads ``benchmarks/results/filters.json`` (``python benchmarks/bench_filters.py``):
    ``"cases"`` with ``family``, ``dtype``, ``shape``, ``ksize``, ``primary`` (sepconv's
    contender) and ``contenders`` (name -> ``{"median_s": ...}``).  One row of panels per
    peer (OpenCV: its fastest function for the case; scipy.ndimage), one panel per kernel
    family and dtype; in each, image size down and kernel size across.  Each cell is
    labelled with its ratio; blue is sepconv faster, red slower, white 1× (the same time),
    and a black frame marks every cell where sepconv is slower.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        Axes labelled ``"<peer>: <family> <dtype>"``, each with one image whose array holds
        the ratios (NaN where a case was not measured).

    Raises
    ------
    ValueError
        If the file is missing, not JSON, or holds no case with sepconv and a peer timed.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from sepconv import plot
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "filters.json"
    >>> case = {"family": "gaussian", "dtype": "uint8", "shape": [64, 64], "ksize": 3,
    ...         "primary": "sepconv.correlate", "contenders": {
    ...             "sepconv.correlate": {"median_s": 1.0}, "cv2.sepFilter2D": {"median_s": 2.0},
    ...             "scipy.gaussian_filter": {"median_s": 10.0}}}
    >>> _ = path.write_text(json.dumps({"cases": [case]}))
    >>> fig = plot.filter_heatmap(path, small=True)
    >>> [(ax.get_label(), float(ax.images[0].get_array()[0, 0])) for ax in fig.axes if ax.images]
    [('OpenCV: gaussian uint8', 0.5), ('scipy.ndimage: gaussian uint8', 0.1)]
    """
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    data = _load_json(path, "path", "python benchmarks/bench_filters.py")
    cases = [
        c
        for c in (data.get("cases", []) if isinstance(data, dict) else [])
        if isinstance(c, dict) and {"dtype", "shape", "ksize", "contenders"} <= set(c)
    ]
    panels = list(dict.fromkeys(_panel(c) for c in cases))
    ratios = {
        (peer, *_panel(c), tuple(c["shape"]), c["ksize"]): r
        for c in cases
        for peer, prefix in PEERS.items()
        if (r := peer_ratios(c, prefix)) is not None
    }
    if not ratios:
        raise ValueError(
            f"path: {path} holds no case with sepconv and a peer timed; write it with "
            "`python benchmarks/bench_filters.py`"
        )
    peers = [p for p in PEERS if any(key[0] == p for key in ratios)]
    fs = 5 if small else 8
    ks = {p: sorted({c["ksize"] for c in cases if _panel(c) == p}) for p in panels}
    sizes = {
        p: sorted(
            {tuple(c["shape"]) for c in cases if _panel(c) == p}, key=lambda s: (math.prod(s), s)
        )
        for p in panels
    }
    rows_max = max(len(s) for s in sizes.values())
    width = sum(len(ks[p]) for p in panels)
    fig = figure(
        (6.5, 1.2 + 0.9 * len(peers) * rows_max / 4)
        if small
        else (min(11.0, 1.6 + 0.56 * width), 1.0 + 0.34 * len(peers) * rows_max)
    )
    grid = fig.add_gridspec(len(peers), len(panels), width_ratios=[len(ks[p]) for p in panels])
    for i, peer in enumerate(peers):
        values = [r for key, (r, _) in ratios.items() if key[0] == peer]
        # Symmetric about 1x on a log scale, so equal colours mean equal factors either way.
        reach = max(2.0, *(max(v, 1 / v) for v in values))
        norm = LogNorm(vmin=1 / reach, vmax=reach)
        for j, panel in enumerate(panels):
            ax = fig.add_subplot(grid[i, j])
            ax.set_label(f"{peer}: {panel[0]} {panel[1]}")
            grid_values = np.full((len(sizes[panel]), len(ks[panel])), np.nan)
            for y, shape in enumerate(sizes[panel]):
                for x, k in enumerate(ks[panel]):
                    found = ratios.get((peer, *panel, shape, k))
                    if found is None:
                        continue
                    ratio = found[0]
                    grid_values[y, x] = ratio
                    slower = ratio > 1
                    ax.text(
                        x,
                        y,
                        f"{ratio:.2f}" if ratio < 9.995 else f"{ratio:.0f}",
                        ha="center",
                        va="center",
                        fontsize=fs - 0.5,
                        fontweight="bold" if slower else "normal",
                        color="#ffffff"
                        if abs(math.log(ratio)) > 0.6 * math.log(reach)
                        else "#111111",
                    )
                    if slower:
                        ax.add_patch(
                            Rectangle(
                                (x - 0.5, y - 0.5),
                                1,
                                1,
                                fill=False,
                                edgecolor="#111111",
                                linewidth=1.2,
                            )
                        )
            shown = ax.imshow(grid_values, cmap="RdBu_r", norm=norm, aspect="auto")
            ax.set_xticks(range(len(ks[panel])), [str(k) for k in ks[panel]], fontsize=fs)
            ax.set_yticks(
                range(len(sizes[panel])), [_size_label(list(s)) for s in sizes[panel]], fontsize=fs
            )
            ax.tick_params(length=0)
            title = f"{panel[0]} {panel[1]}" if i == 0 else ""
            ax.set_title(title, fontsize=fs + 1)
            if i == len(peers) - 1:
                ax.set_xlabel("kernel size k", fontsize=fs)
            if j == 0:
                ax.set_ylabel(f"÷ {peer}\nimage size", fontsize=fs + 0.5)
            ax.set_frame_on(False)
        bar = fig.colorbar(shown, ax=fig.axes[-len(panels) :], fraction=0.02, pad=0.01)
        ticks = [t for t in (1 / 30, 0.1, 1 / 3, 1, 3, 10, 30) if 1 / reach <= t <= reach]
        bar.set_ticks(ticks, labels=[("1× equal" if t == 1 else f"{t:.2g}") for t in ticks])
        bar.ax.tick_params(labelsize=fs)
        bar.set_label(f"sepconv time ÷ {peer}'s", fontsize=fs)
    fig.suptitle(
        "sepconv.correlate's time ÷ each peer's, every case of the benchmark "
        "(< 1, blue: sepconv faster; framed: sepconv slower)",
        fontsize=fs + 1.5,
    )
    return fig
