"""``sepconv cost spatial|depthwise``: the two cost models on the command line."""

from __future__ import annotations

import typer
from rich.table import Table

from .. import cost as cost_model
from ._app import app, console, parse_shape, print_json

cost_app = typer.Typer(
    help="Count multiplications and weights: normal vs separable.", no_args_is_help=True
)
app.add_typer(cost_app, name="cost")


@cost_app.command("spatial")
def spatial(
    image: str = typer.Option(..., "--image", help="Image shape, e.g. 5x5 (or 64x64x64)."),
    kernel: str = typer.Option(..., "--kernel", help="Kernel shape, e.g. 3x3 (or one number)."),
    rank: int = typer.Option(1, help="Number of separable terms."),
    padding: int = typer.Option(0, help="Zero padding on every side."),
    stride: int = typer.Option(1, help="Stride on every axis."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Multiplications of a dense kernel vs separable 1-D passes.

    Examples:

      sepconv cost spatial --image 5x5 --kernel 3x3

      sepconv cost spatial --image 4096x4096 --kernel 15 --rank 3
    """
    image_shape = parse_shape(image, "--image")
    kernel_shape = parse_shape(kernel, "--kernel", len(image_shape))
    if len(kernel_shape) == 1:
        kernel_shape = kernel_shape * len(image_shape)
    try:
        result = cost_model.spatial(image_shape, kernel_shape, rank, padding, stride)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print_json(result.to_dict())
        return
    table = Table(title=f"{image} image, {kernel} kernel, rank {rank}")
    table.add_column("way")
    table.add_column("multiplications", justify="right")
    table.add_row("normal (dense kernel)", f"{result.normal:,}")
    for axis, mults in result.passes:
        table.add_row(f"  1-D pass along axis {axis} (x{rank})", f"{mults * rank:,}")
    table.add_row("separable (sum of passes)", f"{result.separable:,}")
    console.print(table)
    console.print(f"separable needs {result.ratio:.2f}x fewer multiplications")


@cost_app.command("depthwise")
def depthwise(
    input: str = typer.Option(..., "--input", help="Input H x W x C, e.g. 12x12x3."),
    out_channels: int = typer.Option(..., "--out-channels", help="Output channels."),
    kernel: int = typer.Option(..., "--kernel", help="Kernel size k (k x k)."),
    depth_multiplier: int = typer.Option(1, help="Depthwise filters per input channel."),
    padding: int = typer.Option(0, help="Zero padding on every side."),
    stride: int = typer.Option(1, help="Stride."),
    bias: bool = typer.Option(False, help="Count bias parameters."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """A standard convolution vs depthwise + pointwise: multiplications and weights.

    Examples:

      sepconv cost depthwise --input 12x12x3 --out-channels 256 --kernel 5

      sepconv cost depthwise --input 112x112x32 --out-channels 64 --kernel 3 --padding 1
    """
    try:
        result = cost_model.depthwise(
            parse_shape(input, "--input", 3),
            out_channels,
            kernel,
            depth_multiplier,
            padding,
            stride,
            bias,
        )
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    if as_json:
        print_json(result.to_dict())
        return
    h, w, c = result.input_shape
    ho, wo, n = result.output_shape
    table = Table(title=f"{h}x{w}x{c} -> {ho}x{wo}x{n}, {kernel}x{kernel} kernel")
    for column, justify in (
        ("convolution", "left"),
        ("multiplications", "right"),
        ("weights", "right"),
    ):
        table.add_column(column, justify=justify)
    k = f"{kernel}x{kernel}"
    table.add_row(
        f"normal: {n} filters of {k}x{c}",
        f"{result.normal.multiplications:,}",
        f"{result.normal.params:,}",
    )
    table.add_row(
        f"depthwise: {c * depth_multiplier} filters of {k}x1",
        f"{result.depthwise.multiplications:,}",
        f"{result.depthwise.params:,}",
    )
    table.add_row(
        f"pointwise: {n} filters of 1x1x{c * depth_multiplier}",
        f"{result.pointwise.multiplications:,}",
        f"{result.pointwise.params:,}",
    )
    table.add_row(
        "depthwise separable (total)",
        f"{result.separable_multiplications:,}",
        f"{result.separable_params:,}",
    )
    console.print(table)
    console.print(
        f"separable needs {result.ratio:.1f}x fewer multiplications and "
        f"{result.normal.params / result.separable_params:.1f}x fewer weights"
    )
