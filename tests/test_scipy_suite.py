"""scipy.ndimage's own test suite, run with sepconv.ndimage in scipy's place.

scipy ships ``scipy/ndimage/tests/test_filters.py`` in its wheel (the other
test files of scipy.ndimage never call the 15 linear filters).  A subprocess
runs it with ``_scipy_suite_plugin`` loaded, which calls
``sepconv.ndimage.patch()`` before scipy's test module is imported and records,
per test, its outcome and whether it reached one of sepconv's functions.  Only
NumPy runs (``SCIPY_ARRAY_API`` unset: no other array-API backend).

Each scipy test *function* that reaches sepconv is one test here; it fails with
the list of its failing cases and their errors, so the failures read as a to-do
list.  Tests of scipy's other filters (median, rank, ...) run too but are only
checked for not being disturbed by the patch.

Selection.  By default a quick run: parametrized cases whose dtype parameters
are all in ``_scipy_suite_plugin.QUICK_DTYPES`` (each dtype pair costs Numba
compilations; the whole file is ~3 min from an empty cache on 2 cores).
``SEPCONV_SCIPY_SUITE=full`` runs every case.  ``SEPCONV_SCIPY_SUITE_TARGET=front``
puts ``sepconv.correlate`` / ``convolve`` (the NumPy front door, equal to scipy to
rounding, not bit for bit) in place of scipy's correlate / convolve instead.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sepconv

_tests = pytest.importorskip("scipy.ndimage.tests", reason="this scipy install has no tests")
SCIPY_TESTS = Path(_tests.__file__).parent / "test_filters.py"
if not SCIPY_TESTS.exists():
    pytest.skip("this scipy install has no ndimage/tests/test_filters.py", allow_module_level=True)
FULL = os.environ.get("SEPCONV_SCIPY_SUITE", "quick") == "full"
TARGET = os.environ.get("SEPCONV_SCIPY_SUITE_TARGET", "ndimage")
#: The names of sepconv's functions as scipy's tests spell them.
OURS = (
    ("correlate", "convolve")
    if TARGET == "front"
    else tuple(__import__("sepconv.ndimage", fromlist=["PATCHED"]).PATCHED)
)


def _scipy_test_functions() -> list[str]:
    """``Class::test`` / ``test`` names of scipy's tests whose source names one of ours."""
    lines = SCIPY_TESTS.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    found = []

    def mentions_ours(node) -> bool:  # decorators included: parametrize lists name them
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        text = "\n".join(lines[start - 1 : node.end_lineno])
        return any(name in text for name in OURS)

    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            if mentions_ours(node):
                found.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and sub.name.startswith("test"):
                    if mentions_ours(sub):
                        found.append(f"{node.name}::{sub.name}")
    return found


SCIPY_FUNCTIONS = _scipy_test_functions()


def _function_of(nodeid: str) -> str:
    """``path::Class::test[params]`` -> ``Class::test`` (the path part may be empty)."""
    return "::".join(nodeid.split("[", 1)[0].split("::")[1:])


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, dict]:
    """Run scipy's test_filters.py in a subprocess with sepconv patched in; its records."""
    where = tmp_path_factory.mktemp("scipy-suite")
    record = where / "records.json"
    src = Path(sepconv.__file__).resolve().parent.parent
    env = dict(os.environ)
    env.pop("SCIPY_ARRAY_API", None)  # NumPy only
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent), str(src), env.get("PYTHONPATH", "")]
    )
    env["SEPCONV_SCIPY_SUITE_JSON"] = str(record)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "--tb=no",
        "-p",
        "no:cacheprovider",
        "-p",
        "_scipy_suite_plugin",
        "--rootdir",
        str(where),
        "--pyargs",
        "scipy.ndimage.tests.test_filters",
    ]
    done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=1800)
    # 0: all passed, 1: some failed; anything else is a broken run (collection, usage...).
    assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(record.read_text())


def test_scipy_suite_runs_and_reaches_sepconv(suite):
    reached = [nodeid for nodeid, r in suite.items() if r["calls"]]
    # Guards against a patch that silently did nothing.  With scipy 1.17, ~460 of the ~1,010
    # quick cases reach sepconv.ndimage (~1,830 of 2,478 in all; front door: ~750 in all).
    assert len(reached) >= 100, len(reached)
    names = {_function_of(nodeid) for nodeid in reached}
    assert names <= set(SCIPY_FUNCTIONS), names - set(SCIPY_FUNCTIONS)


def test_scipy_tests_of_other_filters_are_undisturbed(suite):
    broken = {
        nodeid: r["error"]
        for nodeid, r in suite.items()
        if not r["calls"] and r["outcome"] in ("failed", "error")
    }
    assert not broken, broken


@pytest.mark.parametrize("function", SCIPY_FUNCTIONS)
def test_scipy_test_passes_with_sepconv(suite, function):
    cases = {nodeid: r for nodeid, r in suite.items() if _function_of(nodeid) == function}
    if not cases:
        pytest.skip("no case of this test in the quick selection (SEPCONV_SCIPY_SUITE=full)")
    reached = {nodeid: r for nodeid, r in cases.items() if r["calls"]}
    if not reached:
        pytest.skip("its selected cases do not call the patched functions")
    failing = {n: r["error"] for n, r in reached.items() if r["outcome"] in ("failed", "error")}
    shown = "\n".join(f"  {n.split('::')[-1]}: {e}" for n, e in list(failing.items())[:12])
    assert not failing, f"{len(failing)} of {len(reached)} cases fail:\n{shown}"
