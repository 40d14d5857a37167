"""Bad calls fail as in scipy.ndimage: its exception class and its message text first.

A table of mistakes (each argument scipy.ndimage checks, each way of getting it
wrong) crossed with the 15 linear filters.  For every call scipy.ndimage is run
first and decides what is expected, case by case:

* scipy raises: ours raises an instance of scipy's class (our
  ``FilterArgumentError`` is both a ``ValueError`` and a ``RuntimeError``) whose
  message *starts with* scipy's message; sepconv may add the argument's name and
  the fix after it.
* scipy warns (``UserWarning: promoting specified output dtype to complex``):
  the same categories with the same text first, and the same result.
* scipy accepts (a few entries of the table are legal, e.g. ``size=0`` in
  ``uniform_filter``): ours accepts and returns the same array.

Where scipy's message is Python's own text from an expression scipy happens to
evaluate on the bad value (``'<' not supported between instances of 'str' and
'int'``, ``bad operand type for unary -``, ``list assignment index out of
range``...), the wording is an accident of scipy's code rather than a message
anyone matches; there ours must raise scipy's class, or a ``TypeError`` /
``ValueError`` that names the argument (see ``_scipy_compare.ACCIDENTS``).

The same table then runs through sepconv's NumPy front door (``sepconv.correlate``,
``sepconv.convolve`` and ``sepconv.sepfilter``, which must accept and refuse what
``sepconv.ndimage.correlate`` does); their one extension is a sequence of modes,
one per filtered axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from _scipy_compare import (
    assert_fails_like,
    assert_same_outcome,
    assert_warns_like,
    fresh,
    outcome,
)
from scipy import ndimage as S

import sepconv
from sepconv import ndimage as N

X = np.arange(20.0).reshape(4, 5)


def _read_only(shape=(4, 5)) -> np.ndarray:
    array = np.zeros(shape)
    array.flags.writeable = False
    return array


class _Derivative:
    """A derivative for ``generic_*`` built on the library under test's correlate1d."""

    def __init__(self, taps: list[float]) -> None:
        self.taps = taps

    def bind(self, lib: Any):
        taps = self.taps

        def derivative(input, axis, output, mode, cval, *args, **kwargs):
            return lib.correlate1d(input, taps, axis, output, mode, cval, *args, **kwargs)

        return derivative


D1 = _Derivative([-1.0, 0.0, 1.0])
D2 = _Derivative([1.0, -2.0, 1.0])

#: Valid values of each function's required arguments (the table overrides them).
REQUIRED: dict[str, dict[str, Any]] = {
    "correlate1d": {"weights": [1.0, 2.0, 1.0]},
    "convolve1d": {"weights": [1.0, 2.0, 1.0]},
    "correlate": {"weights": np.ones((3, 2))},
    "convolve": {"weights": np.ones((3, 2))},
    "gaussian_filter1d": {"sigma": 1.0},
    "gaussian_filter": {"sigma": 1.0},
    "uniform_filter1d": {"size": 3},
    "uniform_filter": {},
    "sobel": {},
    "prewitt": {},
    "laplace": {},
    "gaussian_laplace": {"sigma": 1.0},
    "gaussian_gradient_magnitude": {"sigma": 1.0},
    "generic_laplace": {"derivative2": D2},
    "generic_gradient_magnitude": {"derivative": D1},
}
FUNCTIONS = tuple(REQUIRED)
ONE_D = {"correlate1d", "convolve1d"}
N_D = {"correlate", "convolve"}


@dataclass(frozen=True)
class Mistake:
    """One way of getting one argument wrong (``param`` names what the table varies)."""

    id: str
    param: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    input: Any = None
    only: frozenset[str] | None = None


def _m(id, param, kwargs=None, input=None, only=None) -> Mistake:
    return Mistake(id, param, kwargs or {}, input, None if only is None else frozenset(only))


MISTAKES: list[Mistake] = [
    # input dtypes scipy's C code refuses, and a ragged list
    *[
        _m(f"input-{label}", "input", input=np.zeros((4, 5), dtype))
        for dtype, label in [
            (np.float16, "float16"),
            (object, "object"),
            ("M8[s]", "datetime64"),
            ("m8[s]", "timedelta64"),
            ("U1", "str"),
        ]
    ],
    _m("input-0d", "input", input=np.array(2.0)),
    _m("input-ragged", "input", input=[[1.0, 2.0], [3.0]]),
    # output: dtypes, shapes, kinds
    *[
        _m(f"output-{label}", "output", {"output": value})
        for value, label in [
            ("U3", "str-dtype"),
            (np.str_, "str-type"),
            (object, "object-type"),
            (np.float16, "float16-type"),
            ("float16", "float16-str"),
            ("M8[s]", "datetime-str"),
            ("foo", "unknown-str"),
            (np.zeros(3), "shape-1d"),
            (np.zeros((5, 4)), "shape-transposed"),
            (_read_only(), "read-only"),
            (np.zeros((4, 5), object), "object-array"),
            (np.zeros((4, 5), np.float16), "float16-array"),
            (np.zeros((4, 5), "M8[s]"), "datetime-array"),
            ([0.0] * 20, "list"),
            (np.zeros((4, 5), complex), "complex-array"),
            ("complex128", "complex-str"),
            (np.complex64, "complex-type"),
        ]
    ],
    # mode
    *[
        _m(f"mode-{label}", "mode", {"mode": value})
        for value, label in [
            ("foo", "unknown"),
            ("REFLECT", "upper-case"),
            ("grid-foo", "grid-unknown"),
            (3, "int"),
            (None, "none"),
            (["reflect"], "seq-short"),
            (["reflect"] * 3, "seq-long"),
            (["reflect", "foo"], "seq-unknown"),
            (("reflect", "wrap"), "seq"),
        ]
    ],
    # cval
    *[
        _m(f"cval-{label}", "cval", {"cval": value})
        for value, label in [("a", "str"), (1j, "complex"), (None, "none"), ([1, 2], "list")]
    ],
    # origin
    *[
        _m(f"origin-{label}", "origin", {"origin": value})
        for value, label in [
            (5, "too-big"),
            (-5, "too-small"),
            (1.5, "float"),
            ("a", "str"),
            (None, "none"),
            ([0, 0, 0], "seq-long"),
            ([0], "seq-short"),
            (np.array([[0]]), "2d"),
        ]
    ],
    # axis (the 1-D filters, sobel, prewitt)
    *[
        _m(f"axis-{label}", "axis", {"axis": value})
        for value, label in [
            (2, "out-of-range"),
            (-3, "negative-out-of-range"),
            (1.5, "float"),
            ("0", "str"),
            (None, "none"),
            ([0], "list"),
        ]
    ],
    # axes
    *[
        _m(f"axes-{label}", "axes", {"axes": value})
        for value, label in [
            (2, "out-of-range"),
            (-3, "negative-out-of-range"),
            ((0, 0), "repeated"),
            ((0, -2), "repeated-negative"),
            ((1.5,), "float"),
            (("0",), "str-entry"),
            ("a", "str"),
            ([[0]], "nested"),
            ((0, 1, 2), "too-many"),
            ((), "empty"),
        ]
    ],
    # weights of the 1-D filters
    *[
        _m(f"weights-{label}", "weights", {"weights": value}, only=ONE_D)
        for value, label in [
            ([], "empty"),
            ([[1.0, 2.0]], "2d"),
            (3.0, "0d"),
            (None, "none"),
            ([[1.0, 2.0], [3.0]], "ragged"),
            ("ab", "str"),
            (np.array(["a", "b"]), "str-array"),
            ([1j, 2.0], "complex"),
        ]
    ],
    # weights of the N-D filters
    *[
        _m(f"weights-{label}", "weights", {"weights": value}, only=N_D)
        for value, label in [
            (np.ones((2, 2, 2)), "ndim-too-big"),
            (np.ones(3), "ndim-too-small"),
            (np.ones((2, 0)), "empty"),
            (np.ones((3, 0, 2)), "zero-length-extra-dim"),  # scipy drops size-0 axes
            ([], "empty-list"),
            (3.0, "0d"),
            (None, "none"),
            ([[1.0, 2.0], [3.0]], "ragged"),
            (np.array([["a"]]), "str-array"),
            (np.ones((2, 2), object), "object"),
        ]
    ],
    _m("weights-axes-ndim-mismatch", "axes", {"weights": np.ones((3, 2)), "axes": (0,)}, only=N_D),
    _m("weights-axes-size1-dims", "axes", {"weights": np.ones((3, 1)), "axes": (0,)}, only=N_D),
    _m(
        "weights-axes-origin-long",
        "axes",
        {"weights": np.ones(3), "axes": (0,), "origin": (0, 0)},
        only=N_D,
    ),
    # complex weights or input against a real output / a complex cval with a real input
    *[
        _m(
            f"{what}-{label}",
            "weights" if what == "complex-weights" else "output",
            kwargs,
            input=inp,
            only=only,
        )
        for what, inp, only, weights in [
            ("complex-weights", None, ONE_D, [1j, 2.0]),
            ("complex-weights", None, N_D, np.array([[1j, 2.0]])),
            ("complex-input", np.ones((4, 5), complex), None, None),
        ]
        for label, kwargs in [
            ("output-float64-type", {"output": np.float64}),
            ("output-float64-str", {"output": "float64"}),
            ("output-real-array", {"output": np.zeros((4, 5))}),
            ("cval-complex", {"cval": 1j}),
        ]
        for kwargs in [kwargs if weights is None else {**kwargs, "weights": weights}]
    ],
    # sigma / order / truncate / radius (the Gaussians)
    *[
        _m(f"sigma-{label}", "sigma", {"sigma": value})
        for value, label in [
            ([1.0, 2.0, 3.0], "seq-long"),
            ([1.0], "seq-short"),
            ([[1.0, 1.0]], "nested"),
            (-1.0, "negative"),
            (0.0, "zero"),
            (np.nan, "nan"),
            ("a", "str"),
            (None, "none"),
            (1j, "complex"),
        ]
    ],
    *[
        _m(f"order-{label}", "order", {"order": value})
        for value, label in [
            (-1, "negative"),
            (4, "four"),
            (1.5, "float"),
            ("a", "str"),
            ([0, 0, 0], "seq-long"),
            ([-1, 0], "seq-negative"),
        ]
    ],
    *[
        _m(f"truncate-{label}", "truncate", {"truncate": value})
        for value, label in [("a", "str"), (-1.0, "negative"), (None, "none"), (np.nan, "nan")]
    ],
    *[
        _m(f"radius-{label}", "radius", {"radius": value})
        for value, label in [
            (-1, "negative"),
            (1.5, "float"),
            ("a", "str"),
            ([1, 2, 3], "seq-long"),
            ([1], "seq-short"),
            ([-1, 1], "seq-negative"),
        ]
    ],
    # size (the uniform filters)
    *[
        _m(f"size-{label}", "size", {"size": value})
        for value, label in [
            (0, "zero"),
            (-1, "negative"),
            (1.5, "float"),
            ("3", "str"),
            (None, "none"),
            ([3, 3, 3], "seq-long"),
            ([3], "seq-short"),
            ([0, 3], "seq-zero"),
        ]
    ],
    # generic_*: the derivative and its extra arguments
    *[
        _m(f"{param}-{label}", param, {param: value})
        for param in ("derivative", "derivative2")
        for value, label in [(None, "none"), (3, "int"), ("sobel", "str")]
    ],
    _m("extra_arguments-int", "extra_arguments", {"extra_arguments": 5}),
    _m("extra_keywords-int", "extra_keywords", {"extra_keywords": 5}),
    # gaussian_laplace / gaussian_gradient_magnitude pass **kwargs to gaussian_filter
    _m("kwargs-unknown", "kwargs", {"foo": 1}),
    _m("kwargs-truncate-str", "kwargs", {"truncate": "a"}),
]


def _parameters(name: str) -> set[str]:
    import inspect

    return set(inspect.signature(getattr(S, name)).parameters)


def _applies(name: str, mistake: Mistake) -> bool:
    if mistake.only is not None and name not in mistake.only:
        return False
    if mistake.param == "input":
        return True
    return mistake.param in _parameters(name)


CASES = [
    pytest.param(name, mistake, id=f"{name}-{mistake.id}")
    for name in FUNCTIONS
    for mistake in MISTAKES
    if _applies(name, mistake)
]


def _call_args(name: str, mistake: Mistake, lib: Any) -> tuple[Any, dict[str, Any]]:
    kwargs = {**REQUIRED[name], **mistake.kwargs}
    kwargs = {k: v.bind(lib) if isinstance(v, _Derivative) else fresh(v) for k, v in kwargs.items()}
    return (X if mistake.input is None else fresh(mistake.input)), kwargs


@pytest.mark.parametrize(("name", "mistake"), CASES)
def test_ndimage_bad_call_fails_as_scipy(name, mistake):
    input, kwargs = _call_args(name, mistake, S)
    theirs = outcome(getattr(S, name), input, **kwargs)
    input, kwargs = _call_args(name, mistake, N)
    ours = outcome(getattr(N, name), input, **kwargs)
    assert_same_outcome(ours, theirs, None if mistake.param == "kwargs" else mistake.param)


# --------------------------------------------------------------- the NumPy front door

#: The front door's mistakes: those of ndimage.correlate / convolve (weights included).
FRONT_MISTAKES = [m for m in MISTAKES if _applies("correlate", m)]
#: sepfilter takes ``factors`` (one 1-D kernel per axis), not ``weights``.
FACTORS = [np.array([1.0, 2.0, 1.0]), np.array([1.0, -1.0])]


def _front_call(front: str, mistake: Mistake) -> tuple[Any, dict, Any, dict, Any]:
    """(scipy function, its kwargs, our function, its kwargs, input) for one call."""
    input, kwargs = _call_args("correlate", mistake, N)
    if front != "sepfilter":
        return getattr(S, front), kwargs, getattr(sepconv, front), kwargs, input
    ours = dict(kwargs)
    assert ours.pop("weights").shape == (3, 2)  # the table's default, as np.outer(*FACTORS)
    axes = ours.pop("axes", None)

    def sepfilter(input, **kw):
        return sepconv.sepfilter(input, FACTORS, axes, **kw)

    return S.correlate, {**kwargs, "weights": np.multiply.outer(*FACTORS)}, sepfilter, ours, input


FRONT_CASES = [
    pytest.param(front, m, id=f"{front}-{m.id}")
    for front in ("correlate", "convolve", "sepfilter")
    for m in FRONT_MISTAKES
    if front != "sepfilter" or "weights" not in m.kwargs
]


def _per_axis_reference(x, factors, modes, convolution):
    # correlate(x, outer(*factors), mode=(m0, m1)) is a chain of correlate1d, one mode each.
    func = S.convolve1d if convolution else S.correlate1d
    out = np.asarray(x, dtype=np.float64)
    for axis, (f, m) in enumerate(zip(factors, modes)):
        out = func(out, f, axis=axis, mode=m)
    return out


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Equal to rounding: sepconv.correlate may compute in float32 (see module notes)."""
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize(("front", "mistake"), FRONT_CASES)
def test_front_door_bad_call_fails_as_ndimage(front, mistake):
    s_func, kwargs, o_func, o_kwargs, input = _front_call(front, mistake)
    theirs = outcome(s_func, input, **{k: fresh(v) for k, v in kwargs.items()})
    ours = outcome(o_func, fresh(input), **{k: fresh(v) for k, v in o_kwargs.items()})
    mode = kwargs.get("mode")
    if theirs.error is not None and str(theirs.error) == "A sequence of modes is not supported":
        # sepconv's extension: one mode per filtered axis, checked as every other sequence.
        if mode == ("reflect", "wrap"):
            assert ours.error is None, f"a mode per axis is sepconv's extension: {ours.error!r}"
            factors = FACTORS if front == "sepfilter" else [np.ones(3), np.ones(2)]
            ref = _per_axis_reference(input, factors, mode, front == "convolve")
            assert_close(ours.result, ref)
        else:
            assert isinstance(ours.error, RuntimeError), ours.error
            assert "mode" in str(ours.error), ours.error
        return
    if theirs.error is not None and front == "sepfilter":
        # No scipy twin to quote: refused as ndimage.correlate refuses it, with its class.
        assert ours.error is not None, f"scipy refuses this call ({theirs.error!r}); ours accepts"
        assert isinstance(ours.error, type(theirs.error)), (ours.error, theirs.error)
        return
    if theirs.error is not None:
        assert_fails_like(ours, theirs, mistake.param)
        return
    assert ours.error is None, f"scipy accepts this call; ours raised {ours.error!r}"
    assert_warns_like(ours, theirs)
    assert_close(ours.result, theirs.result)
