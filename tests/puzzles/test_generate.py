"""The puzzle generator: uniqueness, answers, minimality, rating floor, clue cap, determinism."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from puzzles.generate import Generated, generate
from puzzles.grid import agrees_with_givens, from_line, is_complete_solution
from puzzles.solver import rate, solve_batch

HARD = Path(__file__).parent / "data" / "hard_puzzles.csv"  # tdoku, BSD-2-Clause: see data/


@pytest.fixture(scope="module")
def basic() -> Generated:
    return generate(12, seed=5)


def _assert_valid(made: Generated) -> None:
    """Every question has exactly one solution, its answer, and the stated rating."""
    checked = solve_batch(made.questions, limit=2)
    assert (checked.n_solutions == 1).all()
    np.testing.assert_array_equal(checked.solutions, made.answers)
    assert is_complete_solution(made.answers).all()
    assert agrees_with_givens(made.questions, made.answers).all()
    np.testing.assert_array_equal(made.ratings, rate(made.questions))
    assert made.questions.dtype == np.uint8 and made.ratings.dtype == np.int64


def test_generated_puzzles_are_unique_and_match_their_answers(basic: Generated) -> None:
    assert basic.questions.shape == (12, 81) and basic.ratings.shape == (12,)
    _assert_valid(basic)
    assert len({q.tobytes() for q in basic.questions}) == 12


def test_basic_puzzles_are_minimal(basic: Generated) -> None:
    for question in basic.questions[:4]:
        clues = np.flatnonzero(question)
        less = np.repeat(question[None, :], len(clues), axis=0)
        less[np.arange(len(clues)), clues] = 0  # row k lacks the k-th clue
        assert (solve_batch(less, limit=2).n_solutions == 2).all()


def test_easy_generated_set_rates_below_the_hardest_forum_puzzles(basic: Generated) -> None:
    with HARD.open(newline="") as handle:
        hard = np.stack([from_line(r["question"]) for r in csv.DictReader(handle)])
    assert basic.ratings.mean() + 5 < rate(hard).mean()


def test_min_rating_is_honoured() -> None:
    made = generate(3, seed=1, min_rating=6)
    _assert_valid(made)
    assert (made.ratings >= 6).all()


def test_max_clues_is_honoured() -> None:
    made = generate(3, seed=2, max_clues=22)
    _assert_valid(made)
    assert ((made.questions > 0).sum(axis=1) <= 22).all()


def test_same_seed_same_output_and_shorter_runs_are_prefixes(basic: Generated) -> None:
    again = generate(12, seed=5)
    shorter = generate(3, seed=5)
    other = generate(3, seed=6)
    np.testing.assert_array_equal(again.questions, basic.questions)
    np.testing.assert_array_equal(again.answers, basic.answers)
    np.testing.assert_array_equal(again.ratings, basic.ratings)
    np.testing.assert_array_equal(shorter.questions, basic.questions[:3])
    assert not np.array_equal(other.answers, shorter.answers)


@pytest.mark.slow
def test_worker_processes_give_the_same_output(basic: Generated) -> None:
    seen: list[int] = []
    parallel = generate(12, seed=5, workers=2, progress=seen.append)
    np.testing.assert_array_equal(parallel.questions, basic.questions)
    np.testing.assert_array_equal(parallel.ratings, basic.ratings)
    assert sum(seen) == 12


def test_progress_counts_every_puzzle() -> None:
    seen: list[int] = []
    made = generate(10, seed=3, progress=seen.append)
    assert sum(seen) == 10 == len(made.questions)
    assert len(generate(0).questions) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": -1},
        {"count": 1, "min_rating": -1},
        {"count": 1, "max_clues": 16},
        {"count": 1, "max_clues": 82},
        {"count": 1, "workers": 0},
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        generate(**kwargs)
