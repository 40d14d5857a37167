"""``sepconv convert module:factory --input CxHxW --out model.pt``."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from typer.testing import CliRunner  # noqa: E402

from sepconv._cli import app  # noqa: E402

runner = CliRunner()

MODELS = """
import torch
import torch.nn as nn

def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1))

def no_convs():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 2))

def pointwise_only():
    return nn.Sequential(nn.Conv2d(1, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=8))
"""


@pytest.fixture
def models_module(tmp_path, monkeypatch):
    name = f"cli_sep_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(MODELS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name


def test_writes_the_converted_model_and_prints_the_table(models_module, tmp_path):
    out = tmp_path / "net.pt"
    result = runner.invoke(
        app, ["convert", f"{models_module}:net", "--input", "1x8x8", "--depth-multiplier", "9",
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "9/9" in result.output and "wrote" in result.output
    converted = torch.load(out, weights_only=False)
    x = torch.randn(2, 1, 8, 8)
    import importlib

    original = importlib.import_module(models_module).net()
    with torch.no_grad():
        torch.testing.assert_close(converted(x), original(x), atol=1e-4, rtol=1e-4)


def test_calibration_file_and_json(models_module, tmp_path):
    calib = tmp_path / "x.npy"
    np.save(calib, np.random.default_rng(0).standard_normal((6, 1, 8, 8)).astype(np.float32))
    result = runner.invoke(
        app, ["convert", f"{models_module}:net", "--input", "1x8x8", "--calibration", str(calib),
              "--out", str(tmp_path / "m.pt"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["init"] == "data"
    assert all(layer["output_error"] is not None for layer in data["layers"])


def test_budget_reports_measured_latency(models_module, tmp_path):
    result = runner.invoke(
        app, ["convert", f"{models_module}:net", "--input", "1x16x16", "--budget", "speedup=1.2",
              "--out", str(tmp_path / "m.pt"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    totals = json.loads(result.output)["totals"]
    assert totals["latency_after_s"] <= totals["latency_before_s"]


@pytest.mark.parametrize(
    "args,message",
    [
        (["nope_module:net"], "cannot import"),
        (["{m}:missing"], "has no attribute"),
        (["{m}:no_convs"], "no nn.Conv2d"),
        (["{m}:net", "--calibration", "{wrong}"], "must be (N, 1, 8, 8)"),
        (["{m}:net", "--calibration", "{missing}"], "no such file"),
        (["{m}:net", "--budget", "quick"], "budget must look like"),
    ],
)
def test_bad_input_is_named(models_module, tmp_path, args, message):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((3, 2, 8, 8), dtype=np.float32))
    filled = [
        a.format(m=models_module, wrong=wrong, missing=tmp_path / "missing.npy") for a in args
    ]
    out = tmp_path / "m.pt"
    result = runner.invoke(
        app, ["convert", *filled[:1], "--input", "1x8x8", *filled[1:], "--out", str(out)]
    )
    assert result.exit_code != 0
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
    assert message in flat, result.output
    assert not out.exists()


def test_nothing_converted_is_said_plainly_with_the_reasons(models_module, tmp_path):
    out = tmp_path / "same.pt"
    result = runner.invoke(
        app, ["convert", f"{models_module}:pointwise_only", "--input", "1x8x8", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "nothing converted: the 2 convolutions of the model were left as they are" in text
    # 8 + 8 and 8 * 9 + 8 weights; 8 * 8² + 8 * 6² * 9 MACs
    assert "for the reasons below; the model is unchanged (96 weights, 3,104 MACs" in text
    assert "0: 1x1 kernel" in text and "2: grouped (groups=8)" in text
    assert "total" not in text and "MACs after" not in text  # no empty table of zeros
    # The library's report says the same, and a model with nothing to convert is named so.
    from sepconv import nn as snn

    _, report = snn.convert(torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3)), include=lambda *a: False)
    assert str(report).startswith(
        "nothing converted: the only convolution of the model was left as it is, for the "
        "reason below; the model is unchanged (80 weights)\nleft as it is (1):\n  0: "
    )
    _, empty = snn.convert(torch.nn.Sequential(torch.nn.Linear(2, 2)))
    assert str(empty) == (
        "nothing converted: the model has no nn.Conv2d to convert; the model is unchanged "
        "(6 weights)"
    )
