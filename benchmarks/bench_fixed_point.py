"""What fixed-point arithmetic would buy the fast policy on uint8 data (issues 18 and 19).

One vertical pass of a 9-tap Gaussian over 9 rows of 4096 samples, one thread, three
arithmetics side by side in one run:

* float32 rows and fused multiply-adds with folded taps (the fast policy today);
* int32 sums of uint16 rows (a horizontal pass's output kept with 8 fractional bits,
  16-bit weights): the same 16 lanes per AVX-512 vector as float32;
* uint16 sums of uint8 rows with 8-bit weights summing to 256 (OpenCV's bit-exact
  uint8 Gaussian): 32 lanes per vector.

Writes ``results/fixed_point.md`` and ``.json``.  Run: ``python benchmarks/bench_fixed_point.py``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from numba import njit

N = 4096
REPS = 20000


@njit(nogil=True, fastmath={"contract"})
def _float32(out, r, w, n):
    for i in range(n):
        out[i] = (
            w[4] * r[4, i]
            + w[3] * (r[3, i] + r[5, i])
            + w[2] * (r[2, i] + r[6, i])
            + w[1] * (r[1, i] + r[7, i])
            + w[0] * (r[0, i] + r[8, i])
        )


@njit(nogil=True)
def _int32(out, r, w, n):
    for i in range(n):
        s = (
            np.int32(w[4]) * np.int32(r[4, i])
            + np.int32(w[3]) * (np.int32(r[3, i]) + np.int32(r[5, i]))
            + np.int32(w[2]) * (np.int32(r[2, i]) + np.int32(r[6, i]))
            + np.int32(w[1]) * (np.int32(r[1, i]) + np.int32(r[7, i]))
            + np.int32(w[0]) * (np.int32(r[0, i]) + np.int32(r[8, i]))
        )
        out[i] = np.uint8((s + np.int32(1 << 23)) >> 24)


@njit(nogil=True)
def _uint16(out, r, w, n):
    for i in range(n):
        s = (
            np.uint16(w[4]) * np.uint16(r[4, i])
            + np.uint16(w[3]) * (np.uint16(r[3, i]) + np.uint16(r[5, i]))
            + np.uint16(w[2]) * (np.uint16(r[2, i]) + np.uint16(r[6, i]))
            + np.uint16(w[1]) * (np.uint16(r[1, i]) + np.uint16(r[7, i]))
            + np.uint16(w[0]) * (np.uint16(r[0, i]) + np.uint16(r[8, i]))
        )
        out[i] = np.uint8((s + np.uint16(128)) >> np.uint16(8))


def _repeat(kernel):
    @njit(nogil=True)
    def run(out, r, w, n, reps):
        for _ in range(reps):
            kernel(out, r, w, n)

    return run


def main() -> None:
    rng = np.random.default_rng(0)
    g = np.exp(-0.5 * np.arange(-4, 5) ** 2)
    g /= g.sum()
    half = g[:5]
    cases = [
        ("float32 rows, FMA (the fast policy)", _float32,
         rng.random((9, N), np.float32), np.empty(N, np.float32), half.astype(np.float32)),
        ("int32 sums of uint16 rows", _int32,
         rng.integers(0, 65281, (9, N)).astype(np.uint16), np.empty(N, np.uint8),
         np.round(half * 65536).astype(np.int32)),
        ("uint16 sums of uint8 rows (8-bit weights)", _uint16,
         rng.integers(0, 256, (9, N)).astype(np.uint8), np.empty(N, np.uint8),
         np.round(half * 256).astype(np.uint16)),
    ]  # fmt: skip
    runs = [(name, _repeat(k), r, o, w) for name, k, r, o, w in cases]
    for _, run, r, o, w in runs:
        run(o, r, w, N, 10)  # compile
    best = {name: float("inf") for name, *_ in runs}
    for _ in range(7):  # interleaved rounds
        for name, run, r, o, w in runs:
            t = time.perf_counter()
            run(o, r, w, N, REPS)
            best[name] = min(best[name], (time.perf_counter() - t) / REPS / N)
    ref = best[runs[0][0]]
    rows = [
        {"arithmetic": n, "ps_per_output": t * 1e12, "vs_float32": t / ref} for n, t in best.items()
    ]
    load = os.getloadavg()
    lines = [
        "# Fixed point for uint8: one 9-tap vertical pass, 4096 wide, one thread",
        "",
        f"{platform.processor() or platform.machine()}, load average {load[0]:.2f}; "
        "best of 7 interleaved rounds.",
        "",
        "| arithmetic | ps per output | ÷ float32 |",
        "|:---|---:|---:|",
        *(
            f"| {r['arithmetic']} | {r['ps_per_output']:.1f} | {r['vs_float32']:.2f} |"
            for r in rows
        ),
    ]
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "fixed_point.md").write_text("\n".join(lines) + "\n")
    (out / "fixed_point.json").write_text(json.dumps({"rows": rows, "load": load}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
