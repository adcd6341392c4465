"""Verdicts on a proposed Sudoku answer: solved, wrong, or invalid (the `trm solve` verdict line).

- ``solved``: every cell filled, no digit repeated in a row, column or box, every given kept. A
  valid grid counts as solved even where it differs from the exact solver's solution (possible
  only for puzzles with several solutions).
- ``invalid``: a given was changed, so the grid is not an answer to this puzzle at all.
- ``wrong``: the givens are kept but the grid is not a solution; ``n_wrong`` says how many cells
  differ from the exact solver's solution and ``n_conflicts`` how many break a rule. (A network
  fills every cell, so for a puzzle with one solution every wrong answer also breaks a rule:
  counting conflicts as "invalid" would make "wrong" unreachable.)

``n_wrong`` is ``-1`` where no solution is known (the puzzle has none, or none was passed); such
rows are left out of :meth:`Verdicts.cells_right`, which is None when every row is one.
Batches are judged at once (:func:`judge_batch`); :func:`judge` is the one-puzzle form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.grid import N_CELLS, conflicts

SOLVED, WRONG, INVALID = "solved", "wrong", "invalid"


@dataclass(frozen=True)
class Verdict:
    """How one proposed answer fares."""

    kind: str  # "solved" | "wrong" | "invalid"
    n_wrong: int  # cells differing from the exact solver's solution (0 when solved; -1 unknown)
    n_conflicts: int  # cells whose digit repeats in a row, column or box
    givens_kept: bool  # every given of the puzzle keeps its digit

    @property
    def is_solved(self) -> bool:
        """Whether the answer is a complete valid grid consistent with the givens."""
        return self.kind == SOLVED

    @property
    def is_valid(self) -> bool:
        """Whether the answer breaks no rule and keeps the givens (it may be incomplete)."""
        return self.n_conflicts == 0 and self.givens_kept


@dataclass(frozen=True)
class Verdicts:
    """Verdicts on a batch, one entry per row."""

    solved: np.ndarray  # (N,) bool
    valid: np.ndarray  # (N,) bool: no conflicts and givens kept
    n_wrong: np.ndarray  # (N,) int64, -1 where no solution is known
    n_conflicts: np.ndarray  # (N,) int64
    givens_kept: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.solved)

    @property
    def n_known(self) -> int:
        """Rows whose solution is known (a puzzle without a solution has no right cell)."""
        return int((self.n_wrong >= 0).sum())

    def cells_right(self) -> float | None:
        """Share of cells equal to the solution over the rows whose solution is known; None
        when no row's is (then no cell can be called right)."""
        known = self.n_wrong >= 0
        if not known.any():
            return None
        return 1.0 - float(self.n_wrong[known].sum()) / (N_CELLS * int(known.sum()))

    def __getitem__(self, row: int) -> Verdict:
        kind = SOLVED if self.solved[row] else WRONG if self.givens_kept[row] else INVALID
        return Verdict(
            kind=kind,
            n_wrong=int(self.n_wrong[row]),
            n_conflicts=int(self.n_conflicts[row]),
            givens_kept=bool(self.givens_kept[row]),
        )


def judge_batch(
    puzzles: np.ndarray, grids: np.ndarray, solutions: np.ndarray | None = None
) -> Verdicts:
    """Judge answers ``grids`` (N, 81) to ``puzzles`` (N, 81); ``solutions`` rows of zeros =
    unknown."""
    puzzles = _rows(puzzles, "puzzles")
    grids = _rows(grids, "grids")
    if puzzles.shape != grids.shape:
        raise ValueError(f"puzzles {puzzles.shape} and grids {grids.shape} differ in shape")
    n_conflicts = conflicts(grids).sum(axis=1).astype(np.int64)
    givens_kept = ((puzzles == 0) | (puzzles == grids)).all(axis=1)
    valid = (n_conflicts == 0) & givens_kept
    solved = valid & (grids > 0).all(axis=1)
    n_wrong = np.full(len(grids), -1, dtype=np.int64)
    if solutions is not None:
        solutions = _rows(solutions, "solutions")
        if solutions.shape != grids.shape:
            raise ValueError(f"solutions {solutions.shape} and grids {grids.shape} differ in shape")
        known = (solutions > 0).all(axis=1)
        n_wrong = np.where(known, (grids != solutions).sum(axis=1), -1).astype(np.int64)
    n_wrong[solved] = 0
    return Verdicts(
        solved=solved,
        valid=valid,
        n_wrong=n_wrong,
        n_conflicts=n_conflicts,
        givens_kept=givens_kept,
    )


def judge(puzzle: np.ndarray, grid: np.ndarray, solution: np.ndarray | None) -> Verdict:
    """The verdict on one answer ``grid`` (81,) to ``puzzle`` (81,), against ``solution`` if
    known."""
    solutions = None if solution is None else np.asarray(solution)[None, :]
    return judge_batch(np.asarray(puzzle)[None, :], np.asarray(grid)[None, :], solutions)[0]


def _rows(grids: np.ndarray, name: str) -> np.ndarray:
    """``grids`` as an (N, 81) uint8 array, or a ValueError naming the argument."""
    array = np.asarray(grids)
    if array.ndim != 2 or array.shape[1] != N_CELLS:
        raise ValueError(f"{name} must have shape (N, 81), got {array.shape}")
    return array.astype(np.uint8)
