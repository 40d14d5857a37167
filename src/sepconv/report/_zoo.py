"""Report section: the article's two claims on networks other people trained.

Runs ``sepconv study kernels --quick`` (:func:`sepconv.study.run_kernels`): the separability
of trained k x k kernels shipped inside pip packages and of the study's own networks beside
random weights, MTCNN made separable, and the capacity study on a second data set.
"""

from __future__ import annotations

from typing import Any

from ..study._results import FAMILY_NAMES
from . import Context, Section
from ._html import escape, png_bytes_figure, table

QUICK_COMMAND = "sepconv study kernels --quick --out kernels"
FULL_COMMAND = "sepconv study kernels --out kernels-full"

_METHODS = {
    "slice": "each kernel its best rank r (dense layer)",
    "svd": "SpatialSeparableConv2d, weight-space SVD",
    "data": "SpatialSeparableConv2d, data-aware fit",
}


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _shares(stats: dict[str, Any]) -> str:
    return " / ".join(_pct(stats[f"rank1_share_{s}"]) for s in ("1", "5", "10"))


def _acc(value: dict[str, float], seeds: int) -> str:
    # Mean ± sample std over seeds; one seed has no spread to show.
    if seeds > 1:
        return f"{value['mean']:.1f} ± {value['std']:.1f} %"
    return f"{value['mean']:.1f} %"


def build(ctx: Context) -> Section:
    # Always the quick run (about half a minute); the full one is a documented command whose
    # results are kept in docs/study/kernels/.  Its digits study shares the runs of the study
    # section (the same quick settings), so only the texture study trains here.
    from ..plot import KERNEL_FIGURES
    from ..study import KernelsConfig, run_kernels

    out = ctx.out_dir / "kernels"
    ctx.progress(f"  measuring trained kernels into {out} (cached study runs are reused)")
    result = run_kernels(
        KernelsConfig.quick(),
        out,
        caches={"digits": ctx.out_dir / "study" / "runs"},
        progress=ctx.progress,
        figures=KERNEL_FIGURES,
    )
    data = result.data
    html = (
        _claims(data)
        + _spectra(data, result)
        + _answers(data)
        + _forced(data, result)
        + _capacity(data, result)
        + f"<p>This is the quick run (<code>{escape(QUICK_COMMAND)}</code>, "
        f"{data['seconds']:.0f} s here): every trained kernel of the five networks is "
        "measured, but the capacity studies stop at width 8 with 2 seeds and 150 steps, and "
        "MTCNN is tested on fewer images. The full run, "
        f"<code>{escape(FULL_COMMAND)}</code> (the full capacity study on both data sets), "
        "keeps its results in <code>docs/study/kernels/</code> with its measured time.</p>"
    )
    shares = [
        f"{net['title']}{' ' + kind if kind != 'dense' else ''} "
        f"{_pct(stats['trained']['rank1_share_10'])} %"
        for net in data["networks"]
        if net.get("origin") == "package"
        for kind, stats in net["summary"].items()
    ]
    control = max(
        stats["random"]["rank1_share_10"]
        for net in data["networks"]
        for stats in net["summary"].values()
    )
    summary = [
        (
            "trained kernels rank 1 within 10 %",
            f"{', '.join(shares)} (random weights: at most {_pct(control)} %)",
        )
    ]
    best = next(
        (r for r in data["forced"]["rows"] if r["method"] == "data" and r["rank"] == 2), None
    )
    if best is not None:
        summary.append(
            (
                "MTCNN separable (rank 2, data-aware, no fine-tuning)",
                f"{best['faces']['matched']} of {best['faces']['original']} faces found again",
            )
        )
    return Section(
        title="Do trained kernels separate? Networks other people trained",
        html=html,
        data=data,
        summary=summary,
    )


def _claims(data: dict[str, Any]) -> str:
    claims = data["claims"]
    return (
        "<p>The article makes two claims. <strong>1.</strong> <em>"
        + escape(claims["separable"])
        + "</em> <strong>2.</strong> <em>"
        + escape(claims["small"])
        + "</em> Here both are measured on networks that other people trained on real data, "
        "whose weights ship inside pip packages (<code>pip install 'sepconv[zoo]'</code>; "
        "nothing is downloaded), and on the study's own networks, always beside random "
        "(untrained) weights of the same shapes: PyTorch's default initialisation, "
        "independent uniform entries.</p>"
    )


def _spectra(data: dict[str, Any], result: Any) -> str:
    rows = []
    for net in data["networks"]:
        for kind, stats in net["summary"].items():
            t, r = stats["trained"], stats["random"]
            rows.append(
                [
                    net["title"],
                    net["package"],
                    kind,
                    stats["layers"],
                    f"{t['slices']:,}",
                    _shares(t),
                    _shares(r),
                    f"{t['mean_rank_1']:.2f} ({r['mean_rank_1']:.2f})",
                    f"{t['median_rank1_error']:.2f} ({r['median_rank1_error']:.2f})",
                ]
            )
    dense_only = [
        n["title"]
        for n in data["networks"]
        if n.get("origin") == "package" and "depthwise" not in n["summary"]
    ]
    return (
        "<h3>1. Do trained kernels separate?</h3>"
        "<p>For every convolution with a kernel of at least 3 x 3, each (output, input) "
        "k x k slice -- one per channel for depthwise layers -- is split into singular "
        "values. A slice is rank 1 (spatially separable) within an error when its best "
        "rank-1 approximation (truncated SVD) is that close in relative Frobenius norm. "
        "Depthwise layers are counted apart from dense ones"
        + (
            f"; {escape(', '.join(dense_only))} have none (every convolution is dense)"
            if dense_only
            else ""
        )
        + ".</p>"
        + table(
            [
                "network",
                "weights from",
                "kind",
                "k x k layers",
                "kernels",
                "rank 1 within 1 / 5 / 10 % (%)",
                "random weights (%)",
                "mean rank for 1 % (random)",
                "median rank-1 error (random)",
            ],
            rows,
        )
        + png_bytes_figure(
            (result.out_dir / "rank1_depth.png").read_bytes(),
            "Share of each layer's kernels that are rank 1 within 10 % error, against the "
            "layer's depth; grey crosses: random weights of the same shapes.",
            QUICK_COMMAND,
        )
        + png_bytes_figure(
            (result.out_dir / "spectra.png").read_bytes(),
            "Singular-value curves: each network's mean normalised singular values of its "
            "3 x 3 kernels, and the share of kernels within each rank-1 error.",
            QUICK_COMMAND,
        )
    )


def _answers(data: dict[str, Any]) -> str:
    items = "".join(
        f"<li><strong>{escape(a['title'])}.</strong> Claim 1: {escape(a['separable'])}"
        + (f" Forced: {escape(a['forced'])}" if a.get("forced") else "")
        + f" Claim 2: {escape(a['small'])}</li>"
        for a in data["answers"]
    )
    return (
        "<p><strong>The measured answer, per network</strong> (computed from the numbers "
        "above and below):</p><ul>" + items + "</ul>"
    )


def _forced(data: dict[str, Any], result: Any) -> str:
    forced = data["forced"]
    original = forced["original"]
    rows = []
    for row in forced["rows"]:
        faces, negatives = row["faces"], row["negatives"]
        crops = row["crops"]
        rows.append(
            [
                _METHODS[row["method"]],
                row["rank"],
                f"{row['weights']:,}",
                f"{row['weight_error']:.3f}",
                " / ".join(_pct(crops[n]["agreement"]) for n in ("pnet", "rnet", "onet")),
                " / ".join(
                    f"{crops[n]['probability_difference']:.3f}" for n in ("pnet", "rnet", "onet")
                ),
                f"{faces['matched']} / {faces['original']}",
                "-" if faces["mean_iou"] is None else f"{faces['mean_iou']:.3f}",
                "-" if faces["landmark_error"] is None else f"{faces['landmark_error']:.2f}",
                faces["extra"],
                negatives["converted"],
            ]
        )
    evaluation = forced["evaluation"]
    no_face = sum(original["detections"][n] for n in evaluation["images_without_faces"])
    accuracy = original["accuracy"]
    return (
        "<h3>2. What forcing separation costs: MTCNN</h3>"
        "<p>MTCNN's three nets, rebuilt in plain PyTorch from the state dicts "
        "<code>facenet-pytorch</code> ships, with every k x k convolution replaced before "
        "any fine-tuning: each kernel by its own best rank-r approximation (the layer stays "
        "dense; this asks whether each trained kernel separates), or the layer by a "
        "<code>SpatialSeparableConv2d</code> with <code>mid_channels = r x in_channels</code> "
        "(full rank: exact) whose factors come from the weight-space SVD or from the "
        "data-aware fit of <code>sepconv.nn.convert(..., calibration=...)</code>. Calibration "
        f"uses {escape(', '.join(forced['calibration']['images']))} and even-numbered LFW crops; "
        f"the test uses {evaluation['lfw_crops']} odd-numbered LFW crops of scikit-image "
        f"({evaluation['lfw_faces']} faces; the original nets classify "
        f"{_pct(accuracy['pnet'], 0)} / {_pct(accuracy['rnet'], 0)} / "
        f"{_pct(accuracy['onet'], 0)} % of them right), and the whole cascade on "
        f"{escape(', '.join(evaluation['images_with_faces']))} (faces) and "
        f"{escape(', '.join(evaluation['images_without_faces']))} (no faces).</p>"
        + table(
            [
                "replacement",
                "r",
                "k x k weights",
                "max weight error",
                "crops kept P / R / O (%)",
                "mean |prob. change| P / R / O",
                "faces found",
                "mean IoU",
                "landmarks (% box)",
                "extra faces",
                f"no-face detections (original {no_face})",
            ],
            rows,
        )
        + f"<p>The original k x k layers hold {original['weights']:,} weights (biases "
        'included). "crops kept": share of the test crops whose face / non-face decision at '
        "the net's threshold is the original's; \"faces found\": the original cascade's "
        "faces that the converted one finds again (box IoU at least 0.5); landmarks: mean "
        "distance of the five points, in percent of the face box's width.</p>"
        + png_bytes_figure(
            (result.out_dir / "forced.png").read_bytes(),
            "Agreement of MTCNN made separable with the original, against the rank.",
            QUICK_COMMAND,
        )
    )


def _capacity(data: dict[str, Any], result: Any) -> str:
    capacity = data["capacity"]
    items = []
    for name, info in capacity["datasets"].items():
        lines = []
        for family, f in info["families"].items():
            if f["gap_mean"] is None:
                continue
            lines.append(
                f"{FAMILY_NAMES[family]} at width {f['smallest_width']}: "
                f"{_acc(f['acc'], 2)} against {_acc(f['acc_standard'], 2)} (standard), "
                f"{f['gap_mean']:.1f} points lower (per seed "
                f"{f['gap_min']:.1f} to {f['gap_max']:.1f})"
                + (", under-fitting" if f["underfits_at_smallest"] else "")
                + (
                    f"; within 1 point from width {f['catches_up_at']}"
                    if f["catches_up_at"]
                    else "; not within 1 point at the widths tried"
                )
            )
        conv = info.get("conversion")
        if conv:
            parts = ", ".join(
                f"{init} {_acc(r['finetuned'], conv['seeds'])}" for init, r in conv["rows"].items()
            )
            lines.append(
                f"conversion instead of retraining at width {conv['width']} (the standard "
                f"network: {conv['before']:.1f} %): depthwise multiplier 1 after "
                f"{conv['finetune_steps']} distilling steps, {parts} "
                f"({conv['seeds']} seed{'s' if conv['seeds'] > 1 else ''}); the same "
                f"architecture trained from scratch {_acc(conv['scratch'], 2)}"
            )
        items.append(
            f"<li><strong>{escape(name)}</strong> ({info['dataset']['images']:,} images, "
            f"{len(info['dataset']['classes'])} classes, seeds "
            f"{', '.join(map(str, info['seeds']))}): the warning is "
            f"<strong>{escape(info['claim'])}</strong>.<ul>"
            + "".join(f"<li>{escape(line)}</li>" for line in lines)
            + "</ul></li>"
        )
    if capacity["disagreements"]:
        verdict = (
            "<p><strong>The data sets disagree:</strong> "
            + escape("; ".join(capacity["disagreements"]))
            + ".</p>"
        )
    else:
        verdict = "<p>The two data sets agree on every point compared.</p>"
    textures = result.studies.get("textures")
    figure = ""
    if textures is not None and (textures.out_dir / "study.png").is_file():
        figure = png_bytes_figure(
            (textures.out_dir / "study.png").read_bytes(),
            "The capacity study on the texture patches (the digits' figure is in the study "
            "section above).",
            "sepconv study --data textures --quick",
        )
    return (
        "<h3>3. Do small separable networks fail to learn? Two data sets</h3>"
        "<p>The capacity study (matched small CNNs that differ only in their convolution; "
        "see the study section) on scikit-learn's digits and on 16 x 16 texture patches cut "
        "from six of scikit-image's bundled images (brick, grass, gravel, ihc, moon, "
        "hubble_deep_field), split by image region: the top 60 % of each image trains, the "
        "next 20 % validates, the last 20 % tests, so no pixel is shared. Mean ± standard "
        "deviation over seeds; the per-seed range of the gap to the standard network.</p><ul>"
        + "".join(items)
        + "</ul>"
        + verdict
        + figure
    )


__all__ = ["FULL_COMMAND", "QUICK_COMMAND", "build"]
