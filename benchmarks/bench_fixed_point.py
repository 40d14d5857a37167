"""The fast policy's integer paths for 8- and 16-bit smoothing against its float path.

``sepconv.correlate`` filters uint8 into uint8 with smoothing factors in 16-bit fixed
point, and uint8 or uint16 means by exact integer sums (:mod:`sepconv._engine._fixed`).
This benchmark times the same calls with the integer path and with it switched off
(the float path it replaced), in one process, alternating, and reports for each row
the time ratio, the bound the plan states and the share of outputs one above scipy's
truncation of the exact (float64) value, with OpenCV's time for scale.  Writes
``results/fixed_point.md`` and ``.json``.

Run: ``python benchmarks/bench_fixed_point.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import loadavg, machine_info, markdown_table, write_json  # noqa: E402

import sepconv  # noqa: E402
from sepconv import _replay  # noqa: E402
from sepconv._engine import _fixed, _passes  # noqa: E402

try:
    import cv2
except ImportError:  # pragma: no cover - OpenCV is a benchmark peer only
    cv2 = None


def _kernel(name: str) -> np.ndarray:
    if name.startswith("gauss"):
        sigma = float(name[5:])
        r = int(4 * sigma + 0.5)
        w = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        return w / w.sum()
    k = int(name[3:])
    return np.full(k, 1.0 / k)


def _time(call, budget: float) -> float:
    call()
    start = time.perf_counter()
    call()
    one = time.perf_counter() - start
    n = max(3, min(300, int(budget / max(one, 1e-9))))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three sizes, three kernels")
    args = parser.parse_args(argv)
    sizes = [256, 1024] if args.quick else [64, 256, 512, 1024, 2048, 4096]
    kernels = {
        "uint8": ["gauss1", "gauss4", "box3"]
        if args.quick
        else ["gauss1", "gauss2", "gauss4", "box3", "box7", "box15", "box31"],
        # 16-bit data: means only (exact integer sums; fixed point would need 32-bit lanes)
        "uint16": ["box3"] if args.quick else ["box3", "box7", "box15", "box31"],
    }
    shapes = [(n, n) for n in sizes] + ([] if args.quick else [(1080, 1920)])
    real = _passes._fixed_point
    rows = []
    print(f"fixed point vs float path, load {loadavg()}", flush=True)
    for dtype, shape in [(d, s) for d in kernels for s in shapes]:
        top = np.iinfo(dtype).max
        x = np.random.default_rng(0).integers(0, top + 1, shape, dtype=dtype)
        budget = 0.05 if x.size <= 1 << 20 else 0.2
        for name in kernels[dtype]:
            w = _kernel(name)
            k = np.outer(w, w)
            times: dict[str, float] = {}
            for _ in range(2):  # rounds, alternating the two arms
                for arm in ("fixed", "float"):
                    _passes._fixed_point = real if arm == "fixed" else (lambda *a: False)
                    _replay.PROGRAMS.clear()
                    t = _time(lambda x=x, k=k: sepconv.correlate(x, k), budget)
                    times[arm] = min(times.get(arm, float("inf")), t)
            _passes._fixed_point = real
            _replay.PROGRAMS.clear()
            ours = sepconv.correlate(x, k)
            exact = cv2.sepFilter2D(
                x.astype(np.float64), -1, w, w, borderType=cv2.BORDER_REFLECT
            ) if cv2 is not None else None  # fmt: skip
            row = {
                "dtype": dtype,
                "shape": f"{shape[0]}x{shape[1]}",
                "kernel": name,
                "taps": int(w.size),
                "fixed_ms": times["fixed"] * 1e3,
                "float_ms": times["float"] * 1e3,
                "fixed_over_float": times["fixed"] / times["float"],
                "bound": _fixed.plan(w, w, np.dtype(dtype)).bound,
            }
            if exact is not None:
                # (+1e-9: a float64 sum that is an integer may come out a hair below it)
                diff = ours.astype(np.int64) - np.trunc(exact + 1e-9).astype(np.int64)
                row["max_abs_diff"] = int(np.abs(diff).max())
                row["share_one_off"] = float(np.mean(diff != 0))
                box = name.startswith("box")
                peer = (
                    (lambda x=x, w=w: cv2.blur(x, (w.size,) * 2, borderType=cv2.BORDER_REFLECT))
                    if box
                    else (
                        lambda x=x, w=w: cv2.sepFilter2D(x, -1, w, w, borderType=cv2.BORDER_REFLECT)
                    )
                )
                row["cv2_ms"] = _time(peer, budget) * 1e3
                row["fixed_over_cv2"] = row["fixed_ms"] / row["cv2_ms"]
            rows.append(row)
            print(
                f"  {dtype} {row['shape']:>9} {name:>7}: fixed {row['fixed_ms']:.3f} ms, float "
                f"{row['float_ms']:.3f} ms ({row['fixed_over_float']:.2f}x)",
                flush=True,
            )
    table = markdown_table(
        ["data", "image", "kernel", "fixed ms", "float ms", "fixed / float", "bound", "one off",
         "cv2 ms", "fixed / cv2"],
        [
            [r["dtype"], r["shape"], f"{r['kernel']} ({r['taps']} taps)", f"{r['fixed_ms']:.3f}",
             f"{r['float_ms']:.3f}", f"{r['fixed_over_float']:.2f}", f"{r['bound']:.2f}",
             f"{100 * r.get('share_one_off', float('nan')):.1f} %",
             f"{r.get('cv2_ms', float('nan')):.3f}", f"{r.get('fixed_over_cv2', float('nan')):.2f}"]
            for r in rows
        ],
    )  # fmt: skip
    meta = machine_info()
    meta["load_after"] = loadavg()
    lines = [
        "# Integer paths (uint8 fixed point, uint8 and uint16 means) against the float path",
        "",
        f"`python benchmarks/bench_fixed_point.py{' --quick' if args.quick else ''}`; "
        f"{meta.get('cpu', '')}, load average {meta['load_after']}; `sepconv.correlate` with "
        "the 2-D kernel, mode reflect, the same dtype in and out, default threads; each arm "
        "the best of 3 x 2 alternating rounds.  *bound*: the plan's stated largest distance from "
        "the exact value before truncation; *one off*: outputs one above the truncated "
        "float64 result (never more than one; where that result lies within the bound below "
        "an integer); OpenCV: `cv2.sepFilter2D` (Gaussians) or "
        "`cv2.blur` (boxes), BORDER_REFLECT.",
        "",
        table,
    ]
    out = HERE / "results"
    name = "fixed_point_quick" if args.quick else "fixed_point"
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")
    write_json(out / f"{name}.json", {"meta": meta, "rows": rows})
    print("\n".join(lines))
    return {"rows": rows}


if __name__ == "__main__":
    main()
