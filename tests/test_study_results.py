"""sepconv.study._results: summaries, and the finding computed from synthetic numbers."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from sepconv.study import compute_finding, summarise, summarise_conversion
from sepconv.study._results import SUMMARY_COLUMNS, to_csv


def _rows(table):
    """Summary rows from (family, width, weights, accuracy, train loss) tuples."""
    return [
        {
            "family": f,
            "width": w,
            "weights": n,
            "macs": 10 * n,
            "test_acc_mean": a,
            "test_acc_std": 0.5,
            "train_loss_mean": loss,
        }
        for f, w, n, a, loss in table
    ]


SMALL_FAILS = _rows(
    [
        ("standard", 2, 1000, 80.0, 0.60),
        ("standard", 4, 4000, 92.0, 0.20),
        ("standard", 8, 16000, 97.0, 0.05),
        ("depthwise", 2, 300, 55.0, 1.40),
        ("depthwise", 4, 900, 89.0, 0.35),
        ("depthwise", 8, 2500, 96.6, 0.06),
    ]
)


def test_summary_means_and_sample_std_over_seeds():
    runs = [
        {
            "family": "depthwise",
            "width": 4,
            "seed": s,
            "weights": 10,
            "macs": 90,
            "test_acc": a,
            "val_acc": a - 1,
            "train_acc": 99.0,
            "train_loss": loss,
            "wall_s": 2.0,
        }
        for s, (a, loss) in enumerate([(90.0, 0.1), (93.0, 0.3), (96.0, 0.2)])
    ]
    (row,) = summarise(runs)
    assert row["seeds"] == 3 and row["test_acc_mean"] == pytest.approx(93.0)
    assert row["test_acc_std"] == pytest.approx(3.0)  # ddof=1: sqrt((9 + 0 + 9) / 2)
    assert row["val_acc_mean"] == pytest.approx(92.0)
    assert row["train_loss_std"] == pytest.approx(0.1)


def test_summary_orders_families_then_widths():
    runs = [
        {
            "family": f,
            "width": w,
            "seed": 0,
            "weights": 1,
            "macs": 1,
            "test_acc": 1.0,
            "val_acc": 1.0,
            "train_acc": 1.0,
            "train_loss": 1.0,
            "wall_s": 1.0,
        }
        for f, w in [("spatial", 8), ("standard", 8), ("depthwise", 2), ("standard", 2)]
    ]
    order = [(r["family"], r["width"]) for r in summarise(runs)]
    assert order == [("standard", 2), ("standard", 8), ("depthwise", 2), ("spatial", 8)]
    assert summarise(runs)[0]["test_acc_std"] == 0.0  # one seed: no spread


def test_finding_catches_up_underfits_and_supports_the_claim():
    finding = compute_finding(SMALL_FAILS)
    info = finding["families"]["depthwise"]
    assert info["gaps"] == {"2": 25.0, "4": 3.0, "8": pytest.approx(0.4)}
    assert info["catches_up_at"] == 8 and info["first_within"] == 8
    assert info["underfits_at"] == [2, 4]
    assert info["largest_gap"] == {"width": 2, "gap": 25.0}
    assert info["weight_ratio"]["8"] == pytest.approx(6.4)
    assert finding["claim"] == "supported"
    text = " ".join(finding["text"])
    assert "25.0 points lower" in text and "from width 8 upward" in text
    assert "6.4x fewer weights" in text and "under-fits" in text


def test_finding_numbers_follow_the_data_not_a_template():
    shifted = [dict(r) for r in SMALL_FAILS]
    for r in shifted:
        if r["family"] == "depthwise" and r["width"] == 4:
            r["test_acc_mean"] = 91.5  # now within 1 point from width 4
    info = compute_finding(shifted)["families"]["depthwise"]
    assert info["catches_up_at"] == 4
    assert "from width 4 upward" in " ".join(compute_finding(shifted)["text"])


def test_equal_weights_gain_is_interpolated_on_log_weights():
    info = compute_finding(SMALL_FAILS)["families"]["depthwise"]
    # Of the depthwise weights (300, 900, 2500) only 2500 lies inside the standard range.
    x = np.log([1000, 4000, 16000])
    expected = 96.6 - np.interp(np.log(2500), x, [80.0, 92.0, 97.0])
    assert info["equal_weights_gain"] == pytest.approx(expected, abs=1e-3)


def test_claim_not_supported_when_separable_keeps_up_everywhere():
    rows = _rows(
        [
            ("standard", 2, 1000, 80.0, 0.6),
            ("standard", 4, 4000, 90.0, 0.2),
            ("spatial", 2, 600, 79.5, 0.7),
            ("spatial", 4, 2000, 90.5, 0.2),
        ]
    )
    finding = compute_finding(rows)
    assert finding["claim"] == "not supported"
    assert finding["families"]["spatial"]["catches_up_at"] == 2
    assert "does not show" in finding["text"][-1]


def test_claim_partly_supported_when_the_loss_is_generalisation():
    rows = _rows(
        [
            ("standard", 2, 1000, 80.0, 0.6),
            ("standard", 4, 4000, 90.0, 0.2),
            ("depthwise", 2, 300, 70.0, 0.4),
            ("depthwise", 4, 900, 89.5, 0.2),
        ]
    )
    finding = compute_finding(rows)
    assert finding["families"]["depthwise"]["underfits_at"] == []
    assert finding["claim"] == "partly supported"
    assert "not in learning" in " ".join(finding["text"])


def test_a_family_that_falls_behind_again_is_reported_so():
    rows = _rows(
        [
            ("standard", 2, 1000, 80.0, 0.6),
            ("standard", 4, 4000, 90.0, 0.2),
            ("standard", 8, 16000, 97.0, 0.1),
            ("depthwise", 2, 300, 70.0, 0.9),
            ("depthwise", 4, 900, 89.5, 0.2),
            ("depthwise", 8, 2500, 95.0, 0.1),
        ]
    )
    info = compute_finding(rows)["families"]["depthwise"]
    assert info["first_within"] == 4 and info["catches_up_at"] is None
    assert "falls behind again (2.0 points at width 8)" in " ".join(compute_finding(rows)["text"])


def test_finding_needs_the_reference_family():
    with pytest.raises(ValueError, match="reference: no rows for family 'standard'"):
        compute_finding([r for r in SMALL_FAILS if r["family"] != "standard"])


def test_conversion_summary_keeps_svd_before_random():
    records = [
        {
            "kind": "depthwise",
            "setting": 1,
            "init": init,
            "seed": s,
            "weights": 5,
            "macs": 50,
            "error": 0.5,
            "acc_before": 95.0,
            "acc_converted": c,
            "acc_finetuned": f,
        }
        for init, s, c, f in [
            ("random", 0, 10.0, 70.0),
            ("svd", 0, 40.0, 90.0),
            ("svd", 1, 50.0, 92.0),
        ]
    ]
    rows = summarise_conversion(records)
    assert [r["init"] for r in rows] == ["svd", "random"]
    assert rows[0]["acc_converted_mean"] == 45.0
    assert rows[0]["acc_finetuned_std"] == pytest.approx(math.sqrt(2))


def test_csv_has_the_documented_columns_in_order():
    text = to_csv([{"family": "standard", "width": 2, "test_acc_mean": 1 / 3}], SUMMARY_COLUMNS)
    reader = list(csv.reader(io.StringIO(text)))
    assert tuple(reader[0]) == SUMMARY_COLUMNS
    assert reader[1][SUMMARY_COLUMNS.index("test_acc_mean")] == "0.3333"
