"""``sepconv figure NAME --out FILE``: draw one of sepconv's figures to a file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .. import plot
from ._app import app, console, print_error, print_json


@app.command()
def figure(
    name: str = typer.Argument(
        None, help=f"The figure: {', '.join(plot.FIGURES)}.", show_default=False
    ),
    out: Path = typer.Option(None, "--out", help="File to write; .png, .svg or .pdf."),
    results: Path = typer.Option(
        None,
        "--results",
        help="JSON read by filter-speed, layer-speedup and capacity "
        "(default: the file named by --list).",
    ),
    small: bool = typer.Option(False, "--small", help="Draw the smaller, faster variant."),
    dpi: int = typer.Option(150, "--dpi", min=10, help="Resolution of raster output."),
    list_figures: bool = typer.Option(False, "--list", help="List the figure names and exit."),
    as_json: bool = typer.Option(False, "--json", help="With --list: print JSON."),
) -> None:
    """Draw a figure of separable convolutions, computed here, to a file.

    The article's six figures (separable-kernel ... pointwise-upscale), the kernel library's
    singular-value spectra, the low-rank trade-off, and charts of the benchmark and study
    results.

    Examples:

      sepconv figure --list

      sepconv figure separable-kernel --out separable-kernel.png

      sepconv figure pointwise-upscale --out upscale.svg

      sepconv figure filter-speed --results benchmarks/results/filters.json --out speed.png
    """
    if list_figures:
        rows = [
            {
                "name": key,
                "function": f"sepconv.plot.{function.__name__}",
                "description": (function.__doc__ or "").strip().splitlines()[0],
                "reads": plot.RESULTS_DEFAULTS.get(key),
            }
            for key, function in plot.FIGURES.items()
        ]
        if as_json:
            print_json(rows)
            return
        table = Table(title="sepconv figures")
        for column in ("name", "what it shows", "reads"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["name"], row["description"], row["reads"] or "-")
        console.print(table)
        return
    if name is None:
        raise typer.BadParameter("give a figure NAME (see sepconv figure --list)")
    if out is None:
        raise typer.BadParameter("give --out FILE, e.g. --out figure.png", param_hint="--out")
    try:
        fig = plot.draw(name, results=results, small=small)
    except (ValueError, TypeError, ImportError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, bbox_inches="tight")
    console.print(f"wrote {out}", highlight=False)
