"""``sepconv analyze KERNEL``: rank, factors, low-rank table, break-even."""

from __future__ import annotations

import numpy as np
import typer
from rich.table import Table

from .._kernelspec import SPEC_HELP, parse_kernel_spec
from ..analysis import analyze as analyze_kernel
from ._app import app, console, print_error, print_json


@app.command()
def analyze(
    kernel: str = typer.Argument(..., help=f"The kernel: {SPEC_HELP}."),
    tol: float = typer.Option(None, help="Relative singular-value threshold for the rank."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Is KERNEL separable? Its rank, singular values, factors and low-rank costs.

    Examples:

      sepconv analyze sobel

      sepconv analyze gaussian:sigma=2

      sepconv analyze "[[1,2,1],[2,4,2],[1,2,1]]"

      sepconv analyze disk:radius=7 --json
    """
    try:
        array = parse_kernel_spec(kernel)
        result = analyze_kernel(array, tol)
    except (ValueError, TypeError) as exc:
        print_error(exc)
        raise typer.Exit(2) from None
    if as_json:
        print_json({"kernel": kernel, "array": array, **result.to_dict()})
        return
    console.print(f"[bold]{kernel}[/bold]  shape {result.shape}, dtype {array.dtype}")
    console.print(np.array2string(array, precision=4, suppress_small=True))
    verdict = "[green]separable[/green]" if result.separation else "[yellow]not separable[/yellow]"
    console.print(f"rank {result.rank}: {verdict}")
    console.print("singular values: " + ", ".join(f"{s:.4g}" for s in result.singular_values))
    if result.separation:
        sep = result.separation
        kind = (
            "exact integer"
            if sep.exact and sep.factors[0].dtype.kind == "i"
            else ("exact" if sep.exact else f"relative error {sep.error:.2e}")
        )
        console.print(f"factors ({kind}):")
        for axis, factor in enumerate(sep.factors):
            console.print(f"  axis {axis}: {np.array2string(factor, precision=6)}")
    else:
        console.print(f"best separable approximation: relative error {result.rank1_error:.3g}")
    if result.lowrank_table:
        table = Table(title="low-rank approximations (sum of separable terms)")
        for column in (
            "rank",
            "rel. error",
            "max |out err| / max|in|",
            "mults/pixel",
            "direct",
            "speed-up",
        ):
            table.add_column(column, justify="right")
        for row in result.lowrank_table:
            table.add_row(
                str(row["rank"]),
                f"{row['error']:.2e}",
                f"{row['max_abs_error_bound']:.2e}",
                str(row["mults_per_pixel"]),
                str(row["direct_mults_per_pixel"]),
                f"{row['speedup']:.2f}x",
            )
        console.print(table)
        console.print(
            f"break-even: up to rank {result.break_even_rank} separable passes need fewer "
            "multiplications than direct filtering"
            if result.break_even_rank
            else "break-even: no rank beats direct filtering"
        )
