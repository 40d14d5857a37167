"""The filtering benchmark's kernels, references and contenders (sepconv and its peers).

Every contender is a :class:`Cell`: a call that returns the filtered image, plus optional
untimed ``before`` / ``after`` calls around each timed call (a thread-count switch, a
PyTorch operation), so that what is timed is only the filter.  Each cell is also told how
its result is checked against scipy (``mode="reflect"``, or ``"mirror"`` for kornia, whose
``reflect`` is scipy's ``mirror``).

Border rules.  scipy's ``reflect`` (``dcba|abcd|dcba``) is OpenCV's ``BORDER_REFLECT``.
kornia has no integer path: it runs on float32 images only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.ndimage as ndi

import sepconv

try:
    import cv2
except ImportError:  # pragma: no cover - the benchmark then runs without OpenCV
    cv2 = None
try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = F = None
try:
    import kornia
except ImportError:  # pragma: no cover
    kornia = None
try:
    import sepconv.torch as sepconv_torch
except ImportError:  # pragma: no cover - needs torch
    sepconv_torch = None

# Contender names: the JSON keys.  sepconv's variants come first; CORRELATE is the primary.
CORRELATE = "sepconv.correlate"
SEPFILTER = "sepconv.sepfilter"
PLAN = "sepconv plan p(x)"
ONE_THREAD = "sepconv.correlate 1 thread"
#: correlate into a preallocated output (3-tap boxes): the same stores as np.copyto's
CORRELATE_OUT = "sepconv.correlate output="
AFTER = " after torch op"  # the suffix of every cell timed right after a torch operation
AFTER_TORCH = CORRELATE + AFTER
ONE_THREAD_AFTER_TORCH = ONE_THREAD + AFTER
SEPCONV_TORCH = "sepconv.torch.correlate"
#: The exact policy (scipy's bits) on the same operation.
EXACT_SAME = {
    "gaussian": "sepconv.ndimage.gaussian_filter",
    "box": "sepconv.ndimage.uniform_filter",
}
SEPCONV_NAMES = (
    CORRELATE,
    *EXACT_SAME.values(),
    SEPFILTER,
    PLAN,
    ONE_THREAD,
    CORRELATE_OUT,
    AFTER_TORCH,
    ONE_THREAD_AFTER_TORCH,
    SEPCONV_TORCH,
)
SEPFILTER2D = "cv2.sepFilter2D"
SEPFILTER2D_AFTER_TORCH = SEPFILTER2D + AFTER
CV2_SAME = {"gaussian": "cv2.GaussianBlur", "box": "cv2.blur"}
SCIPY_SAME = {"gaussian": "scipy.gaussian_filter", "box": "scipy.uniform_filter"}
KORNIA = "kornia.filter2d_separable"
COPY = "np.copyto"
COPY_2 = "np.copyto 2 threads"
MEMCPY_NAMES = (COPY, COPY_2)
#: a copy into a new array: np.copyto plus the kernel's zeroing of the fresh pages
NEW_COPY = "x.copy() (new array)"

_copy_pool: ThreadPoolExecutor | None = None


@dataclass
class Cell:
    """One timed contender of a case.

    ``fn`` returns the result (checked once, then dropped); ``before`` and ``after`` run
    untimed around every call; ``check`` names the reference (``"reflect"``,
    ``"mirror"``, or ``None`` for a plain copy); ``jit`` marks calls whose first call
    compiles or plans (never reused as a timing sample); ``settle=False`` forbids the
    untimed call that otherwise opens each block of timed calls (for cells that time the
    call right after another library's operation, which is the point).
    """

    fn: Callable[[], Any]
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    check: str | None = "reflect"
    jit: bool = False
    settle: bool = True


# --------------------------------------------------------------------------- kernels


def gaussian_factor(size: int) -> tuple[float, np.ndarray]:
    """The 1-D Gaussian of ``size`` taps that scipy uses for ``sigma = (size - 1) / 8``.

    scipy's ``gaussian_filter`` truncates at 4 sigma: sigma 1, 2, 4 give 9, 17, 33 taps
    (issue 19's rows).  ``radius=`` fixes the size exactly, so
    ``scipy.ndimage.gaussian_filter(x, sigma, radius=r)`` and
    ``cv2.GaussianBlur(x, (size, size), sigma)`` use the same weights.
    """
    radius = (size - 1) // 2
    sigma = (size - 1) / 8
    return sigma, sepconv.kernels.gaussian(sigma, radius=radius)


def box_factor(size: int) -> np.ndarray:
    """The 1-D mean of ``size`` taps: ``uniform_filter``'s and ``cv2.blur``'s kernel."""
    return np.full(size, 1.0 / size)


# --------------------------------------------------------------------------- references


def reference(x: np.ndarray, w: np.ndarray, mode: str) -> np.ndarray:
    """scipy's separable result with float64 intermediates (exact up to float64 rounding)."""
    out = ndi.correlate1d(x, w, axis=0, mode=mode, output=np.float64)
    return ndi.correlate1d(out, w, axis=1, mode=mode, output=np.float64)


def compare(result: Any, exact: np.ndarray) -> dict[str, Any]:
    """Max |diff| from the float64 reference; for integer outputs also how many pixels
    are more than one rounding step (0.5 + 1e-6) away from it.

    A uint8 result may truncate (scipy) or round (OpenCV), so a difference below one
    is either's rounding; a pixel off by more is a wrong result.
    """
    if torch is not None and isinstance(result, torch.Tensor):
        result = result.detach().numpy()[0, 0]
    result = np.asarray(result)
    if result.shape != exact.shape:
        return {"max_abs_diff": None, "error": f"shape {result.shape} != {exact.shape}"}
    diff = np.abs(result.astype(np.float64) - exact)
    out: dict[str, Any] = {"max_abs_diff": float(diff.max())}
    if result.dtype.kind in "iu":
        out["pixels_off_by_more_than_rounding"] = int(np.count_nonzero(diff > 1.0 + 1e-6))
    return out


# --------------------------------------------------------------------------- contenders


def torch_op() -> Callable[[], None] | None:
    """A 512x512 matmul and a small conv2d: what a training loop runs between filters.

    After it, PyTorch's OpenMP threads may still spin on the cores the filter needs.
    """
    if torch is None:
        return None
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(512, 512, generator=gen)
    images = torch.rand(8, 16, 32, 32, generator=gen)
    weights = torch.rand(16, 16, 3, 3, generator=gen)

    def run() -> None:
        with torch.no_grad():
            a @ a
            F.conv2d(images, weights, padding=1)

    return run


def threads(n: int) -> Callable[[], None]:
    return lambda: sepconv.set_num_threads(n)


def chain(*calls: Callable[[], None] | None) -> Callable[[], None] | None:
    calls = tuple(c for c in calls if c is not None)
    if not calls:
        return None

    def run() -> None:
        for c in calls:
            c()

    return run


def sepconv_cells(
    x: np.ndarray,
    w: np.ndarray,
    family: str,
    default_threads: int,
    op: Callable[[], None] | None,
) -> dict[str, Cell]:
    """sepconv as a user calls it: ``correlate`` with the 2-D outer-product kernel,
    ``sepfilter`` with the factors, and -- where :func:`sepconv.plan` returns a callable
    plan -- the reusable plan; ``correlate`` again with one thread and after a torch op;
    and the exact policy's ``sepconv.ndimage`` call of the same operation."""
    import sepconv.ndimage as sn

    K = np.outer(w, w)
    restore = threads(default_threads)
    k = w.size
    if family == "gaussian":
        sigma = (k - 1) / 8
        exact = Cell(lambda: sn.gaussian_filter(x, sigma, mode="reflect", radius=k // 2), jit=True)
    else:
        exact = Cell(lambda: sn.uniform_filter(x, k, mode="reflect"), jit=True)
    cells = {
        CORRELATE: Cell(lambda: sepconv.correlate(x, K, mode="reflect"), jit=True),
        SEPFILTER: Cell(lambda: sepconv.sepfilter(x, [w, w], mode="reflect"), jit=True),
        EXACT_SAME[family]: exact,
    }
    try:
        p = sepconv.plan(x.shape, K, dtype=x.dtype, mode="reflect")
    except Exception:  # the plan column is optional; correlate's errors show in its own cell
        p = None
    if callable(p):
        cells[PLAN] = Cell(lambda: p(x), jit=True)
    cells[ONE_THREAD] = Cell(cells[CORRELATE].fn, before=threads(1), after=restore, jit=True)
    if family == "box" and k == 3:
        out = np.empty_like(x)
        cells[CORRELATE_OUT] = Cell(
            lambda: sepconv.correlate(x, K, mode="reflect", output=out), jit=True
        )
    if op is not None:
        cells[AFTER_TORCH] = Cell(cells[CORRELATE].fn, before=op, jit=True, settle=False)
        cells[ONE_THREAD_AFTER_TORCH] = Cell(
            cells[CORRELATE].fn,
            before=chain(op, threads(1)),
            after=restore,
            jit=True,
            settle=False,
        )
    return cells


def peer_cells(
    x: np.ndarray,
    w: np.ndarray,
    family: str,
    op: Callable[[], None] | None,
    *,
    with_kornia: bool,
) -> dict[str, Cell]:
    """OpenCV, scipy.ndimage and (where asked) kornia and ``sepconv.torch`` on one case."""
    k = w.size
    cells: dict[str, Cell] = {}
    if cv2 is not None:
        wk = w.astype(np.float32 if x.dtype == np.float32 else np.float64)

        def sep() -> np.ndarray:
            return cv2.sepFilter2D(x, -1, wk, wk, borderType=cv2.BORDER_REFLECT)

        cells[SEPFILTER2D] = Cell(sep)
        if family == "gaussian":
            sigma = (k - 1) / 8
            cells[CV2_SAME[family]] = Cell(
                lambda: cv2.GaussianBlur(x, (k, k), sigma, borderType=cv2.BORDER_REFLECT)
            )
        else:
            cells[CV2_SAME[family]] = Cell(
                lambda: cv2.blur(x, (k, k), borderType=cv2.BORDER_REFLECT)
            )
        if op is not None:
            cells[SEPFILTER2D_AFTER_TORCH] = Cell(sep, before=op, settle=False)
    if family == "gaussian":
        sigma = (k - 1) / 8
        cells[SCIPY_SAME[family]] = Cell(
            lambda: ndi.gaussian_filter(x, sigma, mode="reflect", radius=k // 2)
        )
    else:
        cells[SCIPY_SAME[family]] = Cell(lambda: ndi.uniform_filter(x, k, mode="reflect"))
    if with_kornia and kornia is not None and x.dtype == np.float32:
        t = torch.from_numpy(x)[None, None]
        kw = torch.from_numpy(w.astype(np.float32))[None]
        K = np.outer(w, w)

        def run_kornia() -> Any:
            with torch.no_grad():
                return kornia.filters.filter2d_separable(t, kw, kw, border_type="reflect")

        cells[KORNIA] = Cell(run_kornia, check="mirror")
        if sepconv_torch is not None:
            cells[SEPCONV_TORCH] = Cell(
                lambda: sepconv_torch.correlate(t, K, mode="mirror"), check="mirror", jit=True
            )
    return cells


def memcpy_cells(x: np.ndarray) -> dict[str, Cell]:
    """``np.copyto`` of the same array, on one thread and split over all cores.

    NumPy releases the GIL for plain copies, so the threaded copy measures what several
    cores can move; the faster of the two is the bandwidth the filter is compared with.
    """
    global _copy_pool
    dst = np.empty_like(x)
    np.copyto(dst, x)  # fault the pages in
    n = os.cpu_count() or 1
    rows = np.array_split(np.arange(x.shape[0]), n)
    parts = [slice(int(r[0]), int(r[-1]) + 1) for r in rows if r.size]
    if _copy_pool is None:
        _copy_pool = ThreadPoolExecutor(n)
    pool = _copy_pool

    def split() -> np.ndarray:
        list(pool.map(lambda s: np.copyto(dst[s], x[s]), parts))
        return dst

    def one() -> np.ndarray:
        np.copyto(dst, x)
        return dst

    return {
        COPY: Cell(one, check=None),
        COPY_2: Cell(split, check=None),
        NEW_COPY: Cell(x.copy, check=None),
    }
