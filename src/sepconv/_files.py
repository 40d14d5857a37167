"""Writing files safely: atomic replacement and JSON for NumPy values.

One definition serves the report, the study, the image/volume I/O and the CLI.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "atomic_write",
    "atomic_write_bytes",
    "json_default",
    "remove_stale_temporaries",
]


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary name is hidden (``.NAME.PID@HOST.XXXX.tmp<suffix>``) and keeps the
    suffix, so format detection by name still works.  On an exception (``KeyboardInterrupt``
    included) it is removed and the previous ``path``, if any, is left untouched.  With
    ``directory=True`` the temporary is a directory (for Zarr); an existing directory at
    ``path`` is replaced.

    A process killed outright (``SIGKILL``, a lost node) cannot clean up, so the first
    write into a directory in each process removes the temporaries there whose writing
    process, named in the temporary's name, no longer runs on this host.  Temporaries of
    live processes and of other hosts are left alone.  A previous output directory moved
    aside for its replacement is put back if the replacement never arrived.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(parent)
    prefix, suffix = f".{path.name}.{_owner()}.", f".tmp{path.suffix}"
    tmp: Path | None = None
    old: Path | None = None
    try:
        # Ctrl-C between creating the temporary and knowing its name would leave it
        # behind, and between the two renames of a directory would hide the output:
        # those few lines hold the signal and raise it just after.
        with _signals_held():
            if directory:
                tmp = Path(tempfile.mkdtemp(dir=parent, prefix=prefix, suffix=suffix))
            else:
                fd, name = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=suffix)
                os.close(fd)
                tmp = Path(name)
        yield tmp
        with _signals_held():
            # mkstemp/mkdtemp make private entries; give the result the usual permissions.
            os.chmod(tmp, (0o777 if directory else 0o666) & ~_umask())
            if directory and path.exists():
                # A directory cannot be renamed over a non-empty one: move the old one
                # aside first, so the target is never missing for longer than two renames.
                old = Path(tempfile.mkdtemp(dir=parent, prefix=prefix, suffix=".old"))
                os.replace(path, old / path.name)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
    except BaseException:
        if tmp is not None and tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            tmp.unlink(missing_ok=True)
        if old is not None:  # stopped between the two renames: put the old output back
            _restore(old, parent)
            shutil.rmtree(old, ignore_errors=True)
        raise


_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Run a few lines that SIGINT/SIGTERM must not split; deliver them afterwards.

    Python runs signal handlers in the main thread only, so elsewhere there is nothing
    to hold.  A held signal goes to the handler that was set before, once the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, Any]] = []
    previous: dict[int, Any] = {}
    try:
        for signum in _HELD_SIGNALS:
            previous[signum] = signal.signal(signum, lambda s, f: pending.append((s, f)))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum, frame in pending:
            handler = previous.get(signum)
            if callable(handler):
                handler(signum, frame)  # e.g. raise KeyboardInterrupt
            elif handler in (signal.SIG_DFL, None):
                os.kill(os.getpid(), signum)  # the default action, now


# ``.NAME.PID@HOST.RANDOM.tmp<suffix>`` or ``.NAME.PID@HOST.RANDOM.old``.
_TEMPORARY = re.compile(r"^\..+\.(\d+)@([A-Za-z0-9-]+)\.[A-Za-z0-9_]+\.(?:tmp.*|old)$")
_SWEPT: set[str] = set()
_SWEPT_LOCK = threading.Lock()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _owner() -> str:
    return f"{os.getpid()}@{_host()}"


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _restore(old: Path, parent: Path) -> None:
    # ``old`` holds a previous output moved aside for its replacement; if the replacement
    # never arrived, the previous output goes back rather than being lost.
    for child in list(old.iterdir()) if old.is_dir() else []:
        if not (parent / child.name).exists():
            os.replace(child, parent / child.name)


def remove_stale_temporaries(directory: str | os.PathLike[str], *, again: bool = False) -> int:
    """Remove the temporaries in ``directory`` left by writers that were killed.

    Once per directory and process (``again=True`` forces a new look): a scan of a large
    output directory for every file written would make a batch quadratic.  Returns the
    number of entries removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / ".out.npy.999999999@elsewhere.abcd1234.tmp.npy").write_bytes(b"")
    >>> remove_stale_temporaries(root)  # another host's writer: not ours to judge
    0
    """
    key = os.path.abspath(directory)
    with _SWEPT_LOCK:
        if key in _SWEPT and not again:
            return 0
        _SWEPT.add(key)
    host, removed = _host(), 0
    try:
        entries = list(os.scandir(key))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match.group(2) != host or _running(int(match.group(1))):
            continue
        if entry.is_dir(follow_symlinks=False):
            if entry.name.endswith(".old"):  # killed between two renames: keep the output
                _restore(Path(entry.path), Path(key))
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            try:
                os.unlink(entry.path)
            except FileNotFoundError:  # another process swept it first
                continue
        removed += 1
    return removed


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) beside ``path`` and rename: a reader never sees half a file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def json_default(obj: Any) -> Any:
    """``json.dumps`` fallback for NumPy arrays and scalars and paths."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
