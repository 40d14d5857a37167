"""The sepconv.ndimage benchmark chart: speed-up over scipy.ndimage per function and size."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._draw import COLORS, figure
from ._results import _load_json

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ndimage_speed"]

#: The issue's targets, drawn as reference lines: never slower, >= 10x from 1024^2 up.
TARGETS = (1.0, 10.0)


def ndimage_speed(path: str | Path, *, small: bool = False) -> Figure:
    """Speed-up of every ``sepconv.ndimage`` function over scipy.ndimage, one panel per dtype.

    Reads ``benchmarks/results/ndimage.json`` (``python benchmarks/bench_ndimage.py``):
    records under ``"numpy"`` with ``function``, ``shape``, ``dtype`` and
    ``speedup_vs_scipy``.  One marker per image shape; lines at 1x and 10x.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per dtype, labelled with the dtype; lines labelled by shape with
        x = speed-up over scipy and y = function index.

    Raises
    ------
    ValueError
        If the file is missing, not JSON, or holds no records.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from sepconv import plot
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ndimage.json"
    >>> rows = [{"function": "sobel", "shape": [32, 32], "dtype": "uint8", "speedup_vs_scipy": 1.2}]
    >>> _ = path.write_text(json.dumps({"numpy": rows}))
    >>> fig = plot.ndimage_speed(path, small=True)
    >>> [(ax.get_label(), [ln.get_label() for ln in ax.get_lines()][-1]) for ax in fig.axes]
    [('uint8', '32x32')]
    """
    data = _load_json(path, "path", "python benchmarks/bench_ndimage.py")
    rows: list[dict[str, Any]] = [
        r
        for r in (data.get("numpy", []) if isinstance(data, dict) else [])
        if isinstance(r, dict) and {"function", "shape", "dtype", "speedup_vs_scipy"} <= set(r)
    ]
    if not rows:
        raise ValueError(
            f"path: {path} holds no sepconv.ndimage records; expected "
            '{"numpy": [{"function": ..., "shape": ..., "dtype": ..., "speedup_vs_scipy": ...}]}'
        )
    dtypes = list(dict.fromkeys(r["dtype"] for r in rows))
    functions = list(dict.fromkeys(r["function"] for r in rows))
    shapes = list(dict.fromkeys("x".join(map(str, r["shape"])) for r in rows))
    fs = 6 if small else 9
    height = 1.2 + 0.15 * len(functions) if small else 2 + 0.28 * len(functions)
    fig = figure((3 * len(dtypes) if small else 5 * len(dtypes), height))
    axes = fig.subplots(1, len(dtypes), sharey=True, squeeze=False)[0]
    for ax, dtype in zip(axes, dtypes):
        ax.set_label(dtype)
        for line in TARGETS:
            ax.axvline(line, color="#333333", linewidth=1 if line == 1 else 0.7, linestyle="-")
        for i, shape in enumerate(shapes):
            points = [
                (r["speedup_vs_scipy"], functions.index(r["function"]))
                for r in rows
                if r["dtype"] == dtype and "x".join(map(str, r["shape"])) == shape
            ]
            if points:
                xs, ys = zip(*points)
                ax.plot(
                    xs,
                    ys,
                    linestyle="none",
                    marker="os^vD<>ph*"[i % 10],
                    markersize=4 if small else 5,
                    color=COLORS[i % len(COLORS)],
                    label=shape,
                )
        ax.set_xscale("log")
        ax.set_title(dtype, fontsize=fs + 1)
        ax.set_xlabel("speed-up over scipy.ndimage (log)", fontsize=fs)
        ax.grid(True, axis="x", which="both", alpha=0.3)
        ax.tick_params(labelsize=fs - 1)
    axes[0].set_yticks(range(len(functions)), functions, fontsize=fs - 1)
    axes[0].invert_yaxis()
    axes[-1].legend(fontsize=fs - 1, loc="upper left", bbox_to_anchor=(1.01, 1), title="image")
    fig.suptitle(
        "sepconv.ndimage against scipy.ndimage: same bits, medians measured in one run",
        fontsize=fs + 1,
    )
    return fig
