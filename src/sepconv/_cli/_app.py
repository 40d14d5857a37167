"""The typer application object and the console every command prints to."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console

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
    typer.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
