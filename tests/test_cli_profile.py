"""``sepconv profile module:factory --input CxHxW``."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("torch")
from typer.testing import CliRunner  # noqa: E402

from sepconv._cli import app  # noqa: E402

runner = CliRunner()

MODELS = """
import torch.nn as nn
from sepconv.nn import DepthwiseSeparableConv2d

def article():
    return nn.Sequential(DepthwiseSeparableConv2d(3, 256, 5, bias=False))

class Factories:
    @staticmethod
    def small():
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8 * 6 * 6, 2))

not_a_model = 42
"""


@pytest.fixture
def models_module(tmp_path, monkeypatch):
    name = f"cli_models_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_table_for_the_article_model(models_module):
    result = runner.invoke(app, ["profile", f"{models_module}:article", "--input", "3x12x12"])
    assert result.exit_code == 0, result.output
    for text in ("0.depthwise", "0.pointwise", "4,800", "49,152", "53,952", "843"):
        assert text in result.output


def test_json_matches_the_library(models_module):
    from sepconv.nn import profile

    result = runner.invoke(
        app,
        [
            "profile",
            f"{models_module}:Factories.small",
            "--input",
            "3x6x6",
            "--batch-size",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    module = __import__(models_module)
    expected = profile(module.Factories.small(), (3, 6, 6), batch_size=2)
    assert data["totals"]["multiplications"] == expected.multiplications
    assert data["totals"]["params"] == expected.params
    assert [row["name"] for row in data["layers"]] == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["nomodule_xyz:f", "--input", "3x8x8"], "cannot import"),
        (["{m}:missing", "--input", "3x8x8"], "no attribute"),
        (["{m}:not_a_model", "--input", "3x8x8"], "nn.Module"),
        (["{m}", "--input", "3x8x8"], "module:factory"),
        (["{m}:article", "--input", "3xbigx8"], "3x224x224"),
    ],
)
def test_errors_are_reported(models_module, args, message):
    args = [a.format(m=models_module) for a in args]
    result = runner.invoke(app, ["profile", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_help_has_examples():
    out = runner.invoke(app, ["profile", "--help"]).output
    assert "Examples" in out and "sepconv profile" in out
