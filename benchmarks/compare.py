"""This checkout against another commit, side by side in one run.

    python benchmarks/compare.py BASE [--quick] [--threads N] [--out DIR]

``BASE`` is any git revision (the commit a change started from).  A detached
worktree of it is made beside this checkout (reused when it exists), and two
worker processes -- one importing this tree's ``src``, one the base's -- time
the same calls of the public API in alternating rounds (``BASE HEAD HEAD
BASE ...``), so the load of a shared machine falls on both alike; each turn
opens with an untimed call (the other side's turn cooled the caches), and
each row quotes the median per side and their ratio.  The rows are the fast policy
(``sepconv.correlate`` with a 2-D kernel as a user passes it, the 3-D
``sepfilter``) and the exact policy (``sepconv.ndimage``'s filters), at 64²
to 2048² and a 3-D volume.  For the exact rows the workers also hash the
result: equal hashes mean the change kept scipy's bits.  Each worker's first
call (Numba compilation or loading its cache) is reported apart.

Writes ``benchmarks/results/compare.md`` and ``compare.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import loadavg, machine_info, markdown_table, write_json  # noqa: E402


def cases(quick: bool) -> list[dict[str, Any]]:
    """The calls both sides time: ``(name, policy, size, dtype, call)`` as plain data."""
    sizes = [64, 256, 1024] if quick else [64, 256, 1024, 2048]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        for dtype in ("uint8", "float32"):
            for kernel in ("gauss1", "gauss4", "box3", "box31"):
                rows.append(dict(policy="fast", call="correlate", kernel=kernel, n=n, dtype=dtype))
        for dtype in ("uint8", "float32", "float64"):
            for call, arg in (
                ("gaussian_filter", 1.0),
                ("gaussian_filter", 4.0),
                ("uniform_filter", 3),
                ("uniform_filter", 31),
                ("sobel", 0),
                ("gaussian_gradient_magnitude", 2.0),
                ("correlate1d", 7),
            ):
                rows.append(dict(policy="exact", call=call, arg=arg, n=n, dtype=dtype))
    volume = 64 if quick else 128
    rows.append(dict(policy="fast", call="sepfilter3d", kernel="gauss2", n=volume, dtype="float32"))
    rows.append(dict(policy="exact", call="gaussian_filter3d", arg=2.0, n=volume, dtype="float32"))
    return rows


def _name(case: dict[str, Any]) -> str:
    what = case.get("kernel", case.get("arg"))
    shape = f"{case['n']}³" if case["call"].endswith("3d") else f"{case['n']}²"
    return f"{case['call']}({what}) {case['dtype']} {shape}"


# ------------------------------------------------------------------------------------ worker


def _gauss(sigma: float) -> Any:
    import numpy as np

    r = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return g / g.sum()


def _make(case: dict[str, Any]) -> Any:
    """The zero-argument call of ``case`` (public API only: it runs on both commits)."""
    import numpy as np

    import sepconv
    import sepconv.ndimage as sn

    rng = np.random.default_rng(0)
    three = case["call"].endswith("3d")
    shape = (case["n"],) * (3 if three else 2)
    x = (rng.random(shape) * 255).astype(case["dtype"])
    call = case["call"]
    if call == "correlate":
        k = case["kernel"]
        one = _gauss(1.0) if k == "gauss1" else _gauss(4.0) if k == "gauss4" else None
        if one is None:
            size = int(k[3:])
            one = np.full(size, 1.0 / size)
        kernel = np.outer(one, one)
        return lambda: sepconv.correlate(x, kernel)
    if call == "sepfilter3d":
        g = _gauss(2.0)
        return lambda: sepconv.sepfilter(x, [g, g, g])
    if call == "gaussian_filter3d":
        return lambda: sn.gaussian_filter(x, case["arg"])
    function = getattr(sn, call)
    if call == "correlate1d":
        weights = rng.standard_normal(case["arg"])
        return lambda: function(x, weights, axis=0)
    if call == "sobel":
        return lambda: function(x, axis=case["arg"])
    return lambda: function(x, case["arg"])


def worker(threads: int) -> None:
    """Read commands from stdin: ``setup`` (all cases), then ``round`` per line."""
    import numpy as np

    import sepconv

    sepconv.set_num_threads(threads)
    calls: list[Any] = []
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "setup":
            first = []
            hashes = []
            for case in command["cases"]:
                f = _make(case)
                start = time.perf_counter()
                out = f()
                first.append(time.perf_counter() - start)
                calls.append(f)
                out = np.ascontiguousarray(out)
                hashes.append(hashlib.sha1(out.tobytes() + str(out.dtype).encode()).hexdigest())
            print(json.dumps({"first": first, "hashes": hashes}), flush=True)
        elif command["op"] == "time":
            f = calls[command["index"]]
            budget, samples = command["budget"], []
            # One untimed call first: the other side just ran, and its code and data
            # evicted this side's from the caches (bench_filters' blocks do the same).
            f()
            start = time.perf_counter()
            while len(samples) < 3 or (time.perf_counter() - start < budget and len(samples) < 50):
                t = time.perf_counter()
                f()
                samples.append(time.perf_counter() - t)
            print(json.dumps({"best": min(samples)}), flush=True)
        else:
            return


# ------------------------------------------------------------------------------------ driver


def _worktree(base: str) -> tuple[Path, str]:
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{base}^{{commit}}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = ROOT.parent / f".sepconv-compare-{sha[:12]}"
    if not (tree / "src" / "sepconv").is_dir():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), sha],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return tree, sha


class _Side:
    def __init__(self, name: str, src: Path, threads: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(src))
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(src.parent),
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker stopped (see its error above)")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", help="the git revision to compare against")
    parser.add_argument("--quick", action="store_true", help="fewer sizes, shorter timing")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per row")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.threads)
        return
    if not args.base:
        parser.error("give the BASE revision to compare against")
    tree, sha = _worktree(args.base)
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    rows = cases(args.quick)
    load_before = loadavg()
    sides = {
        "base": _Side("base", tree / "src", args.threads),
        "head": _Side("head", ROOT / "src", args.threads),
    }
    try:
        setup = {k: s.ask({"op": "setup", "cases": rows}) for k, s in sides.items()}
        budget = 0.15 if args.quick else 0.4
        best: dict[str, list[list[float]]] = {k: [[] for _ in rows] for k in sides}
        for r in range(args.rounds):
            order = ["base", "head"] if r % 2 == 0 else ["head", "base"]
            for i in range(len(rows)):
                for k in order:
                    best[k][i].append(
                        sides[k].ask({"op": "time", "index": i, "budget": budget})["best"]
                    )
    finally:
        for s in sides.values():
            s.close()
    results = []
    for i, case in enumerate(rows):
        b = statistics.median(best["base"][i])
        h = statistics.median(best["head"][i])
        same = setup["base"]["hashes"][i] == setup["head"]["hashes"][i]
        results.append(
            dict(
                case,
                name=_name(case),
                base_s=b,
                head_s=h,
                ratio=h / b,
                first_base_s=setup["base"]["first"][i],
                first_head_s=setup["head"]["first"][i],
                same_bits=same,
            )
        )
    data = {
        "base": sha,
        "head": head + ("+dirty" if dirty else ""),
        "threads": args.threads,
        "rounds": args.rounds,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "machine": machine_info(),
        "rows": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "compare.json", data)
    table = markdown_table(
        [
            "row",
            "policy",
            "base ms",
            "head ms",
            "head / base",
            "same bits",
            "first call base / head ms",
        ],
        [
            (
                r["name"],
                r["policy"],
                f"{r['base_s'] * 1e3:.3f}",
                f"{r['head_s'] * 1e3:.3f}",
                f"{r['ratio']:.2f}",
                "yes" if r["same_bits"] else "no",
                f"{r['first_base_s'] * 1e3:.0f} / {r['first_head_s'] * 1e3:.0f}",
            )
            for r in results
        ],
    )
    exact = [r for r in results if r["policy"] == "exact"]
    fast = [r for r in results if r["policy"] == "fast"]

    def geo(rs: list[dict[str, Any]]) -> float:
        return statistics.geometric_mean(r["ratio"] for r in rs) if rs else float("nan")

    summary = (
        f"base {sha[:12]} vs head {data['head']}, {args.threads} threads, median of {args.rounds} "
        f"alternating rounds (best of each round); load average before {load_before}, after "
        f"{data['loadavg_after']}.\n\n"
        f"Geometric mean head / base: fast {geo(fast):.2f}, exact {geo(exact):.2f}; exact rows "
        f"slower than base by more than 10 %: {sum(r['ratio'] > 1.10 for r in exact)} of "
        f"{len(exact)}; exact rows whose bits changed: {sum(not r['same_bits'] for r in exact)}.\n"
    )
    (args.out / "compare.md").write_text(f"# compare.py\n\n{summary}\n{table}\n")
    print(summary)
    print(table)


if __name__ == "__main__":
    main()
