"""Inference throughput: puzzles/s of batched solving at full depth, halting on and off.

Times ``engine.solving.inference.solve`` (the SOLVE engineer's batched traces) with
``keep_steps=False``, as ``trm solve`` runs a large file: one call per timed repetition solves one
batch of ``batch_size`` puzzles (the bundled top1465 sample, repeated as needed). Batch 1 is the
one-at-a-time baseline of the issue's "batched is 20x faster per puzzle" target.

With halting on, each row stops at its first positive halting logit, so a batch costs as many
row-steps as its rows ran (``mean_steps`` per puzzle). An untrained model's halting head starts
at a logit of -5 and never fires, so halting is only meaningful with a trained checkpoint; the
proportionality check compares the time saved with ``mean_steps`` saved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.bench.rig import SAMPLE_PUZZLES
from engine.bench.timing import Timing, time_call
from engine.flops import eval_step_flops
from engine.model import TRM
from engine.solving.inference import solve
from puzzles.csv_format import read_csv

BATCH_SIZES = (1, 8, 64, 512)
CPU_SOLVE_FLOPS = 1e12  # on CPU, default batch sizes whose full 16-step batch costs at most this


@dataclass(frozen=True)
class SolveRow:
    """One batch size with halting on or off."""

    batch_size: int
    halt: bool
    puzzles_per_s: float
    timing: Timing  # seconds per batch
    mean_steps: float  # supervision steps run per puzzle (N_sup without halting)


def sample_puzzles(count: int) -> np.ndarray:
    """``count`` puzzles: the bundled top1465 sample, repeated as needed."""
    questions = read_csv(SAMPLE_PUZZLES).questions
    return np.resize(questions, (count, questions.shape[1]))


def default_batch_sizes(model: TRM, device: torch.device) -> list[int]:
    """1, 8, 64 and 512 on an accelerator; on CPU those whose 16-step batch is cheap enough."""
    if device.type != "cpu":
        return list(BATCH_SIZES)
    cfg = model.cfg
    per_puzzle = cfg.n_sup * eval_step_flops(cfg, cfg.n_latent, cfg.n_cycles, 1)
    return [b for b in BATCH_SIZES if b == 1 or b * per_puzzle <= CPU_SOLVE_FLOPS]


def bench_solve(
    model: TRM,
    device: torch.device,
    batch_sizes: list[int],
    halts: tuple[bool, ...] = (False, True),
    warmup: int = 1,
    repeats: int = 3,
    precision: str = "auto",
) -> list[SolveRow]:
    """Puzzles/s per batch size, halting off and on."""
    rows = []
    for batch_size in batch_sizes:
        puzzles = sample_puzzles(batch_size)
        for halt in halts:
            timing, mean_steps = _time_solve(
                model, puzzles, halt, device, warmup, repeats, precision
            )
            rows.append(
                SolveRow(
                    batch_size=batch_size,
                    halt=halt,
                    puzzles_per_s=batch_size / timing.median_s,
                    timing=timing,
                    mean_steps=mean_steps,
                )
            )
    return rows


def _time_solve(
    model: TRM,
    puzzles: np.ndarray,
    halt: bool,
    device: torch.device,
    warmup: int,
    repeats: int,
    precision: str,
) -> tuple[Timing, float]:
    """Seconds per ``solve`` of ``puzzles`` as one batch, and the mean steps its rows ran."""
    steps: list[float] = []

    def run() -> None:
        result = solve(
            model,
            puzzles,
            halt=halt,
            batch_size=len(puzzles),
            keep_steps=False,
            precision=precision,
        )
        steps.append(float(result.halted_at.mean()))

    return time_call(run, device, warmup, repeats), float(np.mean(steps))
