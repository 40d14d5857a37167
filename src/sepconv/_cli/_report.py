"""``sepconv report``: the main job."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..report import available_sections, build_report
from ._app import app, console, print_json


def _say(message: str) -> None:
    console.print(message, markup=False, highlight=False)


@app.command()
def report(
    out: Path = typer.Option(Path("report"), "--out", help="Output directory."),
    sections: str = typer.Option(
        None,
        help=f"Comma-separated sections to build (default all): {', '.join(available_sections())}.",
    ),
    full: bool = typer.Option(
        False, "--full", help="Run the long variants instead of the quick defaults."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the section summary as JSON."),
) -> None:
    """Write the sepconv report (index.html + report.json) and print a summary.

    Examples:

      sepconv report

      sepconv report --out /tmp/report --sections kernels
    """
    keys = None if sections is None else [s.strip() for s in sections.split(",") if s.strip()]
    try:
        result = build_report(out, keys, quick=not full, progress=None if as_json else _say)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print_json(
            {
                "index": str(result.index),
                "json": str(result.json_path),
                "seconds": result.seconds,
                "sections": result.sections,
            }
        )
        return
    table = Table(title="sepconv report")
    for column in ("section", "status", "seconds"):
        table.add_column(column)
    for key, info in result.sections.items():
        status = (
            "[green]ok[/green]"
            if info["status"] == "ok"
            else f"[red]skipped[/red] {info['reason']}"
        )
        table.add_row(key, status, f"{info['seconds']:.1f}")
    console.print(table)
    console.print(f"wrote {result.index} and {result.json_path} in {result.seconds:.1f} s")
