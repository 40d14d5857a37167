"""``sepconv study kernels`` end to end on tiny settings: kernels.json, figures, CLI, report."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from sepconv import plot, report, study
from sepconv._cli import app
from sepconv.plot import KERNEL_FIGURES
from sepconv.study import KernelsConfig, StudyConfig, _kernels, _zoo, run_kernels
from sepconv.study._forced import ForcedConfig

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("facenet_pytorch") is None or importlib.util.find_spec("onnx") is None,
    reason="the zoo extra is not installed (pip install 'sepconv[zoo]')",
)

TINY = KernelsConfig(
    networks=("mtcnn-pnet", "ppocr-det"),
    study=StudyConfig(
        families=("standard", "depthwise"),
        widths=(2,),
        seeds=(0, 1),
        steps=3,
        batch_size=32,
        convert_multipliers=(1,),
        convert_ranks=(),
        convert_seeds=1,
        finetune_steps=2,
    ),
    # Only the LFW mosaics and crops (test_study_forced runs the cascade on bundled images).
    forced=ForcedConfig(
        ranks=(1,),
        full_rank=(),
        calibration_images=(),
        face_images=(),
        negative_images=(),
        mosaic_faces=2,
        max_crops=32,
    ),
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("kernels")
    return out, run_kernels(TINY, out, figures=KERNEL_FIGURES)


def test_kernels_json_has_every_number_the_issue_names(tiny):
    out, result = tiny
    data = json.loads((out / "kernels.json").read_text())
    assert data == json.loads(json.dumps(result.data))
    keys = [net["key"] for net in data["networks"]]
    assert keys == [
        "mtcnn-pnet",
        "ppocr-det",
        "study-standard-digits",
        "study-depthwise-digits",
        "study-standard-textures",
        "study-depthwise-textures",
    ]
    fields = {"rank1_share_1", "rank1_share_5", "rank1_share_10", "mean_rank_1"}
    for net in data["networks"]:
        assert net["layers"], net["key"]
        for layer in net["layers"]:
            assert fields <= set(layer) and fields <= set(layer["random"])
            assert layer["shape"][2] >= 3 and layer["shape"][3] >= 3
        for summary in net["summary"].values():
            assert fields <= set(summary["trained"]) and fields <= set(summary["random"])
    by_key = {net["key"]: net for net in data["networks"]}
    assert set(by_key["ppocr-det"]["summary"]) == {"dense", "depthwise"}
    assert set(by_key["study-depthwise-digits"]["summary"]) == {"dense", "depthwise"}
    assert by_key["study-standard-digits"]["seeds"] == [0, 1]
    # Stem and conv1-conv3 of one network; their kernels pool both seeds.
    own = by_key["study-standard-digits"]["summary"]["dense"]
    assert own["layers"] == 4
    assert own["trained"]["slices"] == 2 * (2 + 2 * 4 + 4 * 8 + 8 * 8)
    dw = by_key["study-depthwise-textures"]["summary"]["depthwise"]
    assert dw["layers"] == 3 and dw["trained"]["slices"] == 2 * (2 + 4 + 8)
    assert [a["key"] for a in data["answers"]] == keys
    assert data["answers"][0]["forced"] and data["answers"][1]["forced"] is None
    assert [(r["method"], r["rank"]) for r in data["forced"]["rows"]] == [
        ("slice", 1),
        ("svd", 1),
        ("data", 1),
    ]
    capacity = data["capacity"]
    assert set(capacity["datasets"]) == {"digits", "textures"}
    assert isinstance(capacity["agree"], bool)
    assert capacity["agree"] == (not capacity["disagreements"])
    for info in capacity["datasets"].values():
        f = info["families"]["depthwise"]
        assert f["smallest_width"] == 2 and f["gap_min"] <= f["gap_mean"] <= f["gap_max"]
    for name in KERNEL_FIGURES:
        with Image.open(out / name) as png:
            assert png.width > 300
    with np.load(out / "singular_values.npz") as spectra:
        conv2 = spectra["mtcnn-pnet:conv2"]
        assert conv2.shape == (16 * 10, 3) and np.all(np.diff(conv2, axis=1) <= 0)
        assert "study-depthwise-textures:seed 1: conv3.depthwise" in spectra.files


def test_restated_capacity_flags_where_data_sets_disagree(tiny):
    _, result = tiny
    studies = result.studies
    agreed = _kernels.restate_capacity({"a": studies["digits"], "b": studies["digits"]})
    assert agreed["agree"] and not agreed["disagreements"]
    other = replace(studies["digits"], finding={**studies["digits"].finding, "claim": "x"})
    flagged = _kernels.restate_capacity({"a": studies["digits"], "b": other})
    assert not flagged["agree"]
    assert any("on a but x on b" in d for d in flagged["disagreements"])


@pytest.fixture
def measured(tiny, monkeypatch):
    """``run_kernels`` answering with the tiny run (the CLI and the report only present it)."""
    calls = []

    def fake(config, out, **kwargs):
        calls.append((config, out, kwargs))
        return tiny[1]

    monkeypatch.setattr(study, "run_kernels", fake)
    return calls


def test_cli_prints_the_tables(measured, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["study", "kernels", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Trained k x k kernels" in text and "MTCNN" in text and "two data sets" in text
    assert "PP-OCRv4" in text and "depthwise" in text
    assert measured[0][0] == KernelsConfig.quick() and measured[0][1] == tmp_path
    again = runner.invoke(app, ["study", "kernels", "--out", str(tmp_path), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["config"]["networks"] == ["mtcnn-pnet", "ppocr-det"]
    assert measured[1][0] == KernelsConfig.full() and measured[1][2]["progress"] is False
    assert "kernels" in runner.invoke(app, ["study", "--help"]).output


def test_cli_names_the_extra_when_a_package_is_missing(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise _zoo.ZooMissingError(f"nudenet is not installed; {_zoo.INSTALL_HINT}")

    monkeypatch.setattr(_zoo, "package_file", missing)
    result = CliRunner().invoke(app, ["study", "kernels", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "sepconv[zoo]" in " ".join(result.output.split())


def test_report_section_states_the_claims_and_the_answers(measured, tmp_path):
    result = report.build_report(tmp_path, ["zoo"])
    section = result.sections["zoo"]
    assert section["status"] == "ok", section["reason"]
    html = (tmp_path / "index.html").read_text()
    assert "not all kernels can be separated" in html and "might fail to properly learn" in html
    assert "Do trained kernels separate?" in html and "What forcing separation costs" in html
    assert "Two data sets" in html and html.count("data:image/png;base64,") >= 3
    assert section["data"]["answers"][0]["title"] == "MTCNN P-Net"
    # The quick run, its digits study sharing the runs of the report's study section.
    config, out, kwargs = measured[0]
    assert config == KernelsConfig.quick() and out == tmp_path / "kernels"
    assert kwargs["caches"] == {"digits": tmp_path / "study" / "runs"}


def test_figures_draw_what_kernels_json_holds(tiny):
    out, result = tiny
    data = result.data
    fig = plot.trained_rank1(data)
    axes = {ax.get_label(): ax for ax in fig.axes}
    lines = {ln.get_label(): ln for ln in axes["dense"].get_lines()}
    pnet = next(n for n in data["networks"] if n["key"] == "mtcnn-pnet")
    expected = [100 * r["rank1_share_10"] for r in pnet["layers"]]
    assert list(lines["MTCNN P-Net"].get_ydata()) == expected
    depthwise = {ln.get_label() for ln in axes["depthwise"].get_lines()}
    assert "PP-OCRv4 text detector" in depthwise and "MTCNN P-Net" not in depthwise
    fig = plot.forced_agreement(out / "kernels.json")
    crops = next(ax for ax in fig.axes if ax.get_label() == "crops")
    assert len(crops.get_lines()) == 3 * 3  # three methods, three nets
    assert plot.draw("trained-spectra", results=out / "kernels.json", small=True).axes
    with pytest.raises(ValueError, match="does not exist"):
        plot.trained_spectra(out / "nope.json")
    with pytest.raises(ValueError, match="no 'networks'"):
        plot.trained_rank1({"config": {}})
