"""The report's "layers" section: the article's table and the converted model's profile."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from sepconv import report  # noqa: E402
from sepconv.nn import profile  # noqa: E402
from sepconv.report import _layers  # noqa: E402


def test_layers_section(tmp_path):
    result = report.build_report(tmp_path, ["layers"])
    assert result.sections["layers"]["status"] == "ok", result.sections["layers"]["reason"]
    data = json.loads(result.json_path.read_text())["sections"]["layers"]["data"]
    article = data["article"]
    assert article["normal"]["multiplications"] == 1_228_800
    assert article["separable_multiplications"] == 53_952
    assert (article["normal"]["params"], article["separable_params"]) == (19_200, 843)
    html = result.index.read_text()
    for number in ("1,228,800", "4,800", "49,152", "53,952", "19,200", "843"):
        assert number in html
    # The numbers shown are the library's own, for the model the section describes.
    before = profile(_layers.small_mobilenet_like(), _layers.INPUT_SIZE)
    assert data["profile_before"]["totals"]["multiplications"] == before.multiplications
    after = data["profile_after"]["totals"]
    assert after["multiplications"] == data["separation"]["totals"]["model_multiplications_after"]
    assert after["multiplications"] < before.multiplications / 5
    assert data["separation_full_rank"]["totals"]["max_error"] < 1e-6
