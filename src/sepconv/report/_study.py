"""Report section: the capacity study (``sepconv study --quick``) — when separable fails."""

from __future__ import annotations

from . import Context, Section
from ._html import escape, png_bytes_figure, table

#: What the section runs, and the longer command it points to.
QUICK_COMMAND = "sepconv study --quick"
FULL_COMMAND = "sepconv study --out study-full"


def build(ctx: Context) -> Section:
    # Always the quick study, whatever ctx.quick says: the full one takes many minutes and is
    # a documented command of its own.  Its runs are cached under the report folder, so a
    # second report reuses them.
    from ..study import StudyConfig, conversion_label, run_study

    out = ctx.out_dir / "study"
    ctx.progress(f"  training the quick study into {out} (cached runs are reused)")
    result = run_study(StudyConfig.quick(), out)
    config = result.config
    rows = [
        [
            r["family"],
            r["width"],
            f"{r['weights']:,}",
            f"{r['macs']:,}",
            f"{r['test_acc_mean']:.1f} ± {r['test_acc_std']:.1f}",
            f"{r['train_acc_mean']:.1f}",
            f"{r['train_loss_mean']:.3f}",
            f"{r['wall_s_mean']:.1f}",
        ]
        for r in result.summary
    ]
    conversion = [
        [
            conversion_label(r),
            r["init"],
            f"{r['weights']:,}",
            f"{r['error']:.3f}",
            f"{r['acc_before_mean']:.1f}",
            f"{r['acc_converted_mean']:.1f}",
            f"{r['acc_finetuned_mean']:.1f}",
        ]
        for r in result.conversion
    ]
    finding = result.finding["text"] if result.finding else ["No standard family to compare."]
    png = (out / "study.png").read_bytes()
    html = (
        "<p>The article ends with a warning: a depthwise separable convolution has far fewer "
        "parameters, so <em>if the network is already small, it might fail to learn</em>. "
        f"Here small CNNs on {escape(result.dataset['name'])} "
        f"({result.dataset['images']} images, {len(result.dataset['classes'])} classes) that "
        "differ only in their convolution are trained with the same optimiser, schedule, "
        f"augmentation and {config.steps} steps, at widths "
        f"{', '.join(map(str, config.widths))} and seeds {', '.join(map(str, config.seeds))}."
        "</p><p><strong>Finding (computed from the numbers below):</strong></p><ul>"
        + "".join(f"<li>{escape(s)}</li>" for s in finding)
        + "</ul>"
        + png_bytes_figure(
            png,
            "Test accuracy against weights and multiply-accumulates, mean ± std over seeds.",
            QUICK_COMMAND,
        )
        + table(
            [
                "family",
                "width",
                "weights",
                "MACs",
                "test acc. %",
                "train acc. %",
                "train loss",
                "s / run",
            ],
            rows,
        )
        + (
            f"<p>Converting instead of retraining: the trained standard network of width "
            f"{config.conversion_width} converted by <code>sepconv.nn.convert</code>, its "
            f"accuracy right after conversion and after {config.finetune_steps} fine-tuning "
            + (
                f"steps that distil the original network (temperature "
                f"{config.finetune_temperature:g})"
                if config.finetune_temperature is not None
                else "steps on the labels"
            )
            + ", SVD initialisation next to random.</p>"
            + table(
                [
                    "conversion",
                    "init",
                    "weights",
                    "weight error",
                    "before %",
                    "converted %",
                    "fine-tuned %",
                ],
                conversion,
            )
            if conversion
            else ""
        )
        + f"<p>This is the quick study: {config.steps} steps leave the smallest networks short "
        "of convergence, which widens their gaps. The full study, "
        f"<code>{escape(FULL_COMMAND)}</code> (widths 2-64, 3 seeds, "
        f"{StudyConfig.full().steps} steps; about 15 minutes on 2 CPU cores), keeps its "
        "results of one run in <code>docs/study/</code>. Use your own data with "
        "<code>--data FOLDER_OR_NPZ</code>.</p>"
    )
    verdicts = {
        "supported": "it holds here",
        "partly supported": "it holds in part here",
        "not supported": "it does not show here",
    }
    claim = result.finding["claim"] if result.finding else None
    summary = [
        (
            "tiny separable CNNs under-fit (the article's warning)",
            verdicts.get(claim, "not measured"),
            "quick study on scikit-learn's digits, trained now",
        )
    ]
    return Section(
        title="When separable networks fail to learn",
        html=html,
        data=result.to_dict(),
        summary=summary,
    )


__all__ = ["FULL_COMMAND", "QUICK_COMMAND", "build"]
