"""Which of a puzzle's ``K`` samples answers it, and the supervision steps that decision costs.

- ``halt-first``: the sample whose halting head fires first (``q_halt > 0``); ties, and "none
  fired", go to the largest final halting logit. The model alone decides.
- ``valid``: the first sample whose answer obeys the rules (complete, no digit repeated in a house,
  givens kept), at whatever step it gets there; ties go to the lowest sample index; if none does,
  ``halt-first``. For a puzzle with one solution an answer that obeys the rules is that solution,
  so the rule check needs no solution.
- ``vote``: no single sample; every cell takes the digit the samples' confidences favour
  (``engine.solving.vote``).

Early exit: a puzzle stops spending the moment its selection is decided (``halt-first``: the first
step any sample fires; ``valid``: the first step any sample is valid) and its other samples leave
the batch. :func:`steps_spent` counts what that costs from per-sample records, whether they come
from an early-exit run or from samples that each ran to their own halt: the two give the same
count, which is how the scaling bench prices every K from one run.

All arrays here are per puzzle and sample, shape ``(B, K)``; steps are 1-based, 0 means "never".
"""

from __future__ import annotations

import numpy as np

from engine.solving.inference import FIRST_HALT, FIRST_VALID, OWN_HALT

HALT_FIRST, VALID, VOTE = "halt-first", "valid", "vote"
RULES = (HALT_FIRST, VALID, VOTE)
_UNTIL = {HALT_FIRST: FIRST_HALT, VALID: FIRST_VALID, VOTE: OWN_HALT}


def check_rule(rule: str) -> str:
    """``rule`` if it is one of :data:`RULES`, else a ``ValueError`` naming them."""
    if rule not in RULES:
        raise ValueError(f"selection rule must be one of {', '.join(RULES)}, got {rule!r}")
    return rule


def until(rule: str) -> str:
    """When early exit lets a puzzle's samples leave the batch under ``rule``."""
    return _UNTIL[check_rule(rule)]


def select(rule: str, fired_at: np.ndarray, valid_at: np.ndarray, q_halt: np.ndarray) -> np.ndarray:
    """(B,) int64 the selected sample of each puzzle under ``halt-first`` or ``valid``."""
    if check_rule(rule) == VOTE:
        raise ValueError("vote selects no single sample")
    fired_at, valid_at, q_halt = (np.asarray(a) for a in (fired_at, valid_at, q_halt))
    chosen = halt_first(fired_at, q_halt)
    if rule == VALID:
        has_valid = (valid_at > 0).any(axis=1)
        first_valid = _first(valid_at).argmin(axis=1)  # argmin: the lowest index among ties
        chosen = np.where(has_valid, first_valid, chosen)
    return chosen.astype(np.int64)


def halt_first(fired_at: np.ndarray, q_halt: np.ndarray) -> np.ndarray:
    """(B,) the sample that fired first; among ties (or when none fired) the largest ``q_halt``."""
    when = _first(fired_at)
    earliest = when == when.min(axis=1, keepdims=True)  # all True where none fired (inf == inf)
    return np.where(earliest, q_halt, -np.inf).argmax(axis=1)


def decided_at(rule: str, fired_at: np.ndarray, valid_at: np.ndarray) -> np.ndarray:
    """(B,) float the step at which ``rule``'s choice is decided; inf where only the end decides."""
    if check_rule(rule) == VOTE:
        return np.full(len(fired_at), np.inf)
    return _first(fired_at if rule == HALT_FIRST else valid_at).min(axis=1)


def steps_spent(
    rule: str, steps_run: np.ndarray, fired_at: np.ndarray, valid_at: np.ndarray
) -> np.ndarray:
    """(B,) int64 supervision steps early exit spends per puzzle, summed over its samples.

    ``steps_run`` (B, K): the steps each sample ran (to its own halt, or fewer if it left)."""
    decided = decided_at(rule, fired_at, valid_at)[:, None]
    return np.minimum(np.asarray(steps_run), decided).sum(axis=1).astype(np.int64)


def _first(steps: np.ndarray) -> np.ndarray:
    """Steps as floats with "never" (0) as infinity, so that minima skip it."""
    steps = np.asarray(steps)
    return np.where(steps > 0, steps, np.inf)
