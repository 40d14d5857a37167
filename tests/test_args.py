"""sepconv._args: one normaliser, and regressions for the copies that disagreed (issue 12)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.ndimage

import sepconv
from sepconv import _args


def test_plan_takes_the_origins_correlate_takes_for_permuted_axes():
    # plan(axes=(1, 0), origin=(1, 2)) with a 3x5 kernel used to raise "origin must satisfy"
    x = np.random.default_rng(0).random((9, 11))
    w = np.random.default_rng(1).random((3, 5))
    chosen = sepconv.plan(x.shape, w, axes=(1, 0), origin=(1, 2))
    assert chosen.method in ("direct", "separable", "lowrank", "fft")
    ours = sepconv.correlate(x, w, axes=(1, 0), origin=(1, 2))
    ref = scipy.ndimage.correlate(x, w, axes=(1, 0), origin=(1, 2))
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    da = pytest.importorskip("dask.array")
    lazy = sepconv.correlate(da.from_array(x, chunks=4), w, axes=(1, 0), origin=(1, 2))
    np.testing.assert_allclose(lazy.compute(), ref, rtol=1e-12, atol=1e-12)


def test_sepfilter_refuses_a_complex_output_for_real_data_as_correlate_does():
    # sepfilter used to fill a complex output where correlate gave another answer;
    # both now refuse it with scipy.ndimage.correlate's error (issue 18: accept exactly)
    x = np.ones((4, 5))
    with pytest.raises(RuntimeError, match="array type not supported") as theirs:
        scipy.ndimage.correlate(x, np.outer([0.5], [0.5]), output=np.complex128)
    for call in (
        lambda: sepconv.sepfilter(x, [[0.5], [0.5]], output=np.complex128),
        lambda: sepconv.correlate(x, np.outer([0.5], [0.5]), output=np.complex128),
    ):
        with pytest.raises(RuntimeError) as ours:
            call()
        assert str(ours.value).startswith(str(theirs.value))
        assert "output" in str(ours.value)


def test_dask_sepfilter_does_not_offer_an_option_it_cannot_take():
    sdask = pytest.importorskip("sepconv.dask")
    assert "method" not in (sdask.sepfilter.__doc__ or "").split("Examples")[0].replace(
        "no ``method``", ""
    )
    numpy_params = list(inspect.signature(sepconv.sepfilter).parameters)
    assert list(inspect.signature(sdask.sepfilter).parameters) == numpy_params


def test_torch_correlate_accepts_the_nan_weights_correlate_accepts():
    torch = pytest.importorskip("torch")
    import sepconv.torch as st

    x = np.random.default_rng(2).random((6, 7))
    k = np.array([[1.0, np.nan], [2.0, 3.0]])
    ref = sepconv.correlate(x, k)
    np.testing.assert_allclose(st.correlate(torch.tensor(x), k).numpy(), ref)
    grad = torch.tensor(x, requires_grad=True)
    np.testing.assert_allclose(st.correlate(grad, k).detach().numpy(), ref)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_convolve_origin_is_scipys_rule(size):
    x = np.random.default_rng(size).random(12)
    w = np.arange(1.0, size + 1)
    for origin in range(-(size // 2), (size - 1) // 2 + 1):
        mirrored = _args.convolve_origin(origin, size)
        ref = scipy.ndimage.convolve1d(x, w, origin=origin)
        assert np.array_equal(scipy.ndimage.correlate1d(x, w[::-1], origin=mirrored), ref)


def test_kept_taps_skip_tiny_and_nan_weights():
    w = np.array([1.0, 2e-16, -3e-16, np.nan, np.inf])
    assert _args.kept_taps(w).tolist() == [True, False, True, False, True]
    assert _args.effective_weights(w)[3] == 0.0


def test_sequences_and_modes_raise_one_error_class():
    with pytest.raises(_args.FilterArgumentError, match="sigma"):
        _args.to_sequence([1, 2], 3, "sigma")
    with pytest.raises(RuntimeError, match="mode"):
        _args.to_mode("reflct")
    with pytest.raises(ValueError, match="mode"):
        _args.to_mode(3)
    assert _args.to_modes(["grid-wrap", "nearest"], 2) == ["wrap", "nearest"]
