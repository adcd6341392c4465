"""Numba kernels the puzzle generator runs many times: filling a grid, counting, minimising.

All randomness comes from orders drawn by the caller's ``np.random.Generator``; the kernels
themselves are deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from puzzles._solver_core import IDENTITY_CELLS, IDENTITY_DIGITS, search
from puzzles.grid import N_CELLS


@njit(cache=True)
def fill_grid(
    cell_order: np.ndarray,
    digit_order: np.ndarray,
    stack: np.ndarray,
    branch: np.ndarray,
    queue: np.ndarray,
    solution: np.ndarray,
) -> bool:
    """Write a full valid grid into ``solution``, every choice following the given orders."""
    empty = np.zeros(N_CELLS, dtype=np.uint8)
    found, _, _ = search(empty, 1, False, cell_order, digit_order, stack, branch, queue, solution)
    return found == 1


@njit(cache=True)
def count_and_rate(
    puzzle: np.ndarray,
    limit: int,
    stack: np.ndarray,
    branch: np.ndarray,
    queue: np.ndarray,
    solution: np.ndarray,
) -> tuple[int, int, int]:
    """(solutions up to ``limit``, guesses to the first, guesses in all), as ``search``."""
    return search(
        puzzle, limit, True, IDENTITY_CELLS, IDENTITY_DIGITS, stack, branch, queue, solution
    )


@njit(cache=True)
def minimise(
    puzzle: np.ndarray,
    order: np.ndarray,
    stack: np.ndarray,
    branch: np.ndarray,
    queue: np.ndarray,
    solution: np.ndarray,
) -> None:
    """Remove clues of a unique puzzle in ``order`` where it stays unique; leaves it minimal.

    One pass suffices: removing clues only adds solutions, so a clue that was needed when
    tried is still needed after later removals.
    """
    for i in range(N_CELLS):
        cell = order[i]
        digit = puzzle[cell]
        if digit == 0:
            continue
        puzzle[cell] = 0
        found, _, _ = count_and_rate(puzzle, 2, stack, branch, queue, solution)
        if found != 1:
            puzzle[cell] = digit
