"""The report's filtering section and the filtering benchmark's smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

pytest.importorskip("sepconv.filters")

from sepconv import report  # noqa: E402
from sepconv.report import _filtering  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_filters.py"


@pytest.fixture(scope="module")
def small_image() -> np.ndarray:
    image, _ = _filtering.sample_image()
    return np.ascontiguousarray(image[::8, ::8])  # 64 x 64 of the camera


def _section(tmp_path, image, **kwargs):
    ctx = report.Context(out_dir=tmp_path)
    return _filtering.build_filtering(ctx, image=image, repeats=1, **kwargs)


def test_sample_filters_match_scipy(small_image):
    out = _filtering.apply_filters(small_image)
    sobel, _ = out["sobel"]
    np.testing.assert_allclose(sobel, ndi.sobel(small_image, axis=-1), rtol=1e-5, atol=1e-6)
    gauss, _ = out["gaussian"]
    np.testing.assert_allclose(
        gauss, ndi.gaussian_filter(small_image, _filtering.GAUSSIAN_SIGMA), rtol=1e-5, atol=1e-6
    )
    disk = _filtering.filter_cases()[2].weights
    exact = ndi.correlate(small_image.astype(np.float64), disk)
    np.testing.assert_allclose(out["disk"][0], exact, rtol=1e-5, atol=1e-6)
    # The low-rank plan is an approximation, held to the bound lowrank() states.
    import sepconv

    bound = sepconv.lowrank(disk, rtol=_filtering.LOWRANK_RTOL).max_abs_error_bound
    error = np.max(np.abs(out["disk_lowrank"][0] - exact))
    assert 0 < error <= bound * np.max(np.abs(small_image)) + 1e-6


def test_section_has_plans_live_rows_and_checks(tmp_path, small_image):
    section = _section(tmp_path, small_image, results=None)
    data = section.data
    assert set(data["plans"]) == {"sobel", "gaussian", "disk", "disk_lowrank"}
    assert all(isinstance(p, str) and p for p in data["plans"].values())
    assert [row["key"] for row in data["live"]] == ["sobel", "gaussian", "disk", "disk_lowrank"]
    for row in data["live"]:
        assert row["sepconv_s"] > 0 and row["scipy_s"] > 0
    for key in ("sobel", "gaussian", "disk"):
        assert data["max_abs_diff_vs_scipy"][key] < 1e-5
    assert data["lowrank"]["within_bound"]
    assert data["benchmark"] is None and "No benchmark results" in section.html
    assert section.title == "Filtering" and "<img" in section.html


def test_section_degrades_without_cv2_and_matplotlib(tmp_path, small_image, monkeypatch):
    real = _filtering._optional
    monkeypatch.setattr(
        _filtering, "_optional", lambda name: None if name in ("cv2", "matplotlib") else real(name)
    )
    section = _section(tmp_path, small_image, results=None)
    assert "<img" not in section.html
    assert any("matplotlib" in note for note in section.data["notes"])
    assert any("OpenCV" in note for note in section.data["notes"])
    assert all(row["cv2_s"] is None for row in section.data["live"])


def test_section_is_registered_after_kernels():
    keys = report.available_sections()
    assert keys.index("filtering") > keys.index("kernels")


@pytest.mark.slow
def test_benchmark_quick_run_writes_schema_and_feeds_the_section(tmp_path, small_image):
    if not BENCH.is_file():
        pytest.skip("benchmarks/ is not in this checkout")
    args = [
        sys.executable, str(BENCH), "--quick", "--out", str(tmp_path),
        "--sizes", "40", "--kernels", "3", "7", "--volume", "12", "--disk-sizes", "40",
        "--first-call", "none", "--min-runs", "1", "--min-time", "0", "--max-time", "0.2",
        "--memcpy-mib", "16",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=BENCH.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert "Targets:" in proc.stdout
    data = json.loads((tmp_path / "filters_quick.json").read_text())
    assert (tmp_path / "filters_quick.md").read_text().startswith("# Filtering benchmark")
    assert {"date", "cpu", "loadavg_start", "loadavg_end", "threads", "quick"} <= set(data["meta"])
    assert data["memcpy"]["GBps"] > 0
    groups = {(c["group"], c["dtype"]) for c in data["cases"]}
    assert groups == {("2d", "float32"), ("2d", "uint8"), ("3d", "float32"), ("disk", "float32")}
    for case in data["cases"]:
        sepconv_name = case["primary"]
        mine = case["contenders"][sepconv_name]
        assert mine["median_s"] > 0 and mine["runs"] >= 1
        # The benchmark's own correctness column: sepconv agrees with scipy.
        if case["group"] == "disk":
            assert case["within_bound"]
        elif case["dtype"] == "uint8":
            assert mine["max_abs_diff"] <= 1
        else:
            assert mine["max_abs_diff"] < 1e-5
        peers = case["ratios"][sepconv_name]
        assert "scipy.correlate" in peers and all(r > 0 for r in peers.values())
    assert data["targets"] and all(t["met"] in (True, False, None) for t in data["targets"])

    section = _section(tmp_path, small_image, results=tmp_path / "filters_quick.json")
    assert section.data["benchmark"]["quick"] is True
    assert "quick run" in section.html and "cv2.sepFilter2D" in section.html
