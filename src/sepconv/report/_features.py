"""Report section: scale-space features -- Hessian ridges of scikit-image's retina."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import Context, Section
from ._html import escape, png_figure, speed, table

#: The scales of the ridge figure (pixels of the image shown).
SIGMAS = (1.0, 2.0, 3.0)
COMMAND = "sepconv report --sections features"


def sample_retina(quick: bool = True) -> np.ndarray:
    """scikit-image's bundled ``retina`` (no download): its green channel, float32 in [0, 1].

    The green channel has the vessels' best contrast; ``quick`` halves each side.
    """
    from skimage import data

    green = data.retina()[..., 1].astype(np.float32) / 255
    return np.ascontiguousarray(green[::2, ::2]) if quick else green


def ridges(image: np.ndarray, sigmas: tuple[float, ...] = SIGMAS) -> np.ndarray:
    """Dark ridges (vessels on a bright fundus): the largest scale-normalised positive curvature.

    ``max over sigma of sigma**2 * max(lambda_1, 0)``, ``lambda_1`` the Hessian's
    largest eigenvalue (across a dark vessel the intensity curves upwards).

    Examples
    --------
    >>> x = np.ones((40, 40), np.float32)
    >>> x[:, 20] = 0  # a dark vertical line
    >>> r = ridges(x, (1.0,))
    >>> bool(r[20, 20] > 10 * r[20, 5])
    True
    """
    from .. import features

    out = np.zeros(image.shape, np.float32)
    for s in sigmas:
        top = features.hessian_eigenvalues(image, s, mode="reflect")[0]
        np.maximum(out, s * s * top, out=out)
    return out


def _best_of(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # compilation, caches
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def build(ctx: Context) -> Section:
    return build_features(ctx)


def build_features(ctx: Context, *, image: np.ndarray | None = None, repeats: int = 3) -> Section:
    """The section; ``image`` and ``repeats`` let tests make it small."""
    from skimage import feature as skf
    from skimage.filters import sato

    from ..ndimage import patched

    if image is None:
        image = sample_retina(ctx.quick)
        source = f"scikit-image's retina, green channel, {image.shape[0]} x {image.shape[1]}"
    else:
        source = f"given {image.shape[0]} x {image.shape[1]} image"
    ctx.progress(f"  Hessian ridges of {source}")
    ours = ridges(image)

    def skimage_ridges() -> np.ndarray:
        out = np.zeros(image.shape, np.float32)
        for s in SIGMAS:
            h = skf.hessian_matrix(image, s, mode="reflect", use_gaussian_derivatives=True)
            np.maximum(out, s * s * skf.hessian_matrix_eigvals(h)[0], out=out)
        return out

    theirs = skimage_ridges()
    scale = float(np.abs(theirs).max()) or 1.0
    ridge_diff = float(np.abs(ours - theirs).max()) / scale
    plain = sato(image, sigmas=SIGMAS, black_ridges=True)
    with patched():
        on_bank = sato(image, sigmas=SIGMAS, black_ridges=True)
    sato_diff = float(np.abs(on_bank - plain).max()) / (float(np.abs(plain).max()) or 1.0)

    ctx.progress(f"  timing ({repeats} repeats each)")
    t_ours = _best_of(lambda: ridges(image), repeats)
    t_theirs = _best_of(skimage_ridges, repeats)
    t_sato = _best_of(lambda: sato(image, sigmas=SIGMAS, black_ridges=True), repeats)
    with patched():
        t_sato_bank = _best_of(lambda: sato(image, sigmas=SIGMAS, black_ridges=True), repeats)
    rows = [
        [
            "Hessian eigenvalues at σ = 1, 2, 3, ridge = max σ²λ₁",
            f"{1e3 * t_ours:.1f}",
            f"{1e3 * t_theirs:.1f}",
            speed(t_ours, t_theirs),
            f"{ridge_diff:.1e}",
        ],
        [
            "skimage.filters.sato(black_ridges=True), under sepconv.ndimage.patched()",
            f"{1e3 * t_sato_bank:.1f}",
            f"{1e3 * t_sato:.1f}",
            speed(t_sato_bank, t_sato),
            f"{sato_diff:.1e}",
        ],
    ]
    data = {
        "source": source,
        "shape": list(image.shape),
        "sigmas": list(SIGMAS),
        "ridges_s": t_ours,
        "skimage_ridges_s": t_theirs,
        "ridges_max_rel_diff": ridge_diff,
        "sato_patched_s": t_sato_bank,
        "sato_s": t_sato,
        "sato_max_rel_diff": sato_diff,
    }
    html = (
        "<p>Vessel, ridge and blob detectors (scikit-image's <code>frangi</code>, "
        "<code>sato</code>, <code>meijering</code>) start from the Hessian at several scales. "
        "<code>sepconv.features.hessian_eigenvalues</code> computes it as one bank: the three "
        "second derivatives share their first passes and the eigenvalues are written "
        "straight from the last sweep, with no full-size Hessian in between. "
        f"Below, {escape(source)}.</p>"
        + table(
            ["what", "sepconv ms", "scikit-image ms", "sepconv", "max difference / peak"],
            rows,
        )
        + _figure(image, ours, on_bank)
    )
    summary = [("Hessian ridges, retina", speed(t_ours, t_theirs, "scikit-image"))]
    return Section("Scale-space features: vessels of a retina", html, data, summary)


def _figure(image: np.ndarray, ours: np.ndarray, on_bank: np.ndarray) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("green channel", image, "gray"),
        ("max over σ of σ²λ₁ (sepconv.features)", ours, "magma"),
        ("skimage.filters.sato, on the bank", on_bank, "magma"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
    for ax, (title, data, cmap) in zip(axes, panels):
        # the fundus's rim is the strongest ridge: clip at a high percentile to show vessels
        top = float(np.percentile(data, 99.5)) if cmap != "gray" else None
        ax.imshow(data, cmap=cmap, vmax=top)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    return png_figure(
        fig,
        "Dark vessels of scikit-image's retina: the Hessian's largest eigenvalue at three "
        "scales, and scikit-image's sato filter running on sepconv's banks (mode reflect).",
        COMMAND,
        title="Hessian ridges",
    )
