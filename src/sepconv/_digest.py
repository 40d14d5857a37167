"""Keys for kernels: their bytes when small, a BLAKE2 digest when large.

Caches keyed by a kernel (programs, kernel analyses, folded taps) must not
keep large kernels alive: a 10**8-tap kernel is 800 MB.  Kernels up to
1 KiB enter keys as their bytes; larger ones as a 128-bit BLAKE2 digest
(collisions are out of reach: 2**-64 for 2**32 distinct kernels).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

__all__ = ["digest_cache", "kernel_key"]

_SMALL_KERNEL = 1024
F = TypeVar("F", bound=Callable[..., Any])


def kernel_key(weights: np.ndarray) -> tuple:
    """A hashable key for a kernel's dtype, shape and values (a digest when large)."""
    if weights.nbytes <= _SMALL_KERNEL:
        data = weights.tobytes()
    else:
        data = hashlib.blake2b(np.ascontiguousarray(weights).data, digest_size=16).digest()
    return weights.dtype.str, weights.shape, data


def _bytes_key(data: bytes) -> bytes:
    return data if len(data) <= _SMALL_KERNEL else hashlib.blake2b(data, digest_size=16).digest()


def digest_cache(maxsize: int) -> Callable[[F], F]:
    """Like ``functools.lru_cache``, for functions of kernel bytes: large bytes key by digest.

    The first argument (the kernel's bytes) enters the key as itself up to
    1 KiB and as a 128-bit BLAKE2 digest beyond, so cached results never keep
    a large kernel alive; the other arguments must be hashable.  At most
    ``maxsize`` results are kept (the oldest is dropped first).
    """

    def decorate(fn: F) -> F:
        results: dict[Any, Any] = {}
        lock = threading.Lock()

        @functools.wraps(fn)
        def cached(data: bytes, *args: Any) -> Any:
            key = (_bytes_key(data), *args)
            try:
                return results[key]
            except KeyError:
                pass
            value = fn(data, *args)
            with lock:
                while len(results) >= maxsize:
                    results.pop(next(iter(results)))
                results[key] = value
            return value

        cached.cache_clear = results.clear  # type: ignore[attr-defined]
        cached.cache_keys = lambda: list(results)  # type: ignore[attr-defined]
        return cached  # type: ignore[return-value]

    return decorate
