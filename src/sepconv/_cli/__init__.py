"""The ``sepconv`` command line: parses, calls the library, prints.

Each subcommand lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import typer

from .. import __version__
from ._app import app, console

# Importing a command module registers its subcommand on ``app``.
from . import _analyze, _cost, _figure, _filter, _profile, _report, _convert, _study, _features  # noqa: E402,F401  isort: skip


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"sepconv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Separable convolutions: analyse kernels, count costs, filter images, write the report."""


def main() -> None:
    """Entry point of the ``sepconv`` console script."""
    app()


__all__ = ["app", "console", "main"]
