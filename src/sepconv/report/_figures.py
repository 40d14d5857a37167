"""Report section: what only sepconv can draw, singular-value spectra and the low-rank trade-off."""

from __future__ import annotations

import json
from pathlib import Path

from .._kernelspec import parse_kernel_spec
from ..analysis import analyze
from ..plot import (
    LOWRANK_KERNELS,
    RESULTS_DEFAULTS,
    SPECTRA_KERNELS,
    filter_speed,
    layer_speedup,
    lowrank_error,
    ndimage_speed,
    singular_value_spectra,
)
from . import Context, Section
from ._html import escape, png_figure, speed

#: Resolution of the report's PNGs.
DPI = 110
#: The error a low-rank approximation is asked to stay under in the text (``rtol`` of 1 %).
RTOL = 1e-2


#: Benchmark results charted when present: (figure name, chart, title, script that measures it).
BENCHMARK_CHARTS = (
    (
        "filter-speed",
        filter_speed,
        "Filtering speed against OpenCV, scipy and kornia",
        "benchmarks/bench_filters.py",
    ),
    (
        "ndimage-speed",
        ndimage_speed,
        "sepconv.ndimage against scipy.ndimage (bit-identical results)",
        "benchmarks/bench_ndimage.py",
    ),
    (
        "layer-speedup",
        layer_speedup,
        "Depthwise separable layers: measured speed-up against the MAC ratio",
        "benchmarks/bench_layers.py",
    ),
)


def _results_file(name: str) -> Path | None:
    # The benchmarks live in the source checkout; look beside the working directory first.
    relative = Path(RESULTS_DEFAULTS[name])
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / relative).is_file():
            return root / relative
    return None


def _benchmark_charts(ctx: Context) -> tuple[str, dict[str, str]]:
    html, used = "", {}
    for name, chart, title, script in BENCHMARK_CHARTS:
        command = f"sepconv figure {name} --out {name}.png"
        path = _results_file(name)
        if path is None:
            html += (
                f"<p>{escape(title)}: no results yet; run <code>python {escape(script)}</code>, "
                f"then <code>{escape(command)}</code>.</p>"
            )
            continue
        html += png_figure(
            chart(path),
            f"{title}, read from {path.name}, which python {script} wrote when it measured "
            "every contender side by side in one run (these numbers are not re-measured by the "
            "report).",
            command,
            DPI,
            title=title,
            figure_id=f"fig-{name}",
        )
        used[name] = str(path)
        ctx.progress(f"  charted {path.name}")
    return html, used


def _names(specs: list[str]) -> str:
    return ", ".join(specs[:-1]) + " and " + specs[-1] if len(specs) > 1 else "".join(specs)


def build(ctx: Context) -> Section:
    spectra = {spec: analyze(parse_kernel_spec(spec)) for spec in SPECTRA_KERNELS}
    separable = [spec for spec, a in spectra.items() if a.rank == 1]
    others = [f"{spec} rank {a.rank}" for spec, a in spectra.items() if a.rank > 1]
    ctx.progress(f"  analysed {len(spectra)} kernels")

    lowrank = {spec: analyze(parse_kernel_spec(spec)) for spec in LOWRANK_KERNELS}
    sentences = []
    for spec, a in lowrank.items():
        table = a.lowrank_table
        direct = table[0]["direct_mults_per_pixel"]
        shape = "×".join(map(str, a.shape))
        within = next(row for row in table if row["error"] <= RTOL)
        sentence = (
            f"{spec} ({shape}, rank {a.rank}): one separable term leaves "
            f"{table[0]['error']:.1%} relative error; {within['rank']} term"
            f"{'s' if within['rank'] > 1 else ''} bring it under {RTOL:.0%} for "
            f"{within['mults_per_pixel']} multiplications per pixel against {direct} for the "
            f"dense kernel ({within['speedup']:.1f}× fewer)"
        )
        if a.break_even_rank >= a.rank:
            exact = table[a.rank - 1]
            sentence += (
                f", and the exact sum of {a.rank} terms still costs only "
                f"{exact['mults_per_pixel']} ({exact['speedup']:.1f}× fewer)."
            )
        else:
            sentence += (
                f"; beyond {a.break_even_rank} terms the separable passes cost more than the "
                "dense kernel."
            )
        sentences.append(sentence)

    html = (
        "<p>Whether a kernel separates is a question about its singular values, and how well "
        "a non-separable one can be approximated by a few separable passes is a question about "
        "how fast they fall. Both figures come from <code>sepconv.analyze</code> (the SVD in "
        "<code>sepconv.analysis</code>).</p>"
        + png_figure(
            singular_value_spectra(),
            "Singular values of each kernel of the library divided by the largest (log scale). "
            "A kernel is a sum of r separable terms exactly when r of them are non-zero. "
            f"{_names(separable)} fall to rounding level (near machine ε ≈ 2.2e-16) after "
            f"the first value: they separate. The others need more terms: {_names(others)}. "
            "The disk's rank grows with its radius, one term per distinct row width.",
            "sepconv figure spectra --out spectra.png",
            DPI,
            title="Singular-value spectra of the kernel library",
            figure_id="fig-spectra",
        )
        + png_figure(
            lowrank_error(),
            "Best sums of r separable terms (truncated SVD, sepconv.lowrank): relative error "
            "against r (left) and against the multiplications per pixel, r × (kh + kw) "
            "(right); left of a dashed line the passes are cheaper than the dense kernel. "
            + " ".join(sentences),
            "sepconv figure lowrank --out lowrank.png",
            DPI,
            title="Low-rank approximation: error against rank and cost",
            figure_id="fig-lowrank",
        )
    )
    ctx.progress("  drew spectra and lowrank")
    charts, used = _benchmark_charts(ctx)
    html += charts
    data = {
        "benchmark_results": used,
        "spectra": {
            spec: {"rank": a.rank, "singular_values": a.singular_values}
            for spec, a in spectra.items()
        },
        "lowrank": {
            spec: {"shape": list(a.shape), "rank": a.rank, "table": list(a.lowrank_table)}
            for spec, a in lowrank.items()
        },
        "rtol": RTOL,
        "commands": {
            "spectra": "sepconv figure spectra --out spectra.png",
            "lowrank": "sepconv figure lowrank --out lowrank.png",
            **{name: f"sepconv figure {name} --out {name}.png" for name in used},
        },
    }
    return Section(
        title="What separates, and what approximating costs",
        html=html,
        data=data,
        summary=_ndimage_card(used.get("ndimage-speed")),
    )


def _ndimage_card(path: str | None) -> list[tuple[str, ...]]:
    """The drop-in's headline from ``bench_ndimage.py``'s JSON: gaussian_filter at 1024²."""
    if path is None:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        rows = [r for r in data["numpy"] if isinstance(r, dict)]
        row = next(
            r
            for r in rows
            if r.get("function") == "gaussian_filter"
            and r.get("dtype") == "float32"
            and r.get("shape") == [1024, 1024]
        )
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return []  # another schema: the chart above still shows it
    same = sum(r.get("same_bits") is True for r in rows)
    date = str(data.get("machine", {}).get("date", ""))[:10]
    return [
        (
            "scipy.ndimage drop-in: gaussian_filter, 1024² float32",
            speed(row.get("sepconv_s"), row.get("scipy_s"), "scipy"),
            f"the same bits as scipy.ndimage in {same} of {len(rows)} benchmark cases"
            + (f" ({date})" if date else ""),
        )
    ]


__all__ = ["build"]
