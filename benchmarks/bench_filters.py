"""Filtering speed: sepconv against OpenCV, scipy.ndimage, PyTorch and kornia, in one run.

Run from the repository root::

    python benchmarks/bench_filters.py            # full run, a few minutes
    python benchmarks/bench_filters.py --quick    # small sizes, under a minute

The full run writes ``benchmarks/results/filters.json`` and ``filters.md``; ``--quick``
writes ``filters_quick.json`` / ``.md`` so it never replaces the full table.

What is timed (all calls allocate their output; medians of interleaved rounds):

* 2-D float32 and uint8 images (512^2, 4096^2), Gaussian kernels of size 3, 7, 15, 31,
  scipy's ``mode="reflect"``: ``sepconv.sepfilter`` and ``sepconv.correlate``;
  ``cv2.sepFilter2D`` and ``cv2.filter2D`` with ``BORDER_REFLECT`` (the same rule);
  ``scipy.ndimage.correlate`` (dense 2-D kernel) and ``correlate1d`` chained per axis;
  ``torch.nn.functional.conv2d`` as two 1-D passes; ``kornia.filters.filter2d_separable``.
* a 256^3 float32 volume: sepconv against ``correlate1d`` chained over three axes,
  ``gaussian_filter`` and the dense 3-D ``correlate``.
* a non-separable 15x15 disk (mean) kernel: sepconv ``method="lowrank", rtol=1e-2``
  and the exact ``auto`` plan against ``cv2.filter2D`` and ``scipy.ndimage.correlate``.

Border rules.  scipy's ``reflect`` (``dcba|abcd|dcba``) is OpenCV's ``BORDER_REFLECT``.
PyTorch's ``F.pad(mode="reflect")`` and kornia's ``border_type="reflect"`` are scipy's
``mirror`` (``dcb|abcd|cba``, edge not repeated) and PyTorch has no ``symmetric`` pad, so
the torch contender builds scipy's ``reflect`` padding itself from flipped edge slices
concatenated around the image (included in its time), while kornia runs with its own
``reflect`` and is checked against scipy's ``mirror``.  PyTorch and kornia have no integer
convolution: on uint8 they convert to float32 and back (included in their time),
truncating like scipy.

Correctness.  Every result is compared with scipy's, computed with float64
intermediates: ``max |diff|`` for float32; for uint8 the largest difference and how many
pixels differ (scipy truncates to the integer type, OpenCV rounds to nearest).

Bandwidth.  ``(input bytes + output bytes) / time`` as a fraction of this machine's
memory-copy bandwidth, ``np.copyto`` of 256 MiB measured in the same run (read + write).

Threads: OpenCV and PyTorch are limited to 2 threads (``cv2.setNumThreads(2)``,
``torch.set_num_threads(2)``); sepconv uses Numba's default (all cores); scipy is
single-threaded.  The machine may be shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from _common import (
    fmt_ms,
    loadavg,
    machine_info,
    markdown_table,
    measure,
    memcpy_bandwidth,
    write_json,
)

from sepconv import kernels, lowrank

try:  # the filtering engine (issue 4); the benchmark runs the peers alone without it
    from sepconv.filters import correlate as sc_correlate
    from sepconv.filters import plan as sc_plan
    from sepconv.filters import sepfilter as sc_sepfilter
except ImportError as exc:  # pragma: no cover - depends on the engine being present
    sc_correlate = sc_sepfilter = sc_plan = None
    SEPCONV_MISSING = f"sepconv.filters not importable ({exc})"
else:
    SEPCONV_MISSING = None

try:
    import cv2

    cv2.setNumThreads(2)
except ImportError:  # pragma: no cover
    cv2 = None
try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)
except ImportError:  # pragma: no cover
    torch = F = None
try:
    import kornia
except ImportError:  # pragma: no cover
    kornia = None

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_SIZE = 4096
TARGET_VOLUME = 256
DISK_RADIUS = 7  # a 15x15 disk
#: Timed calls of each contender come in this many alternating blocks, and a block of a
#: call shorter than SETTLE_BELOW seconds starts with an untimed call: on 2 shared cores the
#: first call after another library's (its OpenMP workers still spinning, ours asleep)
#: measured 0.3 ms -> 11 ms for a 512^2 sepFilter-sized job, noise that is not the filter's.
ROUNDS = 5
SETTLE_BELOW = 0.2

SEPFILTER = "sepconv.sepfilter"
CORRELATE = "sepconv.correlate"
LOWRANK = "sepconv lowrank"
EXACT = "sepconv auto"
SEPCONV_NAMES = (SEPFILTER, CORRELATE, LOWRANK, EXACT)

PEERS_2D = (
    "cv2.sepFilter2D",
    "cv2.filter2D",
    "scipy.correlate",
    "scipy.correlate1d x2",
    "torch conv2d x2",
    "kornia.filter2d_separable",
)
PEERS_3D = ("scipy.correlate1d x3", "scipy.gaussian_filter", "scipy.correlate")
PEERS_DISK = ("cv2.filter2D", "scipy.correlate")

#: Reference results per check name: (float64 result, result in the output dtype, label).
Checks = dict[str, tuple[np.ndarray, np.ndarray, str]]


# --------------------------------------------------------------------------- kernels


def gaussian_factor(size: int) -> tuple[float, np.ndarray]:
    """The 1-D Gaussian of ``size`` taps, sigma from OpenCV's ``getGaussianKernel`` rule.

    ``radius=`` fixes the size exactly, so ``scipy.ndimage.gaussian_filter(x, sigma,
    radius=r)`` uses the very same weights.
    """
    radius = (size - 1) // 2
    sigma = 0.3 * (radius - 1) + 0.8
    return sigma, kernels.gaussian(sigma, radius=radius)


def disk_kernel() -> np.ndarray:
    disk = kernels.disk(DISK_RADIUS).astype(np.float64)
    return disk / disk.sum()


# --------------------------------------------------------------------------- references


def reference(x: np.ndarray, factors: Sequence[np.ndarray], mode: str) -> np.ndarray:
    """scipy's separable result with float64 intermediates (exact up to float64 rounding)."""
    out = x
    for axis, w in enumerate(factors):
        out = ndi.correlate1d(out, w, axis=axis, mode=mode, output=np.float64)
    return out


def to_dtype_like_scipy(exact: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """scipy.ndimage's conversion of a float result to an integer output: truncation."""
    if np.dtype(dtype).kind == "f":
        return exact.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(np.trunc(exact), info.min, info.max).astype(dtype)


def compare(result: Any, exact: np.ndarray, exact_cast: np.ndarray) -> dict[str, Any]:
    """Max |diff| against scipy; for integer outputs also the count of differing pixels."""
    result = np.asarray(result)
    if result.shape != exact.shape:
        return {"max_abs_diff": None, "error": f"shape {result.shape} != {exact.shape}"}
    if result.dtype.kind in "iu":
        diff = np.abs(result.astype(np.int64) - exact_cast.astype(np.int64))
        differs = diff != 0
        # How far the exact values of the differing pixels are from an integer (where scipy's
        # truncation flips): tiny means "only on rounding boundaries".
        off = np.abs(exact[differs] - np.round(exact[differs]))
        return {
            "max_abs_diff": int(diff.max()),
            "pixels_differing": int(np.count_nonzero(differs)),
            "differing_max_distance_to_integer": float(off.max()) if off.size else None,
        }
    return {"max_abs_diff": float(np.max(np.abs(result.astype(np.float64) - exact)))}


# --------------------------------------------------------------------------- contenders


def torch_symmetric_pad(t: Any, radii: Sequence[int]) -> Any:
    """scipy ``reflect`` padding (edge repeated) of the last ``len(radii)`` dims.

    ``F.pad(mode="reflect")`` is scipy's ``mirror``; PyTorch has no ``symmetric`` mode,
    so the flipped edge slices are concatenated (valid while radius <= size).
    """
    for dim, r in zip(range(-len(radii), 0), radii):
        if r == 0:
            continue
        n = t.shape[dim]
        before = t.narrow(dim, 0, r).flip(dim)
        after = t.narrow(dim, n - r, r).flip(dim)
        t = torch.cat([before, t, after], dim=dim)
    return t


def _from_torch(out: Any, dtype: np.dtype) -> np.ndarray:
    if np.dtype(dtype).kind == "f":
        return out.numpy()
    info = np.iinfo(dtype)
    # Tensor.to(uint8) truncates toward zero, like scipy's conversion.
    return out.clamp_(info.min, info.max).to(getattr(torch, np.dtype(dtype).name)).numpy()


def torch_sep2d(x: np.ndarray, w: np.ndarray) -> Callable[[], np.ndarray]:
    k = w.size
    r = k // 2
    wx = torch.from_numpy(w.astype(np.float32)).reshape(1, 1, 1, k)
    wy = wx.reshape(1, 1, k, 1)

    def run() -> np.ndarray:
        t = torch.from_numpy(x)[None, None]
        if not t.is_floating_point():
            t = t.float()
        t = torch_symmetric_pad(t, (r, r))
        t = F.conv2d(t, wx)  # conv2d is cross-correlation, like scipy.ndimage.correlate
        t = F.conv2d(t, wy)
        return _from_torch(t[0, 0], x.dtype)

    return run


def kornia_sep2d(x: np.ndarray, w: np.ndarray) -> Callable[[], np.ndarray]:
    kw = torch.from_numpy(w.astype(np.float32))[None]

    def run() -> np.ndarray:
        t = torch.from_numpy(x)[None, None]
        if not t.is_floating_point():
            t = t.float()
        out = kornia.filters.filter2d_separable(t, kw, kw, border_type="reflect")
        return _from_torch(out[0, 0], x.dtype)

    return run


def scipy_chain(x: np.ndarray, w: np.ndarray, ndim: int) -> Callable[[], np.ndarray]:
    """``correlate1d`` along each axis.  Integer input goes through a float32
    intermediate (an integer one would round twice and differ from scipy's 2-D result)."""
    work = x.dtype if x.dtype.kind == "f" else np.float32

    def run() -> np.ndarray:
        out = x
        for axis in range(ndim):
            last = axis == ndim - 1
            out = ndi.correlate1d(
                out, w, axis=axis, mode="reflect", output=x.dtype if last else work
            )
        return out

    return run


class Calibration:
    """Seconds per (voxel x tap) of a dense contender, to skip calls that would take minutes."""

    def __init__(self) -> None:
        self.rate: dict[str, float] = {}

    def record(self, name: str, seconds: float, work: float) -> None:
        self.rate.setdefault(name, seconds / work)

    def estimate(self, name: str, work: float) -> float | None:
        rate = self.rate.get(name)
        return None if rate is None else rate * work


def plan_text(shape: tuple[int, ...], weights: np.ndarray, dtype: np.dtype, **kwargs: Any) -> str:
    if sc_plan is None:
        return "-"
    params = inspect.signature(sc_plan).parameters
    if "dtype" in params:
        kwargs["dtype"] = dtype
    try:
        return str(sc_plan(shape, weights, mode="reflect", **kwargs))
    except Exception as exc:  # the plan is informative only; never fail the benchmark
        return f"plan failed: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- cases


class Bench:
    def __init__(self, args: argparse.Namespace, bandwidth: float) -> None:
        self.args = args
        self.bandwidth = bandwidth
        self.calibration = Calibration()
        self.rng = np.random.default_rng(2024)
        self.cases: list[dict[str, Any]] = []
        self.first_calls: dict[str, float] = {}

    def image(self, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if dtype == "uint8":
            return self.rng.integers(0, 256, size=shape, dtype=np.uint8)
        return self.rng.random(shape, dtype=np.float32)

    def dense(self, name: str, funcs: dict, skipped: dict, fn: Callable, work: float) -> None:
        estimate = self.calibration.estimate(name, work)
        if estimate is not None and estimate > self.args.max_call:
            skipped[name] = f"skipped: about {estimate:.0f} s per call (estimated)"
        else:
            funcs[name] = fn

    def timed(
        self,
        case: dict[str, Any],
        funcs: dict[str, Callable[[], Any]],
        skipped: dict[str, str],
        checks: Checks | Callable[[dict[str, Any]], Checks],
        default_check: str,
        dense_work: dict[str, float],
        primary: str,
        x: np.ndarray,
    ) -> None:
        timings, results = measure(
            funcs,
            min_runs=self.args.min_runs,
            min_time=self.args.min_time,
            max_time=self.args.max_time,
            jit=SEPCONV_NAMES,
            rounds=ROUNDS,
            settle_below=SETTLE_BELOW,
            catch=True,
        )
        for name, result in results.items():
            if isinstance(result, Exception):  # one broken contender must not end the run
                skipped[name] = f"error: {type(result).__name__}: {result}"
        if callable(checks):
            checks = checks(results)
        contenders: dict[str, Any] = {}
        for name, timing in timings.items():
            entry = timing.to_dict()
            exact, cast, label = checks[checks_key(name, checks, default_check)]
            entry.update(compare(results[name], exact, cast))
            entry["checked_against"] = label
            moved = x.nbytes + np.asarray(results[name]).nbytes
            entry["GBps"] = moved / timing.median_s / 1e9
            entry["memcpy_fraction"] = entry["GBps"] * 1e9 / self.bandwidth
            contenders[name] = entry
            if name in dense_work:
                self.calibration.record(name, timing.median_s, dense_work[name])
            if name in SEPCONV_NAMES:
                # The first call of each sepconv variant per dtype/ndim in this process:
                # compilation, or loading from Numba's on-disk cache.
                label = f"{name} {case['dtype']} {len(case['shape'])}-D"
                self.first_calls.setdefault(label, timing.first_s)
        for name, reason in skipped.items():
            contenders[name] = {"skipped": reason}
        case["contenders"] = contenders
        case["primary"] = primary if primary in timings else None
        case["ratios"] = ratios(contenders)
        case["loadavg"] = loadavg()
        del results

    def run_2d(self, size: int, dtype: str, ksize: int) -> None:
        x = self.image((size, size), dtype)
        sigma, w = gaussian_factor(ksize)
        K = np.outer(w, w)
        case = {
            "group": "2d",
            "dtype": dtype,
            "shape": list(x.shape),
            "ksize": ksize,
            "kernel": f"gaussian sigma={sigma:.2f} radius={ksize // 2}",
            "mode": "reflect",
        }
        funcs: dict[str, Callable[[], Any]] = {}
        skipped: dict[str, str] = {}
        if SEPCONV_MISSING is None:
            funcs[SEPFILTER] = lambda: sc_sepfilter(x, [w, w], mode="reflect")
            funcs[CORRELATE] = lambda: sc_correlate(x, K, mode="reflect")
            case["plan"] = plan_text(x.shape, K, x.dtype)
        else:
            skipped[SEPFILTER] = skipped[CORRELATE] = SEPCONV_MISSING
        if cv2 is not None:
            funcs["cv2.sepFilter2D"] = lambda: cv2.sepFilter2D(
                x, -1, w, w, borderType=cv2.BORDER_REFLECT
            )
            funcs["cv2.filter2D"] = lambda: cv2.filter2D(x, -1, K, borderType=cv2.BORDER_REFLECT)
        work = float(x.size * K.size)
        self.dense(
            "scipy.correlate", funcs, skipped, lambda: ndi.correlate(x, K, mode="reflect"), work
        )
        funcs["scipy.correlate1d x2"] = scipy_chain(x, w, 2)
        if torch is not None:
            funcs["torch conv2d x2"] = torch_sep2d(x, w)
        if kornia is not None:
            funcs["kornia.filter2d_separable"] = kornia_sep2d(x, w)
        checks = {}
        exact = reference(x, [w, w], "reflect")
        checks["reflect"] = (exact, to_dtype_like_scipy(exact, x.dtype), "scipy reflect")
        if kornia is not None:
            exact_m = reference(x, [w, w], "mirror")
            checks["kornia.filter2d_separable"] = (
                exact_m,
                to_dtype_like_scipy(exact_m, x.dtype),
                "scipy mirror (kornia's reflect)",
            )
        self.progress(case)
        self.timed(case, funcs, skipped, checks, "reflect", {"scipy.correlate": work}, SEPFILTER, x)
        self.cases.append(case)

    def run_3d(self, size: int, ksize: int) -> None:
        x = self.image((size,) * 3, "float32")
        sigma, w = gaussian_factor(ksize)
        K = w[:, None, None] * w[None, :, None] * w[None, None, :]
        case = {
            "group": "3d",
            "dtype": "float32",
            "shape": list(x.shape),
            "ksize": ksize,
            "kernel": f"gaussian sigma={sigma:.2f} radius={ksize // 2}",
            "mode": "reflect",
        }
        funcs: dict[str, Callable[[], Any]] = {}
        skipped: dict[str, str] = {}
        if SEPCONV_MISSING is None:
            funcs[SEPFILTER] = lambda: sc_sepfilter(x, [w, w, w], mode="reflect")
            funcs[CORRELATE] = lambda: sc_correlate(x, K, mode="reflect")
            case["plan"] = plan_text(x.shape, K, x.dtype)
        else:
            skipped[SEPFILTER] = skipped[CORRELATE] = SEPCONV_MISSING
        funcs["scipy.correlate1d x3"] = scipy_chain(x, w, 3)
        funcs["scipy.gaussian_filter"] = lambda: ndi.gaussian_filter(
            x, sigma, mode="reflect", radius=ksize // 2
        )
        work = float(x.size * K.size)
        self.dense(
            "scipy.correlate", funcs, skipped, lambda: ndi.correlate(x, K, mode="reflect"), work
        )
        exact = reference(x, [w, w, w], "reflect")
        checks = {"reflect": (exact, exact.astype(np.float32), "scipy reflect")}
        self.progress(case)
        self.timed(case, funcs, skipped, checks, "reflect", {"scipy.correlate": work}, SEPFILTER, x)
        self.cases.append(case)

    def run_disk(self, size: int) -> None:
        x = self.image((size, size), "float32")
        D = disk_kernel()
        approx = lowrank(D, rtol=self.args.rtol)
        case = {
            "group": "disk",
            "dtype": "float32",
            "shape": list(x.shape),
            "ksize": D.shape[0],
            "kernel": f"disk radius={DISK_RADIUS} (mean, sums to 1)",
            "mode": "reflect",
            "rtol": self.args.rtol,
            "lowrank_rank": approx.rank,
            "max_abs_error_bound": approx.max_abs_error_bound,
            "error_bound": approx.max_abs_error_bound * float(np.max(np.abs(x))),
        }
        funcs: dict[str, Callable[[], Any]] = {}
        skipped: dict[str, str] = {}
        if SEPCONV_MISSING is None:
            funcs[LOWRANK] = lambda: sc_correlate(
                x, D, mode="reflect", method="lowrank", rtol=self.args.rtol
            )
            funcs[EXACT] = lambda: sc_correlate(x, D, mode="reflect")
            case["plan"] = plan_text(x.shape, D, x.dtype, method="lowrank", rtol=self.args.rtol)
            case["plan_exact"] = plan_text(x.shape, D, x.dtype)
        else:
            skipped[LOWRANK] = skipped[EXACT] = SEPCONV_MISSING
        if cv2 is not None:
            funcs["cv2.filter2D"] = lambda: cv2.filter2D(x, -1, D, borderType=cv2.BORDER_REFLECT)
        funcs["scipy.correlate"] = lambda: ndi.correlate(x, D, mode="reflect")
        self.progress(case)

        def checks(results: dict[str, Any]) -> Checks:
            # scipy's own timed output is the reference: it sums in float64 and rounds once
            # to float32, far below the low-rank bound (a second 225-tap pass would cost
            # seconds on 4096^2).
            ref = results["scipy.correlate"]
            return {"reflect": (ref.astype(np.float64), ref, "scipy reflect (exact kernel)")}

        self.timed(case, funcs, skipped, checks, "reflect", {}, LOWRANK, x)
        low = case["contenders"].get(LOWRANK, {})
        if low.get("max_abs_diff") is not None:
            # float32 rounding of the inputs/outputs on top of the analytic bound
            slack = 1e-5 * float(np.abs(D).sum()) * float(np.max(np.abs(x)))
            case["within_bound"] = bool(low["max_abs_diff"] <= case["error_bound"] + slack)
        self.cases.append(case)

    def progress(self, case: dict[str, Any]) -> None:
        shape = "x".join(map(str, case["shape"]))
        print(f"  {case['group']:4} {case['dtype']:7} {shape:>14} k={case['ksize']:<3}", flush=True)


def checks_key(name: str, checks: dict, default: str) -> str:
    return name if name in checks else default


def ratios(contenders: dict[str, Any]) -> dict[str, dict[str, float]]:
    """sepconv time / peer time for each sepconv variant and each timed peer (< 1: faster)."""
    out: dict[str, dict[str, float]] = {}
    timed = {k: v["median_s"] for k, v in contenders.items() if "median_s" in v}
    for mine in SEPCONV_NAMES:
        if mine not in timed:
            continue
        out[mine] = {
            peer: timed[mine] / t for peer, t in timed.items() if peer not in SEPCONV_NAMES
        }
    return out


# --------------------------------------------------------------------------- first call

FIRST_CALL_SCRIPT = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import sepconv
from sepconv.filters import correlate
out = {"import_s": time.perf_counter() - t0}
rng = np.random.default_rng(0)
w = sepconv.kernels.gaussian(1.4, radius=3)
K2, K3 = np.outer(w, w), w[:, None, None] * w[None, :, None] * w[None, None, :]
cases = {
    "float32 2-D": (rng.random((256, 256), dtype=np.float32), K2),
    "uint8 2-D": (rng.integers(0, 256, (256, 256), dtype=np.uint8), K2),
    "float32 3-D": (rng.random((32, 32, 32), dtype=np.float32), K3),
}
for name, (x, k) in cases.items():
    t = time.perf_counter(); correlate(x, k); first = time.perf_counter() - t
    t = time.perf_counter(); correlate(x, k); second = time.perf_counter() - t
    out[name] = {"first_s": first, "second_s": second}
print(json.dumps(out))
"""


def first_call_latency(kind: str) -> dict[str, Any]:
    """Import + first ``correlate`` per dtype/ndim in fresh interpreters.

    ``cold``: an empty ``NUMBA_CACHE_DIR`` (everything compiles); ``warm``: the same
    directory again (loaded from Numba's on-disk cache); ``default``: the cache where
    the package keeps it (whatever earlier runs left).
    """
    if SEPCONV_MISSING is not None:
        return {"skipped": SEPCONV_MISSING}
    out: dict[str, Any] = {}
    runs = ["default"] if kind == "default" else ["cold", "warm", "default"]
    with tempfile.TemporaryDirectory(prefix="sepconv-numba-cache-") as cache:
        for run in runs:
            env = dict(os.environ)
            if run in ("cold", "warm"):
                env["NUMBA_CACHE_DIR"] = cache
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", FIRST_CALL_SCRIPT],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                out[run] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            data["process_wall_s"] = wall
            out[run] = data
    return out


# --------------------------------------------------------------------------- targets


def evaluate_targets(cases: list[dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """The issue's targets on the largest sizes of this run, as ratios of medians.

    ``value_from_minima`` is the same ratio from the fastest call of each contender:
    on a shared machine it shows what load did to the medians.
    """
    targets: list[dict[str, Any]] = []
    note = "quick run: not the target size" if quick else ""

    def largest(group: str, dtype: str) -> list[dict[str, Any]]:
        sel = [c for c in cases if c["group"] == group and c["dtype"] == dtype]
        if not sel:
            return []
        top = max(c["shape"][0] for c in sel)
        return [c for c in sel if c["shape"][0] == top]

    def add(name, formula, limit, op, case, detail="", extra_ok=True) -> None:
        def value(stat: str) -> float | None:
            times = {k: v.get(stat) for k, v in case["contenders"].items()}
            try:
                return formula(times)
            except (TypeError, ZeroDivisionError):  # a contender missing or skipped
                return None

        v = value("median_s")
        met = None if v is None else bool(v <= limit if op == "<=" else v >= limit) and extra_ok
        targets.append(
            {
                "target": name,
                "case": f"{case['dtype']} {'x'.join(map(str, case['shape']))} k={case['ksize']}",
                "value": v,
                "value_from_minima": value("min_s"),
                "limit": f"{op} {limit}",
                "met": met,
                "detail": (detail + ("; " if detail and note else "") + note).strip(),
            }
        )

    for case in largest("2d", "float32"):
        limit = 1.0 if case["ksize"] <= 7 else 0.67
        for mine in (SEPFILTER, CORRELATE):
            add(
                f"{mine} / cv2.sepFilter2D",
                lambda t, m=mine: t[m] / t["cv2.sepFilter2D"],
                limit,
                "<=",
                case,
            )
        add(
            "speed-up of sepconv.sepfilter over scipy correlate1d x2",
            lambda t: t["scipy.correlate1d x2"] / t[SEPFILTER],
            20,
            ">=",
            case,
        )
    for case in largest("3d", "float32"):
        add(
            "speed-up of sepconv.sepfilter over scipy (fastest of correlate1d x3, gaussian_filter)",
            lambda t: min(t["scipy.correlate1d x3"], t["scipy.gaussian_filter"]) / t[SEPFILTER],
            10,
            ">=",
            case,
        )
    for case in largest("2d", "uint8"):
        entry = case["contenders"].get(SEPFILTER, {})
        diff = entry.get("max_abs_diff")
        add(
            "uint8 sepconv.sepfilter / cv2.sepFilter2D, results exact",
            lambda t: t[SEPFILTER] / t["cv2.sepFilter2D"],
            1.5,
            "<=",
            case,
            f"max |diff| vs scipy {diff}, {entry.get('pixels_differing')} pixels differ, their "
            f"exact values within {entry.get('differing_max_distance_to_integer') or 0:.1e} "
            "of an integer",
            extra_ok=diff is not None and diff <= 1,
        )
    for case in largest("disk", "float32"):
        diff = case["contenders"].get(LOWRANK, {}).get("max_abs_diff")
        add(
            "speed-up of sepconv lowrank disk over cv2.filter2D, within error bound",
            lambda t: t["cv2.filter2D"] / t[LOWRANK],
            2,
            ">=",
            case,
            f"max |diff| {diff} vs bound {case['error_bound']:.3g} (rank {case['lowrank_rank']})",
            extra_ok=bool(case.get("within_bound")),
        )
    return targets


# --------------------------------------------------------------------------- output


def cell(entry: dict[str, Any] | None, ratio: float | None) -> str:
    if not entry:
        return "-"
    if "skipped" in entry:
        return "error" if entry["skipped"].startswith("error") else "skipped"
    text = fmt_ms(entry["median_s"])
    return f"{text} ({ratio:.2f})" if ratio is not None else text


def diff_cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("max_abs_diff") is None:
        return "-"
    d = entry["max_abs_diff"]
    if "pixels_differing" in entry:
        return f"{d} ({entry['pixels_differing']} px)"
    return f"{d:.1e}"


def markdown(data: dict[str, Any]) -> str:
    meta, cases = data["meta"], data["cases"]
    bw = data["memcpy"]["GBps"]
    lines = [
        "# Filtering benchmark",
        "",
        f"Measured {meta['date']} on {meta['cpu']} ({meta['logical_cpus']} logical CPUs), "
        f"load average {meta['loadavg_start']} at start, {meta['loadavg_end']} at end; "
        f"{'quick run' if meta['quick'] else 'full run'} in {meta['seconds']:.0f} s. "
        f"Command: `{meta['command']}`.",
        "",
        f"Times are medians in ms; in parentheses sepconv's time / the peer's time "
        f"(< 1: sepconv faster). BW: (input + output bytes) / time as a fraction of the "
        f"memory-copy bandwidth measured in the same run ({bw:.1f} GB/s, np.copyto). "
        "Threads: sepconv "
        f"{meta['threads']['numba']} (Numba layer {meta.get('numba_threading_layer')}), "
        f"OpenCV {meta['threads']['cv2']}, PyTorch {meta['threads']['torch']}, scipy 1. "
        f"Environment: {meta.get('env') or 'defaults'}.",
        "",
    ]
    for group, peers, title in (
        ("2d", PEERS_2D, "2-D images, Gaussian, mode reflect"),
        ("3d", PEERS_3D, "3-D volume, Gaussian, mode reflect"),
    ):
        sel = [c for c in cases if c["group"] == group]
        if not sel:
            continue
        lines += [f"## {title}", ""]
        headers = ["dtype", "shape", "k", SEPFILTER, "BW", CORRELATE, *peers]
        rows = []
        for c in sel:
            con = c["contenders"]
            r = c["ratios"].get(SEPFILTER, {})
            main = con.get(SEPFILTER, {})
            rows.append(
                [
                    c["dtype"],
                    "x".join(map(str, c["shape"])),
                    c["ksize"],
                    cell(main, None),
                    f"{main['memcpy_fraction']:.0%}" if "memcpy_fraction" in main else "-",
                    cell(con.get(CORRELATE), None),
                    *[cell(con.get(p), r.get(p)) for p in peers],
                ]
            )
        lines += [markdown_table(headers, rows), ""]
        lines += [f"Max |difference| from scipy ({title}; uint8: pixels differing):", ""]
        rows = [
            [c["dtype"], "x".join(map(str, c["shape"])), c["ksize"]]
            + [diff_cell(c["contenders"].get(p)) for p in (SEPFILTER, CORRELATE, *peers)]
            for c in sel
        ]
        lines += [markdown_table(["dtype", "shape", "k", SEPFILTER, CORRELATE, *peers], rows), ""]
    sel = [c for c in cases if c["group"] == "disk"]
    if sel:
        lines += ["## Non-separable 15x15 disk, float32, mode reflect", ""]
        headers = ["shape", "rank", LOWRANK, "max diff", "bound", EXACT, *PEERS_DISK]
        rows = []
        for c in sel:
            con, r = c["contenders"], c["ratios"].get(LOWRANK, {})
            rows.append(
                [
                    "x".join(map(str, c["shape"])),
                    c["lowrank_rank"],
                    cell(con.get(LOWRANK), None),
                    diff_cell(con.get(LOWRANK)),
                    f"{c['error_bound']:.2e}",
                    cell(con.get(EXACT), None),
                    *[cell(con.get(p), r.get(p)) for p in PEERS_DISK],
                ]
            )
        lines += [markdown_table(headers, rows), ""]
    plans = [(c, c.get("plan")) for c in cases if c.get("plan")]
    if plans:
        lines += ["## Plans chosen by sepconv", ""]
        seen = set()
        for c, p in plans:
            key = (c["group"], c["dtype"], c["ksize"])
            if key in seen:
                continue
            seen.add(key)
            lines += [f"- {c['group']} {c['dtype']} k={c['ksize']}: `{' / '.join(p.splitlines())}`"]
        lines += [""]
    fc = {k: v for k, v in data.get("first_call", {}).items() if k != "in_process"}
    if fc and "skipped" not in fc:
        lines += [
            "## First call (fresh interpreter)",
            "",
            "Import of sepconv, then the first and second `correlate` per dtype/ndim "
            "(256^2 images, 32^3 volume). cold: empty `NUMBA_CACHE_DIR` (compiles); warm: "
            "the same directory again (loads the on-disk cache); default: the package's "
            "own cache as found.",
            "",
        ]
        rows = []
        for run, d in fc.items():
            if "error" in d:
                rows.append([run, "error", d["error"], "", "", ""])
                continue
            rows.append(
                [run, f"{d['import_s']:.2f}"]
                + [
                    f"{d[k]['first_s']:.2f} / {d[k]['second_s'] * 1e3:.2f} ms"
                    for k in ("float32 2-D", "uint8 2-D", "float32 3-D")
                ]
                + [f"{d['process_wall_s']:.1f}"]
            )
        headers = [
            "Numba cache",
            "import s",
            "float32 2-D first s / second",
            "uint8 2-D",
            "float32 3-D",
            "process s",
        ]
        lines += [markdown_table(headers, rows), ""]
    in_process = data.get("first_call", {}).get("in_process")
    if in_process:
        lines += [
            "First call in the benchmark process (s): "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in in_process.items()),
            "",
        ]
    lines += [
        "## Targets",
        "",
        "Status is decided on ratios of medians; *from minima* is the same ratio from each "
        "contender's fastest call, to show how much load on the shared machine moved it.",
        "",
    ]
    rows = [
        [
            t["target"],
            t["case"],
            "-" if t["value"] is None else f"{t['value']:.2f}",
            "-" if t.get("value_from_minima") is None else f"{t['value_from_minima']:.2f}",
            t["limit"],
            {True: "met", False: "NOT met", None: "not measured"}[t["met"]],
            t["detail"],
        ]
        for t in data["targets"]
    ]
    lines += [
        markdown_table(
            ["target", "case", "value (medians)", "from minima", "limit", "status", "detail"], rows
        ),
        "",
    ]
    return "\n".join(lines)


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\nTargets:")
    for t in targets:
        status = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
        value = "-" if t["value"] is None else f"{t['value']:.3f}"
        print(f"  [{status:>12}] {t['target']} @ {t['case']}: {value} ({t['limit']}) {t['detail']}")


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and Markdown")
    p.add_argument("--sizes", type=int, nargs="+", help="2-D image sizes (default 512 4096)")
    p.add_argument("--kernels", type=int, nargs="+", help="kernel sizes (default 3 7 15 31)")
    p.add_argument("--dtypes", nargs="+", choices=["float32", "uint8"])
    p.add_argument("--volume", type=int, help="3-D volume edge (default 256; 0 skips)")
    p.add_argument("--disk-sizes", type=int, nargs="*", help="image sizes for the disk case")
    p.add_argument("--rtol", type=float, default=1e-2, help="lowrank tolerance (default 1e-2)")
    p.add_argument(
        "--first-call",
        choices=["full", "default", "none"],
        help="compile-latency subprocesses: cold+warm+default cache, default only, or none",
    )
    p.add_argument("--memcpy-mib", type=int, default=256, help="buffer of the bandwidth probe")
    p.add_argument("--min-runs", type=int, default=5)
    p.add_argument("--min-time", type=float, help="seconds of timed calls per contender")
    p.add_argument("--max-time", type=float, help="cap on seconds of timed calls per contender")
    p.add_argument("--max-call", type=float, help="skip dense scipy calls estimated longer")
    args = p.parse_args(argv)
    quick = args.quick
    args.sizes = args.sizes or ([512] if quick else [512, TARGET_SIZE])
    args.kernels = args.kernels or ([3, 15] if quick else [3, 7, 15, 31])
    args.dtypes = args.dtypes or ["float32", "uint8"]
    if args.volume is None:
        args.volume = 64 if quick else TARGET_VOLUME
    if args.disk_sizes is None:
        args.disk_sizes = [512] if quick else [512, TARGET_SIZE]
    args.first_call = args.first_call or ("default" if quick else "full")
    args.min_time = args.min_time if args.min_time is not None else (0.2 if quick else 1.0)
    args.max_time = args.max_time if args.max_time is not None else (2.0 if quick else 8.0)
    args.max_call = args.max_call if args.max_call is not None else (2.0 if quick else 12.0)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    start = time.perf_counter()
    meta = machine_info()
    meta["quick"] = args.quick
    meta["command"] = " ".join(["python", "benchmarks/bench_filters.py", *(argv or sys.argv[1:])])
    try:
        import numba

        numba_threads = numba.get_num_threads()
    except ImportError:  # pragma: no cover
        numba_threads = None
    meta["threads"] = {
        "numba": numba_threads,
        "cv2": cv2.getNumThreads() if cv2 is not None else None,
        "torch": torch.get_num_threads() if torch is not None else None,
    }
    meta["sepconv_filters"] = SEPCONV_MISSING or "available"
    print(f"sepconv filtering benchmark ({'quick' if args.quick else 'full'}), load {loadavg()}")
    first_call: dict[str, Any] = {}
    if args.first_call != "none":
        # Before this process touches sepconv, so "default" sees the cache as found.
        print("  first-call latency in fresh interpreters ...", flush=True)
        first_call = first_call_latency(args.first_call)
    memcpy = memcpy_bandwidth(args.memcpy_mib * 2**20)
    print(f"  memcpy bandwidth {memcpy['GBps']:.1f} GB/s (read + write)", flush=True)
    bench = Bench(args, memcpy["GBps"] * 1e9)
    for size in sorted(args.sizes):
        for dtype in args.dtypes:
            for k in args.kernels:
                bench.run_2d(size, dtype, k)
    if args.volume:
        for k in args.kernels:
            bench.run_3d(args.volume, k)
    for size in sorted(args.disk_sizes):
        bench.run_disk(size)
    try:
        import numba

        meta["numba_threading_layer"] = numba.threading_layer()
    except (ImportError, ValueError):  # ValueError: no parallel function ran
        meta["numba_threading_layer"] = None
    meta["env"] = {
        k: os.environ.get(k)
        for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER", "NUMBA_NUM_THREADS")
        if os.environ.get(k) is not None
    }
    if bench.first_calls:
        first_call["in_process"] = bench.first_calls
    meta["loadavg_end"] = loadavg()
    meta["seconds"] = time.perf_counter() - start
    data = {
        "meta": meta,
        "memcpy": memcpy,
        "first_call": first_call,
        "cases": bench.cases,
        "targets": evaluate_targets(bench.cases, args.quick),
    }
    stem = "filters_quick" if args.quick else "filters"
    write_json(args.out / f"{stem}.json", data)
    (args.out / f"{stem}.md").write_text(markdown(data) + "\n")
    print(f"wrote {args.out / stem}.json and .md in {meta['seconds']:.0f} s")
    print_targets(data["targets"])
    return data


if __name__ == "__main__":
    main()
