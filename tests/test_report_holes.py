"""The report's section on images with holes."""

from __future__ import annotations

import json

import numpy as np

from sepconv import report
from sepconv.report import _filtering, _holes


def test_holes_section_fills_what_scipy_smears(tmp_path):
    image, _ = _filtering.sample_image()
    small = np.ascontiguousarray(image[::4, ::4])  # 128 x 128 of the camera
    bench = {
        "meta": {"date": "d", "cpu": "c", "logical_cpus": 2, "loadavg_start": [1, 1, 1],
                 "loadavg_end": [1, 1, 1]},
        "rows": [{"case": "gaussian omit", "dtype": "float32", "shape": [64, 64],
                  "primary": "sepconv", "contenders": {"sepconv": {"median_s": 0.001},
                  "scipy recipe": {"median_s": 0.01}}, "ratios": {"scipy recipe": 10.0},
                  "check": {"max_abs_diff": 1e-7, "nan_mismatch": 0}}],
        "targets": [],
    }  # fmt: skip
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(bench))
    section = _holes.build_holes(
        report.Context(out_dir=tmp_path), image=small, repeats=1, results=path
    )
    checks = section.data["checks"]
    assert checks["nan_fraction_scipy"] > 0.9  # 5 % dead pixels blank out scipy's result
    assert checks["nan_fraction_sepconv"] < checks["hole_fraction"]
    assert checks["max_abs_diff_vs_scipy_recipe"] < 1e-5
    assert checks["max_abs_diff_sepconv_astropy_vs_astropy"] < 1e-5
    assert 'id="fig-holes"' in section.html and "10× faster" in section.html
    assert section.data["benchmark"]["path"] == str(path)
    assert "holes" in report.available_sections()
