"""Selection rules and early-exit pricing on hand-made per-sample records (B puzzles x K
samples)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.solving.selection import select, steps_spent


def test_halt_first_takes_the_sample_that_halts_first() -> None:
    fired_at = np.array([[0, 3, 2, 4]])
    q_halt = np.array([[-1.0, 5.0, 0.5, 9.0]])
    assert select("halt-first", fired_at, np.zeros_like(fired_at), q_halt).tolist() == [2]


def test_ties_and_none_fired_go_to_the_largest_halting_logit() -> None:
    fired_at = np.array([[2, 2, 0], [0, 0, 0]])
    q_halt = np.array([[1.0, 3.0, 7.0], [-4.0, -0.5, -2.0]])
    assert select("halt-first", fired_at, np.zeros_like(fired_at), q_halt).tolist() == [1, 1]


def test_a_valid_answer_at_step_3_beats_a_halt_at_step_2() -> None:
    fired_at = np.array([[2, 0]])  # sample 0 halts at step 2 with an answer that breaks a rule
    valid_at = np.array([[0, 3]])  # sample 1 obeys the rules at step 3, never halting
    q_halt = np.array([[2.0, -3.0]])
    assert select("valid", fired_at, valid_at, q_halt).tolist() == [1]
    assert select("halt-first", fired_at, valid_at, q_halt).tolist() == [0]
    steps_run = np.array([[2, 3]])  # what each ran when every sample ran to its own halt
    # valid: decided at step 3, sample 0 had left at 2; halt-first: decided at 2.
    assert steps_spent("valid", steps_run, fired_at, valid_at).tolist() == [5]
    assert steps_spent("halt-first", steps_run, fired_at, valid_at).tolist() == [4]
    assert steps_spent("vote", steps_run, fired_at, valid_at).tolist() == [5]


def test_valid_takes_the_earliest_then_the_lowest_index_and_falls_back_to_halt_first() -> None:
    fired_at = np.array([[0, 4, 1], [0, 3, 0]])
    valid_at = np.array([[5, 2, 2], [0, 0, 0]])
    q_halt = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 0.0]])
    assert select("valid", fired_at, valid_at, q_halt).tolist() == [1, 1]


def test_nothing_decided_early_spends_every_sample_to_its_end() -> None:
    steps_run = np.array([[16, 16, 16]])
    none = np.zeros((1, 3), dtype=np.int64)
    for rule in ("halt-first", "valid", "vote"):
        assert steps_spent(rule, steps_run, none, none).tolist() == [48]


def test_the_vote_and_unknown_rules_select_no_sample() -> None:
    none = np.zeros((1, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="vote"):
        select("vote", none, none, none.astype(float))
    with pytest.raises(ValueError, match="halt-first, valid, vote"):
        select("first", none, none, none.astype(float))
