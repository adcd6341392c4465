"""Sampled solving: every puzzle as ``K`` samples in one batch, one of them selected.

Diversity comes from symmetry views (``engine.solving.views``: the identity first, then random
rule-preserving shuffles) and optionally from Gaussian noise of scale ``noise`` added to the
latent ``z`` at every latent recursion, independently per sample (the PTRM recipe); sample 0 stays
noise-free. Noise is off by default: on the width-64 model first shipped it added nothing to the
views on held-out puzzles (sigma 0.1) or cost accuracy and steps (0.3, 1.0), and on minimal
puzzles sigma 0.3 gained 2-5 of 100, within the spread between draws of views; on the model
shipped since issue 14, sigma 0.1 and 0.3 stay within three of 200 minimal puzzles of none at
every K (docs/RESULTS.md section 3). The selection rule (``engine.solving.selection``) picks the
answer; with early exit a puzzle's samples leave the batch the step its selection is decided, so
compute follows difficulty, and ``steps_spent`` counts it. ``K = 1`` with ``halt-first`` is
plain solving (``engine.solving.inference.solve``) exactly.

Deterministic given the generator: the same ``rng`` state gives the same views, noise and answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.model import TRM
from engine.solving.inference import OWN_HALT, RowRecords, SolveResult, solve_rows
from engine.solving.selection import VALID, VOTE, check_rule, select, steps_spent, until
from engine.solving.views import map_back, sample_views
from engine.solving.vote import vote
from puzzles.augment import Transform
from puzzles.grid import agrees_with_givens, is_complete_solution


@dataclass
class SampleResult:
    """``B`` puzzles solved as ``K`` samples each (arrays ``(B, K)`` are per sample)."""

    puzzles: np.ndarray  # (B, 81) uint8
    rule: str  # the selection rule
    answers: np.ndarray  # (B, 81) uint8 the selected (or voted) answer
    selected: np.ndarray  # (B,) int64 the selected sample, -1 with vote
    steps_spent: np.ndarray  # (B,) int64 supervision steps spent, summed over the samples
    halted_at: np.ndarray  # (B, K) int64 steps each sample ran (its halt, or when it left)
    fired: np.ndarray  # (B, K) bool its halting head fired
    valid: np.ndarray  # (B, K) bool its answer at its last step obeys the rules
    q_halt: np.ndarray  # (B, K) float32 its last halting logit
    sample_answers: np.ndarray  # (B, K, 81) uint8 its last answer, in the puzzle's frame
    agreement: np.ndarray | None  # (B,) float32 the vote's mean winning share; None otherwise
    rows: SolveResult  # every sample's traces, puzzle-major (row i * K + j), in its view's frame
    records: RowRecords  # every row's first firing and first valid answer
    transform: Transform  # row i * K + j was made by transform i * K + j

    @property
    def k(self) -> int:
        """Samples per puzzle."""
        return self.halted_at.shape[1]

    def sample_trace(self, puzzle: int, sample: int) -> SolveResult:
        """One sample's traces (one row) in its puzzle's cells and digits."""
        row = np.array([puzzle * self.k + sample])
        return map_back(self.rows, row, _rows_of(self.transform, row))

    def selected_trace(self) -> SolveResult:
        """Each puzzle's selected sample's traces (sample 0, the identity, with vote)."""
        chosen = np.maximum(self.selected, 0)
        rows = np.arange(len(self.puzzles)) * self.k + chosen
        return map_back(self.rows, rows, _rows_of(self.transform, rows))


def solve_samples(
    model: TRM,
    puzzles: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    rule: str,
    noise: float = 0.0,
    early_exit: bool = True,
    halt: bool = True,
    n_latent: int | None = None,
    n_cycles: int | None = None,
    max_steps: int | None = None,
    batch_size: int = 512,
    keep_steps: bool = False,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> SampleResult:
    """Solve every puzzle as ``k`` samples (views, plus noise when ``noise > 0``) and select.

    ``batch_size`` counts rows (puzzle-samples); a batch holds whole puzzles. Without
    ``early_exit`` every sample runs to its own halt (what the scaling bench measures from);
    without ``halt`` samples do not stop when their halting head fires (``valid`` still exits
    early), and the rules still choose by when each fired or became valid."""
    if k < 1:
        raise ValueError(f"k (samples per puzzle) must be >= 1, got {k}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    check_rule(rule)
    puzzles = np.asarray(puzzles, dtype=np.uint8)
    b = len(puzzles)
    transform = sample_views(b, k, rng)
    rows = transform.apply(np.repeat(puzzles, k, axis=0))
    sigma = None
    if noise > 0:
        sigma = np.where(np.arange(b * k) % k == 0, 0.0, noise)  # sample 0 stays noise-free
    seed = int(rng.integers(2**31))  # drawn after the views: noise does not change them
    result, records = solve_rows(
        model,
        rows,
        k,
        until(rule) if early_exit else OWN_HALT,
        halt=halt,
        sigma=sigma,
        seed=seed,
        n_latent=n_latent,
        n_cycles=n_cycles,
        max_steps=max_steps,
        batch_size=batch_size,
        keep_steps=keep_steps,
        precision=precision,
        progress=progress,
    )
    return selected(puzzles, rule, result, records, transform)


def selected(
    puzzles: np.ndarray,
    rule: str,
    result: SolveResult,
    records: RowRecords,
    transform: Transform,
    k: int | None = None,
    priced: bool = False,
) -> SampleResult:
    """Select from solved samples; ``k``: only each puzzle's first ``k`` samples count.

    ``steps_spent`` counts the steps the samples ran, or with ``priced`` what early exit would
    have spent (the scaling bench prices every K and rule from one run in which every sample ran
    to its own halt)."""
    b = len(puzzles)
    full = len(result.halted_at) // max(1, b)
    k = full if k is None else k
    keep = (np.arange(b)[:, None] * full + np.arange(k)).reshape(-1)
    inverse = _rows_of(transform, keep).inverse()

    def per_sample(values: np.ndarray) -> np.ndarray:
        return values[keep].reshape(b, k, *values.shape[1:])

    halted_at, fired_at, valid_at = (
        per_sample(a) for a in (result.halted_at, records.fired_at, records.valid_at)
    )
    q_halt = per_sample(result.q_halt_logit[:, -1])
    answers = inverse.apply(result.final[keep]).reshape(b, k, -1)
    first_valid = inverse.apply(records.valid_grid[keep]).reshape(b, k, -1)
    flat = answers.reshape(-1, answers.shape[-1])
    givens = np.repeat(puzzles, k, axis=0)
    valid = (is_complete_solution(flat) & agrees_with_givens(givens, flat)).reshape(b, k)
    agreement = None
    if rule == VOTE:
        confidence = result.confidence[keep, -1]
        weights = np.take_along_axis(confidence, inverse.cells, axis=1).reshape(answers.shape)
        chosen_answers, agreement = vote(answers, weights)
        chosen = np.full(b, -1, dtype=np.int64)
    else:
        chosen = select(rule, fired_at, valid_at, q_halt)
        at = np.arange(b)
        # A sample chosen for its valid answer is answered with that answer, even where (without
        # early exit) it ran on and changed it.
        by_valid = valid_at[at, chosen] > 0
        if rule == VALID:
            chosen_answers = np.where(
                by_valid[:, None], first_valid[at, chosen], answers[at, chosen]
            )
        else:
            chosen_answers = answers[at, chosen]
    return SampleResult(
        puzzles=puzzles,
        rule=rule,
        answers=chosen_answers.astype(np.uint8),
        selected=chosen,
        steps_spent=(
            steps_spent(rule, halted_at, fired_at, valid_at)
            if priced
            else halted_at.sum(axis=1).astype(np.int64)
        ),
        halted_at=halted_at,
        fired=fired_at > 0,
        valid=valid,
        q_halt=q_halt.astype(np.float32),
        sample_answers=answers,
        agreement=agreement,
        rows=_subset(result, keep),
        records=RowRecords(fired_at.reshape(-1), valid_at.reshape(-1), records.valid_grid[keep]),
        transform=_rows_of(transform, keep),
    )


def _rows_of(transform: Transform, rows: np.ndarray) -> Transform:
    return Transform(cells=transform.cells[rows], digits=transform.digits[rows])


def _subset(result: SolveResult, rows: np.ndarray) -> SolveResult:
    return SolveResult(
        puzzles=result.puzzles[rows],
        grids=result.grids[rows],
        confidence=result.confidence[rows],
        q_halt_logit=result.q_halt_logit[rows],
        halted_at=result.halted_at[rows],
        final=result.final[rows],
    )
