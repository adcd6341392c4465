"""Scoring sampled solving on puzzles with known answers: what `trm eval` adds to the reference
evaluation (``engine.evaluate``), per puzzle so that difficulty bands can be grouped afterwards."""

from __future__ import annotations

import numpy as np

from engine.model import TRM
from engine.solving.sampling import solve_samples

SAMPLED_FIELDS = ("sampled_exact", "steps_spent")


def sampled_rows(
    model: TRM,
    questions: np.ndarray,
    answers: np.ndarray,
    k: int,
    rule: str,
    *,
    noise: float = 0.0,
    seed: int = 0,
    max_steps: int | None = None,
    batch_size: int = 512,
    precision: str = "auto",
) -> np.ndarray:
    """(N, 2) in ``SAMPLED_FIELDS`` order: the selected answer is exactly right; supervision steps
    spent on the puzzle, summed over its ``k`` samples (with early exit)."""
    sampled = solve_samples(
        model,
        questions,
        k,
        np.random.default_rng(seed),
        rule=rule,
        noise=noise,
        max_steps=max_steps,
        batch_size=batch_size,
        precision=precision,
    )
    exact = (sampled.answers == np.asarray(answers, dtype=np.uint8)).all(axis=1)
    return np.stack([exact.astype(np.float64), sampled.steps_spent.astype(np.float64)], axis=1)
