"""``sepconv convert module:factory --input 3x224x224 --out model.pt``: convert a model."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ._app import app, console, parse_shape, print_json


@app.command("convert")
def convert_command(
    model: str = typer.Argument(
        ..., help="The model as module:factory; factory() must return an nn.Module."
    ),
    input: str = typer.Option(..., "--input", help="Shape of one sample, e.g. 3x224x224."),
    out: Path = typer.Option(..., "--out", help="Where to write the converted model (.pt)."),
    kind: str = typer.Option("depthwise", "--kind", help="depthwise or spatial."),
    depth_multiplier: int = typer.Option(1, "--depth-multiplier", help="Filters per channel."),
    mid_channels: int = typer.Option(None, "--mid-channels", help="Rank of kind=spatial."),
    calibration: Path = typer.Option(
        None, "--calibration", help="Inputs (N, C, H, W) as .pt, .npy or .npz: data-aware factors."
    ),
    budget: str = typer.Option(
        None, "--budget", help="speedup=1.5 or error=0.2: choose layers from measured latency."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replace the convolutions of a model by separable ones and write the converted model.

    The model is built by calling FACTORY from MODULE without arguments (the
    current directory is importable).  See sepconv.nn.convert for the rules;
    the written file is torch.save of the whole converted module (load it with
    torch.load(path, weights_only=False)).  Needs PyTorch.

    Examples:

      sepconv convert mymodels:resnet --input 3x224x224 --budget speedup=1.5 --out fast.pt

      sepconv convert mymodels:net --input 1x8x8 --calibration x.npy --out net.pt
    """
    try:
        import torch

        from ..nn import convert
        from ..nn._profile import _load_model
    except ImportError as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from None
    from .._files import atomic_write_bytes

    size = parse_shape(input, "--input", example="3x224x224")
    try:
        network = _load_model(model)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from None
    if not any(isinstance(m, torch.nn.Conv2d) for m in network.modules()):
        raise typer.BadParameter(
            f"{model} has no nn.Conv2d layer, so there is nothing to separate",
            param_hint="MODEL",
        )
    batches = None if calibration is None else _read_calibration(calibration, size)
    try:
        converted, report = convert(
            network,
            kind=kind,
            depth_multiplier=depth_multiplier,
            mid_channels=mid_channels,
            input_size=size,
            calibration=batches,
            budget=budget,
        )
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    atomic_write_bytes(out, buffer.getvalue())
    if as_json:
        print_json({**report.to_dict(), "out": str(out)})
        return
    _print_report(report, f"{model}, input {input}")
    console.print(f"wrote {out}")


def _read_calibration(path: Path, size: tuple[int, ...]) -> Any:
    import numpy as np
    import torch

    if not path.is_file():
        raise typer.BadParameter(f"no such file: {path}", param_hint="--calibration")
    try:
        if path.suffix == ".pt":
            data = torch.load(path, weights_only=True)
        elif path.suffix == ".npz":
            with np.load(path) as archive:
                data = archive[archive.files[0]]
        else:
            data = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="--calibration") from None
    tensor = torch.as_tensor(data)
    if tensor.dim() != len(size) + 1 or tuple(tensor.shape[1:]) != size:
        raise typer.BadParameter(
            f"{path} holds an array of shape {tuple(tensor.shape)}; it must be "
            f"(N, {', '.join(map(str, size))}) to match --input",
            param_hint="--calibration",
        )
    return tensor.float()


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _print_report(report: Any, title: str) -> None:
    if not report.layers:  # no empty table with zero totals: say so, and why
        console.print(f"{title}: {report}", markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=title)
    columns = ("layer", "kind", "rank", "weight error", "output error", "MACs before",
               "MACs after", "ms before", "ms after")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    for layer in report.layers:
        table.add_row(
            layer.name,
            layer.kind,
            f"{layer.rank}/{layer.full_rank}",
            f"{layer.error:.3g}",
            "-" if layer.output_error is None else f"{layer.output_error:.3g}",
            f"{layer.multiplications_before:,}",
            f"{layer.multiplications_after:,}",
            _ms(layer.latency_before),
            _ms(layer.latency_after),
        )
    table.add_section()
    table.add_row(
        "model",
        "",
        "",
        "",
        "",
        f"{report.model_multiplications_before:,}",
        f"{report.model_multiplications_after:,}",
        _ms(report.latency_before),
        _ms(report.latency_after),
    )
    console.print(table)
    for name, reason in report.skipped:
        console.print(f"left as it is: {name}: {reason}")
