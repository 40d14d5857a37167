"""The engine's thread pool: plain Python threads running GIL-free Numba code.

Why not Numba's threading layers.  Measured on the project's 2-core machine,
each candidate running the same recorded launches of a 9 x 9 Gaussian
(``benchmarks/bench_threads.py``, ``benchmarks/results/threads.md``):

* ``omp`` (GNU OpenMP, Numba's default here) scales best on a quiet machine
  (2 threads / 1 thread 0.52-0.57 from 1024² up) because its workers spin
  after every parallel region, but a process that forks after one parallel
  call has children that are killed ("fork() called from a process already
  using GNU OpenMP"; also with Intel's OpenMP loaded), and on a busy machine
  (other processes, PyTorch's own OpenMP pool) 2-thread calls took 13-38 ms
  where 1 thread took 0.09 ms.
* ``workqueue`` is fork-safe but not thread-safe: concurrent calls from two
  Python threads abort the process ("Concurrent access has been detected").
* ``tbb`` is fork- and thread-safe (2T/1T 0.55-0.69), but pip's ``libtbb``
  is not on the loader's path (Numba then reports that TBB is required unless
  it is preloaded), and its workers slowed calls after a PyTorch operation
  (2T/1T up to 1.04-1.17 there).

This pool needs none of them, and measured 2T/1T 0.51-0.62 from 1024² up
(within 0.84-1.0 of ``omp``'s times), never above 1.07 with a PyTorch
operation between calls.  The kernels are ``nogil`` functions of a task
range; a call splits its tasks into chunks that the calling thread and up to
``n - 1`` workers take one at a time (dynamic scheduling: a worker that wakes
late or is descheduled takes fewer chunks).  An idle worker polls for 1 ms,
yielding the core at each poll (waking a sleeping thread took 0.3-1 ms on
this virtual machine, longer than most calls), then sleeps on a lock, which
keeps the pool cheap to share with PyTorch, Dask and other processes.  After
``fork()`` the child starts with no workers and creates new ones on first
use.  Any number of Python threads may call at once: each call's chunks are
claimed atomically (``next`` on an ``itertools.count`` holds the GIL), so
every task runs exactly once, and a caller never waits on a worker that has
not started one of its chunks.

Results never depend on the number of threads: chunks are fixed task ranges
and every task computes the same outputs whichever thread runs it.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["default_threads", "get_num_threads", "max_threads", "parallel_for", "set_num_threads"]

# A worker polls for the next job this long after finishing one before it
# sleeps: calls in a loop then find it awake.  Measured in bench_threads.py.
SPIN_S = 0.001

# Below this much work per thread (element-taps, ~20-50 us of kernel time) a
# second thread cannot pay for itself; above it the measured choice of
# parallel_for decides.
WORK_PER_THREAD = 1 << 18

# A call that takes less than this on one thread stays there.  Measured (9 x 9
# Gaussian via sepconv.correlate, float32 and uint8, a loop of calls with the
# workers awake, set_num_threads(1) against (2), medians; commit 2026-12-07),
# two threads gained nothing up to 384² (93-101 us on one thread, 2T/1T
# 1.01-1.02) and paid from 512² (150-170 us, 2T/1T 0.86-0.89); trying the pool
# on shorter calls only cost them (a sleeping worker's wake-up, 0.1-0.2 ms).
POOL_MIN_S = 120e-6


def max_threads() -> int:
    """Cores this process may run on (the most threads a call uses)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_LIMIT = max_threads()
_setting = threading.local()


def default_threads() -> int:
    """The thread count of threads that never called :func:`set_num_threads`: every core."""
    return _LIMIT


def get_num_threads() -> int:
    return int(getattr(_setting, "n", _LIMIT))


def set_num_threads(n: int) -> None:
    """Set the calling thread's count."""
    _setting.n = int(n)


class _Job:
    """One call's chunks; the caller and any workers claim them until none are left."""

    __slots__ = ("fn", "args", "bounds", "count", "claim", "finished", "done", "error")

    def __init__(self, fn: Callable[..., Any], args: tuple, bounds: list[int]) -> None:
        self.fn, self.args, self.bounds = fn, args, bounds
        self.count = len(bounds) - 1
        self.claim = itertools.count()
        self.finished = itertools.count(1)
        self.done = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        """Run chunks until none is left."""
        while (i := next(self.claim)) < self.count:
            try:
                self.fn(self.bounds[i], self.bounds[i + 1], *self.args)
            except BaseException as exc:  # re-raised in the caller
                self.error = exc
            if next(self.finished) == self.count:
                self.done.set()


class _Pool:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.workers: list[threading.Thread] = []
        self.lock = threading.Lock()

    def ensure(self, count: int) -> None:
        if len(self.workers) >= count:
            return
        with self.lock:
            while len(self.workers) < count:
                t = threading.Thread(
                    target=self._serve, args=(self.jobs,), name="sepconv-worker", daemon=True
                )
                t.start()
                self.workers.append(t)

    @staticmethod
    def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
        while True:
            job = None
            # Poll briefly (yielding the GIL and the core each time) before sleeping:
            # waking a sleeping thread took 0.3-1 ms here, longer than most calls.
            deadline = time.perf_counter() + SPIN_S
            while time.perf_counter() < deadline:
                try:
                    job = jobs.get_nowait()
                    break
                except queue.Empty:
                    time.sleep(0)
            (job or jobs.get()).work()


_pool = _Pool()


def _after_fork_in_child() -> None:
    # The parent's workers do not exist in the child; its queue may hold stale jobs.
    global _pool
    _pool = _Pool()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# What each work-size class (``work.bit_length()``) measured: seconds per unit of
# work on one thread and on the pool (moving averages), calls since the arm not
# in use was last measured, and calls run on one thread.
_rates: dict[int, list[float]] = {}
_EXPLORE = 16  # every 16th call of a class measures the arm it is not using
_KEEP = 0.7  # weight of the old rate in the moving average


def parallel_for(
    fn: Callable[..., Any], n: int, args: tuple = (), work: int = 0, threads: int | None = None
) -> None:
    """Run ``fn(start, stop, *args)`` over ``range(n)`` on the calling thread and the pool.

    ``fn`` must release the GIL (``@njit(nogil=True)``) to run in parallel.
    ``work`` (output elements x taps) decides the threads: one per
    :data:`WORK_PER_THREAD`, at most :func:`get_num_threads` -- or at most
    ``threads`` for this call alone (``-1``: every core), the one place a
    call overrides the setting (``workers=`` of sepconv.ndimage, Dask blocks).  With one thread
    ``fn(0, n, *args)`` runs in the caller, with no pool involved.  The range
    is cut into fixed chunks (independent of the thread count).

    Never slower than one thread, by measurement.  Whether a second thread
    pays depends on more than the work: two logical CPUs may share one core,
    memory bandwidth may be the limit, and on a busy machine (another process,
    or PyTorch's OpenMP workers spinning after an operation) a woken worker
    may be pre-empted inside a chunk while the caller waits for it.  So calls
    of each work-size class keep a moving average of the time per unit of
    work on one thread and on the pool, use the faster, and measure the other
    every 16th call so that a change (the machine getting busy or quiet) is
    seen.  The first two calls of a class run on one thread (the first may
    include loading its kernel), and a class whose calls take under
    :data:`POOL_MIN_S` on one thread never tries the pool, so that the early
    calls of a process run at their steady speed.  Results are the same
    either way.

    Examples
    --------
    >>> seen = []
    >>> parallel_for(lambda a, b: seen.extend(range(a, b)), 10)
    >>> sorted(seen) == list(range(10))
    True
    """
    if n <= 0:
        return
    limit = get_num_threads() if threads is None else (_LIMIT if threads == -1 else threads)
    threads = min(limit, n, max(1, work // WORK_PER_THREAD))
    if threads <= 1:
        fn(0, n, *args)
        return
    rates = _rates.setdefault(work.bit_length(), [0.0, 0.0, 0, 0])
    serial_rate, pool_rate, since, serial_calls = rates
    if serial_calls < 2:
        # The first call of a class may include loading or compiling its kernel, so one
        # thread runs it twice to get a true rate before the pool is tried; the workers
        # start now (in the background) so the later trial does not pay for their start.
        _pool.ensure(threads - 1)
        use_pool = False
    elif serial_rate * work < POOL_MIN_S:
        use_pool = False  # too short for a woken worker to take a chunk: never tried
    else:
        use_pool = pool_rate <= serial_rate if pool_rate else True
        if since >= _EXPLORE:  # measure the other arm now and then
            use_pool = not use_pool
    start = time.perf_counter()
    if use_pool:
        _run_on_pool(fn, n, args, threads)
    else:
        fn(0, n, *args)
    rate = (time.perf_counter() - start) / max(work, 1)
    slot = 1 if use_pool else 0
    # A rate that halves replaces the average at once (a cold first call, a machine
    # that became quiet); rises enter the average, which the arm in use updates every call.
    old = rates[slot]
    rates[slot] = rate if not old or rate < 0.5 * old else _KEEP * old + (1 - _KEEP) * rate
    rates[2] = 0 if since >= _EXPLORE else since + 1
    rates[3] += not use_pool


def _run_on_pool(fn: Callable[..., Any], n: int, args: tuple, threads: int) -> None:
    chunks = min(n, 64)
    bounds = [n * i // chunks for i in range(chunks + 1)]
    job = _Job(fn, args, bounds)
    pool = _pool
    pool.ensure(threads - 1)
    for _ in range(threads - 1):
        pool.jobs.put(job)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error
