"""The exact solver: known solutions, solution counts, contradictions, rating, batch parity.

Fixture puzzles come from magictour top1465 and a famous hard set with tdoku's ratings (see
tests/puzzles/data/README.md; tdoku is BSD-2-Clause, Copyright (c) 2019 Tom Dillon).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.grid import agrees_with_givens, from_line, is_complete_solution
from puzzles.solver import rate, solve, solve_batch, warm_up

DATA = Path(__file__).parent / "data" / "hard_puzzles.csv"
FAMOUS = ("platinum_blonde", "easter_monster", "inkala_2012_worlds_hardest")


def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    questions = np.stack([from_line(r["question"]) for r in rows])
    answers = np.stack([from_line(r["answer"]) for r in rows])
    ratings = np.array([int(r["rating"]) for r in rows])
    return questions, answers, ratings, [r["source"] for r in rows]


QUESTIONS, ANSWERS, RATINGS, SOURCES = _load()


def test_solves_hard_puzzles_to_their_known_unique_solution() -> None:
    warm_up()
    result = solve_batch(QUESTIONS)
    assert (result.n_solutions == 1).all()
    np.testing.assert_array_equal(result.solutions, ANSWERS)


def test_rating_matches_tdoku_guess_counts() -> None:
    ratings = rate(QUESTIONS)
    famous = np.isin(SOURCES, FAMOUS)
    np.testing.assert_array_equal(ratings[famous], RATINGS[famous])
    assert (ratings == RATINGS).mean() >= 0.95
    assert abs(ratings.mean() - RATINGS.mean()) < 0.1 * RATINGS.mean()


def test_rating_is_guesses_to_first_solution_whatever_the_limit() -> None:
    np.testing.assert_array_equal(solve_batch(QUESTIONS[:8], limit=5).guesses, rate(QUESTIONS[:8]))


def test_solve_agrees_with_solve_batch_row_by_row() -> None:
    batch = solve_batch(QUESTIONS)
    for row in range(0, len(QUESTIONS), 5):
        one = solve(QUESTIONS[row])
        assert one.n_solutions == batch.n_solutions[row]
        assert one.guesses == batch.guesses[row]
        np.testing.assert_array_equal(one.solution, batch.solutions[row])


def test_removing_clues_until_not_unique_finds_two_solutions() -> None:
    puzzle = QUESTIONS[0].copy()
    for cell in np.flatnonzero(puzzle):
        puzzle[cell] = 0
        if solve(puzzle).n_solutions > 1:
            break
    result = solve(puzzle, limit=2)
    assert result.n_solutions == 2
    assert is_complete_solution(result.solution)
    assert agrees_with_givens(puzzle, result.solution)
    assert solve(puzzle, limit=1).n_solutions == 1


def test_empty_grid_reaches_the_limit() -> None:
    result = solve(np.zeros(81, dtype=np.uint8), limit=7)
    assert result.n_solutions == 7
    assert is_complete_solution(result.solution)


def test_full_grid_has_one_solution_and_no_guesses() -> None:
    result = solve(ANSWERS[0])
    assert (result.n_solutions, result.guesses) == (1, 0)
    np.testing.assert_array_equal(result.solution, ANSWERS[0])


def test_contradictory_givens_have_no_solution() -> None:
    twice_in_row = np.zeros(81, dtype=np.uint8)
    twice_in_row[[0, 8]] = 5
    wrong_digit = QUESTIONS[1].copy()  # unique puzzle plus a digit its solution does not have
    cell = int(np.flatnonzero(wrong_digit == 0)[0])
    wrong_digit[cell] = ANSWERS[1][cell] % 9 + 1
    for puzzle in (twice_in_row, wrong_digit):
        result = solve(puzzle, limit=2)
        assert (result.n_solutions, result.guesses, result.solution) == (0, -1, None)
    batch = solve_batch(np.stack([twice_in_row, QUESTIONS[2]]))
    assert batch.n_solutions.tolist() == [0, 1]
    assert not batch.solutions[0].any()


def test_empty_and_read_only_batches() -> None:
    assert solve_batch(np.zeros((0, 81), dtype=np.uint8)).solutions.shape == (0, 81)
    frozen = QUESTIONS[:3].copy()
    frozen.flags.writeable = False
    np.testing.assert_array_equal(solve_batch(frozen).solutions, ANSWERS[:3])


@pytest.mark.parametrize(
    ("grids", "limit"),
    [
        (np.zeros((2, 80)), 2),
        (np.full((1, 81), 10), 2),
        (np.full((1, 81), -1), 2),
        (np.zeros((1, 81)), 0),
        (np.full((1, 81), 0.5), 2),
    ],
)
def test_bad_input_raises_value_error(grids: np.ndarray, limit: int) -> None:
    with pytest.raises(ValueError):
        solve_batch(grids, limit=limit)


@settings(max_examples=25, deadline=None)
@given(row=st.integers(0, len(QUESTIONS) - 1), seed=st.integers(0, 2**32 - 1))
def test_every_solution_found_is_valid_and_keeps_the_givens(row: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    puzzle = ANSWERS[row].copy()
    puzzle[rng.random(81) < rng.uniform(0.5, 1.0)] = 0
    result = solve(puzzle, limit=3)
    assert result.n_solutions >= 1  # a subset of a full grid's clues is always solvable
    assert is_complete_solution(result.solution)
    assert agrees_with_givens(puzzle, result.solution)
