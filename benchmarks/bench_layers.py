"""Standard ``nn.Conv2d`` against ``sepconv.nn.DepthwiseSeparableConv2d`` on MobileNet shapes.

Run from the repository root::

    python benchmarks/bench_layers.py            # full run, about 3-4 minutes
    python benchmarks/bench_layers.py --quick    # two small layers, under a minute

The full run writes ``benchmarks/results/layers.json`` and ``layers.md``;
``--quick`` writes ``layers_quick.*``.

``--inference`` times the inference path instead (``layers_inference*``):
channels-last, eval, ``torch.inference_mode``, per layer the dense
``nn.Conv2d``, the separable layer on each of its inference arms forced
(``plain`` = today's code, ``strips``, ``fused``; see
``sepconv/nn/_inference.py``), the separable layer as shipped (the measured
choice, after its trial calls) and the depthwise and pointwise steps alone,
all interleaved.  Efficiency = (conv / separable, wall medians) / MAC ratio;
the "pointwise-only bound" is the efficiency the layer would reach if its
depthwise step took no time at all (conv / pointwise step / MAC ratio)::

    python benchmarks/bench_layers.py --inference --threads 1 [--quick]

``--train`` times training steps instead (``layers_train*``), 1 and 2 threads,
contiguous and channels-last, each step = forward + backward of a fixed output
gradient (weights and input gradients)::

    python benchmarks/bench_layers.py --train [--quick | --shapes issue]

per layer (issue 25's four shapes and 512->512 @ 7^2 k=3 at batch 8 and 32, the
depthwise layers of MobileNetV2 and EfficientNet-B0 at 224^2 at batch 8, each with the
pointwise projection that follows it): the dense ``nn.Conv2d``,
``DepthwiseSeparableConv2d`` as shipped (its depthwise step on sepconv's kernels where
they measured faster) and with PyTorch's depthwise kernels forced, and the depthwise
step alone (forward, forward + backward) shipped and on PyTorch's kernels, all
interleaved after the measured choice's trial calls; then a MobileNetV2 built from its
transformers config, 224^2, batch 8, training step with its depthwise ``nn.Conv2d``
layers swapped for ``sepconv.nn.DepthwiseConv2d`` (same weights) against the original.
``--shapes issue`` keeps only issue 25's five shapes (both layouts, batch 8 and 32,
1 and 2 threads; no architecture layers, no network: ``layers_train_issue*``), a run
of minutes instead of the full one's ten.
``--study`` runs the capacity study's training with PyTorch's depthwise kernels and
with sepconv's (``layers_study*``).

What is timed: for each MobileNet-like layer (32->64 at 112^2, 64->128 at 56^2,
128->128 at 28^2, 256->256 at 14^2; kernel 3 and 5; stride 1, "same" zero padding,
no bias; batch 8, float32) a standard ``nn.Conv2d`` and a
``DepthwiseSeparableConv2d`` with nothing between the steps (Xception style), in
NCHW and channels-last memory format, forward only (``torch.inference_mode``) and
forward + backward (gradients of the input and the weights, a fixed output
gradient).  Calls are interleaved (conv, separable, conv, ...) after a warm-up.

Each call records wall-clock time and this process's CPU time.  On a shared,
oversubscribed machine a long call (the dense conv, ~100 ms) is always
preempted while a short one (the separable layer, ~2 ms) often runs
undisturbed, so wall-clock ratios -- medians and best runs alike -- flatter the
short call.  CPU time counts only the time our threads ran, so its ratio is the
one least distorted by other processes (it still includes OpenMP spin-waiting).
All three are reported; the efficiency column is ``speed-up / MAC ratio`` from
wall-clock medians, where the MAC ratio is counted by ``sepconv.profile``.

On an oversubscribed machine two intra-op threads are worse still: every
OpenMP barrier waits for the partner thread's next time slice, so a 1 ms layer
can take 60 ms.  ``--threads 1`` measures the single-thread kernels instead
(written to ``layers_1thread.*``).

The depthwise step does ``kh*kw`` MACs per value it reads and writes, so on a
CPU it is limited by memory bandwidth long before the arithmetic units; its
share of the separable layer's time (forward, each step timed alone) is
reported too.

Threads: ``torch.set_num_threads(2)`` unless ``--threads`` says otherwise.  The
load average is recorded.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from _common import fmt_ms, loadavg, machine_info, markdown_table, write_json

from sepconv.nn import DepthwiseConv2d, DepthwiseSeparableConv2d, profile
from sepconv.nn import _depthwise as depthwise
from sepconv.nn import _inference as inference

LAYERS = [(32, 64, 112), (64, 128, 56), (128, 128, 28), (256, 256, 14)]
QUICK_LAYERS = [(32, 64, 28), (128, 128, 14)]
KERNELS = (3, 5)
BATCH = 8
# Issue 13's goal for the inference path: this share of the MAC ratio, channels-last.
INFERENCE_TARGET = 0.70
RESULTS = Path(__file__).parent / "results"


def _pair(c_in: int, c_out: int, k: int) -> tuple[torch.nn.Module, DepthwiseSeparableConv2d]:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)
    sep = DepthwiseSeparableConv2d(c_in, c_out, k, padding=k // 2, bias=False)
    return conv, sep


def _forward(module: torch.nn.Module, x: torch.Tensor):
    def run() -> None:
        with torch.inference_mode():
            module(x)

    return run


def _forward_backward(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor):
    x = x.detach().requires_grad_(True)

    def run() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(grad)

    return run


def _time(
    funcs: dict[str, Any], budget: float, min_rounds: int = 5, settle: bool = False
) -> dict[str, dict]:
    """Interleaved calls after two warm-ups; wall-clock and process CPU seconds per call.

    ``settle``: each timed call follows an untimed call of the same function,
    which absorbs the hand-over between thread pools (the engine's workers
    polling after a strip arm, PyTorch's OpenMP workers after a plain one);
    without it the arm timed next pays for the previous one's threads.
    """
    for fn in funcs.values():
        fn()
        fn()
    samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in funcs}
    start = time.perf_counter()
    rounds = 0
    while rounds < min_rounds or (time.perf_counter() - start < budget and rounds < 200):
        for name, fn in funcs.items():
            if settle:
                fn()
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            t1, c1 = time.perf_counter(), time.process_time()
            samples[name]["wall"].append(t1 - t0)
            samples[name]["cpu"].append(c1 - c0)
        rounds += 1
    return {
        name: {
            "wall_median_s": statistics.median(s["wall"]),
            "wall_min_s": min(s["wall"]),
            "cpu_median_s": statistics.median(s["cpu"]),
            "runs": len(s["wall"]),
            "wall_s": [round(v, 6) for v in s["wall"]],
            "cpu_s": [round(v, 6) for v in s["cpu"]],
        }
        for name, s in samples.items()
    }


def bench_layer(c_in: int, c_out: int, size: int, k: int, budget: float) -> list[dict[str, Any]]:
    conv, sep = _pair(c_in, c_out, k)
    input_size = (c_in, size, size)
    macs_conv = profile(conv, input_size, batch_size=BATCH).multiplications
    macs_sep = profile(sep, input_size, batch_size=BATCH).multiplications
    rows = []
    for layout in ("NCHW", "channels_last"):
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        conv_l, sep_l = conv.to(memory_format=fmt), sep.to(memory_format=fmt)
        x = torch.randn(BATCH, *input_size).contiguous(memory_format=fmt)
        grad = torch.randn(BATCH, c_out, size, size).contiguous(memory_format=fmt)
        mid = sep_l.depthwise(x).detach()
        for pass_name in ("forward", "forward+backward"):
            if pass_name == "forward":
                funcs = {
                    "conv": _forward(conv_l, x),
                    "separable": _forward(sep_l, x),
                    "depthwise step": _forward(sep_l.depthwise, x),
                    "pointwise step": _forward(sep_l.pointwise, mid),
                }
            else:
                funcs = {
                    "conv": _forward_backward(conv_l, x, grad),
                    "separable": _forward_backward(sep_l, x, grad),
                }
            t = _time(funcs, budget)
            conv_t, sep_t = t["conv"], t["separable"]
            theory = macs_conv / macs_sep
            row = {
                "layer": f"{c_in}->{c_out} @ {size}^2",
                "kernel": k,
                "layout": layout,
                "pass": pass_name,
                "batch": BATCH,
                "macs_conv": macs_conv,
                "macs_separable": macs_sep,
                "mac_ratio": theory,
                "conv_s": conv_t["wall_median_s"],
                "separable_s": sep_t["wall_median_s"],
                "speedup_wall_median": conv_t["wall_median_s"] / sep_t["wall_median_s"],
                "speedup_wall_best": conv_t["wall_min_s"] / sep_t["wall_min_s"],
                "speedup_cpu": conv_t["cpu_median_s"] / sep_t["cpu_median_s"],
                "conv_gmacs_per_cpu_s": macs_conv / conv_t["cpu_median_s"] / 1e9,
                "separable_gmacs_per_cpu_s": macs_sep / sep_t["cpu_median_s"] / 1e9,
                "timings": t,
            }
            row["efficiency"] = row["speedup_wall_median"] / theory
            if pass_name == "forward":
                t_dw = t["depthwise step"]["cpu_median_s"]
                row["depthwise_step_cpu_s"] = t_dw
                row["pointwise_step_cpu_s"] = t["pointwise step"]["cpu_median_s"]
                row["depthwise_share"] = t_dw / (t_dw + row["pointwise_step_cpu_s"])
                # Throughput of each step alone: how far each is from the dense conv's.
                pixels = BATCH * size * size
                row["gmacs_per_s"] = {
                    "conv": macs_conv / conv_t["cpu_median_s"] / 1e9,
                    "depthwise step": pixels * c_in * k * k / t_dw / 1e9,
                    "pointwise step": pixels * c_in * c_out / row["pointwise_step_cpu_s"] / 1e9,
                }
                row["depthwise_step_gb_per_s"] = 2 * pixels * c_in * 4 / t_dw / 1e9
            rows.append(row)
            print(
                f"{row['layer']:>18} k={k} {layout:>13} {pass_name:>16}: conv "
                f"{fmt_ms(row['conv_s']):>6} ms, separable {fmt_ms(row['separable_s']):>6} ms; "
                f"speed-up wall {row['speedup_wall_median']:5.2f}x, best "
                f"{row['speedup_wall_best']:5.2f}x, CPU {row['speedup_cpu']:5.2f}x of "
                f"{theory:5.2f}x ({100 * row['efficiency']:.0f}%)",
                flush=True,
            )
    return rows


def _forced(module: torch.nn.Module, x: torch.Tensor, arm: str | None):
    def run() -> None:
        with torch.inference_mode(), inference.forced(arm):
            module(x)

    return run


def bench_inference(c_in: int, c_out: int, size: int, k: int, budget: float) -> dict[str, Any]:
    """One layer's inference arms side by side, channels-last, eval, inference mode."""
    conv, sep = _pair(c_in, c_out, k)
    fmt = torch.channels_last
    conv, sep = conv.to(memory_format=fmt).eval(), sep.to(memory_format=fmt).eval()
    input_size = (c_in, size, size)
    macs_conv = profile(conv, input_size, batch_size=BATCH).multiplications
    macs_sep = profile(sep, input_size, batch_size=BATCH).multiplications
    x = torch.randn(BATCH, *input_size).contiguous(memory_format=fmt)
    with torch.inference_mode():
        mid = sep.depthwise(x)
        for _ in range(3 * len(inference.ARMS) * (inference.ROUNDS + 1)):
            sep(x)  # the measured choice's trial calls, before timing
    chosen = inference.chosen_arm(sep, x)
    funcs = {
        "conv": _forward(conv, x),
        **{f"separable {arm}": _forced(sep, x, arm) for arm in inference.ARMS},
        "separable (shipped)": _forced(sep, x, None),
        "depthwise step": _forward(sep.depthwise, x),
        "pointwise step": _forward(sep.pointwise, mid),
    }
    t = _time(funcs, budget, settle=True)
    ratio = macs_conv / macs_sep
    conv_s = t["conv"]["wall_median_s"]
    row: dict[str, Any] = {
        "layer": f"{c_in}->{c_out} @ {size}^2",
        "kernel": k,
        "layout": "channels_last",
        "pass": "forward (inference)",
        "batch": BATCH,
        "threads": torch.get_num_threads(),
        "macs_conv": macs_conv,
        "macs_separable": macs_sep,
        "mac_ratio": ratio,
        "conv_s": conv_s,
        "chosen_arm": chosen,
        "timings": t,
    }
    for name in [*(f"separable {a}" for a in inference.ARMS), "separable (shipped)"]:
        sec = t[name]["wall_median_s"]
        row[f"{name} s"] = sec
        row[f"{name} efficiency"] = conv_s / sec / ratio
    row["depthwise_step_s"] = t["depthwise step"]["wall_median_s"]
    row["pointwise_step_s"] = t["pointwise step"]["wall_median_s"]
    row["pointwise_only_bound"] = conv_s / row["pointwise_step_s"] / ratio
    pixels = BATCH * size * size
    row["gmacs_per_s"] = {
        "conv": macs_conv / conv_s / 1e9,
        "depthwise step": pixels * c_in * k * k / row["depthwise_step_s"] / 1e9,
        "pointwise step": pixels * c_in * c_out / row["pointwise_step_s"] / 1e9,
    }
    row["meets_target"] = row["separable (shipped) efficiency"] >= INFERENCE_TARGET
    print(
        f"{row['layer']:>18} k={k} threads {row['threads']}: conv {fmt_ms(conv_s):>6} ms; "
        + ", ".join(
            f"{a} {fmt_ms(row[f'separable {a} s'])} ms "
            f"({100 * row[f'separable {a} efficiency']:.0f}%)"
            for a in inference.ARMS
        )
        + f"; shipped {100 * row['separable (shipped) efficiency']:.0f}% ({row['chosen_arm']})",
        flush=True,
    )
    return row


def render_inference_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    headers = [
        "layer",
        "k",
        "conv ms",
        "plain ms",
        "strips ms",
        "fused ms",
        "shipped ms",
        "chosen",
        "MAC ratio",
        "plain eff.",
        "strips eff.",
        "fused eff.",
        "shipped eff.",
        "pointwise-only bound",
        "depthwise ms",
        "pointwise ms",
    ]

    def pct(v: float) -> str:
        return f"{100 * v:.0f}%"

    body = [
        [
            r["layer"],
            r["kernel"],
            fmt_ms(r["conv_s"]),
            fmt_ms(r["separable plain s"]),
            fmt_ms(r["separable strips s"]),
            fmt_ms(r["separable fused s"]),
            fmt_ms(r["separable (shipped) s"]),
            r["chosen_arm"] or "",
            f"{r['mac_ratio']:.2f}x",
            pct(r["separable plain efficiency"]),
            pct(r["separable strips efficiency"]),
            pct(r["separable fused efficiency"]),
            pct(r["separable (shipped) efficiency"]),
            pct(r["pointwise_only_bound"]),
            fmt_ms(r["depthwise_step_s"]),
            fmt_ms(r["pointwise_step_s"]),
        ]
        for r in rows
    ]
    met = [f"{r['layer']} k={r['kernel']}" for r in rows if r["meets_target"]]

    def why(r: dict[str, Any]) -> str:
        if r["meets_target"]:
            return "met"
        rates = r["gmacs_per_s"]
        if r["pointwise_only_bound"] < INFERENCE_TARGET:
            return (
                f"the pointwise step alone ({rates['pointwise step']:.0f} GMAC/s against the "
                f"conv's {rates['conv']:.0f}) caps it at {pct(r['pointwise_only_bound'])}"
            )
        return (
            f"the pointwise step alone would allow {pct(r['pointwise_only_bound'])}; the "
            f"depthwise step ({rates['depthwise step']:.0f} GMAC/s, "
            f"{fmt_ms(r['depthwise_step_s'])} ms alone) takes the rest"
        )

    why_table = markdown_table(
        ["layer", "k", "conv GMAC/s", "depthwise GMAC/s", "pointwise GMAC/s", "why not 70%"],
        [
            [
                r["layer"],
                r["kernel"],
                f"{r['gmacs_per_s']['conv']:.1f}",
                f"{r['gmacs_per_s']['depthwise step']:.1f}",
                f"{r['gmacs_per_s']['pointwise step']:.1f}",
                why(r),
            ]
            for r in rows
        ],
    )
    versions = meta["versions"]
    return (
        "# DepthwiseSeparableConv2d inference path vs nn.Conv2d "
        "(batch 8, float32, channels-last, CPU)\n\n"
        f"{meta['cpu']}, {meta['torch_threads']} PyTorch threads, torch {versions['torch']}; "
        f"load average {meta['loadavg_start']} -> {meta['loadavg_end']}; {meta['date']}.\n\n"
        "Eval mode, `torch.inference_mode()`, forward only; wall-clock medians of interleaved "
        "calls, each after one untimed call of the same contender (thread pools handed over). "
        "Arms: plain = today's code (oneDNN depthwise + 1x1 convolutions), strips = the "
        "same depthwise step then the pointwise step as MKL sgemm over L2-sized strips of "
        "pixels, fused = a Numba depthwise kernel writing each strip of output rows into an "
        "L2-resident buffer fed straight to sgemm; shipped = the layer as called, on the arm "
        "its measured choice kept (chosen). Efficiency = (conv / separable) / MAC ratio. "
        "Pointwise-only bound = conv / pointwise step alone / MAC ratio: the efficiency if the "
        "depthwise step cost nothing.\n\n"
        + markdown_table(headers, body)
        + f"\n\nRows whose shipped layer reaches {pct(INFERENCE_TARGET)} of the MAC ratio: "
        f"{len(met)} of {len(rows)}"
        + (f" ({', '.join(met)})" if met else "")
        + ".\n\nWhere the time goes: each step alone (wall medians, the plain PyTorch "
        "modules), in multiply-accumulates per second.\n\n" + why_table + "\n"
    )


# ----------------------------------------------------------------------------- --train

# (c_in, c_out, size, k, stride): issue 25's shapes and 512 -> 512 @ 7^2 ...
TRAIN_ISSUE = [
    (32, 64, 112, 3, 1),
    (128, 128, 28, 3, 1),
    (256, 256, 14, 3, 1),
    (64, 64, 56, 5, 1),
    (512, 512, 7, 3, 1),
]
# ... each depthwise layer of MobileNetV2 (Sandler et al. 2018, table 2) and EfficientNet-B0
# (Tan & Le 2019, table 1) at 224^2 with the 1x1 projection after it (checked against
# transformers' MobileNetV2 and efficientnet_pytorch's B0 by forward hooks).
TRAIN_MOBILENET_V2 = [
    (32, 16, 112, 3, 1),
    (96, 24, 112, 3, 2),
    (144, 24, 56, 3, 1),
    (144, 32, 56, 3, 2),
    (192, 32, 28, 3, 1),
    (192, 64, 28, 3, 2),
    (384, 64, 14, 3, 1),
    (384, 96, 14, 3, 1),
    (576, 96, 14, 3, 1),
    (576, 160, 14, 3, 2),
    (960, 160, 7, 3, 1),
    (960, 320, 7, 3, 1),
]
TRAIN_EFFICIENTNET_B0 = [  # without the three it shares with MobileNetV2
    (144, 40, 56, 5, 2),
    (240, 40, 28, 5, 1),
    (240, 80, 28, 3, 2),
    (480, 80, 14, 3, 1),
    (480, 112, 14, 5, 1),
    (672, 112, 14, 5, 1),
    (672, 192, 14, 5, 2),
    (1152, 192, 7, 5, 1),
    (1152, 320, 7, 3, 1),
]
TRAIN_QUICK = [(32, 64, 28, 3, 1), (64, 64, 14, 5, 1), (96, 24, 28, 3, 2)]
# Issue 25's targets.
TRAIN_STEP_RATIO = 3.0  # depthwise step forward + backward <= 3x its forward
TRAIN_EFFICIENCY = 0.5  # separable training step >= 50 % of the MAC ratio
NETWORK_SPEEDUP = 1.5  # MobileNetV2 training step with sepconv's kernels


def _train_layers(quick: bool, shapes: str = "all") -> list[tuple[str, tuple[int, ...]]]:
    if quick:
        return [("quick", spec) for spec in TRAIN_QUICK]
    if shapes == "issue":
        return [("issue 25", spec) for spec in TRAIN_ISSUE]
    return (
        [("issue 25", spec) for spec in TRAIN_ISSUE]
        + [("MobileNetV2", spec) for spec in TRAIN_MOBILENET_V2]
        + [("EfficientNet-B0", spec) for spec in TRAIN_EFFICIENTNET_B0]
    )


def _step(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor, arm: str | None = None):
    """Forward + backward with a fixed output gradient; ``arm`` forces the depthwise kernels."""
    x = x.detach().requires_grad_(True)

    def run() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        with depthwise.forced(arm):
            module(x).backward(grad)

    return run


def _forward_only(module: torch.nn.Module, x: torch.Tensor, arm: str | None = None):
    def run() -> None:
        with torch.no_grad(), depthwise.forced(arm):
            module(x)

    return run


def bench_train(
    family: str, spec: tuple[int, ...], batch: int, layout: str, budget: float
) -> dict[str, Any]:
    """One layer's training step: dense conv, separable shipped / PyTorch depthwise, dw alone."""
    c_in, c_out, size, k, stride = spec
    torch.manual_seed(0)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    conv = torch.nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False).to(memory_format=fmt)
    sep = DepthwiseSeparableConv2d(c_in, c_out, k, stride, k // 2, bias=False)
    sep = sep.to(memory_format=fmt)
    dw = sep.depthwise
    x = torch.randn(batch, c_in, size, size).contiguous(memory_format=fmt)
    out = (size - 1) // stride + 1
    grad = torch.randn(batch, c_out, out, out).contiguous(memory_format=fmt)
    grad_dw = torch.randn(batch, c_in, out, out).contiguous(memory_format=fmt)
    # The measured choice's trial calls (forward and backward keys) before timing.
    trial = 2 * (inference.ROUNDS + 1) + 1
    for _ in range(trial):
        _step(sep, x, grad)()
    xg = x.detach().requires_grad_(True)
    arms = depthwise.chosen(xg, dw.weight, None, dw.stride, dw.padding, dw.dilation, 2)
    funcs = {
        "conv step": _step(conv, x, grad),
        "separable step": _step(sep, x, grad),
        "separable step, PyTorch depthwise": _step(sep, x, grad, "plain"),
        "dw forward": _forward_only(dw, x),
        "dw step": _step(dw, x, grad_dw),
        "dw forward, PyTorch": _forward_only(dw, x, "plain"),
        "dw step, PyTorch": _step(dw, x, grad_dw, "plain"),
    }
    t = _time(funcs, budget, min_rounds=3)
    wall = {name: v["wall_median_s"] for name, v in t.items()}
    input_size = (c_in, size, size)
    macs_conv = profile(conv, input_size, batch_size=batch).multiplications
    macs_sep = profile(sep, input_size, batch_size=batch).multiplications
    ratio = macs_conv / macs_sep
    dw_macs = batch * c_in * out * out * k * k
    row: dict[str, Any] = {
        "family": family,
        "layer": f"{c_in}->{c_out} @ {size}^2",
        "kernel": k,
        "stride": stride,
        "layout": layout,
        "batch": batch,
        "threads": torch.get_num_threads(),
        "mac_ratio": ratio,
        "chosen": arms,
        "seconds": wall,
        "efficiency": wall["conv step"] / wall["separable step"] / ratio,
        "efficiency_pytorch_depthwise": (
            wall["conv step"] / wall["separable step, PyTorch depthwise"] / ratio
        ),
        "vs_pytorch_depthwise": wall["separable step, PyTorch depthwise"] / wall["separable step"],
        "dw_step_ratio": wall["dw step"] / wall["dw forward"],
        "dw_step_ratio_pytorch": wall["dw step, PyTorch"] / wall["dw forward, PyTorch"],
        "dw_gmacs_per_s": {
            name: 3 * dw_macs / wall[name] / 1e9 if "step" in name else dw_macs / wall[name] / 1e9
            for name in ("dw forward", "dw step", "dw forward, PyTorch", "dw step, PyTorch")
        },
        "timings": t,
    }
    print(
        f"{family:>15} {row['layer']:>17} k{k} s{stride} {layout:>13} b{batch} "
        f"t{row['threads']}: conv {fmt_ms(wall['conv step'])} sep {fmt_ms(wall['separable step'])}"
        f" (PyTorch dw {fmt_ms(wall['separable step, PyTorch depthwise'])}) ms, eff "
        f"{100 * row['efficiency']:.0f}% of {ratio:.1f}x; dw step/fwd {row['dw_step_ratio']:.1f}"
        f" (PyTorch {row['dw_step_ratio_pytorch']:.1f}); {arms}",
        flush=True,
    )
    return row


def _swap_depthwise(model: torch.nn.Module) -> int:
    """Replace every depthwise ``nn.Conv2d`` by ``sepconv.nn.DepthwiseConv2d`` (same weights)."""
    swapped = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is not torch.nn.Conv2d or child.groups != child.in_channels:
                continue
            if child.groups == 1 or child.out_channels % child.in_channels:
                continue
            layer = DepthwiseConv2d(
                child.in_channels,
                child.kernel_size,
                child.stride,
                child.padding,
                child.dilation,
                depth_multiplier=child.out_channels // child.in_channels,
                bias=child.bias is not None,
                padding_mode=child.padding_mode,
            )
            layer.load_state_dict(child.state_dict())
            setattr(parent, name, layer.to(memory_format=_format_of(child.weight)))
            swapped += 1
    return swapped


def _format_of(t: torch.Tensor) -> torch.memory_format:
    cl = t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()
    return torch.channels_last if cl else torch.contiguous_format


def bench_mobilenet_v2(layout: str, budget: float, size: int = 224) -> dict[str, Any]:
    """MobileNetV2 (transformers config, random weights) training step, batch 8."""
    from transformers import MobileNetV2Config, MobileNetV2ForImageClassification

    torch.manual_seed(0)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    original = MobileNetV2ForImageClassification(MobileNetV2Config()).to(memory_format=fmt)
    ours = copy.deepcopy(original)
    swapped = _swap_depthwise(ours)
    x = torch.randn(BATCH, 3, size, size).contiguous(memory_format=fmt)

    def step(model: torch.nn.Module):
        def run() -> None:
            model.zero_grad(set_to_none=True)
            model(pixel_values=x).logits.sum().backward()

        return run

    for _ in range(2 * (inference.ROUNDS + 1) + 1):  # the choice's trial calls
        step(ours)()
    # How long PyTorch's depthwise layers take inside the original's step (their share
    # bounds any speed-up from faster depthwise kernels).
    share = _depthwise_share(original, step(original))
    t = _time({"original": step(original), "sepconv depthwise": step(ours)}, budget, 3, True)
    wall = {name: v["wall_median_s"] for name, v in t.items()}
    row = {
        "network": "MobileNetV2 (transformers config)",
        "input": f"{BATCH}x3x{size}x{size}",
        "layout": layout,
        "threads": torch.get_num_threads(),
        "depthwise_layers": swapped,
        "seconds": wall,
        "speedup": wall["original"] / wall["sepconv depthwise"],
        "pytorch_depthwise_share": share,
        "bound": 1.0 / (1.0 - share) if share < 1 else float("inf"),
        "timings": t,
    }
    print(
        f"MobileNetV2 {layout} t{row['threads']}: original {fmt_ms(wall['original'])} ms, "
        f"sepconv depthwise {fmt_ms(wall['sepconv depthwise'])} ms ({row['speedup']:.2f}x; "
        f"PyTorch's depthwise layers {100 * share:.0f}% of the step, bound {row['bound']:.2f}x)",
        flush=True,
    )
    return row


def _depthwise_share(model: torch.nn.Module, run) -> float:
    """Share of one training step spent in the depthwise layers (forward and backward)."""
    spent = [0.0]
    marks: dict[int, float] = {}
    hooks = []
    for m in model.modules():
        if type(m) is torch.nn.Conv2d and m.groups == m.in_channels > 1:
            hooks += [
                m.register_forward_pre_hook(
                    lambda mod, i: marks.__setitem__(id(mod), time.perf_counter())
                ),
                m.register_forward_hook(
                    lambda mod, i, o: spent.__setitem__(
                        0, spent[0] + time.perf_counter() - marks[id(mod)]
                    )
                ),
                m.register_full_backward_pre_hook(
                    lambda mod, g: marks.__setitem__(-id(mod), time.perf_counter())
                ),
                m.register_full_backward_hook(
                    lambda mod, gi, go: spent.__setitem__(
                        0, spent[0] + time.perf_counter() - marks[-id(mod)]
                    )
                ),
            ]
    try:
        run()
        shares = []
        for _ in range(3):
            spent[0] = 0.0
            start = time.perf_counter()
            run()
            shares.append(spent[0] / (time.perf_counter() - start))
    finally:
        for h in hooks:
            h.remove()
    return statistics.median(shares)


def run_train(
    quick: bool, shapes: str = "all"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    budget = 0.2 if quick else 0.3
    rows, nets = [], []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for family, spec in _train_layers(quick, shapes):
            # Batch 32 for issue 25's shapes; the architectures' layers at batch 8.
            for batch in (8, 32) if family == "issue 25" else (8,):
                for layout in ("NCHW", "channels_last"):
                    rows.append(bench_train(family, spec, batch, layout, budget))
        for layout in ("NCHW", "channels_last") if shapes == "all" else ():
            nets.append(bench_mobilenet_v2(layout, 1.0 if quick else 4.0, 96 if quick else 224))
    return rows, nets


def render_train_markdown(rows: list[dict[str, Any]], nets: list[dict[str, Any]], meta) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.0f}%"

    def arm(a: str | None) -> str:
        return {"plain": "PyTorch", "sepconv": "sepconv"}.get(a, "-")

    body = []
    for r in rows:
        w = r["seconds"]
        body.append(
            [
                r["family"],
                r["layer"],
                f"{r['kernel']}/{r['stride']}",
                "CL" if r["layout"] == "channels_last" else "NCHW",
                r["batch"],
                r["threads"],
                fmt_ms(w["conv step"]),
                fmt_ms(w["separable step"]),
                fmt_ms(w["separable step, PyTorch depthwise"]),
                f"{r['mac_ratio']:.1f}x",
                pct(r["efficiency"]),
                pct(r["efficiency_pytorch_depthwise"]),
                f"{r['vs_pytorch_depthwise']:.2f}x",
                fmt_ms(w["dw forward"]),
                fmt_ms(w["dw step"]),
                f"{r['dw_step_ratio']:.1f}x",
                f"{r['dw_step_ratio_pytorch']:.1f}x",
                f"{arm(r['chosen']['forward'])} / {arm(r['chosen']['backward'])}",
            ]
        )
    headers = [
        "family",
        "layer",
        "k/s",
        "layout",
        "batch",
        "threads",
        "conv step ms",
        "separable step ms",
        "with PyTorch dw ms",
        "MAC ratio",
        "efficiency",
        "eff. PyTorch dw",
        "vs PyTorch dw",
        "dw fwd ms",
        "dw step ms",
        "dw step / fwd",
        "PyTorch dw step / fwd",
        "dw kernels fwd / bwd",
    ]
    n = len(rows)
    ratio_met = sum(r["dw_step_ratio"] <= TRAIN_STEP_RATIO for r in rows)
    eff_met = sum(r["efficiency"] >= TRAIN_EFFICIENCY for r in rows)
    not_slower = sum(r["vs_pytorch_depthwise"] >= 0.95 for r in rows)
    net_body = [
        [
            r["network"],
            r["input"],
            "CL" if r["layout"] == "channels_last" else "NCHW",
            r["threads"],
            fmt_ms(r["seconds"]["original"]),
            fmt_ms(r["seconds"]["sepconv depthwise"]),
            f"{r['speedup']:.2f}x",
            pct(r["pytorch_depthwise_share"]),
            f"{r['bound']:.2f}x",
        ]
        for r in nets
    ]
    network = _network_section(net_body)
    versions = meta["versions"]
    return (
        "# Training steps: nn.Conv2d vs DepthwiseSeparableConv2d, sepconv's depthwise kernels "
        "vs PyTorch's (float32, CPU)\n\n"
        f"{meta['cpu']}, torch {versions['torch']}, numba {versions['numba']}; load average "
        f"{meta['loadavg_start']} -> {meta['loadavg_end']}; {meta['date']}; {meta['seconds']} s."
        "\n\nOne step = forward + backward of a fixed output gradient (input and weight "
        "gradients); wall-clock medians of interleaved calls (at least 3 rounds), after the "
        "measured choice's trial calls. *separable step* = "
        "`DepthwiseSeparableConv2d` as shipped; *with PyTorch dw* = the same layer with PyTorch's "
        "depthwise kernels forced; efficiency = (conv step / separable step) / MAC ratio; "
        "*vs PyTorch dw* = (with PyTorch dw) / (shipped): above 1 is faster. *dw step / fwd* = "
        "the depthwise step alone, forward + backward over forward (shipped; PyTorch's "
        "beside it). *dw kernels* = the arms the measured choice kept (forward / backward). "
        "Padding k // 2, no bias.\n\n"
        + markdown_table(headers, body)
        + f"\n\nTargets (issue 25), over {n} rows: depthwise step forward + backward <= "
        f"{TRAIN_STEP_RATIO:.0f}x its forward: {ratio_met} of {n}; separable training step >= "
        f"{pct(TRAIN_EFFICIENCY)} of the MAC ratio: {eff_met} of {n}; never slower than with "
        f"PyTorch's depthwise kernels (within 5 %): {not_slower} of {n}.\n"
        + (network if nets else "")
    )


def _network_section(net_body: list[list[Any]]) -> str:
    return (
        "\n## MobileNetV2 training step\n\n"
        "Built from `transformers.MobileNetV2Config()` (random weights), logits summed and "
        "back-propagated; *sepconv depthwise* = every depthwise `nn.Conv2d` swapped for "
        "`sepconv.nn.DepthwiseConv2d` with the same weights. *PyTorch dw share* = the time "
        "the original's depthwise layers take inside its step (forward and backward hooks); "
        "*bound* = 1 / (1 - share), the speed-up if they cost nothing. Target: "
        f"{NETWORK_SPEEDUP}x.\n\n"
        + markdown_table(
            [
                "network",
                "input",
                "layout",
                "threads",
                "original ms",
                "sepconv depthwise ms",
                "speed-up",
                "PyTorch dw share",
                "bound",
            ],
            net_body,
        )
        + "\n"
    )


def run_study_timing(quick: bool) -> dict[str, Any]:
    """The capacity study's training with PyTorch's depthwise kernels, then with sepconv's.

    Fresh studies of the same configuration on this machine, alternated twice (the quick one,
    standard and depthwise families and the depthwise conversions; ``--quick``
    halves its steps): the first with PyTorch's kernels forced, the second as
    shipped (the study trains under ``torch.use_deterministic_algorithms``, where
    sepconv's kernels always run).  Per family and width: mean training time
    (``wall_s``: training and evaluation) and test accuracy over seeds; per run,
    the accuracy change.
    """
    import tempfile

    from sepconv.study import StudyConfig, run_study

    config = StudyConfig.quick().__class__(
        **{
            **StudyConfig.quick().to_dict(),
            "families": ("standard", "depthwise"),
            "convert_ranks": (),
            "steps": 75 if quick else 150,
            "finetune_steps": 25 if quick else 50,
        }
    )
    results: dict[str, dict[str, Any]] = {}
    for _ in range(2):  # alternated twice; each run's time is its faster one
        for name, arm in (("PyTorch kernels", "plain"), ("sepconv kernels", None)):
            with tempfile.TemporaryDirectory() as out, depthwise.forced(arm):
                start = time.perf_counter()
                result = run_study(config, out).to_dict()
                result["total_s"] = time.perf_counter() - start
            print(f"study with {name}: {result['total_s']:.1f} s", flush=True)
            results[name] = _faster(results.get(name), result)
    before, after = results["PyTorch kernels"], results["sepconv kernels"]
    rows = []
    for b, a in zip(before["summary"], after["summary"]):
        rows.append(
            {
                "family": b["family"],
                "width": b["width"],
                "wall_s_before": b["wall_s_mean"],
                "wall_s_after": a["wall_s_mean"],
                "test_acc_before": b["test_acc_mean"],
                "test_acc_after": a["test_acc_mean"],
            }
        )
    conv = []
    for b, a in zip(before["conversion"]["runs"], after["conversion"]["runs"]):
        conv.append(
            {
                "conversion": f"{b['kind']} x{b['setting']} {b['init']} seed {b['seed']}",
                "wall_s_before": b["wall_s"],
                "wall_s_after": a["wall_s"],
                "acc_before": b["acc_finetuned"],
                "acc_after": a["acc_finetuned"],
            }
        )
    diffs = [
        abs(x["test_acc"] - y["test_acc"])
        for x, y in zip(before["runs"], after["runs"])
        if x["family"] == "depthwise"
    ]
    return {
        "config": before["config"],
        "summary": rows,
        "conversions": conv,
        "total_s": {name: r["total_s"] for name, r in results.items()},
        "max_run_test_acc_change": max(diffs) if diffs else 0.0,
        "standard_runs_identical": all(
            x["test_acc"] == y["test_acc"] and x["test_loss"] == y["test_loss"]
            for x, y in zip(before["runs"], after["runs"])
            if x["family"] == "standard"
        ),
    }


def _faster(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with each time the lower of its own and ``old``'s (same study, run again)."""
    if old is None:
        return new
    for a, b in zip(
        new["runs"] + new["conversion"]["runs"], old["runs"] + old["conversion"]["runs"]
    ):
        assert (
            a["test_acc" if "test_acc" in a else "acc_finetuned"]
            == b["test_acc" if "test_acc" in b else "acc_finetuned"]
        ), "a study run again gave other results"
        a["wall_s"] = min(a["wall_s"], b["wall_s"])
    for row in new["summary"]:
        times = [
            r["wall_s"]
            for r in new["runs"]
            if r["family"] == row["family"] and r["width"] == row["width"]
        ]
        row["wall_s_mean"] = statistics.mean(times)
    new["total_s"] = min(new["total_s"], old["total_s"])
    return new


def render_study_markdown(study: dict[str, Any], meta: dict[str, Any]) -> str:
    c = study["config"]
    head = (
        "# The capacity study's training: PyTorch's depthwise kernels vs sepconv's\n\n"
        f"{meta['cpu']}, torch {meta['versions']['torch']}; load average "
        f"{meta['loadavg_start']} -> {meta['loadavg_end']}; {meta['date']}.\n\n"
        f"Fresh `run_study` runs, alternated twice (widths {c['widths']}, seeds "
        f"{c['seeds']}, {c['steps']} steps, batch {c['batch_size']}, {c['threads']} thread; "
        "standard and depthwise families, depthwise conversions fine-tuned "
        f"{c['finetune_steps']} steps): with PyTorch's depthwise kernels forced, and as "
        "shipped. Time = mean `wall_s` over seeds (training and evaluation), the lower of the "
        "two repetitions (each repetition reproduced its results bit for bit). Standard "
        "networks are the same in both (no depthwise layer): "
        + ("bit-identical results" if study["standard_runs_identical"] else "RESULTS DIFFER")
        + f"; largest change of one depthwise run's test accuracy: "
        f"{study['max_run_test_acc_change']:.2f} points (rounding differences grow over "
        "training).\n\n"
    )
    table = markdown_table(
        [
            "family",
            "width",
            "time before s",
            "time after s",
            "after / before",
            "test acc before",
            "test acc after",
        ],
        [
            [
                r["family"],
                r["width"],
                f"{r['wall_s_before']:.2f}",
                f"{r['wall_s_after']:.2f}",
                f"{r['wall_s_after'] / r['wall_s_before']:.2f}",
                f"{r['test_acc_before']:.2f}",
                f"{r['test_acc_after']:.2f}",
            ]
            for r in study["summary"]
        ],
    )
    conv = markdown_table(
        [
            "conversion fine-tune",
            "time before s",
            "time after s",
            "after / before",
            "acc before",
            "acc after",
        ],
        [
            [
                r["conversion"],
                f"{r['wall_s_before']:.2f}",
                f"{r['wall_s_after']:.2f}",
                f"{r['wall_s_after'] / r['wall_s_before']:.2f}",
                f"{r['acc_before']:.2f}",
                f"{r['acc_after']:.2f}",
            ]
            for r in study["conversions"]
        ],
    )
    total = study["total_s"]
    return (
        head + table + "\n\n" + conv + f"\n\nWhole study: {total['PyTorch kernels']:.1f} s before, "
        f"{total['sepconv kernels']:.1f} s after.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small layers, seconds")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    parser.add_argument(
        "--inference", action="store_true", help="the inference arms (layers_inference*)"
    )
    parser.add_argument(
        "--train", action="store_true", help="training steps, 1 and 2 threads (layers_train*)"
    )
    parser.add_argument(
        "--study", action="store_true", help="the capacity study's training before/after"
    )
    parser.add_argument(
        "--shapes",
        choices=("all", "issue"),
        default="all",
        help="with --train: 'issue' times issue 25's five shapes only (layers_train_issue*)",
    )
    args = parser.parse_args(argv)
    if args.study:
        torch.set_num_threads(args.threads)
        meta = machine_info()
        study = run_study_timing(args.quick)
        meta["loadavg_end"] = loadavg()
        name = "layers_study_quick" if args.quick else "layers_study"
        write_json(RESULTS / f"{name}.json", {"meta": meta, **study})
        (RESULTS / f"{name}.md").write_text(render_study_markdown(study, meta))
        print(f"wrote {RESULTS / name}.json and .md")
        return 0
    if args.train:
        start = time.perf_counter()
        meta = machine_info()
        rows, nets = run_train(args.quick, args.shapes)
        meta["loadavg_end"] = loadavg()
        meta["seconds"] = round(time.perf_counter() - start, 1)
        name = "layers_train_quick" if args.quick else "layers_train"
        if args.shapes == "issue" and not args.quick:
            name = "layers_train_issue"
        write_json(RESULTS / f"{name}.json", {"meta": meta, "rows": rows, "networks": nets})
        (RESULTS / f"{name}.md").write_text(render_train_markdown(rows, nets, meta))
        print(f"wrote {RESULTS / name}.json and .md in {meta['seconds']} s")
        return 0
    torch.set_num_threads(args.threads)
    layers = QUICK_LAYERS if args.quick else LAYERS
    budget = 0.5 if args.quick else 3.0
    start = time.perf_counter()
    meta = machine_info()
    meta["torch_threads"] = torch.get_num_threads()
    rows = []
    for c_in, c_out, size in layers:
        for k in KERNELS:
            if args.inference:
                rows.append(bench_inference(c_in, c_out, size, k, budget))
            else:
                rows.extend(bench_layer(c_in, c_out, size, k, budget))
    meta["loadavg_end"] = loadavg()
    meta["seconds"] = round(time.perf_counter() - start, 1)
    name = "layers_inference" if args.inference else "layers"
    if args.quick:
        name += "_quick"
    if args.threads != 2:
        name += f"_{args.threads}thread"
    write_json(RESULTS / f"{name}.json", {"meta": meta, "rows": rows})
    render = render_inference_markdown if args.inference else render_markdown
    (RESULTS / f"{name}.md").write_text(render(rows, meta))
    print(f"wrote {RESULTS / name}.json and .md in {meta['seconds']} s")
    return 0


def render_markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    headers = [
        "layer",
        "k",
        "layout",
        "pass",
        "conv ms",
        "separable ms",
        "speed-up (wall, medians)",
        "speed-up (wall, best)",
        "speed-up (CPU time)",
        "MAC ratio",
        "efficiency",
        "depthwise share",
    ]
    body = [
        [
            r["layer"],
            r["kernel"],
            r["layout"],
            r["pass"],
            fmt_ms(r["conv_s"]),
            fmt_ms(r["separable_s"]),
            f"{r['speedup_wall_median']:.2f}x",
            f"{r['speedup_wall_best']:.2f}x",
            f"{r['speedup_cpu']:.2f}x",
            f"{r['mac_ratio']:.2f}x",
            f"{100 * r['efficiency']:.0f}%",
            f"{100 * r['depthwise_share']:.0f}%" if "depthwise_share" in r else "",
        ]
        for r in rows
    ]
    cl = [r for r in rows if r["layout"] == "channels_last"]
    met = sum(r["efficiency"] >= 0.8 for r in cl)
    versions = meta["versions"]
    return (
        "# nn.Conv2d vs DepthwiseSeparableConv2d (batch 8, float32, CPU)\n\n"
        f"{meta['cpu']}, {meta['torch_threads']} PyTorch threads, torch {versions['torch']}; "
        f"load average {meta['loadavg_start']} -> {meta['loadavg_end']}; {meta['date']}.\n\n"
        "Times are wall-clock medians of interleaved calls. Speed-up = conv / separable, from "
        "wall-clock medians, from the fastest call of each, and from process CPU time (the "
        "least distorted by other processes on a shared machine; see the script's "
        "docstring). MAC ratio = multiply-accumulates counted by `sepconv.profile`; "
        "efficiency = speed-up (wall, medians) / MAC ratio; depthwise share = depthwise step / "
        "(depthwise + pointwise step), forward, CPU time, each step timed alone.\n\n"
        + markdown_table(headers, body)
        + f"\n\nChannels-last rows reaching 80% of the MAC ratio (wall medians): {met} of "
        f"{len(cl)}.\n\n"
        "Why the MAC ratio is not reached: throughput of each step, forward, GMAC per CPU "
        "second (the depthwise step also as GB/s of activations read + written).\n\n"
        + markdown_table(
            [
                "layer",
                "k",
                "layout",
                "dense conv",
                "depthwise step",
                "depthwise GB/s",
                "pointwise step",
            ],
            [
                [
                    r["layer"],
                    r["kernel"],
                    r["layout"],
                    f"{r['gmacs_per_s']['conv']:.1f}",
                    f"{r['gmacs_per_s']['depthwise step']:.1f}",
                    f"{r['depthwise_step_gb_per_s']:.1f}",
                    f"{r['gmacs_per_s']['pointwise step']:.1f}",
                ]
                for r in rows
                if "gmacs_per_s" in r
            ],
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
