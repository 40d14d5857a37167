"""sepconv.ndimage raises and warns as scipy.ndimage does, and has its signatures."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from scipy import ndimage as S

from sepconv import ndimage as N

X = np.ones((4, 5))
RO = np.zeros((4, 5))
RO.flags.writeable = False

# (function name, args, kwargs, a word our message must contain)
CASES = [
    ("correlate1d", (X.astype(np.float16), [1, 2]), {}, "float16"),
    ("correlate1d", (X, [1, 2]), {"output": np.float16}, "float16"),
    ("correlate", (X.astype(np.float16), np.ones((2, 2))), {}, "float16"),
    ("uniform_filter1d", (X.astype(np.float16), 3), {}, "float16"),
    ("gaussian_filter", (X.astype(np.float16), 1), {}, "float16"),
    ("correlate1d", (X, [1, 2]), {"mode": "foo"}, "mode"),
    ("correlate1d", (X, [1, 2]), {"mode": ["reflect", "wrap"]}, "mode"),
    ("correlate1d", (X, [[1, 2]]), {}, "weights"),
    ("correlate1d", (X, []), {}, "weights"),
    ("correlate1d", (X, [1, 2]), {"axis": 2}, "axis"),
    ("correlate1d", (X, [1, 2]), {"origin": 1}, "origin"),
    ("correlate1d", (np.ones(3, dtype=object), [1, 2]), {}, "object"),
    ("correlate1d", (X, [1, 2]), {"output": np.ones((4, 5), dtype=object)}, "output"),
    ("correlate1d", (X, [1, 2]), {"output": RO}, "read-only"),
    ("correlate1d", (np.ones(()), [1, 2]), {}, "axis"),
    ("correlate1d", (X, [1, 2]), {"output": "U3"}, "output"),
    ("correlate1d", (X, [1, 2]), {"output": np.ones(3)}, "output"),
    ("correlate1d", (X, [1, 2]), {"cval": "a"}, "cval"),
    ("correlate1d", (X, [1, 2]), {"cval": 1j}, "cval"),
    ("correlate1d", (X, [1j, 2]), {"output": "float64"}, "complex"),
    ("correlate1d", (X, [1, 2]), {"output": np.zeros((4, 5), complex)}, "complex"),
    ("correlate1d", (X, [1j, 2]), {"output": np.zeros((4, 5))}, "complex"),
    ("correlate", (X, [[1j, 2]]), {"cval": 1j}, "cval"),
    ("uniform_filter1d", (X, 0), {}, "size"),
    ("uniform_filter1d", (X, 3), {"origin": 2}, "origin"),
    ("uniform_filter", (X, [3, 3, 3]), {}, "size"),
    ("gaussian_filter1d", (X, -1), {}, "radius"),
    ("gaussian_filter1d", (X, 0), {}, ""),
    ("gaussian_filter1d", (X, 1), {"radius": -1}, "radius"),
    ("gaussian_filter1d", (X, 1), {"order": -1}, "order"),
    ("gaussian_filter", (X, [1, 2, 3]), {}, "sigma"),
    ("gaussian_filter", (X, 1), {"mode": ["reflect"]}, "mode"),
    ("correlate", (X, np.ones((2, 2, 2))), {}, "weights"),
    ("correlate", (X, np.ones((2, 2))), {"axes": (0,)}, "weights"),
    ("correlate", (X, np.ones((2,))), {"axes": (0,), "origin": (1, 1)}, "origin"),
    ("correlate", (X, np.ones((2, 2))), {"mode": ["reflect", "wrap"]}, "mode"),
    ("correlate", (X, np.ones((2, 0))), {}, "weights"),
    ("correlate", (X, np.ones((3, 3))), {"origin": 2}, "origin"),
    ("convolve", (X, np.ones((3, 3))), {"origin": (0, -2)}, "origin"),
    ("correlate", (X, np.ones((3, 3))), {"axes": (0, 0)}, "axes"),
    ("correlate", (X, np.ones((3,))), {"axes": 2}, "axes"),
    ("sobel", (X,), {"axis": 3}, "axis"),
    ("prewitt", (X,), {"mode": ["reflect"]}, "mode"),
    ("laplace", (X,), {"mode": ["reflect"]}, "mode"),
    ("gaussian_laplace", (X, [1, 2, 3]), {}, "sigma"),
    ("gaussian_gradient_magnitude", (X, 1), {"mode": "bad"}, "mode"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "word"), CASES)
def test_errors_have_scipys_class_and_name_the_argument(name, args, kwargs, word):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            getattr(S, name)(*args, **kwargs)
        with pytest.raises(Exception) as ours:
            getattr(N, name)(*args, **kwargs)
    assert isinstance(ours.value, type(theirs.value)), (ours.value, theirs.value)
    assert word.lower() in str(ours.value).lower()


def test_runtime_errors_are_also_value_errors():
    with pytest.raises(ValueError, match="mode"):
        N.correlate1d(X, [1, 2], mode="reflct")
    assert issubclass(N.FilterArgumentError, RuntimeError)
    assert issubclass(N.FilterArgumentError, ValueError)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("correlate1d", ([1j, 2],)),
        ("convolve1d", ([1j, 2],)),
        ("correlate", (np.array([[1j, 2]]),)),
        ("convolve", (np.array([[1j, 2]]),)),
    ],
)
def test_complex_output_promotion_warns_like_scipy(name, args):
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        ref = getattr(S, name)(X, *args, output=np.float64)
    with pytest.warns(UserWarning, match="promoting specified output dtype to complex"):
        ours = getattr(N, name)(X, *args, output=np.float64)
    assert ours.dtype == ref.dtype == np.complex128
    assert np.array_equal(ours, ref)


def test_signatures_are_scipys_plus_keyword_only_workers():
    # ours: workers, nan_policy / mask on the smoothing filters (issue 20) and the
    # Gaussians' method='fir' (scipy's bits) | 'recursive' (issue 22), keyword-only
    extra = {"workers": None, "nan_policy": "propagate", "mask": None, "method": "fir"}
    for name in N.PATCHED:
        ours = inspect.signature(getattr(N, name)).parameters
        theirs = inspect.signature(getattr(S, name)).parameters
        mine = [p for p in ours.values() if p.name not in extra]
        assert [(p.name, p.kind, p.default) for p in mine] == [
            (p.name, p.kind, p.default) for p in theirs.values()
        ], name
        for key, default in extra.items():
            if key in ours:
                assert ours[key].kind is inspect.Parameter.KEYWORD_ONLY
                assert ours[key].default == default
        assert "method" not in ours or name in ("gaussian_filter", "gaussian_filter1d"), name


@pytest.mark.parametrize("workers", [None, 1, 2, -1])
def test_workers_do_not_change_bits(workers):
    x = np.random.default_rng(0).random((300, 400)).astype(np.float32)  # threaded
    ref = S.gaussian_filter(x, 2.0)
    assert np.array_equal(N.gaussian_filter(x, 2.0, workers=workers), ref)


@pytest.mark.parametrize("workers", [0, -2, 1.5, "2", True])
def test_bad_workers_are_refused(workers):
    with pytest.raises((TypeError, ValueError), match="workers"):
        N.uniform_filter(X, 3, workers=workers)


def test_a_string_sigma_keeps_scipys_type_error_and_names_sigma():
    x = np.ones((5, 5))
    with pytest.raises(TypeError) as theirs:
        S.gaussian_filter(x, "2")
    with pytest.raises(TypeError, match="sigma must be a number") as ours:
        N.gaussian_filter(x, "2")
    assert str(ours.value).startswith(str(theirs.value))
