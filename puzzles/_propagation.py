"""Numba kernels of the solver's constraint propagation on 9-bit candidate masks.

Each cell holds a mask with bit ``d - 1`` set while digit ``d`` is still possible there. The
rules, applied to a fixpoint (cheapest first):

- naked singles: a cell down to one digit removes it from its 20 peers;
- hidden singles: a digit with one place left in a house goes there;
- box-line segments (three cells shared by a box and a row or column): pointing and claiming
  (locked candidates), and the "triad" rules that a segment holds exactly three digits: if its
  cells allow only three, they are all in it; if three digits are forced into it, it holds
  nothing else.

This is the deduction that tdoku's solver (t-dillon/tdoku, ``solver_dpll_triad_simd.cc``)
runs between guesses, rewritten for scalar masks; matching it is what makes our guess counts
agree with Sudoku-Extreme's ``rating`` (see ``puzzles.solver``). A contradiction is an empty
cell, a digit with no place in a house, or a segment that cannot hold three digits.

Kernels return the new length of a queue of cells that became singles, or -1 on a
contradiction, so nothing allocates per call except a small scratch matrix.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from puzzles.grid import HOUSES, N_CELLS

ALL = 0x1FF  # all nine candidates


def _peer_table() -> np.ndarray:
    """(81, 20) cell indices sharing a row, column or box with each cell."""
    peers = np.zeros((N_CELLS, 20), dtype=np.int32)
    for cell in range(N_CELLS):
        members: set[int] = set()
        for house in HOUSES:
            if cell in house:
                members.update(int(c) for c in house)
        members.discard(cell)
        peers[cell] = sorted(members)
    return peers


def _segment_table() -> np.ndarray:
    """(2, 3, 3, 3, 3) cells of each segment: orientation, band, line in band, box in band, cell."""
    segments = np.zeros((2, 3, 3, 3, 3), dtype=np.int32)
    for band in range(3):
        for line in range(3):
            for box in range(3):
                for k in range(3):
                    row, col = 3 * band + line, 3 * box + k
                    segments[0, band, line, box, k] = row * 9 + col  # a minirow
                    segments[1, band, line, box, k] = col * 9 + row  # a minicolumn
    return segments


PEERS = _peer_table()
HOUSE_CELLS = HOUSES.astype(np.int32)
SEGMENTS = _segment_table()
POPCOUNT = np.array([bin(m).count("1") for m in range(512)], dtype=np.int32)
LOW_DIGIT = np.array([(m & -m).bit_length() for m in range(512)], dtype=np.int32)  # 0 if empty


@njit(cache=True)
def remove(cand: np.ndarray, queue: np.ndarray, n_queued: int, cell: int, bits: int) -> int:
    """Remove ``bits`` from one cell, queueing it if it became a single; -1 if it emptied."""
    left = cand[cell] & (ALL ^ bits)
    if left == cand[cell]:
        return n_queued
    if left == 0:
        return -1
    cand[cell] = left
    if POPCOUNT[left] == 1:
        queue[n_queued] = cell
        n_queued += 1
    return n_queued


@njit(cache=True)
def remove_segment(
    cand: np.ndarray, queue: np.ndarray, n_queued: int, cells: np.ndarray, bits: int
) -> int:
    """Remove ``bits`` from the three cells of a segment; -1 if one emptied."""
    if bits == 0:
        return n_queued
    for k in range(3):
        n_queued = remove(cand, queue, n_queued, cells[k], bits)
        if n_queued < 0:
            return -1
    return n_queued


@njit(cache=True)
def band_masks(cand: np.ndarray, orient: int, band: int, seg: np.ndarray) -> None:
    """Fill ``seg[line, box]`` with the union of candidates of each segment of a band."""
    for line in range(3):
        for box in range(3):
            cells = SEGMENTS[orient, band, line, box]
            seg[line, box] = cand[cells[0]] | cand[cells[1]] | cand[cells[2]]


@njit(cache=True)
def _hidden_singles(cand: np.ndarray, queue: np.ndarray, n_queued: int) -> int:
    """Place every digit that has one cell left in a house."""
    for h in range(27):
        once = 0
        twice = 0
        for k in range(9):
            m = cand[HOUSE_CELLS[h, k]]
            twice |= once & m
            once |= m
        if once != ALL:
            return -1
        hidden = once & (ALL ^ twice)
        for k in range(9):
            cell = HOUSE_CELLS[h, k]
            m = cand[cell]
            only = m & hidden
            if only != 0 and POPCOUNT[m] > 1:
                if POPCOUNT[only] > 1:
                    return -1  # two digits need the same cell
                cand[cell] = only
                queue[n_queued] = cell
                n_queued += 1
    return n_queued


@njit(cache=True)
def _segment_rules(
    cand: np.ndarray, queue: np.ndarray, n_queued: int, seg: np.ndarray
) -> tuple[int, bool]:
    """Locked candidates and triads on all 54 segments; returns (queue length, changed)."""
    changed = False
    for orient in range(2):
        for band in range(3):
            band_masks(cand, orient, band, seg)
            for line in range(3):
                for box in range(3):
                    m = seg[line, box]
                    rest_of_line = seg[line, (box + 1) % 3] | seg[line, (box + 2) % 3]
                    rest_of_box = seg[(line + 1) % 3, box] | seg[(line + 2) % 3, box]
                    only_here_in_line = m & (ALL ^ rest_of_line)
                    only_here_in_box = m & (ALL ^ rest_of_box)
                    forced = only_here_in_line | only_here_in_box
                    if POPCOUNT[m] < 3 or POPCOUNT[forced] > 3:
                        return -1, changed
                    box_drop = only_here_in_line & rest_of_box  # claiming
                    line_drop = only_here_in_box & rest_of_line  # pointing
                    own_drop = 0
                    if POPCOUNT[m] == 3:  # the segment's three digits are all in it
                        box_drop |= m & rest_of_box
                        line_drop |= m & rest_of_line
                    elif POPCOUNT[forced] == 3:  # three digits forced in leave no room
                        own_drop = m ^ forced
                    if box_drop | line_drop | own_drop == 0:
                        continue
                    changed = True
                    for other in range(1, 3):
                        n_queued = remove_segment(
                            cand,
                            queue,
                            n_queued,
                            SEGMENTS[orient, band, (line + other) % 3, box],
                            box_drop,
                        )
                        if n_queued < 0:
                            return -1, changed
                        n_queued = remove_segment(
                            cand,
                            queue,
                            n_queued,
                            SEGMENTS[orient, band, line, (box + other) % 3],
                            line_drop,
                        )
                        if n_queued < 0:
                            return -1, changed
                    n_queued = remove_segment(
                        cand, queue, n_queued, SEGMENTS[orient, band, line, box], own_drop
                    )
                    if n_queued < 0:
                        return -1, changed
                    band_masks(cand, orient, band, seg)
    return n_queued, changed


@njit(cache=True)
def propagate(cand: np.ndarray, queue: np.ndarray, n_queued: int) -> bool:
    """Apply all rules until nothing changes; False on a contradiction.

    ``queue[:n_queued]`` holds the cells that became singles and still have to leave their
    peers; the queue needs room for 81 cells.
    """
    seg = np.empty((3, 3), dtype=np.int32)
    head = 0
    while True:
        while head < n_queued:
            cell = queue[head]
            head += 1
            bit = cand[cell]
            for k in range(20):
                n_queued = remove(cand, queue, n_queued, PEERS[cell, k], bit)
                if n_queued < 0:
                    return False
        before = n_queued
        n_queued = _hidden_singles(cand, queue, n_queued)
        if n_queued < 0:
            return False
        if n_queued > before:
            continue
        n_queued, changed = _segment_rules(cand, queue, n_queued, seg)
        if n_queued < 0:
            return False
        if not changed:
            return True
