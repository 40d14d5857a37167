"""Figures drawn from the JSON other parts of sepconv write: benchmarks and the study.

Their schemas are young, so each reader looks for a list of records (top level, or under one
of ``_LIST_KEYS``) and for each field under a few names; the minimal schema each one needs is
in its docstring.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._draw import COLORS, figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["capacity_study", "filter_speed", "layer_speedup"]

_LIST_KEYS = ("results", "rows", "records", "cases", "benchmarks", "layers", "data", "measurements")
_TIME_KEYS = (
    ("median_s", 1.0),
    ("median", 1.0),
    ("time_s", 1.0),
    ("seconds", 1.0),
    ("median_ms", 1e-3),
    ("time_ms", 1e-3),
    ("ms", 1e-3),
    ("median_us", 1e-6),
)
_METHOD_KEYS = ("method", "impl", "implementation", "library", "peer", "backend", "tool")
_CASE_KEYS = ("group", "dtype", "shape", "image", "size", "kernel", "k", "ksize", "kernel_size")
_K_KEYS = ("k", "ksize", "kernel_size")


def _load_json(path: str | Path, what: str, command: str) -> Any:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: {p} does not exist; write it with `{command}` first")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what}: {p} is not valid JSON ({exc})") from None


def _records(data: Any) -> list[dict[str, Any]]:
    def is_records(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    if is_records(data):
        return data
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if is_records(data.get(key)):
                return data[key]
        for value in data.values():
            if is_records(value):
                return value
        for key in _LIST_KEYS:  # {"results": {"case name": {...}, ...}}
            value = data.get(key)
            if (
                isinstance(value, dict)
                and value
                and all(isinstance(v, dict) for v in value.values())
            ):
                return [{"case": name, **v} for name, v in value.items()]
    return []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _time_of(record: Mapping[str, Any]) -> float | None:
    for key, scale in _TIME_KEYS:
        value = _number(record.get(key))
        if value is not None:
            return value * scale
    return None


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(_text(v) for v in value)
    return str(value)


def _case_label(record: Mapping[str, Any], exclude: Iterable[str] = ()) -> str:
    for key in ("case", "label", "name", "title"):
        if isinstance(record.get(key), str) and key not in exclude:
            return record[key]
    has_k = any(k in record for k in _K_KEYS)
    parts = []
    for key in _CASE_KEYS:
        if key not in record or key in exclude or (key == "kernel" and has_k):
            continue
        value = record[key]
        parts.append(f"k={_text(value)}" if key in _K_KEYS else _text(value))
    return " ".join(parts) or "?"


def _speed_rows(
    records: Sequence[Mapping[str, Any]],
) -> tuple[list[tuple[str, str, float]], dict[str, str]]:
    """``(case, method, seconds)`` rows and each case's ``"primary"`` method where one is named.

    Records are long (one method each) or hold a ``method -> time`` (or ``method -> {time}``)
    mapping, like ``bench_filters.py``'s ``"contenders"``.
    """
    rows, primary = [], {}
    for rec in records:
        method = next((str(rec[k]) for k in _METHOD_KEYS if isinstance(rec.get(k), str)), None)
        seconds = _time_of(rec)
        if method is not None and seconds is not None:
            rows.append((_case_label(rec), method, seconds))
            continue
        if isinstance(rec.get("primary"), str):
            primary[
                _case_label(rec, exclude=[k for k, v in rec.items() if isinstance(v, Mapping)])
            ] = rec["primary"]
        for key, value in rec.items():
            if not isinstance(value, Mapping):
                continue
            scale = dict(_TIME_KEYS).get(key, 1.0)
            for name, entry in value.items():
                t = _number(entry)
                t = (
                    t * scale
                    if t is not None
                    else (_time_of(entry) if isinstance(entry, Mapping) else None)
                )
                if t is not None:
                    rows.append((_case_label(rec, exclude=(key,)), str(name), t))
    return rows, primary


# bench_filters.py rows charted: the sizes and kernels the README quotes, against the peers.
_HEADLINE_SHAPES = ((1024, 1024), (1080, 1920), (4096, 4096))
_HEADLINE_K = (3, 15, 31)
_NOT_PEERS = ("sepconv", "after torch op", "1 thread", "np.copyto")


def _headline(rec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A bench_filters.py record cut to its headline peers, None when it is not charted.

    Records of other schemas pass unchanged.
    """
    contenders, primary = rec.get("contenders"), rec.get("primary")
    if not isinstance(contenders, Mapping) or not isinstance(primary, str) or "ksize" not in rec:
        return rec
    shape, k = tuple(rec.get("shape", ())), rec["ksize"]
    box = rec.get("family") == "box"
    big_box = box and k == 101 and shape in ((2048, 2048), (4096, 4096))
    if not ((shape in _HEADLINE_SHAPES and k in _HEADLINE_K and not box) or big_box):
        return None
    keep = {
        name: entry
        for name, entry in contenders.items()
        if name == primary or not any(word in name for word in _NOT_PEERS)
    }
    return {key: (keep if key == "contenders" else value) for key, value in rec.items()
            if key != "ratios"}  # fmt: skip


def filter_speed(path: str | Path, *, small: bool = False) -> Figure:
    """Speed chart of the filtering benchmark: each peer's time relative to sepconv's.

    Reads ``benchmarks/results/filters.json``.  Minimal schema: a list of records (top level or
    under ``"results"``, ``"rows"``, ``"records"`` or ``"cases"``), each either long form
    ``{"case": "float32 4096x4096 k=7", "method": "cv2.sepFilter2D", "median_s": 0.012}`` or
    wide form ``{"dtype": ..., "shape": ..., "k": ..., "median_s": {"sepconv": ..., "cv2": ...}}``.
    The case label is ``"case"``/``"label"``/``"name"`` or built from ``dtype``, ``shape``,
    ``kernel``, ``k``, ``mode``; the method from ``method``/``impl``/``library``/``peer``/
    ``backend``; the time from ``median_s``/``median``/``time_s``/``seconds`` or ``median_ms``.
    The reference of a case is its ``"primary"`` method when the record names one, else the
    method whose name contains ``"sepconv"``; without one, absolute times are drawn.

    Parameters
    ----------
    path : str or Path
        The JSON file.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes labelled ``"speed"``; one line of markers per peer (labelled by method) with
        x = peer time / sepconv time, y = case index.

    Raises
    ------
    ValueError
        If the file is missing, not JSON, or holds no (case, method, time) records.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from sepconv import plot
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "filters.json"
    >>> rows = [{"case": "512x512 k=7", "method": m, "median_s": t}
    ...         for m, t in (("sepconv", 0.002), ("cv2.sepFilter2D", 0.003))]
    >>> _ = path.write_text(json.dumps({"results": rows}))
    >>> fig = plot.filter_speed(path, small=True)
    >>> [(ln.get_label(), [float(x) for x in ln.get_xdata()]) for ln in fig.axes[0].get_lines()][0]
    ('cv2.sepFilter2D', [1.5])
    """
    data = _load_json(path, "path", "python benchmarks/bench_filters.py")
    everything = _records(data)
    # bench_filters.py's full runs hold ~120 rows: chart the headline ones when there are any
    records = [h for r in everything if (h := _headline(r)) is not None] or everything
    rows, primary = _speed_rows(records)
    if not rows:
        raise ValueError(
            f"path: {path} holds no benchmark records; expected a list of "
            '{"case": ..., "method": ..., "median_s": ...} under "results"'
        )
    cases = list(dict.fromkeys(case for case, _, _ in rows))
    methods = list(dict.fromkeys(method for _, method, _ in rows))
    times = {(case, method): t for case, method, t in rows}
    fallback = next((m for m in methods if "sepconv" in m.lower()), None)
    reference = {case: primary.get(case, fallback) for case in cases}
    references = sorted({r for r in reference.values() if r is not None})
    fs = 6 if small else 9
    fig = figure((6, 1.2 + 0.16 * len(cases)) if small else (10, 2 + 0.3 * len(cases)))
    ax = fig.subplots()
    ax.set_label("speed")
    for i, method in enumerate(methods):
        xs, ys = [], []
        for j, case in enumerate(cases):
            t, ref = times.get((case, method)), reference[case]
            base = times.get((case, ref)) if ref else 1.0
            if t is not None and base and method != ref:
                xs.append(t / base)
                ys.append(j)
        if xs:
            ax.plot(
                xs,
                ys,
                linestyle="none",
                marker="os^vD<>ph*"[i % 10],
                markersize=5,
                color=COLORS[i % len(COLORS)],
                label=method,
            )
    if not references:
        ax.set_xlabel("median time (s, log scale)", fontsize=fs)
    else:
        ax.axvline(1, color="#333333", linewidth=1)
        ax.set_xlabel(
            f"time relative to {' / '.join(references)} (log scale; > 1: sepconv is faster)",
            fontsize=fs,
        )
    ax.set_xscale("log")
    ax.set_yticks(range(len(cases)), cases, fontsize=fs - 1)
    ax.invert_yaxis()
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.tick_params(labelsize=fs - 1)
    ax.legend(fontsize=fs - 1, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(
        "Filtering speed: every peer against sepconv, medians measured in one run"
        if references
        else "Filtering speed: median time of each implementation (no sepconv timing found)",
        fontsize=fs + 1,
    )
    return fig


_SPEEDUP_KEYS = ("speedup", "measured_speedup", "speed_up", "measured")
_THEORY_KEYS = ("mac_ratio", "theoretical_speedup", "theoretical", "macs_ratio", "theory")
_STANDARD_KEYS = (("standard_s", 1.0), ("conv_s", 1.0), ("dense_s", 1.0), ("standard_ms", 1e-3))
_SEPARABLE_KEYS = (("separable_s", 1.0), ("dsconv_s", 1.0), ("separable_ms", 1e-3))
_VARIANT_KEYS = ("layout", "memory_format", "format", "pass", "direction", "phase", "mode")


def _first(record: Mapping[str, Any], keys: Iterable[Any]) -> float | None:
    for key in keys:
        key, scale = key if isinstance(key, tuple) else (key, 1.0)
        value = _number(record.get(key))
        if value is not None:
            return value * scale
    return None


def _layer_label(record: Mapping[str, Any]) -> str:
    k = next((record[key] for key in ("kernel_size", "kernel", "k") if key in record), None)
    for key in ("layer", "name", "case", "label"):
        if isinstance(record.get(key), str):
            return record[key] + (f" k={_text(k)}" if k is not None else "")
    cin = record.get("in_channels", record.get("cin"))
    cout = record.get("out_channels", record.get("cout"))
    size = record.get("size", record.get("hw", record.get("resolution")))
    parts = []
    if cin is not None and cout is not None:
        parts.append(f"{cin}→{cout}")
    if size is not None:
        parts.append(f"@{_text(size)}")
    if k is not None:
        parts.append(f"k{_text(k)}")
    return " ".join(parts) or "?"


def layer_speedup(path: str | Path, *, small: bool = False) -> Figure:
    """Layer speed-up chart: measured speed-up of a depthwise separable layer vs its MAC ratio.

    Reads ``benchmarks/results/layers.json``.  Minimal schema: a list of records (top level or
    under ``"results"``/``"rows"``/``"layers"``), each with a layer label (``"layer"`` or
    ``"name"``, else built from ``in_channels``, ``out_channels``, ``size``; ``kernel_size``,
    ``kernel`` or ``k`` is appended),
    a variant (``"layout"``/``"memory_format"`` and ``"pass"``/``"direction"``, e.g.
    ``"channels_last"``, ``"forward"``), the measured speed-up (``"speedup"``, or the times
    ``standard_s`` and ``separable_s``) and the theoretical ratio (``"mac_ratio"``).

    Parameters
    ----------
    path : str or Path
        The JSON file.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure
        One axes labelled ``"speedup"``: a group of bars per layer (one bar per variant, bar
        labels are the variants) and black ticks at the MAC ratio (line labelled
        ``"MAC ratio"``).

    Raises
    ------
    ValueError
        If the file is missing, not JSON, or holds no speed-up records.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from sepconv import plot
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layers.json"
    >>> rows = [{"layer": "32->64 @ 112^2", "layout": "channels_last", "pass": "forward",
    ...          "conv_s": 0.03, "separable_s": 0.01, "mac_ratio": 7.9}]
    >>> _ = path.write_text(json.dumps({"rows": rows}))
    >>> fig = plot.layer_speedup(path, small=True)
    >>> [float(bar.get_width()) for bar in fig.axes[0].containers[0]]
    [3.0]
    """
    data = _load_json(path, "path", "python benchmarks/bench_layers.py")
    rows = []
    for rec in _records(data):
        speedup = _first(rec, _SPEEDUP_KEYS)
        if speedup is None:
            standard, separable = _first(rec, _STANDARD_KEYS), _first(rec, _SEPARABLE_KEYS)
            if standard is not None and separable:
                speedup = standard / separable
        if speedup is None:
            continue
        variant = " ".join(str(rec[k]) for k in _VARIANT_KEYS if isinstance(rec.get(k), str))
        rows.append((_layer_label(rec), variant or "measured", speedup, _first(rec, _THEORY_KEYS)))
    if not rows:
        raise ValueError(
            f"path: {path} holds no layer records; expected a list of "
            '{"layer": ..., "layout": ..., "pass": ..., "speedup": ..., "mac_ratio": ...}'
        )
    layers = list(dict.fromkeys(r[0] for r in rows))
    variants = list(dict.fromkeys(r[1] for r in rows))
    fs = 6 if small else 9
    fig = figure(
        (6, 1 + 0.25 * len(layers) * len(variants) ** 0.5)
        if small
        else (10, 1.8 + 0.45 * len(layers) * max(1, len(variants)) ** 0.5)
    )
    ax = fig.subplots()
    ax.set_label("speedup")
    height = 0.8 / len(variants)
    values = {(r[0], r[1]): r[2] for r in rows}
    for v, variant in enumerate(variants):
        ys, xs = [], []
        for i, layer in enumerate(layers):
            if (layer, variant) in values:
                ys.append(i - 0.4 + height * (v + 0.5))
                xs.append(values[(layer, variant)])
        ax.barh(ys, xs, height=height * 0.9, color=COLORS[v % len(COLORS)], label=variant)
    theory = {r[0]: r[3] for r in rows if r[3] is not None}
    if theory:
        ys = [layers.index(layer) for layer in theory]
        ax.plot(
            list(theory.values()),
            ys,
            linestyle="none",
            marker="|",
            markersize=24 if not small else 12,
            markeredgewidth=2,
            color="black",
            label="MAC ratio",
        )
    ax.axvline(1, color="#333333", linewidth=1)
    ax.set_yticks(range(len(layers)), layers, fontsize=fs - 1)
    ax.invert_yaxis()
    ax.set_xlabel("speed-up of the depthwise separable layer over nn.Conv2d (×)", fontsize=fs)
    ax.grid(True, axis="x", alpha=0.3)
    ax.tick_params(labelsize=fs - 1)
    ax.legend(fontsize=fs - 1, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(
        "Measured speed-up per layer (bars) against the multiply-accumulate ratio (ticks)",
        fontsize=fs + 1,
    )
    return fig


def capacity_study(path: str | Path, *, small: bool = False) -> Figure:
    """The capacity study's plot: test accuracy against weights and against MACs per family.

    Reads a study's ``results.json`` (``sepconv study`` writes it) and draws it with
    :func:`sepconv.study.plot_results`, the study's own figure.  Minimal schema:
    ``{"summary": [{"family", "width", "weights", "macs", "test_acc_mean", "test_acc_std"}, ...]}``
    (or ``"runs"`` with one record per trained network, summarised here).

    Parameters
    ----------
    path : str or Path
        The study's ``results.json``.
    small : bool
        Draw a smaller figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the file is missing, not JSON, or has neither ``summary`` nor ``runs``.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> from sepconv import plot
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> summary = [{"family": "standard", "width": w, "weights": 100 * w, "macs": 900 * w,
    ...             "test_acc_mean": 90.0 + w, "test_acc_std": 0.5} for w in (2, 4)]
    >>> _ = path.write_text(json.dumps({"summary": summary}))
    >>> fig = plot.capacity_study(path, small=True)
    >>> [c.get_label() for c in fig.axes[0].containers]
    ['standard']
    """
    from ..study import plot_results, summarise

    data = _load_json(path, "path", "sepconv study --quick")
    summary = data.get("summary") if isinstance(data, dict) else None
    if not summary and isinstance(data, dict) and data.get("runs"):
        summary = summarise(data["runs"])
    if not summary:
        raise ValueError(
            f"path: {path} has no 'summary' (or 'runs') list; expected the results.json "
            "that sepconv study writes"
        )
    name = data.get("dataset", {}).get("name") if isinstance(data.get("dataset"), dict) else None
    fig = plot_results(
        summary,
        title="Test accuracy: standard vs separable networks" + (f" on {name}" if name else ""),
    )
    fig.set_size_inches((6.5, 2.8) if small else (10, 4))
    return fig
