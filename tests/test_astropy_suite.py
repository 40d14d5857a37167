"""astropy's own convolution tests, run with sepconv.astropy patched in (a subprocess).

astropy ships ``astropy/convolution/tests/`` in its wheel.  With
``sepconv.astropy.patch()`` in effect every one of them passes as it does with
astropy's functions (its xfails stay xfails), and most calls reach sepconv's
normalized convolution; the few ``convolve_fft`` calls whose options change what
is computed (``return_fft``, ``crop=False``, ``psf_pad=False``, complex data) run
astropy's own function.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

tests = pytest.importorskip("astropy.convolution.tests")
HERE = Path(__file__).resolve().parent


def test_astropys_convolution_suite_passes_with_sepconv_patched_in(tmp_path):
    out = tmp_path / "counts.json"
    env = dict(os.environ, SEPCONV_ASTROPY_SUITE_JSON=str(out))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(HERE.parent / "src"), env.get("PYTHONPATH", "")]
    )
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
            "_astropy_suite_plugin", "--rootdir", str(tmp_path), "-c", os.devnull,
            str(Path(tests.__file__).parent)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path)
    counts = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert counts.get("outcome:failed", 0) == 0
    assert counts["outcome:passed"] > 1500
    assert counts["normalized"] + counts["plain"] > 1500  # sepconv did the filtering
    assert counts.get("astropy_fallback", 0) < 20
