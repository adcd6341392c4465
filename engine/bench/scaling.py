"""Test-time scaling: exact accuracy against supervision steps spent, per K and selection rule.

One run solves every puzzle as ``K_max`` samples, every sample to its own halt (no early exit),
recording when each sample's halting head fired and when its answer first obeyed the rules
(``engine.solving``). Every smaller ``K`` is then read from the first ``K`` samples of each puzzle
and priced as early exit would spend it (``engine.solving.selection.steps_spent``), so the whole
curve costs one run instead of one per point; an early-exit run of the same samples selects the
same answers and spends the same steps (tests check it). The views of the first ``K`` samples are
those of a ``K_max`` run, not of a ``K`` run with the same seed: the same distribution, not the
same draws.

Long measurements run in chunks of puzzles (:func:`measure_chunk`, each with its own views), so
that a partial result can be kept; :func:`summarise` turns the per-puzzle outcomes of any number
of chunks into the curve.

``steps`` is the mean per puzzle of the supervision steps spent, summed over its samples;
``ratio`` divides it by one trajectory with halting (``K = 1``, ``halt-first``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.model import TRM
from engine.solving.inference import RowRecords, SolveResult
from engine.solving.sampling import SampleResult, selected, solve_samples
from engine.solving.selection import RULES, VALID
from puzzles.augment import Transform

KS = (1, 2, 4, 8, 16, 32)


@dataclass(frozen=True)
class ScalingRow:
    """One point of the curve."""

    noise: float
    k: int
    rule: str
    exact: float  # fraction of puzzles whose selected answer is the solution
    steps: float  # mean supervision steps spent per puzzle, summed over its samples
    max_steps: int  # the most any puzzle spent


def run_full(
    model: TRM,
    puzzles: np.ndarray,
    k: int,
    noise: float,
    *,
    seed: int = 0,
    max_steps: int | None = None,
    batch_size: int = 32,
    precision: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> SampleResult:
    """``k`` samples of every puzzle, each run to its own halt: what every point is read from."""
    return solve_samples(
        model,
        puzzles,
        k,
        np.random.default_rng(seed),
        rule=VALID,  # recorded runs do not depend on the rule
        noise=noise,
        early_exit=False,
        max_steps=max_steps,
        batch_size=batch_size,
        precision=precision,
        progress=progress,
    )


Outcomes = dict[tuple[float, int, str], tuple[np.ndarray, np.ndarray]]  # (exact, steps) per puzzle


def outcomes(
    full: SampleResult,
    solutions: np.ndarray,
    noise: float,
    ks: tuple[int, ...] = KS,
    rules: tuple[str, ...] = RULES,
) -> Outcomes:
    """Per puzzle, for every ``K`` in ``ks`` (at most the run's) and rule, read from one full
    run: whether the selected answer is the solution, and the steps early exit spends."""
    found: Outcomes = {}
    for k in ks:
        if k > full.k:
            raise ValueError(f"K = {k} is more than the run's {full.k} samples")
        for rule in rules:
            picked = price(full.puzzles, full.rows, full.records, full.transform, rule, k)
            exact = (picked.answers == solutions).all(axis=1)
            found[(noise, k, rule)] = (exact, picked.steps_spent)
    return found


def merge(into: Outcomes, more: Outcomes) -> Outcomes:
    """The outcomes of two sets of puzzles, joined point by point."""
    for key, (exact, steps) in more.items():
        if key in into:
            exact = np.concatenate([into[key][0], exact])
            steps = np.concatenate([into[key][1], steps])
        into[key] = (exact, steps)
    return into


def summarise(found: Outcomes) -> list[ScalingRow]:
    """The curve: one row per (noise, K, rule), means over the puzzles measured."""
    return [
        ScalingRow(
            noise=noise,
            k=k,
            rule=rule,
            exact=float(exact.mean()),
            steps=float(steps.mean()),
            max_steps=int(steps.max()),
        )
        for (noise, k, rule), (exact, steps) in found.items()
    ]


def curve(
    full: SampleResult,
    solutions: np.ndarray,
    noise: float,
    ks: tuple[int, ...] = KS,
    rules: tuple[str, ...] = RULES,
) -> list[ScalingRow]:
    """Every ``K`` in ``ks`` (at most the run's) and rule, read from one full run."""
    return summarise(outcomes(full, solutions, noise, ks, rules))


def price(
    puzzles: np.ndarray,
    result: SolveResult,
    records: RowRecords,
    transform: Transform,
    rule: str,
    k: int,
) -> SampleResult:
    """The selection of ``rule`` over each puzzle's first ``k`` samples, priced with early exit."""
    return selected(puzzles, rule, result, records, transform, k=k, priced=True)


def one_trajectory_steps(rows: list[ScalingRow]) -> float | None:
    """Mean steps of one trajectory with halting (K = 1, halt-first), if measured. Sample 1 is
    never perturbed, so K = 1 is that trajectory whatever the noise scale."""
    for row in rows:
        if row.k == 1 and row.rule == "halt-first":
            return row.steps
    return None
