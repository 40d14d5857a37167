"""``sepconv study`` on the command line."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from sepconv._cli import app
from sepconv.study import StudyConfig

runner = CliRunner()
TINY = ["--quick", "--widths", "2", "--seeds", "0", "--steps", "3"]


def _text(output: str) -> str:
    """The output with rich's box drawing and line wrapping undone."""
    return " ".join(output.replace("\u2502", " ").split())


@pytest.fixture(autouse=True)
def _short_quick(monkeypatch):
    # The real --quick fine-tunes its conversions for 50 steps; the CLI only needs to run.
    quick = StudyConfig.quick()
    monkeypatch.setattr(
        StudyConfig,
        "quick",
        classmethod(
            lambda cls: replace(quick, convert_multipliers=(1,), convert_ranks=(), finetune_steps=1)
        ),
    )


def test_help_has_examples():
    out = runner.invoke(app, ["study", "--help"]).output
    assert "Examples" in out and "sepconv study --quick" in out


def test_tiny_study_prints_tables_and_finding(tmp_path):
    result = runner.invoke(app, ["study", "--out", str(tmp_path), *TINY])
    assert result.exit_code == 0, result.output
    assert "Test accuracy on digits" in result.output
    assert "Finding" in result.output and "sepconv.nn.convert" in result.output
    assert (tmp_path / "results.json").is_file()
    again = runner.invoke(app, ["study", "--out", str(tmp_path), *TINY, "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["trained"] == 0 and data["cached"] > 0
    assert data["config"]["widths"] == [2] and data["config"]["steps"] == 3


def test_bad_options_and_data_get_clear_messages(tmp_path):
    result = runner.invoke(app, ["study", "--out", str(tmp_path), "--widths", "2,x"])
    assert result.exit_code != 0 and "widths must be whole numbers" in _text(result.output)
    result = runner.invoke(app, ["study", "--out", str(tmp_path), "--data", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "does not exist" in _text(result.output)
