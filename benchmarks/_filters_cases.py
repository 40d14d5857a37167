"""The filtering benchmark's cases and how each is timed.

Timing.  The machine is small and shared, so the contenders of a case are timed
*interleaved*: after one warm-up call (checked against scipy, then dropped; for a peer
with nothing to compile, a warm-up longer than ``reuse_first_above`` is the first sample)
and one probe call (the first sample), each contender's further timed calls are split into
``rounds`` blocks and the blocks alternate, so a burst of load from elsewhere hits every
contender alike.  Each contender gets at least ``min_runs`` timed calls and more until
``min_time`` seconds of them, but at most ``max_runs`` calls and no more than fit in
``max_time`` seconds including its untimed ``before`` calls (so a call of seconds is timed
once or twice).  A block of a call shorter than ``settle_below`` opens with an untimed
call: on 2 cores the first call after another library's (its OpenMP workers still
spinning, ours asleep) pays milliseconds for the hand-over that are not the filter's.
The *after torch op* cells skip that call on purpose: they measure exactly that hand-over.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import loadavg
from _filters_peers import (
    AFTER,
    CORRELATE,
    MEMCPY_NAMES,
    SEPCONV_NAMES,
    Cell,
    box_factor,
    compare,
    gaussian_factor,
    memcpy_cells,
    peer_cells,
    reference,
    sepconv_cells,
    torch_op,
)

import sepconv


@dataclass(frozen=True)
class Spec:
    """One row of the benchmark: a kernel on an image of one dtype and shape."""

    family: str  # "gaussian" or "box"
    dtype: str
    shape: tuple[int, int]
    ksize: int
    kornia: bool = False  # also time kornia and sepconv.torch (float32 only)
    memcpy: bool = False  # also time np.copyto of the same array

    @property
    def label(self) -> str:
        return f"{self.family} {self.dtype} {'x'.join(map(str, self.shape))} k={self.ksize}"


@dataclass
class Options:
    min_runs: int = 5
    min_time: float = 0.2
    max_time: float = 1.0
    max_runs: int = 100
    rounds: int = 5
    #: Calls shorter than this get an untimed call at the start of each block.
    settle_below: float = 0.05
    #: A first call of a peer (nothing to compile) longer than this is a sample.
    reuse_first_above: float = 0.02


def specs(
    shapes: Sequence[tuple[int, int]],
    dtypes: Sequence[str],
    gaussian: Sequence[int],
    box: Sequence[int],
    *,
    box_only: Sequence[tuple[int, int]] = (),
    kornia_shapes: Sequence[tuple[int, int]] = (),
) -> list[Spec]:
    """Every (shape, dtype, kernel) row; ``box_only`` shapes get the box kernels alone, and
    a 101-tap box beside them (the box's cost, flat in its length).

    np.copyto is timed in the first row of each (shape, dtype), so the bandwidth
    fraction of every row comes from a copy of that very array in the same run.
    """
    out = []
    for shape in sorted({*shapes, *box_only}, key=lambda s: (s[0] * s[1], s)):
        for dtype in dtypes:
            kinds = [("box", k) for k in box]
            if shape in shapes:
                kinds = [("gaussian", k) for k in gaussian] + kinds
            else:
                kinds += [("box", 101)] if 101 not in box else []
            for i, (family, k) in enumerate(kinds):
                out.append(
                    Spec(
                        family,
                        dtype,
                        shape,
                        k,
                        kornia=family == "gaussian" and shape in kornia_shapes,
                        memcpy=i == 0,
                    )
                )
    return out


def time_cells(
    cells: dict[str, Cell], opts: Options, check: Callable[[Cell, Any], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Time every cell interleaved (see the module docstring); one entry per cell."""
    entries: dict[str, dict[str, Any]] = {}
    estimate: dict[str, float] = {}
    cost: dict[str, float] = {}
    samples: dict[str, list[float]] = {}

    def call(cell: Cell) -> tuple[Any, float, float]:
        t0 = time.perf_counter()
        if cell.before is not None:
            cell.before()
        t1 = time.perf_counter()
        try:
            result = cell.fn()
        finally:
            t2 = time.perf_counter()
            if cell.after is not None:
                cell.after()
        return result, t2 - t1, time.perf_counter() - t0

    for name, cell in cells.items():
        try:
            result, first, cost[name] = call(cell)
            entry = {"first_call_s": first}
            entry.update(check(cell, result))
            del result
            if not cell.jit and first > opts.reuse_first_above:
                # Nothing to compile or plan: a call this long is a sample as it is.
                samples[name], estimate[name] = [first], first
            else:
                _, probe, cost[name] = call(cell)
                samples[name], estimate[name] = [probe], probe
        except Exception as exc:  # one broken contender must not end the run
            entry = {"skipped": f"error: {type(exc).__name__}: {exc}"}
            samples.pop(name, None)
            estimate.pop(name, None)
        entries[name] = entry
    planned = {}
    for name, t in estimate.items():
        n = max(opts.min_runs, math.ceil(opts.min_time / max(t, 1e-9)))
        fits = math.floor(opts.max_time / max(cost[name], 1e-9))
        planned[name] = max(0, min(n, opts.max_runs, max(1, fits)) - len(samples[name]))
    blocks = {
        name: [n * (r + 1) // opts.rounds - n * r // opts.rounds for r in range(opts.rounds)]
        for name, n in planned.items()
    }
    for r in range(opts.rounds):
        for name in planned:
            cell, size = cells[name], blocks[name][r]
            if size and cell.settle and estimate[name] < opts.settle_below:
                call(cell)
            for _ in range(size):
                samples[name].append(call(cell)[1])
    for name, s in samples.items():
        q = statistics.quantiles(s, n=4) if len(s) > 1 else [s[0]] * 3
        entries[name].update(
            {"median_s": statistics.median(s), "min_s": min(s), "q1_s": q[0], "q3_s": q[2]}
        )
        entries[name]["runs"] = len(s)
    return entries


class Runner:
    """Builds the contenders of each row, times them and keeps the rows."""

    def __init__(self, opts: Options, *, torch_between: bool = True) -> None:
        self.opts = opts
        self.rng = np.random.default_rng(2024)
        self.default_threads = sepconv.get_num_threads()
        self.op = torch_op() if torch_between else None
        self.copy_s: dict[tuple[tuple[int, int], str], float] = {}
        self.cases: list[dict[str, Any]] = []

    def image(self, spec: Spec) -> np.ndarray:
        if spec.dtype == "uint8":
            return self.rng.integers(0, 256, size=spec.shape, dtype=np.uint8)
        return self.rng.random(spec.shape, dtype=np.float32)

    def run(self, spec: Spec) -> dict[str, Any]:
        start = time.perf_counter()
        x = self.image(spec)
        if spec.family == "gaussian":
            sigma, w = gaussian_factor(spec.ksize)
            kernel = f"gaussian sigma={sigma:.2f} radius={spec.ksize // 2}"
        else:
            w, kernel = box_factor(spec.ksize), f"box (mean) of {spec.ksize}"
        cells = sepconv_cells(x, w, spec.family, self.default_threads, self.op)
        cells.update(peer_cells(x, w, spec.family, self.op, with_kornia=spec.kornia))
        if spec.memcpy:
            cells.update(memcpy_cells(x))
        exact: dict[str, np.ndarray] = {"reflect": reference(x, w, "reflect")}

        def check(cell: Cell, result: Any) -> dict[str, Any]:
            if cell.check is None:
                return {}
            if cell.check not in exact:
                exact[cell.check] = reference(x, w, cell.check)
            return compare(result, exact[cell.check])

        print(f"  {spec.label:<34}", end="", flush=True)
        contenders = time_cells(cells, self.opts, check)
        exact.clear()  # the float64 references of a 4096x8192 row are 256 MiB each
        key = (spec.shape, spec.dtype)
        copies = [
            contenders[n]["median_s"] for n in MEMCPY_NAMES if "median_s" in contenders.get(n, {})
        ]
        if copies:
            self.copy_s[key] = min(copies)
        for entry in contenders.values():
            if "median_s" in entry and key in self.copy_s:
                # The filter reads and writes the same bytes as the copy: this is the
                # fraction of the copy's bandwidth it reaches.
                entry["memcpy_fraction"] = self.copy_s[key] / entry["median_s"]
        case = {
            "group": spec.family,
            "family": spec.family,
            "dtype": spec.dtype,
            "shape": list(spec.shape),
            "ksize": spec.ksize,
            "kernel": kernel,
            "mode": "reflect",
            "plan": plan_text(x, w),
            "contenders": contenders,
            "primary": CORRELATE if "median_s" in contenders.get(CORRELATE, {}) else None,
            "ratios": ratios(contenders),
            "loadavg": loadavg(),
            "row_wall_s": time.perf_counter() - start,
        }
        print(f" {case['row_wall_s']:5.1f} s", flush=True)
        self.cases.append(case)
        return case


def plan_text(x: np.ndarray, w: np.ndarray) -> str:
    try:
        return str(sepconv.plan(x.shape, np.outer(w, w), dtype=x.dtype, mode="reflect"))
    except Exception as exc:  # the plan is informative only; never fail the benchmark
        return f"plan failed: {type(exc).__name__}: {exc}"


def ratios(contenders: dict[str, Any]) -> dict[str, dict[str, float]]:
    """sepconv time / peer time for each sepconv variant and each timed peer (< 1: faster).

    A variant timed after a torch op is compared only with peers timed the same way, and
    the others only with peers that were not.
    """
    timed = {k: v["median_s"] for k, v in contenders.items() if "median_s" in v}
    return {
        mine: {
            peer: timed[mine] / t
            for peer, t in timed.items()
            if peer not in SEPCONV_NAMES and (AFTER in peer) == (AFTER in mine)
        }
        for mine in SEPCONV_NAMES
        if mine in timed
    }


# --------------------------------------------------------------------------- first call

FIRST_CALL_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import sepconv
out = {"import_s": time.perf_counter() - t0}
rng = np.random.default_rng(0)
g = sepconv.kernels.gaussian(1.4, radius=3)
b = np.full(31, 1 / 31)
if sys.argv[1:] == ["numba"]:
    # Numba's own one-time start: the first call of sepconv's smallest cached function
    from sepconv._engine import address_of
    t = time.perf_counter(); address_of(np.zeros(1))
    out["numba_first_call_s"] = time.perf_counter() - t
    # then the first filter: sepconv's own share of a first call (its kernels, its plan)
    x = rng.random((256, 256), dtype=np.float32)
    t = time.perf_counter(); sepconv.correlate(x, np.outer(g, g))
    out["after_numba_s"] = time.perf_counter() - t
    print(json.dumps(out)); sys.exit()
for dtype in ("float32", "uint8"):
    x = (rng.random((256, 256), dtype=np.float32) if dtype == "float32"
         else rng.integers(0, 256, (256, 256), dtype=np.uint8))
    for family, w in (("gaussian", g), ("box", b)):
        k = np.outer(w, w)
        calls = []
        for _ in range(8 if not out.get("warmup_s") else 2):
            t = time.perf_counter(); sepconv.correlate(x, k); calls.append(time.perf_counter() - t)
        if "warmup_s" not in out:  # the first kind's calls 1..8: when the speed settles
            out["warmup_s"] = calls
            try:  # OpenCV's calls 1..8 on the same image, after sepconv's: its caches cool too
                import cv2
                cv = []
                for _ in range(8):
                    t = time.perf_counter()
                    cv2.sepFilter2D(x, -1, w, w, borderType=cv2.BORDER_REFLECT)
                    cv.append(time.perf_counter() - t)
                out["cv2_warmup_s"] = cv
            except ImportError:
                pass
        out[f"{family} {dtype}"] = {"first_s": calls[0], "second_s": calls[1]}
print(json.dumps(out))
"""
#: The order the fresh interpreter calls them in; later ones reuse what earlier ones compiled.
FIRST_CALL_KEYS = ("gaussian float32", "box float32", "gaussian uint8", "box uint8")


def first_call_latency(runs: Sequence[str]) -> dict[str, Any]:
    """Import and the first ``sepconv.correlate`` calls (256^2) in fresh interpreters.

    ``cold``: an empty ``NUMBA_CACHE_DIR`` (everything compiles); ``warm``: the same
    directory again (loaded from Numba's on-disk cache), with calls 1 to 8 of the first kind
    (``warmup_s``: when the speed settles); ``numba`` (after ``warm``): the first call of
    sepconv's smallest cached function alone, Numba's own one-time start that every first
    call includes, then the first Gaussian (``after_numba_s``: sepconv's own share of a
    first call); ``default``: the cache where the package keeps it, whatever earlier runs
    left.
    """
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sepconv-numba-cache-") as cache:
        for run in [*runs, "numba"] if "warm" in runs else runs:
            env = dict(os.environ)
            if run in ("cold", "warm", "numba"):
                env["NUMBA_CACHE_DIR"] = cache
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", FIRST_CALL_SCRIPT, *(["numba"] if run == "numba" else [])],
                capture_output=True,
                text=True,
                env=env,
                timeout=900,
            )
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                out[run] = {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
                continue
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            data["process_wall_s"] = wall
            out[run] = data
    return out
