"""How many engine threads each Dask task may use (see :mod:`sepconv.dask`)."""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _local_concurrency() -> int:
    import dask
    from dask.system import CPU_COUNT

    thread = threading.current_thread()
    if multiprocessing.parent_process() is not None:
        # A task of Dask's multiprocessing scheduler: one process per pool slot.
        return int(dask.config.get("num_workers", None) or CPU_COUNT)
    if thread is threading.main_thread():
        return 1  # the synchronous scheduler runs tasks in the calling thread
    try:
        import dask.threaded as threaded

        pools = [threaded.default_pool]
        pools += [pool for per_thread in threaded.pools.values() for pool in per_thread.values()]
        for pool in pools:
            if pool is not None and thread in getattr(pool, "_threads", ()):
                return int(pool._max_workers)
    except Exception:  # Dask's internals moved: fall back on its configuration
        pass
    return int(dask.config.get("num_workers", None) or CPU_COUNT)


_HOST_THREADS: dict[str, tuple[float, int]] = {}
_HOST_THREADS_TTL = 30.0


def _worker_concurrency(worker: Any) -> int:
    own = int(worker.state.nthreads)
    cached = _HOST_THREADS.get(worker.address)
    if cached is not None and time.monotonic() - cached[0] < _HOST_THREADS_TTL:
        return cached[1]
    total = own
    try:
        from distributed import get_client

        info = get_client().scheduler_info(n_workers=-1)
        host = worker.ip
        total = sum(
            int(w.get("nthreads", 0)) for w in info["workers"].values() if w.get("host") == host
        )
    except Exception:  # no answer from the scheduler: count this worker alone
        total = own
    total = max(total, own)
    _HOST_THREADS[worker.address] = (time.monotonic(), total)
    return total


def _current_worker() -> Any:
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return get_worker()
    except ValueError:
        return None


def concurrent_tasks() -> int:
    """How many Dask tasks may run at once on this machine, seen from the caller.

    Inside a :mod:`distributed` worker: the sum of ``nthreads`` over the workers on
    this host.  Elsewhere: Dask's local thread-pool size for a pool thread, the
    process-pool size in a multiprocessing task, and 1 in the main thread.

    Examples
    --------
    >>> concurrent_tasks()
    1
    """
    # Without Dask imported no Dask scheduler can be running this code: one task.
    if "distributed" in sys.modules:
        worker = _current_worker()
        if worker is not None:
            return _worker_concurrency(worker)
    if "dask" not in sys.modules:
        return 1
    return _local_concurrency()


@contextmanager
def engine_threads(threads: int | None = None) -> Iterator[int]:
    """Limit the engine's threads in this thread to ``cores // concurrent tasks``.

    Every task of :func:`correlate`, :func:`convolve` and :func:`sepfilter` runs
    inside it (see "Threads: the rule" above); use it around your own engine calls
    in custom Dask tasks.  ``threads`` overrides the rule.  Yields the count used.

    Examples
    --------
    >>> with engine_threads() as n:
    ...     n >= 1
    True
    """
    from .._engine import get_num_threads, set_num_threads

    count = threads if threads is not None else max(1, _usable_cores() // concurrent_tasks())
    count = max(1, min(int(count), get_num_threads(max=True)))
    previous = get_num_threads()
    set_num_threads(count)
    try:
        yield count
    finally:
        set_num_threads(previous)
