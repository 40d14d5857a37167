"""Threading layers for the engine's launches: sepconv's own pool against Numba's, in one run.

Run from the repository root::

    python benchmarks/bench_threads.py            # full run, about 5 minutes
    python benchmarks/bench_threads.py --quick    # 256², 1024², 1920x1080, 3 runs: ~1 min

The full run writes ``benchmarks/results/threads.json`` and ``threads.md``; ``--quick``
writes ``threads_quick.json`` / ``.md`` so it never replaces the full table.

Candidates.  Every candidate runs the *same* launches: a Gaussian (sigma 1, 9 x 9
taps, planned separable) filtered by a reusable plan (``sepconv.plan(...)(x,
output=out)``), whose recorded program calls ``sepconv._engine._pool.parallel_for(
run_task_range, ntasks, (address, desc, aux), work)`` once per launch.

* ``pool``: sepconv's own pool as shipped (threads follow the work size);
* ``pool, forced``: the same pool told every call is large (always all threads),
  to show what the work-size rule saves;
* ``omp``, ``omp+iomp5``, ``workqueue``, ``tbb``: ``parallel_for`` is replaced by
  a benchmark-local ``@njit(parallel=True)`` loop ``for t in prange(ntasks):
  _call(address, (t, desc, aux))`` under ``NUMBA_THREADING_LAYER=<layer>``.
  ``omp`` is GNU OpenMP (the libgomp Numba links); ``omp+iomp5`` preloads Intel's
  OpenMP runtime from the ``intel-openmp`` package (``LD_PRELOAD``), which then
  serves the GNU OpenMP entry points; ``tbb`` preloads ``libtbb.so.12`` from the
  ``tbb`` package (pip puts it in ``<prefix>/lib``, where the loader does not look).

A threading layer is chosen once per process, so each candidate runs in its own
subprocesses, one after another (in the full run, two rounds in rotated order so a
burst of load from elsewhere does not hit one candidate only).

Measured per candidate:

1. median time of the filter at each size, float32 and uint8, on 1 and 2 threads
   (interleaved calls, :func:`_common.measure`);
2. the same right after a PyTorch operation (``torch.mm`` 512 x 512 and a
   16-channel 3 x 3 ``conv2d`` on 64 x 64), in a loop: torch op, then one timed
   filter call (torch imported first, as in a training script);
3. fork safety: after a parallel call in the parent, ``os.fork()`` a child that
   runs a parallel call: its exit status and message;
4. thread safety: 8 Python threads making 32 calls at once (its own process,
   which may abort): identical results, abort or hang;
5. first parallel call in a fresh process, after the kernels were loaded by a
   serial call (and, for the Numba layers, after the launcher was compiled or
   loaded from cache, timed separately).

Every timed result is checked equal to the 1-thread result of the shipped pool
(results never depend on the thread count).  The load average is recorded at the
start and the end: on a shared machine, read the ratios, not the milliseconds.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _common import fmt_ms, loadavg, machine_info, markdown_table, measure, write_json
from numba import njit, prange

import sepconv
from sepconv._engine import _pool
from sepconv._engine._kernels import _call

RESULTS = Path(__file__).resolve().parent / "results"
FULL_SIZES = [(256, 256), (512, 512), (1024, 1024), (1080, 1920), (2048, 2048), (4096, 4096)]
QUICK_SIZES = [(256, 256), (1024, 1024), (1080, 1920)]
DTYPES = ("float32", "uint8")
KERNEL = sepconv.kernels.gaussian(1.0, ndim=2)  # 9 x 9, separable
FORCED_WORK = 1 << 62  # a work size that makes the pool use every thread it may
SHIPPED = _pool.parallel_for  # references are always computed with it

#: name -> (NUMBA_THREADING_LAYER, library to preload or None, description)
CANDIDATES: dict[str, tuple[str | None, str | None, str]] = {
    "pool": (None, None, "sepconv's own pool (work-sized thread count)"),
    "omp": ("omp", None, "Numba omp layer, GNU OpenMP (libgomp)"),
    "omp+iomp5": ("omp", "libiomp5.so", "Numba omp layer on Intel OpenMP (intel-openmp)"),
    "workqueue": ("workqueue", None, "Numba workqueue layer"),
    "tbb": ("tbb", "libtbb.so.12", "Numba tbb layer (tbb package)"),
}


@njit(parallel=True, cache=True)
def _run_layer(ntasks, address, desc, aux):  # pragma: no cover - compiled
    # What Numba's parallel=True gives: one prange over the tasks of a launch.
    for t in prange(ntasks):
        _call(address, (np.int64(t), desc, aux))


# --------------------------------------------------------------------------- worker side


class Candidate:
    """Installs one candidate as the engine's ``parallel_for`` and sets its threads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.layer = CANDIDATES[name][0]
        self.original = _pool.parallel_for
        self.forced = False
        self.load_s = 0.0

    def install(self) -> None:
        if self.layer is None:
            original = self.original

            def parallel_for(fn: Callable, n: int, args: tuple = (), work: int = 0) -> None:
                original(fn, n, args, FORCED_WORK if self.forced else work)

        else:
            t0 = time.perf_counter()
            _run_layer(np.int64(0), np.int64(0), np.int64(0), np.int64(0))  # compile or load
            self.load_s = time.perf_counter() - t0

            def parallel_for(fn: Callable, n: int, args: tuple = (), work: int = 0) -> None:
                _run_layer(np.int64(n), *args)

        # Program.run and the engine look parallel_for up on the module at each call.
        _pool.parallel_for = parallel_for

    def threads(self, n: int, forced: bool = False) -> None:
        self.forced = forced
        if self.layer is None:
            _pool.set_num_threads(n)
        else:
            import numba

            numba.set_num_threads(n)

    def variants(self) -> dict[str, tuple[int, bool]]:
        out = {"1 thread": (1, False), "2 threads": (2, False)}
        if self.layer is None:
            out["2 threads, forced"] = (2, True)
        return out

    def actual_layer(self) -> str:
        if self.layer is None:
            return "none (sepconv pool)"
        import numba

        layer = numba.threading_layer()
        if CANDIDATES[self.name][1] == "libiomp5.so":
            maps = Path("/proc/self/maps").read_text()
            layer += " (libiomp5 loaded)" if "libiomp5" in maps else " (libiomp5 NOT loaded)"
        return layer


def _preload(name: str) -> None:
    """Load a shared library of the venv by path, so later loads by soname find it."""
    library = CANDIDATES[name][1]
    if library == "libtbb.so.12":
        path = Path(sys.prefix) / "lib" / library
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)


class Case:
    """One image, its reusable plan, an output and the reference result."""

    def __init__(self, shape: tuple[int, int], dtype: str, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        if dtype == "uint8":
            self.x = rng.integers(0, 256, shape, dtype=np.uint8)
        else:
            self.x = rng.random(shape, dtype=np.float32)
        self.plan = sepconv.plan(shape, KERNEL, dtype=self.x.dtype)
        self.out = np.empty(shape, self.x.dtype)
        self.label = f"{dtype} {shape[0]}x{shape[1]}" if shape[0] != shape[1] else None
        self.label = self.label or f"{dtype} {shape[0]}²"
        # The reference on the shipped pool, 1 thread; it also records the program.
        installed, _pool.parallel_for = _pool.parallel_for, SHIPPED
        _pool.set_num_threads(1)
        try:
            self.ref = self.plan(self.x, output=self.out).copy()
        finally:
            _pool.parallel_for = installed
            _pool.set_num_threads(_pool.max_threads())

    def call(self) -> np.ndarray:
        return self.plan(self.x, output=self.out)

    def check(self) -> bool:
        return bool(np.array_equal(self.out, self.ref))


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data))


def worker_timing(name: str, args: argparse.Namespace) -> None:
    """Sections 5, 1 and 3 in one fresh process without torch."""
    _preload(name)
    cand = Candidate(name)
    data: dict[str, Any] = {"candidate": name}
    # 5: kernels loaded by a serial call, then the launcher, then the first parallel call.
    first = Case((1024, 1024), "float32")
    cand.install()
    data["layer"] = cand.actual_layer()
    data["launcher_load_s"] = cand.load_s
    cand.threads(2)
    calls = []
    for _ in range(3):
        t0 = time.perf_counter()
        first.call()
        calls.append(time.perf_counter() - t0)
    data["first_call_s"], data["second_call_s"] = calls[0], calls[1]
    data["first_call_ok"] = first.check()
    _write(args.out, data)

    # 1: sizes x dtypes x threads, interleaved.
    timing: dict[str, Any] = {}
    for shape in args.sizes:
        for dtype in DTYPES:
            case = Case(shape, dtype)
            case.out.fill(0)
            funcs = {
                v: (lambda n=n, f=f, c=case: (cand.threads(n, f), c.call()))
                for v, (n, f) in cand.variants().items()
            }
            timings, _ = measure(
                funcs, min_runs=args.min_runs, min_time=args.min_time, max_time=args.max_time
            )
            timing[case.label] = {v: t.median_s for v, t in timings.items()}
            timing[case.label]["ok"] = case.check()
    data["timing"] = timing
    _write(args.out, data)

    # 3: fork after a parallel call.
    cand.threads(2)
    first.call()
    data["fork"] = _fork_check(cand, first)
    _write(args.out, data)


def _fork_check(cand: Candidate, case: Case, timeout: float = 30.0) -> dict[str, Any]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a parallel call, then report by exit status
        os.close(read)
        os.dup2(write, 1)
        os.dup2(write, 2)
        code = 4
        try:
            cand.threads(2)
            case.out.fill(0)
            case.call()
            code = 0 if case.check() else 3
        except BaseException as exc:  # the message is the result
            os.write(2, f"{type(exc).__name__}: {exc}\n".encode())
        os._exit(code)
    os.close(write)
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        status = None
    os.set_blocking(read, False)
    try:
        message = os.read(read, 4096).decode(errors="replace").strip()
    except BlockingIOError:
        message = ""
    os.close(read)
    if status is None:
        result = "hang"
    elif os.WIFSIGNALED(status):
        result = f"killed by signal {os.WTERMSIG(status)}"
    else:
        code = os.WEXITSTATUS(status)
        result = {0: "ok", 3: "wrong result"}.get(code, f"exit status {code}")
    return {"safe": result == "ok", "result": result, "message": message[-300:]}


def worker_torch(name: str, args: argparse.Namespace) -> None:
    """Section 2 with torch imported first, then section 4 (which may abort the process)."""
    import torch
    import torch.nn.functional as F

    _preload(name)
    cand = Candidate(name)
    cand.install()
    data: dict[str, Any] = {"candidate": name, "torch_threads": torch.get_num_threads()}
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(512, 512, generator=gen)
    b = torch.rand(512, 512, generator=gen)
    img = torch.rand(1, 16, 64, 64, generator=gen)
    weight = torch.rand(16, 16, 3, 3, generator=gen)

    def torch_op() -> None:
        torch.mm(a, b)
        F.conv2d(img, weight, padding=1)

    torch_op()
    spent = []
    timing: dict[str, Any] = {}
    for shape in args.sizes:
        for dtype in DTYPES:
            case = Case(shape, dtype)
            case.out.fill(0)
            variants = cand.variants()
            samples: dict[str, list[float]] = {v: [] for v in variants}
            started = time.perf_counter()
            for r in range(args.torch_runs):
                for v, (n, forced) in variants.items():
                    t0 = time.perf_counter()
                    torch_op()
                    cand.threads(n, forced)
                    t1 = time.perf_counter()
                    case.call()
                    samples[v].append(time.perf_counter() - t1)
                    spent.append(t1 - t0)
                if r >= 2 and time.perf_counter() - started > args.max_time:
                    break
            timing[case.label] = {v: statistics.median(s) for v, s in samples.items()}
            timing[case.label]["ok"] = case.check()
    data["torch_op_s"] = statistics.median(spent)
    data["timing_torch"] = timing
    _write(args.out, data)

    # 4: 8 Python threads, 32 calls at once, default thread count in each.
    data["threads"] = {"safe": False, "result": "aborted (see message)"}
    _write(args.out, data)
    data["threads"] = _thread_check(cand)
    _write(args.out, data)


def _thread_check(cand: Candidate, count: int = 8, calls: int = 4) -> dict[str, Any]:
    case = Case((1024, 1024), "float32")
    cand.threads(2)
    case.call()
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * (count * calls)

    def run(i: int) -> None:
        barrier.wait()
        for j in range(calls):
            try:
                results[i * calls + j] = case.plan(case.x)
            except BaseException as exc:  # noqa: BLE001 - reported
                results[i * calls + j] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, 60.0 - (time.perf_counter() - t0)))
    elapsed = time.perf_counter() - t0
    if any(t.is_alive() for t in threads):
        return {"safe": False, "result": "hang (60 s)"}
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        return {"safe": False, "result": f"error: {errors[0]!r}"[:300]}
    same = all(np.array_equal(r, case.ref) for r in results)
    return {
        "safe": same,
        "result": f"ok, {len(results)} identical results" if same else "results differ",
        "elapsed_s": elapsed,
    }


# --------------------------------------------------------------------------- orchestrator


def _env(name: str) -> dict[str, str] | None:
    """The subprocess environment of a candidate, or None when it cannot run here."""
    layer, library, _ = CANDIDATES[name]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.pop("NUMBA_THREADING_LAYER", None)
    env.pop("LD_PRELOAD", None)
    env["NUMBA_NUM_THREADS"] = str(_pool.max_threads())
    if layer is not None:
        env["NUMBA_THREADING_LAYER"] = layer
    if library is not None:
        path = Path(sys.prefix) / "lib" / library
        if not path.exists():
            return None
        if library == "libiomp5.so":
            env["LD_PRELOAD"] = str(path)
    return env


def _run_worker(name: str, part: str, args: argparse.Namespace) -> dict[str, Any]:
    env = _env(name)
    if env is None:
        return {"candidate": name, "error": f"{CANDIDATES[name][1]} not installed"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, __file__, "--worker", name, "--part", part, "--json", str(out)]
        cmd += ["--quick"] if args.quick else []
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, stderr = "timeout", str(exc.stderr or "")
        data = json.loads(out.read_text()) if out.exists() else {"candidate": name}
    data.setdefault("process", {})[part] = {
        "returncode": code,
        "wall_s": round(time.perf_counter() - t0, 2),
        "stderr_tail": [line for line in stderr.strip().splitlines() if line][-3:],
    }
    if code != 0:
        data["error"] = f"{part}: exit {code}: " + " / ".join(data["process"][part]["stderr_tail"])
        if part == "torch" and data.get("threads", {}).get("result", "").startswith("aborted"):
            data["threads"]["message"] = " / ".join(data["process"][part]["stderr_tail"])[:300]
            data["threads"]["result"] = f"process died ({code})"
    return data


_SCALARS = ("first_call_s", "second_call_s", "launcher_load_s", "torch_op_s")


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the rounds of one candidate: medians of the per-round medians.

    A safety check counts as passed only when it passed in every round; the
    first failing round's result and message are kept.
    """
    merged: dict[str, Any] = {}
    for run in runs:
        for key, value in run.items():
            if key in ("timing", "timing_torch"):
                for case, cells in value.items():
                    for v, t in cells.items():
                        merged.setdefault(key, {}).setdefault(case, {}).setdefault(v, []).append(t)
            elif key in _SCALARS:
                merged.setdefault(key, []).append(value)
            elif key == "process":
                merged.setdefault(key, []).append(value)
            elif key == "error":
                if value not in merged.get(key, ""):
                    merged[key] = f"{merged[key]}; {value}" if key in merged else value
            elif key in ("fork", "threads") and key in merged:
                if merged[key].get("safe") and not value.get("safe"):
                    merged[key] = value
            else:
                merged.setdefault(key, value)
    for key in ("timing", "timing_torch"):
        for cells in merged.get(key, {}).values():
            for v, values in cells.items():
                cells[v] = all(values) if v == "ok" else statistics.median(values)
    for key in _SCALARS:
        if key in merged:
            merged[key] = statistics.median(merged[key])
    return merged


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or not b else f"{a / b:.2f}"


def _rows(results: dict[str, Any], key: str, cases: list[str]) -> list[list[str]]:
    rows = []
    pool = results.get("pool", {}).get(key, {})
    for case in cases:
        base = pool.get(case, {}).get("2 threads")
        for name, data in results.items():
            cells = data.get(key, {}).get(case)
            if cells is None:
                continue
            variants = [("2 threads", name)]
            if "2 threads, forced" in cells:
                variants.append(("2 threads, forced", f"{name}, forced"))
            for variant, label in variants:
                one, two = cells["1 thread"], cells[variant]
                rows.append([case, label, fmt_ms(one), fmt_ms(two), _ratio(two, one),
                             _ratio(two, base), "yes" if cells["ok"] else "NO"])  # fmt: skip
    return rows


def _worst(cells: dict[str, Any], variant: str = "2 threads") -> float | None:
    ratios = [c[variant] / c["1 thread"] for c in cells.values() if variant in c]
    return max(ratios) if ratios else None


def _geomean_vs_pool(results: dict[str, Any], name: str, key: str) -> float | None:
    pool = results.get("pool", {}).get(key, {})
    mine = results.get(name, {}).get(key, {})
    logs = [math.log(mine[c]["2 threads"] / pool[c]["2 threads"]) for c in mine if c in pool]
    return math.exp(sum(logs) / len(logs)) if logs else None


def report(meta: dict[str, Any], results: dict[str, Any]) -> str:
    cases = list(next((d["timing"] for d in results.values() if "timing" in d), {}))
    head = ["case", "candidate", "1 thread ms", "2 threads ms", "2T / 1T", "2T / pool 2T", "exact"]
    summary = []
    for name, data in results.items():
        fork, thr = data.get("fork", {}), data.get("threads", {})
        first = data.get("first_call_s")
        summary.append([
            name,
            data.get("layer", data.get("error", "-")),
            ("yes" if fork.get("safe") else "NO") + f" ({fork.get('result', 'not run')})",
            ("yes" if thr.get("safe") else "NO") + f" ({thr.get('result', 'not run')})",
            fmt_ms(first) + " / " + fmt_ms(data.get("second_call_s")),
            f"{data.get('launcher_load_s', 0.0):.2f}",
            _ratio(_worst(data.get("timing", {})), 1.0),
            _ratio(_worst(data.get("timing_torch", {})), 1.0),
            _ratio(_geomean_vs_pool(results, name, "timing"), 1.0),
            _ratio(_geomean_vs_pool(results, name, "timing_torch"), 1.0),
            fmt_ms(data.get("torch_op_s")),
        ])  # fmt: skip
    lines = [
        "# Threading layers for the engine's launches" + (" (QUICK run)" if meta["quick"] else ""),
        "",
        f"Written by `{meta['command']}` on {meta['date']}; {meta['cpu']}, "
        f"{meta['logical_cpus']} logical CPUs. Load average (1, 5, 15 min) at start "
        f"{meta['loadavg_start']}, at end {meta['loadavg_end']}; run took {meta['wall_s']:.0f} s.",
        f"Packages: {meta['packages']}; Numba {meta['versions'].get('numba')}.",
    ]
    if meta.get("note"):
        lines += ["", f"**Note: {meta['note']}**"]
    lines += [
        "",
        "Each candidate runs the same recorded launches of a Gaussian (sigma 1, 9 x 9 taps,",
        "separable) through a reusable plan; see the docstring of `benchmarks/bench_threads.py`.",
        "Medians; `2T / 1T` above 1 means the second thread makes the call slower.",
        "",
        "## Summary",
        "",
        markdown_table(
            [
                "candidate",
                "layer",
                "fork-safe",
                "thread-safe (8 threads, 32 calls)",
                "first / second parallel call ms (1024² f32)",
                "launcher load s",
                "worst 2T/1T",
                "worst 2T/1T, torch op between",
                "2T vs pool (geo-mean)",
                "2T vs pool, torch op between",
                "torch op ms",
            ],
            summary,
        ),  # fmt: skip
        "",
        "## Filter alone",
        "",
        markdown_table(head, _rows(results, "timing", cases)),
        "",
        "## Right after a torch op (`torch.mm` 512², `conv2d` 16 ch 3x3 on 64²)",
        "",
        markdown_table(head, _rows(results, "timing_torch", cases)),
        "",
    ]
    messages = [
        f"- {name}: fork: {data['fork']['message']}"
        for name, data in results.items()
        if data.get("fork", {}).get("message")
    ]
    messages += [
        f"- {name}: threads: {data['threads']['message']}"
        for name, data in results.items()
        if data.get("threads", {}).get("message")
    ]
    messages += [f"- {name}: {data['error']}" for name, data in results.items() if "error" in data]
    if messages:
        lines += ["## Messages", "", *messages, ""]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes and runs, under a minute")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON and Markdown")
    p.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    p.add_argument("--rounds", type=int, help="candidate cycles (default 2, quick 1)")
    p.add_argument("--note", help="a line written at the top of the Markdown")
    p.add_argument("--worker", choices=list(CANDIDATES), help=argparse.SUPPRESS)
    p.add_argument("--part", choices=["timing", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.sizes = QUICK_SIZES if args.quick else FULL_SIZES
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.min_runs = 3 if args.quick else 7
    args.min_time = 0.03 if args.quick else 0.3
    args.max_time = 0.3 if args.quick else 1.5
    args.torch_runs = 3 if args.quick else 15
    return args


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.worker:
        args.out = args.json
        (worker_timing if args.part == "timing" else worker_torch)(args.worker, args)
        return {}
    start = time.perf_counter()
    meta = machine_info()
    meta["quick"] = args.quick
    meta["note"] = args.note
    given = list(argv if argv is not None else sys.argv[1:])
    if "--note" in given:  # the note is printed on its own
        del given[given.index("--note") : given.index("--note") + 2]
    meta["command"] = " ".join(["python", "benchmarks/bench_threads.py", *given])
    meta["candidates"] = {name: CANDIDATES[name][2] for name in args.candidates}
    meta["packages"] = {name: _version(name) for name in ("tbb", "intel-openmp", "torch")}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in args.candidates}
    for r in range(args.rounds):
        order = (
            args.candidates[r % len(args.candidates) :]
            + args.candidates[: r % len(args.candidates)]
        )
        for name in order:
            for part in ("timing", "torch"):
                data = _run_worker(name, part, args)
                print(f"round {r + 1} {name} {part}: {data['process'][part]}", flush=True)
                runs[name].append(data)
    results = {name: _merge(runs[name]) for name in args.candidates}
    meta["loadavg_end"] = loadavg()
    meta["wall_s"] = time.perf_counter() - start
    stem = "threads_quick" if args.quick else "threads"
    out = {"meta": meta, "results": results}
    write_json(args.out / f"{stem}.json", out)
    (args.out / f"{stem}.md").write_text(report(meta, results))
    print(f"wrote {args.out / stem}.json and .md in {meta['wall_s']:.0f} s")
    return out


if __name__ == "__main__":
    main()
