"""The report's study section (sepconv.report._study)."""

from __future__ import annotations

import json
from html import escape as html_escape

from sepconv import report
from sepconv.study import StudyConfig


def test_section_shows_plot_table_finding_and_full_command(tmp_path, monkeypatch):
    tiny = StudyConfig(
        widths=(2,),
        seeds=(0,),
        steps=3,
        convert_width=2,
        convert_multipliers=(1,),
        convert_ranks=(),
        finetune_steps=1,
    )
    monkeypatch.setattr(StudyConfig, "quick", classmethod(lambda cls: tiny))
    result = report.build_report(tmp_path, ["study"])
    assert result.sections["study"]["status"] == "ok", result.sections["study"]["reason"]
    html = (tmp_path / "index.html").read_text()
    assert "When separable networks fail to learn" in html
    assert "data:image/png;base64," in html and "sepconv study --out study-full" in html
    assert "Finding (computed from the numbers below)" in html
    data = json.loads((tmp_path / "report.json").read_text())["sections"]["study"]["data"]
    assert data["config"]["steps"] == 3 and data["finding"]["text"]
    for sentence in data["finding"]["text"]:
        assert html_escape(sentence) in html
    assert (tmp_path / "study" / "results.json").is_file()
