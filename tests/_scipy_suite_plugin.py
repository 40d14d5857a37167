"""pytest plugin: run scipy.ndimage's own tests with sepconv's functions in scipy's place.

(``test_filters.py`` and ``test_morphology.py``; see ``tests/test_scipy_suite.py``.)

Loaded with ``-p _scipy_suite_plugin`` by ``tests/test_scipy_suite.py`` in a
subprocess (patching is process-wide state).  It patches in ``pytest_configure``,
before scipy's test module is imported, so parametrize lists built at import
(``[ndimage.gaussian_filter, ...]``) hold sepconv's functions too.  For every
test it records the outcome, the first line of its error and how many calls
reached sepconv, as JSON in ``$SEPCONV_SCIPY_SUITE_JSON``.

Environment:

``SEPCONV_SCIPY_SUITE_TARGET``
    ``ndimage`` (default): ``sepconv.ndimage.patch()``, every name in its ``PATCHED``.
    ``front``: ``scipy.ndimage.correlate`` / ``convolve`` replaced by
    ``sepconv.correlate`` / ``convolve`` (the NumPy front door, equal to scipy
    to rounding only, so scipy's exact-equality asserts may fail there).
``SEPCONV_SCIPY_SUITE``
    ``quick`` (default): parametrized cases whose dtypes are all in
    :data:`QUICK_DTYPES` (each further dtype pair costs Numba compilations);
    ``full``: every case.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np
import pytest

#: Dtypes the quick run keeps (cases with any other dtype parameter are deselected).
QUICK_DTYPES = frozenset({"uint8", "float64", "complex128"})
_DTYPE_NAMES = frozenset(
    "bool int8 uint8 int16 uint16 int32 uint32 int64 uint64 float16 float32 float64 "
    "complex64 complex128".split()
)

_calls: dict[str, int] = {}
_current: list[str] = []
_records: dict[str, dict] = {}


def _recording(func):
    @functools.wraps(func)
    def call(*args, **kwargs):
        if _current:
            _calls[_current[-1]] = _calls.get(_current[-1], 0) + 1
        return func(*args, **kwargs)

    return call


def _replacements() -> dict[str, object]:
    target = os.environ.get("SEPCONV_SCIPY_SUITE_TARGET", "ndimage")
    import scipy.ndimage

    if target == "ndimage":
        from sepconv import ndimage as ours

        ours.patch()
        return {name: getattr(scipy.ndimage, name) for name in ours.PATCHED}
    if target == "front":
        import sepconv

        return {"correlate": sepconv.correlate, "convolve": sepconv.convolve}
    raise pytest.UsageError(f"SEPCONV_SCIPY_SUITE_TARGET must be ndimage or front, got {target!r}")


def pytest_configure(config):
    import scipy.ndimage
    from scipy._lib._array_api import xp_capabilities_table

    from sepconv.ndimage import PATCHED

    originals = {name: getattr(scipy.ndimage, name) for name in PATCHED}  # before patching
    for name, func in _replacements().items():
        wrapper = _recording(func)
        setattr(scipy.ndimage, name, wrapper)
        # scipy's tests look their functions up in this table to choose array backends.
        if originals[name] in xp_capabilities_table:
            xp_capabilities_table[wrapper] = xp_capabilities_table[originals[name]]


def _dtypes_of(item) -> set[str]:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return set()
    found = set()
    for value in callspec.params.values():
        if isinstance(value, str) and value in _DTYPE_NAMES:
            found.add(value)
        elif isinstance(value, (type, np.dtype)):
            try:
                found.add(np.dtype(value).name)
            except TypeError:
                pass
    return found


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SEPCONV_SCIPY_SUITE", "quick") == "full":
        return
    kept, dropped = [], []
    for item in items:
        (kept if _dtypes_of(item) <= QUICK_DTYPES else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _current.append(item.nodeid)
    try:
        return (yield)
    finally:
        _current.pop()


def _error_line(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.strip()
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else ""


def pytest_runtest_logreport(report):
    record = _records.setdefault(report.nodeid, {"outcome": "passed", "error": "", "calls": 0})
    if report.skipped and record["outcome"] == "passed":
        record["outcome"] = "skipped"
    if report.failed:
        record["outcome"] = "failed" if report.when == "call" else "error"
        record["error"] = _error_line(report)
    if report.when == "teardown":
        record["calls"] = _calls.get(report.nodeid, 0)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("SEPCONV_SCIPY_SUITE_JSON")
    if path:
        with open(path, "w") as f:
            json.dump(_records, f, indent=1, sort_keys=True)
