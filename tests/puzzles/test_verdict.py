"""Verdicts: solved, wrong and invalid answers, counted cells, and batch equals one by one."""

from __future__ import annotations

import numpy as np
import pytest

from puzzles.grid import from_line
from puzzles.verdict import judge, judge_batch

SOLUTION = from_line(
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
)


def puzzle() -> np.ndarray:
    grid = SOLUTION.copy()
    grid[::2] = 0  # 41 empty cells, 40 givens at the odd cells
    return grid


def test_the_solution_is_solved() -> None:
    verdict = judge(puzzle(), SOLUTION, SOLUTION)
    assert verdict.kind == "solved" and verdict.is_solved and verdict.is_valid
    assert verdict.n_wrong == 0 and verdict.n_conflicts == 0 and verdict.givens_kept


def test_an_unfinished_valid_grid_is_wrong() -> None:
    grid = SOLUTION.copy()
    grid[[0, 2, 4]] = 0
    verdict = judge(puzzle(), grid, SOLUTION)
    assert verdict.kind == "wrong" and not verdict.is_solved and verdict.is_valid
    assert verdict.n_wrong == 3 and verdict.n_conflicts == 0 and verdict.givens_kept


def test_a_repeated_digit_is_wrong_with_its_conflicts_counted() -> None:
    grid = SOLUTION.copy()
    grid[0] = grid[2]  # cell 0 now repeats cell 2's 4 in row, box; the 5 it replaced is missing
    verdict = judge(puzzle(), grid, SOLUTION)
    assert verdict.kind == "wrong" and not verdict.is_valid
    assert verdict.n_wrong == 1
    # cell 0 and cell 2 share row 0 and box 0; cell 0 also repeats the 4 of column 0 (row 4)
    assert verdict.n_conflicts == 3 and verdict.givens_kept


def test_a_changed_given_is_invalid() -> None:
    grid = SOLUTION.copy()
    grid[[1, 3]] = grid[[3, 1]]  # swap two givens: 3 and 6 of row 0
    verdict = judge(puzzle(), grid, SOLUTION)
    assert verdict.kind == "invalid" and not verdict.givens_kept
    assert verdict.n_wrong == 2


def test_without_a_solution_n_wrong_is_unknown() -> None:
    grid = SOLUTION.copy()
    grid[0] = 0
    assert judge(puzzle(), grid, None).n_wrong == -1
    assert judge(puzzle(), SOLUTION, None).n_wrong == 0  # solved needs no solution to compare


def test_batch_agrees_with_one_by_one() -> None:
    grids = np.stack([SOLUTION, SOLUTION, SOLUTION])
    grids[1, 0] = 0
    grids[2, 1] = 9  # a changed given
    puzzles = np.stack([puzzle()] * 3)
    solutions = np.stack([SOLUTION, SOLUTION, np.zeros(81, dtype=np.uint8)])  # row 2: unknown
    verdicts = judge_batch(puzzles, grids, solutions)
    assert len(verdicts) == 3
    assert [verdicts[i].kind for i in range(3)] == ["solved", "wrong", "invalid"]
    assert verdicts.n_wrong.tolist() == [0, 1, -1]
    for row in range(3):
        known = solutions[row] if solutions[row].any() else None
        assert verdicts[row] == judge(puzzles[row], grids[row], known)


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="grids"):
        judge_batch(np.zeros((1, 81)), np.zeros((1, 80)))
    with pytest.raises(ValueError, match="differ"):
        judge_batch(np.zeros((2, 81)), np.zeros((1, 81)))


def test_cells_right_leaves_out_puzzles_without_a_solution() -> None:
    # the second puzzle breaks no rule but has no solution (cell 9 can hold nothing)
    stuck = from_line("12345678." + "........9" + "." * 63)
    answer = SOLUTION.copy()
    answer[:3] = answer[[1, 2, 0]]  # 3 cells wrong
    puzzles = np.stack([puzzle(), stuck])
    grids = np.stack([answer, SOLUTION])  # a full grid: for the stuck puzzle, conflicting givens
    verdicts = judge_batch(puzzles, grids, np.stack([SOLUTION, np.zeros(81, np.uint8)]))
    assert verdicts.n_known == 1
    assert verdicts.cells_right() == pytest.approx(1 - 3 / 81)
    assert verdicts[1].n_wrong == -1
    alone = judge_batch(stuck[None], SOLUTION[None], np.zeros((1, 81), np.uint8))
    assert alone.n_known == 0 and alone.cells_right() is None  # not 100%: no cell is right
