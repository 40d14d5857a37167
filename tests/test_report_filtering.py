"""The report's filtering section and the filtering benchmark's smoke run."""

from __future__ import annotations

import json
import re
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
    kwargs.setdefault("measure_first_calls", False)  # a new process per filter: one test does
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


def test_first_calls_are_timed_in_a_new_process_that_imports_this_sepconv(small_image):
    import os

    import sepconv

    cases = _filtering.filter_cases()
    broken = _filtering.FilterCase(**{**vars(cases[0]), "key": "broken"})
    broken.options = {"method": "no-such-method"}
    found = _filtering.first_calls(small_image, [cases[1], broken], calls=2)
    gauss = found["gaussian"]
    assert gauss["pid"] != os.getpid()
    assert Path(gauss["sepconv"]).resolve() == Path(sepconv.__file__).resolve()
    assert gauss["import_s"] > 0 and len(gauss["calls_s"]) == 2
    assert all(t > 0 for t in gauss["calls_s"])
    # A run that fails says why instead of showing a time.
    assert "method" in found["broken"]["error"] and "calls_s" not in found["broken"]


def test_section_shows_first_calls_and_cards_in_words(tmp_path, small_image, monkeypatch):
    seen = []

    def fake_first_calls(image, cases):
        seen.append([case.key for case in cases])
        return {case.key: {"import_s": 0.2, "calls_s": [0.31, 0.002, 0.0001]} for case in cases}

    monkeypatch.setattr(_filtering, "first_calls", fake_first_calls)
    section = _section(tmp_path, small_image, results=None, measure_first_calls=True)
    assert seen == [["sobel", "gaussian", "disk", "disk_lowrank"]]
    assert all(row["new_process"]["calls_s"][0] == 0.31 for row in section.data["live"])
    assert "<th>1st call ms</th><th>2nd ms</th><th>3rd ms</th><th>import s</th>" in section.html
    assert "<td>310</td><td>2</td><td>0.1</td><td>0.20</td>" in section.html
    assert "0.00" not in section.html.split("1st call ms", 1)[1].split("</table>", 1)[0]
    [(label, value, note)] = section.summary
    assert "measured now" in label and value.endswith("than scipy") and "OpenCV" in note


def test_benchmark_is_a_heat_map_with_the_table_folded_behind(tmp_path):
    def case(family, dtype, shape, k, mine, cv2, scipy):
        scipy_name = "scipy.gaussian_filter" if family == "gaussian" else "scipy.uniform_filter"
        times = {"sepconv.correlate": mine, "cv2.sepFilter2D": cv2, scipy_name: scipy}
        return {
            "group": family, "family": family, "dtype": dtype, "shape": shape, "ksize": k,
            "primary": "sepconv.correlate",
            "contenders": {name: {"median_s": t} for name, t in times.items()},
            "ratios": {"sepconv.correlate": {n: mine / t for n, t in times.items() if n[0] != "s"}
                       | {scipy_name: mine / scipy}},
        }  # fmt: skip

    cases = [
        case("gaussian", "float32", [64, 64], 3, 1.0, 2.0, 10.0),
        case("box", "uint8", [64, 64], 31, 3.0, 1.0, 10.0),
    ]
    meta = {"date": "today", "cpu": "cpu", "logical_cpus": 2, "loadavg_start": [1, 1, 1]}
    path = tmp_path / "filters.json"
    path.write_text(json.dumps({"meta": meta, "cases": cases, "targets": [{"met": False}]}))
    html, summary = _filtering._benchmark_html(path)
    picture, folded = html.split("<details>", 1)
    assert 'id="fig-filter-heatmap"' in picture and "<img" in picture and "<table" not in picture
    assert "<table" in folded and folded.count("<tr>") == 1 + len(cases)
    headings = re.findall(r"<th>([^<]+)</th>", folded)
    assert headings[-2:] == ["÷ cv2", "÷ scipy"]  # scipy's two filters share a column
    assert "<td>0.50</td><td>0.10</td>" in folded and "<td>3.00</td><td>0.30</td>" in folded
    assert "target" not in html.replace("benchmark's own targets", "")
    assert summary["cases"] == 2 and "targets" not in summary
    assert summary["figure"] == "sepconv figure filter-heatmap --out filter-heatmap.png"


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
        "--sizes", "40", "48x40", "--gaussian", "3", "7", "--box", "5", "--kornia-sizes", "40",
        "--first-call", "none", "--min-runs", "1", "--min-time", "0", "--max-time", "0.2",
    ]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=BENCH.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert "Targets of issue 19:" in proc.stdout
    data = json.loads((tmp_path / "filters_quick.json").read_text())
    markdown = (tmp_path / "filters_quick.md").read_text()
    assert markdown.startswith("# Filtering benchmark") and "## Targets of issue 19" in markdown
    meta_keys = {"date", "cpu", "loadavg_start", "loadavg_end", "threads", "quick", "timing"}
    assert meta_keys <= set(data["meta"])
    assert data["memcpy"] and all(s > 0 for s in data["memcpy"].values())
    rows = {(c["family"], c["dtype"], tuple(c["shape"]), c["ksize"]) for c in data["cases"]}
    assert rows == {
        (family, dtype, shape, k)
        for dtype in ("float32", "uint8")
        for shape in ((40, 40), (40, 48))  # "48x40" is width x height
        for family, k in (("gaussian", 3), ("gaussian", 7), ("box", 5))
    }
    for case in data["cases"]:
        assert case["primary"] == "sepconv.correlate"
        for name in ("sepconv.correlate", "sepconv.sepfilter", "cv2.sepFilter2D"):
            entry = case["contenders"][name]
            assert entry["median_s"] > 0 and entry["runs"] >= 1
            # The benchmark's own correctness column: each agrees with scipy's float64 result.
            assert entry["max_abs_diff"] < (1.0 + 1e-6 if case["dtype"] == "uint8" else 1e-5)
        peers = case["ratios"]["sepconv.correlate"]
        assert {"cv2.sepFilter2D", "scipy.gaussian_filter" if case["family"] == "gaussian"
                else "scipy.uniform_filter"} <= set(peers)  # fmt: skip
        assert all(r > 0 for r in peers.values())
        assert not any("after torch op" in peer for peer in peers)
        kornia = case["contenders"].get("kornia.filter2d_separable")
        expect_kornia = case["dtype"] == "float32" and case["family"] == "gaussian"
        assert (kornia is not None) == (expect_kornia and case["shape"] == [40, 40])
    assert data["targets"] and all(t["met"] in (True, False, None) for t in data["targets"])
    # Every target the quick sizes cannot measure says so instead of guessing.
    unmeasured = [t for t in data["targets"] if "4096" in t["where"] or "2048" in t["where"]]
    assert unmeasured and all(t["met"] is None and t["value"] is None for t in unmeasured)

    section = _section(tmp_path, small_image, results=tmp_path / "filters_quick.json")
    assert section.data["benchmark"]["quick"] is True
    assert "quick run" in section.html and "cv2.sepFilter2D" in section.html


def _bench_module(name):
    if not BENCH.is_file():
        pytest.skip("benchmarks/ is not in this checkout")
    sys.path.insert(0, str(BENCH.parent))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(BENCH.parent))


def _row(family, k, **times):
    names = {
        "correlate": "sepconv.correlate",
        "one": "sepconv.correlate 1 thread",
        "sep": "cv2.sepFilter2D",
        "copy": "np.copyto",
        "copy2": "np.copyto 2 threads",
    }
    return {
        "family": family,
        "dtype": "float32",
        "shape": [4096, 4096],
        "ksize": k,
        "contenders": {names[n]: {"median_s": t, "min_s": t * 0.9} for n, t in times.items()},
    }


def test_benchmark_targets_are_decided_from_the_rows():
    targets = _bench_module("_filters_targets")
    rows = [
        _row("box", 3, correlate=0.5, one=0.49, sep=1.0, copy=0.35, copy2=0.31),
        _row("gaussian", 15, correlate=0.5, one=0.6, sep=1.0),
        _row("gaussian", 31, correlate=0.8, one=1.0, sep=1.0),
    ]
    got = {(t["target"], t["where"]): t for t in targets.evaluate(rows, quick=False)}
    opencv = (
        "sepconv.correlate / OpenCV (faster of cv2.sepFilter2D and cv2.GaussianBlur / cv2.blur)"
    )
    every = got[opencv, "gaussian float32, every size >= 256^2, every k"]
    assert every["met"] is True and every["value"] == pytest.approx(0.8)
    large = got[opencv, "gaussian float32 4096^2, k >= 15"]
    assert large["met"] is False and large["value"] == pytest.approx(0.8)
    assert large["value_from_minima"] == pytest.approx(0.8)
    assert "1 of 2 rows" in large["detail"] and "k=31" in large["detail"]
    copy = next(t for (name, _), t in got.items() if name.startswith("np.copyto"))
    assert copy["met"] is True and copy["value"] == pytest.approx(0.31 / 0.5)
    threads = got["default threads / 1 thread (sepconv.correlate)", "float32, every row"]
    assert threads["met"] is False and threads["value"] == pytest.approx(0.5 / 0.49)
    assert "by less than 5%" in threads["detail"]
    small = got[
        "sepconv.correlate / scipy.ndimage (gaussian_filter, uniform_filter)",
        "float32 64^2, every kernel",
    ]
    assert small["met"] is None and small["value"] is None


def test_benchmark_times_a_callable_plan_and_restores_the_thread_count(monkeypatch):
    peers = _bench_module("_filters_peers")
    import sepconv

    x = np.random.default_rng(0).random((24, 20), dtype=np.float32)
    _, w = peers.gaussian_factor(5)
    before = sepconv.get_num_threads()
    cells = peers.sepconv_cells(x, w, "gaussian", before, op=None)
    # Plans that are not callable get no column, and no column claims one.
    assert callable(sepconv.plan(x.shape, np.outer(w, w))) == (peers.PLAN in cells)
    assert peers.AFTER_TORCH not in cells

    class CallablePlan:
        def __call__(self, image):
            return sepconv.correlate(image, np.outer(w, w), mode="reflect")

    monkeypatch.setattr(sepconv, "plan", lambda *args, **kwargs: CallablePlan())
    cells = peers.sepconv_cells(x, w, "gaussian", before, op=None)
    np.testing.assert_array_equal(cells[peers.PLAN].fn(), cells[peers.CORRELATE].fn())
    one = cells[peers.ONE_THREAD]
    one.before()
    assert sepconv.get_num_threads() == 1
    exact = peers.reference(x, w, "reflect")
    assert peers.compare(one.fn(), exact)["max_abs_diff"] < 1e-5
    one.after()
    assert sepconv.get_num_threads() == before
