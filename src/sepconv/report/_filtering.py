"""Report section: the sample image filtered by sepconv, the plans it chose, and its speed.

Three kernels on scikit-image's ``camera`` (512 x 512, shipped inside the package):
Sobel (separable, integer), Gaussian sigma 2 (separable) and a 15 x 15 disk mean
(not separable; once with the exact ``auto`` plan, once ``method="lowrank"``).
Every output is checked against scipy.ndimage, and a small live timing against
scipy.ndimage and OpenCV runs here so the section reflects this machine.  The full
benchmark table (``benchmarks/bench_filters.py``) is shown when its JSON is found.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import kernels
from ..analysis import lowrank
from . import Context, Section
from ._html import escape, png_figure, table

#: Gaussian of the section, in pixels.
GAUSSIAN_SIGMA = 2.0
#: The non-separable kernel: a disk of this radius (15 x 15), normalised to a mean.
DISK_RADIUS = 7
#: Tolerance of the low-rank plan.  The 15 x 15 disk has exact rank 6 and its best
#: rank-5 approximation has relative error 0.089, so ``rtol=1e-2`` would keep every term;
#: 0.1 shows an actual approximation.
LOWRANK_RTOL = 0.1
#: Timed calls per contender in the live comparison (after one warm-up call).
REPEATS = 5
#: Environment variable naming the benchmark JSON (file or directory) to show.
RESULTS_ENV = "SEPCONV_BENCHMARK_RESULTS"

_REPRODUCE = "python benchmarks/bench_filters.py"


@dataclass
class FilterCase:
    """One kernel of the section and how each library spells the same filter."""

    key: str
    label: str
    weights: np.ndarray
    options: dict[str, Any]
    scipy_call: str
    scipy: Callable[[np.ndarray], np.ndarray]
    cv2_call: str | None
    cv2: Callable[[np.ndarray], np.ndarray] | None


def _optional(name: str) -> Any:
    """The module, or ``None`` when it is not installed (the section then says so)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def sample_image() -> tuple[np.ndarray, str]:
    """scikit-image's ``camera`` as float32 in [0, 1], or a synthetic image without it."""
    data = _optional("skimage.data")
    if data is not None:
        return data.camera().astype(np.float32) / np.float32(255), "skimage.data.camera()"
    y, x = np.mgrid[0:256, 0:256].astype(np.float32) / 256
    image = 0.5 + 0.25 * np.sin(12 * x) * np.cos(9 * y) + 0.25 * ((x - 0.5) ** 2 + y**2 < 0.2)
    return image.astype(np.float32), "synthetic 256 x 256 (scikit-image not installed)"


def filter_cases() -> list[FilterCase]:
    """Sobel, Gaussian, and the disk twice (exact and low-rank)."""
    import scipy.ndimage as ndi

    cv2 = _optional("cv2")
    disk = kernels.disk(DISK_RADIUS).astype(np.float64)
    disk /= disk.sum()
    gauss = kernels.gaussian(GAUSSIAN_SIGMA, ndim=2)
    size = gauss.shape[0]
    reflect = cv2.BORDER_REFLECT if cv2 is not None else None  # == scipy's "reflect"

    def disk_cv2(x: np.ndarray) -> np.ndarray:
        return cv2.filter2D(x, -1, disk, borderType=reflect)

    return [
        FilterCase(
            "sobel",
            "Sobel, d/dx",
            kernels.sobel(axis=-1),
            {},
            "scipy.ndimage.sobel(x, axis=-1)",
            lambda x: ndi.sobel(x, axis=-1),
            "cv2.Sobel(x, CV_32F, 1, 0, ksize=3)",
            (lambda x: cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3, borderType=reflect))
            if cv2 is not None
            else None,
        ),
        FilterCase(
            "gaussian",
            f"Gaussian, sigma {GAUSSIAN_SIGMA:g} ({size}x{size})",
            gauss,
            {},
            f"scipy.ndimage.gaussian_filter(x, {GAUSSIAN_SIGMA:g})",
            lambda x: ndi.gaussian_filter(x, GAUSSIAN_SIGMA),
            f"cv2.GaussianBlur(x, ({size}, {size}), {GAUSSIAN_SIGMA:g})",
            (lambda x: cv2.GaussianBlur(x, (size, size), GAUSSIAN_SIGMA, borderType=reflect))
            if cv2 is not None
            else None,
        ),
        FilterCase(
            "disk",
            f"disk r={DISK_RADIUS} mean, exact (auto)",
            disk,
            {},
            "scipy.ndimage.correlate(x, disk)",
            lambda x: ndi.correlate(x, disk),
            "cv2.filter2D(x, -1, disk)",
            disk_cv2 if cv2 is not None else None,
        ),
        FilterCase(
            "disk_lowrank",
            f"disk r={DISK_RADIUS} mean, lowrank rtol={LOWRANK_RTOL:g}",
            disk,
            {"method": "lowrank", "rtol": LOWRANK_RTOL},
            "scipy.ndimage.correlate(x, disk)",
            lambda x: ndi.correlate(x, disk),
            "cv2.filter2D(x, -1, disk)",
            disk_cv2 if cv2 is not None else None,
        ),
    ]


def apply_filters(image: np.ndarray, cases: list[FilterCase] | None = None) -> dict[str, Any]:
    """``{key: (sepconv output, plan text)}`` for every case, mode ``reflect``."""
    from .. import filters

    out = {}
    for case in cases or filter_cases():
        result = filters.correlate(image, case.weights, mode="reflect", **case.options)
        plan = filters.plan(
            image.shape, case.weights, dtype=image.dtype, mode="reflect", **case.options
        )
        out[case.key] = (result, str(plan))
    return out


def _time(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, dict[str, float]]:
    """First call of each, then ``repeats`` rounds of (one untimed call, one timed call).

    The untimed call takes the hand-over between libraries' thread pools (another
    library's OpenMP workers still spinning, ours asleep), which on a small shared
    machine costs milliseconds that are not the filter's.
    """
    first = {}
    for name, fn in funcs.items():
        t0 = time.perf_counter()
        fn()
        first[name] = time.perf_counter() - t0
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, fn in funcs.items():
            fn()
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {
        name: {
            "first_s": first[name],
            "median_s": statistics.median(samples[name] or [first[name]]),
        }
        for name in funcs
    }


def find_results() -> Path | None:
    """The benchmark JSON: ``$SEPCONV_BENCHMARK_RESULTS``, else ``benchmarks/results/`` of
    the working directory or of the source tree, the full run before the quick one."""
    env = os.environ.get(RESULTS_ENV)
    roots = []
    if env:
        path = Path(env)
        if path.is_file():
            return path
        roots.append(path)
    roots += [
        Path.cwd() / "benchmarks" / "results",
        Path(__file__).resolve().parents[3] / "benchmarks" / "results",
    ]
    for name in ("filters.json", "filters_quick.json"):
        for root in roots:
            if (root / name).is_file():
                return root / name
    return None


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _benchmark_html(path: Path | None) -> tuple[str, dict[str, Any] | None]:
    if path is None:
        return (
            "<p>No benchmark results found (looked for <code>benchmarks/results/filters.json"
            f"</code>). Produce them with <code>{escape(_REPRODUCE)}</code>.</p>",
            None,
        )
    try:
        data = json.loads(path.read_text())
        meta, cases = data["meta"], data["cases"]
    except (OSError, ValueError, KeyError) as exc:
        return f"<p>Could not read {escape(path)}: {escape(exc)}</p>", None
    # The columns are the peers the file holds (the benchmark's contenders change as it
    # grows); sepconv's own variants and the memory-copy probe are not peers.
    peers = list(
        dict.fromkeys(
            name
            for case in cases
            for name in case.get("ratios", {}).get(case.get("primary") or "", {})
            if not name.startswith("np.")
        )
    )
    rows = []
    for case in cases:
        con = case.get("contenders", {})
        primary = case.get("primary")
        mine = con.get(primary or "", {})
        ratios = case.get("ratios", {}).get(primary or "", {})
        row = [
            case["group"],
            case["dtype"],
            "x".join(map(str, case["shape"])),
            case["ksize"],
            f"{primary} {_ms(mine.get('median_s'))}" if primary else "-",
            f"{mine['memcpy_fraction']:.0%}" if "memcpy_fraction" in mine else "-",
        ]
        for peer in peers:
            entry = con.get(peer, {})
            ratio = ratios.get(peer)
            if "median_s" not in entry:
                row.append("-")
            elif ratio is None:
                row.append(_ms(entry["median_s"]))
            else:
                row.append(f"{_ms(entry['median_s'])} ({ratio:.2f})")
        rows.append(row)
    target_rows = [
        [
            t["target"],
            t["case"],
            "-" if t["value"] is None else f"{t['value']:.2f}",
            t["limit"],
            {True: "met", False: "NOT met", None: "not measured"}[t["met"]],
        ]
        for t in data.get("targets", [])
    ]
    kind = "quick run (small sizes)" if meta.get("quick") else "full run"
    html = (
        f"<h3>Benchmark: {escape(kind)}</h3><p>Read from <code>{escape(path)}</code>, measured "
        f"{escape(meta.get('date'))} on {escape(meta.get('cpu'))} "
        f"({escape(meta.get('logical_cpus'))} logical CPUs), load average "
        f"{escape(meta.get('loadavg_start'))} at start. Times in ms (median); in "
        "parentheses sepconv's time / the peer's (&lt; 1: sepconv faster); BW is the "
        "fraction of the memory-copy bandwidth measured in the same run. Reproduce: "
        f"<code>{escape(_REPRODUCE)}</code>.</p>"
        + table(["group", "dtype", "shape", "k", "sepconv ms", "BW", *peers], rows)
        + (
            table(["target", "case", "value", "limit", "status"], target_rows)
            if target_rows
            else ""
        )
    )
    summary = {"path": str(path), "date": meta.get("date"), "quick": meta.get("quick")}
    summary["targets"] = data.get("targets", [])
    return html, summary


def _figure(image: np.ndarray, outputs: dict[str, Any], cases: list[FilterCase]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {case.key: case.label for case in cases}
    panels = [("original", image, "gray")]
    panels += [(labels[key], outputs[key][0], "gray") for key in outputs]
    if "disk" in outputs and "disk_lowrank" in outputs:
        diff = np.abs(outputs["disk_lowrank"][0].astype(np.float64) - outputs["disk"][0])
        panels.append(("|lowrank - exact|", diff, "magma"))
    cols = 3
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.3 * rows), squeeze=False)
    for ax, (title, data, cmap) in zip(axes.flat, panels):
        shown = ax.imshow(data, cmap=cmap)
        ax.set_title(title, fontsize=9)
        if cmap != "gray":
            fig.colorbar(shown, ax=ax, fraction=0.046)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.tight_layout()
    return png_figure(fig, "The sample image before and after each sepconv filter (mode reflect).")


def build(ctx: Context) -> Section:
    return build_filtering(ctx)


def build_filtering(
    ctx: Context,
    *,
    image: np.ndarray | None = None,
    repeats: int = REPEATS,
    results: Path | None | str = "find",
) -> Section:
    """The section; ``image``, ``repeats`` and ``results`` let tests make it tiny."""
    from .. import filters

    if image is None:
        image, source = sample_image()
    else:
        source = f"given {image.shape[0]} x {image.shape[1]} image"
    cases = filter_cases()
    ctx.progress(f"  filtering {source}")
    outputs = apply_filters(image, cases)
    notes = []

    checks = {}
    for case in cases:
        reference = case.scipy(image)
        checks[case.key] = float(
            np.max(np.abs(outputs[case.key][0] - reference.astype(np.float64)))
        )

    ctx.progress(f"  timing sepconv, scipy.ndimage and OpenCV ({repeats} rounds)")
    cv2 = _optional("cv2")
    if cv2 is None:
        notes.append("OpenCV (cv2) is not installed: its column is empty.")
    else:
        cv2.setNumThreads(2)
    live = []
    for case in cases:
        funcs: dict[str, Callable[[], Any]] = {
            "sepconv": lambda c=case: filters.correlate(
                image, c.weights, mode="reflect", **c.options
            ),
            "scipy": lambda c=case: c.scipy(image),
        }
        if case.cv2 is not None:
            funcs["cv2"] = lambda c=case: c.cv2(image)
        times = _time(funcs, repeats)
        cv2_diff = None
        if case.cv2 is not None:
            cv2_out = case.cv2(image).astype(np.float64)
            cv2_diff = float(np.max(np.abs(cv2_out - case.scipy(image))))
        live.append(
            {
                "filter": case.label,
                "key": case.key,
                "sepconv_s": times["sepconv"]["median_s"],
                "sepconv_first_call_s": times["sepconv"]["first_s"],
                "scipy_s": times["scipy"]["median_s"],
                "cv2_s": times["cv2"]["median_s"] if "cv2" in times else None,
                "scipy_call": case.scipy_call,
                "cv2_call": case.cv2_call if case.cv2 is not None else None,
                "sepconv_max_abs_diff_vs_scipy": checks[case.key],
                "cv2_max_abs_diff_vs_scipy": cv2_diff,
            }
        )

    def ratio(a: float | None, b: float | None) -> str:
        return "-" if a is None or b is None else f"{a / b:.2f}"

    live_rows = [
        [
            row["filter"],
            _ms(row["sepconv_s"]),
            _ms(row["scipy_s"]),
            _ms(row["cv2_s"]),
            ratio(row["sepconv_s"], row["scipy_s"]),
            ratio(row["sepconv_s"], row["cv2_s"]),
            f"{row['sepconv_max_abs_diff_vs_scipy']:.1e}",
            "-"
            if row["cv2_max_abs_diff_vs_scipy"] is None
            else f"{row['cv2_max_abs_diff_vs_scipy']:.1e}",
            f"{row['sepconv_first_call_s']:.2f}",
        ]
        for row in live
    ]
    disk = cases[2].weights
    approx = lowrank(disk, rtol=LOWRANK_RTOL)
    bound = approx.max_abs_error_bound * float(np.max(np.abs(image)))

    figure = ""
    if _optional("matplotlib") is None:
        notes.append("matplotlib is not installed: the before/after pictures are skipped.")
    else:
        figure = _figure(image, outputs, cases)

    plans = {case.key: outputs[case.key][1] for case in cases}
    plan_html = "".join(
        f"<h4>{escape(case.label)}</h4><pre>{escape(plans[case.key])}</pre>" for case in cases
    )
    bench_html, bench = _benchmark_html(
        find_results() if results == "find" else (Path(results) if results else None)
    )
    h, w = image.shape[:2]
    html = (
        f"<p>The sample image ({escape(source)}, {h} x {w}, float32 in [0, 1]) filtered by "
        "<code>sepconv.correlate(x, kernel, mode='reflect')</code> with three kernels: Sobel "
        "and a Gaussian (both separable: the plan runs two 1-D passes) and a 15 x 15 disk mean, "
        "which does not separate (rank 6): the exact <code>auto</code> plan, and "
        f"<code>method='lowrank', rtol={LOWRANK_RTOL:g}</code>, which keeps {approx.rank} "
        f"separable terms with a guaranteed max error of {bound:.2e} "
        "(<code>max_abs_error_bound * max|x|</code>).</p>"
        + "".join(f"<p><em>{escape(note)}</em></p>" for note in notes)
        + figure
        + "<h3>Plans used</h3><p><code>str(sepconv.filters.plan(x.shape, kernel, ...))</code> "
        "for each filter:</p>"
        + plan_html
        + "<h3>Live timing on this machine</h3><p>The same filters, timed here: one warm-up "
        f"call then the median of {repeats} interleaved rounds (each an untimed call, then a "
        "timed one), in ms; ratios are sepconv's "
        "time / the peer's (&lt; 1: sepconv faster). OpenCV runs with 2 threads. Peers: "
        + ", ".join(
            f"<code>{escape(c.scipy_call)}</code>"
            + (f" / <code>{escape(c.cv2_call)}</code>" if c.cv2 is not None else "")
            for c in cases[:3]
        )
        + ". Differences are max |x - scipy|; the lowrank row differs by design (bound "
        f"{bound:.2e}). The last column is sepconv's first call (it includes Numba "
        "compilation or loading from the on-disk cache).</p>"
        + table(
            [
                "filter",
                "sepconv ms",
                "scipy ms",
                "cv2 ms",
                "sepconv/scipy",
                "sepconv/cv2",
                "sepconv diff",
                "cv2 diff",
                "first call s",
            ],
            live_rows,
        )
        + bench_html
    )
    gauss = next(row for row in live if row["key"] == "gaussian")
    summary = [
        ("Gaussian sigma 2, sepconv / scipy (live)", ratio(gauss["sepconv_s"], gauss["scipy_s"]))
    ]
    if gauss["cv2_s"] is not None:
        summary.append(
            ("Gaussian sigma 2, sepconv / cv2 (live)", ratio(gauss["sepconv_s"], gauss["cv2_s"]))
        )
    if bench:
        met = [t["met"] for t in bench["targets"]]
        summary.append(("benchmark targets met", f"{sum(m is True for m in met)} of {len(met)}"))
    return Section(
        title="Filtering",
        html=html,
        data={
            "image": {"source": source, "shape": list(image.shape), "dtype": str(image.dtype)},
            "plans": plans,
            "max_abs_diff_vs_scipy": checks,
            "lowrank": {
                "rtol": LOWRANK_RTOL,
                "rank": approx.rank,
                "max_abs_error_bound": approx.max_abs_error_bound,
                "error_bound": bound,
                "within_bound": checks["disk_lowrank"] <= bound * (1 + 1e-6) + 1e-6,
            },
            "live": live,
            "notes": notes,
            "benchmark": bench,
        },
        summary=summary,
    )


__all__ = ["build", "build_filtering", "apply_filters", "filter_cases", "find_results"]
