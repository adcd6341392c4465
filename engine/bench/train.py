"""Training throughput per curriculum depth: samples/s, achieved FLOP/s and MFU.

A *sample* is one row advanced by one supervision step (one row of one optimizer step). For
each depth ``(n, T)`` of the preset's CGAR schedule (full depth last), each precision and each
compile choice, a fresh :class:`engine.bench.rig.Rig` takes ``warmup`` untimed steps at that
depth (torch.compile compiles there, once per depth), then ``repeats`` timed repetitions of
``steps`` steps; the median counts. Achieved FLOP/s is :func:`engine.flops.step_flops` over the
median step time; MFU is that over the measured matmul peak (``engine.bench.peak``), reported
against both the fp32 and the bf16 peak because the issue's targets name bf16 while a CPU
without bf16 units trains in fp32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.bench.peak import Peak
from engine.bench.rig import Rig
from engine.bench.timing import Timing, time_call
from engine.config import RunConfig
from engine.curriculum import Depth
from engine.flops import step_flops
from engine.precision import has_native_bf16


@dataclass(frozen=True)
class TrainRow:
    """One measured configuration."""

    n: int
    T: int
    precision: str  # "fp32" or "bf16"
    compiled: bool
    batch_size: int
    samples_per_s: float
    timing: Timing  # seconds per step
    flops_per_step: int
    flops_per_s: float
    mfu_fp32: float | None  # achieved over the fp32 matmul peak (None if not measured)
    mfu_bf16: float | None  # achieved over the bf16 matmul peak (None if not measured)


def curriculum_depths(cfg: RunConfig) -> list[Depth]:
    """The distinct depths of the preset's CGAR schedule, in order, ending at full depth."""
    depths: list[Depth] = []
    for index, stage in enumerate(cfg.curriculum.stages, start=1):
        if all((d.n, d.T) != (stage.n, stage.T) for d in depths):
            depths.append(Depth(n=stage.n, T=stage.T, stage=index))
    m = cfg.model
    if all((d.n, d.T) != (m.n_latent, m.n_cycles) for d in depths):
        depths.append(Depth(n=m.n_latent, T=m.n_cycles, stage=len(depths) + 1))
    return depths


def measure_depth(
    rig: Rig, depth: Depth, warmup: int, repeats: int, steps: int
) -> tuple[Timing, float]:
    """Seconds per step at ``depth`` (median over repeats of ``steps`` steps) and samples/s."""
    per_repeat = time_call(lambda: rig.steps(depth, steps), rig.device, warmup, repeats)
    timing = Timing(
        median_s=per_repeat.median_s / steps,
        iqr_s=per_repeat.iqr_s / steps,
        repeats=per_repeat.repeats,
        samples_s=tuple(s / steps for s in per_repeat.samples_s),
    )
    return timing, rig.batch_size / timing.median_s


def bench_train(
    cfg: RunConfig,
    device: torch.device,
    precisions: list[str],
    compile_modes: list[bool],
    batch_size: int,
    peaks: dict[str, Peak],
    warmup: int = 1,
    repeats: int = 3,
    steps: int = 1,
    depths: list[Depth] | None = None,
) -> list[TrainRow]:
    """Samples/s, FLOP/s and MFU for every depth x precision x compile choice."""
    rows = []
    for precision in precisions:
        dtype = torch.bfloat16 if precision == "bf16" else None
        for compiled in compile_modes:
            rig = Rig(cfg, device, dtype, compiled, batch_size)
            for depth in depths or curriculum_depths(cfg):
                timing, samples_per_s = measure_depth(rig, depth, warmup, repeats, steps)
                flops = step_flops(cfg.model, depth.n, depth.T, batch_size).total
                achieved = flops / timing.median_s
                rows.append(
                    TrainRow(
                        n=depth.n,
                        T=depth.T,
                        precision=precision,
                        compiled=compiled,
                        batch_size=batch_size,
                        samples_per_s=samples_per_s,
                        timing=timing,
                        flops_per_step=flops,
                        flops_per_s=achieved,
                        mfu_fp32=achieved / peaks["fp32"].flops_per_s if "fp32" in peaks else None,
                        mfu_bf16=achieved / peaks["bf16"].flops_per_s if "bf16" in peaks else None,
                    )
                )
    return rows


def precision_choices(name: str, device: torch.device) -> list[str]:
    """``fp32``, ``bf16``, ``both``, or ``auto``: bf16 too only where the device has it natively."""
    choices = {"fp32": ["fp32"], "bf16": ["bf16"], "both": ["fp32", "bf16"]}
    choices["auto"] = ["fp32", "bf16"] if has_native_bf16(device) else ["fp32"]
    if name not in choices:
        raise ValueError(f"--precision: expected fp32, bf16, both or auto, got {name!r}")
    return choices[name]


def compile_choices(name: str, device: torch.device) -> list[bool]:
    """``off``, ``on``, ``both``, or ``auto``: off on CPU (tens of seconds to compile), both on
    CUDA."""
    choices = {"off": [False], "on": [True], "both": [False, True]}
    choices["auto"] = [False, True] if device.type == "cuda" else [False]
    if name not in choices:
        raise ValueError(f"--compile: expected off, on, both or auto, got {name!r}")
    return choices[name]
