"""HTML pieces of the report: one self-contained page, images inlined, no network."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:0 auto;
padding:1rem;line-height:1.5;color:#222}
h1{font-size:1.8rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
figure{margin:1.5rem 0}img{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#444}
code,pre{background:#f6f6f6;border-radius:3px;padding:.1rem .3rem;font-size:.85rem}
pre{padding:.5rem;overflow-x:auto}.skipped{color:#a33}nav ol{columns:2}
footer{margin-top:3rem;font-size:.8rem;color:#666}
"""


def escape(text: Any) -> str:
    """HTML-escape ``text`` (converted with ``str``)."""
    return html.escape(str(text))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; cells are escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_figure(fig: Any, caption: str, command: str | None = None, dpi: int = 100) -> str:
    """A matplotlib figure as an inline PNG ``<figure>`` with its caption and command."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return png_bytes_figure(buffer.getvalue(), caption, command)


def png_bytes_figure(png: bytes, caption: str, command: str | None = None) -> str:
    """Encoded PNG bytes as an inline ``<figure>``."""
    data = base64.b64encode(png).decode("ascii")
    how = f"<br>Reproduce: <code>{escape(command)}</code>" if command else ""
    return (
        f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}{how}</figcaption></figure>"
    )


def render_page(built: Sequence[tuple[str, Any, str | None, float]], meta: dict[str, Any]) -> str:
    """The whole page from ``(key, Section | None, skip reason, seconds)`` tuples."""
    toc = "".join(
        f'<li><a href="#{escape(key)}">{escape(section.title if section else key)}</a></li>'
        for key, section, _, _ in built
    )
    parts = []
    for key, section, reason, seconds in built:
        if section is None:
            parts.append(
                f'<section id="{escape(key)}"><h2>{escape(key)}</h2>'
                f'<p class="skipped">Skipped: {escape(reason)}</p></section>'
            )
        else:
            parts.append(
                f'<section id="{escape(key)}"><h2>{escape(section.title)}</h2>{section.html}'
                f"<p><small>Built in {seconds:.1f} s.</small></p></section>"
            )
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>sepconv report</title><style>{_CSS}</style></head><body>"
        "<h1>sepconv report</h1>"
        "<p>Separable convolutions, computed on this machine: which kernels separate, what "
        "separating saves, how fast it runs, and when it hurts. Regenerate with "
        "<code>sepconv report</code>.</p>"
        f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>{''.join(parts)}"
        f"<footer>Measured {escape(meta.get('date', ''))} on {escape(meta.get('processor', ''))} "
        f"({escape(meta.get('machine', ''))}). Versions: {escape(versions)}. "
        f"Total time {escape(meta.get('seconds', ''))} s.</footer></body></html>"
    )
