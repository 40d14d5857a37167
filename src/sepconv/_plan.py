"""Choosing how to filter: direct, separable, low-rank or FFT, and explaining why.

:func:`plan` looks at the kernel once (is it separable? how many folded taps?)
and prices every method with a small cost model in *loads per output element*,
the quantity the engine's vectorised loops are bound by:

* ``direct``: each kernel row along the innermost axis costs its taps (a
  folded symmetric pair costs two loads but one multiplication) plus one load
  to bring in its input row;
* ``separable``: the taps of each 1-D factor, plus two (read the input, write
  the output) for the fused pass of the last two axes and four more for every
  further axis (a full pass through a work buffer); a constant factor of at
  least ``sepconv._engine.RUNNING_MIN`` taps runs as box sums (running sums down
  columns, doubling sums along rows: :func:`sepconv._engine._arith.hbox_fast`) and costs
  ``RUNNING_LOADS`` whatever its length; size-1 kernel axes cost nothing;
* ``lowrank``: the sum over its separable terms, sharing one input row;
* ``fft``: ``15 * log2(n)`` per padded element for the forward and inverse
  transforms of ``n`` padded points, scaled by the padded-to-output ratio
  (scipy.fft's throughput relative to the engine, measured on this project's
  reference machine).

* ``recursive``: a separable kernel whose factors are sampled Gaussians or
  Gaussian derivatives (orders 0 to 2) runs as recursive filters
  (:func:`sepconv._engine.run_recursive`) at :data:`RECURSIVE_LOADS` per axis
  whatever the kernel's length, with the kernel error the plan reports
  (the recursive kernel is not truncated, and differs from any sampled one
  by about 1e-5 to 1e-4 of its peak).

``auto`` picks the cheapest *exact* method (low-rank and recursive plans
approximate the kernel, so they compete only when the caller gives ``rtol``;
a recursive plan is taken only when its relative kernel error is within it).  The plan also
reports the multiplications per output element of every candidate, the
quantity :mod:`sepconv.cost` counts.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _args, _engine
from ._args import check_tolerance, effective_weights, format_bytes
from ._digest import digest_cache
from ._engine import ProgramCache
from ._plan_costs import _analyse, _fft_cost, _readonly, _reason
from .analysis import NotSeparableError, _integer_view, rounding_tol, separate

__all__ = ["METHODS", "RECURSIVE_LOADS", "Plan", "execute", "make_plan", "plan", "run"]

#: Methods accepted by ``method=``.
METHODS: tuple[str, ...] = ("auto", "direct", "separable", "lowrank", "fft")
#: Estimated loads per output element of one recursive pass (both directions, three
#: pole pairs), whatever the sigma: measured against separable FIR passes in
#: ``benchmarks/bench_features.py`` (4096^2 float32).
RECURSIVE_LOADS = 40.0
_ALL = (*METHODS[1:], "recursive")


@dataclass(frozen=True, eq=False)
class Plan:
    """How sepconv filters an array of a given shape with a given kernel.

    Attributes
    ----------
    method : str
        The method used: ``'direct'``, ``'separable'``, ``'lowrank'`` or ``'fft'``.
    requested : str
        The ``method`` asked for (``'auto'`` or one of the above).
    shape : tuple of int
        Shape of the input.
    axes : tuple of int
        Filtered axes, in the order of the kernel's axes.
    kernel_shape : tuple of int
        Shape of the kernel.
    weights : ndarray
        The kernel as the engine uses it (float64, weights with ``|w| <= eps``
        zeroed as scipy does).  Read-only.
    factors : tuple of ndarray or None
        One 1-D factor per filtered axis (``'separable'``).
    terms : tuple of (ndarray, ndarray) or None
        ``(column, row)`` pairs whose outer products sum to the kernel (``'lowrank'``).
    recursive : tuple of (sigma, order, scale) or None
        Per kernel axis of more than one tap, the recursive Gaussian
        (derivative) that replaces its factor (``'recursive'``; chosen only
        under ``rtol``).
    multiplications : dict
        Multiplications per output element of every candidate method (folded
        symmetric taps count once).
    costs : dict
        Estimated work per output element (loads) of every candidate; the
        ``auto`` choice minimises it among exact methods.
    rejected : dict
        Methods that were not candidates, with the reason.
    exact : bool
        False for a low-rank approximation that changes the kernel beyond rounding.
        Separable factors are exact to the rounding of :attr:`precision`.
    error : float
        Relative Frobenius error of the kernel actually applied: the low-rank
        approximation's, or the separable factors' (their outer product equals
        the kernel only to the rounding of :attr:`precision`).
    max_abs_error_bound : float
        ``sum(|K - K_used|)``: outputs differ from exact filtering by at most
        this times ``max|input|`` (plus rounding).
    reason : str
        Why this method was chosen.
    precision : str
        The coarser of the kernel's dtype and the engine's work dtype
        (``'float32'`` or ``'float64'``).  Separability is judged at its
        rounding: a kernel separates when its second singular value is at most
        ``max(kernel.shape) * eps * s_max`` (see :func:`sepconv.rank`), so a
        float32 outer product, or a float64 kernel filtering float32 data,
        plans ``'separable'`` with factors whose error is that rounding.
    memory : dict
        Estimated working memory in bytes (beyond input and output) of every
        candidate; see :func:`sepconv.set_memory_budget`.
    memory_budget : float
        The working-memory budget in bytes for this shape; ``auto`` picks no
        method above it when an exact method fits.
    dtype : numpy.dtype or None
        Input dtype the plan filters (``None`` for plans made inside a call).
    modes, cval, origins
        Boundary modes and origins per kernel axis, and ``cval``, as normalised.

    Calling a plan filters an array: ``p(x)`` or ``p(x, output=out)`` equals
    ``sepconv.correlate(x, weights, out, mode, cval, origin, axes=axes, method=...)``
    and checks only what may differ between calls (the array's shape and dtype,
    the output).  The kernel launches of each memory layout seen are kept in the
    plan, so a loop over many same-sized images pays the planning once.

    Examples
    --------
    >>> import numpy as np, sepconv
    >>> p = sepconv.plan((512, 512), sepconv.kernels.gaussian(2.0, ndim=2))
    >>> p.method
    'separable'
    >>> p.multiplications["separable"] < p.multiplications["direct"]
    True
    >>> blur = sepconv.plan((4, 64, 64), np.ones((3, 3)) / 9, dtype=np.float32, axes=(1, 2))
    >>> frames = np.ones((4, 64, 64), np.float32)
    >>> out = np.empty_like(frames)
    >>> blur(frames, output=out) is out, float(out[0, 0, 0])
    (True, 1.0)
    >>> blur(frames[0])
    Traceback (most recent call last):
    ...
    ValueError: input has shape (64, 64) but this plan filters arrays of shape (4, 64, 64); ...
    """

    method: str
    requested: str
    shape: tuple[int, ...]
    axes: tuple[int, ...]
    kernel_shape: tuple[int, ...]
    weights: np.ndarray = field(repr=False)
    factors: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    terms: tuple[tuple[np.ndarray, np.ndarray], ...] | None = field(default=None, repr=False)
    multiplications: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    exact: bool = True
    error: float = 0.0
    max_abs_error_bound: float = 0.0
    reason: str = ""
    precision: str = "float64"
    memory: dict[str, int] = field(default_factory=dict)
    memory_budget: float = math.inf
    dtype: np.dtype | None = None
    modes: tuple[str, ...] = ()
    cval: float = 0.0
    origins: tuple[int, ...] = ()
    recursive: tuple[tuple[float, int, float], ...] | None = field(default=None, repr=False)
    # the launches of up to 16 memory layouts this plan was called with
    _programs: ProgramCache = field(default_factory=lambda: ProgramCache(16), repr=False)

    def __call__(self, input: Any, output: Any = None) -> np.ndarray:
        """Filter ``input`` (of the planned shape and dtype) into ``output`` (array or dtype)."""
        if self.dtype is None:
            raise TypeError("this plan was made inside a call; make one with sepconv.plan(...)")
        array = input if type(input) is np.ndarray else np.asarray(input)
        if array.shape != self.shape:
            raise ValueError(
                f"input has shape {array.shape} but this plan filters arrays of shape "
                f"{self.shape}; make a plan for that shape with sepconv.plan({array.shape}, ...)"
            )
        if array.dtype != self.dtype:
            raise TypeError(
                f"input has dtype {array.dtype} but this plan filters {self.dtype} arrays; make "
                f"a plan with dtype=np.{array.dtype}, or convert with x.astype(np.{self.dtype})"
            )
        return execute(self, array, output)

    def explain(self) -> str:
        """A few lines saying what will run, what it costs and why it was chosen.

        The plan is chosen by its estimated memory loads per output element (the
        quantity the engine's loops are bound by), not by its multiplications: a
        symmetric pair of taps costs one multiplication but two loads, so the plan
        with fewer multiplications is not always the faster one.

        Examples
        --------
        >>> import sepconv
        >>> print(sepconv.plan((64, 64), [[1, 2, 1], [2, 4, 2], [1, 2, 1]]).explain())
        ... # doctest: +ELLIPSIS
        separable: 2 passes of 3 taps (3 x 3 kernel on axes (0, 1) of a (64, 64) array)
          why: cheapest exact method by estimated memory loads per output: 8.0 against direct 10.0
        ...
        """
        lines = [
            f"{self._what()} ({_shape(self.kernel_shape)} kernel on axes "
            f"{self.axes} of a {self.shape} array)"
        ]
        lines.append(f"  why: {self.reason}")
        lines.append(
            "  cost: estimated memory loads per output element, what the engine's loops are "
            "bound by; multiplications count a symmetric pair of taps once"
        )
        lines.append(f"    {'method':<9} {'loads':>7} {'mults':>7}  memory")
        for name in _ALL:
            if name in self.costs:
                mark = "*" if name == self.method else " "
                memory = self.memory.get(name)
                lines.append(
                    f"  {mark} {name:<9} {self.costs[name]:7.1f} {self.multiplications[name]:7.1f}"
                    + (f"  {format_bytes(memory)}" if memory is not None else "")
                    + (
                        " (over budget)"
                        if memory is not None and memory > self.memory_budget
                        else ""
                    )
                )
            elif name in self.rejected:
                lines.append(f"    {name:<9} not used: {self.rejected[name]}")
        fewer = [
            name
            for name in self.costs
            if name != self.method
            and self.multiplications[name] < self.multiplications[self.method]
            and self.costs[name] > self.costs[self.method]
        ]
        if fewer:
            lines.append(
                f"  {' and '.join(fewer)}: fewer multiplications but more loads: estimated slower"
            )
        lines.append(f"  memory budget: {format_bytes(self.memory_budget)} beyond input and output")
        if not self.exact or self.method in ("lowrank", "recursive"):
            lines.append(
                f"  approximation: relative error {self.error:.3g}, |output error| <= "
                f"{self.max_abs_error_bound:.3g} * max|input|"
            )
        elif self.method == "separable" and self.error > 0:
            lines.append(
                f"  factors: exact to {self.precision} rounding (relative error "
                f"{self.error:.3g}, |output error| <= {self.max_abs_error_bound:.3g} * max|input|)"
            )
        fixed = self._fixed_point()
        if fixed is not None:
            lines.append(f"  arithmetic: {fixed.describe()}")
        unit = [ax for ax, n in zip(self.axes, self.kernel_shape) if n == 1]
        if unit and self.method in ("separable", "direct", "fft"):
            lines.append(f"  axes {tuple(unit)}: kernel size 1, a scale folded in, no pass")
        return "\n".join(lines)

    def _fixed_point(self) -> Any:
        """The engine's integer plan for this plan's uint8 / uint16 calls (same output), or None."""
        if self.method != "separable" or self.factors is None or self.dtype is None:
            return None
        passes = [(ax, f) for ax, f in zip(self.axes, self.factors) if f.size > 1]
        if len(passes) != 2 or passes[1][0] != passes[0][0] + 1:
            return None
        return _engine.fixed_point_plan(
            passes[0][1], passes[1][1], self.dtype, self.modes, self.cval
        )

    def __str__(self) -> str:
        # One line a reader can check: the estimated loads per output decide (the unit says
        # so), the alternatives' loads show the margin; multiplications are told, not compared.
        cost = self.costs[self.method]
        others = [name for name in _ALL if name in self.costs and name != self.method]
        over = {n for n in self.costs if self.memory.get(n, 0) > self.memory_budget}
        if self.requested != "auto":
            why = f"method={self.requested!r} was requested"
        elif not others:
            why = "the only plan for this kernel"
        elif all(cost <= self.costs[n] for n in others):
            why = "the cheapest plan"
        else:
            why = "the cheapest plan within the memory budget"
        alternatives = ", ".join(
            f"{n} {self.costs[n]:.0f}" + (" over budget" if n in over else "") for n in others
        )
        return (
            f"{self._what()}; {why}, about {cost:.0f} memory loads per output"
            + (f" (against {alternatives})" if alternatives else "")
            + f"; {self.multiplications[self.method]:.0f} multiplications per output"
        )

    def _what(self) -> str:
        if self.method == "separable" and self.factors is not None:
            sizes = [f.size for f in self.factors if f.size > 1] or [1]
            taps = " + ".join(str(s) for s in sizes)
            if len(set(sizes)) == 1:
                taps = str(sizes[0])
            passes = "1 pass" if len(sizes) == 1 else f"{len(sizes)} passes"
            text = f"separable: {passes} of {taps} taps"
            running = [
                ax
                for ax, f in zip(self.axes, self.factors)
                if _engine.running_constant(f) is not None
            ]
            if running:
                text += f", box sums on axes {tuple(running)}"
            return text
        if self.method == "lowrank" and self.terms is not None:
            return f"lowrank: {len(self.terms)} separable terms"
        if self.method == "recursive" and self.recursive is not None:
            kept = [ax for ax, n in zip(self.axes, self.kernel_shape) if n > 1] or [self.axes[-1]]
            parts = [
                f"order {o} sigma {sd:.3g} on axis {ax}"
                for ax, (sd, o, _) in zip(kept, self.recursive)
            ]
            return "recursive: Gaussian filters flat in sigma (" + "; ".join(parts) + ")"
        if self.method == "fft":
            return "fft: padded FFT convolution"
        return f"direct: {int(np.count_nonzero(self.weights))} nonzero taps"


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(str(s) for s in shape)


# --------------------------------------------------------------------------- public


def plan(
    shape: Any,
    weights: Any,
    *,
    dtype: Any = np.float64,
    axes: Any = None,
    method: str = "auto",
    rtol: float | None = None,
    mode: Any = "reflect",
    cval: float = 0.0,
    origin: Any = 0,
) -> Plan:
    """Decide how :func:`sepconv.correlate` would filter an array, without filtering.

    Parameters
    ----------
    shape : tuple of int
        Shape of the input array.
    weights : array_like
        The kernel, one dimension per filtered axis.
    dtype : dtype, optional
        Input dtype of the arrays the plan will filter when called.  With the
        kernel's dtype it sets the rounding that separability is judged at
        (see :attr:`Plan.precision`).
    axes : int or sequence of int, optional
        Filtered axes; ``None`` means all.
    method : {'auto', 'direct', 'separable', 'lowrank', 'fft'}
        ``'auto'`` picks the cheapest exact method; the others force one.
    rtol : float, optional
        Relative (Frobenius) kernel error allowed; with it ``'auto'`` also
        considers low-rank plans.  For ``method='lowrank'`` it sets the rank
        (default: the kernel's numerical rank, an exact decomposition).
    mode, cval, origin
        As for :func:`sepconv.correlate`; validated.  A kernel longer than the
        array along an axis is folded to an equivalent short one (which
        depends on ``mode`` and ``origin``), as :func:`sepconv.correlate` does.

    Returns
    -------
    Plan

    Raises
    ------
    NotSeparableError
        For ``method='separable'`` and a kernel that does not separate.

    Examples
    --------
    >>> import sepconv
    >>> print(sepconv.plan((256, 256), sepconv.kernels.sobel()))
    separable: 2 passes of 3 taps; the cheapest plan, about 7 memory loads per output (against
    direct 8, fft 274); 3 multiplications per output
    >>> sepconv.plan((256, 256), sepconv.kernels.disk(7)).method
    'direct'
    >>> sepconv.plan((256, 256), sepconv.kernels.disk(7), rtol=0.3).method
    'lowrank'
    """
    shape = _check_shape(shape)
    weights = _check_weights(weights)
    dtype = _check_dtype(dtype)
    given = _args.to_axes(axes, len(shape))
    axes = tuple(sorted(given))  # as in scipy, kernel dimensions follow the sorted axes
    _check_kernel_dims(weights, axes, len(shape))
    # origin and mode entries map to array axes by the rule sepconv.correlate uses
    origin_of = _args.entries_by_axis(origin, given, len(shape), "origin")
    mode_of = _args.entries_by_axis(mode, given, len(shape), "mode")
    origins = tuple(_args.to_origin(origin_of[a], k) for a, k in zip(axes, weights.shape))
    modes = tuple(_args.to_mode(mode_of[a]) for a in axes)
    from ._reduce import fold_long_kernel

    # A plan is made before the data is seen: fold only what is exact for any
    # data (NaN and infinity included), so calling the plan gives scipy's result.
    weights, folded = fold_long_kernel(
        weights, [shape[a] for a in axes], modes, origins, finite_data=False
    )
    chosen = make_plan(shape, weights, axes, dtype, method, rtol)
    return dataclasses.replace(
        chosen, dtype=dtype, modes=modes, cval=_args.real_cval(cval), origins=tuple(folded)
    )


def make_plan(
    shape: tuple[int, ...],
    weights: np.ndarray,
    axes: tuple[int, ...],
    dtype: np.dtype,
    method: str,
    rtol: float | None,
    exclude: frozenset[str] = frozenset(),
    out_dtype: np.dtype | None = None,
) -> Plan:
    """The plan for validated arguments (``exclude``: methods ruled out by the data).

    ``dtype`` and ``out_dtype`` (default ``dtype``) give the engine's work dtype;
    with the kernel's own dtype it sets the rounding separability is judged at.
    """
    if not isinstance(method, str) or method not in METHODS:
        listed = ", ".join(repr(m) for m in METHODS)
        raise ValueError(f"method must be one of {listed}; got {method!r}")
    rtol = check_tolerance(rtol, "rtol")
    w = effective_weights(weights)
    precision = kernel_precision(weights, dtype, out_dtype)
    tol = _separable_tol(w, precision)
    factors, lr, rejected_items, counted, sep_error = _analyse(
        w.tobytes(), w.shape, method, rtol, tol
    )
    rejected = dict(rejected_items)
    if method in ("separable", "lowrank", "fft") and method in rejected:
        reason = rejected[method]
        if method == "separable" and reason.startswith("kernel is not separable"):
            raise analysis_error(w, tol)
        raise ValueError(f"method={method!r} cannot be used: {reason}")
    for name in exclude:
        rejected.setdefault(name, "the input holds NaN or infinity, which FFT spreads everywhere")

    out_points = math.prod(shape)  # Python ints: no int64 overflow for huge shapes
    mults = {name: m for name, (m, _) in counted}
    costs = {name: c for name, (_, c) in counted}
    if "fft" not in rejected and out_points > 0:
        mults["fft"], costs["fft"] = _fft_cost(shape, w.shape, axes)

    fitted = None
    if method == "auto" and rtol is not None and "recursive" not in exclude and factors is not None:
        fit = _recursive_fit(
            tuple(f.tobytes() for f in factors), tuple(f.size for f in factors), rtol
        )
        if isinstance(fit, str):
            rejected["recursive"] = fit
        else:
            fitted = fit
            kept = sum(1 for f in factors if f.size > 1) or 1
            costs["recursive"] = RECURSIVE_LOADS * kept + 2.0
            mults["recursive"] = 24.0 * kept
    elif method == "auto":
        rejected["recursive"] = (
            "approximate; give rtol to allow recursive Gaussians"
            if rtol is None
            else "the kernel does not separate"
            if factors is None
            else "the call's origins or data rule it out"
        )
    exact = {"direct", "separable", "fft"}
    memory, budget = _memory_of(costs, shape, axes, w, dtype, factors, lr)
    if method == "auto":
        pool = [m for m in costs if m not in rejected and (m in exact or rtol is not None)]
        pool, over = _within_budget(pool, memory, budget)
        chosen = min(pool, key=lambda m: (costs[m], _ALL.index(m)))
        reason = _reason(chosen, costs, pool, rtol)
        if over:
            if len(pool) == 1:
                reason = f"{chosen} is the only exact method within the memory budget"
            reason += f"; {', '.join(over)} would exceed the memory budget"
    elif memory.get(method, 0) > budget:
        raise _over_budget(method, memory[method], budget)
    else:
        chosen = method
        reason = f"method={method!r} was requested"
    error, bound = 0.0, 0.0
    if chosen == "lowrank" and lr is not None:
        error, bound = lr.error, lr.max_abs_error_bound
    elif chosen == "separable":
        error, bound = sep_error
    elif chosen == "recursive" and fitted is not None:
        error, bound = fitted[1], fitted[2]
    return Plan(
        method=chosen,
        requested=method,
        shape=shape,
        axes=axes,
        kernel_shape=tuple(w.shape),
        weights=_readonly(w),
        factors=factors if chosen in ("separable", "recursive") else None,
        terms=lr.terms if chosen == "lowrank" and lr is not None else None,
        multiplications=mults,
        costs=costs,
        rejected={m: r for m, r in rejected.items() if m not in costs},
        exact=not (chosen in ("lowrank", "recursive") and error > 1e-12),
        recursive=fitted[0] if chosen == "recursive" and fitted is not None else None,
        error=error,
        max_abs_error_bound=bound,
        reason=reason,
        precision=precision.name,
        memory=memory,
        memory_budget=budget,
    )


@digest_cache(maxsize=64)
def _recursive_fit(
    data: tuple[bytes, ...], sizes: tuple[int, ...], rtol: float
) -> tuple[tuple[tuple[float, int, float], ...], float, float] | str:
    """Recursive Gaussians for the factors of a separable kernel, or why not.

    Each factor of more than one tap (odd length, centred) is matched by a
    Gaussian derivative of order 0, 1 or 2: sigma from its moments, refined to
    the least relative 2-norm error (the recursive kernel is not truncated: the
    error counts its tail beyond the factor), the scale by least squares.
    Returns ``((sigma, order, scale) per kept factor, relative Frobenius error
    of the whole kernel, bound on sum |K - K_recursive|)`` when that error is
    within ``rtol``.
    """
    from scipy.optimize import minimize_scalar

    factors = [np.frombuffer(d, np.float64) for d in data]
    kept = [f for f in factors if f.size > 1]
    scale = math.prod(float(f[0]) for f in factors if f.size == 1)
    if not kept:
        return "a kernel of one tap"
    fitted, pairs = [], []
    for f in kept:
        if f.size % 2 == 0:
            return "a factor of even length has no centred Gaussian"
        r = f.size // 2
        h = f[::-1]  # the convolution kernel of this correlation
        m = np.arange(-r, r + 1, dtype=np.float64)
        best = None
        for order in (0, 1, 2):
            if (order % 2 == 0) != bool(
                np.allclose(h, h[::-1], rtol=0, atol=1e-12 * np.abs(h).max())
            ):
                continue
            moments = [float(np.sum(m**p * h)) for p in (0, 1, 2, 3, 4)]
            # sigma^2 from the moments of G (m2 / m0), G' (m3 / 3 m1), G'' (m4 / 6 m2)
            num, den = [
                (moments[2], moments[0]),
                (moments[3], 3 * moments[1]),
                (moments[4], 6 * moments[2]),
            ][order]
            if den == 0:
                continue
            guess = num / den
            if not math.isfinite(guess) or guess <= 0:
                continue

            s0 = math.sqrt(guess)
            if s0 < 0.5:
                continue
            found = minimize_scalar(
                lambda sd, order=order, h=h: _residual(h, sd, order)[0],
                bounds=(0.8 * s0, 1.25 * s0),
                method="bounded",
                options={"xatol": 1e-6 * s0},
            )
            err, c, diff = _residual(h, float(found.x), order)
            if best is None or err < best[0]:
                best = (err, float(found.x), order, c, diff)
        if best is None:
            return "a factor is not a sampled Gaussian or derivative of order 0, 1 or 2"
        err, sd, order, c, diff = best
        fitted.append((sd, order, c))
        g_norm = float(np.linalg.norm(np.pad(h, (len(diff) - len(h)) // 2) - diff))
        pairs.append(
            (
                float(np.linalg.norm(h)),
                err,
                float(np.abs(diff).sum()),
                float(np.abs(h).sum()),
                g_norm,
            )
        )
    # relative Frobenius error of the outer products: |F|^2 + |G|^2 - 2 <F, G>
    nf = math.prod(p[0] ** 2 for p in pairs)
    ng = math.prod(p[4] ** 2 for p in pairs)
    inner = math.prod((p[0] ** 2 + p[4] ** 2 - p[1] ** 2) / 2.0 for p in pairs)
    error = math.sqrt(max(nf + ng - 2.0 * inner, 0.0) / nf) if nf > 0 else 0.0
    if error > rtol:
        return (
            f"recursive Gaussians would change the kernel by {error:.2g} (relative), "
            f"above rtol={rtol:g}"
        )
    # sum |K - K_rec| <= sum_i |f_i - g_i|_1 prod_{j<i} |g_j|_1 prod_{j>i} |f_j|_1
    bound = 0.0
    for i, p in enumerate(pairs):
        term = p[2]
        for j, q in enumerate(pairs):
            if j != i:
                term *= (q[3] + q[2]) if j < i else q[3]
        bound += term
    scaled = tuple(
        (sd, order, c * (scale if i == 0 else 1.0)) for i, (sd, order, c) in enumerate(fitted)
    )
    return scaled, error, bound * abs(scale)


def _residual(h: np.ndarray, sd: float, order: int) -> tuple[float, float, np.ndarray]:
    """``(|h - c g|, c, h - c g)``: the recursive kernel ``g`` scaled to ``h`` (zero-padded)."""
    r = h.size // 2
    radius = max(r, int(math.ceil(12.0 * sd)) + 2)
    g = _engine.recursive_impulse_response(sd, order, radius)
    full = np.zeros_like(g)
    full[radius - r : radius + r + 1] = h
    c = float(full @ g) / float(g @ g)
    diff = full - c * g
    return float(np.linalg.norm(diff)), c, diff


def _memory_of(
    costs: dict[str, float],
    shape: tuple[int, ...],
    axes: tuple[int, ...],
    w: np.ndarray,
    dtype: np.dtype,
    factors: Any,
    lr: Any,
) -> tuple[dict[str, int], float]:
    """Working memory of every costed method, and the budget (see :mod:`sepconv._memory`)."""
    from . import _memory

    itemsize = _engine.work_dtype(dtype, dtype, float(np.abs(w).sum()), w.size).itemsize
    taps = {"direct": int(np.count_nonzero(w)), "fft": 0}
    if factors is not None:
        taps["separable"] = sum(f.size for f in factors)
    if lr is not None:
        taps["lowrank"] = sum(c.size + r.size for c, r in lr.terms)
    memory = {m: _memory.estimate(m, shape, axes, w.shape, itemsize, taps.get(m, 0)) for m in costs}
    return memory, _memory.memory_budget(shape, dtype)


def _within_budget(
    pool: list[str], memory: dict[str, int], budget: float
) -> tuple[list[str], list[str]]:
    """``(fits, over)``: methods of ``pool`` within the memory budget, and the others.

    When none fits, all of them stay (the least costly then runs).
    """
    fits = [m for m in pool if memory[m] <= budget]
    if not fits:
        return pool, []
    return fits, [m for m in pool if m not in fits]


def _over_budget(method: str, memory: int, budget: float) -> MemoryError:
    from ._memory import MemoryBudgetError

    return MemoryBudgetError(
        f"method={method!r} needs about {format_bytes(memory)} of working memory, over the "
        f"budget of {format_bytes(budget)}; use method='auto' (which keeps within it), "
        "filter smaller blocks (sepconv.dask), or raise the budget with "
        "sepconv.set_memory_budget(multiple, extra)"
    )


def kernel_precision(weights: np.ndarray, dtype: Any, out_dtype: Any = None) -> np.dtype:
    """The coarsest of the kernel's dtype and the engine's work dtype.

    A float32 kernel is only known to float32's rounding, and float32 input is
    computed in float32 (:func:`sepconv._engine.work_dtype`): factors exact to
    that rounding change nothing the result could show.  Integer kernels are
    exact (float64).

    Examples
    --------
    >>> kernel_precision(np.ones(3, np.float32), np.float64).name
    'float32'
    >>> kernel_precision(np.ones(3), np.float32).name, kernel_precision(np.ones(3), np.float64).name
    ('float32', 'float64')
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "c":  # complex input is filtered as its real and imaginary parts
        dtype = np.dtype(dtype.char.lower())
    out = dtype if out_dtype is None else np.dtype(out_dtype)
    if out.kind == "c":
        out = np.dtype(out.char.lower())
    w = np.asarray(weights)
    abs_sum = float(np.abs(w.astype(np.float64)).sum()) if w.size else 0.0
    work = _engine.work_dtype(dtype, out, abs_sum, max(w.size, 1))
    kernel = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return max(kernel, work, key=lambda d: float(np.finfo(d).eps))


def _separable_tol(w: np.ndarray, precision: np.dtype) -> float | None:
    """Rank-1 threshold for kernel ``w``: None (exact) for integer-valued kernels."""
    if _integer_view(w) is not None:
        return None  # integer kernels separate exactly or not at all
    return rounding_tol(w.shape, precision)


def analysis_error(w: np.ndarray, tol: float | None = None) -> NotSeparableError:
    """The analysis module's NotSeparableError for kernel ``w`` (raised by callers)."""
    try:
        separate(w, tol)
    except NotSeparableError as exc:
        return exc
    raise AssertionError("unreachable: the kernel separates")  # pragma: no cover


# --------------------------------------------------------------------------- checks


def _check_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not np.iterable(shape):
        raise TypeError(f"shape must be a tuple of integers, got {shape!r}")
    try:
        dims = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"shape must be a tuple of integers, got {shape!r}") from None
    if any(n < 0 for n in dims):
        raise ValueError(f"shape must not have negative sizes, got {dims}")
    if math.prod(dims) > np.iinfo(np.intp).max:
        raise ValueError(
            f"shape {dims} has {math.prod(dims)} elements, more than any NumPy array can "
            f"hold ({np.iinfo(np.intp).max}); plan blocks of it (sepconv.dask filters "
            "arrays block by block)"
        )
    return dims


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a NumPy dtype, got {dtype!r}") from None
    if dt.newbyteorder("=") not in _args.REAL_DTYPES:
        # complex data is filtered as its real and imaginary parts: plan the real dtype
        raise _args.dtype_error("dtype", dt)
    return dt


def _check_weights(weights: Any) -> np.ndarray:
    if isinstance(weights, (str, bytes)) or weights is None:
        raise TypeError(f"weights must be an array of numbers, got {type(weights).__name__}")
    try:
        w = np.asarray(weights)
    except Exception as exc:  # ragged nested lists
        raise TypeError(f"weights must be an array of numbers: {exc}") from None
    if w.dtype == bool:
        w = w.astype(np.float64)
    if w.dtype.kind == "c":
        raise TypeError("weights must be real for a plan; complex kernels run as real parts")
    if w.dtype.kind not in "iuf":
        raise TypeError(
            f"weights must hold numbers, got dtype {w.dtype}; convert it first, e.g. "
            "np.asarray(weights, dtype=np.float64)"
        )
    if w.size == 0 or w.ndim == 0:
        raise ValueError(
            f"weights must be a non-empty array with at least 1 dimension, got shape {w.shape}"
        )
    return w


def _check_kernel_dims(weights: np.ndarray, axes: tuple[int, ...], ndim: int) -> None:
    if weights.ndim != len(axes):
        hint = "" if len(axes) != ndim else "; pass axes=(...) to filter only some axes"
        raise ValueError(
            f"weights must have one dimension per filtered axis: {len(axes)} axes are "
            f"filtered but weights is {weights.ndim}-D (shape {weights.shape}){hint}"
        )


# --------------------------------------------------------------------------- running a plan


def run(
    chosen: Plan, array: np.ndarray, output: np.ndarray, modes: Any, cval: float, origins: Any
) -> None:
    """Filter ``array`` into ``output`` (validated, not overlapping) by plan ``chosen``.

    The fast policy of the engine: float32 work where that is exact enough,
    FMA, the passes of a separable kernel fused (:mod:`sepconv._engine`).
    """
    if output.dtype.kind == "c":  # a real result asked for in a complex array
        _engine.not_replayable()
        output.imag[...] = 0
        output = output.real
    axes = chosen.axes
    work = _engine.work_dtype(
        array.dtype,
        output.dtype,
        float(np.abs(chosen.weights).sum()),
        int(np.count_nonzero(chosen.weights)),
    )
    if chosen.method == "recursive":
        assert chosen.recursive is not None and chosen.factors is not None
        kept = [i for i, f in enumerate(chosen.factors) if f.size > 1] or [len(axes) - 1]
        current = array
        for (sd, order, scale), i in zip(chosen.recursive, kept):
            _engine.run_recursive(
                current, output, axes[i], sd, order, modes[i], cval, scale=scale, work=work
            )
            current = output
    elif chosen.method == "fft":
        _engine.run_fft(array, output, axes, chosen.weights, modes, cval, origins)
    elif chosen.method == "separable":
        assert chosen.factors is not None
        _engine.run_separable(
            array, output, axes, [chosen.factors], modes, cval, origins, work=work
        )
    elif chosen.method == "lowrank":
        assert chosen.terms is not None
        _engine.run_separable(
            array, output, axes, [list(t) for t in chosen.terms], modes, cval, origins, work=work
        )
    else:
        _engine.run_direct(array, output, axes, chosen.weights, modes, cval, origins, work=work)


def execute(chosen: Plan, array: np.ndarray, output: Any) -> np.ndarray:
    """The body of ``Plan.__call__``: the launches of each (input strides, output) layout
    are kept in the plan's own program cache (16 layouts)."""
    try:
        key: Any = (
            (array.strides, output.shape, output.strides, output.dtype)
            if type(output) is np.ndarray
            else (array.strides, output)
        )
        hash(key)
    except TypeError:
        key = None
    if key is not None and (program := chosen._programs.get(key)) is not None:
        if type(output) is np.ndarray:
            if output.flags.writeable and not np.may_share_memory(array, output):
                program.run(array, output)
                return output
        else:
            out = np.empty(array.shape, program.out_dtype)
            program.run(array, out)
            return out
    output = _args.get_output(output, array, complex_output=False)
    if array.size == 0:
        return output
    run_plan = chosen
    if chosen.method == "fft" and chosen.requested == "auto":
        if not all_finite(array, chosen.cval):
            key = None
            run_plan = make_plan(
                chosen.shape,
                chosen.weights,
                chosen.axes,
                array.dtype,
                "auto",
                None,
                exclude=frozenset({"fft"}),
            )
    modes, cval, origins = chosen.modes, chosen.cval, chosen.origins
    if np.may_share_memory(array, output):
        scratch = np.empty(array.shape, output.dtype)
        run(run_plan, array, scratch, modes, cval, origins)
        output[...] = scratch
        return output
    with _engine.recording() as rec:
        run(run_plan, array, output, modes, cval, origins)
    if key is not None:
        chosen._programs.put(key, rec, array, output)
    return output


def all_finite(array: np.ndarray, cval: float) -> bool:
    """Whether the input and ``cval`` are finite (FFT would spread NaN and infinity)."""
    if array.dtype.kind != "f":
        return bool(np.isfinite(cval))
    return bool(np.isfinite(cval) and np.isfinite(array).all())
