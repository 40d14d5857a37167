"""Differential fuzzing of sepconv's filters against scipy.ndimage.

A seeded generator draws cases over every public filtering function
(:func:`sepconv.correlate`, :func:`sepconv.convolve`, :func:`sepconv.sepfilter`,
and the ``sepconv.ndimage`` names with scipy's signatures when that module
exists): 1-4-D shapes with size-1 and zero-size axes, every supported input
and output dtype, random / separable / symmetric / sparse / integer / NaN
kernels (some longer than the data), one mode or one per axis, origins,
``axes`` in any order, ``cval`` and forced methods.  Each result is compared
with scipy to the tolerance the function documents:

* floating outputs: ``|ours - scipy| <= tol * (max|input| * sum|weights| + 1)``
  with ``tol`` 1e-4 where the work is float32 and 1e-9 otherwise, NaN exactly
  where scipy has NaN and infinities equal;
* integer outputs: equal, or off by one (modulo the type's range, since both
  wrap as a C cast) where the exact value lies within rounding of an integer;
* the input is never modified, and calling again gives bit-identical results.

scipy's N-D ``correlate`` misreads ``'reflect'`` when a kernel reaches 4n or
more samples past an axis of n (its ``correlate1d`` is right): it reads memory
it never wrote, so repeated calls return different bytes.  sepconv's own
functions are checked there against the plain NumPy reference
(:mod:`sepconv._engine._reference`, counted as ``numpy_reference``);
``sepconv.ndimage``'s against scipy run on the input reflected beforehand by
``np.pad(..., 'symmetric')`` (scipy's arithmetic with a well-defined border,
counted as ``scipy_padded``).

Run ``python -m sepconv._fuzz --cases 10000 --seed 0 --out
benchmarks/results/fuzz.json``; it writes JSON and a Markdown summary beside
it.  Each case has its own seed (``seed * 1_000_003 + index``), so one mismatch
replays alone with ``--replay SEED``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_case", "make_case", "run"]

_MODES = ("reflect", "mirror", "nearest", "wrap", "constant", "grid-mirror", "grid-constant",
          "grid-wrap")  # fmt: skip
_INTS = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "int64")
_FLOATS = ("float32", "float64")
_COMPLEX = ("complex64", "complex128")
_FUNCTIONS = ("correlate", "convolve", "sepfilter")
_NDIMAGE = ("correlate", "convolve", "correlate1d", "convolve1d")


def _functions() -> list[str]:
    names = list(_FUNCTIONS)
    try:
        from . import ndimage  # type: ignore[attr-defined]
    except ImportError:
        return names
    return names + [f"ndimage.{n}" for n in _NDIMAGE if hasattr(ndimage, n)]


# --------------------------------------------------------------------------- cases


def make_case(seed: int) -> dict[str, Any]:
    """A random case (plain JSON-able values) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    func = str(rng.choice(_functions()))
    one_d = func.endswith("1d")
    ndim = int(rng.integers(1, 5))
    shape = []
    for _ in range(ndim):
        r = rng.random()
        shape.append(
            0 if r < 0.03 else 1 if r < 0.15 else int(rng.integers(2, 13 if ndim < 4 else 6))
        )
    dtypes = _INTS + _FLOATS + (_COMPLEX if func != "sepfilter" else ())
    dtype = str(rng.choice(dtypes, p=_dtype_p(len(dtypes))))
    if one_d:
        axes: Any = int(rng.integers(-ndim, ndim))
        count = 1
    elif rng.random() < 0.4:
        axes = None
        count = ndim
    else:
        count = int(rng.integers(1, ndim + 1))
        axes = [int(a) for a in rng.permutation(ndim)[:count]]
        axes = [a - ndim if rng.random() < 0.2 else a for a in axes]
    filtered = list(range(ndim)) if axes is None else [a % ndim for a in np.atleast_1d(axes)]
    size_of = {a: _kernel_size(rng, shape[a]) for a in filtered}
    # Kernel dimensions follow the sorted axes (sepfilter: its factors follow axes);
    # origin entries follow axes as given, or array axes when all are filtered.
    kernel_axes = filtered if func == "sepfilter" else sorted(filtered)
    sizes = [size_of[a] for a in kernel_axes]
    keys = filtered if func == "sepfilter" or count < ndim else list(range(ndim))
    entry_sizes = [size_of[a] for a in keys]
    kind = str(rng.choice(["random", "separable", "symmetric", "sparse", "integer", "nan"]))
    if func == "sepfilter" or one_d:
        kind = "separable" if kind in ("symmetric",) else kind
    modes: Any = str(rng.choice(_MODES))
    if count > 1 and not one_d and dtype not in _COMPLEX and rng.random() < 0.3:
        modes = [str(m) for m in rng.choice(_MODES, count)]
    origins: Any = [int(rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in entry_sizes]
    if rng.random() < 0.4:
        low, high = max(-(k // 2) for k in sizes), min((k - 1) // 2 for k in sizes)
        origins = int(rng.integers(low, high + 1)) if low <= high else origins
    output = None
    if rng.random() < 0.3:
        choices = _INTS + _FLOATS
        if dtype in _COMPLEX:
            choices = _COMPLEX
        output = str(rng.choice(choices))
    method = "auto"
    if func in ("correlate", "convolve") and rng.random() < 0.25:
        method = str(rng.choice(["direct", "fft", "separable"]))
    return {
        "seed": int(seed),
        "func": func,
        "shape": shape,
        "dtype": dtype,
        "axes": axes,
        "kernel_sizes": sizes,
        "kernel": kind,
        "mode": modes,
        "origin": origins,
        "cval": float(np.round(rng.normal() * 3, 2)) if rng.random() < 0.5 else 0.0,
        "output": output,
        "method": method,
        "nonfinite_input": bool(rng.random() < 0.1),
    }


def _dtype_p(n: int) -> np.ndarray:
    p = np.ones(n)
    p[7:9] = 3.0  # float32 and float64 most often
    return p / p.sum()


def _kernel_size(rng: np.random.Generator, n: int) -> int:
    r = rng.random()
    if r < 0.05 and n > 0:
        return int(rng.integers(3 * n, 6 * n + 4))  # longer than the line: folded
    return int(rng.integers(1, 8))


def _arrays(case: dict[str, Any]) -> tuple[np.ndarray, Any]:
    rng = np.random.default_rng([case["seed"], 1])
    shape, dtype = tuple(case["shape"]), np.dtype(case["dtype"])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(info.min, -1000), min(info.max, 1000)
        x = rng.integers(low, high + 1, size=shape).astype(dtype)
    else:
        x = (rng.standard_normal(shape) * 10).astype(dtype)
        if dtype.kind == "c":
            x = x + 1j * (rng.standard_normal(shape) * 10).astype(dtype)
        if case["nonfinite_input"] and x.size:
            flat = x.reshape(-1)
            for value in (np.nan, np.inf, -np.inf):
                flat[rng.integers(flat.size)] = value
    sizes = case["kernel_sizes"]
    kind = case["kernel"]
    factors = [rng.standard_normal(k) for k in sizes]
    if kind == "integer":
        factors = [rng.integers(-3, 4, k).astype(np.float64) for k in sizes]
    if kind in ("separable", "symmetric", "integer") or case["func"] == "sepfilter":
        if kind == "symmetric":
            factors = [(f + f[::-1]) / 2 for f in factors]
        if kind == "sparse":
            factors = [np.where(rng.random(k) < 0.5, f, 0.0) for f, k in zip(factors, sizes)]
        if kind == "nan":
            factors[0][rng.integers(sizes[0])] = np.nan
        if case["func"] == "sepfilter" or case["func"].endswith("1d"):
            return x, factors
        w = factors[0]
        for f in factors[1:]:
            w = np.multiply.outer(w, f)
        return x, w
    w = rng.standard_normal(tuple(sizes))
    if kind == "symmetric":
        w = (w + w[(slice(None, None, -1),) * w.ndim]) / 2
    if kind == "sparse":
        w = np.where(rng.random(w.shape) < 0.6, 0.0, w)
    if kind == "nan":
        w.reshape(-1)[rng.integers(w.size)] = np.nan
    if case["func"].endswith("1d"):
        return x, w.reshape(-1)
    return x, w


# --------------------------------------------------------------------------- checking


def check_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case through sepconv and scipy; ``{"ok": bool, ...}`` with details."""
    import sepconv

    x, w = _arrays(case)
    before = _digest(x, w)
    kwargs = {"mode": case["mode"], "cval": case["cval"], "origin": case["origin"]}
    if case["dtype"] in _COMPLEX and case["mode"] != "constant":
        kwargs["cval"] = 0.0
    out = case["output"]
    func = case["func"]
    try:
        if func == "sepfilter":
            ours = sepconv.sepfilter(x, w, case["axes"], out, **kwargs)
        elif func.startswith("ndimage."):
            name = func.split(".", 1)[1]
            extra = {"axis": case["axes"]} if name.endswith("1d") else {"axes": case["axes"]}
            ours = getattr(sepconv.ndimage, name)(x, w, output=out, **kwargs, **extra)
        else:
            method = _method(case, x)
            ours = getattr(sepconv, func)(x, w, out, **kwargs, axes=case["axes"], method=method)
    except sepconv.NotSeparableError:
        return {"ok": True, "skipped": "not separable"}
    except Exception as exc:  # any other error is a finding ...
        if func.startswith("ndimage.") and _scipy_raises_alike(func, exc, x, w, out, kwargs, extra):
            # ... unless scipy refuses the same call with the same class (the
            # drop-in's promise): these cases use sepconv.correlate's conventions.
            return {"ok": True, "skipped": "scipy raises the same"}
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    if _digest(x, w) != before:
        return {"ok": False, "error": "the input or the kernel was modified"}
    expected, exact, reference = _reference(case, x, w)
    problem = _compare(ours, expected, exact, x, w, _float32_work(case), _fixed_bound(case, x, w))
    if problem is None and not func.startswith("ndimage.") and case["seed"] % 10 == 0:
        problem = _repeatable(case, x, w, ours)
    result: dict[str, Any] = {"ok": problem is None, "reference": reference}
    if problem is not None:
        result["error"] = problem
    return result


def _scipy_raises_alike(
    func: str, exc: Exception, x: Any, w: Any, out: Any, kwargs: dict, extra: dict
) -> bool:
    import warnings

    from scipy import ndimage as ndi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(ndi, func.split(".", 1)[1])(x, w, output=out, **kwargs, **extra)
    except Exception as theirs:
        return isinstance(exc, type(theirs))
    return False


def _sepfilter_as_correlate(
    case: dict[str, Any], w: Any, ndim: int
) -> tuple[np.ndarray, list[int], list[Any], list[Any]]:
    """A sepfilter case as correlate sees it: the outer product of its factors with
    the axes sorted, and the modes and origins in that order."""
    from ._args import entries_by_axis
    from ._boundary import check_axes

    given = check_axes(case["axes"], ndim)
    order = sorted(range(len(given)), key=lambda i: given[i])
    dense = w[order[0]]
    with np.errstate(invalid="ignore"):
        for i in order[1:]:
            dense = np.multiply.outer(dense, w[i])
    modes = [entries_by_axis(case["mode"], given, len(given), "mode")[i] for i in order]
    origins = [entries_by_axis(case["origin"], given, len(given), "origin")[i] for i in order]
    return dense, sorted(given), modes, origins


def _reference(case: dict[str, Any], x: np.ndarray, w: Any) -> tuple[Any, Any, str]:
    """scipy's result, its float64 value (for integer outputs) and which reference it was."""
    from scipy import ndimage as ndi

    from ._args import entries_by_axis
    from ._boundary import check_axes, normalize_mode

    func, out = case["func"], case["output"]
    ndim = x.ndim
    one_d = func.endswith("1d")
    name = func.split(".")[-1]
    given = check_axes(case["axes"], ndim)
    if func == "sepfilter":
        w, sorted_given, modes, origins = _sepfilter_as_correlate(case, w, ndim)
        name, given = "correlate", tuple(sorted_given)
        kwargs = {"mode": modes, "origin": origins}
    else:
        kwargs = {"mode": case["mode"], "origin": case["origin"]}
    cval = case["cval"] if not (case["dtype"] in _COMPLEX and case["mode"] != "constant") else 0.0
    axes_kw = {"axis": given[0]} if one_d else {"axes": given}
    call = getattr(ndi, name)
    dtype = np.dtype(out) if out is not None else x.dtype
    # Per-axis entries exactly as correlate maps them (scipy's rule).
    sorted_axes = sorted(given)
    if one_d:
        mode_list, origin_list, kernel = [case["mode"]], [case["origin"]], w
    else:
        mode_of = entries_by_axis(kwargs["mode"], given, ndim, "mode")
        origin_of = entries_by_axis(kwargs["origin"], given, ndim, "origin")
        mode_list = [mode_of[a] for a in sorted_axes]
        origin_list = [origin_of[a] for a in sorted_axes]
        kernel = w
    kernel = np.asarray(kernel)
    if name.startswith("convolve"):
        kernel = kernel[(slice(None, None, -1),) * kernel.ndim]
        origin_list = [-o - (1 - k % 2) for o, k in zip(origin_list, kernel.shape)]
    reach = [max(k // 2 + o, k - 1 - k // 2 - o) for k, o in zip(kernel.shape, origin_list)]
    bad_reflect = any(
        normalize_mode(m) == "reflect" and x.shape[a] > 0 and r >= 4 * x.shape[a]
        for m, r, a in zip(mode_list, reach, sorted_axes)
    )
    # scipy's N-D filters take one mode only: per-axis modes need the reference too.
    per_axis = len({normalize_mode(m) for m in mode_list}) > 1
    if x.size == 0:  # scipy returns an empty array; the reference needs samples
        empty = np.empty(x.shape, dtype)
        return (
            empty,
            empty.astype(np.complex128 if empty.dtype.kind == "c" else np.float64),
            "scipy",
        )
    # sepconv.ndimage promises scipy's bits: scipy is always its reference, on the input
    # reflected beforehand where scipy's own reflect is undefined.
    drop_in = func.startswith("ndimage.")
    if (bad_reflect or per_axis) and kernel.dtype.kind != "c" and not drop_in:
        return _numpy_reference(x, kernel, sorted_axes, mode_list, cval, origin_list, dtype)
    if bad_reflect and drop_in and not one_d:
        return _scipy_padded(call, x, w, dict(kwargs, mode="constant"), axes_kw, dtype, sorted_axes)
    if not one_d and not isinstance(kwargs["mode"], str):
        kwargs["mode"] = mode_list[0]  # one mode for every axis (checked above)
    with np.errstate(all="ignore"):
        expected = call(x, w, output=dtype, cval=cval, **kwargs, **axes_kw)
        wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
        exact = call(x, w, output=wide, cval=cval, **kwargs, **axes_kw)
    return expected, exact, "scipy"


def _scipy_padded(
    call: Any,
    x: np.ndarray,
    w: Any,
    kwargs: dict[str, Any],
    axes_kw: dict[str, Any],
    dtype: np.dtype,
    axes: list[int],
) -> tuple[np.ndarray, np.ndarray, str]:
    """scipy on ``x`` reflected past every edge by more than the kernel reaches, cropped."""
    kshape = np.shape(w)
    pad = [(0, 0)] * x.ndim
    for a, k in zip(axes, kshape):
        pad[a] = (k, k)
    inner = tuple(slice(p, p + n) for (p, _), n in zip(pad, x.shape))
    padded = np.pad(x, pad, mode="symmetric")
    with np.errstate(all="ignore"):
        expected = call(padded, w, output=dtype, cval=0.0, **kwargs, **axes_kw)[inner]
        wide = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
        exact = call(padded, w, output=wide, cval=0.0, **kwargs, **axes_kw)[inner]
    return expected, exact, "scipy_padded"


def _numpy_reference(
    x: np.ndarray,
    kernel: np.ndarray,
    axes: list[int],
    mode_list: list[str],
    cval: float,
    origins: list[int],
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray, str]:
    from ._boundary import normalize_mode
    from ._engine._reference import correlate_reference

    modes = [normalize_mode(m) for m in mode_list]
    with np.errstate(all="ignore"):
        if x.dtype.kind == "c":  # a real kernel filters the parts alone; cval is real
            exact = correlate_reference(x.real, kernel, axes, modes, cval, origins, np.float64)
            imag = correlate_reference(x.imag, kernel, axes, modes, 0.0, origins, np.float64)
            exact = exact + 1j * imag
        else:
            exact = correlate_reference(x, kernel, axes, modes, cval, origins, np.float64)
        return _convert(exact, dtype), exact, "numpy"


def _convert(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    from ._engine import convert_like_scipy

    if np.dtype(dtype).kind == "c":
        return values.astype(dtype)
    return convert_like_scipy(values, dtype)


def _fixed_bound(case: dict[str, Any], x: np.ndarray, w: Any) -> float:
    """How far from an integer an off-by-one may lie where sepconv computes in fixed point.

    sepconv's own functions filter uint8 into uint8 with smoothing factors in 16-bit fixed
    point within a stated bound (:mod:`sepconv._engine._fixed`); 0 elsewhere.
    """
    out = np.dtype(case["output"]) if case["output"] is not None else x.dtype
    if case["func"].startswith("ndimage.") or x.dtype != np.uint8 or out != np.uint8:
        return 0.0
    import sepconv

    try:
        if case["func"] == "sepfilter":
            dense, axes, mode, origin = _sepfilter_as_correlate(case, w, x.ndim)
        else:
            dense, axes, mode, origin = w, case["axes"], case["mode"], case["origin"]
        fixed = sepconv.plan(
            x.shape, dense, dtype=np.uint8, axes=axes, mode=mode, cval=case["cval"], origin=origin
        )._fixed_point()
    except Exception:  # a kernel or option plan() refuses: no fixed point either
        return 0.0
    return 0.0 if fixed is None else fixed.bound


def _compare(
    ours: np.ndarray,
    expected: np.ndarray,
    exact: np.ndarray,
    x: np.ndarray,
    w: Any,
    f32: bool,
    fixed: float = 0.0,
) -> str | None:
    if ours.shape != expected.shape or ours.dtype.newbyteorder("=") != expected.dtype:
        return f"shape/dtype {ours.shape} {ours.dtype} vs scipy {expected.shape} {expected.dtype}"
    if ours.size == 0:
        return None
    weights = np.concatenate([np.ravel(v) for v in w]) if isinstance(w, list) else np.ravel(w)
    with np.errstate(all="ignore"):
        finite_x = np.abs(x[np.isfinite(x)]) if x.dtype.kind in "fc" else np.abs(x)
        big = float(finite_x.max(initial=0.0)) if finite_x.size else 0.0
        scale = big * float(np.nansum(np.abs(weights))) * (4 if isinstance(w, list) else 1) + 1.0
    tol = (1e-4 if f32 else 1e-9) * scale
    if ours.dtype.kind in "fc":
        parts = [(ours.real, expected.real), (ours.imag, expected.imag)] if ours.dtype.kind == "c" \
            else [(ours, expected)]  # fmt: skip
        for a, b in parts:
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            if not np.array_equal(np.isnan(a), np.isnan(b)):
                return f"NaN at {int(np.sum(np.isnan(a) != np.isnan(b)))} places differs"
            inf = np.isinf(b)
            if not np.array_equal(a[inf], b[inf]) or np.any(np.isinf(a) & ~inf):
                return "infinities differ"
            ok = np.isfinite(b)
            worst = float(np.max(np.abs(a[ok] - b[ok]), initial=0.0))
            if worst > tol:
                return f"max |difference| {worst:.3g} > tolerance {tol:.3g}"
        return None
    bits = 8 * ours.dtype.itemsize
    with np.errstate(over="ignore"):  # int64 differences wrap, as the results do
        diff = ours.astype(np.int64) - expected.astype(np.int64)
    if bits < 64:  # differences modulo the type's range, centred on zero
        period = 1 << bits
        diff = diff % period
        diff = np.where(diff > period // 2, diff - period, diff)
    off = np.abs(diff) > 1
    if np.any(off):
        return f"integer results differ by more than one at {int(off.sum())} places"
    with np.errstate(invalid="ignore"):
        near = np.abs(exact - np.round(exact)) <= max(tol, fixed + 1e-9 * scale)
    where = (diff != 0) & np.isfinite(exact) & ~near
    if np.any(where):
        return f"off by one at {int(where.sum())} places not on a rounding boundary"
    return None


def _float32_work(case: dict[str, Any]) -> bool:
    dtypes = {case["dtype"], case["output"] or case["dtype"]}
    if "float64" in dtypes or "complex128" in dtypes:
        return False
    return bool(dtypes & {"float32", "complex64", "uint8", "int8"}) or case["method"] == "fft"


def _repeatable(case: dict[str, Any], x: np.ndarray, w: Any, first: np.ndarray) -> str | None:
    """Deterministic results: one thread gives the same bits as the default."""
    import sepconv

    threads = sepconv.get_num_threads()
    sepconv.set_num_threads(1)
    try:
        kwargs = {"mode": case["mode"], "cval": case["cval"], "origin": case["origin"]}
        if case["dtype"] in _COMPLEX and case["mode"] != "constant":
            kwargs["cval"] = 0.0
        if case["func"] == "sepfilter":
            again = sepconv.sepfilter(x, w, case["axes"], case["output"], **kwargs)
        else:
            method = _method(case, x)
            again = getattr(sepconv, case["func"])(
                x, w, case["output"], **kwargs, axes=case["axes"], method=method
            )
    finally:
        sepconv.set_num_threads(threads)
    if again.tobytes() != first.tobytes():
        return "a second call with one thread gave different bits"
    return None


def _method(case: dict[str, Any], x: np.ndarray) -> str:
    if case["method"] == "fft" and not _finite(x):
        return "auto"  # documented: FFT spreads NaN and infinity everywhere
    return case["method"]


def _finite(x: np.ndarray) -> bool:
    return x.dtype.kind in "iu" or bool(np.all(np.isfinite(x)))


def _digest(x: np.ndarray, w: Any) -> str:
    h = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    for v in w if isinstance(w, list) else [w]:
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- driver


def run(cases: int, seed: int = 0) -> dict[str, Any]:
    """Check ``cases`` cases; a summary with every mismatch and its seed."""
    start = time.perf_counter()
    mismatches, skipped, refused = [], 0, 0
    by_function: dict[str, int] = {}
    numpy_reference = scipy_padded = 0
    for i in range(cases):
        case = make_case(seed * 1_000_003 + i)
        try:
            result = check_case(case)
        except Exception:  # a failure of the checker itself is reported, not hidden
            result = {"ok": False, "error": "checker: " + traceback.format_exc(limit=3)}
        by_function[case["func"]] = by_function.get(case["func"], 0) + 1
        skipped += result.get("skipped") == "not separable"
        refused += result.get("skipped") == "scipy raises the same"
        numpy_reference += result.get("reference") == "numpy"
        scipy_padded += result.get("reference") == "scipy_padded"
        if not result["ok"]:
            mismatches.append({"case": case, "error": result["error"]})
    return {
        "cases": cases,
        "seed": seed,
        "mismatches": len(mismatches),
        "skipped_not_separable": skipped,
        "refused_like_scipy": refused,
        "numpy_reference": numpy_reference,
        "scipy_on_padded_input": scipy_padded,
        "by_function": by_function,
        "seconds": round(time.perf_counter() - start, 1),
        "failures": mismatches,
    }


def _markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# Differential fuzzing against scipy.ndimage",
        "",
        f"Command: `python -m sepconv._fuzz --cases {summary['cases']} --seed {summary['seed']}`",
        "",
        "| cases | mismatches | checked against NumPy reference "
        "| against scipy on pre-reflected input | skipped (not separable) | seconds |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {summary['cases']} | {summary['mismatches']} | {summary['numpy_reference']} "
        f"| {summary['scipy_on_padded_input']} "
        f"| {summary['skipped_not_separable']} | {summary['seconds']} |",
        "",
        "Cases per function: "
        + ", ".join(f"`{k}` {v}" for k, v in sorted(summary["by_function"].items())),
        "",
    ]
    if summary["failures"]:
        lines += ["| seed | function | error |", "|---:|---|---|"]
        for f in summary["failures"]:
            error = f["error"].splitlines()[0].replace("|", "\\|")
            lines.append(f"| {f['case']['seed']} | {f['case']['func']} | {error} |")
    else:
        lines.append("No mismatches.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sepconv._fuzz", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cases", type=int, default=500, help="number of cases (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="profile seed (default 0)")
    parser.add_argument("--out", type=Path, help="write the summary as JSON (and .md beside it)")
    parser.add_argument("--replay", type=int, help="check the one case of this case seed")
    args = parser.parse_args(argv)
    if args.replay is not None:
        case = make_case(args.replay)
        try:
            result = check_case(case)
        except Exception:
            result = {"ok": False, "error": "checker: " + traceback.format_exc()}
        print(json.dumps({"case": case, "result": result}, indent=2))
        return 0
    summary = run(args.cases, args.seed)
    if args.out is not None:
        from ._files import atomic_write

        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, json.dumps(summary, indent=2) + "\n")
        atomic_write(args.out.with_suffix(".md"), _markdown(summary))
    print(f"{summary['cases']} cases, {summary['mismatches']} mismatches, {summary['seconds']} s")
    for f in summary["failures"][:20]:
        print(f"  seed {f['case']['seed']}: {f['case']['func']}: {f['error'].splitlines()[0]}")
    return 1 if summary["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
