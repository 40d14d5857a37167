"""The engine's threads: fork-safe, thread-safe, and results independent of the thread count."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import scipy.ndimage as ndi

import sepconv
from sepconv._engine import _pool

GAUSS = sepconv.kernels.gaussian(1.5, ndim=1)
KERNEL = np.outer(GAUSS, GAUSS)
# Large enough that a call uses every core (work >= cores * WORK_PER_THREAD).
SHAPE = (1024, 2048)
fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(SHAPE, dtype=np.float32)


def _filtered(seed: int) -> np.ndarray:
    return sepconv.correlate(_image(seed), KERNEL)


def test_a_big_call_is_split_across_threads():
    work = SHAPE[0] * SHAPE[1] * 2 * GAUSS.size
    assert work >= 2 * _pool.WORK_PER_THREAD
    seen: set[int] = set()
    lock = threading.Lock()

    def record(a: int, b: int) -> None:
        with lock:
            seen.add(threading.get_ident())
        for _ in range(200_000):  # long enough for a worker to wake and claim a chunk
            pass

    _pool.set_num_threads(2)
    _pool._rates[work.bit_length()] = [1.0, 0.5, 0, 2]  # the pool measured faster
    try:
        _pool.parallel_for(record, 64, work=work)
    finally:
        _pool.set_num_threads(_pool.default_threads())
    assert len(seen) == min(2, _pool.max_threads())


def test_workers_that_make_calls_slower_are_left_idle_and_tried_again_now_and_then():
    if _pool.max_threads() < 2:
        pytest.skip("one core")
    caller = threading.get_ident()
    used: list[int] = []
    slow = [True]

    def task(a: int, b: int) -> None:  # 1 ms per item in the caller
        if threading.get_ident() != caller:
            used[-1] += 1
            # a worker pre-empted inside its chunk (while slow), else as fast as the caller
            time.sleep((b - a) * (0.03 if slow[0] else 0.001))
        else:
            time.sleep((b - a) * 0.001)

    work = 1 << 40  # a size class of its own
    _pool._rates.pop(work.bit_length(), None)

    def calls(count: int) -> list[int]:
        start = len(used)
        for _ in range(count):
            used.append(0)
            _pool.parallel_for(task, 16, work=work)
        return used[start:]

    first = calls(3)  # two measurements on one thread (the first may compile), one on the pool
    assert first[:2] == [0, 0]
    later = calls(_pool._EXPLORE)
    # the pool was slower: one thread from then on, but for one exploring call
    assert sum(1 for u in later if u) <= 1
    slow[0] = False  # the machine got quiet: the next exploration finds the pool faster
    again = calls(2 * _pool._EXPLORE + 2)
    assert sum(1 for u in again[-_pool._EXPLORE :] if u) >= _pool._EXPLORE - 1


def test_every_task_runs_exactly_once_under_concurrent_callers():
    counts = np.zeros(1000, np.int64)
    lock = threading.Lock()

    def bump(a: int, b: int) -> None:
        with lock:
            counts[a:b] += 1

    threads = [
        threading.Thread(target=_pool.parallel_for, args=(bump, 1000), kwargs={"work": 1 << 30})
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert np.all(counts == 8)


def test_an_exception_in_a_task_reaches_the_caller():
    def fail(a: int, b: int) -> None:
        if a <= 3 < b:
            raise ZeroDivisionError("task 3")

    with pytest.raises(ZeroDivisionError, match="task 3"):
        _pool.parallel_for(fail, 16, work=1 << 30)


@pytest.mark.parametrize("threads", [1, 2])
def test_results_do_not_depend_on_the_thread_count(threads):
    if threads > sepconv.get_num_threads(max=True):
        pytest.skip("one core")
    x = _image()
    before = sepconv.get_num_threads()
    sepconv.set_num_threads(threads)
    try:
        ours = sepconv.correlate(x, KERNEL, mode="nearest")
    finally:
        sepconv.set_num_threads(before)
    assert np.array_equal(ours, sepconv.correlate(x, KERNEL, mode="nearest"))
    np.testing.assert_allclose(ours, ndi.correlate(x, KERNEL, mode="nearest"), atol=2e-6)


def test_32_concurrent_calls_from_8_threads_give_identical_results():
    expected = [_filtered(seed) for seed in range(4)]
    results: dict[int, list[np.ndarray]] = {}

    def worker(n: int) -> None:
        results[n] = [_filtered(seed) for seed in range(4)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert len(results) == 8
    for got in results.values():
        for a, b in zip(got, expected):
            assert np.array_equal(a, b)


def _child_result(seed: int) -> float:
    return float(_filtered(seed).sum(dtype=np.float64))


@fork
def test_a_forked_pool_filters_in_parallel_after_the_parent_did():
    expected = [_child_result(s) for s in range(4)]  # the parent uses its threads first
    with multiprocessing.get_context("fork").Pool(2) as workers:
        got = workers.map_async(_child_result, range(4)).get(timeout=120)  # dead workers hang
    assert got == expected


@fork
def test_a_forked_child_uses_threads_and_exits_cleanly():
    _filtered(0)
    code = (
        "import os, sys, numpy as np, sepconv\n"
        "from sepconv._engine import _pool\n"
        "g = sepconv.kernels.gaussian(1.5, ndim=1); k = np.outer(g, g)\n"
        "x = np.random.default_rng(0).random((1024, 2048), dtype=np.float32)\n"
        "ref = sepconv.correlate(x, k)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    for c in range(64):  # as if the pool had measured faster for every size\n"
        "        _pool._rates[c] = [1.0, 0.5, 0, 2]\n"
        "    ok = np.array_equal(sepconv.correlate(x, k), ref)\n"
        "    used = len(_pool._pool.workers)\n"
        "    os._exit(0 if ok and used == min(2, _pool.max_threads()) - 1 else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr


@fork
def test_a_torch_dataloader_with_workers_filters_large_images():
    torch = pytest.importorskip("torch")

    class Filtered(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 4

        def __getitem__(self, i: int):
            x = np.random.default_rng(i).random((2048, 2048), dtype=np.float32)
            return torch.from_numpy(sepconv.correlate(x, KERNEL))

    _filtered(0)  # the parent filtered in parallel before the workers were forked
    loader = torch.utils.data.DataLoader(
        Filtered(), batch_size=2, num_workers=2, multiprocessing_context="fork"
    )
    batches = list(loader)
    assert [tuple(b.shape) for b in batches] == [(2, 2048, 2048)] * 2
    first = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    assert np.array_equal(batches[0][0].numpy(), sepconv.correlate(first, KERNEL))


def test_calls_too_short_for_a_second_thread_never_try_the_pool():
    tried = []
    work = 1 << 41  # a size class of its own: far above WORK_PER_THREAD

    def task(a: int, b: int) -> None:  # a call far shorter than POOL_MIN_S
        tried.append(threading.get_ident())

    _pool._rates.pop(work.bit_length(), None)
    _pool.set_num_threads(2)
    try:
        for _ in range(3 * _pool._EXPLORE):
            _pool.parallel_for(task, 16, work=work)
    finally:
        _pool.set_num_threads(_pool.default_threads())
        _pool._rates.pop(work.bit_length(), None)
    assert set(tried) == {threading.get_ident()}
