"""Feature banks and recursive Gaussians: sepconv against scikit-image, fastfilters2, scipy,
OpenCV and SimpleITK, side by side in one run.

Run from the repository root (the timing is wrapped in the shared lock)::

    flock /tmp/sepconv-bench.lock python benchmarks/bench_features.py          # minutes
    flock /tmp/sepconv-bench.lock python benchmarks/bench_features.py --quick  # seconds
    flock /tmp/sepconv-bench.lock python benchmarks/bench_features.py --volume 128,256,256
    flock /tmp/sepconv-bench.lock python benchmarks/bench_features.py --cascade [--volume ...]

Writes ``benchmarks/results/features.json`` and ``features.md`` (``--quick``:
``features_quick.*``).  float32 throughout; medians of interleaved runs
(:func:`_common.measure`); the load average is recorded before and after.

1. **Feature stack, 2-D** (1024^2 and 2048^2, sigma = 1, 2, 4): fastfilters2's
   seven features (smoothing, gradient magnitude, Laplacian, Hessian and
   structure-tensor eigenvalues; ``mode='mirror'``, its border) --
   ``sepconv.features.feature_stack`` against ``fastfilters2.compute_filters``
   and the same channels from scipy.ndimage calls.
2. **Feature stack, 3-D** (256^3; fastfilters2 refuses 3-D): sepconv against
   the scipy composition.
3. **Hessian / structure tensor + eigenvalues** against scikit-image
   (``hessian_matrix(use_gaussian_derivatives=True)`` +
   ``hessian_matrix_eigvals``, ``structure_tensor`` +
   ``structure_tensor_eigenvalues``) at 1024^2 and 256^3, with each one's
   peak memory beyond its input (tracemalloc, a separate untimed call) and
   sepconv's working memory beyond input and output.
4. **Recursive Gaussian** on 4096^2 at sigma = 4, 32, 100:
   ``sepconv.ndimage.gaussian_filter(method='recursive')`` against
   ``cv2.GaussianBlur`` (2 threads), SimpleITK's ``SmoothingRecursiveGaussian``
   and sepconv's FIR filter; the recursive result's largest difference from
   scipy's FIR filter, relative to the peak of an impulse's response.

5. **Scale cascade** (``--cascade``, alone; ``features_cascade.*``):
   ``feature_stack(x, sigmas, rtol=None)`` against ``rtol=1e-3`` (the planner's
   choice) and ``rtol=1e-3`` with every allowed cascade taken
   (``_features_plan.MAX_TAPS_RATIO = 1``, to show what the rule declines), at
   1024^2, 2048^2 (and the ``--volume``), sigma = (1, 2, 4), (1, 2, 4, 8, 16)
   and scales sqrt(2) apart; the plan's bound and the measured largest change
   (over ``max |input|``; ``max |input|^2`` for structure-tensor channels).

Every result is checked against its reference (largest difference relative
to the reference's largest value).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc
from collections.abc import Callable
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any

import numpy as np
import scipy.ndimage as ndi
from _common import fmt_ms, loadavg, machine_info, markdown_table, measure, write_json

from sepconv import features
from sepconv import ndimage as sndi

RESULTS = Path(__file__).resolve().parent / "results"
SEVEN = (
    "smoothing",
    "gradient_magnitude",
    "laplacian",
    "hessian_eigenvalues",
    "structure_tensor_eigenvalues",
)


# --------------------------------------------------------------------------- references


def _eigen(tensor: list[np.ndarray]) -> np.ndarray:
    d = 2 if len(tensor) == 3 else 3
    if d == 2:
        a, b, c = tensor
        half, root = (a + c) / 2, np.sqrt(b * b + ((a - c) / 2) ** 2)
        return np.stack([half + root, half - root])
    m = np.empty((*tensor[0].shape, 3, 3), tensor[0].dtype)
    for k, (i, j) in enumerate(combinations_with_replacement(range(3), 2)):
        m[..., i, j] = m[..., j, i] = tensor[k]
    return np.moveaxis(np.linalg.eigvalsh(m)[..., ::-1], -1, 0)


def scipy_seven(x: np.ndarray, sigma: float) -> np.ndarray:
    """The seven features, one scipy.ndimage call at a time (mirror mode)."""
    d = x.ndim
    m = "mirror"

    def g(order: list[int], s: float = sigma, image: np.ndarray = x) -> np.ndarray:
        return ndi.gaussian_filter(image, s, order=order, mode=m)

    unit = [[int(a == i) for a in range(d)] for i in range(d)]
    pairs = list(combinations_with_replacement(range(d), 2))
    out = [g([0] * d), ndi.gaussian_gradient_magnitude(x, sigma, mode=m),
           ndi.gaussian_laplace(x, sigma, mode=m)]  # fmt: skip
    out += list(_eigen([g([int(a == i) + int(a == j) for a in range(d)]) for i, j in pairs]))
    grad = [g(u) for u in unit]
    out += list(_eigen([g([0] * d, 0.5 * sigma, grad[i] * grad[j]) for i, j in pairs]))
    return np.stack(out)


def _rel(got: Any, ref: Any) -> float:
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-300))


def peak_beyond(fn: Callable[[], Any], baseline: int) -> int:
    """Peak bytes a call allocates (tracemalloc; NumPy's arrays), less ``baseline``."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] - start
    tracemalloc.stop()
    del result
    return int(peak - baseline)


# --------------------------------------------------------------------------- sections


def stack_2d(sizes: list[int], sigmas: list[float]) -> list[dict[str, Any]]:
    import fastfilters2

    rows = []
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.random((n, n), dtype=np.float32)
        for s in sigmas:
            funcs = {
                "sepconv": lambda x=x, s=s: features.feature_stack(x, [s], SEVEN),
                "fastfilters2": lambda x=x, s=s: fastfilters2.compute_filters(x, s),
                "scipy": lambda x=x, s=s: scipy_seven(x, s),
            }
            timings, results = measure(funcs, min_runs=5, min_time=0.5, max_time=5.0,
                                       jit=("sepconv",))  # fmt: skip
            ref = results["scipy"]
            row = {"case": f"{n}² σ={s:g}", "size": n, "sigma": s}
            for name, t in timings.items():
                row[name] = {**t.to_dict(), "rel_diff_vs_scipy": _rel(results[name], ref)}
            rows.append(row)
            print("stack 2-D", row["case"], {k: fmt_ms(t.median_s) for k, t in timings.items()},
                  flush=True)  # fmt: skip
    return rows


def stack_3d(shape: tuple[int, ...], sigmas: list[float]) -> list[dict[str, Any]]:
    rows = []
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    label = "x".join(map(str, shape))
    for s in sigmas:
        funcs = {
            "sepconv": lambda s=s: features.feature_stack(x, [s], SEVEN),
            "scipy": lambda s=s: scipy_seven(x, s),
        }
        timings, results = measure(funcs, min_runs=3, min_time=0.5, max_time=20.0,
                                   slow_call=1.0, jit=("sepconv",))  # fmt: skip
        row = {"case": f"{label} σ={s:g}", "shape": list(shape), "sigma": s}
        for name, t in timings.items():
            row[name] = {**t.to_dict(), "rel_diff_vs_scipy": _rel(results[name], results["scipy"])}
        rows.append(row)
        print("stack 3-D", row["case"], {k: fmt_ms(t.median_s) for k, t in timings.items()},
              flush=True)  # fmt: skip
    return rows


def tensors(shapes: list[tuple[int, ...]], sigmas: list[float]) -> list[dict[str, Any]]:
    from skimage import feature as skf

    rows = []
    for shape in shapes:
        x = np.random.default_rng(2).random(shape, dtype=np.float32)
        for s in sigmas:
            cases = {
                "hessian+eigenvalues": (
                    lambda x=x, s=s: features.hessian_eigenvalues(x, s),
                    lambda x=x, s=s: skf.hessian_matrix_eigvals(
                        skf.hessian_matrix(x, s, use_gaussian_derivatives=True)
                    ),
                ),
                "hessian": (
                    lambda x=x, s=s: features.hessian(x, s),
                    lambda x=x, s=s: skf.hessian_matrix(x, s, use_gaussian_derivatives=True),
                ),
                "structure_tensor+eigenvalues": (
                    lambda x=x, s=s: features.structure_tensor_eigenvalues(x, s),
                    lambda x=x, s=s: skf.structure_tensor_eigenvalues(skf.structure_tensor(x, s)),
                ),
                "structure_tensor": (
                    lambda x=x, s=s: features.structure_tensor(x, s),
                    lambda x=x, s=s: skf.structure_tensor(x, s),
                ),
            }
            for what, (ours, theirs) in cases.items():
                timings, results = measure(
                    {"sepconv": ours, "scikit-image": theirs},
                    min_runs=3,
                    min_time=0.5,
                    max_time=15.0,
                    slow_call=1.0,
                    jit=("sepconv",),
                )
                out_bytes = np.asarray(results["sepconv"]).nbytes
                row = {
                    "case": f"{what} {'x'.join(map(str, shape))} σ={s:g}",
                    "what": what,
                    "shape": list(shape),
                    "sigma": s,
                    "input_bytes": x.nbytes,
                    "output_bytes": out_bytes,
                    "rel_diff": _rel(results["sepconv"], np.asarray(results["scikit-image"])),
                }
                for name, t in timings.items():
                    row[name] = t.to_dict()
                del results
                # the output is allocated by the call: what is beyond it is working memory
                row["sepconv_scratch_bytes"] = peak_beyond(ours, out_bytes)
                row["scikit_image_peak_bytes"] = peak_beyond(theirs, 0)
                rows.append(row)
                print(
                    row["case"],
                    {k: fmt_ms(t.median_s) for k, t in timings.items()},
                    f"scratch {row['sepconv_scratch_bytes'] / 2**20:.1f} MiB",
                    flush=True,
                )
    return rows


def recursive(size: int, sigmas: list[float]) -> dict[str, Any]:
    import cv2
    import SimpleITK as sitk

    cv2.setNumThreads(2)
    x = np.random.default_rng(3).random((size, size), dtype=np.float32)
    image = sitk.GetImageFromArray(x)
    rows = []
    for s in sigmas:
        funcs = {
            "sepconv recursive": lambda s=s: sndi.gaussian_filter(x, s, method="recursive"),
            "sepconv FIR": lambda s=s: sndi.gaussian_filter(x, s),
            "cv2.GaussianBlur": lambda s=s: cv2.GaussianBlur(
                x, (0, 0), s, borderType=cv2.BORDER_REFLECT
            ),
            # the Image, not a view of it: a view outlives its freed buffer (a crash)
            "SimpleITK recursive": lambda s=s: sitk.SmoothingRecursiveGaussian(image, s),
        }
        timings, results = measure(funcs, min_runs=5, min_time=1.0, max_time=12.0,
                                   jit=("sepconv recursive", "sepconv FIR"))  # fmt: skip
        ref = results["sepconv FIR"]  # scipy's bits
        results["SimpleITK recursive"] = sitk.GetArrayFromImage(results["SimpleITK recursive"])
        row = {"sigma": s, "size": size}
        for name, t in timings.items():
            row[name] = {**t.to_dict(), "rel_diff_vs_scipy": _rel(results[name], ref)}
        # the target's measure: an impulse's response, against scipy's FIR, over its peak
        m = min(size, int(12 * s) * 2 + 1)
        impulse = np.zeros((m, m), np.float32)
        impulse[m // 2, m // 2] = 1
        fir = ndi.gaussian_filter(impulse, s)
        rec = sndi.gaussian_filter(impulse, s, method="recursive")
        row["impulse_max_error_over_peak"] = float(np.abs(rec - fir).max() / fir.max())
        rows.append(row)
        print(
            "recursive σ",
            s,
            {k: fmt_ms(t.median_s) for k, t in timings.items()},
            f"impulse error {row['impulse_max_error_over_peak']:.2e}",
            flush=True,
        )
    return {"rows": rows}


# --------------------------------------------------------------------------- output


CASCADE_SIGMAS = ((1.0, 2.0, 4.0), (1.0, 2.0, 4.0, 8.0, 16.0), (1.0, 1.41, 2.0, 2.83, 4.0))


def _stack_forced(x: np.ndarray, sigmas: Any, names: Any, output: np.ndarray) -> np.ndarray:
    """``rtol=1e-3`` with every cascade the bound allows, however few taps it saves."""
    from sepconv import _features_plan

    keep = _features_plan.MAX_TAPS_RATIO
    _features_plan.MAX_TAPS_RATIO = 1.0
    try:
        return features.feature_stack(x, sigmas, names, rtol=1e-3, output=output)
    finally:
        _features_plan.MAX_TAPS_RATIO = keep


def _cascade_change(got: np.ndarray, ref: np.ndarray, x: np.ndarray, names: Any, sig: Any) -> float:
    """Largest change over ``max |x|`` (``max |x|^2`` for the structure tensor's channels)."""
    top = float(np.abs(x).max())
    channels = features.feature_names(sig, names, x.ndim)
    return max(
        float(np.abs(got[k].astype(np.float64) - ref[k]).max())
        / (top * top if f.startswith("structure") else top)
        for k, (f, _, _) in enumerate(channels)
    )


def cascade(shapes: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    from sepconv import _features_plan

    rows = []
    rng = np.random.default_rng(2)
    for shape in shapes:
        x = rng.random(shape, dtype=np.float32)
        label = "x".join(map(str, shape)) if len(shape) > 2 else f"{shape[0]}²"
        for sig in CASCADE_SIGMAS:
            for names, fname in ((SEVEN, "seven"), (None, "all")):
                if fname == "all" and (len(shape) > 2 or len(sig) > 3 or shape[0] > 1024):
                    continue  # one row with the difference of Gaussians is enough
                # each variant writes into its own preallocated output: a fresh
                # 0.5-1 GB result per call made the first-called variant pay page
                # faults (measured: rtol=None 1.5x "slower" than the same work)
                count = len(features.feature_names(sig, names, x.ndim))
                outs = [np.empty((count, *shape), np.float32) for _ in range(4)]

                def run(k: int, rtol: Any, s: Any = sig, n: Any = names, x: Any = x,
                        outs: Any = outs) -> np.ndarray:  # fmt: skip
                    if k == 2:
                        return _stack_forced(x, s, n, outs[k])
                    return features.feature_stack(x, s, n, rtol=rtol, output=outs[k])

                funcs = {
                    "direct": lambda: run(0, None),
                    "direct again": lambda: run(3, None),  # the noise floor: the same work
                    "planned": lambda: run(1, 1e-3),
                    "forced": lambda: run(2, 1e-3),
                }
                timings, results = measure(funcs, min_runs=3, min_time=0.5, max_time=12.0,
                                           slow_call=2.0, jit=tuple(funcs))  # fmt: skip
                plan = features.feature_plan(len(shape), sig, names, rtol=1e-3)
                keep = _features_plan.MAX_TAPS_RATIO
                _features_plan.MAX_TAPS_RATIO = 1.0
                forced = features.feature_plan(len(shape), sig, names, rtol=1e-3)
                _features_plan.MAX_TAPS_RATIO = keep
                ref = results["direct"]
                row = {
                    "case": f"{label} σ={','.join(f'{s:g}' for s in sig)} {fname}",
                    "shape": list(shape),
                    "sigmas": list(sig),
                    "features": fname,
                }
                for name, p in (("planned", plan), ("forced", forced)):
                    row[name] = {
                        **timings[name].to_dict(),
                        "cascaded": p.cascaded,
                        "bound": p.bound,
                        "change": _cascade_change(results[name], ref, x, names, sig),
                    }
                row["direct"] = timings["direct"].to_dict()
                row["direct again"] = timings["direct again"].to_dict()
                rows.append(row)
                print("cascade", row["case"], {k: fmt_ms(t.median_s) for k, t in timings.items()},
                      "cascaded", plan.cascaded, forced.cascaded, flush=True)  # fmt: skip
    return rows


def cascade_banks(n: int) -> list[dict[str, Any]]:
    """One scale's bank, from the image at s2 against from the s1-smoothed image at
    ``d = sqrt(s2^2 - s1^2)``: the measurement behind ``MAX_TAPS_RATIO``."""
    import math

    from sepconv import _features_run, _features_spec

    rows = []
    x = np.random.default_rng(3).random((n, n), dtype=np.float32)
    subsets = {"derivatives": SEVEN[:4], "seven": SEVEN}
    for fname, names in subsets.items():
        out = np.empty((len(features.feature_names([1.0], names, 2)), n, n), np.float32)
        for s2 in (2.0, 4.0, 10.0):
            direct = _features_spec.feature_bank([s2] * 2, names, truncate=4.0)
            for q in (0.87, 0.7, 0.5):  # d / s2; 0.87: doubling scales
                s1 = s2 * math.sqrt(1 - q * q)
                smooth = features.feature_stack(x, [s1], ["smoothing"])[0]
                bank = _features_spec.feature_bank([s2] * 2, names, truncate=4.0, base=[s1] * 2)

                def run(b: Any, image: np.ndarray, out: np.ndarray = out) -> None:
                    _features_run.run_bank(b, image, out, (0, 1), ["mirror"] * 2, 0.0)

                funcs = {
                    "direct": lambda b=direct: run(b, x),
                    "direct again": lambda b=direct: run(b, x),
                    "cascaded": lambda b=bank, sm=smooth: run(b, sm),
                }
                timings, _ = measure(funcs, min_runs=5, min_time=0.5, max_time=4.0,
                                     jit=tuple(funcs))  # fmt: skip
                taps = [sum(p.weights.size for f in b.stage1 for p in f.passes)
                        for b in (bank, direct)]  # fmt: skip
                row = {
                    "case": f"{n}² {fname} σ₂={s2:g} Δ/σ₂={q}",
                    "taps_ratio": taps[0] / taps[1],
                    **{k: t.to_dict() for k, t in timings.items()},
                }
                rows.append(row)
                print("cascade bank", row["case"], f"taps {row['taps_ratio']:.2f}",
                      {k: fmt_ms(t.median_s) for k, t in timings.items()}, flush=True)  # fmt: skip
    return rows


def _cascade_markdown(data: dict[str, Any]) -> str:
    rows = data.get("cascade") or []
    banks = data.get("cascade_banks") or []
    text = ""
    if banks:
        table = [
            [r["case"], f"{r['taps_ratio']:.2f}", fmt_ms(r["direct"]["median_s"]),
             _ratio2(r["direct"]["median_s"], r["direct again"]["median_s"]),
             fmt_ms(r["cascaded"]["median_s"]),
             _ratio2(r["direct"]["median_s"], r["cascaded"]["median_s"])]
            for r in banks
        ]  # fmt: skip
        text += (
            "\n## Scale cascade: one scale's bank\n\n"
            "The bank at σ₂ from the image (`direct`) against the bank at Δ = √(σ₂² − σ₁²) "
            "from the σ₁-smoothed image (`cascaded`); `taps`: the cascaded bank's first-stage "
            "taps over the direct one's; `noise`: `direct` over an identical variant.  "
            "`derivatives`: smoothing, gradient magnitude, Laplacian, Hessian eigenvalues; "
            "`seven`: with the structure tensor's eigenvalues.\n\n"
            + markdown_table(["case", "taps", "direct", "noise", "cascaded", "speed-up"], table)
            + "\n"
        )
    if not rows:
        return text
    table = [
        [r["case"], fmt_ms(r["direct"]["median_s"]),
         _ratio2(r["direct"]["median_s"], r["direct again"]["median_s"]),
         fmt_ms(r["planned"]["median_s"]),
         _ratio2(r["direct"]["median_s"], r["planned"]["median_s"]),
         ",".join(f"{s:g}" for s in r["planned"]["cascaded"]) or "-",
         f"{r['planned']['bound']:.1e}", f"{r['planned']['change']:.1e}",
         fmt_ms(r["forced"]["median_s"]),
         _ratio2(r["direct"]["median_s"], r["forced"]["median_s"]),
         ",".join(f"{s:g}" for s in r["forced"]["cascaded"]) or "-",
         f"{r['forced']['bound']:.1e}", f"{r['forced']['change']:.1e}"]
        for r in rows
    ]  # fmt: skip
    return text + (
        "\n## Scale cascade: `feature_stack(..., rtol=1e-3)`\n\n"
        "`direct`: `rtol=None`; `noise`: `direct` over a second, identical `rtol=None` "
        "variant timed beside it (how far apart the same work measures); `planned`: "
        "`rtol=1e-3` (the planner cascades a scale only "
        "where its first-stage taps are at most 0.75 of the direct bank's); `forced`: "
        "`rtol=1e-3` taking every cascade the bound allows.  `bound`: the plan's largest "
        "bound; `change`: the measured largest change against `direct` (over max|input|; "
        "max|input|² for structure-tensor channels).  `seven`: fastfilters2's seven "
        "features; `all`: with the difference of Gaussians.\n\n"
        + markdown_table(
            [
                "case",
                "direct",
                "noise",
                "planned",
                "speed-up",
                "cascaded",
                "bound",
                "change",
                "forced",
                "speed-up",
                "cascaded",
                "bound",
                "change",
            ],
            table,
        )  # fmt: skip
        + "\n"
    )


def _ratio2(a: float, b: float) -> str:
    return f"{a / b:.2f}×"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×"


def markdown(data: dict[str, Any]) -> str:
    m = data["machine"]
    head = (
        "# Feature banks and recursive Gaussians\n\n"
        f"{m['cpu']}, {m['logical_cpus']} logical CPUs; load average {m['loadavg_start']} at "
        f"the start, {data['loadavg_end']} at the end (a shared machine: under load a second "
        "thread gains little, for every library).  float32; medians of interleaved runs; "
        "times in ms.  `diff` is the largest difference from the reference over its largest "
        "value.\n"
    )
    parts = [head, _cascade_markdown(data)]
    rows = data.get("stack_2d") or []
    if rows:
        table = [
            [r["case"], fmt_ms(r["sepconv"]["median_s"]), fmt_ms(r["fastfilters2"]["median_s"]),
             fmt_ms(r["scipy"]["median_s"]),
             _ratio(r["fastfilters2"]["median_s"], r["sepconv"]["median_s"]),
             _ratio(r["scipy"]["median_s"], r["sepconv"]["median_s"]),
             f"{r['sepconv']['rel_diff_vs_scipy']:.1e}",
             f"{r['fastfilters2']['rel_diff_vs_scipy']:.1e}"]
            for r in rows
        ]  # fmt: skip
        parts.append(
            "\n## Feature stack, 2-D: fastfilters2's seven features\n\n"
            "`feature_stack(x, [σ], (smoothing, gradient_magnitude, laplacian, "
            "hessian_eigenvalues, structure_tensor_eigenvalues))` against "
            "`fastfilters2.compute_filters(x, σ)` and the same channels from scipy.ndimage calls "
            "(mirror mode).  fastfilters2 samples shorter kernels of its own (radius ⌈3σ⌉..⌈4σ⌉, "
            "moments normalised): its `diff` against scipy is that difference, not an error.\n\n"
            + markdown_table(
                [
                    "case",
                    "sepconv",
                    "fastfilters2",
                    "scipy",
                    "vs fastfilters2",
                    "vs scipy",
                    "sepconv diff",
                    "fastfilters2 diff",
                ],
                table,
            )  # fmt: skip
            + "\n"
        )
    rows = data.get("stack_3d") or []
    if rows:
        table = [
            [r["case"], fmt_ms(r["sepconv"]["median_s"]), fmt_ms(r["scipy"]["median_s"]),
             _ratio(r["scipy"]["median_s"], r["sepconv"]["median_s"]),
             f"{r['sepconv']['rel_diff_vs_scipy']:.1e}"]
            for r in rows
        ]  # fmt: skip
        parts.append(
            "\n## Feature stack, 3-D (fastfilters2 2.0 refuses 3-D)\n\n"
            + markdown_table(["case", "sepconv", "scipy", "vs scipy", "diff"], table)
            + "\n"
        )
    rows = data.get("tensors") or []
    if rows:
        table = []
        for r in rows:
            budget = 0.1 * (r["input_bytes"] + r["output_bytes"])
            table.append([
                r["case"], fmt_ms(r["sepconv"]["median_s"]), fmt_ms(r["scikit-image"]["median_s"]),
                _ratio(r["scikit-image"]["median_s"], r["sepconv"]["median_s"]),
                f"{r['rel_diff']:.1e}",
                f"{100 * r['sepconv_scratch_bytes'] / (r['input_bytes'] + r['output_bytes']):.1f} %"
                + (" ✓" if r["sepconv_scratch_bytes"] <= budget else ""),
                f"{r['scikit_image_peak_bytes'] / 2**20:.0f} MiB",
            ])  # fmt: skip
        parts.append(
            "\n## Hessian and structure tensor (+ eigenvalues) against scikit-image\n\n"
            "`sepconv.features` with scikit-image's conventions (its defaults: `mode='constant'`; "
            "the Hessian at σ/√2 twice, truncate 8, or 100 for σ ≤ 1).  *scratch*: sepconv's peak "
            "allocation beyond its output (tracemalloc), over input + output bytes (target "
            "≤ 10 %); scikit-image's peak allocation for comparison.\n\n"
            + markdown_table(
                [
                    "case",
                    "sepconv",
                    "scikit-image",
                    "speed-up",
                    "diff",
                    "sepconv scratch",
                    "scikit-image peak",
                ],
                table,
            )  # fmt: skip
            + "\n"
        )
    rec = data.get("recursive") or {}
    if rec:
        table = []
        for r in rec["rows"]:
            ours = r["sepconv recursive"]["median_s"]
            table.append([
                f"{r['size']}² σ={r['sigma']:g}", fmt_ms(ours),
                fmt_ms(r["sepconv FIR"]["median_s"]),
                fmt_ms(r["cv2.GaussianBlur"]["median_s"]),
                fmt_ms(r["SimpleITK recursive"]["median_s"]),
                _ratio(r["cv2.GaussianBlur"]["median_s"], ours),
                _ratio(r["SimpleITK recursive"]["median_s"], ours),
                f"{r['impulse_max_error_over_peak']:.1e}",
            ])  # fmt: skip
        flat = rec["rows"][-1]["sepconv recursive"]["median_s"] / rec["rows"][0][
            "sepconv recursive"]["median_s"]  # fmt: skip
        parts.append(
            "\n## Recursive Gaussian\n\n"
            "`sepconv.ndimage.gaussian_filter(x, σ, method='recursive')`; *error*: an impulse's "
            "response against scipy's FIR filter, over its peak (target ≤ 1e-3).  Time at the "
            f"largest σ over the smallest: {flat:.2f}.\n\n"
            + markdown_table(
                [
                    "case",
                    "recursive",
                    "sepconv FIR",
                    "cv2.GaussianBlur",
                    "SimpleITK",
                    "vs cv2",
                    "vs SimpleITK",
                    "error",
                ],
                table,
            )  # fmt: skip
            + "\n"
        )
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument("--volume", default=None,
                        help="the 3-D shape, e.g. 128,256,256 (default 256,256,256)")  # fmt: skip
    parser.add_argument("--only", choices=["stack2d", "stack3d", "tensors", "recursive"],
                        action="append", help="run only these sections (repeatable)")  # fmt: skip
    parser.add_argument("--cascade", action="store_true",
                        help="only the scale-cascade rows (features_cascade.*)")  # fmt: skip
    parser.add_argument("--sizes", default="1024,2048",
                        help="--cascade: 2-D sizes (empty: the --volume alone)")  # fmt: skip
    parser.add_argument("--cascade-part", choices=["banks", "stacks", "both"], default="both",
                        help="--cascade: one scale's banks, whole stacks, or both")  # fmt: skip
    args = parser.parse_args()
    if args.cascade:
        sizes2 = [256] if args.quick else [int(n) for n in args.sizes.split(",") if n]
        shapes: list[tuple[int, ...]] = [(n, n) for n in sizes2]
        if args.volume:
            shapes.append(tuple(int(v) for v in args.volume.split(",")))
        stem = "features_cascade_quick" if args.quick else "features_cascade"
        data = {"machine": machine_info()}
        if args.cascade_part in ("banks", "both"):
            data["cascade_banks"] = cascade_banks(256 if args.quick else 1024)
        if args.cascade_part in ("stacks", "both"):
            data["cascade"] = cascade(shapes)
        data["loadavg_end"] = loadavg()
        write_json(RESULTS / f"{stem}.json", data)
        (RESULTS / f"{stem}.md").write_text(markdown(data))
        print(markdown(data))
        return
    want = set(args.only or ["stack2d", "stack3d", "tensors", "recursive"])
    data: dict[str, Any] = {"machine": machine_info()}
    if args.quick:
        sizes, vol, big, sigmas = [256], (48, 48, 48), 512, [1.0, 2.0]
    else:
        sizes, vol, big, sigmas = [1024, 2048], (256, 256, 256), 4096, [1.0, 2.0, 4.0]
    if args.volume:
        vol = tuple(int(v) for v in args.volume.split(","))
    stem = "features_quick" if args.quick else "features"
    shapes = [(sizes[0], sizes[0]), vol]
    sections: dict[str, Callable[[], Any]] = {
        "stack_2d": lambda: stack_2d(sizes, sigmas) if "stack2d" in want else [],
        "stack_3d": lambda: stack_3d(vol, sigmas) if "stack3d" in want else [],
        "tensors": lambda: tensors(shapes, sigmas) if "tensors" in want else [],
        "recursive": lambda: recursive(big, [4.0, 32.0, 100.0]) if "recursive" in want else {},
    }
    for key, run in sections.items():
        data[key] = run()
        data["loadavg_end"] = loadavg()
        write_json(RESULTS / f"{stem}.json", data)  # what is done survives a later failure
    (RESULTS / f"{stem}.md").write_text(markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
