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
from ._html import escape, png_figure, speed, table

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


def _time(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median seconds of each: one warm-up call, then ``repeats`` rounds of (one untimed
    call, one timed call).

    The untimed call takes the hand-over between libraries' thread pools (another
    library's OpenMP workers still spinning, ours asleep), which on a small shared
    machine costs milliseconds that are not the filter's.
    """
    for fn in funcs.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(max(1, repeats)):
        for name, fn in funcs.items():
            fn()
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(samples[name]) for name in funcs}


#: Run in a new Python process: import time, then the first calls of one filter.
_FIRST_CALL_SCRIPT = """
import json, os, sys, time
t0 = time.perf_counter()
import numpy as np
import sepconv
imported = time.perf_counter() - t0
x, w = np.load(sys.argv[1]), np.load(sys.argv[2])
options = json.loads(sys.argv[3])
calls = []
for _ in range(int(sys.argv[4])):
    t0 = time.perf_counter()
    sepconv.correlate(x, w, mode="reflect", **options)
    calls.append(time.perf_counter() - t0)
print(json.dumps({"import_s": imported, "calls_s": calls, "pid": os.getpid(),
                  "sepconv": sepconv.__file__}))
"""
#: Calls timed in each new process: the first, and the ones after it (warm-up).
FIRST_CALLS = 3


def first_calls(
    image: np.ndarray, cases: list[FilterCase], calls: int = FIRST_CALLS
) -> dict[str, dict[str, Any]]:
    """Each case's first ``calls`` calls of ``sepconv.correlate``, each in a new process.

    A first call in the process that already filtered is no first call: Numba's kernels
    are loaded, the plan and its launches cached.  So each case runs in a fresh Python
    (this interpreter, this sepconv) that imports sepconv and times its first calls, as a
    user's script would; Numba's on-disk cache is warm, the kernels having run here.
    ``{key: {"import_s", "calls_s"}}``, or ``{key: {"error": ...}}`` when a run failed.
    """
    import subprocess
    import sys
    import tempfile

    from .. import __file__ as package_file

    env = dict(os.environ)
    source = str(Path(package_file).resolve().parents[1])  # the sepconv imported here
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    found: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", image)
        for case in cases:
            np.save(Path(tmp) / f"{case.key}.npy", case.weights)
            args = [
                sys.executable, "-c", _FIRST_CALL_SCRIPT, str(Path(tmp) / "x.npy"),
                str(Path(tmp) / f"{case.key}.npy"), json.dumps(case.options), str(calls),
            ]  # fmt: skip
            try:
                proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as exc:
                found[case.key] = {"error": f"{type(exc).__name__}: {exc}"}
                continue
            try:
                found[case.key] = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                tail = proc.stderr.strip().splitlines()[-1:]
                found[case.key] = {"error": tail[0] if tail else f"exit status {proc.returncode}"}
    return found


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


def _ratio_columns(cases: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The peers of the table as ``(heading, contender names)``, in the file's order.

    Peers of one library that never time the same case share a column (OpenCV's
    ``GaussianBlur`` for Gaussians and ``blur`` for boxes, scipy's ``gaussian_filter`` and
    ``uniform_filter``), which keeps the table narrow; sepconv's own variants and the
    memory-copy probe are not peers.
    """
    names = dict.fromkeys(
        name
        for case in cases
        for name in case.get("ratios", {}).get(case.get("primary") or "", {})
        if not name.startswith("np.")
    )
    timed = {
        name: {i for i, c in enumerate(cases) if name in c.get("contenders", {})} for name in names
    }
    columns: list[tuple[str, list[str]]] = []
    for name in names:
        library = name.split(".")[0]
        for _, members in columns:
            same_library = all(m.split(".")[0] == library for m in members)
            if same_library and not any(timed[name] & timed[m] for m in members):
                members.append(name)
                break
        else:
            columns.append((name, [name]))
    libraries = [members[0].split(".")[0] for _, members in columns]
    return [
        (
            # A library with one column is named by the library; others by their functions.
            library
            if libraries.count(library) == 1
            else " / ".join(m.split(".", 1)[-1] for m in members),
            members,
        )
        for library, (_, members) in zip(libraries, columns)
    ]


def _benchmark_html(path: Path | None, figure_dpi: int = 110) -> tuple[str, dict[str, Any] | None]:
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
    columns = _ratio_columns(cases)
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
            _ms(mine.get("median_s")),
            f"{mine['memcpy_fraction']:.0%}" if "memcpy_fraction" in mine else "-",
        ]
        for _, members in columns:
            ratio = next((ratios[m] for m in members if m in ratios), None)
            row.append("-" if ratio is None else f"{ratio:.2f}")
        rows.append(row)
    kind = "quick run (small sizes)" if meta.get("quick") else "full run"
    command = "sepconv figure filter-heatmap --out filter-heatmap.png"
    picture = ""
    if _optional("matplotlib") is not None:
        from ..plot import filter_heatmap

        picture = png_figure(
            filter_heatmap(path),
            f"Each cell is one case of the benchmark ({len(cases)} in all): sepconv.correlate's "
            "median time divided by the peer's, for Gaussian and box kernels on float32 and "
            "uint8 images of every size measured (64² up). Below 1 (blue) sepconv is faster, "
            "above 1 (red, framed) it is slower; white is 1×, the same time. OpenCV's cell "
            "is its faster function for the case (cv2.sepFilter2D, or cv2.GaussianBlur / "
            "cv2.blur); scipy's is scipy.ndimage.gaussian_filter / uniform_filter. The "
            "benchmark checked every result against scipy's float64 one (within rounding, one "
            "grey level for uint8, where OpenCV's Gaussian is fixed-point): the cells compare "
            "speed, not bits.",
            command,
            figure_dpi,
            title="The benchmark: every case against OpenCV and scipy",
            figure_id="fig-filter-heatmap",
        )
    headings = ["kernel", "dtype", "shape", "k", "sepconv ms", "BW"]
    headings += [f"÷ {heading}" for heading, _ in columns]
    html = (
        f"<h3>Benchmark: {escape(kind)}</h3><p>Read from <code>{escape(path)}</code>, measured "
        f"{escape(meta.get('date'))} on {escape(meta.get('cpu'))} "
        f"({escape(meta.get('logical_cpus'))} logical CPUs), load average "
        f"{escape(meta.get('loadavg_start'))} at start; every contender timed side by side in "
        f"one run. Reproduce: <code>{escape(_REPRODUCE)}</code>. The benchmark's own "
        "targets, and which are met, are listed in "
        f"<code>{escape(path.with_suffix('.md'))}</code>.</p>"
        + picture
        + f"<details><summary>The numbers: all {len(rows)} cases as a table</summary>"
        "<p>sepconv.correlate's median time in ms and, per peer, sepconv's time ÷ the "
        "peer's (&lt; 1: sepconv faster); BW is the fraction of the memory-copy bandwidth "
        "measured in the same run. Peers: "
        + "; ".join(
            f"{escape(heading)}: " + ", ".join(f"<code>{escape(m)}</code>" for m in members)
            for heading, members in columns
        )
        + ".</p>"
        + table(headings, rows)
        + "</details>"
    )
    summary = {"path": str(path), "date": meta.get("date"), "quick": meta.get("quick")}
    summary["cases"] = len(cases)
    summary["figure"] = command if picture else None
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
    measure_first_calls: bool = True,
) -> Section:
    """The section; ``image``, ``repeats``, ``results`` and ``measure_first_calls`` (a new
    process per filter) let tests make it small."""
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
                "sepconv_s": times["sepconv"],
                "scipy_s": times["scipy"],
                "cv2_s": times.get("cv2"),
                "scipy_call": case.scipy_call,
                "cv2_call": case.cv2_call if case.cv2 is not None else None,
                "sepconv_max_abs_diff_vs_scipy": checks[case.key],
                "cv2_max_abs_diff_vs_scipy": cv2_diff,
            }
        )
    starts: dict[str, dict[str, Any]] = {}
    if measure_first_calls:
        ctx.progress(f"  timing the first {FIRST_CALLS} calls, each filter in a new process")
        starts = first_calls(image, cases)
        for row in live:
            row["new_process"] = starts[row["key"]]

    live_rows = [
        [
            row["filter"],
            _ms(row["sepconv_s"]),
            _ms(row["scipy_s"]),
            _ms(row["cv2_s"]),
            speed(row["sepconv_s"], row["scipy_s"], ""),
            "-" if row["cv2_s"] is None else speed(row["sepconv_s"], row["cv2_s"], ""),
        ]
        for row in live
    ]

    def start_cells(found: dict[str, Any] | None) -> list[str]:
        if not found:
            return ["not measured"] + [""] * FIRST_CALLS
        if "error" in found:
            return [f"failed: {found['error']}"] + [""] * FIRST_CALLS
        return [_ms(t) for t in found["calls_s"]] + [f"{found['import_s']:.2f}"]

    check_rows = [
        [
            row["filter"],
            f"{row['sepconv_max_abs_diff_vs_scipy']:.1e}",
            "-"
            if row["cv2_max_abs_diff_vs_scipy"] is None
            else f"{row['cv2_max_abs_diff_vs_scipy']:.1e}",
            *start_cells(row.get("new_process")),
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
        f'<h4>{escape(case.label)}</h4><pre class="wrap">{escape(plans[case.key])}</pre>'
        for case in cases
    )
    bench_html, bench = _benchmark_html(
        find_results() if results == "find" else (Path(results) if results else None)
    )
    h, w = image.shape[:2]
    call_heads = [
        "1st call ms",
        *(f"{n} ms" for n in ("2nd", "3rd", "4th", "5th")[: FIRST_CALLS - 1]),
    ]
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
        + "<h3>Plans used</h3><p><code>print(sepconv.plan(x.shape, kernel, ...))</code> for "
        "each filter. A plan is chosen by its estimated memory loads per output element, which "
        "the engine's loops are bound by; multiplications count a symmetric pair of taps once "
        "(<code>plan.explain()</code> lists every candidate):</p>"
        + plan_html
        + "<h3>Live timing on this machine</h3><p>The same filters, timed here: one warm-up "
        f"call then the median of {repeats} interleaved rounds (each an untimed call, then a "
        "timed one), in ms. OpenCV runs with 2 threads. Peers: "
        + ", ".join(
            f"<code>{escape(c.scipy_call)}</code>"
            + (f" / <code>{escape(c.cv2_call)}</code>" if c.cv2 is not None else "")
            for c in cases[:3]
        )
        + ".</p>"
        + table(
            [
                "filter",
                "sepconv ms",
                "scipy ms",
                "OpenCV ms",
                "sepconv vs scipy",
                "sepconv vs OpenCV",
            ],
            live_rows,
        )  # fmt: skip
        + "<p>Agreement with scipy.ndimage (max |x - scipy|; the lowrank row differs by design, "
        f"bound {bound:.2e}) and what a new program pays: each filter's first "
        f"{FIRST_CALLS} calls of <code>sepconv.correlate</code> in a new Python process that "
        "has just imported sepconv (Numba's on-disk cache warm), and that import.</p>"
        + table(
            ["filter", "sepconv diff", "OpenCV diff", *call_heads, "import s"],
            check_rows,
        )
        + bench_html
    )
    gauss = next(row for row in live if row["key"] == "gaussian")
    size = "×".join(map(str, image.shape[:2]))
    summary: list[tuple[str, ...]] = [
        (
            f"Gaussian σ {GAUSSIAN_SIGMA:g} on a {size} image, measured now",
            speed(gauss["sepconv_s"], gauss["scipy_s"], "scipy"),
            "sepconv.correlate; "
            + (
                speed(gauss["sepconv_s"], gauss["cv2_s"], "OpenCV's GaussianBlur")
                if gauss["cv2_s"] is not None
                else "OpenCV not installed"
            ),
        )
    ]
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
            "first_calls_per_process": FIRST_CALLS if measure_first_calls else 0,
            "notes": notes,
            "benchmark": bench,
        },
        summary=summary,
    )


__all__ = ["build", "build_filtering", "apply_filters", "filter_cases", "find_results"]
