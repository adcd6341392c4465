"""Difficulty bands: every puzzle with a known value lands in exactly one band, labelled by its
range."""

from __future__ import annotations

import numpy as np

from puzzles.bands import clue_bands, rating_bands


def _grids_with_clues(counts: list[int]) -> np.ndarray:
    grids = np.zeros((len(counts), 81), dtype=np.uint8)
    for row, count in enumerate(counts):
        grids[row, :count] = 5
    return grids


def test_clue_bands_partition_the_puzzles_by_givens() -> None:
    bands = clue_bands(_grids_with_clues([17, 24, 25, 29, 30, 45, 81]))
    assert [(b.label, b.indices.tolist()) for b in bands] == [
        ("0-24 clues", [0, 1]),
        ("25-29 clues", [2, 3]),
        ("30-34 clues", [4]),
        ("45-49 clues", [5]),
        ("55-81 clues", [6]),
    ]


def test_rating_bands_are_open_ended_and_skip_unknown_ratings() -> None:
    bands = rating_bands(np.array([0, 1, 2, 9, 10, 172, -1, 30]))
    assert [(b.label, b.indices.tolist()) for b in bands] == [
        ("0 guesses", [0]),
        ("1-2 guesses", [1, 2]),
        ("3-9 guesses", [3]),
        ("10-29 guesses", [4]),
        ("30-99 guesses", [7]),
        ("100+ guesses", [5]),
    ]
