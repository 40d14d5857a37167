"""HTML pieces of the report: one self-contained page, images inlined, no network.

The page needs nothing but itself: styles are inline, images are ``data:`` URIs, there is no
script, and a Content-Security-Policy forbids the browser any other source, so a stray external
reference shows up as a blocked request (and a console error) instead of a silent download.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

# Only inline styles and data: images may load; no scripts, fonts, frames or connections.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

_CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--bg:#fff;--panel:#f6f7f9;--line:#dcdfe4;--accent:#1f5fbf;
--bad:#a4262c;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--muted:#a0a4aa;--bg:#16181b;
--panel:#202328;--line:#373b41;--accent:#8ab4f8;--bad:#f28b82}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);line-height:1.55;
font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--accent)}
header,footer,.layout{max-width:78rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.2rem}
h1{font-size:1.9rem;margin:.2rem 0 .4rem}
h2{font-size:1.4rem;border-bottom:1px solid var(--line);padding-bottom:.25rem;margin:2.4rem 0 .8rem}
h3{font-size:1.1rem;margin:0 0 .6rem}
.lead{font-size:1.05rem;max-width:48rem}.meta{color:var(--muted);font-size:.9rem}
nav{font-size:.92rem}
nav h2{font-size:1rem;margin:1rem 0 .4rem;border:0}
nav ol{padding-left:1.3rem;margin:.2rem 0}nav li{margin:.15rem 0}
nav ol ol{font-size:.88rem;list-style:lower-alpha}
nav .skipped a{color:var(--bad)}
main{min-width:0}
section{scroll-margin-top:1rem}
.glance{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.6rem;
margin:0;padding:0}
.glance div{background:var(--panel);border:1px solid var(--line);border-radius:6px;
padding:.5rem .7rem}
.glance dt{font-size:.78rem;color:var(--muted);overflow-wrap:anywhere}
.glance dd{margin:0;font-size:1.15rem;
font-weight:600}.glance dd.note{font-size:.8rem;font-weight:400;color:var(--muted)}
figure{margin:1.6rem 0;padding:1rem;background:var(--panel);border:1px solid var(--line);
border-radius:8px;scroll-margin-top:1rem}
figure img{display:block;max-width:100%;height:auto;margin:0 auto;background:#fff;
border-radius:4px}
figcaption{margin-top:.7rem;font-size:.95rem}
figcaption p{margin:.3rem 0}
.cmd{font-size:.88rem;color:var(--muted)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
code{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:.05rem .3rem;
overflow-wrap:anywhere}
figure code{background:var(--bg)}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.6rem;
overflow-x:auto}pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}
.scroll{overflow-x:auto;margin:1rem 0;max-width:100%}
code.command{overflow-wrap:normal}code.command span{white-space:nowrap}
details{margin:1rem 0}summary{cursor:pointer;color:var(--accent)}
table{border-collapse:collapse;font-size:.9rem;margin:1rem 0}
.scroll table{margin:0}
th,td{border:1px solid var(--line);padding:.3rem .55rem;text-align:right;vertical-align:top}
th{background:var(--panel)}td:first-child,th:first-child{text-align:left}
.skipped-section p{color:var(--bad)}
.built{color:var(--muted);font-size:.8rem}
footer{margin:3rem auto 2rem;font-size:.88rem;color:var(--muted)}
footer dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
footer dt{font-weight:600}footer dd{margin:0;overflow-wrap:anywhere}
@media (min-width:64rem){.layout{display:grid;grid-template-columns:15rem minmax(0,1fr);gap:2rem}
nav{position:sticky;top:0;align-self:start;max-height:100vh;overflow-y:auto;padding-bottom:1rem}}
@media (max-width:40rem){body{font-size:15px}h1{font-size:1.5rem}figure{padding:.5rem;
margin:1.2rem -.5rem}}
@media print{nav{display:none}figure{break-inside:avoid}}
"""

_FIGURE_ANCHOR = re.compile(r'<figure id="([^"]+)" data-title="([^"]*)"')


def escape(text: Any) -> str:
    """HTML-escape ``text`` (converted with ``str``)."""
    return html.escape(str(text))


def slug(text: str) -> str:
    """An id made of lower-case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


def command_html(text: str) -> str:
    """A command as ``<code>`` that wraps only between its words, never inside one.

    A browser may break a line after any hyphen (``--image`` between its dashes,
    ``spatial-convolution`` in the middle), which makes a command look like two; each word
    is kept whole and the line breaks only at spaces.
    """
    words = " ".join(f"<span>{escape(word)}</span>" for word in text.split())
    return f'<code class="command">{words}</code>'


def caption_html(text: str) -> str:
    """Caption text, escaped, with each ```command``` in backticks shown by :func:`command_html`."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        raise ValueError(f"caption has an unpaired backtick: {text!r}")
    return "".join(command_html(part) if i % 2 else escape(part) for i, part in enumerate(parts))


def speed(mine: float | None, theirs: float | None, peer: str = "") -> str:
    """``"14× faster than scipy"``: sepconv's time against a peer's, in words.

    Examples
    --------
    >>> speed(0.001, 0.014, "scipy"), speed(0.0013, 0.001, "OpenCV"), speed(1.0, 1.02)
    ('14× faster than scipy', '1.3× slower than OpenCV', 'as fast')
    """
    than = f" than {peer}" if peer else ""
    if mine is None or theirs is None or mine <= 0 or theirs <= 0:
        return f"not compared with {peer}" if peer else "-"
    factor, word = (theirs / mine, "faster") if theirs >= mine else (mine / theirs, "slower")
    if factor <= 1.05:  # within timing noise on a shared machine
        return f"as fast as {peer}" if peer else "as fast"
    return f"{factor:.2g}× {word}{than}" if factor < 10 else f"{factor:.0f}× {word}{than}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table (scrolling sideways on narrow screens); cells are escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    table_html = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table_html}</div>'


def png_figure(
    fig: Any,
    caption: str,
    command: str | None = None,
    dpi: int = 100,
    *,
    title: str | None = None,
    figure_id: str | None = None,
) -> str:
    """A matplotlib figure as an inline PNG ``<figure>`` with its caption and command.

    ``caption`` is the explanation (plain text, escaped); ``command`` the exact command that
    redraws the figure; ``title`` puts a heading above the figure and an entry in the page's
    table of contents (anchored at ``figure_id``, by default derived from the title).
    """
    buffer = io.BytesIO()
    # No "Software" text chunk: the page carries no URL, even inside an image.
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if getattr(fig.canvas, "manager", None) is not None:  # made by pyplot: release it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return png_bytes_figure(buffer.getvalue(), caption, command, title=title, figure_id=figure_id)


def png_bytes_figure(
    png: bytes,
    caption: str,
    command: str | None = None,
    *,
    title: str | None = None,
    figure_id: str | None = None,
) -> str:
    """Encoded PNG bytes as an inline ``<figure>`` (see :func:`png_figure`).

    Text in backticks in ``caption`` is a command (see :func:`caption_html`).
    """
    data = base64.b64encode(png).decode("ascii")
    how = f'<p class="cmd">Reproduce: {command_html(command)}</p>' if command else ""
    alt = title or caption.replace("`", "")
    if title:
        anchor = escape(figure_id or slug(title))
        opening = f'<figure id="{anchor}" data-title="{escape(title)}"><h3>{escape(title)}</h3>'
    else:
        opening = f'<figure id="{escape(figure_id)}">' if figure_id else "<figure>"
    return (
        f'{opening}<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption><p>{caption_html(caption)}</p>{how}</figcaption></figure>"
    )


def _toc(built: Sequence[tuple[str, Any, str | None, float]]) -> str:
    items = []
    for key, section, _, _ in built:
        if section is None:
            items.append(
                f'<li class="skipped"><a href="#{escape(key)}">{escape(key)}</a> (skipped)</li>'
            )
            continue
        figures = "".join(
            f'<li><a href="#{anchor}">{title}</a></li>'
            for anchor, title in _FIGURE_ANCHOR.findall(section.html)
        )
        sub = f"<ol>{figures}</ol>" if figures else ""
        items.append(f'<li><a href="#{escape(key)}">{escape(section.title)}</a>{sub}</li>')
    return f'<nav aria-label="Contents"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def _glance(built: Sequence[tuple[str, Any, str | None, float]]) -> str:
    cards = "".join(
        f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd>"
        + "".join(f'<dd class="note">{escape(note)}</dd>' for note in notes)
        + "</div>"
        for _, section, _, _ in built
        if section is not None
        for label, value, *notes in section.summary
    )
    if not cards:
        return ""
    return (
        f'<section id="at-a-glance"><h2>At a glance</h2><dl class="glance">{cards}</dl></section>'
    )


def _footer(meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    rows = [
        ("Date", meta.get("date", "")),
        ("Processor", meta.get("processor", "")),
        ("Machine", meta.get("machine", "")),
        ("Versions", versions),
        ("Built in", f"{meta.get('seconds', '')} s"),
    ]
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return (
        f"<footer><h2>Measured on</h2><dl>{cells}<dt>Regenerate</dt>"
        "<dd><code>sepconv report</code></dd></dl></footer>"
    )


def render_page(built: Sequence[tuple[str, Any, str | None, float]], meta: dict[str, Any]) -> str:
    """The whole page from ``(key, Section | None, skip reason, seconds)`` tuples."""
    parts = []
    for key, section, reason, seconds in built:
        if section is None:
            parts.append(
                f'<section id="{escape(key)}" class="skipped-section"><h2>{escape(key)}</h2>'
                f"<p>Skipped: {escape(reason)}</p><p>Retry this part alone: "
                f"<code>sepconv report --sections {escape(key)}</code></p></section>"
            )
        else:
            parts.append(
                f'<section id="{escape(key)}"><h2>{escape(section.title)}</h2>{section.html}'
                f'<p class="built">Section built in {seconds:.1f} s.</p></section>'
            )
    n_ok = sum(1 for _, section, _, _ in built if section is not None)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>sepconv report</title><style>{_CSS}</style></head><body>"
        "<header><h1>sepconv report</h1>"
        '<p class="lead">Separable convolutions, computed on this machine: which kernels '
        "separate, what separating saves, how fast it runs, and when it hurts. Every picture "
        "is drawn from sepconv's own computations; each says the command that redraws it.</p>"
        f'<p class="meta">Measured {escape(meta.get("date", ""))} on '
        f"{escape(meta.get('processor', ''))}; {n_ok} of {len(built)} sections built in "
        f"{escape(meta.get('seconds', ''))} s. Regenerate with <code>sepconv report</code>; "
        "every number shown is in <code>report.json</code> beside this page.</p></header>"
        f'<div class="layout">{_toc(built)}<main>{_glance(built)}{"".join(parts)}</main></div>'
        f"{_footer(meta)}</body></html>"
    )
