"""The typer application object and the console every command prints to."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

from .._files import json_default

app = typer.Typer(
    name="sepconv",
    help="Separable convolutions: analyse kernels, count costs, filter images, write the report.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
console = Console()


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout, for machines (``--json``)."""
    typer.echo(json.dumps(data, indent=2, default=json_default))


def parse_shape(
    text: str, name: str, n: int | None = None, example: str = "12x12x3"
) -> tuple[int, ...]:
    """``"12x12x3"`` -> ``(12, 12, 3)``; a ``typer.BadParameter`` naming ``name`` otherwise."""
    try:
        values = tuple(int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise typer.BadParameter(f"{name} must look like {example}, got {text!r}") from None
    if n is not None and len(values) not in (1, n):
        raise typer.BadParameter(f"{name} needs 1 or {n} numbers separated by 'x', got {text!r}")
    return values
