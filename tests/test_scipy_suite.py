"""scipy.ndimage's own test suite, run with sepconv.ndimage in scipy's place.

scipy ships ``scipy/ndimage/tests/test_filters.py`` and ``test_morphology.py`` in
its wheel (the other test files of scipy.ndimage never call the filters
sepconv replaces: the linear filters, the minimum / maximum filters and grey
morphology).  A subprocess per file runs it with ``_scipy_suite_plugin``
loaded, which calls ``sepconv.ndimage.patch()`` before scipy's test module is
imported and records, per test, its outcome and whether it reached one of
sepconv's functions.  Only NumPy runs (``SCIPY_ARRAY_API`` unset: no other
array-API backend).  With ``SEPCONV_SCIPY_SUITE_TARGET=front`` only
``test_filters.py`` runs (its correlate and convolve tests).

Each scipy test *function* that reaches sepconv is one test here (named
``file::Class::test``); it fails with the list of its failing cases and their
errors, so the failures read as a to-do list.  Tests of scipy's other filters
(median, rank, binary morphology ...) run too but are only checked for not
being disturbed by the patch.

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
FULL = os.environ.get("SEPCONV_SCIPY_SUITE", "quick") == "full"
TARGET = os.environ.get("SEPCONV_SCIPY_SUITE_TARGET", "ndimage")
#: scipy's test files that call the functions sepconv replaces, where this install has them.
SCIPY_FILES = tuple(
    path
    for path in (
        Path(_tests.__file__).parent / name
        for name in (
            ("test_filters.py",) if TARGET == "front" else ("test_filters.py", "test_morphology.py")
        )
    )
    if path.exists()
)
if not SCIPY_FILES:
    pytest.skip("this scipy install has no ndimage/tests/test_filters.py", allow_module_level=True)
#: The names of sepconv's functions as scipy's tests spell them.
OURS = (
    ("correlate", "convolve")
    if TARGET == "front"
    else tuple(__import__("sepconv.ndimage", fromlist=["PATCHED"]).PATCHED)
)


def _scipy_test_functions(path: Path) -> list[str]:
    """``file::Class::test`` / ``file::test`` names of the tests in scipy's test file
    ``path`` whose source names one of ours."""
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    found = []

    def mentions_ours(node) -> bool:  # decorators included: parametrize lists name them
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        text = "\n".join(lines[start - 1 : node.end_lineno])
        return any(name in text for name in OURS)

    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            if mentions_ours(node):
                found.append(f"{path.name}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef) and sub.name.startswith("test"):
                    if mentions_ours(sub):
                        found.append(f"{path.name}::{node.name}::{sub.name}")
    return found


SCIPY_FUNCTIONS = [name for path in SCIPY_FILES for name in _scipy_test_functions(path)]


def _function_of(nodeid: str) -> str:
    """``file::path::Class::test[params]`` -> ``file::Class::test`` (the path part of a
    record's node id may be empty; :func:`suite` prefixes the file's name)."""
    file, rest = nodeid.split("::", 1)
    return "::".join([file, *rest.split("[", 1)[0].split("::")[1:]])


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, dict]:
    """Run scipy's test files, each in a subprocess with sepconv patched in; their records,
    keyed ``file::node id``."""
    where = tmp_path_factory.mktemp("scipy-suite")
    src = Path(sepconv.__file__).resolve().parent.parent
    env = dict(os.environ)
    env.pop("SCIPY_ARRAY_API", None)  # NumPy only
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parent), str(src), env.get("PYTHONPATH", "")]
    )
    records: dict[str, dict] = {}
    for path in SCIPY_FILES:
        record = where / f"{path.stem}.json"
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
            f"scipy.ndimage.tests.{path.stem}",
        ]
        done = subprocess.run(
            command, cwd=where, env=env, capture_output=True, text=True, timeout=1800
        )
        # 0: all passed, 1: some failed; anything else is a broken run (collection, usage...).
        assert done.returncode in (0, 1), done.stdout[-4000:] + done.stderr[-4000:]
        records.update(
            (f"{path.name}::{nodeid}", r) for nodeid, r in json.loads(record.read_text()).items()
        )
    return records


def test_scipy_suite_runs_and_reaches_sepconv(suite):
    reached = [nodeid for nodeid, r in suite.items() if r["calls"]]
    # Guards against a patch that silently did nothing.  With scipy 1.17, test_filters.py:
    # ~520 of the ~1,010 quick cases reach sepconv.ndimage (2,015 of 2,478 in all; front
    # door: ~750 in all); test_morphology.py: 745 of 1,672 (its grey morphology).
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
