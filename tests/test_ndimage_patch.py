"""sepconv.ndimage.patch(): scikit-image's filters run on sepconv with scipy's bits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage

from sepconv import ndimage as N

skimage_filters = pytest.importorskip("skimage.filters")
import skimage.filters.edges  # noqa: E402


def _originals() -> dict[tuple[str, str], object]:
    found = {(scipy.ndimage.__name__, n): getattr(scipy.ndimage, n) for n in N.PATCHED}
    found[("skimage.filters.edges", "convolve")] = skimage.filters.edges.convolve
    return found


def _image(dtype) -> np.ndarray:
    rng = np.random.default_rng(5)
    if np.dtype(dtype).kind == "f":
        return rng.random((37, 29)).astype(dtype)
    return rng.integers(0, 255, (37, 29)).astype(dtype)


_originals_before = _originals()

CALLS = [
    ("gaussian", lambda x: skimage_filters.gaussian(x, sigma=1.5, preserve_range=True)),
    (
        "gaussian-rgb",
        lambda x: skimage_filters.gaussian(np.dstack([x] * 3), sigma=2, channel_axis=-1),
    ),
    ("sobel", lambda x: skimage_filters.sobel(x)),
    ("sobel_h", lambda x: skimage_filters.sobel_h(x)),
    ("prewitt", lambda x: skimage_filters.prewitt(x, mode="wrap")),
    ("scharr", lambda x: skimage_filters.scharr(x)),
    ("laplace", lambda x: skimage_filters.laplace(x, ksize=3)),
    ("threshold_local", lambda x: skimage_filters.threshold_local(x, 5, method="mean")),
]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize(("label", "call"), CALLS)
def test_patched_skimage_filters_give_scipys_bits(label, call, dtype):
    x = _image(dtype)
    ref = call(x)
    with N.patched():
        assert (
            scipy.ndimage.gaussian_filter
            is not _originals_before[("scipy.ndimage", "gaussian_filter")]
        )
        ours = call(x)
    assert ours.dtype == ref.dtype
    assert np.array_equal(ours, ref, equal_nan=True)


def test_patch_replaces_the_named_functions_and_unpatch_restores_every_original():
    before = _originals()
    N.patch()
    try:
        N.patch()  # idempotent
        assert N.is_patched()
        for name in N.PATCHED:
            current = getattr(scipy.ndimage, name)
            assert current is not before[("scipy.ndimage", name)]
            assert current.__sepconv_original__ is before[("scipy.ndimage", name)]
        assert skimage.filters.edges.convolve.__wrapped__ is N.convolve
    finally:
        N.unpatch()
    assert not N.is_patched()
    after = _originals()
    assert all(after[key] is before[key] for key in before)


def test_patched_sepconv_is_what_runs(monkeypatch):
    calls = []
    real = N.convolve

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(N, "convolve", spy)
    with N.patched():
        skimage_filters.sobel(_image(np.float64))
    assert calls  # skimage's sobel convolved through sepconv


def test_foreign_arrays_fall_through_to_scipy():
    class Wrapped(np.ndarray):
        pass

    x = _image(np.float64).view(Wrapped)
    with N.patched():
        out = scipy.ndimage.uniform_filter(x, 3)
    assert np.array_equal(out, scipy.ndimage.uniform_filter(np.asarray(x), 3))


def test_patched_context_nests_and_restores_on_error():
    with pytest.raises(KeyError):
        with N.patched():
            with N.patched():
                pass
            assert N.is_patched()
            raise KeyError
    assert not N.is_patched()
