"""pytest plugin: astropy's convolution tests with sepconv.astropy in astropy's place.

Loaded with ``-p _astropy_suite_plugin`` by ``tests/test_astropy_suite.py`` in a
subprocess (patching is process-wide).  It calls ``sepconv.astropy.patch()`` in
``pytest_configure``, before astropy's test modules import ``convolve`` and
``convolve_fft``, counts the calls that reach sepconv's engine path and those that
fall back to astropy's own ``convolve_fft`` (options that change what it computes),
and writes them with the outcome counts as JSON to ``$SEPCONV_ASTROPY_SUITE_JSON``.
"""

from __future__ import annotations

import collections
import functools
import json
import os

_counts: collections.Counter = collections.Counter()


def _counted(name, function):
    @functools.wraps(function)
    def call(*args, **kwargs):
        _counts[name] += 1
        return function(*args, **kwargs)

    return call


def pytest_configure(config):
    import sepconv.astropy as sa

    sa.patch()
    sa._normalized_into = _counted("normalized", sa._normalized_into)
    sa._plain = _counted("plain", sa._plain)
    sa._ORIGINAL["convolve_fft"] = _counted("astropy_fallback", sa._ORIGINAL["convolve_fft"])


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        key = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        _counts["outcome:" + key] += 1


def pytest_unconfigure(config):
    path = os.environ.get("SEPCONV_ASTROPY_SUITE_JSON")
    if path:
        with open(path, "w") as f:
            json.dump(dict(_counts), f)
