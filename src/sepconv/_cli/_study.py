"""``sepconv study``: train standard vs separable networks and say when separable fails."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ._app import app, console, print_json


@app.command()
def study(
    out: Path = typer.Option(
        Path("study"), "--out", help="Output folder (runs are cached in OUT/runs/)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Three widths, two seeds, short runs (about a minute); what 'sepconv report' runs.",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="A folder with one sub-folder of "
        "images per class, or a .npz file with arrays x (N,H,W[,C]) "
        "and y (N,). Default: scikit-learn's 8x8 digits.",
    ),
    widths: str | None = typer.Option(
        None, "--widths", help="Base channel counts, e.g. 2,4,8,16,32,64."
    ),
    seeds: str | None = typer.Option(None, "--seeds", help="Training seeds, e.g. 0,1,2."),
    steps: int | None = typer.Option(None, "--steps", help="Optimiser steps per network."),
    force: bool = typer.Option(False, "--force", help="Retrain even runs found in the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print results.json instead of tables."),
) -> None:
    """Train matched standard, depthwise and spatially separable CNNs and compare them.

    Every family gets the same optimiser, schedule, augmentation and steps; only the
    convolution differs.  Writes results.json, results.csv, runs.csv, conversion.csv,
    split.json and study.png to OUT, and prints the finding computed from the numbers.
    Finished runs are cached, so an interrupted study resumes where it stopped.

    Examples:

      sepconv study --quick

      sepconv study --out study-full    (the full study: about 15 minutes on 2 cores)

      sepconv study --data my_images/ --widths 4,16,64 --seeds 0,1

      sepconv study --quick --json > study.json
    """
    from ..study import StudyConfig, conversion_label, run_study

    try:
        config = StudyConfig.quick() if quick else StudyConfig.full()
        config = config.with_options(widths=widths, seeds=seeds, steps=steps)
        result = run_study(config, out, data, force=force, progress=True)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc)) from None
    except KeyboardInterrupt:
        console.print(
            f"[yellow]Interrupted; finished runs are saved in {out}/runs "
            "(run the same command again to resume).[/yellow]"
        )
        raise typer.Exit(130) from None
    if as_json:
        print_json(result.to_dict())
        return

    table = Table(
        title=f"Test accuracy on {result.dataset['name']} "
        f"({len(result.config.seeds)} seed(s), {result.config.steps} steps)"
    )
    for name in ("family", "width", "weights", "MACs", "test acc. %", "train loss", "s / run"):
        table.add_column(name, justify="left" if name == "family" else "right")
    for row in result.summary:
        table.add_row(
            row["family"],
            str(row["width"]),
            f"{row['weights']:,}",
            f"{row['macs']:,}",
            f"{row['test_acc_mean']:.1f} ± {row['test_acc_std']:.1f}",
            f"{row['train_loss_mean']:.3f}",
            f"{row['wall_s_mean']:.1f}",
        )
    console.print(table)
    if result.conversion:
        before = result.conversion[0]["acc_before_mean"]
        conv = Table(
            title=f"Converting the trained standard network (width "
            f"{result.config.conversion_width}, {before:.1f} % test accuracy) with "
            f"sepconv.nn.separate, then {result.config.finetune_steps} fine-tuning steps"
            + (" distilling the original" if result.config.finetune_temperature is not None else "")
        )
        for name in (
            "conversion",
            "init",
            "weights",
            "weight error",
            "converted %",
            "fine-tuned %",
        ):
            conv.add_column(name, justify="left" if name in ("conversion", "init") else "right")
        for row in result.conversion:
            conv.add_row(
                conversion_label(row),
                row["init"],
                f"{row['weights']:,}",
                f"{row['error']:.3f}",
                f"{row['acc_converted_mean']:.1f} ± {row['acc_converted_std']:.1f}",
                f"{row['acc_finetuned_mean']:.1f} ± {row['acc_finetuned_std']:.1f}",
            )
        console.print(conv)
    if result.finding:
        console.print("[bold]Finding[/bold]")
        for sentence in result.finding["text"]:
            console.print(f"- {sentence}")
    console.print(
        f"{result.trained} run(s) trained, {result.cached} from the cache, "
        f"{result.seconds:.0f} s. Wrote {', '.join(p.name for p in result.files.values())} "
        f"to {out}."
    )
