"""Report section: which kernels of the library separate, and into what."""

from __future__ import annotations

from .._kernelspec import parse_kernel_spec
from ..analysis import analyze
from ..plot._analysis import SPECTRA_KERNELS
from . import Context, Section
from ._html import escape, table

#: The built-in kernel set (specs in the syntax ``sepconv analyze`` takes): the same kernels
#: whose singular values the "figures" section draws, so the page counts one set.
KERNEL_SPECS = SPECTRA_KERNELS


def build(ctx: Context) -> Section:
    rows, data = [], {}
    for spec in KERNEL_SPECS:
        kernel = parse_kernel_spec(spec)
        result = analyze(kernel)
        data[spec] = result.to_dict()
        sep = result.separation
        if sep is None:
            factors = "-"
        elif sep.exact and sep.factors[0].dtype.kind == "i":
            factors = " x ".join(str(f.tolist()) for f in sep.factors)
        else:
            factors = f"float factors, rel. error {sep.error:.1e}"
        rows.append(
            [
                spec,
                "x".join(map(str, kernel.shape)),
                result.rank,
                "yes" if sep else "no",
                factors,
                f"{result.rank1_error:.3g}",
                result.break_even_rank,
            ]
        )
        ctx.progress(f"  analysed {spec}: rank {result.rank}")
    html = (
        "<p>Every kernel of <code>sepconv.kernels</code> analysed by "
        "<code>sepconv.analyze</code>: its rank (how many separable terms it needs), exact "
        "factors when it separates (integer factors for integer kernels, verified in integer "
        "arithmetic), the relative error of the best separable approximation, and up to which "
        "rank a sum of separable passes still beats the dense kernel.</p>"
        + table(
            ["kernel", "shape", "rank", "separable", "factors", "rank-1 error", "break-even rank"],
            rows,
        )
        + "<p>Reproduce a row: <code>sepconv analyze "
        + escape(KERNEL_SPECS[0])
        + "</code></p>"
    )
    n_sep = sum(1 for spec in KERNEL_SPECS if data[spec]["separable"])
    return Section(
        title="Which kernels separate",
        html=html,
        data={"kernels": data},
        summary=[
            (
                "kernels that separate",
                f"{n_sep} of {len(KERNEL_SPECS)}",
                "each runs as 1-D passes, one per axis, with the factors sepconv finds",
            )
        ],
    )


__all__ = ["KERNEL_SPECS", "build"]
