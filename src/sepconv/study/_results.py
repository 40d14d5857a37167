"""From finished runs to the numbers a reader sees: summary table, finding, files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._files import json_default

#: How a family is named in sentences.
FAMILY_NAMES = {
    "standard": "standard",
    "depthwise": "depthwise separable",
    "spatial": "spatially separable",
}

#: Columns of ``results.csv`` (one row per family and width), in order.
SUMMARY_COLUMNS = (
    "family",
    "width",
    "weights",
    "macs",
    "seeds",
    "test_acc_mean",
    "test_acc_std",
    "val_acc_mean",
    "val_acc_std",
    "train_acc_mean",
    "train_loss_mean",
    "train_loss_std",
    "wall_s_mean",
)
#: Columns of ``runs.csv`` (one row per trained network).
RUN_COLUMNS = (
    "family",
    "width",
    "seed",
    "weights",
    "macs",
    "test_acc",
    "val_acc",
    "train_acc",
    "train_loss",
    "last_batch_loss",
    "wall_s",
    "key",
)
#: Columns of ``conversion.csv`` (one row per conversion setting, averaged over seeds).
CONVERSION_COLUMNS = (
    "kind",
    "setting",
    "init",
    "seeds",
    "weights",
    "macs",
    "error",
    "acc_before_mean",
    "acc_converted_mean",
    "acc_converted_std",
    "acc_finetuned_mean",
    "acc_finetuned_std",
)


def _std(values: Sequence[float]) -> float:
    # Sample standard deviation over seeds; one seed has no spread to show.
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarise(runs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (family, width): means and sample standard deviations over seeds.

    Examples
    --------
    >>> from sepconv.study import summarise
    >>> rows = summarise([
    ...     {"family": "standard", "width": 2, "seed": s, "weights": 100, "macs": 900,
    ...      "test_acc": a, "val_acc": a, "train_acc": a, "train_loss": 0.5,
    ...      "wall_s": 1.0} for s, a in enumerate([80.0, 84.0])])
    >>> rows[0]["test_acc_mean"], rows[0]["test_acc_std"]
    (82.0, 2.828...)
    """
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["family"], int(run["width"])), []).append(run)
    rows = []
    for (family, width), members in groups.items():

        def values(key: str, members: list[Mapping[str, Any]] = members) -> list[float]:
            return [float(m[key]) for m in members]

        rows.append(
            {
                "family": family,
                "width": width,
                "weights": int(members[0]["weights"]),
                "macs": int(members[0]["macs"]),
                "seeds": len(members),
                "test_acc_mean": float(np.mean(values("test_acc"))),
                "test_acc_std": _std(values("test_acc")),
                "val_acc_mean": float(np.mean(values("val_acc"))),
                "val_acc_std": _std(values("val_acc")),
                "train_acc_mean": float(np.mean(values("train_acc"))),
                "train_loss_mean": float(np.mean(values("train_loss"))),
                "train_loss_std": _std(values("train_loss")),
                "wall_s_mean": float(np.mean(values("wall_s"))),
            }
        )
    order = {"standard": 0, "depthwise": 1, "spatial": 2}
    rows.sort(key=lambda r: (order.get(r["family"], 9), r["family"], r["width"]))
    return rows


def summarise_conversion(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per (kind, setting, init) of the conversion experiment, averaged over seeds."""
    groups: dict[tuple[str, int, str], list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["kind"], int(record["setting"]), record["init"]), []).append(
            record
        )
    rows = []
    for (kind, setting, init), members in groups.items():

        def values(key: str, members: list[Mapping[str, Any]] = members) -> list[float]:
            return [float(m[key]) for m in members]

        rows.append(
            {
                "kind": kind,
                "setting": setting,
                "init": init,
                "seeds": len(members),
                "weights": int(members[0]["weights"]),
                "macs": int(members[0]["macs"]),
                "error": float(np.mean(values("error"))),
                "acc_before_mean": float(np.mean(values("acc_before"))),
                "acc_converted_mean": float(np.mean(values("acc_converted"))),
                "acc_converted_std": _std(values("acc_converted")),
                "acc_finetuned_mean": float(np.mean(values("acc_finetuned"))),
                "acc_finetuned_std": _std(values("acc_finetuned")),
            }
        )
    # Weight-space SVD, then data-aware factors, then the random baseline.
    order = {"svd": 0, "data": 1, "random": 2}
    rows.sort(key=lambda r: (r["kind"], r["setting"], order.get(r["init"], 3)))
    return rows


def conversion_label(row: Mapping[str, Any]) -> str:
    """A short name for a conversion setting, such as ``"depthwise, multiplier 2"``.

    Examples
    --------
    >>> conversion_label({"kind": "spatial", "setting": 3})
    'spatial, mid 3x in'
    """
    if row["kind"] == "depthwise":
        return f"depthwise, multiplier {row['setting']}"
    return f"spatial, mid {row['setting']}x in"


def compute_finding(
    summary: Sequence[Mapping[str, Any]],
    reference: str = "standard",
    tolerance: float = 1.0,
    chance: float | None = None,
) -> dict[str, Any]:
    """What the summary table says about separable networks that are already small.

    For each separable family, the accuracy gap to ``reference`` is computed at every width
    (``reference`` mean minus family mean, in points).  The family *catches up* at the smallest
    width from which every gap is at most ``tolerance``.  Where a gap exceeds ``tolerance`` and
    the family's final training loss is also higher than the reference's, the family
    *under-fits*: it failed to learn the training set, which is the article's warning.  The
    accuracy at equal weight count compares each family with the reference interpolated on a
    log-weights axis.

    Parameters
    ----------
    summary : sequence of mapping
        Rows of :func:`summarise`.
    reference : str
        The family the others are measured against.
    tolerance : float
        Points of accuracy counted as "as good".
    chance : float, optional
        Accuracy of guessing, in percent, to say when a network learned nothing.

    Returns
    -------
    dict
        ``families`` (per family: ``gaps``, ``first_within``, ``catches_up_at``, ``largest_gap``,
        ``underfits_at``, ``weight_ratio``, ``mac_ratio``, ``equal_weights_gain``), ``claim``
        (``"supported"``, ``"not supported"`` or ``"partly supported"``) and ``text`` (the
        sentences, each computed from those numbers).

    Examples
    --------
    >>> from sepconv.study import compute_finding
    >>> rows = [dict(family=f, width=w, weights=n, macs=10 * n, test_acc_mean=a,
    ...              train_loss_mean=l)
    ...         for f, w, n, a, l in [("standard", 2, 400, 80.0, 0.6),
    ...                               ("standard", 8, 6000, 97.0, 0.05),
    ...                               ("depthwise", 2, 200, 60.0, 1.2),
    ...                               ("depthwise", 8, 900, 96.5, 0.08)]]
    >>> finding = compute_finding(rows)
    >>> finding["families"]["depthwise"]["catches_up_at"], finding["claim"]
    (8, 'supported')
    """
    by_family: dict[str, dict[int, Mapping[str, Any]]] = {}
    for row in summary:
        by_family.setdefault(row["family"], {})[int(row["width"])] = row
    if reference not in by_family:
        raise ValueError(
            f"reference: no rows for family {reference!r}; the summary has {sorted(by_family)}"
        )
    ref = by_family[reference]
    families: dict[str, Any] = {}
    text: list[str] = []
    verdicts: list[str] = []
    for family, rows in by_family.items():
        if family == reference:
            continue
        widths = sorted(set(rows) & set(ref))
        if not widths:
            continue
        gaps = {w: ref[w]["test_acc_mean"] - rows[w]["test_acc_mean"] for w in widths}
        catches = next(
            (w for i, w in enumerate(widths) if all(gaps[v] <= tolerance for v in widths[i:])),
            None,
        )
        first = next((w for w in widths if gaps[w] <= tolerance), None)
        worst = max(widths, key=lambda w: gaps[w])
        underfits = [
            w
            for w in widths
            if gaps[w] > tolerance and rows[w]["train_loss_mean"] > ref[w]["train_loss_mean"]
        ]
        info = {
            "gaps": {str(w): round(gaps[w], 3) for w in widths},
            "first_within": first,
            "catches_up_at": catches,
            "largest_gap": {"width": worst, "gap": round(gaps[worst], 3)},
            "underfits_at": underfits,
            "weight_ratio": {
                str(w): round(ref[w]["weights"] / rows[w]["weights"], 3) for w in widths
            },
            "mac_ratio": {str(w): round(ref[w]["macs"] / rows[w]["macs"], 3) for w in widths},
            "equal_weights_gain": _equal_weights_gain(ref, rows),
        }
        families[family] = info
        text.extend(
            _family_sentences(family, reference, widths, gaps, info, rows, ref, tolerance, chance)
        )
        small = widths[0]
        if gaps[small] > tolerance and small in underfits:
            verdicts.append("supported")
        elif gaps[small] > tolerance:
            verdicts.append("partly supported")
        else:
            verdicts.append("not supported")
    if not families:
        raise ValueError(
            "summary: no separable family shares a width with the reference; train at least one "
            "separable family at the same widths"
        )
    claim = verdicts[0] if len(set(verdicts)) == 1 else "partly supported"
    text.append(_claim_sentence(claim, families, tolerance))
    return {
        "reference": reference,
        "tolerance": tolerance,
        "families": families,
        "claim": claim,
        "text": text,
    }


def _equal_weights_gain(
    ref: Mapping[int, Mapping[str, Any]], rows: Mapping[int, Mapping[str, Any]]
) -> float | None:
    # The reference's accuracy interpolated at the family's weight counts (log axis), where
    # they lie inside the reference's range: positive means more accuracy per weight.
    ref_w = sorted(ref)
    x = np.log([ref[w]["weights"] for w in ref_w])
    y = np.array([ref[w]["test_acc_mean"] for w in ref_w])
    order = np.argsort(x)
    x, y = x[order], y[order]
    diffs = [
        row["test_acc_mean"] - float(np.interp(np.log(row["weights"]), x, y))
        for row in rows.values()
        if x[0] <= np.log(row["weights"]) <= x[-1]
    ]
    return round(float(np.mean(diffs)), 3) if diffs else None


def _family_sentences(
    family: str,
    reference: str,
    widths: list[int],
    gaps: dict[int, float],
    info: Mapping[str, Any],
    rows: Mapping[int, Mapping[str, Any]],
    ref: Mapping[int, Mapping[str, Any]],
    tolerance: float,
    chance: float | None,
) -> list[str]:
    name, ref_name = FAMILY_NAMES.get(family, family), FAMILY_NAMES.get(reference, reference)
    small = widths[0]
    a, b = rows[small], ref[small]
    out = []
    first = (
        f"At width {small}, the {name} network has {info['weight_ratio'][str(small)]:.1f}x fewer "
        f"weights than the {ref_name} one and reaches {_acc(a)} test accuracy against {_acc(b)}"
    )
    if gaps[small] > tolerance:
        first += f", {gaps[small]:.1f} points lower"
        if small in info["underfits_at"]:
            first += (
                f"; its final training loss is higher ({a['train_loss_mean']:.3f} vs "
                f"{b['train_loss_mean']:.3f}), so it under-fits: it fails to learn the "
                "training set, not just to generalise"
            )
        else:
            first += (
                f"; its final training loss is not higher ({a['train_loss_mean']:.3f} vs "
                f"{b['train_loss_mean']:.3f}), so the loss is in generalisation, not in "
                "learning"
            )
    elif gaps[small] < -tolerance:
        first += f", {-gaps[small]:.1f} points higher"
    else:
        first += f", within {tolerance:g} point{'s' if tolerance != 1 else ''}"
    if chance is not None and a["test_acc_mean"] < chance + 10:
        first += f" (chance is {chance:.0f} %)"
    out.append(first + ".")
    catches, first_within = info["catches_up_at"], info["first_within"]
    if first_within is None:
        best = min(widths, key=lambda w: gaps[w])
        out.append(
            f"The {name} network never comes within {tolerance:g} point of the {ref_name} one at "
            f"the widths tried ({', '.join(map(str, widths))}); its smallest gap is "
            f"{gaps[best]:.1f} points, at width {best}."
        )
    elif catches is None or catches != first_within:
        behind = [w for w in widths if w > first_within and gaps[w] > tolerance]
        again = ", ".join(f"{gaps[w]:.1f} points at width {w}" for w in behind)
        out.append(
            f"It comes within {tolerance:g} point of the {ref_name} network at width "
            f"{first_within} (gap {gaps[first_within]:+.1f} points) but falls behind again "
            f"({again})" + (f"; it stays within from width {catches} upward." if catches else ".")
        )
    elif catches == small:
        out.append(
            f"The {name} network stays within {tolerance:g} point of the {ref_name} one at every "
            f"width tried ({', '.join(map(str, widths))})."
        )
    else:
        out.append(
            f"It comes within {tolerance:g} point of the {ref_name} network from width {catches} "
            f"upward (gap {gaps[catches]:+.1f} points) while using "
            f"{info['weight_ratio'][str(catches)]:.1f}x fewer weights and "
            f"{info['mac_ratio'][str(catches)]:.1f}x fewer multiply-accumulates."
        )
    gain = info["equal_weights_gain"]
    if gain is not None:
        side = "more" if gain > 0 else "less"
        out.append(
            f"At equal weight count (the {ref_name} curve interpolated), the {name} network is "
            f"{abs(gain):.1f} points {side} accurate on average: "
            + (
                "per weight it is the better use of a budget."
                if gain > tolerance
                else "per weight it is the worse use of a budget."
                if gain < -tolerance
                else "per weight the two are about as good."
            )
        )
    return out


def _claim_sentence(claim: str, families: Mapping[str, Mapping[str, Any]], tolerance: float) -> str:
    smallest = min(int(w) for info in families.values() for w in info["gaps"])
    catch = [info["catches_up_at"] for info in families.values()]
    if claim == "not supported":
        return (
            f"The article's warning does not show here: even at the smallest width "
            f"({smallest}) the separable networks stay within {tolerance:g} point of the "
            "standard one."
        )
    if all(c is not None for c in catch):
        closes = f"the gap closes by width {max(catch)}"
    else:
        closes = "the gap does not close at the widths tried"
    if claim == "supported":
        return (
            f"The article's warning holds here: at the smallest width ({smallest}) the "
            f"separable networks under-fit their training set, and {closes}."
        )
    return (
        f"The article's warning holds only in part here: at the smallest width ({smallest}) "
        f"separable networks lose accuracy, but not every one fails to fit its training "
        f"set; {closes}."
    )


def _acc(row: Mapping[str, Any]) -> str:
    std = row.get("test_acc_std")
    if std:
        return f"{row['test_acc_mean']:.1f} ± {std:.1f} %"
    return f"{row['test_acc_mean']:.1f} %"


def to_json(data: Any) -> str:
    """JSON text with NumPy scalars and paths converted."""
    return json.dumps(data, indent=2, default=json_default) + "\n"


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text with a header row; floats rounded to 4 decimals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [round(v, 4) if isinstance(v, float) else v for v in (row.get(c) for c in columns)]
        )
    return buffer.getvalue()
