"""CGAR's wall-clock saving: the paper's depth schedule vs fixed full depth, same step count.

Two :class:`engine.bench.rig.Rig` s are built in one process from the same preset and seed: one
with CGAR on (depth curriculum and HSW, as ``trm train --cgar``), one at fixed full depth
without HSW (the TRM baseline). Both run ``n_steps`` optimizer steps; the CGAR rig takes the
depth ``DepthSchedule.at(step, n_steps)`` would give a run of ``n_steps`` steps. The runs are cut
into ``n_chunks`` chunks that alternate (CGAR chunk 1, fixed chunk 1, CGAR chunk 2...), so a
change in machine load hits both alike. Before timing, each rig takes one untimed step at every
depth it will use (allocation, and compilation when on).

The ratio ``fixed seconds / CGAR seconds`` is compared with the FLOP-count ideal of the same
schedule over the same steps (:func:`engine.flops.curriculum_saving`; forward + backward, since
training runs both). Assumptions of that ideal: only matrix products cost time, and a step's
cost is proportional to its FLOPs, so per-step overheads (sampling, optimizer, EMA, Python) and
a lower efficiency of the shallower steps both pull the measured ratio below it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from engine.bench.rig import Rig
from engine.bench.timing import synchronize
from engine.config import RunConfig
from engine.curriculum import Depth, DepthSchedule
from engine.flops import curriculum_saving
from engine.presets import with_cgar


@dataclass(frozen=True)
class CgarBench:
    """Measured and ideal cost ratio of fixed full depth over the CGAR schedule."""

    n_steps: int
    batch_size: int
    cgar_s: float  # seconds for n_steps CGAR steps
    fixed_s: float  # seconds for n_steps full-depth steps
    ratio: float  # fixed_s / cgar_s
    ideal_ratio: float  # forward + backward FLOP-count ideal for the same steps
    ideal_forward_ratio: float  # forward-only FLOP-count ideal
    gap: float  # ratio / ideal_ratio - 1 (the target: |gap| <= 0.05)
    steps_per_stage: tuple[int, ...]  # CGAR steps spent in each depth stage


def _chunks(n_steps: int, n_chunks: int) -> list[range]:
    """``range(n_steps)`` cut into ``n_chunks`` consecutive, nearly equal pieces."""
    n_chunks = max(1, min(n_chunks, n_steps))
    bounds = [round(i * n_steps / n_chunks) for i in range(n_chunks + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(n_chunks)]


def bench_cgar(
    cfg: RunConfig,
    device: torch.device,
    dtype: torch.dtype | None,
    compiled: bool,
    batch_size: int,
    n_steps: int,
    n_chunks: int = 4,
) -> CgarBench:
    """Time ``n_steps`` CGAR steps and ``n_steps`` full-depth steps in alternating chunks."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    cgar_cfg = with_cgar(cfg)
    schedule = DepthSchedule(cgar_cfg.curriculum, cfg.model.n_latent, cfg.model.n_cycles)
    depths = [schedule.at(step, n_steps) for step in range(n_steps)]
    full = Depth(n=cfg.model.n_latent, T=cfg.model.n_cycles, stage=1)
    off = dataclasses.replace(cfg.curriculum, depth=False, hsw=False)
    fixed_cfg = dataclasses.replace(cfg, curriculum=off)
    cgar = Rig(cgar_cfg, device, dtype, compiled, batch_size)
    fixed = Rig(fixed_cfg, device, dtype, compiled, batch_size)
    for depth in {(d.n, d.T): d for d in depths}.values():
        cgar.step(depth)
    fixed.step(full)
    cgar_s = fixed_s = 0.0
    for chunk in _chunks(n_steps, n_chunks):
        synchronize(device)
        start = time.perf_counter()
        for step in chunk:
            cgar.step(depths[step])
        synchronize(device)
        middle = time.perf_counter()
        fixed.steps(full, len(chunk))
        synchronize(device)
        cgar_s += middle - start
        fixed_s += time.perf_counter() - middle
    ideal = curriculum_saving(cfg.model, cgar_cfg.curriculum.stages, n_steps, batch_size)
    ratio = fixed_s / cgar_s
    return CgarBench(
        n_steps=n_steps,
        batch_size=batch_size,
        cgar_s=cgar_s,
        fixed_s=fixed_s,
        ratio=ratio,
        ideal_ratio=ideal.total_ratio,
        ideal_forward_ratio=ideal.forward_ratio,
        gap=ratio / ideal.total_ratio - 1.0,
        steps_per_stage=tuple(
            sum(1 for d in depths if d.stage == s) for s in range(1, schedule.n_stages + 1)
        ),
    )
