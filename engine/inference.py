"""Inference traces: a trained TRM solving puzzles one supervision step at a time, with halting.

Follows the TRM paper's test-time procedure (Jolicoeur-Martineau, 2025): every supervision step is
a deep recursion at full depth ``(n, T)`` from the carried ``(y, z)``; the answer is read from
``y``. The reference evaluation always runs all ``N_sup`` steps (``halt=False`` here); with
``halt=True`` a row stops at the first step whose halting head says "solved" (``q_halt > 0``),
the adaptive computation that CGAR's inference-efficiency figures assume.

Departures from the reference, both for showing what the network believes: the answer at each
cell is the argmax over the nine digit tokens only (ids 2..10; padding and "empty" can never be
chosen), and givens are not overwritten with the puzzle's digits. ``confidence`` is the
probability of the chosen digit under a softmax over those nine digit logits alone (float32).

Rows that halted are frozen (their carry and outputs stop changing) and leave the batch, so a
batch costs as many forward rows as its rows ran steps; the loop ends when every row halted. One
host synchronisation per step reads which rows halted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.data import to_tokens
from engine.model import TRM, Carry
from engine.precision import autocast, resolve_precision
from puzzles.grid import N_CELLS

FIRST_DIGIT_TOKEN = 2  # token id of digit 1 (DESIGN.md: d + 1); digits 1..9 are ids 2..10


@dataclass
class SolveResult:
    """Batched traces of supervision steps (``S = max(halted_at)``, or 1 with ``keep_steps=False``)."""

    puzzles: np.ndarray  # (B, 81) uint8 givens, 0 = empty
    grids: np.ndarray  # (B, S, 81) uint8 the model's digit at every cell after each step
    confidence: np.ndarray  # (B, S, 81) float32 probability of that digit (softmax over 9 digits)
    q_halt_logit: np.ndarray  # (B, S) float32 halting logit after each step
    halted_at: np.ndarray  # (B,) int64 1-based step whose answer is final
    final: np.ndarray  # (B, 81) uint8 the answer at halted_at


@dataclass
class _Trace:
    """One batch's per-step outputs (on the host), before padding to the common ``S``."""

    grids: list[np.ndarray]  # per step (b, 81) uint8
    confidence: list[np.ndarray]  # per step (b, 81) float32
    q_halt: list[np.ndarray]  # per step (b,) float32
    halted_at: np.ndarray  # (b,) int64


def solve(
    model: TRM,
    puzzles: np.ndarray,
    *,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    max_steps: int | None = None,
    halt: bool = True,
    batch_size: int = 512,
    keep_steps: bool = True,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> SolveResult:
    """Solve ``puzzles`` (B, 81) step by step at full depth, batched on the model's device;
    ``precision`` follows ``engine.precision``'s rule for inference."""
    puzzles = _as_puzzles(puzzles)
    cfg = model.cfg
    n = cfg.n_latent if n_latent is None else n_latent
    T = cfg.n_cycles if n_cycles is None else n_cycles
    steps = cfg.n_sup if max_steps is None else max_steps
    for name, value in (("n_latent", n), ("n_cycles", T), ("max_steps", steps)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dtype = resolve_precision(precision, model.y_init.device, "infer")
    was_training = model.training
    model.eval()
    traces = []
    try:
        for start in range(0, len(puzzles), batch_size):
            chunk = puzzles[start : start + batch_size]
            traces.append(_solve_batch(model, chunk, n, T, steps, halt, keep_steps, dtype))
            if progress is not None:
                progress(len(chunk))
    finally:
        model.train(was_training)
    return _assemble(puzzles, traces)


@torch.inference_mode()
def _solve_batch(
    model: TRM,
    puzzles: np.ndarray,
    n: int,
    T: int,
    max_steps: int,
    halt: bool,
    keep_steps: bool,
    dtype: torch.dtype | None,
) -> _Trace:
    """Run one batch until every row halted (or ``max_steps``); halted rows leave the batch."""
    device = model.y_init.device
    b = len(puzzles)
    tokens = to_tokens(puzzles, device)
    puzzle_ids = torch.zeros(b, dtype=torch.long, device=device)
    carry = model.initial_carry(b)
    # Outputs of every row as of its last step; halted rows keep theirs (frozen).
    grid = torch.zeros(b, N_CELLS, dtype=torch.uint8, device=device)
    confidence = torch.zeros(b, N_CELLS, dtype=torch.float32, device=device)
    q_halt = torch.zeros(b, dtype=torch.float32, device=device)
    halted_at = np.full(b, max_steps, dtype=np.int64)
    running = np.arange(b)  # rows still running (host copy of `active`)
    active = torch.arange(b, device=device)
    kept: list[tuple[Tensor, Tensor, Tensor]] = []  # per kept step, on the device until the end
    for t in range(1, max_steps + 1):
        with autocast(device, dtype):
            out = model(carry, tokens[active], puzzle_ids[active], n, T)
        digit_logits = out.logits[..., FIRST_DIGIT_TOKEN:].float()  # (a, 81, 9)
        probs, choice = digit_logits.softmax(-1).max(-1)
        grid[active] = (choice + 1).to(torch.uint8)
        confidence[active] = probs
        q_halt[active] = out.q_halt.float()
        if keep_steps:
            kept.append((grid.clone(), confidence.clone(), q_halt.clone()))
        if not halt or t == max_steps:
            carry = out.carry
            continue
        # The one host synchronisation of the step: which rows just halted.
        stops = (out.q_halt > 0).cpu().numpy()
        if stops.all():
            halted_at[running] = t
            break
        if stops.any():
            halted_at[running[stops]] = t
            running = running[~stops]
            # Indices, not a boolean mask: masking on the device would synchronise again.
            keep = torch.from_numpy(np.flatnonzero(~stops)).to(device)
            active = active[keep]
            carry = Carry(y=out.carry.y[keep], z=out.carry.z[keep])
        else:
            carry = out.carry
    if not keep_steps:
        kept.append((grid, confidence, q_halt))
    return _Trace(
        grids=[g.cpu().numpy() for g, _, _ in kept],
        confidence=[c.cpu().numpy() for _, c, _ in kept],
        q_halt=[q.cpu().numpy() for _, _, q in kept],
        halted_at=halted_at,
    )


def _assemble(puzzles: np.ndarray, traces: list[_Trace]) -> SolveResult:
    """Stack batch traces, padding each batch's steps with its last step up to the common ``S``."""
    if not traces:
        empty = np.zeros((0, 0, N_CELLS), dtype=np.uint8)
        return SolveResult(
            puzzles=puzzles,
            grids=empty,
            confidence=empty.astype(np.float32),
            q_halt_logit=np.zeros((0, 0), dtype=np.float32),
            halted_at=np.zeros(0, dtype=np.int64),
            final=np.zeros((0, N_CELLS), dtype=np.uint8),
        )
    n_steps = max(len(trace.grids) for trace in traces)

    def stacked(parts: list[np.ndarray]) -> np.ndarray:
        # Frozen rows repeat their last step, so padding a short batch with its last step is exact.
        padded = parts + [parts[-1]] * (n_steps - len(parts))
        return np.stack(padded, axis=1)

    grids = np.concatenate([stacked(trace.grids) for trace in traces])
    halted_at = np.concatenate([trace.halted_at for trace in traces])
    return SolveResult(
        puzzles=puzzles,
        grids=grids,
        confidence=np.concatenate([stacked(trace.confidence) for trace in traces]),
        q_halt_logit=np.concatenate([stacked(trace.q_halt) for trace in traces]),
        halted_at=halted_at,
        final=grids[:, -1].copy(),
    )


def _as_puzzles(puzzles: np.ndarray) -> np.ndarray:
    """Check and convert puzzles to a (B, 81) uint8 array of digits 0..9."""
    array = np.asarray(puzzles)
    if array.ndim != 2 or array.shape[1] != N_CELLS:
        raise ValueError(f"puzzles must have shape (B, 81), got {array.shape}")
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError("puzzle cells must be digits 0..9 (0 = empty)")
    return array.astype(np.uint8)
