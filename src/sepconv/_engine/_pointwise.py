"""Pointwise steps between and after the sweeps of a bank: products, eigenvalues, norms.

A feature bank (:mod:`sepconv.features`) filters an image into *fields*
(derivatives, tensor entries) held in a slab of rows; what it returns is
often a pointwise function of them: a structure tensor needs products of two
derivatives before it is smoothed, a Hessian's eigenvalues need its six
entries at once.  :func:`pointwise` runs a small program of such steps on the
rows of a slab and writes the results into rows ``y0 ..`` of an output (the
final array, or the next slab), converting to its dtype on store.

Steps (one row of the program each, ``(op, n, in_0 .. in_5, out_0 .. out_2)``):

* ``COPY``: ``out_0 = in_0``;
* ``PRODUCT``: ``out_0 = in_0 * in_1``;
* ``SUM``: ``out_0 = in_0 + .. + in_(n-1)``; ``DIFFERENCE``: ``out_0 = in_0 - in_1``;
* ``HYPOT``: ``out_0 = sqrt(in_0**2 + .. + in_(n-1)**2)``;
* ``EIGEN2``: the eigenvalues of ``[[in_0, in_1], [in_1, in_2]]``, largest
  first, by scikit-image's formula (``(a + c) / 2 +- sqrt(b**2 + ((a - c) /
  2)**2)``);
* ``EIGEN3``: those of the symmetric 3 x 3 matrix with upper entries
  ``in_0 .. in_5`` (row by row, scikit-image's order), largest first, by
  the trigonometric solution of the characteristic cubic (Smith, CACM 4(4),
  1961) in double precision: within about ``1e-7 * |A|`` of LAPACK's
  ``eigvalsh`` (close pairs lose up to half of float64's digits, none of
  float32's).

Arithmetic is in double whatever the fields' dtype; NaN propagates.  The
kernel takes the engine's launch convention (:func:`._launch.launch`):
``entry(t0, t1, fields, out, program, ints)`` with ``fields`` seen as
``(F, B, rows, R)`` (the work dtype) and ``out`` as raw bytes ``(K, B, H, R *
itemsize)``; a task is a chunk of rows of one plane.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._cast import dtype_code, store_code, store_row
from ._launch import launch

__all__ = [
    "COPY",
    "DIFFERENCE",
    "EIGEN2",
    "EIGEN3",
    "HYPOT",
    "PRODUCT",
    "SUM",
    "eigen3",
    "pointwise",
    "step",
]

COPY, PRODUCT, SUM, DIFFERENCE, HYPOT, EIGEN2, EIGEN3 = range(7)
_INPUTS = {COPY: 1, PRODUCT: 2, DIFFERENCE: 2, EIGEN2: 3, EIGEN3: 6}
_OUTPUTS = {EIGEN2: 2, EIGEN3: 3}
#: Rows a task handles (a few of a slab: the tasks stay small enough to balance).
_CHUNK = 8


def step(op: int, inputs: list[int], outputs: list[int]) -> list[int]:
    """One row of a program: ``(op, n, in_0 .. in_5, out_0 .. out_2)``.

    Examples
    --------
    >>> step(PRODUCT, [0, 1], [2])
    [1, 2, 0, 1, 0, 0, 0, 0, 2, 0, 0]
    """
    if op in _INPUTS and len(inputs) != _INPUTS[op]:
        raise ValueError(f"step {op} takes {_INPUTS[op]} inputs, got {len(inputs)}")
    if not 1 <= len(inputs) <= 6 or len(outputs) != _OUTPUTS.get(op, 1):
        raise ValueError(f"bad step {op}: inputs {inputs}, outputs {outputs}")
    ins = [*inputs, *([0] * (6 - len(inputs)))]
    return [op, len(inputs), *ins, *outputs, *([0] * (3 - len(outputs)))]


@njit(cache=True, nogil=True)
def eigen3(a, b, c, d, e, f):
    """Eigenvalues of ``[[a, b, c], [b, d, e], [c, e, f]]``, largest first."""
    p1 = b * b + c * c + e * e
    q = (a + d + f) / 3.0
    if p1 == 0.0:  # diagonal
        x, y, z = a, d, f
        if x < y:
            x, y = y, x
        if y < z:
            y, z = z, y
        if x < y:
            x, y = y, x
        return x, y, z
    aq, dq, fq = a - q, d - q, f - q
    p2 = aq * aq + dq * dq + fq * fq + 2.0 * p1
    p = math.sqrt(p2 / 6.0)
    inv = 1.0 / p
    ba, bd, bf, bb, bc, be = aq * inv, dq * inv, fq * inv, b * inv, c * inv, e * inv
    det = ba * (bd * bf - be * be) - bb * (bb * bf - be * bc) + bc * (bb * be - bd * bc)
    r = 0.5 * det
    if r <= -1.0:
        phi = math.pi / 3.0
    elif r >= 1.0:
        phi = 0.0
    else:
        phi = math.acos(r) / 3.0
    x = q + 2.0 * p * math.cos(phi)
    z = q + 2.0 * p * math.cos(phi + 2.0 * math.pi / 3.0)
    y = 3.0 * q - x - z
    return x, y, z


@njit(cache=True, nogil=True)
def pointwise_rows(t0, t1, fields, out, program, ints):
    """Run ``program`` on rows of ``fields`` into rows ``y0 ..`` of ``out`` (see the module)."""
    rows, y0, rule, dcode, nchunks, r0f = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    R = fields.shape[3]
    a = np.empty(R, np.float64)
    b = np.empty(R, np.float64)
    c = np.empty(R, np.float64)
    for task in range(t0, t1):
        plane = task // nchunks
        r0 = (task % nchunks) * _CHUNK
        for rr in range(r0, min(rows, r0 + _CHUNK)):
            r = rr + r0f
            for s in range(program.shape[0]):
                op, n = program[s, 0], program[s, 1]
                src = program[s, 2:8]
                dst = program[s, 8:11]
                if op == COPY:
                    f = fields[src[0], plane, r]
                    for i in range(R):
                        a[i] = f[i]
                elif op == PRODUCT:
                    f, g = fields[src[0], plane, r], fields[src[1], plane, r]
                    for i in range(R):
                        a[i] = np.float64(f[i]) * np.float64(g[i])
                elif op == SUM:
                    f = fields[src[0], plane, r]
                    for i in range(R):
                        a[i] = f[i]
                    for k in range(1, n):
                        f = fields[src[k], plane, r]
                        for i in range(R):
                            a[i] += f[i]
                elif op == DIFFERENCE:
                    f, g = fields[src[0], plane, r], fields[src[1], plane, r]
                    for i in range(R):
                        a[i] = np.float64(f[i]) - np.float64(g[i])
                elif op == HYPOT:
                    for i in range(R):
                        a[i] = 0.0
                    for k in range(n):
                        f = fields[src[k], plane, r]
                        for i in range(R):
                            v = np.float64(f[i])
                            a[i] += v * v
                    for i in range(R):
                        a[i] = math.sqrt(a[i])
                elif op == EIGEN2:
                    f, g = fields[src[0], plane, r], fields[src[1], plane, r]
                    h = fields[src[2], plane, r]
                    for i in range(R):
                        m00, m01, m11 = np.float64(f[i]), np.float64(g[i]), np.float64(h[i])
                        half = (m00 + m11) / 2.0
                        d = (m00 - m11) / 2.0
                        root = math.sqrt(m01 * m01 + d * d)
                        a[i] = half + root
                        b[i] = half - root
                else:
                    for i in range(R):
                        x, y, z = eigen3(
                            np.float64(fields[src[0], plane, r, i]),
                            np.float64(fields[src[1], plane, r, i]),
                            np.float64(fields[src[2], plane, r, i]),
                            np.float64(fields[src[3], plane, r, i]),
                            np.float64(fields[src[4], plane, r, i]),
                            np.float64(fields[src[5], plane, r, i]),
                        )
                        a[i], b[i], c[i] = x, y, z
                store_row(out[dst[0], plane, y0 + rr], 0, a, R, rule, dcode)
                if op == EIGEN2 or op == EIGEN3:
                    store_row(out[dst[1], plane, y0 + rr], 0, b, R, rule, dcode)
                if op == EIGEN3:
                    store_row(out[dst[2], plane, y0 + rr], 0, c, R, rule, dcode)


def pointwise(
    fields: np.ndarray,
    out: np.ndarray,
    program: list[list[int]],
    y0: int = 0,
    *,
    rows: tuple[int, int] | None = None,
    workers: int | None = None,
) -> None:
    """Run ``program`` (rows of :func:`step`) on ``fields`` into rows ``y0 ..`` of ``out``.

    ``fields``: ``(F, B, rows, R)``, C-contiguous float32 or float64; ``rows``:
    ``(first, stop)``, the rows of ``fields`` to use (default all).
    ``out``: ``(K, B, H, R)``, C-contiguous and native (any real dtype, C cast
    on store as the engine stores).

    Examples
    --------
    >>> f = np.array([2.0, 1.0, 2.0]).reshape(3, 1, 1, 1)  # [[2, 1], [1, 2]]
    >>> out = np.empty((2, 1, 1, 1))
    >>> pointwise(f, out, [step(EIGEN2, [0, 1, 2], [0, 1])])
    >>> out.ravel().tolist()
    [3.0, 1.0]
    """
    F, B, total, R = fields.shape
    first, stop = (0, total) if rows is None else rows
    count = stop - first
    if count <= 0 or R == 0 or B == 0 or not program:
        return
    K, _, H, _ = out.shape
    nchunks = -(-count // _CHUNK)
    ints = np.array(
        [count, y0, store_code(out.dtype, True), dtype_code(out.dtype), nchunks, first], np.int64
    )
    prog = np.array(program, np.int64).reshape(-1, 11)
    raw = out.reshape(-1).view(np.uint8)
    shapes = (fields.shape, (K, B, H, R * out.itemsize))
    heavy = 60 if np.any(prog[:, 0] == EIGEN3) else 4
    work = B * count * R * len(program) * heavy
    launch(pointwise_rows, B * nchunks, fields, raw, shapes, (prog, ints), work, workers)
