"""Shared helpers of the benchmark scripts: interleaved timing, memory bandwidth, output files.

The machine these scripts run on is shared and noisy, so every comparison is
timed *interleaved*: one call of each contender per round, rounds repeated, and
the median of each taken.  A burst of load from elsewhere then hits all
contenders alike and the ratios of medians stay meaningful.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


@dataclass
class Timing:
    """Wall-clock samples of one contender."""

    samples: list[float]
    first_s: float
    reused_first: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median_s(self) -> float:
        return statistics.median(self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_s": self.median_s,
            "min_s": min(self.samples),
            "runs": len(self.samples),
            "first_call_s": self.first_s,
            "first_call_reused_as_sample": self.reused_first,
            "samples_s": [round(s, 6) for s in self.samples],
        }


def measure(
    funcs: Mapping[str, Callable[[], Any]],
    *,
    min_runs: int = 5,
    min_time: float = 1.0,
    max_time: float = 8.0,
    max_runs: int = 200,
    slow_call: float = 1.0,
    jit: Iterable[str] = (),
    rounds: int | None = None,
    settle_below: float = 0.0,
    catch: bool = False,
) -> tuple[dict[str, Timing], dict[str, Any]]:
    """Time every callable in ``funcs`` interleaved; return timings and first results.

    Each callable is called once first (warm-up: compilation, page faults) and
    its result kept for the correctness check.  Then each gets
    ``max(min_runs, ceil(min_time / first))`` timed calls, fewer when that would
    exceed ``max_time`` seconds (at least one).  For a callable not in ``jit``
    (nothing to compile) whose first call took more than ``slow_call`` seconds,
    that call is the first sample and further calls are made only while they fit
    in ``max_time`` (scipy's dense kernels, PyTorch on 4096^2).

    By default the calls alternate one by one.  With ``rounds``, each callable's
    calls are split into that many blocks, the blocks alternating; a block of a
    callable whose first call took less than ``settle_below`` seconds starts with
    one untimed call.  That call absorbs the hand-over between thread pools
    (OpenMP workers of the previous library still spinning, ours asleep), which
    on a small, shared machine costs milliseconds and would otherwise be charged
    to whichever library runs second.

    With ``catch``, a callable whose first call raises is not timed: its entry in
    the returned results is the exception, and it has no timing.
    """
    jit = set(jit)
    first: dict[str, float] = {}
    results: dict[str, Any] = {}
    for name, fn in list(funcs.items()):
        t0 = time.perf_counter()
        try:
            results[name] = fn()
        except Exception as exc:
            if not catch:
                raise
            results[name] = exc
            continue
        first[name] = time.perf_counter() - t0
    funcs = {name: fn for name, fn in funcs.items() if name in first}
    planned: dict[str, int] = {}
    samples: dict[str, list[float]] = {name: [] for name in funcs}
    reused: set[str] = set()
    for name, t in first.items():
        if name not in jit and t > slow_call:
            # Nothing to warm up in a call this long: the first call is a sample, and the
            # others fit what is left of max_time.
            samples[name].append(t)
            reused.add(name)
            planned[name] = max(0, min(min_runs - 1, math.floor((max_time - t) / t)))
            continue
        n = max(min_runs, math.ceil(min_time / max(t, 1e-9)))
        n = min(n, max_runs, max(1, math.floor(max_time / max(t, 1e-9))))
        planned[name] = n
    if rounds is None:
        blocks = {name: [1] * n for name, n in planned.items()}
    else:
        blocks = {
            name: [n * (r + 1) // rounds - n * r // rounds for r in range(rounds)]
            for name, n in planned.items()
        }
    for r in range(max((len(b) for b in blocks.values()), default=0)):
        for name, fn in funcs.items():
            size = blocks[name][r] if r < len(blocks[name]) else 0
            if size == 0:
                continue
            if rounds is not None and first[name] < settle_below:
                fn()
            for _ in range(size):
                t0 = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - t0)
    timings = {
        name: Timing(samples[name], first[name], reused_first=name in reused) for name in funcs
    }
    return timings, results


def memcpy_bandwidth(nbytes: int = 256 * 2**20, repeats: int = 7) -> dict[str, Any]:
    """Memory-copy bandwidth of this machine, counting bytes read plus bytes written.

    ``np.copyto`` of a buffer far larger than any cache, on one thread and split
    over two threads (NumPy releases the GIL for plain copies); the better median
    is the reference the filters are compared with.
    """
    import numpy as np

    src = np.ones(nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    half = nbytes // 2
    parts = [slice(0, half), slice(half, nbytes)]
    with ThreadPoolExecutor(2) as pool:

        def two_threads() -> None:
            list(pool.map(lambda s: np.copyto(dst[s], src[s]), parts))

        timings, _ = measure(
            {"1 thread": lambda: np.copyto(dst, src), "2 threads": two_threads},
            min_runs=repeats,
            min_time=0.5,
        )
    out: dict[str, Any] = {"bytes_copied": nbytes, "method": "np.copyto, read + write bytes"}
    for name, timing in timings.items():
        out[f"GBps_{name.replace(' ', '_')}"] = 2 * nbytes / timing.median_s / 1e9
    out["GBps"] = max(v for k, v in out.items() if k.startswith("GBps_"))
    return out


def machine_info() -> dict[str, Any]:
    """Date, CPU, core count, load average and library versions."""
    import importlib

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for name in ("numpy", "scipy", "numba", "cv2", "torch", "kornia", "sepconv"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except Exception:
            versions[name] = None
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "versions": versions,
        "loadavg_start": loadavg(),
    }


def loadavg() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table; the first column left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def write_json(path: Path, data: Any) -> None:
    def default(obj: Any) -> Any:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        raise TypeError(f"cannot serialise {type(obj).__name__}")

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=default) + "\n")
    os.replace(tmp, path)
