"""Minimum / maximum filters and grey morphology: scipy.ndimage's bits, errors, Dask, torch,
scikit-image under patch().

Every comparison is ``np.array_equal`` (NaN where scipy has NaN) against
scipy.ndimage itself, or against sepconv's own NumPy result for the Dask and
tensor forms.  scipy's NaN rule in a min / max is order-dependent (a NaN
wins only where it is compared first), so NaN and infinities are drawn into
the inputs on purpose.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.ndimage as sn
from _scipy_compare import assert_same_array, assert_same_outcome, fresh, outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sepconv import ndimage as N

ONE_D = ["minimum_filter1d", "maximum_filter1d"]
N_D = [
    "minimum_filter",
    "maximum_filter",
    "grey_erosion",
    "grey_dilation",
    "grey_opening",
    "grey_closing",
    "morphological_gradient",
    "morphological_laplace",
    "white_tophat",
    "black_tophat",
]
MODES = [
    "reflect",
    "mirror",
    "nearest",
    "wrap",
    "constant",
    "grid-wrap",
    "grid-mirror",
    "grid-constant",
]
# Native rows (uint8, uint16, float32, float64) and the double route (the others).
DTYPES = [
    np.bool_,
    np.int8,
    np.uint8,
    np.uint16,
    np.int16,
    np.int32,
    np.uint64,
    np.int64,
    np.float32,
    np.float64,
]

SLOW = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _values(rng: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Random values of ``dtype`` with many ties; floats get NaN, ±inf and signed zeros."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.asarray(rng.random(shape) < 0.5)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        pool = np.array([info.min, info.max, 0, 1, 7, 100, info.max - 1], dtype=dt)
        x = np.asarray(rng.integers(max(info.min, -300), min(info.max, 300), size=shape))
        x = x.astype(dt)
        picks = rng.random(shape) < 0.1
        x[picks] = rng.choice(pool, size=int(picks.sum()))
        return x
    x = np.asarray(np.round(rng.standard_normal(shape) * 4)).astype(dt)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0], dtype=dt)
    picks = rng.random(shape) < 0.12
    x[picks] = rng.choice(special, size=int(picks.sum()))
    return x


def _layout(x: np.ndarray, how: str) -> np.ndarray:
    """``x``'s values in another memory layout."""
    if how == "fortran":
        return np.asfortranarray(x)
    if how == "strided":
        big = np.repeat(x, 2, axis=-1) if x.ndim else x
        return big[..., ::2] if x.ndim else x
    if how == "swapped" and x.dtype.itemsize > 1:
        return x.astype(x.dtype.newbyteorder())
    if how == "reversed" and x.ndim:
        return x[::-1].copy()[::-1]
    return x


@st.composite
def _windows(draw, ndim: int) -> dict:
    """scipy's window arguments for ``ndim`` axes: a size, a footprint or a structure."""
    kind = draw(st.sampled_from(["size", "size", "sizes", "full", "footprint", "structure"]))
    lengths = [draw(st.integers(1, 5)) for _ in range(ndim)]
    if kind == "size":
        return {"size": draw(st.integers(1, 6))}
    if kind == "sizes":
        return {"size": lengths}
    fp_rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    footprint = np.ones(lengths, bool) if kind == "full" else fp_rng.random(lengths) < 0.6
    footprint.flat[fp_rng.integers(footprint.size)] = True
    if kind == "structure":
        structure = fp_rng.integers(-2, 3, size=lengths).astype(np.float64)
        return {"structure": structure}
    return {"footprint": footprint}


def _origin(draw, window: dict, ndim: int):
    if ndim == 0 or not draw(st.booleans()):
        return 0
    if "size" in window:
        size = window["size"]
        sizes = size if isinstance(size, list) else [size] * ndim
    else:
        sizes = list(next(iter(window.values())).shape)
    return [draw(st.integers(-(k // 2), (k - 1) // 2)) for k in sizes]


@pytest.mark.filterwarnings("ignore::UserWarning")
@SLOW
@given(data=st.data())
def test_nd_functions_have_scipys_bits(data):
    name = data.draw(st.sampled_from(N_D), label="name")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    ndim = data.draw(st.integers(1, 3), label="ndim")
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    seed = data.draw(st.integers(0, 2**16))
    x = _values(np.random.default_rng(seed), shape, dtype)
    x = _layout(x, data.draw(st.sampled_from(["c", "fortran", "strided", "swapped", "reversed"])))
    window = data.draw(_windows(ndim), label="window")
    kwargs = dict(window)
    kwargs["mode"] = data.draw(st.sampled_from(MODES), label="mode")
    if data.draw(st.booleans()):
        kwargs["cval"] = data.draw(st.sampled_from([0.0, -3.0, 250.5, np.nan, np.inf]))
    kwargs["origin"] = _origin(data.draw, window, ndim)
    if ndim > 1 and "size" in window and not isinstance(window["size"], list):
        # axes with a scalar size (a list size or a footprint must match len(axes))
        if data.draw(st.booleans()):
            axes = data.draw(st.permutations(range(ndim)))[: data.draw(st.integers(1, ndim))]
            kwargs["axes"] = tuple(axes)
            kwargs["origin"] = 0
    ours = outcome(getattr(N, name), fresh(x), **kwargs)
    theirs = outcome(getattr(sn, name), fresh(x), **kwargs)
    assert_same_outcome(ours, theirs)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    name=st.sampled_from(ONE_D),
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(1, 8), min_size=1, max_size=3).map(tuple),
    size=st.integers(1, 10),
    axis=st.integers(-3, 2),
    mode=st.sampled_from(MODES),
    cval=st.sampled_from([0.0, 5.0, np.nan, -np.inf]),
    origin_shift=st.integers(-5, 5),
    seed=st.integers(0, 2**16),
    layout=st.sampled_from(["c", "fortran", "strided", "swapped"]),
)
def test_1d_functions_have_scipys_bits(
    name, dtype, shape, size, axis, mode, cval, origin_shift, seed, layout
):
    x = _layout(_values(np.random.default_rng(seed), shape, dtype), layout)
    origin = max(-(size // 2), min((size - 1) // 2, origin_shift))
    args = dict(axis=axis, mode=mode, cval=cval, origin=origin)
    ours = outcome(getattr(N, name), fresh(x), size, **args)
    theirs = outcome(getattr(sn, name), fresh(x), size, **args)
    assert_same_outcome(ours, theirs)


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (4, 0, 2), (1,), (1, 7), (7, 1)])
def test_zero_d_empty_and_one_wide(name, shape):
    x = _values(np.random.default_rng(len(shape)), shape, np.float64)
    size = 3 if shape else 1
    ours = outcome(getattr(N, name), fresh(x), size=size)
    theirs = outcome(getattr(sn, name), fresh(x), size=size)
    if theirs.error is None and not isinstance(theirs.result, np.ndarray):
        # scipy's morphological_gradient of a 0-d array is a NumPy scalar: so is ours
        assert type(ours.result) is type(theirs.result)
        ours.result, theirs.result = np.asarray(ours.result), np.asarray(theirs.result)
    assert_same_outcome(ours, theirs)


def test_nan_order_rule_is_scipys_and_larger_windows():
    # A NaN only wins a comparison it enters first: the result depends on where it sits.
    rng = np.random.default_rng(5)
    x = _values(rng, (40, 57), np.float32)
    x[rng.random(x.shape) < 0.05] = np.nan
    for name in ("grey_erosion", "grey_dilation", "grey_opening", "black_tophat"):
        for size in ((1, 31), (17, 2), 9):
            assert_same_array(getattr(N, name)(x, size=size), getattr(sn, name)(x, size=size))
    for name in ONE_D:
        for axis in (0, 1):
            got = getattr(N, name)(x, 21, axis=axis, mode="wrap")
            assert_same_array(got, getattr(sn, name)(x, 21, axis=axis, mode="wrap"))


def test_inputs_are_never_modified_and_outputs_are_written_in_place():
    x = _values(np.random.default_rng(2), (12, 13), np.int16)
    before = x.copy()
    out = np.empty(x.shape, np.float32)
    ref = np.empty(x.shape, np.float32)
    returned = N.grey_closing(x, size=(3, 4), output=out)
    sn.grey_closing(x, size=(3, 4), output=ref)
    assert np.array_equal(x, before)
    assert returned is out or returned is None or np.shares_memory(returned, out)
    assert_same_array(out, ref)
    for name in ("minimum_filter", "grey_dilation"):
        assert_same_array(
            getattr(N, name)(x, size=3, output=np.uint8), getattr(sn, name)(x, 3, output=np.uint8)
        )


# --------------------------------------------------------------------------- errors

BAD_CALLS = [
    ("grey_erosion", {}),
    ("minimum_filter", {}),
    ("grey_opening", {}),
    ("minimum_filter", {"footprint": np.zeros((3, 3), bool)}),
    ("grey_erosion", {"footprint": np.zeros((2, 2), bool)}),
    ("maximum_filter", {"size": 3, "mode": "bogus"}),
    ("grey_dilation", {"size": 3, "mode": "bogus"}),
    ("maximum_filter", {"size": 0}),
    ("minimum_filter", {"size": -2}),
    ("minimum_filter", {"size": (3, 3, 3)}),
    ("maximum_filter", {"size": 3, "origin": 2}),
    ("maximum_filter", {"size": 3, "origin": (0, -2)}),
    ("minimum_filter", {"footprint": np.ones((3, 3, 3), bool)}),
    ("grey_erosion", {"structure": np.ones((3,))}),
    ("maximum_filter", {"size": 3, "axes": (0, 0)}),
    ("maximum_filter", {"size": 3, "axes": (2,)}),
    ("minimum_filter", {"size": 3, "output": np.empty((4, 4))}),
    ("grey_closing", {"size": 3, "mode": ["reflect", "nearest"]}),
    ("minimum_filter", {"size": 3, "cval": "x"}),
    ("maximum_filter", {"size": 2.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD_CALLS, ids=lambda v: str(v)[:40])
def test_errors_are_scipys(name, kwargs):
    x = np.arange(30.0).reshape(5, 6)
    ours = outcome(getattr(N, name), fresh(x), **kwargs)
    theirs = outcome(getattr(sn, name), fresh(x), **kwargs)
    assert_same_outcome(ours, theirs)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("minimum_filter1d", (0,)),
        ("maximum_filter1d", (3,)),
        ("minimum_filter1d", (3, 2)),
        ("maximum_filter1d", (3, -1, None, "bogus")),
        ("minimum_filter1d", (4, -1, None, "reflect", 0.0, 2)),
    ],
)
def test_1d_errors_are_scipys(name, args):
    x = np.arange(12.0).reshape(3, 4)
    if args == (3,):
        x = np.ones(3, complex)
    ours = outcome(getattr(N, name), fresh(x), *args)
    theirs = outcome(getattr(sn, name), fresh(x), *args)
    assert_same_outcome(ours, theirs)


def test_complex_input_is_refused_like_scipy():
    x = np.ones((4, 4), complex)
    ours = outcome(N.grey_erosion, x, size=3)
    theirs = outcome(sn.grey_erosion, x, size=3)
    assert_same_outcome(ours, theirs)


# --------------------------------------------------------------------------- Dask

da = pytest.importorskip("dask.array")

DASK_CALLS = [
    ("minimum_filter1d", (4,), {"axis": 0, "origin": 1}),
    ("maximum_filter1d", (5,), {"axis": -1}),
    ("minimum_filter", (), {"size": (3, 5)}),
    ("maximum_filter", (), {"footprint": np.array([[1, 0, 1], [0, 1, 1]], bool)}),
    ("minimum_filter", (), {"footprint": np.ones((3, 2), bool), "origin": (0, -1)}),
    ("grey_erosion", (), {"size": 4, "origin": (1, -2)}),
    ("grey_dilation", (), {"size": (2, 3), "origin": (0, 1)}),
    ("grey_dilation", (), {"structure": np.array([[0.0, 2.0], [1.0, -1.0]])}),
    ("grey_opening", (), {"size": (2, 5)}),
    ("grey_closing", (), {"footprint": np.eye(3, dtype=bool)}),
    ("morphological_gradient", (), {"size": 3}),
    ("morphological_laplace", (), {"size": (3, 2)}),
    ("white_tophat", (), {"size": 5}),
    ("black_tophat", (), {"size": 3, "axes": (1,)}),
]


@pytest.mark.filterwarnings("ignore:sepconv.dask:UserWarning")
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    call=st.sampled_from(DASK_CALLS),
    mode=st.sampled_from(["reflect", "mirror", "nearest", "wrap", "constant"]),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
    chunks=st.tuples(st.integers(2, 9), st.integers(2, 9)),
    seed=st.integers(0, 2**16),
)
def test_dask_blocks_have_the_numpy_bits_on_odd_chunkings(call, mode, dtype, chunks, seed):
    name, args, kwargs = call
    x = _values(np.random.default_rng(seed), (19, 23), dtype)
    f = getattr(N, name)
    lazy = f(da.from_array(x, chunks=chunks), *args, mode=mode, **kwargs)
    assert isinstance(lazy, da.Array)
    ref = f(x, *args, mode=mode, **kwargs)
    assert_same_array(lazy.compute(), ref)
    assert_same_array(ref, getattr(sn, name)(x, *args, mode=mode, **kwargs))


def test_dask_float_passes_hold_whole_lines_of_their_own_axis_only():
    # memory stays bounded: a float image is never one block for a separable filter
    x = np.random.default_rng(1).random((64, 48)).astype(np.float32)
    x[x < 0.1] = np.nan
    lazy_x = da.from_array(x, chunks=(8, 8))
    for f, kw in [
        (N.minimum_filter, {"size": (3, 5)}),
        (N.grey_dilation, {"footprint": np.ones((4, 3), bool)}),
        (N.maximum_filter1d, {"size": 5, "axis": 0}),
    ]:
        lazy = f(lazy_x, **kw)
        assert lazy.npartitions >= 6, (f.__name__, lazy.chunks)  # never one block
        assert_same_array(lazy.compute(), f(x, **kw))
    # a footprint that is not all true is local: plain overlapping blocks
    lazy = N.minimum_filter(lazy_x, footprint=np.eye(3, dtype=bool))
    assert lazy.chunks == lazy_x.chunks
    assert_same_array(lazy.compute(), N.minimum_filter(x, footprint=np.eye(3, dtype=bool)))


def test_dask_errors_are_raised_eagerly():
    x = da.zeros((8, 8), chunks=3)
    with pytest.raises(RuntimeError, match="mode"):
        N.grey_erosion(x, size=3, mode="bogus")
    with pytest.raises(ValueError, match="All-zero footprint"):
        N.minimum_filter(x, footprint=np.zeros((2, 2), bool))


# --------------------------------------------------------------------------- torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", N_D + ONE_D)
def test_tensors_without_grad_have_the_numpy_bits(name):
    x = _values(np.random.default_rng(9), (9, 11), np.float32)
    args = (3,) if name in ONE_D else ()
    kwargs = {} if name in ONE_D else {"size": (3, 2)}
    got = getattr(N, name)(torch.from_numpy(x.copy()), *args, mode="nearest", **kwargs)
    assert isinstance(got, torch.Tensor)
    assert_same_array(got.numpy(), sn.__dict__[name](x, *args, mode="nearest", **kwargs))


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("grey_erosion", {"size": (3, 4), "mode": "reflect"}),
        ("grey_dilation", {"footprint": np.array([[1, 0, 1], [1, 1, 0]], bool), "mode": "wrap"}),
        ("maximum_filter", {"size": 3, "mode": "constant", "cval": -1.0}),
        ("grey_opening", {"size": (2, 3), "mode": "mirror"}),
        ("white_tophat", {"size": 3, "mode": "nearest"}),
        ("morphological_gradient", {"structure": np.array([[0.0, 1.0], [2.0, 0.5]])}),
    ],
)
def test_tensors_with_grad_equal_numpy_and_send_gradients_to_the_extremes(name, kwargs):
    # Distinct values: no ties, so every window's extreme (and its gradient) is unique.
    x = np.random.default_rng(3).permutation(70).reshape(7, 10).astype(np.float64)
    t = torch.tensor(x, requires_grad=True)
    y = getattr(N, name)(t, **kwargs)
    np.testing.assert_array_equal(y.detach().numpy(), getattr(sn, name)(x, **kwargs))
    y.sum().backward()
    assert t.grad is not None and torch.isfinite(t.grad).all()
    if name == "grey_erosion":
        # each output picks one input: the gradient counts how often each was the minimum
        counts = np.zeros_like(x)
        ref = sn.grey_erosion(x, **kwargs)
        for v in ref.ravel():
            counts[x == v] += 1
        np.testing.assert_array_equal(t.grad.numpy(), counts)


# --------------------------------------------------------------------------- scikit-image

skimage_morphology = pytest.importorskip("skimage.morphology")


def _footprints():
    m = skimage_morphology
    rect = m.footprint_rectangle
    return [
        ("rectangle 5x7", rect((5, 7))),
        ("rectangle 15x15 sequence", rect((15, 15), decomposition="sequence")),
        ("rectangle 6x4 separable", rect((6, 4), decomposition="separable")),
        ("disk 4", m.disk(4)),
        ("disk 5 sequence", m.disk(5, decomposition="sequence")),
        ("diamond 3 sequence", m.diamond(3, decomposition="sequence")),
        ("octagon 3 2 sequence", m.octagon(3, 2, decomposition="sequence")),
    ]


SKIMAGE_FUNCS = ["erosion", "dilation", "opening", "closing", "white_tophat", "black_tophat"]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_skimage_morphology_under_patch_equals_unpatched_and_runs_on_sepconv(dtype, monkeypatch):
    rng = np.random.default_rng(17)
    image = _values(rng, (37, 41), dtype)
    if dtype == np.float32:
        image[np.isnan(image)] = 0.5  # scikit-image's own padding differs with NaN; not ours
    calls = []
    for name in ("grey_erosion", "grey_dilation"):
        ours = getattr(N, name)

        def counted(*args, _ours=ours, **kwargs):
            calls.append(1)
            return _ours(*args, **kwargs)

        monkeypatch.setattr(N, name, counted)
    for label, footprint in _footprints():
        for fname in SKIMAGE_FUNCS:
            f = getattr(skimage_morphology, fname)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = f(image.copy(), footprint)
                before = len(calls)
                with N.patched():
                    got = f(image.copy(), footprint)
            assert len(calls) > before, f"{fname} {label} did not run on sepconv"
            assert got.dtype == expected.dtype, (fname, label)
            assert np.array_equal(got, expected, equal_nan=True), (fname, label)


def test_erosion_with_a_15x15_rectangle_is_patched_and_sequences_equal_the_whole_footprint():
    rect = skimage_morphology.footprint_rectangle
    image = _values(np.random.default_rng(1), (64, 70), np.uint8)
    with N.patched():
        whole = skimage_morphology.erosion(image, rect((15, 15)))
        steps = skimage_morphology.erosion(image, rect((15, 15), decomposition="sequence"))
        assert getattr(sn.grey_erosion, "__sepconv_original__", None) is not None
    assert np.array_equal(whole, sn.grey_erosion(image, size=(15, 15)))
    assert np.array_equal(steps, whole)
    # A footprint sequence given straight to sepconv, step by step, as scipy's steps.
    seq = skimage_morphology.diamond(4, decomposition="sequence")
    ours, theirs = image, image
    for fp, reps in seq:
        for _ in range(reps):
            ours = N.grey_dilation(ours, footprint=fp)
            theirs = sn.grey_dilation(theirs, footprint=fp)
    assert_same_array(ours, theirs)


def test_patch_lists_and_replaces_every_morphology_name():
    import scipy.ndimage

    for name in ONE_D + N_D:
        assert name in N.PATCHED
    originals = {name: getattr(scipy.ndimage, name) for name in ONE_D + N_D}
    with N.patched():
        for name in ONE_D + N_D:
            replaced = getattr(scipy.ndimage, name)
            assert replaced is not originals[name]
            assert replaced.__sepconv_original__ is originals[name]
    for name in ONE_D + N_D:
        assert getattr(scipy.ndimage, name) is originals[name]


def test_patch_replaces_skimage_modules_that_imported_the_names_themselves():
    # skimage.feature.censure does ``from scipy.ndimage import maximum_filter, minimum_filter``
    censure = pytest.importorskip("skimage.feature.censure")
    import scipy.ndimage

    before = censure.maximum_filter, censure.minimum_filter
    assert before == (scipy.ndimage.maximum_filter, scipy.ndimage.minimum_filter)
    with N.patched():
        assert censure.maximum_filter.__sepconv_original__ is before[0]
        assert censure.minimum_filter.__sepconv_original__ is before[1]
        x = _values(np.random.default_rng(4), (20, 21), np.float64)
        got = censure.maximum_filter(x, size=3)
    assert (censure.maximum_filter, censure.minimum_filter) == before
    assert_same_array(got, sn.maximum_filter(x, size=3))


# --------------------------------------------------------------------------- report


def test_report_section_checks_scipys_bits_and_draws_the_window_figure(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import json

    from sepconv import report

    rows = [
        {"dtype": "uint8", "shape": [64, 64], "window": w, "sepconv_s": 1e-4, "scipy_s": 1e-3}
        for w in (3, 31, 101)
    ]
    (tmp_path / "morphology.json").write_text(json.dumps({"windows": rows}))
    monkeypatch.setenv("SEPCONV_BENCHMARK_RESULTS", str(tmp_path))
    result = report.build_report(tmp_path / "out", ["morphology"])
    section = result.sections["morphology"]
    assert section["status"] == "ok", section["reason"]
    assert all(section["data"]["same_bits"].values())
    assert section["data"]["windows"] == rows
    html = (tmp_path / "out" / "index.html").read_text()
    assert "Grey morphology" in html and "Erosion cost against the window" in html
