"""CGAR's two curricula (Qasim and Zhang, 2025): the Progressive Depth Curriculum (PDC) and
Hierarchical Supervision Weighting (HSW).

PDC: the recursion depth ``(n, T)`` follows training progress ``rho = step / total_steps``; stage
``i`` is used while ``rho < stages[i].until_rho`` (paper: ``(2, 1)`` for ``rho < 0.3``, ``(4, 2)``
for ``0.3 <= rho < 0.6``, ``(6, 3)`` after). The stages are configuration
(:class:`engine.config.CurriculumConfig`); with the depth curriculum off the depth is always the
model's full ``(n_latent, n_cycles)``.

HSW: a row at its own supervision step ``t`` (1..N_sup) has weight
``w_t = lambda^(t-1) / Z`` with ``Z = sum_{t=1..N_sup} lambda^(t-1)``.

Clue curriculum (an addition: CGAR names a data curriculum as untried): while
``rho < clues_until`` each training puzzle drawn gets answer cells revealed up to
:func:`clue_targets` givens, falling linearly from ``clues_start`` at ``rho = 0`` to the
puzzle's own count at ``clues_until``; from there on the puzzles are the data's own. Off by default.

Departure from the paper, on purpose: :func:`row_weights` returns ``N_sup * w_t`` rather than
``w_t``. The weights then have mean 1 over the supervision steps, so the weighted loss keeps the
scale of the unweighted baseline and the same learning rate serves both (the paper's weights sum
to 1, which would shrink every gradient by a factor of about ``N_sup``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine.config import CurriculumConfig, Stage


@dataclass(frozen=True)
class Depth:
    """Recursion depth of one supervision step: ``n`` latent recursions, ``T`` cycles."""

    n: int  # latent recursions per cycle
    T: int  # recursion cycles (T - 1 without gradient, one with)
    stage: int  # 1-based PDC stage this depth belongs to


class DepthSchedule:
    """The PDC table: depth ``(n, T)`` as a function of ``rho = step / total_steps``."""

    def __init__(self, cfg: CurriculumConfig, full_n: int, full_T: int) -> None:
        # With PDC off there is one stage at full depth for the whole run.
        self.stages: tuple[Stage, ...] = (
            cfg.stages if cfg.depth else (Stage(until_rho=1.0, n=full_n, T=full_T),)
        )

    @property
    def n_stages(self) -> int:
        """Number of depth stages (1 when the depth curriculum is off)."""
        return len(self.stages)

    def at(self, step: int, total_steps: int) -> Depth:
        """Depth at optimizer ``step`` of ``total_steps``; ``rho >= 1`` stays in the last stage."""
        rho = step / max(1, total_steps)
        for index, stage in enumerate(self.stages):
            if rho < stage.until_rho:
                return Depth(n=stage.n, T=stage.T, stage=index + 1)
        last = self.stages[-1]
        return Depth(n=last.n, T=last.T, stage=self.n_stages)

    def remaining_cost(self, step: int, total_steps: int) -> int:
        """Sum of :func:`step_cost` over steps ``step .. total_steps - 1`` (for a depth-aware
        ETA)."""
        cost = 0
        for index, stage in enumerate(self.stages, start=1):
            start = self.stage_start_step(index, total_steps)
            end = (
                self.stage_start_step(index + 1, total_steps)
                if index < self.n_stages
                else total_steps
            )
            cost += max(0, end - max(start, step)) * step_cost(stage.n, stage.T)
        return cost

    def stage_start_step(self, stage: int, total_steps: int) -> int:
        """First step whose depth belongs to the 1-based ``stage`` (0 for the first stage)."""
        if not 1 <= stage <= self.n_stages:
            raise ValueError(f"stage must be in 1..{self.n_stages}, got {stage}")
        if stage == 1:
            return 0
        total = max(1, total_steps)
        start = math.ceil(self.stages[stage - 2].until_rho * total)
        # Float rounding can put ceil() one step off the comparison `at` makes; agree with `at`.
        while start > 0 and self.at(start - 1, total).stage >= stage:
            start -= 1
        while self.at(start, total).stage < stage:
            start += 1
        return start


def step_cost(n: int, T: int) -> int:
    """Network applications one training step costs at depth ``(n, T)``, a backward as two.

    ``T`` cycles of ``n`` latent updates and one answer update run forward; the last cycle's
    ``n + 1`` also run backward. Paper stages: ``(2, 1)`` 9, ``(4, 2)`` 20, ``(6, 3)`` 35.
    """
    return T * (n + 1) + 2 * (n + 1)


def hsw_weights(n_sup: int, lam: float) -> list[float]:
    """HSW weights ``w_t = lam^(t-1) / Z`` for ``t = 1..n_sup``; they sum to 1."""
    if n_sup < 1:
        raise ValueError(f"n_sup must be >= 1, got {n_sup}")
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lambda must be in (0, 1], got {lam}")
    powers = [lam ** (t - 1) for t in range(1, n_sup + 1)]
    z = sum(powers)
    return [p / z for p in powers]


def row_weights(steps: Tensor, weights: Tensor) -> Tensor:
    """Per-row loss weights ``N_sup * w[t - 1]`` for rows at 1-based supervision steps ``steps``.

    ``steps`` (B,) long, each in 1..N_sup; ``weights`` (N_sup,) from :func:`hsw_weights`. The
    factor ``N_sup`` gives the weights mean 1 over the steps (see the module docstring).
    """
    # gather rejects an out-of-range step (0 would silently pick the last weight with indexing).
    w = weights.to(dtype=torch.float32).gather(0, steps.to(dtype=torch.long) - 1)
    return w * weights.numel()


def clue_targets(cfg: CurriculumConfig, step: int, total_steps: int, givens: Any) -> Any:
    """Givens each drawn training puzzle is topped up to at optimizer ``step``, or None when the
    clue curriculum leaves the puzzles as they are (off, or ``rho >= clues_until``).

    ``givens`` (numpy, per puzzle) are the puzzles' own counts; the target falls linearly from
    ``clues_start`` at ``rho = 0`` to each puzzle's own count at ``clues_until``.
    """
    rho = step / max(1, total_steps)
    if not cfg.clues or rho >= cfg.clues_until:
        return None
    left = 1.0 - rho / cfg.clues_until
    return givens + np.ceil(left * np.maximum(0, cfg.clues_start - givens)).astype(givens.dtype)
