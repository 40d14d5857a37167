"""Dask arrays and torch tensors through the NumPy functions, one way for every filter.

:func:`backend` decorates a NumPy filter (``sepconv.correlate`` / ``convolve`` /
``sepfilter`` and :mod:`sepconv.ndimage`'s).  A NumPy
call goes straight through (one ``isinstance`` test).  A ``dask.array.Array``
input becomes a lazy ``map_overlap`` of the same NumPy function, with the
overlap depth per axis given by the filter's ``reach`` rule; since every output
sample depends only on input samples within that reach, each block's bits are
the NumPy result's.  A ``torch.Tensor`` input goes to the filter's ``tensor``
rule, built on :mod:`sepconv.torch` (differentiable).  The NumPy functions know
nothing about either.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import _args

__all__ = ["backend"]

F = TypeVar("F", bound=Callable[..., Any])

# reach(arguments, ndim) -> {axis: samples}; tensor(arguments) -> torch.Tensor;
# prepare(arguments, shape, dtype) -> arguments every block should take
Reach = Callable[[dict[str, Any], int], dict[int, int]]


def backend(
    reach: Reach | None = None,
    tensor: Callable[..., Any] | None = None,
    *,
    whole_lines: bool = False,
    prepare: Callable[[dict[str, Any], tuple[int, ...], np.dtype], dict[str, Any]] | None = None,
    unknown: str = "",
    mode: Callable[[dict[str, Any]], Any] | None = None,
    probe: Callable[[dict[str, Any], int], tuple[int, ...]] | None = None,
    whole_if: Callable[[dict[str, Any], np.dtype], str | None] | None = None,
) -> Callable[[F], F]:
    """Let a NumPy filter take Dask arrays (``reach`` given) and tensors (``tensor`` given).

    ``whole_lines``: the filter is not local (uniform_filter1d's running sum
    carries rounding along the whole line), so each block holds whole lines
    of the axes ``reach`` names, and multi-axis filters run one lazy 1-D pass
    per axis, stored in the output dtype as the NumPy filter stores them
    (not for calls that skip NaN or masked samples: their normalized
    convolution is local).  ``prepare`` fixes, from the whole array, choices a
    block would otherwise make from its own shape (sepconv.correlate's plan).
    ``reach`` may return None when the reach of these arguments is unknown
    (``unknown`` says why).  ``mode`` gives the boundary mode(s) from the
    arguments (default: the ``mode`` argument) and ``probe`` the shape of the
    tiny block the arguments are first checked on (default: one sample),
    for filters whose arguments are named otherwise (sepconv.astropy).

    A ``mask`` argument (an array of the input's shape: True ignores that
    sample) is cut into the blocks of the input: the two are stacked and each
    block's filter gets its part.
    ``whole_if(arguments, dtype)``: for filters whose result depends on more
    of a line than their window (scipy's NaN rule in a running minimum /
    maximum): ``'lines'`` runs them as ``whole_lines`` does (one pass per
    axis over blocks of whole lines of that axis; a footprint it routes there
    is all-true, its shape's window), ``'whole'`` gives each block whole lines
    of every filtered axis at once (for compositions of such filters), None
    plain overlapping blocks.
    """

    def decorate(func: F) -> F:
        signature = inspect.signature(func)

        @functools.wraps(func)
        def call(input: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(input, np.ndarray):
                return func(input, *args, **kwargs)
            module = type(input).__module__
            if module.startswith("dask"):
                if reach is None:
                    raise TypeError(
                        f"{func.__name__} cannot take a Dask array: the reach of an arbitrary "
                        "derivative callable is unknown; use gaussian_laplace, "
                        "gaussian_gradient_magnitude, laplace or sobel, or map_overlap yourself"
                    )
                bound = signature.bind(input, *args, **kwargs)
                bound.apply_defaults()
                return _lazy(
                    func, bound, reach, whole_lines, prepare, unknown, mode, probe, whole_if
                )
            if module.startswith("torch"):
                if tensor is None:
                    raise TypeError(
                        f"{func.__name__} has no tensor form; pass a NumPy array "
                        "(tensor.numpy()) or use gaussian_filter, uniform_filter, sobel, "
                        "prewitt, laplace or correlate1d"
                    )
                bound = signature.bind(input, *args, **kwargs)
                bound.apply_defaults()
                return tensor(**bound.arguments)
            return func(input, *args, **kwargs)

        call.__wrapped__ = func  # type: ignore[attr-defined]
        return call  # type: ignore[return-value]

    return decorate


def _lazy(
    func: Callable[..., Any],
    bound: inspect.BoundArguments,
    reach: Reach,
    whole_lines: bool,
    prepare: Callable[..., dict[str, Any]] | None,
    unknown: str,
    mode_of: Callable[[dict[str, Any]], Any] | None = None,
    probe_of: Callable[[dict[str, Any], int], tuple[int, ...]] | None = None,
    whole_if: Callable[[dict[str, Any], np.dtype], str | None] | None = None,
) -> Any:
    import dask.array as da

    from ._lazy import map_with_reach as _map_with_reach

    first = next(iter(bound.signature.parameters))  # "input" (astropy: "array")
    x = bound.arguments[first]
    arguments = dict(bound.arguments)
    kwargs_name = next(
        (p.name for p in bound.signature.parameters.values() if p.kind is p.VAR_KEYWORD), None
    )
    extra = arguments.pop(kwargs_name, {}) if kwargs_name else {}
    output = arguments.get("output")
    if isinstance(output, np.ndarray) or type(output).__module__.startswith("dask"):
        raise TypeError(
            "output must be None or a dtype for a Dask input, not an array; store the lazy "
            "result with dask.array.store or .to_zarr instead"
        )
    del arguments[first]
    mask = arguments.get("mask")
    if mask is not None or arguments.get("nan_policy", "propagate") != "propagate":
        whole_lines = False  # normalized convolution is local: plain blocks
    depth = reach({**arguments, **extra}, x.ndim)
    if depth is None:
        raise TypeError(f"{func.__name__} cannot take a Dask array here: {unknown}")
    # Run the NumPy function on a tiny block: it raises the same errors at once
    # and tells the output dtype.
    shape = (1,) * x.ndim if probe_of is None else probe_of(arguments, x.ndim)
    tiny = dict(arguments)
    if mask is not None:
        _check_mask_shape(mask, x.shape)
        tiny["mask"] = np.zeros(shape, bool)
    probe = func(np.zeros(shape, dtype=x.dtype), **tiny, **extra)
    if "output" in bound.signature.parameters:
        arguments["output"] = probe.dtype
    if prepare is not None:
        arguments.update(prepare({**arguments, **extra}, x.shape, x.dtype))
    # a filter that stacks its results along a new first axis (sepconv.features)
    stacked = probe.shape[0] if probe.ndim == x.ndim + 1 else 0
    if x.size == 0:
        if stacked:
            return da.zeros((stacked, *x.shape), dtype=probe.dtype, chunks=((stacked,), *x.chunks))
        return da.zeros(x.shape, dtype=probe.dtype, chunks=x.chunks)
    whole = None if whole_if is None else whole_if({**arguments, **extra}, x.dtype)
    if whole_lines or whole == "lines":
        return _by_whole_lines(func, x, arguments, extra, depth, probe.dtype)
    # The block graph of sepconv.dask: every block filters its extended input.
    # Past the array's edges nothing is added ("constant" layout) -- the NumPy
    # function applies its own mode at the true edge -- except along axes that
    # wrap, which need the far side of the array.
    mode = arguments.get("mode", "reflect") if mode_of is None else mode_of(arguments)
    wrap = _wrap_axes(mode, x.ndim, arguments.get("axes"), func)
    lead = 0  # the input's blocks stacked with the mask's: one axis more
    task = _apply
    if mask is not None:
        # The mask is cut into the input's blocks: both stacked on a leading axis.
        m = mask if type(mask).__module__.startswith("dask") else da.from_array(np.asarray(mask))
        x = da.stack([x, (m != 0).astype(x.dtype).rechunk(x.chunks)]).rechunk({0: 2})
        arguments = dict(arguments, mask=None, output=probe.dtype)
        if "output" not in bound.signature.parameters:
            arguments["_no_output"] = True
        lead, task = 1, _apply_masked
    axes, reach, modes = [], [], []
    for ax, d in sorted(depth.items()):
        if d <= 0:
            continue
        # wrap and other modes on one axis, or whole lines asked for: take it whole
        if whole == "whole" or wrap.get(ax) is None:
            x = x.rechunk({ax + lead: -1})
            continue
        axes.append(ax + lead)
        reach.append((d, d))
        modes.append("wrap" if wrap[ax] else "constant")
    lazy = _map_with_reach(
        x, task, func, arguments | extra, tuple(axes), reach, modes, probe.dtype, stacked
    )
    return lazy[0] if mask is not None else lazy


def _check_mask_shape(mask: Any, shape: tuple[int, ...]) -> None:
    if tuple(np.shape(mask)) != tuple(shape):
        raise ValueError(
            f"mask must have the input's shape {tuple(shape)}, got shape {np.shape(mask)}; "
            "pass one boolean per input sample (True: ignore it)"
        )


def _apply(block: np.ndarray, function: Callable[..., Any], **arguments: Any) -> np.ndarray:
    # The task body: the NumPy filter on one extended block.
    return function(block, **arguments)


def _apply_masked(
    block: np.ndarray, function: Callable[..., Any], output: Any, **arguments: Any
) -> np.ndarray:
    # The task body of a masked filter: block[0] the input, block[1] the mask; the
    # result goes to [0] of a stacked array shaped like the block (its [1] is never
    # written, so never touched).
    result = np.empty(block.shape, output)
    arguments.pop("mask", None)
    if arguments.pop("_no_output", False):  # astropy's signature: the result is returned
        result[0] = function(block[0], mask=block[1] != 0, **arguments)
    else:
        function(block[0], output=result[0], mask=block[1] != 0, **arguments)
    return result


def _by_whole_lines(
    func: Callable[..., Any],
    x: Any,
    arguments: dict[str, Any],
    extra: dict[str, Any],
    depth: dict[int, int],
    dtype: np.dtype,
) -> Any:
    import dask.array as da

    meta = np.empty((0,) * x.ndim, dtype)
    if "axes" not in arguments:  # a 1-D filter: one pass over whole lines of its axis
        (axis,) = depth
        x = x.rechunk({axis: -1})
        return da.map_blocks(lambda b: func(b, **arguments, **extra), x, dtype=dtype, meta=meta)
    # A multi-axis filter, as the NumPy one composes it: one 1-D pass per axis,
    # each stored in the output dtype (its own ``axes=(axis,)`` call).
    if arguments.get("footprint") is not None:  # all-true (see backend): its shape's window
        arguments = dict(arguments, size=np.shape(arguments["footprint"]), footprint=None)
    axes = _args.to_axes(arguments["axes"], x.ndim)
    per_axis = {
        key: dict(zip(axes, _args.to_sequence(value, len(axes), key)))
        for key, value in arguments.items()
        if key in ("size", "origin", "mode")
    }
    passes = [ax for ax in axes if int(per_axis["size"][ax]) > 1]  # as scipy skips them
    if not passes:
        return x.astype(dtype)
    given = x.chunks
    for axis in passes:
        one = dict(arguments, axes=(axis,), **{k: v[axis] for k, v in per_axis.items()})
        # whole lines of this axis, the given chunks along the others (an earlier
        # pass's whole lines would otherwise make the array one block)
        x = x.rechunk(tuple(-1 if a == axis else c for a, c in enumerate(given)))
        x = da.map_blocks(lambda b, one=one: func(b, **one, **extra), x, dtype=dtype, meta=meta)
    return x


def _wrap_axes(mode: Any, ndim: int, axes: Any, func: Callable[..., Any]) -> dict[int, Any]:
    """``{axis: True}`` where every mode wraps, ``False`` where none does, ``None`` if mixed."""
    if isinstance(mode, str):
        return dict.fromkeys(range(ndim), _args.to_mode(mode) == "wrap")
    if "axes" in inspect.signature(func).parameters:
        filtered = _args.to_axes(axes, ndim)
    else:  # sobel/prewitt: one mode per array axis
        filtered = tuple(range(ndim))
    modes = _args.to_sequence(mode, len(filtered), "mode")
    wraps = {ax: _args.to_mode(m) == "wrap" for ax, m in zip(filtered, modes)}
    if any(wraps.values()) and len(filtered) < ndim or len(set(wraps.values())) > 1:
        # Passes along one axis may use another axis's mode (gaussian_laplace
        # smooths every axis with each derivative's mode): mixed means unknown.
        return {ax: (wraps[ax] if not any(wraps.values()) else None) for ax in range(ndim)}
    return {ax: wraps.get(ax, False) for ax in range(ndim)}


# --------------------------------------------------------------------------- sepconv's own filters


def correlate_reach(a: dict[str, Any], ndim: int, convolution: bool = False) -> dict[int, int]:
    """``sepconv.correlate``: how far the kernel reaches along each axis (the larger of
    back and forward, with the origins as the NumPy path maps them)."""
    from ._boundary import kernel_reach

    kernel, origins, _ = _args.nd_kernel(
        ndim, a["weights"], "reflect", a["origin"], a["axes"], convolution
    )
    return {
        ax: max(kernel_reach(n, o)) for ax, (n, o) in enumerate(zip(kernel.shape, origins)) if n > 1
    }


def convolve_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    """``sepconv.convolve``: the reach of the equivalent correlation."""
    return correlate_reach(a, ndim, convolution=True)


def sepfilter_reach(a: dict[str, Any], ndim: int) -> dict[int, int]:
    """``sepconv.sepfilter``: each factor's reach along its axis."""
    from ._boundary import kernel_reach

    axes = _args.to_axes(a["axes"], ndim)
    origins = _args.to_sequence(a["origin"], len(axes), "origin")
    return {
        ax: max(kernel_reach(int(np.size(f)), int(o)))
        for ax, f, o in zip(axes, a["factors"], origins)
    }


def plan_once(a: dict[str, Any], shape: tuple[int, ...], dtype: np.dtype) -> dict[str, Any]:
    """Every block runs the plan the whole array gets, not one made for its own shape.

    An FFT plan is left to each block (``'auto'``): the NumPy path drops FFT
    for inputs holding NaN or infinity, which only the block can see.
    """
    if a.get("method", "auto") != "auto":
        return {}
    from ._plan import plan

    keys = ("axes", "method", "rtol", "mode", "cval", "origin")
    chosen = plan(shape, a["weights"], dtype=dtype, **{k: a[k] for k in keys if k in a})
    return {} if chosen.method == "fft" else {"method": chosen.method}


def correlate_tensor(**a: Any) -> Any:
    """``sepconv.correlate`` of a tensor: :func:`sepconv.torch.correlate` (differentiable)."""
    from . import torch as sepconv_torch

    return sepconv_torch.correlate(**a)


def convolve_tensor(**a: Any) -> Any:
    """``sepconv.convolve`` of a tensor: :func:`sepconv.torch.convolve`."""
    from . import torch as sepconv_torch

    return sepconv_torch.convolve(**a)
