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

EMPTY_CHARS = ".0_*"  # the marks of an empty cell in text
CELL_CHARS = "123456789" + EMPTY_CHARS
INVALID = 255
_ALL_DIGITS = 0b1111111110  # bits 1..9: one per digit
BYTE_DIGITS = np.full(256, INVALID, dtype=np.uint8)  # byte of a cell's text -> digit, 0 empty
BYTE_DIGITS[np.frombuffer(b"123456789", dtype=np.uint8)] = np.arange(1, 10)
BYTE_DIGITS[np.frombuffer(EMPTY_CHARS.encode(), dtype=np.uint8)] = 0


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


def has_repeats(grids: np.ndarray) -> np.ndarray:
    """(N,) bool: grids (N, 81) with a digit repeated in some row, column or box.

    One bit per digit: the digits of a house are distinct exactly when adding their bits gives
    their OR (no carry); several times faster than :func:`conflicts` on large batches.
    """
    repeated = [total != union for total, union in _house_sums(grids)]
    return np.concatenate(repeated, axis=1).any(axis=1)


def _house_sums(grids: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """For rows, columns and boxes: the sum and the OR of each house's digit bits, (N, 9) each.

    Bit ``d`` stands for digit ``d`` (empty cells have none). The 9 houses of a kind are added
    one member cell at a time over strided views, with no gathered copy of the grids.
    """
    grids = np.asarray(grids).reshape(-1, N_CELLS)
    bits = np.left_shift(np.uint16(1), grids, dtype=np.uint16) & np.uint16(_ALL_DIGITS)
    lines = bits.reshape(-1, 9, 9)  # (N, row, column)
    blocks = bits.reshape(-1, 3, 3, 3, 3)  # (N, band, row in band, stack, column in stack)
    kinds = (
        [lines[:, :, j] for j in range(9)],  # member j of every row
        [lines[:, j, :] for j in range(9)],  # member j of every column
        [blocks[:, :, i, :, j].reshape(-1, 9) for i in range(3) for j in range(3)],
    )
    sums = []
    for members in kinds:
        total, union = members[0].copy(), members[0].copy()
        for member in members[1:]:
            total += member
            union |= member
        sums.append((total, union))
    return sums


def rule_violation(grid: np.ndarray) -> str | None:
    """Describe the first digit repeated in a row, column or box (1-based), or None."""
    for kind, houses in (("row", ROWS), ("column", COLS), ("box", BOXES)):
        for index, house in enumerate(houses, start=1):
            digits = grid[house]
            digits = digits[digits > 0]
            counts = np.bincount(digits, minlength=10)
            if counts.max(initial=0) > 1:
                return f"digit {int(counts.argmax())} repeats in {kind} {index}"
    return None


def is_complete_solution(grids: np.ndarray) -> np.ndarray | bool:
    """True where a grid is full and every house holds 1..9 exactly once."""
    grids = np.asarray(grids)
    sums = _house_sums(grids)
    ok = np.logical_and.reduce([(union == _ALL_DIGITS).all(axis=1) for _, union in sums])
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
