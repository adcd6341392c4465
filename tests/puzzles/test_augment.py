"""Rule-preserving shuffles: valid puzzles with their solutions, per-row transforms, inverses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from puzzles.augment import Transform, identity, random_transforms, shuffle
from puzzles.dataset import read_csv
from puzzles.grid import agrees_with_givens, conflicts, is_complete_solution
from puzzles.solver import solve_batch

SAMPLE = read_csv(Path(__file__).parents[2] / "puzzles" / "samples" / "top1465-sample.csv")[:12]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffled_pairs_stay_valid_puzzles_with_their_unique_solution(seed: int) -> None:
    out = shuffle(SAMPLE.questions, SAMPLE.answers, np.random.default_rng(seed))
    assert is_complete_solution(out.answers).all()
    assert agrees_with_givens(out.questions, out.answers).all()
    assert not conflicts(out.questions).any()
    np.testing.assert_array_equal((out.questions > 0).sum(1), (SAMPLE.questions > 0).sum(1))
    solved = solve_batch(out.questions, limit=2)
    np.testing.assert_array_equal(solved.n_solutions, 1)
    np.testing.assert_array_equal(solved.solutions, out.answers)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_invert_undoes_apply(seed: int) -> None:
    out = shuffle(SAMPLE.questions, SAMPLE.answers, np.random.default_rng(seed))
    np.testing.assert_array_equal(out.transform.invert(out.questions), SAMPLE.questions)
    np.testing.assert_array_equal(out.transform.invert(out.answers), SAMPLE.answers)
    np.testing.assert_array_equal(out.transform.inverse().invert(SAMPLE.answers), out.answers)


def test_every_row_gets_its_own_transform() -> None:
    same = np.repeat(SAMPLE.answers[:1], 64, axis=0)
    out = shuffle(same, same, np.random.default_rng(0))
    assert len(np.unique(out.answers, axis=0)) == 64
    transposed = out.transform.cells[:, 1] % 9 == out.transform.cells[:, 0] % 9  # column kept
    assert 10 < transposed.sum() < 54  # about half the rows are transposed


def test_transform_structure_and_digit_map() -> None:
    transform = random_transforms(200, np.random.default_rng(1))
    np.testing.assert_array_equal(
        np.sort(transform.cells, axis=1), np.tile(np.arange(81), (200, 1))
    )
    assert (transform.digits[:, 0] == 0).all()
    np.testing.assert_array_equal(
        np.sort(transform.digits[:, 1:], axis=1), np.tile(np.arange(1, 10), (200, 1))
    )
    # rows of the output come from one band of the input: band structure kept
    source_rows = transform.cells.reshape(200, 9, 9) // 9  # input row of each output cell
    source_cols = transform.cells.reshape(200, 9, 9) % 9
    lines = np.where(
        (source_rows[:, :, :1] == source_rows).all(axis=2, keepdims=True), source_rows, source_cols
    )
    bands = lines[:, :, 0].reshape(200, 3, 3) // 3
    assert (bands == bands[:, :, :1]).all()


def test_identity_changes_nothing_and_shapes_are_checked() -> None:
    np.testing.assert_array_equal(identity(12).apply(SAMPLE.questions), SAMPLE.questions)
    with pytest.raises(ValueError, match=r"\(3, 81\)"):
        identity(3).apply(SAMPLE.questions)
    assert isinstance(identity(1), Transform) and len(identity(5)) == 5


def test_same_seed_same_shuffle() -> None:
    first = shuffle(SAMPLE.questions, SAMPLE.answers, np.random.default_rng(7))
    second = shuffle(SAMPLE.questions, SAMPLE.answers, np.random.default_rng(7))
    np.testing.assert_array_equal(first.questions, second.questions)
