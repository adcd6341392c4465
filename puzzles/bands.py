"""Difficulty bands: puzzles grouped by clue count or by rating, for accuracy-by-difficulty reports.

A rating is the exact solver's guess count to the first solution, the measure Sudoku-Extreme
rates its puzzles by (tdoku's guesses). The band edges are fixed so that reports from different
runs and machines line up; the rating edges follow the shape of Sudoku-Extreme's distribution
(most puzzles need 0-9 guesses, a long tail needs tens to hundreds).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

CLUE_EDGES = (0, 25, 30, 35, 40, 45, 50, 55, 82)  # [0, 25), [25, 30), ..., [55, 81]
RATING_EDGES = (0, 1, 3, 10, 30, 100)  # 0, 1-2, 3-9, 10-29, 30-99, 100+


@dataclass(frozen=True)
class Band:
    """One band: its label (``"30-34 clues"``, ``"3-9 guesses"``) and the rows that fall in it."""

    label: str
    indices: np.ndarray  # (k,) int64 row indices into the puzzle set


def _bands(values: np.ndarray, edges: tuple[int, ...], unit: str, open_end: bool) -> list[Band]:
    """Non-empty bands ``[edges[i], edges[i+1])``; the last is open-ended when ``open_end``."""
    bounds = [*edges, None] if open_end else list(edges)
    out = []
    for low, high in itertools.pairwise(bounds):
        inside = values >= low if high is None else (values >= low) & (values < high)
        indices = np.flatnonzero(inside)
        if len(indices) == 0:
            continue
        if high is None:
            label = f"{low}+ {unit}"
        elif high - 1 == low:
            label = f"{low} {unit}"
        else:
            label = f"{low}-{high - 1} {unit}"
        out.append(Band(label, indices.astype(np.int64)))
    return out


def clue_bands(questions: np.ndarray) -> list[Band]:
    """Bands by number of givens of each puzzle in ``questions`` (N, 81)."""
    clues = np.count_nonzero(questions, axis=1)
    return _bands(clues, CLUE_EDGES, "clues", open_end=False)


def rating_bands(ratings: np.ndarray) -> list[Band]:
    """Bands by rating (guesses); unknown ratings (-1) fall in no band."""
    return _bands(np.asarray(ratings), RATING_EDGES, "guesses", open_end=True)
