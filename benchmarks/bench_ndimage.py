"""sepconv.ndimage vs scipy.ndimage (and OpenCV, dask-image where they do the same thing).

Every function of :mod:`sepconv.ndimage` on uint8 / float32 / float64 images of
32², 256², 1024², 4096² and a 256³ volume, timed interleaved with
scipy.ndimage's function of the same name and arguments (medians, ratios).  Each
case also records whether the two results are ``np.array_equal`` (they must be).
OpenCV is timed where it has the same operation (``GaussianBlur``, ``blur``,
``Sobel``, ``Laplacian``; its results differ in rounding and are not compared),
and dask-image against the Dask path of sepconv.ndimage.

Run::

    python benchmarks/bench_ndimage.py            # full: about 10 minutes
    python benchmarks/bench_ndimage.py --quick    # 32² and 256² and 1024² float32

Writes ``benchmarks/results/ndimage.{json,md}`` (``ndimage_quick.*`` with --quick).
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
from _common import fmt_ms, machine_info, markdown_table, measure, write_json  # noqa: E402

import sepconv  # noqa: E402
from sepconv import ndimage as N  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
W5 = np.array([0.1, -0.4, 1.3, 0.7, 0.2])
K3 = np.array([[0.1, 0.5, -0.2], [0.4, 1.0, 0.3], [-0.1, 0.6, 0.2]])
K3x3x3 = K3[:, :, None] * np.array([0.3, 1.0, -0.5])  # the same kernel for volumes


def _d2(input: Any, axis: int, output: Any, mode: str, cval: float) -> Any:
    return N.correlate1d(input, [1, -2, 1], axis, output, mode, cval)


def _d2_scipy(input: Any, axis: int, output: Any, mode: str, cval: float) -> Any:
    return S.correlate1d(input, [1, -2, 1], axis, output, mode, cval)


# name -> (positional args for sepconv, the same for scipy)
CASES: dict[str, tuple[tuple, tuple]] = {
    "correlate1d": ((W5,), (W5,)),
    "convolve1d": ((W5,), (W5,)),
    "correlate": ((K3,), (K3,)),
    "convolve": ((K3,), (K3,)),
    "gaussian_filter1d": ((2.0,), (2.0,)),
    "gaussian_filter": ((2.0,), (2.0,)),
    "uniform_filter1d": ((5,), (5,)),
    "uniform_filter": ((5,), (5,)),
    "sobel": ((), ()),
    "prewitt": ((), ()),
    "laplace": ((), ()),
    "gaussian_laplace": ((2.0,), (2.0,)),
    "gaussian_gradient_magnitude": ((2.0,), (2.0,)),
    "generic_laplace": ((_d2,), (_d2_scipy,)),
    "generic_gradient_magnitude": ((N.sobel,), (S.sobel,)),
}


def _image(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "u":
        return rng.integers(0, 256, shape).astype(dtype)
    return rng.random(shape).astype(dtype)


def _opencv(name: str, x: np.ndarray) -> Any:
    try:
        import cv2
    except ImportError:
        return None
    if x.ndim != 2:
        return None
    reflect = cv2.BORDER_REFLECT  # scipy's 'reflect'
    if name == "gaussian_filter":
        k = 2 * int(4.0 * 2.0 + 0.5) + 1
        return lambda: cv2.GaussianBlur(x, (k, k), 2.0, borderType=reflect)
    if name == "uniform_filter":
        return lambda: cv2.blur(x, (5, 5), borderType=reflect)
    if name == "sobel":
        return lambda: cv2.Sobel(x, -1, 1, 0, ksize=3, borderType=reflect)
    if name == "laplace":
        return lambda: cv2.Laplacian(x, -1, ksize=1, borderType=reflect)
    return None


def _warm_up(seconds: float = 1.0) -> None:
    # The first second of a process runs small calls of either library up to 2x
    # slower (measured: the first row alone, whichever function it is); time
    # the steady state of both instead.
    x = _image((32, 32), np.float32)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for name, (ours_args, scipy_args) in CASES.items():
            getattr(N, name)(x, *ours_args)
            getattr(S, name)(x, *scipy_args)


def bench_numpy(shapes: list[tuple[int, ...]], dtypes: list[Any], min_time: float) -> list[dict]:
    _warm_up()
    rows = []
    for shape in shapes:
        for dtype in dtypes:
            x = _image(shape, dtype)
            # The memory floor: one read of the input and one write of an output.
            sink = np.empty_like(x)
            copy = measure({"copy": lambda x=x, sink=sink: np.copyto(sink, x)}, min_time=min_time,
                           max_time=1.0, min_runs=3)[0]["copy"].median_s  # fmt: skip
            for name, (ours_args, scipy_args) in CASES.items():
                if x.ndim == 3 and name in ("correlate", "convolve"):
                    ours_args = scipy_args = (K3x3x3,)
                funcs = {
                    "sepconv": lambda f=getattr(N, name), a=ours_args, x=x: f(x, *a),
                    "scipy": lambda f=getattr(S, name), a=scipy_args, x=x: f(x, *a),
                }
                peer = _opencv(name, x)
                if peer is not None:
                    funcs["opencv"] = peer
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
                    "copy_s": copy,
                }
                row["speedup_vs_scipy"] = row["scipy_s"] / row["sepconv_s"]
                if "opencv_s" in row:
                    row["speedup_vs_opencv"] = row["opencv_s"] / row["sepconv_s"]
                rows.append(row)
                print(
                    f"{name:28s} {'x'.join(map(str, shape)):>11s} {row['dtype']:8s} "
                    f"scipy {fmt_ms(row['scipy_s']):>7s} ms  sepconv {fmt_ms(row['sepconv_s']):>7s}"
                    f" ms  x{row['speedup_vs_scipy']:.1f}  same bits: {row['same_bits']}",
                    flush=True,
                )
    return rows


def bench_dask(size: int, chunk: int, min_time: float) -> list[dict]:
    try:
        import dask
        import dask.array as da
        from dask_image import ndfilters
    except ImportError:
        return []
    x = _image((size, size), np.float32)
    lazy = da.from_array(x, chunks=chunk)
    rows = []
    for name, args in (("gaussian_filter", (2.0,)), ("uniform_filter", (5,)), ("sobel", ())):
        theirs = getattr(ndfilters, name)
        funcs = {
            "sepconv": lambda f=getattr(N, name), a=args: f(lazy, *a).compute(),
            "dask_image": lambda f=theirs, a=args: f(lazy, *a).compute(),
        }
        with dask.config.set(scheduler="threads"):
            timings, results = measure(funcs, min_time=min_time, max_time=4.0, jit=("sepconv",))
        row = {
            "function": name,
            "shape": [size, size],
            "chunks": chunk,
            "dtype": "float32",
            "same_bits_as_numpy": bool(
                np.array_equal(results["sepconv"], getattr(N, name)(x, *args))
            ),
            **{f"{k}_s": t.median_s for k, t in timings.items()},
        }
        row["speedup_vs_dask_image"] = row["dask_image_s"] / row["sepconv_s"]
        rows.append(row)
        print(f"dask {name:22s} {size}² chunks {chunk}: x{row['speedup_vs_dask_image']:.1f}")
    return rows


def bench_uniform_sizes(n: int, sizes: list[int], min_time: float) -> list[dict]:
    """uniform_filter on an n x n image for growing ``size``: the running sums make it flat."""
    rows = []
    for dtype in (np.uint8, np.float32):
        x = _image((n, n), dtype)
        for size in sizes:
            funcs = {
                "sepconv": lambda s=size, x=x: N.uniform_filter(x, s),
                "scipy": lambda s=size, x=x: S.uniform_filter(x, s),
            }
            timings, results = measure(funcs, min_time=min_time, max_time=3.0, jit=("sepconv",))
            rows.append(
                {
                    "dtype": np.dtype(dtype).name,
                    "shape": [n, n],
                    "size": size,
                    "same_bits": bool(np.array_equal(results["sepconv"], results["scipy"])),
                    **{f"{k}_s": t.median_s for k, t in timings.items()},
                }
            )
            print(f"uniform_filter {n}² {np.dtype(dtype).name} size {size}: "
                  f"{fmt_ms(rows[-1]['sepconv_s'])} ms", flush=True)  # fmt: skip
    return rows


def targets(data: dict) -> list[str]:
    """The issue's speed targets, each checked against this run's rows."""
    rows = data["numpy"]
    slower = [r for r in rows if r["speedup_vs_scipy"] < 1.0]
    big = [r for r in rows if np.prod(r["shape"]) >= 1024**2]
    under10 = [r for r in big if r["speedup_vs_scipy"] < 10.0]

    def name(r: dict) -> str:
        return f"{r['function']} {'x'.join(map(str, r['shape']))} {r['dtype']}"

    lines = [
        f"- never slower than scipy: {len(rows) - len(slower)} of {len(rows)} rows"
        + (
            ": slower: " + ", ".join(f"{name(r)} ({r['speedup_vs_scipy']:.2f}x)" for r in slower)
            if slower
            else " (met)"
        ),  # fmt: skip
        f"- >= 10x scipy at >= 1024^2: {len(big) - len(under10)} of {len(big)} rows; below: "
        + ", ".join(f"{name(r)} {r['speedup_vs_scipy']:.1f}x" for r in under10),
    ]
    for r in rows:
        if r["function"] == "gaussian_filter" and r["dtype"] == "float32" and "opencv_s" in r:
            if np.prod(r["shape"]) >= 1024**2:
                ratio = r["sepconv_s"] / r["opencv_s"]
                verdict = "met" if ratio <= 1 else "NOT met"
                lines.append(
                    f"- gaussian_filter float32 {'x'.join(map(str, r['shape']))} <= "
                    f"cv2.GaussianBlur: {ratio:.2f}x its time ({verdict})"
                )
    for dtype in ("uint8", "float32"):
        times = [u["sepconv_s"] for u in data.get("uniform_sizes", []) if u["dtype"] == dtype]
        if times:
            lines.append(
                f"- uniform_filter flat in size ({dtype}): slowest / fastest over the sizes "
                f"{max(times) / min(times):.2f}"
            )
    return lines


def markdown(data: dict) -> str:
    lines = [
        "# sepconv.ndimage vs scipy.ndimage",
        "",
        f"{data['machine']['cpu']}, {sepconv.get_num_threads()} engine threads, "
        f"{data['machine']['date']}; medians of interleaved runs (ms).  "
        "`same bits`: `np.array_equal` to scipy's result.  `scipy / copy`: scipy's time over "
        "one `np.copyto` of the image (reading the input and writing an output once), the "
        "speed-up a single sweep at memory speed would have.",
        "",
    ]
    rows = [
        [
            r["function"],
            "x".join(map(str, r["shape"])),
            r["dtype"],
            fmt_ms(r["scipy_s"]),
            fmt_ms(r["sepconv_s"]),
            f"{r['speedup_vs_scipy']:.1f}x",
            f"{r['scipy_s'] / r['copy_s']:.0f}x" if r.get("copy_s") else "-",
            fmt_ms(r.get("opencv_s")),
            "yes" if r["same_bits"] else "**NO**",
        ]
        for r in data["numpy"]
    ]
    headers = ["function", "shape", "dtype", "scipy", "sepconv", "vs scipy", "scipy / copy",
               "OpenCV", "same bits"]  # fmt: skip
    lines += ["## Targets", "", *targets(data), "", "## Every case", ""]
    lines.append(markdown_table(headers, rows))
    if data.get("uniform_sizes"):
        urows = [
            [u["dtype"], "x".join(map(str, u["shape"])), u["size"], fmt_ms(u["scipy_s"]),
             fmt_ms(u["sepconv_s"]), "yes" if u["same_bits"] else "**NO**"]
            for u in data["uniform_sizes"]
        ]  # fmt: skip
        lines += ["", "## uniform_filter against size", ""]
        lines.append(
            markdown_table(["dtype", "shape", "size", "scipy", "sepconv", "same bits"], urows)
        )
    if data["dask"]:
        lines += ["", "## Dask path vs dask-image", ""]
        drows = [
            [
                r["function"],
                f"{r['shape'][0]}² / {r['chunks']}",
                fmt_ms(r["dask_image_s"]),
                fmt_ms(r["sepconv_s"]),
                f"{r['speedup_vs_dask_image']:.1f}x",
                "yes" if r["same_bits_as_numpy"] else "**NO**",
            ]
            for r in data["dask"]
        ]
        headers = ["function", "shape / chunks", "dask-image", "sepconv", "ratio", "= NumPy bits"]
        lines.append(markdown_table(headers, drows))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a minute)")
    args = parser.parse_args(argv)
    if args.quick:
        shapes = [(32, 32), (256, 256), (1024, 1024)]
        dtypes = [np.uint8, np.float32, np.float64]
        numpy_rows = bench_numpy(shapes[:2], dtypes, 0.1)
        numpy_rows += bench_numpy(shapes[2:], [np.float32], 0.2)
        dask_rows = bench_dask(1024, 256, 0.2)
        uniform_rows = bench_uniform_sizes(1024, [3, 31], 0.2)
        stem = "ndimage_quick"
    else:
        shapes = [(32, 32), (256, 256), (1024, 1024), (4096, 4096)]
        dtypes = [np.uint8, np.float32, np.float64]
        numpy_rows = bench_numpy(shapes, dtypes, 0.5)
        numpy_rows += bench_numpy([(256, 256, 256)], [np.float32], 0.5)
        dask_rows = bench_dask(4096, 1024, 0.5)
        uniform_rows = bench_uniform_sizes(1024, [3, 5, 11, 31, 101], 0.5)
        stem = "ndimage"
    data = {
        "machine": machine_info(),
        "quick": args.quick,
        "numpy": numpy_rows,
        "dask": dask_rows,
        "uniform_sizes": uniform_rows,
    }
    write_json(RESULTS / f"{stem}.json", data)
    (RESULTS / f"{stem}.md").write_text(markdown(data))
    print(f"wrote {RESULTS / stem}.json and .md")


if __name__ == "__main__":
    main()
