"""The sepconv.nn package: import behaviour without PyTorch and the lazy sepconv.profile."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_import_sepconv_does_not_import_torch():
    result = _run("import sys, sepconv; print('torch' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("module", ["sepconv.nn", "sepconv.torch"])
def test_import_without_torch_names_the_extra(module):
    # sys.modules[name] = None makes "import torch" raise ImportError, as if absent.
    result = _run(f"import sys; sys.modules['torch'] = None; import {module}")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert 'pip install "sepconv[torch]"' in result.stderr


def test_sepconv_profile_is_the_nn_profile():
    import sepconv
    import sepconv.nn

    assert sepconv.profile is sepconv.nn.profile
    assert "profile" in dir(sepconv)
    with pytest.raises(AttributeError, match="no attribute 'not_there'"):
        sepconv.not_there  # noqa: B018
