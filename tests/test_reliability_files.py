"""Reliability of ``sepconv filter`` with files: interruptions, killed workers, bad files.

The CLI runs here as a real subprocess (``python -c "from sepconv._cli import main"``) so
that signals, terminal width and locale act as they do for a user.  Interruption points
are drawn from a seeded generator and placed by watching the outputs appear, so each
scenario stops the job part-way whatever the machine's speed.  Every scenario is checked
against a clean run of the same job: outputs under their final names are complete and
equal to it, nothing partial is left under a final name, temporaries are removed
(Ctrl-C, SIGTERM) or swept by the next run (SIGKILL), and a rerun only does what is
missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import sepconv
from sepconv import _files, _io
from sepconv._cli import app

pytest.importorskip("PIL")
tifffile = pytest.importorskip("tifffile")

_SRC = str(Path(sepconv.__file__).resolve().parents[1])
_CLI = "from sepconv._cli import main; main()"
rng = np.random.default_rng(1414)


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, env.get("PYTHONPATH")) if p)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _start(*args: object, **env: str | None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _CLI, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(**env),
    )


# Generous bounds, never reached when all is well: with a cold Numba cache the first
# subprocess compiles the kernels, which takes a minute on a busy 2-core machine.
def _finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, (out + err).decode("utf-8")


def _wait_until(condition, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, output = _finish(proc)
            raise AssertionError(f"the job ended before the interruption point:\n{output}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the job made no progress")
        time.sleep(0.001)


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _sha(path: Path) -> str:
    if path.is_dir():
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(file.relative_to(path)).encode() + file.read_bytes())
        return digest.hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _tmp_name(target: str, pid: int, host: str | None = None) -> str:
    return f".{target}.{pid}@{host or _files._host()}.zz00zz00.tmp{Path(target).suffix}"


# --------------------------------------------------------------------------- terminal, locale

# Each environment is a fresh process: rich reads COLUMNS when the console is created.
_TERMINALS = [
    pytest.param({"COLUMNS": None, "LANG": "C", "LC_ALL": None}, id="no-COLUMNS-LANG=C"),
    pytest.param({"COLUMNS": "20", "LANG": "C.UTF-8", "LC_ALL": None}, id="COLUMNS=20-C.UTF-8"),
    pytest.param({"COLUMNS": "200", "LANG": "C", "LC_ALL": "C"}, id="COLUMNS=200-LC_ALL=C"),
]


@pytest.mark.parametrize("terminal", _TERMINALS)
def test_error_messages_are_whole_whatever_the_terminal_width_and_locale(tmp_path, terminal):
    # A long path (the original failure) with a non-ASCII name (the locale).
    src = tmp_path / ("a-rather-long-folder-name-for-wrapping-" * 3 + "données")
    src.mkdir()
    _io.write_image(src / "grey.png", rng.integers(0, 256, (8, 9), dtype=np.uint8))
    np.save(src / "ok.npy", rng.standard_normal((8, 9)))
    out = tmp_path / "out"
    code, text = _finish(
        _start("filter", src, out, "-k", "box:size=3", "--dtype", "float32", **terminal)
    )
    assert code == 1, text
    failed = [line for line in text.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1, text
    assert str(src / "grey.png") in failed[0]
    assert "pass --dtype uint8 (output=np.uint8) or write .tif or .npy" in failed[0]
    assert "1 written, 0 skipped, 1 failed" in text
    assert (out / "ok.npy").is_file() and not (out / "grey.png").exists()


def test_usage_errors_are_one_plain_line_not_a_panel_wrapped_at_the_width():
    # Before: typer boxed this message in a panel 80 columns wide, breaking it mid-token.
    shape = "5y5" + "x5" * 40
    result = CliRunner().invoke(app, ["cost", "spatial", "--image", shape, "--kernel", "3"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert lines == [f"Error: Invalid value: --image must look like 12x12x3, got {shape!r}"]


# --------------------------------------------------------------------------- batch interruptions


def _make_batch(src: Path) -> None:
    # Large enough that filtering and encoding each file takes tens of milliseconds, so
    # that an interruption lands inside the batch, not after it.
    src.mkdir()
    for i in range(12):
        _io.write_image(src / f"p{i}.png", rng.integers(0, 256, (512, 512), dtype=np.uint8))
    for i in range(4):
        _io.write_image(src / f"t{i}.tif", rng.integers(0, 4096, (384, 384), dtype=np.uint16))
        np.save(src / f"n{i}.npy", rng.standard_normal((384, 384)).astype(np.float32))


def _same_as_reference(out: Path, ref: Path) -> None:
    names = [p.name for p in _visible(out)]
    assert set(names) <= {p.name for p in _visible(ref)}, names
    for name in names:
        got, want = _io.read_image(out / name).data, _io.read_image(ref / name).data
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_batch_interrupted_at_random_points_resumes_to_the_clean_result(tmp_path):
    src, out, ref = tmp_path / "in", tmp_path / "out", tmp_path / "ref"
    _make_batch(src)
    kernel = tmp_path / "k.npy"
    weights = np.abs(rng.integers(-3, 4, (11, 11))) + 1.0
    np.save(kernel, weights / weights.sum())  # taps sum to 1: the outputs stay uint8 PNGs
    points = np.random.default_rng(20261201)  # the interruption points, reproducibly
    options = _io.FilterOptions(kernel=str(kernel))
    clean = _io.filter_batch(_io.batch_pairs(src, ref), options)
    assert [r.status for r in clean] == ["written"] * 20
    inputs = {p.name: _sha(p) for p in _visible(src)}
    out.mkdir()
    # A temporary of a killed writer is swept; one of a live writer (this test) is kept.
    stale, live = _tmp_name("p0.png", _dead_pid()), _tmp_name("p1.png", os.getpid())
    (out / stale).write_bytes(b"half a png")
    (out / live).write_bytes(b"being written")

    interruptions = [signal.SIGINT, signal.SIGKILL, signal.SIGINT, signal.SIGKILL, signal.SIGTERM]
    for run, signum in enumerate(interruptions):
        before = {p.name: p.stat().st_mtime_ns for p in _visible(out)}
        # At least one new output, then a random point among the first half of the rest.
        target = len(before) + int(points.integers(1, 3))
        delay = float(points.uniform(0, 0.02))
        batch = str(src) if run % 2 == 0 else f"{src}/*"  # a directory and a glob
        proc = _start("filter", batch, out, "-k", kernel)
        _wait_until(lambda target=target: len(_visible(out)) >= target, proc)
        time.sleep(delay)
        proc.send_signal(signum)
        code, text = _finish(proc)
        where = f"run {run}, {signum!r} after {target} outputs (+{delay:.3f} s): {text}"
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 130), where
        if signum != signal.SIGKILL:
            assert "interrupted: finished outputs are complete" in text
            # Its own temporary removed, the killed writers' ones swept.
            assert _hidden(out) == [live], (signum, _hidden(out))
        _same_as_reference(out, ref)  # nothing partial under a final name
        for name, mtime in before.items():  # finished files were skipped, not rewritten
            assert (out / name).stat().st_mtime_ns == mtime, name
        assert len(_visible(out)) < 20, "the interruption came after the end"

    before = {p.name: p.stat().st_mtime_ns for p in _visible(out)}
    code, text = _finish(_start("filter", src, out, "-k", kernel, "--json"))
    assert code == 0, text
    record = json.loads(text)
    skipped = {Path(f["output"]).name for f in record["files"] if f["status"] == "skipped"}
    written = {Path(f["output"]).name for f in record["files"] if f["status"] == "written"}
    assert skipped == set(before) and written == {p.name for p in _visible(ref)} - set(before)
    assert all((out / n).stat().st_mtime_ns == m for n, m in before.items())
    _same_as_reference(out, ref)
    assert len(_visible(out)) == 20 and _hidden(out) == [live]
    assert {p.name: _sha(p) for p in _visible(src)} == inputs


def test_stale_temporaries_are_swept_once_per_directory_and_only_when_their_writer_died(
    tmp_path,
):
    dead, other_host = _tmp_name("a.npy", _dead_pid()), _tmp_name("b.npy", 1, "elsewhere")
    mine = _tmp_name("c.npy", os.getpid())
    for name in (dead, other_host, mine, "a.npy", ".hidden-but-not-ours"):
        (tmp_path / name).write_bytes(b"x")
    # Killed between moving the old d.zarr aside and renaming its replacement in.
    old_dir = tmp_path / f".d.zarr.{_dead_pid()}@{_files._host()}.ab12cd34.old"
    (old_dir / "d.zarr" / "c").mkdir(parents=True)
    (old_dir / "d.zarr" / "zarr.json").write_text("{}")
    assert _files.remove_stale_temporaries(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [other_host, mine, "a.npy", ".hidden-but-not-ours", "d.zarr"]
    )
    assert (tmp_path / "d.zarr" / "zarr.json").read_text() == "{}"  # put back, not lost
    (tmp_path / dead).write_bytes(b"x")
    assert _files.remove_stale_temporaries(tmp_path) == 0  # once per directory
    assert _files.remove_stale_temporaries(tmp_path, again=True) == 1


def test_ctrl_c_between_the_two_renames_of_a_directory_keeps_the_old_output(tmp_path, monkeypatch):
    target = tmp_path / "o.zarr"
    target.mkdir()
    (target / "zarr.json").write_text("old")
    real, calls = os.replace, []

    def replace(src, dst):  # the old output is moved aside, then Ctrl-C
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(_files.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt), _files.atomic_path(target, directory=True) as tmp:
        (tmp / "zarr.json").write_text("new")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["o.zarr"]
    assert (target / "zarr.json").read_text() == "old"


# --------------------------------------------------------------------------- volume interruptions


def _chunk_files(folder: Path) -> int:
    # os.walk, unlike Path.rglob, ignores a directory removed while it is being read.
    return sum(len(files) for _, _, files in os.walk(folder / "c"))


def _temporaries(parent: Path, name: str, pid: int | None = None) -> list[Path]:
    start = f".{name}." if pid is None else f".{name}.{pid}@"
    return [p for p in parent.iterdir() if p.name.startswith(start)]


def _volume_scenarios(tmp_path, src: Path, dst: Path, progress, chunks: int | None = None):
    """Old output; SIGKILL then SIGINT part-way (old output intact); a rerun finishes."""
    import zarr

    def read(path: Path) -> np.ndarray:
        if path.suffix == ".zarr":
            return zarr.open_array(str(path), mode="r")[:]
        return tifffile.imread(path)

    extra = () if chunks is None else ("--chunks", str(chunks))
    slabs = None if chunks is None else (chunks,)
    old = _io.FilterOptions(kernel="box:size=3")
    new = _io.FilterOptions(kernel="gaussian:sigma=1.5")
    clean = tmp_path / f"clean{dst.suffix}"
    _io.filter_volume(src, clean, new, chunks=slabs)
    _io.filter_volume(src, dst, old, chunks=slabs)
    old_sha, src_sha = _sha(dst), _sha(src)
    points = np.random.default_rng({".zarr": 7}.get(dst.suffix, 8))  # reproducible points
    for signum in (signal.SIGKILL, signal.SIGINT):
        proc = _start("filter", src, dst, "-k", "gaussian:sigma=1.5", *extra)
        target = float(points.uniform(0.2, 0.6))
        _wait_until(lambda t=target, pid=proc.pid: progress(dst, pid) >= t, proc)
        proc.send_signal(signum)
        code, text = _finish(proc)
        assert code == (-signal.SIGKILL if signum == signal.SIGKILL else 130), text
        assert _sha(dst) == old_sha  # the previous output is untouched, not half replaced
        if signum == signal.SIGINT:  # its own temporary removed, the killed one's swept
            assert _temporaries(dst.parent, dst.name) == []
    code, text = _finish(_start("filter", src, dst, "-k", "gaussian:sigma=1.5", *extra))
    assert code == 0, text
    np.testing.assert_array_equal(read(dst), read(clean))
    assert _temporaries(dst.parent, dst.name) == [] and _sha(src) == src_sha


def test_zarr_volume_killed_and_interrupted_part_way_reruns_to_the_clean_result(tmp_path):
    zarr = pytest.importorskip("zarr")
    pytest.importorskip("dask")
    # 64 chunks: enough that the job cannot finish the rest between the test seeing
    # its progress and the signal arriving, on a loaded 2-core machine
    data = rng.standard_normal((128, 96, 96)).astype(np.float32)
    src = tmp_path / "v.zarr"
    zarr.create_array(str(src), shape=data.shape, chunks=(8, 48, 48), dtype=data.dtype)[:] = data
    total = 16 * 2 * 2

    def progress(dst: Path, pid: int) -> float:  # chunks in the job's temporary, of all
        written = [_chunk_files(t) for t in _temporaries(dst.parent, dst.name, pid)]
        return max(written, default=0) / total

    _volume_scenarios(tmp_path, src, tmp_path / "o.zarr", progress)


def test_multipage_tiff_volume_killed_and_interrupted_part_way_reruns_to_the_clean_result(
    tmp_path,
):
    pytest.importorskip("dask")
    stack = rng.integers(0, 4096, (128, 160, 160), dtype=np.uint16)  # 16 slabs of 8
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, stack, photometric="minisblack")

    def progress(dst: Path, pid: int) -> float:  # bytes in the job's temporary, of all
        sizes = [t.stat().st_size for t in _temporaries(dst.parent, dst.name, pid)]
        return max(sizes, default=0) / stack.nbytes

    _volume_scenarios(tmp_path, src, tmp_path / "out.tif", progress, chunks=8)


def test_a_failing_chunk_leaves_no_late_write_to_recreate_the_temporary_zarr(tmp_path):
    da = pytest.importorskip("dask.array")
    pytest.importorskip("zarr")

    def slow_or_bad(block, block_id=None):
        if block_id == (0, 0):
            raise ZeroDivisionError("bad chunk")
        time.sleep(0.2)  # still running when the bad chunk stops the job
        return block

    lazy = da.ones((8, 8), chunks=(2, 8), dtype=np.float32).map_blocks(slow_or_bad)
    with pytest.raises(ZeroDivisionError):
        _io.write_volume(lazy, tmp_path / "o.zarr")
    time.sleep(0.5)  # any write that outlived the job would have landed by now
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- cluster faults


def test_zarr_job_survives_a_killed_worker_and_equals_the_clean_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    zarr = pytest.importorskip("zarr")
    import dask

    data = rng.standard_normal((48, 64, 64)).astype(np.float32)
    src, dst, clean = tmp_path / "v.zarr", tmp_path / "o.zarr", tmp_path / "clean.zarr"
    zarr.create_array(str(src), shape=data.shape, chunks=(4, 32, 32), dtype=data.dtype)[:] = data
    # Not separable: enough work per chunk that the kill lands mid-job.
    kernel = tmp_path / "k.npy"
    np.save(kernel, rng.standard_normal((5, 7, 7)))
    options = _io.FilterOptions(kernel=str(kernel), method="direct")
    _io.filter_volume(src, clean, options)
    total, killed = 12 * 2 * 2, {}

    def kill_one_worker(client) -> None:
        pids = client.run(os.getpid)  # {address: pid}, asked before the job starts
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            written = max((_chunk_files(t) for t in _temporaries(tmp_path, "o.zarr")), default=0)
            if written >= total // 4:
                pid = sorted(pids.values())[0]
                os.kill(pid, signal.SIGKILL)
                killed.update(pid=pid, written=written)
                return
            time.sleep(0.002)

    # Retries belong to distributed: a task on a killed worker is rerun elsewhere, and
    # allowed-failures bounds how often one task may take a worker down with it.
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 4}),
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        killer = threading.Thread(target=kill_one_worker, args=(client,), daemon=True)
        killer.start()
        result = _io.filter_volume(src, dst, options, client=client)
        killer.join(5)
        # The nanny replaced the killed worker process (a zombie may linger, so do not
        # ask the operating system whether the old pid still exists).
        survivors = set(client.run(os.getpid).values())
    assert result.status == "written"
    assert killed and killed["written"] < total, killed  # the kill came mid-job
    assert killed["pid"] not in survivors
    got = zarr.open_array(str(dst), mode="r")[:]
    np.testing.assert_array_equal(got, zarr.open_array(str(clean), mode="r")[:])
    assert _temporaries(tmp_path, "o.zarr") == []


# --------------------------------------------------------------------------- corrupt, hostile files

runner = CliRunner()


def _lzw_tiff(path: Path) -> None:
    # A TIFF whose Compression tag says LZW: reading it needs the optional imagecodecs.
    tifffile.imwrite(path, rng.integers(0, 256, (6, 7), dtype=np.uint8))
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags["Compression"].valueoffset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write((5).to_bytes(2, "little"))


def _bad_files(folder: Path) -> dict[str, str]:
    """Write one file per fault; return {name: words the error must contain}."""
    folder.mkdir()
    good = rng.integers(0, 256, (40, 40), dtype=np.uint8)
    _io.write_image(folder / "whole.png", good)
    (folder / "truncated.png").write_bytes((folder / "whole.png").read_bytes()[:200])
    np.save(folder / "bad-header.npy", good)
    raw = bytearray((folder / "bad-header.npy").read_bytes())
    raw[10:30] = b"{'descr': 'xx', !!!!"
    (folder / "bad-header.npy").write_bytes(bytes(raw))
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (folder / "empty.tif").write_bytes(b"")
    with tifffile.TiffWriter(folder / "two-shapes.tif") as tif:
        tif.write(good)
        tif.write(good[:10, :20])
    if importlib_missing("imagecodecs"):
        _lzw_tiff(folder / "lzw.tif")
    np.save(folder / "fine.npy", rng.standard_normal((12, 12)))
    expect = {
        "truncated.png": "truncated or corrupt: copy or write it again",
        "bad-header.npy": "truncated or corrupt: copy or write it again",
        "objects.npy": "save a numeric array",
        "empty.tif": "is empty (0 bytes), perhaps an interrupted copy; copy or write it again",
        "two-shapes.tif": "split it into one file per image",
    }
    if (folder / "lzw.tif").exists():
        expect["lzw.tif"] = "install imagecodecs"
    return expect


def importlib_missing(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is None


def test_corrupt_files_are_reported_by_name_with_a_fix_and_the_batch_goes_on(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    expect = _bad_files(src)
    sums = {p.name: _sha(p) for p in src.iterdir()}
    kernel = "box:size=3,normalize=True"  # taps sum to 1: the PNG output stays uint8
    result = runner.invoke(app, ["filter", str(src), str(out), "-k", kernel, "--json"])
    assert result.exit_code == 1, result.output
    record = json.loads(result.output)
    status = {Path(f["input"]).name: f for f in record["files"]}
    assert {n for n, f in status.items() if f["status"] == "written"} == {"whole.png", "fine.npy"}
    for name, words in expect.items():
        assert status[name]["status"] == "failed", name
        assert str(src / name) in status[name]["error"] and words in status[name]["error"], (
            name,
            status[name]["error"],
        )
    assert record["failed"] == len(expect)
    assert sorted(p.name for p in out.iterdir()) == ["fine.npy", "whole.png"]  # no litter
    assert {p.name: _sha(p) for p in src.iterdir()} == sums  # inputs untouched


def test_a_multipage_tiff_of_unequal_pages_is_not_read_as_its_first_page(tmp_path):
    with tifffile.TiffWriter(tmp_path / "mixed.tif") as tif:
        for shape in ((8, 8), (8, 8), (5, 9)):
            tif.write(np.zeros(shape, np.uint8))
    with pytest.raises(
        _io.FileFormatError,
        match=r"holds 3 separate images \(shapes \(8, 8\), \(8, 8\), \(5, 9\)\)",
    ):
        _io.read_image(tmp_path / "mixed.tif")


def test_bad_kernel_files_and_an_imageless_folder_are_named_with_the_fix(tmp_path):
    image = tmp_path / "in.npy"
    np.save(image, rng.standard_normal((6, 6)))
    sums = _sha(image)
    cases = {
        "text.txt": ("1 2 1\n2 four 2\n", "cannot be read as a kernel", "numbers separated by"),
        "nan.csv": ("1,2,1\n2,nan,2\n1,2,1\n", "1 NaN or infinite value(s)", "index (1, 1)"),
        "inf.txt": ("1 inf\n", "NaN or infinite", "finite number"),
        "blank.csv": ("", "holds no numbers", "commas, one row per line"),
    }
    for name, (text, *words) in cases.items():
        (tmp_path / name).write_text(text)
        result = runner.invoke(
            app, ["filter", str(image), str(tmp_path / "o.npy"), "-k", str(tmp_path / name)]
        )
        assert result.exit_code == 2, result.output
        assert f"kernel file {str(tmp_path / name)!r}" in result.output
        assert all(w in result.output for w in words), result.output
    np.save(tmp_path / "nan.npy", np.array([[1.0, np.nan]]))
    result = runner.invoke(
        app, ["filter", str(image), str(tmp_path / "o.npy"), "-k", str(tmp_path / "nan.npy")]
    )
    assert result.exit_code == 2 and "NaN or infinite" in result.output
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    (empty / ".hidden.png").write_bytes(b"")
    result = runner.invoke(app, ["filter", str(empty), str(tmp_path / "out"), "-k", "box:size=3"])
    assert result.exit_code == 2
    assert f"input {str(empty)!r} holds no" in result.output and ".png" in result.output
    assert not (tmp_path / "o.npy").exists() and not (tmp_path / "out").exists()
    assert _sha(image) == sums
