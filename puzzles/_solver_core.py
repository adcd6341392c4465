"""Numba kernels of the solver's search: DPLL with binary branches on an explicit stack.

Follows the search of tdoku's solver (t-dillon/tdoku, ``solver_dpll_triad_simd.cc``). A
placement of a digit in a band (three boxes in a row or a column) is the line it takes in each
of the three boxes; six exist. After propagation (``puzzles._propagation``), take the band with
the fewest placements left over all digits, the digit with the fewest (at least two) there,
and branch on its first placement in tdoku's numbering. If that branch fails, the parent
rules the placement out and goes on. One guess is one such binary branch, counted as tdoku
counts it.

Departure: we keep cell masks only, not tdoku's table of placements, so "not this placement"
must be a candidate elimination: with two placements left it is "the other one"; with more,
"the digit is not in a segment (three cells of a box and a line) only this placement uses".
When no such segment exists we branch on the cell with fewest candidates (MRV) instead,
"cell = digit" against "digit out of the cell". Random grid filling uses cell branches only,
with caller-given cell and digit orders, so the randomness reaches every choice.

The stack is explicit: ``stack[k]`` holds the candidate masks at depth ``k``. A path branches
at most once per cell and once per band digit, so ``MAX_DEPTH`` bounds it. Work buffers are
made by ``workspace()`` and reused across a batch.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from puzzles._propagation import ALL, LOW_DIGIT, POPCOUNT, SEGMENTS, band_masks, propagate
from puzzles._propagation import remove_segment as _remove_segment
from puzzles.grid import N_CELLS

# a left branch fixes a cell or a (band, digit) placement for good: 81 + 2 * 3 * 9 at most
MAX_DEPTH = N_CELLS + 54 + 1
# tdoku's numbering of a digit's placements in a band: the line it takes in boxes 0, 1, 2
CONFIGS = np.array(
    [[0, 1, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0], [0, 2, 1], [1, 0, 2]], dtype=np.int32
)
IDENTITY_CELLS = np.arange(N_CELLS, dtype=np.int32)
IDENTITY_DIGITS = np.tile(np.arange(9, dtype=np.int32), (N_CELLS, 1))
# branch record: kind (0 cell, 1 band), then cell and bit, or orient, band, bit and undo
# (see _choose_band)
BRANCH_FIELDS = 5


def workspace() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fresh (stack, branch, queue, solution) buffers for ``search``."""
    return (
        np.empty((MAX_DEPTH, N_CELLS), dtype=np.int32),
        np.empty((MAX_DEPTH, BRANCH_FIELDS), dtype=np.int32),
        np.empty(N_CELLS, dtype=np.int32),
        np.zeros(N_CELLS, dtype=np.uint8),
    )


@njit(cache=True)
def _fits(seg: np.ndarray, config: int) -> int:
    """The digits whose placement ``config`` fits a band's segment masks ``seg[line, box]``."""
    return seg[CONFIGS[config, 0], 0] & seg[CONFIGS[config, 1], 1] & seg[CONFIGS[config, 2], 2]


@njit(cache=True)
def _choose_band(cand: np.ndarray, seg: np.ndarray, choice: np.ndarray) -> bool:
    """Fill ``choice`` (orient, band, bit, config, undo) for a band branch, or return False.

    ``undo`` is what the parent does if the branch fails: ``-1 - config`` asserts the other of
    two placements, ``line * 3 + box`` removes the digit from a segment only ``config`` uses.
    """
    best_total = 1000
    best = -1
    for orient in range(2):
        for band in range(3):
            band_masks(cand, orient, band, seg)
            total = 0
            for p in range(6):
                total += POPCOUNT[_fits(seg, p)]
            if 9 < total < best_total:  # 9: every digit placed, nothing to branch on
                best_total = total
                best = orient * 3 + band
    if best < 0:
        return False
    orient, band = best // 3, best % 3
    band_masks(cand, orient, band, seg)
    fits = np.empty(6, dtype=np.int32)
    for p in range(6):
        fits[p] = _fits(seg, p)
    best_count = 7
    bit = 0
    for d in range(9):
        count = 0
        for p in range(6):
            count += (fits[p] >> d) & 1
        if 2 <= count < best_count:
            best_count = count
            bit = 1 << d
    config = -1
    undo = -1
    for p in range(6):
        if fits[p] & bit:
            if config < 0:
                config = p
            elif best_count == 2:
                undo = -1 - p
    if best_count > 2:
        for box in range(3):
            shared = False
            for p in range(6):
                if p != config and fits[p] & bit and CONFIGS[p, box] == CONFIGS[config, box]:
                    shared = True
            if not shared:
                undo = CONFIGS[config, box] * 3 + box
                break
        if undo < 0:
            return False
    choice[0] = orient
    choice[1] = band
    choice[2] = bit
    choice[3] = config
    choice[4] = undo
    return True


@njit(cache=True)
def _assert_config(
    cand: np.ndarray, queue: np.ndarray, orient: int, band: int, bit: int, config: int
) -> int:
    """Confine a digit to one placement in a band; returns the queue length or -1."""
    n_queued = 0
    for box in range(3):
        for line in range(3):
            if line != CONFIGS[config, box]:
                n_queued = _remove_segment(
                    cand, queue, n_queued, SEGMENTS[orient, band, line, box], bit
                )
                if n_queued < 0:
                    return -1
    return n_queued


@njit(cache=True)
def _choose_cell(cand: np.ndarray, cell_order: np.ndarray) -> int:
    """The unsolved cell with fewest candidates (first in ``cell_order``), or -1 if solved."""
    best = -1
    best_count = 10
    for i in range(N_CELLS):
        cell = cell_order[i]
        count = POPCOUNT[cand[cell]]
        if 1 < count < best_count:
            best = cell
            best_count = count
            if count == 2:
                break
    return best


@njit(cache=True)
def search(
    givens: np.ndarray,
    limit: int,
    band_branches: bool,
    cell_order: np.ndarray,
    digit_order: np.ndarray,
    stack: np.ndarray,
    branch: np.ndarray,
    queue: np.ndarray,
    solution: np.ndarray,
) -> tuple[int, int, int]:
    """Count solutions of ``givens`` up to ``limit``, writing the first into ``solution``.

    Returns (solutions found, guesses made before the first solution or -1 if none, guesses
    made in all: for a unique puzzle and ``limit`` > 1, the size of the whole search). Cell
    branches take MRV ties in ``cell_order`` and try digits in ``digit_order[cell]``.
    """
    seg = np.empty((3, 3), dtype=np.int32)
    choice = np.empty(BRANCH_FIELDS, dtype=np.int32)
    cand = stack[0]
    n_queued = 0
    for cell in range(N_CELLS):
        if givens[cell] == 0:
            cand[cell] = ALL
        else:
            cand[cell] = 1 << (givens[cell] - 1)
            queue[n_queued] = cell
            n_queued += 1
    ok = propagate(cand, queue, n_queued)
    depth = 0
    n_solutions = 0
    guesses = 0
    first_guesses = -1
    while True:
        if not ok:
            if depth == 0:
                break
            # the branch taken at this depth failed: the parent takes the other side
            depth -= 1
            parent = stack[depth]
            if branch[depth, 0] == 1 and branch[depth, 4] < 0:
                n_queued = _assert_config(
                    parent,
                    queue,
                    branch[depth, 1],
                    branch[depth, 2],
                    branch[depth, 3],
                    -1 - branch[depth, 4],
                )
            elif branch[depth, 0] == 1:
                undo = branch[depth, 4]
                n_queued = _remove_segment(
                    parent,
                    queue,
                    0,
                    SEGMENTS[branch[depth, 1], branch[depth, 2], undo // 3, undo % 3],
                    branch[depth, 3],
                )
            else:
                cell = branch[depth, 1]
                n_queued = 0
                left = parent[cell] & (ALL ^ branch[depth, 2])
                parent[cell] = left
                if POPCOUNT[left] == 1:
                    queue[0] = cell
                    n_queued = 1
            ok = n_queued >= 0 and propagate(parent, queue, n_queued)
            continue
        cand = stack[depth]
        is_band = band_branches and _choose_band(cand, seg, choice)
        cell = -1 if is_band else _choose_cell(cand, cell_order)
        if not is_band and cell < 0:
            n_solutions += 1
            if n_solutions == 1:
                first_guesses = guesses
                for c in range(N_CELLS):
                    solution[c] = LOW_DIGIT[cand[c]]
            if n_solutions >= limit:
                break
            ok = False
            continue
        guesses += 1
        stack[depth + 1] = cand
        child = stack[depth + 1]
        if is_band:
            branch[depth, 0] = 1
            branch[depth, 1] = choice[0]
            branch[depth, 2] = choice[1]
            branch[depth, 3] = choice[2]
            branch[depth, 4] = choice[4]
            n_queued = _assert_config(child, queue, choice[0], choice[1], choice[2], choice[3])
        else:
            bit = 0
            for k in range(9):
                bit = 1 << digit_order[cell, k]
                if cand[cell] & bit:
                    break
            branch[depth, 0] = 0
            branch[depth, 1] = cell
            branch[depth, 2] = bit
            child[cell] = bit
            queue[0] = cell
            n_queued = 1
        depth += 1
        ok = n_queued >= 0 and propagate(child, queue, n_queued)
    return n_solutions, first_guesses, guesses


@njit(cache=True)
def search_batch(
    grids: np.ndarray,
    limit: int,
    solutions: np.ndarray,
    n_solutions: np.ndarray,
    guesses: np.ndarray,
) -> None:
    """Run ``search`` on every row of ``grids`` (N, 81), filling the three output arrays."""
    stack = np.empty((MAX_DEPTH, N_CELLS), dtype=np.int32)
    branch = np.empty((MAX_DEPTH, BRANCH_FIELDS), dtype=np.int32)
    queue = np.empty(N_CELLS, dtype=np.int32)
    solution = np.zeros(N_CELLS, dtype=np.uint8)
    for row in range(grids.shape[0]):
        found, first, _ = search(
            grids[row],
            limit,
            True,
            IDENTITY_CELLS,
            IDENTITY_DIGITS,
            stack,
            branch,
            queue,
            solution,
        )
        n_solutions[row] = found
        guesses[row] = first
        if found > 0:
            solutions[row] = solution
