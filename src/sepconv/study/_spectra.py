"""How separable are a network's k x k kernels?  Singular values of every (out, in) slice.

A ``(out, in, k, k)`` convolution weight holds ``out * in`` two-dimensional kernels (one per
output and input channel; a depthwise layer holds one per channel).  Each slice is rank 1 --
spatially separable -- when its second singular value vanishes; by Eckart-Young the best
rank-``r`` approximation of a slice with singular values ``s`` has relative Frobenius error
``sqrt(sum(s[r:]**2) / sum(s**2))``, the rule :func:`sepconv.lowrank` applies to one kernel.
This module applies it to every slice of a layer at once.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Relative Frobenius errors at which a slice counts as rank 1, and their field suffixes.
TOLERANCES: tuple[tuple[float, str], ...] = ((0.01, "1"), (0.05, "5"), (0.10, "10"))
#: The error for which the mean rank is reported (``mean_rank_1``).
RANK_TOLERANCE = 0.01
#: Relative rank-1 errors at which ``rank1_error_cdf`` gives the share of slices within.
CDF_GRID = np.round(np.linspace(0.0, 1.0, 41), 3)
#: Layers whose kernels are at least this large in both directions are analysed: a 1 x k or
#: 2 x 2 kernel has at most 1 or 2 singular values, which says little about separability.
MIN_KERNEL = 3


@dataclass(frozen=True, eq=False)
class ConvWeight:
    """One convolution layer's weight, as a network stores it.

    Attributes
    ----------
    name : str
        The layer's name in its source (state-dict key or ONNX node name).
    weight : ndarray, shape (out, in / groups, kh, kw)
        For a transposed convolution ONNX stores ``(in, out / groups, kh, kw)``; the set of
        k x k slices is the same either way.
    groups : int
    depth : int
        Position among all the network's convolutions (1 x 1 ones included), in the order
        they run.
    op : str
        ``"Conv"`` or ``"ConvTranspose"``.
    """

    name: str
    weight: np.ndarray
    groups: int = 1
    depth: int = 0
    op: str = "Conv"

    @property
    def kind(self) -> str:
        """``"depthwise"`` (one input channel per group), ``"dense"`` or ``"grouped"``."""
        if self.groups > 1 and self.weight.shape[1] == 1:
            return "depthwise"
        return "dense" if self.groups == 1 else "grouped"

    @property
    def kernel_size(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def analysed(self) -> bool:
        """Whether the layer's kernels are large enough to be analysed (``MIN_KERNEL``)."""
        return min(self.kernel_size) >= MIN_KERNEL


def slice_singular_values(weight: np.ndarray) -> np.ndarray:
    """Singular values of every k x k slice, largest first: shape ``(out * in, min(kh, kw))``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((1, 2, 3, 3))
    >>> w[0, 0] = np.outer([1, 2, 1], [1, 0, -1])  # Sobel: rank 1
    >>> w[0, 1] = np.eye(3)
    >>> slice_singular_values(w).round(3)
    array([[3.464, 0.   , 0.   ],
           [1.   , 1.   , 1.   ]])
    """
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"weight must be 4-D (out, in, kh, kw), got shape {w.shape}")
    slices = w.reshape(-1, w.shape[2], w.shape[3])
    return np.linalg.svd(slices, compute_uv=False)


def tail_errors(singular_values: np.ndarray) -> np.ndarray:
    """Relative Frobenius error of the best rank-``r`` approximation, ``r = 0 .. k``.

    Row ``i`` column ``r`` is ``sqrt(sum(s[i, r:]**2) / sum(s[i]**2))``; zero slices get 0.

    Examples
    --------
    >>> tail_errors(np.array([[3.0, 4.0]])).round(2)
    array([[1. , 0.8, 0. ]])
    """
    energy = np.asarray(singular_values, dtype=np.float64) ** 2
    tails = np.cumsum(energy[:, ::-1], axis=1)[:, ::-1]
    tails = np.concatenate([tails, np.zeros((len(energy), 1))], axis=1)
    total = tails[:, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = np.sqrt(np.where(total > 0, tails / np.where(total > 0, total, 1.0), 0.0))
    return errors


def slice_statistics(singular_values: np.ndarray | Sequence[np.ndarray]) -> dict[str, Any]:
    """The separability numbers of a set of slices (one layer, or a whole network's).

    Parameters
    ----------
    singular_values : ndarray or sequence of ndarray
        Rows of :func:`slice_singular_values`; several arrays (kernels of different sizes)
        are pooled slice by slice.

    Returns
    -------
    dict
        ``slices`` (non-zero slices counted), ``zero_slices``, ``rank1_share_1``,
        ``rank1_share_5``, ``rank1_share_10`` (share of slices whose best rank-1
        approximation is within 1 / 5 / 10 % relative Frobenius error), ``mean_rank_1``
        (mean of each slice's smallest rank within 1 %), ``median_rank1_error`` and
        ``singular_values_mean``: per kernel size ``k`` (a string key), the mean of each
        slice's singular values divided by their root sum of squares, so that a rank-1 slice
        reads ``[1, 0, 0]``.  Shares and ranks are ``None`` without a non-zero slice.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([[1.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.0, 0.0, 0.0]])
    >>> stats = slice_statistics(s)
    >>> stats["slices"], stats["zero_slices"], stats["rank1_share_5"], stats["rank1_share_10"]
    (2, 1, 0.5, 0.5)
    >>> stats["mean_rank_1"]
    1.5
    """
    parts = [singular_values] if isinstance(singular_values, np.ndarray) else singular_values
    rank1: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    spectra: dict[str, list[np.ndarray]] = {}
    zero = 0
    for part in parts:
        s = np.asarray(part, dtype=np.float64)
        if s.ndim != 2 or s.shape[1] == 0:
            raise ValueError(f"singular_values must be 2-D (slices, k), got shape {s.shape}")
        nonzero = s[:, 0] > 0
        zero += int((~nonzero).sum())
        s = s[nonzero]
        if not len(s):
            continue
        errors = tail_errors(s)
        rank1.append(errors[:, 1])
        # Smallest r with error <= tol; the full rank always qualifies (error 0).
        ranks.append(np.argmax(errors <= RANK_TOLERANCE, axis=1))
        norms = np.sqrt((s**2).sum(axis=1, keepdims=True))
        spectra.setdefault(str(s.shape[1]), []).append(s / norms)
    out: dict[str, Any] = {"slices": int(sum(len(e) for e in rank1)), "zero_slices": zero}
    if not rank1:
        for _, suffix in TOLERANCES:
            out[f"rank1_share_{suffix}"] = None
        out.update(
            mean_rank_1=None, median_rank1_error=None, rank1_error_cdf=None, singular_values_mean={}
        )
        return out
    error = np.concatenate(rank1)
    for tol, suffix in TOLERANCES:
        out[f"rank1_share_{suffix}"] = float(np.mean(error <= tol))
    out["mean_rank_1"] = float(np.mean(np.concatenate(ranks)))
    out["median_rank1_error"] = float(np.median(error))
    # The whole distribution, for curves: share of slices within each of CDF_GRID.
    out["rank1_error_cdf"] = [float(v) for v in np.mean(error[:, None] <= CDF_GRID, axis=0)]
    out["singular_values_mean"] = {
        k: [float(v) for v in np.concatenate(v).mean(axis=0)] for k, v in sorted(spectra.items())
    }
    return out


def _layer_statistics(singular_values: np.ndarray) -> dict[str, Any]:
    # A layer's row keeps the numbers, not the curve: the CDF is drawn per network only, and
    # would make up most of kernels.json for a 64-layer network.
    stats = slice_statistics(singular_values)
    del stats["rank1_error_cdf"]
    return stats


def random_like(weight: np.ndarray, seed: int | Sequence[int]) -> np.ndarray:
    """Untrained weights of ``weight``'s shape: PyTorch's default ``nn.Conv2d`` initialisation.

    ``kaiming_uniform_(a=sqrt(5))`` draws every entry independently from
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; the scale does not change any relative error.
    """
    w = np.asarray(weight)
    fan_in = int(np.prod(w.shape[1:]))
    bound = 1.0 / np.sqrt(fan_in)
    return np.random.default_rng(seed).uniform(-bound, bound, size=w.shape)


def layer_seed(network: str, depth: int, seed: int = 0) -> list[int]:
    """A seed for one layer's random control, stable across runs and Python versions."""
    return [seed, zlib.crc32(network.encode()), depth]


def analyse_layers(
    network: str,
    layers: Iterable[ConvWeight],
    *,
    seed: int = 0,
    keep: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Per layer and per network: the separability of the trained and of random kernels.

    Only layers with ``k >= MIN_KERNEL`` in both directions are analysed; ``convolutions``
    counts all of them, for the depth axis.  Layer rows have :func:`slice_statistics` without
    the ``rank1_error_cdf`` curve.  The network summary pools every slice of one
    kind (``dense`` apart from ``depthwise``), so a large layer weighs more than a small one.
    ``keep``, if given, receives every analysed layer's singular values (one row per slice)
    under ``"<network>:<layer name>"``.

    Examples
    --------
    >>> import numpy as np
    >>> rank1 = np.einsum("oci,ocj->ocij", np.ones((4, 2, 3)), np.arange(24.0).reshape(4, 2, 3))
    >>> result = analyse_layers("toy", [ConvWeight("conv", rank1)])
    >>> result["summary"]["dense"]["trained"]["rank1_share_1"]
    1.0
    >>> result["summary"]["dense"]["random"]["rank1_share_10"]
    0.0
    """
    layers = list(layers)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, dict[str, list[np.ndarray]]] = {}
    count = len(layers)
    for layer in layers:
        if not layer.analysed:
            continue
        trained = slice_singular_values(layer.weight)
        control = slice_singular_values(
            random_like(layer.weight, layer_seed(network, layer.depth, seed))
        )
        if keep is not None:
            keep[f"{network}:{layer.name}"] = trained
        kind = layer.kind
        bucket = pooled.setdefault(kind, {"trained": [], "random": []})
        bucket["trained"].append(trained)
        bucket["random"].append(control)
        rows.append(
            {
                "name": layer.name,
                "op": layer.op,
                "kind": kind,
                "depth": layer.depth,
                "depth_fraction": layer.depth / max(count - 1, 1),
                "shape": [int(n) for n in layer.weight.shape],
                "groups": layer.groups,
                **_layer_statistics(trained),
                "random": _layer_statistics(control),
            }
        )
    summary = {
        kind: {
            "layers": sum(1 for r in rows if r["kind"] == kind),
            "trained": slice_statistics(parts["trained"]),
            "random": slice_statistics(parts["random"]),
        }
        for kind, parts in pooled.items()
    }
    return {"convolutions": count, "layers": rows, "summary": summary}


__all__ = [
    "CDF_GRID",
    "MIN_KERNEL",
    "RANK_TOLERANCE",
    "TOLERANCES",
    "ConvWeight",
    "analyse_layers",
    "layer_seed",
    "random_like",
    "slice_singular_values",
    "slice_statistics",
    "tail_errors",
]
