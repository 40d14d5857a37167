"""Out-of-core Gaussian filtering of a Zarr volume: sepconv.dask against dask-image.

A float32 3-D volume (8 GiB by default) is generated chunk by chunk as a Zarr array
on disk, then filtered with a Gaussian (sigma 2, truncate 4: 17 taps per axis, mode
``reflect``) into another Zarr array, once by ``sepconv.dask.sepfilter`` and once by
``dask_image.ndfilters.gaussian_filter`` (scipy.ndimage on every chunk), both on
Dask's local threaded scheduler with its defaults; a third run, ``copy``, reads and
writes the volume without filtering it: the I/O floor under both.  Each run is its
own child process, so its peak resident memory is its own: the kernel's ``ru_maxrss`` of
that child (from ``wait4``) and a 20 ms psutil sample of the child and its children,
whichever is larger.  Sampled blocks of the two outputs (corners, edges and random
interior blocks) are compared with each other and with scipy.ndimage.gaussian_filter
in float64 on the block plus its margin.  The volumes are deleted at the end unless
``--keep``.

Run::

    python benchmarks/bench_dask.py                  # 8 GiB, writes results/bench_dask.*
    python benchmarks/bench_dask.py --size 0.05 --results /tmp/r   # a quick variant

Targets (issue 6): peak memory < 2 GiB, sepconv throughput >= 3x dask-image's,
results equal to float32 rounding.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, write_json  # noqa: E402

SIGMA = 2.0
TRUNCATE = 4.0
# "copy" reads and writes the volume without filtering it: the I/O floor under both.
CONTENDERS = ("sepconv", "dask-image", "copy")


def volume_shape(size_gib: float) -> tuple[int, int, int]:
    """A (Z, Y, X) float32 shape of at least ``size_gib`` GiB: 1024^2 slices when large."""
    voxels = math.ceil(size_gib * 2**30 / 4)
    if voxels >= 64 * 1024 * 1024:
        return (math.ceil(voxels / 1024**2), 1024, 1024)
    side = math.ceil(voxels ** (1 / 3))
    return (side, side, side)


def generate(path: Path, shape: tuple[int, ...], chunks: tuple[int, ...], codec: str) -> float:
    """Write a random float32 Zarr array chunk by chunk; return the seconds taken."""
    import zarr

    compressors = None if codec == "none" else "auto"
    array = zarr.create_array(
        store=str(path), shape=shape, chunks=chunks, dtype="float32", compressors=compressors
    )
    grid = [range(0, n, c) for n, c in zip(shape, chunks)]
    starts = [(z, y, x) for z in grid[0] for y in grid[1] for x in grid[2]]

    def write(start: tuple[int, int, int]) -> None:
        region = tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, chunks, shape))
        rng = np.random.default_rng(list(start))
        block_shape = tuple(r.stop - r.start for r in region)
        # Smooth structure plus noise, so that the filter has something to do.
        zz, yy, xx = np.meshgrid(
            *[np.arange(r.start, r.stop, dtype=np.float32) for r in region],
            indexing="ij",
            sparse=True,
        )
        block = np.sin(zz / 17) + np.cos(yy / 23) * np.sin(xx / 29)
        block = block + rng.standard_normal(block_shape, dtype=np.float32)
        array[region] = block.astype(np.float32)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, starts))
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- contenders


def create_like(src: str, dst: str) -> Any:
    """An empty Zarr array shaped, chunked and compressed like ``src``.

    Every chunk of a filtered volume holds data, so zarr's scan for empty chunks
    (``write_empty_chunks=False``, its default) is skipped: it only costs time.
    """
    import zarr

    source = zarr.open_array(src, mode="r")
    return zarr.create_array(
        store=dst,
        shape=source.shape,
        chunks=source.chunks,
        dtype=source.dtype,
        compressors=source.compressors or None,
        config={"write_empty_chunks": True},
        overwrite=True,
    )


def run_contender(name: str, src: str, dst: str) -> dict[str, Any]:
    """Filter ``src`` into ``dst`` with one contender, in this process."""
    import dask
    import dask.array as da

    x = da.from_zarr(src)
    target = create_like(src, dst)
    if name == "sepconv":
        import sepconv.dask
        from sepconv.kernels import gaussian

        g = gaussian(SIGMA, TRUNCATE)
        y = sepconv.dask.sepfilter(x, [g.astype(np.float32)] * 3, mode="reflect")
    elif name == "dask-image":
        from dask_image.ndfilters import gaussian_filter

        y = gaussian_filter(x, sigma=SIGMA, mode="reflect", truncate=TRUNCATE)
    elif name == "copy":
        y = x
    else:
        raise ValueError(f"unknown contender {name!r}")
    t0 = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        # Blocks must match Zarr chunks: two tasks writing parts of one chunk race.
        da.store(y.rechunk(target.chunks), target, lock=False)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "dask_threads": dask.system.CPU_COUNT}


def _child_main(args: argparse.Namespace) -> None:
    result = run_contender(args.phase, args.src, args.dst)
    result["ru_maxrss_self_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("RESULT " + json.dumps(result), flush=True)


def measure_in_child(name: str, src: Path, dst: Path, interval: float = 0.02) -> dict[str, Any]:
    """Run one contender in a child process; add its peak memory (wait4 + psutil)."""
    import psutil

    cmd = [sys.executable, __file__, "--phase", name, "--src", str(src), "--dst", str(dst)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampled = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal sampled
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            try:
                rss = parent.memory_info().rss
                rss += sum(c.memory_info().rss for c in parent.children(recursive=True))
                sampled = max(sampled, rss)
            except psutil.Error:
                pass
            stop.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    # wait4 reports the child's own peak RSS (Linux: KiB) even for spikes the
    # sampler misses.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    out = proc.stdout.read() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} child failed with exit code {proc.returncode}")
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    result["process_wall_s"] = wall
    result["peak_rss_wait4_bytes"] = usage.ru_maxrss * 1024
    result["peak_rss_sampled_bytes"] = sampled
    result["peak_rss_bytes"] = max(usage.ru_maxrss * 1024, sampled)
    return result


def measure_in_process(name: str, src: Path, dst: Path) -> dict[str, Any]:
    """Run one contender here (the quick test variant); peak memory is sampled only."""
    import psutil

    me = psutil.Process()
    base = me.memory_info().rss
    peak = base
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, me.memory_info().rss)
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = run_contender(name, str(src), str(dst))
    finally:
        stop.set()
        sampler.join()
    result["peak_rss_bytes"] = peak
    result["rss_before_bytes"] = base
    return result


# --------------------------------------------------------------------------- checks


def sample_blocks(
    shape: tuple[int, ...], block: int, count: int, seed: int = 0
) -> list[tuple[slice, ...]]:
    """Corner blocks (all 8) plus ``count`` random ones, clipped to the volume."""
    rng = np.random.default_rng(seed)
    starts = [
        tuple(0 if c == 0 else max(0, n - block) for c, n in zip(corner, shape))
        for corner in np.ndindex(2, 2, 2)
    ]
    starts += [
        tuple(int(rng.integers(0, max(1, n - block + 1))) for n in shape) for _ in range(count)
    ]
    return [tuple(slice(s, min(s + block, n)) for s, n in zip(start, shape)) for start in starts]


def compare(src: Path, outputs: dict[str, Path], block: int, count: int) -> dict[str, Any]:
    """Max differences on sampled blocks: contenders against each other and scipy."""
    import zarr
    from scipy.ndimage import gaussian_filter

    x = zarr.open_array(str(src), mode="r")
    ys = {name: zarr.open_array(str(path), mode="r") for name, path in outputs.items()}
    radius = int(TRUNCATE * SIGMA + 0.5)
    worst: dict[str, float] = {}
    scale = 0.0
    for region in sample_blocks(x.shape, block, count):
        # The reference sees the block plus the kernel's reach (or the volume's edge,
        # where reflect mode then applies exactly as on the whole volume).
        outer = tuple(
            slice(max(0, r.start - radius), min(n, r.stop + radius))
            for r, n in zip(region, x.shape)
        )
        inner = tuple(slice(r.start - o.start, r.stop - o.start) for r, o in zip(region, outer))
        data = np.asarray(x[outer], dtype=np.float64)
        reference = gaussian_filter(data, SIGMA, mode="reflect", truncate=TRUNCATE)[inner]
        scale = max(scale, float(np.abs(reference).max()))
        got = {name: np.asarray(y[region]) for name, y in ys.items()}
        for name, values in got.items():
            key = f"{name} vs scipy float64"
            worst[key] = max(worst.get(key, 0.0), float(np.abs(values - reference).max()))
        names = list(got)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                key = f"{a} vs {b}"
                diff = float(np.abs(got[a].astype(np.float64) - got[b]).max())
                worst[key] = max(worst.get(key, 0.0), diff)
    eps = float(np.finfo(np.float32).eps)
    return {
        "blocks": 8 + count,
        "block": block,
        "max_abs_output": scale,
        "max_abs_diff": worst,
        "max_diff_in_float32_ulps_of_max": {k: v / (eps * scale) for k, v in worst.items()},
    }


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    shape = volume_shape(args.size)
    chunks = tuple(min(c, n) for c, n in zip(args.chunks, shape))
    root = Path(tempfile.mkdtemp(prefix="sepconv-bench-dask-", dir=args.dir))
    src = root / "input.zarr"
    outputs = {name: root / f"{name}.zarr" for name in args.contenders}
    nbytes = int(np.prod(shape)) * 4
    print(
        f"volume {shape} float32 = {nbytes / 2**30:.2f} GiB, chunks {chunks}, in {root}", flush=True
    )
    try:
        generate_s = generate(src, shape, chunks, args.codec)
        print(f"generated in {generate_s:.1f} s", flush=True)
        runs = {}
        for name in args.contenders:
            measure_one = measure_in_process if args.in_process else measure_in_child
            runs[name] = measure_one(name, src, outputs[name])
            r = runs[name]
            r["throughput_MBps"] = nbytes / r["seconds"] / 1e6
            print(
                f"{name}: {r['seconds']:.1f} s, {r['throughput_MBps']:.0f} MB/s, "
                f"peak RSS {r['peak_rss_bytes'] / 2**30:.2f} GiB",
                flush=True,
            )
        filtered = {name: path for name, path in outputs.items() if name != "copy"}
        check = compare(src, filtered, args.check_block, args.check_count)
        print(f"check: {check['max_diff_in_float32_ulps_of_max']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    result = {
        "benchmark": "bench_dask",
        "machine": machine_info(),
        "volume": {
            "shape": shape,
            "dtype": "float32",
            "bytes": nbytes,
            "chunks": chunks,
            "codec": args.codec,
            "generate_s": generate_s,
        },
        "filter": {"kind": "gaussian", "sigma": SIGMA, "truncate": TRUNCATE, "mode": "reflect"},
        "runs": runs,
        "check": check,
        "deleted": not args.keep,
    }
    if "sepconv" in runs and "dask-image" in runs:
        result["speedup_vs_dask_image"] = runs["dask-image"]["seconds"] / runs["sepconv"]["seconds"]
    return result


def markdown(result: dict[str, Any]) -> str:
    vol = result["volume"]
    rows = []
    for name, r in result["runs"].items():
        speedup = result["runs"].get("dask-image", r)["seconds"] / r["seconds"]
        rows.append(
            [
                name,
                f"{r['seconds']:.1f}",
                f"{r['throughput_MBps']:.0f}",
                f"{r['peak_rss_bytes'] / 2**30:.2f}",
                f"{speedup:.2f}x",
            ]
        )
    diffs = result["check"]["max_diff_in_float32_ulps_of_max"]
    lines = [
        f"# Out-of-core Gaussian (sigma {SIGMA}) of a {vol['bytes'] / 2**30:.2f} GiB float32 "
        f"Zarr volume {tuple(vol['shape'])}, chunks {tuple(vol['chunks'])}",
        "",
        markdown_table(
            ["contender", "time s", "throughput MB/s", "peak RSS GiB", "speed-up vs dask-image"],
            rows,
        ),
        "",
        f"Sampled blocks ({result['check']['blocks']} of {result['check']['block']}^3): "
        "max |difference| in float32 eps x max|output|: "
        + ", ".join(f"{k}: {v:.2f}" for k, v in diffs.items()),
        "",
        f"{result['machine']['cpu']}, {result['machine']['logical_cpus']} logical CPUs, "
        f"{result['machine']['date']}; each contender in its own process, "
        "Dask local threaded scheduler with its defaults.",
    ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=8.0, help="volume size in GiB")
    parser.add_argument(
        "--chunks",
        type=lambda s: tuple(int(v) for v in s.split(",")),
        default=(128, 256, 256),
        help="Zarr/Dask chunks, e.g. 128,256,256",
    )
    parser.add_argument("--dir", default=None, help="where the volumes go (default: temp dir)")
    parser.add_argument(
        "--codec",
        choices=("none", "default"),
        default="none",
        help="Zarr compression: none (random data barely compresses) or default",
    )
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument(
        "--results",
        default=str(Path(__file__).parent / "results"),
        help="directory for bench_dask.json and bench_dask.md",
    )
    parser.add_argument("--check-block", type=int, default=64)
    parser.add_argument("--check-count", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the volumes")
    parser.add_argument("--name", default="bench_dask", help="results file stem")
    parser.add_argument(
        "--in-process", action="store_true", help="run the contenders in this process (quick tests)"
    )
    parser.add_argument("--phase", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any] | None:
    args = parse_args(argv)
    if args.phase:
        _child_main(args)
        return None
    result = run(args)
    out = Path(args.results)
    write_json(out / f"{args.name}.json", result)
    (out / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
