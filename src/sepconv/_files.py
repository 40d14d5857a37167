"""Writing files safely: atomic replacement and JSON for NumPy values.

One definition serves the report, the study, the image/volume I/O and the CLI.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write", "atomic_write_bytes", "json_default"]


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary name is hidden (``.NAME.XXXX.tmp<suffix>``) and keeps the suffix, so
    format detection by name still works.  On an exception it is removed and the
    previous ``path``, if any, is left untouched.  With ``directory=True`` the temporary
    is a directory (for Zarr); an existing directory at ``path`` is replaced.

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
    prefix, suffix = f".{path.name}.", f".tmp{path.suffix}"
    if directory:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=prefix, suffix=suffix))
    else:
        fd, name = tempfile.mkstemp(dir=parent, prefix=prefix, suffix=suffix)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        # mkstemp/mkdtemp create private entries; give the result the usual permissions.
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
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


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
