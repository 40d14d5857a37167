"""The report's scale-space section: retina ridges on the banks, equal to scikit-image's."""

from __future__ import annotations

import numpy as np
import pytest

from sepconv import report

pytest.importorskip("skimage")
pytest.importorskip("matplotlib")


def test_section_draws_ridges_equal_to_scikit_image(tmp_path):
    from sepconv.report import _features

    retina = _features.sample_retina(quick=True)
    assert retina.dtype == np.float32 and retina.shape == (706, 706)
    image = np.ascontiguousarray(retina[300:364, 300:380])
    section = _features.build_features(report.Context(tmp_path), image=image, repeats=1)
    assert section.data["ridges_max_rel_diff"] < 1e-5  # float32, scikit-image's composition
    assert section.data["sato_max_rel_diff"] < 1e-5
    assert "<img" in section.html and "sato" in section.html
    keys = report.available_sections()
    assert keys.index("filtering") < keys.index("features") < keys.index("study")
