"""Sudoku grids as numpy arrays: the 27 houses, rule checks, token conversion and text form.

A grid is a ``uint8`` array of 81 digits in row-major order, ``0`` for an empty cell. Model
tokens follow DESIGN.md: ``0`` padding, ``1`` empty, ``d + 1`` for digit ``d``.
"""

from __future__ import annotations

import numpy as np

N_CELLS = 81
VOCAB_SIZE = 11  # padding, empty, digits 1..9

ROWS = np.arange(N_CELLS).reshape(9, 9)
COLS = ROWS.T.copy()
BOXES = np.array(
    [
        [(3 * (b // 3) + r) * 9 + 3 * (b % 3) + c for r in range(3) for c in range(3)]
        for b in range(9)
    ]
)
HOUSES = np.concatenate([ROWS, COLS, BOXES])  # (27, 9) cell indices


def to_tokens(grids: np.ndarray) -> np.ndarray:
    """Digits (0 = empty) to model token ids (1 = empty, d + 1 = digit d)."""
    return np.asarray(grids, dtype=np.uint8) + 1


def from_tokens(tokens: np.ndarray) -> np.ndarray:
    """Model token ids back to digits; padding and empty both become 0."""
    tokens = np.asarray(tokens).astype(np.int64)
    return np.clip(tokens - 1, 0, 9).astype(np.uint8)


def conflicts(grids: np.ndarray) -> np.ndarray:
    """Boolean mask, same shape as ``grids``, of filled cells whose digit repeats in a house."""
    grids = np.asarray(grids)
    flat = grids.reshape(-1, N_CELLS)
    houses = flat[:, HOUSES]  # (B, 27, 9)
    same = (houses[:, :, :, None] == houses[:, :, None, :]) & (houses[:, :, :, None] > 0)
    repeated = same.sum(-1) > 1  # (B, 27, 9): the cell's digit occurs twice in this house
    out = np.zeros(flat.shape, dtype=bool)
    for h in range(HOUSES.shape[0]):
        out[:, HOUSES[h]] |= repeated[:, h]
    return out.reshape(grids.shape)


def is_complete_solution(grids: np.ndarray) -> np.ndarray | bool:
    """True where a grid is full and every house holds 1..9 exactly once."""
    grids = np.asarray(grids)
    flat = grids.reshape(-1, N_CELLS)
    houses = np.sort(flat[:, HOUSES], axis=-1)
    ok = (houses == np.arange(1, 10, dtype=houses.dtype)).all(axis=(-1, -2))
    return bool(ok[0]) if grids.ndim == 1 else ok


def agrees_with_givens(puzzles: np.ndarray, grids: np.ndarray) -> np.ndarray | bool:
    """True where every given (non-zero) cell of the puzzle keeps its digit in ``grids``."""
    puzzles, grids = np.asarray(puzzles), np.asarray(grids)
    ok = ((puzzles == 0) | (puzzles == grids)).all(axis=-1)
    return bool(ok) if np.ndim(ok) == 0 else ok


def to_line(grid: np.ndarray, empty: str = ".") -> str:
    """The 81-character form, ``empty`` for empty cells."""
    return "".join(empty if d == 0 else str(int(d)) for d in np.asarray(grid).reshape(N_CELLS))


def from_line(line: str) -> np.ndarray:
    """Parse a clean 81-character line (digits, and any of ``.0_*`` for empty); no checks."""
    return np.array([0 if ch in ".0_*" else int(ch) for ch in line], dtype=np.uint8)
