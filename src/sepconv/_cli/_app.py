"""The typer application object, the console every command prints to, and error output.

Error messages are printed unwrapped (``soft_wrap``) and usage errors as click's plain
``Error: ...`` line rather than typer's boxed panel: a panel or a wrapped line breaks a
message at the terminal width, splitting a path or an option such as ``--dtype uint8``
across lines, so what a user (or a test, or a log scraper) reads would depend on
``COLUMNS``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from .._files import json_default

# typer may ship its own copy of click: find click's base exception through a public name.
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _untag_flags(command: Any, ctx: Any) -> None:
    """Show no value type beside a flag (``--json``, ``--help``), in ``command`` and below.

    typer's help prints every option's type (``--dtype <str>``), flags included
    (``--json <bool>``), as if a flag took a value; an empty metavar shows nothing there.
    """
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _untag_flags(sub, ctx)


class _PlainErrorsGroup(TyperGroup):
    """A typer group whose usage errors are click's plain, unwrapped lines, and whose help
    shows no ``<bool>`` beside flags."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _untag_flags(command, ctx)
        return command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _ClickException as exc:
            exc.show()  # "Usage: ...", "Try ... --help", "Error: <message>" on stderr
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        # Without standalone mode click returns the code of an Exit instead of exiting.
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="sepconv",
    help="Separable convolutions: analyse kernels, count costs, filter images, write the report.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    cls=_PlainErrorsGroup,
)
console = Console()


def print_error(message: object, *, label: str = "error:") -> None:
    """Print ``label message`` on one logical line: never wrapped, never read as markup."""
    console.print(Text.assemble((label, "red"), " ", str(message)), soft_wrap=True)


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
