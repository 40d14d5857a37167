"""Figures of ``sepconv study kernels``: trained kernels' separability and forced separation.

Each reads the ``kernels.json`` that :func:`sepconv.study.run_kernels` writes (a path, or the
dictionary itself).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._draw import COLORS, figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["forced_agreement", "trained_rank1", "trained_spectra"]

_RANDOM = "#9a9a9a"


def _kernels(results: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(results, Mapping):
        data = results
    else:
        path = Path(results)
        if not path.is_file():
            raise ValueError(
                f"results: {path} does not exist; write it with `sepconv study kernels --quick`"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"results: {path} is not valid JSON ({exc})") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("networks"), list):
        raise ValueError(
            "results: no 'networks' list; expected the kernels.json of sepconv study kernels"
        )
    return data


def trained_rank1(
    results: str | Path | Mapping[str, Any], *, small: bool = False, tolerance: str = "10"
) -> Figure:
    """Share of rank-1 kernels per layer against the layer's depth, trained and random.

    One panel for dense layers, one for depthwise ones; each network is a line of its layers'
    ``rank1_share_<tolerance>`` at their relative depth (0 = first convolution, 1 = last;
    layers of several seeds at one depth are averaged), and its random-weights control the
    grey markers at the same depths.

    Parameters
    ----------
    results : path or mapping
        ``kernels.json``.
    small : bool
        Draw a smaller figure.
    tolerance : {"1", "5", "10"}
        Relative Frobenius error (percent) within which a kernel counts as rank 1.

    Examples
    --------
    >>> from sepconv import plot
    >>> layer = {"kind": "dense", "depth_fraction": 0.0, "rank1_share_10": 0.2,
    ...          "random": {"rank1_share_10": 0.0}}
    >>> data = {"networks": [{"title": "toy", "layers": [layer]}]}
    >>> [ax.get_label() for ax in plot.trained_rank1(data, small=True).axes]
    ['dense', 'depthwise']
    """
    if tolerance not in ("1", "5", "10"):
        raise ValueError(f"tolerance must be '1', '5' or '10', got {tolerance!r}")
    data = _kernels(results)
    field = f"rank1_share_{tolerance}"
    fig = figure((7.5, 2.8) if small else (12, 4.6))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, kind in zip(axes, ("dense", "depthwise")):
        ax.set_label(kind)
        drawn = 0
        for index, net in enumerate(data["networks"]):
            rows = [
                r
                for r in net.get("layers", [])
                if r.get("kind") == kind and r.get(field) is not None
            ]
            if not rows:
                continue
            # The study's networks are pooled over seeds: one point per depth, their mean.
            by_depth: dict[float, list[Mapping[str, Any]]] = {}
            for r in rows:
                by_depth.setdefault(r["depth_fraction"], []).append(r)
            x = sorted(by_depth)
            ax.plot(
                x,
                [100 * sum(r[field] for r in by_depth[d]) / len(by_depth[d]) for d in x],
                marker="o",
                markersize=3,
                linewidth=1.2,
                color=COLORS[index % len(COLORS)],
                linestyle="--" if net.get("origin") == "study" else "-",
                label=net.get("title", net.get("key", "?")),
            )
            ax.scatter(
                [r["depth_fraction"] for r in rows],
                [100 * r["random"][field] for r in rows],
                s=8,
                marker="x",
                color=_RANDOM,
            )
            drawn += 1
        ax.scatter([], [], s=8, marker="x", color=_RANDOM, label="random weights (same shapes)")
        ax.set_title(f"{kind} layers" if drawn else f"{kind} layers (none)")
        ax.set_xlabel("relative depth (0 = first convolution, 1 = last)")
        ax.set_xlim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend(fontsize=6 if small else 7, loc="upper right")
    axes[0].set_ylabel(f"kernels rank 1 within {tolerance} % error (%)")
    fig.suptitle(f"Which trained k x k kernels separate? (rank 1 within {tolerance} % error)")
    return fig


def trained_spectra(results: str | Path | Mapping[str, Any], *, small: bool = False) -> Figure:
    """Singular-value curves: each network's mean normalised spectrum and its rank-1 error CDF.

    Left: the mean of every 3 x 3 kernel's singular values divided by their root sum of
    squares (a rank-1 kernel is ``[1, 0, 0]``), dense kernels solid, depthwise dashed; the
    random control pooled over all networks in grey.  Right: the share of kernels whose best
    rank-1 approximation is within a relative error, per network and kind.

    Examples
    --------
    >>> from sepconv import plot
    >>> stats = {"singular_values_mean": {"3": [0.9, 0.4, 0.1]},
    ...          "rank1_error_cdf": [0.0, 0.5, 1.0]}
    >>> net = {"title": "toy", "summary": {"dense": {"trained": stats, "random": stats}}}
    >>> fig = plot.trained_spectra({"networks": [net]}, small=True)
    >>> [ax.get_label() for ax in fig.axes]
    ['spectrum', 'rank-1 error']
    """
    data = _kernels(results)
    fig = figure((7.5, 2.8) if small else (12, 4.6))
    spectrum, cdf = fig.subplots(1, 2)
    spectrum.set_label("spectrum")
    cdf.set_label("rank-1 error")
    random_drawn = set()
    for index, net in enumerate(data["networks"]):
        color = COLORS[index % len(COLORS)]
        for kind, summary in net.get("summary", {}).items():
            style = "-" if kind == "dense" else "--"
            label = f"{net.get('title', net.get('key', '?'))} ({kind})"
            trained, control = summary["trained"], summary["random"]
            values = (trained.get("singular_values_mean") or {}).get("3")
            if values:
                spectrum.plot(
                    range(1, len(values) + 1),
                    values,
                    style,
                    marker="o",
                    color=color,
                    markersize=3,
                    linewidth=1.2,
                    label=label,
                )
            points = trained.get("rank1_error_cdf")
            if points:
                grid = [i / (len(points) - 1) for i in range(len(points))]
                cdf.plot(
                    grid, [100 * p for p in points], style, color=color, linewidth=1.2, label=label
                )
            if kind not in random_drawn:
                values = (control.get("singular_values_mean") or {}).get("3")
                if values:
                    spectrum.plot(
                        range(1, len(values) + 1),
                        values,
                        ":",
                        marker="x",
                        color=_RANDOM,
                        label=f"random weights ({kind})",
                    )
                points = control.get("rank1_error_cdf")
                if points:
                    grid = [i / (len(points) - 1) for i in range(len(points))]
                    cdf.plot(
                        grid,
                        [100 * p for p in points],
                        ":",
                        color=_RANDOM,
                        linewidth=1.5,
                        label=f"random weights ({kind})",
                    )
                random_drawn.add(kind)
    spectrum.set_xlabel("singular value index (3 x 3 kernels)")
    spectrum.set_ylabel("mean of s_i / ||s||")
    spectrum.set_xticks([1, 2, 3])
    spectrum.set_title("Mean normalised singular values")
    cdf.set_xlabel("relative Frobenius error of the best rank-1 approximation")
    cdf.set_ylabel("kernels within that error (%)")
    cdf.set_title("How far from rank 1 (all kernel sizes)")
    for ax in (spectrum, cdf):
        ax.grid(True, alpha=0.3)
    cdf.legend(fontsize=5 if small else 6, loc="upper left")
    return fig


def forced_agreement(results: str | Path | Mapping[str, Any], *, small: bool = False) -> Figure:
    """MTCNN made separable: agreement with the original against the rank, per method.

    Left: share of LFW crops whose face / non-face decision each net keeps (P-Net solid,
    R-Net dashed, O-Net dotted).  Middle: share of the original cascade's faces found again.
    Right: mean box IoU of the faces found again.

    Examples
    --------
    >>> from sepconv import plot
    >>> crops = {n: {"agreement": 1.0} for n in ("pnet", "rnet", "onet")}
    >>> row = {"method": "svd", "rank": 1, "crops": crops,
    ...        "faces": {"recall": 1.0, "mean_iou": 0.9}}
    >>> fig = plot.forced_agreement({"networks": [], "forced": {"rows": [row]}}, small=True)
    >>> [ax.get_label() for ax in fig.axes]
    ['crops', 'recall', 'iou']
    """
    data = _kernels(results)
    rows = (data.get("forced") or {}).get("rows") or []
    fig = figure((7.5, 2.6) if small else (12, 3.8))
    crops, recall, iou = fig.subplots(1, 3)
    for ax, label in ((crops, "crops"), (recall, "recall"), (iou, "iou")):
        ax.set_label(label)
    ranks = sorted({r["rank"] for r in rows}, key=lambda v: (isinstance(v, str), v))
    position = {rank: i for i, rank in enumerate(ranks)}
    names = {"slice": "per-slice SVD", "svd": "weight-space SVD", "data": "data-aware fit"}
    for index, method in enumerate(("slice", "svd", "data")):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: position[r["rank"]])
        if not mine:
            continue
        # Methods often agree exactly: a small shift and a marker each keep every line visible.
        style = {"color": COLORS[index], "marker": "o^s"[index], "markersize": 4}
        x = [position[r["rank"]] + 0.04 * (index - 1) for r in mine]
        for net, line in (("pnet", "-"), ("rnet", "--"), ("onet", ":")):
            crops.plot(
                x,
                [100 * r["crops"][net]["agreement"] for r in mine],
                line,
                label=f"{names[method]}, {net[0].upper()}-Net",
                **style,
            )
        faces = [r["faces"] for r in mine]
        recall.plot(x, [100 * (f["recall"] or 0.0) for f in faces], label=names[method], **style)
        iou.plot(
            x,
            [f["mean_iou"] if f["mean_iou"] is not None else float("nan") for f in faces],
            label=names[method],
            **style,
        )
    for ax in (crops, recall, iou):
        ax.set_xticks(range(len(ranks)), [str(r) for r in ranks])
        ax.set_xlabel("rank r")
        ax.grid(True, alpha=0.3)
    crops.set_ylabel("crop decisions kept (%)")
    crops.set_title("Face / non-face on LFW crops")
    recall.set_ylabel("original faces found (%)")
    recall.set_title("Whole cascade: faces found")
    iou.set_ylabel("mean box IoU")
    iou.set_title("Whole cascade: box overlap")
    crops.legend(fontsize=5 if small else 6, loc="lower right")
    recall.legend(fontsize=6 if small else 7, loc="lower right")
    fig.suptitle(
        "MTCNN with every k x k convolution made separable, no fine-tuning "
        "(rank r: each kernel rank r, or mid_channels = r x in_channels)"
    )
    return fig


#: The figures ``sepconv study kernels`` writes beside ``kernels.json``: file name -> function.
KERNEL_FIGURES = {
    "rank1_depth.png": trained_rank1,
    "spectra.png": trained_spectra,
    "forced.png": forced_agreement,
}
