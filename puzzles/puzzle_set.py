"""A set of puzzles in memory: :class:`PuzzleSet` (questions, answers, ratings, sources, groups),
and :class:`FileRows`, a set read from one file with the line of each puzzle.

Columns follow the Sudoku-Extreme CSV (``source,question,answer,rating``). Unknown answers are
all-zero rows and unknown ratings ``-1``. ``sources`` is an object array of ``str`` whose rows
share one string per distinct source, so 3.8M rows cost 8 bytes each rather than a wide fixed
``<U`` column. Rows with the same ``groups`` value are symmetric copies of one original puzzle
(the reference builder's augmented copies, see :mod:`puzzles.reference`); by default every row is
its own group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from puzzles.grid import N_CELLS

if TYPE_CHECKING:  # parse reads files into this module's sets, so only its type is needed here
    from puzzles.parse import ParsedPuzzle


@dataclass(frozen=True)
class PuzzleSet:
    """Puzzles with their answers, ratings, sources and symmetry groups (all of length N)."""

    questions: np.ndarray  # (N, 81) uint8, 0 = empty
    answers: np.ndarray  # (N, 81) uint8, all zeros where unknown
    ratings: np.ndarray  # (N,) int64, -1 where unknown
    sources: np.ndarray  # (N,) str (object array sharing one str per source)
    groups: np.ndarray | None = None  # (N,) int64; None = every row its own group

    def __post_init__(self) -> None:
        # Normalise dtypes once here so that every consumer can rely on them.
        questions = np.ascontiguousarray(self.questions, dtype=np.uint8)
        n = len(questions)
        groups = np.arange(n) if self.groups is None else self.groups
        normalised = {
            "questions": questions,
            "answers": np.ascontiguousarray(self.answers, dtype=np.uint8),
            "ratings": np.asarray(self.ratings, dtype=np.int64),
            "sources": np.asarray(self.sources, dtype=object),
            "groups": np.asarray(groups, dtype=np.int64),
        }
        for name, array in normalised.items():
            shape = (n, N_CELLS) if name in ("questions", "answers") else (n,)
            if array.shape != shape:
                raise ValueError(f"PuzzleSet.{name}: expected shape {shape}, got {array.shape}")
            object.__setattr__(self, name, array)

    @classmethod
    def from_grids(
        cls,
        questions: np.ndarray,
        answers: np.ndarray | None = None,
        ratings: np.ndarray | None = None,
        source: str = "",
    ) -> PuzzleSet:
        """A set from grids alone: missing answers are zeros, ratings -1, one source name."""
        questions = np.asarray(questions, dtype=np.uint8).reshape(-1, N_CELLS)
        n = len(questions)
        return cls(
            questions=questions,
            answers=np.zeros_like(questions) if answers is None else answers,
            ratings=np.full(n, -1) if ratings is None else ratings,
            sources=np.full(n, source, dtype=object),
        )

    @classmethod
    def from_parsed(cls, puzzles: Sequence[ParsedPuzzle]) -> PuzzleSet:
        """A set from :func:`puzzles.parse.read_puzzles` output (source = the file name)."""
        empty = np.zeros(N_CELLS, np.uint8)
        return cls(
            questions=np.array([p.grid for p in puzzles], np.uint8).reshape(-1, N_CELLS),
            answers=np.array(
                [empty if p.answer is None else p.answer for p in puzzles], np.uint8
            ).reshape(-1, N_CELLS),
            ratings=np.array([-1 if p.rating is None else p.rating for p in puzzles], np.int64),
            sources=np.array([p.source for p in puzzles], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> PuzzleSet:
        """Rows by slice, positions or mask; an integer gives a one-row set."""
        return self.take(np.arange(len(self))[index] if isinstance(index, slice) else index)

    def take(self, index: int | np.ndarray | Sequence[int]) -> PuzzleSet:
        """The rows at ``index`` (integer positions or a boolean mask), in that order."""
        index = np.asarray(index)
        if index.ndim == 0:
            index = index.reshape(1)
        return PuzzleSet(
            questions=self.questions[index],
            answers=self.answers[index],
            ratings=self.ratings[index],
            sources=self.sources[index],
            groups=self.groups[index],
        )

    @property
    def has_answer(self) -> np.ndarray:
        """(N,) bool: rows whose answer is known."""
        return self.answers.all(axis=1)

    @property
    def n_groups(self) -> int:
        """Number of original puzzles (distinct group ids)."""
        return len(np.unique(self.groups))


def concat(sets: Sequence[PuzzleSet]) -> PuzzleSet:
    """Join sets row-wise, keeping group ids of different sets apart."""
    if not sets:
        return PuzzleSet.from_grids(np.zeros((0, N_CELLS), np.uint8))
    groups, offset = [], 0
    for part in sets:
        groups.append(part.groups + offset)
        offset += int(part.groups.max()) + 1 if len(part) else 0
    return PuzzleSet(
        questions=np.concatenate([s.questions for s in sets]),
        answers=np.concatenate([s.answers for s in sets]),
        ratings=np.concatenate([s.ratings for s in sets]),
        sources=np.concatenate([s.sources for s in sets]),
        groups=np.concatenate(groups),
    )


@dataclass(frozen=True)
class Splits:
    """A dataset: the training set and, when there is one, the test set."""

    train: PuzzleSet
    test: PuzzleSet | None


@dataclass(frozen=True)
class FileRows:
    """Puzzles read from one file, with where each came from (for ``FILE:LINE`` messages)."""

    name: str  # the file as messages name it ("<stdin>" for -)
    puzzles: PuzzleSet  # sources: the CSV's source column, else the file name
    lines: np.ndarray  # (N,) int64: 1-based line of each puzzle (its first row of cells)
    is_csv: bool  # read as a Sudoku-Extreme CSV

    def __len__(self) -> int:
        return len(self.puzzles)


def concat_rows(parts: Sequence[FileRows]) -> FileRows:
    """Join the chunks read from one file (at least one)."""
    if len(parts) == 1:
        return parts[0]
    return FileRows(
        name=parts[0].name,
        puzzles=concat([p.puzzles for p in parts]),
        lines=np.concatenate([p.lines for p in parts]),
        is_csv=parts[0].is_csv,
    )
