"""``sepconv study``: train standard vs separable networks and say when separable fails.

``sepconv study kernels`` measures the article's two claims on networks others trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ._app import app, console, print_json

study_app = typer.Typer(invoke_without_command=True, add_completion=False)
app.add_typer(study_app, name="study")


@study_app.callback(invoke_without_command=True)
def study(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("study"), "--out", help="Output folder (runs are cached in OUT/runs/)."
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Three widths, two seeds, short runs (about a minute); what 'sepconv report' runs.",
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="A folder with one sub-folder of "
        "images per class, a .npz file with arrays x (N,H,W[,C]) "
        "and y (N,), or a built-in data set: digits (scikit-learn's 8x8 digits, the default) "
        "or textures (16x16 patches of scikit-image's bundled texture images).",
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

      sepconv study --data textures --out study-textures

      sepconv study --data my_images/ --widths 4,16,64 --seeds 0,1

      sepconv study --quick --json > study.json

      sepconv study kernels --quick    (trained kernels of other people's networks)
    """
    if ctx.invoked_subcommand is not None:
        return
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
            f"sepconv.nn.convert, then {result.config.finetune_steps} fine-tuning steps"
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


@study_app.command("kernels")
def kernels(
    out: Path = typer.Option(
        Path("kernels"),
        "--out",
        help="Output folder: kernels.json, figures, and the capacity studies in study-*/.",
    ),
    quick: bool = typer.Option(
        False,
        "--quick",
        help="Quick capacity studies (widths 2 and 8, two seeds, short runs) and fewer MTCNN "
        "test images: under a minute; what 'sepconv report' runs.",
    ),
    force: bool = typer.Option(False, "--force", help="Retrain even runs found in the cache."),
    as_json: bool = typer.Option(False, "--json", help="Print kernels.json instead of tables."),
) -> None:
    """Measure the article's two claims on networks other people trained.

    1. "Not all kernels can be separated": the singular values of every k x k kernel (k >= 3)
    of MTCNN's P-, R- and O-Net, YOLOv8n and PP-OCRv4's text detector -- weights read from the
    pip packages facenet-pytorch, nudenet and rapidocr-onnxruntime (pip install
    "sepconv\\[zoo]"; nothing is downloaded) -- and of the study's own trained networks, each
    beside random weights of the same shapes.

    2. What forcing separation costs: MTCNN with every k x k convolution made separable
    (rank 1, 2, full; weight-space SVD and data-aware fit), run on scikit-image's bundled
    images, against the original.

    3. "Small separable networks might fail to learn": the capacity study on two data sets
    (digits and textures), its conclusion restated for both with the seed spread.

    Writes OUT/kernels.json, rank1_depth.png, spectra.png, forced.png and
    singular_values.npz (every analysed kernel's singular values).

    Examples:

      sepconv study kernels --quick --out kernels

      sepconv study kernels --out kernels-full    (the full run; see docs/study/)
    """
    from ..study import KernelsConfig, run_kernels
    from ..study._zoo import ZooMissingError

    config = KernelsConfig.quick() if quick else KernelsConfig.full()
    try:
        from ..plot import KERNEL_FIGURES

        result = run_kernels(config, out, force=force, progress=not as_json, figures=KERNEL_FIGURES)
    except ZooMissingError as exc:
        raise typer.BadParameter(str(exc)) from None
    except KeyboardInterrupt:
        console.print(
            f"[yellow]Interrupted; finished study runs are saved in {out} (run the same "
            "command again to resume).[/yellow]"
        )
        raise typer.Exit(130) from None
    data = result.data
    if as_json:
        print_json(data)
        return
    _print_kernels(data)
    console.print(
        f"{data['seconds']:.0f} s. Wrote {', '.join(sorted(p.name for p in result.files.values()))}"
        f" to {out}."
    )


def _share(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _print_kernels(data: dict[str, Any]) -> None:
    table = Table(
        title="Trained k x k kernels: % rank 1 within 1 / 5 / 10 % error (random weights)"
    )
    for name in (
        "network",
        "kind",
        "layers",
        "kernels",
        "trained 1/5/10 %",
        "random 1/5/10 %",
        "mean rank @1 %",
    ):
        table.add_column(name, justify="left" if name in ("network", "kind") else "right")
    for net in data["networks"]:
        for kind, summary in net["summary"].items():
            t, r = summary["trained"], summary["random"]
            table.add_row(
                net["title"],
                kind,
                str(summary["layers"]),
                f"{t['slices']:,}",
                " / ".join(_share(t[f"rank1_share_{s}"]) for s in ("1", "5", "10")),
                " / ".join(_share(r[f"rank1_share_{s}"]) for s in ("1", "5", "10")),
                f"{t['mean_rank_1']:.2f} ({r['mean_rank_1']:.2f})",
            )
    console.print(table)
    forced = data["forced"]
    conv = Table(
        title="MTCNN with every k x k convolution made separable (no fine-tuning): "
        "agreement with the original"
    )
    for name in (
        "method",
        "rank",
        "weights",
        "crops kept P / R / O %",
        "faces found",
        "mean IoU",
        "landmarks % box",
        "extra faces / no-face det.",
    ):
        conv.add_column(name, justify="left" if name == "method" else "right")
    for row in forced["rows"]:
        faces = row["faces"]
        conv.add_row(
            row["method"],
            str(row["rank"]),
            f"{row['weights']:,}",
            " / ".join(_share(row["crops"][n]["agreement"]) for n in ("pnet", "rnet", "onet")),
            f"{faces['matched']} / {faces['original']}",
            "-" if faces["mean_iou"] is None else f"{faces['mean_iou']:.3f}",
            "-" if faces["landmark_error"] is None else f"{faces['landmark_error']:.2f}",
            f"{faces['extra']} / {row['negatives']['converted']}",
        )
    console.print(conv)
    console.print("[bold]Small separable networks, on two data sets[/bold]")
    capacity = data["capacity"]
    for name, info in capacity["datasets"].items():
        console.print(f"- {name}: the warning is {info['claim']}.")
        for family, f in info["families"].items():
            if f["gap_mean"] is None:
                continue
            console.print(
                f"  {family} at width {f['smallest_width']}: {f['gap_mean']:.1f} points below "
                f"standard (per seed {f['gap_min']:.1f} to {f['gap_max']:.1f})"
                + ("; under-fits" if f["underfits_at_smallest"] else "")
                + f"; within 1 point from width {f['catches_up_at'] or 'never'}."
            )
    if capacity["disagreements"]:
        console.print(
            "[yellow]The data sets disagree:[/yellow] " + "; ".join(capacity["disagreements"])
        )
    else:
        console.print("The two data sets agree.")
