"""Box (mean) filters: sepconv's running sums against its tap loops, OpenCV and scipy, in one run.

Run from the repository root::

    python benchmarks/bench_running.py            # 2048^2, a minute or two
    python benchmarks/bench_running.py --quick    # 512^2, seconds

Writes ``benchmarks/results/running.json`` and ``running.md`` (``--quick``:
``running_quick.*``).  For each box size ``k`` (the normalised ``k x k`` mean
kernel, scipy's ``mode="reflect"`` = OpenCV's ``BORDER_REFLECT``):

* ``sepconv``: ``sepconv.correlate(x, box)`` (its plan: running sums from
  ``RUNNING_MIN`` taps on);
* ``sepconv taps``: ``method="separable"`` with running sums switched off
  (``RUNNING_MIN`` raised), the folded tap loops: where the two cross is the
  break-even length;
* ``cv2.blur`` (2 threads) and ``scipy.ndimage.uniform_filter``.

Every result is compared with scipy's (``max |diff|``).  Medians of interleaved runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from _common import fmt_ms, machine_info, markdown_table, measure, write_json

import sepconv
from sepconv import _engine

RESULTS = Path(__file__).resolve().parent / "results"


def _taps_only(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # method="separable" gives the call its own signature, so the launches recorded
    # (and replayed) for it are the tap loops', not the running sums of the auto call.
    saved = _engine._taps.RUNNING_MIN
    _engine._taps.RUNNING_MIN = 1 << 30
    try:
        return sepconv.correlate(x, kernel, method="separable")
    finally:
        _engine._taps.RUNNING_MIN = saved


def run(size: int, sizes: list[int], dtypes: list[str]) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(2)
    rng = np.random.default_rng(0)
    rows = []
    for dtype in dtypes:
        x = rng.random((size, size)) * 255
        x = x.astype(dtype)
        for k in sizes:
            kernel = np.full((k, k), 1.0 / (k * k))
            funcs = {
                "sepconv": lambda x=x, kernel=kernel: sepconv.correlate(x, kernel),
                "sepconv taps": lambda x=x, kernel=kernel: _taps_only(x, kernel),
                "cv2.blur": lambda x=x, k=k: cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT),
                "scipy uniform_filter": lambda x=x, k=k: ndi.uniform_filter(x, k),
            }
            timings, results = measure(funcs, min_runs=5, min_time=0.5, max_time=4.0,
                                       jit=("sepconv", "sepconv taps"))  # fmt: skip
            box = np.full(k, 1.0 / k)  # the exact separable result, in float64
            reference = ndi.correlate1d(ndi.correlate1d(x.astype(np.float64), box, 0), box, 1)
            row: dict[str, Any] = {"dtype": dtype, "k": k, "size": size}
            for name, t in timings.items():
                diff = np.abs(results[name].astype(np.float64) - reference).max()
                row[name] = {**t.to_dict(), "max_abs_diff_vs_float64": float(diff)}
            row["plan"] = sepconv.plan(x.shape, kernel, dtype=x.dtype).explain().splitlines()[0]
            rows.append(row)
            print(dtype, k, {n: fmt_ms(t.median_s) for n, t in timings.items()}, flush=True)
    return {"machine": machine_info(), "running_min": _engine.RUNNING_MIN, "rows": rows}


def markdown(data: dict[str, Any]) -> str:
    names = ["sepconv", "sepconv taps", "cv2.blur", "scipy uniform_filter"]
    table = []
    for row in data["rows"]:
        ours = row["sepconv"]["median_s"]
        table.append(
            [f"{row['dtype']} {row['size']}² box {row['k']}"]
            + [fmt_ms(row[n]["median_s"]) for n in names]
            + [f"{ours / row['cv2.blur']['median_s']:.2f}"]
        )
    headers = ["case", *[f"{n} (ms)" for n in names], "sepconv / cv2.blur"]
    return (
        "# Box filters: running sums\n\n"
        f"Running sums from {data['running_min']} taps on; medians of interleaved runs.\n\n"
        + markdown_table(headers, table)
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="512^2 only, a few sizes")
    args = parser.parse_args()
    if args.quick:
        data = run(512, [3, 9, 15, 31, 101], ["float32"])
    else:
        data = run(2048, [3, 9, 15, 21, 31, 101, 301], ["float32", "uint8"])
    stem = "running_quick" if args.quick else "running"
    write_json(RESULTS / f"{stem}.json", data)
    (RESULTS / f"{stem}.md").write_text(markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
