"""The report framework: sections, skipped sections, atomic replacement."""

from __future__ import annotations

import json

import pytest

from sepconv import report


def test_failing_section_is_skipped_and_the_rest_written(tmp_path, monkeypatch):
    monkeypatch.setattr(
        report,
        "SECTIONS",
        [("kernels", "sepconv.report._kernels:build"), ("broken", "sepconv.no_such_module:build")],
    )
    result = report.build_report(tmp_path)
    assert result.sections["kernels"]["status"] == "ok"
    assert result.sections["broken"]["status"] == "skipped"
    assert "ModuleNotFoundError" in result.sections["broken"]["reason"]
    html = (tmp_path / "index.html").read_text()
    assert "Skipped" in html and "Which kernels separate" in html


def test_existing_report_survives_a_crash(tmp_path, monkeypatch):
    report.build_report(tmp_path, ["kernels"])
    before = (tmp_path / "index.html").read_text()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "_render_page", explode)
    with pytest.raises(KeyboardInterrupt):
        report.build_report(tmp_path, ["kernels"])
    assert (tmp_path / "index.html").read_text() == before
    assert not list(tmp_path.glob(".*.tmp*"))


def test_report_json_has_machine_and_versions(tmp_path):
    report.build_report(tmp_path, ["kernels"])
    meta = json.loads((tmp_path / "report.json").read_text())["meta"]
    assert {"date", "machine", "versions"} <= set(meta)
    assert "numpy" in meta["versions"]


def test_unknown_section_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sections"):
        report.build_report(tmp_path, ["nope"])


def test_figures_section_charts_the_committed_benchmark_results(tmp_path):
    result = report.build_report(tmp_path, ["figures"])
    used = result.sections["figures"]["data"]["benchmark_results"]
    assert {"filter-speed", "layer-speedup"} <= set(used)
    html = (tmp_path / "index.html").read_text()
    assert "Filtering speed against OpenCV" in html and "measured speed-up against the MAC" in html
