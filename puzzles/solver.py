"""The exact Sudoku solver: solutions, solution counts (uniqueness) and difficulty rating.

The search itself is compiled with numba (``puzzles._solver_core``, ``puzzles._propagation``):
bitmask candidates; naked and hidden singles, locked candidates and segment "triads" as
propagation; binary DPLL branches on band placements of a digit, as tdoku does
(t-dillon/tdoku, BSD-2-Clause), falling back to the cell with fewest candidates.

**Rating.** ``guesses`` is the number of binary branches taken before the first solution is
reached, on the puzzle exactly as written: the definition of Sudoku-Extreme's ``rating``
column (tdoku's guess count). Calibrated against tdoku's counts shipped with
/work/shared/data (magictour top1465, 1465 puzzles; six famous hard puzzles):

================  =====  ======  ====  ===  ==============  ===========
rating            mean   median  p90   max  Spearman rho    exact match
================  =====  ======  ====  ===  ==============  ===========
tdoku             6.07   4       12    172
ours              6.04   4       12    172  0.997           99.1 %
================  =====  ======  ====  ===  ==============  ===========

All six famous puzzles get tdoku's count exactly (e.g. Platinum Blonde 143, Easter Monster
48). Of the 13 top1465 puzzles that differ, ours is lower each time (by 1 to 16): where tdoku
branches on a placement that shares all its segments with other placements, we branch on a
cell instead (see ``puzzles._solver_core``). Variants measured on the way (cell branches
throughout unless said): singles only, mean 27.4 (rho 0.33); plus locked candidates, 11.7
(0.33); plus triads, 8.3 (0.44); band branches without triads, 9.5 (0.69); band branches only
on two-placement digits, 6.02 (0.993, 97.7 % exact). Ratings depend on how a puzzle is
written (its symmetric copies rate differently), as tdoku's do; propagation reaches the same
fixpoint in any order, so only branch choices matter.

**Speed** (one core, top1465, uniqueness check ``limit=2``, after compilation): 7,000 to
9,500 puzzles/s (105-140 us per puzzle) on a shared 2-core machine (noisy); generated
minimal puzzles ~29,000/s. ``python -m puzzles.bench_solver`` prints current figures.

Importing this module imports numba (about half a second); compilation is cached on disk
(``cache=True``), and ``warm_up()`` loads or compiles it ahead of time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from puzzles._generate_core import count_and_rate, fill_grid, minimise
from puzzles._solver_core import IDENTITY_CELLS, IDENTITY_DIGITS, search_batch, workspace
from puzzles.grid import N_CELLS


@dataclass(frozen=True)
class Solution:
    """One puzzle's result."""

    solution: np.ndarray | None  # (81,) uint8, the first solution found, None if none
    n_solutions: int  # solutions counted, capped at `limit`
    guesses: int  # the rating: guesses (binary branches) made before the first solution


@dataclass(frozen=True)
class BatchSolution:
    """Row-wise results for a batch of puzzles."""

    solutions: np.ndarray  # (N, 81) uint8, zeros where unsolvable
    n_solutions: np.ndarray  # (N,) int32, capped at `limit`
    guesses: np.ndarray  # (N,) int64, guesses to the first solution; -1 where there is none


def _as_grids(grids: np.ndarray) -> np.ndarray:
    """Check and convert puzzles to a contiguous (N, 81) uint8 array."""
    array = np.asarray(grids)
    if array.ndim != 2 or array.shape[1] != N_CELLS:
        raise ValueError(f"puzzles must have shape (N, 81), got {array.shape}")
    if array.size and (
        not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() > 9
    ):
        raise ValueError("puzzle cells must be integers 0..9 (0 = empty)")
    # writeable too: a read-only array (np.load with mmap_mode="r") would compile a new kernel
    return np.require(array, dtype=np.uint8, requirements=["C", "W"])


def _check_limit(limit: int) -> None:
    """Reject a solution limit below one."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")


def solve_batch(grids: np.ndarray, limit: int = 2) -> BatchSolution:
    """Solve every row of ``grids`` (N, 81), counting solutions up to ``limit``."""
    _check_limit(limit)
    grids = _as_grids(grids)
    n = grids.shape[0]
    solutions = np.zeros((n, N_CELLS), dtype=np.uint8)
    n_solutions = np.zeros(n, dtype=np.int32)
    guesses = np.zeros(n, dtype=np.int64)
    search_batch(grids, limit, solutions, n_solutions, guesses)
    return BatchSolution(solutions=solutions, n_solutions=n_solutions, guesses=guesses)


def solve(grid: np.ndarray, limit: int = 2) -> Solution:
    """Solve one puzzle (81,), counting solutions up to ``limit`` (2 checks uniqueness)."""
    grid = np.asarray(grid)
    if grid.shape != (N_CELLS,):
        raise ValueError(f"a puzzle must have shape (81,), got {grid.shape}")
    batch = solve_batch(grid[None, :], limit)
    found = int(batch.n_solutions[0])
    return Solution(
        solution=batch.solutions[0] if found > 0 else None,
        n_solutions=found,
        guesses=int(batch.guesses[0]),
    )


def rate(grids: np.ndarray) -> np.ndarray:
    """Guesses to the first solution for each row of ``grids`` (N, 81); -1 if unsolvable."""
    return solve_batch(grids, limit=1).guesses


def warm_up() -> None:
    """Compile (or load from the on-disk cache) the solver and generator kernels now."""
    empty = np.zeros(N_CELLS, dtype=np.uint8)
    solve_batch(empty[None, :], limit=2)
    buffers = workspace()
    fill_grid(IDENTITY_CELLS, IDENTITY_DIGITS, *buffers)
    full = buffers[-1].copy()
    count_and_rate(full, 2, *buffers)
    minimise(full, IDENTITY_CELLS, *buffers)
