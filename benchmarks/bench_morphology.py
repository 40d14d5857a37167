"""Minimum / maximum filters and grey morphology: sepconv.ndimage vs scipy, OpenCV, scikit-image.

Four comparisons, each timed interleaved in one run (medians; ``_common.measure``):

* ``functions``: the twelve functions of issue 21 (``minimum_filter1d`` ...
  ``black_tophat``) on uint8 / uint16 / float32 images of 32², 256², 1024²,
  4096² and a 256³ volume, window 3 along every axis, against scipy.ndimage's
  function of the same name and arguments; each row records whether the two
  results are ``np.array_equal`` (they must be).
* ``opencv``: ``grey_erosion`` / ``grey_dilation`` with a rectangle against
  ``cv2.erode`` / ``cv2.dilate`` (``cv2.BORDER_REFLECT``, scipy's ``'reflect'``),
  uint8 and float32, 512² to 4096², windows 3 to 101 (odd: OpenCV anchors
  even windows elsewhere); the results are compared too.
* ``windows``: ``grey_erosion`` of a 2048² image against the window (3 to 101),
  with scipy and OpenCV: the flat-cost claim.
* ``skimage``: ``skimage.morphology.opening(image, footprint_rectangle((15, 15)))``
  as scikit-image runs it, and with ``sepconv.ndimage.patched()``.

Run it alone on the machine (other timing runs wait for the same lock)::

    flock /tmp/sepconv-bench.lock python benchmarks/bench_morphology.py           # ~6 min
    flock /tmp/sepconv-bench.lock python benchmarks/bench_morphology.py --quick   # ~1 min

Writes ``benchmarks/results/morphology.{json,md}`` (``morphology_quick.*`` with
--quick), with the load average at the start and the end of the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage as S

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_ms, loadavg, machine_info, markdown_table, measure, write_json  # noqa: E402

import sepconv  # noqa: E402
from sepconv import ndimage as N  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FUNCTIONS = (
    "minimum_filter1d",
    "maximum_filter1d",
    "minimum_filter",
    "maximum_filter",
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "morphological_gradient",
    "morphological_laplace",
    "white_tophat",
    "black_tophat",
)
#: scikit-image's functions computing what scipy's of the same role compute.
SKIMAGE = {
    "grey_erosion": "erosion",
    "grey_dilation": "dilation",
    "grey_opening": "opening",
    "grey_closing": "closing",
    "white_tophat": "white_tophat",
    "black_tophat": "black_tophat",
}


def _image(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)
    if dtype.kind == "u":
        return rng.integers(0, min(np.iinfo(dtype).max, 4095) + 1, shape).astype(dtype)
    return rng.random(shape).astype(dtype)


def _call(module: Any, name: str, x: np.ndarray, window: int) -> Any:
    if name.endswith("1d"):
        return lambda: getattr(module, name)(x, window)
    return lambda: getattr(module, name)(x, size=(window,) * x.ndim)


def _skimage_call(name: str, x: np.ndarray, window: int) -> Any:
    try:
        import skimage.morphology as morphology
        from skimage.morphology import footprint_rectangle
    except ImportError:
        return None
    if name not in SKIMAGE:
        return None
    footprint = footprint_rectangle((window,) * x.ndim)
    # scikit-image reflects the footprint for the dilation-based operations the way
    # scipy's grey_dilation does; for odd windows every one matches scipy's result.
    return lambda: getattr(morphology, SKIMAGE[name])(x, footprint)


def _warm_up(seconds: float = 1.0) -> None:
    # The first second of a process runs small calls up to 2x slower: time the
    # steady state of every library instead.
    x = _image((32, 32), np.uint8)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name in FUNCTIONS:
            _call(N, name, x, 3)()
            _call(S, name, x, 3)()


def bench_functions(shapes: list[tuple[int, ...]], dtypes: list[Any], min_time: float) -> list:
    _warm_up()
    rows = []
    for shape in shapes:
        for dtype in dtypes:
            x = _image(shape, dtype)
            for name in FUNCTIONS:
                funcs = {"sepconv": _call(N, name, x, 3), "scipy": _call(S, name, x, 3)}
                peer = _skimage_call(name, x, 3)
                if peer is not None:
                    funcs["skimage"] = peer
                big = x.size >= 4096**2
                timings, results = measure(
                    funcs,
                    min_time=min_time,
                    max_time=2.0 if big else 4.0,
                    min_runs=3 if big else 5,
                    jit=("sepconv",),
                )
                row = {
                    "function": name,
                    "shape": list(shape),
                    "dtype": np.dtype(dtype).name,
                    "same_bits": bool(np.array_equal(results["sepconv"], results["scipy"])),
                    **{f"{k}_s": t.median_s for k, t in timings.items()},
                }
                if "skimage" in results:
                    row["skimage_same"] = bool(np.array_equal(results["skimage"], results["scipy"]))
                row["speedup_vs_scipy"] = row["scipy_s"] / row["sepconv_s"]
                rows.append(row)
                print(
                    f"{name:24s} {'x'.join(map(str, shape)):>11s} {row['dtype']:8s} "
                    f"scipy {fmt_ms(row['scipy_s']):>7s} ms  sepconv {fmt_ms(row['sepconv_s']):>7s}"
                    f" ms  x{row['speedup_vs_scipy']:.1f}  same bits: {row['same_bits']}",
                    flush=True,
                )
    return rows


def _opencv(op: str, x: np.ndarray, window: int) -> Any:
    try:
        import cv2
    except ImportError:
        return None
    kernel = np.ones((window, window), np.uint8)
    func = cv2.erode if op == "grey_erosion" else cv2.dilate
    return lambda: func(x, kernel, borderType=cv2.BORDER_REFLECT)


def bench_opencv(shapes: list[int], windows: list[int], min_time: float) -> list[dict]:
    rows = []
    for n in shapes:
        for dtype in (np.uint8, np.float32):
            x = _image((n, n), dtype)
            for window in windows:
                for op in ("grey_erosion", "grey_dilation"):
                    peer = _opencv(op, x, window)
                    if peer is None:
                        return rows
                    funcs = {
                        "sepconv": lambda op=op, w=window, x=x: getattr(N, op)(x, size=(w, w)),
                        "opencv": peer,
                    }
                    if n <= 1024:
                        funcs["scipy"] = lambda op=op, w=window, x=x: getattr(S, op)(x, size=(w, w))
                    timings, results = measure(
                        funcs, min_time=min_time, max_time=3.0, jit=("sepconv",), rounds=3,
                        settle_below=0.05,
                    )  # fmt: skip
                    row = {
                        "function": op,
                        "shape": [n, n],
                        "dtype": np.dtype(dtype).name,
                        "window": window,
                        "same_as_opencv": bool(
                            np.array_equal(results["sepconv"], results["opencv"])
                        ),
                        **{f"{k}_s": t.median_s for k, t in timings.items()},
                    }
                    row["time_vs_opencv"] = row["sepconv_s"] / row["opencv_s"]
                    rows.append(row)
                    print(
                        f"{op:13s} {n}² {row['dtype']:8s} {window:3d}x{window:<3d} "
                        f"opencv {fmt_ms(row['opencv_s']):>7s} ms  sepconv "
                        f"{fmt_ms(row['sepconv_s']):>7s} ms  {row['time_vs_opencv']:.2f}x its "
                        f"time  same: {row['same_as_opencv']}",
                        flush=True,
                    )
    return rows


def bench_windows(n: int, windows: list[int], min_time: float) -> list[dict]:
    rows = []
    for dtype in (np.uint8, np.uint16, np.float32):
        x = _image((n, n), dtype)
        for window in windows:
            funcs = {"sepconv": lambda w=window, x=x: N.grey_erosion(x, size=(w, w))}
            peer = _opencv("grey_erosion", x, window) if dtype != np.uint16 else None
            if peer is not None:
                funcs["opencv"] = peer
            funcs["scipy"] = lambda w=window, x=x: S.grey_erosion(x, size=(w, w))
            timings, results = measure(
                funcs, min_time=min_time, max_time=3.0, jit=("sepconv",), rounds=3,
                settle_below=0.05,
            )  # fmt: skip
            row = {
                "dtype": np.dtype(dtype).name,
                "shape": [n, n],
                "window": window,
                "same_bits": bool(np.array_equal(results["sepconv"], results["scipy"])),
                **{f"{k}_s": t.median_s for k, t in timings.items()},
            }
            rows.append(row)
            print(
                f"grey_erosion {n}² {row['dtype']:8s} {window:3d}x{window:<3d} sepconv "
                f"{fmt_ms(row['sepconv_s'])} ms  opencv {fmt_ms(row.get('opencv_s'))} ms  "
                f"scipy {fmt_ms(row['scipy_s'])} ms",
                flush=True,
            )
    return rows


def bench_skimage(shapes: list[int], min_time: float) -> list[dict]:
    try:
        import skimage.morphology as morphology
        from skimage.morphology import footprint_rectangle
    except ImportError:
        return []
    rows = []
    footprint = footprint_rectangle((15, 15))
    for n in shapes:
        x = _image((n, n), np.uint8)

        def patched(x: np.ndarray = x) -> np.ndarray:
            with N.patched():
                return morphology.opening(x, footprint)

        timings, results = measure(
            {"skimage": lambda x=x: morphology.opening(x, footprint), "patched": patched},
            min_time=min_time,
            max_time=4.0,
            jit=("patched",),
        )
        row = {
            "call": "skimage.morphology.opening(image, footprint_rectangle((15, 15)))",
            "shape": [n, n],
            "dtype": "uint8",
            "same_bits": bool(np.array_equal(results["skimage"], results["patched"])),
            "skimage_s": timings["skimage"].median_s,
            "patched_s": timings["patched"].median_s,
        }
        row["speedup"] = row["skimage_s"] / row["patched_s"]
        rows.append(row)
        print(
            f"skimage opening 15x15 {n}²: {fmt_ms(row['skimage_s'])} ms, patched "
            f"{fmt_ms(row['patched_s'])} ms  x{row['speedup']:.1f}",
            flush=True,
        )
    return rows


def _name(r: dict) -> str:
    return f"{r['function']} {'x'.join(map(str, r['shape']))} {r['dtype']}"


def targets(data: dict) -> list[str]:
    """The issue's speed targets, each checked against this run's rows."""
    rows = data["functions"]
    slower = [r for r in rows if r["speedup_vs_scipy"] < 1.0]
    big = [r for r in rows if np.prod(r["shape"]) >= 1024**2]
    under10 = [r for r in big if r["speedup_vs_scipy"] < 10.0]
    lines = [
        f"- never slower than scipy: {len(rows) - len(slower)} of {len(rows)} rows"
        + (
            ": slower: " + ", ".join(f"{_name(r)} ({r['speedup_vs_scipy']:.2f}x)" for r in slower)
            if slower
            else " (met)"
        ),  # fmt: skip
        f"- >= 10x scipy at >= 1024^2: {len(big) - len(under10)} of {len(big)} rows"
        + (
            ": below: " + ", ".join(f"{_name(r)} {r['speedup_vs_scipy']:.1f}x" for r in under10)
            if under10
            else " (met)"
        ),  # fmt: skip
    ]
    cv = [r for r in data["opencv"] if r["window"] <= 31 and np.prod(r["shape"]) >= 512**2]
    if cv:
        over = [r for r in cv if r["time_vs_opencv"] > 1.0]
        worst = max(cv, key=lambda r: r["time_vs_opencv"])
        lines.append(
            f"- grey_erosion / grey_dilation <= 1.0x cv2.erode / cv2.dilate (uint8, float32, "
            f"3x3 .. 31x31, >= 512^2): {len(cv) - len(over)} of {len(cv)} rows; worst "
            f"{worst['time_vs_opencv']:.2f}x ({worst['function']} {worst['shape'][0]}^2 "
            f"{worst['dtype']} {worst['window']}x{worst['window']})"
        )
    for dtype in ("uint8", "uint16", "float32"):
        w = {r["window"]: r["sepconv_s"] for r in data["windows"] if r["dtype"] == dtype}
        if 3 in w and 101 in w:
            ratio = w[101] / w[3]
            lines.append(
                f"- flat in the window ({dtype}, {data['windows'][0]['shape'][0]}^2): 101x101 "
                f"takes {ratio:.2f}x the time of 3x3 ({'met' if ratio <= 1.5 else 'NOT met'}; "
                f"target <= 1.5x)"
            )
    for r in data["skimage"]:
        lines.append(
            f"- scikit-image opening 15x15 {r['shape'][0]}^2 uint8 under patch(): "
            f"{r['speedup']:.1f}x unpatched ({'met' if r['speedup'] >= 10 else 'NOT met'}; "
            "target >= 10x)"
        )
    return lines


def markdown(data: dict) -> str:
    machine = data["machine"]
    lines = [
        "# Minimum / maximum filters and grey morphology",
        "",
        f"{machine['cpu']}, {machine['logical_cpus']} logical CPUs, {sepconv.get_num_threads()} "
        f"engine threads, {machine['date']}; load average {machine['loadavg_start']} at the start, "
        f"{data['loadavg_end']} at the end.  Medians of interleaved runs (ms).  `same bits`: "
        "`np.array_equal` to scipy.ndimage's result.",
        "",
        "## Targets",
        "",
        *targets(data),
        "",
        "## Every function against scipy.ndimage (window 3 along every axis)",
        "",
    ]
    rows = [
        [r["function"], "x".join(map(str, r["shape"])), r["dtype"], fmt_ms(r["scipy_s"]),
         fmt_ms(r["sepconv_s"]), f"{r['speedup_vs_scipy']:.1f}x", fmt_ms(r.get("skimage_s")),
         "yes" if r["same_bits"] else "**NO**"]
        for r in data["functions"]
    ]  # fmt: skip
    lines.append(
        markdown_table(
            ["function", "shape", "dtype", "scipy", "sepconv", "vs scipy", "skimage", "same bits"],
            rows,
        )
    )
    if data["opencv"]:
        lines += ["", "## grey_erosion / grey_dilation against OpenCV (BORDER_REFLECT)", ""]
        rows = [
            [r["function"], f"{r['shape'][0]}²", r["dtype"], f"{r['window']}x{r['window']}",
             fmt_ms(r["opencv_s"]), fmt_ms(r["sepconv_s"]), f"{r['time_vs_opencv']:.2f}x",
             fmt_ms(r.get("scipy_s")), "yes" if r["same_as_opencv"] else "**NO**"]
            for r in data["opencv"]
        ]  # fmt: skip
        headers = ["function", "shape", "dtype", "window", "OpenCV", "sepconv",
                   "sepconv / OpenCV", "scipy", "= OpenCV"]  # fmt: skip
        lines.append(markdown_table(headers, rows))
    if data["windows"]:
        lines += ["", "## grey_erosion against the window", ""]
        rows = [
            [r["dtype"], f"{r['shape'][0]}²", f"{r['window']}x{r['window']}",
             fmt_ms(r["sepconv_s"]), fmt_ms(r.get("opencv_s")), fmt_ms(r["scipy_s"]),
             "yes" if r["same_bits"] else "**NO**"]
            for r in data["windows"]
        ]  # fmt: skip
        lines.append(
            markdown_table(
                ["dtype", "shape", "window", "sepconv", "OpenCV", "scipy", "same bits"], rows
            )
        )
    if data["skimage"]:
        lines += ["", "## scikit-image under sepconv.ndimage.patch()", ""]
        rows = [
            [r["call"], f"{r['shape'][0]}²", fmt_ms(r["skimage_s"]), fmt_ms(r["patched_s"]),
             f"{r['speedup']:.1f}x", "yes" if r["same_bits"] else "**NO**"]
            for r in data["skimage"]
        ]  # fmt: skip
        lines.append(
            markdown_table(["call", "shape", "skimage", "patched", "speed-up", "same bits"], rows)
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (two minutes)")
    args = parser.parse_args(argv)
    machine = machine_info()
    if args.quick:
        functions = bench_functions([(32, 32), (256, 256), (1024, 1024)], [np.uint8], 0.1)
        opencv = bench_opencv([512, 1024], [3, 15, 31], 0.1)
        windows = bench_windows(1024, [3, 31, 101], 0.1)
        skimage = bench_skimage([1024], 0.2)
        stem = "morphology_quick"
    else:
        dtypes = [np.uint8, np.uint16, np.float32]
        shapes = [(32, 32), (256, 256), (1024, 1024), (4096, 4096), (256, 256, 256)]
        functions = bench_functions(shapes, dtypes, 0.3)
        opencv = bench_opencv([512, 1024, 2048, 4096], [3, 5, 7, 15, 31, 101], 0.3)
        windows = bench_windows(2048, [3, 5, 9, 15, 31, 51, 101], 0.3)
        skimage = bench_skimage([1024, 2048], 0.5)
        stem = "morphology"
    data = {
        "machine": machine,
        "quick": args.quick,
        "functions": functions,
        "opencv": opencv,
        "windows": windows,
        "skimage": skimage,
        "loadavg_end": loadavg(),
    }
    write_json(RESULTS / f"{stem}.json", data)
    (RESULTS / f"{stem}.md").write_text(markdown(data))
    print(f"wrote {RESULTS / stem}.json and .md")


if __name__ == "__main__":
    main()
