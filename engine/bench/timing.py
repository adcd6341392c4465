"""Warm-up, repeated timing, median and interquartile range.

The median of several repetitions after a warm-up is the figure reported; the IQR says how noisy
the machine was. On a GPU the work is synchronised before every clock read, so the time covers
the kernels and not just their launch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Timing:
    """Seconds per call: median and interquartile range of the timed repetitions."""

    median_s: float
    iqr_s: float  # 75th minus 25th percentile
    repeats: int
    samples_s: tuple[float, ...]  # every timed repetition, in order


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_call(
    fn: Callable[[], object], device: torch.device, warmup: int = 1, repeats: int = 3
) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed (synchronised)."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    synchronize(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        samples.append(time.perf_counter() - start)
    return summarize(samples)


def summarize(samples: list[float]) -> Timing:
    """Median and IQR of ``samples`` seconds."""
    q25, q50, q75 = np.percentile(samples, [25, 50, 75])
    return Timing(
        median_s=float(q50), iqr_s=float(q75 - q25), repeats=len(samples), samples_s=tuple(samples)
    )
