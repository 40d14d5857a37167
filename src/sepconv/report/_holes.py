"""Report section: smoothing an image with holes (NaN), as scipy smears it and as sepconv fills it.

scikit-image's ``camera`` with a synthetic cloud mask (a smoothed random field
above a threshold, fixed seed) and 5 % dead pixels, all NaN.  scipy's
``gaussian_filter`` spreads every NaN over the kernel's footprint;
``sepconv.ndimage.gaussian_filter(x, sigma, nan_policy='omit')`` averages the
valid pixels under the kernel (normalized convolution, one sweep) and leaves
NaN only where the whole footprint is cloud.  The result is checked against
scipy's two-call recipe and, when astropy is installed, against
``astropy.convolution.convolve``; a small live timing runs here, and the
benchmark table (``benchmarks/bench_nan.py``) is shown when its JSON is found.
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

#: The Gaussian of the section, in pixels.
SIGMA = 2.0
#: Fraction of dead pixels, and of the image under cloud (about).
DEAD, CLOUD = 0.05, 0.12
#: Environment variable naming the benchmark JSON (file or directory) to show.
RESULTS_ENV = "SEPCONV_NAN_RESULTS"
_REPRODUCE = "flock /tmp/sepconv-bench.lock python benchmarks/bench_nan.py"


def holey_image(image: np.ndarray, seed: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """``(image with NaN holes, the hole mask)``: clouds (smooth blobs) and dead pixels."""
    import scipy.ndimage as sn

    rng = np.random.default_rng(seed)
    field = sn.gaussian_filter(rng.standard_normal(image.shape), max(image.shape) / 24)
    clouds = field > np.quantile(field, 1 - CLOUD)
    holes = clouds | (rng.random(image.shape) < DEAD)
    out = image.astype(np.float32, copy=True)
    out[holes] = np.nan
    return out, holes


def find_results() -> Path | None:
    """``$SEPCONV_NAN_RESULTS``, else ``benchmarks/results/nan.json`` (then the quick run's)
    beside the working directory or the source tree."""
    env = os.environ.get(RESULTS_ENV)
    if env and Path(env).is_file():
        return Path(env)
    roots = [Path(env)] if env else []
    roots += [
        Path.cwd() / "benchmarks" / "results",
        Path(__file__).resolve().parents[3] / "benchmarks" / "results",
    ]
    for name in ("nan.json", "nan_quick.json"):
        for root in roots:
            if (root / name).is_file():
                return root / name
    return None


def _figure(holed: np.ndarray, smeared: np.ndarray, filled: np.ndarray) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cmap = matplotlib.colormaps["gray"].with_extremes(bad="#d62728")
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8))
    panels = [
        ("input: clouds and 5 % dead pixels (red: NaN)", holed),
        (f"scipy.ndimage.gaussian_filter(x, {SIGMA:g})", smeared),
        (f"sepconv: gaussian_filter(x, {SIGMA:g}, nan_policy='omit')", filled),
    ]
    for ax, (title, data) in zip(axes, panels):
        ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    return png_figure(
        fig,
        "The same image three times. Left: the holes (red). Middle: scipy's Gaussian spreads "
        "each NaN over the kernel's footprint, so 5 % dead pixels blank out nearly the whole "
        "image. Right: sepconv's normalized convolution, the weighted mean of the valid "
        "pixels under the kernel; NaN remains only where the kernel sees cloud only.",
        title="An image with holes, smoothed",
        figure_id="fig-holes",
    )


def _benchmark_html(path: Path | None) -> tuple[str, dict[str, Any] | None]:
    if path is None:
        return (
            "<p>No benchmark results found (looked for <code>benchmarks/results/nan.json"
            f"</code>). Produce them with <code>{escape(_REPRODUCE)}</code>.</p>",
            None,
        )
    try:
        data = json.loads(path.read_text())
        meta, rows = data["meta"], data["rows"]
    except (OSError, ValueError, KeyError) as exc:
        return f"<p>Could not read {escape(path)}: {escape(exc)}</p>", None
    peers = ["astropy", "scipy recipe", "sepconv.ndimage (no NaN)"]
    body = []
    for row in rows:
        con, primary = row["contenders"], row["primary"]
        mine = con[primary]["median_s"]
        body.append(
            [
                row["case"],
                row["dtype"],
                "x".join(map(str, row["shape"])),
                f"{mine * 1e3:.3g}",
                *[speed(mine, con[p]["median_s"]) if p in con else "-" for p in peers],
                f"{row['check']['max_abs_diff']:.1e}",
            ]
        )
    met = [
        f"{t['case']} {t['dtype']} against {t['peer']}: {t['ratio']:.3g} "
        f"(wanted {t['wanted']:.3g}, {'met' if t['met'] else 'missed'})"
        for t in data.get("targets", [])
    ]
    html = (
        f"<h3>Benchmark</h3><p>Read from <code>{escape(path)}</code>, measured "
        f"{escape(meta.get('date'))} on {escape(meta.get('cpu'))} "
        f"({escape(meta.get('logical_cpus'))} logical CPUs), load average "
        f"{escape(meta.get('loadavg_start'))} at start and {escape(meta.get('loadavg_end'))} "
        "at the end; every contender timed side by side in one run, 5 % NaN and a hole wider "
        "than the kernel in every image. sepconv on every core, astropy and scipy on one. "
        f"Reproduce: <code>{escape(_REPRODUCE)}</code>.</p>"
        + table(
            ["case", "dtype", "shape", "sepconv ms", *[f"vs {p}" for p in peers], "max diff"],
            body,
        )
        + ("<p>Targets: " + "; ".join(escape(m) for m in met) + ".</p>" if met else "")
    )
    return html, {"path": str(path), "date": meta.get("date"), "targets": data.get("targets")}


def build(ctx: Context) -> Section:
    return build_holes(ctx)


def build_holes(
    ctx: Context,
    *,
    image: np.ndarray | None = None,
    repeats: int = 5,
    results: Path | None | str = "find",
) -> Section:
    """The section; ``image``, ``repeats`` and ``results`` let tests make it small."""
    import scipy.ndimage as sn

    from .. import ndimage as ndi

    if image is None:
        image, source = sample_image()
    else:
        source = f"given {image.shape[0]} x {image.shape[1]} image"
    holed, holes = holey_image(image)
    ctx.progress(f"  smoothing {source} with {holes.mean():.0%} of it NaN")
    smeared = sn.gaussian_filter(holed, SIGMA)
    filled = ndi.gaussian_filter(holed, SIGMA, nan_policy="omit")
    valid = ~holes
    num = sn.gaussian_filter(np.where(valid, holed, 0).astype(np.float64), SIGMA)
    den = sn.gaussian_filter(valid.astype(np.float64), SIGMA)
    with np.errstate(divide="ignore", invalid="ignore"):
        recipe = num / den
    both = np.isfinite(recipe) & np.isfinite(filled)
    checks = {
        "max_abs_diff_vs_scipy_recipe": float(np.max(np.abs(filled[both] - recipe[both]))),
        "nan_fraction_scipy": float(np.isnan(smeared).mean()),
        "nan_fraction_sepconv": float(np.isnan(filled).mean()),
        "hole_fraction": float(holes.mean()),
    }

    def two_calls() -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return sn.gaussian_filter(np.where(valid, holed, 0), SIGMA) / sn.gaussian_filter(
                valid.astype(np.float32), SIGMA
            )

    funcs = {
        "sepconv": lambda: ndi.gaussian_filter(holed, SIGMA, nan_policy="omit"),
        "scipy recipe": two_calls,
    }
    notes = []
    astropy = _optional("astropy.convolution")
    if astropy is not None:
        import warnings

        import sepconv.astropy as sa

        kernel = astropy.Gaussian2DKernel(SIGMA)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = astropy.convolve(holed, kernel, boundary="extend")
            ours = sa.convolve(holed, kernel, boundary="extend")
        ok = np.isfinite(theirs) & np.isfinite(ours)
        checks["max_abs_diff_sepconv_astropy_vs_astropy"] = float(
            np.max(np.abs(ours[ok] - theirs[ok]))
        )

        def quiet(f: Any) -> Any:
            def call() -> Any:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return f()

            return call

        funcs["sepconv.astropy"] = quiet(lambda: sa.convolve(holed, kernel, boundary="extend"))
        funcs["astropy"] = quiet(lambda: astropy.convolve(holed, kernel, boundary="extend"))
    else:
        notes.append(
            "astropy is not installed: its rows are empty (pip install 'sepconv[astropy]')."
        )
    ctx.progress(f"  timing ({repeats} rounds)")
    times = _time(funcs, repeats)
    live = [
        [
            "sepconv.ndimage.gaussian_filter(x, 2, nan_policy='omit')",
            f"{times['sepconv'] * 1e3:.3g}",
            speed(times["sepconv"], times["scipy recipe"], "scipy's two-call recipe"),
        ]
    ]
    if "astropy" in times:
        live.append(
            [
                "sepconv.astropy.convolve(x, Gaussian2DKernel(2), boundary='extend')",
                f"{times['sepconv.astropy'] * 1e3:.3g}",
                speed(times["sepconv.astropy"], times["astropy"], "astropy.convolution.convolve"),
            ]
        )
    figure = ""
    if _optional("matplotlib") is None:
        notes.append("matplotlib is not installed: the pictures are skipped.")
    else:
        figure = _figure(holed, smeared, filled)
    bench_html, bench = _benchmark_html(
        find_results() if results == "find" else (Path(results) if results else None)
    )
    h, w = image.shape[:2]
    html = (
        f"<p>The sample image ({escape(source)}, {h} x {w}) with synthetic clouds and "
        f"{DEAD:.0%} dead pixels: {checks['hole_fraction']:.0%} of it is NaN. scipy's "
        f"Gaussian (sigma {SIGMA:g}) leaves {checks['nan_fraction_scipy']:.0%} of the output "
        f"NaN; sepconv with <code>nan_policy='omit'</code> leaves "
        f"{checks['nan_fraction_sepconv']:.1%} (the middle of the largest clouds). Its result "
        "equals scipy's two-call recipe (the data with NaN as 0 and the validity mask, each "
        "filtered, then divided) to "
        f"{checks['max_abs_diff_vs_scipy_recipe']:.1e} (float32)"
        + (
            f", and <code>sepconv.astropy.convolve</code> equals astropy's to "
            f"{checks['max_abs_diff_sepconv_astropy_vs_astropy']:.1e}"
            if "max_abs_diff_sepconv_astropy_vs_astropy" in checks
            else ""
        )
        + ". One line switches astropy code over: <code>from sepconv.astropy import "
        "convolve</code>.</p>"
        + "".join(f"<p><em>{escape(note)}</em></p>" for note in notes)
        + figure
        + f"<h3>Live timing on this machine</h3><p>Median of {repeats} interleaved rounds.</p>"
        + table(["call", "ms", "speed"], live)
        + bench_html
    )
    summary: list[tuple[str, ...]] = [
        (
            f"smoothing a {h}×{w} image with holes, measured now",
            speed(times["sepconv"], times["scipy recipe"], "scipy's two-call recipe"),
            "gaussian_filter(x, 2, nan_policy='omit'): one sweep, NaN skipped",
        )
    ]
    if "astropy" in times:
        summary.append(
            (
                "astropy's convolve, NaN interpolated",
                speed(times["sepconv.astropy"], times["astropy"], "astropy"),
                "from sepconv.astropy import convolve",
            )
        )
    return Section(
        title="Images with holes",
        html=html,
        data={
            "image": {"source": source, "shape": list(image.shape)},
            "checks": checks,
            "live_s": times,
            "notes": notes,
            "benchmark": bench,
        },
        summary=summary,
    )


__all__ = ["build", "build_holes", "find_results", "holey_image"]
