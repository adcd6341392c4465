"""Training memory: peak bytes per sample of a full-depth step, and a check that nothing grows
with the number of steps taken.

Peak per sample is the slope of a step's peak memory between two batch sizes, so the model,
optimizer state and allocator overheads (the same at both sizes) cancel:
``(peak(b2) - peak(b1)) / (b2 - b1)``.

- CUDA: ``torch.cuda.max_memory_allocated`` over one step, after ``reset_peak_memory_stats``,
  minus what was allocated before it (in this process).
- CPU: tracemalloc does not see torch's allocations and the process's peak RSS never goes down,
  so each batch size runs in a fresh child process (the two side by side)
  (``python -m engine.bench.memory``) which reports its resident set before the step
  (``/proc/self/statm``, after a first warm-up step at the smallest depth) and its peak RSS after it
  (``resource.getrusage``'s ``ru_maxrss``). Both include the process's fixed costs, which the slope
  removes.

Growth: after a warm-up, the current memory (CUDA: allocated bytes; CPU: RSS) is read after
``n_steps`` and after ``2 * n_steps`` more steps; a training step keeps no history (the carry
is detached, metrics are summed into fixed tensors), so the two readings should agree up to
allocator noise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass

import torch

from engine.bench.rig import Rig
from engine.curriculum import Depth
from engine.precision import resolve_precision
from engine.presets import preset

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class StepPeak:
    """Memory of one full-depth step at one batch size (bytes)."""

    batch_size: int
    before: int  # in use before the step
    peak: int  # highest during the step


@dataclass(frozen=True)
class PeakMemory:
    """Peak memory of a full-depth training step and its cost per sample."""

    small: StepPeak
    large: StepPeak
    bytes_per_sample: float  # slope of peak between the two batch sizes
    method: str  # "cuda max_memory_allocated" or "cpu ru_maxrss in child processes"


@dataclass(frozen=True)
class Growth:
    """Memory in use after n and 2n further steps, at full depth."""

    n_steps: int
    after_n: int  # bytes in use after n steps (after warm-up)
    after_2n: int  # bytes in use after 2n steps
    grows: bool  # the second reading exceeds the first by more than 16 MiB or 5 %


def current_bytes(device: torch.device) -> int:
    """Bytes in use now: CUDA allocated memory, else this process's resident set."""
    if device.type == "cuda":
        return torch.cuda.memory_allocated(device)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def _full(rig: Rig) -> Depth:
    m = rig.cfg.model
    return Depth(n=m.n_latent, T=m.n_cycles, stage=1)


def step_peak(rig: Rig) -> StepPeak:
    """Memory before and at the peak of one full-depth step of ``rig``."""
    rig.step(Depth(n=1, T=1, stage=1))  # allocator pools, optimizer state, lazy inits
    if rig.device.type == "cuda":
        torch.cuda.synchronize(rig.device)
        torch.cuda.reset_peak_memory_stats(rig.device)
        before = torch.cuda.memory_allocated(rig.device)
        rig.step(_full(rig))
        torch.cuda.synchronize(rig.device)
        return StepPeak(rig.batch_size, before, torch.cuda.max_memory_allocated(rig.device))
    before = current_bytes(rig.device)
    rig.step(_full(rig))
    # ru_maxrss is in KiB on Linux.
    return StepPeak(
        rig.batch_size, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )


def _child_peaks(
    preset_name: str, overrides: list[str], batch_sizes: tuple[int, ...]
) -> list[StepPeak]:
    """:func:`step_peak` on CPU, each batch size in a fresh process, run side by side."""
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "engine.bench.memory", preset_name, str(b), *overrides],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for b in batch_sizes
    ]
    peaks = []
    for child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"memory probe failed: {err.strip().splitlines()[-1:]}")
        peaks.append(StepPeak(**json.loads(out.strip().splitlines()[-1])))
    return peaks


def peak_memory(
    preset_name: str, overrides: list[str], device: torch.device, batch_sizes: tuple[int, int]
) -> PeakMemory:
    """Peak memory per sample of a full-depth step, from two batch sizes."""
    from engine.config import apply_overrides

    small_b, large_b = batch_sizes
    if not 0 < small_b < large_b:
        raise ValueError(f"need two increasing batch sizes, got {batch_sizes}")
    if device.type == "cuda":
        cfg = apply_overrides(preset(preset_name), overrides)
        dtype = resolve_precision(cfg.train.precision, device, "train", "train.precision")
        small = step_peak(Rig(cfg, device, dtype, False, small_b))
        large = step_peak(Rig(cfg, device, dtype, False, large_b))
        method = "cuda max_memory_allocated"
    else:
        small, large = _child_peaks(preset_name, overrides, (small_b, large_b))
        method = "cpu ru_maxrss in two child processes"
    slope = ((large.peak - large.before) - (small.peak - small.before)) / (large_b - small_b)
    return PeakMemory(small=small, large=large, bytes_per_sample=slope, method=method)


def growth(rig: Rig, n_steps: int) -> Growth:
    """Memory in use after ``n_steps`` and ``2 * n_steps`` full-depth steps (after warm-up)."""
    full = _full(rig)
    rig.steps(full, 2)
    rig.steps(full, n_steps)
    after_n = current_bytes(rig.device)
    rig.steps(full, n_steps)
    after_2n = current_bytes(rig.device)
    margin = max(16 * 2**20, 0.05 * after_n)
    return Growth(
        n_steps=n_steps, after_n=after_n, after_2n=after_2n, grows=after_2n - after_n > margin
    )


def _main() -> None:
    """Child process entry: one step's :class:`StepPeak` on CPU, as a JSON line."""
    parser = argparse.ArgumentParser(prog="python -m engine.bench.memory")
    parser.add_argument("preset")
    parser.add_argument("batch_size", type=int)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    from engine.config import apply_overrides

    cfg = apply_overrides(preset(args.preset), args.overrides)
    cpu = torch.device("cpu")
    peak = step_peak(
        Rig(cfg, cpu, resolve_precision(cfg.train.precision, cpu, "train"), False, args.batch_size)
    )
    sys.stdout.write(json.dumps(peak.__dict__) + "\n")


if __name__ == "__main__":
    _main()
