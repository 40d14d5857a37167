"""``sepconv report``: one self-contained HTML page and a JSON of every number shown.

A section is one function ``build(ctx: Context) -> Section`` in its own module,
listed in :data:`SECTIONS`.  A section that raises (PyTorch missing, say) is
shown as skipped with its reason; the others are still written.  The previous
report is replaced only once the new one is complete.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._files import atomic_write, json_default
from ._html import render_page as _render_page

#: (key, "module:function") of every section, in page order.
SECTIONS: list[tuple[str, str]] = [
    ("kernels", "sepconv.report._kernels:build"),
    ("article", "sepconv.report._article:build"),
    ("figures", "sepconv.report._figures:build"),
    ("filtering", "sepconv.report._filtering:build"),
    ("holes", "sepconv.report._holes:build"),
    ("features", "sepconv.report._features:build"),
    ("morphology", "sepconv.report._morphology:build"),
    ("study", "sepconv.report._study:build"),
    ("zoo", "sepconv.report._zoo:build"),
    ("layers", "sepconv.report._layers:build"),
]


@dataclass
class Section:
    """What one section contributes: a title, HTML body and the numbers behind it.

    ``summary`` holds the section's cards for "At a glance": ``(label, value)`` or
    ``(label, value, note)``, each saying what sepconv does for the reader (a measured
    speed, a saving), not how the project tracks itself.
    """

    title: str
    html: str
    data: dict[str, Any] = field(default_factory=dict)
    summary: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Context:
    """Shared state handed to every section builder."""

    out_dir: Path
    quick: bool = True
    progress: Callable[[str], None] = lambda message: None


@dataclass
class Report:
    """Where the report went and what each section did."""

    out_dir: Path
    index: Path
    json_path: Path
    sections: dict[str, dict[str, Any]]
    seconds: float


def available_sections() -> list[str]:
    """Keys accepted by ``sections=`` (and ``sepconv report --sections``)."""
    return [key for key, _ in SECTIONS]


def build_report(
    out: str | os.PathLike[str] = "report",
    sections: Sequence[str] | None = None,
    *,
    quick: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Build ``index.html`` and ``report.json`` in ``out``.

    Parameters
    ----------
    out : path
        Output directory, created if missing.
    sections : sequence of str, optional
        Keys of the sections to build (default: all, see :func:`available_sections`).
    quick : bool
        Use the fast built-in defaults (the main job); ``False`` runs longer variants.
    progress : callable, optional
        Called with a line of text as each section starts and ends.
    """
    keys = available_sections() if sections is None else list(sections)
    unknown = sorted(set(keys) - set(available_sections()))
    if unknown:
        raise ValueError(f"sections: unknown {unknown}; choose from {available_sections()}")
    say = progress or (lambda message: None)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    ctx = Context(out_dir=out_dir, quick=quick, progress=say)
    built: list[tuple[str, Section | None, str | None, float]] = []
    for key, target in SECTIONS:
        if key not in keys:
            continue
        say(f"[{key}] building")
        t0 = time.perf_counter()
        try:
            module_name, func_name = target.split(":")
            builder = getattr(importlib.import_module(module_name), func_name)
            section, reason = builder(ctx), None
        except Exception as exc:  # a failed section is reported, not fatal
            section, reason = None, f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - t0
        say(f"[{key}] {'skipped: ' + reason if reason else 'done'} ({seconds:.1f} s)")
        built.append((key, section, reason, seconds))

    meta = _environment()
    meta["seconds"] = round(time.perf_counter() - start, 2)
    html = _render_page(built, meta)
    data = {
        "meta": meta,
        "sections": {
            key: {
                "title": section.title if section else key,
                "status": "skipped" if reason else "ok",
                "reason": reason,
                "seconds": round(seconds, 3),
                "data": section.data if section else None,
            }
            for key, section, reason, seconds in built
        },
    }
    index = out_dir / "index.html"
    json_path = out_dir / "report.json"
    atomic_write(index, html)
    atomic_write(json_path, json.dumps(data, indent=2, default=json_default))
    return Report(out_dir, index, json_path, data["sections"], meta["seconds"])


def _environment() -> dict[str, Any]:
    import numpy
    import scipy

    from .. import __version__

    versions = {
        "sepconv": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
    for name in ("numba", "torch", "cv2", "matplotlib"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except Exception:
            continue
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} logical CPUs, {platform.platform()}",
        "processor": _cpu_name(),
        "versions": versions,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


__all__ = ["SECTIONS", "Context", "Report", "Section", "available_sections", "build_report"]
