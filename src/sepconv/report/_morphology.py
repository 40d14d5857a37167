"""Report section: grey morphology (min/max filters) with scipy.ndimage's bits, timed here.

The sample image eroded, opened, top-hatted and its gradient taken by
:mod:`sepconv.ndimage`, each checked ``np.array_equal`` against scipy.ndimage;
a live timing of ``grey_erosion`` against scipy.ndimage and ``cv2.erode``;
and, when ``benchmarks/results/morphology.json`` is found, the cost of an
erosion against the window (flat: van Herk / Gil-Werman passes).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from . import Context, Section
from ._filtering import _optional, _time, sample_image
from ._html import escape, png_figure, speed, table

__all__ = ["CASES", "build", "find_results"]

#: (label, sepconv.ndimage function, size) of each panel.
CASES: list[tuple[str, str, tuple[int, int]]] = [
    ("grey_erosion 9x9", "grey_erosion", (9, 9)),
    ("grey_opening 15x15", "grey_opening", (15, 15)),
    ("white_tophat 15x15", "white_tophat", (15, 15)),
    ("morphological_gradient 3x3", "morphological_gradient", (3, 3)),
]
RESULTS_ENV = "SEPCONV_BENCHMARK_RESULTS"


def find_results() -> Path | None:
    """``morphology.json`` (or the quick run's) beside ``$SEPCONV_BENCHMARK_RESULTS``, in
    ``benchmarks/results/`` of the working directory or of the source tree."""
    roots = []
    env = os.environ.get(RESULTS_ENV)
    if env:
        path = Path(env)
        roots.append(path.parent if path.is_file() else path)
    roots += [
        Path.cwd() / "benchmarks" / "results",
        Path(__file__).resolve().parents[3] / "benchmarks" / "results",
    ]
    for name in ("morphology.json", "morphology_quick.json"):
        for root in roots:
            if (root / name).is_file():
                return root / name
    return None


def _panels(image: np.ndarray, outputs: dict[str, np.ndarray]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("original", image), *outputs.items()]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.8), squeeze=False)
    for ax, (title, data) in zip(axes.flat, panels):
        ax.imshow(data, cmap="gray")
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    return png_figure(
        fig,
        "The sample image (uint8) after sepconv.ndimage's grey morphology, mode reflect; "
        "every panel is np.array_equal to scipy.ndimage's.",
    )


def _window_figure(rows: list[dict[str, Any]], source: Path) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtypes = sorted({r["dtype"] for r in rows})
    fig, axes = plt.subplots(1, len(dtypes), figsize=(3.6 * len(dtypes), 3.0), squeeze=False)
    for ax, dtype in zip(axes.flat, dtypes):
        mine = sorted((r for r in rows if r["dtype"] == dtype), key=lambda r: r["window"])
        windows = [r["window"] for r in mine]
        for key, label, colour in (
            ("sepconv_s", "sepconv", "C0"),
            ("opencv_s", "cv2.erode", "C1"),
            ("scipy_s", "scipy", "C2"),
        ):
            times = [r.get(key) for r in mine]
            if all(t is not None for t in times):
                ax.plot(windows, [t * 1e3 for t in times], marker="o", label=label, color=colour)
        shape = "x".join(map(str, mine[0]["shape"])) if mine else ""
        ax.set_title(f"grey_erosion {shape} {dtype}", fontsize=9)
        ax.set_xlabel("window (k x k)")
        ax.set_ylabel("ms")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return png_figure(
        fig,
        f"Time of one erosion against the window, from {source.name}: sepconv's passes cost "
        "nearly the same whatever the window (a 3x3 window, reduced directly, costs less); "
        "OpenCV's grow with it; scipy's are flat but single-threaded and scalar.",
        "flock /tmp/sepconv-bench.lock python benchmarks/bench_morphology.py",
        title="Erosion cost against the window",
    )


def build(ctx: Context) -> Section:
    import scipy.ndimage as scipy_ndimage

    from .. import ndimage

    picture, source = sample_image()
    image = np.clip(np.asarray(picture) * 255, 0, 255).astype(np.uint8)
    outputs, rows, same = {}, [], {}
    for label, name, size in CASES:
        ours = getattr(ndimage, name)(image, size=size)
        theirs = getattr(scipy_ndimage, name)(image, size=size)
        outputs[label] = ours
        same[label] = bool(np.array_equal(ours, theirs))
    ctx.progress("  timing grey_erosion 15x15: sepconv, scipy.ndimage, OpenCV")
    funcs = {
        "sepconv": lambda: ndimage.grey_erosion(image, size=(15, 15)),
        "scipy": lambda: scipy_ndimage.grey_erosion(image, size=(15, 15)),
    }
    cv2 = _optional("cv2")
    if cv2 is not None:
        kernel = np.ones((15, 15), np.uint8)
        funcs["OpenCV"] = lambda: cv2.erode(image, kernel, borderType=cv2.BORDER_REFLECT)
    times = _time(funcs, 3 if ctx.quick else 15)
    for label in CASES:
        rows.append([label[0], "yes" if same[label[0]] else "NO"])
    shape = "x".join(map(str, image.shape))
    timing_rows = [
        [
            name,
            f"{seconds * 1e3:.3g}",
            speed(times["sepconv"], seconds, name) if name != "sepconv" else "-",
        ]
        for name, seconds in times.items()
    ]
    html = (
        "<p><code>sepconv.ndimage</code>'s minimum / maximum filters and grey morphology "
        "(scipy 1.17's twelve functions) on "
        + escape(source)
        + f" ({shape}, uint8): every result np.array_equal to scipy.ndimage's.</p>"
        + _panels(image, outputs)
        + table(["function", "same bits as scipy.ndimage"], rows)
        + "<p>grey_erosion with a 15x15 rectangle, milliseconds (median, this machine):</p>"
        + table(["library", "ms", "sepconv is"], timing_rows)
    )
    data: dict[str, Any] = {
        "image": source,
        "same_bits": same,
        "erosion_15_ms": {k: v * 1e3 for k, v in times.items()},
    }
    path = find_results()
    if path is not None:
        results = json.loads(path.read_text())
        windows = results.get("windows") or []
        if windows:
            html += _window_figure(windows, path)
            data["windows"] = windows
            data["benchmark"] = str(path.name)
    summary = [
        (
            "grey morphology",
            speed(times["sepconv"], times["scipy"], "scipy.ndimage"),
            f"grey_erosion 15x15 on a {shape} uint8 image, the same bits",
        )
    ]
    return Section(title="Grey morphology", html=html, data=data, summary=summary)
