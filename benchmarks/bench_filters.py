"""Filtering speed: sepconv against OpenCV, scipy.ndimage and kornia, in one run.

Run from the repository root::

    python benchmarks/bench_filters.py            # full run, about 10 minutes on 2 cores
    python benchmarks/bench_filters.py --quick    # two small sizes, under a minute

The full run writes ``benchmarks/results/filters.json`` and ``filters.md``; ``--quick``
writes ``filters_quick.json`` / ``.md`` so it never replaces the full table.

What is timed, row by row (uint8 and float32 images; shapes 64^2, 256^2, 512^2, 1024^2,
1080x1920 and 4096^2 -- NumPy's (rows, columns) -- and 2048^2 for the box kernels alone;
Gaussian kernels of sigma 1, 2, 4 (9, 17, 33 taps: scipy's truncation) and box (mean)
kernels of 3 and 31 taps, and 101 at 2048^2; scipy's ``mode="reflect"``):

* sepconv as a user calls it: ``sepconv.correlate`` with the 2-D outer-product kernel
  (the primary column; the fast policy), ``sepconv.ndimage.gaussian_filter`` /
  ``uniform_filter`` (the exact policy: scipy's bits), ``sepconv.sepfilter`` with the
  1-D factors and, where
  ``sepconv.plan(shape, weights, dtype=...)`` returns a callable plan, ``p(x)``;
* ``sepconv.correlate`` with ``sepconv.set_num_threads(1)`` next to the default count;
* ``sepconv.correlate`` and ``cv2.sepFilter2D`` each right after a PyTorch operation (a
  512x512 matmul and a conv2d, untimed), the loop a training script runs;
* ``cv2.sepFilter2D`` with the same 1-D kernel and ``BORDER_REFLECT`` (scipy's ``reflect``),
  ``cv2.GaussianBlur`` / ``cv2.blur`` (the same operation), ``scipy.ndimage.gaussian_filter``
  / ``uniform_filter``;
* at 256^2, 1024^2 and 4096^2 (float32, Gaussian) ``sepconv.torch.correlate`` against
  ``kornia.filters.filter2d_separable`` on ``(1, 1, H, W)`` tensors (scipy's ``mirror``);
* in the first row of each shape and dtype, ``np.copyto`` of the same array (one thread
  and all cores): the memory bandwidth every row's time is compared with;
* the first ``sepconv.correlate`` calls in fresh interpreters with an empty Numba cache
  (compilation) and with the cache it left (loading).

Repeats adapt to the call: at least 5 timed calls and about 0.2 s of them per cell, but no
more than fit in 1 s (so scipy's second-long calls at 4096^2 are timed a few times);
``--min-runs``, ``--min-time`` and ``--max-time`` change that.  A full run is estimated at
about 10 minutes on a quiet 2-core machine from the time of its rows.

Every result is checked against scipy's separable result with float64 intermediates.
The Markdown states each target of issue 19 and whether this run met it, decided from the
data, the machine, load and thread settings of the run, and for every row above OpenCV the
measured reason (fixed cost per call, memory bandwidth, or arithmetic; ``why_slower``).
How cells are timed (interleaved, adaptive repeats, medians) is in ``_filters_cases.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import loadavg, machine_info, write_json
from _filters_cases import Options, Runner, first_call_latency, specs
from _filters_peers import cv2, torch
from _filters_table import markdown, print_targets
from _filters_targets import evaluate

import sepconv

RESULTS = Path(__file__).resolve().parent / "results"
FULL_SIZES = ("64", "256", "512", "1024", "1920x1080", "4096")
FULL_BOX_ONLY = ("2048",)  # box 101 at 2048^2: the cost flat in the window
FULL_KORNIA = ("256", "1024", "4096")
QUICK_SIZES = ("64", "512")
GAUSSIAN = (9, 17, 33)  # sigma 1, 2, 4 with scipy's truncation
BOX = (3, 31)


def parse_shape(text: str) -> tuple[int, int]:
    """``"512"`` is 512 x 512; ``"WxH"`` (width first, like "1920x1080") is ``(H, W)``."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"a size is N or WxH (e.g. 512, 1920x1080), got {text!r}")
    return parts[1], parts[0]


def call_floor(dtypes: Sequence[str], calls: int = 2000) -> dict[str, float]:
    """The fixed cost of a ``sepconv.correlate`` call: the fastest of ``calls`` on 8 x 8
    with a 3 x 3 kernel, per dtype (the table's reason "fixed cost per call")."""
    import numpy as np

    kernel = np.full((3, 3), 1 / 9)
    floor = {}
    for dtype in dtypes:
        x = np.ones((8, 8), dtype)
        sepconv.correlate(x, kernel)
        best = float("inf")
        for _ in range(calls):
            start = time.perf_counter()
            sepconv.correlate(x, kernel)
            best = min(best, time.perf_counter() - start)
        floor[dtype] = best
    return floor


def threading_description() -> str:
    """Which threads ran sepconv's kernels: its own pool, or a Numba threading layer."""
    try:
        import sepconv._engine._pool  # noqa: F401
    except ImportError:
        pass
    else:
        return "sepconv's own pool (sepconv._engine._pool)"
    try:
        import numba

        return f"Numba threading layer {numba.threading_layer()}"
    except (ImportError, ValueError):  # ValueError: no parallel function ran
        return "unknown"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="two small sizes, few repeats, < 1 min")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and Markdown")
    p.add_argument("--sizes", type=parse_shape, nargs="+", help="N or WxH (default: the issue's)")
    p.add_argument("--box-only-sizes", type=parse_shape, nargs="*", help="sizes for box rows only")
    p.add_argument("--kornia-sizes", type=parse_shape, nargs="*", help="sizes that time kornia")
    p.add_argument("--gaussian", type=int, nargs="*", help="Gaussian sizes (default 9 17 33)")
    p.add_argument("--box", type=int, nargs="*", help="box sizes (default 3 31)")
    p.add_argument("--dtypes", nargs="+", choices=["float32", "uint8"])
    p.add_argument(
        "--first-call",
        choices=["cold-warm", "default", "none"],
        help="fresh interpreters: empty then reused Numba cache (full default), the package's "
        "cache as found (quick default), or none",
    )
    p.add_argument("--no-torch-op", action="store_true", help="omit the after-torch-op columns")
    p.add_argument("--min-runs", type=int, help="timed calls per cell at least (5; quick 3)")
    p.add_argument(
        "--min-time", type=float, help="seconds of timed calls per cell (0.2; quick 0.05)"
    )
    p.add_argument("--max-time", type=float, help="cap on seconds per cell (1.0; quick 0.4)")
    args = p.parse_args(argv)
    quick = args.quick
    shapes = lambda names: [parse_shape(n) for n in names]  # noqa: E731
    args.sizes = args.sizes or shapes(QUICK_SIZES if quick else FULL_SIZES)
    if args.box_only_sizes is None:
        args.box_only_sizes = [] if quick else shapes(FULL_BOX_ONLY)
    if args.kornia_sizes is None:
        args.kornia_sizes = shapes(("512",) if quick else FULL_KORNIA)
    if args.gaussian is None:
        args.gaussian = [9, 33] if quick else list(GAUSSIAN)
    if args.box is None:
        args.box = [3, 31] if quick else list(BOX)
    args.dtypes = args.dtypes or ["float32", "uint8"]
    args.first_call = args.first_call or ("default" if quick else "cold-warm")
    defaults = (3, 0.05, 0.4) if quick else (5, 0.2, 1.0)
    for name, default in zip(("min_runs", "min_time", "max_time"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    meta = machine_info()
    meta["quick"] = args.quick
    meta["command"] = " ".join(["python", "benchmarks/bench_filters.py", *(argv or sys.argv[1:])])
    meta["threads"] = {
        "sepconv": sepconv.get_num_threads(),
        "sepconv_max": sepconv.get_num_threads(max=True),
        "cv2": cv2.getNumThreads() if cv2 is not None else None,
        "torch": torch.get_num_threads() if torch is not None else None,
    }
    meta["torch_imported"] = "torch" in sys.modules
    opts = Options(min_runs=args.min_runs, min_time=args.min_time, max_time=args.max_time)
    meta["timing"] = vars(opts)
    print(f"sepconv filtering benchmark ({'quick' if args.quick else 'full'}), load {loadavg()}")
    first_call: dict[str, Any] = {}
    if args.first_call != "none":
        # Before this process compiles anything, so "default" sees the cache as found.
        print("  first-call latency in fresh interpreters ...", flush=True)
        runs = ["default"] if args.first_call == "default" else ["cold", "warm"]
        first_call = first_call_latency(runs)
    runner = Runner(opts, torch_between=not args.no_torch_op)
    rows = specs(
        args.sizes,
        args.dtypes,
        args.gaussian,
        args.box,
        box_only=args.box_only_sizes,
        kornia_shapes=args.kornia_sizes,
    )
    for spec in rows:
        runner.run(spec)
    floor_s = call_floor(args.dtypes)
    meta["threading"] = threading_description()
    meta["env"] = {
        k: os.environ[k]
        for k in (
            "OMP_NUM_THREADS",
            "OMP_WAIT_POLICY",
            "GOMP_SPINCOUNT",
            "KMP_BLOCKTIME",
            "NUMBA_THREADING_LAYER",
            "NUMBA_NUM_THREADS",
        )
        if k in os.environ
    }
    meta["loadavg_end"] = loadavg()
    meta["seconds"] = time.perf_counter() - start
    data = {
        "meta": meta,
        "memcpy": {
            f"{dtype} {'x'.join(map(str, shape))}": seconds
            for (shape, dtype), seconds in runner.copy_s.items()
        },
        "first_call": first_call,
        "floor_s": floor_s,
        "cases": runner.cases,
        "targets": evaluate(runner.cases, quick=args.quick),
    }
    stem = "filters_quick" if args.quick else "filters"
    write_json(args.out / f"{stem}.json", data)
    (args.out / f"{stem}.md").write_text(markdown(data) + "\n")
    print(f"wrote {args.out / stem}.json and .md in {meta['seconds']:.0f} s")
    print_targets(data["targets"])
    return data


if __name__ == "__main__":
    main()
