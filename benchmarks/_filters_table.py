"""The filtering benchmark's Markdown: the run's settings, the tables, the targets."""

from __future__ import annotations

from typing import Any

from _common import fmt_ms, markdown_table
from _filters_cases import FIRST_CALL_KEYS
from _filters_peers import (
    AFTER_TORCH,
    COPY,
    COPY_2,
    CORRELATE,
    CV2_SAME,
    EXACT_SAME,
    KORNIA,
    NEW_COPY,
    ONE_THREAD,
    ONE_THREAD_AFTER_TORCH,
    PLAN,
    SCIPY_SAME,
    SEPCONV_TORCH,
    SEPFILTER,
    SEPFILTER2D,
    SEPFILTER2D_AFTER_TORCH,
)
from _filters_targets import opencv_best

STATUS = {True: "met", False: "**NOT met**", None: "not measured"}


def _shape(case: dict[str, Any]) -> str:
    return "x".join(map(str, case["shape"]))


def _ms(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "-"
    if "median_s" not in entry:
        return "error" if entry.get("skipped", "").startswith("error") else "-"
    return fmt_ms(entry["median_s"])


def _vs(con: dict[str, Any], mine: str, peer: str) -> str:
    """The peer's time and, in parentheses, ``mine`` / peer (< 1: sepconv faster)."""
    entry = con.get(peer)
    text = _ms(entry)
    a, b = con.get(mine, {}).get("median_s"), (entry or {}).get("median_s")
    return f"{text} ({a / b:.2f})" if a and b else text


def _settings(data: dict[str, Any]) -> list[str]:
    meta = data["meta"]
    th = meta["threads"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if v)
    return [
        f"Measured {meta['date']} on {meta['cpu']} ({meta['logical_cpus']} logical CPUs); "
        f"load average {meta['loadavg_start']} at start, {meta['loadavg_end']} at end; "
        f"{'quick run' if meta['quick'] else 'full run'} in {meta['seconds']:.0f} s. "
        f"Command: `{meta['command']}`.",
        "",
        f"Threads: sepconv default {th['sepconv']} of {th['sepconv_max']} "
        f"({meta.get('threading')}), OpenCV {th['cv2']}, PyTorch {th['torch']}, "
        f"scipy 1. Environment: {meta.get('env') or 'no threading variables set'}. "
        f"PyTorch {'is' if meta.get('torch_imported') else 'is not'} imported in this process "
        "for every row (kornia needs it). Versions: " + versions + ".",
        "",
        "Times are medians in ms of interleaved calls (at least "
        f"{meta['timing']['min_runs']} calls and about {meta['timing']['min_time']} s per cell; "
        "every call allocates its output); in parentheses sepconv.correlate's time / that "
        "column's time (< 1: sepconv faster), except *1 thread* columns: default threads / "
        "1 thread. *after torch op*: a 512x512 matmul and a small conv2d (untimed) before each "
        "timed call, and the ratio is against `cv2.sepFilter2D` after the same op. BW: "
        "`np.copyto` time of the same array (faster of 1 thread and all cores) / this time.",
        "",
    ]


def why_slower(case: dict[str, Any], floor_s: dict[str, float]) -> str:
    """Why ``sepconv.correlate`` stays above OpenCV on this row, from the row's measurements.

    In order: the fixed cost of a call (the run's 8 x 8 call, ``floor_s``) when it is a
    fifth of the time or more; memory bandwidth when the call reaches half of the copy's
    or more; otherwise the arithmetic -- for uint8 the integer operations per pixel (16-bit
    fixed point whose products LLVM computes as 32-bit multiplies, 16 lanes of an AVX-512
    vector, where OpenCV multiplies 16-bit lanes, 32; exact integer sums for boxes), for
    float32 the multiply-adds per pixel of both passes (symmetric taps folded).
    """
    t = {k: v.get("median_s") for k, v in case["contenders"].items()}
    best = opencv_best(case, t)
    mine = t.get(CORRELATE)
    if not mine or not best or mine <= best:
        return ""
    floor = floor_s.get(case["dtype"])
    if floor and floor >= 0.2 * mine:
        return f"fixed cost per call: {floor * 1e6:.1f} us ({floor / mine:.0%} of the call)"
    fraction = case["contenders"][CORRELATE].get("memcpy_fraction")
    if fraction is not None and fraction >= 0.5:
        return f"memory: {fraction:.0%} of the copy's bandwidth"
    k = case["ksize"]
    if case["dtype"] == "uint8" and case["family"] == "box":
        adds = (k.bit_length() - 1) + bin(k).count("1")
        return (
            f"arithmetic: exact integer sums, {adds} 16-bit additions along a row, then 32-bit "
            "running sums and a float32 division (16 lanes) per pixel"
        )
    if case["dtype"] == "uint8":
        return (
            f"arithmetic: 16-bit fixed point, {2 * (k // 2 + 1)} products per pixel as 32-bit "
            "multiplies (16 lanes: Numba widens the operands) vs OpenCV's 16-bit ones (32)"
        )
    per_pass = 2 if case["family"] == "box" and k >= 16 else k // 2 + 1
    return f"arithmetic: {2 * per_pass} multiply-adds per pixel (two passes, folded taps)"


def _main_table(cases: list[dict[str, Any]], family: str, floor_s: dict[str, float]) -> list[str]:
    sel = [c for c in cases if c["family"] == family]
    if not sel:
        return []
    cv2_same, scipy_same = CV2_SAME[family], SCIPY_SAME[family]
    headers = [
        "dtype",
        "shape",
        "k",
        CORRELATE,
        "vs OpenCV (faster of the two)",
        "why above OpenCV",
        f"{EXACT_SAME[family]} (exact)",
        "first call (this process)",
        "BW",
        SEPFILTER,
        PLAN,
        "1 thread",
        SEPFILTER2D,
        cv2_same,
        scipy_same,
        "after torch op",
        "1 thread, after torch op",
        "cv2.sepFilter2D after torch op",
    ]
    rows = []
    for c in sel:
        con = c["contenders"]
        mine = con.get(CORRELATE, {})
        first = mine.get("first_call_s")
        times = {k: v.get("median_s") for k, v in con.items()}
        best = opencv_best(c, times)
        rows.append(
            [
                c["dtype"],
                _shape(c),
                c["ksize"],
                _ms(mine),
                f"{times[CORRELATE] / best:.2f}" if best and times.get(CORRELATE) else "-",
                why_slower(c, floor_s),
                _vs(con, EXACT_SAME[family], cv2_same),
                "-" if first is None else fmt_ms(first),
                f"{mine['memcpy_fraction']:.0%}" if "memcpy_fraction" in mine else "-",
                _vs(con, CORRELATE, SEPFILTER),
                _vs(con, CORRELATE, PLAN) if PLAN in con else "no callable plan",
                _vs(con, CORRELATE, ONE_THREAD),
                _vs(con, CORRELATE, SEPFILTER2D),
                _vs(con, CORRELATE, cv2_same),
                _vs(con, CORRELATE, scipy_same),
                _ms(con.get(AFTER_TORCH)),
                _vs(con, AFTER_TORCH, ONE_THREAD_AFTER_TORCH),
                _vs(con, AFTER_TORCH, SEPFILTER2D_AFTER_TORCH),
            ]
        )
    title = "Gaussian (sigma = (k - 1) / 8, scipy's size)" if family == "gaussian" else "Box (mean)"
    return [f"## {title}, mode reflect", "", markdown_table(headers, rows), ""]


def _kornia_table(cases: list[dict[str, Any]]) -> list[str]:
    sel = [c for c in cases if KORNIA in c["contenders"]]
    if not sel:
        return []
    rows = []
    for c in sel:
        con = c["contenders"]
        a, b = con.get(SEPCONV_TORCH, {}).get("median_s"), con[KORNIA].get("median_s")
        rows.append(
            [
                _shape(c),
                c["ksize"],
                _ms(con.get(SEPCONV_TORCH)),
                _ms(con[KORNIA]),
                f"{b / a:.1f}x" if a and b else "-",
                _ms(con.get(CORRELATE)),
            ]
        )
    headers = ["shape", "k", SEPCONV_TORCH, KORNIA, "kornia / sepconv", CORRELATE]
    return [
        "## PyTorch tensors: sepconv.torch.correlate vs kornia (float32, no gradient)",
        "",
        "`(1, 1, H, W)` CPU tensors, scipy's `mirror` boundary (kornia's `reflect`).",
        "",
        markdown_table(headers, rows),
        "",
    ]


def _accuracy_table(cases: list[dict[str, Any]]) -> list[str]:
    """Worst max |diff| from the float64 scipy reference per contender and dtype."""
    worst: dict[tuple[str, str], dict[str, float]] = {}
    for c in cases:
        for name, entry in c["contenders"].items():
            if entry.get("max_abs_diff") is None:
                continue
            w = worst.setdefault((name, c["dtype"]), {"diff": 0.0, "px": 0})
            w["diff"] = max(w["diff"], entry["max_abs_diff"])
            w["px"] += entry.get("pixels_off_by_more_than_rounding", 0)
    if not worst:
        return []
    names = list(dict.fromkeys(name for name, _ in worst))
    dtypes = sorted({d for _, d in worst})
    rows = []
    for name in names:
        row = [name]
        for d in dtypes:
            w = worst.get((name, d))
            if w is None:
                row.append("-")
            elif d == "uint8":
                row.append(f"{w['diff']:.2g} ({w['px']} px > 1)")
            else:
                row.append(f"{w['diff']:.1e}")
        rows.append(row)
    return [
        "## Accuracy",
        "",
        "Largest |difference| from scipy's separable result with float64 intermediates, over "
        "all rows (uint8: scipy truncates and OpenCV rounds, so < 1 is rounding; *px > 1* "
        "counts pixels off by more).",
        "",
        markdown_table(["contender", *dtypes], rows),
        "",
    ]


def _first_call_table(first_call: dict[str, Any]) -> list[str]:
    if not first_call:
        return []
    rows = []
    notes = []
    for run, d in first_call.items():
        if run == "numba" and "numba_first_call_s" in d:
            notes.append(
                f"Numba's own one-time start (the first call of sepconv's smallest cached "
                f"function, alone in a fresh interpreter): {d['numba_first_call_s'] * 1e3:.0f} ms "
                "-- every first call above includes it"
                + (
                    f"; the first Gaussian float32 right after it (sepconv's own share of a first "
                    f"call: loading its kernels, planning): {d['after_numba_s'] * 1e3:.0f} ms."
                    if "after_numba_s" in d
                    else "."
                )
            )
            continue
        if "warmup_s" in d:
            notes.append(
                f"*{run}*, calls 1 to 8 of the first kind (ms): "
                + ", ".join(f"{t * 1e3:.2f}" for t in d["warmup_s"])
                + (
                    "; `cv2.sepFilter2D`'s calls 1 to 8 on the same image right after (ms): "
                    + ", ".join(f"{t * 1e3:.3f}" for t in d["cv2_warmup_s"])
                    if "cv2_warmup_s" in d
                    else ""
                )
            )
        if "error" in d:
            rows.append([run, "error: " + str(d["error"]), *[""] * (len(FIRST_CALL_KEYS) + 1)])
            continue
        rows.append(
            [run, f"{d['import_s']:.2f}"]
            + [
                f"{d[k]['first_s']:.2f} s / {d[k]['second_s'] * 1e3:.2f} ms"
                for k in FIRST_CALL_KEYS
            ]
            + [f"{d['process_wall_s']:.1f}"]
        )
    return [
        "## First call (fresh interpreter)",
        "",
        "Import of sepconv, then the first and second `sepconv.correlate` on 256^2 (Gaussian "
        "k=7, box k=31), in this order in one process (later calls reuse what earlier ones "
        "compiled). *cold*: an empty `NUMBA_CACHE_DIR` (compiles); *warm*: the same directory "
        "again (loads Numba's cache); *default*: the package's cache as found. The *first call* "
        "column of the tables above is the first call in the benchmark process for that row "
        "(a new shape and kernel: planning, no compilation).",
        "",
        markdown_table(
            [
                "Numba cache",
                "import s",
                *(f"{k} first / second" for k in FIRST_CALL_KEYS),
                "process s",
            ],
            rows,
        ),
        "",
        *(f"{n}\n" for n in notes),
    ]


def _memcpy_table(cases: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in cases:
        con = c["contenders"]
        if COPY not in con:
            continue
        nbytes = 2 * c["shape"][0] * c["shape"][1] * (4 if c["dtype"] == "float32" else 1)
        best = min(con[n]["median_s"] for n in (COPY, COPY_2) if "median_s" in con.get(n, {}))
        rows.append(
            [
                c["dtype"],
                _shape(c),
                _ms(con[COPY]),
                _ms(con.get(COPY_2)),
                f"{nbytes / best / 1e9:.1f}",
                _ms(con.get(NEW_COPY)),
            ]
        )
    if not rows:
        return []
    headers = [
        "dtype",
        "shape",
        "np.copyto ms",
        "all cores ms",
        "GB/s (read + write)",
        "x.copy() ms (into a new array)",
    ]
    return ["## Memory copy of the same arrays", "", markdown_table(headers, rows), ""]


def _targets_table(targets: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            t["target"],
            t["where"],
            t["limit"],
            "-" if t["value"] is None else f"{t['value']:.2f}",
            "-" if t.get("value_from_minima") is None else f"{t['value_from_minima']:.2f}",
            STATUS[t["met"]],
            t["case"],
            t["detail"],
        ]
        for t in targets
    ]
    headers = [
        "target",
        "rows",
        "limit",
        "worst (medians)",
        "from minima",
        "status",
        "worst row",
        "detail",
    ]
    return [
        "## Targets of issue 19",
        "",
        "Decided by this run's data: a target is met when every row it applies to meets it; "
        "the worst row is shown. *from minima*: the same worst ratio from each contender's "
        "fastest call, to show how much load moved the medians.",
        "",
        markdown_table(headers, rows),
        "",
    ]


def _plans(cases: list[dict[str, Any]]) -> list[str]:
    seen, lines = set(), []
    for c in cases:
        key = (c["family"], c["dtype"], c["ksize"])
        if key not in seen and c.get("plan"):
            seen.add(key)
            plan = " / ".join(c["plan"].splitlines())
            lines.append(f"- {c['family']} {c['dtype']} k={c['ksize']}: `{plan}`")
    return ["## Plans chosen by sepconv", "", *lines, ""] if lines else []


def markdown(data: dict[str, Any]) -> str:
    cases = data["cases"]
    lines = ["# Filtering benchmark", "", *_settings(data)]
    lines += _targets_table(data["targets"])
    for family in ("gaussian", "box"):
        lines += _main_table(cases, family, data.get("floor_s", {}))
    lines += _kornia_table(cases)
    lines += _memcpy_table(cases)
    lines += _first_call_table(data.get("first_call", {}))
    lines += _accuracy_table(cases)
    lines += _plans(cases)
    return "\n".join(lines)


def print_targets(targets: list[dict[str, Any]]) -> None:
    print("\nTargets of issue 19:")
    for t in targets:
        status = {True: "MET", False: "NOT MET", None: "not measured"}[t["met"]]
        value = "-" if t["value"] is None else f"{t['value']:.3f}"
        print(f"  [{status:>12}] {t['target']} ({t['where']}) {t['limit']}: {value}; {t['detail']}")
