"""The differential fuzzer: a quick profile against scipy, and proof that it can fail."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sepconv
from sepconv import _fuzz


def test_quick_profile_matches_scipy():
    summary = _fuzz.run(500, seed=0)
    assert summary["mismatches"] == 0, summary["failures"][:3]
    assert set(summary["by_function"]) >= {"correlate", "convolve", "sepfilter"}
    assert summary["skipped_not_separable"] < 50  # the profile mostly checks results


def test_cases_are_reproducible_from_their_seed():
    assert _fuzz.make_case(12345) == _fuzz.make_case(12345)
    drawn = [_fuzz.make_case(i) for i in range(300)]
    assert {len(c["shape"]) for c in drawn} == {1, 2, 3, 4}
    assert any(0 in c["shape"] for c in drawn) and any(1 in c["shape"] for c in drawn)
    assert any(max(c["kernel_sizes"]) > 2 * max(c["shape"] + [1]) for c in drawn)
    assert {c["kernel"] for c in drawn} >= {"random", "separable", "nan", "integer"}
    assert any(isinstance(c["mode"], list) for c in drawn)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("correlate", lambda r: r + np.asarray(1e-3, r.dtype)),  # a small offset
        ("convolve", lambda r: r[::-1].copy()),  # a flipped result
        ("sepfilter", lambda r: np.roll(r, 1, axis=-1)),  # shifted by one sample
    ],
)
def test_the_checker_reports_wrong_results(monkeypatch, name, damage):
    real = getattr(sepconv, name)
    monkeypatch.setattr(sepconv, name, lambda *a, **k: damage(real(*a, **k)))
    found = 0
    for seed in range(400):
        case = _fuzz.make_case(seed)
        if case["func"] != name or not case["shape"] or 0 in case["shape"]:
            continue
        found += not _fuzz.check_case(case)["ok"]
    assert found >= 5


def test_cli_writes_json_and_markdown(tmp_path, capsys):
    out = tmp_path / "fuzz.json"
    assert _fuzz.main(["--cases", "20", "--seed", "3", "--out", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["cases"] == 20 and summary["mismatches"] == 0
    assert "| 20 | 0 |" in out.with_suffix(".md").read_text()
    assert "20 cases, 0 mismatches" in capsys.readouterr().out
