"""Converting real architectures: weights, MACs, measured latency and error; digits accuracy.

Run from the repository root::

    python benchmarks/bench_convert.py            # 224^2, batch 1 and 8, threads 1 and all
    python benchmarks/bench_convert.py --quick    # two architectures at 96^2, batch 1, 1 thread

Writes ``benchmarks/results/convert.json`` / ``convert.md`` (``convert_quick.*`` with
``--quick``).

Architectures (random initialisation, built from their packages' configs, no download):
transformers' ResNet-50, ConvNeXt-T and MobileNetV2, efficientnet_pytorch's EfficientNet-B0.
For each input batch and thread count, interleaved timing (eval, ``torch.inference_mode``)
of three models:

* ``original``;
* ``weight-SVD``: every eligible convolution replaced by ``convert(..., depth_multiplier=1)``
  with weight-space SVD factors, whether or not that is faster;
* ``latency-aware``: ``convert(..., budget=Budget(speedup=1.5, batch_size=batch))`` with
  data-aware factors -- only layers measured faster on this machine are converted.

The per-layer output error is measured on calibration inputs.  There are no real ImageNet
images here, so the calibration inputs are white noise blurred by a 9x9 box filter (correlated
like natural images, but not natural images): the error column says how well each factorisation
keeps the layer's output on such inputs, not an ImageNet accuracy.  Random weights have flat
spectra, so weight-SVD errors are large; trained weights are far more compressible.

Digits: the capacity study's own conversion step (``run_study`` restricted to the width-16
standard network, seeds 0, 1, 2; seed 0 only with ``--quick``): depth multiplier 1 and 2 with
weight-space and data-aware (512 calibration images) factors, test accuracy right after
conversion and after the study's 100-step fine-tune (which distils the original network).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from _common import fmt_ms, loadavg, machine_info, markdown_table, measure, write_json

from sepconv.nn import Budget, convert, profile
from sepconv.study import summarise_conversion

RESULTS = Path(__file__).parent / "results"


def _resnet50() -> torch.nn.Module:
    from transformers import ResNetConfig, ResNetModel

    return ResNetModel(ResNetConfig())


def _convnext_tiny() -> torch.nn.Module:
    from transformers import ConvNextConfig, ConvNextModel

    return ConvNextModel(ConvNextConfig())


def _mobilenet_v2() -> torch.nn.Module:
    from transformers import MobileNetV2Config, MobileNetV2Model

    return MobileNetV2Model(MobileNetV2Config())


def _efficientnet_b0() -> torch.nn.Module:
    from efficientnet_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-b0", image_size=None)


#: In the order the full run measures them: the cheapest conversions first.
ARCHITECTURES = {
    "mobilenet-v2 (transformers)": _mobilenet_v2,
    "efficientnet-b0 (efficientnet_pytorch)": _efficientnet_b0,
    "convnext-tiny (transformers)": _convnext_tiny,
    "resnet50 (transformers)": _resnet50,
}
#: The capacity study's seeds: the digits rows are the study's own conversion step.
DIGITS_SEEDS = (0, 1, 2)
QUICK = ("resnet50 (transformers)", "efficientnet-b0 (efficientnet_pytorch)")


def calibration_images(n: int, size: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, size + 8, size + 8, generator=g)
    return F.avg_pool2d(x, 9, stride=1) * 3.0


def convert_arch(name: str, size: int, batches: list[int], threads: list[int]) -> dict[str, Any]:
    torch.manual_seed(0)
    model = ARCHITECTURES[name]().eval()
    calib = calibration_images(4, size)
    input_size = (3, size, size)
    t0 = time.perf_counter()
    svd, svd_report = convert(
        model, depth_multiplier=1, input_size=input_size, init="svd", calibration=calib
    )
    svd_s = time.perf_counter() - t0
    before = profile(model, input_size)
    record: dict[str, Any] = {
        "architecture": name,
        "input": list(input_size),
        "weights": before.params,
        "macs": before.multiplications,
        "weight_svd": {
            "weights": svd_report.model_params_after,
            "macs": svd_report.model_multiplications_after,
            "layers": len(svd_report.layers),
            "skipped": len(svd_report.skipped),
            "max_output_error": svd_report.max_output_error,
            "convert_s": svd_s,
            "per_layer": [
                {"name": lay.name, "rank": lay.rank, "output_error": lay.output_error}
                for lay in svd_report.layers
            ],
        },
        "runs": [],
    }
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for batch in batches:
            t0 = time.perf_counter()
            fast, fast_report = convert(
                model,
                input_size=input_size,
                calibration=calib,
                budget=Budget(speedup=1.5, batch_size=batch, repeats=5),
            )
            fast_s = time.perf_counter() - t0
            x = torch.randn(batch, *input_size)
            with torch.inference_mode():
                timings, _ = measure(
                    {
                        "original": lambda x=x: model(x),
                        "weight-SVD": lambda x=x: svd(x),
                        "latency-aware": lambda x=x, fast=fast: fast(x),
                    },
                    min_runs=5,
                    min_time=1.0,
                    max_time=6.0,
                    # A first call over a second would count as a sample; after a
                    # thread-count change it also sets up the thread pool and oneDNN's
                    # primitives (an earlier run timed ConvNeXt-T's original at 2 threads,
                    # batch 1, at 1.6 s against 0.76 s for its unchanged copy): warm-up only.
                    jit=("original", "weight-SVD", "latency-aware"),
                )
            record["runs"].append(
                {
                    "threads": n_threads,
                    "batch": batch,
                    "original_s": timings["original"].median_s,
                    "weight_svd_s": timings["weight-SVD"].median_s,
                    "latency_aware_s": timings["latency-aware"].median_s,
                    "latency_aware": {
                        "converted": len(fast_report.layers),
                        "kept": len(fast_report.skipped),
                        "macs": fast_report.model_multiplications_after,
                        "max_output_error": fast_report.max_output_error,
                        "measured_in_separate_s": [
                            fast_report.latency_before,
                            fast_report.latency_after,
                        ],
                        "convert_s": fast_s,
                        "per_layer": [
                            {
                                "name": lay.name,
                                "rank": lay.rank,
                                "output_error": lay.output_error,
                                "latency_before_s": lay.latency_before,
                                "latency_after_s": lay.latency_after,
                            }
                            for lay in fast_report.layers
                        ],
                    },
                    "loadavg": loadavg(),
                }
            )
            print(
                f"{name} t={n_threads} b={batch}: original "
                f"{fmt_ms(timings['original'].median_s)}, weight-SVD "
                f"{fmt_ms(timings['weight-SVD'].median_s)}, latency-aware "
                f"{fmt_ms(timings['latency-aware'].median_s)} "
                f"({len(fast_report.layers)} layers converted)",
                flush=True,
            )
    return record


def digits(
    multipliers: tuple[int, ...], seeds: tuple[int, ...]
) -> tuple[list[dict[str, Any]], str]:
    """The capacity study's conversion step itself, run for the width-16 standard network."""
    import dataclasses
    import tempfile

    from sepconv.study import StudyConfig, run_study

    config = dataclasses.replace(
        StudyConfig.full(),
        families=("standard",),
        widths=(16,),
        seeds=seeds,
        convert_multipliers=multipliers,
        convert_ranks=(),
        convert_seeds=len(seeds),
    )
    with tempfile.TemporaryDirectory() as out:
        result = run_study(config, out)
    rows = [r for r in result.conversion_runs if r["init"] in ("svd", "data")]
    for r in rows:
        print(
            f"digits x{r['setting']} {r['init']} seed {r['seed']}: {r['acc_before']:.1f} -> "
            f"{r['acc_converted']:.1f} -> {r['acc_finetuned']:.1f}",
            flush=True,
        )
    described = (
        f"{config.steps} training steps, fine-tune {config.finetune_steps} steps at lr "
        f"{config.finetune_lr:g}, distilling at T = {config.finetune_temperature}"
    )
    return rows, described


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "# Converting real architectures (random weights)",
        "",
        f"{data['machine']['cpu']}, {data['machine']['logical_cpus']} logical CPUs, "
        f"{data['machine']['date']}; mode {data['mode']}"
        + ("." if data.get("complete", True) else " (incomplete: interrupted or running)."),
        "",
    ]
    rows = []
    for arch in data["architectures"]:
        for run in arch["runs"]:
            la = run["latency_aware"]
            rows.append(
                (
                    arch["architecture"],
                    run["threads"],
                    run["batch"],
                    f"{arch['weights']:,} / {arch['weight_svd']['weights']:,}",
                    f"{arch['macs'] / 1e6:,.0f} / {arch['weight_svd']['macs'] / 1e6:,.0f} / "
                    f"{la['macs'] / 1e6:,.0f}",
                    fmt_ms(run["original_s"]),
                    f"{fmt_ms(run['weight_svd_s'])} "
                    f"({run['original_s'] / run['weight_svd_s']:.2f}x)",
                    f"{fmt_ms(run['latency_aware_s'])} "
                    f"({run['original_s'] / run['latency_aware_s']:.2f}x)",
                    f"{la['converted']} / {arch['weight_svd']['layers']}",
                    f"{arch['weight_svd']['max_output_error']:.2f} / "
                    + ("-" if la["max_output_error"] is None else f"{la['max_output_error']:.2f}"),
                )
            )
    lines.append(
        markdown_table(
            (
                "architecture",
                "threads",
                "batch",
                "weights orig / SVD",
                "MMACs orig / SVD / aware",
                "original",
                "weight-SVD",
                "latency-aware",
                "layers aware / SVD",
                "max output err SVD / aware",
            ),
            rows,
        )
    )
    lines += ["", "## Per-layer output error", ""]
    lines.append(
        "Relative output error `||y - y_hat|| / ||y||` of each converted layer on the "
        "calibration inputs, as the converted model runs them: weight-SVD at depth "
        "multiplier 1, and the layers the latency-aware conversion chose (its rank and "
        "the layer's measured time before / after) at each thread count and batch. "
        "The errors are in-sample: measured on the calibration inputs the data-aware "
        "factors were fitted to. Where a layer sees fewer calibration positions than its "
        "C*kh*kw inputs (ResNet-50's last stage: 4 images x 7^2 positions at 224^2 against "
        "512*9 = 4,608), the fit is underdetermined and a small error there says nothing "
        "about other inputs."
    )
    for arch in data["architectures"]:
        chosen: dict[str, list[str]] = {}
        for run in arch["runs"]:
            for lay in run["latency_aware"]["per_layer"]:
                err = "-" if lay["output_error"] is None else f"{lay['output_error']:.3f}"
                chosen.setdefault(lay["name"], []).append(
                    f"t{run['threads']} b{run['batch']}: x{lay['rank']}, {err}, "
                    f"{fmt_ms(lay['latency_before_s'])} -> {fmt_ms(lay['latency_after_s'])} ms"
                )
        rows = [
            (
                lay["name"],
                "-" if lay["output_error"] is None else f"{lay['output_error']:.3f}",
                "; ".join(chosen.get(lay["name"], [])) or "kept",
            )
            for lay in arch["weight_svd"]["per_layer"]
        ]
        lines += [
            "",
            f"**{arch['architecture']}** ({arch['weight_svd']['layers']} layers converted, "
            f"{arch['weight_svd']['skipped']} left as they are)",
            "",
            markdown_table(("layer", "weight-SVD x1", "latency-aware"), rows),
        ]
    lines += [
        "",
        "## Digits, width-16 standard network, depthwise conversion",
        "",
        "The capacity study's conversion step (`sepconv.study.run_study`, its configuration "
        f"{data['digits_config']}); mean ± std over seeds {data['digits_seeds']}, and each "
        "seed's fine-tuned accuracy.",
        "",
        markdown_table(
            (
                "multiplier",
                "factors",
                "before %",
                "right after %",
                "fine-tuned %",
                "fine-tuned per seed",
            ),
            [
                (
                    r["setting"],
                    "weight-space SVD" if r["init"] == "svd" else "data-aware",
                    f"{r['acc_before_mean']:.1f}",
                    f"{r['acc_converted_mean']:.1f} ± {r['acc_converted_std']:.1f}",
                    f"{r['acc_finetuned_mean']:.1f} ± {r['acc_finetuned_std']:.1f}",
                    " / ".join(
                        f"{d['acc_finetuned']:.1f}"
                        for d in data["digits"]
                        if (d["setting"], d["init"]) == (r["setting"], r["init"])
                    ),
                )
                for r in summarise_conversion(data["digits"])
            ],
        ),
        "",
    ]
    return "\n".join(lines)


def _write(stem: str, data: dict[str, Any]) -> None:
    write_json(RESULTS / f"{stem}.json", data)
    (RESULTS / f"{stem}.md").write_text(markdown(data))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one configuration")
    args = parser.parse_args(argv)
    if args.quick:
        names, size, batches, threads = QUICK, 96, [1], [1]
    else:
        names, size, batches = list(ARCHITECTURES), 224, [1, 8]
        threads = sorted({1, os.cpu_count() or 1})
    machine = machine_info()
    seeds = DIGITS_SEEDS[:1] if args.quick else DIGITS_SEEDS
    stem = "convert_quick" if args.quick else "convert"
    # Digits first (deterministic, load-independent), then the architectures, cheapest
    # first; the files are rewritten after each step, so an interrupted run keeps its rows.
    digit_rows, digits_config = digits((1, 2), seeds)
    data: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "complete": False,
        "machine": machine,
        "architectures": [],
        "digits": digit_rows,
        "digits_config": digits_config,
        "digits_seeds": list(seeds),
    }
    old_threads = torch.get_num_threads()
    try:
        for name in names:
            _write(stem, data)
            data["architectures"].append(convert_arch(name, size, batches, threads))
    finally:
        torch.set_num_threads(old_threads)
    data["complete"] = True
    data["loadavg_end"] = loadavg()
    _write(stem, data)
    print(f"wrote {RESULTS / stem}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
