"""Rule-preserving Sudoku shuffles, vectorised over a batch: every row gets its own transform.

The transforms are those of the TRM/HRM reference builder's ``shuffle_sudoku``: relabel the
digits 1..9 by a permutation (0 stays empty), optionally transpose, then permute the three bands
and the three rows inside each band, and likewise the stacks and their columns. Transpose happens
with probability 1/2, the permutations are uniform. Departure from the reference: it draws one
transform per puzzle in a Python loop; here ``(N, 81)`` cell-index arrays and ``(N, 10)`` digit
maps are drawn at once and applied with ``np.take_along_axis``, so batches are shuffled on the fly.

A :class:`Transform` can be applied and inverted (test-time augmentation voting maps the model's
answers on shuffled copies back to the original puzzle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles.grid import N_CELLS


@dataclass(frozen=True)
class Transform:
    """One symmetry per row: ``out[i, k] = digits[i, grid[i, cells[i, k]]]``."""

    cells: np.ndarray  # (N, 81) int64: output cell k takes the input cell cells[i, k]
    digits: np.ndarray  # (N, 10) uint8: digit map, digits[i, 0] == 0 (empty stays empty)

    def __len__(self) -> int:
        return len(self.cells)

    def apply(self, grids: np.ndarray) -> np.ndarray:
        """Transform a batch of digit grids ``(N, 81)`` (0 = empty), row i by transform i."""
        grids = _batch(grids, len(self))
        moved = np.take_along_axis(grids, self.cells, axis=1)
        return np.take_along_axis(self.digits, moved.astype(np.int64), axis=1)

    def invert(self, grids: np.ndarray) -> np.ndarray:
        """Undo :meth:`apply`: ``invert(apply(g)) == g``."""
        return self.inverse().apply(grids)

    def inverse(self) -> Transform:
        """The transforms that undo these ones."""
        rows = np.arange(len(self))[:, None]
        cells = np.empty_like(self.cells)
        cells[rows, self.cells] = np.arange(N_CELLS)
        digits = np.empty_like(self.digits)
        digits[rows, self.digits] = np.arange(10, dtype=self.digits.dtype)
        return Transform(cells=cells, digits=digits)


@dataclass(frozen=True)
class Shuffled:
    """Shuffled puzzles, their shuffled answers, and the transforms that made them."""

    questions: np.ndarray  # (N, 81) uint8
    answers: np.ndarray  # (N, 81) uint8
    transform: Transform


def identity(n: int) -> Transform:
    """``n`` identity transforms."""
    return Transform(
        cells=np.tile(np.arange(N_CELLS), (n, 1)),
        digits=np.tile(np.arange(10, dtype=np.uint8), (n, 1)),
    )


def random_transforms(n: int, rng: np.random.Generator) -> Transform:
    """``n`` independent uniformly random symmetries (digit map, transpose, band/row, stack/col)."""
    digits = np.zeros((n, 10), dtype=np.uint8)
    digits[:, 1:] = _permutations(n, 9, rng) + 1
    transposed = rng.random(n) < 0.5
    rows = _line_permutations(n, rng)  # (n, 9): output row r reads input row rows[r]
    cols = _line_permutations(n, rng)
    r, c = rows[:, :, None], cols[:, None, :]  # broadcast to (n, 9, 9) over output (row, col)
    cells = np.where(transposed[:, None, None], c * 9 + r, r * 9 + c).reshape(n, N_CELLS)
    return Transform(cells=cells, digits=digits)


def shuffle(questions: np.ndarray, answers: np.ndarray, rng: np.random.Generator) -> Shuffled:
    """Apply one fresh random symmetry per row to puzzles and their answers alike."""
    questions = np.asarray(questions, dtype=np.uint8).reshape(-1, N_CELLS)
    transform = random_transforms(len(questions), rng)
    return Shuffled(transform.apply(questions), transform.apply(answers), transform)


def _permutations(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(n, size) int64: one uniform permutation of 0..size-1 per row."""
    return rng.permuted(np.tile(np.arange(size), (n, 1)), axis=1)


def _line_permutations(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 9) row (or column) orders that keep Sudoku valid: bands permuted, rows within bands."""
    bands = _permutations(n, 3, rng)  # (n, 3)
    within = _permutations(3 * n, 3, rng).reshape(n, 3, 3)
    return (bands[:, :, None] * 3 + within).reshape(n, 9)


def _batch(grids: np.ndarray, n: int) -> np.ndarray:
    grids = np.asarray(grids, dtype=np.uint8)
    if grids.shape != (n, N_CELLS):
        raise ValueError(f"expected grids of shape ({n}, 81) for {n} transforms, got {grids.shape}")
    return grids
