"""``sepconv profile module:factory --input 3x224x224``: per-layer cost of a PyTorch model."""

from __future__ import annotations

import typer
from rich.table import Table

from ._app import app, console, parse_shape, print_json


@app.command("profile")
def profile_command(
    model: str = typer.Argument(
        ..., help="The model as module:factory; factory() must return an nn.Module."
    ),
    input: str = typer.Option(..., "--input", help="Shape of one sample, e.g. 3x224x224."),
    batch_size: int = typer.Option(1, "--batch-size", help="Samples in the forward pass."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Weights, multiply-accumulates and activation memory of every layer of a model.

    The model is built by calling FACTORY from MODULE without arguments (the
    current directory is importable).  Counting rules: see sepconv.nn.profile.
    Needs PyTorch (pip install "sepconv\\[torch]").

    Examples:

      sepconv profile sepconv.report._layers:small_mobilenet_like --input 3x64x64

      sepconv profile mymodels:build_net --input 3x32x32 --json
    """
    try:
        from ..nn._profile import _load_model, profile
    except ImportError as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from None
    try:
        result = profile(
            _load_model(model),
            parse_shape(input, "--input", example="3x224x224"),
            batch_size=batch_size,
        )
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"{model}, input {batch_size}x{input}")
    for column, justify in (
        ("layer", "left"),
        ("type", "left"),
        ("output", "right"),
        ("weights", "right"),
        ("MACs", "right"),
        ("activations (bytes)", "right"),
    ):
        table.add_column(column, justify=justify)
    for layer in result.layers:
        table.add_row(
            layer.name,
            layer.type,
            "x".join(map(str, layer.output_shape)),
            f"{layer.params:,}",
            f"{layer.multiplications:,}",
            f"{layer.activation_bytes:,}",
        )
    table.add_section()
    table.add_row(
        "total",
        "",
        "",
        f"{result.params:,}",
        f"{result.multiplications:,}",
        f"{result.activation_bytes:,}",
    )
    console.print(table)
    if result.uncounted:
        console.print(f"no counting rule (counted as 0): {', '.join(result.uncounted)}")
