"""Starting or joining a :mod:`distributed` cluster for sepconv's Dask filters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._lazy import INSTALL_HINT as _INSTALL_HINT


@contextmanager
def cluster(
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    threads_per_worker: int = 1,
    **cluster_options: Any,
) -> Iterator[Any]:
    """Where Dask work runs: local threads, a new local cluster, or an existing one.

    Parameters
    ----------
    scheduler : str, optional
        ``None``, ``"threads"`` or ``"local"``: Dask's local threaded scheduler (yields
        ``None``); ``"sync"``: one thread, for debugging (yields ``None``);
        ``"tcp://HOST:PORT"`` (any address): connect to a running scheduler.
    workers : int, optional
        Start a :class:`distributed.LocalCluster` of this many worker processes, each
        with ``threads_per_worker`` threads, closed on exit.  Cannot be combined with an
        address.
    cluster_options
        Passed to :class:`distributed.LocalCluster`.

    Yields
    ------
    distributed.Client or None
        The client (its ``dashboard_link`` shows the dashboard), set as the default
        for Dask computations inside the block; ``None`` for the local schedulers.

    Examples
    --------
    >>> with cluster() as client:
    ...     print(client)
    None
    """
    if workers is not None and scheduler not in (None, "threads", "local", "distributed"):
        raise ValueError(
            f"workers={workers} starts a new local cluster; do not also give "
            f"scheduler={scheduler!r} (use one or the other)"
        )
    if workers is None and scheduler in (None, "threads", "local"):
        import dask

        with dask.config.set(scheduler="threads"):
            yield None
        return
    if workers is None and scheduler in ("sync", "synchronous", "single-threaded"):
        import dask

        with dask.config.set(scheduler="sync"):
            yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError(f"a Dask cluster needs distributed; {_INSTALL_HINT}") from None
    if workers is not None:
        if isinstance(workers, bool) or int(workers) < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        options = {"dashboard_address": ":0", **cluster_options}
        with (
            LocalCluster(
                n_workers=int(workers),
                threads_per_worker=threads_per_worker,
                processes=True,
                **options,
            ) as local,
            Client(local) as client,
        ):
            yield client
        return
    if not isinstance(scheduler, str) or "://" not in scheduler and ":" not in scheduler:
        raise ValueError(
            f"scheduler must be 'threads', 'sync' or a scheduler address such as "
            f"'tcp://127.0.0.1:8786', got {scheduler!r}"
        )
    with Client(scheduler) as client:
        yield client
